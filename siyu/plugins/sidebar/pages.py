"""The Chat sidebar page (聊天工具栏): how to put the customer card beside WeCom chats, whether
the app is ready for it, the guides signed in (and signing one out), and — on the built-in
sandbox — opening the sidebar as a guide would.

Opening it needs ``data.read``; signing a guide out needs ``users.manage``. Every
data-derived string reaches the page through the kit tables or
:func:`~siyu.apps.safe.html`, escaped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import panel as pn
import sqlalchemy as sa

from siyu.apps.kit import Col, data_table, display_frame, empty_state, page_header
from siyu.apps.pages.common import notify_errors, notify_success, section, toggle_empty
from siyu.apps.safe import Safe, html, join
from siyu.core.i18n import translator
from siyu.plugins.sidebar import PATH, sessions

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

_ = translator("siyu.plugins.sidebar")

SESSION_COLS = (Col("userid", _.lazy("Member"), "id"), Col("name", _.lazy("Name")),
                Col("store", _.lazy("Store")),
                Col("signed_in_at", _.lazy("Signed in at"), "time"),
                Col("last_seen_at", _.lazy("Last seen"), "time"),
                Col("expires_at", _.lazy("Expires at"), "time"))
CSS = """
.siyu-sidebar-setup ol{margin:0;padding-left:20px;line-height:1.8}
.siyu-sidebar-address{font-family:monospace;background:#eef2f7;padding:2px 6px;border-radius:4px;
word-break:break-all}
.siyu-sidebar-ready{margin:0 0 6px} .siyu-sidebar-ready b{color:#1e6b3a}
.siyu-sidebar-ready b.missing{color:#b00020}
"""


def console_origin() -> str:
    """``scheme://host[:port]`` of the console as this browser reaches it."""
    location = pn.state.location
    if location is not None and location.hostname:
        port = f":{location.port}" if location.port else ""
        return f"{location.protocol or 'https:'}//{location.hostname}{port}"
    return ""


class ChatSidebarPage(pn.viewable.Viewer):
    """The Chat sidebar page (permission ``data.read``)."""

    def __init__(self, ws: Workspace, **params: Any):
        super().__init__(**params)
        ws.principal.require("data.read")
        self.ws = ws
        self.can_manage = ws.principal.can("users.manage")
        self.setup = pn.pane.HTML(css_classes=["siyu-sidebar-setup"], sizing_mode="stretch_width",
                                  stylesheets=[CSS])
        self.table = data_table(SESSION_COLS, css_class="siyu-sidebar-sessions")
        self.empty = empty_state(_("No guide is signed in to the sidebar."),
                                 _("Guides sign in by opening the sidebar beside a chat in "
                                   "WeCom."), css_class="siyu-sidebar-sessions-empty")
        self.end_select = pn.widgets.Select(label=_("Guide"), disabled=not self.can_manage,
                                            css_classes=["siyu-sidebar-end-who"], width=220)
        self.end_button = pn.widgets.Button(label=_("Sign out of the sidebar"),
                                            color="warning", disabled=not self.can_manage,
                                            css_classes=["siyu-sidebar-end"],
                                            margin=(24, 10, 10, 10))
        self.end_button.on_click(lambda _event: self.end())
        self.preview = self._preview()
        self.refresh()

    def _config(self) -> Any:
        from siyu.plugins.wecom.config import load_config

        return load_config(self.ws)

    def refresh(self) -> None:
        """Reload the set-up box and the guides signed in."""
        self.setup.object = self._setup_html()
        frame = sessions.listing(self.ws)
        self.table.value = display_frame(frame, SESSION_COLS, self.ws.timezone)
        toggle_empty(self.table, self.empty, not frame.empty)
        who = sorted(set(frame["userid"]))
        self.end_select.options = who
        self.end_button.disabled = not (self.can_manage and who)

    def _setup_html(self) -> Safe:
        config = self._config()
        checks = [(_("Corp ID"), bool(config.corp_id)), (_("App secret"), bool(config.secret)),
                  (_("Agent ID"), bool(config.agent_id))]
        ready = join(" · ", [html('{name} <b class="{cls}">{state}</b>', name=name,
                                  cls="" if ok else "missing",
                                  state=_("set") if ok else _("missing"))
                             for name, ok in checks])
        origin = console_origin() or "https://…"
        return html(
            '<p class="siyu-sidebar-ready">{ready}</p><ol>'
            '<li>{step1}</li><li>{step2} <span class="siyu-sidebar-address">{address}</span>'
            '</li><li>{step3}</li><li>{step4}</li></ol>',
            ready=ready,
            step1=_("In WeCom's admin console, open the app siyu uses (应用管理 → the app) and "
                    "give it customer contact permission (客户联系)."),
            step2=_("Under 配置到聊天工具栏, add a custom page with this address:"),
            address=f"{origin}{PATH}",
            step3=_("Set the app's trusted domain (可信域名) to the console's domain; WeCom "
                    "opens only https pages there."),
            step4=_("Guides then open the sidebar beside a chat: WeCom signs them in, and they "
                    "see only their own customers, with phone numbers masked."))

    def _preview(self) -> pn.viewable.Viewable | None:
        """On the built-in sandbox: open the sidebar as a guide in a chat."""
        from siyu.plugins.wecom.config import DEFAULT_BASE_URL

        config = self._config()
        if not config.base_url or config.base_url.rstrip("/") == DEFAULT_BASE_URL:
            return None
        from siyu.storage.models import Contact, ContactFollow, Staff

        f, s, c = ContactFollow.__table__.c, Staff.__table__.c, Contact.__table__.c
        with self.ws.engine.connect() as conn:
            rows = conn.execute(
                sa.select(s.userid, s.name, c.external_userid, c.name.label("customer"))
                .select_from(ContactFollow.__table__.join(Staff.__table__, s.id == f.staff_id)
                             .join(Contact.__table__, c.id == f.contact_id))
                .where(f.deleted_at.is_(None), s.status == "active",
                       c.external_userid.is_not(None))
                .order_by(s.userid, c.id).limit(200)).all()
        if not rows:
            return None
        base = config.base_url.rstrip("/")
        choices = {f"{r.name or r.userid} → {r.customer or r.external_userid}":
                   (r.userid, r.external_userid) for r in rows}
        select = pn.widgets.Select(label=_("Guide and customer"), options=choices,
                                   css_classes=["siyu-sidebar-preview-who"], width=320)
        link = pn.pane.HTML(css_classes=["siyu-sidebar-preview-link"], margin=(24, 10, 10, 10))

        def update(_event: Any = None) -> None:
            userid, external = select.value
            query = urlencode({"userid": userid, "external_userid": external,
                               "url": f"{console_origin()}{PATH}"})
            link.object = html('<a href="{href}" target="_blank" rel="noopener">{label}</a>',
                               href=f"{base}/client/chat?{query}",
                               label=_("Open the sidebar in the sandbox's WeCom"))
        select.param.watch(update, "value")
        update()
        return section(_("Try it in the sandbox"),
                       pn.FlexBox(select, link, flex_wrap="wrap", align_items="flex-end"),
                       css_class="siyu-sidebar-preview")

    @notify_errors
    def end(self) -> None:
        """Sign the chosen guide out of the sidebar everywhere."""
        userid = self.end_select.value
        if not userid:
            return
        ended = sessions.end(self.ws, userid)
        self.refresh()
        notify_success(_("signed {userid} out of the sidebar ({n} sessions ended)",
                         userid=userid, n=ended))

    def __panel__(self) -> pn.Column:
        parts = [page_header(_("Chat sidebar"),
                             _("Shopping guides see the customer's card beside a WeCom chat, "
                               "tag them, add notes and send quick replies.")),
                 section(_("Set up"), self.setup, css_class="siyu-sidebar-setup-section")]
        if self.preview is not None:
            parts.append(self.preview)
        parts.append(section(_("Guides signed in"), self.table, self.empty,
                             pn.FlexBox(self.end_select, self.end_button, flex_wrap="wrap",
                                        align_items="flex-end")))
        return pn.Column(*parts, sizing_mode="stretch_width")
