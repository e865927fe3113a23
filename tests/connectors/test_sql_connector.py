"""The SQL connector against a shop/ERP database on SQLite (a file), PostgreSQL and MariaDB.

Each test gets a source database of its own: a SQLite file, a new PostgreSQL database
``siyu_sqlconn_<hex>`` or a new MariaDB database of that name, dropped afterwards. The siyu
workspace is the ``ws`` fixture (SQLite and PostgreSQL), so most tests run on six pairs.

The source writes its times the way the ERP's own code would: native ``timestamp`` /
``DATETIME(6)`` columns on PostgreSQL and MariaDB, and on SQLite text in a ``DATETIME``
column as Python's and SQLite's own tools write it (``2026-03-01 09:00:00``), not in
SQLAlchemy's form.

MariaDB is ``$SIYU_TEST_MYSQL_URL`` (default ``mysql+pymysql://root@127.0.0.1:3306/test``);
when ``SIYU_TEST_MYSQL=required`` an unreachable server fails the run, otherwise its sources
are skipped, as PostgreSQL's are (``tests/conftest.py``).
"""

from __future__ import annotations

import json
import os
import random
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import mysql

import siyu
from siyu.core.errors import ConfigError
from siyu.plugins import connectors
from siyu.plugins.connectors.models import ConnectorCursor
from siyu.plugins.connectors.sql import _engine
from siyu.storage.models import Contact, Order
from tests.conftest import PG_URL, server_problem

MYSQL_URL = os.environ.get("SIYU_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/test")
BASE = datetime(2026, 3, 1, 9, 0, 0)
MEMBERS = 40
ORDER_MAP = {"external_id": "order_no", "amount_fen": "amount_fen", "paid_at": "paid_at",
             "status": "status", "member_id": "member_no"}
MEMBER_MAP = {"member_id": "member_no", "name": "name", "phone": "phone",
              "field:会员等级": "level"}
#: A password that must never be shown anywhere.
PASSWORD = "Pw-7fK39qZ"
TIME = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


_PROBLEMS: dict[str, str | None] = {}


def _require(kind: str) -> None:
    """Skip (or fail, when required) when the server of ``kind`` is not reachable."""
    url, env = {"postgresql": (PG_URL, "SIYU_TEST_POSTGRES"),
                "mariadb": (MYSQL_URL, "SIYU_TEST_MYSQL")}[kind]
    if kind not in _PROBLEMS:
        _PROBLEMS[kind] = server_problem(url)
    problem = _PROBLEMS[kind]
    if problem:
        if os.environ.get(env) == "required":
            pytest.fail(f"{kind} required but unreachable at {url}: {problem}")
        pytest.skip(f"{kind} not reachable: {problem}")


# -- the source database ------------------------------------------------------------------


@dataclass
class Source:
    """A shop/ERP database the connector reads (the test writes it with :attr:`engine`)."""

    kind: str  # sqlite, postgresql, mariadb
    url: str
    engine: sa.Engine
    server: sa.engine.URL | None = None  # the server's URL, without a database

    def table(self, name: str, *, members: bool = False, schema: str | None = None,
              create: bool = True) -> sa.Table:
        """The orders (or members) table ``name``, created when ``create``."""
        writing = sa.String(32) if self.kind == "sqlite" else TIME
        table = _table(sa.MetaData(), name, members, schema, TIME)
        if create:
            table.create(self.engine)
        # SQLite: the times go in as text, as the ERP's own code writes them.
        return _table(sa.MetaData(), name, members, schema, writing)

    def insert(self, table: sa.Table, rows: list[dict]) -> None:
        if self.kind == "sqlite":
            rows = [{k: _text(v) for k, v in row.items()} for row in rows]
        with self.engine.begin() as conn:
            conn.execute(sa.insert(table), rows)

    def execute(self, statement, params=None) -> None:
        if isinstance(params, dict) and self.kind == "sqlite":
            params = {k: _text(v) for k, v in params.items()}
        with self.engine.begin() as conn:
            conn.execute(statement, params or {})

    def totals(self, table: str) -> tuple[int, int]:
        """Rows and sum of amount_fen of a source table."""
        with self.engine.connect() as conn:
            count, total = conn.execute(sa.text(
                f"SELECT COUNT(*), COALESCE(SUM(amount_fen), 0) FROM {table}")).one()
        return int(count), int(total)

    def url_with_password(self) -> str:
        """The source's URL with :data:`PASSWORD` in it (PostgreSQL trusts local users, so
        it still works there; MariaDB's root has no password, so it fails there)."""
        url = sa.engine.make_url(self.url)
        return url.set(password=PASSWORD).render_as_string(hide_password=False)


def _text(value):
    return value.isoformat(sep=" ") if isinstance(value, datetime) else value


def _table(meta: sa.MetaData, name: str, members: bool, schema: str | None, time) -> sa.Table:
    if members:
        return sa.Table(name, meta,
                        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
                        sa.Column("member_no", sa.String(32), nullable=False),
                        sa.Column("name", sa.String(50)),
                        sa.Column("phone", sa.String(20)),
                        sa.Column("level", sa.String(20)),
                        sa.Column("updated_at", time, nullable=False), schema=schema)
    return sa.Table(name, meta,
                    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
                    sa.Column("order_no", sa.String(32), nullable=False),
                    sa.Column("member_no", sa.String(32)),
                    sa.Column("amount_fen", sa.BigInteger, nullable=False),
                    sa.Column("status", sa.String(20), nullable=False),
                    sa.Column("paid_at", time, nullable=False),
                    sa.Column("updated_at", time, nullable=False), schema=schema)


def order_rows(first: int, last: int, *, ties: int = 3, at: datetime = BASE) -> list[dict]:
    """Orders ``first`` … ``last`` (ids), ``ties`` of them per ``updated_at`` second."""
    return [{"id": i, "order_no": f"ERP{i:07d}", "member_no": f"M{i % MEMBERS + 1:05d}",
             "amount_fen": 100 + (i * 7919) % 99_900, "status": "paid",
             "paid_at": at + timedelta(minutes=i), "updated_at": at + timedelta(seconds=i // ties)}
            for i in range(first, last + 1)]


def member_rows(count: int) -> list[dict]:
    return [{"id": j, "member_no": f"M{j:05d}", "name": f"会员{j}",
             "phone": f"139{j:08d}", "level": ("银卡", "金卡")[j % 2],
             "updated_at": BASE + timedelta(seconds=j // 4)} for j in range(1, count + 1)]


def _server_database(kind: str, base: str):
    """A new database on the server of ``base``: (its URL, the admin engine, its name)."""
    name = f"siyu_sqlconn_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {name}"))
    url = sa.engine.make_url(base).set(database=name)
    return url, admin, name


def _drop(kind: str, admin: sa.Engine, name: str) -> None:
    with admin.connect() as conn:
        force = " WITH (FORCE)" if kind == "postgresql" else ""
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name}{force}"))
    admin.dispose()


def _source(kind: str, tmp_path):
    """A generator of one source database of ``kind``, dropped afterwards."""
    if kind == "sqlite":
        path = tmp_path / "erp.db"
        engine = sa.create_engine(f"sqlite:///{path}")
        with engine.connect():  # the ERP's file exists
            pass
        yield Source("sqlite", f"sqlite:///{path}", engine)
        engine.dispose()
        return
    _require(kind)
    url, admin, name = _server_database(kind, PG_URL if kind == "postgresql" else MYSQL_URL)
    engine = sa.create_engine(url)
    try:
        yield Source(kind, url.render_as_string(hide_password=False), engine,
                     server=sa.engine.make_url(PG_URL if kind == "postgresql" else MYSQL_URL))
    finally:
        engine.dispose()
        _drop(kind, admin, name)


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def source(request, tmp_path):
    """A new, empty source database: a SQLite file, a PostgreSQL or a MariaDB database."""
    yield from _source(request.param, tmp_path)


@pytest.fixture
def pg_source(tmp_path):
    yield from _source("postgresql", tmp_path)


@pytest.fixture
def sqlite_source(tmp_path):
    yield from _source("sqlite", tmp_path)


@pytest.fixture
def mariadb_source(tmp_path):
    yield from _source("mariadb", tmp_path)


# -- helpers ------------------------------------------------------------------------------


def add(ws, source: Source, table: str = "erp_orders", *, batch: int = 100, name: str = "erp",
        url: str | None = None, mapping: dict | None = None, **settings):
    return connectors.add(ws, name, "sql",
                          settings={"url": url or source.url, "orders_table": table,
                                    "batch_size": batch, **settings},
                          mapping={"orders": mapping or ORDER_MAP})


def stored(ws, name: str = "erp") -> tuple[int, int, int]:
    """Orders of connector ``name``: rows, distinct order numbers, sum of amount_fen."""
    t = Order.__table__
    with ws.engine.connect() as conn:
        count, distinct, total = conn.execute(sa.select(
            sa.func.count(), sa.func.count(sa.distinct(t.c.external_id)),
            sa.func.coalesce(sa.func.sum(t.c.amount_fen), 0)).where(t.c.source == name)).one()
    return int(count), int(distinct), int(total)


def order_of(ws, external_id: str, name: str = "erp"):
    t = Order.__table__
    with ws.engine.connect() as conn:
        return conn.execute(sa.select(t).where(t.c.source == name,
                                               t.c.external_id == external_id)).one()


def stored_cursor(ws, entity: str = "orders"):
    """The cursor as the workspace's database holds it."""
    with ws.engine.connect() as conn:
        return conn.execute(sa.select(ConnectorCursor.cursor).where(
            ConnectorCursor.entity == entity)).scalar()


def sync(ws, name: str = "erp", **options):
    report = connectors.sync(ws, name, progress=False, **options)
    return report.runs[0] if len(report.runs) == 1 else report


# -- exactly once -------------------------------------------------------------------------


def test_every_row_is_stored_once_and_a_second_sync_stores_nothing(ws, source):
    table = source.table("erp_orders")
    source.insert(table, order_rows(1, 1000))
    add(ws, source, batch=128)

    run = sync(ws)
    assert (run.status, run.error) == ("ok", "")
    assert (run.pages, run.records, run.created, run.updated, run.skipped) == (8, 1000, 1000,
                                                                                0, 0)
    count, total = source.totals("erp_orders")
    assert stored(ws) == (count, count, total) == (1000, 1000, total)
    again = sync(ws)
    assert (again.status, again.pages, again.records, again.created, again.updated) == (
        "ok", 0, 0, 0, 0)
    assert stored(ws) == (1000, 1000, total)
    history = connectors.runs(ws, "erp")
    assert [(r.status, r.records) for r in history] == [("ok", 0), ("ok", 1000)]


def test_changed_rows_update_their_orders_and_new_rows_are_added(db_url, source):
    changed: list[tuple[int, dict]] = []

    class Recorder:
        __name__ = "sql_recorder"

        @siyu.hookimpl
        def on_order_changed(self, order, changes, delivery_id):
            changed.append((order.id, changes))

    with siyu.open(db_url, plugins=[Recorder()], load_entry_points=False) as ws:
        table = source.table("erp_orders")
        source.insert(table, order_rows(1, 300))
        add(ws, source, batch=64)
        assert sync(ws).created == 300
        # Five refunds and a corrected amount: the ERP moves updated_at forward.
        later = BASE + timedelta(days=1)
        refunded = [7, 64, 65, 128, 299]
        for i in refunded:
            source.execute(sa.update(table).where(table.c.id == i).values(
                status="refunded", updated_at=later + timedelta(seconds=i)))
        source.execute(sa.update(table).where(table.c.id == 150).values(
            amount_fen=12_345, updated_at=later))
        source.insert(table, order_rows(301, 320, at=later + timedelta(hours=1)))

        run = sync(ws)
        assert (run.status, run.records, run.created, run.updated, run.unchanged) == (
            "ok", 26, 20, 6, 0)
        count, total = source.totals("erp_orders")
        assert stored(ws) == (320, 320, total)
        for i in refunded:
            order = order_of(ws, f"ERP{i:07d}")
            assert (order.status, order.refunded_fen) == ("refunded", order.amount_fen)
        assert order_of(ws, "ERP0000150").amount_fen == 12_345
        assert order_of(ws, "ERP0000151").status == "paid"
        ids = {order_of(ws, f"ERP{i:07d}").id: i for i in [*refunded, 150]}
        assert sorted(ids[order_id] for order_id, _ in changed) == sorted([*refunded, 150])
        by_row = {ids[order_id]: changes for order_id, changes in changed}
        amount = order_of(ws, "ERP0000007").amount_fen
        assert by_row[7] == {"status": ["paid", "refunded"], "refunded_fen": [0, amount]}
        old = order_rows(150, 150)[0]["amount_fen"]
        assert by_row[150] == {"amount_fen": [old, 12_345]}
        assert sync(ws).records == 0


def test_ties_on_the_cursor_column_are_broken_by_id_across_batches(ws, source):
    """100 rows in four runs of equal updated_at (25 each), written in random id order;
    batches of 7 end inside every run of ties."""
    rows = order_rows(1, 100, ties=25)
    random.Random(5).shuffle(rows)
    table = source.table("erp_orders")
    source.insert(table, rows)
    add(ws, source, batch=7)

    first = sync(ws, max_pages=2)  # stops at id 14, in the middle of the first tie group
    assert (first.records, first.created) == (14, 14)
    cursor = connectors.get(ws, "erp").cursors["orders"]
    assert cursor["id"] == 14
    rest = sync(ws)
    assert (rest.status, rest.pages, rest.records, rest.created, rest.updated,
            rest.unchanged) == ("ok", 13, 86, 86, 0, 0)
    count, total = source.totals("erp_orders")
    assert stored(ws) == (100, 100, total)
    # A reset reads the source again from the start: every row is there already.
    connectors.reset(ws, "erp")
    again = sync(ws)
    assert (again.records, again.created, again.unchanged) == (100, 0, 100)
    assert stored(ws) == (100, 100, total)


def test_the_cursor_is_the_last_rows_and_survives_json(ws, source):
    rows = order_rows(1, 50, ties=4)
    for row in rows:  # microseconds, which the cursor must keep
        row["updated_at"] += timedelta(microseconds=row["id"] // 4 * 1001)
    table = source.table("erp_orders")
    source.insert(table, rows)
    add(ws, source, batch=16)
    sync(ws)

    last = max(rows, key=lambda r: (r["updated_at"], r["id"]))
    cursor = connectors.get(ws, "erp").cursors["orders"]
    assert cursor == stored_cursor(ws) == json.loads(json.dumps(cursor))
    assert cursor["id"] == last["id"] == 50
    if source.kind == "sqlite":  # kept as the source stores it: compared as stored
        assert cursor["value"] == _text(last["updated_at"])
    else:
        value = datetime.fromisoformat(cursor["value"]["datetime"])
        assert value == last["updated_at"] and value.microsecond == 12 * 1001
    # A row that comes after it, and one of the same time with a later id, are read next.
    source.insert(table, [{**order_rows(51, 51)[0], "updated_at": last["updated_at"]},
                          order_rows(52, 52, at=BASE + timedelta(days=2))[0]])
    run = sync(ws)
    assert (run.records, run.created) == (2, 2)
    assert connectors.get(ws, "erp").cursors["orders"]["id"] == 52


def test_timestamptz_cursors_keep_their_offset(ws, pg_source):
    pg_source.execute(sa.text(
        "CREATE TABLE erp_orders (id int PRIMARY KEY, order_no text, member_no text, "
        "amount_fen bigint, status text, paid_at timestamptz, updated_at timestamptz)"))
    pg_source.execute(sa.text(
        "INSERT INTO erp_orders SELECT i, 'ERP' || lpad(i::text, 7, '0'), NULL, 100 * i, "
        "'paid', timestamptz '2026-03-01 09:00:00+08' + i * interval '1 minute', "
        "timestamptz '2026-03-01 09:00:00.250001+08' + (i / 3) * interval '1 second' "
        "FROM generate_series(1, 30) AS i"))
    add(ws, pg_source, batch=4)
    assert sync(ws).created == 30
    cursor = stored_cursor(ws)
    value = datetime.fromisoformat(cursor["value"]["datetime"])
    assert value.utcoffset() is not None
    assert value == datetime.fromisoformat("2026-03-01T01:00:10.250001+00:00")
    assert cursor["id"] == 30
    assert sync(ws).records == 0


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_sqlite_text_times_in_iso_form_page_exactly_once(ws, sqlite_source):
    """A SQLite source whose DATETIME column holds ``2026-03-01T09:00:00Z`` text."""
    source = sqlite_source
    source.execute(sa.text(
        "CREATE TABLE erp_orders (id INTEGER PRIMARY KEY, order_no TEXT, member_no TEXT, "
        "amount_fen INTEGER, status TEXT, paid_at DATETIME, updated_at DATETIME)"))
    rows = order_rows(1, 60, ties=10)
    with source.engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO erp_orders VALUES (:id, :order_no, :member_no, :amount_fen, :status, "
            ":paid_at, :updated_at)"),
            [{**row, "paid_at": row["paid_at"].isoformat() + "Z",
              "updated_at": row["updated_at"].isoformat() + "Z"} for row in rows])
    add(ws, source, batch=6)
    first = sync(ws, max_pages=1)
    assert first.records == 6
    rest = sync(ws)
    assert (rest.records, rest.created) == (54, 54)
    assert stored(ws) == (60, 60, sum(row["amount_fen"] for row in rows))
    assert stored_cursor(ws) == {"value": "2026-03-01T09:00:06Z", "id": 60}
    assert sync(ws).records == 0


def test_max_pages_stops_half_way_and_the_next_run_resumes_exactly_once(ws, source):
    table = source.table("erp_orders")
    source.insert(table, order_rows(1, 400))
    add(ws, source, batch=50)

    half = sync(ws, max_pages=4)
    assert (half.status, half.pages, half.records, half.created) == ("ok", 4, 200, 200)
    assert stored(ws)[:2] == (200, 200)
    assert connectors.get(ws, "erp").cursors["orders"]["id"] == 200
    rest = sync(ws)
    assert (rest.status, rest.pages, rest.records, rest.created, rest.unchanged) == (
        "ok", 4, 200, 200, 0)
    count, total = source.totals("erp_orders")
    assert stored(ws) == (400, 400, total)
    assert sum(r.records for r in connectors.runs(ws, "erp")) == 400


def test_a_source_failing_mid_stream_keeps_what_was_stored_and_resumes(ws, pg_source):
    """A view whose 201st row divides by zero: the pages before it are stored, the run
    fails naming the error, and once the ERP is fixed the next run takes the rest. (The
    index lets PostgreSQL compute the rows as they are fetched, not all before the first.)"""
    table = pg_source.table("erp_base")
    pg_source.insert(table, order_rows(1, 400))
    pg_source.execute(sa.text("CREATE INDEX erp_base_changes ON erp_base (updated_at, id)"))
    pg_source.execute(sa.text("ANALYZE erp_base"))
    pg_source.execute(sa.text(
        "CREATE VIEW erp_orders AS SELECT id, order_no, member_no, "
        "amount_fen / CASE WHEN id = 201 THEN 0 ELSE 1 END AS amount_fen, status, paid_at, "
        "updated_at FROM erp_base"))
    add(ws, pg_source, batch=50)

    broken = sync(ws)
    assert broken.status == "failed"
    assert "division by zero" in broken.error and "refused" in broken.error
    assert (broken.pages, broken.records) == (4, 200)
    assert stored(ws)[:2] == (200, 200)
    assert connectors.get(ws, "erp").cursors["orders"]["id"] == 200
    pg_source.execute(sa.text(
        "CREATE OR REPLACE VIEW erp_orders AS SELECT id, order_no, member_no, amount_fen, "
        "status, paid_at, updated_at FROM erp_base"))
    rest = sync(ws)
    assert (rest.status, rest.records, rest.created) == ("ok", 200, 200)
    count, total = pg_source.totals("erp_base")
    assert stored(ws) == (400, 400, total)


def test_a_row_the_mapping_cannot_store_is_skipped_and_named(ws, source):
    table = source.table("erp_orders")
    rows = order_rows(1, 30)
    rows[11]["amount_fen"] = -500
    rows[20]["status"] = "已发货"  # a paid order on its way: stored as paid
    source.insert(table, rows)
    add(ws, source, batch=8)
    run = sync(ws)
    assert (run.status, run.records, run.created, run.skipped) == ("ok", 30, 29, 1)
    (problem,) = connectors.runs(ws, "erp")[0].problems
    assert (problem["record"], problem["field"], problem["value"]) == (12, "amount_fen",
                                                                       "-500")
    assert stored(ws)[:2] == (29, 29)
    assert order_of(ws, "ERP0000021").status == "paid"


# -- members, then orders matched to them -------------------------------------------------


def test_members_then_their_orders_matched_by_member_number(ws, source):
    members = source.table("erp_members", members=True)
    source.insert(members, member_rows(MEMBERS))
    orders = source.table("erp_orders")
    source.insert(orders, order_rows(1, 200))
    connectors.add(ws, "erp", "sql", entities="orders,members",
                   settings={"url": source.url, "orders_table": "erp_orders",
                             "members_table": "erp_members", "batch_size": 15},
                   mapping={"orders": ORDER_MAP, "members": MEMBER_MAP})

    report = connectors.sync(ws, "erp", progress=False)
    assert report.ok, report.summary()
    assert [(r.entity, r.created) for r in report.runs] == [("members", MEMBERS),
                                                            ("orders", 200)]
    c, o = Contact.__table__, Order.__table__
    with ws.engine.connect() as conn:
        contacts = dict(conn.execute(sa.select(c.c.member_id, c.c.id)).all())
        assert len(contacts) == MEMBERS
        pairs = conn.execute(sa.select(o.c.external_id, o.c.contact_id)).all()
        names = dict(conn.execute(sa.select(c.c.member_id, c.c.name)).all())
    assert names["M00007"] == "会员7"
    assert len(pairs) == 200
    for external_id, contact_id in pairs:
        i = int(external_id[3:])
        assert contact_id == contacts[f"M{i % MEMBERS + 1:05d}"], external_id
    again = connectors.sync(ws, "erp", progress=False)
    assert [(r.entity, r.records) for r in again.runs] == [("members", 0), ("orders", 0)]
    assert set(connectors.get(ws, "erp").cursors) == {"members", "orders"}


def test_schema_qualified_tables_on_postgresql(ws, pg_source):
    pg_source.execute(sa.text("CREATE SCHEMA erp"))
    qualified = pg_source.table("orders", schema="erp")
    pg_source.insert(qualified, order_rows(1, 120))
    decoy = pg_source.table("orders")  # public.orders, which must not be read
    pg_source.insert(decoy, order_rows(1001, 1005))
    add(ws, pg_source, "erp.orders", batch=50)
    run = sync(ws)
    assert (run.status, run.created) == ("ok", 120)
    count, total = pg_source.totals("erp.orders")
    assert stored(ws) == (120, 120, total)

    connectors.update(ws, "erp", settings={"orders_table": "erp.nope"})
    failed = sync(ws)
    assert failed.status == "failed" and "'erp.nope'" in failed.error


# -- errors -------------------------------------------------------------------------------


def _nowhere(ws, name: str = "erp") -> None:
    """Nothing stored, no cursor."""
    assert stored(ws, name) == (0, 0, 0)
    assert connectors.get(ws, name).cursors == {}


def _never_shown(ws, *texts: str) -> None:
    """:data:`PASSWORD` appears in none of ``texts``, get(), listing(), the runs, the audit
    log or the events."""
    shown = [*texts, repr(connectors.get(ws, "erp")), json.dumps(
        asdict(connectors.get(ws, "erp")), default=str),
        connectors.listing(ws).to_json(date_format="iso"),
        ws.audit_log.df().to_json(force_ascii=False, date_format="iso"),
        json.dumps([{"error": r.error, "problems": r.problems} for r in connectors.runs(ws)],
                   ensure_ascii=False)]
    with ws.engine.connect() as conn:
        shown.append(str(conn.execute(sa.text("SELECT payload FROM event")).all()))
    for text in shown:
        assert PASSWORD not in text, text


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_an_unknown_table_fails_the_run_naming_it(ws, source):
    table = source.table("erp_orders")
    source.insert(table, order_rows(1, 10))
    url = source.url_with_password() if source.kind == "postgresql" else source.url
    add(ws, source, "erp_order", url=url)
    run = sync(ws)
    assert run.status == "failed"
    assert run.error == "the source database has no table 'erp_order'"
    assert connectors.runs(ws, "erp")[0].error == run.error
    _nowhere(ws)
    _never_shown(ws, run.error)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_an_unknown_column_fails_the_run_naming_it(ws, source):
    table = source.table("erp_orders")
    source.insert(table, order_rows(1, 10))
    url = source.url_with_password() if source.kind == "postgresql" else source.url
    add(ws, source, url=url, cursor_column="changed_at")
    run = sync(ws)
    assert run.status == "failed"
    assert run.error.startswith("table 'erp_orders' has no column 'changed_at'; it has: id, "
                                "order_no, member_no, amount_fen")
    connectors.update(ws, "erp", settings={"cursor_column": "updated_at",
                                           "id_column": "order_id"})
    run = sync(ws)
    assert run.error.startswith("table 'erp_orders' has no column 'order_id'")
    connectors.update(ws, "erp", settings={"id_column": "id"},
                      mapping={"orders": {**ORDER_MAP, "external_id": "order_number"}})
    run = sync(ws)
    assert run.status == "failed"
    assert "'order_number'" in run.error and "order_no" in run.error
    _nowhere(ws)
    _never_shown(ws, run.error)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_an_unreachable_server_fails_the_run_without_showing_the_password(ws, source):
    if source.kind == "sqlite":
        url = f"sqlite:///{source.url.removeprefix('sqlite:///')}.missing/erp.db"
    else:  # nothing listens on port 1
        url = source.server.set(password=PASSWORD, port=1, database="erp").render_as_string(
            hide_password=False)
    add(ws, source, url=url)
    run = sync(ws)
    assert run.status == "failed"
    assert run.error.startswith("the source database failed: "), run.error
    assert ("refused" in run.error.lower() or "can't connect" in run.error.lower()
            or "unable to open" in run.error), run.error
    _nowhere(ws)
    _never_shown(ws, run.error)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_wrong_password_fails_the_run_without_showing_it(ws, mariadb_source):
    """(MariaDB's root has no password here; PostgreSQL trusts local users.)"""
    source = mariadb_source
    add(ws, source, url=source.url_with_password())
    run = sync(ws)
    assert run.status == "failed" and "Access denied" in run.error, run.error
    _nowhere(ws)
    _never_shown(ws, run.error)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_missing_sqlite_file_is_not_created(ws, tmp_path):
    """The source is opened read-only: a mistyped path fails, it creates no empty file."""
    missing = tmp_path / "erp-typo.db"
    connectors.add(ws, "erp", "sql",
                   settings={"url": f"sqlite:///{missing}", "orders_table": "erp_orders"},
                   mapping={"orders": ORDER_MAP})
    run = sync(ws)
    assert run.status == "failed" and "unable to open database file" in run.error
    assert not missing.exists()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_source_is_read_only(ws, source):
    """A view that writes (a function with a side effect) cannot write through the
    connector: the session is read-only (SQLite: the file is opened read-only)."""
    table = source.table("erp_base")
    source.insert(table, order_rows(1, 10))
    if source.kind == "postgresql":
        source.execute(sa.text("CREATE TABLE seen (id int)"))
        source.execute(sa.text(
            "CREATE FUNCTION touch(i int) RETURNS int LANGUAGE plpgsql AS "
            "$$ BEGIN INSERT INTO seen VALUES (i); RETURN i; END $$"))
        source.execute(sa.text("CREATE VIEW erp_orders AS SELECT touch(id) AS id, order_no, "
                               "member_no, amount_fen, status, paid_at, updated_at "
                               "FROM erp_base"))
    elif source.kind == "mariadb":
        source.execute(sa.text("CREATE TABLE seen (id int)"))
        source.execute(sa.text(
            "CREATE FUNCTION touch(i int) RETURNS int MODIFIES SQL DATA "
            "BEGIN INSERT INTO seen VALUES (i); RETURN i; END"))
        source.execute(sa.text("CREATE VIEW erp_orders AS SELECT touch(id) AS id, order_no, "
                               "member_no, amount_fen, status, paid_at, updated_at "
                               "FROM erp_base"))
    else:
        source.execute(sa.text("CREATE TABLE seen (id int)"))
        source.execute(sa.text(
            "CREATE VIEW erp_orders AS SELECT * FROM erp_base"))
    add(ws, source)
    run = sync(ws)
    if source.kind != "sqlite":
        assert run.status == "failed" and "read-only" in run.error.lower().replace(
            "read only", "read-only"), run.error
        _nowhere(ws)
    else:
        assert run.created == 10  # reading works; writing is refused:
        engine = _engine(source.url)
        try:
            with pytest.raises(sa.exc.OperationalError, match="readonly"), engine.begin() as conn:
                conn.execute(sa.text("INSERT INTO seen VALUES (1)"))
        finally:
            engine.dispose()
    with source.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM seen")).scalar() == 0


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("url, message", [
    ("not a url", "not a SQLAlchemy URL"),
    (f"postgresql+psycopg://reader:{PASSWORD}@erp:port/shop", "not a SQLAlchemy URL"),
    ("", "is required"),
])
def test_a_bad_url_is_refused_when_the_connector_is_added(ws, url, message):
    with pytest.raises(ConfigError, match=message) as caught:
        connectors.add(ws, "erp", "sql", settings={"url": url, "orders_table": "o"},
                       mapping={"orders": ORDER_MAP})
    assert PASSWORD not in str(caught.value)
    assert connectors.listing(ws).empty
    assert PASSWORD not in ws.audit_log.df().to_json(force_ascii=False, date_format="iso")


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_url_of_an_unknown_database_kind_fails_the_run(ws):
    connectors.add(ws, "erp", "sql",
                   settings={"url": f"oracle+nodriver://reader:{PASSWORD}@erp/shop",
                             "orders_table": "o"}, mapping={"orders": ORDER_MAP})
    run = sync(ws)
    assert run.status == "failed"
    assert run.error.startswith("the database URL cannot be used: "), run.error
    assert "nodriver" in run.error
    _nowhere(ws)
    _never_shown(ws, run.error)
