"""What the sidebar page needs from WeCom's JS-SDK: ticket signatures and image media ids.

``wx.config`` is signed with the corp's jsapi_ticket, ``wx.agentConfig`` with the app's
agent_config ticket: ``sha1("jsapi_ticket=…&noncestr=…&timestamp=…&url=…")`` where the url is
the page's address without its ``#`` part. Tickets last two hours and WeCom limits how often
they may be fetched (400 an hour per corp, 100 per app), so each process keeps them until
five minutes before they expire and fetches each at most once at a time.

A quick-reply image is sent with ``sendChatMessage`` by media id: it is uploaded to WeCom
(``media/upload``, temporary media that last three days) the first time it is sent and the
id kept in ``sidebar_media`` until shortly before it expires or the reply changes. Network
calls happen outside any database transaction: read the kept id, upload, then store it.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from siyu.core.i18n import translator
from siyu.plugins.sidebar.models import SidebarMedia
from siyu.storage.types import utcnow

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

_ = translator("siyu.plugins.sidebar")

#: Fetch a ticket again this many seconds before WeCom says it expires.
TICKET_MARGIN = 300
#: Temporary media last three days; upload again a few hours before.
MEDIA_LIFETIME = timedelta(days=3) - timedelta(hours=3)
#: The JS-SDK APIs the sidebar page uses.
JS_API_LIST = ("getContext", "getCurExternalContact", "sendChatMessage")


def sign(ticket: str, nonce: str, timestamp: int, url: str) -> str:
    """The JS-SDK signature of ``url`` (without its ``#`` part) with ``ticket``."""
    url = url.split("#", 1)[0]
    text = f"jsapi_ticket={ticket}&noncestr={nonce}&timestamp={timestamp}&url={url}"
    return hashlib.sha1(text.encode()).hexdigest()  # noqa: S324 - WeCom's algorithm


@dataclass
class _Ticket:
    value: str = ""
    good_until: float = 0.0


class Tickets:
    """The corp's jsapi_ticket and the app's agent ticket of one workspace, kept while
    valid (one per process: ``tickets(ws)``)."""

    def __init__(self, ws: Workspace):
        self.ws = ws
        self._kept = {"corp": _Ticket(), "agent": _Ticket()}
        self._locks = {"corp": threading.Lock(), "agent": threading.Lock()}

    def get(self, kind: str) -> str:
        """The ``corp`` or ``agent`` ticket, fetched from WeCom when none is kept."""
        kept = self._kept[kind]
        if kept.value and time.monotonic() < kept.good_until:
            return kept.value
        with self._locks[kind]:
            kept = self._kept[kind]
            if kept.value and time.monotonic() < kept.good_until:
                return kept.value
            from siyu.plugins.wecom.service import wecom

            client = wecom(self.ws).client
            answer = client.get_jsapi_ticket() if kind == "corp" else client.get_agent_ticket()
            expires_in = int(answer.get("expires_in") or 7200)
            self._kept[kind] = _Ticket(answer["ticket"], time.monotonic()
                                       + max(expires_in - TICKET_MARGIN, 60))
            return self._kept[kind].value

    def forget(self) -> None:
        """Drop the kept tickets (after the app's secret changed)."""
        self._kept = {"corp": _Ticket(), "agent": _Ticket()}


def tickets(ws: Workspace) -> Tickets:
    """The workspace's :class:`Tickets`."""
    return ws.extension("sidebar.tickets", Tickets)


def signatures(ws: Workspace, url: str) -> dict[str, Any]:
    """What the page passes to ``wx.config`` and ``wx.agentConfig`` for ``url``."""
    from siyu.plugins.wecom.service import wecom

    config = wecom(ws).config
    kept = tickets(ws)
    stamp, nonce = int(time.time()), secrets.token_hex(8)
    agent_stamp, agent_nonce = stamp, secrets.token_hex(8)
    return {
        "config": {"appId": config.corp_id, "timestamp": stamp, "nonceStr": nonce,
                   "signature": sign(kept.get("corp"), nonce, stamp, url)},
        "agent": {"corpid": config.corp_id, "agentid": config.agent_id,
                  "timestamp": agent_stamp, "nonceStr": agent_nonce,
                  "signature": sign(kept.get("agent"), agent_nonce, agent_stamp, url)},
        "jsApiList": list(JS_API_LIST),
    }


def media_id(ws: Workspace, reply_id: int) -> str:
    """The WeCom media id of quick reply ``reply_id``'s image, uploading it when none is
    kept for its current version.

    :raises ValidationError: the reply is not an image.
    :raises NotFound: no such reply.
    """
    from siyu.plugins import quickreplies

    reply = quickreplies.get(ws, reply_id)
    if reply.kind != "image":
        from siyu.core.errors import ValidationError

        raise ValidationError(_("quick reply {title} is text, not an image",
                                title=reply.title))
    version = reply.updated_at.isoformat()
    m = SidebarMedia.__table__.c
    with ws.engine.connect() as conn:
        kept = conn.execute(sa.select(m.media_id).where(
            m.reply_id == reply_id, m.version == version, m.expires_at > utcnow())).first()
    if kept is not None:
        return kept.media_id
    from siyu.plugins.wecom.service import wecom

    content, filename, _content_type = quickreplies.image_of(ws, reply_id)
    answer = wecom(ws).client.upload_media("image", filename, content)
    uploaded = answer["media_id"]
    with ws.session() as s:
        s.execute(sa.delete(SidebarMedia).where(SidebarMedia.reply_id == reply_id))
        s.add(SidebarMedia(reply_id=reply_id, version=version, media_id=uploaded,
                           expires_at=utcnow() + MEDIA_LIFETIME))
    return uploaded
