"""Escaping in the console: the helpers of :mod:`siyu.apps.safe`, the escaping notification
area and template title, and a static check that no console code builds pane text from an
f-string (or ``+``, ``%``, ``.format``, ``"".join``) instead of going through the helpers.

The browser test ``tests/browser/test_hostile_names.py`` shows the same end to end.
"""

from __future__ import annotations

import ast
import html as stdlib_html
import re
from pathlib import Path

import panel as pn
import pytest
from bokeh.document import Document

from siyu.apps.safe import (
    Safe,
    SafeNotificationArea,
    html,
    join,
    labels,
    md,
    md_escape,
    notification_area,
)
from siyu.apps.shell import ConsoleTemplate, error_card, navigation, user_badge

PACKAGE = Path(__file__).resolve().parents[1] / "siyu"
IMG = "<img src=x onerror=alert(1)>"
SVG = '"><svg onload=alert(3)>'
LINK = "[link](javascript:alert(4))"
MARKS = "**bold** _x_ {{7*7}}"
HOSTILE = [IMG, "<script>alert(2)</script>", SVG, LINK, MARKS, "line\n# heading\n    code",
           "| a | b |\n|---|---|", "$x$ :smile: <!-- c -->", "&lt;img&gt; \\*", "1. first",
           "2) second", "- item", "+ item", "   * item", "> quote", "---", "===", "# title",
           "`code`", "~~gone~~", "[^1]", "<b>bold</b>", ": term", "javascript:alert(5)",
           "<javascript:alert(6)>", "![x](y)"]
#: Elements a value must never produce in Markdown (the templates make only <p>/<strong>).
ELEMENTS = re.compile(r"<(?!/?(p|strong)>)[^>]*>")


def rendered(text: str) -> str:
    """The HTML Panel's Markdown pane makes of ``text`` (what the browser parses)."""
    return stdlib_html.unescape(pn.pane.Markdown(text)._transform_object(text)["object"])


def visible(html_text: str) -> str:
    """The text a browser shows for ``html_text``, blanks collapsed."""
    return " ".join(stdlib_html.unescape(re.sub(r"<[^>]+>", " ", html_text)).split())


# -- the helpers ----------------------------------------------------------------------------

@pytest.mark.parametrize("template", ["Tag **{name}** created", "{name}", "{name}\n{name}",
                                      "{name}\n\n{name}"])
@pytest.mark.parametrize("value", HOSTILE)
def test_a_value_in_markdown_is_literal_text(template, value):
    out = rendered(md(template, name=value))

    assert not ELEMENTS.search(out), out
    assert out.count("<strong>") == template.count("**") // 2
    expected = template.replace("**", "").format(name=" ".join(value.split("\n")))
    assert visible(out) == " ".join(expected.split())


def test_a_web_address_in_a_value_may_become_a_web_link_and_nothing_else():
    """Panel's Markdown links bare addresses (linkify); escaping ``.``, ``:`` and ``@`` would
    stop it but make every escaped text unreadable. What it makes is a plain web or mail
    link: markdown-it refuses ``javascript:``, ``data:`` and ``vbscript:`` links."""
    out = rendered(md("{v}", v="https://evil.example/x evil.example a@evil.example "
                           "javascript:alert(1) data:text/html,x"))

    links = re.findall(r'href="([^"]*)"', out)
    assert "https://evil.example/x" in links
    assert all(link.startswith(("http://", "https://", "mailto:")) for link in links), links


@pytest.mark.parametrize("value", HOSTILE)
def test_a_value_in_html_is_literal_text_even_in_an_attribute(value):
    out = html('<span title="{v}">{v}</span>', v=value)

    assert "<" not in out[len('<span title="'):-len("</span>")].replace('">', "", 1)
    assert out.count('"') == 2


def test_markup_built_by_the_helpers_is_not_escaped_twice():
    items = [html("<b>{n}</b>", n=IMG), IMG]

    assert join(", ", items) == ("<b>&lt;img src=x onerror=alert(1)&gt;</b>, "
                                 "&lt;img src=x onerror=alert(1)&gt;")
    assert md_escape(md_escape(IMG)) == md_escape(IMG)
    cell = html("<td>{v}</td>", v=html("<i>{v}</i>", v=IMG))
    assert html("<tr>{c}</tr>", c=join("", [cell])) == (
        "<tr><td><i>&lt;img src=x onerror=alert(1)&gt;</i></td></tr>")
    assert md("{x}", x=html("<i>{v}</i>", v="a*b")) == "<i>a*b</i>"
    assert md("{n:,} orders", n=12345) == "12,345 orders"
    assert md("{n}", n=1.5) == "1\\.5"  # a number may start a line: "1." would be a list


def test_helper_output_reaches_the_browser_unchanged_through_every_pane():
    """Panel escapes a pane's text for transport with ``html.escape``; the browser unescapes
    it once. What arrives must be exactly what the helper built (``markupsafe.Markup`` would
    garble it: its ``replace`` escapes the replacement)."""
    text = html('<nav class="siyu-nav"><a href="/{n}">{n}</a></nav>', n=IMG)
    sent = pn.pane.HTML(text)._transform_object(text)["object"]

    assert stdlib_html.unescape(sent) == text
    assert type(text) is Safe and type(text + "x") is str


def test_multichoice_labels_are_escaped_and_values_kept():
    assert labels({IMG: "zhangsan"}) == {"&lt;img src=x onerror=alert(1)&gt;": "zhangsan"}
    assert labels([SVG]) == {"&#34;&gt;&lt;svg onload=alert(3)&gt;": SVG}


# -- notifications and the shell ------------------------------------------------------------

def test_the_notification_area_escapes_every_message():
    area = SafeNotificationArea()

    area.error(f"unknown contact {IMG!r}")
    area.send(Safe("<b>trusted</b>"), type="info")

    assert [n.message for n in area.notifications] == [
        "unknown contact &#39;&lt;img src=x onerror=alert(1)&gt;&#39;", "<b>trusted</b>"]


def test_a_session_gets_an_escaping_area_even_when_panel_made_a_plain_one(monkeypatch):
    from panel.io.notifications import NotificationArea
    from panel.io.state import set_curdoc

    doc = Document()
    monkeypatch.setattr(type(pn.state), "_notification_type", NotificationArea)
    plain = NotificationArea()
    plain.error(IMG)
    monkeypatch.setitem(pn.state._notifications, doc, plain)
    with set_curdoc(doc):
        area = notification_area()
        assert isinstance(area, SafeNotificationArea) and pn.state.notifications is area
    assert [n.message for n in area.notifications] == ["&lt;img src=x onerror=alert(1)&gt;"]
    assert type(pn.state)._notification_type is SafeNotificationArea


def test_the_template_title_navigation_badge_and_error_card_escape_names():
    template = ConsoleTemplate(title=f"Tags · {IMG}")
    template._update_vars()
    assert template._render_variables["app_title"] == "Tags · &lt;img src=x onerror=alert(1)&gt;"

    class Spec:
        name, title = "tags", IMG

    class Principal:
        name, role = SVG, "admin"

    class Ws:
        name = IMG

    assert "<img" not in navigation([Spec()], "tags").object
    badge = user_badge(Ws(), Principal()).object
    assert "<img" not in badge and "<svg" not in badge
    card = rendered(error_card(LINK, RuntimeError(IMG)).object)
    assert "<a " not in card and "<img" not in card


# -- the static check -----------------------------------------------------------------------
#
# A text pane (Markdown, HTML, Alert) takes only a string literal, a module constant
# (UPPER_CASE), the output of a helper with a literal template, or what a function of the same
# module returns when that function returns only those. Anywhere else (``.object`` of a pane
# not made in the module, a layout's objects) the text must not be built on the spot
# (f-string, ``+``, ``%``, ``.format``, ``"".join``). MultiChoice options go through
# ``labels()``, and ``Safe()`` (or ``Markup()``) never wraps a value.

#: Panel objects that render their text as HTML: pane classes (text as the first argument or
#: ``object=``), and layouts whose ``title=`` becomes HTML.
TEXT_PANES = {"Markdown", "HTML", "Alert"}
TITLED = {"Card", "Accordion"}
#: Layouts (and ``pn.panel``) turn a string among their objects into a Markdown pane.
LAYOUTS = {"Column", "Row", "FlexBox", "WidgetBox", "GridBox", "Card", "Accordion", "panel"}
#: The helpers: their first argument is a trusted template, their values get escaped.
HELPERS = {"md", "html", "join", "escape", "md_escape", "labels"}


def _name(node: ast.AST) -> str:
    """``pn.pane.Markdown`` → ``"Markdown"``; ``md`` → ``"md"``."""
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else ""


def _is_text(node: ast.AST) -> bool:
    return isinstance(node, ast.JoinedStr) or (isinstance(node, ast.Constant)
                                               and isinstance(node.value, str))


def built_text(node: ast.AST) -> str | None:
    """Why ``node`` is text built from values on the spot, or ``None`` when it is not."""
    if isinstance(node, ast.JoinedStr):
        if any(isinstance(v, ast.FormattedValue) for v in node.values):
            return "an f-string"
        return None
    if isinstance(node, ast.BinOp):
        if isinstance(node.op, ast.Mod) and _is_text(node.left):
            return "%-formatting"
        literal = _is_text(node.left) and _is_text(node.right)
        if isinstance(node.op, ast.Add) and (_is_text(node.left) or _is_text(node.right)) \
                and not literal:
            return "string concatenation"
        return built_text(node.left) or built_text(node.right)
    if isinstance(node, ast.IfExp):
        return built_text(node.body) or built_text(node.orelse)
    if isinstance(node, ast.BoolOp):
        return next(filter(None, map(built_text, node.values)), None)
    if isinstance(node, ast.Call):
        func = _name(node.func)
        if func == "join" and isinstance(node.func, ast.Attribute) \
                and _is_text(node.func.value):
            return "str.join"
        if func == "format" and isinstance(node.func, ast.Attribute):
            return "str.format"
        if func in HELPERS:
            template = node.args[0] if node.args else None
            if func in {"md", "html", "join"} and template is not None \
                    and built_text(template):
                return f"{func}() with a built template"
    return None


class Module:
    """One module's text panes, MultiChoice widgets and functions, to check its sinks."""

    def __init__(self, tree: ast.AST):
        self.functions = {node.name: node for node in ast.walk(tree)
                          if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)}
        self.text_panes = self._attributes(tree, TEXT_PANES)
        self.multichoices = self._attributes(tree, {"MultiChoice"})

    @staticmethod
    def _attributes(tree: ast.AST, classes: set[str]) -> set[str]:
        """Attribute names assigned one of ``classes`` (``self.title = pn.pane.HTML(...)``)."""
        found = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) \
                    and _name(node.value.func) in classes:
                found |= {t.attr for t in node.targets if isinstance(t, ast.Attribute)}
        return found

    def pane_text(self, node: ast.AST, seen: frozenset[str] = frozenset()) -> str | None:
        """Why ``node`` may not be a text pane's text, or ``None`` when it may."""
        reason = built_text(node)
        if reason or _is_text(node):
            return reason
        if isinstance(node, ast.Name) and node.id.isupper():
            return None
        if isinstance(node, ast.IfExp):
            return self.pane_text(node.body, seen) or self.pane_text(node.orelse, seen)
        if isinstance(node, ast.BoolOp | ast.BinOp):
            parts = node.values if isinstance(node, ast.BoolOp) else [node.left, node.right]
            return next(filter(None, (self.pane_text(p, seen) for p in parts)), None)
        if isinstance(node, ast.Call):
            func = _name(node.func)
            if func in HELPERS:
                return None
            if func in self.functions and func not in seen:
                returns = [r.value for r in ast.walk(self.functions[func])
                           if isinstance(r, ast.Return) and r.value is not None]
                return next(filter(None, (self.pane_text(r, seen | {func})
                                          for r in returns)), None)
        return "a value (not a literal, a constant or a helper's output)"


def unescaped_sinks(source: str, filename: str = "<source>") -> list[str]:
    """``file:line what`` for every place ``source`` puts unescaped text into HTML."""
    tree = ast.parse(source, filename)
    module = Module(tree)
    problems: list[str] = []

    def report(node: ast.AST, sink: str, reason: str | None, joint: str = "from") -> None:
        if reason:
            problems.append(f"{filename}:{node.lineno} {sink} {joint} {reason}")

    def is_labels(node: ast.AST) -> bool:
        return isinstance(node, ast.Call) and _name(node.func) == "labels"

    def assignment(target: ast.AST, value: ast.AST) -> None:
        if isinstance(target, ast.Tuple):
            pairs = (zip(target.elts, value.elts, strict=True)
                     if isinstance(value, ast.Tuple) and len(value.elts) == len(target.elts)
                     else ((t, value) for t in target.elts))
            for t, v in pairs:
                assignment(t, v)
            return
        if not isinstance(target, ast.Attribute):
            return
        owner = _name(target.value)
        if target.attr == "object" and owner in module.text_panes:
            report(value, f"{owner}.object", module.pane_text(value))
        elif target.attr == "object":
            report(value, ".object", built_text(value))
        elif target.attr == "options" and owner in module.multichoices and not is_labels(value):
            report(value, "MultiChoice options", "labels()", "without")

    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = _name(node.func)
            if func in TEXT_PANES:
                texts = node.args[:1] + [k.value for k in node.keywords if k.arg == "object"]
                for text in texts:
                    report(text, f"pn.pane.{func}", module.pane_text(text))
            if func in LAYOUTS:
                for item in node.args:
                    report(item, f"a string in {func}()", built_text(item))
            for kw in node.keywords:
                if func in TITLED and kw.arg == "title":
                    report(kw.value, f"{func} title", module.pane_text(kw.value))
                if func == "MultiChoice" and kw.arg == "options" and not is_labels(kw.value):
                    report(kw.value, "MultiChoice options", "labels()", "without")
            if func in {"Safe", "Markup"} and node.args and not _is_text(node.args[0]):
                report(node, f"{func}()", "a value", "around")
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                assignment(target, node.value)
        elif isinstance(node, ast.AugAssign):
            assignment(node.target, node.value)
    return problems


@pytest.mark.parametrize("source, expected", [
    ('pn.pane.Markdown(f"## {name}")', "pn.pane.Markdown from an f-string"),
    ('pn.pane.HTML("<b>" + name + "</b>")', "pn.pane.HTML from string concatenation"),
    ('pn.pane.Alert(object="x %s" % name)', "pn.pane.Alert from %-formatting"),
    ('pn.pane.Markdown(name)', "pn.pane.Markdown from a value (not a literal, a constant or "
                               "a helper's output)"),
    ('self.title.object = "<h3>{}</h3>".format(name)', ".object from str.format"),
    ('self.tags.object = "".join(names)', ".object from str.join"),
    ('self.note.object = md(f"**{name}**")', ".object from md() with a built template"),
    ('self.note.object = Safe(name)', "Safe() around a value"),
    ('self.w = pn.pane.Alert("")\nself.w.object = code["warning"]',
     "w.object from a value (not a literal, a constant or a helper's output)"),
    ('self.s = pn.pane.Markdown(self.status())\ndef status(self):\n    return f"{x}"',
     "pn.pane.Markdown from an f-string"),
    ('pn.Card(x, title=f"Card {name}")', "Card title from an f-string"),
    ('pn.Column(f"## Tags of {ws.name}", table)', "a string in Column() from an f-string"),
    ('self.m = pn.widgets.MultiChoice(options=staff)', "MultiChoice options without labels()"),
    ('self.m = pn.widgets.MultiChoice()\nself.m.options = {n: 1 for n in names}',
     "MultiChoice options without labels()"),
    ('self.s = pn.pane.Markdown("")\nself.s.object += name',
     "s.object from a value (not a literal, a constant or a helper's output)"),
])
def test_the_static_check_finds_unescaped_text(source, expected):
    assert [p.split(" ", 1)[1] for p in unescaped_sinks(source)] == [expected]


@pytest.mark.parametrize("source", [
    'pn.pane.Markdown("## Tags")',
    'pn.pane.Markdown(md("## {name}", name=name))',
    'self.t = pn.pane.HTML("")\nself.t.object = html("<h3>{n}</h3>", n=n) if n else EMPTY',
    'self.t = pn.pane.HTML("")\n'
    'self.t.object = join(" ", (html("<i>{t}</i>", t=t) for t in tags)) or "<i>none</i>"',
    'self.qr = pn.pane.PNG(None)\nself.qr.object = qr_png(url)',
    'self.s = pn.pane.Markdown("")\nself.s.object += "\\n\\nNo jobs yet."',
    'self.s = pn.pane.Markdown(self.status())\ndef status(self):\n    return md("{x}", x=x)',
    'self.m = pn.widgets.MultiChoice()\nself.m.options, self.b.options = labels(s), s',
])
def test_the_static_check_accepts_escaped_text(source):
    assert unescaped_sinks(source) == []


def test_no_console_code_puts_unescaped_text_into_html():
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "safe.py" and path.parent.name == "apps":
            continue  # the helpers themselves
        problems += unescaped_sinks(path.read_text(encoding="utf-8"),
                                    str(path.relative_to(PACKAGE.parent)))
    assert problems == [], ("build pane text with siyu.apps.safe.md()/html() (values are "
                            "escaped there):\n" + "\n".join(problems))
