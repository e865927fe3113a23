"""siyu's red-packet payout client (siyu.plugins.rewards.wxpay) against the sandbox's WeChat
Pay API: paid, refused, and the "unknown outcome → query before retrying" paths."""

from __future__ import annotations

import hashlib
import logging
import re
from datetime import UTC, datetime

import pytest

from siyu.core.errors import ValidationError
from siyu.plugins.rewards.wxpay import (
    PayConfig,
    PayoutResult,
    from_xml,
    new_billno,
    query_red_packet,
    send_red_packet,
    sign,
    to_xml,
    workwx_sign,
)
from siyu.plugins.wecom.sandbox.clock import Clock
from siyu.plugins.wecom.sandbox.server import Sandbox

START = 1_735_700_000.0  # 2025-01-01 10:53:20 Beijing time


@pytest.fixture
def sandbox():
    with Sandbox(seed=5, clock=Clock.frozen(START)) as box:
        yield box


@pytest.fixture
def config(sandbox):
    return PayConfig(sandbox.mch_id, sandbox.mch_key, sandbox.pay_secret, sandbox.corp_id,
                     base_url=sandbox.base_url, timeout=5)


def openid(sandbox, n: int = 0) -> str:
    return sorted(c.openid for c in sandbox.world.customers.values())[n]


def pay(config, sandbox, billno=None, amount=888, **extra) -> PayoutResult:
    return send_red_packet(config, billno=billno or new_billno(config.mch_id, START),
                           openid=extra.pop("openid", openid(sandbox)), amount_fen=amount,
                           sender_name="小思", act_name="新春红包", wishing="新年快乐", **extra)


# -- signatures and XML ------------------------------------------------------------------


def test_sign_matches_wechat_pays_worked_example():
    # WeChat Pay's 签名算法 page (pay.weixin.qq.com wiki, "安全规范"), not in the reference:
    # stringSignTemp = "appid=…&body=test&device_info=1000&mch_id=10000100&nonce_str=…&key=…"
    fields = {"appid": "wxd930ea5d5a258f4f", "mch_id": "10000100", "device_info": "1000",
              "body": "test", "nonce_str": "ibuaiVcKdpRxkhJA", "empty": "", "sign": "X"}
    assert sign(fields, "192006250b4c09247ec02edce69f6a2d") == \
        "9A0A8659F005D6984697E2CA0A9CF3B7"


def test_workwx_sign_follows_the_reference_example():
    # Reference §5.3 ([M:90281]) gives stringA and the secret, but no hash.
    fields = {"act_name": "XXX", "mch_billno": "11111234567890", "mch_id": "10000098",
              "nonce_str": "qFKEgfig76DF9912fewmkp",
              "re_openid": "oxTWIuGaIt6gTKsQRLau2M0yL16E", "total_amount": "100",
              "wxappid": "wx123456789",
              # fields outside the fixed list do not take part
              "sender_name": "XX活动", "wishing": "祝福", "remark": "备注", "sign": "S"}
    string_a = ("act_name=XXX&mch_billno=11111234567890&mch_id=10000098"
                "&nonce_str=qFKEgfig76DF9912fewmkp&re_openid=oxTWIuGaIt6gTKsQRLau2M0yL16E"
                "&total_amount=100&wxappid=wx123456789")
    secret = "192006250b4c09247ec02edce69f6a2d"
    expected = hashlib.md5(f"{string_a}&secret={secret}".encode()).hexdigest().upper()
    assert workwx_sign(fields, secret) == expected


def test_sign_covers_workwx_sign_and_skips_empty_fields():
    fields = {"a": "1", "workwx_sign": "W", "b": ""}
    expected = hashlib.md5(b"a=1&workwx_sign=W&key=K").hexdigest().upper()
    assert sign(fields, "K") == expected


def test_xml_round_trips_and_refuses_entities():
    fields = {"act_name": "<新春> & ]]> 红包", "total_amount": 100, "skipped": None}
    assert from_xml(to_xml(fields)) == {"act_name": "<新春> & ]]> 红包", "total_amount": "100"}
    with pytest.raises(ValueError, match="DOCTYPE"):
        from_xml('<!DOCTYPE xml [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><a>&e;</a></xml>')
    with pytest.raises(ValueError):
        from_xml("<html></html>")
    with pytest.raises(ValueError):
        from_xml("not xml")


def test_new_billno_follows_the_suggested_format():
    now = datetime(2025, 1, 1, 17, 0, tzinfo=UTC)  # already Jan 2 in Beijing
    billno = new_billno("1900000109", now)
    assert re.fullmatch(r"190000010920250102\d{10}", billno) and len(billno) == 28
    assert new_billno("1900000109", now) != billno
    assert new_billno("1900000109", START).startswith("190000010920250101")
    with pytest.raises(ValidationError):
        new_billno("12345678901", now)


def test_keys_are_not_in_repr():
    config = PayConfig("1900000109", "merchant-key-123", "pay-secret-456", "ww1")
    assert "merchant-key-123" not in repr(config) and "pay-secret-456" not in repr(config)


# -- against the sandbox -----------------------------------------------------------------


def test_a_packet_is_paid(config, sandbox, caplog):
    caplog.set_level(logging.DEBUG)
    billno = new_billno(config.mch_id, START)
    result = pay(config, sandbox, billno)
    assert result.status == "paid" and result.billno == billno and not result.err_code
    assert result.send_listid and result.raw["total_amount"] == "888"
    packet = sandbox.redpacks.get(billno)
    assert packet.total_amount == 888 and packet.remark == "新春红包"  # act_name as remark
    assert config.mch_key not in caplog.text and config.pay_secret not in caplog.text
    queried = query_red_packet(config, billno)
    assert queried.status == "paid" and queried.wx_status == "SENT"
    assert queried.send_listid == result.send_listid


@pytest.mark.parametrize("amount", [99, 20001, 0, 1.5, True, "100"])
def test_amounts_are_checked_before_sending(config, sandbox, amount):
    with pytest.raises(ValidationError, match="100"):
        pay(config, sandbox, amount=amount)
    assert sandbox.redpacks.paid() == []


def test_bad_billnos_and_texts_are_checked_before_sending(config, sandbox):
    with pytest.raises(ValidationError, match="billno"):
        pay(config, sandbox, billno="bad-billno")
    with pytest.raises(ValidationError, match="act_name"):
        send_red_packet(config, billno=new_billno(config.mch_id, START), openid="oo1",
                        amount_fen=100, sender_name="小思", act_name="活" * 33, wishing="x")
    with pytest.raises(ValidationError, match="billno"):
        query_red_packet(config, "x" * 29)


def test_a_refusal_is_failed_with_wechat_pays_message(config, sandbox):
    sandbox.redpacks.merchant.balance = 100
    result = pay(config, sandbox)
    assert result.status == "failed" and result.err_code == "NOTENOUGH"
    assert result.message and "NOTENOUGH" not in result.message
    result = pay(config, sandbox, openid="ooNobody00000000000000000")
    assert result.status == "failed" and result.err_code == "OPENID_ERROR"


def test_daily_limits_are_failed(config, sandbox):
    sandbox.redpacks.limits.user_daily_count = 1
    assert pay(config, sandbox).status == "paid"
    result = pay(config, sandbox)
    assert (result.status, result.err_code) == ("failed", "SENDNUM_LIMIT")


def test_a_wrong_key_is_a_failed_signature(config, sandbox):
    wrong = PayConfig(config.mch_id, "x" * 32, config.pay_secret, config.appid,
                      base_url=config.base_url)
    result = pay(wrong, sandbox)
    assert (result.status, result.err_code) == ("failed", "SIGN_ERROR")
    wrong = PayConfig(config.mch_id, config.mch_key, "nope", config.appid,
                      base_url=config.base_url)
    assert pay(wrong, sandbox).err_code == "SIGN_ERROR"


def test_an_answer_that_does_not_verify_is_unknown(config, sandbox, monkeypatch):
    billno = new_billno(config.mch_id, START)
    # the packet is sent, but its answer comes back with a signature the key does not make
    monkeypatch.setattr(sandbox.redpacks, "signed", lambda answer: {**answer, "sign": "0" * 32})
    result = pay(config, sandbox, billno)
    assert (result.status, result.err_code) == ("unknown", "BAD_SIGNATURE")
    assert query_red_packet(config, billno).status == "unknown"
    monkeypatch.undo()
    assert query_red_packet(config, billno).status == "paid"


def test_a_systemerror_is_unknown_then_the_query_says_paid(config, sandbox):
    sandbox.faults.set(pay_systemerrors=1)
    billno = new_billno(config.mch_id, START)
    result = pay(config, sandbox, billno)
    assert (result.status, result.err_code) == ("unknown", "SYSTEMERROR")
    queried = query_red_packet(config, billno)
    assert queried.status == "paid" and queried.wx_status == "SENT"
    again = pay(config, sandbox, billno)       # re-sent with the same billno: no second payment
    assert again.status == "paid" and again.send_listid == queried.send_listid
    assert len(sandbox.redpacks.paid()) == 1


def test_a_timeout_after_recording_is_unknown_and_not_paid_twice(config, sandbox):
    sandbox.faults.set(pay_lost_answers=1, answer_latency=1.0)
    impatient = PayConfig(config.mch_id, config.mch_key, config.pay_secret, config.appid,
                          base_url=config.base_url, timeout=0.3)
    billno = new_billno(config.mch_id, START)
    balance = sandbox.redpacks.merchant.balance
    result = pay(impatient, sandbox, billno)
    assert (result.status, result.err_code) == ("unknown", "TIMEOUT")
    sandbox.faults.set(answer_latency=0.0)
    queried = query_red_packet(config, billno)
    assert queried.status == "paid" and queried.wx_status == "SENT"
    assert pay(config, sandbox, billno).status == "paid"
    assert len(sandbox.redpacks.paid()) == 1
    assert sandbox.redpacks.merchant.balance == balance - 888


def test_a_dropped_answer_is_unknown(config, sandbox):
    sandbox.faults.set(pay_lost_answers=1)
    billno = new_billno(config.mch_id, START)
    result = pay(config, sandbox, billno)
    assert (result.status, result.err_code) == ("unknown", "NETWORK")
    assert query_red_packet(config, billno).status == "paid"


def test_an_http_error_is_unknown(config, sandbox):
    sandbox.faults.set(error_rate=1.0)
    result = pay(config, sandbox)
    assert (result.status, result.err_code) == ("unknown", "HTTP_503")


def test_an_unreachable_server_is_failed_and_nothing_was_sent(config, sandbox):
    port = sandbox.port
    sandbox.stop()
    closed = PayConfig(config.mch_id, config.mch_key, config.pay_secret, config.appid,
                       base_url=f"http://127.0.0.1:{port}", timeout=2)
    result = pay(closed, sandbox)
    assert (result.status, result.err_code) == ("failed", "CONNECT_ERROR")


def test_query_of_an_unknown_billno_is_failed_not_found(config, sandbox):
    result = query_red_packet(config, new_billno(config.mch_id, START))
    assert (result.status, result.err_code) == ("failed", "NOT_FOUND")


def test_query_follows_receiving_and_refunds(config, sandbox):
    received, refunded = new_billno(config.mch_id, START), new_billno(config.mch_id, START)
    assert pay(config, sandbox, received).status == "paid"
    assert pay(config, sandbox, refunded).status == "paid"
    sandbox.redpacks.receive(received)
    sandbox.clock.advance(24 * 3600)
    assert query_red_packet(config, received).wx_status == "RECEIVED"
    result = query_red_packet(config, refunded)
    assert result.status == "paid" and result.wx_status == "REFUND"
    assert result.raw["refund_amount"] == "888"
