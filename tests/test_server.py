"""`siyu serve` over real HTTP: health, login, sessions, roles and plugin routes."""

from __future__ import annotations

import httpx
import pytest

import siyu
from siyu.apps.console_client import sign_in
from siyu.apps.routes import SiyuHandler
from siyu.apps.server import serve_in_background
from siyu.core.records import RouteSpec


class Ping(SiyuHandler):
    def get(self):
        self.finish({"contacts": self.ws.contacts.count(), **self.route_kwargs})


class Routes:
    @siyu.hookimpl
    def register_routes(self, ws):
        return [RouteSpec("ping", r"/api/ping", Ping, kwargs={"hello": "world"}),
                RouteSpec("hook", r"/hook/public", Ping, public=True)]


@pytest.fixture
def console(tmp_path):
    """A console server on a free port, in a thread, with three users."""
    ws = siyu.open(tmp_path / "console.db", plugins=[Routes()], load_entry_points=False)
    for name, role in (("ada", "admin"), ("otto", "operator"), ("ana", "analyst")):
        ws.users.add(name, role, f"{name}-password")
    with serve_in_background(ws, secret="test-secret") as console:
        yield ws, console.url
    ws.close()


def login(base: str, name: str, password: str) -> httpx.Client:
    client = httpx.Client(base_url=base, follow_redirects=False, timeout=30)
    sign_in(client, name, password)
    return client


def test_health_is_public_json(console):
    _, base = console
    answer = httpx.get(f"{base}/health")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok"}


def test_health_tells_a_signed_in_user_more(console):
    _, base = console
    answer = login(base, "ana", "ana-password").get("/health").json()
    assert answer["database"] == "ok" and "version" in answer and "workspace" in answer


def test_wrong_password_and_unknown_user_get_the_same_answer(console):
    _, base = console
    with httpx.Client(base_url=base, follow_redirects=False) as client:
        wrong = sign_in(client, "ada", "nope-nope")
        unknown = sign_in(client, "who", "nope-nope")
    assert wrong.status_code == unknown.status_code == 302
    assert wrong.headers["location"] == unknown.headers["location"]
    assert "error=" in wrong.headers["location"]
    assert "siyu_session" not in wrong.cookies


def test_login_sets_a_session_and_lands_on_a_page(console):
    ws, base = console
    client = login(base, "ada", "ada-password")
    assert "siyu_session" in client.cookies
    root = client.get("/")
    assert root.status_code == 302 and root.headers["location"].startswith("/")
    assert ws.audit_log.df(action="user.login")["actor"].tolist() == ["ada"]


def test_forged_cookie_is_sent_to_login(console):
    _, base = console
    with httpx.Client(base_url=base, follow_redirects=False,
                      cookies={"siyu_session": "2|1:0|10:1795642019|12:siyu_session|8:YWRh|"
                                               "deadbeef"}) as c:
        answer = c.get("/overview")
    assert answer.status_code == 302 and "login" in answer.headers["location"]


def test_disabled_user_loses_the_session(console):
    ws, base = console
    client = login(base, "otto", "otto-password")
    ws.users.update("otto", disabled=True)
    assert client.get("/api/ping").status_code == 401


def test_plugin_routes_need_a_login_unless_public(console):
    _, base = console
    assert httpx.get(f"{base}/api/ping").status_code == 401
    assert httpx.get(f"{base}/hook/public").status_code == 200
    client = login(base, "ana", "ana-password")
    answer = client.get("/api/ping")
    assert answer.status_code == 200 and answer.json() == {"contacts": 0, "hello": "world"}


def test_a_page_the_role_may_not_open_answers_403(console):
    ws, base = console
    if "audit" not in ws.pages():
        pytest.skip("no audit page registered")
    client = login(base, "ana", "ana-password")
    answer = client.get("/audit", follow_redirects=True)
    assert answer.status_code == 403
    assert answer.url.path == "/denied"
    assert "Traceback" not in answer.text
    # siyu's own page: which page, which role has access, the user's own role.
    assert "You do not have access to this page" in answer.text
    assert "Audit log" in answer.text and "Administrator" in answer.text
    assert "ana" in answer.text and "Analyst" in answer.text
    assert "Operator" not in answer.text.split("roles that have it")[1].split(".")[0]


def test_the_no_access_page_speaks_the_users_language(console):
    ws, base = console
    if "audit" not in ws.pages():
        pytest.skip("no audit page registered")
    ws.users.set_language("ana", "zh_CN")
    client = login(base, "ana", "ana-password")
    answer = client.get("/audit", follow_redirects=True)
    assert answer.status_code == 403
    assert "你无权访问此页面" in answer.text and "管理员" in answer.text
    assert 'lang="zh-CN"' in answer.text


def test_the_language_chosen_on_the_sign_in_page_becomes_the_users(console):
    ws, base = console
    with httpx.Client(base_url=base, follow_redirects=False, timeout=30) as client:
        page = client.get("/login?lang=zh_CN")
        assert 'lang="zh-CN"' in page.text and "用户名" in page.text
        assert 'hreflang="en"' in page.text  # a link to the English form
        sign_in(client, "ana", "ana-password")
    assert ws.users.get("ana").language == "zh_CN"
    # A user who already chose keeps their choice; signing in in English changes nothing
    # for a workspace already speaking English.
    with httpx.Client(base_url=base, follow_redirects=False, timeout=30) as client:
        assert "User name" in client.get("/login?lang=en").text
        sign_in(client, "ana", "ana-password")
    assert ws.users.get("ana").language == "zh_CN"


def test_the_no_access_page_sends_strangers_to_the_login(console):
    _, base = console
    answer = httpx.get(f"{base}/denied?page=audit")
    assert answer.status_code == 302 and answer.headers["location"].startswith("/login")


def test_unknown_route_is_404_without_traceback(console):
    _, base = console
    client = login(base, "ada", "ada-password")
    answer = client.get("/no/such/page")
    assert answer.status_code == 404 and "Traceback" not in answer.text
