"""The Workspace opens, migrates and hands out services on both engines."""

import pytest
import sqlalchemy as sa

import siyu
from siyu.core.errors import ConfigError, NotFound
from siyu.storage import migrate


def test_new_workspace_is_migrated(ws):
    assert migrate.pending(ws.engine) == []
    tables = set(sa.inspect(ws.engine).get_table_names())
    assert {"contact", "tag", "contact_tag", "event", "orders", "staff", "store"} <= tables


def test_reopening_changes_nothing(db_url):
    with siyu.open(db_url, load_entry_points=False) as ws:
        ws.stores.upsert("SH001", "上海店")
    with siyu.open(db_url, load_entry_points=False) as ws:
        assert [s.code for s in ws.stores.list()] == ["SH001"]


def test_sqlite_uses_wal_and_foreign_keys(tmp_path):
    with siyu.open(tmp_path / "a.db", load_entry_points=False) as ws:
        with ws.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


@pytest.mark.parametrize("url", ["mysql+nope://x", "postgresql://user@:notaport/db", "   "])
def test_malformed_database_url_is_a_clear_error(url):
    with pytest.raises(ConfigError) as err:
        siyu.open(url, load_entry_points=False)
    assert "database" in str(err.value).lower() or "url" in str(err.value).lower()


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        siyu.open(tmp_path / "nope" / "a.db", load_entry_points=False)


def test_environment_url_is_used(tmp_path, monkeypatch):
    monkeypatch.setenv("SIYU_DATABASE_URL", f"sqlite:///{tmp_path / 'env.db'}")
    with siyu.open(load_entry_points=False) as ws:
        ws.settings.set("name", "env shop")
    assert (tmp_path / "env.db").exists()


def test_settings_round_trip(ws):
    ws.settings.set("name", "鲜花铺")
    ws.settings.set("limits", {"daily": 3})
    assert ws.name == "鲜花铺"
    assert ws.settings.get("limits") == {"daily": 3}
    assert ws.settings.get("missing", 7) == 7


def test_unknown_store_is_named(ws):
    with pytest.raises(NotFound, match="XX9"):
        ws.stores.get("XX9")


def test_summary_counts_everything(sample_world):
    ws = sample_world
    ws.contacts.upsert("wm1", name="a", owner="zhangsan")
    ws.orders.add("o1", amount_fen=100, paid_at="2026-11-01", contact="wm1")
    assert ws.summary() == {"stores": 2, "staff": 3, "contacts": 1, "tags": 0,
                            "orders": 1, "revenue_fen": 100}


def test_a_migration_that_fails_halfway_leaves_no_half_schema(tmp_path):
    """The whole upgrade is one transaction on SQLite too (a kill or an error halfway
    leaves the file as it was), and a later start migrates it cleanly."""
    import sqlalchemy as sa

    from siyu.core.records import ModelSet
    from siyu.storage import migrate
    from siyu.storage.engine import create_engine

    clash = sa.Table("clash", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True),
                     sa.Column("city", sa.String(10)), sa.Index("ix_contact_city_id", "city"))
    engine = create_engine(f"sqlite:///{tmp_path / 'half.db'}")
    try:
        with pytest.raises(sa.exc.OperationalError, match="ix_contact_city_id"):
            migrate.upgrade(engine, [ModelSet("clash", tables=(clash,))])
        assert sa.inspect(engine).get_table_names() == []
        assert migrate.upgrade(engine)
        assert "contact" in sa.inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_migrations_build_the_schema_the_models_declare(ws):
    """Every table, column and index a model declares is what the migrations create (a model
    change without its migration, or the reverse, shows up here)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    # siyu's own models only: tests and docs examples declare tables of their own in the same
    # process, which no migration creates.
    declared = sa.MetaData()
    for mapper in SQLModel._sa_registry.mappers:
        if mapper.class_.__module__.startswith("siyu."):
            mapper.local_table.to_metadata(declared)
    with ws.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": False})
        differences = [d for d in compare_metadata(context, declared)
                       if not (d[0] == "remove_table"
                               and d[1].name.startswith("alembic_version"))]
    assert differences == []
