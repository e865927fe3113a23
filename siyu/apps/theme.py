"""The console's look: a CJK-friendly font stack from the system's own fonts, and the rules
that keep every page usable on a 390 px phone. Served inline with each page: nothing is
loaded from outside the server.
"""

from __future__ import annotations

#: Fonts the reader's system already has: Chinese first where a platform has several.
FONT_STACK = ('system-ui, -apple-system, "PingFang SC", "Hiragino Sans GB", '
              '"Microsoft YaHei", "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", '
              '"WenQuanYi Micro Hei", "Helvetica Neue", Arial, sans-serif')

CONSOLE_CSS = f"""
:root, body, .bk-root, fast-design-system-provider {{
  --body-font: {FONT_STACK}; font-family: {FONT_STACK};
}}
body {{ overflow-x: hidden; }}
#main, .main {{ max-width: 100vw; box-sizing: border-box; }}
.siyu-user-badge .siyu-user {{ white-space: nowrap; }}
@media (max-width: 700px) {{
  #header .title, .app-header .title {{ font-size: 15px !important; max-width: 40vw;
    overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }}
  .siyu-user-ws, .siyu-user-role {{ display: none; }}
  #main {{ padding: 4px !important; }}
}}
"""
