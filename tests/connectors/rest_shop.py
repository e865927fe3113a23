"""A local REST "shop" (an ERP/e-commerce API) for connector tests and benchmarks.

:class:`RestShop` serves ``n_orders`` orders and ``n_members`` members as JSON on 127.0.0.1
(a free port) from a daemon thread. Rows are computed from their index and the seed on each
request (nothing is held in memory unless ``cache=True``), so a million orders cost nothing
until they are read, and every run with the same seed sees the same data.

One endpoint family per pagination style, each for ``orders`` and ``members``:

- ``GET /page/{entity}?page=1&page_size=100`` answers ``{"data", "page", "page_size", "total",
  "pages"}`` (pages are 1-based);
- ``GET /cursor/{entity}?cursor=&limit=100`` answers ``{"data", "next_cursor"}`` (an opaque
  string, ``null`` on the last page);
- ``GET /offset/{entity}?offset=0&limit=100`` answers ``{"data", "offset", "limit", "total"}``;
- ``GET /link/{entity}?page=1&per_page=100`` answers a bare JSON list, with ``Link: <…>;
  rel="next"`` (and ``rel="prev"``, ``rel="last"``) and ``X-Total-Count`` headers;
- ``GET /incremental/{entity}?updated_since=&limit=100`` answers the rows with ``updated_at >=
  updated_since`` (inclusive: rows of the boundary second come again), ordered by
  ``(updated_at, id)``, as ``{"data", "has_more", "next_updated_since"}``; adding
  ``after_id=`` makes it strict keyset paging on ``(updated_at, id)`` instead;
- ``GET /messy/orders?page=&page_size=`` is ``/page/orders`` with the money as a string
  (``"12.50元"``, ``"¥1,234.00"`` …) in ``amount`` instead of ``amount_fen``.

``updated_at`` advances by one second every ``ties`` rows (3 by default), so page boundaries
fall inside runs of equal timestamps. Money is integer fen. Timestamps are ISO 8601 UTC with
``Z``. Page sizes are capped at ``max_page_size``.

Auth: when ``token`` is set, a request needs ``Authorization: Bearer <token>`` or
``?access_token=<token>``; anything else answers 401 with a JSON error.

Faults (:class:`Fault`) are matched per request on style, entity and either the page number
(for the offset, cursor and incremental styles the page is ``first_row // limit + 1``) or a row
the page contains (``row=``, the reliable choice for inclusive ``updated_since`` paging, whose
pages overlap): a 500, an HTML page with status 200, a delay, or a 429 with ``Retry-After``;
``times=1`` fires once, ``None`` always. :attr:`RestShop.hits` records every request as
``(style, entity, page, status)``.

``shop.n_orders`` may be raised while the server runs: new orders appear after the old ones
(later ``updated_at``), as an incremental sync expects.

``with RestShop(...) as shop:`` starts and stops it (``shop.url`` is the base URL);
``with serve(...) as url:`` when only the URL matters. Run on its own (e.g. for a benchmark
client in another process)::

    python tests/connectors/rest_shop.py --orders 1000000 --members 100000 --cache

it prints the base URL on the first line and serves until interrupted; ``--cache`` keeps each
encoded page after it was first served, so repeated pulls measure the client, not the server.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

STYLES = ("page", "cursor", "offset", "link", "incremental", "messy")
ENTITIES = ("orders", "members")
BASE_TIME = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp())
_MASK = (1 << 64) - 1
_STATUSES = ("paid", "paid", "paid", "shipped", "completed", "refunded")
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平"
_LEVELS = ("normal", "silver", "gold", "platinum")
_ORDER_KEYS = ("order_id", "member_id", "store_id", "amount_fen", "items", "status", "created_at",
               "updated_at")
_MEMBER_KEYS = ("member_id", "name", "phone", "unionid", "level", "points", "updated_at")
HTML_BODY = (b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>"
             b"<body><h1>Service temporarily unavailable</h1></body></html>")


def _mix(x: int) -> int:
    """splitmix64: a well-spread 64-bit hash of ``x``."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


_DAY_PREFIX: dict[int, str] = {}
_CLOCK: list[str] = []


def iso(ts: int) -> str:
    """``ts`` (Unix seconds) as ``2026-01-01T00:00:00Z``."""
    if not _CLOCK:
        _CLOCK.extend(f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}Z" for s in range(86400))
    day, sec = divmod(ts, 86400)
    prefix = _DAY_PREFIX.get(day)
    if prefix is None:
        prefix = _DAY_PREFIX[day] = datetime.fromtimestamp(day * 86400, UTC).strftime("%Y-%m-%dT")
    return prefix + _CLOCK[sec]


def parse_iso(text: str) -> int:
    """The inverse of :func:`iso` (also accepts ``+00:00`` and fractions of seconds)."""
    value = datetime.fromisoformat(text.strip().replace(" ", "+").replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp())


def messy_amount(fen: int, i: int) -> str:
    """``fen`` written the way hand-kept shop systems write money (deterministic by ``i``)."""
    yuan = f"{fen // 100}.{fen % 100:02d}"
    grouped = f"{fen // 100:,}.{fen % 100:02d}"
    kind = i % 6
    if kind == 0:
        return f"{yuan}元"
    if kind == 1:
        return f"¥{grouped}"
    if kind == 2:
        return f" {grouped} 元 "
    if kind == 3:
        return f"RMB {yuan}"
    if kind == 4:
        return f"￥{yuan}"
    return yuan.rstrip("0").rstrip(".") if fen % 100 else f"{fen // 100}"


@dataclass
class Fault:
    """Misbehaviour of one page.

    :param kind: ``"500"``, ``"html"`` (200 with text/html), ``"slow"`` (``delay`` seconds, then
        the normal answer) or ``"429"`` (with ``Retry-After: retry_after``).
    :param page: the 1-based page number it hits (give ``page`` or ``row``).
    :param style: one of :data:`STYLES`, or ``None`` for every style.
    :param entity: ``"orders"``, ``"members"`` or ``None`` for both.
    :param times: how many requests it hits before the page behaves (``None``: always).
    :param row: a 0-based row index: it hits any page containing that row.
    """

    kind: str
    page: int | None = None
    style: str | None = None
    entity: str | None = None
    times: int | None = 1
    delay: float = 1.0
    retry_after: int = 1
    row: int | None = None
    fired: int = field(default=0, compare=False)

    def __post_init__(self):
        if self.kind not in ("500", "html", "slow", "429"):
            raise ValueError(f"unknown fault kind {self.kind!r}")
        if (self.page is None) == (self.row is None):
            raise ValueError("a fault names a page or a row, not both or neither")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real APIs do
    # Headers and body go out in two writes: without TCP_NODELAY a keep-alive client waits
    # ~40 ms on a delayed ACK for every page, and a benchmark would measure that delay.
    disable_nagle_algorithm = True
    shop: RestShop

    def do_GET(self):  # noqa: N802 - http.server's naming
        try:
            status, headers, body = self.shop.answer(self.path, self.headers)
        except Exception as exc:  # noqa: BLE001 - a bug here must show, not hang the client
            status, headers, body = 500, {}, _json({"error": f"{type(exc).__name__}: {exc}"})
        try:
            self.send_response(status)
            headers.setdefault("Content-Type", "application/json; charset=utf-8")
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:  # the client went away (a timeout test)
            self.close_connection = True

    def log_message(self, *args):
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a client hanging up is normal
            super().handle_error(request, client_address)


def _json(value) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


class _BadRequest(Exception):
    pass


class RestShop:
    """The shop server. ``with RestShop(...) as shop:`` starts it; ``shop.url`` is its base URL.

    :param n_orders: how many orders (ids ``SO00000001`` …).
    :param n_members: how many members (ids ``M0000001`` …); orders reference them.
    :param seed: changes every value but not the shape.
    :param token: required token, or ``None`` for no auth.
    :param faults: :class:`Fault` list (may also be appended to while running).
    :param ties: rows sharing each ``updated_at`` second.
    :param max_page_size: larger page sizes are capped to this.
    :param cache: keep every page body once encoded and send it again as is (for benchmarks
        measuring the client: a million orders then cost ~200 MB of memory, not server CPU).
    """

    def __init__(self, n_orders: int = 1000, n_members: int = 200, *, seed: int = 1,
                 token: str | None = None, faults: list[Fault] | None = None, ties: int = 3,
                 max_page_size: int = 1000, cache: bool = False):
        if ties < 1 or max_page_size < 1 or n_members < 1:
            raise ValueError("ties, max_page_size and n_members must be positive")
        self.n_orders = n_orders
        self.n_members = n_members
        self.seed = seed
        self.token = token
        self.faults = list(faults or [])
        self.ties = ties
        self.max_page_size = max_page_size
        self.cache: dict[tuple, tuple[dict, bytes]] | None = {} if cache else None
        self.hits: list[tuple[str, str, int, int]] = []
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._salt = _mix(seed) & _MASK

    # ---- data ------------------------------------------------------------------------------
    def total(self, entity: str) -> int:
        return self.n_orders if entity == "orders" else self.n_members

    def updated_ts(self, i: int) -> int:
        return BASE_TIME + i // self.ties

    def _order_fields(self, i: int) -> tuple:
        h = _mix(self._salt ^ (i + 1))
        updated = BASE_TIME + i // self.ties
        return (f"SO{i + 1:08d}", f"M{h % self.n_members + 1:07d}", f"S{(h >> 20) % 40 + 1:03d}",
                100 + (h >> 26) % 200_000, 1 + (h >> 44) % 5, _STATUSES[(h >> 50) % 6],
                iso(updated - (h >> 8) % 259_200), iso(updated))

    def _member_fields(self, j: int) -> tuple:
        h = _mix(self._salt ^ (0x5EED_0000_0000 + j + 1))
        name = _SURNAMES[h % 20] + _GIVEN[(h >> 5) % 20]
        if not h & 1024:
            name += _GIVEN[(h >> 11) % 20]
        return (f"M{j + 1:07d}", name, f"1{3 + (h >> 16) % 7}{(h >> 20) % 1_000_000_000:09d}",
                None if (h >> 50) % 4 == 0 else f"oUn{(h >> 12) & 0xFFFFFFFFFFFF:012x}",
                _LEVELS[(h >> 40) % 4], (h >> 30) % 50_000, iso(BASE_TIME + j // self.ties))

    def order(self, i: int) -> dict:
        """Order number ``i`` (0-based) as the API serves it."""
        return dict(zip(_ORDER_KEYS, self._order_fields(i), strict=True))

    def member(self, j: int) -> dict:
        """Member number ``j`` (0-based) as the API serves it."""
        return dict(zip(_MEMBER_KEYS, self._member_fields(j), strict=True))

    def row(self, entity: str, i: int) -> dict:
        return self.order(i) if entity == "orders" else self.member(i)

    def rows(self, entity: str, start: int, stop: int, *, messy: bool = False) -> list[dict]:
        """Rows ``start`` ≤ i < ``stop`` as dicts (what :meth:`rows_json` encodes)."""
        return json.loads(self.rows_json(entity, start, stop, messy=messy))

    def rows_json(self, entity: str, start: int, stop: int, *, messy: bool = False) -> str:
        """Rows ``start`` ≤ i < ``stop`` as a JSON array, written without building dicts."""
        stop = min(stop, self.total(entity))
        if entity == "members":
            parts = []
            for j in range(start, stop):
                mid, name, phone, unionid, level, points, updated = self._member_fields(j)
                union = "null" if unionid is None else f'"{unionid}"'
                parts.append(f'{{"member_id":"{mid}","name":"{name}","phone":"{phone}",'
                             f'"unionid":{union},"level":"{level}","points":{points},'
                             f'"updated_at":"{updated}"}}')
            return "[" + ",".join(parts) + "]"
        parts = []
        for i in range(start, stop):
            oid, mid, store, fen, items, status, created, updated = self._order_fields(i)
            money = f'"amount":"{messy_amount(fen, i)}"' if messy else f'"amount_fen":{fen}'
            parts.append(f'{{"order_id":"{oid}","member_id":"{mid}","store_id":"{store}",'
                         f'{money},"items":{items},"status":"{status}",'
                         f'"created_at":"{created}","updated_at":"{updated}"}}')
        return "[" + ",".join(parts) + "]"

    def first_at_or_after(self, entity: str, ts: int) -> int:
        """Index of the first row whose ``updated_at >= ts``."""
        return min(max(0, (ts - BASE_TIME) * self.ties), self.total(entity))

    # ---- HTTP ------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the shop is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> RestShop:
        handler = type("Handler", (_Handler,), {"shop": self})
        self._server = _Server(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        daemon=True, name="rest-shop")
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> RestShop:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _authorised(self, query: dict, headers) -> bool:
        if self.token is None:
            return True
        auth = headers.get("Authorization") or ""
        return auth == f"Bearer {self.token}" or query.get("access_token") == self.token

    def _fault(self, style: str, entity: str, page: int, start: int, stop: int) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                hit = fault.page == page if fault.row is None else start <= fault.row < stop
                if (hit and fault.style in (None, style)
                        and fault.entity in (None, entity)
                        and (fault.times is None or fault.fired < fault.times)):
                    fault.fired += 1
                    return fault
        return None

    def _record(self, style: str, entity: str, page: int, status: int) -> None:
        with self._lock:
            self.hits.append((style, entity, page, status))

    def answer(self, target: str, headers) -> tuple[int, dict, bytes]:
        parts = urlsplit(target)
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        segments = parts.path.strip("/").split("/")
        if (len(segments) != 2 or segments[0] not in STYLES or segments[1] not in ENTITIES
                or (segments[0] == "messy" and segments[1] != "orders")):
            return 404, {}, _json({"error": "not found", "path": parts.path})
        style, entity = segments
        if not self._authorised(query, headers):
            self._record(style, entity, 0, 401)
            return 401, {"WWW-Authenticate": "Bearer"}, _json({"error": "invalid token"})
        try:
            return self._page(style, entity, query, parts.path)
        except _BadRequest as exc:
            self._record(style, entity, 0, 400)
            return 400, {}, _json({"error": str(exc)})

    def _int(self, query: dict, name: str, default: int, minimum: int) -> int:
        raw = query.get(name)
        if raw in (None, ""):
            return default
        try:
            value = int(raw)
        except ValueError:
            raise _BadRequest(f"{name} must be an integer") from None
        if value < minimum:
            raise _BadRequest(f"{name} must be >= {minimum}")
        return value

    def _page(self, style: str, entity: str, query: dict, path: str) -> tuple[int, dict, bytes]:
        total = self.total(entity)
        extra: dict[str, str] = {}
        if style in ("page", "messy", "link"):
            size_name = "per_page" if style == "link" else "page_size"
            size = min(self._int(query, size_name, 100, 1), self.max_page_size)
            number = self._int(query, "page", 1, 1)
            start = (number - 1) * size
        elif style == "offset":
            size = min(self._int(query, "limit", 100, 1), self.max_page_size)
            start = self._int(query, "offset", 0, 0)
        elif style == "cursor":
            size = min(self._int(query, "limit", 100, 1), self.max_page_size)
            start = self._decode_cursor(query.get("cursor") or "")
        else:  # incremental
            size = min(self._int(query, "limit", 100, 1), self.max_page_size)
            since = query.get("updated_since") or ""
            try:
                since_ts = parse_iso(since) if since else BASE_TIME
            except ValueError:
                raise _BadRequest("updated_since must be an ISO 8601 time") from None
            start = self.first_at_or_after(entity, since_ts)
            after_id = query.get("after_id")
            if after_id and since:
                start = max(start, self._index_of(entity, after_id) + 1)
        page = start // size + 1
        stop = max(start, min(start + size, total))

        fault = self._fault(style, entity, page, start, stop)
        if fault is not None and fault.kind == "slow":
            time.sleep(fault.delay)
        elif fault is not None:
            status = {"500": 500, "html": 200, "429": 429}[fault.kind]
            self._record(style, entity, page, status)
            if fault.kind == "500":
                return 500, {}, _json({"error": "internal error", "page": page})
            if fault.kind == "429":
                return 429, {"Retry-After": str(fault.retry_after)}, _json(
                    {"error": "too many requests"})
            return 200, {"Content-Type": "text/html; charset=utf-8"}, HTML_BODY

        key = (style, entity, start, size, total, self.seed)
        if self.cache is not None and key in self.cache and style != "link":
            self._record(style, entity, page, 200)
            extra, body = self.cache[key]
            return 200, dict(extra), body
        data = self.rows_json(entity, start, stop, messy=style == "messy")
        if style in ("page", "messy"):
            meta = {"page": number, "page_size": size, "total": total, "pages": -(-total // size)}
        elif style == "offset":
            meta = {"offset": start, "limit": size, "total": total}
        elif style == "cursor":
            meta = {"next_cursor": self._encode_cursor(stop) if stop < total else None}
        elif style == "incremental":
            last = iso(self.updated_ts(stop - 1)) if stop > start else None
            meta = {"has_more": stop < total, "next_updated_since": last}
        else:  # link: a bare list, the next page in the Link header
            meta = None
            pages = max(1, -(-total // size))
            links = []
            if stop < total:
                links.append(f'<{self._link(path, query, number + 1, size)}>; rel="next"')
            if number > 1:
                links.append(f'<{self._link(path, query, number - 1, size)}>; rel="prev"')
            links.append(f'<{self._link(path, query, pages, size)}>; rel="last"')
            extra["Link"] = ", ".join(links)
            extra["X-Total-Count"] = str(total)
        self._record(style, entity, page, 200)
        if meta is None:
            return 200, extra, data.encode()
        body = f'{{"data":{data},{_json(meta).decode()[1:]}'.encode()
        if self.cache is not None:
            self.cache[key] = (dict(extra), body)
        return 200, extra, body

    def _link(self, path: str, query: dict, number: int, size: int) -> str:
        params = dict(query, page=str(number), per_page=str(size))
        return f"{self.url}{path}?{urlencode(params)}"

    @staticmethod
    def _encode_cursor(index: int) -> str:
        return base64.urlsafe_b64encode(f"o:{index}".encode()).decode().rstrip("=")

    @staticmethod
    def _decode_cursor(cursor: str) -> int:
        if not cursor:
            return 0
        try:
            text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
            if not text.startswith("o:"):
                raise ValueError(text)
            return max(0, int(text[2:]))
        except (ValueError, binascii.Error, UnicodeDecodeError):
            raise _BadRequest("invalid cursor") from None

    def _index_of(self, entity: str, row_id: str) -> int:
        prefix = "SO" if entity == "orders" else "M"
        if not row_id.startswith(prefix) or not row_id[len(prefix):].isdigit():
            raise _BadRequest("after_id is not an id of this entity")
        return int(row_id[len(prefix):]) - 1


@contextmanager
def serve(**options) -> Iterator[str]:
    """``with serve(n_orders=…) as base_url:`` — a :class:`RestShop` when only the URL matters."""
    with RestShop(**options) as shop:
        yield shop.url


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--token")
    parser.add_argument("--max-page-size", type=int, default=1000)
    parser.add_argument("--cache", action="store_true", help="keep encoded pages in memory")
    parser.add_argument("--fault", action="append", default=[], metavar="KIND:PAGE[:STYLE]",
                        help="e.g. 500:37 or html:5:page or 429:3 (each fires once)")
    args = parser.parse_args(argv)
    faults = []
    for spec in args.fault:
        kind, page, *style = spec.split(":")
        faults.append(Fault(kind, int(page), style=style[0] if style else None))
    with RestShop(args.orders, args.members, seed=args.seed, token=args.token, faults=faults,
                  max_page_size=args.max_page_size, cache=args.cache) as shop:
        print(shop.url, flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
