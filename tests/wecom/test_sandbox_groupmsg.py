"""Group mass messages (chat_type=group), reminders and cancelling in the WeCom sandbox, over
real HTTP: the documented fields, errcodes and limits (reference §2.5)."""

from __future__ import annotations

import httpx
import pytest

from siyu.plugins.wecom.sandbox import Clock, Sandbox, SandboxError
from siyu.plugins.wecom.sandbox.crowd import confirm_all

#: 2024-02-10 10:00 in Beijing: February 2024 has 29 days.
START = 1707530400
DAY = 24 * 3600


class Api:
    """The sandbox's ``/cgi-bin/`` API with a cached access token (fetched again once it
    expires, as clients do when the clock moves a day), and its ``/sandbox/`` controls."""

    def __init__(self, sandbox: Sandbox):
        self.sandbox = sandbox
        self.http = httpx.Client(base_url=sandbox.base_url, timeout=10)
        self.token = ""

    def post(self, path: str, body: dict) -> dict:
        for _attempt in range(2):
            if not self.token:
                self.token = self.http.get("/cgi-bin/gettoken", params={
                    "corpid": self.sandbox.corp_id,
                    "corpsecret": self.sandbox.secret}).json()["access_token"]
            answer = self.http.post(f"/cgi-bin/externalcontact/{path}",
                                    params={"access_token": self.token}, json=body).json()
            if answer["errcode"] not in (40014, 42001):
                break
            self.token = ""
        return answer

    def control(self, method: str, path: str, body: dict | None = None) -> httpx.Response:
        return self.http.request(method, f"/sandbox/{path}", json=body)


@pytest.fixture
def clock():
    return Clock.frozen(START)


@pytest.fixture
def sandbox(clock):
    with Sandbox(seed=7, clock=clock) as sandbox:
        yield sandbox


@pytest.fixture
def api(sandbox):
    api = Api(sandbox)
    yield api
    api.http.close()


def chat_named(sandbox: Sandbox, name: str) -> str:
    return next(c.chat_id for c in sandbox.world.group_chats.values() if c.name == name)


def group_send(api: Api, sender: str | None = "zhangsan", **fields) -> dict:
    body = {"chat_type": "group", "text": {"content": "群发：周末活动"}, **fields}
    if sender is not None:
        body["sender"] = sender
    return api.post("add_msg_template", body)


# -- creating a group task ------------------------------------------------------------------


def test_a_group_task_needs_its_sender(api):
    answer = group_send(api, sender=None)
    assert answer["errcode"] == 40063
    assert group_send(api, sender="nobody")["errcode"] == 60111
    assert group_send(api, sender="sunqi")["errcode"] == 60011  # no 客户联系 permission


def test_without_chat_id_list_every_group_of_the_sender_is_addressed(api, sandbox):
    second = sandbox.people.staff_creates_group("zhangsan", "老客户群").chat_id
    answer = group_send(api, allow_select=True)
    assert answer["errcode"] == 0 and answer["fail_list"] == []
    task = sandbox.world.tasks[answer["msgid"]]
    assert task.chat_type == "group" and not task.allow_select  # single only
    assert sorted(r.chat_id for r in task.results) == sorted(
        [chat_named(sandbox, "VIP 客户群"), second])
    assert list(task.senders) == ["zhangsan"]


def test_chat_id_list_keeps_the_senders_own_groups_and_fails_the_rest(api, sandbox):
    vip, trial = chat_named(sandbox, "VIP 客户群"), chat_named(sandbox, "新品体验群")
    answer = group_send(api, chat_id_list=[vip, trial, "wrNoSuchGroup", vip])
    assert answer["errcode"] == 0
    assert answer["fail_list"] == [trial, "wrNoSuchGroup"]
    assert [r.chat_id for r in sandbox.world.tasks[answer["msgid"]].results] == [vip]
    assert group_send(api, chat_id_list=[trial])["errcode"] == 41048  # nothing reachable
    assert group_send(api, sender="wangwu")["errcode"] == 41048  # owns no group


def test_chat_id_list_takes_at_most_2000_groups(api):
    answer = group_send(api, chat_id_list=[f"wr{i:030d}" for i in range(2001)])
    assert answer["errcode"] == 40058


def test_the_list_of_group_messages_is_separate_from_customer_messages(api):
    group = group_send(api)["msgid"]
    single = api.post("add_msg_template", {"sender": "zhangsan",
                                           "text": {"content": "单聊群发"}})["msgid"]
    window = {"start_time": START - 60, "end_time": START + 60, "filter_type": 0}
    groups = api.post("get_groupmsg_list_v2", {"chat_type": "group", **window})
    singles = api.post("get_groupmsg_list_v2", {"chat_type": "single", **window})
    assert [m["msgid"] for m in groups["group_msg_list"]] == [group]
    assert [m["msgid"] for m in singles["group_msg_list"]] == [single]
    [row] = groups["group_msg_list"]
    assert row["create_type"] == 0 and "creator" not in row  # created through the API
    assert row["text"] == {"content": "群发：周末活动"}


# -- confirming and results -----------------------------------------------------------------


def test_results_report_chat_ids_once_the_sender_confirms(api, sandbox, clock):
    msgid = group_send(api)["msgid"]
    vip = chat_named(sandbox, "VIP 客户群")
    assert api.post("get_groupmsg_task", {"msgid": msgid})["task_list"] == [
        {"userid": "zhangsan", "status": 0}]
    before = api.post("get_groupmsg_send_result", {"msgid": msgid, "userid": "zhangsan"})
    assert before["send_list"] == [{"userid": "zhangsan", "status": 0, "chat_id": vip}]
    clock.advance(600)
    confirmed = api.control("POST", "people/staff_confirms_mass_send",
                            {"msgid": msgid, "userid": "zhangsan"}).json()
    assert confirmed["statuses"] == {vip: 1}
    assert api.post("get_groupmsg_task", {"msgid": msgid})["task_list"] == [
        {"userid": "zhangsan", "status": 2, "send_time": START + 600}]
    after = api.post("get_groupmsg_send_result", {"msgid": msgid, "userid": "zhangsan"})
    assert after["send_list"] == [{"userid": "zhangsan", "status": 1, "chat_id": vip,
                                   "send_time": START + 600}]
    assert [(d.chat_id, d.external_userid) for d in sandbox.deliveries] == [(vip, "")]


def test_a_group_receives_at_most_its_receive_cap(api, sandbox, clock):
    sandbox.limits.receive_cap = "day"
    vip = chat_named(sandbox, "VIP 客户群")
    statuses = []
    for _ in range(2):
        msgid = group_send(api)["msgid"]
        statuses.append(sandbox.people.staff_confirms_mass_send(msgid, "zhangsan")
                        .statuses[vip])
    assert statuses == [1, 3]
    clock.advance(DAY)
    msgid = group_send(api)["msgid"]
    assert sandbox.people.staff_confirms_mass_send(msgid, "zhangsan").statuses[vip] == 1


def test_a_group_gets_as_many_as_the_month_has_days(api, sandbox):
    vip = chat_named(sandbox, "VIP 客户群")
    for _ in range(29):  # February 2024
        sandbox.people.staff_confirms_mass_send(group_send(api)["msgid"], "zhangsan")
    msgid = group_send(api)["msgid"]
    assert sandbox.people.staff_confirms_mass_send(msgid, "zhangsan").statuses[vip] == 3


def test_confirm_all_confirms_group_tasks_too(api, sandbox):
    group_send(api)
    group_send(api, sender="lisi")
    assert confirm_all(sandbox, "群发：周末活动") == 2
    assert {d.sender for d in sandbox.deliveries} == {"zhangsan", "lisi"}


# -- reminders ------------------------------------------------------------------------------


def test_at_most_three_reminders_per_task_within_24_hours(api, sandbox, clock):
    msgid = group_send(api)["msgid"]
    answers = []
    for _ in range(4):
        answers.append(api.post("remind_groupmsg_send", {"msgid": msgid})["errcode"])
        clock.advance(3600)
    assert answers == [0, 0, 0, 41094]
    assert sandbox.world.tasks[msgid].reminders == [START, START + 3600, START + 7200]
    clock.set(START + DAY)  # the first reminder leaves the window
    assert api.post("remind_groupmsg_send", {"msgid": msgid})["errcode"] == 0
    assert api.post("remind_groupmsg_send", {"msgid": msgid})["errcode"] == 41094


def test_reminding_needs_a_known_task(api):
    assert api.post("remind_groupmsg_send", {})["errcode"] == 41046
    assert api.post("remind_groupmsg_send", {"msgid": "msgUnknown"})["errcode"] == 41047


def test_reminders_show_in_the_tasks_control(api):
    msgid = group_send(api)["msgid"]
    api.post("remind_groupmsg_send", {"msgid": msgid})
    [task] = api.control("GET", "tasks").json()
    assert task["msgid"] == msgid and task["chat_type"] == "group"
    assert task["senders"] == {"zhangsan": 0} and task["reminders"] == [START]
    assert task["results"] == {"0": 1}
    assert api.control("GET", "world").json()["mass_reminders"] == 1


# -- cancelling -----------------------------------------------------------------------------


def test_a_cancelled_task_can_neither_be_reminded_nor_sent(api, sandbox):
    msgid = group_send(api)["msgid"]
    assert api.post("cancel_groupmsg_send", {"msgid": msgid})["errcode"] == 0
    assert api.post("remind_groupmsg_send", {"msgid": msgid})["errcode"] == 41093
    with pytest.raises(SandboxError, match="cancelled"):
        sandbox.people.staff_confirms_mass_send(msgid, "zhangsan")
    assert sandbox.deliveries == []


# -- groups made by people ------------------------------------------------------------------


def test_a_member_creates_a_group_through_the_controls(api, sandbox):
    customers = [c for c in sandbox.world.customers.values() if "wangwu" in c.follows]
    answer = api.control("POST", "people/staff_creates_group", {
        "userid": "wangwu", "name": "王五的群",
        "customers": [c.external_userid for c in customers]}).json()
    chat = sandbox.world.group_chats[answer["chat_id"]]
    assert chat.owner == "wangwu" and len(chat.members) == 1 + len(customers)
    [callback] = answer["callbacks"]
    assert callback["event"] == "change_external_chat"
    assert group_send(api, sender="wangwu")["errcode"] == 0
    refused = api.control("POST", "people/staff_creates_group",
                          {"userid": "sunqi", "name": "无权限"})
    assert refused.status_code == 400 and "sunqi" in refused.json()["error"]
