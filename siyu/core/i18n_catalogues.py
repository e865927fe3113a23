"""Keeping translation catalogues in step with the code (Babel's extractor and ``.po`` I/O).

``siyu i18n check`` and ``siyu i18n update`` use these, and so does ``tests/test_i18n.py``;
a plugin keeps its own catalogue the same way::

    siyu i18n update --package my_plugin          # add new messages, drop vanished ones
    siyu i18n check --package my_plugin           # fail on untranslated messages

Messages are found where the code calls a translator: ``_("…")``, ``_.lazy("…")``,
``_.gettext("…")`` and ``_.ngettext("…", "…", n)``.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from siyu.core.i18n import DOMAIN, LANGUAGES, Translator

#: The calls whose first (and for ``ngettext`` second) argument is a message.
KEYWORDS = {"_": None, "gettext": None, "lazy": None, "ngettext": (1, 2)}
#: Folders never searched for messages (tests, bundled sandboxes' fixtures, caches).
SKIP_DIRS = ("tests", "__pycache__", "locale", "migrations")


@dataclass(frozen=True)
class Message:
    """One message found in the code: its text (a ``(singular, plural)`` pair for plurals)
    and where it was found."""

    id: str | tuple[str, str]
    locations: tuple[tuple[str, int], ...]


def package_dir(package: str) -> Path:
    """The folder of ``package`` (an importable name or a folder path)."""
    return Translator(package).locale_dir.parent


def own_folders(root: Path) -> list[Path]:
    """The packages under ``root`` that keep their own catalogue (a ``locale/`` folder),
    ``root`` excluded: their messages belong to them, not to ``root``."""
    return [path.parent for path in root.rglob("locale") if path.is_dir() and path.parent != root]


def extract(package: str) -> list[Message]:
    """Every message the code of ``package`` passes to a translator, sorted; code in a
    sub-package with its own ``locale/`` folder is left to that package."""
    from babel.messages.extract import extract_from_file

    root = package_dir(package)
    others = own_folders(root)
    found: dict[str | tuple[str, str], list[tuple[str, int]]] = {}
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        if any(part in SKIP_DIRS for part in relative.parts[:-1]):
            continue
        if any(other in path.parents for other in others):
            continue
        for lineno, message, _comments, _context in extract_from_file(
                "python", str(path), keywords=KEYWORDS, comment_tags=(), strip_comment_tags=True):
            if isinstance(message, tuple):
                message = tuple(m for m in message if m)
                message = message if len(message) > 1 else message[0]
            if not message:
                continue
            found.setdefault(message, []).append((str(relative), lineno))
    return [Message(key, tuple(found[key])) for key in sorted(found, key=str)]


def po_path(package: str, language: str) -> Path:
    """The ``.po`` file of ``package`` for ``language``."""
    return package_dir(package) / "locale" / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def read(package: str, language: str):
    """The catalogue of ``package`` for ``language`` (an empty one if there is no file)."""
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import read_po

    path = po_path(package, language)
    if not path.is_file():
        return Catalog(locale=language, domain=DOMAIN, project="siyu")
    with path.open("rb") as handle:
        return read_po(handle, locale=language, domain=DOMAIN)


def untranslated(package: str, language: str) -> list[str]:
    """Messages of ``package``'s code with no translation (or a fuzzy one) for
    ``language``."""
    catalogue = read(package, language)
    missing = []
    for message in extract(package):
        entry = catalogue.get(message.id)
        strings = entry.string if entry is not None else None
        if isinstance(strings, tuple | list):
            ok = all(strings)
        else:
            ok = bool(strings)
        if entry is None or not ok or entry.fuzzy:
            missing.append(message.id if isinstance(message.id, str) else message.id[0])
    return missing


def update(package: str, language: str, translations: Mapping[str, str | tuple] | None = None
           ) -> dict[str, int]:
    """Bring the ``.po`` file of ``package`` for ``language`` in step with the code: add
    new messages, drop messages the code no longer has, keep existing translations, fill in
    ``translations`` (message → text) where given. Returns counts."""
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import write_po

    old = read(package, language)
    new = Catalog(locale=language, domain=DOMAIN, project="siyu", fuzzy=False,
                  creation_date=old.creation_date, revision_date=old.revision_date,
                  header_comment=f"# {LANGUAGES.get(language, language)} messages of "
                                 f"{package}.\n# Edit the msgstr lines; "
                                 f"`siyu i18n update` keeps this file in step with the code.")
    translations = dict(translations or {})
    added = kept = filled = 0
    for message in extract(package):
        key = message.id if isinstance(message.id, str) else message.id[0]
        entry = old.get(message.id)
        string = entry.string if entry is not None else ""
        if key in translations and translations[key]:
            string = translations[key]
            filled += 1
        elif entry is not None:
            kept += 1
        else:
            added += 1
        if isinstance(message.id, tuple) and not isinstance(string, tuple | list):
            string = (string, string) if string else ("", "")
        new.add(message.id, string, locations=list(message.locations))
    dropped = sum(1 for entry in old if entry.id and new.get(entry.id) is None)
    path = po_path(package, language)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written beside and moved into place: a process reading the catalogue meanwhile sees
    # the old file or the new one, never half of one.
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".messages-", suffix=".po",
                                     delete=False) as handle:
        write_po(handle, new, width=100, sort_output=True, include_previous=False)
    os.chmod(handle.name, 0o644)  # a temporary file is private; a catalogue is not
    os.replace(handle.name, path)
    Translator.reload_package(package)
    return {"messages": len(new), "added": added, "kept": kept, "filled": filled,
            "dropped": dropped}


def packages(extra: Iterable[str] = ()) -> list[str]:
    """siyu's packages that keep a catalogue, plus ``extra``."""
    root = package_dir("siyu")
    found = ["siyu"] + [
        "siyu." + ".".join(path.relative_to(root).parts) for path in own_folders(root)]
    return found + [name for name in extra if name not in found]
