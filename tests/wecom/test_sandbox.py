"""The WeCom sandbox behaves like WeCom: real HTTP, documented errcodes, limits and callbacks.

Every test talks to a running sandbox over HTTP with httpx, and receives its callbacks with a
small Tornado receiver that verifies and decrypts them with :class:`WeComCrypto`.
"""

from __future__ import annotations

import argparse
import asyncio
import threading
import time
import xml.etree.ElementTree as ET

import httpx
import pytest
import tornado.httpserver
import tornado.netutil
import tornado.web

from siyu.plugins.wecom.crypto import WeComCrypto
from siyu.plugins.wecom.sandbox import Clock, Sandbox, SandboxError
from siyu.plugins.wecom.sandbox.server import build, configure, describe

CORP_ID = "ww0a1b2c3d4e5f6a7b"
SECRET = "sandbox-test-secret-0123456789abcdefghijklmn"
TOKEN = "QDG6eK0123456789abcdef"
AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
#: 2024-02-10 10:00 in Beijing: February 2024 has 29 days.
START = 1707530400
DAY = 24 * 3600


# -- a callback receiver ------------------------------------------------------------------


class Receiver:
    """A callback endpoint on loopback that verifies, decrypts and records what it gets.

    :ivar posts: every POST as ``(query, outer envelope fields)``, failed answers included.
    :ivar events: decrypted events (dicts) of the POSTs answered 200.
    :ivar fail_next: answer this many coming POSTs with HTTP 500.
    :ivar stall_next: answer this many coming POSTs only after ``stall`` seconds.
    :ivar on_event: called with each decrypted event before answering (may call the API).
    """

    def __init__(self) -> None:
        self.crypto = WeComCrypto(TOKEN, AES_KEY, CORP_ID)
        self.posts: list[tuple[dict, dict]] = []
        self.events: list[dict] = []
        self.fail_next = 0
        self.stall_next = 0
        self.stall = 0.0
        self.on_event = None
        receiver = self

        class Handler(tornado.web.RequestHandler):
            def get(self) -> None:
                q = {k: self.get_query_argument(k) for k in self.request.query_arguments}
                self.finish(receiver.crypto.verify_url(q["msg_signature"], q["timestamp"],
                                                       q["nonce"], q["echostr"]))

            async def post(self) -> None:
                q = {k: self.get_query_argument(k) for k in self.request.query_arguments}
                outer = {child.tag: child.text for child in ET.fromstring(self.request.body)}
                receiver.posts.append((q, outer))
                if receiver.stall_next > 0:
                    receiver.stall_next -= 1
                    await asyncio.sleep(receiver.stall)
                    return
                if receiver.fail_next > 0:
                    receiver.fail_next -= 1
                    self.set_status(500)
                    self.finish("try later")
                    return
                plain = receiver.crypto.decrypt(q["msg_signature"], q["timestamp"], q["nonce"],
                                                self.request.body)
                receiver.events.append(parse_event(plain))
                if receiver.on_event is not None:
                    receiver.on_event(receiver.events[-1])
                self.finish("")

        sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
        self.url = f"http://127.0.0.1:{sockets[0].getsockname()[1]}/callback"
        ready = threading.Event()

        def serve() -> None:
            self.loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self.loop)
            server = tornado.httpserver.HTTPServer(
                tornado.web.Application([(r"/callback", Handler)]))
            server.add_sockets(sockets)
            ready.set()
            self.loop.run_forever()

        self.thread = threading.Thread(target=serve, daemon=True)
        self.thread.start()
        ready.wait()

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)

    def of(self, change_type: str) -> list[dict]:
        return [e for e in self.events if e.get("ChangeType") == change_type]


def parse_event(plaintext: str) -> dict:
    """A decrypted event as a dict; list elements (``<Item>``) become lists."""
    event = {}
    for child in ET.fromstring(plaintext):
        items = child.findall("Item")
        event[child.tag] = [i.text for i in items] if items else (child.text or "")
    return event


class Api:
    """The WeCom API of a sandbox, called over HTTP with a cached access token.

    Like a real client, :meth:`get` and :meth:`post` fetch a new token and retry once when the
    cached one has expired or was revoked.
    """

    def __init__(self, sandbox: Sandbox):
        self.sandbox = sandbox
        self.base = f"{sandbox.base_url}/cgi-bin/"
        self.client = httpx.Client(timeout=10)
        self._token = ""

    def gettoken(self, corpid: str = CORP_ID, corpsecret: str = SECRET) -> dict:
        return self.client.get(self.base + "gettoken",
                               params={"corpid": corpid, "corpsecret": corpsecret}).json()

    @property
    def token(self) -> str:
        if not self._token:
            self._token = self.gettoken()["access_token"]
        return self._token

    def _call(self, send) -> dict:
        answer = send(self.token).json()
        if answer["errcode"] in (40014, 42001):
            self._token = ""
            answer = send(self.token).json()
        return answer

    def get(self, path: str, **params) -> dict:
        return self._call(lambda token: self.client.get(
            self.base + path, params={"access_token": token, **params}))

    def post(self, path: str, body: dict) -> dict:
        return self._call(lambda token: self.client.post(
            self.base + path, params={"access_token": token}, json=body))

    def follow_users_with(self, token: str) -> dict:
        """get_follow_user_list with exactly this token (no refresh)."""
        return self.client.get(self.base + "externalcontact/get_follow_user_list",
                               params={"access_token": token}).json()


@pytest.fixture
def clock():
    return Clock.frozen(START)


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.stop()


@pytest.fixture
def sandbox(receiver, clock):
    with Sandbox(corp_id=CORP_ID, secret=SECRET, token=TOKEN, encoding_aes_key=AES_KEY,
                 callback_url=receiver.url, seed=7, clock=clock) as sandbox:
        yield sandbox


@pytest.fixture
def api(sandbox):
    api = Api(sandbox)
    yield api
    api.client.close()


def contact_way(api: Api, **fields) -> dict:
    return api.post("externalcontact/add_contact_way",
                    {"type": 2, "scene": 2, "user": ["zhangsan", "lisi"], **fields})


def customers_of(api: Api, userid: str) -> list[str]:
    return api.get("externalcontact/list", userid=userid)["external_userid"]


def group_of(sandbox: Sandbox, name: str) -> str:
    return next(c.chat_id for c in sandbox.world.group_chats.values() if c.name == name)


# -- access tokens --------------------------------------------------------------------------


def test_gettoken_returns_the_same_token_while_it_is_valid(api, clock):
    first = api.gettoken()
    clock.advance(600)
    second = api.gettoken()
    assert first["errcode"] == 0 and first["expires_in"] == 7200
    assert second["access_token"] == first["access_token"]
    assert second["expires_in"] == 6600


def test_an_expired_token_answers_42001_and_gettoken_issues_a_new_one(api, clock):
    old = api.token
    clock.advance(7199)
    assert api.follow_users_with(old)["errcode"] == 0
    clock.advance(1)
    assert api.follow_users_with(old)["errcode"] == 42001
    fresh = api.gettoken()["access_token"]
    assert fresh != old
    assert api.follow_users_with(fresh)["errcode"] == 0


def test_a_revoked_token_answers_40014_before_its_time(api, sandbox):
    old = api.token
    assert sandbox.faults.revoke_tokens() == 1
    assert api.follow_users_with(old)["errcode"] == 40014
    assert api.gettoken()["access_token"] != old


def test_tokens_revoked_after_a_set_age(api, sandbox, clock):
    sandbox.faults.revoke_after = 60
    token = api.token
    clock.advance(59)
    assert api.follow_users_with(token)["errcode"] == 0
    clock.advance(2)
    assert api.follow_users_with(token)["errcode"] == 40014


@pytest.mark.parametrize(("params", "errcode"), [
    ({"corpid": CORP_ID, "corpsecret": "wrong"}, 40001),
    ({"corpid": "wwnotthiscorp", "corpsecret": SECRET}, 40013),
    ({"corpid": CORP_ID}, 41004),
])
def test_gettoken_rejects_bad_credentials(api, params, errcode):
    answer = api.client.get(api.base + "gettoken", params=params).json()
    assert answer["errcode"] == errcode
    assert f"more info at https://open.work.weixin.qq.com/devtool/query?e={errcode}" in \
        answer["errmsg"]


def test_calls_without_or_with_an_unknown_token_are_refused(api):
    url = api.base + "externalcontact/get_follow_user_list"
    assert api.client.get(url).json()["errcode"] == 41001
    assert api.client.get(url, params={"access_token": "forged"}).json()["errcode"] == 40014


def test_malformed_json_is_answered_with_the_wrong_json_format_warning(api):
    answer = api.client.post(api.base + "externalcontact/add_contact_way",
                             params={"access_token": api.token}, content=b"{type: 1").json()
    assert answer["errcode"] != 0
    assert "Warning: wrong json format." in answer["errmsg"]


# -- contact ways ---------------------------------------------------------------------------


def test_contact_way_state_may_have_30_characters_but_not_31(api):
    assert contact_way(api, state="s" * 30)["errcode"] == 0
    assert contact_way(api, state="s" * 31)["errcode"] == 40058


def test_contact_way_with_101_members_is_refused_with_41041(api):
    answer = contact_way(api, user=[f"user{i:03d}" for i in range(101)])
    assert answer["errcode"] == 41041


def test_contact_way_members_must_be_activated_and_allowed(api):
    assert contact_way(api, user=["zhangsan", "zhaoliu"])["errcode"] == 41054
    assert contact_way(api, user=["sunqi"])["errcode"] == 60011
    assert contact_way(api, user=["nobody"])["errcode"] == 60111


def test_contact_way_round_trips_through_get_update_list_and_delete(api):
    created = contact_way(api, state="lc:poster", remark="海报")
    config_id = created["config_id"]
    assert created["qr_code"].endswith(config_id)
    assert api.post("externalcontact/update_contact_way",
                    {"config_id": config_id, "user": ["wangwu"]})["errcode"] == 0
    way = api.post("externalcontact/get_contact_way", {"config_id": config_id})["contact_way"]
    assert (way["state"], way["remark"], way["user"]) == ("lc:poster", "海报", ["wangwu"])
    listed = api.post("externalcontact/list_contact_way", {})["contact_way"]
    assert {"config_id": config_id} in listed
    assert api.post("externalcontact/del_contact_way", {"config_id": config_id})["errcode"] == 0
    assert api.post("externalcontact/get_contact_way",
                    {"config_id": config_id})["errcode"] == 41044


# -- scanning and welcome codes -------------------------------------------------------------


def test_scan_posts_a_decryptable_add_external_contact_with_state_and_welcome_code(
        api, sandbox, receiver):
    config_id = contact_way(api, state="lc:spring")["config_id"]
    outcome = sandbox.people.scan_contact_way(config_id)
    assert outcome.new_customer and outcome.userid in ("zhangsan", "lisi")
    (query, outer), = receiver.posts
    assert set(query) == {"msg_signature", "timestamp", "nonce"}
    assert outer["ToUserName"] == CORP_ID and outer["AgentID"] == "1000002"
    (event,) = receiver.events
    assert event["Event"] == "change_external_contact"
    assert event["ChangeType"] == "add_external_contact"
    assert event["FromUserName"] == "sys" and event["ToUserName"] == CORP_ID
    assert event["UserID"] == outcome.userid
    assert event["ExternalUserID"] == outcome.external_userid
    assert event["State"] == "lc:spring"
    assert event["WelcomeCode"] == outcome.welcome_code
    assert event["CreateTime"] == str(START)
    follow = api.get("externalcontact/get", external_userid=outcome.external_userid)
    assert follow["follow_user"][0]["state"] == "lc:spring"


def test_scan_picks_members_reproducibly_for_a_seed(receiver, clock):
    picks = []
    for _ in range(2):
        with Sandbox(seed=3, clock=clock) as sandbox:
            config_id = next(iter(sandbox.world.contact_ways))
            picks.append([sandbox.people.scan_contact_way(config_id).userid for _ in range(6)])
    assert picks[0] == picks[1]
    assert set(picks[0]) == {"zhangsan", "lisi"}


def test_a_receiver_can_send_the_welcome_message_while_handling_the_callback(
        api, sandbox, receiver):
    answers = []
    receiver.on_event = lambda event: answers.append(api.post(
        "externalcontact/send_welcome_msg",
        {"welcome_code": event["WelcomeCode"], "text": {"content": "欢迎光临"}}))
    sandbox.people.scan_contact_way(contact_way(api)["config_id"])
    assert [a["errcode"] for a in answers] == [0]
    assert sandbox.callback_log[0].attempts == 1


def test_welcome_code_can_be_used_once(api, sandbox):
    config_id = contact_way(api)["config_id"]
    code = sandbox.people.scan_contact_way(config_id).welcome_code
    message = {"welcome_code": code, "text": {"content": "欢迎！"}}
    assert api.post("externalcontact/send_welcome_msg", message)["errcode"] == 0
    assert api.post("externalcontact/send_welcome_msg", message)["errcode"] == 41051
    assert [w.text for w in sandbox.world.welcomes] == ["欢迎！"]


def test_welcome_code_expires_after_20_seconds(api, sandbox, clock):
    config_id = contact_way(api)["config_id"]
    code = sandbox.people.scan_contact_way(config_id).welcome_code
    clock.advance(21)
    answer = api.post("externalcontact/send_welcome_msg",
                      {"welcome_code": code, "text": {"content": "欢迎！"}})
    assert answer["errcode"] == 41050


def test_welcome_code_is_spent_once_member_and_customer_chatted(api, sandbox):
    config_id = contact_way(api)["config_id"]
    outcome = sandbox.people.scan_contact_way(config_id)
    sandbox.people.chat(outcome.userid, outcome.external_userid)
    answer = api.post("externalcontact/send_welcome_msg",
                      {"welcome_code": outcome.welcome_code, "text": {"content": "hi"}})
    assert answer["errcode"] == 41051


# -- mass messages --------------------------------------------------------------------------


def test_add_msg_template_refuses_more_than_10000_customers(api):
    ids = [f"wm{i:030d}" for i in range(10_001)]
    answer = api.post("externalcontact/add_msg_template",
                      {"external_userid": ids, "text": {"content": "新品上市"}})
    assert answer["errcode"] == 40058


def test_mass_message_is_sent_only_when_the_sender_confirms(api, sandbox):
    task = api.post("externalcontact/add_msg_template",
                    {"sender": "zhangsan", "text": {"content": "新品上市"}})
    msgid = task["msgid"]
    assert sandbox.deliveries == []
    sandbox.people.staff_confirms_mass_send(msgid, "zhangsan")
    customers = customers_of(api, "zhangsan")
    assert sorted(d.external_userid for d in sandbox.deliveries) == sorted(customers)
    assert {(d.msgid, d.sender, d.time) for d in sandbox.deliveries} == {
        (msgid, "zhangsan", START)}
    results = api.post("externalcontact/get_groupmsg_send_result",
                       {"msgid": msgid, "userid": "zhangsan"})["send_list"]
    assert {r["status"] for r in results} == {1}
    tasks = api.post("externalcontact/get_groupmsg_task", {"msgid": msgid})["task_list"]
    assert tasks == [{"userid": "zhangsan", "status": 2, "send_time": START}]


def mass_send(api: Api, sandbox: Sandbox, external_userid: str) -> int:
    """Send one message to one customer of zhangsan; return the customer's send status."""
    msgid = api.post("externalcontact/add_msg_template",
                     {"sender": "zhangsan", "external_userid": [external_userid],
                      "text": {"content": "本周特惠"}})["msgid"]
    return sandbox.people.staff_confirms_mass_send(msgid, "zhangsan").statuses[external_userid]


def test_a_customer_receives_at_most_as_many_mass_messages_as_the_month_has_days(
        api, sandbox, clock):
    customer = customers_of(api, "zhangsan")[0]
    assert [mass_send(api, sandbox, customer) for _ in range(29)] == [1] * 29
    assert mass_send(api, sandbox, customer) == 3
    assert len(sandbox.deliveries) == 29
    clock.advance(20 * DAY)  # March
    assert mass_send(api, sandbox, customer) == 1


def test_the_receive_cap_can_be_one_a_day(api, sandbox, clock):
    sandbox.limits.receive_cap = "day"
    customer = customers_of(api, "zhangsan")[0]
    assert [mass_send(api, sandbox, customer) for _ in range(2)] == [1, 3]
    clock.advance(DAY)
    assert mass_send(api, sandbox, customer) == 1


def test_a_customer_who_deleted_the_member_is_not_reached(api, sandbox):
    customer = customers_of(api, "zhangsan")[0]
    sandbox.people.customer_deletes_staff(customer, "zhangsan")
    assert mass_send(api, sandbox, customer) == 2
    assert sandbox.deliveries == []


# -- groups and join ways -------------------------------------------------------------------


def test_a_join_way_takes_at_most_five_groups(api, sandbox):
    with sandbox.world.lock:
        chats = [sandbox.world.create_chat(f"群{i}", "zhangsan").chat_id for i in range(6)]
    body = {"scene": 2, "chat_id_list": chats[:5], "state": "gl:a"}
    assert api.post("externalcontact/groupchat/add_join_way", body)["errcode"] == 0
    answer = api.post("externalcontact/groupchat/add_join_way", {**body, "chat_id_list": chats})
    assert answer["errcode"] == 41091


def test_a_full_group_makes_the_join_way_create_a_room(api, sandbox, receiver):
    sandbox.limits.group_capacity = 3  # the trial group has its owner and two customers
    trial = group_of(sandbox, "新品体验群")
    config_id = api.post("externalcontact/groupchat/add_join_way", {
        "scene": 2, "chat_id_list": [trial], "auto_create_room": 1,
        "room_base_name": "销售客服群", "room_base_id": 10, "state": "gl:sale"})["config_id"]
    outcome = sandbox.people.scan_join_way(config_id)
    assert outcome.created_chat and outcome.chat_id == outcome.created_chat
    created, added = receiver.events
    assert (created["Event"], created["ChangeType"]) == ("change_external_chat", "create")
    assert (added["ChangeType"], added["UpdateDetail"]) == ("update", "add_member")
    assert added["JoinScene"] == "3" and added["MemChangeList"] == [outcome.external_userid]
    chat = api.post("externalcontact/groupchat/get",
                    {"chat_id": outcome.chat_id, "need_name": 1})["group_chat"]
    assert chat["name"] == "销售客服群10" and chat["owner"] == "lisi"
    assert chat["member_version"] == added["CurMemVer"]
    newcomer = next(m for m in chat["member_list"] if m["type"] == 2)
    assert (newcomer["join_scene"], newcomer["state"]) == (3, "gl:sale")
    way = api.post("externalcontact/groupchat/get_join_way", {"config_id": config_id})
    assert way["join_way"]["chat_id_list"] == [trial, outcome.chat_id]
    assert way["join_way"]["room_base_id"] == 11


def test_leaving_a_group_reports_the_member_versions(api, sandbox, receiver):
    vip = group_of(sandbox, "VIP 客户群")
    before = api.post("externalcontact/groupchat/get", {"chat_id": vip})["group_chat"]
    customer = next(m["userid"] for m in before["member_list"] if m["type"] == 2)
    sandbox.people.quit_group(vip, customer)
    (event,) = receiver.events
    assert (event["UpdateDetail"], event["QuitScene"]) == ("del_member", "0")
    assert event["LastMemVer"] == before["member_version"]
    after = api.post("externalcontact/groupchat/get", {"chat_id": vip})["group_chat"]
    assert after["member_version"] == event["CurMemVer"] != before["member_version"]


# -- rate limits, callbacks and faults ------------------------------------------------------


def test_calls_beyond_the_per_minute_limit_answer_45009_for_a_minute(api, sandbox, clock):
    sandbox.limits.api_per_minute = 3
    path = "externalcontact/get_follow_user_list"
    assert [api.get(path)["errcode"] for _ in range(4)] == [0, 0, 0, 45009]
    assert api.get("externalcontact/list", userid="lisi")["errcode"] == 0  # per API
    clock.advance(61)
    assert api.get(path)["errcode"] == 0


def test_changes_made_through_the_api_post_no_callbacks(api, sandbox, receiver):
    customer = customers_of(api, "zhangsan")[0]
    group = api.post("externalcontact/add_corp_tag",
                     {"group_name": "活动", "tag": [{"name": "双11"}]})["tag_group"]
    tag_id = group["tag"][0]["id"]
    assert api.post("externalcontact/mark_tag", {"userid": "zhangsan",
                                                 "external_userid": customer,
                                                 "add_tag": [tag_id]})["errcode"] == 0
    assert api.post("externalcontact/remark", {"userid": "zhangsan",
                                               "external_userid": customer,
                                               "remark": "老客户"})["errcode"] == 0
    assert api.post("externalcontact/edit_corp_tag", {"id": tag_id, "name": "双十一"})[
        "errcode"] == 0
    assert api.post("externalcontact/del_corp_tag", {"tag_id": [tag_id]})["errcode"] == 0
    assert contact_way(api)["errcode"] == 0
    assert api.post("externalcontact/transfer_customer", {
        "handover_userid": "zhangsan", "takeover_userid": "wangwu",
        "external_userid": [customer]})["customer"][0]["errcode"] == 0
    assert receiver.posts == [] and sandbox.callback_log == []


def test_tag_changes_in_the_admin_console_post_change_external_tag(sandbox, receiver):
    outcome = sandbox.people.admin_adds_tags("会员等级", ["银卡", "金卡"])
    (event,) = receiver.events
    assert event["Event"] == "change_external_tag"
    assert (event["TagType"], event["ChangeType"], event["Id"]) == (
        "tag_group", "create", outcome.state)


def test_a_callback_answered_with_500_is_retried(sandbox, receiver):
    receiver.fail_next = 2
    sandbox.people.admin_adds_tags("会员等级", ["银卡"])
    (record,) = sandbox.callback_log
    assert record.delivered and record.attempts == 3 and record.outcomes == [500, 500, 200]
    assert len(receiver.events) == 1


def test_a_callback_not_answered_in_time_is_retried(sandbox, receiver):
    sandbox.faults.callback_timeout = 0.2  # WeCom waits 5 s
    receiver.stall_next, receiver.stall = 1, 0.5
    sandbox.people.admin_adds_tags("会员等级", ["银卡"])
    (record,) = sandbox.callback_log
    assert record.delivered and record.outcomes == ["ReadTimeout", 200]


def test_callback_delivery_gives_up_after_three_retries(sandbox, receiver):
    receiver.fail_next = 10
    sandbox.people.admin_adds_tags("会员等级", ["银卡"])
    (record,) = sandbox.callback_log
    assert not record.delivered and record.attempts == 4 and len(receiver.posts) == 4


def test_duplicate_callbacks_repeat_the_same_request(sandbox, receiver):
    sandbox.faults.duplicate_rate = 1.0
    sandbox.people.admin_adds_tags("会员等级", ["银卡"])
    assert len(receiver.events) == 2 and receiver.events[0] == receiver.events[1]
    assert receiver.posts[0] == receiver.posts[1]


def test_callback_url_verification_passes_against_a_correct_receiver(sandbox):
    result = sandbox.verify_callback_url()
    assert result["ok"] and result["answer"] == result["expected"]


def test_a_fraction_of_calls_fail_with_5xx(api, sandbox):
    token = api.token
    sandbox.faults.error_rate = 0.5
    url = api.base + "externalcontact/get_follow_user_list"
    statuses = [api.client.get(url, params={"access_token": token}).status_code
                for _ in range(40)]
    assert set(statuses) == {200, 503}
    assert statuses.count(503) == sandbox.faults.injected["error"]


def test_a_fraction_of_calls_answer_system_busy(api, sandbox):
    token = api.token
    sandbox.faults.busy_rate = 1.0
    assert api.follow_users_with(token)["errcode"] == -1


def test_dropped_connections_close_without_an_answer(api, sandbox):
    token = api.token
    sandbox.faults.drop_rate = 1.0
    with pytest.raises(httpx.RemoteProtocolError):
        api.follow_users_with(token)
    sandbox.faults.reset()
    assert api.follow_users_with(token)["errcode"] == 0


def test_latency_delays_every_answer(api, sandbox):
    token = api.token
    sandbox.faults.latency = 0.2
    started = time.monotonic()
    assert api.follow_users_with(token)["errcode"] == 0
    assert time.monotonic() - started >= 0.2


# -- transfers ------------------------------------------------------------------------------


def test_a_transfer_takes_over_after_24_hours(api, sandbox, receiver, clock):
    customer = customers_of(api, "zhangsan")[0]
    body = {"handover_userid": "zhangsan", "takeover_userid": "wangwu"}
    answer = api.post("externalcontact/transfer_customer", {**body, "external_userid": [customer]})
    assert answer["customer"] == [{"external_userid": customer, "errcode": 0}]
    assert api.post("externalcontact/transfer_result", body)["customer"] == [
        {"external_userid": customer, "status": 2, "takeover_time": START + DAY}]
    clock.advance(DAY)
    assert api.post("externalcontact/transfer_result", body)["customer"][0]["status"] == 1
    assert customer in customers_of(api, "wangwu") and customer not in customers_of(
        api, "zhangsan")
    removed, added = receiver.events
    assert (removed["ChangeType"], removed["Source"]) == ("del_external_contact",
                                                          "DELETE_BY_TRANSFER")
    assert (added["ChangeType"], added["UserID"]) == ("add_external_contact", "wangwu")


def test_a_customer_is_transferred_at_most_twice_in_90_days(api, sandbox, clock):
    customer = customers_of(api, "zhangsan")[0]
    hops = [("zhangsan", "wangwu"), ("wangwu", "lisi"), ("lisi", "zhangsan")]
    codes = []
    for handover, takeover in hops:
        codes.append(api.post("externalcontact/transfer_customer", {
            "handover_userid": handover, "takeover_userid": takeover,
            "external_userid": [customer]})["customer"][0]["errcode"])
        clock.advance(DAY)
    assert codes[:2] == [0, 0] and codes[2] != 0


def test_a_customer_who_refuses_a_transfer_stays(api, sandbox, receiver):
    customer = customers_of(api, "zhangsan")[0]
    body = {"handover_userid": "zhangsan", "takeover_userid": "wangwu"}
    api.post("externalcontact/transfer_customer", {**body, "external_userid": [customer]})
    sandbox.people.customer_refuses_transfer(customer)
    assert api.post("externalcontact/transfer_result", body)["customer"][0]["status"] == 3
    (event,) = receiver.events
    assert (event["ChangeType"], event["FailReason"], event["UserID"]) == (
        "transfer_fail", "customer_refused", "wangwu")


def test_a_transfer_to_a_member_without_room_fails_with_customer_limit_exceed(
        api, sandbox, receiver, clock):
    sandbox.limits.staff_customer_limit = len(customers_of(api, "wangwu"))
    customer = customers_of(api, "zhangsan")[0]
    body = {"handover_userid": "zhangsan", "takeover_userid": "wangwu"}
    api.post("externalcontact/transfer_customer", {**body, "external_userid": [customer]})
    clock.advance(DAY)
    assert api.post("externalcontact/transfer_result", body)["customer"][0]["status"] == 4
    (event,) = receiver.events
    assert (event["ChangeType"], event["FailReason"]) == ("transfer_fail",
                                                          "customer_limit_exceed")
    assert customer in customers_of(api, "zhangsan")


def test_resigned_transfers_need_a_member_who_has_left(api):
    customer = customers_of(api, "zhangsan")[0]
    answer = api.post("externalcontact/resigned/transfer_customer", {
        "handover_userid": "zhangsan", "takeover_userid": "lisi", "external_userid": [customer]})
    assert answer["errcode"] == 40097
    waiting = customers_of(api, "zhouba")
    answer = api.post("externalcontact/resigned/transfer_customer", {
        "handover_userid": "zhouba", "takeover_userid": "lisi", "external_userid": waiting})
    assert [c["errcode"] for c in answer["customer"]] == [0] * len(waiting)


# -- reading customers ----------------------------------------------------------------------


def test_batch_get_by_user_pages_with_a_cursor(api):
    body = {"userid_list": ["zhangsan", "lisi"], "limit": 2}
    seen, cursor = [], ""
    while True:
        page = api.post("externalcontact/batch/get_by_user", {**body, "cursor": cursor})
        seen += [(r["external_contact"]["external_userid"], r["follow_info"]["userid"])
                 for r in page["external_contact_list"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    expected = [(c, u) for u in ("zhangsan", "lisi") for c in customers_of(api, u)]
    assert seen == expected
    too_many = api.post("externalcontact/batch/get_by_user", {**body, "limit": 101})
    assert too_many["errcode"] != 0


def test_people_editing_and_deleting_in_the_client_are_reported(api, sandbox, receiver):
    first, second = customers_of(api, "zhangsan")[:2]
    sandbox.people.staff_edits_customer("zhangsan", first, remark="王姐")
    sandbox.people.staff_deletes_customer("zhangsan", second)
    sandbox.people.customer_deletes_staff(first, "zhangsan")
    assert [e["ChangeType"] for e in receiver.events] == [
        "edit_external_contact", "del_external_contact", "del_follow_user"]
    assert second not in customers_of(api, "zhangsan")
    follow = api.get("externalcontact/get", external_userid=first)["follow_user"][0]
    assert follow["remark"] == "王姐"


def test_convert_to_openid_answers_the_customers_openid(api, sandbox):
    customer = customers_of(api, "lisi")[0]
    answer = api.post("externalcontact/convert_to_openid", {"external_userid": customer})
    assert answer["openid"] == sandbox.world.customers[customer].openid


# -- the admin endpoints and the command ----------------------------------------------------


def test_a_demo_can_simulate_a_scan_over_http(sandbox, receiver):
    config_id = next(iter(sandbox.world.contact_ways))
    answer = httpx.post(f"{sandbox.base_url}/sandbox/scan", json={"config_id": config_id},
                        timeout=10).json()
    assert answer["state"] == "lc:store01" and answer["callbacks"][0]["delivered"]
    assert receiver.of("add_external_contact")[0]["ExternalUserID"] == answer["external_userid"]
    summary = httpx.get(f"{sandbox.base_url}/sandbox/world").json()
    assert summary["corp_id"] == CORP_ID and summary["customers"] == 9


def test_unknown_codes_cannot_be_scanned(sandbox):
    with pytest.raises(SandboxError, match="nope"):
        sandbox.people.scan_contact_way("nope")


def test_the_command_prints_the_settings_it_uses():
    args = configure(argparse.ArgumentParser()).parse_args(
        ["--port", "0", "--corp-id", CORP_ID, "--token", TOKEN, "--error-rate", "0.1"])
    sandbox = build(args)
    try:
        text = describe(sandbox)
        assert CORP_ID in text and TOKEN in text and sandbox.secret in text
        assert sandbox.encoding_aes_key in text and sandbox.faults.error_rate == 0.1
    finally:
        sandbox.stop()
