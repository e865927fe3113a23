"""No network call inside a database transaction.

The detector (:mod:`siyu.storage.guard`) refuses a call made while the thread holds a write
transaction and says which endpoint and which statement; live codes and group codes call
WeCom between transactions — two pauses at once call WeCom once, and a change whose answer
was lost or whose process stopped is settled by asking WeCom, never by sending it again.
Against the sandbox over HTTP, on SQLite and PostgreSQL.
"""

import threading
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from siyu.core.errors import ValidationError
from siyu.plugins.livecodes import api, changes, group_api
from siyu.plugins.livecodes.checks import run_check_job
from siyu.plugins.wecom.client import WeComClient
from siyu.plugins.wecom.errors import WeComTransportError
from siyu.plugins.wecom.sandbox.model import Staff as SandboxStaff
from siyu.plugins.wecom.sandbox.server import Sandbox
from siyu.plugins.wecom.sandbox.testing import wired_workspace
from siyu.storage import guard
from siyu.storage.models import Staff


class Crash(BaseException):
    """The process stops here: nothing after it runs and nothing catches it."""


def lost(endpoint):
    return WeComTransportError("ReadTimeout: timed out (after 4 attempts)", endpoint)


@pytest.fixture
def strict():
    """The detector on for this test; fails it on a violation nobody looked at."""
    was_on = guard.enabled()
    guard.enable()
    guard.clear()
    yield guard
    found = guard.violations()
    if not was_on:
        guard.disable()
    assert not found, "\n".join(map(str, found))


@pytest.fixture
def client():
    """A WeCom client of a fresh sandbox, its token fetched before any transaction opens."""
    sandbox = Sandbox(seed=7).start()
    try:
        with WeComClient(sandbox.corp_id, sandbox.secret, base_url=sandbox.base_url) as c:
            c.access_token()
            yield c
    finally:
        sandbox.stop()


def write(conn):
    """A statement that makes the transaction a writing one."""
    conn.execute(sa.update(Staff).where(Staff.id == -1).values(name="x"))


# -- the detector ------------------------------------------------------------------------------

def test_a_wecom_call_inside_a_write_transaction_fails_naming_endpoint_and_statement(
        ws, client, strict):
    with pytest.raises(guard.NetworkInTransaction) as caught, ws.engine.begin() as conn:
        write(conn)
        client.get_follow_user_list()
    message = str(caught.value)
    assert "network call to WeCom externalcontact/get_follow_user_list" in message
    assert "/cgi-bin/externalcontact/get_follow_user_list" in message
    assert "inside a database write transaction" in message
    assert "opened by 'UPDATE staff SET name=" in message
    assert "tests/test_no_network_in_transaction.py" in message and " in write" in message
    assert "Record the intent, commit, then call" in message
    assert [v.endpoint for v in guard.violations()] == [
        "WeCom externalcontact/get_follow_user_list"]
    guard.clear()


def test_reads_and_committed_writes_do_not_count(ws, client, strict):
    with ws.engine.begin() as conn:
        conn.execute(sa.select(Staff.id)).all()
        client.get_follow_user_list()
    with ws.engine.begin() as conn:
        write(conn)
    client.get_follow_user_list()
    with ws.engine.connect() as conn:
        write(conn)
        conn.rollback()
    client.get_follow_user_list()


def test_a_transaction_of_another_thread_does_not_count(ws, client, strict):
    inside, done = threading.Event(), threading.Event()

    def writer():
        with ws.engine.begin() as conn:
            write(conn)
            inside.set()
            done.wait(10)

    thread = threading.Thread(target=writer)
    thread.start()
    assert inside.wait(10)
    try:
        client.get_follow_user_list()
    finally:
        done.set()
        thread.join(10)


def test_a_row_locking_read_counts_on_postgresql(ws, client, strict):
    if ws.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no SELECT … FOR UPDATE")
    with pytest.raises(guard.NetworkInTransaction, match="FOR UPDATE"), \
            ws.engine.begin() as conn:
        conn.execute(sa.select(Staff.id).with_for_update()).all()
        client.get_follow_user_list()
    guard.clear()


def test_the_detector_is_off_unless_turned_on(ws, client, monkeypatch):
    if guard.enabled():
        pytest.skip("the detector is on for the whole run")
    with ws.engine.begin() as conn:
        write(conn)
        client.get_follow_user_list()
    monkeypatch.setenv(guard.ENV, "1")
    try:
        assert guard.enable_from_env()
    finally:
        guard.disable()


# -- live codes and group codes ----------------------------------------------------------------

@pytest.fixture
def wired(db_url, strict):
    """A workspace wired to a sandbox, with the detector on."""
    with wired_workspace(db_url) as (ws, sandbox, _url):
        yield ws, sandbox


def hire(ws, sandbox, *userids):
    with sandbox.world.lock:
        for userid in userids:
            sandbox.world.staff[userid] = SandboxStaff(userid, f"员工{userid}", [1])
    for userid in userids:
        ws.staff.upsert(userid, f"员工{userid}")


@pytest.fixture
def paused_code(wired):
    """A live code with one member and one backup member."""
    ws, sandbox = wired
    hire(ws, sandbox, "m1", "bk")
    return api.create_code(ws, "海报", ["m1"], backup=["bk"])


def listed_in_wecom(sandbox, code):
    return sandbox.world.contact_ways[code["config_id"]].user


def test_two_pauses_at_once_call_wecom_once(wired, paused_code, monkeypatch):
    ws, sandbox = wired
    real, sent, outcomes = WeComClient.update_contact_way, [], []

    def slow_update(self, config_id, **fields):
        sent.append(fields["user"])
        time.sleep(0.5)  # the second pause is asked while the first is with WeCom
        return real(self, config_id, **fields)

    def pause():
        try:
            outcomes.append(api.pause_code(ws, paused_code["id"])["status"])
        except ValidationError as exc:
            outcomes.append(str(exc))

    monkeypatch.setattr(WeComClient, "update_contact_way", slow_update)
    threads = [threading.Thread(target=pause) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sent == [["bk"]]
    assert sorted(outcomes) == sorted(
        ["paused", f"live code {paused_code['state']} is paused, not active"])
    assert listed_in_wecom(sandbox, paused_code) == ["bk"]
    assert len(ws.audit_log.df(action="livecode.pause")) == 1


def test_a_pause_whose_process_stopped_before_calling_wecom_is_dropped_by_the_check(
        wired, paused_code, monkeypatch):
    ws, sandbox = wired
    real = WeComClient.update_contact_way

    def crash(self, config_id, **fields):
        raise Crash

    monkeypatch.setattr(WeComClient, "update_contact_way", crash)
    with pytest.raises(Crash):
        api.pause_code(ws, paused_code["id"])
    monkeypatch.setattr(WeComClient, "update_contact_way", real)
    stuck = api.get_code(ws, paused_code["id"])
    assert (stuck["status"], stuck["pending"], stuck["pending_state"], stuck["pending_by"]) == (
        "active", "pause", "intent", "local")
    monkeypatch.setattr(changes, "WAIT_S", 0.2)
    with pytest.raises(ValidationError, match=r"is being changed \(pause asked by local"):
        api.update_code(ws, paused_code["id"], name="新名字")  # still within the lease
    monkeypatch.setattr(changes, "INTENT_LEASE", timedelta(0))  # the lease runs out
    assert any("the pause asked by local" in line and "was never confirmed" in line
               for line in api.problems(ws))

    report = api.check_codes(ws, progress=False)

    assert report.settled == [f"海报 ({paused_code['state']}): dropped"]
    settled = api.get_code(ws, paused_code["id"])
    assert (settled["status"], settled["pending"], settled["listed"]) == ("active", "", ["m1"])
    assert listed_in_wecom(sandbox, paused_code) == ["m1"]
    (entry,) = ws.audit_log.df(action="livecode.reconcile")["detail"]
    assert entry == {"change": "pause", "outcome": "dropped", "asked_by": "local"}
    assert api.pause_code(ws, paused_code["id"])["status"] == "paused"
    assert listed_in_wecom(sandbox, paused_code) == ["bk"]


def test_a_pause_wecom_took_before_the_process_stopped_is_completed_not_resent(
        wired, paused_code, monkeypatch):
    ws, sandbox = wired
    real, sent = WeComClient.update_contact_way, []

    def send_then_crash(self, config_id, **fields):
        real(self, config_id, **fields)
        raise Crash

    def spy(self, config_id, **fields):
        sent.append(fields["user"])
        return real(self, config_id, **fields)

    monkeypatch.setattr(WeComClient, "update_contact_way", send_then_crash)
    with pytest.raises(Crash):
        api.pause_code(ws, paused_code["id"])
    assert listed_in_wecom(sandbox, paused_code) == ["bk"]
    assert api.get_code(ws, paused_code["id"])["status"] == "active"
    monkeypatch.setattr(WeComClient, "update_contact_way", spy)
    monkeypatch.setattr(changes, "INTENT_LEASE", timedelta(0))

    with pytest.raises(ValidationError, match="is paused, not active"):
        api.pause_code(ws, paused_code["id"])  # asks WeCom first: the pause happened

    assert sent == []
    code = api.get_code(ws, paused_code["id"])
    assert (code["status"], code["listed"], code["pending"]) == ("paused", ["bk"], "")


def test_a_lost_answer_is_settled_by_asking_wecom_at_once(wired, paused_code, monkeypatch):
    ws, sandbox = wired
    real = WeComClient.update_contact_way

    def send_then_lose(self, config_id, **fields):
        real(self, config_id, **fields)
        raise lost("externalcontact/update_contact_way")

    monkeypatch.setattr(WeComClient, "update_contact_way", send_then_lose)
    paused = api.pause_code(ws, paused_code["id"])
    assert (paused["status"], paused["pending"], paused["last_error"]) == ("paused", "", "")
    assert listed_in_wecom(sandbox, paused_code) == ["bk"]


def test_while_wecom_cannot_be_asked_the_change_stays_unknown_until_the_check(
        wired, paused_code, monkeypatch):
    ws, sandbox = wired
    real_update, real_get = WeComClient.update_contact_way, WeComClient.get_contact_way

    def send_then_lose(self, config_id, **fields):
        real_update(self, config_id, **fields)
        raise lost("externalcontact/update_contact_way")

    def unreachable(self, config_id):
        raise lost("externalcontact/get_contact_way")

    monkeypatch.setattr(WeComClient, "update_contact_way", send_then_lose)
    monkeypatch.setattr(WeComClient, "get_contact_way", unreachable)
    with pytest.raises(WeComTransportError):
        api.pause_code(ws, paused_code["id"])
    unknown = api.get_code(ws, paused_code["id"])
    assert (unknown["status"], unknown["pending"], unknown["pending_state"]) == (
        "active", "pause", "unknown")
    assert unknown["last_error"].startswith("WeCom's answer to 'pause' was lost")
    assert any("WeCom's answer to 'pause' was lost" in line for line in api.problems(ws))
    monkeypatch.setattr(WeComClient, "update_contact_way", real_update)
    monkeypatch.setattr(WeComClient, "get_contact_way", real_get)

    report = api.check_codes(ws, progress=False)

    assert report.settled == [f"海报 ({paused_code['state']}): done"]
    assert "1 unconfirmed changes settled with WeCom" in report.summary()
    code = api.get_code(ws, paused_code["id"])
    assert (code["status"], code["listed"], code["pending"], code["last_error"]) == (
        "paused", ["bk"], "", "")


def test_a_create_whose_answer_was_lost_finds_its_code_by_state(wired, monkeypatch):
    ws, sandbox = wired
    hire(ws, sandbox, "n1")
    real = WeComClient.add_contact_way

    def add_then_lose(self, *args, **fields):
        real(self, *args, **fields)
        raise lost("externalcontact/add_contact_way")

    monkeypatch.setattr(WeComClient, "add_contact_way", add_then_lose)
    code = api.create_code(ws, "丢失", ["n1"])
    made = [w for w in sandbox.world.contact_ways.values() if w.state == code["state"]]
    assert [w.config_id for w in made] == [code["config_id"]]
    assert (code["pending"], code["listed"]) == ("", ["n1"]) and code["qr_url"]


def test_a_group_code_pause_wecom_took_before_the_process_stopped_is_completed_by_the_job(
        wired, monkeypatch):
    ws, sandbox = wired
    hire(ws, sandbox, "qunzhu")
    with sandbox.world.lock:
        chat = sandbox.world.create_chat("新品群", "qunzhu").chat_id
    code = group_api.create_group_code(ws, "群码", [chat])
    real = WeComClient.update_join_way

    def send_then_crash(self, *args, **fields):
        real(self, *args, **fields)
        raise Crash

    monkeypatch.setattr(WeComClient, "update_join_way", send_then_crash)
    with pytest.raises(Crash):
        group_api.pause_group_code(ws, code["id"])
    assert sandbox.world.join_ways[code["config_id"]].auto_create_room == 0
    monkeypatch.setattr(WeComClient, "update_join_way", real)
    monkeypatch.setattr(changes, "INTENT_LEASE", timedelta(0))

    summary = run_check_job(ws)

    assert f"1 unconfirmed group-code changes settled with WeCom: 群码 ({code['state']}): " \
           "done" in summary
    paused = group_api.get_group_code(ws, code["id"])
    assert (paused["status"], paused["pending"]) == ("paused", "")
    assert group_api.resume_group_code(ws, code["id"])["status"] == "active"
    assert sandbox.world.join_ways[code["config_id"]].auto_create_room == 1
