"""Opening an up-to-date workspace needs no Alembic: the version tables are compared with the
head revisions read from the revision files' text. Whenever that cheap answer is not a plain
"up to date", Alembic decides, as before."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
import sqlalchemy as sa

import siyu
from siyu.core.plugins import collect_records, get_plugin_manager
from siyu.storage import migrate

#: Opens the workspace named on the command line; reports whether Alembic was imported.
OPEN_AND_REPORT = textwrap.dedent("""
    import json, sys
    import siyu

    ws = siyu.open(sys.argv[1], load_entry_points=False)
    ws.close()
    print(json.dumps("alembic" in sys.modules))
""")


def _revision(folder, name, down, extra=""):
    (folder / f"{name}.py").write_text(textwrap.dedent(f'''
        """{name}.

        Revision ID: {name}
        Revises: {down}
        """
        revision = {name!r}
        down_revision = {down!r}{extra}
        branch_labels = None
        depends_on = None


        def upgrade():
            pass
    '''), encoding="utf-8")


def _alembic_heads(folder) -> set[str]:
    from alembic.script import ScriptDirectory

    cfg = migrate.alembic_config(None)
    cfg.set_main_option("version_locations", str(folder))
    return set(ScriptDirectory.from_config(cfg).get_heads())


def test_the_shipped_histories_have_the_heads_alembic_finds():
    pm = get_plugin_manager(load_entry_points=False, disable=[])
    folders = [migrate.MIGRATIONS / "versions"] + [
        ms.migrations for ms in collect_records(pm, "register_models", "model set").values()
        if ms.migrations]
    assert len(folders) >= 3  # the core, wecom and livecodes
    for folder in folders:
        heads = migrate.known_heads(folder)
        assert heads is not None, folder
        assert heads == _alembic_heads(folder), folder


def test_heads_of_branches_and_merges(tmp_path):
    _revision(tmp_path, "a1", None)
    _revision(tmp_path, "b1", "a1")
    _revision(tmp_path, "b2", "a1")
    assert migrate.known_heads(tmp_path) == {"b1", "b2"} == _alembic_heads(tmp_path)
    _revision(tmp_path, "m1", ("b1", "b2"))
    assert migrate.known_heads(tmp_path) == {"m1"} == _alembic_heads(tmp_path)
    (tmp_path / "__init__.py").write_text("revision = 'not one'\n", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("revision = 'not one'\n", encoding="utf-8")
    assert migrate.known_heads(tmp_path) == {"m1"}
    assert migrate.known_heads(tmp_path / "missing") == frozenset()


def test_annotated_revision_files_are_read(tmp_path):
    (tmp_path / "x1.py").write_text(
        'revision: str = "x1"\ndown_revision: Union[str, Sequence[str], None] = None  # first\n'
        "depends_on: Union[str, None] = None\n", encoding="utf-8")
    assert migrate.known_heads(tmp_path) == {"x1"}


@pytest.mark.parametrize("source", [
    "revision = make_id()\ndown_revision = None\n",
    "revision = 'r2'\ndown_revision = parent()\n",
    "down_revision = None\n",
    "revision = 'r2'\nrevision = 'r3'\ndown_revision = None\n",
    "revision = 'r2'\ndown_revision = None\ndepends_on = 'r1'\n",
    "revision = 'r1'\ndown_revision = None\n",  # the same id twice
    "revision = 'r2'\ndown_revision = (\n    'r1',\n)\n",
], ids=["computed", "computed-down", "missing", "twice", "depends-on", "duplicate",
        "multi-line"])
def test_a_file_not_plainly_written_leaves_it_to_alembic(tmp_path, source):
    _revision(tmp_path, "r1", None)
    (tmp_path / "r2.py").write_text(source, encoding="utf-8")
    assert migrate.known_heads(tmp_path) is None


def test_an_up_to_date_workspace_opens_without_alembic(tmp_path):
    db = tmp_path / "shop.db"
    siyu.open(db, load_entry_points=False).close()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIYU_")}
    result = subprocess.run([sys.executable, "-c", OPEN_AND_REPORT, str(db)], cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) is False


def test_a_history_behind_its_files_is_found_by_alembic(ws):
    model_sets = list(ws.model_sets.values())
    livecodes = ws.model_sets["livecodes"]
    heads = migrate.known_heads(livecodes.migrations)
    assert migrate.pending(ws.engine, model_sets) == []
    older = sorted(_alembic_history(livecodes.migrations))[-2]
    with ws.engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version_livecodes SET version_num = :v"),
                     {"v": older})
    assert migrate.pending(ws.engine, model_sets) == sorted(heads)


def _alembic_history(folder) -> list[str]:
    from alembic.script import ScriptDirectory

    cfg = migrate.alembic_config(None)
    cfg.set_main_option("version_locations", str(folder))
    return [rev.revision for rev in ScriptDirectory.from_config(cfg).walk_revisions()]


def test_a_missing_table_without_migrations_is_still_created(db_url):
    metadata = sa.MetaData()
    points = sa.Table("fast_check_points", metadata, sa.Column("id", sa.Integer,
                                                               primary_key=True))

    class Points:
        @siyu.hookimpl
        def register_models(self):
            from siyu.core.records import ModelSet

            return [ModelSet("points", (points,))]

    siyu.open(db_url, load_entry_points=False).close()  # up to date, without the plugin
    with siyu.open(db_url, plugins=[Points()], load_entry_points=False) as ws:
        assert "fast_check_points" in sa.inspect(ws.engine).get_table_names()
