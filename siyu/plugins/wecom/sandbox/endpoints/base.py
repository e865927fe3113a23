"""What every endpoint shares: the call it answers, field checks, cursors and the route table.

An endpoint is a function ``(call) -> dict`` registered with :func:`endpoint` under its path
below ``/cgi-bin/``. It runs with the world lock held, reads its arguments through the
:class:`Call` helpers (which raise the documented errcodes) and returns the answer's payload;
``errcode``/``errmsg`` are added by the HTTP layer. An endpoint that answers a file instead
(media/get) returns a :class:`FileAnswer`, which the HTTP layer sends as it is.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from siyu.plugins.wecom.sandbox.errors import ApiError
from siyu.plugins.wecom.sandbox.world import World

T = TypeVar("T")
Endpoint = Callable[["Call"], dict]

#: path below /cgi-bin/ → endpoint; filled by the modules of this package as they load.
ROUTES: dict[str, Endpoint] = {}

_MISSING = object()


def endpoint(path: str) -> Callable[[Endpoint], Endpoint]:
    """Register the decorated function as the answer to ``/cgi-bin/<path>``."""
    def register(func: Endpoint) -> Endpoint:
        if path in ROUTES:
            raise ValueError(f"two endpoints for /cgi-bin/{path}")
        ROUTES[path] = func
        return func
    return register


class FileAnswer(dict):
    """An answer that is a file, not JSON: ``content`` sent with ``content_type`` and, when
    ``filename`` is given, a ``Content-Disposition`` naming it."""

    def __init__(self, content: bytes, content_type: str, filename: str = ""):
        super().__init__()
        self.content = content
        self.content_type = content_type
        self.filename = filename


@dataclass
class Call:
    """One API call: the world, the query string and the JSON body.

    :ivar files: the parts of a ``multipart/form-data`` body by field name (media/upload):
        objects with ``filename``, ``content_type`` and ``body``; empty otherwise.
    """

    world: World
    query: Mapping[str, str]
    body: dict[str, Any]
    files: Mapping[str, list[Any]] = field(default_factory=dict)

    @property
    def now(self) -> float:
        return self.world.now()

    def arg(self, name: str) -> Any:
        """A body field, falling back to the query string (for GET endpoints)."""
        if name in self.body:
            return self.body[name]
        return self.query.get(name, _MISSING)

    def has(self, name: str) -> bool:
        return self.arg(name) is not _MISSING

    def text(self, name: str, *, required: bool = False, missing: int = 40058,
             limit: int | None = None, default: str = "") -> str:
        """A string field; ``missing`` when required and absent, 40058 when too long.

        :param limit: most characters allowed.
        """
        value = self.arg(name)
        if value is _MISSING or value is None or value == "":
            if required:
                raise ApiError(missing, f"{name} missing")
            return default
        if not isinstance(value, str):
            raise wrong_type(name, "a string")
        if limit is not None and len(value) > limit:
            raise ApiError(40058, f"{name} longer than {limit} characters")
        return value

    def integer(self, name: str, *, required: bool = False, missing: int = 40058,
                invalid: int = 40058, choices: Sequence[int] | None = None,
                default: int | None = None, low: int | None = None,
                high: int | None = None) -> int | None:
        """An integer field (digit strings accepted, as WeCom does for query parameters)."""
        value = self.arg(name)
        if value is _MISSING or value is None or value == "":
            if required:
                raise ApiError(missing, f"{name} missing")
            return default
        if isinstance(value, bool):
            raise wrong_type(name, "an integer")
        if isinstance(value, str) and value.lstrip("-").isdigit():
            value = int(value)
        if not isinstance(value, int):
            raise wrong_type(name, "an integer")
        if choices is not None and value not in choices:
            raise ApiError(invalid, f"{name}={value} is not one of {list(choices)}")
        if (low is not None and value < low) or (high is not None and value > high):
            raise ApiError(invalid, f"{name}={value} is outside {low}..{high}")
        return value

    def flag(self, name: str, default: bool) -> bool:
        value = self.arg(name)
        if value is _MISSING or value is None:
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        raise wrong_type(name, "true or false")

    def items(self, name: str, kind: type[T] = str, *, limit: int | None = None,
              over: int = 40058) -> list[T]:
        """A list field whose elements are all ``kind``; ``over`` when longer than ``limit``."""
        value = self.arg(name)
        if value is _MISSING or value is None:
            return []
        if not isinstance(value, list) or not all(
                isinstance(v, kind) and not isinstance(v, bool) for v in value):
            raise wrong_type(name, f"a list of {kind.__name__}")
        if limit is not None and len(value) > limit:
            raise ApiError(over, f"{name} has {len(value)} entries, at most {limit} allowed")
        return list(value)

    def mapping(self, name: str) -> dict[str, Any] | None:
        value = self.arg(name)
        if value is _MISSING or value is None:
            return None
        if not isinstance(value, dict):
            raise wrong_type(name, "an object")
        return value

    def page(self, rows: Sequence[T], *, default: int, most: int,
             limit_field: str = "limit") -> tuple[list[T], str]:
        """The page of ``rows`` the cursor and limit ask for, and the next cursor ('' at end)."""
        limit = self.integer(limit_field, default=default)
        if limit is None or limit < 1 or limit > most:
            raise ApiError(40058, f"{limit_field} must be 1..{most}")
        return paginate(rows, self.text("cursor"), limit)


def paginate(rows: Sequence[T], cursor: str, limit: int) -> tuple[list[T], str]:
    """``limit`` rows from where ``cursor`` points, and the cursor after them ('' at the end)."""
    start = decode_cursor(cursor)
    chunk = list(rows[start:start + limit])
    end = start + len(chunk)
    return chunk, encode_cursor(end) if end < len(rows) else ""


def wrong_type(name: str, expected: str) -> ApiError:
    return ApiError(40058, f"{name} must be {expected}", json_warning=True)


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"sandbox:{offset}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The offset a cursor stands for; 0 for an empty one; 40058 for a forged one."""
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, offset = text.split(":")
        if prefix != "sandbox" or not offset.isdigit():
            raise ValueError(text)
        return int(offset)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise ApiError(40058, f"invalid cursor {cursor!r}") from None


def check_agentid(call: Call) -> None:
    """An optional ``agentid`` must name the sandbox app (40056 otherwise)."""
    agentid = call.integer("agentid")
    if agentid is not None and agentid != call.world.corp.agent_id:
        raise ApiError(40056, f"agentid {agentid}")


def check_content(call: Call, *, text_limit: int = 4000, attachments_limit: int = 9) -> tuple[
        dict | None, list[dict]]:
    """The ``text`` and ``attachments`` of a welcome or mass message, validated.

    :raises ApiError: 40063 both empty, 40058 text too long, 41064 too many attachments,
        41065 unknown attachment type.
    """
    text = call.mapping("text")
    if text is not None:
        content = text.get("content", "")
        if not isinstance(content, str):
            raise wrong_type("text.content", "a string")
        if len(content.encode("utf-8")) > text_limit:
            raise ApiError(40058, f"text.content longer than {text_limit} bytes")
        if not content:
            text = None
    attachments = call.items("attachments", dict, limit=attachments_limit, over=41064)
    for item in attachments:
        kind = item.get("msgtype")
        if kind not in ("image", "link", "miniprogram", "video", "file") or not isinstance(
                item.get(kind), dict):
            raise ApiError(41065, f"attachment msgtype {kind!r}")
        link = item.get("link") or {}
        if kind == "link" and (not link.get("title") or not link.get("url")):
            raise ApiError(40058, "link attachments need a title and a url")
    if text is None and not attachments:
        raise ApiError(40063, "text and attachments are both empty")
    return text, attachments
