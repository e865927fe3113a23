"""One SMTP connection, and what the server's answers mean for a message.

:func:`connect` opens and secures the connection and logs in; trouble there is a
:class:`SmtpProblem` saying whether it is transient (the server is down or busy: try again
later) or not (a refused login, a certificate that does not verify: someone must fix the
settings). :meth:`Connection.deliver` sends one message and answers a
:class:`~siyu.core.records.SendResult`: ``sent``, ``failed`` (``retry`` for a 4xx reply) or,
when the connection broke while the message itself was on its way, ``unknown``.

No database is touched here; callers must not hold a transaction while calling (the
:mod:`siyu.storage.guard` detector is asked before connecting).
"""

from __future__ import annotations

import base64
import smtplib
import socket
import ssl
from dataclasses import dataclass

from siyu.core.i18n import translator
from siyu.core.records import SendResult
from siyu.plugins.email.config import EmailConfig
from siyu.storage import guard

_ = translator("siyu.plugins.email")


class SmtpProblem(Exception):
    """The connection could not be opened or used.

    :ivar reason: what went wrong, for an operator.
    :ivar retry: it is transient (try again later).
    """

    def __init__(self, reason: str, retry: bool):
        super().__init__(reason)
        self.reason = reason
        self.retry = retry


class ConnectionLost(Exception):
    """The connection broke during a message; :attr:`result` is that message's result."""

    def __init__(self, result: SendResult, reason: str):
        super().__init__(reason)
        self.result = result
        self.reason = reason


def _reply(code: int, text: bytes | str) -> str:
    """A server reply as one line: ``550 5.1.1 no such user``."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {' '.join(str(text).split())}".strip()


def _transient(code: int) -> bool:
    return 400 <= code < 500


def _network_reason(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPServerDisconnected) and isinstance(exc.__context__, OSError):
        exc = exc.__context__  # smtplib's "Connection unexpectedly closed: timed out"
    if isinstance(exc, socket.timeout | TimeoutError):
        return _("no answer (timed out)")
    if isinstance(exc, ConnectionRefusedError):
        return _("connection refused")
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return _("the server closed the connection")
    if isinstance(exc, socket.gaierror):
        return _("unknown host ({error})", error=exc.strerror or exc)
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def _tls_context(config: EmailConfig) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if config.ca_file:
        try:
            context.load_verify_locations(cafile=config.ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise SmtpProblem(_("cannot read the certificate authorities in ca_file {path}: "
                                "{error}", path=config.ca_file, error=exc), retry=False) from exc
    return context


@dataclass
class Connection:
    """An open, secured, logged-in SMTP connection (see :func:`connect`)."""

    smtp: smtplib.SMTP
    config: EmailConfig

    def deliver(self, to: str, data: bytes, *, smtputf8: bool = False,
                message_id: str | None = None) -> SendResult:
        """Send one message (``data`` as :func:`~siyu.plugins.email.compose.as_bytes`
        gives it) to ``to``.

        :raises ConnectionLost: the connection broke; its ``result`` is ``unknown`` when the
            message's content had started on its way, else a transient failure.
        """
        smtp = self.smtp
        options: list[str] = []
        if smtputf8:
            if not smtp.has_extn("smtputf8"):
                return SendResult("failed", reason=_(
                    "the address {address} is not ASCII and the SMTP server does not accept "
                    "such addresses (no SMTPUTF8)", address=to))
            options = ["SMTPUTF8", "BODY=8BITMIME"]
        try:
            code, text = smtp.mail(self.config.from_address, options)
            if code != 250:
                self._reset()
                return SendResult("failed", retry=_transient(code), reason=_(
                    "the SMTP server refused the sender {address}: {reply}",
                    address=self.config.from_address, reply=_reply(code, text)))
            code, text = smtp.rcpt(to)
            if code not in (250, 251):
                self._reset()
                return SendResult("failed", retry=_transient(code), reason=_(
                    "the SMTP server refused the address {address}: {reply}", address=to,
                    reply=_reply(code, text)))
        except (OSError, smtplib.SMTPServerDisconnected) as exc:
            reason = _("lost the connection to the SMTP server: {error}",
                       error=_network_reason(exc))
            raise ConnectionLost(SendResult("failed", retry=True, reason=reason),
                                 reason) from exc
        try:
            code, text = smtp.data(data)
        except smtplib.SMTPDataError as exc:  # DATA itself refused: nothing was sent
            self._reset()
            return SendResult("failed", retry=_transient(exc.smtp_code), reason=_(
                "the SMTP server refused the message: {reply}",
                reply=_reply(exc.smtp_code, exc.smtp_error)))
        except (OSError, smtplib.SMTPServerDisconnected) as exc:
            reason = _("lost the connection to the SMTP server: {error}",
                       error=_network_reason(exc))
            unknown = SendResult("unknown", provider_id=message_id, reason=_(
                "the connection broke while the message was being sent; the server may or "
                "may not have taken it ({error})", error=_network_reason(exc)))
            raise ConnectionLost(unknown, reason) from exc
        if code != 250:
            self._reset()
            return SendResult("failed", retry=_transient(code), reason=_(
                "the SMTP server refused the message: {reply}", reply=_reply(code, text)))
        return SendResult("sent", provider_id=message_id)

    def _reset(self) -> None:
        try:
            self.smtp.rset()
        except (OSError, smtplib.SMTPException):
            pass

    def close(self) -> None:
        """Say goodbye (``QUIT``), ignoring a server that is already gone."""
        try:
            self.smtp.quit()
        except (OSError, smtplib.SMTPException):
            try:
                self.smtp.close()
            except OSError:
                pass


def connect(config: EmailConfig) -> Connection:
    """Open a connection to the configured server, secure it and log in.

    :raises SmtpProblem: naming what failed; ``retry`` is true for trouble that may pass
        (refused or timed-out connection, a 4xx greeting) and false for settings to fix.
    """
    host, port = config.host, config.effective_port
    guard.check_network(f"smtp:{host}", f"SMTP {host}:{port}")
    context = _tls_context(config) if config.security != "none" else None
    smtp: smtplib.SMTP | None = None
    try:
        if config.security == "ssl":
            smtp = smtplib.SMTP_SSL(host, port, timeout=config.timeout, context=context)
        else:
            smtp = smtplib.SMTP(host, port, timeout=config.timeout)
        smtp.ehlo()
        if config.security == "starttls":
            if not smtp.has_extn("starttls"):
                raise SmtpProblem(_("the SMTP server {host}:{port} does not offer STARTTLS; "
                                    "set security to ssl (usually port 465) or check the "
                                    "port", host=host, port=port), retry=False)
            smtp.starttls(context=context)
            smtp.ehlo()
        if config.username:
            _login(smtp, config.username, config.password)
        return Connection(smtp, config)
    except SmtpProblem:
        _close_quietly(smtp)
        raise
    except smtplib.SMTPAuthenticationError as exc:
        _close_quietly(smtp)
        raise SmtpProblem(_("the SMTP server {host} refused the login of {username}: "
                            "{reply}; check the user name and password", host=host,
                            username=config.username,
                            reply=_reply(exc.smtp_code, exc.smtp_error)),
                          retry=False) from exc
    except smtplib.SMTPNotSupportedError as exc:
        _close_quietly(smtp)
        raise SmtpProblem(_("the SMTP server {host} does not accept a login here ({error}); "
                            "remove the user name, or use starttls or ssl", host=host,
                            error=exc), retry=False) from exc
    except ssl.SSLCertVerificationError as exc:
        _close_quietly(smtp)
        raise SmtpProblem(_("the certificate of the SMTP server {host} could not be "
                            "verified: {error}; fix the server's certificate or name its "
                            "authority in ca_file", host=host,
                            error=exc.verify_message or exc), retry=False) from exc
    except ssl.SSLError as exc:
        _close_quietly(smtp)
        raise SmtpProblem(_("TLS with the SMTP server {host}:{port} failed ({error}); check "
                            "that security ({security}) matches the port", host=host,
                            port=port, error=exc.reason or exc, security=config.security),
                          retry=False) from exc
    except smtplib.SMTPResponseException as exc:
        _close_quietly(smtp)
        raise SmtpProblem(_("the SMTP server {host}:{port} answered {reply}", host=host,
                            port=port, reply=_reply(exc.smtp_code, exc.smtp_error)),
                          retry=_transient(exc.smtp_code)) from exc
    except (OSError, smtplib.SMTPException) as exc:
        _close_quietly(smtp)
        raise SmtpProblem(_("cannot reach the SMTP server {host}:{port}: {error}", host=host,
                            port=port, error=_network_reason(exc)), retry=True) from exc


def _login(smtp: smtplib.SMTP, username: str, password: str) -> None:
    """Log in. ``smtplib`` sends only ASCII credentials; a user name or password with other
    characters goes as UTF-8 (RFC 4954) through AUTH PLAIN, else AUTH LOGIN."""
    if username.isascii() and password.isascii():
        smtp.login(username, password)
        return
    if not smtp.has_extn("auth"):
        raise smtplib.SMTPNotSupportedError("SMTP AUTH extension not supported by server.")
    offered = smtp.esmtp_features.get("auth", "").upper().split()
    user, secret = username.encode("utf-8"), password.encode("utf-8")
    if "PLAIN" in offered:
        code, reply = smtp.docmd("AUTH", "PLAIN " + _b64(b"\0" + user + b"\0" + secret))
    elif "LOGIN" in offered:
        code, reply = smtp.docmd("AUTH", "LOGIN " + _b64(user))
        if code == 334:
            code, reply = smtp.docmd(_b64(secret))
    else:
        raise smtplib.SMTPNotSupportedError(
            "no AUTH mechanism for a non-ASCII user name or password (needs PLAIN or LOGIN)")
    if code != 235:
        raise smtplib.SMTPAuthenticationError(code, reply)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _close_quietly(smtp: smtplib.SMTP | None) -> None:
    if smtp is not None:
        try:
            smtp.close()
        except OSError:
            pass
