"""WeCom API client: tokens, retries, errors, validation and the typed endpoint methods.

Most behaviour is checked against the WeCom sandbox over real loopback HTTP (the ``sandbox``
tests at the end). A few fault sequences are scripted with :class:`httpx.MockTransport`
instead, because a real server cannot produce them on demand or the test must see exactly what
went over the wire: a gettoken held open until every other thread waits on it and then
failing, a connection refused before the request left, a ``Retry-After`` header, non-JSON
answers, the exact URL and body sent, what httpx logs, and requests that must never be sent.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable

import httpx
import pytest

from siyu.core.errors import SiyuError, ValidationError
from siyu.plugins.wecom import client as client_mod
from siyu.plugins.wecom.client import TokenCache, WeComClient
from siyu.plugins.wecom.errors import (
    ERRCODES,
    WeComError,
    WeComTransportError,
    explain,
)

SECRET = "s3cr3t-app-secret-value"
CORP = "wwcorp0001"


class Script:
    """A scripted WeCom: ``gettoken`` answers from ``tokens``, other paths from ``answers``.

    Each answer is a dict (JSON), an int (HTTP status), an exception instance (raised) or a
    callable ``request -> httpx.Response``. The last answer of a list repeats.
    """

    def __init__(self, answers: dict[str, list] | None = None, tokens: list | None = None):
        self.answers = answers or {}
        self.tokens = tokens or [{"errcode": 0, "access_token": "TOKEN-1", "expires_in": 7200}]
        self.requests: list[httpx.Request] = []
        self.lock = threading.Lock()

    def calls(self, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path == f"/cgi-bin/{path}"]

    def _next(self, queue: list):
        return queue.pop(0) if len(queue) > 1 else queue[0]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            self.requests.append(request)
            path = request.url.path.removeprefix("/cgi-bin/")
            answer = self._next(self.tokens if path == "gettoken" else self.answers[path])
        if callable(answer) and not isinstance(answer, BaseException):
            return answer(request)
        if isinstance(answer, BaseException):
            raise answer
        if isinstance(answer, int):
            return httpx.Response(answer, text="upstream trouble")
        return httpx.Response(200, json={"errcode": 0, "errmsg": "ok", **answer}
                              if "errcode" not in answer else answer)


def make(script: Script, **kwargs) -> tuple[WeComClient, list[float]]:
    delays: list[float] = []
    kwargs.setdefault("backoff", 0.01)
    kwargs.setdefault("max_retries", 3)
    client = WeComClient(CORP, SECRET, base_url="https://qyapi.example",
                         transport=httpx.MockTransport(script), sleep=delays.append, **kwargs)
    return client, delays


def err(code: int, msg: str = "error") -> dict:
    return {"errcode": code, "errmsg": msg}


def no_http(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"nothing should be sent, got {request.method} {request.url.path}")


# -- errors module ---------------------------------------------------------------------------

REFERENCE_CODES = [-1, 0, 40001, 40003, 40013, 40014, 40056, 40058, 40063, 40068, 40071, 40096,
                   40097, 40098, 40099, 40100, 41001, 41004, 41035, 41037, 41038, 41039, 41040,
                   41041, 41042, 41043, 41044, 41045, 41046, 41047, 41048, 41049, 41050, 41051,
                   41053, 41054, 41056, 41063, 41064, 41065, 41088, 41091, 41093, 41094, 41096,
                   42001, 45001, 45009, 45033, 48002, 60011, 60020, 60111, 81017, 84061, 701008]


def test_errcodes_cover_every_code_of_the_reference():
    assert sorted(ERRCODES) == sorted(REFERENCE_CODES)


@pytest.mark.parametrize("code, words", [
    (60020, "trusted IP"), (48002, "可调用应用"), (40001, "Secret"), (41054, "activate"),
    (60011, "visible range"), (41050, "20"), (41051, "already"), (41041, "100"),
    (41091, "5"),
])
def test_operator_facing_codes_carry_a_fix(code, words):
    assert ERRCODES[code].fix and words in ERRCODES[code].fix + ERRCODES[code].meaning
    assert "fix:" in explain(code)


def test_explain_unknown_code_points_to_the_lookup_page():
    assert "devtool/query?e=12345" in explain(12345)


def test_wecom_error_message_names_endpoint_code_message_and_hint():
    e = WeComError(40014, "invalid access_token", "externalcontact/get")
    assert str(e).startswith("WeCom externalcontact/get failed: 40014 invalid access_token (")
    assert (e.errcode, e.errmsg, e.endpoint) == (40014, "invalid access_token",
                                                 "externalcontact/get")
    assert isinstance(e, SiyuError)


# -- token handling (scripted) ---------------------------------------------------------------

def test_token_is_fetched_once_and_reused():
    script = Script({"externalcontact/get_follow_user_list": [{"follow_user": ["a"]}]})
    c, _ = make(script)
    assert c.get_follow_user_list() == ["a"]
    assert c.get_follow_user_list() == ["a"]
    assert c.token_fetches == 1
    sent = script.calls("externalcontact/get_follow_user_list")[0]
    assert sent.url.params["access_token"] == "TOKEN-1"
    gettoken = script.calls("gettoken")[0]
    assert (gettoken.url.params["corpid"], gettoken.url.params["corpsecret"]) == (CORP, SECRET)


def test_bad_secret_from_gettoken_raises_at_once_without_retry():
    script = Script({"getcallbackip": [{"ip_list": []}]},
                    tokens=[err(40001, "invalid credential")])
    c, delays = make(script)
    with pytest.raises(WeComError) as exc:
        c.get_callback_ip()
    assert exc.value.errcode == 40001 and exc.value.endpoint == "gettoken"
    assert "Secret" in str(exc.value)
    assert len(script.calls("gettoken")) == 1 and delays == []
    assert script.calls("getcallbackip") == []


def test_waiting_threads_share_a_failing_gettoken():
    # scripted: the one fetch must still be in flight when the other 19 threads arrive
    gate = threading.Event()

    def slow_failure(request):
        gate.wait(5)
        return httpx.Response(200, json=err(40001, "invalid credential"))

    script = Script({"getcallbackip": [{"ip_list": []}]}, tokens=[slow_failure])
    c, _ = make(script)
    errors: list[BaseException] = []

    def call():
        try:
            c.get_callback_ip()
        except WeComError as e:
            errors.append(e)

    threads = [threading.Thread(target=call) for _ in range(20)]
    for t in threads:
        t.start()
    time.sleep(0.2)
    gate.set()
    for t in threads:
        t.join(10)
    assert len(errors) == 20 and all(e.errcode == 40001 for e in errors)
    assert c.token_fetches == 1


@pytest.mark.parametrize("code", [40014, 42001, 40001])
def test_rejected_token_is_refreshed_and_the_call_repeated_once(code):
    script = Script({"getcallbackip": [err(code), {"ip_list": ["1.2.3.4"]}]},
                    tokens=[{"access_token": "OLD", "expires_in": 7200},
                            {"access_token": "NEW", "expires_in": 7200}])
    c, delays = make(script)
    assert c.get_callback_ip() == ["1.2.3.4"]
    used = [r.url.params["access_token"] for r in script.calls("getcallbackip")]
    assert used == ["OLD", "NEW"] and c.token_fetches == 2 and delays == []


def test_token_rejected_twice_raises():
    script = Script({"getcallbackip": [err(40014, "invalid access_token")]},
                    tokens=[{"access_token": "A", "expires_in": 7200},
                            {"access_token": "B", "expires_in": 7200}])
    c, _ = make(script)
    with pytest.raises(WeComError) as exc:
        c.get_callback_ip()
    assert exc.value.errcode == 40014
    assert len(script.calls("getcallbackip")) == 2


def test_token_is_refreshed_shortly_before_it_expires(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(client_mod.time, "monotonic", lambda: clock[0])
    script = Script({"getcallbackip": [{"ip_list": []}]},
                    tokens=[{"access_token": "A", "expires_in": 7200},
                            {"access_token": "B", "expires_in": 7200}])
    c, _ = make(script)
    c.get_callback_ip()
    clock[0] += 7200 - 301  # still more than 5 minutes left
    c.get_callback_ip()
    assert c.token_fetches == 1
    clock[0] += 2  # inside the last 5 minutes: refresh now rather than fail later
    c.get_callback_ip()
    assert c.token_fetches == 2
    assert script.calls("getcallbackip")[-1].url.params["access_token"] == "B"


def test_clients_sharing_a_token_cache_share_the_token():
    cache = TokenCache()
    script = Script({"getcallbackip": [{"ip_list": []}]})
    a, _ = make(script, token_cache=cache)
    b, _ = make(script, token_cache=cache)
    a.get_callback_ip()
    b.get_callback_ip()
    assert len(script.calls("gettoken")) == 1


# -- retries (scripted) ----------------------------------------------------------------------

@pytest.mark.parametrize("code", [-1, 45009, 45033])
def test_busy_and_rate_limit_codes_back_off_then_succeed(code):
    script = Script({"getcallbackip": [err(code), err(code), {"ip_list": ["x"]}]})
    c, delays = make(script, backoff=0.1)
    assert c.get_callback_ip() == ["x"]
    assert len(delays) == 2
    assert 0.05 <= delays[0] <= 0.1 and 0.1 <= delays[1] <= 0.2  # doubled, jittered


def test_retries_stop_after_max_retries():
    script = Script({"getcallbackip": [err(45009, "api freq out of limit")]})
    c, delays = make(script)
    with pytest.raises(WeComError) as exc:
        c.get_callback_ip()
    assert exc.value.errcode == 45009
    assert len(script.calls("getcallbackip")) == 4 and len(delays) == 3


def test_backoff_is_capped():
    script = Script({"getcallbackip": [err(-1)]})
    c, delays = make(script, backoff=1.0, max_backoff=1.5, max_retries=5)
    with pytest.raises(WeComError):
        c.get_callback_ip()
    assert max(delays) <= 1.5


def test_retry_after_header_is_honoured():
    script = Script({"getcallbackip": [
        lambda r: httpx.Response(503, headers={"Retry-After": "2"}), {"ip_list": []}]})
    c, delays = make(script)
    c.get_callback_ip()
    assert delays == [2.0]


def test_persistent_5xx_becomes_a_transport_error():
    script = Script({"getcallbackip": [502]})
    c, _ = make(script)
    with pytest.raises(WeComTransportError) as exc:
        c.get_callback_ip()
    assert exc.value.errcode is None and "HTTP 502" in str(exc.value)
    assert len(script.calls("getcallbackip")) == 4


def test_non_json_answer_is_retried_then_reported():
    script = Script({"getcallbackip": [lambda r: httpx.Response(200, text="<html>")]})
    c, _ = make(script, max_retries=1)
    with pytest.raises(WeComTransportError, match="not a JSON object"):
        c.get_callback_ip()


def test_connection_refused_on_a_create_is_retried():
    script = Script({"externalcontact/add_msg_template": [
        httpx.ConnectError("refused"), {"msgid": "m1", "fail_list": []}]})
    c, delays = make(script)
    assert c.add_msg_template(sender="zhangsan", text="hello")["msgid"] == "m1"
    assert len(delays) == 1


def test_read_timeout_on_a_read_is_retried():
    script = Script({"getcallbackip": [httpx.ReadTimeout("timed out"), {"ip_list": ["y"]}]})
    c, _ = make(script)
    assert c.get_callback_ip() == ["y"]


def test_http_timeout_is_set_from_the_client_timeout():
    seen = {}

    def record(request):
        seen.update(request.extensions["timeout"])
        return httpx.Response(200, json={"errcode": 0, "ip_list": []})

    script = Script({"getcallbackip": [record]})
    c, _ = make(script, timeout=2.5)
    c.get_callback_ip()
    assert seen == {"connect": 2.5, "read": 2.5, "write": 2.5, "pool": 2.5}


# -- secrets stay out of logs ----------------------------------------------------------------

def test_secret_and_token_never_reach_the_logs(caplog):
    caplog.set_level(logging.DEBUG)
    script = Script({"getcallbackip": [err(40014), err(-1), {"ip_list": []}]},
                    tokens=[{"access_token": "TOKEN-AAAA", "expires_in": 7200},
                            {"access_token": "TOKEN-BBBB", "expires_in": 7200}])
    c, _ = make(script)
    c.get_callback_ip()
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "HTTP Request" in text  # httpx did log the requests…
    for secret in (SECRET, "TOKEN-AAAA", "TOKEN-BBBB"):  # …but without credentials
        assert secret not in text
    assert SECRET not in repr(c)


# -- local validation (nothing is sent) ------------------------------------------------------

@pytest.fixture
def offline() -> WeComClient:
    return WeComClient(CORP, SECRET, transport=httpx.MockTransport(no_http))


@pytest.mark.parametrize("call, words", [
    (lambda c: c.add_contact_way(1, 2, state="s" * 31, user=["a"]), "state 'sss"),
    (lambda c: c.add_contact_way(2, 2, user=[f"u{i}" for i in range(101)]), "user has 101"),
    (lambda c: c.add_contact_way(1, 2, user=["a", "b"]), "exactly one user"),
    (lambda c: c.add_contact_way(3, 2, user=["a"]), "type 3"),
    (lambda c: c.update_contact_way("cfg", state="x" * 40), "at most 30"),
    (lambda c: c.add_msg_template(external_userid=[f"wm{i}" for i in range(10_001)], text="hi"),
     "10,000"),
    (lambda c: c.add_msg_template(sender="a"), "text or attachments"),
    (lambda c: c.add_msg_template(chat_type="group", chat_id_list=["wr1"], text="hi"),
     "needs sender"),
    (lambda c: c.send_welcome_msg("code", text="x" * 4001), "4001 bytes"),
    (lambda c: c.send_welcome_msg("code", attachments=[{}] * 10), "attachments has 10"),
    (lambda c: c.add_join_way(2, [f"wr{i}" for i in range(6)]), "chat_id_list has 6"),
    (lambda c: c.add_join_way(2, ["wr1"], state="s" * 31), "state"),
    (lambda c: c.update_join_way("cfg", 2, []), "chat_id_list is empty"),
    (lambda c: c.transfer_customer("a", "b", [f"wm{i}" for i in range(101)]),
     "external_userid has 101"),
    (lambda c: c.transfer_customer("a", "b", ["wm1"], transfer_success_msg="x" * 201), "200"),
    (lambda c: c.resigned_transfer_customer("a", "b", [f"wm{i}" for i in range(101)]), "100"),
    (lambda c: c.batch_get_by_user([f"u{i}" for i in range(101)]), "userid_list has 101"),
    (lambda c: c.groupchat_list(limit=0), "limit 0"),
    (lambda c: c.mark_tag("u", "wm1"), "add_tag or remove_tag"),
    (lambda c: c.del_corp_tag(), "tag_id or group_id"),
    (lambda c: c.add_corp_tag([{"name": "n" * 31}], group_name="g"), "tag name"),
])
def test_documented_limits_are_checked_before_sending(offline, call: Callable, words):
    with pytest.raises(ValidationError) as exc:
        call(offline)
    assert words in str(exc.value)


def test_missing_credentials_are_refused():
    with pytest.raises(ValidationError):
        WeComClient(CORP, "")


# -- request shapes (scripted, to see the exact body) ----------------------------------------

def test_none_fields_are_left_out_and_plain_text_is_wrapped():
    script = Script({"externalcontact/send_welcome_msg": [{}]})
    c, _ = make(script)
    c.send_welcome_msg("CODE", text="hello")
    body = json.loads(script.calls("externalcontact/send_welcome_msg")[0].content)
    assert body == {"welcome_code": "CODE", "text": {"content": "hello"}}


def test_get_external_contact_merges_follow_user_pages():
    script = Script({"externalcontact/get": [
        {"external_contact": {"external_userid": "wm1"}, "follow_user": [{"userid": "a"}],
         "next_cursor": "C1"},
        {"external_contact": {"external_userid": "wm1"}, "follow_user": [{"userid": "b"}],
         "next_cursor": ""},
    ]})
    c, _ = make(script)
    data = c.get_external_contact("wm1")
    assert [f["userid"] for f in data["follow_user"]] == ["a", "b"]
    assert "next_cursor" not in data
    assert script.calls("externalcontact/get")[1].url.params["cursor"] == "C1"


def test_context_manager_closes_the_client():
    with WeComClient(CORP, SECRET, transport=httpx.MockTransport(no_http)) as c:
        pass
    assert c._http.is_closed


# == against the sandbox (real HTTP over loopback) ==========================================

sandbox_mod = pytest.importorskip("siyu.plugins.wecom.sandbox")
Sandbox, Limits = sandbox_mod.Sandbox, sandbox_mod.Limits


@pytest.fixture
def sandbox():
    with Sandbox(seed=7) as sb:
        yield sb


def connect(sb, **kwargs) -> tuple[WeComClient, list[float]]:
    delays: list[float] = kwargs.pop("delays", [])
    kwargs.setdefault("sleep", delays.append)
    kwargs.setdefault("backoff", 0.01)
    return WeComClient(sb.corp_id, sb.secret, base_url=sb.base_url, **kwargs), delays


@pytest.fixture
def api(sandbox):
    client, _ = connect(sandbox)
    with client:
        yield client


def run_threads(n: int, target: Callable[[], object]) -> list[object]:
    results: list[object] = [None] * n
    barrier = threading.Barrier(n)

    def work(i: int) -> None:
        barrier.wait()
        try:
            results[i] = target()
        except Exception as exc:  # noqa: BLE001 - reported through the results
            results[i] = exc

    threads = [threading.Thread(target=work, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


# -- tokens ----------------------------------------------------------------------------------

def test_fifty_concurrent_callers_share_one_gettoken(sandbox):
    sandbox.faults.set(latency=0.2)  # every answer, gettoken included, takes a while
    client, _ = connect(sandbox)
    with client:
        results = run_threads(50, client.get_follow_user_list)
    assert all(r == ["zhangsan", "lisi", "wangwu"] for r in results), results
    assert client.token_fetches == 1


def test_early_revocation_is_one_transparent_retry(sandbox, api):
    api.get_follow_user_list()
    first = api.access_token()
    assert sandbox.faults.revoke_tokens() == 1
    assert api.get_follow_user_list() == ["zhangsan", "lisi", "wangwu"]
    assert api.token_fetches == 2 and api.access_token() != first


def test_revocation_under_concurrency_refreshes_once(sandbox, api):
    api.get_follow_user_list()
    sandbox.faults.revoke_tokens()
    results = run_threads(30, api.get_callback_ip)
    assert all(r == ["127.0.0.1"] for r in results), results
    assert api.token_fetches == 2


def test_token_expired_on_the_server_clock_is_refetched(sandbox, api):
    api.get_callback_ip()
    sandbox.clock.advance(7200)  # WeCom says 42001; our own clock did not move
    assert api.get_callback_ip() == ["127.0.0.1"]
    assert api.token_fetches == 2


def test_tokens_revoked_soon_after_issue_keep_working(sandbox, api):
    sandbox.faults.set(revoke_after=60)
    api.get_callback_ip()
    sandbox.clock.advance(61)
    assert api.get_callback_ip() == ["127.0.0.1"]
    assert api.token_fetches == 2


def test_wrong_secret_fails_at_gettoken_without_retry(sandbox):
    client = WeComClient(sandbox.corp_id, "not-the-secret", base_url=sandbox.base_url,
                         sleep=lambda d: pytest.fail("a bad secret must not be retried"))
    with client, pytest.raises(WeComError) as exc:
        client.get_follow_user_list()
    assert (exc.value.errcode, exc.value.endpoint) == (40001, "gettoken")
    assert client.token_fetches == 1


# -- retries ---------------------------------------------------------------------------------

def test_rate_limit_backs_off_then_succeeds(sandbox):
    sandbox.world.limits.api_per_minute = 3
    delays: list[float] = []

    def wait(seconds: float) -> None:  # sleeping lets the sandbox's 60 s block run out
        delays.append(seconds)
        sandbox.clock.advance(61)

    client, _ = connect(sandbox, sleep=wait)
    with client:
        for _ in range(3):
            client.get_follow_user_list()
        assert client.get_follow_user_list() == ["zhangsan", "lisi", "wangwu"]
    assert len(delays) == 1 and 0 < delays[0] <= client.max_backoff


def test_rate_limit_that_outlasts_the_retries_is_reported(sandbox, api):
    sandbox.world.limits.api_per_minute = 1
    api.get_follow_user_list()
    with pytest.raises(WeComError) as exc:
        api.get_follow_user_list()
    assert exc.value.errcode == 45009
    assert "api_per_minute" not in str(exc.value) and "frequency" in str(exc.value)


def test_system_busy_is_retried(sandbox):
    sandbox.faults.set(busy_rate=0.5)
    client, delays = connect(sandbox, max_retries=8)
    with client:
        for _ in range(10):
            assert client.get_follow_user_list() == ["zhangsan", "lisi", "wangwu"]
    assert sandbox.faults.injected["busy"] > 0 and len(delays) == sandbox.faults.injected["busy"]


def test_5xx_answers_are_retried(sandbox):
    sandbox.faults.set(error_rate=0.5)
    client, delays = connect(sandbox, max_retries=8)
    with client:
        for _ in range(10):
            assert client.get_callback_ip() == ["127.0.0.1"]
    assert sandbox.faults.injected["error"] > 0 and len(delays) >= sandbox.faults.injected["error"]


def test_dropped_connections_are_retried(sandbox):
    sandbox.faults.set(drop_rate=0.5)
    client, _ = connect(sandbox, max_retries=8)
    with client:
        for _ in range(10):
            assert client.get_follow_user_list() == ["zhangsan", "lisi", "wangwu"]
    assert sandbox.faults.injected["drop"] > 0


def test_dropped_create_is_not_repeated(sandbox, api):
    api.access_token()
    before = len(sandbox.world.contact_ways)
    sandbox.faults.set(drop_rate=1.0)
    with pytest.raises(WeComTransportError):
        api.add_contact_way(1, 2, user=["zhangsan"], state="lc:drop")
    assert sandbox.faults.injected["drop"] == 1
    sandbox.faults.reset()
    assert len(sandbox.world.contact_ways) == before


def test_timed_out_create_is_not_repeated(sandbox):
    # the sandbox still creates the code after the client gave up: a retry would make two
    client, delays = connect(sandbox, timeout=0.2)
    client.access_token()
    before = len(sandbox.world.contact_ways)
    sandbox.faults.set(latency=0.5)
    with client, pytest.raises(WeComTransportError, match="ReadTimeout") as exc:
        client.add_contact_way(1, 2, user=["zhangsan"], state="lc:slow")
    assert exc.value.endpoint == "externalcontact/add_contact_way"
    deadline = time.monotonic() + 5
    while len(sandbox.world.contact_ways) == before and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.6)  # long enough for a (wrong) second attempt to land as well
    assert len(sandbox.world.contact_ways) == before + 1 and delays == []


def test_every_attempt_is_bounded_by_the_timeout(sandbox):
    sandbox.faults.set(latency=2.0)
    client, _ = connect(sandbox, timeout=0.2, max_retries=1)
    started = time.monotonic()
    with client, pytest.raises(WeComTransportError) as exc:
        client.get_follow_user_list()
    assert time.monotonic() - started < 1.5
    assert "ReadTimeout" in str(exc.value)


# -- errors ----------------------------------------------------------------------------------

def test_wecom_errors_carry_code_message_and_endpoint(api):
    with pytest.raises(WeComError) as exc:
        api.list_external_contacts("nobody")
    e = exc.value
    assert (e.errcode, e.endpoint) == (60111, "externalcontact/list")
    assert str(e).startswith("WeCom externalcontact/list failed: 60111 ")
    assert "hint" in e.errmsg  # WeCom's own errmsg is kept whole


def test_member_without_permission_explains_the_fix(api):
    with pytest.raises(WeComError) as exc:
        api.add_contact_way(1, 2, user=["zhaoliu"])  # not activated
    assert exc.value.errcode == 41054 and "activate" in str(exc.value)


# -- typed calls round-trip ------------------------------------------------------------------

def test_customers_round_trip(api):
    assert api.get_follow_user_list() == ["zhangsan", "lisi", "wangwu"]
    ids = api.list_external_contacts("zhangsan")
    assert len(ids) == 3
    detail = api.get_external_contact(ids[1])
    assert detail["external_contact"]["external_userid"] == ids[1]
    assert {f["userid"] for f in detail["follow_user"]} == {"zhangsan", "lisi"}
    api.remark("zhangsan", ids[0], remark="老客户", description="常来")
    follow = [f for f in api.get_external_contact(ids[0])["follow_user"]
              if f["userid"] == "zhangsan"][0]
    assert (follow["remark"], follow["description"]) == ("老客户", "常来")
    assert api.convert_to_openid(ids[0]).startswith("oo")
    assert api.get_callback_ip() == ["127.0.0.1"]


def test_follow_user_pages_are_merged(sandbox, api):
    sandbox.world.limits.follow_page_size = 1
    shared = [i for i in api.list_external_contacts("zhangsan")
              if i in api.list_external_contacts("lisi")][0]
    detail = api.get_external_contact(shared)
    assert sorted(f["userid"] for f in detail["follow_user"]) == ["lisi", "zhangsan"]
    assert "next_cursor" not in detail


def test_batch_get_iterator_follows_the_cursor(api):
    expected = len(api.list_external_contacts("zhangsan")) + len(
        api.list_external_contacts("lisi"))
    page = api.batch_get_by_user(["zhangsan", "lisi"], limit=2)
    assert len(page["external_contact_list"]) == 2 and page["next_cursor"]
    rows = list(api.iter_batch_get_by_user(["zhangsan", "lisi"], limit=2))
    assert len(rows) == expected
    assert all({"external_contact", "follow_info"} <= set(r) for r in rows)


def test_contact_way_round_trip(sandbox, api):
    made = api.add_contact_way(2, 2, state="lc:spring", user=["zhangsan", "lisi"],
                               remark="春季海报")
    assert made["config_id"] and made["qr_code"]
    way = api.get_contact_way(made["config_id"])["contact_way"]
    assert (way["state"], way["user"]) == ("lc:spring", ["zhangsan", "lisi"])
    api.update_contact_way(made["config_id"], state="lc:summer", user=["wangwu"])
    way = api.get_contact_way(made["config_id"])["contact_way"]
    assert (way["state"], way["user"]) == ("lc:summer", ["wangwu"])
    now = int(sandbox.clock.now())
    listed = [w["config_id"] for w in api.list_contact_way(
        start_time=now - 3600, end_time=now + 60, limit=100)["contact_way"]]
    assert made["config_id"] in listed
    api.del_contact_way(made["config_id"])
    with pytest.raises(WeComError):
        api.get_contact_way(made["config_id"])


def test_welcome_message_uses_the_code_once(sandbox, api):
    way = api.add_contact_way(1, 2, user=["wangwu"], state="lc:welcome")
    outcome = sandbox.people.scan_contact_way(way["config_id"])
    api.send_welcome_msg(outcome.welcome_code, text="欢迎！")
    with pytest.raises(WeComError) as exc:
        api.send_welcome_msg(outcome.welcome_code, text="again")
    assert exc.value.errcode == 41051


def test_tags_round_trip(api):
    groups = api.get_corp_tag_list()
    assert {g["group_name"] for g in groups} >= {"客户等级", "来源渠道"}
    made = api.add_corp_tag([{"name": "复购"}, {"name": "沉睡"}], group_name="生命周期")
    tags = {t["name"]: t["id"] for t in made["tag_group"]["tag"]}
    api.edit_corp_tag(tags["沉睡"], name="流失预警")
    group = api.get_corp_tag_list(group_id=[made["tag_group"]["group_id"]])[0]
    assert {t["name"] for t in group["tag"]} == {"复购", "流失预警"}
    customer = api.list_external_contacts("zhangsan")[0]
    api.mark_tag("zhangsan", customer, add_tag=[tags["复购"]])
    follow = [f for f in api.get_external_contact(customer)["follow_user"]
              if f["userid"] == "zhangsan"][0]
    assert "复购" in {t["tag_name"] for t in follow["tags"]}
    api.mark_tag("zhangsan", customer, remove_tag=[tags["复购"]])
    api.del_corp_tag(group_id=[made["tag_group"]["group_id"]])
    assert "生命周期" not in {g["group_name"] for g in api.get_corp_tag_list()}


def test_mass_message_round_trip(sandbox, api):
    customers = api.list_external_contacts("zhangsan")
    made = api.add_msg_template(sender="zhangsan", external_userid=customers,
                                text={"content": "新品上市"})
    assert made["msgid"] and made["fail_list"] == []
    now = int(sandbox.clock.now())
    listed = api.get_groupmsg_list_v2("single", now - 3600, now + 60)["group_msg_list"]
    assert made["msgid"] in {m["msgid"] for m in listed}
    tasks = api.get_groupmsg_task(made["msgid"])["task_list"]
    assert [(t["userid"], t["status"]) for t in tasks] == [("zhangsan", 0)]
    api.remind_groupmsg_send(made["msgid"])
    sandbox.people.staff_confirms_mass_send(made["msgid"], "zhangsan")
    sent = api.get_groupmsg_send_result(made["msgid"], "zhangsan")["send_list"]
    assert {s["external_userid"] for s in sent} == set(customers)
    assert {s["status"] for s in sent} == {1}
    other = api.add_msg_template(sender="lisi", text="稍后再发")
    api.cancel_groupmsg_send(other["msgid"])


def test_transfers_round_trip(api):
    customer = api.list_external_contacts("zhangsan")[0]
    result = api.transfer_customer("zhangsan", "wangwu", [customer],
                                   transfer_success_msg="您好，后续由王五为您服务")
    assert result == [{"external_userid": customer, "errcode": 0}]
    status = api.transfer_result("zhangsan", "wangwu")["customer"]
    assert [(c["external_userid"], c["status"]) for c in status] == [(customer, 2)]
    left = api.list_external_contacts("zhouba")
    result = api.resigned_transfer_customer("zhouba", "lisi", left)
    assert [r["errcode"] for r in result] == [0] * len(left)
    status = api.resigned_transfer_result("zhouba", "lisi")["customer"]
    assert {c["external_userid"] for c in status} == set(left)


def test_groups_and_join_ways_round_trip(api):
    chats = api.groupchat_list(limit=100)["group_chat_list"]
    assert len(chats) == 2
    chat = api.groupchat_get(chats[0]["chat_id"], need_name=1)["group_chat"]
    assert chat["chat_id"] == chats[0]["chat_id"] and chat["member_list"]
    made = api.add_join_way(2, [c["chat_id"] for c in chats], state="gl:vip",
                            room_base_name="VIP 客户群", room_base_id=3)
    way = api.get_join_way(made["config_id"])["join_way"]
    assert (way["state"], way["chat_id_list"]) == ("gl:vip", [c["chat_id"] for c in chats])
    api.update_join_way(made["config_id"], 2, [chats[0]["chat_id"]], state="gl:vip2")
    way = api.get_join_way(made["config_id"])["join_way"]
    assert (way["state"], way["chat_id_list"]) == ("gl:vip2", [chats[0]["chat_id"]])
    api.del_join_way(made["config_id"])
    with pytest.raises(WeComError):
        api.get_join_way(made["config_id"])
