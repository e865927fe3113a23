"""``siyu.apps.browser.SHOWN_TEXT_JS`` reads what a person sees, through shadow roots and
the slots of a shadow host — the way the console's template shows a page inside its card.

The old version stopped at a shadow host's shadow root and never looked at the children the
host shows through its ``<slot>``: for a whole console page it returned ``''``.
"""

from __future__ import annotations

import pytest

from siyu.apps.browser import SHOWN_TEXT_JS

#: A card (a shadow host showing its children through a slot, like the template's card)
#: holding a Panel-like widget (a shadow host with its own text), plain text, hidden text,
#: and a child no slot shows.
PAGE = """<!doctype html><html><body>
<div id="main">
  <div id="card">
    <h2>Contacts</h2>
    <div id="widget"></div>
    <p class="plain">Page 1 of 3 · 120 contacts</p>
    <p style="display:none">hidden by display</p>
    <p style="visibility:hidden">hidden by visibility</p>
    <span slot="nowhere">a child no slot shows</span>
  </div>
</div>
<div id="kpi"><div class="label">Active contacts</div><div class="value">3,006</div></div>
<script>
  const card = document.querySelector('#card').attachShadow({mode: 'open'});
  card.innerHTML = '<header>Card title</header><slot></slot><style>header{color:red}</style>';
  const widget = document.querySelector('#widget').attachShadow({mode: 'open'});
  widget.innerHTML = '<div><button>Download CSV</button></div>';
</script>
</body></html>"""


@pytest.fixture
def page(browser):
    context = browser.new_context()
    try:
        page = context.new_page()
        page.set_content(PAGE)
        yield page
    finally:
        context.close()


def test_it_reads_a_page_inside_a_shadow_hosts_slot(page):
    lines = page.locator("#main").evaluate(SHOWN_TEXT_JS).splitlines()
    assert lines == ["Card title", "Contacts", "Download CSV", "Page 1 of 3 · 120 contacts"]


def test_an_element_without_shadow_roots_gives_its_inner_text(page):
    # bench/console_load.py reads a KPI's number from the last line this way.
    assert page.locator("#kpi").evaluate(SHOWN_TEXT_JS).splitlines() == [
        "Active contacts", "3,006"]
    assert page.locator(".plain").evaluate(SHOWN_TEXT_JS) == "Page 1 of 3 · 120 contacts"


def test_what_is_not_shown_gives_nothing(page):
    assert page.locator("p[style='display:none']").evaluate(SHOWN_TEXT_JS) == ""
    assert page.locator("span[slot]").evaluate(SHOWN_TEXT_JS) == ""
