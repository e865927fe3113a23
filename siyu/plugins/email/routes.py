"""The public unsubscribe page: ``/email/unsubscribe?t=<token>``.

``GET`` only shows a confirmation page with a button (link checkers and mail scanners open
links; opening one must not unsubscribe anybody). ``POST`` — the page's button, or a mail
client's one-click request (RFC 8058: ``List-Unsubscribe=One-Click`` in the body, no cookies)
— records the unsubscribe, once. The token is the only credential: it names the contact and
is signed with the workspace's secret (:mod:`siyu.plugins.email.tokens`).

Every page is plain HTML in the workspace's language (``?lang=`` chooses another), every
value escaped, nothing loaded from elsewhere.
"""

from __future__ import annotations

from urllib.parse import urlencode

from siyu.apps.routes import SiyuHandler
from siyu.apps.safe import html, join
from siyu.apps.standalone import document
from siyu.core.errors import NotFound
from siyu.core.i18n import normalize_language, translator, use_language
from siyu.plugins.email import unsubscribe
from siyu.plugins.email.tokens import UNSUBSCRIBE_PATH, read_token

_ = translator("siyu.plugins.email")

PATTERN = UNSUBSCRIBE_PATH + r"/?"
ONE_CLICK = "One-Click"


class UnsubscribeHandler(SiyuHandler):
    """``GET``: the confirmation page; ``POST``: unsubscribe (see the module's text)."""

    def check_xsrf_cookie(self) -> None:
        """No cookie to check: the signed token authenticates the request (a mail client's
        one-click ``POST`` carries none)."""

    def _language(self) -> str:
        asked = self.get_query_argument("lang", "")
        if asked:
            try:
                return normalize_language(asked)
            except ValueError:
                pass
        return self.ws.language

    def _token(self) -> str:
        return self.get_argument("t", "")

    def _page(self, status: int, title: str, lines: list[str], *, button: bool = False
              ) -> None:
        form = html("")
        if button:
            action = f"{UNSUBSCRIBE_PATH}?{urlencode({'t': self._token()})}"
            form = html('<form method="post" action="{action}">'
                        '<button type="submit">{label}</button></form>',
                        action=action, label=_("Unsubscribe"))
        paragraphs = join("", [html("<p>{line}</p>", line=line) for line in lines])
        body = html('<div class="card siyu-unsubscribe"><h1>{title}</h1>'
                    '<p class="ws">{workspace}</p>{paragraphs}{form}</div>', title=title,
                    workspace=self.ws.name, paragraphs=paragraphs, form=form)
        self.set_status(status)
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.set_header("Referrer-Policy", "no-referrer")  # the token is in the URL
        self.set_header("X-Robots-Tag", "noindex")
        self.finish(document(title, body))

    def _invalid(self) -> None:
        self._page(400, _("This unsubscribe link is not valid"),
                   [_("The link may be incomplete: open it again from the e-mail, or copy "
                      "the whole address into the browser.")])

    def _done(self, at) -> None:
        day = at.astimezone(self.ws.timezone).date().isoformat()
        self._page(200, _("You are unsubscribed"),
                   [_("We will send you no more e-mail (since {date}).", date=day)])

    def get(self) -> None:
        """Show the confirmation page (or say it is already done)."""
        with use_language(self._language()):
            contact = read_token(self.ws, self._token())
            if contact is None:
                self._invalid()
                return
            at = unsubscribe.unsubscribed_at(self.ws, [contact]).get(contact)
            if at is not None:
                self._done(at)
                return
            self._page(200, _("Unsubscribe from our e-mails?"),
                       [_("Press the button and we will send you no more e-mail.")],
                       button=True)

    def post(self) -> None:
        """Record the unsubscribe (idempotent) and confirm it."""
        with use_language(self._language()):
            contact = read_token(self.ws, self._token())
            if contact is None:
                self._invalid()
                return
            one_click = self.get_body_argument("List-Unsubscribe", "") == ONE_CLICK
            try:
                at = unsubscribe.unsubscribe(self.ws, contact,
                                             via="one-click" if one_click else "link")
            except NotFound:
                self._invalid()
                return
            self._done(at)
