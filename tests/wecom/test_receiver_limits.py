"""The public callback endpoint's limits: body size, timestamp window, counted refusals and
answers that reveal nothing. Real HTTP over loopback to a console wired to the sandbox."""

from __future__ import annotations

import logging
import secrets
import time
import tracemalloc
import xml.etree.ElementTree as ET

import httpx
import pytest
import sqlalchemy as sa

from siyu.plugins.wecom.crypto import WeComCrypto
from siyu.plugins.wecom.models import WeComCallback
from siyu.plugins.wecom.receiver import (
    MAX_AGE_S,
    MAX_AHEAD_S,
    MAX_BODY_BYTES,
    WeComCallbackHandler,
)
from siyu.plugins.wecom.rejections import RejectionCounter, stored_rejections
from siyu.plugins.wecom.sandbox.callbacks import event_xml
from siyu.plugins.wecom.sandbox.testing import wait_until
from siyu.plugins.wecom.status import callback_counts

TEXT = "text/plain; charset=utf-8"
#: Far over the cap; sent lazily in 64 KiB pieces, so the test itself never holds it.
HUGE = 32 * 2**20
#: What a refused oversize request may cost the whole process (server and client) at peak:
#: a few of Tornado's 64 KiB reads plus first-use allocations (about 1 MB seen), an eighth
#: of the body. Buffering the body would cost all of it.
PEAK_LIMIT = 4 * 2**20
NOW = 1_800_000_000  # the frozen receiver clock of the window tests


def seal(wired, *, timestamp: int | None = None, corp_id: str | None = None,
         to_user: str | None = None, user: str = "wm_someone") -> tuple[dict, bytes]:
    """Query parameters and body of a callback WeCom would post, signed with the app's
    token; ``corp_id`` encrypts it for another receive id, ``to_user`` addresses it to
    another corp."""
    sandbox = wired.sandbox
    crypto = WeComCrypto(sandbox.token, sandbox.encoding_aes_key, corp_id or sandbox.corp_id)
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    plaintext = event_xml([("ToUserName", to_user or sandbox.corp_id), ("FromUserName", "sys"),
                           ("CreateTime", int(stamp)), ("MsgType", "event"),
                           ("Event", "change_external_contact"),
                           ("ChangeType", "del_follow_user"), ("UserID", "zhangsan"),
                           ("ExternalUserID", user)])
    nonce = secrets.token_hex(8)
    envelope = ET.fromstring(crypto.encrypt(plaintext, nonce, stamp))
    body = f"<xml><Encrypt><![CDATA[{envelope.findtext('Encrypt')}]]></Encrypt></xml>"
    return ({"msg_signature": envelope.findtext("MsgSignature"), "timestamp": stamp,
             "nonce": nonce}, body.encode())


def forged(timestamp: int | None = None) -> tuple[dict, bytes]:
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    return ({"msg_signature": "0" * 40, "timestamp": stamp, "nonce": "x"},
            b"<xml><Encrypt><![CDATA[AAAA]]></Encrypt></xml>")


def stored(ws) -> int:
    with ws.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(WeComCallback)).scalar()


def refused(wired) -> dict[str, int]:
    """Refusals per reason, this process's held counts written first."""
    return {r.reason: r.total for r in wired.service.rejections()}


@pytest.fixture
def frozen(monkeypatch):
    """The receiver's clock stands at :data:`NOW`."""
    monkeypatch.setattr(WeComCallbackHandler, "clock", staticmethod(lambda: float(NOW)))
    return NOW


def lazy_body(total: int, sent: list[int]):
    """``total`` bytes in 64 KiB pieces, counting in ``sent`` what the client handed over."""
    piece = b"a" * 65536
    for _ in range(total // len(piece)):
        sent[0] += len(piece)
        yield piece


def post_huge(wired, headers: dict) -> tuple[httpx.Response, int, int, float]:
    """Post :data:`HUGE` bytes with a valid, fresh signature; return the answer, the bytes
    the client got to send, the peak traced memory and the seconds it took."""
    params, _ = seal(wired)
    sent = [0]
    tracemalloc.start()
    started = time.monotonic()
    try:
        answer = httpx.post(f"{wired.base}/wecom/callback", params=params, headers=headers,
                            content=lazy_body(HUGE, sent), timeout=30)
        took = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return answer, sent[0], peak, took


def assert_refused_unread(wired, answer, sent, peak, took):
    assert answer.status_code == 413
    assert answer.headers["content-type"] == TEXT
    assert answer.text == "payload too large"
    assert sent < HUGE  # refused before the client could send it all
    assert peak < PEAK_LIMIT, f"peak {peak} bytes: the body was buffered"
    assert took < 5
    assert stored(wired.ws) == 0
    assert refused(wired) == {"payload too large": 1}


def test_body_over_the_cap_by_content_length_is_refused_before_it_is_read(wired):
    answer, sent, peak, took = post_huge(wired, {"Content-Length": str(HUGE)})
    assert_refused_unread(wired, answer, sent, peak, took)


def test_chunked_body_over_the_cap_is_refused_once_it_outgrows_it(wired):
    answer, sent, peak, took = post_huge(wired, {})
    assert answer.request.headers["transfer-encoding"] == "chunked"
    assert_refused_unread(wired, answer, sent, peak, took)


def test_a_chunked_callback_under_the_cap_is_accepted(wired):
    wired.service.processor.stop()
    params, body = seal(wired)
    pieces = (body[i:i + 7] for i in range(0, len(body), 7))
    answer = httpx.post(f"{wired.base}/wecom/callback", params=params, content=pieces)
    assert answer.status_code == 200, answer.text
    assert callback_counts(wired.ws)["pending"] == 1


def test_a_body_one_byte_over_the_cap_is_refused(wired):
    params, _ = seal(wired)
    answer = httpx.post(f"{wired.base}/wecom/callback", params=params,
                        content=b"<" * (MAX_BODY_BYTES + 1))
    assert answer.status_code == 413
    assert stored(wired.ws) == 0


def test_thousands_of_bad_posts_make_one_counter_row_and_few_log_lines(wired, caplog):
    caplog.set_level(logging.WARNING)
    params, body = forged()
    started = time.monotonic()
    with httpx.Client(base_url=wired.base) as client:
        statuses = {client.post("/wecom/callback", params=params, content=body).status_code
                    for _ in range(3000)}
    took = time.monotonic() - started
    assert statuses == {403}
    ws = wired.ws
    assert len(stored_rejections(ws)) == 1  # one row, however many requests
    assert len(ws.events.df(kind="wecom.callback_rejected")) == 0
    assert refused(wired) == {"invalid signature": 3000}  # after writing what was held
    assert callback_counts(ws)["rejected"] == 3000
    lines = [r for r in caplog.records if r.name == "siyu.wecom" and "refused" in r.getMessage()]
    # One line when the first came, then at most one per interval (plus the last write).
    assert 1 <= len(lines) <= 2 + took / wired.service.rejects.interval
    assert not [r for r in caplog.records if r.name == "tornado.access"]
    assert stored(ws) == 0


def test_stale_and_future_timestamps_are_refused(wired, frozen):
    url = f"{wired.base}/wecom/callback"
    for stamp in (NOW - MAX_AGE_S - 1, NOW + MAX_AHEAD_S + 1, 1):
        params, body = seal(wired, timestamp=stamp)
        answer = httpx.post(url, params=params, content=body)
        assert (answer.status_code, answer.text) == (403, "stale timestamp")
        assert answer.headers["content-type"] == TEXT
    assert stored(wired.ws) == 0
    assert refused(wired) == {"stale timestamp": 3}


def test_url_verification_with_a_stale_timestamp_is_refused(wired, frozen):
    crypto = WeComCrypto(wired.sandbox.token, wired.sandbox.encoding_aes_key,
                         wired.sandbox.corp_id)
    echo = ET.fromstring(crypto.encrypt("hello", "n1", str(NOW)))
    stale = str(NOW - MAX_AGE_S - 1)
    params = {"msg_signature": crypto.signature(stale, "n1", echo.findtext("Encrypt")),
              "timestamp": stale, "nonce": "n1", "echostr": echo.findtext("Encrypt")}
    answer = httpx.get(f"{wired.base}/wecom/callback", params=params)
    assert (answer.status_code, answer.text) == (403, "stale timestamp")
    fresh = dict(params, timestamp=str(NOW),
                 msg_signature=crypto.signature(str(NOW), "n1", echo.findtext("Encrypt")))
    answer = httpx.get(f"{wired.base}/wecom/callback", params=fresh)
    assert (answer.status_code, answer.text) == (200, "hello")


def test_callbacks_at_the_window_edges_and_their_replays_are_accepted(wired, frozen):
    wired.service.processor.stop()
    url = f"{wired.base}/wecom/callback"
    for n, stamp in enumerate((NOW - MAX_AGE_S, NOW + MAX_AHEAD_S)):
        params, body = seal(wired, timestamp=stamp, user=f"wm_edge{n}")
        for _ in range(2):  # WeCom's retry, or a replay: accepted, stored once
            answer = httpx.post(url, params=params, content=body)
            assert answer.status_code == 200, answer.text
    assert callback_counts(wired.ws)["pending"] == 2
    assert refused(wired) == {}


def test_missing_or_malformed_parameters_are_400(wired):
    url = f"{wired.base}/wecom/callback"
    params, body = seal(wired)
    for broken in ({k: v for k, v in params.items() if k != "nonce"},
                   dict(params, timestamp=""), dict(params, timestamp="12e9"),
                   dict(params, timestamp="١٢٣")):
        answer = httpx.post(url, params=broken, content=body)
        assert answer.status_code == 400, broken
        assert answer.text in ("missing parameters", "malformed timestamp")
        assert answer.headers["content-type"] == TEXT
    answer = httpx.get(url, params=params)  # no echostr
    assert (answer.status_code, answer.text) == (400, "missing parameters")
    assert stored(wired.ws) == 0


def test_refusals_are_short_plain_text_that_reveal_nothing(wired):
    url = f"{wired.base}/wecom/callback"
    corp_id, token = wired.sandbox.corp_id, wired.sandbox.token
    cases = {
        "invalid signature": forged(),
        # Signed with our token, encrypted for another receive id (-40005, whose message
        # names both corp ids).
        "wrong corp": seal(wired, corp_id="wwsomeoneelse000"),
        "wrong corp (ToUserName)": seal(wired, to_user="wwsomeoneelse000"),
        "invalid payload": (seal(wired)[0], b"<xml><Encrypt>"),
    }
    answers = {name: httpx.post(url, params=params, content=body)
               for name, (params, body) in cases.items()}
    params, body = seal(wired)
    answers["invalid payload (signed)"] = httpx.post(
        url, params=dict(params, msg_signature=WeComCrypto(
            token, wired.sandbox.encoding_aes_key, corp_id).signature(
                params["timestamp"], params["nonce"], "AAAA")),
        content=b"<xml><Encrypt><![CDATA[AAAA]]></Encrypt></xml>")
    for name, answer in answers.items():
        assert answer.status_code == 403, name
        assert answer.headers["content-type"] == TEXT, name
        assert answer.text in ("invalid signature", "invalid payload"), (name, answer.text)
        assert corp_id not in answer.text and token not in answer.text
    assert answers["wrong corp"].text == "invalid payload"
    assert stored(wired.ws) == 0
    assert refused(wired) == {"invalid signature": 1, "wrong corp": 2, "invalid payload": 2}
    details = " ".join(r.sample_detail for r in wired.service.rejections())
    assert corp_id not in details and "wwsomeoneelse000" not in details


def test_unconfigured_callbacks_answer_503_without_naming_settings(wired):
    params, body = seal(wired)
    wired.ws.settings.set("wecom.corp_id", "")
    wired.service.reload()
    answer = httpx.post(f"{wired.base}/wecom/callback", params=params, content=body)
    assert (answer.status_code, answer.text) == (503, "callback not configured")
    assert answer.headers["content-type"] == TEXT
    assert refused(wired) == {"callback not configured": 1}


def test_doctor_shows_refusals_and_fails_when_wecom_would_be_refused(wired):
    from siyu.plugins.wecom.config import save_config
    from siyu.plugins.wecom.doctor import run_checks

    save_config(wired.ws, callback_url=f"{wired.base}/wecom/callback")
    params, body = forged()
    httpx.post(f"{wired.base}/wecom/callback", params=params, content=body)
    check = {c.step: c for c in run_checks(wired.ws)}["callback rejections"]
    assert check.ok is False
    assert "invalid signature 1" in check.detail and "127.0.0.1" in check.detail
    wired.sandbox.people.scan_contact_way(wired.service.client.add_contact_way(
        2, 2, user=wired.staff_ids(1))["config_id"])
    wait_until(lambda: stored(wired.ws) >= 1)
    check = {c.step: c for c in run_checks(wired.ws)}["callback rejections"]
    assert check.ok is True and "accepted since" in check.detail


# -- the counter on its own ------------------------------------------------------------


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def totals(ws) -> dict[str, int]:
    return {r.reason: r.total for r in stored_rejections(ws)}


def test_counter_writes_a_reason_at_most_once_per_interval(ws):
    clock = Clock()
    counter = RejectionCounter(ws, interval=10, monotonic=clock)
    counter._arm = lambda delay: None  # no timer: this test moves time by hand
    counter.record("invalid signature", ip="10.0.0.1", detail="one")
    assert totals(ws) == {"invalid signature": 1}  # the first is written at once
    for _ in range(5):
        counter.record("invalid signature", ip="10.0.0.2", detail="more")
    counter.record("stale timestamp", ip="10.0.0.3", detail="other reason")
    assert totals(ws) == {"invalid signature": 1, "stale timestamp": 1}
    clock.now += 10
    counter.record("invalid signature", ip="10.0.0.4", detail="after")
    assert totals(ws) == {"invalid signature": 7, "stale timestamp": 1}
    (row,) = [r for r in stored_rejections(ws) if r.reason == "invalid signature"]
    assert (row.sample_ip, row.sample_detail) == ("10.0.0.4", "after")
    assert row.first_at < row.last_at == row.sample_at
    counter.record("invalid signature", ip="10.0.0.5", detail="held")
    counter.close()  # the server stops: what was held is written
    assert totals(ws)["invalid signature"] == 8


def test_counter_timer_writes_what_was_held(ws):
    counter = RejectionCounter(ws, interval=0.2)
    try:
        for _ in range(4):
            counter.record("payload too large", ip="10.0.0.1", detail="x")
        assert totals(ws) == {"payload too large": 1}
        wait_until(lambda: totals(ws) == {"payload too large": 4}, timeout=5)
    finally:
        counter.close()
    assert totals(ws) == {"payload too large": 4}
