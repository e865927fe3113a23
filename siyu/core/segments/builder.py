"""``S``: a small builder for segment specs in notebooks.

``S.tag("客户等级/VIP") & S.orders(min_count=2, within_days=90) & ~S.orders(within_days=30)``
is the spec ``{"all": [{"tag": ...}, {"orders": ...}, {"not": {"orders": ...}}]}``; ``|``
makes ``any``. Every method only builds the dict: the workspace checks it when it is used.
"""

from __future__ import annotations

import json
from typing import Any

from siyu.core.segments.spec import SpecLike


class Spec(SpecLike):
    """A spec node; combine with ``&`` (all), ``|`` (any) and ``~`` (not)."""

    def __init__(self, node: dict[str, Any]):
        self.node = node

    def to_dict(self) -> dict[str, Any]:
        """The plain spec dict (JSON-able)."""
        return self.node

    def _combine(self, op: str, other: Any) -> Spec:
        other = other.to_dict() if isinstance(other, SpecLike) else other
        left = self.node[op] if set(self.node) == {op} else [self.node]
        right = other[op] if isinstance(other, dict) and set(other) == {op} else [other]
        return Spec({op: [*left, *right]})

    def __and__(self, other: Any) -> Spec:
        return self._combine("all", other)

    def __or__(self, other: Any) -> Spec:
        return self._combine("any", other)

    def __invert__(self) -> Spec:
        if set(self.node) == {"not"}:
            return Spec(self.node["not"])
        return Spec({"not": self.node})

    def __eq__(self, other: Any) -> bool:
        other = other.to_dict() if isinstance(other, SpecLike) else other
        return self.node == other

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Spec({json.dumps(self.node, ensure_ascii=False, default=str)})"


def _clean(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if v is not None}


def _many(values: tuple[Any, ...]) -> list[Any]:
    out: list[Any] = []
    for value in values:
        out.extend(value if isinstance(value, list | tuple) else [value])
    return out


class S:
    """Spec builders, one per built-in rule, plus :meth:`rule` for any plugin's."""

    @staticmethod
    def rule(rule_name: str, /, **params: Any) -> Spec:
        """Any rule by name: ``S.rule("livecode", codes=["store-1"])``."""
        return Spec({rule_name: _clean(params)})

    @staticmethod
    def tag(*tags: str, match: str = "any", group: str | None = None) -> Spec:
        """Carries any (``match="all"``: every, ``"none"``: none) of ``"group/tag"`` names,
        or any tag of ``group``."""
        return S.rule("tag", tags=_many(tags) or None, match=match, group=group)

    @staticmethod
    def owner(*staff: str) -> Spec:
        """Owned by one of these staff userids."""
        return S.rule("owner", staff=_many(staff))

    @staticmethod
    def store(*stores: str) -> Spec:
        """Belongs to one of these store codes."""
        return S.rule("store", stores=_many(stores))

    @staticmethod
    def region(*regions: str) -> Spec:
        """Belongs to a store in one of these regions."""
        return S.rule("region", regions=_many(regions))

    @staticmethod
    def channel(*channels: str) -> Spec:
        """Came from one of these source channels."""
        return S.rule("channel", channels=_many(channels))

    @staticmethod
    def city(*cities: str) -> Spec:
        """Lives in one of these cities."""
        return S.rule("city", cities=_many(cities))

    @staticmethod
    def gender(gender: str) -> Spec:
        """``"male"``, ``"female"`` or ``"unknown"``."""
        return S.rule("gender", gender=gender)

    @staticmethod
    def added(since: Any = None, until: Any = None, within_days: int | None = None) -> Spec:
        """Added in a period (dates in the workspace timezone) or the last N days."""
        return S.rule("added", since=since, until=until, within_days=within_days)

    @staticmethod
    def friend(is_friend: bool = True) -> Spec:
        """Still a friend of some staff member (``False``: removed)."""
        return S.rule("friend", is_friend=is_friend)

    @staticmethod
    def event(kind: str, *, min_count: int | None = None, within_days: int | None = None,
              since: Any = None, until: Any = None) -> Spec:
        """Did an event of ``kind`` (``*`` matches any text: ``"livecode.*"``) at least
        ``min_count`` times in the window. ``~S.event(...)``: did not."""
        return S.rule("event", kind=kind, min_count=min_count, within_days=within_days,
                      since=since, until=until)

    @staticmethod
    def orders(**params: Any) -> Spec:
        """Paid orders: ``min_count``, ``max_count``, ``min_total_fen``, ``max_total_fen``,
        ``min_avg_fen``, ``max_avg_fen`` within ``within_days`` or ``since``/``until``;
        ``first_order_since``/``_until``, ``last_order_since``/``_until``. No parameter:
        ordered at least once."""
        return S.rule("orders", **params)

    @staticmethod
    def rfm(r: Any = None, f: Any = None, m: Any = None, *, per_store: bool = False) -> Spec:
        """RFM scores (1–5 by quintile, 5 best): ``S.rfm(r=5, f=[4, 5])``."""
        return S.rule("rfm", r=r, f=f, m=m, per_store=per_store or None)

    @staticmethod
    def segment(name: str) -> Spec:
        """A member of the saved segment ``name``."""
        return S.rule("segment", name=name)
