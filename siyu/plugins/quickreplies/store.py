"""The quick-reply library (话术库): adding, changing, ordering, reading and counting replies.

A reply is a text (at most :data:`~.models.MAX_TEXT` characters and WeCom's 4000 bytes) or an
image (PNG or JPEG, told by its first bytes, at most 2 MB), with a title unique within its
category and a place in the category's order. Reading needs ``data.read``; every change needs
``data.write`` and is written to the audit log in its own transaction. Bad input raises
:class:`~siyu.core.errors.ValidationError` naming the problem before anything is stored.

Listing queries select the columns they show and never the image, so a library of pictures
lists as fast as one of texts; :func:`image_of` reads one picture.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from siyu.core.errors import ImportFailed, NotFound, ValidationError
from siyu.core.errors import listing as listed
from siyu.core.i18n import translator
from siyu.plugins.quickreplies.models import (
    MAX_CATEGORY,
    MAX_IMAGE_BYTES,
    MAX_IMAGE_NAME,
    MAX_TEXT,
    MAX_TEXT_BYTES,
    MAX_TITLE,
    QuickReplyRow,
)
from siyu.storage.types import utcnow

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from siyu.core.importing.table import ImportReport
    from siyu.core.workspace import Workspace

_ = translator("siyu.plugins.quickreplies")

__all__ = ["COLUMNS", "IMPORT_FIELDS", "QuickReply", "add", "categories", "export_frame",
           "get", "image_of", "import_texts", "listing", "move", "record_use", "remove",
           "update"]

T = QuickReplyRow.__table__
#: What :func:`listing` returns, in order (everything but the image itself).
COLUMNS = ("id", "category", "title", "kind", "text", "image_name", "image_type",
           "image_size", "position", "enabled", "use_count", "last_used_at", "created_at",
           "updated_at", "created_by", "updated_by")
#: The columns an import reads, with the headers recognised for each.
IMPORT_FIELDS: dict[str, tuple[str, ...]] = {
    "category": ("分类", "类别", "话术分类", "类目", "group"),
    "title": ("标题", "名称", "话术标题", "name"),
    "text": ("内容", "话术", "话术内容", "文本", "回复内容", "content", "reply"),
}
#: Image types kept: the first bytes of the file → (content type, usual extension).
SIGNATURES = ((b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
              (b"\xff\xd8\xff", "image/jpeg", ".jpg"))
#: What :func:`update` may change.
CHANGEABLE = ("category", "title", "text", "image", "image_name", "enabled")


@dataclass(frozen=True)
class QuickReply:
    """One quick reply as the library shows it (the image's bytes: :func:`image_of`)."""

    id: int
    category: str
    title: str
    kind: str
    text: str | None
    image_name: str | None
    image_type: str | None
    image_size: int
    position: int
    enabled: bool
    use_count: int
    last_used_at: datetime | None
    created_at: datetime
    updated_at: datetime
    created_by: str
    updated_by: str


# -- checking -------------------------------------------------------------------------------

def check_category(value: Any) -> str:
    """A category as stored: trimmed, not empty, at most 32 characters."""
    category = str(value if value is not None else "").strip()
    if not category:
        raise ValidationError(_("a quick reply needs a category, e.g. 售后"))
    if len(category) > MAX_CATEGORY:
        raise ValidationError(_("category {category!r} is {n} characters long; at most {most}",
                                category=category, n=len(category), most=MAX_CATEGORY))
    return category


def check_title(value: Any) -> str:
    """A title as stored: trimmed, not empty, at most 40 characters."""
    title = str(value if value is not None else "").strip()
    if not title:
        raise ValidationError(_("a quick reply needs a title"))
    if len(title) > MAX_TITLE:
        raise ValidationError(_("title {title!r} is {n} characters long; at most {most}",
                                title=title, n=len(title), most=MAX_TITLE))
    return title


def check_text(value: Any) -> str:
    """A reply's text: trimmed, not empty, at most 2000 characters and 4000 bytes (what
    WeCom sends as one text message)."""
    text = str(value if value is not None else "").strip()
    if not text:
        raise ValidationError(_("the reply's text is empty; write what staff should send"))
    if len(text) > MAX_TEXT:
        raise ValidationError(_("the reply's text is {n} characters long; at most {most}",
                                n=len(text), most=MAX_TEXT))
    size = len(text.encode("utf-8"))
    if size > MAX_TEXT_BYTES:
        raise ValidationError(_("the reply's text takes {n} bytes; WeCom sends at most {most} "
                                "bytes in one message (a Chinese character takes 3)",
                                n=size, most=MAX_TEXT_BYTES))
    return text


def image_type(data: bytes) -> tuple[str, str] | None:
    """``(content type, extension)`` of a PNG or JPEG told by its first bytes, else
    ``None``."""
    for magic, content_type, extension in SIGNATURES:
        if data.startswith(magic):
            return content_type, extension
    return None


def check_image(data: Any, name: Any = None) -> tuple[bytes, str, str]:
    """An image as stored: ``(bytes, file name, content type)``.

    :param data: the image's bytes, or the path of its file.
    :param name: its file name (default: the path's, else ``image.png`` / ``image.jpg``).
    :raises ValidationError: not PNG or JPEG by its content, empty, over 2 MB, unreadable.
    """
    if isinstance(data, str | Path):
        path = Path(data)
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise ValidationError(_("cannot read the image {file}: {error}", file=str(path),
                                    error=exc.strerror or exc)) from None
        name = name or path.name
    elif isinstance(data, bytes | bytearray | memoryview):
        raw = bytes(data)
    else:
        raise ValidationError(_("give the image as bytes or as the path of a file"))
    shown = Path(str(name)).name if name else ""
    if not raw:
        raise ValidationError(_("the image {name} is empty", name=shown or "?"))
    if len(raw) > MAX_IMAGE_BYTES:
        raise ValidationError(_("the image {name} is {size}; at most {most}",
                                name=shown or "?", size=size_text(len(raw)),
                                most=size_text(MAX_IMAGE_BYTES)))
    found = image_type(raw)
    if found is None:
        raise ValidationError(_("{name} is not a PNG or JPEG image (whatever its name says); "
                                "save it as .png or .jpg", name=shown or _("the file")))
    content_type, extension = found
    if not shown:
        shown = f"image{extension}"
    if len(shown) > MAX_IMAGE_NAME:
        stem, suffix = Path(shown).stem, Path(shown).suffix[:10]
        shown = stem[:MAX_IMAGE_NAME - len(suffix)] + suffix
    return raw, shown, content_type


def size_text(size: int) -> str:
    """``2097152`` → ``"2 MB"``, ``1536`` → ``"1.5 KB"``."""
    for unit, step in (("MB", 1024 * 1024), ("KB", 1024)):
        if size >= step:
            return f"{size / step:.1f}".rstrip("0").rstrip(".") + f" {unit}"
    return f"{size} B"


def _content(text: Any, image: Any, image_name: Any) -> dict[str, Any]:
    """The columns of a reply's content: a text or an image, never both, never neither."""
    has_text = text is not None and str(text).strip() != ""
    if has_text and image is not None:
        raise ValidationError(_("a quick reply is a text or an image, not both; give one"))
    if image is not None:
        raw, name, content_type = check_image(image, image_name)
        return {"kind": "image", "text": None, "image": raw, "image_name": name,
                "image_type": content_type, "image_size": len(raw)}
    if text is None:
        raise ValidationError(_("give the reply's text, or an image"))
    return {"kind": "text", "text": check_text(text), "image": None, "image_name": None,
            "image_type": None, "image_size": 0}


# -- rows -----------------------------------------------------------------------------------

def _shown_columns() -> list[sa.Column]:
    return [T.c[name] for name in COLUMNS]


def _record(row: Mapping[str, Any]) -> QuickReply:
    values = dict(row)
    values["enabled"] = bool(values["enabled"])
    return QuickReply(**{name: values[name] for name in COLUMNS})


def _row(conn, reply_id: Any) -> QuickReply:
    try:
        key = int(reply_id)
    except (TypeError, ValueError):
        raise NotFound(_("no quick reply {id!r}; give its number (siyu replies list)",
                         id=reply_id)) from None
    row = conn.execute(sa.select(*_shown_columns()).where(T.c.id == key)).mappings().first()
    if row is None:
        raise NotFound(_("no quick reply {id}", id=key))
    return _record(row)


def _taken(conn, category: str, title: str, but: int | None = None) -> bool:
    query = sa.select(T.c.id).where(T.c.category == category, T.c.title == title)
    if but is not None:
        query = query.where(T.c.id != but)
    return conn.execute(query).first() is not None


def _duplicate(category: str, title: str) -> ValidationError:
    return ValidationError(_("category {category} has a reply titled {title!r} already; "
                             "choose another title", category=category, title=title))


def _next_position(conn, category: str) -> int:
    top = conn.execute(sa.select(sa.func.max(T.c.position))
                       .where(T.c.category == category)).scalar()
    return int(top or 0) + 1


def _renumber(conn, category: str, order: list[int] | None = None) -> None:
    """Positions 1, 2, 3 … in ``order`` (ids), else in the category's present order."""
    if order is None:
        order = list(conn.execute(sa.select(T.c.id).where(T.c.category == category)
                                  .order_by(T.c.position, T.c.id)).scalars())
    for place, key in enumerate(order, start=1):
        conn.execute(sa.update(T).where(T.c.id == key, T.c.position != place)
                     .values(position=place))


def _write(ws: Workspace, fn):
    """Run ``fn(session)`` in one transaction; a unique-title race becomes a
    ValidationError (nothing written)."""
    try:
        with ws.session() as s:
            return fn(s)
    except sa.exc.IntegrityError as exc:
        raise ValidationError(_("another reply with this category and title was saved "
                                "meanwhile; choose another title")) from exc


# -- the door -------------------------------------------------------------------------------

def add(ws: Workspace, *, category: str, title: str, text: str | None = None,
        image: bytes | str | Path | None = None, image_name: str | None = None
        ) -> QuickReply:
    """Add a reply at the end of its category.

    :param text: a text reply's text (at most 2000 characters, 4000 bytes).
    :param image: an image reply's PNG or JPEG, as bytes or a file path (at most 2 MB).
    :param image_name: the image's file name (default: the path's, or ``image.png``).
    :raises ValidationError: an empty or too long category, title or text, a title the
        category has already, an image that is not PNG/JPEG or too big, both a text and an
        image, neither (nothing stored).
    """
    ws.principal.require("data.write")
    category, title = check_category(category), check_title(title)
    content = _content(text, image, image_name)

    def write(s):
        conn = s.connection()
        if _taken(conn, category, title):
            raise _duplicate(category, title)
        now, by = utcnow(), ws.principal.name
        key = conn.execute(sa.insert(T).values(
            category=category, title=title, position=_next_position(conn, category),
            enabled=True, use_count=0, created_at=now, updated_at=now, created_by=by,
            updated_by=by, **content).returning(T.c.id)).scalar_one()
        ws.audit("quick_reply.add", key, _audited(category, title, content), session=s)
        return _row(conn, key)

    return _write(ws, write)


def _audited(category: str, title: str, content: Mapping[str, Any]) -> dict[str, Any]:
    detail: dict[str, Any] = {"category": category, "title": title, "kind": content["kind"]}
    if content["kind"] == "image":
        detail.update(image_name=content["image_name"], image_size=content["image_size"])
    else:
        detail["text"] = content["text"]
    return detail


def update(ws: Workspace, reply_id: int, **changes: Any) -> QuickReply:
    """Change a reply: any of ``category``, ``title``, ``text``, ``image`` (with
    ``image_name``) and ``enabled``. A text given to an image reply makes it a text reply,
    and the reverse; a reply moved to another category goes to its end.

    :raises ValidationError: an unknown change or a bad value (nothing changed).
    :raises NotFound: no such reply.
    """
    ws.principal.require("data.write")
    unknown = [name for name in changes if name not in CHANGEABLE]
    if unknown:
        raise ValidationError(_("a quick reply has no {names} to change; it has {known}",
                                names=listed(unknown), known=listed(CHANGEABLE)))
    if not changes:
        raise ValidationError(_("nothing to change; give a category, title, text, image or "
                                "enabled"))
    values: dict[str, Any] = {}
    if "category" in changes:
        values["category"] = check_category(changes["category"])
    if "title" in changes:
        values["title"] = check_title(changes["title"])
    text, image = changes.get("text"), changes.get("image")
    if text is not None or image is not None:
        values.update(_content(text, image, changes.get("image_name")))
    elif changes.get("image_name") is not None:
        values["image_name"] = "?"  # renamed below, once the reply is known to be an image
    if changes.get("enabled") is not None:
        values["enabled"] = bool(changes["enabled"])

    def write(s):
        conn = s.connection()
        before = _row(conn, reply_id)
        if values.get("image_name") == "?":
            if before.kind != "image":
                raise ValidationError(_("reply {id} is a text; only an image has a file "
                                        "name", id=before.id))
            name = Path(str(changes["image_name"])).name.strip()
            if not name:
                raise ValidationError(_("an image's file name may not be empty"))
            values["image_name"] = name[:MAX_IMAGE_NAME]
        category = values.get("category", before.category)
        title = values.get("title", before.title)
        if (category, title) != (before.category, before.title) and _taken(
                conn, category, title, but=before.id):
            raise _duplicate(category, title)
        moved = category != before.category
        if moved:
            values["position"] = _next_position(conn, category)
        conn.execute(sa.update(T).where(T.c.id == before.id).values(
            updated_at=utcnow(), updated_by=ws.principal.name, **values))
        if moved:
            _renumber(conn, before.category)
        detail = {key: value for key, value in values.items() if key != "image"}
        ws.audit("quick_reply.update", before.id,
                 {"title": before.title, "changes": detail}, session=s)
        return _row(conn, before.id)

    return _write(ws, write)


def remove(ws: Workspace, reply_id: int) -> None:
    """Delete a reply (the others of its category close up).

    :raises NotFound: no such reply.
    """
    ws.principal.require("data.write")
    with ws.session() as s:
        conn = s.connection()
        before = _row(conn, reply_id)
        conn.execute(sa.delete(T).where(T.c.id == before.id))
        _renumber(conn, before.category)
        ws.audit("quick_reply.remove", before.id,
                 {"category": before.category, "title": before.title}, session=s)


def get(ws: Workspace, reply_id: int) -> QuickReply:
    """One reply, without its image's bytes.

    :raises NotFound: no such reply.
    """
    ws.principal.require("data.read")
    with ws.engine.connect() as conn:
        return _row(conn, reply_id)


def listing(ws: Workspace, *, category: str | None = None, search: str | None = None,
            enabled_only: bool = False) -> pd.DataFrame:
    """The replies as a table (:data:`COLUMNS`; no image bytes), by category, then each
    category's order.

    :param category: only this category's.
    :param search: only those whose title or text holds this (ignoring case).
    :param enabled_only: leave out the disabled ones (what a chat sidebar offers).
    """
    import pandas as pd

    ws.principal.require("data.read")
    query = sa.select(*_shown_columns()).order_by(T.c.category, T.c.position, T.c.id)
    if category is not None and str(category).strip():
        query = query.where(T.c.category == str(category).strip())
    if search is not None and str(search).strip():
        term = str(search).strip().lower()
        pattern = "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(sa.or_(sa.func.lower(T.c.title).like(pattern, escape="\\"),
                                   sa.func.lower(T.c.text).like(pattern, escape="\\")))
    if enabled_only:
        query = query.where(T.c.enabled == sa.true())
    with ws.engine.connect() as conn:
        rows = [dict(row) for row in conn.execute(query).mappings()]
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    if not frame.empty:
        frame["enabled"] = frame["enabled"].astype(bool)
        for name in ("last_used_at", "created_at", "updated_at"):
            frame[name] = pd.to_datetime(frame[name], utc=True)
    return frame


def categories(ws: Workspace) -> list[str]:
    """Every category that has a reply, by name."""
    ws.principal.require("data.read")
    with ws.engine.connect() as conn:
        return sorted(conn.execute(sa.select(T.c.category).distinct()).scalars())


def image_of(ws: Workspace, reply_id: int) -> tuple[bytes, str, str]:
    """An image reply's picture: ``(bytes, file name, content type)``.

    :raises NotFound: no such reply.
    :raises ValidationError: the reply is a text.
    """
    ws.principal.require("data.read")
    with ws.engine.connect() as conn:
        reply = _row(conn, reply_id)
        if reply.kind != "image":
            raise ValidationError(_("reply {id} ({title}) is a text, not an image",
                                    id=reply.id, title=reply.title))
        data = conn.execute(sa.select(T.c.image).where(T.c.id == reply.id)).scalar_one()
    return bytes(data), reply.image_name or "image", reply.image_type or "image/png"


def move(ws: Workspace, reply_id: int, position: int) -> QuickReply:
    """Put a reply at ``position`` (1 is first) in its category; the others shift. A
    position past the end puts it last.

    :raises ValidationError: a position that is not a whole number from 1.
    :raises NotFound: no such reply.
    """
    ws.principal.require("data.write")
    try:
        place = int(position)
    except (TypeError, ValueError):
        place = 0
    if place < 1 or str(position).strip() not in (str(place), f"{place}.0"):
        raise ValidationError(_("position {position!r}: give a whole number from 1 (first)",
                                position=position))
    with ws.session() as s:
        conn = s.connection()
        reply = _row(conn, reply_id)
        order = [key for key in conn.execute(
            sa.select(T.c.id).where(T.c.category == reply.category)
            .order_by(T.c.position, T.c.id)).scalars() if key != reply.id]
        place = min(place, len(order) + 1)
        order.insert(place - 1, reply.id)
        _renumber(conn, reply.category, order)
        ws.audit("quick_reply.move", reply.id,
                 {"title": reply.title, "from": reply.position, "to": place}, session=s)
        return _row(conn, reply.id)


def record_use(ws: Workspace, reply_id: int, *, by: str) -> QuickReply:
    """Count one send of a reply (by staff member ``by``, e.g. their userid): its
    ``use_count`` goes up by one and ``last_used_at`` becomes now.

    :raises NotFound: no such reply.
    """
    ws.principal.require("data.write")
    who = str(by or "").strip()
    if not who:
        raise ValidationError(_("say who sent the reply (by=their userid)"))
    with ws.session() as s:
        conn = s.connection()
        reply = _row(conn, reply_id)
        conn.execute(sa.update(T).where(T.c.id == reply.id).values(
            use_count=T.c.use_count + 1, last_used_at=utcnow()))
        ws.audit("quick_reply.use", reply.id, {"title": reply.title, "by": who[:100]},
                 session=s)
        return _row(conn, reply.id)


# -- files ----------------------------------------------------------------------------------

def export_frame(ws: Workspace) -> pd.DataFrame:
    """Every reply for a spreadsheet: ``category, title, kind, text, image_name, position,
    enabled, use_count, last_used_at`` (an import reads the text replies back)."""
    frame = listing(ws)
    return frame[["category", "title", "kind", "text", "image_name", "position", "enabled",
                  "use_count", "last_used_at"]].reset_index(drop=True)


def import_texts(ws: Workspace, frame_or_path: pd.DataFrame | str | Path) -> ImportReport:
    """Add text replies from a table with the columns ``category, title, text`` (headers
    such as 分类, 标题, 内容 are recognised too): a DataFrame, or a CSV (UTF-8 or GBK) or
    .xlsx file. A row whose category and title name a text reply already replaces its text
    (the same text leaves it unchanged), so importing a file twice changes nothing.

    All or nothing: every row is checked first, and a file with a bad row (an empty or too
    long value, a title twice in one category, a title of an image reply) imports nothing.

    :return: an :class:`~siyu.core.importing.ImportReport` (``created``, ``updated``,
        ``unchanged``).
    :raises ImportFailed: unreadable file, missing columns or bad rows; ``problems`` names
        each row's line and reason.
    """
    import pandas as pd

    from siyu.core.importing.headers import field_for_header
    from siyu.core.importing.table import ImportReport, RowProblem, read_table

    ws.principal.require("data.write")
    if isinstance(frame_or_path, pd.DataFrame):
        name = "DataFrame"
        source = frame_or_path.copy()
        renames = {}
        for column in source.columns:
            field = field_for_header(column, IMPORT_FIELDS)
            if field is not None and field not in renames.values():
                renames[column] = field
        ignored = [str(c) for c in source.columns if c not in renames]
        table = source[list(renames)].rename(columns=renames).fillna("")
        table = table.apply(lambda col: col.astype(str).str.strip())
        table.index = range(2, len(table) + 2)
        encoding = ""
    else:
        name = str(frame_or_path)
        table, encoding, ignored = read_table(frame_or_path, IMPORT_FIELDS)
    shown = Path(name).name
    missing = [field for field in IMPORT_FIELDS if field not in table.columns]
    if missing:
        raise ImportFailed(_("{file} has no {columns} column; the columns are category, "
                             "title and text (or 分类, 标题, 内容)", file=shown,
                             columns=listed(missing)))
    report = ImportReport(kind=_("quick replies"), path=name, rows=len(table),
                          encoding=encoding, ignored_columns=ignored)
    problems: list[RowProblem] = []
    checked: list[tuple[int, str, str, str]] = []
    seen: dict[tuple[str, str], int] = {}
    for line, row in table.iterrows():
        try:
            category = check_category(row["category"])
            title = check_title(row["title"])
            text = check_text(row["text"])
        except ValidationError as exc:
            problems.append(RowProblem(int(line), "", "", str(exc)))
            continue
        first = seen.setdefault((category, title), int(line))
        if first != int(line):
            problems.append(RowProblem(int(line), "title", title, _(
                "{category}/{title} is on line {first} already", category=category,
                title=title, first=first)))
            continue
        checked.append((int(line), category, title, text))
    with ws.session() as s:
        conn = s.connection()
        existing = {(r.category, r.title): r for r in conn.execute(
            sa.select(T.c.id, T.c.category, T.c.title, T.c.kind, T.c.text))}
        for line, category, title, _text in checked:
            known = existing.get((category, title))
            if known is not None and known.kind != "text":
                problems.append(RowProblem(line, "title", title, _(
                    "{category}/{title} is an image reply; an import adds and changes texts "
                    "only", category=category, title=title)))
        if problems:
            problems.sort(key=lambda p: p.line)
            bad = len({p.line for p in problems})
            raise ImportFailed(_.ngettext(
                "{file}: {n} bad row, nothing imported ({first})",
                "{file}: {n} bad rows, nothing imported (first: {first})", bad, file=shown,
                first=problems[0]), problems)
        now, by = utcnow(), ws.principal.name
        positions: dict[str, int] = {}
        for _line, category, title, text in checked:
            known = existing.get((category, title))
            if known is None:
                if category not in positions:
                    positions[category] = _next_position(conn, category)
                conn.execute(sa.insert(T).values(
                    category=category, title=title, kind="text", text=text,
                    image_size=0, position=positions[category], enabled=True, use_count=0,
                    created_at=now, updated_at=now, created_by=by, updated_by=by))
                positions[category] += 1
                report.created += 1
            elif known.text == text:
                report.unchanged += 1
            else:
                conn.execute(sa.update(T).where(T.c.id == known.id).values(
                    text=text, updated_at=now, updated_by=by))
                report.updated += 1
        ws.audit("quick_reply.import", shown, report.counts(), session=s)
    return report
