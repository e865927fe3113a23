"""The REST connector against a real shop API on loopback (:mod:`tests.connectors.rest_shop`):
every pagination style stores every order exactly once and picks up new ones; failures stop a
run where the last stored page left it, and the next run goes on from there; bad records are
skipped one by one; the token never shows; configuring checks everything before storing
anything. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import socket
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import pytest
import sqlalchemy as sa

import siyu
from siyu.core.errors import ConfigError, NotFound, SyncError
from siyu.plugins import connectors
from siyu.plugins.connectors import runner
from siyu.plugins.connectors.models import Connector, ConnectorCursor, ConnectorRun
from siyu.storage.models import AuditLog, Contact, ContactField, Order
from siyu.storage.types import utcnow
from tests.connectors.rest_shop import Fault, RestShop, iso

TOKEN = "tk-9f2c1e77b3a04d5e"
ORDER_MAP = {"external_id": "order_id", "amount_fen": "amount_fen", "paid_at": "created_at",
             "status": "status", "member_id": "member_id"}
MEMBER_MAP = {"member_id": "member_id", "name": "name", "phone": "phone",
              "unionid": "unionid", "field:level": "level"}
#: The settings of each pagination style for the shop's orders.
STYLES = {
    "page": {"pagination": "page", "orders_path": "/page/orders",
             "members_path": "/page/members"},
    "offset": {"pagination": "offset", "orders_path": "/offset/orders",
               "members_path": "/offset/members", "size_param": "limit"},
    "cursor": {"pagination": "cursor", "orders_path": "/cursor/orders",
               "members_path": "/cursor/members", "size_param": "limit"},
    "link": {"pagination": "link", "orders_path": "/link/orders",
             "members_path": "/link/members", "size_param": "per_page", "records_path": ""},
    "since": {"pagination": "updated_since", "orders_path": "/incremental/orders",
              "members_path": "/incremental/members", "size_param": "limit"},
    "since_strict": {"pagination": "updated_since", "orders_path": "/incremental/orders",
                     "size_param": "limit", "after_param": "after_id",
                     "id_field": "order_id"},
}


def add_shop(ws, shop, style="page", *, name="shop", page_size=10, entities="orders",
             mapping=None, **settings):
    """Configure connector ``name`` on ``shop`` (quick retries, the token in a header)."""
    return connectors.add(
        ws, name, "rest", entities=entities,
        settings={"base_url": shop.url, **STYLES[style], "token": TOKEN,
                  "page_size": page_size, "backoff": 0.01, "retries": 2, **settings},
        mapping=mapping or {"orders": ORDER_MAP, "members": MEMBER_MAP})


def sync(ws, name="shop", **options):
    return connectors.sync(ws, name, progress=False, **options)


def stored(ws, source="shop") -> dict[str, int]:
    """``{order number: amount_fen}`` of the orders stored from ``source``."""
    with ws.engine.connect() as conn:
        rows = conn.execute(sa.select(Order.external_id, Order.amount_fen)
                            .where(Order.source == source)).all()
    found = dict(rows)
    assert len(found) == len(rows), "an order is stored twice"
    return found


def served(shop, start=0, stop=None) -> dict[str, int]:
    """``{order number: amount_fen}`` of the shop's orders ``start`` ≤ i < ``stop``."""
    stop = shop.n_orders if stop is None else stop
    return {o["order_id"]: o["amount_fen"] for o in shop.rows("orders", start, stop)}


def order_count(ws) -> int:
    with ws.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(Order)).scalar_one()


def cursor_of(ws, entity="orders", name="shop"):
    return connectors.get(ws, name).cursors.get(entity)


def one(report) -> runner.RunResult:
    assert len(report.runs) == 1
    return report.runs[0]


def hits(shop, style=None, entity="orders"):
    return [(page, status) for s, e, page, status in shop.hits
            if e == entity and (style is None or s == style)]


def stored_run(ws, run_id) -> ConnectorRun:
    with ws.session() as s:
        return s.get(ConnectorRun, run_id)


def audit_details(ws) -> str:
    with ws.engine.connect() as conn:
        rows = conn.execute(sa.select(AuditLog.action, AuditLog.target, AuditLog.detail)
                            .order_by(AuditLog.id)).all()
    return json.dumps([list(row) for row in rows], ensure_ascii=False, default=str)


# -- a tiny API for what the shop never serves ----------------------------------------------


class _ApiHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_GET(self):  # noqa: N802 - http.server's naming
        api = self.server.api
        parts = urlsplit(self.path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        with api.lock:
            api.requests.append((self.path, dict(self.headers)))
        status, headers, body = api.answer(parts.path, query, self.path)
        if not isinstance(body, bytes):
            body = json.dumps(body, ensure_ascii=False).encode()
        self.send_response(status)
        headers = {"Content-Type": "application/json; charset=utf-8", **headers}
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Api:
    """A JSON API on 127.0.0.1 answering ``answer(path, query, target)`` with ``(status,
    headers, body)``; :attr:`requests` holds each request's target and headers."""

    def __init__(self, answer):
        self.answer = answer
        self.requests: list[tuple[str, dict]] = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _ApiHandler)
        self.server.daemon_threads = True
        self.server.api = self

    @classmethod
    def pages(cls, *pages):
        """``?page=N`` answers ``{"data": pages[N-1]}`` (an empty list past the last)."""
        def answer(path, query, target):
            number = int(query.get("page", 1))
            return 200, {}, {"data": pages[number - 1] if number <= len(pages) else []}
        return cls(answer)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> Api:
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def order(number, amount="12.50", **fields):
    return {"order_id": number, "amount": amount, "created_at": "2026-03-01T10:00:00Z",
            "status": "paid", **fields}


YUAN_MAP = {"external_id": "order_id", "amount": "amount", "paid_at": "created_at",
            "status": "status"}


def add_api(ws, api, *, name="api", page_size=5, mapping=None, **settings):
    return connectors.add(ws, name, "rest", settings={
        "base_url": api.url, "orders_path": "/orders", "page_size": page_size,
        "backoff": 0.01, "retries": 1, **settings}, mapping={"orders": mapping or YUAN_MAP})


# -- pagination -----------------------------------------------------------------------------


@pytest.mark.parametrize("style", list(STYLES))
def test_each_style_stores_every_order_once_then_only_what_is_new(ws, style):
    with RestShop(100, 20, token=TOKEN) as shop:
        add_shop(ws, shop, style)
        first = one(sync(ws))
        assert (first.status, first.error, first.created, first.skipped) == ("ok", "", 100, 0)
        assert stored(ws) == served(shop) and order_count(ws) == 100
        assert sum(stored(ws).values()) == sum(o["amount_fen"]
                                               for o in shop.rows("orders", 0, 100))
        if style == "since":  # the boundary second's orders come again, stored once
            assert first.records > 100 and first.unchanged == first.records - 100
        else:
            assert (first.records, first.unchanged) == (100, 0)

        again = one(sync(ws))
        assert (again.status, again.created, again.updated) == ("ok", 0, 0)
        assert again.records <= 10 and order_count(ws) == 100

        shop.n_orders += 37
        grown = one(sync(ws))
        assert (grown.status, grown.created, grown.updated) == ("ok", 37, 0)
        assert stored(ws) == served(shop) and order_count(ws) == 137
        assert one(sync(ws)).created == 0 and order_count(ws) == 137


def test_page_style_reads_no_page_twice_but_the_last(ws):
    with RestShop(95, 20, token=TOKEN) as shop:
        add_shop(ws, shop, "page")
        run = one(sync(ws))
        assert (run.pages, run.records, run.created) == (10, 95, 95)
        assert hits(shop) == [(page, 200) for page in range(1, 11)]
        assert cursor_of(ws) == {"page": 10}  # the short last page is asked again
        shop.hits.clear()
        shop.n_orders = 103
        run = one(sync(ws))
        assert hits(shop) == [(10, 200), (11, 200)]
        assert (run.records, run.created, run.unchanged) == (13, 8, 5)
        assert cursor_of(ws) == {"page": 11}
        assert stored(ws) == served(shop)


def test_a_500_on_page_37_of_80_fails_the_run_and_the_next_run_goes_on_from_there(ws):
    with RestShop(400, 20, token=TOKEN, faults=[Fault("500", page=37, times=None)]) as shop:
        add_shop(ws, shop, "page", page_size=5)
        run = one(sync(ws))
        assert run.status == "failed"
        assert run.error == (f"{shop.url}/page/orders?page=37&page_size=5 answered 500 "
                             f"(after 2 retries)")
        assert (run.pages, run.records, run.created) == (36, 180, 180)
        assert stored(ws) == served(shop, 0, 180)
        assert cursor_of(ws) == {"page": 37}
        assert hits(shop)[-3:] == [(37, 500)] * 3 and len(hits(shop)) == 39
        row = stored_run(ws, run.run_id)
        assert (row.status, row.error, row.pages, row.created) == ("failed", run.error, 36,
                                                                    180)
        assert row.finished_at is not None

        shop.faults.clear()
        shop.hits.clear()
        run = one(sync(ws))
        assert (run.status, run.pages, run.created, run.unchanged) == ("ok", 45, 220, 0)
        assert hits(shop)[0] == (37, 200) and min(page for page, _ in hits(shop)) == 37
        assert stored(ws) == served(shop) and order_count(ws) == 400


def _at_row_50(shop, style):
    """Where each style stands after storing rows 0–49 (pages of 10)."""
    return {"offset": {"offset": 50}, "cursor": {"cursor": RestShop._encode_cursor(50)},
            "link": {"url": f"{shop.url}/link/orders?page=6&per_page=10"},
            "since_strict": {"since": iso(shop.updated_ts(49)), "after": "SO00000050"}
            }.get(style)


@pytest.mark.parametrize("style", ["offset", "cursor", "link", "since", "since_strict"])
def test_a_failed_run_stops_after_its_last_stored_page_in_every_style(ws, style):
    with RestShop(95, 20, token=TOKEN, faults=[Fault("500", row=50, times=None)]) as shop:
        add_shop(ws, shop, style, retries=1)
        run = one(sync(ws))
        assert run.status == "failed" and "answered 500 (after 1 retry)" in run.error
        assert run.error.startswith(f"{shop.url}{STYLES[style]['orders_path']}?")
        kept = stored(ws)
        assert kept == served(shop, 0, len(kept))  # what came before the fault, in full
        if style == "since":  # pages overlap: the last one stored ends before row 50
            assert 40 < len(kept) <= 50
            assert cursor_of(ws) == {"since": iso(shop.updated_ts(len(kept) - 1))}
        else:
            assert len(kept) == 50 and run.created == 50
            assert cursor_of(ws) == _at_row_50(shop, style)

        shop.faults.clear()
        run = one(sync(ws))
        assert (run.status, run.created) == ("ok", 95 - len(kept))
        assert stored(ws) == served(shop) and order_count(ws) == 95


def test_link_paging_keeps_the_next_page_with_the_token_in_the_query(ws):
    with RestShop(250, 20, token=TOKEN) as shop:
        add_shop(ws, shop, "link", auth="query")
        run = one(sync(ws, max_pages=40))  # (a client that lost its page would loop)
        assert (run.status, run.pages, run.created) == ("ok", 25, 250)
        assert hits(shop) == [(page, 200) for page in range(1, 26)]
        assert stored(ws) == served(shop)
        assert cursor_of(ws) == {"url": f"{shop.url}/link/orders?page=25&per_page=10"}


def test_a_path_with_a_query_keeps_it(ws):
    with Api.pages([order("Q1"), order("Q2")]) as api:
        add_api(ws, api, orders_path="/orders?shop=12&status=paid", token=TOKEN,
                auth="query")
        assert one(sync(ws, "api")).created == 2
    target = api.requests[0][0]
    assert urlsplit(target).path == "/orders"
    assert dict(parse_qsl(urlsplit(target).query)) == {
        "shop": "12", "status": "paid", "page": "1", "page_size": "5",
        "access_token": TOKEN}


def test_strict_updated_since_sends_the_last_id_and_reads_each_order_once(ws):
    with RestShop(95, 20, token=TOKEN, ties=4) as shop:
        add_shop(ws, shop, "since_strict")
        run = one(sync(ws))
        assert (run.status, run.records, run.created, run.unchanged) == ("ok", 95, 95, 0)
        assert cursor_of(ws) == {"since": iso(shop.updated_ts(94)), "after": "SO00000095"}
        assert stored(ws) == served(shop)


def test_updated_since_by_time_alone_refuses_a_page_all_of_one_second(ws):
    with RestShop(40, 20, token=TOKEN, ties=6) as shop:
        add_shop(ws, shop, "since", page_size=4)
        run = one(sync(ws))
        assert run.status == "failed"
        assert (f"a whole page of 4 records changed at {iso(shop.updated_ts(0))}"
                in run.error)
        assert "after-id" in run.error
        assert stored(ws) == served(shop, 0, 4)  # the first page was stored


def test_updated_since_starts_from_start_since(ws):
    with RestShop(60, 20, token=TOKEN) as shop:
        add_shop(ws, shop, "since", start_since=iso(shop.updated_ts(30)))
        run = one(sync(ws))
        assert run.status == "ok"
        assert stored(ws) == served(shop, 30, 60)


def test_max_pages_stops_early_and_the_next_run_goes_on(ws):
    with RestShop(95, 20, token=TOKEN) as shop:
        add_shop(ws, shop, "page")
        run = one(sync(ws, max_pages=3))
        assert (run.status, run.pages, run.created) == ("ok", 3, 30)
        assert stored(ws) == served(shop, 0, 30) and cursor_of(ws) == {"page": 4}
        run = one(sync(ws, max_pages=3))
        assert (run.pages, run.created) == (3, 30)
        assert stored(ws) == served(shop, 0, 60)
        assert [page for page, _ in hits(shop)] == list(range(1, 7))
        run = one(sync(ws))
        assert (run.status, run.pages, run.created) == ("ok", 4, 35)
        assert stored(ws) == served(shop)


# -- the network ----------------------------------------------------------------------------


def test_a_transient_500_is_retried(ws):
    with RestShop(30, 20, token=TOKEN, faults=[Fault("500", page=2, times=2)]) as shop:
        add_shop(ws, shop, "page")
        run = one(sync(ws))
        assert (run.status, run.created) == ("ok", 30)
        assert hits(shop) == [(1, 200), (2, 500), (2, 500), (2, 200), (3, 200), (4, 200)]
        assert stored(ws) == served(shop)


def test_a_429_waits_as_long_as_retry_after_says(ws):
    with RestShop(30, 20, token=TOKEN, faults=[Fault("429", page=2, retry_after=1)]) as shop:
        add_shop(ws, shop, "page")
        started = time.monotonic()
        run = one(sync(ws))
        waited = time.monotonic() - started
        assert (run.status, run.created) == ("ok", 30)
        assert hits(shop)[:3] == [(1, 200), (2, 429), (2, 200)]
        assert waited >= 1.0  # the backoff alone would be 0.01 s


def test_a_slow_answer_times_out_and_is_asked_again(ws):
    with RestShop(30, 20, token=TOKEN, faults=[Fault("slow", page=2, delay=1.0)]) as shop:
        add_shop(ws, shop, "page", timeout=0.3)
        started = time.monotonic()
        run = one(sync(ws))
        assert (run.status, run.created) == ("ok", 30)
        assert shop.faults[0].fired == 1 and time.monotonic() - started >= 0.3
        assert (2, 200) in hits(shop)  # the second try (the first still sleeps)
        assert stored(ws) == served(shop)


def test_timeouts_past_the_retries_fail_the_run(ws):
    with RestShop(30, 20, token=TOKEN,
                  faults=[Fault("slow", page=2, delay=1.0, times=None)]) as shop:
        add_shop(ws, shop, "page", timeout=0.25, retries=1)
        run = one(sync(ws))
        assert run.status == "failed"
        assert run.error == (f"{shop.url}/page/orders?page=2&page_size=10: no answer within "
                             f"the timeout (after 1 retry)")
        assert stored(ws) == served(shop, 0, 10) and cursor_of(ws) == {"page": 2}


def test_a_refused_connection_fails_the_run(ws):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    connectors.add(ws, "gone", "rest", settings={
        "base_url": f"http://127.0.0.1:{port}", "orders_path": "/orders", "retries": 1,
        "backoff": 0.01}, mapping={"orders": ORDER_MAP})
    run = one(sync(ws, "gone"))
    assert run.status == "failed"
    assert run.error.startswith(f"http://127.0.0.1:{port}/orders?page=1&page_size=100: "
                                "could not connect")
    assert run.error.endswith("(after 1 retry)")
    assert order_count(ws) == 0


def test_the_rate_limit_spaces_requests(ws):
    with RestShop(50, 20, token=TOKEN) as shop:
        add_shop(ws, shop, "offset", rate_limit=20)
        started = time.monotonic()
        run = one(sync(ws))
        assert (run.status, run.pages) == ("ok", 6)
        assert time.monotonic() - started >= 5 / 20


def test_an_html_page_fails_the_run_and_nothing_of_it_is_stored(ws):
    with RestShop(50, 20, token=TOKEN, faults=[Fault("html", page=3, times=None)]) as shop:
        add_shop(ws, shop, "page")
        run = one(sync(ws))
        assert run.status == "failed"
        assert run.error == (f"{shop.url}/page/orders?page=3&page_size=10 answered text/html, "
                             f"not JSON: 502 Bad Gateway")
        assert stored(ws) == served(shop, 0, 20) and cursor_of(ws) == {"page": 3}
        assert hits(shop) == [(1, 200), (2, 200), (3, 200)]  # an HTML page is not retried


def test_records_not_at_the_records_path_fail_the_run(ws):
    with RestShop(30, 20, token=TOKEN) as shop:
        add_shop(ws, shop, "page", records_path="result.items")
        run = one(sync(ws))
        assert run.status == "failed"
        assert run.error == (f"{shop.url}/page/orders?page=1&page_size=10: no list of "
                             f"records at 'result.items' (records path); the answer has: "
                             f"data, page, page_size, total, pages")
        assert order_count(ws) == 0 and cursor_of(ws) is None


def test_a_page_size_the_api_caps_is_not_taken_for_the_last_page(ws):
    with RestShop(100, 20, token=TOKEN, max_page_size=20) as shop:
        add_shop(ws, shop, "page", page_size=50)
        run = one(sync(ws))
        assert run.status == "failed"
        assert run.error == (f"{shop.url}/page/orders?page=1&page_size=50 answered 20 records "
                             f"where 50 were asked, but says it has 100 in all: it pages by "
                             f"fewer; set the page size to 20")
        assert order_count(ws) == 0 and cursor_of(ws) is None
        connectors.update(ws, "shop", settings={"page_size": 20})
        run = one(sync(ws))
        assert (run.status, run.created) == ("ok", 100)
        assert stored(ws) == served(shop)


def test_offset_paging_follows_a_capped_page_size_too(ws):
    with RestShop(100, 20, token=TOKEN, max_page_size=20) as shop:
        add_shop(ws, shop, "offset", page_size=50)
        run = one(sync(ws))
        assert run.status == "failed"
        assert run.error == (f"{shop.url}/offset/orders?offset=0&limit=50 answered 20 records "
                             f"where 50 were asked, but says it has 100 in all: it pages by "
                             f"fewer; set the page size to 20")
        assert order_count(ws) == 0
        connectors.update(ws, "shop", settings={"page_size": 20})
        assert one(sync(ws)).created == 100 and stored(ws) == served(shop)


# -- mapping and records --------------------------------------------------------------------


def test_a_mapping_to_a_field_no_record_has_fails_naming_the_field(ws):
    with RestShop(30, 20, token=TOKEN) as shop:
        add_shop(ws, shop, "page", mapping={"orders": {**ORDER_MAP, "paid_at": "paid_time"}})
        run = one(sync(ws))
        assert run.status == "failed"
        assert run.error == ("the mapping takes paid_at from 'paid_time', which no orders "
                             "record has; the records have: amount_fen, created_at, items, "
                             "member_id, order_id, status, store_id, updated_at")
        assert order_count(ws) == 0 and cursor_of(ws) is None


def test_messy_money_amounts_are_parsed_to_the_right_fen(ws):
    mapping = {k: v for k, v in ORDER_MAP.items() if k != "amount_fen"}
    mapping["amount"] = "amount"
    with RestShop(60, 20, token=TOKEN) as shop:
        written = [o["amount"] for o in shop.rows("orders", 0, 60, messy=True)]
        assert any(a.endswith("元") for a in written) and any("¥" in a for a in written)
        assert any(a.startswith("RMB ") for a in written) and any("," in a for a in written)
        add_shop(ws, shop, "page", orders_path="/messy/orders", page_size=25,
                 mapping={"orders": mapping})
        run = one(sync(ws))
        assert (run.status, run.created, run.skipped) == ("ok", 60, 0)
        assert stored(ws) == served(shop)


def test_bad_records_are_skipped_one_by_one_and_named_in_the_run(ws):
    first = [order("A1"), {k: v for k, v in order("A2").items() if k != "order_id"},
             order("A3", "12.50美元"), order("A4", "¥1,234.00"),
             order("A5", status="lost")]
    second = [order("A6", "RMB 8"), order("A7", created_at="yesterday-ish")]
    with Api.pages(first, second) as api:
        add_api(ws, api)
        run = one(sync(ws, "api"))
    assert (run.status, run.pages, run.records) == ("ok", 2, 7)
    assert (run.created, run.skipped) == (3, 4)
    assert stored(ws, "api") == {"A1": 1250, "A4": 123400, "A6": 800}
    problems = {(p["record"], p["field"], p["value"]) for p in run.problems}
    assert problems == {(2, "external_id", ""), (3, "amount", "12.50美元"),
                        (5, "status", "lost"), (7, "paid_at", "yesterday-ish")}
    reasons = {p["field"]: p["reason"] for p in run.problems}
    assert reasons["external_id"] == "order number is empty"
    assert "'12.50美元' is not a non-negative yuan amount" in reasons["amount"]
    row = stored_run(ws, run.run_id)
    assert (row.skipped, row.created) == (4, 3)
    assert sorted((p["record"], p["field"]) for p in row.problems) == sorted(
        (r, f) for r, f, _v in problems)


def test_duplicate_order_numbers_in_a_page_are_stored_once(ws):
    page = [order("D1", "10"), order("D2", "20"), order("D1", "10"), order("D3", "30"),
            order("D1", "99")]
    with Api.pages(page) as api:
        add_api(ws, api)
        run = one(sync(ws, "api"))
    assert run.status == "ok"
    assert (run.records, run.created, run.unchanged, run.skipped) == (5, 3, 1, 1)
    assert stored(ws, "api") == {"D1": 1000, "D2": 2000, "D3": 3000}
    assert [(p["record"], p["field"], p["value"]) for p in run.problems] == [
        (5, "external_id", "D1")]
    assert "already appears" in run.problems[0]["reason"]


def test_records_that_are_not_objects_fail_the_run(ws):
    with Api.pages(["SO1", "SO2"]) as api:
        add_api(ws, api)
        run = one(sync(ws, "api"))
    assert run.status == "failed"
    assert run.error == "the source's orders are not objects (first: 'SO1')"


def test_nested_paths_reach_into_records(ws):
    records = [{"id": "N1", "pay": {"at": "2026-03-01T10:00:00Z", "fen": 500},
                "buyer": {"phones": ["13800000001"]}},
               {"id": "N2", "pay": {"at": "2026-03-02T10:00:00Z", "fen": 700},
                "buyer": {"phones": []}}]
    with Api.pages(records) as api:
        add_api(ws, api, mapping={"external_id": "id", "amount_fen": "pay.fen",
                                  "paid_at": "pay.at", "buyer_phone": "buyer.phones[0]"})
        run = one(sync(ws, "api"))
    assert (run.status, run.created) == ("ok", 2)
    with ws.engine.connect() as conn:
        rows = dict(conn.execute(sa.select(Order.external_id, Order.buyer_phone)).all())
    assert rows == {"N1": "13800000001", "N2": None}
    assert stored(ws, "api") == {"N1": 500, "N2": 700}


# -- members and hooks ----------------------------------------------------------------------


def test_members_are_synced_before_orders_so_orders_find_their_buyers(ws):
    with RestShop(60, 15, token=TOKEN) as shop:
        add_shop(ws, shop, "page", entities="orders,members")
        report = sync(ws)
        assert [run.entity for run in report.runs] == ["members", "orders"]
        assert report.ok and [run.created for run in report.runs] == [15, 60]
        with ws.engine.connect() as conn:
            contacts = dict(conn.execute(sa.select(Contact.member_id, Contact.id)).all())
            buyers = dict(conn.execute(sa.select(Order.external_id, Order.contact_id)).all())
            levels = dict(conn.execute(
                sa.select(Contact.member_id, ContactField.value)
                .join(ContactField, ContactField.contact_id == Contact.id)
                .where(ContactField.name == "level")).all())
            names = dict(conn.execute(sa.select(Contact.member_id, Contact.name)).all())
        assert len(contacts) == 15
        assert buyers == {o["order_id"]: contacts[o["member_id"]]
                          for o in shop.rows("orders", 0, 60)}
        assert levels == {m["member_id"]: m["level"] for m in shop.rows("members", 0, 15)}
        assert names == {m["member_id"]: m["name"] for m in shop.rows("members", 0, 15)}
        again = sync(ws)
        assert [(r.entity, r.created, r.updated) for r in again.runs] == [
            ("members", 0, 0), ("orders", 0, 0)]


def test_sync_of_one_entity_only(ws):
    with RestShop(30, 10, token=TOKEN) as shop:
        add_shop(ws, shop, "page", entities="orders,members")
        report = sync(ws, entities="members")
        assert [(r.entity, r.created) for r in report.runs] == [("members", 10)]
        assert order_count(ws) == 0 and hits(shop) == []


class OrderRecorder:
    """Records each new order it hears of."""

    def __init__(self):
        self.orders: list[int] = []

    @siyu.hookimpl
    def on_order(self, order, delivery_id):
        self.orders.append(order.id)


def test_on_order_fires_once_per_new_order(ws):
    recorder = OrderRecorder()
    ws.pm.register(recorder, name="order_recorder")
    with RestShop(50, 20, token=TOKEN) as shop:
        add_shop(ws, shop, "page")
        sync(ws)
        ws.hooks.deliver()
        with ws.engine.connect() as conn:
            ids = set(conn.execute(sa.select(Order.id)).scalars())
        assert len(recorder.orders) == 50 and set(recorder.orders) == ids
        sync(ws)
        ws.hooks.deliver()
        assert len(recorder.orders) == 50
        shop.n_orders += 7
        sync(ws)
        ws.hooks.deliver()
        assert len(recorder.orders) == 57 and len(set(recorder.orders)) == 57


# -- auth and secrets -----------------------------------------------------------------------


def _echo(path, query, target):
    return 200, {}, {"data": []}


def test_the_token_goes_in_a_header_or_in_the_query(ws):
    with Api(_echo) as api:
        add_api(ws, api, name="header", token=TOKEN)
        add_api(ws, api, name="custom", token=TOKEN, auth_header="X-Api-Key", auth_prefix="")
        add_api(ws, api, name="query", token=TOKEN, auth="query", token_param="key")
        for name in ("header", "custom", "query"):
            assert one(sync(ws, name)).status == "ok"
    (header_target, header), (custom_target, custom), (query_target, query) = api.requests
    assert header["Authorization"] == f"Bearer {TOKEN}" and TOKEN not in header_target
    assert custom["X-Api-Key"] == TOKEN and "Authorization" not in custom
    assert TOKEN not in custom_target
    assert dict(parse_qsl(urlsplit(query_target).query))["key"] == TOKEN
    assert "Authorization" not in query


@pytest.mark.parametrize("auth", ["header", "query"])
def test_a_wrong_token_fails_the_run_without_showing_it(ws, auth):
    with RestShop(30, 20, token=TOKEN) as shop:
        add_shop(ws, shop, "page", token="wrong-7d1e5a", auth=auth)
        run = one(sync(ws))
        assert run.status == "failed"
        assert run.error == (f"{shop.url}/page/orders?page=1&page_size=10 answered 401: "
                             f'{{"error":"invalid token"}}')
        assert hits(shop) == [(0, 401)]  # a 401 is not retried
    assert "wrong-7d1e5a" not in audit_details(ws)
    assert "wrong-7d1e5a" not in stored_run(ws, run.run_id).error


@pytest.mark.parametrize("auth", ["header", "query"])
def test_an_error_page_that_echoes_the_request_does_not_show_the_token(ws, auth):
    def echo_fail(path, query, target):
        return 400, {}, {"error": "bad request", "request": target,
                         "authorization": "Bearer " + TOKEN}

    def echo_html(path, query, target):
        return 200, {"Content-Type": "text/html"}, f"<p>denied {target} {TOKEN}</p>".encode()

    for answer, name in ((echo_fail, "fail"), (echo_html, "html")):
        with Api(answer) as api:
            add_api(ws, api, name=name, token=TOKEN, auth=auth)
            run = one(sync(ws, name))
        assert run.status == "failed"
        assert f"{api.url}/orders?page=1&page_size=5 answered" in run.error
        assert TOKEN not in run.error
    assert TOKEN not in audit_details(ws)


def test_secrets_are_never_shown_back(ws):
    with RestShop(40, 20, token=TOKEN) as shop:
        info = add_shop(ws, shop, "link", auth="query")
        assert info.secrets_set == ("token",) and "token" not in info.settings
        assert TOKEN not in repr(info)
        assert one(sync(ws)).status == "ok"
        assert stored(ws) == served(shop)
        cursor = cursor_of(ws)
        assert cursor == {"url": f"{shop.url}/link/orders?page=4&per_page=10"}
        connectors.update(ws, "shop", settings={"token": TOKEN + "-2", "page_size": 20})
        info = connectors.get(ws, "shop")
        assert TOKEN not in repr(info) and TOKEN not in repr(connectors.configured(ws))
        assert TOKEN not in connectors.listing(ws).to_csv()
        assert TOKEN not in audit_details(ws)
        actions = [a for a, *_ in json.loads(audit_details(ws))]
        assert actions == ["connector.add", "connector.sync", "connector.update"]
        with ws.engine.connect() as conn:
            cursors = conn.execute(sa.select(ConnectorCursor.cursor)).scalars().all()
        assert TOKEN not in json.dumps(cursors)


def test_an_empty_secret_keeps_it_and_none_removes_it(ws):
    with RestShop(20, 20, token=TOKEN) as shop:
        add_shop(ws, shop, "page")
        connectors.update(ws, "shop", settings={"token": ""})
        assert connectors.get(ws, "shop").secrets_set == ("token",)
        assert one(sync(ws)).status == "ok"
        connectors.update(ws, "shop", settings={"token": None})
        assert connectors.get(ws, "shop").secrets_set == ()
        connectors.reset(ws, "shop")
        run = one(sync(ws))
        assert run.status == "failed" and "answered 401" in run.error


# -- runs -----------------------------------------------------------------------------------


def _running(ws, heartbeat):
    with ws.session() as s:
        connector_id = s.execute(sa.select(Connector.id).where(Connector.name == "shop")
                                 ).scalar_one()
        run = ConnectorRun(connector_id=connector_id, entity="orders", status="running",
                           started_at=heartbeat, heartbeat_at=heartbeat)
        s.add(run)
        s.flush()
        return run.id


def test_a_second_run_is_refused_while_one_is_going_on(ws):
    with RestShop(20, 20, token=TOKEN) as shop:
        add_shop(ws, shop, "page")
        going = _running(ws, utcnow() - timedelta(minutes=1))
        with pytest.raises(SyncError, match=rf"'shop' is syncing orders already \(run {going}"):
            sync(ws)
        assert hits(shop) == [] and order_count(ws) == 0
        assert [r.id for r in connectors.runs(ws, "shop")] == [going]
        assert stored_run(ws, going).status == "running"


def test_a_stale_running_run_is_marked_interrupted_and_the_new_run_goes_on(ws):
    with RestShop(20, 20, token=TOKEN) as shop:
        add_shop(ws, shop, "page")
        stale = _running(ws, utcnow() - runner.STALE - timedelta(minutes=1))
        run = one(sync(ws))
        assert (run.status, run.created) == ("ok", 20)
        old = stored_run(ws, stale)
        assert old.status == "failed" and old.error.startswith("interrupted")
        assert old.finished_at is not None
        assert [r.status for r in connectors.runs(ws, "shop")] == ["ok", "failed"]


def test_runs_and_listing_tell_the_history(ws):
    with RestShop(30, 20, token=TOKEN, faults=[Fault("500", page=2, times=None)]) as shop:
        add_shop(ws, shop, "page", retries=0)
        assert one(sync(ws)).status == "failed"
        shop.faults.clear()
        assert one(sync(ws)).status == "ok"
    history = connectors.runs(ws, "shop")
    assert [(r.status, r.created, r.trigger) for r in history] == [("ok", 20, "hand"),
                                                                    ("failed", 10, "hand")]
    assert history[1].error.endswith("answered 500 (after 0 retries)")
    frame = connectors.listing(ws)
    assert frame[["name", "kind", "entities", "last_status"]].to_dict("records") == [
        {"name": "shop", "kind": "rest", "entities": "orders", "last_status": "ok"}]


def test_reset_reads_the_source_again_without_storing_twice(ws):
    with RestShop(30, 20, token=TOKEN) as shop:
        add_shop(ws, shop, "cursor")
        sync(ws)
        connectors.reset(ws, "shop")
        assert cursor_of(ws) is None
        run = one(sync(ws))
        assert (run.records, run.created, run.unchanged) == (30, 0, 30)
        assert order_count(ws) == 30


def test_remove_keeps_what_was_stored(ws):
    with RestShop(30, 20, token=TOKEN) as shop:
        add_shop(ws, shop, "page")
        sync(ws)
    connectors.remove(ws, "shop")
    with pytest.raises(NotFound, match="no connector named 'shop'"):
        connectors.get(ws, "shop")
    assert order_count(ws) == 30
    with ws.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(ConnectorRun)).scalar() == 0


# -- configuring ----------------------------------------------------------------------------


BASE = {"base_url": "https://erp.example.com/api", "orders_path": "/orders"}
BAD_CONFIGS = [
    ("unknown-kind", {"kind": "soap"}, ["no connector kind 'soap'", "rest", "sql"]),
    ("bad-name", {"name": "Shop One"}, ["connector name 'Shop One'", "lower-case"]),
    ("name-digit-first", {"name": "1shop"}, ["connector name '1shop'"]),
    ("unknown-setting", {"settings": {**BASE, "pagesize": 10}},
     ["rest connectors have no setting 'pagesize'", "page_size"]),
    ("no-base-url", {"settings": {"orders_path": "/orders"}},
     ["Base URL (base_url) is required"]),
    ("base-url-not-http", {"settings": {**BASE, "base_url": "ftp://erp"}},
     ["base URL 'ftp://erp' is not an http:// or https:// address"]),
    ("bad-pagination", {"settings": {**BASE, "pagination": "pages"}},
     ["pagination 'pages' is not one of page, offset, cursor, link, updated_since"]),
    ("bad-auth", {"settings": {**BASE, "auth": "cookie"}}, ["auth 'cookie'"]),
    ("page-size-zero", {"settings": {**BASE, "page_size": 0}},
     ["page size 0 is not between 1 and 10000"]),
    ("retries-text", {"settings": {**BASE, "retries": "many"}},
     ["retries 'many' is not a number"]),
    ("no-external-id", {"mapping": {"orders": {"amount_fen": "a", "paid_at": "p"}}},
     ["the orders mapping has no external_id"]),
    ("no-paid-at", {"mapping": {"orders": {"external_id": "o", "amount_fen": "a"}}},
     ["the orders mapping has no paid_at"]),
    ("no-amount", {"mapping": {"orders": {"external_id": "o", "paid_at": "p"}}},
     ["the orders mapping has no amount or amount_fen"]),
    ("no-member-id", {"entities": "members", "settings": {**BASE, "members_path": "/m"},
                      "mapping": {"members": {"name": "name"}}},
     ["the members mapping has no member_id"]),
    ("unknown-target", {"mapping": {"orders": {**ORDER_MAP, "price": "price"}}},
     ["orders have no field 'price'", "external_id"]),
    ("bad-path", {"mapping": {"orders": {**ORDER_MAP, "paid_at": "a..b"}}},
     ["path 'a..b' is not a field name"]),
    ("bad-bracket", {"mapping": {"orders": {**ORDER_MAP, "paid_at": "a[x]"}}},
     ["path 'a[x]' is not a field name"]),
    ("empty-path", {"mapping": {"orders": {**ORDER_MAP, "paid_at": " "}}},
     ["an empty path maps nothing"]),
    ("no-mapping", {"mapping": {}}, ["no field mapping for orders"]),
    ("unknown-entity", {"entities": "orders,refunds"}, ["'refunds' is not orders or members"]),
    ("no-entity", {"entities": ""}, ["name at least one"]),
    ("bad-every", {"every_minutes": -5}, ["run every -5 minutes"]),
    ("bad-records-path", {"settings": {**BASE, "records_path": "data..items"}},
     ["path 'data..items'"]),
]


@pytest.mark.parametrize(("given", "fragments"), [c[1:] for c in BAD_CONFIGS],
                         ids=[c[0] for c in BAD_CONFIGS])
def test_a_bad_configuration_is_refused_and_nothing_is_stored(ws, given, fragments):
    options = {"name": "shop", "kind": "rest", "settings": BASE,
               "mapping": {"orders": ORDER_MAP}, **given}
    name, kind = options.pop("name"), options.pop("kind")
    with pytest.raises(ConfigError) as caught:
        connectors.add(ws, name, kind, **options)
    for fragment in fragments:
        assert fragment in str(caught.value)
    assert connectors.configured(ws) == []
    assert json.loads(audit_details(ws)) == []


def test_a_second_connector_of_the_same_name_is_refused(ws):
    connectors.add(ws, "shop", "rest", settings=BASE, mapping={"orders": ORDER_MAP})
    with pytest.raises(ConfigError, match="a connector named 'shop' exists already"):
        connectors.add(ws, "shop", "rest", settings={**BASE, "orders_path": "/other"},
                       mapping={"orders": ORDER_MAP})
    assert [i.settings["orders_path"] for i in connectors.configured(ws)] == ["/orders"]
    assert [a for a, *_ in json.loads(audit_details(ws))] == ["connector.add"]


def test_a_bad_change_changes_nothing(ws):
    connectors.add(ws, "shop", "rest", settings={**BASE, "token": TOKEN},
                   mapping={"orders": ORDER_MAP})
    before = connectors.get(ws, "shop")
    for change in ({"settings": {"pagination": "pages"}},
                   {"settings": {"base_url": None}},
                   {"mapping": {"orders": {"external_id": "o"}}},
                   {"mapping": {"refunds": ORDER_MAP}},
                   {"entities": "orders,members"}):
        with pytest.raises(ConfigError):
            connectors.update(ws, "shop", **change)
    assert connectors.get(ws, "shop") == before
    with pytest.raises(NotFound):
        connectors.update(ws, "nope", settings={"page_size": 5})


def test_sync_of_an_unknown_connector_or_entity_is_refused(ws):
    with pytest.raises(NotFound, match="no connector named 'nope'"):
        connectors.sync(ws, "nope")
    connectors.add(ws, "shop", "rest", settings=BASE, mapping={"orders": ORDER_MAP})
    with pytest.raises(ConfigError, match="does not sync members"):
        connectors.sync(ws, "shop", "members")
    assert connectors.runs(ws, "shop") == []
