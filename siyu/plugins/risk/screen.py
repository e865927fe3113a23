"""Sensitive-word screening: word lists, normalisation against evasions, an Aho-Corasick screen.

A :class:`WordScreen` is built once from ``(word, category)`` pairs, usually read from word
list files with :func:`load_word_lists`, and then screens any number of texts, from any
number of threads::

    screen = WordScreen.from_lists(["广告法.txt", "lists/other.txt"])
    for match in screen.screen("加 微-信 领取全网最低价"):
        print(match.category, match.word, match.start, match.end, match.excerpt)

**Normalisation.** Texts and words go through the same per-character rule
(:func:`normalise`), so that the usual ways of dodging a filter still match:

- compatibility forms are folded (NFKD, then NFKC): full-width ``ＶＸ`` is ``VX``, ``①`` is
  ``1``, half-width katakana is katakana;
- case is folded (``casefold``): ``VX`` is ``vx``;
- diacritics are dropped (every combining mark), so ``wēixìn`` is ``weixin`` and a decomposed
  ``é`` equals a precomposed one;
- everything that is not a letter or a digit is dropped: whitespace (including the
  ideographic space), zero-width and other format characters (U+200B–U+200D, U+FEFF…),
  punctuation (``.-_*·/\\``, CJK ``，。、「」``…) and symbols (``|~+``, emoji…). ``微 信``,
  ``微-信`` and ``微🌸信`` all read ``微信``.

Each character normalises on its own, so every normalised character comes from exactly one
original character, and a match maps back to the original text exactly.

**Matches.** :meth:`WordScreen.screen` reports every occurrence of every word, overlapping ones
included (``加微信`` and ``微信`` in ``请加微信``), one :class:`Match` per category of the word,
with ``start``/``end`` positions in the original text and an excerpt around it.
"""

from __future__ import annotations

import math
import os
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path

import ahocorasick

from siyu.core.errors import ValidationError
from siyu.core.i18n import translator

_ = translator("siyu.plugins.risk")

__all__ = [
    "CONTEXT",
    "MAX_WORD_LENGTH",
    "Match",
    "WordList",
    "WordListError",
    "WordScreen",
    "load_word_lists",
    "normalise",
    "parse_word_list",
]

#: The longest word a list may hold, in characters as written.
MAX_WORD_LENGTH = 50
#: Characters of original text kept on each side of a match in :attr:`Match.excerpt`.
CONTEXT = 10
#: ``(word, category)`` pairs, in list order.
WordList = list[tuple[str, str]]

_HEADER = re.compile(r"^\[(.*)\]$")
# The cache of normalised characters stops growing here (about 10 MB); characters seen after
# that are normalised on every sight, which is slower but still right.
_CACHE_LIMIT = 100_000


class WordListError(ValidationError, ValueError):
    """A word list (file, text or pairs) holds something that cannot be screened for."""


# -- normalisation ---------------------------------------------------------------------------

def _normalise_char(char: str) -> str:
    """The normalised form of one character: ``""`` when it is dropped, else one or more
    lower-case letters and digits. Applying it again to each output character changes nothing.
    """
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", char).casefold())
    kept = "".join(c for c in decomposed if unicodedata.category(c)[0] in "LN")
    return unicodedata.normalize("NFKC", kept) if kept else ""


class _CharTable(dict):
    """``str.translate`` table from code point to normalised character(s), filled the first
    time each character is seen. Only a cache of a pure function: sharing it between threads
    and screens is safe (two threads filling the same entry write the same value)."""

    __slots__ = ()

    def __missing__(self, code: int) -> str:
        value = _normalise_char(chr(code))
        if len(self) < _CACHE_LIMIT:
            self[code] = value
        return value


_TABLE = _CharTable()


def _index_map(text: str) -> list[int]:
    """For each character of ``text``'s normalised form, its position in ``text``."""
    table = _TABLE
    positions: list[int] = []
    for position, char in enumerate(text):
        width = len(table[ord(char)])
        if width == 1:
            positions.append(position)
        elif width:
            positions.extend([position] * width)
    return positions


def _encode(normalised: str) -> str:
    """``normalised`` as UTF-8, one byte per character, the alphabet the automaton uses.

    pyahocorasick finds a node's child by a linear scan, so thousands of Chinese words give
    the root thousands of children and every step from it slow. In UTF-8 no node has more
    than about 64, which makes screening several times faster. A word's bytes can only match
    where a character starts (UTF-8 is self-synchronising), so matches are the same.
    """
    return normalised.encode("utf-8").decode("latin-1")


def _byte_map(text: str) -> list[int]:
    """For each byte of the UTF-8 of ``text``'s normalised form, its position in ``text``."""
    table = _TABLE
    positions: list[int] = []
    for position, char in enumerate(text):
        normalised = table[ord(char)]
        if normalised:
            positions.extend([position] * len(normalised.encode("utf-8")))
    return positions


def normalise(text: str) -> tuple[str, tuple[int, ...]]:
    """Normalise ``text`` the way words and screened texts are compared.

    See the module docstring for the rules (compatibility and case folding, diacritics and
    every non-letter, non-digit character dropped).

    :param text: any text.
    :returns: ``(normalised, positions)`` where ``positions[i]`` is the index in ``text`` of
        the character that produced ``normalised[i]`` (non-decreasing; a character that
        normalises to several, like ``㍻`` to ``平成``, repeats its index).
    """
    return text.translate(_TABLE), tuple(_index_map(text))


# -- word lists ------------------------------------------------------------------------------

def _check_word(word: str, where: str) -> str:
    """``word``'s normalised form, or a :class:`WordListError` that says what is wrong."""
    if len(word) > MAX_WORD_LENGTH:
        raise WordListError(_("{where}: word is longer than {limit} characters ({length}): "
                              "{start!r}…; split it or shorten it", where=where,
                              limit=MAX_WORD_LENGTH, length=len(word), start=word[:20]))
    key = word.translate(_TABLE)
    if not key:
        raise WordListError(_("{where}: word {word!r} has no letters or digits, so it would "
                              "match nothing (spaces, punctuation and symbols are ignored)",
                              where=where, word=word))
    return key


def _check_category(category: str, where: str) -> str:
    category = category.strip()
    if not category:
        raise WordListError(_("{where}: empty category name; write it as [category]",
                              where=where))
    if len(category) > MAX_WORD_LENGTH:
        raise WordListError(_("{where}: category name is longer than {limit} characters: "
                              "{start!r}…", where=where, limit=MAX_WORD_LENGTH,
                              start=category[:20]))
    return category


def _unique(pairs: Iterable[tuple[str, str, str]]) -> WordList:
    """``(word, category)`` from ``(key, word, category)`` triples, keeping the first spelling
    of each normalised word per category."""
    seen: set[tuple[str, str]] = set()
    result: WordList = []
    for key, word, category in pairs:
        if (key, category) not in seen:
            seen.add((key, category))
            result.append((word, category))
    return result


def _parse(text: str, category: str | None, source: str) -> list[tuple[str, str, str]]:
    current = None if category is None else _check_category(category, source)
    triples = []
    # translated once, formatted per line: a list can have many thousand lines
    at = _("{source}, line {line}")
    for number, raw in enumerate(text.split("\n"), start=1):
        line = (raw.lstrip("\ufeff") if number == 1 else raw).strip()
        if not line or line.startswith("#"):
            continue
        where = at.format(source=source, line=number)
        header = _HEADER.match(line)
        if header:
            current = _check_category(header.group(1), where)
            continue
        if line.startswith("["):
            raise WordListError(_("{where}: malformed category header {line!r}; write it as "
                                  "[category] on a line of its own", where=where, line=line))
        if current is None:
            raise WordListError(_("{where}: word {word!r} comes before any [category] header "
                                  "and no default category was given", where=where,
                                  word=line))
        triples.append((_check_word(line, where), line, current))
    return triples


def parse_word_list(text: str, category: str | None = None, *,
                    source: str = "<word list>") -> WordList:
    """Parse the text of a word list.

    One word per line; surrounding whitespace is ignored, and so are blank lines and lines
    starting with ``#``. A line ``[category]`` puts the words after it in that category.

    :param text: the list's text.
    :param category: the category of words before the first header; without one, such a word
        is an error.
    :param source: how errors name the list (``load_word_lists`` passes the file name).
    :returns: ``(word, category)`` pairs in list order, each word as written; a word repeated
        in the same category (after normalisation) is kept once.
    :raises WordListError: (a ``ValueError``) naming the source and line of a word longer
        than :data:`MAX_WORD_LENGTH`, a word with no letters or digits, a malformed or empty
        header, or a word with no category.
    """
    return _unique(_parse(text, category, source))


def _read(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise WordListError(_("{path}, line {line}: not UTF-8 text (byte 0x{byte:02x} at "
                              "offset {offset}); save the file as UTF-8", path=path, line=line,
                              byte=data[exc.start], offset=exc.start)) from None


def load_word_lists(paths: Iterable[str | os.PathLike[str]] | str | os.PathLike[str]
                    ) -> WordList:
    """Read word list files (UTF-8, with or without a BOM) in order.

    Each file is parsed by :func:`parse_word_list`, with the file's stem (``广告法`` for
    ``lists/广告法.txt``) as the category of words before its first header. The same word in
    two categories, in one file or across files, keeps both categories.

    :param paths: the files; a single path is accepted too.
    :returns: ``(word, category)`` pairs, file by file in list order, each pair once.
    :raises WordListError: naming the file and line of anything :func:`parse_word_list`
        rejects, or of the first byte that is not UTF-8.
    :raises OSError: when a file cannot be read.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    triples: list[tuple[str, str, str]] = []
    for path in map(Path, paths):
        triples.extend(_parse(_read(path), path.stem, str(path)))
    return _unique(triples)


# -- screening -------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Match:
    """One occurrence of a listed word in a screened text.

    :ivar word: the word as first written in the lists (``VX``, even when the text says
        ``ｖ.ｘ``); words that normalise alike are one word.
    :ivar category: one category of the word; a word in several categories gives one match
        per category, in the order of :attr:`WordScreen.categories`.
    :ivar start: index in the original text of the first character of the occurrence.
    :ivar end: index just past its last character, so ``text[start:end]`` is the occurrence
        as written (``微 信``), never starting or ending with a dropped character.
    :ivar excerpt: ``text[start - 10:end + 10]``, clipped to the text: the occurrence with up
        to :data:`CONTEXT` characters of original text on each side.
    """

    word: str
    category: str
    start: int
    end: int
    excerpt: str


_HIT_ORDER = itemgetter(0, 1, 2, 3)


class WordScreen:
    """An immutable set of sensitive words, each in one or more categories, to screen texts.

    Built from ``(word, category)`` pairs (:meth:`from_lists` reads them from files), with
    every word normalised by :func:`normalise`. Nothing changes it afterwards, so one screen
    can be shared by any number of threads; to change the words, build a new screen.

    ``len(screen)`` is the number of distinct (normalised) words. An empty screen finds
    nothing.

    :param pairs: ``(word, category)`` pairs; a word listed again, in any spelling that
        normalises alike, adds its category to the first spelling.
    :raises WordListError: naming the pair of a word longer than :data:`MAX_WORD_LENGTH`, a
        word with no letters or digits, or an empty category.
    """

    __slots__ = ("_automaton", "_categories", "_longest", "_size")

    def __init__(self, pairs: Iterable[tuple[str, str]] = ()):
        words: dict[str, tuple[str, list[str]]] = {}
        categories: dict[str, None] = {}
        at = _("pair {number} ({word!r}, {category!r})")  # translated once, formatted per pair
        for number, pair in enumerate(pairs, start=1):
            try:
                if isinstance(pair, str):
                    raise TypeError  # "ok" would unpack as ("o", "k")
                word, category = pair
            except (TypeError, ValueError):
                raise WordListError(_("pair {number}: expected (word, category), got "
                                      "{pair!r}", number=number, pair=pair)) from None
            where = at.format(number=number, word=word, category=category)
            if not isinstance(word, str) or not isinstance(category, str):
                raise WordListError(_("{where}: word and category must be text",
                                      where=where))
            key = _check_word(word.strip(), where)
            category = _check_category(category, where)
            categories.setdefault(category)
            listed = words.setdefault(key, (word.strip(), []))[1]
            if category not in listed:
                listed.append(category)
        rank = {category: index for index, category in enumerate(categories)}
        automaton = ahocorasick.Automaton()
        for key, (word, listed) in words.items():
            listed.sort(key=rank.__getitem__)
            automaton.add_word(_encode(key), (len(key.encode("utf-8")), word, tuple(listed)))
        if words:
            automaton.make_automaton()
        set_ = object.__setattr__
        set_(self, "_automaton", automaton if words else None)
        set_(self, "_categories", tuple(categories))
        set_(self, "_longest", max((len(key.encode("utf-8")) for key in words), default=0))
        set_(self, "_size", len(words))

    @classmethod
    def from_lists(cls, paths: Iterable[str | os.PathLike[str]] | str | os.PathLike[str]
                   ) -> WordScreen:
        """A screen of the words in word list files; see :func:`load_word_lists`.

        :raises WordListError: naming the file and line of a bad word, header or byte.
        :raises OSError: when a file cannot be read.
        """
        return cls(load_word_lists(paths))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"a WordScreen cannot be changed (setting {name!r}); build a "
                             f"new one from the changed word list")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"a WordScreen cannot be changed (deleting {name!r})")

    def __len__(self) -> int:
        return self._size

    def __repr__(self) -> str:
        return f"<WordScreen {self._size} words in {len(self._categories)} categories>"

    @property
    def categories(self) -> tuple[str, ...]:
        """The categories of the words, in the order they were first listed."""
        return self._categories

    def screen(self, text: str) -> list[Match]:
        """Every occurrence of every word in ``text``.

        :param text: the text as a user wrote it.
        :returns: the matches, overlapping ones included, ordered by ``start``, then by
            length (shortest first), then by category order; ``[]`` when nothing matches.
        """
        if self._automaton is None or not text:
            return []
        # The hot path: one C-level translate and one automaton pass. Positions are mapped
        # back to the original text only for the few texts that match.
        hits = list(self._automaton.iter(_encode(text.translate(_TABLE))))
        return self._matches(text, hits) if hits else []

    def first(self, text: str) -> Match | None:
        """The first match of :meth:`screen` (``screen(text)[0]``), or ``None``, cheaper: the
        automaton stops as soon as no later occurrence could start earlier, and only that
        occurrence becomes a :class:`Match`.

        :param text: the text as a user wrote it.
        """
        if self._automaton is None or not text:
            return None
        hits = []
        earliest = math.inf  # the earliest start (in bytes) among the hits so far
        for hit in self._automaton.iter(_encode(text.translate(_TABLE))):
            end, (length, _, _) = hit
            # Hits come by end; one ending here starts at end - longest + 1 or later (bytes).
            if end - self._longest + 1 >= earliest:
                break
            hits.append(hit)
            earliest = min(earliest, end - length + 1)
        return self._matches(text, hits)[0] if hits else None

    @staticmethod
    def _matches(text: str, hits: list[tuple[int, tuple[int, str, tuple[str, ...]]]]
                 ) -> list[Match]:
        positions = _byte_map(text)
        found = []
        for end, (length, word, categories) in hits:
            start = end - length + 1
            found.append((positions[start], positions[end] + 1, start, end, word, categories))
        found.sort(key=_HIT_ORDER)
        return [Match(word, category, start, stop,
                      text[max(0, start - CONTEXT):stop + CONTEXT])
                for start, stop, _, _, word, categories in found
                for category in categories]
