"""Segment specs: plain JSON-able dicts that combine rules, checked against the rules'
typed parameters before anything is compiled or saved.

A rule node is a one-key dict, ``{"orders": {"min_count": 2, "within_days": 90}}``; groups
are ``{"all": [node, ...]}``, ``{"any": [node, ...]}`` and ``{"not": node}``. Every problem
names its place in the spec, ``all[2].orders.within_days: must be a positive integer, got -3``.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from siyu.core.errors import ValidationError
from siyu.core.i18n import core as _
from siyu.core.services.base import as_utc

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.records import SegmentParam, SegmentRule
    from siyu.core.workspace import Workspace

GROUPS = ("all", "any")
#: How deep groups may nest (a spec is written by people; deeper is a mistake or an attack).
MAX_DEPTH = 12
#: Most rules in one spec.
MAX_RULES = 200


class SegmentError(ValidationError):
    """A spec that cannot be used, with every problem found.

    :ivar problems: ``[(path, message), ...]``, e.g. ``("all[2].orders.within_days",
        "must be a positive integer, got -3")``.
    """

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        super().__init__("; ".join(f"{path}: {message}" if path else message
                                   for path, message in problems))


@dataclass
class Node:
    """A checked spec node: ``op`` is ``all``, ``any``, ``not`` or ``rule``."""

    op: str
    path: str
    children: list[Node] = field(default_factory=list)
    rule: SegmentRule | None = None
    params: dict[str, Any] = field(default_factory=dict)

    def rules(self) -> list[Node]:
        """The rule nodes under this one, in spec order."""
        if self.op == "rule":
            return [self]
        return [leaf for child in self.children for leaf in child.rules()]


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _suggest(value: str, known: list[str]) -> str:
    close = difflib.get_close_matches(value, known, n=3, cutoff=0.5)
    if not close:
        return ""
    return _("; did you mean {names}?", names=", ".join(repr(c) for c in close))


class Checker:
    """Walks a spec, collecting problems; :meth:`parse` returns the checked tree."""

    def __init__(self, ws: Workspace, rules: dict[str, SegmentRule]):
        self.ws = ws
        self.rules = rules
        self.problems: list[tuple[str, str]] = []
        self._choices: dict[Any, list[str]] = {}
        self._count = 0

    def fail(self, path: str, message: str) -> None:
        self.problems.append((path, str(message)))

    def parse(self, spec: Any) -> Node:
        node = self._node(spec, "", 0)
        if self.problems:
            raise SegmentError(self.problems)
        return node

    def _node(self, spec: Any, path: str, depth: int) -> Node:
        if isinstance(spec, SpecLike):
            spec = spec.to_dict()
        if not isinstance(spec, dict):
            self.fail(path, _("expected a rule or a group such as {{\"all\": [...]}}, got "
                              "{value!r}", value=spec))
            return Node("all", path)
        if len(spec) != 1:
            keys = ", ".join(repr(k) for k in spec) or _("nothing")
            self.fail(path, _("a node has exactly one key (a rule name, all, any or not), "
                              "got {keys}", keys=keys))
            return Node("all", path)
        (key, value), = spec.items()
        if depth > MAX_DEPTH:
            self.fail(path, _("groups nest more than {n} deep", n=MAX_DEPTH))
            return Node("all", path)
        if key in GROUPS:
            here = _join(path, key)
            if not isinstance(value, list | tuple):
                self.fail(here, _("expected a list of rules, got {value!r}", value=value))
                return Node(key, here)
            if not value:
                self.fail(here, _("needs at least one rule"))
            children = [self._node(child, f"{here}[{i}]", depth + 1)
                        for i, child in enumerate(value)]
            return Node(key, here, children)
        if key == "not":
            here = _join(path, "not")
            return Node("not", here, [self._node(value, here, depth + 1)])
        return self._rule(str(key), value, _join(path, str(key)))

    def _rule(self, name: str, params: Any, path: str) -> Node:
        self._count += 1
        if self._count == MAX_RULES + 1:
            self.fail(path, _("a segment has at most {n} rules", n=MAX_RULES))
        rule = self.rules.get(name)
        if rule is None:
            self.fail(path, _("unknown rule {name!r}{hint} (rules: {rules})", name=name,
                              hint=_suggest(name, list(self.rules)),
                              rules=", ".join(sorted(self.rules))))
            return Node("rule", path)
        if params is None:
            params = {}
        if not isinstance(params, dict):
            self.fail(path, _("expected the rule's parameters as an object, got {value!r}",
                              value=params))
            return Node("rule", path, rule=rule)
        declared = {p.name: p for p in rule.typed_params}
        for key in params:
            if key not in declared:
                known = list(declared)
                self.fail(_join(path, str(key)),
                          _("unknown field{hint} (fields of {rule}: {fields})",
                            hint=_suggest(str(key), known), rule=name,
                            fields=", ".join(known) or _("none")))
        before = len(self.problems)
        values: dict[str, Any] = {}
        for param in declared.values():
            here = _join(path, param.name)
            given = params.get(param.name)
            if given is None or given == "" or given == []:
                if param.required:
                    self.fail(here, _("required"))
                values[param.name] = param.default
                continue
            values[param.name] = self._value(param, given, here)
        if rule.check is not None and len(self.problems) == before:
            message = rule.check(values)
            if message:
                self.fail(path, message)
        return Node("rule", path, rule=rule, params=values)

    # -- values ---------------------------------------------------------------------------

    def _value(self, param: SegmentParam, value: Any, path: str) -> Any:
        kind = param.type
        if kind == "int":
            return self._int(param, value, path)
        if kind == "ints":
            items = value if isinstance(value, list | tuple) else [value]
            return [self._int(param, item, f"{path}[{i}]") for i, item in enumerate(items)]
        if kind == "bool":
            if not isinstance(value, bool):
                self.fail(path, _("must be true or false, got {value!r}", value=value))
            return value
        if kind == "date":
            if not isinstance(value, str | date | datetime):
                self.fail(path, _("must be a date such as 2026-11-25, got {value!r}",
                                  value=value))
                return None
            try:
                return as_utc(value, self.ws.timezone)
            except ValidationError:
                self.fail(path, _("must be a date such as 2026-11-25, got {value!r}",
                                  value=value))
                return None
        if kind == "choice":
            allowed = [c[0] if isinstance(c, tuple) else c for c in param.choices]
            if value not in allowed:
                self.fail(path, _("must be one of {choices}, got {value!r}",
                                  choices=", ".join(repr(c) for c in allowed), value=value))
            return value
        if kind == "list":
            items = value if isinstance(value, list | tuple) else [value]
            out = []
            for i, item in enumerate(items):
                if not isinstance(item, str) or not item.strip():
                    self.fail(f"{path}[{i}]", _("must be a non-empty text, got {value!r}",
                                                value=item))
                    continue
                out.append(item.strip())
            self._strict(param, out, path)
            return out
        if not isinstance(value, str):
            self.fail(path, _("must be a text, got {value!r}", value=value))
            return None
        self._strict(param, [value.strip()], path)
        return value.strip()

    def _int(self, param: SegmentParam, value: Any, path: str) -> int | None:
        if not isinstance(value, int) or isinstance(value, bool):
            self.fail(path, _("must be an integer, got {value!r}", value=value))
            return None
        low, high = param.minimum, param.maximum
        if low is not None and value < low:
            if low == 1 and high is None:
                self.fail(path, _("must be a positive integer, got {value!r}", value=value))
            elif high is not None:
                self.fail(path, _("must be between {low} and {high}, got {value!r}",
                                  low=low, high=high, value=value))
            else:
                self.fail(path, _("must be at least {low}, got {value!r}", low=low,
                                  value=value))
        elif high is not None and value > high:
            self.fail(path, _("must be between {low} and {high}, got {value!r}",
                              low=low if low is not None else "-∞", high=high, value=value))
        return value

    def _strict(self, param: SegmentParam, values: list[str], path: str) -> None:
        if not param.strict or not param.choices_from:
            return
        from siyu.core.segments.choices import choices

        key = param.choices_from
        if key not in self._choices:
            self._choices[key] = choices(self.ws, key)
        known = self._choices[key]
        known_set = set(known)
        for value in values:
            if value not in known_set:
                self.fail(path, _("unknown {what} {value!r}{hint}",
                                  what=param.title or param.name, value=value,
                                  hint=_suggest(value, known)))


class SpecLike:
    """Marker base for objects that turn into a spec dict (:class:`siyu.core.segments.S`)."""

    def to_dict(self) -> dict[str, Any]:  # pragma: no cover - overridden
        raise NotImplementedError


def parse(ws: Workspace, spec: Any, rules: dict[str, SegmentRule] | None = None) -> Node:
    """Check ``spec`` against the workspace's rules and return the checked tree.

    :raises SegmentError: every problem found, each with its path in the spec.
    """
    return Checker(ws, ws.segment_rules if rules is None else rules).parse(spec)


def to_dict(spec: Any) -> dict[str, Any]:
    """``spec`` as a plain dict (a builder expression is turned into one)."""
    if isinstance(spec, SpecLike):
        return spec.to_dict()
    return spec


def references(spec: Any) -> list[str]:
    """The saved segments ``spec`` refers to through ``segment`` rules (not recursively)."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, SpecLike):
            node = node.to_dict()
        if not isinstance(node, dict):
            return
        for key, value in node.items():
            if key in GROUPS and isinstance(value, list | tuple):
                for child in value:
                    walk(child)
            elif key == "not":
                walk(value)
            elif key == "segment" and isinstance(value, dict):
                name = value.get("name")
                if isinstance(name, str):
                    found.append(name.strip())
    walk(spec)
    return found
