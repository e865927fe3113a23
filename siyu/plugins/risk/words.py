"""The notebook door to sensitive words: import word lists, add and remove words, list them,
and screen texts with the stored words.

Every function takes the Workspace first and acts as its principal (``data.read`` to list
words and screen texts, ``data.write`` to change them); every change is audited
(``risk.words.import``, ``risk.word.add``, ``risk.words.remove``) in its own transaction.

Word lists are parsed in full before anything is written, so a bad file (missing, not
UTF-8, a bad line) raises :class:`~siyu.plugins.risk.screen.WordListError` naming the file
and line and leaves the stored words as they were.

:func:`screen` builds a :class:`~siyu.plugins.risk.screen.WordScreen` from the stored words
once and keeps it for the workspace. Each change raises a counter (``risk_word_version``) in
the transaction that makes it, so a later :func:`screen` (in this process or any other) sees
with one single-row read whether its copy is still current, and rebuilds it when not.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from siyu.core.errors import NotFound, ValidationError, listing
from siyu.core.i18n import translator
from siyu.plugins.risk.models import MANUAL, RiskWord, RiskWordVersion
from siyu.storage.types import utcnow

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from siyu.core.workspace import Workspace
    from siyu.plugins.risk.screen import Match, WordScreen

_ = translator("siyu.plugins.risk")

__all__ = ["ImportReport", "add_word", "categories", "import_words", "remove_words", "screen",
           "test_text", "word_rows", "words"]

WORDS = RiskWord.__table__
VERSION = RiskWordVersion.__table__
#: The columns of :func:`words` and :func:`word_rows`, in order.
COLUMNS = ("id", "word", "normalised", "category", "source", "created_at", "created_by")
#: Ids deleted per statement (well under every engine's limit on bound parameters).
_CHUNK = 500


@dataclass(frozen=True)
class ImportReport:
    """What :func:`import_words` did.

    :ivar added: words stored that were not stored before.
    :ivar present: words of the lists that were stored already (kept as they were).
    :ivar removed: stored words that ``replace=True`` removed (not in the new lists).
    :ivar categories: per category, ``{"added": n, "present": n, "removed": n}``.
    :ivar sources: the files read (their names), or ``manual`` for text.
    """

    added: int = 0
    present: int = 0
    removed: int = 0
    categories: dict[str, dict[str, int]] = field(default_factory=dict)
    sources: tuple[str, ...] = ()

    def summary(self) -> str:
        """The report as lines a person reads: the totals, then one line per category."""
        lines = [_("added {added}, already present {present}, removed {removed}",
                   added=self.added, present=self.present, removed=self.removed)]
        for category, counts in self.categories.items():
            lines.append("  " + _("{category}: added {added}, already present {present}, "
                                  "removed {removed}", category=category, **counts))
        return "\n".join(lines)


# -- reading word lists ------------------------------------------------------------------------


def _inputs(paths_or_text: Any) -> tuple[str | None, list[Path]]:
    """``(text, [])`` for the text of a list (a ``str`` holding a line break), else
    ``(None, files)``."""
    if isinstance(paths_or_text, str) and "\n" in paths_or_text:
        return paths_or_text, []
    if isinstance(paths_or_text, str | os.PathLike):
        paths = [paths_or_text]
    else:
        paths = list(paths_or_text or ())
    if not paths:
        raise ValidationError(_("no word list given: pass one or more files, or the text of a "
                                "list (one word per line)"))
    return None, [Path(path) for path in paths]


def _read_lists(paths_or_text: Any, category: str | None
                ) -> tuple[list[tuple[str, str, str, str]], list[str]]:
    """Every ``(normalised, word, category, source)`` of the lists, each normalised word once
    per category (its first spelling), and the sources read. Nothing is written here.

    :raises WordListError: naming the file and line of a bad word, header or byte, or a file
        that cannot be read.
    """
    from siyu.plugins.risk.screen import WordListError, _read, normalise, parse_word_list

    text, paths = _inputs(paths_or_text)
    lists: list[tuple[list[tuple[str, str]], str]] = []
    if text is not None:
        lists.append((parse_word_list(text, category, source=_("<text>")), MANUAL))
    for path in paths:
        try:
            content = _read(path)
        except OSError as exc:
            raise WordListError(_("{path}: cannot read the word list: {reason}", path=path,
                                  reason=exc.strerror or exc)) from None
        default = category if category is not None else path.stem
        lists.append((parse_word_list(content, default, source=str(path)), path.name))
    entries: dict[tuple[str, str], tuple[str, str, str, str]] = {}
    for pairs, source in lists:
        for word, listed in pairs:
            key = normalise(word)[0]
            entries.setdefault((key, listed), (key, word, listed, source))
    return list(entries.values()), [source for _pairs, source in lists]


def _bump(conn: sa.Connection) -> None:
    """Raise the change counter; first in every change, so that writers take turns (the row
    lock on PostgreSQL, the write lock on SQLite) before they read what is stored."""
    done = conn.execute(VERSION.update().where(VERSION.c.id == 1)
                        .values(version=VERSION.c.version + 1)).rowcount
    if not done:
        conn.execute(VERSION.insert().values(id=1, version=1))


def _delete_ids(conn: sa.Connection, ids: list[int]) -> None:
    for start in range(0, len(ids), _CHUNK):
        conn.execute(WORDS.delete().where(WORDS.c.id.in_(ids[start:start + _CHUNK])))


# -- changing words ----------------------------------------------------------------------------


def import_words(ws: Workspace, paths_or_text: Any, *, category: str | None = None,
                 replace: bool = False) -> ImportReport:
    """Store the words of word lists (see ``docs/risk.md`` for the format).

    :param paths_or_text: a file, a list of files, or the text of a list (a ``str`` holding
        a line break; any other ``str`` is a file name). Files are UTF-8, with or without a
        BOM.
    :param category: the category of words before a list's first ``[category]`` header;
        default: the file's name without its suffix (text needs a header or this).
    :param replace: make the named categories (``category`` and every category the lists
        hold words in) hold exactly the lists' words: stored words of those categories that
        the lists do not have are removed, in the same transaction. Other categories are
        left alone.
    :returns: an :class:`ImportReport`.
    :raises PermissionDenied: the principal may not write data.
    :raises WordListError: naming the file and line of anything wrong; nothing is stored.
    :raises ValidationError: no list given.
    """
    ws.principal.require("data.write")
    entries, sources = _read_lists(paths_or_text, category)
    named = list(dict.fromkeys([*([category.strip()] if category is not None else []),
                                *(listed for _k, _w, listed, _s in entries)]))
    if not named:  # empty lists and no category: nothing to store or replace
        return ImportReport(sources=tuple(sources))
    counts = {name: {"added": 0, "present": 0, "removed": 0} for name in named}
    wanted = {(key, listed) for key, _w, listed, _s in entries}
    now, who = utcnow(), ws.principal.name
    with ws.session() as s:
        conn = s.connection()
        _bump(conn)
        stored: dict[tuple[str, str], int] = {}
        for start in range(0, len(named), _CHUNK):
            query = sa.select(WORDS.c.id, WORDS.c.normalised, WORDS.c.category).where(
                WORDS.c.category.in_(named[start:start + _CHUNK]))
            stored.update({(key, listed): id_ for id_, key, listed in conn.execute(query)})
        rows = []
        for key, word, listed, source in entries:
            if (key, listed) in stored:
                counts[listed]["present"] += 1
            else:
                counts[listed]["added"] += 1
                rows.append({"word": word, "normalised": key, "category": listed,
                             "source": source[:255], "created_at": now, "created_by": who})
        gone = [id_ for key, id_ in stored.items() if key not in wanted] if replace else []
        for key in stored:
            if replace and key not in wanted:
                counts[key[1]]["removed"] += 1
        _delete_ids(conn, gone)
        if rows:
            conn.execute(WORDS.insert(), rows)
        report = ImportReport(added=len(rows), present=len(entries) - len(rows),
                              removed=len(gone), categories=counts, sources=tuple(sources))
        ws.audit("risk.words.import", ", ".join(named),
                 {"added": report.added, "present": report.present,
                  "removed": report.removed, "replace": replace, "sources": sources,
                  "categories": counts}, session=s)
    return report


def add_word(ws: Workspace, word: str, category: str) -> bool:
    """Store one word in ``category`` (source ``manual``).

    :returns: ``True`` when it was added, ``False`` when the category held it already (in
        any spelling that normalises alike).
    :raises PermissionDenied: the principal may not write data.
    :raises WordListError: a word with no letters or digits, or one or a category longer
        than 50 characters.
    """
    from siyu.plugins.risk.screen import _check_category, _check_word

    ws.principal.require("data.write")
    word = str(word).strip()
    where = _("adding to {category!r}", category=category)
    key = _check_word(word, where)
    category = _check_category(str(category), where)
    stored = sa.select(WORDS.c.id).where(WORDS.c.normalised == key,
                                         WORDS.c.category == category)
    with ws.engine.connect() as conn:
        if conn.execute(stored).first():
            return False
    try:
        with ws.session() as s:
            conn = s.connection()
            _bump(conn)
            conn.execute(WORDS.insert().values(word=word, normalised=key, category=category,
                                               source=MANUAL, created_at=utcnow(),
                                               created_by=ws.principal.name))
            ws.audit("risk.word.add", word, {"category": category}, session=s)
    except sa.exc.IntegrityError:  # added by someone else meanwhile
        return False
    return True


def remove_words(ws: Workspace, words: Iterable[str] | str | None = None,
                 category: str | None = None) -> int:
    """Remove words (compared in normalised form, so ``ＶＸ`` removes ``vx``), a whole
    category, or the given words from one category only.

    :param words: the words; ``None`` with a ``category``: every word of it.
    :param category: only this category.
    :returns: how many stored words (word × category) were removed.
    :raises PermissionDenied: the principal may not write data.
    :raises ValidationError: neither words nor a category given.
    :raises NotFound: ``category`` holds no words.
    """
    from siyu.plugins.risk.screen import normalise

    ws.principal.require("data.write")
    if words is None and category is None:
        raise ValidationError(_("name the words to remove, or a category (every word of it)"))
    given = [words] if isinstance(words, str) else list(words or ())
    condition = sa.true()
    if words is not None:
        condition = WORDS.c.normalised.in_(sorted({normalise(str(w))[0] for w in given}))
    if category is not None:
        category = category.strip()
        known = categories(ws)
        if category not in known:
            raise NotFound(_("no category {category!r}; the categories are {categories}",
                             category=category, categories=listing(known) or "-"))
        condition = sa.and_(condition, WORDS.c.category == category)
    with ws.session() as s:
        conn = s.connection()
        _bump(conn)
        found = conn.execute(sa.select(WORDS.c.id, WORDS.c.word, WORDS.c.category)
                             .where(condition).order_by(WORDS.c.id)).all()
        _delete_ids(conn, [row.id for row in found])
        ws.audit("risk.words.remove", category if words is None else ", ".join(given)[:300],
                 {"removed": len(found), "category": category,
                  "words": [f"{row.category}/{row.word}" for row in found[:100]]}, session=s)
    return len(found)


# -- reading words -----------------------------------------------------------------------------


def word_rows(ws: Workspace, category: str | None = None) -> list[dict[str, Any]]:
    """The stored words as dicts (keys :data:`COLUMNS`), by category, then as added; read
    without pandas (what ``siyu risk words list`` prints). ``created_at`` is aware UTC.

    :raises PermissionDenied: the principal may not read data.
    """
    ws.principal.require("data.read")
    query = sa.select(*(WORDS.c[name] for name in COLUMNS)).order_by(WORDS.c.category,
                                                                     WORDS.c.id)
    if category is not None:
        query = query.where(WORDS.c.category == category.strip())
    with ws.engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(query)]


def words(ws: Workspace, category: str | None = None) -> pd.DataFrame:
    """The stored words as a DataFrame (columns :data:`COLUMNS`, ``created_at`` in the
    workspace timezone), by category, then as added.

    :param category: only this category.
    :raises PermissionDenied: the principal may not read data.
    """
    import pandas as pd

    frame = pd.DataFrame(word_rows(ws, category), columns=list(COLUMNS))
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True).dt.tz_convert(
        ws.timezone)
    return frame


def categories(ws: Workspace) -> dict[str, int]:
    """Each category with its number of words, by name.

    :raises PermissionDenied: the principal may not read data.
    """
    ws.principal.require("data.read")
    with ws.engine.connect() as conn:
        return dict(conn.execute(sa.select(WORDS.c.category, sa.func.count())
                                 .group_by(WORDS.c.category).order_by(WORDS.c.category)).all())


# -- screening ---------------------------------------------------------------------------------


class _ScreenCache:
    """The screen of one workspace with the change counter it was built at, kept as one
    ``(version, screen)`` pair so that a reader never sees one without the other."""

    def __init__(self, ws: Workspace):
        self.lock = threading.Lock()
        self.current: tuple[int, WordScreen] | None = None

    def get(self, version: int) -> WordScreen | None:
        current = self.current
        return current[1] if current is not None and current[0] == version else None


def _version(conn: sa.Connection) -> int:
    return conn.execute(sa.select(VERSION.c.version).where(VERSION.c.id == 1)).scalar() or 0


def screen(ws: Workspace) -> WordScreen:
    """A :class:`~siyu.plugins.risk.screen.WordScreen` of the stored words, kept for the
    workspace and rebuilt only after the words changed (here or in another process).

    :raises PermissionDenied: the principal may not read data.
    """
    from siyu.plugins.risk.screen import WordScreen

    ws.principal.require("data.read")
    cache = ws.extension("risk.screen", _ScreenCache)
    with ws.engine.connect() as conn:
        version = _version(conn)
    kept = cache.get(version)
    if kept is not None:
        return kept
    with cache.lock:
        kept = cache.get(version)
        if kept is not None:
            return kept
        # The counter is read before the words: a change committed in between makes the
        # next call rebuild once more, never keeps stale words under a current counter.
        with ws.engine.connect() as conn:
            version = _version(conn)
            pairs = conn.execute(sa.select(WORDS.c.word, WORDS.c.category)
                                 .order_by(WORDS.c.id)).all()
        built = WordScreen((word, listed) for word, listed in pairs)
        cache.current = (version, built)
        return built


def test_text(ws: Workspace, text: str) -> list[Match]:
    """Screen ``text`` with the stored words.

    :returns: every match (see :meth:`~siyu.plugins.risk.screen.WordScreen.screen`); ``[]``
        when the text is clean.
    :raises PermissionDenied: the principal may not read data.
    """
    return screen(ws).screen(text)


test_text.__test__ = False  # a notebook function, not a pytest test
