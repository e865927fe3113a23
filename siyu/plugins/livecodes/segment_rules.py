"""The ``livecode`` segment rule: contacts who arrived through chosen live codes."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from siyu.core.i18n import translator
from siyu.core.records import SegmentParam, SegmentRule
from siyu.core.segments import evaluation_time
from siyu.plugins.livecodes.models import LiveCode, LiveCodeAdd
from siyu.storage.models import Contact

_ = translator("siyu.plugins.livecodes")


def code_names(ws) -> list[str]:
    """Every live code's name, for the rule's menu."""
    with ws.engine.connect() as conn:
        return list(conn.execute(sa.select(LiveCode.name).distinct()
                                 .order_by(LiveCode.name)).scalars())


RULE = SegmentRule(
    "livecode", _.lazy("Live code"),
    (SegmentParam("codes", "list", _.lazy("live code"), required=True,
                  choices_from=code_names, strict=True),
     SegmentParam("within_days", "int", _.lazy("in the last N days"), minimum=1)),
    family="journey", description=_.lazy("Arrived through one of these live codes"))


def compile_rule(params: dict) -> sa.ColumnElement[bool]:
    """``contact.id IN (contacts added through the codes [in the window])``."""
    adds = (sa.select(LiveCodeAdd.contact_id)
            .join(LiveCode, LiveCode.id == LiveCodeAdd.code_id)
            .where(LiveCode.name.in_(params["codes"]), LiveCodeAdd.contact_id.is_not(None)))
    if params.get("within_days"):
        adds = adds.where(LiveCodeAdd.at >= evaluation_time()
                          - timedelta(days=params["within_days"]))
    return Contact.__table__.c.id.in_(adds)
