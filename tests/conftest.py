"""Shared fixtures: every database test runs on a SQLite file and on PostgreSQL.

PostgreSQL is ``$SIYU_TEST_POSTGRES_URL`` (default ``postgresql://postgres@127.0.0.1:5432/test``).
Each test gets its own schema, dropped afterwards. When ``SIYU_TEST_POSTGRES=required`` an
unreachable server fails the run; otherwise the PostgreSQL half of the tests is skipped.
"""

from __future__ import annotations

import os
import uuid
from urllib.parse import quote

import pytest
import sqlalchemy as sa

import siyu
from siyu.storage import guard

# The tests that check behaviour read English; tests/test_i18n.py and the browser acceptance
# test switch to Chinese (the default a user gets) themselves.
os.environ.setdefault("SIYU_LANGUAGE", "en")

PG_URL = os.environ.get("SIYU_TEST_POSTGRES_URL",
                        "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def server_problem(url: str) -> str | None:
    """Why the database server at ``url`` can't be reached (``None`` when it answers)."""
    try:
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        return f"{type(exc).__name__}: {exc}"


_PG_PROBLEM = server_problem(PG_URL)


@pytest.fixture(autouse=True)
def no_network_in_transactions():
    """Every test runs with :mod:`siyu.storage.guard` on: a network call made while a
    database write transaction is open — in the test or in a console's background threads —
    fails the test, even where the refusal was swallowed."""
    was_on = guard.enabled()
    guard.enable()
    guard.clear()
    yield
    found = guard.violations()
    if not was_on:
        guard.disable()
    assert not found, "network calls inside transactions:\n" + "\n".join(map(str, found))


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """A fresh, empty database URL: a SQLite file, then a PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'siyu.db'}"
        return
    if _PG_PROBLEM:
        if os.environ.get("SIYU_TEST_POSTGRES") == "required":
            pytest.fail(f"PostgreSQL required but unreachable at {PG_URL}: {_PG_PROBLEM}")
        pytest.skip(f"PostgreSQL not reachable: {_PG_PROBLEM}")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{sep}options={quote(f'-csearch_path={schema}')}"
    try:
        _drop_schema(admin, schema)
    finally:
        admin.dispose()


def _drop_schema(admin: sa.Engine, schema: str) -> None:
    """Drop a test's schema; a connection the test left open (idle in a transaction, holding
    a lock) fails the test by name instead of hanging the run."""
    try:
        with admin.begin() as conn:
            conn.execute(sa.text("SET LOCAL lock_timeout = '30s'"))
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        return
    except sa.exc.OperationalError:
        pass
    with admin.begin() as conn:
        blockers = conn.execute(sa.text(
            "SELECT pid, state, left(query, 200) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND state LIKE 'idle in transaction%'")).all()
        for pid, _state, _query in blockers:
            conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    with admin.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    pytest.fail(f"the test left connections open in a transaction: {blockers}")


@pytest.fixture
def ws(db_url):
    """An open, migrated workspace on each engine, with only the built-in plugins."""
    workspace = siyu.open(db_url, load_entry_points=False)
    yield workspace
    workspace.close()


@pytest.fixture
def sample_world(ws):
    """Two stores, three staff, a few contacts and orders."""
    ws.stores.upsert("SH001", "上海南京西路店", region="华东", city="上海")
    ws.stores.upsert("BJ001", "北京三里屯店", region="华北", city="北京")
    ws.staff.upsert("zhangsan", "张三", store="SH001")
    ws.staff.upsert("lisi", "李四", store="SH001")
    ws.staff.upsert("wangwu", "王五", store="BJ001")
    return ws


class Notes:
    """The notification area console pages report to, outside a browser session."""

    def __init__(self, area):
        self.area = area

    def messages(self, kind: str) -> list[str]:
        """The messages of one kind (``success``, ``error``, ``warning``, ``info``)."""
        return [n.message for n in self.area.notifications if n.notification_type == kind]


@pytest.fixture
def notes(monkeypatch):
    """Catch the notifications a page shows (``notes.messages("error")``)."""
    import panel as pn
    from panel.io.notifications import NotificationArea

    area = NotificationArea()
    monkeypatch.setattr(pn.state, "_notification", area)
    return Notes(area)
