"""Checking live codes against WeCom, and what the console warns about.

A code deleted in WeCom (by another app or tool using the API, or a clean-up script) is
still printed on posters, but its QR code adds nobody any more: WeCom answers 41044 for its
``config_id``. :func:`check_codes` asks WeCom for every active or paused code with
``get_contact_way``, paced well inside WeCom's per-API limit, and marks each missing one with a
plain warning in ``live_code.last_error`` and one ``livecode.missing`` event. It runs daily
(the ``livecodes.check`` job), from ``siyu livecode check`` and from a notebook.

Before that, a change of a code whose outcome was never recorded (WeCom's answer was lost, or
the process stopped between recording the change and storing WeCom's answer) is settled by
asking WeCom what it has (see :mod:`siyu.plugins.livecodes.changes`); the daily job does the
same for group codes.

A customer who arrives with an ``lc:`` state no code here has (its 「联系我」 code was made in
another tool or workspace) is stored and kept with the member WeCom gave them,
and recorded as an arrival without a code; :func:`problems` lists those states next to the
codes with a problem, for the Live codes page and the CLI.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import sqlalchemy as sa

from siyu.core.errors import ValidationError
from siyu.core.i18n import translator, use_language
from siyu.core.importing.progress import progress_bar
from siyu.plugins.livecodes import groups
from siyu.plugins.livecodes.changes import in_flight
from siyu.plugins.livecodes.engine import ADDS, CHANGES, CODES
from siyu.plugins.wecom.errors import WeComError
from siyu.plugins.wecom.service import wecom
from siyu.storage.types import utcnow

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from siyu.core.workspace import Workspace

_ = translator("siyu.plugins.livecodes")

#: WeCom allows 10,000 calls of one API per corp per minute (reference §1.4); the check
#: uses at most half of that, leaving room for anything else calling get_contact_way.
WECOM_PER_MINUTE = 10_000
DEFAULT_PER_MINUTE = 5_000
#: errcode of get_contact_way for a config_id WeCom does not know (any more).
UNKNOWN_CONFIG_ID = 41044
#: errcodes that mean "stop calling for now": the rate limit and the concurrency limit.
RATE_LIMITED = (45009, 45033)
#: How every missing-code warning starts, so a later check can tell its own warnings.
MISSING = "deleted in WeCom"
#: Unknown states the console lists at most (the most recent first).
MAX_UNKNOWN_STATES = 10
#: A pending change of a code, as :func:`problems` names it.
CHANGE_NAMES = {"create": _.lazy("creation"), "update": _.lazy("update"),
                "pause": _.lazy("pause"), "resume": _.lazy("resume"),
                "relist": _.lazy("relist"), "rotate": _.lazy("rotation"),
                "delete": _.lazy("deletion")}


@dataclass
class CheckReport:
    """What :func:`check_codes` found.

    :ivar checked: codes WeCom answered for (present or missing).
    :ivar missing: ``"name (state)"`` of each code WeCom no longer has.
    :ivar failed: ``"name (state): reason"`` of each code that could not be checked.
    :ivar skipped: codes not checked because WeCom asked to slow down.
    :ivar settled: ``"name (state): done|dropped"`` of each earlier change settled with WeCom.
    """

    checked: int = 0
    missing: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    skipped: int = 0
    settled: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether every code was checked and found in WeCom."""
        return not (self.missing or self.failed or self.skipped)

    def summary(self) -> str:
        """One line for the CLI, the job log and the console."""
        text = f"{self.checked} live codes checked in WeCom"
        if self.missing:
            text += (f"; {len(self.missing)} deleted in WeCom (their QR codes add nobody): "
                     + ", ".join(self.missing))
        else:
            text += "; none missing"
        if self.failed:
            text += f"; {len(self.failed)} could not be checked: " + "; ".join(self.failed)
        if self.skipped:
            text += f"; {self.skipped} left for the next check (WeCom asked to slow down)"
        if self.settled:
            text += (f"; {len(self.settled)} unconfirmed changes settled with WeCom: "
                     + ", ".join(self.settled))
        return text


def missing_warning(config_id: str) -> str:
    """The plain warning stored on a code WeCom no longer has (in English, as stored data
    is; :func:`problems` shows it in the reader's language)."""
    with use_language("en"):
        return missing_text(config_id)


def missing_text(config_id: str) -> str:
    """:func:`missing_warning` in the current language (it starts with :data:`MISSING` in
    English)."""
    return _("deleted in WeCom: WeCom no longer has this code's 「联系我」 (config_id "
             "{config_id}, errcode {errcode}), so its QR code adds nobody and posters showing "
             "it no longer work. Create a new live code, replace the printed QR codes, then "
             "delete this one", config_id=config_id, errcode=UNKNOWN_CONFIG_ID)


def check_codes(ws: Workspace, *, per_minute: int = DEFAULT_PER_MINUTE,
                progress: bool | None = None) -> CheckReport:
    """Ask WeCom for every active or paused code and mark the ones it no longer has.

    A missing code gets :func:`missing_warning` in ``last_error`` and one
    ``livecode.missing`` event (once per code, however often the check runs); a code found
    again loses that warning. Other errors are reported, not stored: the code may be fine.
    When WeCom asks to slow down (45009 / 45033) the check stops; the rest is checked next
    time.

    :param per_minute: ``get_contact_way`` calls per minute at most (1 to 10,000).
    :param progress: show a progress bar (default: when on a terminal).
    :return: what was checked and found.
    :raises ValidationError: ``per_minute`` outside 1 to 10,000.
    :raises SiyuError: WeCom is not configured.
    """
    ws.principal.require("data.write")
    if not 1 <= per_minute <= WECOM_PER_MINUTE:
        raise ValidationError(f"per_minute {per_minute} must be between 1 and "
                              f"{WECOM_PER_MINUTE:,} (WeCom's limit per API per minute)")
    client = wecom(ws).client
    settled = CHANGES.reconcile_all(ws)  # before reading: a settled create gains its config_id
    with ws.engine.connect() as conn:
        codes = conn.execute(sa.select(CODES.c.id, CODES.c.name, CODES.c.state,
                                       CODES.c.config_id, CODES.c.last_error)
                             .where(CODES.c.status.in_(("active", "paused")),
                                    CODES.c.config_id != "")
                             .order_by(CODES.c.id)).all()
    report = CheckReport(settled=settled)
    interval = 60.0 / per_minute
    next_call = time.monotonic()
    with progress_bar(len(codes), "codes", progress) as bar:
        for position, code in enumerate(codes):
            time.sleep(max(0.0, next_call - time.monotonic()))
            next_call = time.monotonic() + interval
            label = f"{code.name} ({code.state})"
            try:
                client.get_contact_way(code.config_id)
            except WeComError as exc:
                if exc.errcode == UNKNOWN_CONFIG_ID:
                    report.checked += 1
                    report.missing.append(label)
                    _mark_missing(ws, code)
                elif exc.errcode in RATE_LIMITED:
                    report.failed.append(f"{label}: {exc}")
                    report.skipped = len(codes) - position - 1
                    break
                else:
                    report.failed.append(f"{label}: {exc}")
            else:
                report.checked += 1
                if code.last_error.startswith(MISSING):
                    _set_error(ws, code.id, "")
            bar.update(1)
    ws.audit("livecode.check", f"{report.checked} codes",
             {"missing": report.missing, "failed": len(report.failed),
              "skipped": report.skipped})
    return report


def _set_error(ws: Workspace, code_id: int, text: str) -> None:
    with ws.engine.begin() as conn:
        conn.execute(CODES.update().where(CODES.c.id == code_id)
                     .values(last_error=text[:1000], updated_at=utcnow()))


def _mark_missing(ws: Workspace, code) -> None:
    _set_error(ws, code.id, missing_warning(code.config_id))
    ws.events.record("livecode.missing", dedupe_key=f"livecode.missing:{code.id}:"
                                                    f"{code.config_id}",
                     source="livecodes", payload={"code_id": code.id, "name": code.name,
                                                  "state": code.state,
                                                  "config_id": code.config_id})


def unknown_states(ws: Workspace) -> pd.DataFrame:
    """Arrivals whose ``lc:`` state no code has, per state, most recent first: ``state``,
    ``arrivals``, ``first_at``, ``last_at`` and ``staff`` (who WeCom gave them to)."""
    import pandas as pd  # here: the CLI imports this module for its constants alone

    ws.principal.require("data.read")
    with ws.engine.connect() as conn:
        rows = conn.execute(sa.select(ADDS.c.state, ADDS.c.userid, ADDS.c.at)
                            .where(ADDS.c.code_id.is_(None))).all()
    frame = pd.DataFrame(rows, columns=["state", "userid", "at"])
    if frame.empty:
        return pd.DataFrame(columns=["state", "arrivals", "first_at", "last_at", "staff"])
    grouped = frame.groupby("state").agg(
        arrivals=("userid", "size"), first_at=("at", "min"), last_at=("at", "max"),
        staff=("userid", lambda s: sorted({u for u in s if u})))
    return grouped.reset_index().sort_values("last_at", ascending=False,
                                             ignore_index=True)


def problems(ws: Workspace) -> list[str]:
    """Plain sentences about what needs an operator: every code (not deleted here) with a
    problem, then the unknown states customers arrived with (the ten most recent).

    :return: an empty list when all is well.
    """
    ws.principal.require("data.read")
    with ws.engine.connect() as conn:
        codes = conn.execute(sa.select(CODES.c.name, CODES.c.state, CODES.c.config_id,
                                       CODES.c.last_error)
                             .where(CODES.c.status != "deleted", CODES.c.last_error != "")
                             .order_by(CODES.c.id)).all()
        pending = conn.execute(sa.select(CODES).where(CODES.c.pending != "",
                                                      CODES.c.last_error == "")
                               .order_by(CODES.c.id)).all()
    lines = [_("{name} ({state}): {problem}", name=c.name, state=c.state,
               problem=(missing_text(c.config_id) if c.last_error.startswith(MISSING)
                        else c.last_error)) for c in codes]
    lines += [_("{name} ({state}): the {change} asked by {by} at {at} UTC was never confirmed "
                "(siyu stopped while calling WeCom); siyu asks WeCom what it has at the "
                "code's next change or the daily check", name=c.name, state=c.state,
                change=str(CHANGE_NAMES.get(c.pending, c.pending)),
                by=c.pending_by or "siyu", at=c.pending_at.strftime("%Y-%m-%d %H:%M"))
              for c in pending if c.pending_at and not in_flight(c)]
    import pandas as pd

    states = unknown_states(ws)
    for row in states.head(MAX_UNKNOWN_STATES).itertuples():
        last = pd.Timestamp(row.last_at)
        last = (last.tz_localize("UTC") if last.tzinfo is None else last).tz_convert(
            ws.timezone)
        lines.append(_.ngettext(
            "{n} customer arrived with state {state!r}, which no live code here has (last "
            "{last}). They are stored and kept with the member WeCom gave them ({staff}), "
            "without a live-code welcome or tags. Its 「联系我」 code was made in another "
            "tool or workspace: stop using it, or create a live code here with this state so "
            "its customers are welcomed and tagged",
            "{n} customers arrived with state {state!r}, which no live code here has (last "
            "{last}). They are stored and kept with the member WeCom gave them ({staff}), "
            "without a live-code welcome or tags. Its 「联系我」 code was made in another "
            "tool or workspace: stop using it, or create a live code here with this state so "
            "its customers are welcomed and tagged", int(row.arrivals), state=row.state,
            last=last.strftime("%Y-%m-%d %H:%M"), staff=", ".join(row.staff) or _("unknown")))
    if len(states) > MAX_UNKNOWN_STATES:
        lines.append(_("… and {n} more unknown states (see unknown_states(ws))",
                       n=len(states) - MAX_UNKNOWN_STATES))
    return lines


def run_check_job(ws: Workspace) -> str:
    """Scheduled daily: :func:`check_codes`, and unconfirmed changes of group codes settled
    with WeCom; skipped quietly while WeCom is not configured."""
    if not wecom(ws).config.api_ready:
        return "WeCom not configured; skipped"
    summary = check_codes(ws, progress=False).summary()
    settled = groups.CHANGES.reconcile_all(ws)
    if settled:
        summary += (f"; {len(settled)} unconfirmed group-code changes settled with WeCom: "
                    + ", ".join(settled))
    return summary
