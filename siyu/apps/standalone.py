"""The console's pages that are not Panel apps: sign-in and "no access".

Plain HTML, no script, nothing loaded from outside the server, in the reader's language
(the signed-in user's, else ``?lang=``, else the workspace's), every value escaped.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from siyu.apps.safe import Safe, html, join
from siyu.apps.theme import FONT_STACK
from siyu.core.i18n import LANGUAGES, current_language
from siyu.core.i18n import core as _
from siyu.core.permissions import PERMISSIONS, role_label, roles_with

#: What the login page says for each ``?error=`` code (the page never echoes free text).
LOGIN_ERRORS: dict[str, Any] = {
    "failed": _.lazy("Invalid user name or password."),
    "locked": _.lazy("Too many failed sign-ins. Try again in {minutes} minute(s)."),
    "csrf": _.lazy("The sign-in form expired. Please try again."),
    "ended": _.lazy("Your session ended. Please sign in again."),
    "busy": _.lazy("The console is handling many sign-ins. Please try again in a minute."),
}

_STYLE_TEMPLATE = """
body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;
background:#0f3d66;font-family:FONTS}
.card{background:#fff;padding:32px;border-radius:8px;width:min(380px,88vw);
box-shadow:0 8px 24px rgba(0,0,0,.2);box-sizing:border-box}
h1{font-size:20px;margin:0 0 4px} .ws{color:#555;margin:0 0 20px}
label{display:block;font-size:14px;margin:12px 0 4px}
input{width:100%;box-sizing:border-box;padding:10px;font-size:16px;border:1px solid #bbb;
border-radius:4px}
button,.button{display:block;text-align:center;text-decoration:none;box-sizing:border-box;
margin-top:20px;width:100%;padding:10px;font-size:16px;background:#0078d4;color:#fff;
border:0;border-radius:4px;cursor:pointer}
.secondary{background:#eef2f7;color:#0f3d66}
.error{color:#b00020;background:#fdecea;padding:8px;border-radius:4px}
.languages{margin:18px 0 0;font-size:13px;color:#777;text-align:center}
.languages a{color:#0078d4;margin:0 6px} .languages b{margin:0 6px}
p{line-height:1.6}
"""
#: The page around every body: trusted code (this module's style sheet, the theme's fonts),
#: braces of the style sheet doubled for ``str.format``.
PAGE_TEMPLATE = ('<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8">'
                 '<meta name="viewport" content="width=device-width, initial-scale=1">'
                 '<title>{title}</title><style>'
                 + _STYLE_TEMPLATE.replace("FONTS", FONT_STACK).replace("{", "{{")
                 .replace("}", "}}")
                 + '</style></head><body>{body}</body></html>')


def _html_lang() -> str:
    return "zh-CN" if current_language().startswith("zh") else "en"


def styled_document(title: str, body: Safe, style: str, *, body_attrs: Safe = Safe("")) -> str:
    """A complete page for phones around ``body`` with a page's own ``style`` (trusted CSS,
    ``FONTS`` standing for the console's font stack) and attributes on ``<body>``: the
    plain-HTML pages plugins serve outside the console (the chat sidebar, the claim page)."""
    template = ('<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8">'
                '<meta name="viewport" content="width=device-width, initial-scale=1">'
                '<title>{title}</title><style>'
                + style.replace("FONTS", FONT_STACK).replace("{", "{{").replace("}", "}}")
                + '</style></head><body {attrs}>{body}</body></html>')
    return str(html(template, lang=_html_lang(), title=title, attrs=body_attrs, body=body))


def document(title: str, body: Safe) -> str:
    """A complete page around ``body`` (already :class:`Safe`) with the console's style."""
    return str(html(PAGE_TEMPLATE, lang=_html_lang(), title=title, body=body))


def language_links(path: str, extra: Iterable[tuple[str, str]] = ()) -> Safe:
    """Links to this page in each language siyu ships, the current one in bold."""
    from urllib.parse import urlencode

    current = current_language()
    items = []
    for code, name in LANGUAGES.items():
        if code == current:
            items.append(html("<b>{name}</b>", name=name))
        else:
            query = urlencode([*extra, ("lang", code)])
            items.append(html('<a href="{href}" hreflang="{code}">{name}</a>',
                              href=f"{path}?{query}", code=code, name=name))
    return html('<p class="languages">{links}</p>', links=join("", items))


def login_page(workspace: str, csrf_token: str, message: str) -> str:
    """The sign-in form: the workspace's name, an error line when ``message`` is set, and
    links to the form in the other languages."""
    error = html('<p class="error errormessage" role="alert">{m}</p>', m=message) \
        if message else Safe("")
    body = html(
        '<form class="card" method="post" action="/login" autocomplete="on">'
        '<h1>{brand}</h1><p class="ws">{workspace}</p>{error}'
        '<input type="hidden" name="csrf_token" value="{token}">'
        '<label for="username">{user_label}</label>'
        '<input id="username" name="username" autocomplete="username" required autofocus>'
        '<label for="password">{password_label}</label>'
        '<input id="password" name="password" type="password" '
        'autocomplete="current-password" required>'
        '<button type="submit">{submit}</button>{languages}</form>',
        brand=_("siyu private-domain console"), workspace=workspace, error=error,
        token=csrf_token, user_label=_("User name"), password_label=_("Password"),
        submit=_("Sign in"), languages=language_links("/login"))
    return document(_("Sign in · {workspace} · siyu", workspace=workspace), body)


def denied_page(workspace: str, user: str, role: str, page_title: str | None,
                permission: str | None) -> str:
    """"You do not have access to this page": which page, what it needs, which roles have
    that, the user's own role, and the way back."""
    if permission:
        roles = [str(role_label(name)) for name in roles_with(permission)]
        needs = _("Opening it needs the right to {action}; the roles that have it: {roles}.",
                  action=PERMISSIONS.get(permission, permission),
                  roles=("、" if current_language().startswith("zh") else ", ").join(roles)
                  if roles else _("none"))
    else:
        needs = _("This page does not exist or is not available to you.")
    body = html(
        '<div class="card siyu-denied"><h1>{title}</h1><p class="ws">{workspace}</p>'
        '<p class="siyu-denied-page">{page}</p><p class="siyu-denied-needs">{needs}</p>'
        '<p class="siyu-denied-role">{yours}</p>'
        '<p>{ask}</p>'
        '<a class="button" href="/">{back}</a>'
        '<a class="button secondary" href="/logout">{switch}</a></div>',
        title=_("You do not have access to this page"), workspace=workspace,
        page=_("Page: {page}", page=page_title) if page_title else "",
        needs=needs,
        yours=_("You are signed in as {user} with the role {role}.", user=user,
                role=role_label(role)),
        ask=_("Ask an administrator to change your role if you need this page."),
        back=_("Back to the console"), switch=_("Sign in as someone else"))
    return document(_("No access · {workspace} · siyu", workspace=workspace), body)
