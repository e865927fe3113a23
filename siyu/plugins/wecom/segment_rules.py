"""The ``group`` segment rule: customers in chosen WeCom customer groups (客户群)."""

from __future__ import annotations

import sqlalchemy as sa

from siyu.core.i18n import translator
from siyu.core.records import SegmentParam, SegmentRule
from siyu.plugins.wecom.models import WeComGroupChat, WeComGroupMember
from siyu.storage.models import Contact

_ = translator("siyu.plugins.wecom")

#: ``wecom_group_member.type`` of a customer (1 is a staff member).
CUSTOMER = 2


def group_names(ws) -> list[str]:
    """The names of the groups that are not dismissed, for the rule's menu."""
    with ws.engine.connect() as conn:
        return list(conn.execute(sa.select(WeComGroupChat.name).distinct()
                                 .where(WeComGroupChat.dismissed_at.is_(None),
                                        WeComGroupChat.name != "")
                                 .order_by(WeComGroupChat.name)).scalars())


RULE = SegmentRule(
    "group", _.lazy("Customer group"),
    (SegmentParam("groups", "list", _.lazy("customer group"), required=True,
                  choices_from=group_names, strict=True),
     SegmentParam("still_in", "bool", _.lazy("still in the group"), default=True)),
    family="membership", description=_.lazy("A customer in one of these WeCom customer groups"))


def compile_rule(params: dict) -> sa.ColumnElement[bool]:
    """``contact.id IN (customers of the named groups [who have not left])``."""
    m = WeComGroupMember
    members = (sa.select(m.contact_id)
               .join(WeComGroupChat, WeComGroupChat.chat_id == m.chat_id)
               .where(WeComGroupChat.name.in_(params["groups"]), m.type == CUSTOMER,
                      m.contact_id.is_not(None)))
    if params.get("still_in", True):
        members = members.where(m.left_at.is_(None))
    return Contact.__table__.c.id.in_(members)
