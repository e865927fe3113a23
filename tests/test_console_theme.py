"""The console template loads everything from its own server and is laid out for phones.

Fast checks without a browser; ``tests/browser/test_acceptance.py`` checks the same in
Chromium on every page.
"""

from __future__ import annotations

import panel as pn
import pytest
from bokeh.document import Document

from siyu.apps.shell import ConsoleDesign, make_template
from siyu.apps.theme import CONSOLE_CSS, META_VIEWPORT, NARROW_PX, console_js
from siyu.core.i18n import use_language


@pytest.fixture
def rendered():
    """The template variables of a console page as the server renders it."""
    with use_language("zh_CN"):
        template = make_template(title="概览 · siyu", sidebar=[pn.pane.HTML("nav")],
                                 header=[pn.pane.HTML("user")],
                                 main=[pn.pane.Markdown("hi")], language="zh_CN")
        return template.server_doc(Document())._template_variables


def _urls(resources: dict) -> list[str]:
    return [url for kind in ("js", "js_modules", "css") for url in resources[kind].values()]


def test_every_resource_of_a_console_page_comes_from_the_server(rendered):
    urls = _urls(rendered["template_resources"])

    assert urls
    outside = [url for url in urls if "//" in url]
    assert not outside, f"loaded from another origin: {outside}"


def test_the_design_links_no_web_font():
    assert "font" not in ConsoleDesign._resources
    resolved = ConsoleDesign().resolve_resources()
    assert not [url for url in _urls(resolved) if "//" in url]


def test_the_page_tells_a_phone_to_use_its_own_width(rendered):
    assert rendered["meta_viewport"] == META_VIEWPORT == "width=device-width, initial-scale=1"


def test_the_page_says_its_language_and_folds_the_navigation_on_narrow_screens(rendered):
    script = rendered["js"]

    assert 'document.documentElement.lang = "zh-CN"' in script
    assert f"max-width: {NARROW_PX - 0.02}px" in script
    assert 'sidebar.classList.add("hidden")' in script
    assert 'lang = "en"' in console_js("en")


def test_the_console_css_is_inline_and_has_a_phone_layout():
    assert "@import" not in CONSOLE_CSS and "url(" not in CONSOLE_CSS
    assert f"@media (max-width: {NARROW_PX - 0.02}px)" in CONSOLE_CSS


def test_there_is_no_light_dark_switch(rendered):
    assert rendered["theme_toggle"] is False


def test_the_template_tooltips_speak_the_page_language(rendered):
    script = rendered["js"]

    assert '"sidebar-button": "显示或隐藏导航"' in script
    assert "busy-container" in script


def test_a_label_cannot_end_the_script():
    script = console_js("en", {"sidebar-button": "</script><script>alert(1)</script>"})

    assert "</script>" not in script
