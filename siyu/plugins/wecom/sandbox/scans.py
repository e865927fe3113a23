"""What a person who scans a sandbox QR code sees: the outcome of the scan as a small page.

A scan is an HTTP request to ``/sandbox/scan`` (the QR codes encode that link). Programs get
the :class:`~siyu.plugins.wecom.sandbox.actors.Outcome` as JSON, as before; a browser
(``Accept: text/html``, or ``?format=html``) is redirected to ``/sandbox/scans/<id>``, a page
that says in words what happened — who scanned which code, which member added them, and
whether the welcome message was sent — with a link to the customer in the console.

The scan completes asynchronously: the callback reaches the console, which applies it and
answers with the welcome message while the welcome code is valid (20 s). The page therefore
waits a few seconds for that outcome (:data:`WAIT_S`), and when it is not there yet says so
and refreshes itself; reloading it never scans again.

The page is one self-contained HTML document (inline CSS, no scripts, no outside resources),
every value escaped, in the language of the workspace the sandbox serves
(:attr:`Sandbox.language <siyu.plugins.wecom.sandbox.server.Sandbox.language>`).
"""

from __future__ import annotations

import html
import secrets
import threading
from collections import OrderedDict
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from siyu.core.i18n import translator, use_language

if TYPE_CHECKING:  # pragma: no cover
    from siyu.plugins.wecom.sandbox.actors import Outcome
    from siyu.plugins.wecom.sandbox.server import Sandbox

_ = translator("siyu.plugins.wecom")

#: How long the scan page waits for the console's answer before it says "processing".
WAIT_S = 5.0
#: How often a "processing" page reloads itself (seconds).
REFRESH_S = 2
#: Scans remembered for their pages (the oldest are forgotten first).
KEEP = 1000
#: Where the console shows one customer (``/contacts`` when no customer is known).
CONTACTS_PATH = "/contacts"

#: Outcome states; only ``processing`` changes later.
SENT, PROCESSING, NOT_SENT, BY_WECOM, UNDELIVERED, UNCHANGED, JOINED = (
    "sent", "processing", "not_sent", "by_wecom", "undelivered", "unchanged", "joined")


def wants_html(accept: str | None, fmt: str | None = None) -> bool:
    """Whether a request asked for a page rather than JSON.

    ``fmt`` (the ``format`` query argument: ``html`` or ``json``) decides when given;
    otherwise the ``Accept`` header does: HTML when ``text/html`` is acceptable and ranks
    above ``application/json`` (by q-value, then by order). No header, ``*/*`` or JSON: JSON.
    """
    if fmt:
        return fmt.strip().lower() == "html"
    ranks: dict[str, tuple[float, int]] = {}
    for position, part in enumerate((accept or "").split(",")):
        kind, *params = [p.strip() for p in part.split(";")]
        quality = 1.0
        for param in params:
            name, _sep, value = param.partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if kind.lower() in ("text/html", "application/json") and kind.lower() not in ranks:
            ranks[kind.lower()] = (quality, -position)
    page = ranks.get("text/html")
    if page is None or page[0] <= 0:
        return False
    data = ranks.get("application/json")
    return data is None or data[0] <= 0 or page > data


@dataclass(frozen=True)
class Scan:
    """One remembered scan: the code scanned and what the action did."""

    id: str
    config_id: str
    outcome: Outcome


class ScanLog:
    """The most recent scans by id, so their pages can be shown (and reloaded) later."""

    def __init__(self, keep: int = KEEP):
        self.keep = keep
        self._scans: OrderedDict[str, Scan] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, config_id: str, outcome: Outcome) -> Scan:
        """Remember a scan; returns it with its new id."""
        scan = Scan(secrets.token_hex(8), config_id, outcome)
        with self._lock:
            self._scans[scan.id] = scan
            while len(self._scans) > self.keep:
                self._scans.popitem(last=False)
        return scan

    def get(self, scan_id: str) -> Scan | None:
        """The scan ``scan_id``, or ``None`` when unknown or forgotten."""
        with self._lock:
            return self._scans.get(scan_id)


@dataclass(frozen=True)
class ScanReport:
    """A scan in words' worth of facts (what the page and its JSON show).

    :ivar state: ``sent`` (welcome message sent), ``processing`` (the console has not
        answered yet), ``not_sent`` (the welcome code expired unused), ``by_wecom`` (the
        member's welcome message is set in WeCom's admin console), ``undelivered`` (the
        callback did not reach the console), ``unchanged`` (already a customer of the
        member), ``joined`` (a customer-group code: joined a group).
    """

    scan_id: str
    state: str
    customer: str
    external_userid: str
    code: str
    config_id: str
    staff: str
    userid: str
    group: str
    welcome_text: str
    console_link: str

    @property
    def done(self) -> bool:
        """Whether the outcome is final (nothing more will change)."""
        return self.state != PROCESSING

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready fields, with ``done``."""
        return {**asdict(self), "done": self.done}


def console_link(console_url: str | None, external_userid: str) -> str:
    """Where the console shows the customer ``external_userid`` (empty without a console):
    the contacts page with the customer's card open (``?contact=``)."""
    if not console_url:
        return ""
    return f"{console_url.rstrip('/')}{CONTACTS_PATH}?{urlencode({'contact': external_userid})}"


def report(sandbox: Sandbox, scan: Scan) -> ScanReport:
    """What ``scan`` has led to so far, read from the sandbox world."""
    world, outcome = sandbox.world, scan.outcome
    with world.lock:
        customer = world.customers.get(outcome.external_userid)
        staff = world.staff.get(outcome.userid)
        way = world.contact_ways.get(scan.config_id)
        join = world.join_ways.get(scan.config_id)
        chat = world.group_chats.get(outcome.chat_id) if outcome.chat_id else None
        code_name = (way.remark if way else join.remark if join else "") or scan.config_id
        sent = [w for w in world.welcomes if w.userid == outcome.userid
                and w.external_userid == outcome.external_userid]
        code = world.welcome_codes.get(outcome.welcome_code) if outcome.welcome_code else None
        expired = code is not None and world.now() > code.issued + world.limits.welcome_ttl
        delivered = any(c.delivered for c in outcome.callbacks)
        if outcome.action == "scan_join_way":
            state = JOINED if outcome.changed else UNCHANGED
        elif not outcome.changed:
            state = UNCHANGED
        elif code is not None and code.used:
            state = SENT
        elif outcome.callbacks and not delivered:
            state = UNDELIVERED
        elif staff is not None and staff.console_welcome:
            state = BY_WECOM
        elif code is None or expired:
            state = NOT_SENT
        else:
            state = PROCESSING
    return ScanReport(
        scan_id=scan.id, state=state, customer=customer.name if customer else "",
        external_userid=outcome.external_userid, code=code_name, config_id=scan.config_id,
        staff=staff.name if staff else outcome.userid, userid=outcome.userid,
        group=chat.name if chat else "", welcome_text=sent[-1].text if sent else "",
        console_link=console_link(sandbox.console_base_url, outcome.external_userid))


def headline(r: ScanReport) -> str:
    """The one sentence that says what happened, in the current language (plain text)."""
    values = {"customer": r.customer or r.external_userid, "code": r.code,
              "staff": r.staff or r.userid, "group": r.group}
    if r.state == SENT:
        return _("{customer} scanned “{code}” → added by {staff}, welcome message sent",
                 **values)
    if r.state == PROCESSING:
        return _("{customer} scanned “{code}” → added by {staff}, welcome message being "
                 "processed", **values)
    if r.state == NOT_SENT:
        return _("{customer} scanned “{code}” → added by {staff}, no welcome message sent",
                 **values)
    if r.state == BY_WECOM:
        return _("{customer} scanned “{code}” → added by {staff}, welcome message sent by "
                 "WeCom (set in its admin console)", **values)
    if r.state == UNDELIVERED:
        return _("{customer} scanned “{code}” → added by {staff}, but the callback did not "
                 "reach the console: no welcome message sent", **values)
    if r.state == JOINED:
        return _("{customer} scanned “{code}” → joined the group {group}", **values)
    return _("{customer} scanned “{code}”: already a customer of {staff}, nothing changed",
             **values)


def _note(r: ScanReport) -> str:
    if r.state == PROCESSING:
        return _("The console is still processing the scan (callback → customer → welcome "
                 "message). This page refreshes itself until it is done.")
    if r.state == NOT_SENT:
        return _("The console did not send a welcome message within WeCom's 20 seconds: the "
                 "live code and the workspace may have no welcome message set.")
    if r.state == UNDELIVERED:
        return _("Check that the console is running and that the sandbox's callback URL "
                 "points at it.")
    return ""


PAGE_CSS = """
body{font-family:-apple-system,BlinkMacSystemFont,"PingFang SC","Hiragino Sans GB",
"Microsoft YaHei","Noto Sans CJK SC",sans-serif;margin:0;background:#f5f7fa;color:#1f2933}
main{max-width:560px;margin:24px auto;padding:20px 22px;background:#fff;border-radius:10px;
border:1px solid #e3e7ed;box-sizing:border-box}
@media (max-width:600px){main{margin:12px}}
h1{font-size:18px;margin:0 0 12px}
.siyu-scan-headline{font-size:17px;line-height:1.6;margin:0 0 14px}
.siyu-scan-state{display:inline-block;font-size:12px;padding:2px 8px;border-radius:10px;
background:#e8f0fe;color:#1a56db;margin-bottom:10px}
.siyu-scan-processing .siyu-scan-state{background:#fff4e5;color:#b45309}
.siyu-scan-failed .siyu-scan-state{background:#fdecec;color:#b42318}
dl{display:grid;grid-template-columns:max-content 1fr;gap:6px 14px;margin:0 0 14px;font-size:14px}
dt{color:#5f6b7a}dd{margin:0;word-break:break-all}
.siyu-scan-note{color:#5f6b7a;font-size:13px;line-height:1.5}
a{color:#1a56db}
"""

def _state_label(state: str) -> str:
    labels = {SENT: _("Welcome message sent"), PROCESSING: _("Processing"),
              NOT_SENT: _("No welcome message"), BY_WECOM: _("Welcome message sent by WeCom"),
              UNDELIVERED: _("Callback not delivered"), UNCHANGED: _("Nothing changed"),
              JOINED: _("Joined the group")}
    return labels.get(state, state)


def _html_language(language: str) -> str:
    return language.replace("_", "-")


def render(r: ScanReport, language: str) -> str:
    """The scan page: a whole HTML document, every value escaped."""
    with use_language(language):
        e = html.escape
        rows = [(_("Customer"), r.customer or "—"),
                (_("External user ID"), r.external_userid or "—"),
                (_("Live code"), r.code or "—")]
        if r.state in (JOINED,) or (r.state == UNCHANGED and r.group):
            rows.append((_("Customer group"), r.group or "—"))
        else:
            rows.append((_("Added by"), _("{name} ({userid})", name=r.staff, userid=r.userid)
                         if r.userid else "—"))
        if r.welcome_text:
            rows.append((_("Welcome message"), r.welcome_text))
        details = "".join(f"<dt>{e(label)}</dt><dd>{e(value)}</dd>" for label, value in rows)
        if r.console_link:
            open_text = _("Open the customer in the console")
            link = (f'<p><a class="siyu-scan-link" href="{e(r.console_link)}">'
                    f'{e(open_text)}</a></p>')
        else:
            link = ""
        note = _note(r)
        kind = ("siyu-scan-processing" if r.state == PROCESSING else
                "siyu-scan-failed" if r.state in (NOT_SENT, UNDELIVERED) else "siyu-scan-done")
        refresh = (f'<meta http-equiv="refresh" content="{REFRESH_S}">'
                   if r.state == PROCESSING else "")
        title = _("Scan result")
        sandbox_name = _("WeCom sandbox")
        return (
            "<!doctype html>"
            f'<html lang="{e(_html_language(language))}"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width,initial-scale=1">'
            f"{refresh}<title>{e(title)} · {e(sandbox_name)}</title>"
            f"<style>{PAGE_CSS}</style></head>"
            f'<body><main class="siyu-scan {kind}" data-state="{e(r.state)}">'
            f"<h1>{e(title)}</h1>"
            f'<span class="siyu-scan-state">{e(_state_label(r.state))}</span>'
            f'<p class="siyu-scan-headline">{e(headline(r))}</p>'
            f"<dl>{details}</dl>{link}"
            + (f'<p class="siyu-scan-note">{e(note)}</p>' if note else "")
            + "</main></body></html>")


def render_error(message: str, language: str) -> str:
    """A page for a scan that could not happen (unknown code, no member to serve…)."""
    with use_language(language):
        e = html.escape
        title = _("Scan failed")
        sandbox_name = _("WeCom sandbox")
        return ("<!doctype html>"
                f'<html lang="{e(_html_language(language))}"><head><meta charset="utf-8">'
                '<meta name="viewport" content="width=device-width,initial-scale=1">'
                f"<title>{e(title)} · {e(sandbox_name)}</title>"
                f"<style>{PAGE_CSS}</style></head>"
                f'<body><main class="siyu-scan siyu-scan-failed" data-state="error">'
                f"<h1>{e(title)}</h1><p class=\"siyu-scan-headline\">{e(message)}</p>"
                "</main></body></html>")


def scan_page_path(scan: Scan) -> str:
    """The path of ``scan``'s page on the sandbox."""
    return f"/sandbox/scans/{quote(scan.id)}"
