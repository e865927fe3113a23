"""The segment builder's tree: groups (all / any, each with a "not" switch) holding rules and
further groups, edited with menus and turned into a spec dict.

:class:`GroupEditor` is a group; the builder's root is one. :meth:`GroupEditor.spec` gives
the spec the tree stands for, ``{"all": [...]}``, ``{"any": [...]}`` or ``{"not": {...}}``,
and notes on each rule its place in the spec (``all[1].orders``) so that a problem the checker
reports there is shown under that rule. :meth:`GroupEditor.load` shows a saved spec.

Every edit calls ``on_change()`` once (the page counts again after a pause).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import panel as pn

from siyu.apps.pages.segment_fields import Menus, ParamField, param_field
from siyu.apps.safe import html, join
from siyu.core.i18n import core as _
from siyu.core.segments.spec import GROUPS

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.records import SegmentRule

#: The rule menu's families, in this order; a plugin's own family follows under its name.
FAMILIES = {"tags": _.lazy("Tags"), "attributes": _.lazy("Attributes"),
            "journey": _.lazy("Journey"), "orders": _.lazy("Orders"),
            "rfm": _.lazy("RFM"), "membership": _.lazy("Membership")}

RULE_CSS = """
:host{border:1px solid #d5dde8;border-radius:8px;background:#fff;box-sizing:border-box}
"""
GROUP_CSS = """
:host{border-left:3px solid #0078d4;background:#f6f9fc;border-radius:6px;
box-sizing:border-box}
"""
TITLE_CSS = """
.siyu-rule-title{font-weight:600;font-size:14px}
.siyu-rule-help{color:#5f6b7a;font-size:12px;margin-left:6px}
.siyu-rule-problems{color:#c62828;font-size:13px;margin:0;padding-left:18px}
"""

def rule_menu(rules: Mapping[str, SegmentRule]) -> dict[str, dict[str, str]]:
    """The "add rule" menu: ``{family title: {rule title: rule name}}``, the built-in
    families first, each family's rules in registration order."""
    order = list(FAMILIES)
    families = sorted({rule.family for rule in rules.values()},
                      key=lambda f: (order.index(f) if f in order else len(order), f))
    menu: dict[str, dict[str, str]] = {}
    for family in families:
        title = str(FAMILIES.get(family, family))
        menu[title] = {str(rule.title or rule.name): rule.name
                       for rule in rules.values() if rule.family == family}
    return menu


def _problems_html(messages: list[str]) -> str:
    if not messages:
        return ""
    return html('<ul class="siyu-rule-problems">{items}</ul>',
                items=join("", [html("<li>{m}</li>", m=m) for m in messages]))


class RuleEditor(pn.viewable.Viewer):
    """One rule of the tree: its fields, the problems the checker found in it, a remove
    button.

    :param name: the rule's name; a rule no plugin registers (any more) keeps its
        parameters as they were and the checker reports it.
    :param params: the parameters to show (from a saved spec).
    """

    def __init__(self, name: str, rule: SegmentRule | None, menus: Menus, *,
                 on_change: Callable[[], None], on_remove: Callable[[RuleEditor], None],
                 params: Mapping[str, Any] | None = None, **kw: Any):
        super().__init__(**kw)
        self.rule_name = name
        self.rule = rule
        self.on_change = on_change
        #: Where the rule sits in the spec last built (``all[1].orders``).
        self.path = ""
        css = "siyu-segment-param"
        self.fields: list[ParamField] = ([param_field(p, menus, css_class=css)
                                          for p in rule.typed_params] if rule else [])
        params = dict(params or {})
        declared = {f.param.name for f in self.fields}
        #: Parameters the rule does not declare, kept so that the checker names them.
        self.extra = {k: v for k, v in params.items() if k not in declared}
        for field in self.fields:
            if field.param.name in params:
                field.load(params[field.param.name])
            field.widget.param.watch(lambda _e: self.on_change(), "value")
        self.remove_button = pn.widgets.Button(
            label=_("Remove rule"), color="light", width=110,
            css_classes=["siyu-segment-remove-rule"])
        self.remove_button.on_click(lambda _e: on_remove(self))
        self.problems = pn.pane.HTML("", visible=False, sizing_mode="stretch_width",
                                     stylesheets=[TITLE_CSS],
                                     css_classes=["siyu-segment-rule-problems"])
        title = str(rule.title or name) if rule else name
        help_text = str(rule.description or "") if rule else _("No plugin provides this rule.")
        heading = pn.pane.HTML(
            html('<span class="siyu-rule-title">{title}</span>'
                 '<span class="siyu-rule-help">{help}</span>', title=title, help=help_text),
            sizing_mode="stretch_width", stylesheets=[TITLE_CSS], margin=(6, 10, 0, 10))
        self._layout = pn.Column(
            pn.FlexBox(heading, self.remove_button, flex_wrap="nowrap",
                       justify_content="space-between", align_items="flex-start",
                       sizing_mode="stretch_width"),
            pn.FlexBox(*[f.widget for f in self.fields], flex_wrap="wrap",
                       sizing_mode="stretch_width"),
            self.problems,
            css_classes=["siyu-segment-rule", f"siyu-segment-rule-{name}"],
            stylesheets=[RULE_CSS], sizing_mode="stretch_width", margin=(4, 0))

    def field(self, name: str) -> ParamField:
        """The field of parameter ``name``."""
        return next(f for f in self.fields if f.param.name == name)

    def spec(self, path: str) -> dict[str, Any]:
        """``{rule name: {parameter: value}}``, only the parameters given; ``path`` is where
        the rule sits (remembered in :attr:`path`)."""
        self.path = f"{path}.{self.rule_name}" if path else self.rule_name
        values = {f.param.name: f.value() for f in self.fields}
        return {self.rule_name: {**{k: v for k, v in values.items() if v is not None},
                            **self.extra}}

    def show_problems(self, problems: list[tuple[str, str]]) -> None:
        """Show the problems whose path lies in this rule (``all[1].orders.within_days``)."""
        mine = [message for where, message in problems
                if where == self.path or where.startswith((f"{self.path}.", f"{self.path}["))]
        self.problems.object = _problems_html(mine)
        self.problems.visible = bool(mine)

    def rules(self) -> list[RuleEditor]:
        """Itself (the tree's rules, for a uniform walk)."""
        return [self]

    def __panel__(self) -> pn.Column:
        return self._layout


class GroupEditor(pn.viewable.Viewer):
    """A group of rules and groups: all or any of them must hold, or (with *not*) none.

    :param rules: the rules a spec may use (``ws.segments.rules()``).
    :param menus: where parameter menus come from.
    :param on_change: called after every edit.
    :param on_remove: removes this group from its parent (``None``: the root, which stays).
    """

    def __init__(self, rules: Mapping[str, SegmentRule], menus: Menus, *,
                 on_change: Callable[[], None],
                 on_remove: Callable[[GroupEditor], None] | None = None,
                 depth: int = 0, **kw: Any):
        super().__init__(**kw)
        self.rules_known = rules
        self.menus = menus
        self.on_change_callback = on_change
        self.depth = depth
        self.children: list[RuleEditor | GroupEditor] = []
        self._quiet = 0
        self.mode = pn.widgets.RadioButtonGroup(
            options={str(_("All of these")): "all", str(_("Any of these")): "any"},
            value="all", color="primary", variant="outline",
            css_classes=["siyu-segment-mode"], margin=(8, 10, 4, 10))
        self.negate = pn.widgets.Checkbox(label=_("Not: exclude who matches"), value=False,
                                          css_classes=["siyu-segment-not"],
                                          margin=(14, 10, 4, 10))
        self.rule_menu = pn.widgets.Select(groups=rule_menu(rules), width=220,
                                           css_classes=["siyu-segment-rule-menu"],
                                           margin=(4, 6, 4, 10))
        self.add_rule_button = pn.widgets.Button(label=_("Add rule"), color="primary",
                                                 width=100, margin=(4, 6),
                                                 css_classes=["siyu-segment-add-rule"])
        self.add_group_button = pn.widgets.Button(label=_("Add group"), width=100,
                                                  margin=(4, 6),
                                                  css_classes=["siyu-segment-add-group"])
        self.remove_button = pn.widgets.Button(label=_("Remove group"), color="light",
                                               width=110, visible=on_remove is not None,
                                               margin=(4, 6),
                                               css_classes=["siyu-segment-remove-group"])
        self.mode.param.watch(lambda _e: self.changed(), "value")
        self.negate.param.watch(lambda _e: self.changed(), "value")
        self.add_rule_button.on_click(lambda _e: self.add_rule(self.rule_menu.value))
        self.add_group_button.on_click(lambda _e: self.add_group())
        if on_remove is not None:
            self.remove_button.on_click(lambda _e: on_remove(self))
        self.body = pn.Column(sizing_mode="stretch_width", margin=(0, 0, 0, 8))
        self._layout = pn.Column(
            pn.FlexBox(self.mode, self.negate, flex_wrap="wrap", align_items="center",
                       sizing_mode="stretch_width"),
            self.body,
            pn.FlexBox(self.rule_menu, self.add_rule_button, self.add_group_button,
                       self.remove_button, flex_wrap="wrap", align_items="center",
                       sizing_mode="stretch_width"),
            css_classes=["siyu-segment-group", f"siyu-segment-depth-{depth}"],
            stylesheets=[GROUP_CSS], sizing_mode="stretch_width", margin=(4, 0))

    # -- editing --------------------------------------------------------------------------

    def changed(self) -> None:
        """Tell the page the tree changed (not while a spec is being loaded)."""
        if not self._quiet:
            self.on_change_callback()

    def add_rule(self, name: str, params: Mapping[str, Any] | None = None) -> RuleEditor:
        """Add rule ``name`` (with ``params`` filled in) at the end of this group."""
        editor = RuleEditor(name, self.rules_known.get(name), self.menus,
                            on_change=self.changed, on_remove=self.remove, params=params)
        self._append(editor)
        return editor

    def add_group(self, spec: Any = None) -> GroupEditor:
        """Add a subgroup (showing ``spec`` when given) at the end of this group."""
        group = GroupEditor(self.rules_known, self.menus, on_change=self.changed,
                            on_remove=self.remove, depth=self.depth + 1)
        if spec is not None:
            group.load(spec, notify=False)
        self._append(group)
        return group

    def _append(self, child: RuleEditor | GroupEditor) -> None:
        self.children.append(child)
        self.body.append(child)
        self.changed()

    def remove(self, child: RuleEditor | GroupEditor) -> None:
        """Take ``child`` out of this group."""
        if child in self.children:
            index = self.children.index(child)
            self.children.pop(index)
            self.body.pop(index)
            self.changed()

    def clear(self) -> None:
        """Remove every rule and group, back to "all of these"."""
        self._quiet += 1
        try:
            self.children.clear()
            self.body.clear()
            self.mode.value, self.negate.value = "all", False
        finally:
            self._quiet -= 1
        self.changed()

    def load(self, spec: Any, *, notify: bool = True) -> None:
        """Show ``spec`` (a saved segment's): a group as this group, anything else (a rule,
        a ``not`` of a rule) as this group's only child."""
        self._quiet += 1
        try:
            self.children.clear()
            self.body.clear()
            negate = False
            if not spec:
                spec = {"all": []}
            if isinstance(spec, dict) and list(spec) == ["not"]:
                negate, spec = True, spec["not"]
            key = next(iter(spec)) if isinstance(spec, dict) and len(spec) == 1 else None
            if key in GROUPS and isinstance(spec[key], list):
                self.mode.value, items = key, spec[key]
            else:
                self.mode.value, items = "all", [spec]
            self.negate.value = negate
            for item in items:
                self._load_child(item)
        finally:
            self._quiet -= 1
        if notify:
            self.changed()

    def _load_child(self, node: Any) -> None:
        if isinstance(node, dict) and len(node) == 1:
            (key, value), = node.items()
            if key == "not" or (key in GROUPS and isinstance(value, list)):
                self.add_group(node)
                return
            self.add_rule(str(key), value if isinstance(value, dict) else {})
            return
        # Not a node the builder can show: keep it as an unknown rule the checker reports.
        self.add_rule(str(node), {})

    # -- reading --------------------------------------------------------------------------

    def spec(self, path: str = "") -> dict[str, Any]:
        """The spec this group stands for; ``path`` is where it sits in the whole spec.

        A negated group of one rule or group is ``{"not": that}`` (all or any of one thing
        is that thing), as a saved ``{"not": {"tag": …}}`` was written."""
        if self.negate.value:
            path = f"{path}.not" if path else "not"
            if len(self.children) == 1:
                return {"not": self.children[0].spec(path)}
        here = f"{path}.{self.mode.value}" if path else self.mode.value
        node = {self.mode.value: [child.spec(f"{here}[{i}]")
                                  for i, child in enumerate(self.children)]}
        return {"not": node} if self.negate.value else node

    def rules(self) -> list[RuleEditor]:
        """Every rule in the tree, in spec order."""
        return [rule for child in self.children for rule in child.rules()]

    def is_empty(self) -> bool:
        """Whether the tree holds no rule at all."""
        return not self.rules()

    def show_problems(self, problems: list[tuple[str, str]]) -> None:
        """Show each problem under the rule it is in (and clear the others)."""
        for rule in self.rules():
            rule.show_problems(problems)

    def __panel__(self) -> pn.Column:
        return self._layout

