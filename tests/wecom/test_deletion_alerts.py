"""Anti-poaching alerts: customers deleted by staff, digested per store and day, sent once to
the admins' group robot."""

from __future__ import annotations

import json
import threading
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from zoneinfo import ZoneInfo

import pytest

from siyu.core.errors import ValidationError
from siyu.plugins.robots.store import add_robot
from siyu.plugins.wecom import deletion_alerts
from siyu.plugins.wecom.deletion_alerts import daily_digest, send_daily_digest

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = "2026-12-03"


class FakeRobot:
    """A WeCom group robot on 127.0.0.1 that keeps what it was sent."""

    def __init__(self):
        self.texts: list[str] = []
        robot = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                robot.texts.append(body["text"]["content"])
                answer = b'{"errcode": 0, "errmsg": "ok"}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/cgi-bin/webhook/send?key=admins"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def robot():
    server = FakeRobot()
    yield server
    server.close()


@pytest.fixture
def chain(ws):
    """Two stores, three guides and one head-office member."""
    ws.stores.upsert("SH001", "上海南京西路店", region="华东")
    ws.stores.upsert("HZ001", "杭州湖滨银泰店", region="华东")
    ws.staff.upsert("zhangsan", "张三", store="SH001")
    ws.staff.upsert("lisi", "李四", store="SH001")
    ws.staff.upsert("wangwu", "王五", store="HZ001")
    ws.staff.upsert("boss", "老板")
    return ws


def deleted(ws, userid: str, when: str, *, by: str = "staff",
            kind: str = "contact.removed") -> None:
    """What the callback processor records for a del_external_contact (or a customer's
    del_follow_user when ``by="customer"``)."""
    at = datetime.fromisoformat(when).replace(tzinfo=SHANGHAI)
    contact, _ = ws.contacts.upsert(f"wm{userid}{when}"[:60], via="wecom", notify=False)
    ws.events.record(kind, dedupe_key=f"test:{userid}:{when}:{by}", contact_id=contact.id,
                     occurred_at=at, source="wecom",
                     payload={"userid": userid, "change_type": "del_external_contact",
                              "by": by})


def test_the_digest_counts_staff_deletions_per_store_and_staff_member(chain):
    for hour in ("09", "10", "11"):
        deleted(chain, "lisi", f"{DAY}T{hour}:00")
    deleted(chain, "zhangsan", f"{DAY}T12:00", kind="contact.follow_removed")
    deleted(chain, "wangwu", f"{DAY}T23:30")
    deleted(chain, "boss", f"{DAY}T08:00")
    digests = daily_digest(chain, DAY)
    assert [(d.store, d.total) for d in digests] == [("SH001", 4), ("", 1), ("HZ001", 1)]
    assert digests[0].staff == [("lisi", "李四", 3), ("zhangsan", "张三", 1)]
    text = digests[0].text()
    assert "上海南京西路店" in text and "李四 (lisi): 3" in text


def test_customers_who_delete_staff_transfers_and_other_days_are_not_counted(chain):
    deleted(chain, "lisi", f"{DAY}T10:00", by="customer")
    deleted(chain, "lisi", "2026-12-02T23:59")  # the day before, Beijing time
    deleted(chain, "lisi", "2026-12-04T00:00")
    assert daily_digest(chain, DAY) == []


def test_the_digest_goes_to_the_admins_robot_once_per_store_and_day(chain, robot):
    add_robot(chain, "店长群", robot.url)
    deletion_alerts.configure(chain, robot="店长群")
    deleted(chain, "lisi", f"{DAY}T10:00")
    deleted(chain, "wangwu", f"{DAY}T11:00")
    report = send_daily_digest(chain, DAY)
    assert report.outcomes == {"SH001": "sent", "HZ001": "sent"}
    assert len(robot.texts) == 2 and "杭州湖滨银泰店" in "".join(robot.texts)
    again = send_daily_digest(chain, DAY)
    assert again.outcomes == {"SH001": "already", "HZ001": "already"}
    assert len(robot.texts) == 2


def test_without_a_robot_the_digest_says_how_to_choose_one(chain):
    with pytest.raises(ValidationError, match="configure"):
        send_daily_digest(chain, DAY)
    assert deletion_alerts.run_digest_job(chain).endswith("skipped")


def test_a_bad_day_is_named(chain):
    with pytest.raises(ValidationError, match="'yesterday'"):
        daily_digest(chain, "yesterday")


def test_a_deletion_through_the_sandbox_reaches_the_digest(wired, wait):
    """The real path: the member deletes the customer in the sandbox → callback → event."""
    ws, sandbox = wired.ws, wired.sandbox
    userid = wired.staff_ids(1)[0]
    code = wired.service.client.add_contact_way(1, 2, user=[userid])["config_id"]
    scanned = sandbox.people.scan_contact_way(code, name="顾客甲")
    wait(lambda: scanned.external_userid in set(
        ws.contacts.df(columns=["external_userid"])["external_userid"]))
    sandbox.people.staff_deletes_customer(userid, scanned.external_userid)
    today = datetime.now(ws.timezone).date()
    digests = wait(lambda: daily_digest(ws, today))
    assert digests[0].staff[0][0] == userid and digests[0].total == 1
