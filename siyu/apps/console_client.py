"""Sign in to a running console over HTTP, as a script, a monitor or a test would.

``with console_client(url, "ada", password) as client: client.get("/health").json()``
"""

from __future__ import annotations

import re

import httpx

from siyu.core.errors import PermissionDenied

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def login_form_token(client: httpx.Client) -> str:
    """Open the login form with ``client`` and return its CSRF token (the matching cookie
    stays in the client)."""
    page = client.get("/login")
    page.raise_for_status()
    found = _CSRF.search(page.text)
    if not found:
        raise RuntimeError("the login page carries no form token")
    return found.group(1)


def sign_in(client: httpx.Client, name: str, password: str) -> httpx.Response:
    """Post the login form as a browser would; returns the answer (a redirect)."""
    token = login_form_token(client)
    return client.post("/login", data={"username": name, "password": password,
                                       "csrf_token": token}, follow_redirects=False)


def console_client(base_url: str, name: str, password: str, **options) -> httpx.Client:
    """An ``httpx.Client`` signed in to the console at ``base_url``.

    :raises PermissionDenied: the console refused the sign-in (the message says why).
    """
    client = httpx.Client(base_url=base_url, follow_redirects=False,
                          timeout=options.pop("timeout", 30), **options)
    answer = sign_in(client, name, password)
    if "siyu_session" not in client.cookies:
        client.close()
        location = answer.headers.get("location", "")
        raise PermissionDenied(f"the console refused the sign-in of {name!r} ({location})")
    return client
