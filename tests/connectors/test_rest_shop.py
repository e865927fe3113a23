"""The local REST shop: every pagination style yields every row once; faults fire as configured."""

from __future__ import annotations

import re
import time
from collections import Counter
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.connectors.rest_shop import BASE_TIME, Fault, RestShop, iso, parse_iso, serve

N_ORDERS = 1234  # not a multiple of any page size used here
N_MEMBERS = 157
SIZE = 100


@pytest.fixture(scope="module")
def shop():
    with RestShop(N_ORDERS, N_MEMBERS, seed=7, token="s3cret") as running:
        yield running


@pytest.fixture
def client():
    with httpx.Client(headers={"Authorization": "Bearer s3cret"}, timeout=10) as http:
        yield http


def pull_page(http, url, entity):
    rows, page = [], 1
    while True:
        body = http.get(f"{url}/page/{entity}", params={"page": page, "page_size": SIZE}).json()
        rows += body["data"]
        if page >= body["pages"]:
            return rows
        page += 1


def pull_cursor(http, url, entity):
    rows, cursor = [], ""
    while True:
        body = http.get(f"{url}/cursor/{entity}", params={"cursor": cursor, "limit": SIZE}).json()
        rows += body["data"]
        cursor = body["next_cursor"]
        if cursor is None:
            return rows


def pull_offset(http, url, entity):
    rows, offset = [], 0
    while True:
        body = http.get(f"{url}/offset/{entity}", params={"offset": offset, "limit": SIZE}).json()
        rows += body["data"]
        offset += body["limit"]
        if offset >= body["total"]:
            return rows


def pull_link(http, url, entity):
    rows, response = [], http.get(f"{url}/link/{entity}", params={"per_page": SIZE})
    while True:
        rows += response.json()
        if "next" not in response.links:
            return rows
        response = http.get(response.links["next"]["url"])


def pull_keyset(http, url, entity):
    """``updated_since`` plus ``after_id``: strict paging, no repeats."""
    rows, params = [], {"limit": SIZE}
    key = "order_id" if entity == "orders" else "member_id"
    while True:
        body = http.get(f"{url}/incremental/{entity}", params=params).json()
        rows += body["data"]
        if not body["has_more"]:
            return rows
        params = {"limit": SIZE, "updated_since": body["next_updated_since"],
                  "after_id": body["data"][-1][key]}


def pull_inclusive(http, url, entity, since=""):
    """``updated_since`` only: the boundary second comes again, so dedupe by id."""
    rows, seen, params = [], set(), {"limit": SIZE, "updated_since": since}
    key = "order_id" if entity == "orders" else "member_id"
    while True:
        body = http.get(f"{url}/incremental/{entity}", params=params).json()
        for row in body["data"]:
            if row[key] not in seen:
                seen.add(row[key])
                rows.append(row)
        if not body["has_more"]:
            return rows
        params = {"limit": SIZE, "updated_since": body["next_updated_since"]}


PULLERS = {"page": pull_page, "cursor": pull_cursor, "offset": pull_offset, "link": pull_link,
           "keyset": pull_keyset, "inclusive": pull_inclusive}


@pytest.mark.parametrize("entity", ["orders", "members"])
@pytest.mark.parametrize("style", list(PULLERS))
def test_every_style_returns_every_row_exactly_once(shop, client, style, entity):
    rows = PULLERS[style](client, shop.url, entity)
    total = N_ORDERS if entity == "orders" else N_MEMBERS
    expected = [shop.row(entity, i) for i in range(total)]
    assert len(rows) == total
    assert rows == expected  # same rows, same order, nothing twice
    key = "order_id" if entity == "orders" else "member_id"
    assert len({row[key] for row in rows}) == total


def test_inclusive_updated_since_repeats_the_boundary_second(shop, client):
    first = client.get(f"{shop.url}/incremental/orders", params={"limit": SIZE}).json()
    boundary = first["next_updated_since"]
    assert boundary == first["data"][-1]["updated_at"]
    second = client.get(f"{shop.url}/incremental/orders",
                        params={"limit": SIZE, "updated_since": boundary}).json()
    repeated = [row["order_id"] for row in second["data"] if row["updated_at"] == boundary]
    in_first = {row["order_id"] for row in first["data"]}
    # 100 rows, 3 per second: the page ends inside a tie, so one row of it is repeated and two
    # of the same second are new
    assert [oid for oid in repeated if oid in in_first] == ["SO00000100"]
    assert repeated == ["SO00000100", "SO00000101", "SO00000102"]
    assert second["data"][0]["updated_at"] == boundary


def test_rows_are_deterministic_and_well_formed(shop):
    again = RestShop(N_ORDERS, N_MEMBERS, seed=7)
    other = RestShop(N_ORDERS, N_MEMBERS, seed=8)
    assert [again.order(i) for i in range(50)] == [shop.order(i) for i in range(50)]
    assert [other.order(i) for i in range(50)] != [shop.order(i) for i in range(50)]
    for i in range(N_ORDERS):
        order = shop.order(i)
        assert isinstance(order["amount_fen"], int) and order["amount_fen"] > 0
        assert 1 <= int(order["member_id"][1:]) <= N_MEMBERS
        assert parse_iso(order["created_at"]) <= parse_iso(order["updated_at"])
        assert parse_iso(order["updated_at"]) == BASE_TIME + i // 3
    members = [shop.member(j) for j in range(N_MEMBERS)]
    assert all(re.fullmatch(r"1[3-9]\d{9}", m["phone"]) for m in members)
    assert any(m["unionid"] is None for m in members)
    assert any(m["unionid"] for m in members)
    assert iso(BASE_TIME + 86399) == "2026-01-01T23:59:59Z"


def fen_of(text: str) -> int:
    number = re.sub(r"[^\d.]", "", text)
    yuan, _, cents = number.partition(".")
    return int(yuan) * 100 + int((cents + "00")[:2])


def test_messy_amounts_are_strings_meaning_the_same_fen(shop, client):
    body = client.get(f"{shop.url}/messy/orders", params={"page": 2, "page_size": 60}).json()
    assert body["total"] == N_ORDERS and len(body["data"]) == 60
    clean = [shop.order(i) for i in range(60, 120)]
    texts = [row["amount"] for row in body["data"]]
    assert all(isinstance(t, str) for t in texts)
    assert any(t.endswith("元") for t in texts) and any("¥" in t for t in texts)
    assert any("," in t for t in texts)  # thousands separators
    assert [fen_of(t) for t in texts] == [row["amount_fen"] for row in clean]
    assert all("amount_fen" not in row for row in body["data"])


def test_auth_by_header_or_query_token(shop):
    with httpx.Client(timeout=10) as http:
        url = f"{shop.url}/page/orders"
        assert http.get(url).status_code == 401
        assert http.get(url, headers={"Authorization": "Bearer nope"}).status_code == 401
        wrong = http.get(url, params={"access_token": "nope"})
        assert wrong.status_code == 401 and wrong.json() == {"error": "invalid token"}
        assert http.get(url, params={"access_token": "s3cret"}).status_code == 200
        assert http.get(url, headers={"Authorization": "Bearer s3cret"}).status_code == 200


def test_bad_requests_answer_400_or_404(shop, client):
    assert client.get(f"{shop.url}/cursor/orders", params={"cursor": "!!"}).status_code == 400
    assert client.get(f"{shop.url}/page/orders", params={"page": 0}).status_code == 400
    assert client.get(f"{shop.url}/offset/orders", params={"limit": "x"}).status_code == 400
    assert client.get(f"{shop.url}/nope/orders").status_code == 404
    assert client.get(f"{shop.url}/messy/members").status_code == 404


def test_page_size_is_capped():
    with RestShop(50, 5, max_page_size=20) as shop, httpx.Client() as http:
        body = http.get(f"{shop.url}/page/orders", params={"page_size": 1000}).json()
        assert (len(body["data"]), body["page_size"], body["pages"]) == (20, 20, 3)


def get_page(http, url, page, style="page", entity="orders"):
    if style == "page":
        return http.get(f"{url}/page/{entity}", params={"page": page, "page_size": SIZE})
    return http.get(f"{url}/offset/{entity}", params={"offset": (page - 1) * SIZE,
                                                       "limit": SIZE})


def test_500_once_then_the_page_answers():
    with RestShop(N_ORDERS, N_MEMBERS, faults=[Fault("500", page=3)]) as shop, \
            httpx.Client() as http:
        assert get_page(http, shop.url, 2).status_code == 200
        failed = get_page(http, shop.url, 3)
        assert failed.status_code == 500 and failed.json()["page"] == 3
        retried = get_page(http, shop.url, 3)
        assert retried.status_code == 200
        assert retried.json()["data"][0]["order_id"] == "SO00000201"
        assert [h[2:] for h in shop.hits] == [(2, 200), (3, 500), (3, 200)]


def test_500_always_and_a_sync_that_fails_midway():
    fault = Fault("500", page=7, times=None)
    with RestShop(N_ORDERS, N_MEMBERS, faults=[fault]) as shop, httpx.Client() as http:
        assert all(get_page(http, shop.url, 7).status_code == 500 for _ in range(3))
        assert fault.fired == 3
        # a sync that stops at the first error has stored exactly pages 1..6
        stored = []
        for page in range(1, 14):
            response = get_page(http, shop.url, page)
            if response.status_code != 200:
                break
            stored += response.json()["data"]
        assert page == 7 and len(stored) == 6 * SIZE


def test_fault_matches_style_and_entity_only():
    faults = [Fault("500", page=2, style="offset", entity="members")]
    with RestShop(N_ORDERS, N_MEMBERS, faults=faults) as shop, httpx.Client() as http:
        assert get_page(http, shop.url, 2, style="page", entity="members").status_code == 200
        assert get_page(http, shop.url, 2, style="offset", entity="orders").status_code == 200
        assert get_page(http, shop.url, 2, style="offset", entity="members").status_code == 500


def test_html_instead_of_json():
    with RestShop(N_ORDERS, N_MEMBERS, faults=[Fault("html", page=4, times=2)]) as shop, \
            httpx.Client() as http:
        for _ in range(2):
            response = get_page(http, shop.url, 4)
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/html")
            assert response.text.startswith("<!DOCTYPE html>")
            with pytest.raises(ValueError):
                response.json()
        assert get_page(http, shop.url, 4).json()["page"] == 4


def test_slow_page():
    with RestShop(N_ORDERS, N_MEMBERS, faults=[Fault("slow", page=2, delay=0.4)]) as shop, \
            httpx.Client() as http:
        started = time.perf_counter()
        assert get_page(http, shop.url, 2).status_code == 200
        assert time.perf_counter() - started >= 0.4
        shop.faults.append(Fault("slow", page=3, delay=0.5))
        with httpx.Client(timeout=0.1) as impatient, pytest.raises(httpx.ReadTimeout):
            get_page(impatient, shop.url, 3)
        started = time.perf_counter()
        assert get_page(http, shop.url, 2).status_code == 200  # fired once
        assert time.perf_counter() - started < 0.4


def test_429_with_retry_after():
    faults = [Fault("429", page=1, style="cursor", retry_after=7)]
    with RestShop(N_ORDERS, N_MEMBERS, faults=faults) as shop, httpx.Client() as http:
        limited = http.get(f"{shop.url}/cursor/orders")
        assert limited.status_code == 429 and limited.headers["Retry-After"] == "7"
        assert http.get(f"{shop.url}/cursor/orders").status_code == 200


def test_new_orders_appear_after_the_old_ones(client):
    with RestShop(300, 20, token="s3cret") as shop:
        first = pull_inclusive(client, shop.url, "orders")
        assert len(first) == 300
        shop.n_orders = 450
        since = first[-1]["updated_at"]
        rest = pull_inclusive(client, shop.url, "orders", since=since)
        assert Counter(r["order_id"] for r in first + rest) == Counter(
            f"SO{i:08d}" for i in list(range(1, 451)) + [298, 299, 300])  # the tie again
        assert rest[-1] == shop.order(449)


def test_a_million_orders_are_served_lazily():
    with serve(n_orders=1_000_000, n_members=100_000) as url, httpx.Client() as http:
        last = http.get(f"{url}/page/orders", params={"page": 1000, "page_size": 1000}).json()
        assert last["pages"] == 1000 and len(last["data"]) == 1000
        assert last["data"][-1]["order_id"] == "SO01000000"
        link = http.get(f"{url}/link/orders", params={"per_page": 1000, "page": 999})
        next_url = link.links["next"]["url"]
        assert parse_qs(urlsplit(next_url).query)["page"] == ["1000"]
        assert "last" in link.links and link.headers["X-Total-Count"] == "1000000"
        end = http.get(f"{url}/cursor/orders", params={"limit": 1000,
                                                       "cursor": _cursor_at(999_000)}).json()
        assert end["next_cursor"] is None and end["data"][0]["order_id"] == "SO00999001"


def _cursor_at(index: int) -> str:
    return RestShop._encode_cursor(index)


def test_cached_pages_are_the_same_bytes_and_follow_the_total():
    with RestShop(250, 10, cache=True) as shop, httpx.Client() as http:
        first = http.get(f"{shop.url}/cursor/orders", params={"limit": 100})
        again = http.get(f"{shop.url}/cursor/orders", params={"limit": 100})
        assert first.content == again.content and len(shop.cache) == 1
        last = http.get(f"{shop.url}/offset/orders", params={"offset": 200, "limit": 100}).json()
        shop.n_orders = 260
        grown = http.get(f"{shop.url}/offset/orders", params={"offset": 200, "limit": 100}).json()
        assert (len(last["data"]), len(grown["data"]), grown["total"]) == (50, 60, 260)


def test_updated_since_sync_failing_midway_resumes_from_what_was_stored():
    """The inclusive style's pages overlap, so its fault is placed by row, not page number."""
    fault = Fault("500", row=650, style="incremental", times=None)
    with RestShop(N_ORDERS, N_MEMBERS, faults=[fault]) as shop, httpx.Client() as http:
        stored: dict[str, dict] = {}
        cursor = ""
        response = None
        while True:  # commit each page, then advance the cursor past what was stored
            response = http.get(f"{shop.url}/incremental/orders",
                                params={"limit": SIZE, "updated_since": cursor})
            if response.status_code != 200:
                break
            body = response.json()
            stored.update((row["order_id"], row) for row in body["data"])
            cursor = body["data"][-1]["updated_at"]
            if not body["has_more"]:
                break
        assert response.status_code == 500 and fault.fired == 1
        assert 500 < len(stored) <= 650 and "SO00000651" not in stored
        fault.times = 1  # the source recovers
        rest = pull_inclusive(http, shop.url, "orders", since=cursor)
        stored.update((row["order_id"], row) for row in rest)
        assert sorted(stored) == [f"SO{i:08d}" for i in range(1, N_ORDERS + 1)]
        assert stored["SO00000651"] == shop.order(650)


def test_a_fault_names_a_page_or_a_row():
    with pytest.raises(ValueError):
        Fault("500")
    with pytest.raises(ValueError):
        Fault("500", page=1, row=5)
    with pytest.raises(ValueError):
        Fault("teapot", page=1)
