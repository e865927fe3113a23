"""The generic REST connector: orders and members from any JSON API, configured, not coded.

Settings (see :data:`SETTINGS`): the base URL and a path per entity, where the records are
in each answer (``records_path``: ``"data"``, ``"result.items"``, or empty for a bare list),
how the API pages, and how it wants its token. Pagination styles:

- ``page`` — ``?page=1&page_size=100``, 1-based; the last page is the first one short of a
  full page;
- ``offset`` — ``?offset=0&limit=100``;
- ``cursor`` — ``?cursor=<token>&limit=100``; the next token is at ``next_cursor_path`` in
  the answer (``null`` or missing on the last page);
- ``link`` — ``?page=1&per_page=100``, then the ``Link: <…>; rel="next"`` header (GitHub
  style) until there is none;
- ``updated_since`` — ``?updated_since=<time>&limit=100``: the records changed since a time,
  in order of ``updated_field``; with ``after_param`` (e.g. ``after_id``) the API pages
  strictly by ``(updated_field, id_field)``, else the boundary time is asked again (its
  records come twice and are stored once).

Where the source stands after each page is the page's cursor, saved with its records: the
next run (or the run after a crash) starts there. A page-numbered source is read again from
its last page on the next run, so orders added at its end are picked up; upserts by order
number make the overlap harmless.

Network: one :class:`httpx.Client` per run, a timeout per request, ``retries`` more tries
with exponential backoff on timeouts, refused connections, 5xx and 429 (honouring
``Retry-After``), and at most ``rate_limit`` requests per second. A 4xx other than 429, an
HTML page or other non-JSON answer, or records that are not where ``records_path`` says stop
the run with :class:`~siyu.core.errors.SyncError` naming the URL (the token left out).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, urlencode, urljoin, urlsplit, urlunsplit

import httpx

from siyu.core.errors import ConfigError, SyncError
from siyu.core.i18n import translator
from siyu.core.records import ConnectorSetting, ConnectorSpec, SourcePage
from siyu.plugins.connectors.mapping import parse_path, value_at

_ = translator("siyu.plugins.connectors")

STYLES = ("page", "offset", "cursor", "link", "updated_since")
AUTH_STYLES = ("header", "query")
MAX_BACKOFF = 30.0
_LINK = re.compile(r'<([^>]*)>\s*;\s*rel="?next"?')

SETTINGS = (
    ConnectorSetting("base_url", _.lazy("Base URL"), _.lazy("e.g. https://erp.example.com/api"),
                     required=True),
    ConnectorSetting("orders_path", _.lazy("Orders path"), _.lazy("e.g. /api/orders"),
                     default=""),
    ConnectorSetting("members_path", _.lazy("Members path"), _.lazy("e.g. /api/members"),
                     default=""),
    ConnectorSetting("pagination", _.lazy("Pagination"),
                     _.lazy("how the API pages: page, offset, cursor, link or updated_since"),
                     default="page", choices=STYLES,
                     choice_labels=(_.lazy("by page number"), _.lazy("by offset"),
                                    _.lazy("by cursor"), _.lazy("by Link header"),
                                    _.lazy("by change time"))),
    ConnectorSetting("records_path", _.lazy("Records path"),
                     _.lazy("where the list of records is in an answer (empty: the answer "
                            "is the list)"), default="data"),
    ConnectorSetting("page_size", _.lazy("Page size"), _.lazy("records per request"),
                     default=100),
    ConnectorSetting("page_param", _.lazy("Page parameter"), default="page"),
    ConnectorSetting("size_param", _.lazy("Page size parameter"), default="page_size"),
    ConnectorSetting("offset_param", _.lazy("Offset parameter"), default="offset"),
    ConnectorSetting("cursor_param", _.lazy("Cursor parameter"), default="cursor"),
    ConnectorSetting("next_cursor_path", _.lazy("Next cursor path"),
                     _.lazy("where the next page's cursor is in an answer"),
                     default="next_cursor"),
    ConnectorSetting("since_param", _.lazy("Changed-since parameter"),
                     default="updated_since"),
    ConnectorSetting("updated_field", _.lazy("Changed-at field"),
                     _.lazy("the records' last-change time, for updated_since paging"),
                     default="updated_at"),
    ConnectorSetting("after_param", _.lazy("After-id parameter"),
                     _.lazy("for strict updated_since paging, e.g. after_id (optional)"),
                     default=""),
    ConnectorSetting("id_field", _.lazy("Id field"),
                     _.lazy("the records' id, sent as the after-id parameter"), default="id"),
    ConnectorSetting("start_since", _.lazy("Start from"),
                     _.lazy("updated_since of the first run (empty: the beginning)"),
                     default=""),
    ConnectorSetting("auth", _.lazy("Token goes in"), _.lazy("header or query"),
                     default="header", choices=AUTH_STYLES,
                     choice_labels=(_.lazy("a request header"), _.lazy("the URL query"))),
    ConnectorSetting("auth_header", _.lazy("Token header"), default="Authorization"),
    ConnectorSetting("auth_prefix", _.lazy("Token prefix"), default="Bearer "),
    ConnectorSetting("token_param", _.lazy("Token parameter"), default="access_token"),
    ConnectorSetting("token", _.lazy("Token"), _.lazy("the API token (write-only)"),
                     secret=True, default=""),
    ConnectorSetting("timeout", _.lazy("Timeout (s)"), default=30),
    ConnectorSetting("retries", _.lazy("Retries"),
                     _.lazy("more tries of a request that timed out or failed with 5xx/429"),
                     default=5),
    ConnectorSetting("backoff", _.lazy("First backoff (s)"),
                     _.lazy("the wait before the first retry; doubles each time"),
                     default=1.0),
    ConnectorSetting("rate_limit", _.lazy("Requests per second"),
                     _.lazy("at most this many requests a second (0: no limit)"), default=0),
)
_INTS = ("page_size", "retries")
_NUMBERS = ("timeout", "backoff", "rate_limit")


def check(settings: dict[str, Any]) -> None:
    """Raise :class:`ConfigError` naming the first bad REST setting."""
    url = urlsplit(str(settings.get("base_url") or ""))
    if url.scheme not in ("http", "https") or not url.netloc:
        raise ConfigError(_("base URL {url!r} is not an http:// or https:// address",
                            url=settings.get("base_url")))
    if settings.get("pagination") not in STYLES:
        raise ConfigError(_("pagination {value!r} is not one of {styles}",
                            value=settings.get("pagination"), styles=", ".join(STYLES)))
    if settings.get("auth") not in AUTH_STYLES:
        raise ConfigError(_("token place {value!r} is not header or query",
                            value=settings.get("auth")))
    for name in (*_INTS, *_NUMBERS):
        try:
            value = float(settings.get(name))
        except (TypeError, ValueError):
            raise ConfigError(_("{setting} {value!r} is not a number", setting=name,
                                value=settings.get(name))) from None
        if value < 0 or (name in _INTS and value != int(value)):
            raise ConfigError(_("{setting} {value!r} is not a whole number of 0 or more",
                                setting=name, value=settings.get(name)))
    if not 1 <= int(float(settings["page_size"])) <= 10_000:
        raise ConfigError(_("page size {value!r} is not between 1 and 10000",
                            value=settings["page_size"]))
    if settings.get("records_path"):
        parse_path(settings["records_path"])
    if settings["pagination"] == "cursor":
        parse_path(settings.get("next_cursor_path") or "")


class _Client:
    """One run's HTTP client: auth, timeout, retries with backoff, rate limit."""

    def __init__(self, settings: dict[str, Any]):
        self.settings = settings
        self.retries = int(float(settings["retries"]))
        self.backoff = float(settings["backoff"])
        rate = float(settings["rate_limit"])
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.last = 0.0
        headers = {"Accept": "application/json"}
        token = str(settings.get("token") or "")
        #: the token as an answer may echo it (an error page quoting the request)
        self.hidden = tuple(v for v in dict.fromkeys((token, quote(token, safe=""),
                                                      quote_plus(token))) if v)
        self.params: dict[str, str] = {}
        if token and settings["auth"] == "header":
            headers[settings["auth_header"]] = f"{settings['auth_prefix']}{token}"
        elif token:
            self.params[settings["token_param"]] = token
        self.http = httpx.Client(timeout=float(settings["timeout"]), headers=headers,
                                 follow_redirects=True)

    def close(self) -> None:
        self.http.close()

    def shown(self, url: str) -> str:
        """``url`` as errors show it: without the token."""
        parts = urlsplit(url)
        query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                 if k not in self.params]
        return urlunsplit(parts._replace(query=urlencode(query)))

    def hide(self, text: str) -> str:
        """``text`` without the token."""
        for value in self.hidden:
            text = text.replace(value, "***")
        return text

    def get(self, url: str, params: dict[str, Any] | None = None) -> tuple[Any, httpx.Response]:
        """GET ``url`` and decode its JSON, retrying what may pass on a second try."""
        # Merged into the query ``url`` has (a Link header's next page, a path like
        # ``/orders?shop=12``): httpx's ``params=`` would replace it.
        target = httpx.URL(url).copy_merge_params({**(params or {}), **self.params})
        for attempt in range(self.retries + 1):
            wait = self.interval - (time.monotonic() - self.last)
            if wait > 0:
                time.sleep(wait)
            self.last = time.monotonic()
            try:
                response = self.http.get(target)
            except httpx.TransportError as exc:
                problem = _("{url}: {error}", url=self.shown(str(target)),
                            error=self.hide(_describe(exc)))
                if attempt == self.retries:
                    raise SyncError(_retries_exhausted(problem, self.retries),
                                    retryable=True) from None
                time.sleep(self._backoff(attempt, None))
                continue
            if response.status_code == 429 or response.status_code >= 500:
                problem = _("{url} answered {status}", url=self.shown(str(response.url)),
                            status=response.status_code)
                if attempt == self.retries:
                    raise SyncError(_retries_exhausted(problem, self.retries),
                                    retryable=True)
                time.sleep(self._backoff(attempt, response.headers.get("Retry-After")))
                continue
            return self._decode(response), response
        raise AssertionError("unreachable")  # pragma: no cover

    def _backoff(self, attempt: int, retry_after: str | None) -> float:
        if retry_after and retry_after.strip().isdigit():
            return min(float(retry_after), MAX_BACKOFF)
        return min(self.backoff * 2 ** attempt, MAX_BACKOFF)

    def _decode(self, response: httpx.Response) -> Any:
        url = self.shown(str(response.url))
        if response.status_code >= 400:
            raise SyncError(_("{url} answered {status}: {body}", url=url,
                              status=response.status_code,
                              body=self.hide(_snippet(response))))
        kind = response.headers.get("Content-Type", "").split(";")[0].strip()
        try:
            return response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise SyncError(_("{url} answered {kind}, not JSON: {body}", url=url,
                              kind=kind or _("no content type"),
                              body=self.hide(_snippet(response)))) from None


def _describe(exc: httpx.TransportError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return _("no answer within the timeout")
    if isinstance(exc, httpx.ConnectError):
        return _("could not connect ({error})", error=str(exc) or type(exc).__name__)
    return f"{type(exc).__name__}: {exc}"


def _retries_exhausted(problem: str, retries: int) -> str:
    return _.ngettext("{problem} (after {n} retry)", "{problem} (after {n} retries)", retries,
                      problem=problem)


def _snippet(response: httpx.Response) -> str:
    """The start of an answer's body, as one line (an HTML page's title when it has one)."""
    text = response.text
    title = re.search(r"<title[^>]*>(.*?)</title>", text, re.I | re.S)
    if title:
        text = title.group(1)
    return " ".join(text.split())[:200] or _("(empty)")


def _records(body: Any, settings: dict[str, Any], url: str) -> list[Any]:
    path = settings.get("records_path") or ""
    value = value_at(body, parse_path(path)) if path else body
    if not isinstance(value, list):
        where = repr(path) if path else _("the answer itself")
        raise SyncError(_("{url}: no list of records at {where} (records path); the answer "
                          "has: {keys}", url=url, where=where,
                          keys=", ".join(map(str, body))[:200] if isinstance(body, dict)
                          else type(body).__name__))
    return value


def _total(body: Any) -> int | None:
    if isinstance(body, dict):
        for key in ("total", "total_count", "count"):
            if isinstance(body.get(key), int):
                return body[key]
    return None


def read(settings: dict[str, Any], entity: str, cursor: Any) -> Iterator[SourcePage]:
    """The records of ``entity`` from ``cursor`` on, a page at a time (see the module)."""
    path = settings.get(f"{entity}_path") or ""
    if not path:
        setting = f"{entity}_path"
        raise SyncError(_("the connector has no {entity} path; set {setting}",
                          entity=entity, setting=setting))
    client = _Client(settings)
    try:
        url = urljoin(str(settings["base_url"]).rstrip("/") + "/", path.lstrip("/"))
        style = settings["pagination"]
        pages = {"page": _by_number, "offset": _by_offset, "cursor": _by_cursor,
                 "link": _by_link, "updated_since": _by_time}[style]
        yield from pages(client, settings, url, cursor or {})
    finally:
        client.close()


def _size(settings: dict[str, Any]) -> int:
    return int(float(settings["page_size"]))


def _by_number(client: _Client, settings: dict, url: str, cursor: dict
               ) -> Iterator[SourcePage]:
    yield from _counted(client, settings, url, "page", settings["page_param"],
                        int(cursor.get("page", 1)), by_rows=False)


def _by_offset(client: _Client, settings: dict, url: str, cursor: dict
               ) -> Iterator[SourcePage]:
    yield from _counted(client, settings, url, "offset", settings["offset_param"],
                        int(cursor.get("offset", 0)), by_rows=True)


def _counted(client: _Client, settings: dict, url: str, key: str, param: str, position: int,
             *, by_rows: bool) -> Iterator[SourcePage]:
    """Pages asked for by number (``by_rows=False``) or by offset: the position moves on
    after a full page; the last, short page is asked for again by the next run."""
    size = _size(settings)
    while True:
        body, response = client.get(url, {param: position, settings["size_param"]: size})
        shown = client.shown(str(response.url))
        records = _records(body, settings, shown)
        full = len(records) >= size
        if not full:
            before = position if by_rows else (position - 1) * size
            _last_page(shown, records, size, before + len(records), _total(body))
        following = position + (len(records) if by_rows else 1)
        yield SourcePage(records, {key: following if full else position}, _total(body))
        if not full:
            return
        position = following


def _last_page(url: str, records: list, size: int, reached: int, total: int | None) -> None:
    """Check that a page shorter than asked is the last: when the answer's total says more
    records follow, the API gives fewer a page than asked for, and paging on would skip
    records (or stop at this page on every run)."""
    if records and total is not None and reached < total:
        raise SyncError(_("{url} answered {n} records where {size} were asked, but says it "
                          "has {total} in all: it pages by fewer; set the page size to {n}",
                          url=url, n=len(records), size=size, total=total))


def _by_cursor(client: _Client, settings: dict, url: str, cursor: dict
               ) -> Iterator[SourcePage]:
    size, token = _size(settings), cursor.get("cursor")
    steps = parse_path(settings["next_cursor_path"])
    while True:
        params = {settings["size_param"]: size}
        if token:
            params[settings["cursor_param"]] = token
        body, response = client.get(url, params)
        records = _records(body, settings, client.shown(str(response.url)))
        following = value_at(body, steps)
        if not isinstance(following, str | int) or following in ("", token):
            # the last page: the next run asks for it again (new records join it)
            yield SourcePage(records, {"cursor": token} if token else {}, _total(body))
            return
        yield SourcePage(records, {"cursor": following}, _total(body))
        token = following


def _by_link(client: _Client, settings: dict, url: str, cursor: dict
             ) -> Iterator[SourcePage]:
    size = _size(settings)
    current = cursor.get("url")
    params: dict[str, Any] | None = None
    if not current:
        current, params = url, {settings["page_param"]: 1, settings["size_param"]: size}
    while True:
        body, response = client.get(current, params)
        records = _records(body, settings, client.shown(str(response.url)))
        here = _without(str(response.url), client.params)
        match = _LINK.search(response.headers.get("Link", ""))
        total = response.headers.get("X-Total-Count")
        total_count = int(total) if total and total.isdigit() else _total(body)
        if match is None:
            yield SourcePage(records, {"url": here}, total_count)
            return
        following = _without(urljoin(str(response.url), match.group(1)), client.params)
        yield SourcePage(records, {"url": following}, total_count)
        current, params = following, None


def _without(url: str, params: dict[str, str]) -> str:
    """``url`` without the token parameter (a stored cursor never holds the token)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if k not in params]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _by_time(client: _Client, settings: dict, url: str, cursor: dict
             ) -> Iterator[SourcePage]:
    size = _size(settings)
    since = cursor.get("since", settings.get("start_since") or "")
    after = cursor.get("after")
    strict = bool(settings.get("after_param"))
    updated, ident = parse_path(settings["updated_field"]), parse_path(settings["id_field"])
    while True:
        params: dict[str, Any] = {settings["since_param"]: since, settings["size_param"]: size}
        if strict and after is not None:
            params[settings["after_param"]] = after
        body, response = client.get(url, params)
        shown = client.shown(str(response.url))
        records = _records(body, settings, shown)
        if not records:
            yield SourcePage([], _time_cursor(since, after), _total(body))
            return
        last = records[-1]
        last_time = value_at(last, updated) if isinstance(last, dict) else None
        if not isinstance(last_time, str | int | float) or last_time == "":
            raise SyncError(_("{url}: the last record has no {field} (changed-at field) to "
                              "page on", url=shown, field=settings["updated_field"]))
        last_id = value_at(last, ident) if strict else None
        if strict and not isinstance(last_id, str | int):
            raise SyncError(_("{url}: the last record has no {field} (id field) to page on",
                              url=shown, field=settings["id_field"]))
        full = len(records) >= size
        if full and not strict and str(last_time) == str(since):
            raise SyncError(_("{url}: a whole page of {n} records changed at {time}, so "
                              "paging by time alone cannot move on; raise the page size or "
                              "set the after-id parameter", url=shown, n=len(records),
                              time=since))
        since, after = str(last_time), (last_id if strict else None)
        yield SourcePage(records, _time_cursor(since, after), _total(body))
        if not full:
            return


def _time_cursor(since: str, after: Any) -> dict[str, Any]:
    cursor: dict[str, Any] = {"since": since}
    if after is not None:
        cursor["after"] = after
    return cursor


SPEC = ConnectorSpec("rest", _.lazy("REST API"), read, settings=SETTINGS, check=check,
                     help=_.lazy("orders and members from a JSON API, paged by page number, "
                                 "offset, cursor, Link header or changed-since time"))
