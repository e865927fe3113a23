"""Live-code reports: what each code and each channel brought in, and each member's load.

Every measure is aggregated by the database (``GROUP BY``, window functions for the latency
percentiles); only one row per code, channel or member comes back to Python, whatever the
size of the contact, event and order tables. The same SQL runs on SQLite and PostgreSQL.

**The period.** ``since`` is the first local day counted and ``until`` the first local day
*not* counted, in the workspace timezone (as in ``ws.reports``); either may be left out for
an open end. They accept dates, datetimes (counting for their local day) and ISO strings.

**The measures** (per code; a channel adds up its codes):

- ``arrivals`` — every add callback through the code in the period: new customers,
  customers coming back after deleting a member, and customers of another member adding
  this one too (a scan WeCom reports only when it ends in an add).
- ``adds`` — customers who became friends through the code in the period (its arrivals
  recorded by the live-code plugin); ``new_contacts`` the part of them never added before.
- ``removals`` — of those adds, the customers who later deleted the member or were deleted
  by them (up to now); ``net_growth`` is ``adds - removals``.
- ``retention_1d`` / ``_7d`` / ``_30d`` — the share of adds still friends N days after
  their add, counting only the adds at least N days old (NaN while none is).
- ``converted`` / ``conversion`` — how many adds (and which share) placed a paid order at
  or after their add.
- ``welcome_p50_ms`` / ``welcome_p99_ms`` — nearest-rank percentiles of the time from the
  add to WeCom accepting the welcome message (sent welcomes only).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import sqlalchemy as sa

from siyu.core.errors import NotFound, SiyuError, ValidationError
from siyu.core.services.base import as_utc
from siyu.plugins.livecodes.engine import ADDS, CODES, DAYS, MEMBERS, PREFIX, local_now
from siyu.storage.models import PAID_STATUSES, Contact, Event, Order, Staff, Store
from siyu.storage.types import utcnow

if TYPE_CHECKING:  # pragma: no cover
    from zoneinfo import ZoneInfo

    from siyu.core.workspace import Workspace

__all__ = ["REPORTS", "RETENTION_DAYS", "channel_report", "code_report", "report",
           "report_csv", "report_text", "save_csv", "staff_load"]

#: The retention horizons, in days.
RETENTION_DAYS = (1, 7, 30)
MEASURES = ["arrivals", "adds", "new_contacts", "removals", "net_growth",
            *[f"retention_{n}d" for n in RETENTION_DAYS], "converted", "conversion",
            "welcome_p50_ms", "welcome_p99_ms"]
CODE_COLUMNS = ["code_id", "code", "state", "channel", "store", "status", *MEASURES]
CHANNEL_COLUMNS = ["channel", "codes", *MEASURES]
STAFF_COLUMNS = ["userid", "staff", "code_id", "code", "role", "adds_today", "daily_cap",
                 "cap_use", "adds", "removals", "net_growth"]
#: Columns holding shares (0..1), shown as percentages.
RATE_COLUMNS = [*[f"retention_{n}d" for n in RETENTION_DAYS], "conversion", "cap_use"]
COUNTS = ["arrivals", "adds", "new_contacts", "removals", "converted"]

CONTACTS, EVENTS, ORDERS = Contact.__table__, Event.__table__, Order.__table__
ADDED, REMOVED = "contact.added", "contact.removed"
DAY_MS = 86_400_000
DAY_S = 86_400
#: WeCom stamps callbacks to the second: a code made in the second of a callback may
#: look younger than it.
STAMP_S = 1


# -- arguments -----------------------------------------------------------------------------

def _day(value: Any, tz: ZoneInfo) -> date:
    """A user-given date or time as a calendar day in ``tz``."""
    return as_utc(value, tz).astimezone(tz).date()


def period_bounds(ws: Workspace, since: Any = None,
                  until: Any = None) -> tuple[datetime | None, datetime | None]:
    """The UTC start and end of the local days ``[since, until)``; ``None`` for an open end.

    :raises ValidationError: an unreadable date, or ``since`` not before ``until``.
    """
    tz = ws.timezone
    first = _day(since, tz) if since is not None else None
    end = _day(until, tz) if until is not None else None
    if first is not None and end is not None and first >= end:
        raise ValidationError(f"the period starts on {first} but ends before it (until {end} "
                              f"is not counted); give an earlier since or a later until")
    return (as_utc(first, tz) if first else None), (as_utc(end, tz) if end else None)


def _code_id(ws: Workspace, code: int | str) -> int:
    column = CODES.c.id if isinstance(code, int) else CODES.c.state
    with ws.engine.connect() as conn:
        found = conn.execute(sa.select(CODES.c.id).where(column == code)).scalar()
    if found is None:
        raise NotFound(f"no live code {code!r} (give a code id or its lc: state); see "
                       "list_codes(ws)")
    return found


def _within(column: sa.ColumnElement, lo: datetime | None,
            hi: datetime | None) -> list[sa.ColumnElement]:
    return [*([column >= lo] if lo else []), *([column < hi] if hi else [])]


# -- SQL -----------------------------------------------------------------------------------

def _cohort(keys: dict[str, sa.ColumnElement], lo: datetime | None, hi: datetime | None,
            where: tuple = ()) -> sa.Subquery:
    """One row per add through a code in the period: the group ``keys``, when it happened,
    when that friendship ended (``NULL`` while it lasts), whether the customer was new and
    whether they ordered since."""
    a, c, e, o = ADDS, CONTACTS, EVENTS, ORDERS
    prior = ADDS.alias("prior_add")
    # A removal of this friendship: the first one recorded at or after the add (earlier
    # friendships of a returning customer have their own adds), or the contact's current
    # removal when it has no event (a removal made through the API).
    removal_event = (sa.select(sa.func.min(e.c.occurred_at))
                     .where(e.c.contact_id == a.c.contact_id, e.c.kind == REMOVED,
                            e.c.occurred_at >= a.c.at).scalar_subquery())
    removal_now = sa.case((c.c.removed_at >= a.c.at, c.c.removed_at))
    seen_before = sa.or_(
        sa.exists().where(e.c.contact_id == a.c.contact_id, e.c.kind == ADDED,
                          e.c.occurred_at < a.c.at),
        sa.exists().where(prior.c.contact_id == a.c.contact_id, prior.c.at < a.c.at))
    ordered = sa.exists().where(o.c.contact_id == a.c.contact_id, o.c.status.in_(PAID_STATUSES),
                                o.c.paid_at >= a.c.at)
    inner = (sa.select(*[column.label(name) for name, column in keys.items()], a.c.at,
                       removal_event.label("removal_event"),
                       removal_now.label("removal_now"),
                       sa.case((seen_before, 0), else_=1).label("new"),
                       sa.case((ordered, 1), else_=0).label("ordered"))
             .select_from(a.join(CODES, a.c.code_id == CODES.c.id)
                          .outerjoin(c, c.c.id == a.c.contact_id))
             .where(*_within(a.c.at, lo, hi), *where).subquery("adds_in_period"))
    ended = sa.func.coalesce(inner.c.removal_event, inner.c.removal_now)
    # OFFSET 0 keeps both engines from inlining this subquery into the aggregates, which
    # would evaluate the removal lookup once per measure that reads ``ended``.
    return (sa.select(*[inner.c[name] for name in keys], inner.c.at, inner.c.new,
                      inner.c.ordered, ended.label("ended"))
            .offset(0).subquery("cohort"))


def _lasted(dialect: str, end: sa.ColumnElement, start: sa.ColumnElement,
            seconds: int) -> sa.ColumnElement:
    """Whether ``end`` is at least ``seconds`` after ``start`` (negative: before it)."""
    if dialect == "postgresql":
        return end >= start + sa.func.make_interval(0, 0, 0, 0, 0, 0, seconds)
    span_ms = sa.func.round((sa.func.julianday(end) - sa.func.julianday(start)) * DAY_MS)
    return span_ms >= seconds * 1000


def _counts(ws: Workspace, cohort: sa.Subquery, keys: list[str]) -> pd.DataFrame:
    """Adds, new contacts, removals, conversions and retention counts per group."""
    now, dialect = utcnow(), ws.engine.dialect.name
    ended, at = cohort.c.ended, cohort.c.at

    def total(condition: sa.ColumnElement) -> sa.ColumnElement:
        return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)

    measures = [sa.func.count().label("adds"), total(cohort.c.new == 1).label("new_contacts"),
                total(ended.is_not(None)).label("removals"),
                total(cohort.c.ordered == 1).label("converted")]
    for n in RETENTION_DAYS:
        old = at <= now - timedelta(days=n)
        measures += [total(old).label(f"eligible_{n}d"),
                     total(sa.and_(old, sa.or_(ended.is_(None),
                                               _lasted(dialect, ended, at, n * DAY_S))))
                     .label(f"kept_{n}d")]
    groups = [cohort.c[k] for k in keys]
    return _read(ws, sa.select(*groups, *measures).group_by(*groups))


def _latency(ws: Workspace, keys: dict[str, sa.ColumnElement], lo: datetime | None,
             hi: datetime | None, where: tuple = ()) -> pd.DataFrame:
    """Nearest-rank p50 and p99 of the welcome latency of the period's adds per group."""
    a = ADDS
    groups = [column.label(name) for name, column in keys.items()]
    partition = list(keys.values())
    ranked = (sa.select(*groups, a.c.latency_ms.label("ms"),
                        sa.func.row_number().over(partition_by=partition,
                                                  order_by=a.c.latency_ms).label("rank"),
                        sa.func.count().over(partition_by=partition).label("n"))
              .select_from(a.join(CODES, a.c.code_id == CODES.c.id))
              .where(a.c.latency_ms.is_not(None), *_within(a.c.at, lo, hi), *where)
              .subquery("ranked"))

    def percentile(p: int) -> sa.ColumnElement:
        return sa.func.min(sa.case((ranked.c["rank"] * 100 >= p * ranked.c.n, ranked.c.ms)))

    by = [ranked.c[name] for name in keys]
    return _read(ws, sa.select(*by, percentile(50).label("welcome_p50_ms"),
                               percentile(99).label("welcome_p99_ms")).group_by(*by))


def _arrivals(ws: Workspace, keys: dict[str, sa.ColumnElement], lo: datetime | None,
              hi: datetime | None, where: tuple = ()) -> pd.DataFrame:
    """Add callbacks through live codes per group. A callback belongs to the code that had
    its ``state`` when it arrived: codes sharing a state (a deleted code's custom state
    reused) each own the callbacks from their creation to the next one's."""
    e, dialect = EVENTS, ws.engine.dialect.name
    state = e.c.payload["state"].as_string()
    added = (sa.select(e.c.occurred_at, state.label("state"))
             .where(e.c.kind == ADDED, state.like(f"{PREFIX}%"),
                    *_within(e.c.occurred_at, lo, hi)).subquery("added_events"))
    window = {"partition_by": CODES.c.state, "order_by": CODES.c.id}
    spans = sa.select(CODES.c.id, CODES.c.state, CODES.c.created_at,
                      sa.func.lag(CODES.c.id).over(**window).label("previous"),
                      sa.func.lead(CODES.c.created_at, type_=CODES.c.created_at.type)
                      .over(**window).label("next_created")).subquery("spans")
    owned = sa.and_(
        spans.c.state == added.c.state,
        sa.or_(spans.c.previous.is_(None),
               _lasted(dialect, added.c.occurred_at, spans.c.created_at, -STAMP_S)),
        sa.or_(spans.c.next_created.is_(None),
               sa.not_(_lasted(dialect, added.c.occurred_at, spans.c.next_created,
                               -STAMP_S))))
    groups = [column.label(name) for name, column in keys.items()]
    query = (sa.select(*groups, sa.func.count().label("arrivals"))
             .select_from(added.join(spans, owned)
                          .join(CODES, CODES.c.id == spans.c.id))
             .where(*where).group_by(*keys.values()))
    return _read(ws, query)


def _read(ws: Workspace, query: sa.Select) -> pd.DataFrame:
    with ws.engine.connect() as conn:
        result = conn.execute(query)
        return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def _measured(ws: Workspace, base: pd.DataFrame, keys: dict[str, sa.ColumnElement],
              lo: datetime | None, hi: datetime | None, where: tuple = ()) -> pd.DataFrame:
    """``base`` (one row per group) with every measure of the module notes."""
    names = list(keys)
    frame = (base.merge(_arrivals(ws, keys, lo, hi, where), on=names, how="left")
             .merge(_counts(ws, _cohort(keys, lo, hi, where), names), on=names, how="left")
             .merge(_latency(ws, keys, lo, hi, where), on=names, how="left"))
    for column in [*COUNTS, *[f"{k}_{n}d" for k in ("eligible", "kept")
                              for n in RETENTION_DAYS]]:
        frame[column] = frame[column].fillna(0).astype("int64")
    frame["net_growth"] = frame["adds"] - frame["removals"]
    for n in RETENTION_DAYS:
        frame[f"retention_{n}d"] = _share(frame[f"kept_{n}d"], frame[f"eligible_{n}d"])
    frame["conversion"] = _share(frame["converted"], frame["adds"])
    for column in ("welcome_p50_ms", "welcome_p99_ms"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    return frame


def _share(part: pd.Series, whole: pd.Series) -> pd.Series:
    return (part / whole.where(whole > 0)).astype("float64")


# -- reports -------------------------------------------------------------------------------

def code_report(ws: Workspace, code: int | str | None = None, *, since: Any = None,
                until: Any = None) -> pd.DataFrame:
    """One row per live code (deleted ones included): what it brought in over the period.

    Retention at N days counts only the customers whose add is at least N days old, and is
    NaN while none is; removals, retention and conversion follow each add up to now (see
    the module notes for every measure).

    :param code: one code (id or ``lc:`` state); default every code.
    :param since: first local day counted (default: from the first arrival).
    :param until: first local day *not* counted (default: up to now).
    :return: columns ``code_id, code, state, channel, store, status`` and the measures
        ``arrivals, adds, new_contacts, removals, net_growth, retention_1d, retention_7d,
        retention_30d, converted, conversion, welcome_p50_ms, welcome_p99_ms``; in code order.
    :raises NotFound: an unknown code.
    :raises ValidationError: an unreadable date, or ``since`` not before ``until``.
    """
    ws.principal.require("data.read")
    lo, hi = period_bounds(ws, since, until)
    where = (CODES.c.id == _code_id(ws, code),) if code is not None else ()
    store = Store.__table__
    base = _read(ws, sa.select(CODES.c.id.label("code_id"), CODES.c.name.label("code"),
                               CODES.c.state, CODES.c.channel, store.c.code.label("store"),
                               CODES.c.status)
                 .select_from(CODES.outerjoin(store, store.c.id == CODES.c.store_id))
                 .where(*where).order_by(CODES.c.id))
    base["store"] = base["store"].fillna("")
    frame = _measured(ws, base, {"code_id": CODES.c.id}, lo, hi, where)
    return frame[CODE_COLUMNS]


def channel_report(ws: Workspace, channel: str | None = None, *, since: Any = None,
                   until: Any = None) -> pd.DataFrame:
    """The measures of :func:`code_report` per channel (a code's ``channel``; ``""`` for
    codes without one), biggest by adds first.

    Retention at N days counts only adds at least N days old (NaN while none is).

    :param channel: one channel; default every channel that has a code.
    :return: columns ``channel, codes`` (how many codes) and the measures.
    :raises NotFound: no code has ``channel``.
    :raises ValidationError: an unreadable date, or ``since`` not before ``until``.
    """
    ws.principal.require("data.read")
    lo, hi = period_bounds(ws, since, until)
    where = (CODES.c.channel == channel,) if channel is not None else ()
    base = _read(ws, sa.select(CODES.c.channel, sa.func.count().label("codes"))
                 .where(*where).group_by(CODES.c.channel))
    if channel is not None and base.empty:
        raise NotFound(f"no live code has channel {channel!r}; see the channel column of "
                       "list_codes(ws)")
    frame = _measured(ws, base, {"channel": CODES.c.channel}, lo, hi, where)
    frame["codes"] = frame["codes"].astype("int64")
    frame = frame.sort_values(["adds", "channel"], ascending=[False, True], kind="stable")
    return frame[CHANNEL_COLUMNS].reset_index(drop=True)


def staff_load(ws: Workspace, code: int | str | None = None, *, since: Any = None,
               until: Any = None) -> pd.DataFrame:
    """Each staff member's load per code: today's adds against the daily cap, and the adds
    and removals of the period.

    Rows are the members and backup staff of codes not deleted, plus anyone who received
    adds through a code in the period or today (``role`` ``member``, ``backup`` or
    ``former``).
    ``adds_today`` is the count routing reads (local day in the workspace timezone),
    whatever the period; ``daily_cap`` is the member's own cap or the code's, and
    ``cap_use`` today's adds over it (NaN without a cap).

    :param code: one code (id or ``lc:`` state); default every code.
    :return: columns ``userid, staff, code_id, code, role, adds_today, daily_cap, cap_use,
        adds, removals, net_growth``; by staff member, then code.
    :raises NotFound: an unknown code.
    :raises ValidationError: an unreadable date, or ``since`` not before ``until``.
    """
    ws.principal.require("data.read")
    lo, hi = period_bounds(ws, since, until)
    where = (CODES.c.id == _code_id(ws, code),) if code is not None else ()
    today = local_now(ws).date().isoformat()
    codes = _read(ws, sa.select(CODES.c.id.label("code_id"), CODES.c.name.label("code"),
                                CODES.c.status, CODES.c.daily_cap.label("code_cap"),
                                CODES.c.backup).where(*where))
    members = _read(ws, sa.select(MEMBERS.c.code_id, MEMBERS.c.userid,
                                  MEMBERS.c.daily_cap.label("member_cap"))
                    .where(MEMBERS.c.code_id.in_(codes["code_id"].tolist())))
    members["role"] = "member"
    backup = pd.DataFrame([(c, u, "backup") for c, users in zip(
        codes["code_id"], codes["backup"], strict=True) for u in (users or [])],
        columns=["code_id", "userid", "role"])
    listed = pd.concat([members, backup], ignore_index=True).drop_duplicates(
        ["code_id", "userid"])
    live = codes.loc[codes["status"] != "deleted", "code_id"]
    listed = listed[listed["code_id"].isin(live)]
    keys = {"code_id": CODES.c.id, "userid": ADDS.c.userid}
    cohort = _cohort(keys, lo, hi, where)
    period = _read(ws, sa.select(cohort.c.code_id, cohort.c.userid,
                                 sa.func.count().label("adds"),
                                 sa.func.count(cohort.c.ended).label("removals"))
                   .group_by(cohort.c.code_id, cohort.c.userid))
    day = _read(ws, sa.select(DAYS.c.code_id, DAYS.c.userid, DAYS.c.adds.label("adds_today"))
                .where(DAYS.c.day == today, DAYS.c.code_id.in_(codes["code_id"].tolist())))
    frame = (listed.merge(period, on=["code_id", "userid"], how="outer")
             .merge(day, on=["code_id", "userid"], how="outer"))
    frame["role"] = frame["role"].fillna("former")
    for column in ("adds", "removals", "adds_today"):
        frame[column] = frame[column].fillna(0).astype("int64")
    frame = frame.merge(codes[["code_id", "code", "code_cap"]], on="code_id", how="left")
    cap = frame["member_cap"].where(frame["member_cap"].notna(), frame["code_cap"])
    frame["daily_cap"] = cap.where(frame["role"] == "member").astype("Int64")
    frame["cap_use"] = _share(frame["adds_today"], frame["daily_cap"].astype("float64"))
    frame["net_growth"] = frame["adds"] - frame["removals"]
    names = dict(_read(ws, sa.select(Staff.userid, Staff.name)).itertuples(index=False))
    frame["staff"] = frame["userid"].map(names).fillna("")
    frame = frame.sort_values(["userid", "code_id"], kind="stable")
    return frame[STAFF_COLUMNS].reset_index(drop=True)


#: The reports by what they group by.
REPORTS = {"code": code_report, "channel": channel_report, "staff": staff_load}


def report(ws: Workspace, by: str = "code", *, since: Any = None,
           until: Any = None) -> pd.DataFrame:
    """The report grouped ``by`` ``"code"`` (:func:`code_report`), ``"channel"``
    (:func:`channel_report`) or ``"staff"`` (:func:`staff_load`), over every code.

    :raises ValidationError: an unknown ``by``, an unreadable date, or ``since`` not
        before ``until``.
    """
    if by not in REPORTS:
        raise ValidationError(f"cannot report by {by!r}; use one of {', '.join(REPORTS)}")
    return REPORTS[by](ws, since=since, until=until)


# -- output --------------------------------------------------------------------------------

def report_text(frame: pd.DataFrame) -> str:
    """A report as a plain-text table aligned for a terminal (Chinese names take two
    columns): shares as percentages, ``-`` where a measure has no value (a retention no
    add is old enough for, no welcome sent)."""
    if frame.empty:
        return "no live codes"
    shown = frame.copy()
    for column in shown.columns:
        values = shown[column]
        if column in RATE_COLUMNS:
            shown[column] = values.map(lambda v: "-" if pd.isna(v) else f"{v:.1%}")
        elif column.endswith("_ms") or column == "daily_cap":
            shown[column] = values.map(lambda v: "-" if pd.isna(v) else f"{int(v)}")
        elif values.dtype == object:
            shown[column] = values.map(_cell)
    with pd.option_context("display.unicode.east_asian_width", True):
        return shown.to_string(index=False)


def _cell(value: Any) -> str:
    missing = value is None or value == "" or (not isinstance(value, str) and pd.isna(value))
    return "-" if missing else str(value)


def report_csv(frame: pd.DataFrame) -> bytes:
    """A report as CSV bytes (UTF-8 with a BOM, so Excel shows Chinese names); shares stay
    fractions and missing values stay empty."""
    return frame.to_csv(index=False).encode("utf-8-sig")


def save_csv(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a report to the CSV file ``path`` (as :func:`report_csv`); returns the path.

    :raises SiyuError: the file cannot be written (no such folder, no permission).
    """
    target = Path(path)
    try:
        target.write_bytes(report_csv(frame))
    except OSError as exc:
        raise SiyuError(f"cannot write the report to {str(target)!r}: {exc.strerror}; "
                        "choose a file in a folder you can write to") from exc
    return target
