"""WeCom server API client for the customer-contact (客户联系) endpoints.

One :class:`WeComClient` per corp app. It owns one :class:`httpx.Client`, caches the app's
``access_token`` and refreshes it single-flight (concurrent callers share one ``gettoken``),
refreshes and retries once when WeCom rejects a token early (40001/40014/42001), and backs off
and retries on "system busy" (-1), frequency limits (45009/45033), timeouts, connection failures
and 5xx answers. Everything else becomes a :class:`~siyu.plugins.wecom.errors.WeComError`
naming the errcode, errmsg and endpoint.

Retries never duplicate a side effect: calls that create or send something (a live code, a
mass-send task, a welcome message, a transfer…) are retried only when the request certainly did
not reach WeCom (connection refused, connect timeout) or WeCom answered with a retryable
errcode; reads, updates and deletes are retried on any transient failure.

The token and secret travel only in the query string WeCom requires; they are added below
httpx's own request logging, so neither shows up in logs, reprs or error messages.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import mimetypes
import random
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx

from siyu import __version__
from siyu.core.errors import ValidationError
from siyu.core.i18n import LazyText, translator
from siyu.plugins.wecom.errors import WeComError, WeComTransportError

__all__ = ["TokenCache", "WeComClient"]

log = logging.getLogger(__name__)
_ = translator("siyu.plugins.wecom")

DEFAULT_BASE_URL = "https://qyapi.weixin.qq.com"

#: errcodes after which a fresh access_token is fetched and the call repeated once
TOKEN_ERRCODES = frozenset({40001, 40014, 42001})
#: errcodes that mean "try again later": system busy, frequency and concurrency limits
RETRY_ERRCODES = frozenset({-1, 45009, 45033})
#: httpx failures after which the request certainly did not reach the server
_UNSENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
#: request extension through which credentials reach :class:`_CredentialTransport`
_CREDENTIALS = "siyu.wecom.credentials"

# Limits stated by the API reference (docs/wecom-api.md §2).
MAX_STATE = 30
MAX_REMARK = 30
MAX_CONTACT_WAY_USERS = 100
MAX_TEMP_EXPIRES = 14 * 86400
MAX_MSG_TEMPLATE_CUSTOMERS = 10_000
MAX_MSG_TEMPLATE_GROUPS = 2_000
MAX_ATTACHMENTS = 9
MAX_TEXT_BYTES = 4000
MAX_JOIN_WAY_CHATS = 5
MAX_TRANSFER = 100
MAX_TRANSFER_MSG = 200
MAX_BATCH_USERS = 100
MAX_TAG_NAME = 30
#: temporary media: most bytes per type, and every file must be larger than MIN_MEDIA_BYTES
MEDIA_LIMITS = {"image": 10 * 1024 * 1024, "voice": 2 * 1024 * 1024,
                "video": 10 * 1024 * 1024, "file": 20 * 1024 * 1024}
MIN_MEDIA_BYTES = 5


# -- credentials below the logging layer ----------------------------------------------------

class _CredentialTransport(httpx.BaseTransport):
    """Adds ``access_token``/``corpsecret`` to the URL after httpx has logged the request."""

    def __init__(self, inner: httpx.BaseTransport):
        self._inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        extensions = dict(request.extensions)
        credentials = extensions.pop(_CREDENTIALS, None)
        if credentials:
            request = httpx.Request(
                request.method,
                request.url.copy_merge_params(credentials),
                headers=request.headers,
                stream=request.stream,
                extensions=extensions,
            )
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


# -- access-token cache ---------------------------------------------------------------------

class _Slot:
    """The cached token of one app, guarded by a condition variable."""

    def __init__(self) -> None:
        self.cond = threading.Condition(threading.Lock())
        self.token: str | None = None
        self.refresh_at = 0.0
        self.fetching = False
        self.generation = 0
        self.error: WeComError | None = None


class TokenCache:
    """Access tokens per ``(corp_id, secret)``, shared by every client given this cache.

    A client makes its own cache unless one is passed in; share one cache between clients of
    the same app in one process so they share one token. Thread-safe.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._slots: dict[tuple[str, str], _Slot] = {}

    def _slot(self, corp_id: str, secret: str) -> _Slot:
        key = (corp_id, hashlib.sha256(secret.encode("utf-8")).hexdigest())
        with self._lock:
            return self._slots.setdefault(key, _Slot())

    def get(self, corp_id: str, secret: str, fetch: Callable[[], tuple[str, float]], *,
            wait: float = 60.0) -> str:
        """A valid token; calls ``fetch`` (at most one caller at a time) when none is cached.

        :param fetch: returns ``(token, expires_in_seconds)``; raises on failure.
        :param wait: how long to wait for another caller's fetch before giving up.
        :raises WeComError: from ``fetch``; callers that were waiting on a failing fetch get
            the same error instead of fetching again.
        """
        slot = self._slot(corp_id, secret)
        deadline = time.monotonic() + wait
        with slot.cond:
            while True:
                now = time.monotonic()
                if slot.token is not None and now < slot.refresh_at:
                    return slot.token
                if not slot.fetching:
                    slot.fetching = True
                    break
                generation = slot.generation
                if now >= deadline:
                    raise WeComTransportError(
                        _.lazy("timed out waiting for an access token"), "gettoken")
                slot.cond.wait(deadline - now)
                if slot.generation != generation and slot.error is not None:
                    raise copy.copy(slot.error)
        try:
            token, expires_in = fetch()
        except BaseException as exc:
            with slot.cond:
                slot.fetching = False
                slot.generation += 1
                slot.error = exc if isinstance(exc, WeComError) else None
                slot.cond.notify_all()
            raise
        with slot.cond:
            # refresh a little early: 10 % of the lifetime, at most 5 minutes
            slot.token = token
            slot.refresh_at = time.monotonic() + expires_in - min(300.0, expires_in * 0.1)
            slot.fetching = False
            slot.generation += 1
            slot.error = None
            slot.cond.notify_all()
        return token

    def invalidate(self, corp_id: str, secret: str, token: str | None = None) -> None:
        """Forget the cached token (only if it is still ``token``, when given, so a token
        another thread already replaced is not thrown away)."""
        slot = self._slot(corp_id, secret)
        with slot.cond:
            if token is None or slot.token == token:
                slot.token = None
                slot.refresh_at = 0.0


# -- validation helpers ---------------------------------------------------------------------

# ``field`` is the API's parameter name (``state``, ``external_userid``…), shown as it is.

def _check_len(field: str, value: str | None, limit: int) -> None:
    if value is not None and len(value) > limit:
        raise ValidationError(_("{field} {value!r} is {length} characters long; WeCom "
                                "allows at most {limit}", field=field, value=value,
                                length=len(value), limit=limit))


def _check_bytes(field: str, value: str | None, limit: int) -> None:
    if value is not None and len(value.encode("utf-8")) > limit:
        raise ValidationError(_("{field} {value!r}… is {size} bytes (UTF-8); WeCom allows at "
                                "most {limit}", field=field, value=value[:20],
                                size=len(value.encode("utf-8")), limit=limit))


def _check_count(field: str, values: list | None, limit: int, hint: str = "") -> None:
    """Refuse more than ``limit`` values; ``hint`` (translated, starting with its own
    separator: ``"; split …"``) is added to the message."""
    if values is not None and len(values) > limit:
        shown = ", ".join(map(repr, values[:3]))
        raise ValidationError(_("{field} has {count} entries ({shown}, …); WeCom accepts at "
                                "most {limit:,} per call{hint}", field=field,
                                count=len(values), shown=shown, limit=limit, hint=hint))


def _check_limit(field: str, value: int | None, low: int, high: int) -> None:
    if value is not None and not low <= value <= high:
        raise ValidationError(_("{field} {value!r} is out of range; WeCom accepts "
                                "{low}–{high}", field=field, value=value, low=low, high=high))


def _after(problem: str, attempts: int) -> LazyText:
    """What went wrong and how many attempts were made, in the reader's language."""
    if attempts == 1:
        return _.lazy("{problem} (after 1 attempt)", problem=problem)
    return _.lazy("{problem} (after {attempts} attempts)", problem=problem, attempts=attempts)


def _text(text: str | dict | None) -> dict | None:
    """``"hi"`` → ``{"content": "hi"}``; dicts pass through."""
    if text is None or isinstance(text, dict):
        return text
    return {"content": text}


def _message(text: dict | None, attachments: list | None, *, required: bool) -> None:
    if text is not None:
        _check_bytes("text.content", text.get("content"), MAX_TEXT_BYTES)
    _check_count("attachments", attachments, MAX_ATTACHMENTS)
    if required and not (text and text.get("content")) and not attachments:
        raise ValidationError(_("give text or attachments: WeCom refuses an empty message"))


def _body(**fields: Any) -> dict[str, Any]:
    """The JSON body: the given fields, without the ones left as ``None``."""
    return {k: v for k, v in fields.items() if v is not None}


# -- the client -----------------------------------------------------------------------------

class WeComClient:
    """Client for one WeCom corp app.

    :param corp_id: the corp id (企业ID).
    :param secret: the app's Secret; never logged.
    :param base_url: API host; a sandbox URL in tests and demos.
    :param timeout: seconds allowed for each connect, read, write and pool wait of a request.
    :param max_retries: how many times a transient failure is retried (so at most
        ``max_retries + 1`` attempts), with exponential backoff and jitter.
    :param transport: an httpx transport (tests inject faults with it).
    :param backoff: first backoff delay in seconds (doubled per retry, jittered, capped at
        ``max_backoff``).
    :param token_cache: share a :class:`TokenCache` between clients of the same app.
    :param sleep: replaces :func:`time.sleep` for backoff (tests record delays with it).
    """

    def __init__(self, corp_id: str, secret: str, *, base_url: str = DEFAULT_BASE_URL,
                 timeout: float = 10.0, max_retries: int = 3,
                 transport: httpx.BaseTransport | None = None, backoff: float = 0.5,
                 max_backoff: float = 8.0, token_cache: TokenCache | None = None,
                 sleep: Callable[[float], None] | None = None):
        if not corp_id or not secret:
            raise ValidationError(_("WeCom corp id and app secret are both required"))
        self.corp_id = corp_id
        self._secret = secret
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.max_retries = max(0, int(max_retries))
        self.backoff = backoff
        self.max_backoff = max_backoff
        self._tokens = token_cache or TokenCache()
        self._sleep = sleep or time.sleep
        self._fetch_lock = threading.Lock()
        self._token_fetches = 0
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout),
            transport=_CredentialTransport(transport or httpx.HTTPTransport()),
            headers={"User-Agent": f"siyu/{__version__}"},
        )

    def __repr__(self) -> str:
        return f"WeComClient(corp_id={self.corp_id!r}, base_url={self.base_url!r})"

    # -- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        """Close the HTTP connections. The client cannot be used afterwards."""
        self._http.close()

    def __enter__(self) -> WeComClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- token -------------------------------------------------------------------------------

    @property
    def token_fetches(self) -> int:
        """How many ``gettoken`` calls this client has made (successful or not)."""
        return self._token_fetches

    def access_token(self) -> str:
        """A valid access token (cached; fetched single-flight when missing or about to expire).

        Keep it server-side: WeCom asks that tokens never reach a browser.
        """
        return self._token()

    def _token(self) -> str:
        wait = (self.timeout * 4 + self.max_backoff) * (self.max_retries + 1)
        return self._tokens.get(self.corp_id, self._secret, self._gettoken, wait=wait)

    def _gettoken(self) -> tuple[str, float]:
        """``GET cgi-bin/gettoken``; a 40001 (bad secret) is raised at once, never retried."""
        with self._fetch_lock:
            self._token_fetches += 1
        data = self._request("GET", "gettoken", with_token=False,
                             credentials={"corpid": self.corp_id, "corpsecret": self._secret})
        token = data.get("access_token")
        if not token:
            raise WeComError(data.get("errcode"),
                             _.lazy("gettoken answered without access_token"), "gettoken")
        return str(token), float(data.get("expires_in") or 7200)

    # -- transport ---------------------------------------------------------------------------

    def _delay(self, attempt: int, retry_after: str | None = None) -> float:
        if retry_after:
            try:
                return min(self.max_backoff, max(0.0, float(retry_after)))
            except ValueError:
                pass
        base = min(self.max_backoff, self.backoff * 2 ** (attempt - 1))
        return base * random.uniform(0.5, 1.0)

    def _request(self, method: str, endpoint: str, *, params: dict[str, Any] | None = None,
                 body: dict[str, Any] | None = None, with_token: bool = True,
                 idempotent: bool = True, credentials: dict[str, str] | None = None,
                 files: dict[str, tuple[str, bytes, str]] | None = None,
                 ) -> dict[str, Any]:
        """One API call with token handling and retries; returns the parsed JSON.

        :param idempotent: ``False`` for calls that create or send something; they are only
            retried when the request cannot have reached WeCom.
        :param files: a ``multipart/form-data`` body instead of JSON: field name →
            ``(filename, content, content_type)``.
        :raises WeComError: WeCom answered with a non-zero errcode.
        :raises WeComTransportError: no usable answer after the retries.
        """
        attempt = 0  # retries spent on transient failures
        refreshed = False  # the one retry with a fresh token
        url = f"/cgi-bin/{endpoint}"
        while True:
            token = self._token() if with_token else None
            creds = {"access_token": token} if with_token else dict(credentials or {})
            try:
                response = self._http.request(method, url, params=params, json=body,
                                              files=files, extensions={_CREDENTIALS: creds})
            except httpx.TransportError as exc:
                unsent = isinstance(exc, _UNSENT)
                problem = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                if attempt < self.max_retries and (idempotent or unsent):
                    attempt += 1
                    self._backoff(endpoint, attempt, problem)
                    continue
                raise WeComTransportError(_after(problem, attempt + 1), endpoint) from exc
            status = response.status_code
            if status >= 500 or status == 429:
                if attempt < self.max_retries and idempotent:
                    attempt += 1
                    self._backoff(endpoint, attempt, f"HTTP {status}",
                                  response.headers.get("Retry-After"))
                    continue
                raise WeComTransportError(_after(f"HTTP {status}", attempt + 1), endpoint)
            if status != 200:
                raise WeComTransportError(f"HTTP {status}", endpoint)
            try:
                data = response.json()
            except ValueError:
                data = None
            if not isinstance(data, dict):
                if attempt < self.max_retries and idempotent:
                    attempt += 1
                    self._backoff(endpoint, attempt, "answer is not a JSON object")
                    continue
                raise WeComTransportError(_.lazy("answer is not a JSON object"), endpoint)
            try:
                errcode = int(data.get("errcode") or 0)
            except (TypeError, ValueError):
                raise WeComTransportError(_.lazy("errcode {errcode!r} is not a number",
                                                 errcode=data.get("errcode")),
                                          endpoint) from None
            if errcode == 0:
                return data
            errmsg = str(data.get("errmsg", ""))
            if with_token and errcode in TOKEN_ERRCODES and not refreshed:
                refreshed = True
                log.info("WeCom %s: token rejected (%s); fetching a new one", endpoint, errcode)
                self._tokens.invalidate(self.corp_id, self._secret, token)
                continue
            if errcode in RETRY_ERRCODES and attempt < self.max_retries:
                attempt += 1
                self._backoff(endpoint, attempt, f"errcode {errcode}")
                continue
            log.debug("WeCom %s failed: %s", endpoint, errcode)
            raise WeComError(errcode, errmsg, endpoint)

    def _backoff(self, endpoint: str, attempt: int, problem: str,
                 retry_after: str | None = None) -> None:
        delay = self._delay(attempt, retry_after)
        log.warning("WeCom %s: %s; retry %d/%d in %.2fs", endpoint, problem, attempt,
                    self.max_retries, delay)
        self._sleep(delay)

    def _get(self, endpoint: str, **params: Any) -> dict[str, Any]:
        return self._request("GET", endpoint, params=_body(**params))

    def _post(self, endpoint: str, body: dict[str, Any], *, idempotent: bool = True,
              ) -> dict[str, Any]:
        return self._request("POST", endpoint, body=body, idempotent=idempotent)

    # -- customers ---------------------------------------------------------------------------

    def get_follow_user_list(self) -> list[str]:
        """``externalcontact/get_follow_user_list``: userids of members with customer contact
        enabled."""
        return list(self._get("externalcontact/get_follow_user_list").get("follow_user", []))

    def get_external_contact(self, external_userid: str) -> dict[str, Any]:
        """``externalcontact/get``: one customer and every member following them.

        WeCom pages ``follow_user`` beyond 500 entries; all pages are fetched and merged, so
        the result has the complete ``follow_user`` list and no ``next_cursor``.

        :returns: ``{"external_contact": {...}, "follow_user": [...], ...}``.
        """
        data = self._get("externalcontact/get", external_userid=external_userid)
        follow = list(data.get("follow_user", []))
        cursor = data.pop("next_cursor", "")
        seen: set[str] = set()
        while cursor and cursor not in seen:
            seen.add(cursor)
            page = self._get("externalcontact/get", external_userid=external_userid,
                             cursor=cursor)
            follow.extend(page.get("follow_user", []))
            cursor = page.get("next_cursor", "")
        data["follow_user"] = follow
        return data

    def list_external_contacts(self, userid: str) -> list[str]:
        """``externalcontact/list``: the external userids of one member's customers."""
        data = self._get("externalcontact/list", userid=userid)
        return list(data.get("external_userid", []))

    def batch_get_by_user(self, userid_list: list[str], cursor: str = "",
                          limit: int | None = None) -> dict[str, Any]:
        """``externalcontact/batch/get_by_user``: one page of several members' customers.

        :param userid_list: at most 100 member userids.
        :param limit: page size, 1–100 (WeCom's default 50).
        :returns: ``{"external_contact_list": [{"external_contact", "follow_info"}...],
            "next_cursor": "", "fail_info": {...}}``; an empty ``next_cursor`` ends paging.
        """
        _check_count("userid_list", userid_list, MAX_BATCH_USERS)
        if not userid_list:
            raise ValidationError(_("userid_list is empty: give at least one member userid"))
        _check_limit("limit", limit, 1, 100)
        return self._post("externalcontact/batch/get_by_user",
                          _body(userid_list=list(userid_list), cursor=cursor, limit=limit))

    def iter_batch_get_by_user(self, userid_list: list[str], limit: int = 100,
                               ) -> Iterator[dict[str, Any]]:
        """Every entry of :meth:`batch_get_by_user` across all pages, following
        ``next_cursor``."""
        cursor = ""
        seen: set[str] = set()
        while True:
            page = self.batch_get_by_user(userid_list, cursor=cursor, limit=limit)
            yield from page.get("external_contact_list", [])
            cursor = page.get("next_cursor") or ""
            if not cursor or cursor in seen:
                return
            seen.add(cursor)

    def remark(self, userid: str, external_userid: str, *, remark: str | None = None,
               description: str | None = None, remark_company: str | None = None,
               remark_mobiles: list[str] | None = None,
               remark_pic_mediaid: str | None = None) -> dict[str, Any]:
        """``externalcontact/remark``: set a member's remark, description, company or mobiles
        for a customer. Fields left as ``None`` are not changed."""
        return self._post("externalcontact/remark", _body(
            userid=userid, external_userid=external_userid, remark=remark,
            description=description, remark_company=remark_company,
            remark_mobiles=remark_mobiles, remark_pic_mediaid=remark_pic_mediaid))

    def convert_to_openid(self, external_userid: str) -> str:
        """``externalcontact/convert_to_openid``: the openid of a WeChat customer (``wm…``),
        needed to send red packets."""
        data = self._post("externalcontact/convert_to_openid",
                          {"external_userid": external_userid})
        return str(data.get("openid", ""))

    # -- 「联系我」 contact ways (live codes) ---------------------------------------------

    @staticmethod
    def _check_contact_way(*, type: int | None = None, scene: int | None = None,
                           remark: str | None = None, state: str | None = None,
                           user: list[str] | None = None, is_temp: bool | None = None,
                           expires_in: int | None = None,
                           chat_expires_in: int | None = None) -> None:
        if type is not None and type not in (1, 2):
            raise ValidationError(_("contact way type {type!r} must be 1 (single) or 2 (multi)",
                                    type=type))
        if scene is not None and scene not in (1, 2):
            raise ValidationError(_("contact way scene {scene!r} must be 1 (mini program) or "
                                    "2 (QR code)", scene=scene))
        _check_len("state", state, MAX_STATE)
        _check_len("remark", remark, MAX_REMARK)
        _check_count("user", user, MAX_CONTACT_WAY_USERS,
                     _(" (departments count after expansion); split the members over several "
                       "live codes"))
        if type == 1 and user is not None and len(user) != 1:
            raise ValidationError(_("a single-person contact way (type=1) needs exactly one "
                                    "user, got {count}", count=len(user)))
        if is_temp and type == 2:
            raise ValidationError(_("a temporary-chat contact way (is_temp) must be type=1"))
        _check_limit("expires_in", expires_in, 1, MAX_TEMP_EXPIRES)
        _check_limit("chat_expires_in", chat_expires_in, 1, MAX_TEMP_EXPIRES)

    def add_contact_way(self, type: int, scene: int, *, style: int | None = None,
                        remark: str | None = None, skip_verify: bool | None = None,
                        state: str | None = None, user: list[str] | None = None,
                        party: list[int] | None = None, is_temp: bool | None = None,
                        expires_in: int | None = None, chat_expires_in: int | None = None,
                        unionid: str | None = None, is_exclusive: bool | None = None,
                        mark_source: bool | None = None,
                        conclusions: dict[str, Any] | None = None) -> dict[str, Any]:
        """``externalcontact/add_contact_way``: create a 「联系我」 live code.

        :param type: 1 single member, 2 several members.
        :param scene: 1 mini-program button, 2 QR code.
        :param state: channel marker (≤ 30 characters) returned in callbacks and customer
            details.
        :param user: member userids; exactly one for ``type=1``; at most 100.
        :returns: ``{"config_id": ..., "qr_code": ...}`` (``qr_code`` only for scene 2).
        :raises ValidationError: a documented limit is broken (nothing is sent).
        """
        self._check_contact_way(type=type, scene=scene, remark=remark, state=state, user=user,
                                is_temp=is_temp, expires_in=expires_in,
                                chat_expires_in=chat_expires_in)
        if type == 1 and not user:
            raise ValidationError(_("a single-person contact way (type=1) needs user=[userid]"))
        return self._post("externalcontact/add_contact_way", _body(
            type=type, scene=scene, style=style, remark=remark, skip_verify=skip_verify,
            state=state, user=user, party=party, is_temp=is_temp, expires_in=expires_in,
            chat_expires_in=chat_expires_in, unionid=unionid, is_exclusive=is_exclusive,
            mark_source=mark_source, conclusions=conclusions), idempotent=False)

    def get_contact_way(self, config_id: str) -> dict[str, Any]:
        """``externalcontact/get_contact_way``: ``{"contact_way": {...}}`` of one live code."""
        return self._post("externalcontact/get_contact_way", {"config_id": config_id})

    def update_contact_way(self, config_id: str, *, remark: str | None = None,
                           skip_verify: bool | None = None, style: int | None = None,
                           state: str | None = None, user: list[str] | None = None,
                           party: list[int] | None = None, expires_in: int | None = None,
                           chat_expires_in: int | None = None, unionid: str | None = None,
                           mark_source: bool | None = None,
                           conclusions: dict[str, Any] | None = None) -> dict[str, Any]:
        """``externalcontact/update_contact_way``: change a live code. Given fields overwrite
        (``user``/``party`` replace the whole list); ``None`` fields stay as they are."""
        self._check_contact_way(remark=remark, state=state, user=user, expires_in=expires_in,
                                chat_expires_in=chat_expires_in)
        return self._post("externalcontact/update_contact_way", _body(
            config_id=config_id, remark=remark, skip_verify=skip_verify, style=style,
            state=state, user=user, party=party, expires_in=expires_in,
            chat_expires_in=chat_expires_in, unionid=unionid, mark_source=mark_source,
            conclusions=conclusions))

    def del_contact_way(self, config_id: str) -> dict[str, Any]:
        """``externalcontact/del_contact_way``: delete a live code."""
        return self._post("externalcontact/del_contact_way", {"config_id": config_id})

    def list_contact_way(self, *, start_time: int | None = None, end_time: int | None = None,
                         cursor: str | None = None, limit: int | None = None,
                         ) -> dict[str, Any]:
        """``externalcontact/list_contact_way``: one page of live-code ids.

        :param limit: 1–1000 (WeCom's default 100).
        :returns: ``{"contact_way": [{"config_id": ...}], "next_cursor": ...}``.
        """
        _check_limit("limit", limit, 1, 1000)
        return self._post("externalcontact/list_contact_way", _body(
            start_time=start_time, end_time=end_time, cursor=cursor, limit=limit))

    # -- tags --------------------------------------------------------------------------------

    def get_corp_tag_list(self, tag_id: list[str] | None = None,
                          group_id: list[str] | None = None) -> list[dict[str, Any]]:
        """``externalcontact/get_corp_tag_list``: the corp's tag groups with their tags
        (all of them when no ids are given; ``group_id`` wins over ``tag_id``)."""
        data = self._post("externalcontact/get_corp_tag_list",
                          _body(tag_id=tag_id, group_id=group_id))
        return list(data.get("tag_group", []))

    def add_corp_tag(self, tag: list[dict[str, Any]], *, group_id: str | None = None,
                     group_name: str | None = None, order: int | None = None,
                     agentid: int | None = None) -> dict[str, Any]:
        """``externalcontact/add_corp_tag``: add tags to a group (created by name if needed).

        :param tag: ``[{"name": "VIP", "order": 1}, ...]``; names ≤ 30 characters.
        :returns: ``{"tag_group": {"group_id", "group_name", "tag": [{"id", "name"...}]}}``.
        """
        if not tag:
            raise ValidationError(_("add_corp_tag needs at least one tag: WeCom has no empty "
                                    "tag groups"))
        if not group_id and not group_name:
            raise ValidationError(_("give group_id (existing group) or group_name"))
        _check_len("group_name", group_name, MAX_TAG_NAME)
        for item in tag:
            _check_len(_("tag name"), item.get("name"), MAX_TAG_NAME)
        return self._post("externalcontact/add_corp_tag", _body(
            group_id=group_id, group_name=group_name, order=order, tag=tag, agentid=agentid),
            idempotent=False)

    def edit_corp_tag(self, id: str, *, name: str | None = None, order: int | None = None,
                      agentid: int | None = None) -> dict[str, Any]:
        """``externalcontact/edit_corp_tag``: rename or reorder a tag or tag group
        (``id`` is either)."""
        _check_len("name", name, MAX_TAG_NAME)
        return self._post("externalcontact/edit_corp_tag",
                          _body(id=id, name=name, order=order, agentid=agentid))

    def del_corp_tag(self, tag_id: list[str] | None = None, group_id: list[str] | None = None,
                     *, agentid: int | None = None) -> dict[str, Any]:
        """``externalcontact/del_corp_tag``: delete tags and/or whole groups."""
        if not tag_id and not group_id:
            raise ValidationError(_("del_corp_tag needs tag_id or group_id"))
        return self._post("externalcontact/del_corp_tag",
                          _body(tag_id=tag_id, group_id=group_id, agentid=agentid))

    def mark_tag(self, userid: str, external_userid: str, *, add_tag: list[str] | None = None,
                 remove_tag: list[str] | None = None) -> dict[str, Any]:
        """``externalcontact/mark_tag``: add/remove corp tags on a member's customer."""
        if not add_tag and not remove_tag:
            raise ValidationError(_("mark_tag needs add_tag or remove_tag"))
        return self._post("externalcontact/mark_tag", _body(
            userid=userid, external_userid=external_userid, add_tag=add_tag,
            remove_tag=remove_tag))

    # -- welcome and mass messages ---------------------------------------------------------

    def send_welcome_msg(self, welcome_code: str, *, text: str | dict | None = None,
                         attachments: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """``externalcontact/send_welcome_msg``: greet a new customer.

        :param welcome_code: from the add-contact callback; valid 20 s, usable once.
        :param text: ``{"content": ...}`` or a plain string (≤ 4000 bytes).
        :param attachments: at most 9.
        :raises WeComError: 41050 code expired, 41051 already delivered/chatting, 41096 being
            sent by another app.
        """
        text = _text(text)
        _message(text, attachments, required=True)
        return self._post("externalcontact/send_welcome_msg", _body(
            welcome_code=welcome_code, text=text, attachments=attachments), idempotent=False)

    def add_msg_template(self, *, chat_type: str | None = None,
                         external_userid: list[str] | None = None,
                         chat_id_list: list[str] | None = None,
                         tag_filter: dict[str, Any] | None = None, sender: str | None = None,
                         allow_select: bool | None = None, text: str | dict | None = None,
                         attachments: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """``externalcontact/add_msg_template``: create a mass-send task (members confirm it).

        :param chat_type: ``"single"`` (customers, default) or ``"group"`` (customer groups).
        :param external_userid: at most 10,000 customers per call.
        :param chat_id_list: at most 2,000 groups (``chat_type="group"``, needs ``sender``).
        :returns: ``{"msgid": ..., "fail_list": [...]}``.
        """
        if chat_type not in (None, "single", "group"):
            raise ValidationError(_("chat_type {chat_type!r} must be 'single' or 'group'",
                                    chat_type=chat_type))
        _check_count("external_userid", external_userid, MAX_MSG_TEMPLATE_CUSTOMERS,
                     _("; split the audience into batches"))
        _check_count("chat_id_list", chat_id_list, MAX_MSG_TEMPLATE_GROUPS,
                     _("; split the groups into batches"))
        if chat_type == "group" and not sender:
            raise ValidationError(_("a group mass message (chat_type='group') needs sender"))
        if chat_type != "group" and not (sender or external_userid or tag_filter):
            raise ValidationError(_("give sender, external_userid or tag_filter"))
        text = _text(text)
        _message(text, attachments, required=True)
        return self._post("externalcontact/add_msg_template", _body(
            chat_type=chat_type, external_userid=external_userid, chat_id_list=chat_id_list,
            tag_filter=tag_filter, sender=sender, allow_select=allow_select, text=text,
            attachments=attachments), idempotent=False)

    def get_groupmsg_list_v2(self, chat_type: str, start_time: int, end_time: int, *,
                             creator: str | None = None, filter_type: int | None = None,
                             limit: int | None = None, cursor: str | None = None,
                             ) -> dict[str, Any]:
        """``externalcontact/get_groupmsg_list_v2``: one page of mass messages in a time range
        (at most one month). :returns: ``{"group_msg_list": [...], "next_cursor": ...}``."""
        _check_limit("limit", limit, 1, 100)
        return self._post("externalcontact/get_groupmsg_list_v2", _body(
            chat_type=chat_type, start_time=start_time, end_time=end_time, creator=creator,
            filter_type=filter_type, limit=limit, cursor=cursor))

    def get_groupmsg_task(self, msgid: str, *, limit: int | None = None,
                          cursor: str | None = None) -> dict[str, Any]:
        """``externalcontact/get_groupmsg_task``: which members sent a mass message
        (status 0 not sent, 2 sent). :returns: ``{"task_list": [...], "next_cursor": ...}``."""
        _check_limit("limit", limit, 1, 1000)
        return self._post("externalcontact/get_groupmsg_task",
                          _body(msgid=msgid, limit=limit, cursor=cursor))

    def get_groupmsg_send_result(self, msgid: str, userid: str, *, limit: int | None = None,
                                 cursor: str | None = None) -> dict[str, Any]:
        """``externalcontact/get_groupmsg_send_result``: per-recipient results of one member's
        send (status 0 not sent, 1 sent, 2 not a friend, 3 already received another mass
        message). :returns: ``{"send_list": [...], "next_cursor": ...}``."""
        _check_limit("limit", limit, 1, 1000)
        return self._post("externalcontact/get_groupmsg_send_result",
                          _body(msgid=msgid, userid=userid, limit=limit, cursor=cursor))

    def remind_groupmsg_send(self, msgid: str) -> dict[str, Any]:
        """``externalcontact/remind_groupmsg_send``: remind members to send (≤ 3 times per
        24 h; 41094 beyond)."""
        return self._post("externalcontact/remind_groupmsg_send", {"msgid": msgid},
                          idempotent=False)

    def cancel_groupmsg_send(self, msgid: str) -> dict[str, Any]:
        """``externalcontact/cancel_groupmsg_send``: stop a mass message (delivered messages
        are not recalled)."""
        return self._post("externalcontact/cancel_groupmsg_send", {"msgid": msgid})

    # -- transfer (在职继承 / 离职继承) -------------------------------------------------------

    def transfer_customer(self, handover_userid: str, takeover_userid: str,
                          external_userid: list[str], *,
                          transfer_success_msg: str | None = None) -> list[dict[str, Any]]:
        """``externalcontact/transfer_customer``: hand an employed member's customers over.

        :param external_userid: at most 100 per call.
        :param transfer_success_msg: message to the customer, ≤ 200 characters.
        :returns: per customer ``{"external_userid", "errcode"}``; 0 means the takeover
            starts (it completes after 24 h, see :meth:`transfer_result`).
        """
        self._check_transfer(external_userid)
        _check_len("transfer_success_msg", transfer_success_msg, MAX_TRANSFER_MSG)
        data = self._post("externalcontact/transfer_customer", _body(
            handover_userid=handover_userid, takeover_userid=takeover_userid,
            external_userid=list(external_userid), transfer_success_msg=transfer_success_msg),
            idempotent=False)
        return list(data.get("customer", []))

    def transfer_result(self, handover_userid: str, takeover_userid: str, *,
                        cursor: str | None = None) -> dict[str, Any]:
        """``externalcontact/transfer_result``: takeover status per customer (1 done,
        2 waiting, 3 refused, 4 limit reached). :returns: ``{"customer": [...],
        "next_cursor": ...}``."""
        return self._post("externalcontact/transfer_result", _body(
            handover_userid=handover_userid, takeover_userid=takeover_userid, cursor=cursor))

    def resigned_transfer_customer(self, handover_userid: str, takeover_userid: str,
                                   external_userid: list[str]) -> list[dict[str, Any]]:
        """``externalcontact/resigned/transfer_customer``: hand a resigned member's customers
        over (≤ 100 per call; 40097 when the member has not left). :returns: per customer
        ``{"external_userid", "errcode"}``."""
        self._check_transfer(external_userid)
        data = self._post("externalcontact/resigned/transfer_customer", _body(
            handover_userid=handover_userid, takeover_userid=takeover_userid,
            external_userid=list(external_userid)), idempotent=False)
        return list(data.get("customer", []))

    def resigned_transfer_result(self, handover_userid: str, takeover_userid: str, *,
                                 cursor: str | None = None) -> dict[str, Any]:
        """``externalcontact/resigned/transfer_result``: as :meth:`transfer_result`."""
        return self._post("externalcontact/resigned/transfer_result", _body(
            handover_userid=handover_userid, takeover_userid=takeover_userid, cursor=cursor))

    def get_unassigned_list(self, *, page_size: int | None = None,
                            cursor: str | None = None) -> dict[str, Any]:
        """``externalcontact/get_unassigned_list``: one page of resigned members' customers
        waiting to be assigned (离职继承).

        :param page_size: 1–1000 (WeCom's default 1000).
        :param cursor: the previous page's ``next_cursor`` (the deprecated ``page_id`` is not
            offered).
        :returns: ``{"info": [{"handover_userid", "external_userid", "dimission_time"}],
            "is_last": bool, "next_cursor": ...}``; an empty ``next_cursor`` ends paging.
        """
        _check_limit("page_size", page_size, 1, 1000)
        return self._post("externalcontact/get_unassigned_list",
                          _body(page_size=page_size, cursor=cursor))

    def iter_unassigned(self, page_size: int = 1000) -> Iterator[dict[str, Any]]:
        """Every entry of :meth:`get_unassigned_list` across all pages, following
        ``next_cursor``."""
        cursor = ""
        seen: set[str] = set()
        while True:
            page = self.get_unassigned_list(page_size=page_size, cursor=cursor or None)
            yield from page.get("info", [])
            cursor = page.get("next_cursor") or ""
            if page.get("is_last") or not cursor or cursor in seen:
                return
            seen.add(cursor)

    @staticmethod
    def _check_transfer(external_userid: list[str]) -> None:
        if not external_userid:
            raise ValidationError(_("external_userid is empty: give the customers to transfer"))
        if isinstance(external_userid, str):
            raise ValidationError(_("external_userid must be a list, got {value!r}",
                                    value=external_userid))
        _check_count("external_userid", external_userid, MAX_TRANSFER,
                     _("; transfer in batches of 100"))

    # -- customer groups ----------------------------------------------------------------------

    def groupchat_list(self, limit: int, *, status_filter: int | None = None,
                       owner_filter: dict[str, Any] | None = None,
                       cursor: str | None = None) -> dict[str, Any]:
        """``externalcontact/groupchat/list``: one page of customer groups.

        :param limit: 1–1000 (required by WeCom).
        :param owner_filter: ``{"userid_list": [...]}`` (≤ 100 owners); needed when the app's
            visible range exceeds 1000 people (81017).
        :returns: ``{"group_chat_list": [{"chat_id", "status"}], "next_cursor": ...}``.
        """
        _check_limit("limit", limit, 1, 1000)
        if owner_filter:
            _check_count("owner_filter.userid_list", owner_filter.get("userid_list"), 100)
        return self._post("externalcontact/groupchat/list", _body(
            status_filter=status_filter, owner_filter=owner_filter, cursor=cursor, limit=limit))

    def groupchat_get(self, chat_id: str, need_name: int | None = None) -> dict[str, Any]:
        """``externalcontact/groupchat/get``: ``{"group_chat": {...}}`` with members and
        admins (``need_name=1`` adds member names)."""
        return self._post("externalcontact/groupchat/get",
                          _body(chat_id=chat_id, need_name=need_name))

    @staticmethod
    def _check_join_way(chat_id_list: list[str] | None, state: str | None,
                        room_base_name: str | None) -> None:
        if not chat_id_list:
            raise ValidationError(_("chat_id_list is empty: a join way needs 1 to 5 groups"))
        _check_count("chat_id_list", chat_id_list, MAX_JOIN_WAY_CHATS,
                     _(" (41091); create another join way for more groups"))
        _check_len("state", state, MAX_STATE)
        _check_len("room_base_name", room_base_name, 40)

    def add_join_way(self, scene: int, chat_id_list: list[str], *, remark: str | None = None,
                     auto_create_room: int | None = None, room_base_name: str | None = None,
                     room_base_id: int | None = None, state: str | None = None,
                     mark_source: bool | None = None) -> dict[str, Any]:
        """``externalcontact/groupchat/add_join_way``: create a 「加入群聊」 group live code.

        :param scene: 1 mini-program plugin, 2 QR-code plugin.
        :param chat_id_list: 1 to 5 customer groups.
        :param state: channel marker (≤ 30 characters) reported per member in groupchat/get.
        :returns: ``{"config_id": ...}``.
        """
        if scene not in (1, 2):
            raise ValidationError(_("join way scene {scene!r} must be 1 or 2", scene=scene))
        self._check_join_way(chat_id_list, state, room_base_name)
        return self._post("externalcontact/groupchat/add_join_way", _body(
            scene=scene, remark=remark, auto_create_room=auto_create_room,
            room_base_name=room_base_name, room_base_id=room_base_id,
            chat_id_list=list(chat_id_list), state=state, mark_source=mark_source),
            idempotent=False)

    def get_join_way(self, config_id: str) -> dict[str, Any]:
        """``externalcontact/groupchat/get_join_way``: ``{"join_way": {...}}`` incl.
        ``qr_code``."""
        return self._post("externalcontact/groupchat/get_join_way", {"config_id": config_id})

    def update_join_way(self, config_id: str, scene: int, chat_id_list: list[str], *,
                        remark: str | None = None, auto_create_room: int | None = None,
                        room_base_name: str | None = None, room_base_id: int | None = None,
                        state: str | None = None, mark_source: bool | None = None,
                        ) -> dict[str, Any]:
        """``externalcontact/groupchat/update_join_way``: overwrite a join way (all fields)."""
        self._check_join_way(chat_id_list, state, room_base_name)
        return self._post("externalcontact/groupchat/update_join_way", _body(
            config_id=config_id, scene=scene, remark=remark, auto_create_room=auto_create_room,
            room_base_name=room_base_name, room_base_id=room_base_id,
            chat_id_list=list(chat_id_list), state=state, mark_source=mark_source))

    def del_join_way(self, config_id: str) -> dict[str, Any]:
        """``externalcontact/groupchat/del_join_way``: delete a join way."""
        return self._post("externalcontact/groupchat/del_join_way", {"config_id": config_id})

    # -- misc ---------------------------------------------------------------------------------

    def get_callback_ip(self) -> list[str]:
        """``getcallbackip``: the IP addresses WeCom sends callbacks from."""
        return list(self._get("getcallbackip").get("ip_list", []))

    # -- web pages inside WeCom: JS-SDK tickets, OAuth, temporary media --

    def get_jsapi_ticket(self) -> dict[str, Any]:
        """``get_jsapi_ticket`` (official docs path/90506): the corp's ticket that signs
        ``wx.config``. :returns: ``{"ticket", "expires_in"}`` (7200 s; the same ticket while
        it is valid). Cache it: WeCom allows 400 calls per hour per corp (45009 beyond)."""
        return self._get("get_jsapi_ticket")

    def get_agent_ticket(self) -> dict[str, Any]:
        """``ticket/get?type=agent_config`` (path/90506): the app's ticket that signs
        ``wx.agentConfig``. :returns: ``{"ticket", "expires_in"}``. Cache it: 100 calls per
        hour per app (45009 beyond)."""
        return self._get("ticket/get", type="agent_config")

    def get_user_info(self, code: str) -> dict[str, Any]:
        """``auth/getuserinfo`` (path/91023): who opened a page, from the OAuth ``code`` WeCom
        appended to its ``redirect_uri``.

        A code works once and for 5 minutes, so the call is never repeated once it may have
        reached WeCom.

        :returns: ``{"userid", …}`` for a corp member (``user_ticket`` too with scope
            ``snsapi_privateinfo``); ``{"openid", "external_userid"?}`` for anyone else.
        :raises WeComError: 40029 invalid, used or expired code.
        """
        if not code:
            raise ValidationError(_("code is empty: pass the code WeCom added to the page's "
                                    "address"))
        return self._request("GET", "auth/getuserinfo", params={"code": code},
                             idempotent=False)

    def upload_media(self, kind: str, filename: str, content: bytes) -> dict[str, Any]:
        """``media/upload`` (path/90253): keep a file as temporary media for 3 days.

        :param kind: ``image`` (JPG/PNG, ≤ 10 MB), ``voice`` (AMR, ≤ 2 MB), ``video`` (MP4,
            ≤ 10 MB) or ``file`` (≤ 20 MB); every file must be larger than 5 bytes.
        :param filename: the name the recipient sees.
        :returns: ``{"type", "media_id", "created_at"}`` (created_at is a string).
        """
        if kind not in MEDIA_LIMITS:
            raise ValidationError(_("media type {kind!r} must be image, voice, video or file",
                                    kind=kind))
        size, most = len(content), MEDIA_LIMITS[kind]
        if size <= MIN_MEDIA_BYTES:
            raise ValidationError(_("{filename!r} is {size} bytes; WeCom needs more than "
                                    "{limit}", filename=filename, size=size,
                                    limit=MIN_MEDIA_BYTES))
        if size > most:
            raise ValidationError(_("{filename!r} is {size:,} bytes; WeCom allows at most "
                                    "{limit:,} for {kind}", filename=filename, size=size,
                                    limit=most, kind=kind))
        content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        return self._request("POST", "media/upload", params={"type": kind},
                             files={"media": (filename, content, content_type)},
                             idempotent=False)

    # -- org (通讯录) --

    def list_departments(self, id: int | None = None) -> list[dict[str, Any]]:
        """``department/list`` (official docs path/90208): department ``id`` and every
        department below it, or the app's whole visible range (可见范围) when ``id`` is
        ``None``; each ``{"id", "name", "name_en", "department_leader", "parentid",
        "order"}`` (the root is id 1 with parentid 0).

        :raises WeComError: 60003 unknown department, 60011 outside the visible range.
        """
        return list(self._get("department/list", id=id).get("department", []))

    def list_department_users(self, department_id: int) -> list[dict[str, Any]]:
        """``user/list`` (official docs path/90201): the members directly in
        ``department_id`` (not those below it: read each department), each with
        ``userid``, ``name``, ``department``, ``main_department``, ``status`` (1 activated,
        2 disabled, 4 not activated, 5 left)… The answer is not paged.

        :raises WeComError: 60003 unknown department, 60011 outside the visible range.
        """
        answer = self._get("user/list", department_id=department_id)
        return list(answer.get("userlist", []))
