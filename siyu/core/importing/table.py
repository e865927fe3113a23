"""Reading an import file: encodings, CSV or Excel, header mapping, row problems."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from siyu.core.errors import ImportFailed
from siyu.core.i18n import core as _
from siyu.core.importing.headers import CUSTOM_PREFIX, field_for_header, normalise_header

#: Encodings tried in order. GB18030 is a superset of GBK and GB2312.
ENCODINGS = ("utf-8-sig", "gb18030")
#: What a report's summary calls the things imported, by :attr:`ImportReport.kind` (another
#: kind is shown as it is: a plugin may give a translated text as its kind).
KIND_LABELS = {"contacts": _.lazy("contacts"), "orders": _.lazy("orders")}


@dataclass(frozen=True)
class RowProblem:
    """Why one row of an import file was rejected."""

    line: int
    column: str
    value: str
    reason: str

    def __str__(self) -> str:
        return _("line {line}: {reason}", line=self.line, reason=self.reason)


@dataclass
class ImportReport:
    """What an import did. ``rows`` counts data rows in the file; ``ignored_columns`` names
    the file's columns that were not imported (no recognised header and no mapping)."""

    kind: str
    path: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0
    skipped: int = 0
    encoding: str = ""
    ignored_columns: list[str] = field(default_factory=list)
    #: order numbers written without a buyer (no contact matched them in this import)
    without_contact: list[str] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)

    def counts(self) -> dict[str, Any]:
        """What the import did, as numbers (what the audit log records, so that it can be
        shown in each reader's language): ``rows``, ``created``, ``updated``, ``unchanged``;
        ``duplicates``, ``skipped`` and ``ignored_columns`` only when there were any."""
        counts: dict[str, Any] = {"rows": self.rows, "created": self.created,
                                  "updated": self.updated, "unchanged": self.unchanged}
        if self.duplicates:
            counts["duplicates"] = self.duplicates
        if self.skipped:
            counts["skipped"] = self.skipped
        if self.ignored_columns:
            counts["ignored_columns"] = list(self.ignored_columns)
        return counts

    def summary(self) -> str:
        """One line for people, in the current language: what was created, updated, left
        alone and skipped."""
        summary = _("{kind} from {file}: {rows}, {created} new, {updated} updated, "
                    "{unchanged} unchanged", kind=KIND_LABELS.get(self.kind, self.kind),
                    file=Path(self.path).name,
                    rows=_.ngettext("{n} row", "{n} rows", self.rows), created=self.created,
                    updated=self.updated, unchanged=self.unchanged)
        if self.duplicates:
            summary += _.ngettext(", {n} duplicate row merged", ", {n} duplicate rows merged",
                                  self.duplicates)
        if self.skipped:
            summary += _.ngettext(", {n} bad row skipped", ", {n} bad rows skipped",
                                  self.skipped)
        if self.ignored_columns:
            summary += _("; {ignored}", ignored=self.ignored())
        return summary

    def ignored(self) -> str:
        """The columns not imported, by name (``""`` when every column was read)."""
        if not self.ignored_columns:
            return ""
        return _.ngettext("{n} unrecognised column not imported: {columns}",
                          "{n} unrecognised columns not imported: {columns}",
                          len(self.ignored_columns),
                          columns=", ".join(repr(c) for c in self.ignored_columns))


def _read_csv(path: Path) -> tuple[pd.DataFrame, str]:
    raw = path.read_bytes()
    for encoding in ENCODINGS:
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False,
                            skipinitialspace=True, skip_blank_lines=True)
        return frame, "utf-8" if encoding == "utf-8-sig" else encoding
    raise ImportFailed(_("{file} is neither UTF-8 nor GBK/GB18030 text; save it as UTF-8 CSV "
                         "or .xlsx", file=path.name))


def _read_xlsx(path: Path) -> pd.DataFrame:
    """The first sheet of an Excel workbook, every cell as text.

    :raises ImportFailed: the file is no .xlsx workbook (a renamed CSV or .xls, a damaged or
        password-protected file), which openpyxl reports as a bad ZIP or a missing part.
    """
    try:
        return pd.read_excel(path, dtype=str, keep_default_na=False, engine="openpyxl")
    except (zipfile.BadZipFile, KeyError) as exc:
        raise ImportFailed(_("{file} is not an Excel .xlsx workbook (damaged, password-"
                             "protected or another format renamed); open it in Excel and save "
                             "it as .xlsx or CSV UTF-8", file=path.name)) from exc


def read_table(path: str | Path, fields: dict[str, tuple[str, ...]],
               mapping: dict[str, str] | None = None, *, custom: bool = False
               ) -> tuple[pd.DataFrame, str, list[str]]:
    """Read a CSV or .xlsx file and rename its columns to field names.

    :param fields: field name → accepted header aliases (matched by
        :func:`~siyu.core.importing.headers.field_for_header`).
    :param mapping: explicit ``{"file column": "field"}`` pairs; they win over aliases (a
        column whose alias names a mapped field is then not read).
    :param custom: a mapping may name ``field:<name>`` (a custom field, kept as text).
    :return: ``(frame, encoding, ignored_columns)``; every cell a ``str``, the frame's index
        holds each row's line number in the file (the header is line 1). ``ignored_columns``
        names each column that is not read, in file order; a column without header or
        values (a trailing comma) is left out of it.
    :raises ImportFailed: unreadable file, no header, a mapping naming a missing column or an
        unknown field, two columns for one field.
    """
    path = Path(path)
    if path.is_dir():
        raise ImportFailed(_("{path} is a folder; give the path of a .csv or .xlsx file",
                             path=path))
    if not path.is_file():
        raise ImportFailed(_("no such file: {path}", path=path))
    suffix = path.suffix.lower()
    try:
        if suffix in (".xlsx", ".xlsm"):
            frame = _read_xlsx(path)
            encoding = "xlsx"
        elif suffix == ".xls":
            raise ImportFailed(_("{file}: old .xls files are not supported; save as .xlsx or "
                                 "CSV", file=path.name))
        else:
            frame, encoding = _read_csv(path)
    except ImportFailed:
        raise
    except pd.errors.EmptyDataError as exc:
        raise ImportFailed(_("{file} is empty; the first line must name the columns",
                             file=path.name)) from exc
    except (pd.errors.ParserError, ValueError, OSError) as exc:
        raise ImportFailed(_("{file} could not be read: {reason}", file=path.name,
                             reason=exc)) from exc

    frame = frame.fillna("")
    mapping = dict(mapping or {})
    def known(target: str) -> bool:
        if custom and target.startswith(CUSTOM_PREFIX):
            return 0 < len(target[len(CUSTOM_PREFIX):].strip()) <= 100
        return target in fields

    unknown_fields = [f"{column}={target}" for column, target in mapping.items()
                      if not known(target)]
    if unknown_fields:
        raise ImportFailed(_("mapping {mapping} names an unknown field; fields are {fields}",
                             mapping=", ".join(unknown_fields), fields=", ".join(fields)))
    headers = {normalise_header(c): c for c in frame.columns}
    renames: dict[str, str] = {}
    for column, target in mapping.items():
        original = headers.get(normalise_header(column))
        if original is None:
            raise ImportFailed(_("mapping names column {column!r}, which {file} does not "
                                 "have; its columns are {columns}", column=column,
                                 file=path.name, columns=", ".join(map(str, frame.columns))))
        renames[original] = target
    mapped = set(renames.values())
    for original in frame.columns:
        name = field_for_header(original, fields)
        if original not in renames and name is not None and name not in mapped:
            renames[original] = name
    columns_of: dict[str, list[str]] = {}
    for original, target in renames.items():
        columns_of.setdefault(target, []).append(str(original))
    twice = sorted((target, columns) for target, columns in columns_of.items()
                   if len(columns) > 1)
    if twice:
        which = "; ".join(f"{target} ({', '.join(map(repr, columns))})"
                          for target, columns in twice)
        raise ImportFailed(_("{file} has more than one column for {which}; choose one with "
                             "--map COLUMN=FIELD (the others are then not imported)",
                             file=path.name, which=which))
    ignored = [str(c) for c in frame.columns if c not in renames and not _blank(c, frame[c])]
    frame = frame[list(renames)].rename(columns=renames)
    frame = frame.apply(lambda col: col.astype(str).str.strip())
    frame.index = np.arange(2, len(frame) + 2)
    return frame, encoding, ignored


def _blank(column: object, values: pd.Series) -> bool:
    """A column with neither header (pandas names it ``Unnamed: N``) nor values."""
    return (str(column).startswith("Unnamed: ")
            and bool(values.astype(str).str.strip().eq("").all()))


class Problems:
    """Collects row problems column by column, vectorised."""

    def __init__(self) -> None:
        self.items: list[RowProblem] = []
        self.bad_lines: set[int] = set()

    def add(self, frame: pd.DataFrame, mask: pd.Series, column: str, reason: str) -> None:
        """Record ``reason`` for each row where ``mask`` holds: a template that may name
        ``{value}`` (the cell) and ``{column}``, translated already (``_("…")`` without
        values leaves the fields to fill here)."""
        if not mask.any():
            return
        values = frame.loc[mask, column] if column in frame else pd.Series("", index=mask.index)
        for line, value in values.items():
            self.items.append(RowProblem(int(line), column, value,
                                         reason.format(value=value, column=column)))
            self.bad_lines.add(int(line))

    def sorted(self) -> list[RowProblem]:
        """Problems by line number."""
        return sorted(self.items, key=lambda p: (p.line, p.column))


def fail_or_skip(problems: Problems, report: ImportReport, skip_bad_rows: bool,
                 path: Path) -> None:
    """Raise :class:`ImportFailed` for a file with bad rows, unless skipping them."""
    report.problems = problems.sorted()
    if problems.items and not skip_bad_rows:
        first = report.problems[0]
        raise ImportFailed(_.ngettext(
            "{file}: {n} bad row, nothing imported ({first}); fix it or pass --skip-bad-rows",
            "{file}: {n} bad rows, nothing imported (first: {first}); fix them or pass "
            "--skip-bad-rows", len(problems.bad_lines), file=Path(path).name, first=first),
            report.problems)
    report.skipped = len(problems.bad_lines)


#: The longest text read as a date or time (``2026-12-04T20:30:00.123456+08:00`` is 32).
MAX_TIME_TEXT = 64


def parse_times(values: pd.Series, tz) -> tuple[pd.Series, pd.Series]:
    """Parse date/time text; naive values are in the workspace timezone ``tz``.

    :return: ``(aware UTC times, bad mask)``; empty cells are ``NaT`` and not bad.
    """
    empty = values.eq("")
    # No date or time is longer than this: longer text is bad without parsing (a 5 MB cell
    # kept the parser busy for minutes).
    too_long = values.str.len().gt(MAX_TIME_TEXT)
    parsed = pd.to_datetime(values.where(~empty & ~too_long, None), errors="coerce",
                            format="mixed")
    bad = parsed.isna() & ~empty
    if getattr(parsed.dt, "tz", None) is None:
        parsed = parsed.dt.tz_localize(tz, ambiguous="NaT", nonexistent="shift_forward")
    return parsed.dt.tz_convert("UTC"), bad
