"""The file drop connector: CSV and Excel exports dropped in a folder, each processed once.

Settings (see :data:`SETTINGS`): the folder, a file-name pattern per entity (``orders*``
matches ``orders-2026-12-01.csv`` and ``orders_1201.xlsx``), rows per page, and optionally a
folder processed files are moved to. A run reads the matching ``.csv`` / ``.xlsx`` files in
name order (CSV in UTF-8 or GBK, the first sheet of a workbook), a page of rows at a time;
records are the rows with the file's headers as keys, so the field mapping names headers
(``{"external_id": "订单号", "amount": "实付金额", …}``).

The cursor remembers each processed file by name, size and modification time, and where it
stands inside the file being read, so a file is processed once: dropped again unchanged it is
skipped, changed (a corrected export under the same name) it is read again (its orders are
upserted: nothing is stored twice). A file modified less than ``settle_seconds`` ago may still
be being copied and is left for the next run.
"""

from __future__ import annotations

import fnmatch
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from siyu.core.errors import ConfigError, ImportFailed, SyncError
from siyu.core.i18n import translator
from siyu.core.records import ConnectorSetting, ConnectorSpec, SourcePage

_ = translator("siyu.plugins.connectors")

SUFFIXES = (".csv", ".xlsx")

SETTINGS = (
    ConnectorSetting("folder", _.lazy("Folder"), _.lazy("where the exports are dropped"),
                     required=True),
    ConnectorSetting("orders_pattern", _.lazy("Order files"),
                     _.lazy("file names of order exports, e.g. orders*"), default="orders*"),
    ConnectorSetting("members_pattern", _.lazy("Member files"),
                     _.lazy("file names of member exports, e.g. members*"),
                     default="members*"),
    ConnectorSetting("page_size", _.lazy("Rows per page"), default=5000),
    ConnectorSetting("settle_seconds", _.lazy("Settle time (s)"),
                     _.lazy("leave files changed more recently than this for the next run"),
                     default=5),
    ConnectorSetting("move_to", _.lazy("Move processed files to"),
                     _.lazy("a folder (empty: leave them where they are)"), default=""),
)


def check(settings: dict[str, Any]) -> None:
    """Raise :class:`ConfigError` naming the first bad file-drop setting."""
    folder = Path(str(settings.get("folder") or "")).expanduser()
    if not folder.is_dir():
        raise ConfigError(_("folder {folder} does not exist (or is not a folder)",
                            folder=str(folder)))
    for name, low, high in (("page_size", 1, 100_000), ("settle_seconds", 0, 86_400)):
        try:
            value = int(settings.get(name))
        except (TypeError, ValueError):
            value = low - 1
        if not low <= value <= high:
            raise ConfigError(_("{setting} {value!r} is not between {low} and {high}",
                                setting=name, value=settings.get(name), low=low, high=high))
    move_to = str(settings.get("move_to") or "")
    if move_to and Path(move_to).expanduser().resolve() == folder.resolve():
        raise ConfigError(_("move processed files to another folder than the drop folder"))


def _signature(path: Path) -> str:
    stat = path.stat()
    return f"{stat.st_size}:{stat.st_mtime_ns}"


def _rows(path: Path) -> list[dict[str, str]]:
    from siyu.core.importing.table import _read_csv, _read_xlsx

    try:
        frame = _read_csv(path)[0] if path.suffix.lower() == ".csv" else _read_xlsx(path)
    except ImportFailed as exc:
        raise SyncError(str(exc)) from None
    frame.columns = [str(column).strip() for column in frame.columns]
    return frame.to_dict("records")


def read(settings: dict[str, Any], entity: str, cursor: Any) -> Iterator[SourcePage]:
    """The rows of the entity's files not processed yet, a page at a time."""
    folder = Path(str(settings["folder"])).expanduser()
    if not folder.is_dir():
        raise SyncError(_("folder {folder} does not exist (or is not a folder)",
                          folder=str(folder)))
    pattern = str(settings.get(f"{entity}_pattern") or "")
    size, settle = int(settings["page_size"]), int(settings["settle_seconds"])
    move_to = str(settings.get("move_to") or "")
    state = dict(cursor or {})
    done: dict[str, str] = dict(state.get("done") or {})
    now = time.time()
    files = sorted(p for p in folder.iterdir()
                   if p.is_file() and p.suffix.lower() in SUFFIXES
                   and fnmatch.fnmatch(p.name.lower(), pattern.lower())
                   and now - p.stat().st_mtime >= settle)
    for path in files:
        signature = _signature(path)
        if done.get(path.name) == signature:
            continue
        start = state.get("row", 0) if state.get("file") == [path.name, signature] else 0
        rows = _rows(path)
        for first in range(start, len(rows), size):
            page = rows[first:first + size]
            last = first + len(page) >= len(rows)
            if last:
                done[path.name] = signature
                position: dict[str, Any] = {"done": dict(done)}
            else:
                position = {"done": dict(done), "file": [path.name, signature],
                            "row": first + len(page)}
            yield SourcePage(page, position, len(rows))
        if not rows:  # an empty export: nothing to store, but it is processed
            done[path.name] = signature
            yield SourcePage([], {"done": dict(done)}, 0)
        if move_to:  # the file's last page is stored (the run asked for more)
            target = Path(move_to).expanduser()
            target.mkdir(parents=True, exist_ok=True)
            shutil.move(str(path), str(target / path.name))


SPEC = ConnectorSpec("files", _.lazy("File drop"), read, settings=SETTINGS, check=check,
                     help=_.lazy("CSV and Excel exports dropped in a folder, each processed "
                                 "once"))
