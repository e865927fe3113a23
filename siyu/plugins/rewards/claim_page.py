"""The public claim page (``/r/claim?t=<token>``): a customer opens the link from a welcome
message or a campaign on their phone, sees what the pool gives, claims, and sees what they
won — a red packet's amount and its payout, or a coupon's code with a QR code.

No console sign-in: the signed, expiring token (:mod:`~.tokens`) says who the customer is and
which pool. Plain HTML, every value escaped, in the workspace's language. Requests are limited
per token and per address (:class:`RateLimiter`), and a claim is one database transaction
(:func:`~siyu.plugins.rewards.claims.claim`), so a double tap cannot claim twice.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from siyu.apps.routes import SiyuHandler
from siyu.apps.safe import Safe, html, join
from siyu.apps.standalone import styled_document
from siyu.core.errors import NotFound
from siyu.core.i18n import translator, use_language
from siyu.core.permissions import Principal
from siyu.plugins.rewards.models import RewardClaim, RewardPayout, RewardPool
from siyu.plugins.rewards.tokens import read_token

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

_ = translator("siyu.plugins.rewards")

#: Who the claim page acts as (audit log, ``created_by``).
CLAIM_PAGE = Principal("claim-page", "operator")
#: Requests per minute a token, and an address, may make.
PER_TOKEN, PER_ADDRESS = 20, 120

STYLE = """
*{box-sizing:border-box} body{margin:0;font-family:FONTS;background:#c62828;color:#1f2328}
main{max-width:480px;margin:0 auto;padding:24px 16px}
.card{background:#fff;border-radius:14px;padding:24px 20px;text-align:center;
box-shadow:0 6px 20px rgba(0,0,0,.18)}
h1{font-size:20px;margin:0 0 6px} .what{color:#667;margin:0 0 18px}
.amount{font-size:44px;font-weight:700;color:#c62828;margin:10px 0}
.code{font-family:monospace;font-size:24px;letter-spacing:2px;background:#fff6e0;
border:1px dashed #e0a800;border-radius:8px;padding:10px;margin:12px 0;word-break:break-all}
.qr img{width:180px;height:180px} .muted{color:#667;font-size:14px;line-height:1.6}
button{width:100%;font:inherit;font-size:18px;padding:14px;border:0;border-radius:28px;
background:#e53935;color:#fff;cursor:pointer}
.bad{color:#b00020} ul{list-style:none;padding:0;margin:12px 0 0} li{padding:6px 0}
"""

class RateLimiter:
    """At most ``limit`` events per key in any 60 seconds (per server process)."""

    def __init__(self, limit: int):
        self.limit = limit
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        """Count one event for ``key``; whether it is within the limit."""
        now = time.monotonic()
        with self._lock:
            if len(self._seen) > 50_000:  # forget idle keys
                self._seen = {k: v for k, v in self._seen.items() if v and now - v[-1] < 60}
            seen = self._seen.setdefault(key, deque())
            while seen and now - seen[0] >= 60:
                seen.popleft()
            if len(seen) >= self.limit:
                return False
            seen.append(now)
            return True


def money(fen: int) -> str:
    """Integer fen as yuan: ``888`` → ``¥8.88``."""
    return f"¥{fen / 100:,.2f}"


def offer_text(pool: Any) -> str:
    """What a pool gives, in one line."""
    if pool.kind == "coupon":
        if pool.threshold_fen:
            return _("a {value} coupon for orders of {threshold} or more",
                     value=money(pool.amount_fen), threshold=money(pool.threshold_fen))
        return _("a {value} coupon", value=money(pool.amount_fen))
    if pool.mode == "random":
        return _("a red packet of {low} to {high}", low=money(pool.min_fen),
                 high=money(pool.max_fen))
    if pool.mode == "lucky":
        return _("a lucky red packet")
    return _("a {value} red packet", value=money(pool.amount_fen))


#: What the customer reads when a claim is refused (the ledger's reasons, said to them).
TO_CUSTOMER: dict[str, Any] = {
    "paused": _.lazy("This offer is paused. Please come back later."),
    "ended": _.lazy("This offer has ended."),
    "not_started": _.lazy("This offer has not started yet."),
    "not_eligible": _.lazy("Sorry, this offer is not open to you."),
    "limit": _.lazy("You have already claimed this."),
    "daily_limit": _.lazy("You have claimed today's; come back tomorrow."),
    "budget": _.lazy("Sorry, they are all gone."),
    "sold_out": _.lazy("Sorry, they are all gone."),
}

PAYOUT_WORDS: dict[str, Any] = {
    "pending": _.lazy("on its way to your WeChat balance"),
    "unknown": _.lazy("on its way to your WeChat balance"),
    "paid": _.lazy("paid to your WeChat balance"),
    "failed": _.lazy("could not be paid yet; we are looking into it"),
}


def document(title: str, body: Safe) -> str:
    """The page around ``body``."""
    return styled_document(title, html('<main><div class="card siyu-claim">{body}</div></main>',
                                       body=body), STYLE)


def claims_of(ws: Workspace, pool_id: int, contact_id: int) -> list[Any]:
    """The contact's claims from the pool, newest first, with their payout's state."""
    c, p = RewardClaim.__table__.c, RewardPayout.__table__.c
    with ws.engine.connect() as conn:
        return conn.execute(
            sa.select(c.id, c.amount_fen, c.code, c.expires_at, c.claimed_at,
                      p.status.label("payout"))
            .select_from(RewardClaim.__table__.outerjoin(RewardPayout.__table__,
                                                         p.claim_id == c.id))
            .where(c.pool_id == pool_id, c.contact_id == contact_id)
            .order_by(c.id.desc())).all()


def won(pool: Any, row: Any, tz: Any) -> Safe:
    """What one claim gave, as the page shows it."""
    if pool.kind == "coupon":
        import segno

        qr = segno.make(row.code or "", micro=False).svg_data_uri(scale=4)
        until = row.expires_at.astimezone(tz).strftime("%Y-%m-%d") if row.expires_at else ""
        return html('<div class="siyu-claim-won"><div class="code">{code}</div>'
                    '<div class="qr"><img src="{qr}" alt="{code}"></div>'
                    '<p class="muted">{until}</p></div>',
                    code=row.code or "", qr=qr,
                    until=_("valid until {day}; show this code at checkout", day=until)
                    if until else _("show this code at checkout"))
    return html('<div class="siyu-claim-won"><div class="amount">{amount}</div>'
                '<p class="muted">{state}</p></div>', amount=money(row.amount_fen),
                state=PAYOUT_WORDS.get(row.payout or "pending", ""))


class ClaimHandler(SiyuHandler):
    """``GET /r/claim?t=…`` shows the offer (or what was won); ``POST`` claims."""

    by_token = RateLimiter(PER_TOKEN)
    by_address = RateLimiter(PER_ADDRESS)

    def check_xsrf_cookie(self) -> None:  # the signed token is the credential
        return None

    def set_default_headers(self) -> None:
        self.set_header("Cache-Control", "no-store")
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Referrer-Policy", "no-referrer")

    def _page(self, title: str, body: Safe, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(document(title, body))

    def _message(self, title: str, text: str, status: int) -> None:
        self._page(title, html('<h1>{t}</h1><p class="muted bad">{m}</p>', t=title, m=text),
                   status)

    def _found(self) -> tuple[Workspace, Any, Any] | None:
        token = self.get_argument("t", "")
        address = self.request.remote_ip or "?"
        if not (self.by_address.allow(address) and self.by_token.allow(token[:200])):
            self.set_header("Retry-After", "60")
            self._message(_("Too many tries"), _("Please wait a minute and try again."), 429)
            return None
        found = read_token(self.ws, token)
        if found is None:
            self._message(_("This link does not work"),
                          _("The link is not valid or has expired. Ask us for a new one."), 400)
            return None
        ws = self.ws.as_user(CLAIM_PAGE)
        with ws.engine.connect() as conn:
            pool = conn.execute(sa.select(RewardPool.__table__).where(
                RewardPool.__table__.c.id == found.pool_id)).first()
        if pool is None:
            self._message(_("This link does not work"), _("This offer no longer exists."), 404)
            return None
        return ws, pool, found

    def get(self) -> None:
        """Show the offer, or what this customer already won from it."""
        with use_language(self.ws.language):
            got = self._found()
            if got is None:
                return
            ws, pool, found = got
            had = claims_of(ws, pool.id, found.contact_id)
            if len(had) >= pool.contact_limit:
                self._show_won(ws, pool, had, _("You have claimed this"))
                return
            token = self.get_argument("t", "")
            before = join("", [won(pool, row, ws.timezone) for row in had])
            self._page(pool.title, html(
                '<h1>{title}</h1><p class="what">{offer}</p>'
                '<form method="post" action="/r/claim"><input type="hidden" name="t" '
                'value="{token}"><button type="submit" class="siyu-claim-button">{claim}'
                '</button></form>{before}', title=pool.title, offer=offer_text(pool),
                token=token, claim=_("Claim"), before=before))

    def post(self) -> None:
        """Claim, then show what was won (or why not)."""
        from siyu.plugins.rewards.claims import ClaimRefused, claim

        with use_language(self.ws.language):
            got = self._found()
            if got is None:
                return
            ws, pool, found = got
            try:
                claim(ws, pool.id, found.contact_id, source="claim-page")
            except ClaimRefused as refused:
                had = claims_of(ws, pool.id, found.contact_id)
                said = str(TO_CUSTOMER.get(refused.reason, refused))
                if had:
                    self._show_won(ws, pool, had, said, status=409)
                else:
                    self._message(pool.title, said, 409)
                return
            except NotFound:
                self._message(_("This link does not work"),
                              _("We could not find you any more. Ask us for a new link."), 404)
                return
            self._show_won(ws, pool, claims_of(ws, pool.id, found.contact_id),
                           _("Congratulations!"))

    def _show_won(self, ws: Workspace, pool: Any, had: list[Any], heading: str,
                  status: int = 200) -> None:
        items = join("", [won(pool, row, ws.timezone) for row in had])
        self._page(pool.title, html('<h1>{heading}</h1><p class="what">{title}</p>{items}',
                                    heading=heading, title=pool.title, items=items), status)
