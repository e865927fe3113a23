"""The ``siyu`` command.

Built-in sub-commands: ``init``, ``db upgrade`` / ``db status``, ``plugins``,
``import contacts|orders``, ``demo``, ``serve``, ``user``, ``settings``, ``hooks``,
``contacts``, ``orders``, ``identity`` and ``i18n``. Plugins add more with
``register_commands``.

Every error a user can cause (a :class:`~siyu.core.errors.SiyuError`, a usage error, a
file named on the command line that cannot be read or written) is printed as one line,
``siyu: error: <message>``, with exit code 2; Ctrl-C exits with 130. Anything else is a bug
and keeps its traceback.

Options are checked where they enter: the argument types below (:func:`whole_number`,
:func:`seconds`, :func:`nonblank`, :func:`language`) reject a bad value before any database
or WeCom call, and plugin commands may use them too.

The command speaks the language (:mod:`siyu.core.i18n`) named by, first match wins: the
global ``--lang`` option (anywhere on the command line), ``SIYU_LANGUAGE``, the ``language``
setting of the workspace a command opens, else Chinese (``zh_CN``). The prefix
``siyu: error:`` stays the same in every language, for scripts.
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
from siyu.apps.segment_commands import add_commands as add_segment_commands
from siyu.core import i18n
from siyu.core.errors import ConfigError, ImportFailed, PluginError, SiyuError
from siyu.core.i18n import LANGUAGES, language_name, normalize_language, set_default_language
from siyu.core.i18n import core as _
from siyu.core.importing.headers import CONTACT_FIELDS, ORDER_FIELDS, ORDER_LINE_FIELDS
from siyu.core.plugins import collect_records, get_plugin_manager
from siyu.core.records import CommandSpec
from siyu.storage.engine import create_engine, describe_url, resolve_url

#: Sub-commands siyu itself provides; a plugin command may not reuse these names.
BUILTIN_COMMANDS = ("init", "db", "plugins", "import", "demo", "serve", "user", "settings",
                    "hooks", "contacts", "orders", "identity", "i18n")

#: Most problem lines an import prints before summarising the rest.
MAX_PROBLEMS = 50

#: argparse's own texts (usage line, option groups, usage errors), translated while ``siyu``
#: runs (see :func:`_argparse_in_language`). Listed here so that the catalogue holds them.
ARGPARSE_TEXTS = (
    _.lazy("usage: "), _.lazy("positional arguments"), _.lazy("options"),
    _.lazy("show this help message and exit"), _.lazy("show program's version number and exit"),
    _.lazy("argument %(argument_name)s: %(message)s"),
    _.lazy("the following arguments are required: %s"),
    _.lazy("one of the arguments %s is required"), _.lazy("unrecognized arguments: %s"),
    _.lazy("not allowed with argument %s"), _.lazy("expected one argument"),
    _.lazy("expected at most one argument"), _.lazy("expected at least one argument"),
    _.lazy("ambiguous option: %(option)s could match %(matches)s"),
    _.lazy("invalid %(type)s value: %(value)r"),
    _.lazy("invalid choice: %(value)r (choose from %(choices)s)"),
    _.lazy("ignored explicit argument %r"),
)

#: Whether a command that opens a workspace speaks the workspace's language: only when
#: ``siyu`` runs (:func:`main`) and neither ``--lang`` nor ``SIYU_LANGUAGE`` chose one.
_follow_workspace_language = False


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




# -- the language -------------------------------------------------------------------------


def _languages() -> str:
    """The languages siyu ships, for messages: ``zh_CN (简体中文), en (English)``."""
    return ", ".join(f"{code} ({name})" for code, name in LANGUAGES.items())


def language(text: str) -> str:
    """An argparse ``type=`` for a language siyu ships: ``zh_CN`` or ``en`` (aliases such as
    ``zh``, ``zh-CN``, ``en_US`` are accepted); returns the language's code."""
    try:
        return normalize_language(text)
    except ValueError:
        raise argparse.ArgumentTypeError(_(
            "unknown language {value!r}; use one of: {languages}", value=text,
            languages=_languages())) from None


def _take_language(argv: Sequence[str]) -> tuple[list[str], str | None]:
    """``argv`` without siyu's global ``--lang LANG`` option, and the language it names
    (``None`` when not given). ``--lang`` may stand anywhere before a ``--``; the last wins.

    :raises ConfigError: ``--lang`` without a value, or naming a language siyu does not ship.
    """
    rest: list[str] = []
    chosen: str | None = None
    words = iter(argv)
    for word in words:
        if word == "--":
            rest += [word, *words]
            break
        if word == "--lang" or word.startswith("--lang="):
            value = word.partition("=")[2] if "=" in word else next(words, None)
            if not value or value.startswith("-"):
                raise ConfigError(_("--lang needs a language: {languages}",
                                    languages=_languages()))
            try:
                chosen = normalize_language(value)
            except ValueError:
                raise ConfigError(_("unknown language {value!r}; use one of: {languages}",
                                    value=value, languages=_languages())) from None
            continue
        rest.append(word)
    return rest, chosen


def _environment_language() -> str | None:
    """The language ``SIYU_LANGUAGE`` names, if it is set.

    :raises ConfigError: it names a language siyu does not ship.
    """
    try:
        return i18n.environment_language()
    except ValueError:
        raise ConfigError(_("SIYU_LANGUAGE={value!r} is not a language siyu ships; use one "
                            "of: {languages}", value=os.environ.get("SIYU_LANGUAGE", ""),
                            languages=_languages())) from None


def _choose_language(argv: Sequence[str]) -> list[str]:
    """Set the language of this run from ``--lang`` or ``SIYU_LANGUAGE``; when neither names
    one, the workspace a command opens decides (:func:`_open`), else Chinese. Returns
    ``argv`` without ``--lang``."""
    global _follow_workspace_language
    argv, chosen = _take_language(argv)
    chosen = chosen or _environment_language()
    set_default_language(chosen)
    _follow_workspace_language = chosen is None
    return argv


def _speak_workspace_language(ws: Any) -> None:
    """Speak ``ws``'s language from now on, unless ``--lang`` or ``SIYU_LANGUAGE`` chose."""
    if _follow_workspace_language:
        set_default_language(ws.language)


@contextmanager
def _argparse_in_language() -> Iterator[None]:
    """Translate argparse's own texts (:data:`ARGPARSE_TEXTS`: "usage:", "options", its
    usage errors) in the block; argparse looks them up through its module's ``_``."""
    names = [name for name in ("_", "ngettext") if hasattr(argparse, name)]
    saved = {name: getattr(argparse, name) for name in names}
    ours = {"_": _.gettext, "ngettext": _.ngettext}
    for name in names:
        setattr(argparse, name, ours[name])
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(argparse, name, value)


@contextmanager
def _keep_process_language() -> Iterator[None]:
    """Give the process back the default language it had before the block (``main`` may be
    called more than once in a process: tests, notebooks)."""
    global _follow_workspace_language
    saved = i18n.default_language()
    try:
        yield
    finally:
        set_default_language(saved)
        _follow_workspace_language = False


# -- argument types -----------------------------------------------------------------------


class ArgumentParser(argparse.ArgumentParser):
    """:class:`argparse.ArgumentParser` with siyu's error convention: a usage error (a bad
    option value, a missing argument) is one line, ``siyu: error: …`` naming the ``--help``
    to read, and exit code 2. Sub-command parsers (plugins' too) inherit it."""

    #: Adds this parser's arguments on first use (see :meth:`defer`); ``None`` once done.
    _setup: Callable[[ArgumentParser], None] | None = None

    def error(self, message: str) -> NoReturn:
        """Print ``message`` as one ``siyu: error:`` line and exit 2 (no usage block)."""
        self.exit(2, "siyu: error: " + _("{message} (see `{command} --help`)",
                                         message=_one_line(message), command=self.prog) + "\n")

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
        self._show_texts()
        return super().format_usage()

    def format_help(self) -> str:
        """:meth:`argparse.ArgumentParser.format_help`, after a deferred set-up."""
        self._set_up()
        self._show_texts()
        return super().format_help()

    def _show_texts(self) -> None:
        """Turn lazily translated texts (a plugin command's ``help``, e.g. ``_.lazy("…")``)
        into ``str`` now that they are shown: argparse formats them with ``%``. Until then
        they stay lazy, so that a command whose help is not shown reads no plugin's
        catalogue."""
        if self.description is not None and not isinstance(self.description, str):
            self.description = str(self.description)
        for action in self._actions:
            for choice in getattr(action, "_choices_actions", ()):
                if choice.help is not None and not isinstance(choice.help, str):
                    choice.help = str(choice.help)


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
            raise argparse.ArgumentTypeError(_(
                "{value!r} is not a whole number{range}", value=text,
                range=_range(minimum, maximum))) from None
        if (minimum is not None and value < minimum) or (maximum is not None
                                                          and value > maximum):
            raise argparse.ArgumentTypeError(_(
                "{value} is out of range; give a whole number{range}", value=value,
                range=_range(minimum, maximum)))
        return value

    return parse


def _range(minimum: int | None, maximum: int | None) -> str:
    if minimum is not None and maximum is not None:
        return _(" from {minimum:,} to {maximum:,}", minimum=minimum, maximum=maximum)
    if minimum is not None:
        return _(" of at least {minimum:,}", minimum=minimum)
    return _(" of at most {maximum:,}", maximum=maximum) if maximum is not None else ""


def seconds(text: str) -> float:
    """An argparse ``type=`` for a duration in seconds: a finite number above 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(_("{value!r} is not a number of seconds",
                                           value=text)) from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(_("{value!r} is not a duration; give a number of "
                                           "seconds above 0, e.g. 5 or 0.5", value=text))
    return value


def nonblank(text: str) -> str:
    """An argparse ``type=`` for text that may not be empty (names); returns it stripped."""
    if not text.strip():
        raise argparse.ArgumentTypeError(_("may not be empty; give some text"))
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
        raise ConfigError(_("cannot use database {where}: {reason}", where=_where(url),
                            reason=reason)) from exc


def _open(url: str | None, **kwargs: Any):
    """Open the workspace behind ``--db`` (created and migrated when new); from now on the
    command speaks its language, unless ``--lang`` or ``SIYU_LANGUAGE`` chose one."""
    import siyu

    resolved = resolve_url(url)
    with _database(resolved):
        ws = siyu.open(resolved, **kwargs)
        try:
            _speak_workspace_language(ws)
        except BaseException:
            ws.close()
            raise
    return ws


def _model_sets() -> list:
    """Every plugin's ``register_models`` records, for migrating without a Workspace."""
    return list(collect_records(get_plugin_manager(), "register_models", "model set").values())


# -- init / db / settings -----------------------------------------------------------------


def cmd_init(args: argparse.Namespace) -> int:
    """Create (or bring up to date) a workspace and store its name, timezone and language."""
    # Alembic is imported by the commands that migrate, not by every `siyu` start.
    from alembic.runtime.migration import MigrationContext

    from siyu.storage import migrate as schema

    if args.timezone is not None:
        try:
            ZoneInfo(args.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigError(_("unknown timezone {value!r}; use an IANA name such as "
                                "Asia/Shanghai", value=args.timezone)) from exc
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
        if args.language is not None:
            ws.set_language(args.language)
            _speak_workspace_language(ws)
        values = {"name": ws.name, "where": _where(url), "timezone": ws.timezone.key,
                  "language": ws.language}
        _out(_("Created workspace {name!r} at {where} (timezone {timezone}, language "
               "{language}).", **values) if new else
             _("Updated workspace {name!r} at {where} (timezone {timezone}, language "
               "{language}).", **values))
        if applied and not new:
            _out(_.ngettext("Applied {n} migration: {names}", "Applied {n} migrations: {names}",
                            len(applied), names=", ".join(applied)))
        _out(_("Next: siyu --db {db} import contacts FILE.csv, or in Python: siyu.open({url})",
               db=_shell_word(_where(url)), url=repr(_where(url))))
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
        _out(_.ngettext("Applied {n} migration to {where}: {names}",
                        "Applied {n} migrations to {where}: {names}", len(applied),
                        where=_where(url), names=", ".join(applied)))
    else:
        _out(_("{where} is up to date.", where=_where(url)))
    return 0


def cmd_db_status(args: argparse.Namespace) -> int:
    """Show pending migrations without applying them (nothing is created or changed)."""
    from siyu.storage import migrate as schema

    url = resolve_url(args.db)
    path = _sqlite_file(url)
    if path is not None and not path.exists():
        _out(_("No database at {path} yet; create it with `siyu init`.", path=path))
        return 0
    engine = create_engine(url)
    try:
        with _database(url):
            todo = schema.pending(engine, _model_sets())
    finally:
        engine.dispose()
    if todo:
        _out(_.ngettext("{where}: {n} pending migration: {names}; apply it with "
                        "`siyu db upgrade`.",
                        "{where}: {n} pending migrations: {names}; apply them with "
                        "`siyu db upgrade`.", len(todo), where=_where(url),
                        names=", ".join(todo)))
    else:
        _out(_("{where} is up to date.", where=_where(url)))
    return 0


def _language_line(ws: Any) -> str:
    """The workspace's language for people, saying where it comes from when it is not set."""
    code = ws.language
    if ws.settings.get("language", None):
        return _("{language} ({code})", language=language_name(code), code=code)
    return _("{language} ({code}; not set, so SIYU_LANGUAGE or the default)",
             language=language_name(code), code=code)


def cmd_settings_show(args: argparse.Namespace) -> int:
    """``siyu settings show``: the workspace's name, timezone and language."""
    ws = _open(args.db)
    try:
        rows = [(_("name"), ws.name), (_("timezone"), ws.timezone.key),
                (_("language"), _language_line(ws)), (_("database"), _where(ws.url))]
    finally:
        ws.close()
    width = max(_width(label) for label, _value in rows)
    for label, value in rows:
        _out(f"{_pad(label, width)}  {value}")
    return 0


def cmd_settings_language(args: argparse.Namespace) -> int:
    """``siyu settings language [LANG]``: show or set the workspace's default language (the
    console's, for users who chose none, and this command's)."""
    ws = _open(args.db)
    try:
        if args.language is None:
            _out(_("workspace language: {language}", language=_language_line(ws)))
            return 0
        code = ws.set_language(args.language)
        _speak_workspace_language(ws)
        _out(_("workspace language: {language} ({code}); console users who chose no language "
               "of their own see it", language=language_name(code), code=code))
    finally:
        ws.close()
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
        _out(_("No plugins."))
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
            _out(head + "  " + _("failed to load: {error}", error=_one_line(info.error)))
            continue
        if info.blocked:
            _out(f"{head}  ({_one_line(info.status)})")
            continue
        _out(head)
        _out("    " + _("hooks: {hooks}", hooks=", ".join(info.hooks) if info.hooks
                        else _("(none)")))
        if info.requires:
            _out("    " + _("requires: {plugins}", plugins=", ".join(info.requires)))
        prefixes = [claim.name for claim in claims if claim.plugin == info.name]
        if prefixes:
            _out("    " + _("state prefixes: {prefixes}", prefixes=", ".join(prefixes)))
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
        raise PluginError(_("unknown command {command!r}; it may belong to a plugin that is "
                            "not loaded: {plugins}; see `siyu plugins`", command=command,
                            plugins="; ".join(missing)))


# -- import -------------------------------------------------------------------------------


def _mapping_pair(text: str) -> tuple[str, str]:
    column, sep, field = text.partition("=")
    if not sep or not column.strip() or not field.strip():
        raise argparse.ArgumentTypeError(_("{value!r} is not COLUMN=FIELD (e.g. 手机=phone)",
                                           value=text))
    return column.strip(), field.strip()


def _print_problems(problems: Sequence[Any], write: Callable[..., None]) -> None:
    for problem in problems[:MAX_PROBLEMS]:
        write(str(problem))
    if len(problems) > MAX_PROBLEMS:
        write(_("... and {n} more", n=len(problems) - MAX_PROBLEMS))


def cmd_import(args: argparse.Namespace) -> int:
    """Import contacts or orders from a CSV or Excel file."""
    path = Path(args.file)
    if path.is_dir():
        raise ImportFailed(_("{path!r} is a folder; give the path of a .csv or .xlsx file",
                             path=str(path)))
    if not path.is_file():
        raise ImportFailed(_("no such file {path!r}; give the path of a .csv or .xlsx file",
                             path=str(path)))
    mapping = dict(args.map) if args.map else None
    ws = _open(args.db)
    try:
        if args.kind == "contacts":
            custom = args.custom_fields
            report = ws.imports.contacts(path, mapping=mapping, key=args.key,
                                         skip_bad_rows=args.skip_bad_rows,
                                         create_tags=args.create_tags,
                                         progress=_progress(args),
                                         custom_fields=(True if custom == "all" else
                                                        [c.strip() for c in custom.split(",")
                                                         if c.strip()] if custom else False))
        elif args.kind == "order-lines":
            report = ws.imports.order_lines(path, mapping=mapping, source=args.source,
                                            skip_bad_rows=args.skip_bad_rows,
                                            progress=_progress(args))
        else:
            report = ws.imports.orders(path, mapping=mapping, source=args.source,
                                       skip_bad_rows=args.skip_bad_rows,
                                       progress=_progress(args))
    finally:
        ws.close()
    _print_problems(report.problems, _out)
    if report.ignored_columns:
        fields = {"contacts": CONTACT_FIELDS, "orders": ORDER_FIELDS,
                  "order-lines": ORDER_LINE_FIELDS}[args.kind]
        _out(_("{ignored}; to import one, add --map COLUMN=FIELD (e.g. --map {column}=FIELD); "
               "fields: {fields}", ignored=report.ignored(),
               column=_shell_word(report.ignored_columns[0]), fields=", ".join(fields)))
    _out(report.summary())
    return 0


# -- demo ---------------------------------------------------------------------------------


def _count_of(table: str, n: int) -> str:
    """``n`` rows of a core table for people: "8 stores"."""
    texts = {"store": _("{n:,} stores", n=n), "staff": _("{n:,} staff", n=n),
             "contact": _("{n:,} contacts", n=n), "orders": _("{n:,} orders", n=n)}
    return texts[table]


def _occupant(url: str) -> str | None:
    """What already lives at ``url``: ``None`` when it is missing or holds no business data."""
    path = _sqlite_file(url)
    if path is not None and (not path.exists() or path.stat().st_size == 0):
        return None
    engine = create_engine(url)
    not_siyu = _("a file that is not a siyu database")
    try:
        with engine.connect() as conn:
            tables = set(sa.inspect(conn).get_table_names())
            counts = {table: conn.execute(sa.text(f'SELECT COUNT(*) FROM "{table}"')).scalar()
                      for table in ("store", "staff", "contact", "orders") if table in tables}
    except sa.exc.OperationalError as exc:
        if path is None:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise ConfigError(_("cannot use database {where}: {reason}", where=_where(url),
                                reason=reason)) from exc
        return not_siyu
    except sa.exc.DatabaseError:
        return not_siyu
    finally:
        engine.dispose()
    held = [_count_of(table, n) for table, n in counts.items() if n]
    return _("data ({counts})", counts=", ".join(held)) if held else None


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
            _out(_("started {service} (plugin {plugin})", service=result.name, plugin=name))
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
            raise ConfigError(_("{where} already holds {occupant}; choose another database "
                                "with --db, or pass --force to replace it", where=_where(url),
                                occupant=occupant))
        if path is None:
            raise ConfigError(_("--force only replaces SQLite files, and {where} is not one; "
                                "point --db at an empty database or a new file",
                                where=_where(url)))
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
                banner = ([_("First login: user {user}, password {password}",
                             user=credentials[0], password=credentials[1])]
                          if credentials else [])
                return serve(ws, args, banner, on_ready=connect)
            finally:
                for service in services:
                    service.stop()
    finally:
        ws.close()
    _out("")
    _out(_("Next, look at it from Python:"))
    _out(f'  python -c "import siyu; ws = siyu.open({_hint_url(url, args.db)}); '
         f'print(ws.contacts.df().head())"')
    return 0


def order_counts(ws: Any) -> dict[str, dict[str, int]]:
    """Every order of ``ws`` by status: ``{status: {"orders", "amount_fen",
    "refunded_fen"}}``, the statuses in the order of
    :data:`~siyu.core.services.orders.ORDER_STATUSES`, then any other status stored.

    :raises PermissionDenied: the workspace's principal may not read data.
    """
    from siyu.core.services.orders import ORDER_STATUSES
    from siyu.storage.models import Order

    ws.principal.require("data.read")
    o = Order.__table__
    query = (sa.select(o.c.status, sa.func.count(),
                       sa.func.coalesce(sa.func.sum(o.c.amount_fen), 0),
                       sa.func.coalesce(sa.func.sum(o.c.refunded_fen), 0))
             .group_by(o.c.status))
    with ws.engine.connect() as conn:
        rows = {status: {"orders": int(n), "amount_fen": int(amount),
                         "refunded_fen": int(refunded)}
                for status, n, amount, refunded in conn.execute(query)}
    known = [status for status in ORDER_STATUSES if status in rows]
    return {status: rows[status] for status in [*known, *sorted(set(rows) - set(known))]}


def _status_count(status: str, n: int) -> str:
    """``n`` orders of ``status`` for people: "7,660 paid"."""
    if status == "paid":
        return _("{n:,} paid", n=n)
    if status == "partially_refunded":
        return _("{n:,} partly refunded", n=n)
    if status == "refunded":
        return _("{n:,} refunded", n=n)
    if status == "cancelled":
        return _("{n:,} cancelled", n=n)
    return f"{n:,} {status}"  # a status siyu does not know: shown as stored


def _print_summary(ws: Any, url: str) -> None:
    """What the demo loaded: counts, every order by status (the parts add up to the orders
    stored), revenue (paid orders less their refunds) and refunds, contacts per channel."""
    from siyu.storage.models import PAID_STATUSES

    counts = ws.summary()
    by_status = order_counts(ws)
    orders = sum(row["orders"] for row in by_status.values())
    revenue = sum(row["amount_fen"] - row["refunded_fen"] for status, row in by_status.items()
                  if status in PAID_STATUSES)
    refunded = {status: row for status, row in by_status.items() if row["refunded_fen"]}
    refunds = sum(row["refunded_fen"] for row in refunded.values())
    refund_orders = sum(row["orders"] for row in refunded.values())
    rows = [(_("stores"), f"{counts['stores']:,}", ""),
            (_("staff"), f"{counts['staff']:,}", ""),
            (_("contacts"), f"{counts['contacts']:,}", ""),
            (_("tags"), f"{counts['tags']:,}", ""),
            (_("orders"), f"{orders:,}",
             _(", ").join(_status_count(status, row["orders"])
                          for status, row in by_status.items())),
            (_("revenue"), _yuan(revenue), _("paid orders, less refunds")),
            (_("refunds"), _yuan(refunds),
             _.ngettext("{n:,} order", "{n:,} orders", refund_orders))]
    channels = ws.contacts.df(columns=["source_channel"])["source_channel"]
    top = channels.fillna("").replace("", _("(none)")).value_counts().head(5)
    rows += [(str(name), f"{n:,}", "") for name, n in top.items()]

    label_width = max(_width(row[0]) for row in rows)
    value_width = max(len(row[1]) for row in rows)

    def line(label: str, value: str, note: str) -> None:
        text = f"  {_pad(label, label_width)}  {value:>{value_width}}"
        _out(f"{text}  " + _("({note})", note=note) if note else text)

    _out("")
    _out(_("Demo workspace ready at {where}", where=_where(url)))
    _out("")
    for row in rows[:7]:
        line(*row)
    _out("")
    _out("  " + _("contacts per channel (top 5)"))
    for row in rows[7:]:
        line(*row)


# -- i18n ---------------------------------------------------------------------------------


def _catalogue_languages(given: Sequence[str] | None) -> list[str]:
    """The languages ``siyu i18n`` works on: ``given``, else every language siyu ships but
    English (the language of the code, which needs no catalogue).

    :raises ConfigError: ``en`` was asked for.
    """
    if given and "en" in given:
        raise ConfigError(_("English is the language of the code and needs no catalogue; "
                            "give another language: {languages}",
                            languages=", ".join(code for code in LANGUAGES if code != "en")))
    return list(dict.fromkeys(given)) if given else [code for code in LANGUAGES if code != "en"]


def _catalogue_packages(given: Sequence[str] | None) -> list[str]:
    """``given`` (importable package names or folders), else every siyu package that keeps
    a catalogue.

    :raises ConfigError: a package that cannot be found.
    """
    from siyu.core import i18n_catalogues

    packages = list(dict.fromkeys(given)) if given else i18n_catalogues.packages()
    for package in packages:
        try:
            i18n_catalogues.package_dir(package)
        except (ValueError, ImportError):
            raise ConfigError(_("no package {package!r}: give the name of an importable "
                                "package, or a folder that holds its code",
                                package=package)) from None
    return packages


def cmd_i18n_check(args: argparse.Namespace) -> int:
    """``siyu i18n check``: list the messages of the code that have no translation, per
    package and language; exit 1 when there are some."""
    from siyu.core import i18n_catalogues

    missing_any = False
    for package in _catalogue_packages(args.package):
        total = len(i18n_catalogues.extract(package))
        for code in _catalogue_languages(args.language):
            missing = i18n_catalogues.untranslated(package, code)
            if not missing:
                _out(_.ngettext("{package} ({language}): {n} message, translated",
                                "{package} ({language}): {n} messages, all translated", total,
                                package=package, language=code))
                continue
            missing_any = True
            _out(_("{package} ({language}): {missing} of {total} messages untranslated in "
                   "{path}", package=package, language=code, missing=len(missing), total=total,
                   path=i18n_catalogues.po_path(package, code)))
            for message in missing:
                _out(f"    {message!r}")
    if missing_any:
        _out(_("Translate them (the empty msgstr lines; after `siyu i18n update` for "
               "messages the catalogue does not hold yet), then check again."))
    return 1 if missing_any else 0


def cmd_i18n_update(args: argparse.Namespace) -> int:
    """``siyu i18n update``: bring each ``.po`` catalogue in step with the code (new
    messages added, vanished ones dropped, translations kept) and report the counts."""
    from siyu.core import i18n_catalogues

    for package in _catalogue_packages(args.package):
        for code in _catalogue_languages(args.language):
            counts = i18n_catalogues.update(package, code)
            missing = len(i18n_catalogues.untranslated(package, code))
            _out(_.ngettext("{package} ({language}): {n} message, {added} new, {kept} kept, "
                            "{dropped} dropped; {missing} untranslated",
                            "{package} ({language}): {n} messages, {added} new, {kept} kept, "
                            "{dropped} dropped; {missing} untranslated", counts["messages"],
                            package=package, language=code, missing=missing,
                            added=counts["added"], kept=counts["kept"],
                            dropped=counts["dropped"]))
            _out("    " + str(i18n_catalogues.po_path(package, code)))
    return 0


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
                raise PluginError(_(
                    "plugin {plugin!r} registers command {command!r}, which is a built-in "
                    "siyu command; rename it in the plugin, or disable the plugin with "
                    "SIYU_DISABLE_PLUGINS={plugin}", plugin=plugin_name, command=spec.name))
            if spec.name in commands:
                raise PluginError(_(
                    "command {command!r} is registered by both plugin {first!r} and plugin "
                    "{second!r}; rename one", command=spec.name, first=owners[spec.name],
                    second=plugin_name))
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
    Its texts are in the current language (:func:`siyu.core.i18n.current_language`).

    :param commands: plugin commands by name (:func:`plugin_commands`); each is listed with
        its ``help`` and set up with its ``configure``.
    :param defer: call each plugin command's ``configure`` only when that command is parsed
        or its help shown, not now (what ``siyu`` itself does, so that starting one command
        imports no other command's modules). Then a failing ``configure`` is raised by
        ``parse_args`` instead.
    :raises PluginError: a plugin's ``configure`` fails or adds a clashing option.
    """
    db_help = _("database URL or SQLite file (default: $SIYU_DATABASE_URL or ./siyu.db)")
    parser = ArgumentParser(
        prog="siyu", description=_("siyu (私域): private-domain growth toolkit for WeCom."),
        epilog=_("Run `siyu demo` for a workspace with sample data."))
    parser.add_argument("--version", action="version", version=f"siyu {__version__}")
    parser.add_argument("--db", metavar="URL", default=None, help=db_help)
    # Taken out of the command line before parsing (see _take_language), wherever it
    # stands; declared here so that `siyu --help` shows it.
    parser.add_argument("--lang", metavar="LANG", type=language, default=None,
                        help=_("language of this command's output: {languages} (default: "
                               "$SIYU_LANGUAGE, else the workspace's language, else zh_CN)",
                               languages=", ".join(LANGUAGES)))
    # Sub-commands accept --db too (`siyu init --db shop.db`); SUPPRESS keeps a --db given
    # before the sub-command when none is given after it.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", metavar="URL", default=argparse.SUPPRESS, help=db_help)

    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("init", parents=[common], help=_("create a workspace (database)"),
                       description=_("Create and migrate a workspace, store its settings."))
    p.add_argument("--name", type=nonblank, help=_("display name of the workspace"))
    p.add_argument("--timezone", metavar="TZ",
                   help=_("timezone times are shown in (default Asia/Shanghai)"))
    p.add_argument("--language", metavar="LANG", type=language,
                   help=_("the workspace's default language for the console and the CLI: "
                          "{languages} (default: $SIYU_LANGUAGE, else zh_CN)",
                          languages=", ".join(LANGUAGES)))
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("db", help=_("database migrations"),
                       description=_("Inspect or apply schema migrations."))
    db_sub = p.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    q = db_sub.add_parser("upgrade", parents=[common], help=_("apply pending migrations"))
    q.set_defaults(func=cmd_db_upgrade)
    q = db_sub.add_parser("status", parents=[common],
                          help=_("show pending migrations (changes nothing)"))
    q.set_defaults(func=cmd_db_status)

    p = sub.add_parser("settings", help=_("the workspace's settings: name, timezone, language"),
                       description=_("Show the workspace's settings, or set its default "
                                     "language (`siyu init --name/--timezone` sets the "
                                     "others)."))
    settings_sub = p.add_subparsers(dest="settings_command", metavar="ACTION", required=True)
    q = settings_sub.add_parser("show", parents=[common],
                                help=_("show the name, timezone and language"))
    q.set_defaults(func=cmd_settings_show)
    q = settings_sub.add_parser("language", parents=[common],
                                help=_("show or set the workspace's default language"))
    q.add_argument("language", nargs="?", metavar="LANG", type=language,
                   help=_("{languages}; leave out to show the current one",
                          languages=", ".join(LANGUAGES)))
    q.set_defaults(func=cmd_settings_language)

    p = sub.add_parser("plugins", parents=[common], help=_("list plugins and their hooks"),
                       description=_("List every plugin (built-in, entry point, disabled or "
                                     "broken) with the hooks it implements."))
    p.set_defaults(func=cmd_plugins)

    p = sub.add_parser("import", help=_("import contacts or orders from CSV / Excel"),
                       description=_("Import a CSV (UTF-8, UTF-8 with BOM, GBK) or .xlsx "
                                     "file. Chinese and English headers are recognised; "
                                     "--map names the others. A file with bad rows is "
                                     "rejected as a whole unless --skip-bad-rows."))
    imp_sub = p.add_subparsers(dest="kind", metavar="KIND", required=True)
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument("file", metavar="FILE", help=_(".csv or .xlsx file"))
    options.add_argument("--map", action="append", type=_mapping_pair, metavar="COL=FIELD",
                         help=_("read file column COL as FIELD (repeatable)"))
    options.add_argument("--skip-bad-rows", action="store_true",
                         help=_("import the good rows, report the bad ones"))
    options.add_argument("--no-progress", action="store_true", help=_("no progress bar"))
    q = imp_sub.add_parser("contacts", parents=[common, options], help=_("import contacts"),
                           epilog=_("Fields: {fields}.", fields=", ".join(CONTACT_FIELDS)))
    q.add_argument("--key", default="external_userid",
                   help=_("field that identifies an existing contact: external_userid "
                          "(default), phone or unionid"))
    q.add_argument("--create-tags", action="store_true",
                   help=_("create tags named in the file that do not exist yet"))
    q.add_argument("--custom-fields", metavar="COLUMNS",
                   help=_("keep these columns (comma-separated, or 'all' for every column "
                          "not otherwise imported) as custom fields, e.g. 会员等级,生日"))
    q.set_defaults(func=cmd_import)
    q = imp_sub.add_parser("orders", parents=[common, options], help=_("import orders"),
                           epilog=_("Fields: {fields}.", fields=", ".join(ORDER_FIELDS)))
    q.add_argument("--source", default="import",
                   help=_("the system the orders come from; order numbers are unique per "
                          "source (default import)"))
    q.set_defaults(func=cmd_import)
    q = imp_sub.add_parser("order-lines", parents=[common, options],
                           help=_("import the product lines of imported orders"),
                           epilog=_("Fields: {fields}.", fields=", ".join(ORDER_LINE_FIELDS)))
    q.add_argument("--source", default="import",
                   help=_("the source the orders were imported from (default import)"))
    q.set_defaults(func=cmd_import)

    p = sub.add_parser("demo", parents=[common],
                       help=_("create a workspace with a sample business"),
                       description=_("Create a fresh workspace, load the bundled sample "
                                     "business (8 stores, 24 staff, ~3,000 contacts, ~8,000 "
                                     "orders) and summarise it."))
    p.add_argument("--force", action="store_true",
                   help=_("replace an existing SQLite database file"))
    p.add_argument("--no-progress", action="store_true", help=_("no progress bars"))
    p.add_argument("--no-serve", action="store_true",
                   help=_("load and summarise only; do not start the console"))
    p.add_argument("--no-sandbox", action="store_true",
                   help=_("serve without what plugins start for the demo (by default the "
                          "built-in WeCom sandbox: synced, with a live code to scan)"))
    add_serve_options(p)
    p.set_defaults(func=cmd_demo)
    add_console_commands(sub, common)
    add_hook_commands(sub, common)
    add_data_commands(sub, common)
    add_segment_commands(sub, common)

    p = sub.add_parser("i18n", help=_("translation catalogues: check and update"),
                       description=_("Keep the translations of siyu and of plugins in step "
                                     "with the code: each package keeps its catalogue in "
                                     "<package>/locale/<language>/LC_MESSAGES/messages.po."))
    i18n_sub = p.add_subparsers(dest="i18n_command", metavar="ACTION", required=True)
    package_help = _("an importable package or its folder (repeatable; default: every siyu "
                     "package)")
    language_help = _("a language to work on: {languages} (repeatable; default: every "
                      "language but English)",
                      languages=", ".join(code for code in LANGUAGES if code != "en"))
    q = i18n_sub.add_parser("check", help=_("list untranslated messages (exit 1 when there "
                                            "are some)"))
    q.add_argument("--package", action="append", metavar="PACKAGE", help=package_help)
    q.add_argument("--language", action="append", metavar="LANG", type=language,
                   help=language_help)
    q.set_defaults(func=cmd_i18n_check)
    q = i18n_sub.add_parser("update", help=_("rebuild the .po catalogues from the code, "
                                             "keeping translations"))
    q.add_argument("--package", action="append", metavar="PACKAGE", help=package_help)
    q.add_argument("--language", action="append", metavar="LANG", type=language,
                   help=language_help)
    q.set_defaults(func=cmd_i18n_update)

    for name, spec in (commands or {}).items():
        # A lazily translated help stays lazy until shown (ArgumentParser._show_texts).
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
            error = f"{type(exc).__name__}: {exc}"
            raise PluginError(_("plugin command {command!r} could not set up its options: "
                                "{error}", command=name, error=error)) from exc
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
    global _follow_workspace_language
    argv = _choose_language(argv)
    if os.environ.get("SIYU_TRACE_PLUGINS") == "1":
        _show_plugin_trace()
    commands = plugin_commands()
    _explain_unknown_command(argv, commands)
    parser = build_parser(commands, defer=True)
    args = parser.parse_args(argv)
    if args.lang:  # an abbreviation (`--lan en`) that _take_language did not see
        set_default_language(args.lang)
        _follow_workspace_language = False
    return args.func(args)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``siyu`` command; returns the exit code.

    :param argv: arguments without the program name; default ``sys.argv[1:]``.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv == ["--version"]:  # answered before any plugin is loaded (or catalogue read)
        _out(f"siyu {__version__}")
        return 0
    with _keep_process_language(), _argparse_in_language():
        return _main(argv)


def _main(argv: list[str]) -> int:
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
        _err("siyu: " + _("interrupted"))
        return 130
    except OSError as exc:
        # A port another program already listens on (serve, demo, sandbox --port) is the
        # user's machine, not a bug. Every other OSError keeps its traceback: files the user
        # names are checked where they enter (import, --zip, --csv).
        if exc.errno != errno.EADDRINUSE:
            raise
        _err("siyu: error: " + _("cannot listen: {reason}; another program uses that port, "
                                 "choose another with --port", reason=exc.strerror))
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
