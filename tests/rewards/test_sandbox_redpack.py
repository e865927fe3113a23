"""The sandbox's WeChat Pay red-packet API over loopback HTTP (reference §5): signatures,
rules, idempotent billnos, query statuses and refunds on the sandbox clock."""

from __future__ import annotations

import hashlib
import itertools

import httpx
import pytest

from siyu.plugins.wecom.sandbox.clock import Clock
from siyu.plugins.wecom.sandbox.errors import SandboxError
from siyu.plugins.wecom.sandbox.redpack import RedPackLimits, parse_xml, render_xml
from siyu.plugins.wecom.sandbox.server import Sandbox

START = 1_735_700_000.0  # 2025-01-01 10:53:20 Beijing time
_numbers = itertools.count(1)


def md5(fields: dict, tail: str) -> str:
    text = "&".join(f"{k}={v}" for k, v in sorted(fields.items()) if v != "" and k != "sign")
    return hashlib.md5((text + tail).encode()).hexdigest().upper()


WORKWX = ("act_name", "mch_billno", "mch_id", "nonce_str", "re_openid", "total_amount",
          "wxappid")


@pytest.fixture
def sandbox():
    with Sandbox(seed=3, clock=Clock.frozen(START), mch_id="1900000109",
                 mch_key="k" * 32, pay_secret="p" * 43) as box:
        yield box


def openid(sandbox: Sandbox, n: int = 0) -> str:
    return sorted(c.openid for c in sandbox.world.customers.values())[n]


def billno(sandbox: Sandbox) -> str:
    return f"{sandbox.mch_id}20250101{next(_numbers):010d}"


def request(sandbox: Sandbox, *, key: str | None = None, secret: str | None = None,
            **overrides) -> dict:
    fields = {"nonce_str": "5K8264ILTKCH16CQ2502SI8ZNMTM67VS", "mch_billno": billno(sandbox),
              "mch_id": sandbox.mch_id, "wxappid": sandbox.corp_id, "sender_name": "小思",
              "re_openid": openid(sandbox), "total_amount": "1000",
              "wishing": "感谢您参加猜灯谜活动", "act_name": "猜灯谜抢红包活动",
              "remark": "猜越多得越多"}
    fields.update({k: str(v) for k, v in overrides.items()})
    fields = {k: v for k, v in fields.items() if v != "None"}
    workwx = {k: fields.get(k, "") for k in WORKWX}
    fields["workwx_sign"] = md5(workwx, f"&secret={secret or sandbox.pay_secret}")
    fields["sign"] = md5(fields, f"&key={key or sandbox.mch_key}")
    return fields


def post(sandbox: Sandbox, api: str, fields: dict | bytes) -> dict:
    body = fields if isinstance(fields, bytes) else render_xml(fields).encode()
    response = httpx.post(f"{sandbox.base_url}/mmpaymkttransfers/{api}", content=body)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/xml")
    answer = parse_xml(response.content)
    if answer["return_code"] == "SUCCESS":  # every answer that got through is signed
        assert answer["sign"] == md5(answer, f"&key={sandbox.mch_key}")
    return answer


def send(sandbox: Sandbox, **overrides) -> dict:
    return post(sandbox, "sendworkwxredpack", request(sandbox, **overrides))


def query(sandbox: Sandbox, number: str) -> dict:
    fields = {"nonce_str": "n" * 16, "mch_billno": number, "mch_id": sandbox.mch_id,
              "appid": sandbox.corp_id}
    fields["sign"] = md5(fields, f"&key={sandbox.mch_key}")
    return post(sandbox, "queryworkwxredpack", fields)


def test_a_good_request_pays_the_customer(sandbox):
    balance = sandbox.redpacks.merchant.balance
    fields = request(sandbox)
    answer = post(sandbox, "sendworkwxredpack", fields)
    assert answer["return_code"] == answer["result_code"] == "SUCCESS"
    assert answer["mch_billno"] == fields["mch_billno"] and answer["total_amount"] == "1000"
    assert answer["re_openid"] == fields["re_openid"] and answer["wxappid"] == sandbox.corp_id
    assert answer["send_listid"] and answer["sender_name"] == "小思"
    packet = sandbox.redpacks.get(fields["mch_billno"])
    assert packet.status == "SENT" and packet.total_amount == 1000
    assert sandbox.redpacks.merchant.balance == balance - 1000


def test_the_sandbox_settings_are_random_unless_given():
    with Sandbox(seed=1) as one, Sandbox(seed=1) as two:
        assert one.mch_id != two.mch_id and one.mch_key != two.mch_key
        assert one.pay_secret != two.pay_secret and len(one.mch_key) == 32


def test_a_wrong_merchant_signature_is_refused(sandbox):
    answer = send(sandbox, key="x" * 32)
    assert answer["return_code"] == "FAIL" and answer["err_code"] == "SIGN_ERROR"
    assert sandbox.redpacks.paid() == []


def test_a_wrong_wecom_signature_is_refused(sandbox):
    answer = send(sandbox, secret="wrong-secret")
    assert answer["return_code"] == "FAIL" and answer["err_code"] == "SIGN_ERROR"
    assert "workwx_sign" in answer["err_code_des"]
    assert sandbox.redpacks.paid() == []


def test_workwx_sign_may_use_the_app_secret_when_agentid_is_given(sandbox):
    answer = send(sandbox, sender_name=None, agentid=sandbox.world.corp.agent_id,
                  secret=sandbox.secret)
    assert answer["result_code"] == "SUCCESS"
    answer = send(sandbox, agentid=sandbox.world.corp.agent_id)  # with sender_name
    assert answer["err_code"] == "PARAM_ERROR"


@pytest.mark.parametrize("amount", [99, 20001, 1])
def test_amounts_outside_1_to_200_yuan_are_refused(sandbox, amount):
    answer = send(sandbox, total_amount=amount)
    assert answer["return_code"] == "SUCCESS" and answer["result_code"] == "FAIL"
    assert answer["err_code"] == "MONEY_LIMIT"
    assert sandbox.redpacks.paid() == []


def test_the_edges_of_the_amount_range_are_paid(sandbox):
    assert send(sandbox, total_amount=100)["result_code"] == "SUCCESS"
    assert send(sandbox, total_amount=20000)["result_code"] == "SUCCESS"


@pytest.mark.parametrize("number", ["bad-billno", "x" * 29, "单号123"])
def test_malformed_billnos_are_refused(sandbox, number):
    answer = send(sandbox, mch_billno=number)
    assert answer["err_code"] == "PARAM_ERROR" and answer["result_code"] == "FAIL"


@pytest.mark.parametrize("name,value", [("act_name", "活" * 33), ("wishing", "x" * 129),
                                        ("remark", "x" * 257), ("nonce_str", "n" * 33)])
def test_over_long_fields_are_refused(sandbox, name, value):
    assert send(sandbox, **{name: value})["err_code"] == "PARAM_ERROR"


@pytest.mark.parametrize("name", ["wishing", "act_name", "remark", "re_openid"])
def test_required_fields_are_required(sandbox, name):
    assert send(sandbox, **{name: None})["err_code"] == "PARAM_ERROR"


def test_an_openid_that_is_no_customer_of_the_corp_is_refused(sandbox):
    assert send(sandbox, re_openid="ooNobodyAtAll0000000000000")["err_code"] == "OPENID_ERROR"


def test_wxappid_must_be_the_corp_id(sandbox):
    assert send(sandbox, wxappid="wx8888888888888888")["err_code"] == "ILLEGAL_APPID"


def test_xml_with_entities_or_garbage_is_refused(sandbox):
    evil = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "boom">]>'
            b"<xml><mch_id>&e;</mch_id></xml>")
    assert post(sandbox, "sendworkwxredpack", evil)["err_code"] == "XML_ERROR"
    assert post(sandbox, "sendworkwxredpack", b"{not xml")["err_code"] == "XML_ERROR"


def test_a_user_gets_at_most_10_packets_a_day(sandbox):
    for _i in range(10):
        assert send(sandbox, total_amount=100)["result_code"] == "SUCCESS"
    assert send(sandbox, total_amount=100)["err_code"] == "SENDNUM_LIMIT"
    assert send(sandbox, total_amount=100, re_openid=openid(sandbox, 1))["result_code"] \
        == "SUCCESS"                                  # another customer still can
    sandbox.clock.advance(24 * 3600)                  # the next Beijing day
    assert send(sandbox, total_amount=100)["result_code"] == "SUCCESS"


def test_a_user_receives_at_most_1000_yuan_a_day(sandbox):
    for _i in range(5):
        assert send(sandbox, total_amount=20000)["result_code"] == "SUCCESS"
    assert send(sandbox, total_amount=100)["err_code"] == "RCVDAMOUNT_LIMIT"


def test_merchant_daily_total_balance_and_frequency_are_kept():
    limits = RedPackLimits(merchant_daily_amount=1500, per_minute=3)
    with Sandbox(seed=3, clock=Clock.frozen(START), redpack_limits=limits) as box:
        assert send(box, total_amount=1000)["result_code"] == "SUCCESS"
        assert send(box, total_amount=600)["err_code"] == "SENDAMOUNT_LIMIT"
        limits.merchant_daily_amount = 10**9
        assert send(box, total_amount=100)["result_code"] == "SUCCESS"
        assert send(box, total_amount=100)["result_code"] == "SUCCESS"
        assert send(box, total_amount=100)["err_code"] == "FREQ_LIMIT"
        box.clock.advance(60)
        box.redpacks.merchant.balance = 50
        answer = send(box, total_amount=100)
        assert answer["err_code"] == "NOTENOUGH" and answer["err_code_des"]


def test_the_same_request_again_returns_the_same_result_and_pays_once(sandbox):
    fields = request(sandbox)
    first = post(sandbox, "sendworkwxredpack", fields)
    balance = sandbox.redpacks.merchant.balance
    again = post(sandbox, "sendworkwxredpack", {**fields})
    assert again["result_code"] == "SUCCESS"
    assert again["send_listid"] == first["send_listid"]
    assert len(sandbox.redpacks.paid()) == 1
    assert sandbox.redpacks.merchant.balance == balance


def test_the_same_billno_with_another_amount_is_refused(sandbox):
    fields = request(sandbox)
    post(sandbox, "sendworkwxredpack", fields)
    other = request(sandbox, mch_billno=fields["mch_billno"], total_amount=2000)
    answer = post(sandbox, "sendworkwxredpack", other)
    assert answer["result_code"] == "FAIL" and answer["err_code"] == "FATAL_ERROR"
    assert [p.total_amount for p in sandbox.redpacks.paid()] == [1000]


def test_a_refused_billno_can_be_used_again(sandbox):
    fields = request(sandbox, total_amount=50)
    assert post(sandbox, "sendworkwxredpack", fields)["err_code"] == "MONEY_LIMIT"
    again = request(sandbox, mch_billno=fields["mch_billno"], total_amount=500)
    assert post(sandbox, "sendworkwxredpack", again)["result_code"] == "SUCCESS"


def test_query_answers_the_status_of_a_packet(sandbox):
    fields = request(sandbox)
    sent = post(sandbox, "sendworkwxredpack", fields)
    answer = query(sandbox, fields["mch_billno"])
    assert answer["result_code"] == "SUCCESS" and answer["status"] == "SENT"
    assert answer["detail_id"] == sent["send_listid"] and answer["send_type"] == "API"
    assert answer["total_amount"] == "1000" and answer["openid"] == fields["re_openid"]
    assert answer["send_time"] == "2025-01-01 10:53:20"
    assert answer["act_name"] == "猜灯谜抢红包活动" and "rcv_time" not in answer
    sandbox.clock.advance(90)
    sandbox.redpacks.receive(fields["mch_billno"])
    answer = query(sandbox, fields["mch_billno"])
    assert answer["status"] == "RECEIVED" and answer["rcv_time"] == "2025-01-01 10:54:50"
    with pytest.raises(SandboxError):
        sandbox.redpacks.receive(fields["mch_billno"])


def test_query_of_an_unknown_billno_is_not_found(sandbox):
    answer = query(sandbox, billno(sandbox))
    assert answer["result_code"] == "FAIL" and answer["err_code"] == "NOT_FOUND"


def test_a_query_with_a_wrong_signature_is_refused(sandbox):
    fields = {"nonce_str": "abc", "mch_billno": billno(sandbox), "mch_id": sandbox.mch_id,
              "appid": sandbox.corp_id, "sign": "0" * 32}
    answer = post(sandbox, "queryworkwxredpack", fields)
    assert answer["return_code"] == "FAIL" and answer["err_code"] == "SIGN_ERROR"


def test_an_unreceived_packet_is_refunded_after_24_hours(sandbox):
    fields = request(sandbox)
    post(sandbox, "sendworkwxredpack", fields)
    balance = sandbox.redpacks.merchant.balance
    sandbox.clock.advance(24 * 3600 - 1)
    assert query(sandbox, fields["mch_billno"])["status"] == "SENT"
    sandbox.clock.advance(1)
    answer = query(sandbox, fields["mch_billno"])
    assert answer["status"] == "REFUND" and answer["refund_amount"] == "1000"
    assert answer["refund_time"] == "2025-01-02 10:53:20"
    assert sandbox.redpacks.merchant.balance == balance + 1000
    with pytest.raises(SandboxError, match="REFUND"):
        sandbox.redpacks.receive(fields["mch_billno"])


def test_refunds_pass_rfund_ing_while_processing(sandbox):
    sandbox.redpacks.limits.refund_processing = 600
    fields = request(sandbox)
    post(sandbox, "sendworkwxredpack", fields)
    sandbox.clock.advance(24 * 3600 + 10)
    assert query(sandbox, fields["mch_billno"])["status"] == "RFUND_ING"
    sandbox.clock.advance(600)
    assert query(sandbox, fields["mch_billno"])["status"] == "REFUND"


def test_a_received_packet_is_not_refunded(sandbox):
    fields = request(sandbox)
    post(sandbox, "sendworkwxredpack", fields)
    sandbox.redpacks.receive(fields["mch_billno"])
    sandbox.clock.advance(48 * 3600)
    assert query(sandbox, fields["mch_billno"])["status"] == "RECEIVED"


def test_packets_older_than_30_days_are_not_found(sandbox):
    fields = request(sandbox)
    post(sandbox, "sendworkwxredpack", fields)
    sandbox.clock.advance(31 * 86400)
    assert query(sandbox, fields["mch_billno"])["err_code"] == "NOT_FOUND"


def test_systemerror_is_answered_once_and_the_packet_exists(sandbox):
    sandbox.faults.set(pay_systemerrors=1)
    fields = request(sandbox)
    answer = post(sandbox, "sendworkwxredpack", fields)
    assert answer["result_code"] == "FAIL" and answer["err_code"] == "SYSTEMERROR"
    assert query(sandbox, fields["mch_billno"])["status"] == "SENT"
    again = post(sandbox, "sendworkwxredpack", fields)   # retried with the same billno
    assert again["result_code"] == "SUCCESS" and len(sandbox.redpacks.paid()) == 1
    assert sandbox.faults.injected["pay_systemerrors"] == 1


def test_a_lost_answer_leaves_a_recorded_packet(sandbox):
    sandbox.faults.set(pay_lost_answers=1)
    fields = request(sandbox)
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.post(f"{sandbox.base_url}/mmpaymkttransfers/sendworkwxredpack",
                   content=render_xml(fields).encode())
    assert query(sandbox, fields["mch_billno"])["status"] == "SENT"
    assert sandbox.faults.pay_lost_answers == 0


def test_answers_follow_the_sandbox_language(sandbox):
    sandbox.language = "zh_CN"
    assert send(sandbox, total_amount=1)["err_code_des"].startswith("红包金额")
    sandbox.language = "en"
    assert send(sandbox, total_amount=1)["err_code_des"].startswith("Red packet amount")
