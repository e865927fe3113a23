"""Unsubscribing: the signed token, the record (once), the risk rule, and the public page end
to end — a message's link, the confirmation page, the one-click POST, then the veto."""

from __future__ import annotations

import re
from datetime import datetime

import httpx
import pytest
import sqlalchemy as sa
from email_support import add_contact, outgoing

import siyu
from siyu.apps.server import serve_in_background
from siyu.core.errors import NotFound, PermissionDenied
from siyu.core.i18n import use_language
from siyu.core.permissions import Principal
from siyu.plugins.email import tokens, unsubscribe
from siyu.plugins.email.config import save_config
from siyu.plugins.email.models import EmailUnsubscribe


def action(contact_id, channel="email", kind="send"):
    return {"kind": kind, "channel": channel, "campaign_id": 7, "contact_id": contact_id,
            "recipient": f"contact:{contact_id}", "text": "你好", "sender": None}


def vetoes(ws, contact_id, **kwargs):
    return [r for r in ws.hook.risk_check(ws=ws, action=action(contact_id, **kwargs)) if r]


def test_a_token_names_its_contact_and_cannot_be_forged(email_ws, tmp_path, monkeypatch):
    token = tokens.make_token(email_ws, 42)
    assert token.startswith("42.")
    assert tokens.read_token(email_ws, token) == 42
    signature = token.split(".")[1]
    assert tokens.read_token(email_ws, f"43.{signature}") is None
    assert tokens.read_token(email_ws, token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    for junk in ("", "42", "x.y", "٤٢." + signature, "42." + signature + "x"):
        assert tokens.read_token(email_ws, junk) is None
    monkeypatch.setenv("SIYU_SECRET_FILE", str(tmp_path / "another.secret"))
    assert tokens.read_token(email_ws, token) is None  # another workspace's secret


def test_unsubscribing_is_recorded_once_and_vetoes_email_only(email_ws):
    cid = add_contact(email_ws, "wx_zhang", "zhang@example.com")
    assert vetoes(email_ws, cid) == []
    first = unsubscribe.unsubscribe(email_ws, cid)
    assert unsubscribe.unsubscribe(email_ws, cid, via="one-click") == first
    with email_ws.engine.connect() as conn:
        rows = conn.execute(sa.select(EmailUnsubscribe.__table__)).all()
    assert [(r.contact_id, r.address, r.via) for r in rows] == [(cid, "zhang@example.com",
                                                                  "link")]
    day = first.astimezone(email_ws.timezone).date().isoformat()
    assert vetoes(email_ws, cid) == [f"this customer unsubscribed from e-mail on {day}"]
    with use_language("zh_CN"):
        assert vetoes(email_ws, cid) == [f"该客户已于 {day} 退订邮件"]
    assert vetoes(email_ws, cid, channel="wecom") == []
    assert vetoes(email_ws, cid, kind="payout") == []
    assert vetoes(email_ws, None) == []
    actions = email_ws.audit_log.df(action="email.*")
    assert list(actions["action"]) == ["email.unsubscribe"]
    assert list(actions["actor"]) == [f"contact:{cid}"]

    # the channel itself also refuses (a customer may unsubscribe after the risk check)
    [result] = email_ws.hook.send(ws=email_ws, channel="email", batch=[outgoing(cid)]) or [None]
    assert result.status == "failed"

    with pytest.raises(PermissionDenied):
        unsubscribe.resubscribe(email_ws.as_user(Principal("ana", "analyst")), cid)
    assert unsubscribe.resubscribe(email_ws, cid) is True
    assert unsubscribe.resubscribe(email_ws, cid) is False
    assert vetoes(email_ws, cid) == []


def test_an_unknown_contact_cannot_unsubscribe(email_ws):
    with pytest.raises(NotFound):
        unsubscribe.unsubscribe(email_ws, 999)


@pytest.fixture
def served(tmp_path, monkeypatch, smtp_server):
    """A SQLite workspace with the plugin, served in the background, its public URL the
    console's, an SMTP server to send to."""
    from email_support import extra_plugins

    monkeypatch.delenv("SIYU_SECRET_KEY", raising=False)
    monkeypatch.delenv("SIYU_SECRET_FILE", raising=False)
    ws = siyu.open("sqlite:///" + str(tmp_path / "x.db"), plugins=extra_plugins(),
                   load_entry_points=False)
    ws.settings.set("name", "<b>鲜花铺</b>")
    server = smtp_server("none")
    try:
        with serve_in_background(ws, secret="console-secret-for-the-test-0123456789") as c:
            save_config(ws, host="127.0.0.1", port=server.port, security="none",
                        from_address="shop@example.com", public_url=c.url)
            yield ws, server, c.url
    finally:
        ws.close()


def test_the_link_in_a_message_unsubscribes_through_the_public_page(served):
    ws, server, base = served
    cid = add_contact(ws, "wx_zhang", "zhang@example.com")
    [result] = ws.hook.send(ws=ws, channel="email", batch=[outgoing(cid)])
    assert result.status == "sent"
    received = server.inbox.received[0]
    link = re.fullmatch(r"<(.+)>", received.message["List-Unsubscribe"]).group(1)
    assert link in received.part("plain") and link.startswith(base)

    with httpx.Client(follow_redirects=False, timeout=20) as http:
        page = http.get(link)  # opening the link (a scanner may) changes nothing
        assert page.status_code == 200
        assert page.headers["cache-control"] == "no-store"
        assert "Unsubscribe from our e-mails?" in page.text
        assert '<form method="post"' in page.text
        assert "&lt;b&gt;鲜花铺&lt;/b&gt;" in page.text and "<b>鲜花铺" not in page.text
        assert vetoes(ws, cid) == []

        zh = http.get(link + "&lang=zh_CN")
        assert "退订" in zh.text

        # the mail client's one-click request: no cookie, RFC 8058 body
        done = http.post(link, content=b"List-Unsubscribe=One-Click",
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert done.status_code == 200
        assert "You are unsubscribed" in done.text
        [reason] = vetoes(ws, cid)
        assert reason.startswith("this customer unsubscribed from e-mail on ")
        at = unsubscribe.unsubscribed_at(ws, [cid])[cid]

        again = http.post(link, data={})  # the page's button, afterwards: still once
        assert again.status_code == 200
        assert unsubscribe.unsubscribed_at(ws, [cid])[cid] == at
        assert "You are unsubscribed" in http.get(link).text
        with ws.engine.connect() as conn:
            assert conn.execute(sa.select(EmailUnsubscribe.via)).scalars().all() == \
                ["one-click"]

        token = link.split("t=", 1)[1]
        forged = f"{base}/email/unsubscribe?t={cid + 1}.{token.split('.')[1]}"
        for bad in (forged, f"{base}/email/unsubscribe", f"{base}/email/unsubscribe?t=<x>"):
            assert http.get(bad).status_code == 400
            assert http.post(bad, data={}).status_code == 400
        assert "<x>" not in http.get(f"{base}/email/unsubscribe?t=<x>").text

    [blocked] = ws.hook.send(ws=ws, channel="email", batch=[outgoing(cid)])
    assert blocked.status == "failed" and "unsubscribed" in blocked.reason
    assert len(server.inbox.received) == 1
    assert isinstance(at, datetime)
