"""WeCom settings of a workspace: corp id, app secret, callback token and key.

Secrets are write-only: :func:`public_config` never returns them, and nothing logs them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

from siyu.core.errors import ConfigError, ValidationError
from siyu.core.i18n import translator

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

_ = translator("siyu.plugins.wecom")

PREFIX = "wecom."
SECRETS = ("secret", "encoding_aes_key", "token")
DEFAULT_BASE_URL = "https://qyapi.weixin.qq.com"


@dataclass(frozen=True)
class WeComConfig:
    """What siyu needs to talk to one WeCom corp app."""

    corp_id: str = ""
    agent_id: str = ""
    secret: str = ""
    token: str = ""
    encoding_aes_key: str = ""
    base_url: str = DEFAULT_BASE_URL
    callback_url: str = ""
    welcome_text: str = ""

    @property
    def api_ready(self) -> bool:
        """Whether the API can be called (corp id and secret set)."""
        return bool(self.corp_id and self.secret)

    @property
    def callback_ready(self) -> bool:
        """Whether callbacks can be verified (corp id, token and key set)."""
        return bool(self.corp_id and self.token and self.encoding_aes_key)


def load_config(ws: Workspace) -> WeComConfig:
    """The workspace's WeCom settings (empty strings where unset)."""
    stored = {f.name: ws.settings.get(PREFIX + f.name) for f in fields(WeComConfig)}
    return WeComConfig(**{k: v for k, v in stored.items() if v not in (None, "")})


def validate(values: dict[str, Any]) -> None:
    """Check the shapes WeCom documents; raise :class:`ValidationError` naming the field."""
    if values.get("token") and not re.fullmatch(r"[A-Za-z0-9]{1,32}", values["token"]):
        raise ValidationError(_("callback token must be 1-32 letters or digits"))
    key = values.get("encoding_aes_key")
    if key and not re.fullmatch(r"[A-Za-z0-9]{43}", key):
        raise ValidationError(_("EncodingAESKey must be exactly 43 letters or digits"))
    for name in ("base_url", "callback_url"):
        url = values.get(name)
        if url and not re.match(r"^https?://", url):
            raise ValidationError(_("{name} {url} must start with http:// or https://",
                                    name=name, url=repr(url)))


def save_config(ws: Workspace, **values: Any) -> WeComConfig:
    """Store WeCom settings; a secret given as ``None`` or ``""`` keeps its old value.

    :raises ValidationError: a malformed token, key or URL.
    :raises ConfigError: an unknown setting name.
    """
    known = {f.name for f in fields(WeComConfig)}
    unknown = set(values) - known
    if unknown:
        raise ConfigError(_("unknown WeCom setting(s) {unknown}; known: {known}",
                            unknown=", ".join(sorted(unknown)), known=", ".join(sorted(known))))
    validate(values)
    for name, value in values.items():
        if name in SECRETS and not value:
            continue
        ws.settings.set(PREFIX + name, value.strip() if isinstance(value, str) else value)
    return load_config(ws)


def public_config(ws: Workspace) -> dict[str, Any]:
    """Settings safe to show: secrets appear only as ``set`` / ``not set`` (in the current
    language)."""
    config = load_config(ws)
    shown = {f.name: getattr(config, f.name) for f in fields(WeComConfig)}
    for name in SECRETS:
        shown[name] = _("set") if shown[name] else _("not set")
    return shown
