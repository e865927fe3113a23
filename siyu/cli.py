"""The ``siyu`` command.

Built-in sub-commands: ``init``, ``db upgrade`` / ``db status``, ``plugins``,
``import contacts|orders``, ``demo``, ``serve``, ``user``, ``hooks``, ``contacts``, ``orders``
and ``identity``. Plugins add more with ``register_commands``.

Every error a user can cause (a :class:`~siyu.core.errors.SiyuError`, a usage error, a
file named on the command line that cannot be read or written) is printed as one line,
``siyu: error: <message>``, with exit code 2; Ctrl-C exits with 130. Anything else is a bug
and keeps its traceback.

Options are checked where they enter: the argument types below (:func:`whole_number`,
:func:`seconds`, :func:`nonblank`) reject a bad value before any database or WeCom call, and
plugin commands may use them too.
"""

from __future__ import annotations

import argparse
import errno
import logging
import math
import os
import re
import sys
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from siyu import __version__
from siyu.apps.commands import add_commands as add_console_commands
from siyu.apps.commands import add_serve_options, first_admin, serve
from siyu.apps.data_commands import add_commands as add_data_commands
from siyu.apps.hook_commands import add_commands as add_hook_commands
from siyu.core.errors import ConfigError, ImportFailed, PluginError, SiyuError
from siyu.core.importing.headers import CONTACT_FIELDS, ORDER_FIELDS
from siyu.core.plugins import collect_records, get_plugin_manager
from siyu.core.records import CommandSpec
from siyu.storage.engine import create_engine, describe_url, resolve_url

#: Sub-commands siyu itself provides; a plugin command may not reuse these names.
BUILTIN_COMMANDS = ("init", "db", "plugins", "import", "demo", "serve", "user", "hooks",
                    "contacts", "orders", "identity")

#: Most problem lines an import prints before summarising the rest.
MAX_PROBLEMS = 50


# -- output helpers -----------------------------------------------------------------------


def _out(*parts: Any) -> None:
    print(*parts, file=sys.stdout)


def _err(*parts: Any) -> None:
    print(*parts, file=sys.stderr)


def _one_line(message: str) -> str:
    """Error messages are printed on one line, whatever the exception text holds."""
    return re.sub(r"\s*\n\s*", " ", str(message)).strip()


def _width(text: str) -> int:
    """Terminal columns of ``text`` (CJK characters take two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, columns: int) -> str:
    return text + " " * max(columns - _width(text), 0)


def _yuan(fen: int) -> str:
    return f"¥{fen / 100:,.2f}"


def _progress(args: argparse.Namespace) -> bool:
    """Progress bars by default when a person watches (stderr is a terminal)."""
    return not getattr(args, "no_progress", False) and sys.stderr.isatty()


# -- argument types -----------------------------------------------------------------------


class ArgumentParser(argparse.ArgumentParser):
    """:class:`argparse.ArgumentParser` with siyu's error convention: a usage error (a bad
    option value, a missing argument) is one line, ``siyu: error: …`` naming the ``--help``
    to read, and exit code 2. Sub-command parsers (plugins' too) inherit it."""

    #: Adds this parser's arguments on first use (see :meth:`defer`); ``None`` once done.
    _setup: Callable[[ArgumentParser], None] | None = None

    def error(self, message: str) -> NoReturn:
        """Print ``message`` as one ``siyu: error:`` line and exit 2 (no usage block)."""
        self.exit(2, f"siyu: error: {_one_line(message)} (see `{self.prog} --help`)\n")

    def defer(self, setup: Callable[[ArgumentParser], None]) -> None:
        """Add this parser's arguments later: ``setup(self)`` runs the first time the parser
        parses or formats its usage or help, i.e. only when its sub-command is chosen or its
        ``--help`` is asked for. A plugin command's options thus cost nothing to the others."""
        self._setup = setup

    def _set_up(self) -> None:
        setup, self._setup = self._setup, None
        if setup is not None:
            setup(self)

    def parse_known_args(self, args: Sequence[str] | None = None,
                         namespace: argparse.Namespace | None = None
                         ) -> tuple[argparse.Namespace, list[str]]:
        """:meth:`argparse.ArgumentParser.parse_known_args`, after a deferred set-up."""
        self._set_up()
        return super().parse_known_args(args, namespace)

    def format_usage(self) -> str:
        """:meth:`argparse.ArgumentParser.format_usage`, after a deferred set-up."""
        self._set_up()
        return super().format_usage()

    def format_help(self) -> str:
        """:meth:`argparse.ArgumentParser.format_help`, after a deferred set-up."""
        self._set_up()
        return super().format_help()


def set_up_later(parser: argparse.ArgumentParser,
                 setup: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add ``parser``'s arguments with ``setup(parser)`` only when it is first used (parsed,
    or its usage or help shown): for a sub-command or action whose options need a module the
    others do not. A parser that is no siyu :class:`ArgumentParser` is set up at once."""
    if isinstance(parser, ArgumentParser):
        parser.defer(setup)
    else:
        setup(parser)


def whole_number(minimum: int | None = None,
                 maximum: int | None = None) -> Callable[[str], int]:
    """An argparse ``type=`` for a whole number from ``minimum`` to ``maximum`` (each
    optional), e.g. ``type=whole_number(1)`` for a count that must be positive."""

    def parse(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not a whole number{_range(minimum, maximum)}") from None
        if (minimum is not None and value < minimum) or (maximum is not None
                                                          and value > maximum):
            raise argparse.ArgumentTypeError(f"{value} is out of range; give a whole "
                                             f"number{_range(minimum, maximum)}")
        return value

    return parse


def _range(minimum: int | None, maximum: int | None) -> str:
    if minimum is not None and maximum is not None:
        return f" from {minimum:,} to {maximum:,}"
    if minimum is not None:
        return f" of at least {minimum:,}"
    return f" of at most {maximum:,}" if maximum is not None else ""


def seconds(text: str) -> float:
    """An argparse ``type=`` for a duration in seconds: a finite number above 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration; give a number of "
                                         f"seconds above 0, e.g. 5 or 0.5")
    return value


def nonblank(text: str) -> str:
    """An argparse ``type=`` for text that may not be empty (names); returns it stripped."""
    if not text.strip():
        raise argparse.ArgumentTypeError("may not be empty; give some text")
    return text.strip()


# -- database helpers ---------------------------------------------------------------------


def _sqlite_file(url: str) -> Path | None:
    """The file behind a SQLite URL, or ``None`` (PostgreSQL, in-memory)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database or ""
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).expanduser().resolve()


def _where(url: str) -> str:
    """Where a workspace lives, for people: the SQLite file, or the URL without password."""
    path = _sqlite_file(url)
    return str(path) if path else describe_url(url)


@contextmanager
def _database(url: str) -> Iterator[None]:
    """Turn "cannot use this database" driver errors into one-line :class:`ConfigError`."""
    try:
        yield
    except sa.exc.DatabaseError as exc:
        # Unreachable server, refused login, a file that is no database; not a bug's
        # IntegrityError or ProgrammingError, which keep their traceback.
        if not (isinstance(exc, sa.exc.OperationalError) or type(exc) is sa.exc.DatabaseError):
            raise
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise ConfigError(f"cannot use database {_where(url)}: {reason}") from exc


def _open(url: str | None, **kwargs: Any):
    """Open the workspace behind ``--db`` (created and migrated when new)."""
    import siyu

    resolved = resolve_url(url)
    with _database(resolved):
        return siyu.open(resolved, **kwargs)


def _model_sets() -> list:
    """Every plugin's ``register_models`` records, for migrating without a Workspace."""
    return list(collect_records(get_plugin_manager(), "register_models", "model set").values())


# -- init / db ----------------------------------------------------------------------------


def cmd_init(args: argparse.Namespace) -> int:
    """Create (or bring up to date) a workspace and store its name and timezone."""
    # Alembic is imported by the commands that migrate, not by every `siyu` start.
    from alembic.runtime.migration import MigrationContext

    from siyu.storage import migrate as schema

    if args.timezone is not None:
        try:
            ZoneInfo(args.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigError(f"unknown timezone {args.timezone!r}; use an IANA name such "
                              f"as Asia/Shanghai") from exc
    url = resolve_url(args.db)
    engine = create_engine(url)
    try:
        with _database(url):
            with engine.connect() as conn:
                new = not MigrationContext.configure(conn).get_current_heads()
            applied = schema.upgrade(engine, _model_sets())
    finally:
        engine.dispose()
    ws = _open(url)
    try:
        if args.name is not None or new:
            ws.settings.set("name", args.name if args.name is not None else ws.name)
        if args.timezone is not None or new:
            ws.settings.set("timezone", args.timezone or ws.timezone.key)
        what = f"workspace {ws.name!r} at {_where(url)} (timezone {ws.timezone.key})"
        _out(f"Created {what}." if new else f"Updated {what}.")
        if applied and not new:
            _out(f"Applied {len(applied)} migration(s): {', '.join(applied)}")
        _out(f"Next: siyu --db {_shell_word(_where(url))} import contacts FILE.csv, "
             f"or in Python: siyu.open({_where(url)!r})")
    finally:
        ws.close()
    return 0


def _shell_word(text: str) -> str:
    return text if re.fullmatch(r"[\w./:@+-]+", text) else "'" + text.replace("'", r"'\''") + "'"


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    """Apply pending migrations (core and plugins)."""
    from siyu.storage import migrate as schema

    url = resolve_url(args.db)
    engine = create_engine(url)
    try:
        with _database(url):
            applied = schema.upgrade(engine, _model_sets())
    finally:
        engine.dispose()
    if applied:
        _out(f"Applied {len(applied)} migration(s) to {_where(url)}: {', '.join(applied)}")
    else:
        _out(f"{_where(url)} is up to date.")
    return 0


def cmd_db_status(args: argparse.Namespace) -> int:
    """Show pending migrations without applying them (nothing is created or changed)."""
    from siyu.storage import migrate as schema

    url = resolve_url(args.db)
    path = _sqlite_file(url)
    if path is not None and not path.exists():
        _out(f"No database at {path} yet; create it with `siyu init`.")
        return 0
    engine = create_engine(url)
    try:
        with _database(url):
            todo = schema.pending(engine, _model_sets())
    finally:
        engine.dispose()
    if todo:
        _out(f"{_where(url)}: {len(todo)} pending migration(s): {', '.join(todo)}; "
             f"apply them with `siyu db upgrade`.")
    else:
        _out(f"{_where(url)} is up to date.")
    return 0


# -- plugins ------------------------------------------------------------------------------


def cmd_plugins(args: argparse.Namespace) -> int:
    """List every plugin with its source, version, hooks, the plugins it requires and the
    WeCom state prefixes it claims (no database needed).

    :raises PluginError: after the list, when two plugins' state prefixes clash.
    """
    from siyu.core.plugins import collect_state_prefixes

    pm = get_plugin_manager()
    infos = pm.describe()
    if not infos:
        _out("No plugins.")
        return 0
    # A clash is reported after the list, so the list still shows what is installed.
    clash: PluginError | None = None
    try:
        claims = list(collect_state_prefixes(pm).values())
    except PluginError as exc:
        claims, clash = [], exc
    name_width = max(_width(info.name) for info in infos)
    for info in infos:
        head = f"{_pad(info.name, name_width)}  {info.source}"
        if info.version:
            head += f" {info.version}"
        if info.error:
            _out(f"{head}  failed to load: {_one_line(info.error)}")
            continue
        if info.blocked:
            _out(f"{head}  ({_one_line(info.status)})")
            continue
        _out(head)
        _out(f"    hooks: {', '.join(info.hooks) if info.hooks else '(none)'}")
        if info.requires:
            _out(f"    requires: {', '.join(info.requires)}")
        prefixes = [claim.name for claim in claims if claim.plugin == info.name]
        if prefixes:
            _out(f"    state prefixes: {', '.join(prefixes)}")
    if clash is not None:
        raise clash
    return 0


def _explain_unknown_command(argv: Sequence[str], commands: dict[str, CommandSpec]) -> None:
    """Name the plugins that are not loaded when ``argv`` asks for a command nobody offers.

    A disabled plugin's commands are never asked for, so ``siyu livecode`` with the
    live-code plugin disabled would otherwise be a bare "invalid choice".

    :raises PluginError: the command is unknown and some plugin is disabled or broken.
    """
    words = iter(argv)
    command = None
    for word in words:
        if word == "--db":
            next(words, None)
        elif not word.startswith("-"):
            command = word
            break
        elif not word.startswith("--db="):
            return  # --help, --version: argparse answers them
    if command is None or command in BUILTIN_COMMANDS or command in commands:
        return
    missing = [f"{info.name} ({info.status})" for info in get_plugin_manager().describe()
               if info.status != "loaded"]
    if missing:
        raise PluginError(f"unknown command {command!r}; it may belong to a plugin that is not "
                          f"loaded: {'; '.join(missing)}; see `siyu plugins`")


# -- import -------------------------------------------------------------------------------


def _mapping_pair(text: str) -> tuple[str, str]:
    column, sep, field = text.partition("=")
    if not sep or not column.strip() or not field.strip():
        raise argparse.ArgumentTypeError(f"{text!r} is not COLUMN=FIELD (e.g. 手机=phone)")
    return column.strip(), field.strip()


def _print_problems(problems: Sequence[Any], write: Callable[..., None]) -> None:
    for problem in problems[:MAX_PROBLEMS]:
        write(str(problem))
    if len(problems) > MAX_PROBLEMS:
        write(f"... and {len(problems) - MAX_PROBLEMS} more")


def cmd_import(args: argparse.Namespace) -> int:
    """Import contacts or orders from a CSV or Excel file."""
    path = Path(args.file)
    if path.is_dir():
        raise ImportFailed(f"{str(path)!r} is a folder; give the path of a .csv or .xlsx file")
    if not path.is_file():
        raise ImportFailed(f"no such file {str(path)!r}; give the path of a .csv or .xlsx file")
    mapping = dict(args.map) if args.map else None
    ws = _open(args.db)
    try:
        if args.kind == "contacts":
            report = ws.imports.contacts(path, mapping=mapping, key=args.key,
                                         skip_bad_rows=args.skip_bad_rows,
                                         create_tags=args.create_tags,
                                         progress=_progress(args))
        else:
            report = ws.imports.orders(path, mapping=mapping, source=args.source,
                                       skip_bad_rows=args.skip_bad_rows,
                                       progress=_progress(args))
    finally:
        ws.close()
    _print_problems(report.problems, _out)
    if report.ignored_columns:
        fields = CONTACT_FIELDS if args.kind == "contacts" else ORDER_FIELDS
        _out(f"{report.ignored()}; to import one, add --map COLUMN=FIELD (e.g. --map "
             f"{_shell_word(report.ignored_columns[0])}=FIELD); fields: {', '.join(fields)}")
    _out(report.summary())
    return 0


# -- demo ---------------------------------------------------------------------------------


def _occupant(url: str) -> str | None:
    """What already lives at ``url``: ``None`` when it is missing or holds no business data."""
    path = _sqlite_file(url)
    if path is not None and (not path.exists() or path.stat().st_size == 0):
        return None
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            tables = set(sa.inspect(conn).get_table_names())
            counts = {label: conn.execute(sa.text(f'SELECT COUNT(*) FROM "{table}"')).scalar()
                      for table, label in (("store", "stores"), ("staff", "staff"),
                                           ("contact", "contacts"), ("orders", "orders"))
                      if table in tables}
    except sa.exc.OperationalError as exc:
        if path is None:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise ConfigError(f"cannot use database {_where(url)}: {reason}") from exc
        return "a file that is not a siyu database"
    except sa.exc.DatabaseError:
        return "a file that is not a siyu database"
    finally:
        engine.dispose()
    held = [f"{n:,} {label}" for label, n in counts.items() if n]
    return f"data ({', '.join(held)})" if held else None


def _remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _hint_url(url: str, given: str | None) -> str:
    path = _sqlite_file(url)
    if path is not None:
        return repr(str(path))
    if given is None:
        return ""  # from $SIYU_DATABASE_URL: siyu.open() finds it again
    return repr(describe_url(url))


def _start_demo_services(ws: Any, args: argparse.Namespace) -> list[Any]:
    """What the plugins run beside the demo console (``start_demo``; the built-in WeCom
    plugin's sandbox); none with ``--no-sandbox``."""
    if args.no_sandbox:
        return []
    errors: list[Exception] = []
    called = ws.pm.call_each("start_demo", on_error=errors.append, ws=ws)
    started = [result for _name, result in called if result is not None]
    if errors:
        for service in started:
            service.stop()
        raise errors[0]
    for name, result in called:
        if result is not None:
            _out(f"started {result.name} (plugin {name})")
    return started


def cmd_demo(args: argparse.Namespace) -> int:
    """Create a fresh workspace with the bundled sample business, summarise it and (unless
    ``--no-serve``) start the console with a first admin user, wired to the built-in WeCom
    sandbox (unless ``--no-sandbox``)."""
    from siyu.samples import load_sample_business

    url = resolve_url(args.db)
    path = _sqlite_file(url)
    occupant = _occupant(url)
    if occupant:
        if not args.force:
            raise ConfigError(f"{_where(url)} already holds {occupant}; choose another database "
                              f"with --db, or pass --force to replace it")
        if path is None:
            raise ConfigError(f"--force only replaces SQLite files, and {_where(url)} is not "
                              f"one; point --db at an empty database or a new file")
        _remove_sqlite(path)
    ws = _open(url)
    try:
        ws.settings.set("name", "siyu demo")
        loaded = load_sample_business(ws, progress=_progress(args))
        for report in (loaded["contacts"], loaded["orders"]):
            _print_problems(report.problems, _out)
            _out(report.summary())
        _print_summary(ws, url)
        if not args.no_serve:
            services = _start_demo_services(ws, args)

            def connect(port: int) -> list[str]:
                return [line for service in services for line in service.connect(port)]

            try:
                credentials = first_admin(ws)
                banner = ([f"First login: user {credentials[0]}, password {credentials[1]}"]
                          if credentials else [])
                return serve(ws, args, banner, on_ready=connect)
            finally:
                for service in services:
                    service.stop()
    finally:
        ws.close()
    _out("")
    _out("Next, look at it from Python:")
    _out(f'  python -c "import siyu; ws = siyu.open({_hint_url(url, args.db)}); '
         f'print(ws.contacts.df().head())"')
    return 0


def _print_summary(ws: Any, url: str) -> None:
    counts = ws.summary()
    paid = ws.orders.summary(paid=True)
    rows = [("stores", f"{counts['stores']:,}", ""), ("staff", f"{counts['staff']:,}", ""),
            ("contacts", f"{counts['contacts']:,}", ""), ("tags", f"{counts['tags']:,}", ""),
            ("orders", f"{counts['orders']:,}", f"{paid['orders']:,} paid"),
            ("revenue", _yuan(paid["revenue_fen"]), "paid orders")]
    channels = ws.contacts.df(columns=["source_channel"])["source_channel"]
    top = channels.fillna("").replace("", "(none)").value_counts().head(5)
    rows += [(str(name), f"{n:,}", "") for name, n in top.items()]

    label_width = max(_width(row[0]) for row in rows)
    value_width = max(len(row[1]) for row in rows)

    def line(label: str, value: str, note: str) -> None:
        text = f"  {_pad(label, label_width)}  {value:>{value_width}}"
        _out(f"{text}  ({note})" if note else text)

    _out("")
    _out(f"Demo workspace ready at {_where(url)}")
    _out("")
    for row in rows[:6]:
        line(*row)
    _out("")
    _out("  contacts per channel (top 5)")
    for row in rows[6:]:
        line(*row)


# -- plugin commands ----------------------------------------------------------------------


def plugin_commands() -> dict[str, CommandSpec]:
    """The ``register_commands`` records of every plugin, by name.

    :raises PluginError: two plugins register one name, or a plugin reuses a built-in name.
    """
    pm = get_plugin_manager()
    commands: dict[str, CommandSpec] = {}
    owners: dict[str, str] = {}
    for plugin_name, result in pm.call_each("register_commands"):
        for spec in result or []:
            if spec.name in BUILTIN_COMMANDS:
                raise PluginError(
                    f"plugin {plugin_name!r} registers command {spec.name!r}, which is a "
                    f"built-in siyu command; rename it in the plugin, or disable the plugin "
                    f"with SIYU_DISABLE_PLUGINS={plugin_name}")
            if spec.name in commands:
                raise PluginError(
                    f"command {spec.name!r} is registered by both plugin "
                    f"{owners[spec.name]!r} and plugin {plugin_name!r}; rename one")
            commands[spec.name] = spec
            owners[spec.name] = plugin_name
    return commands


def _run_plugin_command(spec: CommandSpec) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        ws = _open(args.db)
        try:
            code = spec.run(ws, args)
        finally:
            ws.close()
        return int(code or 0)
    return run


# -- parser -------------------------------------------------------------------------------


def build_parser(commands: dict[str, CommandSpec] | None = None, *,
                 defer: bool = False) -> argparse.ArgumentParser:
    """The ``siyu`` argument parser, with ``commands`` from plugins as extra sub-commands.

    :param commands: plugin commands by name (:func:`plugin_commands`); each is listed with
        its ``help`` and set up with its ``configure``.
    :param defer: call each plugin command's ``configure`` only when that command is parsed
        or its help shown, not now (what ``siyu`` itself does, so that starting one command
        imports no other command's modules). Then a failing ``configure`` is raised by
        ``parse_args`` instead.
    :raises PluginError: a plugin's ``configure`` fails or adds a clashing option.
    """
    db_help = "database URL or SQLite file (default: $SIYU_DATABASE_URL or ./siyu.db)"
    parser = ArgumentParser(
        prog="siyu", description="siyu (私域): private-domain growth toolkit for WeCom.",
        epilog="Run `siyu demo` for a workspace with sample data.")
    parser.add_argument("--version", action="version", version=f"siyu {__version__}")
    parser.add_argument("--db", metavar="URL", default=None, help=db_help)
    # Sub-commands accept --db too (`siyu init --db shop.db`); SUPPRESS keeps a --db given
    # before the sub-command when none is given after it.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", metavar="URL", default=argparse.SUPPRESS, help=db_help)

    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("init", parents=[common], help="create a workspace (database)",
                       description="Create and migrate a workspace, store its settings.")
    p.add_argument("--name", type=nonblank, help="display name of the workspace")
    p.add_argument("--timezone", metavar="TZ",
                   help="timezone times are shown in (default Asia/Shanghai)")
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("db", help="database migrations",
                       description="Inspect or apply schema migrations.")
    db_sub = p.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    q = db_sub.add_parser("upgrade", parents=[common], help="apply pending migrations")
    q.set_defaults(func=cmd_db_upgrade)
    q = db_sub.add_parser("status", parents=[common],
                          help="show pending migrations (changes nothing)")
    q.set_defaults(func=cmd_db_status)

    p = sub.add_parser("plugins", parents=[common], help="list plugins and their hooks",
                       description="List every plugin (built-in, entry point, disabled or "
                                   "broken) with the hooks it implements.")
    p.set_defaults(func=cmd_plugins)

    p = sub.add_parser("import", help="import contacts or orders from CSV / Excel",
                       description="Import a CSV (UTF-8, UTF-8 with BOM, GBK) or .xlsx file. "
                                   "Chinese and English headers are recognised; --map names "
                                   "the others. A file with bad rows is rejected as a whole "
                                   "unless --skip-bad-rows.")
    imp_sub = p.add_subparsers(dest="kind", metavar="KIND", required=True)
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument("file", metavar="FILE", help=".csv or .xlsx file")
    options.add_argument("--map", action="append", type=_mapping_pair, metavar="COL=FIELD",
                         help="read file column COL as FIELD (repeatable)")
    options.add_argument("--skip-bad-rows", action="store_true",
                         help="import the good rows, report the bad ones")
    options.add_argument("--no-progress", action="store_true", help="no progress bar")
    q = imp_sub.add_parser("contacts", parents=[common, options], help="import contacts",
                           epilog=f"Fields: {', '.join(CONTACT_FIELDS)}.")
    q.add_argument("--key", default="external_userid",
                   help="field that identifies an existing contact: external_userid "
                        "(default), phone or unionid")
    q.add_argument("--create-tags", action="store_true",
                   help="create tags named in the file that do not exist yet")
    q.set_defaults(func=cmd_import)
    q = imp_sub.add_parser("orders", parents=[common, options], help="import orders",
                           epilog=f"Fields: {', '.join(ORDER_FIELDS)}.")
    q.add_argument("--source", default="import",
                   help="the system the orders come from; order numbers are unique per "
                        "source (default import)")
    q.set_defaults(func=cmd_import)

    p = sub.add_parser("demo", parents=[common],
                       help="create a workspace with a sample business",
                       description="Create a fresh workspace, load the bundled sample "
                                   "business (8 stores, 24 staff, ~3,000 contacts, ~8,000 "
                                   "orders) and summarise it.")
    p.add_argument("--force", action="store_true",
                   help="replace an existing SQLite database file")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--no-serve", action="store_true",
                   help="load and summarise only; do not start the console")
    p.add_argument("--no-sandbox", action="store_true",
                   help="serve without what plugins start for the demo (by default the "
                        "built-in WeCom sandbox: synced, with a live code to scan)")
    add_serve_options(p)
    p.set_defaults(func=cmd_demo)
    add_console_commands(sub, common)
    add_hook_commands(sub, common)
    add_data_commands(sub, common)

    for name, spec in (commands or {}).items():
        p = sub.add_parser(name, parents=[common], help=spec.help, description=spec.help)
        if defer:
            p.defer(_configure_plugin_command(name, spec))
        else:
            _configure_plugin_command(name, spec)(p)
    return parser


def _configure_plugin_command(name: str, spec: CommandSpec
                              ) -> Callable[[ArgumentParser], None]:
    def configure(parser: ArgumentParser) -> None:
        try:
            spec.configure(parser)
        except Exception as exc:  # a plugin bug: name the command, not a traceback
            raise PluginError(f"plugin command {name!r} could not set up its options: "
                              f"{type(exc).__name__}: {exc}") from exc
        parser.set_defaults(func=_run_plugin_command(spec))
    return configure


# -- entry point --------------------------------------------------------------------------


def _show_plugin_trace() -> None:
    """Print the ``siyu.plugins`` trace log on stderr (and nothing else's INFO logs)."""
    logger = logging.getLogger("siyu.plugins")
    logger.setLevel(logging.INFO)
    if not any(getattr(h, "siyu_trace", False) for h in logger.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
        handler.siyu_trace = True  # type: ignore[attr-defined]
        logger.addHandler(handler)


def _run(argv: list[str]) -> int:
    if os.environ.get("SIYU_TRACE_PLUGINS") == "1":
        _show_plugin_trace()
    commands = plugin_commands()
    _explain_unknown_command(argv, commands)
    parser = build_parser(commands, defer=True)
    args = parser.parse_args(argv)
    return args.func(args)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``siyu`` command; returns the exit code.

    :param argv: arguments without the program name; default ``sys.argv[1:]``.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv == ["--version"]:  # answered before any plugin is loaded
        _out(f"siyu {__version__}")
        return 0
    try:
        return _run(argv)
    except ImportFailed as exc:
        _print_problems(exc.problems, _err)
        _err(f"siyu: error: {_one_line(str(exc))}")
        return 2
    except SiyuError as exc:
        _err(f"siyu: error: {_one_line(str(exc))}")
        return 2
    except KeyboardInterrupt:
        _err("siyu: interrupted")
        return 130
    except OSError as exc:
        # A port another program already listens on (serve, demo, sandbox --port) is the
        # user's machine, not a bug. Every other OSError keeps its traceback: files the user
        # names are checked where they enter (import, --zip, --csv).
        if exc.errno != errno.EADDRINUSE:
            raise
        _err(f"siyu: error: cannot listen: {exc.strerror}; another program uses that port, "
             f"choose another with --port")
        return 2
    except SystemExit as exc:  # argparse: --help, --version, usage errors
        if exc.code is None:
            return 0
        if isinstance(exc.code, int):
            return exc.code
        _err(f"siyu: error: {_one_line(str(exc.code))}")
        return 2


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
