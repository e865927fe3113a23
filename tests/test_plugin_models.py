"""Plugins add their own tables, with or without Alembic migrations."""

import textwrap

import sqlalchemy as sa

import siyu
from siyu.core.records import ModelSet
from siyu.storage import migrate

metadata = sa.MetaData()
loyalty = sa.Table("loyalty_points", metadata,
                   sa.Column("id", sa.Integer, primary_key=True),
                   sa.Column("contact_id", sa.Integer, nullable=False),
                   sa.Column("points", sa.Integer, nullable=False))


class PlainTables:
    @siyu.hookimpl
    def register_models(self):
        return [ModelSet("loyalty", (loyalty,))]


def test_plugin_tables_without_migrations_are_created(db_url):
    with siyu.open(db_url, plugins=[PlainTables()], load_entry_points=False) as ws:
        with ws.engine.begin() as conn:
            conn.execute(loyalty.insert().values(contact_id=1, points=10))
            assert conn.execute(sa.select(loyalty.c.points)).scalar() == 10


def test_plugin_migrations_run_in_their_own_history(db_url, tmp_path):
    versions = tmp_path / "versions"
    versions.mkdir()
    (versions / "coupons_0001.py").write_text(textwrap.dedent('''
        """Coupons table."""
        import sqlalchemy as sa
        from alembic import op

        revision = "coupons_0001"
        down_revision = None
        branch_labels = ("coupons",)
        depends_on = None

        def upgrade():
            op.create_table("coupon", sa.Column("id", sa.Integer, primary_key=True),
                            sa.Column("code", sa.String(32), nullable=False))

        def downgrade():
            op.drop_table("coupon")
    '''))

    class Coupons:
        @siyu.hookimpl
        def register_models(self):
            return [ModelSet("coupons", (), versions)]

    with siyu.open(db_url, plugins=[Coupons()], load_entry_points=False) as ws:
        assert "coupon" in sa.inspect(ws.engine).get_table_names()
        model_sets = ws.model_sets.values()
        assert migrate.pending(ws.engine, model_sets) == []
        assert migrate.pending(ws.engine) == []  # the core branch is up to date too
    with siyu.open(db_url, plugins=[Coupons()], load_entry_points=False, migrate=False):
        pass  # up to date: opening without migrating works
    with siyu.open(db_url, load_entry_points=False) as ws:
        ws.contacts.upsert("wm1")  # the plugin is gone: the core still opens and works
