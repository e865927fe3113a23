"""The console's look: a CJK-friendly font stack from the system's own fonts, and the rules
that keep every page usable on a 390 px phone. Served inline with each page: nothing is
loaded from outside the server.

- :data:`FONT_STACK` — the fonts, all from the reader's own system (no web fonts).
- :data:`CONSOLE_CSS` — the layout: the page scrolls as a whole under a sticky header; on
  screens narrower than :data:`NARROW_PX` the navigation is an overlay the menu button opens,
  and nothing is wider than the screen (tables scroll inside their own frame).
- :data:`BADGE_CSS`, :data:`PICKER_CSS`, :data:`BUTTON_GROUP_CSS` — the same inside the
  shadow roots of the header's user badge and language picker, and of every button group.
- :func:`console_js` — the few lines of script the template runs as the page is drawn: the
  document's language, the navigation collapsed on a narrow screen, the template's own
  tooltips in the page's language.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

#: Fonts the reader's system already has: Chinese first where a platform has several.
FONT_STACK = ('system-ui, -apple-system, "PingFang SC", "Hiragino Sans GB", '
              '"Microsoft YaHei", "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", '
              '"WenQuanYi Micro Hei", "Helvetica Neue", Arial, sans-serif')

#: Below this width (CSS pixels) the console is laid out for a phone: the navigation starts
#: collapsed and opens over the page, the header keeps only the essentials.
NARROW_PX = 800

#: What the template tells a phone's browser: lay the page out at the device's width, do not
#: shrink a desktop-wide page into it.
META_VIEWPORT = "width=device-width, initial-scale=1"


CONSOLE_CSS = f"""
:root, body, .bk-root, fast-design-system-provider {{
  --body-font: {FONT_STACK}; font-family: {FONT_STACK};
}}
/* The document scrolls, not an inner box: phones show and hide their address bar, and a
   full-page screenshot or print holds the whole page. The header stays on top. */
html, body {{ height: auto; min-height: 100%; }}
body {{ overflow-x: hidden; overflow-y: auto; }}
#container {{ width: 100%; max-width: 100%; }}
#header-design-provider {{ position: sticky; top: 0; z-index: 30; }}
#header {{ height: auto; min-height: 44px; box-sizing: content-box; }}
#header-items {{ min-width: 0; gap: 4px; }}
#content {{ height: auto; min-height: calc(100vh - 64px); width: 100%; }}
/* The navigation column runs the page's full length; its links stay in view. */
#sidebar {{ align-self: stretch; height: auto; box-sizing: border-box; overflow: visible; }}
#sidebar > ul {{ position: sticky; top: 76px; max-height: calc(100vh - 88px);
  overflow-y: auto; }}
#main {{ height: auto; overflow: visible; min-width: 0; box-sizing: border-box; }}
#main .card-margin {{ max-width: 100%; }}
#main fast-card.pn-wrapper {{ max-width: 100%; box-sizing: border-box; }}
.siyu-language {{ flex: none; }}
@media (max-width: {NARROW_PX - 0.02}px) {{
  #header {{ padding: 6px 8px; min-height: 40px; }}
  #sidebar-button {{ margin: 0 8px 0 2px; }}
  #header .app-header {{ display: none; }}
  #header-items {{ padding-left: 0; justify-content: flex-end; }}
  #content {{ min-height: calc(100vh - 52px); }}
  /* The navigation opens over the page (the menu button), never beside it. */
  #sidebar {{ position: fixed; top: 52px; left: 0; bottom: 0; height: auto; z-index: 25;
    overflow-y: auto; background: var(--background-color, #fff);
    box-shadow: 2px 0 12px rgba(0,0,0,.25); }}
  #sidebar.hidden {{ overflow: hidden; box-shadow: none; }}
  #sidebar > ul {{ position: static; max-height: none; }}
  #main {{ padding: 0 6px !important; width: 100%; }}
  #main .card-margin {{ margin: 6px 0; }}
  #main fast-card.pn-wrapper {{ padding: 8px 4px; }}
}}
"""


#: The header's user badge (inside its own shadow root, where :data:`CONSOLE_CSS` does not
#: reach): one line; on a phone only the user's name and "sign out".
BADGE_CSS = f"""
.siyu-user {{ white-space: nowrap; }}
@media (max-width: {NARROW_PX - 0.02}px) {{ .siyu-user-ws, .siyu-user-role {{ display: none; }} }}
"""

#: The header's language picker: dark text on white (the header's own text is white).
PICKER_CSS = """
:host { color: #1f2d3d; }
select.bk-input { color: #1f2d3d; background-color: #fff; }
"""


#: Every button group (radio and check buttons, e.g. "last 7 / 30 / 90 days"), inside its
#: own shadow root: on a screen too narrow for one line the buttons wrap onto more lines
#: instead of squeezing their labels.
BUTTON_GROUP_CSS = """
.bk-btn-group { flex-wrap: wrap; row-gap: 4px; }
.bk-btn-group > .bk-btn { flex: 1 0 auto; white-space: nowrap; }
"""


def _js_value(value: object) -> str:
    """``value`` as a JavaScript literal that cannot end the ``<script>`` it sits in."""
    return json.dumps(value, ensure_ascii=False).replace("</", "<\\/")


def console_js(language: str, labels: Mapping[str, str] | None = None) -> str:
    """The script the console template runs where its navigation is drawn.

    It sets the document's language (``zh-CN`` or ``en``: browsers pick fonts and line
    breaks by it; Panel's page says ``en`` whatever it holds); on a screen narrower than
    :data:`NARROW_PX` it collapses the navigation before the first paint (the menu button
    opens it over the page, a tap on the page closes it again); and it replaces the
    template's own English tooltips: ``labels`` maps the id of a header control
    (``sidebar-button``, ``busy-container``) to its text in the page's language, also set
    as the control's ``aria-label``.
    """
    lang = "zh-CN" if language.startswith("zh") else language.replace("_", "-")
    return f"""
(function () {{
  document.documentElement.lang = {_js_value(lang)};
  var labels = {_js_value(dict(labels or {}))};
  Object.keys(labels).forEach(function (id) {{
    var control = document.getElementById(id);
    var tip = document.querySelector('fast-tooltip[anchor="' + id + '"]');
    if (control) control.setAttribute("aria-label", labels[id]);
    if (tip) tip.textContent = labels[id];
  }});
  var narrow = window.matchMedia("(max-width: {NARROW_PX - 0.02}px)");
  var sidebar = document.getElementById("sidebar");
  var button = document.getElementById("sidebar-button");
  var main = document.getElementById("main");
  if (!sidebar || !button) return;
  if (narrow.matches) {{
    sidebar.classList.add("hidden");
    button.onclick = function () {{ openNav(); }};
  }}
  if (main) main.addEventListener("click", function () {{
    if (narrow.matches && !sidebar.classList.contains("hidden")) closeNav();
  }});
}})();
"""
