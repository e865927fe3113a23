"""The ``email`` channel against a real SMTP server: what arrives, and what each kind of
trouble answers (sent / failed / failed to retry)."""

from __future__ import annotations

import re
import socket
import threading

import pytest
import sqlalchemy as sa
from email_support import PASSWORD, USER, add_contact, outgoing

from siyu.core.errors import PermissionDenied
from siyu.core.permissions import Principal
from siyu.plugins.email import channel
from siyu.plugins.email.config import save_config
from siyu.plugins.email.tokens import read_token
from siyu.storage import guard
from siyu.storage.models import Setting

PUBLIC = "https://crm.example.com"


def configure(ws, server, **extra):
    values = {"host": "127.0.0.1", "port": server.port, "security": server.security,
              "from_address": "shop@example.com", "from_name": "鲜花铺",
              "public_url": PUBLIC, "timeout": 5}
    values.update(extra)
    save_config(ws, **values)


def send(ws, batch):
    return ws.hook.send(ws=ws, channel="email", batch=batch)


def test_the_plugin_registers_its_channel_and_risk_rule(email_ws):
    spec = email_ws.channels["email"]
    assert (spec.batch_size, spec.text_limit, spec.placeholders, spec.reconcile) == \
        (50, 100_000, None, None)
    assert str(spec.title) == "E-mail"
    assert "email_unsubscribed" in email_ws.risk_rules


def test_other_channels_are_not_answered(email_ws):
    assert email_ws.hook.send(ws=email_ws, channel="sms", batch=[outgoing(1)]) is None


def test_a_batch_arrives_as_multipart_messages_over_one_connection(email_ws, smtp_server):
    server = smtp_server("none")
    configure(email_ws, server, reply_to="service@example.com")
    zhang = add_contact(email_ws, "wx_zhang", "zhang@example.com")
    li = add_contact(email_ws, "wx_li", " Li@Example.COM ", name="李四")
    text = "双十一 <b>特惠</b> & 包邮\n详情见 https://shop.example.com/sale?a=1&b=2。\n第三行"
    results = send(email_ws, [outgoing(zhang, text, subject="双十一特惠", delivery_id=1),
                              outgoing(li, "Hi", delivery_id=2)])

    assert [r.status for r in results] == ["sent", "sent"]
    received = server.inbox.received
    assert [r.rcpt_tos for r in received] == [["zhang@example.com"], ["Li@example.com"]]
    assert server.inbox.connections == 1
    first = received[0].message
    assert received[0].mail_from == "shop@example.com"
    assert first["Message-ID"] == results[0].provider_id
    assert results[0].provider_id != results[1].provider_id
    assert first["Subject"] == "双十一特惠"
    assert received[1].message["Subject"] == "鲜花铺"  # no subject: the workspace's name
    assert first["From"].addresses[0].display_name == "鲜花铺"
    assert first["Reply-To"] == "service@example.com"
    assert first.get_content_type() == "multipart/alternative"

    link = re.fullmatch(r"<(.+)>", first["List-Unsubscribe"]).group(1)
    assert link.startswith(f"{PUBLIC}/email/unsubscribe?t=")
    assert read_token(email_ws, link.split("t=", 1)[1]) == zhang
    assert first["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert f"\r\nList-Unsubscribe: <{link}>\r\n".encode() in received[0].content

    plain = received[0].part("plain")
    assert plain.startswith(text + "\n")
    assert link in plain
    page = received[0].part("html")
    assert "双十一 &lt;b&gt;特惠&lt;/b&gt; &amp; 包邮<br>" in page
    assert ('<a href="https://shop.example.com/sale?a=1&amp;b=2">'
            'https://shop.example.com/sale?a=1&amp;b=2</a>。<br>') in page
    assert f'href="{link}"' in page
    assert "<b>" not in page


def test_starttls_with_a_login(email_ws, smtp_server, certificates):
    server = smtp_server("starttls", auth=True)
    configure(email_ws, server, username=USER, password=PASSWORD,
              ca_file=str(certificates.ca))
    cid = add_contact(email_ws, "wx_zhang", "zhang@example.com")
    assert [r.status for r in send(email_ws, [outgoing(cid)])] == ["sent"]
    assert server.inbox.received[0].login == USER


@pytest.mark.parametrize("mechanism", ["LOGIN", "PLAIN"])
def test_implicit_tls_with_each_login_mechanism(email_ws, smtp_server, certificates,
                                                mechanism):
    other = {"LOGIN": "PLAIN", "PLAIN": "LOGIN"}[mechanism]
    server = smtp_server("ssl", auth=True, exclude=(other,))
    configure(email_ws, server, username=USER, password=PASSWORD,
              ca_file=str(certificates.ca))
    cid = add_contact(email_ws, "wx_zhang", "zhang@example.com")
    assert [r.status for r in send(email_ws, [outgoing(cid)])] == ["sent"]
    assert server.inbox.received[0].login == USER


def test_a_refused_login_fails_the_whole_batch_without_retry(email_ws, smtp_server,
                                                             certificates):
    server = smtp_server("starttls", auth=True)
    configure(email_ws, server, username=USER, password="wrong",
              ca_file=str(certificates.ca))
    ids = [add_contact(email_ws, f"wx_{i}", f"c{i}@example.com") for i in range(3)]
    results = send(email_ws, [outgoing(cid, delivery_id=i) for i, cid in enumerate(ids)])
    assert [(r.status, r.retry) for r in results] == [("failed", False)] * 3, results
    assert "refused the login of shop@example.com" in results[0].reason
    assert "535" in results[0].reason
    assert not server.inbox.received


def test_an_untrusted_certificate_is_not_retried(email_ws, smtp_server):
    server = smtp_server("ssl")
    configure(email_ws, server)
    cid = add_contact(email_ws, "wx_zhang", "zhang@example.com")
    [result] = send(email_ws, [outgoing(cid)])
    assert (result.status, result.retry) == ("failed", False)
    assert "could not be verified" in result.reason


def test_starttls_not_offered_is_a_setting_to_fix(email_ws, smtp_server):
    server = smtp_server("none")
    configure(email_ws, server, security="starttls")
    cid = add_contact(email_ws, "wx_zhang", "zhang@example.com")
    [result] = send(email_ws, [outgoing(cid)])
    assert (result.status, result.retry) == ("failed", False)
    assert "does not offer STARTTLS" in result.reason


def test_refused_recipients_fail_alone(email_ws, smtp_server):
    server = smtp_server("none")
    server.inbox.refuse = {"gone@example.com": "550 5.1.1 No such user here",
                           "full@example.com": "452 4.2.2 Mailbox full"}
    configure(email_ws, server)
    ids = [add_contact(email_ws, f"wx_{name}", f"{name}@example.com")
           for name in ("a", "gone", "full", "b")]
    results = send(email_ws, [outgoing(cid, delivery_id=i) for i, cid in enumerate(ids)])
    assert [(r.status, r.retry) for r in results] == [
        ("sent", False), ("failed", False), ("failed", True), ("sent", False)]
    assert results[1].reason == ("the SMTP server refused the address gone@example.com: "
                                 "550 5.1.1 No such user here")
    assert "452 4.2.2 Mailbox full" in results[2].reason
    assert [r.rcpt_tos for r in server.inbox.received] == [["a@example.com"],
                                                          ["b@example.com"]]
    assert server.inbox.connections == 1


def test_a_server_that_is_down_is_retried(email_ws):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    save_config(email_ws, host="127.0.0.1", port=port, security="none",
                from_address="shop@example.com", public_url=PUBLIC)
    ids = [add_contact(email_ws, f"wx_{i}", f"c{i}@example.com") for i in range(2)]
    results = send(email_ws, [outgoing(cid, delivery_id=i) for i, cid in enumerate(ids)])
    assert [(r.status, r.retry) for r in results] == [("failed", True)] * 2
    assert results[0].reason == (f"cannot reach the SMTP server 127.0.0.1:{port}: "
                                 "connection refused")


def test_a_server_that_does_not_answer_is_retried(email_ws):
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(5)
    accepted = []
    thread = threading.Thread(target=lambda: accepted.append(silent.accept()), daemon=True)
    thread.start()
    try:
        save_config(email_ws, host="127.0.0.1", port=silent.getsockname()[1],
                    security="none", from_address="shop@example.com", public_url=PUBLIC,
                    timeout=0.5)
        cid = add_contact(email_ws, "wx_zhang", "zhang@example.com")
        [result] = send(email_ws, [outgoing(cid)])
    finally:
        thread.join(5)
        for conn, _addr in accepted:
            conn.close()
        silent.close()
    assert (result.status, result.retry) == ("failed", True)
    assert "timed out" in result.reason


def test_contacts_without_a_usable_address_fail_with_the_reason(email_ws, smtp_server):
    server = smtp_server("none")
    configure(email_ws, server)
    none = add_contact(email_ws, "wx_none")
    empty = add_contact(email_ws, "wx_empty", "  ")
    bad = add_contact(email_ws, "wx_bad", "zhang at example.com")
    named = add_contact(email_ws, "wx_named", "张三 <zhang@example.com>")
    results = send(email_ws, [outgoing(cid, delivery_id=i)
                              for i, cid in enumerate([none, empty, bad, named])]
                   + [outgoing(None, delivery_id=9)])
    assert [(r.status, r.retry) for r in results] == [("failed", False)] * 5
    assert results[0].reason == f"contact {none} has no e-mail address (custom field email)"
    assert results[1].reason == f"contact {empty} has no e-mail address (custom field email)"
    assert results[2].reason == (f"contact {bad} has an invalid e-mail address "
                                 "'zhang at example.com': an address may not contain spaces "
                                 "or line breaks")
    assert "without a name" in results[3].reason
    assert results[4].reason == "the e-mail channel sends to contacts; robot:1 is not one"
    assert server.inbox.connections == 0


def test_an_unconfigured_channel_names_the_missing_settings(email_ws):
    cid = add_contact(email_ws, "wx_zhang", "zhang@example.com")
    [result] = send(email_ws, [outgoing(cid)])
    assert (result.status, result.retry) == ("failed", False)
    assert result.reason == ("e-mail is not set up: set host, from_address, public_url "
                             "(siyu email configure)")


def test_no_transaction_is_open_while_the_server_is_called(email_ws, smtp_server):
    """The channel reads, then talks to the server; a caller that holds a write transaction
    is refused by the detector before any byte goes out."""
    server = smtp_server("none")
    configure(email_ws, server)
    cid = add_contact(email_ws, "wx_zhang", "zhang@example.com")
    with email_ws.engine.begin() as conn:
        conn.execute(sa.update(Setting).where(Setting.key == "name").values(value="x"))
        with pytest.raises(guard.NetworkInTransaction, match="smtp:127.0.0.1"):
            channel._deliver(channel.load_config(email_ws), [(0, "a@example.com", b"x",
                                                              False, "<id>")], [None])
    guard.clear()
    assert not server.inbox.received
    assert [r.status for r in send(email_ws, [outgoing(cid)])] == ["sent"]


def test_a_test_message_goes_to_the_operator(email_ws, smtp_server):
    server = smtp_server("none")
    save_config(email_ws, host="127.0.0.1", port=server.port, security="none",
                from_address="shop@example.com")  # no public URL needed for a test
    result = channel.send_test(email_ws, "me@example.com")
    assert result.status == "sent"
    message = server.inbox.received[0].message
    assert message["Subject"] == "Test message from 鲜花铺"
    assert "List-Unsubscribe" not in message
    assert channel.send_test(email_ws, "me@").reason.startswith("'me@' is not a valid")
    with pytest.raises(PermissionDenied):
        channel.send_test(email_ws.as_user(Principal("op", "operator")), "me@example.com")
