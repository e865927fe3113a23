"""One translation layer for every door: console pages, the CLI, emails, plugins.

Strings are written in English in the code and translated through gettext catalogues that
Babel manages (``pybabel extract`` / ``update``; see docs/translating.md). Each package that
shows text keeps its own catalogue next to its code::

    siyu/locale/zh_CN/LC_MESSAGES/messages.po               (kernel, console shell, CLI)
    siyu/plugins/livecodes/locale/zh_CN/LC_MESSAGES/messages.po

and gets its own :class:`Translator`::

    from siyu.core.i18n import Translator
    _ = Translator("my_plugin")          # the package whose locale/ folder holds the catalogue

    _("Created {name}", name=code.name)  # translated now, in the language of this request
    TITLE = _.lazy("Live codes")         # translated each time it is shown

The language of a call is, first match wins: a :func:`use_language` block (the console sets
it while it builds a page for a user), the resolver the console installs (the language of the
browser session a Panel callback runs for), the process default (:func:`set_default_language`,
which ``siyu`` commands set from ``--lang``, ``SIYU_LANGUAGE`` or the workspace's
``language`` setting), ``SIYU_LANGUAGE``, else :data:`DEFAULT_LANGUAGE`.

English is the source language: ``en`` needs no catalogue, and a message missing from a
catalogue shows in English (tests fail on such a message; see ``tests/test_i18n.py``).
Catalogues are the ``.po`` files themselves, compiled with Babel the first time a language
is used, so there is no build step and no generated file in the source tree to go stale. The
compiled form is kept in the user's cache folder (``$SIYU_CACHE_DIR``, else
``$XDG_CACHE_HOME/siyu`` or ``~/.cache/siyu``), named after the ``.po`` file's path, size
and modification time, so later processes (every ``siyu`` command) skip Babel entirely.
"""

from __future__ import annotations

import contextlib
import gettext
import hashlib
import io
import os
import struct
import tempfile
import threading
import weakref
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from importlib.util import find_spec
from pathlib import Path
from typing import Any

__all__ = ["DEFAULT_LANGUAGE", "LANGUAGES", "LazyText", "Translator", "current_language",
           "translator",
           "language_name", "normalize_language", "set_default_language",
           "set_language_resolver", "use_language"]

#: The language siyu speaks unless told otherwise.
DEFAULT_LANGUAGE = "zh_CN"
#: The languages siyu ships, each with its name in itself (what a language picker shows).
LANGUAGES: dict[str, str] = {"zh_CN": "简体中文", "en": "English"}
#: What the catalogues are called inside ``locale/<language>/LC_MESSAGES/``.
DOMAIN = "messages"

_ALIASES = {"zh": "zh_CN", "zh_cn": "zh_CN", "zh-cn": "zh_CN", "zh_hans": "zh_CN",
            "zh-hans": "zh_CN", "cn": "zh_CN", "chinese": "zh_CN", "中文": "zh_CN",
            "简体中文": "zh_CN", "en": "en", "en_us": "en", "en-us": "en", "en_gb": "en",
            "en-gb": "en", "english": "en"}

_scoped: ContextVar[str | None] = ContextVar("siyu_language", default=None)
_default: str | None = None
_resolver: Callable[[], str | None] | None = None


def normalize_language(value: str) -> str:
    """``value`` as one of :data:`LANGUAGES` (``"zh"``, ``"zh-CN"``, ``"中文"`` → ``"zh_CN"``;
    ``"en_US.UTF-8"`` → ``"en"``).

    :raises ValueError: for a language siyu does not ship, naming the ones it does.
    """
    key = (value or "").strip().split(".")[0].lower()
    if key in _ALIASES:
        return _ALIASES[key]
    if key.startswith("en"):
        return "en"
    raise ValueError(f"unknown language {value!r}; use one of: {', '.join(LANGUAGES)}")


def language_name(code: str) -> str:
    """What the language ``code`` is called in itself (``"zh_CN"`` → ``"简体中文"``)."""
    return LANGUAGES.get(code, code)


def default_language() -> str | None:
    """The process default set with :func:`set_default_language` (``None``: not set)."""
    return _default


def set_default_language(language: str | None) -> None:
    """Set the language of this process when nothing more specific applies (``None``: back
    to ``SIYU_LANGUAGE`` or :data:`DEFAULT_LANGUAGE`)."""
    global _default
    _default = normalize_language(language) if language else None


def environment_language() -> str | None:
    """The language ``SIYU_LANGUAGE`` names, if it is set.

    :raises ValueError: when it names a language siyu does not ship.
    """
    value = os.environ.get("SIYU_LANGUAGE", "").strip()
    return normalize_language(value) if value else None


def set_language_resolver(resolver: Callable[[], str | None] | None) -> None:
    """Install the function that names the language of the current request when no
    :func:`use_language` block is active (the console's: the browser session's user).

    It must be cheap and return ``None`` when it does not know.
    """
    global _resolver
    _resolver = resolver


@contextlib.contextmanager
def use_language(language: str | None) -> Iterator[None]:
    """Translate into ``language`` inside the block (``None``: leave it as it is)."""
    if not language:
        yield
        return
    token = _scoped.set(normalize_language(language))
    try:
        yield
    finally:
        _scoped.reset(token)


def current_language() -> str:
    """The language text is translated into now (see the module docstring for the order)."""
    scoped = _scoped.get()
    if scoped:
        return scoped
    if _resolver is not None:
        resolved = _resolver()
        if resolved:
            return resolved
    if _default:
        return _default
    try:
        return environment_language() or DEFAULT_LANGUAGE
    except ValueError:
        return DEFAULT_LANGUAGE


def cache_dir() -> Path:
    """Where compiled catalogues are kept between processes."""
    explicit = os.environ.get("SIYU_CACHE_DIR")
    if explicit:
        return Path(explicit) / "i18n"
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "siyu" / "i18n"


def _cache_path(po_path: Path) -> Path:
    stat = po_path.stat()
    key = f"{po_path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode()
    return cache_dir() / f"{hashlib.sha256(key).hexdigest()[:32]}.mo"


def _compile(po_path: Path) -> gettext.GNUTranslations:
    """``po_path`` as gettext translations (fuzzy entries skipped, as ``msgfmt`` does):
    read from the cache when this exact file was compiled before, else compiled with Babel
    and cached (a cache that cannot be written is skipped)."""
    try:
        cached = _cache_path(po_path)
        with cached.open("rb") as handle:
            return gettext.GNUTranslations(handle)
    except (OSError, ValueError, IndexError, struct.error):  # missing or damaged: compile
        pass
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po_path.open("rb") as handle:
        catalog = read_po(handle)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    data = buffer.getvalue()
    try:
        target = _cache_path(po_path)
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as tmp:
            tmp.write(data)
        os.replace(tmp.name, target)
    except OSError:
        pass  # a read-only home: compile again next time
    return gettext.GNUTranslations(io.BytesIO(data))


class Translator:
    """Translates the messages of one package (its ``locale/`` folder holds the catalogues).

    :param package: the importable package name (``"siyu"``, ``"siyu.plugins.livecodes"``,
        ``"my_plugin"``), or a folder path that holds ``locale/``.
    :param fallback: a translator asked for messages this package's catalogue lacks
        (plugins fall back to siyu's own, so a shared word like "Cancel" is translated once).
    """

    #: Every translator made, by package, so that :meth:`reload_package` reaches them all.
    _instances: weakref.WeakSet[Translator] = weakref.WeakSet()

    def __init__(self, package: str | Path, *, fallback: Translator | None = None):
        self.package = str(package)
        self.fallback = fallback
        self._root: Path | None = None
        self._catalogues: dict[str, gettext.NullTranslations] = {}
        self._lock = threading.Lock()
        Translator._instances.add(self)

    @property
    def locale_dir(self) -> Path:
        """The folder that holds ``<language>/LC_MESSAGES/messages.po``."""
        if self._root is None:
            path = Path(self.package)
            if not path.is_dir():
                spec = find_spec(self.package)
                if spec is None or not spec.submodule_search_locations:
                    raise ValueError(f"{self.package!r} is not a package or a folder")
                path = Path(next(iter(spec.submodule_search_locations)))
            self._root = path / "locale"
        return self._root

    def po_path(self, language: str) -> Path:
        """Where the catalogue for ``language`` lives (it may not exist)."""
        return self.locale_dir / language / "LC_MESSAGES" / f"{DOMAIN}.po"

    def catalogue(self, language: str) -> gettext.NullTranslations:
        """The compiled catalogue for ``language`` (empty for English or a missing file)."""
        found = self._catalogues.get(language)
        if found is not None:
            return found
        with self._lock:
            found = self._catalogues.get(language)
            if found is None:
                path = self.po_path(language)
                found = (_compile(path) if language != "en" and path.is_file()
                         else gettext.NullTranslations())
                self._catalogues[language] = found
        return found

    def reload(self) -> None:
        """Forget the compiled catalogues (after a ``.po`` file changed)."""
        with self._lock:
            self._catalogues.clear()

    @classmethod
    def reload_package(cls, package: str) -> None:
        """Make every translator of ``package`` read its catalogues again."""
        for translator in list(cls._instances):
            if translator.package == str(package):
                translator.reload()

    def _lookup(self, message: str, language: str) -> str | None:
        catalogue = self.catalogue(language)
        if isinstance(catalogue, gettext.GNUTranslations) and message in catalogue._catalog:
            return catalogue._catalog[message]
        if self.fallback is not None:
            return self.fallback._lookup(message, language)
        return None

    def gettext(self, message: str, /, **values: Any) -> str:
        """``message`` in the current language, ``{name}`` fields filled from ``values``
        (the template is translated first, then formatted)."""
        text = message
        if message:
            translated = self._lookup(message, current_language())
            if translated:
                text = translated
        return text.format(**values) if values else text

    __call__ = gettext

    def ngettext(self, singular: str, plural: str, n: int, /, **values: Any) -> str:
        """The singular or plural form for ``n`` in the current language; ``{n}`` and
        ``values`` are filled in."""
        language = current_language()
        catalogue = self.catalogue(language)
        translator: Translator | None = self
        while translator is not None:
            catalogue = translator.catalogue(language)
            if isinstance(catalogue, gettext.GNUTranslations) and \
                    (singular, 0) in catalogue._catalog:
                break
            translator = translator.fallback
        text = catalogue.ngettext(singular, plural, n)
        return text.format(n=n, **values)

    def lazy(self, message: str, /, **values: Any) -> LazyText:
        """``message`` translated each time it is turned into text (for module constants and
        registration records, made before anyone's language is known)."""
        return LazyText(self, message, values)


class LazyText:
    """A message translated when it is shown: ``str(text)`` or ``f"{text}"`` give the current
    language's text. Compares and hashes as its English source."""

    __slots__ = ("_message", "_translator", "_values")

    def __init__(self, translator: Translator, message: str, values: dict[str, Any]):
        self._translator = translator
        self._message = message
        self._values = values

    @property
    def source(self) -> str:
        """The English text as written in the code."""
        return self._message

    def __str__(self) -> str:
        return self._translator.gettext(self._message, **self._values)

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)

    def __repr__(self) -> str:
        return f"LazyText({self._message!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, LazyText):
            return self._message == other._message
        return self._message == other or str(self) == other

    def __hash__(self) -> int:
        return hash(self._message)

    def __len__(self) -> int:
        return len(str(self))

    def __add__(self, other: object) -> str:
        return str(self) + str(other)

    def __radd__(self, other: object) -> str:
        return str(other) + str(self)


#: siyu's own messages (kernel, console shell, CLI); plugins fall back to it.
core = Translator("siyu")


def translator(package: str) -> Translator:
    """The translator a plugin uses: its own catalogue (``<package>/locale/``), falling
    back to siyu's for messages it does not have. ``_ = translator(__package__)``."""
    return Translator(package, fallback=core)
