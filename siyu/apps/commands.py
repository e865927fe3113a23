"""The console's CLI commands: ``siyu serve`` and ``siyu user``."""

from __future__ import annotations

import argparse
import getpass
import secrets
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from siyu.core.errors import NotFound, ValidationError
from siyu.core.i18n import LANGUAGES, language_name, normalize_language
from siyu.core.i18n import core as _
from siyu.core.permissions import CONSOLE_ROLES

#: What ``siyu user language NAME default`` takes to mean "follow the workspace's language".
FOLLOW_WORKSPACE = "default"


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add ``serve`` and ``user`` to the ``siyu`` sub-command parser."""
    p = sub.add_parser("serve", parents=[common], help=_("run the web console"),
                       description=_("Serve the console, plugin routes (e.g. the WeCom "
                                     "callback), /health and the scheduler in one process."))
    add_serve_options(p)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("user", help=_("console users"),
                       description=_("Manage console users."))
    user_sub = p.add_subparsers(dest="user_command", metavar="ACTION", required=True)
    q = user_sub.add_parser("add", parents=[common], help=_("add a user"))
    q.add_argument("name")
    q.add_argument("--role", required=True, choices=sorted(CONSOLE_ROLES))
    q.add_argument("--password", help=_("the password (prompted for when omitted)"))
    q.set_defaults(func=cmd_user_add)
    q = user_sub.add_parser("list", parents=[common], help=_("list users"))
    q.set_defaults(func=cmd_user_list)
    q = user_sub.add_parser("passwd", parents=[common], help=_("change a password"))
    q.add_argument("name")
    q.add_argument("--password", help=_("the new password (prompted for when omitted)"))
    q.set_defaults(func=cmd_user_passwd)
    q = user_sub.add_parser("role", parents=[common], help=_("change a role"))
    q.add_argument("name")
    q.add_argument("role", choices=sorted(CONSOLE_ROLES))
    q.set_defaults(func=cmd_user_role)
    q = user_sub.add_parser("language", parents=[common],
                            help=_("show or set a user's console language"))
    q.add_argument("name")
    q.add_argument("language", nargs="?", metavar="LANG", type=_user_language,
                   help=_("{languages}, or {default} to follow the workspace's language; "
                          "leave out to show it", languages=", ".join(LANGUAGES),
                          default=FOLLOW_WORKSPACE))
    q.set_defaults(func=cmd_user_language)
    q = user_sub.add_parser("unlock", parents=[common],
                            help=_("lift the lock after too many failed sign-ins"))
    q.add_argument("name")
    q.set_defaults(func=cmd_user_unlock)
    helps = {"disable": _("disable a user"), "enable": _("enable a user")}
    for action, flag in (("disable", True), ("enable", False)):
        q = user_sub.add_parser(action, parents=[common], help=helps[action])
        q.add_argument("name")
        q.set_defaults(func=cmd_user_disable, disable=flag)


def add_serve_options(p: argparse.ArgumentParser) -> None:
    """Options shared by ``serve`` and ``demo``."""
    from siyu.cli import whole_number

    p.add_argument("--port", type=whole_number(0, 65535), default=5006,
                   help=_("TCP port (default 5006; 0: any free port)"))
    p.add_argument("--address", type=_interface, default="127.0.0.1",
                   help=_("interface to listen on (default 127.0.0.1; 0.0.0.0 for all)"))
    p.add_argument("--num-procs", type=whole_number(1, 64), default=1,
                   help=_("worker processes (PostgreSQL only; for later scale)"))
    p.add_argument("--session-hours", type=_positive_hours, default=12.0,
                   help=_("how long a sign-in lasts (default 12)"))
    p.add_argument("--secure-cookies", action="store_true",
                   help=_("mark session cookies Secure: the console is reached over HTTPS"))
    p.add_argument("--trust-proxy", action="store_true",
                   help=_("a reverse proxy you run sets X-Forwarded-Proto/-For (cookies "
                          "become Secure behind https; sign-in limits count the real "
                          "client)"))
    p.add_argument("--allow-origin", action="append", default=[], metavar="HOST[:PORT]",
                   help=_("a name browsers reach the console by (repeatable), e.g. "
                          "console.example.com or https://scrm.example.com; needed with "
                          "--address 0.0.0.0"))
    p.add_argument("--no-scheduler", action="store_true",
                   help=_("do not run scheduled jobs in this process"))


def _interface(text: str) -> str:
    """An address this machine can listen on (an IP or a name that resolves)."""
    import socket

    try:
        socket.getaddrinfo(text.strip(), None)
    except (socket.gaierror, UnicodeError):
        raise argparse.ArgumentTypeError(_("{value!r} is not an address of this machine; "
                                           "give 127.0.0.1, 0.0.0.0 or a local IP",
                                           value=text)) from None
    return text.strip()


def _positive_hours(text: str) -> float:
    try:
        hours = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(_("{value!r} is not a number of hours",
                                           value=text)) from None
    if not 0 < hours <= 24 * 30:
        raise argparse.ArgumentTypeError(_("{value!r}: a sign-in lasts more than 0 and at "
                                           "most 720 hours", value=text))
    return hours


def _user_language(text: str) -> str:
    """``siyu user language``'s LANG: a language siyu ships, or ``default``."""
    if text.strip().lower() == FOLLOW_WORKSPACE:
        return FOLLOW_WORKSPACE
    try:
        return normalize_language(text)
    except ValueError:
        raise argparse.ArgumentTypeError(_(
            "unknown language {value!r}; use one of: {languages}, or {default} to follow the "
            "workspace's language", value=text,
            languages=", ".join(f"{code} ({name})" for code, name in LANGUAGES.items()),
            default=FOLLOW_WORKSPACE)) from None


def _open(args: argparse.Namespace):
    from siyu.cli import _open as open_workspace
    return open_workspace(getattr(args, "db", None))


def serve(ws: Any, args: argparse.Namespace, banner: list[str] | None = None,
          on_ready: Callable[[int], list[str]] | None = None) -> int:
    """Start the console for ``ws`` and block until interrupted. Once it listens, it prints
    ``Console: http://HOST:PORT/`` (in every language; scripts wait for that line).

    :param banner: lines printed before the console URL.
    :param on_ready: called with the console's port once it listens; returns more lines
        to print (the demo points its sandbox's callbacks there).
    """
    from siyu.apps.server import make_server
    from siyu.storage.engine import describe_url

    if args.num_procs > 1 and ws.engine.dialect.name == "sqlite":
        raise ValidationError(_("--num-procs > 1 needs PostgreSQL; SQLite serves from one "
                                "process"))
    server = make_server(ws, port=args.port, address=args.address,
                         session_hours=args.session_hours,
                         num_procs=args.num_procs, scheduler=not args.no_scheduler,
                         secure_cookies=args.secure_cookies, trust_proxy=args.trust_proxy,
                         allow_origins=tuple(args.allow_origin))
    server.start()
    host = "127.0.0.1" if args.address in ("0.0.0.0", "::") else args.address
    url = f"http://{host}:{server.port}/"
    print(_("siyu console for {database}", database=describe_url(ws.url)), flush=True)
    for line in [*(banner or []), *(on_ready(server.port) if on_ready else [])]:
        print(line, flush=True)
    # "Console: URL" reads the same in every language: scripts and tests wait for it.
    print(f"Console: {url}  " + _("(Ctrl-C to stop)"), flush=True)
    try:
        server.io_loop.start()
    except KeyboardInterrupt:
        print(_("stopping"), file=sys.stderr)
    finally:
        server.stop()
        ws.close()
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """``siyu serve``."""
    ws = _open(args)
    banner = []
    if not ws.users.list():
        banner.append(_("No console users yet: add one with "
                        "`siyu user add NAME --role admin`."))
    return serve(ws, args, banner)


def first_admin(ws: Any) -> tuple[str, str] | None:
    """Create user ``admin`` with a random password when the workspace has no users."""
    if ws.users.list():
        return None
    password = secrets.token_urlsafe(9)
    ws.users.add("admin", "admin", password)
    return "admin", password


def _password(args: argparse.Namespace) -> str:
    """``--password``, or asked twice on the terminal. An empty ``--password ''`` is given
    (and refused by the users service as too short), not "missing"."""
    if args.password is not None:
        return args.password
    if not sys.stdin.isatty():
        raise ValidationError(_("no --password given and no terminal to ask on; pass "
                                "--password PASSWORD"))
    first = getpass.getpass(_("Password: "))
    if first != getpass.getpass(_("Repeat password: ")):
        raise ValidationError(_("the two passwords differ"))
    return first


@contextmanager
def workspace(args: argparse.Namespace) -> Iterator[Any]:
    """The workspace behind ``--db``, closed when the block ends (for command functions)."""
    ws = _open(args)
    try:
        yield ws
    finally:
        ws.close()


def cmd_user_add(args: argparse.Namespace) -> int:
    """``siyu user add NAME --role ROLE``."""
    password = _password(args)
    with workspace(args) as ws:
        ws.users.add(args.name, args.role, password)
    print(_("user {name} added as {role}", name=args.name, role=args.role))
    return 0


def cmd_user_list(args: argparse.Namespace) -> int:
    """``siyu user list``: each user's name, role, state and (when chosen) language."""
    with workspace(args) as ws:
        users = ws.users.list()
    if not users:
        print(_("No users. Add one with `siyu user add NAME --role admin`."))
    for user in users:
        state = " " + _("(disabled)") if user.disabled else ""
        language = ("  " + _("language {language}", language=user.language)
                    if user.language else "")
        print(f"{user.name}  {user.role}{state}{language}")
    return 0


def cmd_user_passwd(args: argparse.Namespace) -> int:
    """``siyu user passwd NAME``."""
    password = _password(args)
    with workspace(args) as ws:
        ws.users.update(args.name, password=password)
    print(_("password of {name} changed", name=args.name))
    return 0


def cmd_user_role(args: argparse.Namespace) -> int:
    """``siyu user role NAME ROLE``."""
    with workspace(args) as ws:
        ws.users.update(args.name, role=args.role)
    print(_("{name} is now {role}", name=args.name, role=args.role))
    return 0


def cmd_user_language(args: argparse.Namespace) -> int:
    """``siyu user language NAME [LANG|default]``: show or set the language the console
    speaks to one user (``default``: the workspace's)."""
    with workspace(args) as ws:
        if args.language is None:
            user = next((u for u in ws.users.list() if u.name == args.name), None)
            if user is None:
                raise NotFound(_("unknown user {name!r}", name=args.name))
            chosen, fallback = user.language, ws.language
        else:
            chosen = ws.users.set_language(
                args.name, None if args.language == FOLLOW_WORKSPACE else args.language)
            fallback = ws.language
    if chosen:
        print(_("{name}: {language} ({code})", name=args.name, language=language_name(chosen),
                code=chosen))
    else:
        print(_("{name}: the workspace's language, now {language} ({code})", name=args.name,
                language=language_name(fallback), code=fallback))
    return 0


def cmd_user_disable(args: argparse.Namespace) -> int:
    """``siyu user disable|enable NAME``."""
    with workspace(args) as ws:
        ws.users.update(args.name, disabled=args.disable)
    print(_("{name} disabled", name=args.name) if args.disable
          else _("{name} enabled", name=args.name))
    return 0


def cmd_user_unlock(args: argparse.Namespace) -> int:
    """``siyu user unlock NAME``."""
    with workspace(args) as ws:
        ws.users.unlock(args.name)
    print(_("unlocked {name}: they may sign in again", name=args.name))
    return 0
