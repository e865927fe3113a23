"""Reading an import file: encodings, CSV or Excel, header mapping, row problems."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from siyu.core.errors import ImportFailed
from siyu.core.importing.headers import field_for_header, normalise_header

#: Encodings tried in order. GB18030 is a superset of GBK and GB2312.
ENCODINGS = ("utf-8-sig", "gb18030")


@dataclass(frozen=True)
class RowProblem:
    """Why one row of an import file was rejected."""

    line: int
    column: str
    value: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


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
    problems: list[RowProblem] = field(default_factory=list)

    def summary(self) -> str:
        """One line for people: what was created, updated, left alone and skipped."""
        parts = [f"{self.rows} rows", f"{self.created} new", f"{self.updated} updated",
                 f"{self.unchanged} unchanged"]
        if self.duplicates:
            parts.append(f"{self.duplicates} duplicate rows merged")
        if self.skipped:
            parts.append(f"{self.skipped} bad rows skipped")
        summary = f"{self.kind} from {Path(self.path).name}: " + ", ".join(parts)
        if self.ignored_columns:
            summary += f"; {self.ignored()}"
        return summary

    def ignored(self) -> str:
        """The columns not imported, by name (``""`` when every column was read)."""
        if not self.ignored_columns:
            return ""
        count = len(self.ignored_columns)
        return (f"{count} unrecognised column{'s' if count > 1 else ''} not imported: "
                + ", ".join(repr(c) for c in self.ignored_columns))


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
    raise ImportFailed(f"{path.name} is neither UTF-8 nor GBK/GB18030 text; save it as "
                       f"UTF-8 CSV or .xlsx")


def _read_xlsx(path: Path) -> pd.DataFrame:
    """The first sheet of an Excel workbook, every cell as text.

    :raises ImportFailed: the file is no .xlsx workbook (a renamed CSV or .xls, a damaged or
        password-protected file), which openpyxl reports as a bad ZIP or a missing part.
    """
    try:
        return pd.read_excel(path, dtype=str, keep_default_na=False, engine="openpyxl")
    except (zipfile.BadZipFile, KeyError) as exc:
        raise ImportFailed(f"{path.name} is not an Excel .xlsx workbook (damaged, password-"
                           f"protected or another format renamed); open it in Excel and "
                           f"save it as .xlsx or CSV UTF-8") from exc


def read_table(path: str | Path, fields: dict[str, tuple[str, ...]],
               mapping: dict[str, str] | None = None) -> tuple[pd.DataFrame, str, list[str]]:
    """Read a CSV or .xlsx file and rename its columns to field names.

    :param fields: field name → accepted header aliases (matched by
        :func:`~siyu.core.importing.headers.field_for_header`).
    :param mapping: explicit ``{"file column": "field"}`` pairs; they win over aliases (a
        column whose alias names a mapped field is then not read).
    :return: ``(frame, encoding, ignored_columns)``; every cell a ``str``, the frame's index
        holds each row's line number in the file (the header is line 1). ``ignored_columns``
        names each column that is not read, in file order; a column without header or
        values (a trailing comma) is left out of it.
    :raises ImportFailed: unreadable file, no header, a mapping naming a missing column or an
        unknown field, two columns for one field.
    """
    path = Path(path)
    if path.is_dir():
        raise ImportFailed(f"{path} is a folder; give the path of a .csv or .xlsx file")
    if not path.is_file():
        raise ImportFailed(f"no such file: {path}")
    suffix = path.suffix.lower()
    try:
        if suffix in (".xlsx", ".xlsm"):
            frame = _read_xlsx(path)
            encoding = "xlsx"
        elif suffix == ".xls":
            raise ImportFailed(f"{path.name}: old .xls files are not supported; save as .xlsx "
                               f"or CSV")
        else:
            frame, encoding = _read_csv(path)
    except ImportFailed:
        raise
    except pd.errors.EmptyDataError as exc:
        raise ImportFailed(f"{path.name} is empty; the first line must name the columns") \
            from exc
    except (pd.errors.ParserError, ValueError, OSError) as exc:
        raise ImportFailed(f"{path.name} could not be read: {exc}") from exc

    frame = frame.fillna("")
    mapping = dict(mapping or {})
    unknown_fields = [f"{column}={target}" for column, target in mapping.items()
                      if target not in fields]
    if unknown_fields:
        raise ImportFailed(f"mapping {', '.join(unknown_fields)} names an unknown field; "
                           f"fields are {', '.join(fields)}")
    headers = {normalise_header(c): c for c in frame.columns}
    renames: dict[str, str] = {}
    for column, target in mapping.items():
        original = headers.get(normalise_header(column))
        if original is None:
            raise ImportFailed(f"mapping names column {column!r}, which {path.name} does not "
                               f"have; its columns are {', '.join(map(str, frame.columns))}")
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
        raise ImportFailed(f"{path.name} has more than one column for {which}; choose one "
                           f"with --map COLUMN=FIELD (the others are then not imported)")
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
        """Record ``reason`` (may contain ``{value}``) for each row where ``mask`` holds."""
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
        raise ImportFailed(
            f"{Path(path).name}: {len(problems.bad_lines)} bad row(s), nothing imported "
            f"(first: {first}); fix them or pass --skip-bad-rows", report.problems)
    report.skipped = len(problems.bad_lines)


def parse_times(values: pd.Series, tz) -> tuple[pd.Series, pd.Series]:
    """Parse date/time text; naive values are in the workspace timezone ``tz``.

    :return: ``(aware UTC times, bad mask)``; empty cells are ``NaT`` and not bad.
    """
    empty = values.eq("")
    parsed = pd.to_datetime(values.where(~empty, None), errors="coerce", format="mixed")
    bad = parsed.isna() & ~empty
    if getattr(parsed.dt, "tz", None) is None:
        parsed = parsed.dt.tz_localize(tz, ambiguous="NaT", nonexistent="shift_forward")
    return parsed.dt.tz_convert("UTC"), bad
