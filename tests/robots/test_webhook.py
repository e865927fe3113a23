"""The signed ``webhook`` channel against a real receiver on 127.0.0.1 that checks every
signature with ``verify_signature``; the settings; and the signature scheme itself."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest

from siyu.core.errors import PermissionDenied, ValidationError
from siyu.core.permissions import Principal
from siyu.core.records import OutgoingMessage
from siyu.plugins.robots import configure_webhook, verify_signature, webhook_settings
from siyu.plugins.robots.webhook import signature

from .conftest import SECRET
from .servers import closed_port


def message(n: int, **kwargs) -> OutgoingMessage:
    return OutgoingMessage(delivery_id=n, key=f"3:contact:{n}", campaign_id=3,
                           channel="webhook", recipient=f"contact:{n}", contact_id=n,
                           text=f"您好 {n}", **kwargs)


def send(ws, batch):
    return ws.hook.send(ws=ws, channel="webhook", batch=batch)


# -- settings ----------------------------------------------------------------------------------


def test_settings_are_stored_and_the_secret_never_shown(ws, receiver):
    assert webhook_settings(ws) == {"url": "", "secret": "not set", "timeout": 10.0}
    shown = configure_webhook(ws, url=receiver.url(), secret=SECRET, timeout=2.5)
    assert shown == {"url": receiver.url(), "secret": "set", "timeout": 2.5}
    configure_webhook(ws, url=receiver.url("/other"))  # the secret and timeout stay
    assert webhook_settings(ws) == {"url": receiver.url("/other"), "secret": "set",
                                    "timeout": 2.5}
    assert SECRET not in json.dumps(list(ws.audit_log.df(action="setting.set")["detail"]),
                                    default=str)


@pytest.mark.parametrize(("values", "message"), [
    ({"url": "http://hooks.example.com/siyu"}, "plain http:// is accepted only for"),
    ({"url": "hooks.example.com"}, "is not an https:// URL"),
    ({"secret": "short"}, "the secret must have at least 16 characters"),
    ({"timeout": 0}, "the timeout must be above 0 and at most 60 seconds"),
    ({"timeout": "soon"}, "the timeout must be above 0"),
])
def test_bad_settings_are_refused(lite, values, message):
    with pytest.raises(ValidationError, match=message):
        configure_webhook(lite, **values)
    assert webhook_settings(lite)["url"] == ""


def test_only_admins_configure_the_webhook(lite):
    with pytest.raises(PermissionDenied):
        configure_webhook(lite.as_user(Principal("op", "operator")),
                          url="https://hooks.example.com/siyu")


# -- sending -----------------------------------------------------------------------------------


def test_each_message_is_posted_signed_with_its_idempotency_key(ws, receiver):
    configure_webhook(ws, url=receiver.url(), secret=SECRET)
    before = int(time.time())
    results = send(ws, [message(1, variant="B", subject="s", extra={"x": 1}),
                        message(2, attachments=({"msgtype": "image", "url": "u"},))])
    assert [(r.status, r.provider_id) for r in results] == [("sent", "r-1"), ("sent", "r-2")]
    first, second = receiver.received
    assert first["valid"] and second["valid"]
    assert first["headers"]["Idempotency-Key"] == "3:contact:1"
    assert first["headers"]["Content-Type"] == "application/json; charset=utf-8"
    timestamp = int(first["headers"]["X-Siyu-Signature"].split(",")[0][2:])
    assert before <= timestamp <= time.time()
    body = json.loads(first["body"])
    sent_at = body.pop("sent_at")
    assert body == {"delivery_id": 1, "key": "3:contact:1", "campaign_id": 3,
                    "recipient": "contact:1", "contact_id": 1, "variant": "B",
                    "text": "您好 1", "attachments": [], "subject": "s", "attempt": 1}
    assert sent_at.endswith("Z") and len(sent_at) == 20
    assert json.loads(second["body"])["attachments"] == [{"msgtype": "image", "url": "u"}]


def test_an_answer_without_an_id_is_sent_without_one(lite, receiver):
    configure_webhook(lite, url=receiver.url("/empty"), secret=SECRET)
    [result] = send(lite, [message(1)])
    assert (result.status, result.provider_id) == ("sent", None)


@pytest.mark.parametrize(("path", "status"), [("/busy", 503), ("/throttled", 429),
                                              ("/timeout", 408)])
def test_transient_answers_are_retried(lite, receiver, path, status):
    configure_webhook(lite, url=receiver.url(path), secret=SECRET)
    [result] = send(lite, [message(1)])
    assert (result.status, result.retry) == ("failed", True)
    assert result.reason.startswith(f"webhook: HTTP {status} (")
    assert result.reason.endswith("tried again later")


def test_a_refusal_fails_with_the_status_and_the_start_of_the_answer(lite, receiver):
    configure_webhook(lite, url=receiver.url("/reject"), secret=SECRET)
    [result] = send(lite, [message(1)])
    assert (result.status, result.retry) == ("failed", False)
    assert result.reason.startswith('webhook: HTTP 422: {"error": "unknown campaign xxx')
    assert result.reason.endswith("x…") and len(result.reason) < 250


def test_a_wrong_secret_is_refused_by_the_receiver(lite, receiver):
    configure_webhook(lite, url=receiver.url(), secret="another-secret-of-16+")
    [result] = send(lite, [message(1)])
    assert (result.status, result.retry) == ("failed", False)
    assert "HTTP 401" in result.reason and "bad signature" in result.reason
    assert receiver.received[0]["valid"] is False


def test_a_timeout_is_retried(lite, receiver):
    configure_webhook(lite, url=receiver.url("/slow"), secret=SECRET, timeout=0.3)
    [result] = send(lite, [message(1)])
    assert (result.status, result.retry) == ("failed", True)
    assert "webhook: no answer within the timeout (ReadTimeout)" in result.reason


def test_a_receiver_that_is_down_is_tried_three_times_per_batch(lite):
    configure_webhook(lite, url=f"http://127.0.0.1:{closed_port()}/hook", secret=SECRET)
    results = send(lite, [message(n) for n in range(1, 6)])
    assert [(r.status, r.retry) for r in results] == [("failed", True)] * 5
    assert all("cannot connect" in r.reason for r in results[:3])
    assert all("not tried: the receiver did not answer 3 times in a row" in r.reason
               for r in results[3:])


def test_without_settings_nothing_is_sent(lite):
    results = send(lite, [message(1), message(2)])
    assert [(r.status, r.retry) for r in results] == [("failed", False)] * 2
    assert "has no URL or secret yet" in results[0].reason


# -- the signature -----------------------------------------------------------------------------


BODY = b'{"delivery_id":1,"text":"\xe6\x82\xa8\xe5\xa5\xbd"}'


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body():
    digest = hmac.new(SECRET.encode(), b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert signature(SECRET, BODY, 1700000000) == f"t=1700000000,v1={digest}"
    assert verify_signature(SECRET, f"t=1700000000,v1={digest}", BODY, now=1700000100)
    assert verify_signature(SECRET, f"t=1700000000, v1={digest.upper()}", BODY.decode(),
                            now=1700000000)


def test_a_signature_is_refused_when_anything_is_off():
    header = signature(SECRET, BODY, 1700000000)
    assert not verify_signature(SECRET, header, BODY + b" ", now=1700000000)
    assert not verify_signature("another-secret-of-16+", header, BODY, now=1700000000)
    assert not verify_signature(SECRET, header, BODY, now=1700000301)
    assert verify_signature(SECRET, header, BODY, now=1700000301, tolerance_s=400)
    assert not verify_signature(SECRET, header, BODY, now=1699999699)
    for bad in (None, "", "v1=abc", "t=1700000000", "t=soon,v1=ab", "garbage",
                header.replace("v1=", "v0=")):
        assert not verify_signature(SECRET, bad, BODY, now=1700000000), bad
    assert not verify_signature("", header, BODY, now=1700000000)


def test_any_of_several_v1_entries_may_match():
    digest = signature(SECRET, BODY, 1700000000).split("v1=")[1]
    header = f"t=1700000000,v1={'0' * 64},v1={digest}"
    assert verify_signature(SECRET, header, BODY, now=1700000000)
