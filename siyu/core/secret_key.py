"""The workspace's signing secret: where it lives and how it is made.

The secret signs console session cookies and Bokeh session tokens. Anyone who holds it can
forge a session, so it is never stored in the database (whose readers include every notebook
user and every backup): it comes from

1. ``$SIYU_SECRET_KEY`` (at least 32 characters), for deployments that keep secrets in their
   environment or several ``siyu serve`` processes that must share one; else
2. the file named by ``$SIYU_SECRET_FILE``; else
3. a file beside a SQLite database (``shop.db`` → ``shop.db.secret``), or, for a server
   database, ``~/.config/siyu/<driver>-<host>-<port>-<database>.secret``.

A missing file is created on first use with 0600 permissions; a file that others may read is
refused with an error saying how to fix it.
"""

from __future__ import annotations

import os
import re
import secrets
import stat
from pathlib import Path

from sqlalchemy.engine import make_url

from siyu.core.errors import ConfigError
from siyu.core.i18n import core as _

ENV_KEY = "SIYU_SECRET_KEY"
ENV_FILE = "SIYU_SECRET_FILE"
MIN_LENGTH = 32


def secret_path(url: str) -> Path:
    """Where the secret of the workspace at ``url`` is kept when no variable names one."""
    if os.environ.get(ENV_FILE):
        return Path(os.environ[ENV_FILE]).expanduser()
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        return Path(parsed.database).expanduser().resolve().with_name(
            Path(parsed.database).name + ".secret")
    parts = [parsed.get_backend_name(), parsed.host or "local", str(parsed.port or ""),
             parsed.database or ""]
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", "-".join(p for p in parts if p))
    config = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return config / "siyu" / f"{name}.secret"


def load_secret(url: str) -> str:
    """The signing secret for the workspace at ``url``, created on first use.

    :raises ConfigError: ``$SIYU_SECRET_KEY`` is too short, or the secret file is readable
        by other users, empty, or cannot be written.
    """
    given = os.environ.get(ENV_KEY)
    if given is not None:
        if len(given) < MIN_LENGTH:
            raise ConfigError(_("${variable} must be at least {n} characters long; make one "
                                "with: python -c 'import secrets; "
                                "print(secrets.token_urlsafe(32))'", variable=ENV_KEY,
                                n=MIN_LENGTH))
        return given
    if make_url(url).get_backend_name() == "sqlite" and make_url(url).database in (
            None, "", ":memory:") and not os.environ.get(ENV_FILE):
        return _process_secret()
    return _read_or_create(secret_path(url))


_EPHEMERAL: list[str] = []


def _process_secret() -> str:
    """An in-memory database lives only in this process; so does its secret."""
    if not _EPHEMERAL:
        _EPHEMERAL.append(secrets.token_urlsafe(32))
    return _EPHEMERAL[0]


def _read_or_create(path: Path) -> str:
    if path.exists():
        return _read(path)
    # Write a private temporary file, then link it into place: the link fails if another
    # process won the race, and nobody ever reads a half-written secret.
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48) + "\n")
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    except OSError as exc:
        raise ConfigError(_("cannot create the secret file {path}: {reason}; set "
                            "${file_variable} to a writable path or ${key_variable}",
                            path=path, reason=exc.strerror, file_variable=ENV_FILE,
                            key_variable=ENV_KEY)) from exc
    return _read(path)


def _read(path: Path) -> str:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(_("the secret file {path} may be read by other users "
                            "(mode {mode}); run: chmod 600 {path}", path=path,
                            mode=stat.filemode(mode)))
    value = path.read_text(encoding="utf-8").strip()
    if len(value) < MIN_LENGTH:
        raise ConfigError(_("the secret file {path} holds fewer than {n} characters; "
                            "delete it to have a new one made (every console user will have "
                            "to sign in again)", path=path, n=MIN_LENGTH))
    return value
