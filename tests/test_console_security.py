"""The console's sessions, sign-in and cookies, attacked over real HTTP and websockets.

Each test reproduces a way in that worked before siyu kept its own signed sessions: Panel's
``is_guest`` cookie, forged Bokeh session tokens, brute-forced passwords, a blocked event loop,
cross-site login posts, a secret readable from the database, a lost sign-in after sign-out.
"""

from __future__ import annotations

import json
import os
import re
import stat
import threading

import httpx
import pytest
import sqlalchemy as sa
from bokeh.util.token import generate_jwt_token, get_session_id, get_token_payload
from tornado.httpclient import HTTPRequest
from tornado.ioloop import IOLoop
from tornado.websocket import websocket_connect

import siyu
from siyu.apps.console_client import console_client, login_form_token, sign_in
from siyu.apps.server import serve_in_background
from siyu.core.errors import ConfigError, RateLimited, ValidationError
from siyu.core.secret_key import load_secret, secret_path
from siyu.storage.models import User

PASSWORDS = {"ada": "ada-password", "otto": "otto-password", "ana": "ana-password"}


def _serve(url: str):
    ws = siyu.open(url, load_entry_points=False)
    for name, role in (("ada", "admin"), ("otto", "operator"), ("ana", "analyst")):
        ws.users.add(name, role, PASSWORDS[name])
    with serve_in_background(ws, secret="a-test-secret-of-at-least-32-characters") as server:
        yield ws, server.url
    ws.close()


@pytest.fixture
def console(db_url):
    """A console on each engine, in a thread, with an admin, an operator and an analyst
    (for what the database keeps: users, sessions, locks)."""
    yield from _serve(db_url)


@pytest.fixture
def web(tmp_path):
    """The same console on SQLite only, for what happens in HTTP and websockets alone."""
    yield from _serve(f"sqlite:///{tmp_path / 'web.db'}")


def signed_in(base: str, name: str) -> httpx.Client:
    return console_client(base, name, PASSWORDS[name])


def page_token(client: httpx.Client, page: str) -> str:
    """The Bokeh session token embedded in a console page."""
    answer = client.get(f"/{page}")
    assert answer.status_code == 200, answer.status_code
    return re.search(r'"token":"([^"]+)"', answer.text).group(1)


# -- 1. Panel's guest cookie ---------------------------------------------------------------

def test_a_user_cannot_be_named_guest(ws):
    with pytest.raises(ValidationError, match="reserved"):
        ws.users.add("guest", "admin", "guest-password")


def test_is_guest_cookie_does_not_make_an_analyst_a_guest_admin(console):
    ws, base = console
    # A user called "guest" from before names were reserved, with the admin role.
    with ws.engine.begin() as conn:
        conn.execute(sa.insert(User.__table__).values(
            name="guest", role="admin", password_hash="x", disabled=False, failed_logins=0,
            created_at=sa.func.now()))
    analyst = signed_in(base, "ana")
    analyst.cookies.set("is_guest", "1")
    assert analyst.get("/audit", follow_redirects=True).status_code == 403
    assert analyst.get("/wecom", follow_redirects=True).status_code in (403, 404)
    assert analyst.get("/overview").status_code == 200


def test_is_guest_cookie_alone_is_sent_to_login(web):
    _, base = web
    with httpx.Client(base_url=base, cookies={"is_guest": "1"}) as anonymous:
        answer = anonymous.get("/audit", follow_redirects=False)
    assert answer.status_code == 302 and "login" in answer.headers["location"]


# -- 2. forged Bokeh session tokens and websocket origins -----------------------------------

def _open_websocket(base: str, token: str, cookie: str, origin: str | None = None):
    """Open the page websocket with ``token``; the first message, or ``None`` when the
    server closed the connection (or the exception the handshake raised)."""
    port = base.rsplit(":", 1)[1]
    headers = {"Cookie": cookie, "Origin": origin or base}

    async def talk():
        request = HTTPRequest(f"ws://127.0.0.1:{port}/overview/ws", headers=headers)
        try:
            conn = await websocket_connect(request, subprotocols=["bokeh", token])
        except Exception as exc:  # noqa: BLE001 - the refusal is the result
            return exc
        first = await conn.read_message()
        conn.close()
        return first

    # A thread of its own: another test (Playwright) may leave an event loop running here.
    outcome: list = []
    worker = threading.Thread(target=lambda: outcome.append(
        IOLoop(make_current=False).run_sync(talk, timeout=30)))
    worker.start()
    worker.join(60)
    return outcome[0]


def _cookie_header(client: httpx.Client) -> str:
    return "; ".join(f"{name}={value}" for name, value in client.cookies.items())


def test_a_genuine_session_token_opens_the_websocket(web):
    _, base = web
    analyst = signed_in(base, "ana")
    first = _open_websocket(base, page_token(analyst, "overview"), _cookie_header(analyst))
    assert isinstance(first, str) and '"msgtype":"ACK"' in first.replace(" ", "")


def test_a_token_carrying_another_users_cookie_is_refused(web):
    _, base = web
    analyst, admin = signed_in(base, "ana"), signed_in(base, "ada")
    genuine = page_token(analyst, "overview")
    payload = get_token_payload(genuine)
    payload["cookies"] = {"siyu_session": admin.cookies["siyu_session"]}
    payload.pop("session_expiry", None)
    forged = generate_jwt_token(get_session_id(genuine), secret_key=None, signed=False,
                                extra_payload=payload)
    first = _open_websocket(base, forged, _cookie_header(analyst))
    assert first is None or isinstance(first, Exception)


def test_a_websocket_from_another_origin_is_refused(web):
    _, base = web
    analyst = signed_in(base, "ana")
    outcome = _open_websocket(base, page_token(analyst, "overview"), _cookie_header(analyst),
                              origin="http://evil.example")
    assert outcome is None or isinstance(outcome, Exception)


def test_a_page_built_after_sign_out_shows_no_data(console):
    ws, base = console
    from siyu.apps.auth import ConsoleSecurity, document_principal

    analyst = signed_in(base, "ana")
    cookie = analyst.cookies["siyu_session"]
    security = ConsoleSecurity(secret="a-test-secret-of-at-least-32-characters")
    analyst.get("/logout")

    class Request:
        cookies = {"siyu_session": cookie}

    class Context:
        request = Request()

    class Doc:
        session_context = Context()

    from panel.io.state import set_curdoc

    with set_curdoc(Doc()):
        assert document_principal(ws, security) is None


# -- 5. brute force and the event loop -----------------------------------------------------

def test_five_wrong_passwords_lock_the_user_with_a_clear_message(console):
    ws, base = console
    with httpx.Client(base_url=base) as client:
        for _ in range(5):
            sign_in(client, "otto", "wrong-password")
        answer = sign_in(client, "otto", PASSWORDS["otto"])
        assert "siyu_session" not in client.cookies
        assert "error=locked" in answer.headers["location"]
        page = client.get(answer.headers["location"]).text
    assert "Too many failed sign-ins" in page
    with pytest.raises(RateLimited):
        ws.users.authenticate("otto", PASSWORDS["otto"])
    ws.users.unlock("otto")
    assert ws.users.authenticate("otto", PASSWORDS["otto"]) is not None


def test_unknown_names_lock_like_real_ones(web):
    _, base = web
    with httpx.Client(base_url=base) as client:
        for _ in range(5):
            sign_in(client, "nobody", "wrong-password")
        answer = sign_in(client, "nobody", "wrong-password")
    assert "error=locked" in answer.headers["location"]


def test_one_address_is_throttled_across_names(web):
    _, base = web
    with httpx.Client(base_url=base) as client:
        for n in range(20):
            sign_in(client, f"probe{n}", "wrong-password")
        answer = sign_in(client, "ada", PASSWORDS["ada"])
    assert "error=locked" in answer.headers["location"]


def test_password_hashing_does_not_block_the_server(web, monkeypatch):
    import siyu.core.services.users as users

    _, base = web
    entered, release = threading.Event(), threading.Event()
    real = users.verify_password

    def slow_verify(password, stored):
        entered.set()
        release.wait(30)
        return real(password, stored)

    monkeypatch.setattr(users, "verify_password", slow_verify)
    client = httpx.Client(base_url=base, timeout=60)
    token = login_form_token(client)
    worker = threading.Thread(target=lambda: client.post(
        "/login", data={"username": "ada", "password": "x", "csrf_token": token}))
    worker.start()
    try:
        assert entered.wait(30)
        # The sign-in is stuck inside the password check; the server still answers.
        assert httpx.get(f"{base}/health", timeout=10).status_code == 200
    finally:
        release.set()
        worker.join(30)


# -- 7. cookies and CSRF -------------------------------------------------------------------

def test_session_cookie_is_httponly_and_samesite(web):
    _, base = web
    with httpx.Client(base_url=base) as client:
        answer = sign_in(client, "ada", PASSWORDS["ada"])
    cookie = next(h for h in answer.headers.get_list("set-cookie")
                  if h.startswith("siyu_session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


def test_login_without_the_form_token_is_refused(web):
    _, base = web
    with httpx.Client(base_url=base) as client:
        client.get("/login")
        missing = client.post("/login", data={"username": "ada",
                                              "password": PASSWORDS["ada"]})
        wrong = client.post("/login", data={"username": "ada", "password": PASSWORDS["ada"],
                                            "csrf_token": "guessed"})
        assert "siyu_session" not in client.cookies
    assert "error=csrf" in missing.headers["location"]
    assert "error=csrf" in wrong.headers["location"]


@pytest.mark.parametrize("options, headers, secure", [
    ({"secure_cookies": True}, {}, True),
    ({"trust_proxy": True}, {"X-Forwarded-Proto": "https"}, True),
    ({}, {"X-Forwarded-Proto": "https"}, False),
])
def test_secure_cookies_behind_https(tmp_path, options, headers, secure):
    ws = siyu.open(tmp_path / "c.db", load_entry_points=False)
    ws.users.add("ada", "admin", PASSWORDS["ada"])
    with serve_in_background(ws, secret="x" * 40, **options) as server, \
            httpx.Client(base_url=server.url, headers=headers) as client:
        # Over plain HTTP a client keeps Secure cookies to itself: send the form's cookie
        # by hand, as the proxy's HTTPS leg would.
        form = client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
        answer = client.post("/login", headers={"Cookie": f"siyu_csrf={token}"},
                             data={"username": "ada", "password": PASSWORDS["ada"],
                                   "csrf_token": token})
        cookie = next(h for h in answer.headers.get_list("set-cookie")
                      if h.startswith("siyu_session="))
    ws.close()
    assert ("Secure" in cookie) is secure


def test_login_redirects_only_to_this_server(web):
    _, base = web
    with httpx.Client(base_url=base) as client:
        client.get("/login", params={"next": "https://evil.example/"})
        answer = sign_in(client, "ada", PASSWORDS["ada"])
    assert answer.headers["location"] == "/"


def test_login_page_does_not_echo_what_the_url_says(web):
    _, base = web
    page = httpx.get(f"{base}/login", params={"error": "<script>alert(1)</script>"}).text
    assert "<script>alert(1)" not in page


# -- 8. the secret -------------------------------------------------------------------------

def test_the_secret_is_not_in_the_database(console):
    ws, base = console
    signed_in(base, "ada")
    assert not [key for key in ws.settings.all() if "secret" in key]


def test_secret_file_is_private_and_made_once(tmp_path, monkeypatch):
    monkeypatch.delenv("SIYU_SECRET_KEY", raising=False)
    monkeypatch.delenv("SIYU_SECRET_FILE", raising=False)
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    first = load_secret(url)
    path = secret_path(url)
    assert path == tmp_path / "shop.db.secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_secret(url) == first and len(first) >= 32
    os.chmod(path, 0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        load_secret(url)


def test_secret_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("SIYU_SECRET_KEY", "k" * 40)
    assert load_secret(f"sqlite:///{tmp_path / 'x.db'}") == "k" * 40
    assert not (tmp_path / "x.db.secret").exists()
    monkeypatch.setenv("SIYU_SECRET_KEY", "short")
    with pytest.raises(ConfigError, match="at least 32"):
        load_secret(f"sqlite:///{tmp_path / 'x.db'}")


def test_upgrade_removes_a_secret_kept_in_settings(db_url):
    from alembic import command

    from siyu.storage.migrate import alembic_config

    siyu.open(db_url, load_entry_points=False).close()
    engine = sa.create_engine(db_url)
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0004_audit_search_index")
        conn.execute(sa.text("INSERT INTO setting (key, value) VALUES "
                             "('console.cookie_secret', '\"old\"'), ('name', '\"Shop\"')"))
        command.upgrade(alembic_config(conn), "head")
    with engine.connect() as conn:
        keys = {row[0] for row in conn.execute(sa.text("SELECT key FROM setting"))}
    engine.dispose()
    assert "console.cookie_secret" not in keys and "name" in keys


# -- 9. small ones -------------------------------------------------------------------------

def test_signing_in_right_after_signing_out_works(console):
    _, base = console
    for _ in range(3):
        client = signed_in(base, "ana")
        assert client.get("/overview").status_code == 200
        client.get("/logout")
        assert client.get("/overview").status_code == 302
        client = signed_in(base, "ana")
        assert client.get("/overview").status_code == 200


def test_sign_out_ends_copies_of_the_cookie(console):
    _, base = console
    first = signed_in(base, "ana")
    copy = httpx.Client(base_url=base, cookies=dict(first.cookies), follow_redirects=False)
    first.get("/logout")
    assert copy.get("/overview").status_code == 302


def test_a_new_password_ends_old_sessions(console):
    ws, base = console
    client = signed_in(base, "otto")
    ws.users.update("otto", password="a-new-password")
    assert client.get("/overview").status_code == 302


def test_session_rows_keep_only_a_hash(console):
    ws, base = console
    client = signed_in(base, "ana")
    token_cookie = client.cookies["siyu_session"]
    with ws.engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(sa.text("SELECT * FROM console_session"))]
    assert rows and all(token_cookie not in json.dumps(row, default=str) for row in rows)
