"""E-mail settings of a workspace: the SMTP server, the login, the sender, the public URL.

Kept in the workspace settings under ``email.*``, as the WeCom settings are. The password is
write-only: :func:`public_config` never returns it, and nothing logs it. Changing a setting
needs the ``settings.write`` permission.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

from siyu.core.errors import ConfigError, ValidationError
from siyu.core.i18n import translator
from siyu.plugins.email.addresses import AddressError, check_address

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

_ = translator("siyu.plugins.email")

PREFIX = "email."
SECRETS = ("password",)
#: How the connection to the server is protected: STARTTLS on a plain port (587), TLS from
#: the first byte (465), or nothing (25; only sensible for a relay on this machine).
SECURITY = ("starttls", "ssl", "none")
DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}
DEFAULT_TIMEOUT = 30.0
MAX_TIMEOUT = 600.0
_HOST = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?")


@dataclass(frozen=True)
class EmailConfig:
    """What siyu needs to send e-mail through one SMTP server.

    :ivar host: the SMTP server's name or IP address.
    :ivar port: its port; ``0`` for the usual one of ``security`` (587, 465 or 25).
    :ivar security: ``"starttls"``, ``"ssl"`` or ``"none"``.
    :ivar username: the login; empty to send without logging in.
    :ivar password: the login's password (write-only).
    :ivar from_address: the sender address (``From``, and the envelope sender).
    :ivar from_name: the name shown with it.
    :ivar reply_to: where replies go; empty for the sender address.
    :ivar public_url: the address customers reach ``siyu serve`` at
        (``https://crm.example.com``); unsubscribe links point there.
    :ivar timeout: seconds to wait for the server before giving up.
    :ivar ca_file: a PEM file of certificate authorities to trust besides the system's
        (an intranet server with its own CA).
    """

    host: str = ""
    port: int = 0
    security: str = "starttls"
    username: str = ""
    password: str = ""
    from_address: str = ""
    from_name: str = ""
    reply_to: str = ""
    public_url: str = ""
    timeout: float = DEFAULT_TIMEOUT
    ca_file: str = ""

    @property
    def effective_port(self) -> int:
        """The port to connect to."""
        return self.port or DEFAULT_PORTS[self.security]

    def missing(self, *, campaigns: bool = True) -> list[str]:
        """The settings that must still be given before mail can go out (``public_url`` only
        for campaigns, whose messages carry an unsubscribe link)."""
        needed = ["host", "from_address"] + (["public_url"] if campaigns else [])
        return [name for name in needed if not getattr(self, name)]


FIELDS = tuple(f.name for f in fields(EmailConfig))


def load_config(ws: Workspace) -> EmailConfig:
    """The workspace's e-mail settings (defaults where unset)."""
    stored = {name: ws.settings.get(PREFIX + name) for name in FIELDS}
    return EmailConfig(**{k: v for k, v in stored.items() if v not in (None, "")})


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _clean(name: str, value: Any) -> Any:
    """One setting checked and normalised; :class:`ValidationError` names the field."""
    if isinstance(value, str):
        value = value.strip()
    if value is None or value == "":
        return "" if name not in ("port", "timeout") else None
    if name == "host":
        host = str(value)
        if "://" in host or not (_HOST.fullmatch(host) or _is_ip(host)):
            raise ValidationError(_("host: {value!r} is not a server name or IP address "
                                    "(write smtp.example.com, without a scheme or port)",
                                    value=host))
        return host
    if name == "port":
        try:
            port = int(value)
        except (TypeError, ValueError):
            port = -1
        if isinstance(value, bool) or not 1 <= port <= 65535:
            raise ValidationError(_("port: {value!r} is not a port number (1-65535)",
                                    value=value))
        return port
    if name == "security":
        if value not in SECURITY:
            raise ValidationError(_("security: {value!r} is not one of {allowed}",
                                    value=value, allowed=", ".join(SECURITY)))
        return value
    if name in ("from_address", "reply_to"):
        try:
            return check_address(value)
        except AddressError as exc:
            raise ValidationError(_("{field}: {value!r} is not a valid e-mail address: "
                                    "{reason}", field=name, value=value, reason=exc)) from None
    if name == "from_name":
        if "\n" in value or "\r" in value or len(value) > 200:
            raise ValidationError(_("from_name: one line of at most 200 characters"))
        return value
    if name == "public_url":
        url = str(value).rstrip("/")
        if len(url) > 200 or not re.fullmatch(r"https?://[^\s/?#]+(?:/[^\s?#]*)?", url):
            raise ValidationError(_("public_url: {value!r} must be an http:// or https:// "
                                    "address of at most 200 characters without ? or #, e.g. "
                                    "https://crm.example.com",
                                    value=value))
        return url
    if name == "timeout":
        try:
            timeout = float(value)
        except (TypeError, ValueError):
            timeout = -1.0
        if isinstance(value, bool) or not 0 < timeout <= MAX_TIMEOUT:
            raise ValidationError(_("timeout: {value!r} is not a number of seconds between 0 "
                                    "and {most}", value=value, most=int(MAX_TIMEOUT)))
        return timeout
    if name in ("username", "password", "ca_file"):
        if "\n" in str(value) or "\r" in str(value):
            raise ValidationError(_("{field}: may not contain line breaks", field=name))
        return str(value)
    return value


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def save_config(ws: Workspace, **values: Any) -> EmailConfig:
    """Store e-mail settings; a password given as ``None`` or ``""`` keeps its old value,
    and an empty value of another setting clears it.

    :raises PermissionDenied: the acting user may not change settings (``settings.write``).
    :raises ConfigError: an unknown setting name.
    :raises ValidationError: a bad value, naming the setting; or a password that would go
        over the network unencrypted (``security="none"`` with a login to a server that is
        not this machine).
    """
    ws.principal.require("settings.write")
    unknown = set(values) - set(FIELDS)
    if unknown:
        raise ConfigError(_("unknown e-mail setting(s) {unknown}; known: {known}",
                            unknown=", ".join(sorted(unknown)), known=", ".join(FIELDS)))
    cleaned = {name: _clean(name, value) for name, value in values.items()}
    merged = {**{f: getattr(load_config(ws), f) for f in FIELDS},
              **{k: v for k, v in cleaned.items() if not (k in SECRETS and not v)}}
    if merged["security"] == "none" and merged["username"] and merged["host"] \
            and not _is_loopback(merged["host"]):
        raise ValidationError(_("security: 'none' would send the password of {username} "
                                "unencrypted to {host}; use starttls or ssl",
                                username=merged["username"], host=merged["host"]))
    for name, value in cleaned.items():
        if name in SECRETS and not value:
            continue
        ws.settings.set(PREFIX + name, value)
    return load_config(ws)


def public_config(ws: Workspace) -> dict[str, Any]:
    """Settings safe to show: the password appears only as ``set`` / ``not set`` (in the
    current language), the port as the one used."""
    config = load_config(ws)
    shown = {name: getattr(config, name) for name in FIELDS}
    shown["port"] = config.effective_port
    for name in SECRETS:
        shown[name] = _("set") if shown[name] else _("not set")
    return shown
