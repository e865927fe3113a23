"""What a campaign achieved, per variant: reach, conversions, revenue, lift and significance.

A recipient *converts* when they pay an order within the campaign's ``conversion_days``
after their message was sent (the holdout: after the launch). Variants are compared with a
two-proportion z-test on conversion (``statsmodels``' ``proportions_ztest``, pooled
variance) and a Wald confidence interval of the difference
(``confint_proportions_2indep``): each variant against the first one, and the lift of each
against the holdout.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa

from siyu.storage.models import PAID_STATUSES, Campaign, Delivery, Order

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from siyu.core.workspace import Workspace

D = Delivery.__table__
O = Order.__table__  # noqa: E741
#: The columns of :func:`results`, in order.
COLUMNS = ("variant", "targeted", "skipped", "blocked", "failed", "in_flight",
           "awaiting_confirmation", "sent", "conversions", "conversion_rate", "revenue_fen",
           "lift", "p_value", "diff_ci_low", "diff_ci_high", "compared_with")


def compare(x1: int, n1: int, x2: int, n2: int, *, alpha: float = 0.05) -> dict[str, float]:
    """Two-proportion z-test of ``x1/n1`` against ``x2/n2``.

    :return: ``{"z", "p_value", "diff", "ci_low", "ci_high"}`` (``diff`` = p1 − p2, its
        ``1 − alpha`` Wald interval); NaN where a group is empty or both rates are 0 or 1.
    """
    from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

    nan = float("nan")
    if not n1 or not n2:
        return {"z": nan, "p_value": nan, "diff": nan, "ci_low": nan, "ci_high": nan}
    diff = x1 / n1 - x2 / n2
    if x1 + x2 in (0, n1 + n2):
        return {"z": nan, "p_value": nan, "diff": diff, "ci_low": nan, "ci_high": nan}
    z, p = proportions_ztest([x1, x2], [n1, n2])
    low, high = confint_proportions_2indep(x1, n1, x2, n2, method="wald", compare="diff",
                                           alpha=alpha)
    return {"z": float(z), "p_value": float(p), "diff": diff, "ci_low": float(low),
            "ci_high": float(high)}


def deliveries_frame(ws: Workspace, campaign: Campaign) -> pd.DataFrame:
    """The campaign's deliveries with each recipient's conversion and revenue."""
    import pandas as pd

    with ws.engine.connect() as conn:
        frame = pd.DataFrame(conn.execute(sa.select(
            D.c.id, D.c.contact_id, D.c.variant, D.c.status, D.c.sent_at)
            .where(D.c.campaign_id == campaign.id)).all(),
            columns=["id", "contact_id", "variant", "status", "sent_at"])
        orders = pd.DataFrame()
        if campaign.launched_at is not None and not frame.empty:
            members = sa.select(D.c.contact_id).where(D.c.campaign_id == campaign.id,
                                                      D.c.contact_id.is_not(None))
            orders = pd.DataFrame(conn.execute(sa.select(
                O.c.contact_id, O.c.paid_at, (O.c.amount_fen - O.c.refunded_fen))
                .where(O.c.contact_id.in_(members), O.c.status.in_(PAID_STATUSES),
                       O.c.paid_at >= campaign.launched_at)).all(),
                columns=["contact_id", "paid_at", "revenue_fen"])
    frame["conversions"] = 0
    frame["revenue_fen"] = 0
    if frame.empty or orders.empty:
        return frame
    frame["sent_at"] = pd.to_datetime(frame["sent_at"], utc=True)
    orders["paid_at"] = pd.to_datetime(orders["paid_at"], utc=True)
    start = frame["sent_at"].where(frame["variant"] != "holdout",
                                   pd.Timestamp(campaign.launched_at))
    counted = frame.assign(start=start)[["id", "contact_id", "start"]].dropna()
    merged = counted.merge(orders, on="contact_id")
    merged = merged[(merged["paid_at"] >= merged["start"]) & (
        merged["paid_at"] < merged["start"] + timedelta(days=campaign.conversion_days))]
    per = merged.groupby("id").agg(n=("paid_at", "size"), revenue=("revenue_fen", "sum"))
    frame = frame.set_index("id")
    frame.loc[per.index, "conversions"] = 1
    frame.loc[per.index, "revenue_fen"] = per["revenue"].astype("int64")
    return frame.reset_index()


def results(ws: Workspace, campaign: Campaign) -> pd.DataFrame:
    """One row per variant (``""`` without variants, ``holdout`` for the control group):
    the :data:`COLUMNS`. Conversions count among ``sent`` (the holdout: all of it)."""
    import pandas as pd

    frame = deliveries_frame(ws, campaign)
    names = [v["name"] for v in campaign.variants or []] or [""]
    if (frame["variant"] == "holdout").any():
        names.append("holdout")
    rows = []
    for name in names:
        part = frame[frame["variant"] == name]
        statuses = part["status"].value_counts()
        holdout = name == "holdout"
        reached = part if holdout else part[part["status"] == "sent"]
        conversions = int(reached["conversions"].sum())
        base = len(reached)
        rows.append({"variant": name, "targeted": len(part),
                     "skipped": 0 if holdout else int(statuses.get("skipped", 0)),
                     "blocked": int(statuses.get("blocked", 0)),
                     "failed": int(statuses.get("failed", 0)),
                     "in_flight": int(statuses.get("queued", 0) + statuses.get("sending", 0)),
                     "awaiting_confirmation": int(statuses.get("pending", 0)),
                     "sent": 0 if holdout else int(statuses.get("sent", 0)),
                     "conversions": conversions,
                     "conversion_rate": conversions / base if base else float("nan"),
                     "revenue_fen": int(reached["revenue_fen"].sum()),
                     "_n": base})
    first = rows[0]
    hold = rows[-1] if rows[-1]["variant"] == "holdout" else None
    for row in rows:
        row.update(lift=float("nan"), p_value=float("nan"), diff_ci_low=float("nan"),
                   diff_ci_high=float("nan"), compared_with="")
        if row["variant"] == "holdout":
            continue
        if hold is not None and hold["_n"] and row["_n"]:
            rate_h = hold["conversions"] / hold["_n"]
            row["lift"] = (row["conversion_rate"] - rate_h) / rate_h if rate_h else float("nan")
        other = first if row is not first else hold
        if other is None or other is row:
            continue
        test = compare(row["conversions"], row["_n"], other["conversions"], other["_n"])
        row.update(p_value=test["p_value"], diff_ci_low=test["ci_low"],
                   diff_ci_high=test["ci_high"], compared_with=other["variant"] or "")
    return pd.DataFrame([{k: r[k] for k in COLUMNS} for r in rows], columns=list(COLUMNS))
