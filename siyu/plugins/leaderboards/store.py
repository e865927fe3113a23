"""Leaderboards: defining them, ranking, the oracle, snapshots.

A board ranks stores, staff, regions (the store's) or contacts by a metric — ``sales_fen``
(paid amount net of refunds, integer fen), ``orders`` (paid orders) or ``new_contacts``
(contacts added) — over a period in the workspace timezone: ``today``, ``this_week`` (Monday
to Sunday), ``this_month`` or a ``window`` of fixed days (``start`` to ``end``, inclusive).

:func:`ranking` refreshes the aggregates (:mod:`~.aggregate`) and sums the period's days per
key, dense-ranked (ties share a rank), with each key's rank at the end of yesterday for the
movement. :func:`recompute` answers the same straight from the orders and contacts: the
oracle of the tests and the baseline of the bench. Reading needs ``data.read``; defining,
changing, removing and snapshotting need ``data.write`` and are audited.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlmodel import select

from siyu.core.errors import NotFound, ValidationError
from siyu.core.i18n import translator
from siyu.plugins.leaderboards import aggregate
from siyu.plugins.leaderboards.aggregate import day_of, day_start, db_day, db_time
from siyu.plugins.leaderboards.models import (
    DIMENSIONS,
    METRICS,
    PERIODS,
    Leaderboard,
    LeaderboardSnapshot,
)
from siyu.storage.dialect import insert_for
from siyu.storage.models import PAID_STATUSES, Store
from siyu.storage.types import utcnow

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from siyu.core.workspace import Workspace

_ = translator("siyu.plugins.leaderboards")

NAME = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
MAX_TOP = 1000
COLUMNS = ("rank", "key", "name", "value", "previous_rank", "change")
_PAID = ", ".join(f"'{status}'" for status in PAID_STATUSES)


@dataclass(frozen=True)
class BoardInfo:
    """A board as defined."""

    name: str
    title: str
    metric: str
    dimension: str
    period: str
    start: date | None
    end: date | None
    sources: tuple[str, ...]
    stores: tuple[str, ...]
    top: int
    created_by: str
    created_at: datetime


def metric_labels() -> dict[str, str]:
    """Each metric in the reader's language."""
    return {"sales_fen": _("Sales (net of refunds)"), "orders": _("Paid orders"),
            "new_contacts": _("New contacts")}


def dimension_labels() -> dict[str, str]:
    """Each dimension in the reader's language."""
    return {"store": _("Stores"), "staff": _("Staff"), "region": _("Regions"),
            "contact": _("Customers")}


def period_labels() -> dict[str, str]:
    """Each period in the reader's language."""
    return {"today": _("Today"), "this_week": _("This week"), "this_month": _("This month"),
            "window": _("Fixed dates")}


# -- checking ---------------------------------------------------------------------------------


def _as_day(value: Any, what: str, tz) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValidationError(_("{what} {value}: give a date, or a time with its timezone",
                                    what=what, value=value))
        return value.astimezone(tz).date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValidationError(_("{what} {value!r} is not a date (YYYY-MM-DD)", what=what,
                                value=value)) from None


def _names(values: Any, what: str) -> tuple[str, ...] | None:
    if values is None:
        return None
    if isinstance(values, str):
        values = [v for v in values.split(",")]
    out = []
    for value in values:
        text = str(value).strip()
        if not text:
            raise ValidationError(_("{what}: an empty name", what=what))
        if text not in out:
            out.append(text)
    return tuple(out) or None


def _check(ws: Workspace, values: dict[str, Any]) -> dict[str, Any]:
    """The board's fields checked and normalised; raises :class:`ValidationError`."""
    metric, dimension, period = values["metric"], values["dimension"], values["period"]
    if metric not in METRICS:
        raise ValidationError(_("unknown metric {metric!r}; use one of: {known}",
                                metric=metric, known=", ".join(METRICS)))
    if dimension not in DIMENSIONS:
        raise ValidationError(_("unknown dimension {dimension!r}; use one of: {known}",
                                dimension=dimension, known=", ".join(DIMENSIONS)))
    start = _as_day(values.get("start"), "start", ws.timezone)
    end = _as_day(values.get("end"), "end", ws.timezone)
    if period in (None, "") and (start or end):
        period = "window"
    if period not in PERIODS:
        raise ValidationError(_("unknown period {period!r}; use one of: {known}",
                                period=period, known=", ".join(PERIODS)))
    if period == "window":
        if start is None or end is None:
            raise ValidationError(_("a fixed window needs both a start and an end date"))
        if end < start:
            raise ValidationError(_("the window ends ({end}) before it starts ({start})",
                                    end=end.isoformat(), start=start.isoformat()))
    elif start is not None or end is not None:
        raise ValidationError(_("start and end dates are only for the fixed window period; "
                                "this board's period is {period!r}", period=period))
    if metric == "new_contacts" and dimension == "contact":
        raise ValidationError(_("new contacts cannot be ranked by customer; rank them by "
                                "store, staff or region"))
    sources = _names(values.get("sources"), "sources")
    if sources and metric == "new_contacts":
        raise ValidationError(_("order sources filter orders: they do not apply to new "
                                "contacts"))
    stores = _names(values.get("stores"), "stores")
    if stores:
        with ws.engine.connect() as conn:
            known = set(conn.execute(sa.select(Store.code).where(
                Store.code.in_(stores))).scalars())
        missing = [code for code in stores if code not in known]
        if missing:
            raise ValidationError(_("unknown store {codes}", codes=", ".join(
                repr(code) for code in missing)))
    try:
        top = int(values.get("top", 20))
    except (TypeError, ValueError):
        raise ValidationError(_("top must be a whole number, got {value!r}",
                                value=values.get("top"))) from None
    if not 1 <= top <= MAX_TOP:
        raise ValidationError(_("top must be between 1 and {most}, got {value}",
                                most=MAX_TOP, value=top))
    title = str(values.get("title") or "").strip()[:200]
    return {"metric": metric, "dimension": dimension, "period": period,
            "start_day": start if period == "window" else None,
            "end_day": end if period == "window" else None,
            "sources": list(sources) if sources else None,
            "stores": list(stores) if stores else None, "top": top, "title": title}


# -- defining ---------------------------------------------------------------------------------


def _row(s, name: str) -> Leaderboard:
    row = s.exec(select(Leaderboard).where(Leaderboard.name == name)).first()
    if row is None:
        raise NotFound(_("no leaderboard named {name!r}", name=name))
    return row


def _info(row: Leaderboard) -> BoardInfo:
    return BoardInfo(row.name, row.title or row.name, row.metric, row.dimension, row.period,
                     row.start_day, row.end_day, tuple(row.sources or ()),
                     tuple(row.stores or ()), row.top, row.created_by, row.created_at)


def define(ws: Workspace, name: str, *, metric: str, dimension: str, period: str | None,
           title: str | None = None, start: Any = None, end: Any = None,
           sources: Any = None, stores: Any = None, top: int = 20) -> BoardInfo:
    """Define a new board.

    :param name: lower-case letters, digits, ``-`` and ``_`` (unique).
    :param metric: ``sales_fen``, ``orders`` or ``new_contacts``.
    :param dimension: ``store``, ``staff``, ``region`` or ``contact``.
    :param period: ``today``, ``this_week``, ``this_month`` or ``window`` (with ``start`` and
        ``end``: dates, ISO text or aware times, inclusive, in the workspace timezone).
    :param sources: only orders of these sources (a list or comma-separated text).
    :param stores: only these store codes.
    :param top: places shown (ties share a place, so there may be more rows).
    :raises ValidationError: a bad name or field (nothing stored).
    """
    ws.principal.require("data.write")
    if not NAME.match(str(name)):
        raise ValidationError(_("leaderboard name {name!r}: use lower-case letters, digits, - "
                                "and _, starting with a letter (at most 64)", name=name))
    fields = _check(ws, {"metric": metric, "dimension": dimension, "period": period,
                         "start": start, "end": end, "sources": sources, "stores": stores,
                         "top": top, "title": title})
    with ws.session() as s:
        if s.exec(select(Leaderboard.id).where(Leaderboard.name == name)).first() is not None:
            raise ValidationError(_("a leaderboard named {name!r} exists already", name=name))
        s.add(Leaderboard(name=name, created_by=ws.principal.name, **fields))
        ws.audit("leaderboard.add", name, _jsonable(fields), session=s)
    return get(ws, name)


def update(ws: Workspace, name: str, **changes: Any) -> BoardInfo:
    """Change a board: any of ``title``, ``metric``, ``dimension``, ``period``, ``start``,
    ``end``, ``sources``, ``stores``, ``top`` (``None`` keeps a field; for ``sources`` and
    ``stores`` an empty list clears the filter).

    :raises ValidationError: a bad field (nothing changed).
    :raises NotFound: no such board.
    """
    ws.principal.require("data.write")
    allowed = {"title", "metric", "dimension", "period", "start", "end", "sources", "stores",
               "top"}
    unknown = sorted(set(changes) - allowed)
    if unknown:
        raise ValidationError(_("a leaderboard has no field {names}", names=", ".join(unknown)))
    with ws.session() as s:
        row = _row(s, name)
        current = {"metric": row.metric, "dimension": row.dimension, "period": row.period,
                   "start": row.start_day, "end": row.end_day, "sources": row.sources,
                   "stores": row.stores, "top": row.top, "title": row.title}
        given = {k: v for k, v in changes.items() if v is not None}
        if given.get("period") not in (None, "window"):
            current["start"] = current["end"] = None
        for key in ("sources", "stores"):
            if key in given and not given[key]:
                given[key] = None
                current[key] = None
        fields = _check(ws, {**current, **given})
        for key, value in fields.items():
            setattr(row, key, value)
        row.updated_at = utcnow()
        s.add(row)
        ws.audit("leaderboard.update", name, _jsonable(fields), session=s)
    return get(ws, name)


def remove(ws: Workspace, name: str) -> None:
    """Remove a board with its snapshots.

    :raises NotFound: no such board.
    """
    ws.principal.require("data.write")
    with ws.session() as s:
        row = _row(s, name)
        s.execute(sa.delete(LeaderboardSnapshot).where(
            LeaderboardSnapshot.leaderboard_id == row.id))
        s.delete(row)
        ws.audit("leaderboard.remove", name, session=s)


def get(ws: Workspace, name: str) -> BoardInfo:
    """One board.

    :raises NotFound: no such board.
    """
    ws.principal.require("data.read")
    with ws.session() as s:
        return _info(_row(s, name))


def boards(ws: Workspace) -> list[BoardInfo]:
    """Every board, by name."""
    ws.principal.require("data.read")
    with ws.session() as s:
        return [_info(row) for row in s.exec(select(Leaderboard).order_by(Leaderboard.name))]


def listing(ws: Workspace) -> pd.DataFrame:
    """Every board as a table: name, title, metric, dimension, period, window, filters, top."""
    import pandas as pd

    rows = [{"name": b.name, "title": b.title, "metric": b.metric, "dimension": b.dimension,
             "period": b.period, "start": b.start, "end": b.end,
             "sources": ",".join(b.sources), "stores": ",".join(b.stores), "top": b.top,
             "created_by": b.created_by, "created_at": b.created_at} for b in boards(ws)]
    return pd.DataFrame(rows, columns=["name", "title", "metric", "dimension", "period",
                                       "start", "end", "sources", "stores", "top",
                                       "created_by", "created_at"])


def _jsonable(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, date) else v for k, v in fields.items()}


# -- periods ----------------------------------------------------------------------------------


def period_days(board: BoardInfo, today: date) -> tuple[date, date]:
    """The first and last day of the board's period that holds ``today``."""
    if board.period == "today":
        return today, today
    if board.period == "this_week":
        monday = today - timedelta(days=today.weekday())
        return monday, monday + timedelta(days=6)
    if board.period == "this_month":
        first = today.replace(day=1)
        following = (first + timedelta(days=32)).replace(day=1)
        return first, following - timedelta(days=1)
    return board.start, board.end


def _previous_days(board: BoardInfo, today: date) -> tuple[date, date] | None:
    """The days the ranking summed at the end of yesterday, or ``None`` (nothing yet)."""
    yesterday = today - timedelta(days=1)
    first, last = period_days(board, yesterday)
    last = min(last, yesterday)
    return (first, last) if last >= first else None


# -- ranking ----------------------------------------------------------------------------------


def _store_ids(conn: sa.Connection, codes: tuple[str, ...]) -> list[int]:
    return list(conn.execute(sa.select(Store.id).where(Store.code.in_(codes))).scalars())


def _values_sql(conn: sa.Connection, board: BoardInfo, days: tuple[date, date], tz,
                params: dict[str, Any], *, oracle: bool) -> str:
    """``SELECT key, value`` of every key with a positive value over ``days``."""
    joins, where = "", []
    if oracle:
        first, last = days
        params["t0"] = db_time(conn, day_start(first, tz))
        params["t1"] = db_time(conn, day_start(last + timedelta(days=1), tz))
        if board.metric == "new_contacts":
            source = "contact d"
            keys = {"store": "d.store_id", "staff": "d.owner_id", "region": "s.region"}
            value = "COUNT(*)"
            where += ["d.added_at >= :t0", "d.added_at < :t1"]
        else:
            source = "orders d"
            keys = {"store": "d.store_id", "staff": "d.staff_id", "region": "s.region",
                    "contact": "d.contact_id"}
            value = "SUM(d.amount_fen - d.refunded_fen)" if board.metric == "sales_fen" \
                else "COUNT(*)"
            where += [f"d.status IN ({_PAID})", "d.paid_at >= :t0", "d.paid_at < :t1"]
            if board.sources:
                where.append("d.source IN :sources")
        key = keys[board.dimension]
        if board.dimension != "region":
            where.append(f"{key} IS NOT NULL")
    else:
        params["d0"], params["d1"] = db_day(conn, days[0]), db_day(conn, days[1])
        source = "leaderboard_contact_daily d" if board.dimension == "contact" \
            else "leaderboard_daily d"
        key = {"store": "d.store_id", "staff": "d.staff_id", "region": "s.region",
               "contact": "d.contact_id"}[board.dimension]
        value = f"SUM(d.{board.metric})"
        where += ["d.day >= :d0", "d.day <= :d1",
                  "d.source = ''" if board.metric == "new_contacts" else "d.source <> ''"]
        if board.dimension in ("store", "staff"):
            where.append(f"{key} <> 0")
        if board.sources:
            where.append("d.source IN :sources")
    if board.dimension == "region":
        joins = " JOIN store s ON s.id = d.store_id"
    if board.stores:
        params["store_ids"] = _store_ids(conn, board.stores) or [-1]
        where.append("d.store_id IN :store_ids")
    if board.sources:
        params["sources"] = list(board.sources)
    return (f"SELECT {key} AS key, {value} AS value FROM {source}{joins} "
            f"WHERE {' AND '.join(where)} GROUP BY {key}")


def _ranked(conn: sa.Connection, board: BoardInfo, days: tuple[date, date], tz, *,
            oracle: bool, top: int | None = None, keys: list | None = None
            ) -> list[tuple[Any, int, int]]:
    """``[(key, value, rank), …]`` best first; ``top`` keeps ranks up to it, ``keys`` only
    those keys (ranked among all)."""
    params: dict[str, Any] = {}
    inner = _values_sql(conn, board, days, tz, params, oracle=oracle)
    sql = (f"SELECT key, value, DENSE_RANK() OVER (ORDER BY value DESC) AS rnk FROM "
           f"({inner}) AS v WHERE value > 0")
    filters = []
    if top is not None:
        filters.append("rnk <= :top")
        params["top"] = top
    if keys is not None:
        if not keys:
            return []
        filters.append("key IN :keys")
        params["keys"] = list(keys)
    if filters:
        sql = f"SELECT key, value, rnk FROM ({sql}) AS r WHERE {' AND '.join(filters)}"
    sql += " ORDER BY rnk, key"
    statement = sa.text(sql)
    for name in ("sources", "store_ids", "keys"):
        if name in params:
            statement = statement.bindparams(sa.bindparam(name, expanding=True))
    return [(k, int(v), int(r)) for k, v, r in conn.execute(statement, params)]


def _labels(conn: sa.Connection, dimension: str, keys: list) -> dict[Any, tuple[str, str]]:
    """Key → (shown key, name): a store's code and name, a staff member's userid and name,
    a region, a contact's id and name (or masked phone)."""
    from siyu.core.pii import mask_phone

    if not keys:
        return {}
    if dimension == "region":
        none = _("(no region)")
        return {k: (k, k or none) for k in keys}
    if dimension == "store":
        rows = conn.execute(sa.text("SELECT id, code, name FROM store WHERE id IN :ids")
                            .bindparams(sa.bindparam("ids", expanding=True)), {"ids": keys})
        return {i: (code, name or code) for i, code, name in rows}
    if dimension == "staff":
        rows = conn.execute(sa.text("SELECT id, userid, name FROM staff WHERE id IN :ids")
                            .bindparams(sa.bindparam("ids", expanding=True)), {"ids": keys})
        return {i: (userid, name or userid) for i, userid, name in rows}
    rows = conn.execute(sa.text("SELECT id, name, phone FROM contact WHERE id IN :ids")
                        .bindparams(sa.bindparam("ids", expanding=True)), {"ids": keys})
    return {i: (str(i), name or mask_phone(phone) or f"#{i}") for i, name, phone in rows}


def _frame(ws: Workspace, name: str, at: datetime | None, *, oracle: bool,
           top: int | None = None) -> pd.DataFrame:
    import pandas as pd

    board = get(ws, name)
    tz = ws.timezone
    at = (at or utcnow())
    if at.tzinfo is None:
        at = at.replace(tzinfo=tz)
    today = day_of(at, tz)
    limit = board.top if top is None else top
    with ws.engine.connect() as conn:
        now = _ranked(conn, board, period_days(board, today), tz, oracle=oracle, top=limit)
        before = _previous_days(board, today)
        previous = {k: r for k, _v, r in _ranked(
            conn, board, before, tz, oracle=oracle, keys=[k for k, _v, _r in now])} \
            if before else {}
        labels = _labels(conn, board.dimension, [k for k, _v, _r in now])
    rows = []
    for key, value, rank in now:
        shown, label = labels.get(key, (str(key), str(key)))
        prev = previous.get(key)
        rows.append({"rank": rank, "key": shown, "name": label, "value": value,
                     "previous_rank": prev, "change": None if prev is None else prev - rank})
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    for column in ("rank", "value", "previous_rank", "change"):
        frame[column] = frame[column].astype("Int64")
    frame.attrs.update(board=board.name, metric=board.metric, dimension=board.dimension,
                       period=period_days(board, today))
    return frame


def ranking(ws: Workspace, name: str, *, at: datetime | None = None,
            top: int | None = None) -> pd.DataFrame:
    """The board's ranking now (or at ``at``), from the aggregates (refreshed first).

    :return: ``rank`` (dense: ties share it), ``key`` (store code, staff userid, region,
        contact id), ``name``, ``value`` (fen for ``sales_fen``), ``previous_rank`` (at the
        end of yesterday; ``<NA>`` when not ranked then) and ``change`` (places gained).
        Ranks up to the board's ``top`` (or ``top``).
    :raises NotFound: no such board.
    """
    ws.principal.require("data.read")
    get(ws, name)
    aggregate.refresh(ws)
    return _frame(ws, name, at, oracle=False, top=top)


def recompute(ws: Workspace, name: str, *, at: datetime | None = None,
              top: int | None = None) -> pd.DataFrame:
    """The same ranking as :func:`ranking`, computed straight from the orders and contacts
    (slow on big tables: the oracle of the tests and the baseline of the bench)."""
    ws.principal.require("data.read")
    return _frame(ws, name, at, oracle=True, top=top)


# -- snapshots --------------------------------------------------------------------------------


def snapshot(ws: Workspace, name: str, *, at: datetime | None = None) -> pd.DataFrame:
    """Store the board's ranking for the period holding ``at`` (default now; at the end of
    a period it is the final one), replacing an earlier snapshot of that period.

    :return: the ranking stored.
    """
    ws.principal.require("data.write")
    frame = ranking(ws, name, at=at)
    first, last = frame.attrs["period"]
    rows = [{"rank": int(r["rank"]), "key": r["key"], "name": r["name"],
             "value": int(r["value"])} for r in frame.to_dict("records")]
    with ws.session() as s:
        board = _row(s, name)
        conn = s.connection()
        conn.execute(insert_for(conn, LeaderboardSnapshot.__table__).values(
            leaderboard_id=board.id, period_start=first, period_end=last, rows=rows,
            taken_at=utcnow(), taken_by=ws.principal.name).on_conflict_do_update(
            index_elements=["leaderboard_id", "period_start"],
            set_={"period_end": last, "rows": rows, "taken_at": utcnow(),
                  "taken_by": ws.principal.name}))
        ws.audit("leaderboard.snapshot", name, {"period_start": first.isoformat(),
                                                "period_end": last.isoformat()}, session=s)
    return frame


def snapshots(ws: Workspace, name: str) -> pd.DataFrame:
    """The board's stored snapshots, one row per place: ``period_start``, ``period_end``,
    ``taken_at``, ``rank``, ``key``, ``name``, ``value`` (latest period first)."""
    import pandas as pd

    ws.principal.require("data.read")
    with ws.session() as s:
        board = _row(s, name)
        found = s.exec(select(LeaderboardSnapshot)
                       .where(LeaderboardSnapshot.leaderboard_id == board.id)
                       .order_by(LeaderboardSnapshot.period_start.desc())).all()
    rows = [{"period_start": snap.period_start, "period_end": snap.period_end,
             "taken_at": snap.taken_at, **place} for snap in found for place in snap.rows or []]
    return pd.DataFrame(rows, columns=["period_start", "period_end", "taken_at", "rank", "key",
                                       "name", "value"])


def snapshot_ended(ws: Workspace, *, today: date | None = None) -> int:
    """Snapshot every board whose period ended yesterday (or earlier, for a fixed window)
    and has no snapshot of it yet; returns how many were taken."""
    tz = ws.timezone
    today = today or day_of(utcnow(), tz)
    yesterday = today - timedelta(days=1)
    taken = 0
    for board in boards(ws):
        first, last = period_days(board, yesterday)
        if last > yesterday:
            continue
        with ws.session() as s:
            row = _row(s, board.name)
            exists = s.exec(select(LeaderboardSnapshot.id).where(
                LeaderboardSnapshot.leaderboard_id == row.id,
                LeaderboardSnapshot.period_start == first)).first()
        if exists is None:
            end_of = day_start(last + timedelta(days=1), tz) - timedelta(microseconds=1)
            snapshot(ws, board.name, at=end_of)
            taken += 1
    return taken


# -- exports ----------------------------------------------------------------------------------


def export_columns(metric: str) -> list[tuple[str, str]]:
    """(column, header) of a ranking's download, in the reader's language."""
    return [("rank", _("Rank")), ("key", _("Code")), ("name", _("Name")),
            ("value", metric_labels()[metric] + (_(" (yuan)") if metric == "sales_fen"
                                                 else "")),
            ("previous_rank", _("Rank yesterday")), ("change", _("Change"))]


def export_frame(ws: Workspace, name: str, *, at: datetime | None = None) -> pd.DataFrame:
    """The ranking as a download holds it: translated headers, money in yuan."""
    import pandas as pd

    frame = ranking(ws, name, at=at)
    metric = frame.attrs["metric"]
    out = {}
    for column, header in export_columns(metric):
        values = frame[column]
        if column == "value" and metric == "sales_fen":
            values = values.astype("float") / 100
        out[header] = values
    return pd.DataFrame(out)


__all__ = ["BoardInfo", "boards", "define", "export_frame", "get", "listing", "period_days",
           "ranking", "recompute", "remove", "snapshot", "snapshot_ended", "snapshots",
           "update"]
