"""``siyu email configure / show / test`` against a real SMTP server."""

from __future__ import annotations

import io

import pytest
from email_support import PASSWORD, USER

from siyu.cli import main


@pytest.fixture
def db(tmp_path, monkeypatch, builtin_email):
    monkeypatch.delenv("SIYU_SECRET_KEY", raising=False)
    monkeypatch.delenv("SIYU_SECRET_FILE", raising=False)
    return f"sqlite:///{tmp_path / 'shop.db'}"


def run(capsys, *argv, stdin: str = ""):
    import sys

    saved = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        code = main(list(argv))
    finally:
        sys.stdin = saved
    out, err = capsys.readouterr()
    return code, out, err


def test_configure_then_send_a_test_message(capsys, db, smtp_server, certificates):
    server = smtp_server("starttls", auth=True)
    code, out, err = run(capsys, "--db", db, "email", "configure", "--host", "127.0.0.1",
                         "--port", str(server.port), "--security", "starttls",
                         "--username", USER, "--password-stdin", "--from",
                         "shop@example.com", "--from-name", "鲜花铺",
                         "--ca-file", str(certificates.ca), stdin=PASSWORD + "\n")
    assert code == 0, err
    assert "e-mail settings saved" in out
    assert "password: set" in out and PASSWORD not in out
    assert f"port: {server.port}" in out

    code, out, err = run(capsys, "--db", db, "email", "test", "--to", "me@example.com")
    assert code == 0, err
    assert out.startswith("sent a test message to me@example.com (Message-ID <")
    assert server.inbox.received[0].rcpt_tos == ["me@example.com"]
    assert server.inbox.received[0].login == USER

    code, out, _err = run(capsys, "--db", db, "email", "show")
    assert code == 0 and "host: 127.0.0.1" in out


def test_a_failed_test_message_prints_the_reason_and_exits_1(capsys, db, smtp_server,
                                                            certificates):
    server = smtp_server("ssl", auth=True)
    run(capsys, "--db", db, "email", "configure", "--host", "127.0.0.1", "--port",
        str(server.port), "--security", "ssl", "--username", USER, "--password-stdin",
        "--from", "shop@example.com", "--ca-file", str(certificates.ca), stdin="wrong\n")
    code, out, err = run(capsys, "--db", db, "email", "test", "--to", "me@example.com")
    assert code == 1
    assert "the message was not sent: the SMTP server 127.0.0.1 refused the login of " \
           "shop@example.com" in err
    assert not server.inbox.received


def test_a_bad_setting_is_one_line_naming_it(capsys, db):
    code, _out, err = run(capsys, "--db", db, "email", "configure", "--port", "smtp")
    assert code == 2
    assert err.strip() == "siyu: error: port: 'smtp' is not a port number (1-65535)"
    code, _out, err = run(capsys, "--db", db, "email", "configure", "--password-stdin")
    assert code == 2 and "standard input held no password" in err


def test_an_unconfigured_test_says_what_to_set(capsys, db):
    code, _out, err = run(capsys, "--db", db, "email", "test", "--to", "me@example.com")
    assert code == 1
    assert "e-mail is not set up: set host, from_address (siyu email configure)" in err
