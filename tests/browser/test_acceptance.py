"""Acceptance: every console page, for every role, in Chinese and in English, on a desktop
and on a phone, the way a user gets there — through the login form.

One console (the sample business wired to a WeCom sandbox as ``siyu demo`` does, users
``admin``, ``operator`` and ``analyst``) serves all of it; each role × language × screen
gets one browser context that signs in once and opens, in turn, every page that role may
open (:data:`siyu.core.permissions.ROLES` and the page's permission). Every page must:

- load nothing from another origin (every such request is blocked and reported);
- log no browser console error, raise no page error, open no ``alert``/``confirm``;
- be drawn completely: the console shell, no empty pane, no error card;
- never scroll sideways (``scrollWidth <= innerWidth``; a phone lays the page out at its
  own width), nor push text out past the screen's edge;
- in Chinese, show no English words outside :data:`ALLOWED_WORDS` and the sample data's
  own Latin names (staff user ids, contact nicknames, external ids…).

A full-page screenshot of each is saved as
``test-artifacts/screenshots/acceptance/<page>-<role>-<language>-<width>.png``. With
``SIYU_UPDATE_DOCS_SCREENSHOTS=1`` the few shown in the README (:data:`DOCS_SHOTS`) are
copied into ``docs/screenshots/`` as well.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

import siyu
from siyu.apps.browser import SHOWN_TEXT_JS
from siyu.core.permissions import ROLES

from .conftest import (
    RENDER_TIMEOUT,
    REPO,
    SCREENSHOTS,
    USERS,
    Console,
    new_workspace,
    serve_console,
    wait_until,
)

pytestmark = pytest.mark.slow

SHOTS = SCREENSHOTS / "acceptance"
DOCS_SHOTS_DIR = REPO / "docs" / "screenshots"
#: Screenshots copied into ``docs/screenshots/`` (with ``SIYU_UPDATE_DOCS_SCREENSHOTS=1``):
#: (page, role, language, width).
DOCS_SHOTS = [("overview", "admin", "zh_CN", 1440), ("overview", "admin", "zh_CN", 390),
              ("contacts", "admin", "zh_CN", 1440), ("livecodes", "admin", "zh_CN", 1440)]

LANGUAGES = ("zh_CN", "en")
#: Customers who scan the demo live code before the tests start.
SCANS = 3
#: name -> (width, height, a phone?)
VIEWPORTS = {"1440": (1440, 900, False), "390": (390, 844, True)}

#: Latin words a Chinese page may show: product, format and protocol names, and the name
#: of the English language in the language picker.
ALLOWED_WORDS = frozenset({
    "siyu", "WeCom", "CSV", "Excel", "XLSX", "PNG", "SVG", "ID", "URL", "API", "HTTP",
    "HTTPS", "JSON", "SQLite", "PostgreSQL", "English",
    # A URL's scheme, as a field's placeholder shows what to type (https://).
    "http", "https",
    # Terms Chinese retail and software use as they are (RFM 模型, 商品 SKU, Webhook 地址,
    # ERP/CRM 系统, REST 接口, SQL 数据库, MySQL, UnionID, the HTTP Link header).
    "RFM", "SKU", "Webhook", "ERP", "CRM", "REST", "SQL", "MySQL", "MariaDB", "UnionID",
    "Link",
    # WeCom's own names for an app's settings, as its admin console shows them in Chinese.
    "CorpID", "AgentId", "Secret", "Token", "EncodingAESKey",
})
#: Columns whose values are names in the sample data (shown as they are, in any language).
DATA_NAME_COLUMNS = ("name", "userid", "external_userid", "user_name", "actor", "target",
                     "owner_userid", "staff_userid")

#: A word that should have been translated: three or more Latin letters, not part of an
#: identifier, path, address or number (``wm_abc``, ``a.b``, ``x/y``, ``v1``…).
_TOKEN = re.compile(r"[A-Za-z0-9_./:@#%+=&?~*\[\]-]+")
_WORD = re.compile(r"[A-Za-z]{3,}")


# -- what the browser is asked ----------------------------------------------------------------

#: ``() => bool``: Bokeh has drawn every root of every document and nothing shows Panel's
#: loading spinner.
SETTLED_JS = """() => {
    if (!window.Bokeh || !Bokeh.documents || !Bokeh.documents.length) return false;
    if (!Bokeh.documents.every(d => d.is_idle)) return false;
    const loading = root => {
        for (const el of root.querySelectorAll('*')) {
            if (el.classList && el.classList.contains('pn-loading')) return true;
            if (el.shadowRoot && loading(el.shadowRoot)) return true;
        }
        return false;
    };
    return !loading(document);
}"""

#: ``() => {...}``: the page's width against the screen's, and the panes of the main area.
LAYOUT_JS = """() => {
    const main = document.querySelector('#main');
    const header = document.querySelector('#header');
    const panes = main ? [...main.querySelectorAll(".card-margin")] : [];
    return {
        scrollWidth: document.documentElement.scrollWidth,
        innerWidth: window.innerWidth,
        lang: document.documentElement.lang,
        title: document.title,
        panes: panes.map(p => Math.round(p.getBoundingClientRect().height)),
        sidebarOpen: !!document.querySelector('#sidebar:not(.hidden)'),
        headerBottom: header ? header.getBoundingClientRect().bottom : 0,
        mainTop: main ? main.getBoundingClientRect().top : 0,
    };
}"""

#: ``() => {edge: [str], cut: [str]}``: what sticks out past the screen's right edge without
#: a frame of its own that scrolls or clips it inside the screen (outermost such elements
#: only), and text wider than its own box (a number running out of its card, a button label
#: out of its button). What a collapsed navigation hides does not count.
SPILL_JS = """() => {
    const W = window.innerWidth + 1;
    const up = el => el.parentElement || (el.parentNode && el.parentNode.host) || null;
    const framed = el => {  // inside a frame that scrolls or clips: [on the screen, folded]
        let onScreen = false;
        for (let p = up(el); p && p !== document.body && p !== document.documentElement;
             p = up(p)) {
            if (getComputedStyle(p).overflowX === 'visible') continue;
            const r = p.getBoundingClientRect();
            if (r.width < 1 || r.height < 1) return [true, true];
            if (r.right <= W) onScreen = true;
        }
        return [onScreen, false];
    };
    const describe = el => {
        const cls = typeof el.className === 'string'
            ? el.className.trim().split(/\\s+/).slice(0, 3).join('.') : '';
        const text = (el.innerText || el.textContent || '').trim().slice(0, 40);
        return `<${el.tagName.toLowerCase()}${cls ? '.' + cls : ''}>` +
               (text ? ` ${JSON.stringify(text)}` : '');
    };
    const edge = [], cut = [];
    const walk = root => {
        for (const el of root.querySelectorAll('*')) {
            if (el.shadowRoot) walk(el.shadowRoot);
            const r = el.getBoundingClientRect();
            if (r.width < 1 || r.height < 1) continue;
            const s = getComputedStyle(el);
            if (s.visibility === 'hidden' || s.position === 'fixed') continue;
            const tooWide = r.right > W;
            const spills = el.clientWidth > 0 && el.scrollWidth > el.clientWidth + 1
                && s.overflowX === 'visible' && s.display !== 'inline'
                && [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
            if (!tooWide && !spills) continue;
            const [onScreen, folded] = framed(el);
            if (folded) continue;
            if (tooWide && !onScreen) edge.push(el);
            if (spills) cut.push(
                `${describe(el)} needs ${el.scrollWidth} px, has ${el.clientWidth} px`);
        }
    };
    walk(document);
    const outer = edge.filter(el => { for (let p = up(el); p; p = up(p))
                                          if (edge.includes(p)) return false; return true; });
    return {
        edge: outer.slice(0, 8).map(el => `${describe(el)} right edge ` +
                                          `${Math.round(el.getBoundingClientRect().right)} px`),
        cut: cut.slice(0, 8),
    };
}"""

#: ``el => str``: the text a reader sees inside ``el``, shadow roots and slotted content
#: included.
VISIBLE_TEXT_JS = SHOWN_TEXT_JS

#: ``async () => [str]``: the tables wider than their frame that do not scroll in it, whose
#: first column does not stay in place when they do, or whose pinned column leaves little
#: room for the others.
TABLES_JS = """async () => {
    const tables = [];
    const walk = root => {
        for (const el of root.querySelectorAll('*')) {
            if (el.classList.contains('tabulator')) tables.push(el);
            if (el.shadowRoot) walk(el.shadowRoot);
        }
    };
    walk(document);
    const out = [];
    for (const table of tables) {
        const holder = table.querySelector('.tabulator-tableholder');
        const first = table.querySelector('.tabulator-header .tabulator-col');
        if (!holder || !first || !table.getClientRects().length
            || holder.scrollWidth <= holder.clientWidth + 1) continue;
        const pinned = [...table.querySelectorAll('.tabulator-header .tabulator-frozen')]
            .reduce((sum, col) => sum + col.getBoundingClientRect().width, 0);
        const name = (table.getRootNode().host ? [...table.getRootNode().host.classList]
            .filter(c => c.startsWith('siyu-')).join('.') : '') || '?';
        if (pinned > 0.6 * holder.clientWidth)
            out.push(`table ${name}: its pinned column takes ${Math.round(pinned)} of ` +
                     `${holder.clientWidth} px, leaving little room to scroll the rest`);
        const before = first.getBoundingClientRect().left;
        holder.scrollLeft = holder.scrollWidth;
        await new Promise(done => setTimeout(done, 150));
        const moved = holder.scrollLeft > 0;
        const after = first.getBoundingClientRect().left;
        holder.scrollLeft = 0;
        if (!moved) out.push(`table ${name} is wider than its frame but does not scroll`);
        else if (Math.abs(after - before) > 1)
            out.push(`table ${name}: its first column scrolls away (not pinned)`);
    }
    return out;
}"""

#: ``el => [str]``: placeholders, titles, labels and tooltips a user reads inside ``el``
#: (shadow roots included), for visible elements (tooltips show on hover).
LABELS_JS = """el => {
    const out = [];
    const walk = root => {
        for (const node of root.querySelectorAll('*')) {
            if (node.tagName === 'FAST-TOOLTIP') out.push(node.textContent.trim());
            if (node.getClientRects().length) {
                for (const name of ['placeholder', 'title', 'aria-label']) {
                    const value = node.getAttribute(name);
                    // Choices.js labels its search box "null": nothing a reader sees.
                    if (value && value !== 'null') out.push(value);
                }
            }
            if (node.shadowRoot) walk(node.shadowRoot);
        }
    };
    walk(el);
    return out;
}"""


# -- the console under test -------------------------------------------------------------------

@dataclass
class Site:
    """The acceptance console: its server, its pages (name, title, permission) in navigation
    order, and the Latin words its data holds."""

    console: Console
    pages: list[tuple[str, str, str]]
    data_words: frozenset[str] = field(repr=False)

    def pages_for(self, role: str) -> list[str]:
        """The pages ``role`` may open, in navigation order."""
        return [name for name, _title, permission in self.pages if permission in ROLES[role]]

    def page_denied_to(self, role: str) -> str:
        """A page ``role`` may not open."""
        return next(name for name, _title, permission in self.pages
                    if permission not in ROLES[role])


def data_words(ws: siyu.Workspace) -> frozenset[str]:
    """Every Latin word in the workspace's name columns (:data:`DATA_NAME_COLUMNS`): data the
    console shows as it is, whatever the language."""
    words: set[str] = set()
    inspector = sa.inspect(ws.engine)
    with ws.engine.connect() as conn:
        for table in inspector.get_table_names():
            for column in inspector.get_columns(table):
                name = column["name"]
                if name not in DATA_NAME_COLUMNS and not name.endswith("_name"):
                    continue
                query = sa.text(f'SELECT DISTINCT "{name}" FROM "{table}"')
                for (value,) in conn.execute(query):
                    if isinstance(value, str):
                        words.update(english_words(value, frozenset()))
    return frozenset(words)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[Site]:
    """One console for the whole module, speaking its own default (no ``SIYU_LANGUAGE``;
    each test sets its user's language), on the sample business wired to a WeCom sandbox
    the way ``siyu demo`` does it: synced, with the demo live code, which
    :data:`SCANS` customers have scanned, so the WeCom and live-code pages show data."""
    from siyu.plugins.livecodes import api as livecodes
    from siyu.plugins.wecom.demo import wire_sandbox

    db = new_workspace(tmp_path_factory.mktemp("acceptance") / "shop.db", sample=True)
    with siyu.open(str(db)) as ws:
        demo = wire_sandbox(ws, seed=7)
        pages = [(spec.name, str(spec.title), spec.permission)
                 for spec in sorted(ws.pages().values(), key=lambda p: (p.order, p.name))]
        # The plugins page names plugins and their hooks as the code does.
        names = " ".join(f"{info.name} {' '.join(info.hooks)}" for info in ws.pm.describe())
        words = data_words(ws) | set(english_words(names, frozenset()))
    try:
        with serve_console(db, environ={"SIYU_LANGUAGE": None}) as console:
            with siyu.open(str(db)) as ws:
                demo.ws = ws
                demo.connect(urlsplit(console.url).port)
                for number in range(SCANS):
                    demo.sandbox.people.scan_contact_way(demo.code["config_id"],
                                                         name=f"扫码客户{number + 1}")
                wait_until(lambda: len(livecodes.adds_df(ws)) == SCANS, timeout=30)
            demo.ws = None
            yield Site(console, pages, words)
    finally:
        demo.stop()


def set_language(site: Site, role: str, language: str) -> None:
    """Save ``language`` as the console language of ``role``'s user."""
    with siyu.open(str(site.console.db), load_entry_points=False) as ws:
        ws.users.set_language(USERS[role][0], language)


# -- watching a browser context ---------------------------------------------------------------

@dataclass
class Watch:
    """What a browser context did that it must not: requests to other origins (blocked),
    console errors, page errors, dialogs. :meth:`take` hands them over and starts afresh."""

    host: str
    outside: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def attach(self, context) -> None:
        """Block and record every request of ``context`` that leaves the console's host."""
        def route(request_route) -> None:
            url = request_route.request.url
            if urlsplit(url).scheme in ("http", "https", "ws", "wss") \
                    and urlsplit(url).netloc != self.host:
                self.outside.append(url)
                request_route.abort()
            else:
                request_route.continue_()
        context.route("**/*", route)

    def watch(self, page) -> None:
        """Record ``page``'s console errors, font warnings, page errors and dialogs."""
        def console(message) -> None:
            if message.type == "error" or (message.type == "warning"
                                           and "font" in message.text.lower()):
                where = message.location.get("url", "") if message.location else ""
                self.errors.append(f"console {message.type}: {message.text} ({where})")

        def dialog(box) -> None:
            self.errors.append(f"a {box.type} dialog: {box.message!r}")
            box.dismiss()

        page.on("console", console)
        page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))
        page.on("dialog", dialog)

    def take(self) -> list[str]:
        """The problems seen since the last call."""
        found = [f"loaded from outside the server: {url}" for url in dict.fromkeys(self.outside)]
        found += list(dict.fromkeys(self.errors))
        self.outside.clear()
        self.errors.clear()
        return found


def english_words(text: str, allowed: frozenset[str]) -> list[str]:
    """The words in ``text`` that look like untranslated English: three or more Latin
    letters, not inside an identifier, path, number or address, not in ``allowed``."""
    found: list[str] = []
    text = re.sub(r"\{[^{}]*\}", " ", text)  # {placeholders} of a message template
    for token in _TOKEN.findall(text):
        token = token.strip(".:/?#&=+~-[]")
        if not token or re.search(r"[0-9_./:@#%+=&?~*\[\]]", token):
            continue  # ids, versions, paths, addresses, times, patterns
        for word in token.split("-"):
            if _WORD.fullmatch(word) and word not in allowed and word not in found:
                found.append(word)
    return found


# -- one page -------------------------------------------------------------------------------

def settle(page, timeout: float = RENDER_TIMEOUT) -> None:
    """Wait until the console shell is there and Bokeh has drawn everything."""
    page.locator(".siyu-user-name").first.wait_for(state="visible", timeout=timeout * 1000)
    page.locator("nav.siyu-nav").first.wait_for(state="attached", timeout=timeout * 1000)
    wait_until(lambda: page.evaluate(SETTLED_JS), timeout=timeout, interval=0.2, page=page)
    page.wait_for_timeout(400)  # what Panel sends right after the first draw


def shot(page, name: str, role: str, language: str, width: int) -> Path:
    """Save a full-page screenshot under ``test-artifacts/screenshots/acceptance/``."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}-{role}-{language}-{width}.png"
    page.screenshot(path=str(path), full_page=True)
    if os.environ.get("SIYU_UPDATE_DOCS_SCREENSHOTS") and (name, role, language,
                                                            width) in DOCS_SHOTS:
        copy_for_docs(path, DOCS_SHOTS_DIR / f"{name}-{language}-{width}.png")
    return path


def copy_for_docs(source: Path, target: Path) -> None:
    """Copy a screenshot into the documentation, in 256 colours (a third of the size, no
    visible difference for a console page)."""
    from PIL import Image  # Bokeh's dependency

    target.parent.mkdir(parents=True, exist_ok=True)
    with Image.open(source) as image:
        image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(
            target, optimize=True)


def layout_problems(page, phone: bool, width: int) -> list[str]:
    """Sideways scrolling, text past the screen's edge or out of its box, tables that do not
    scroll in their own frame with the first column pinned, a header over the content, empty
    panes."""
    problems = []
    layout = page.evaluate(LAYOUT_JS)
    if layout["innerWidth"] != width:
        problems.append(f"laid out {layout['innerWidth']} px wide on a {width} px screen "
                        f"(no viewport meta?)")
    if layout["scrollWidth"] > layout["innerWidth"] + 1:
        problems.append(f"the page scrolls sideways: {layout['scrollWidth']} px wide on a "
                        f"{layout['innerWidth']} px screen")
    spill = page.evaluate(SPILL_JS)
    problems += [f"sticks out past the screen: {what}" for what in spill["edge"]]
    problems += [f"text does not fit its box: {what}" for what in spill["cut"]]
    problems += page.evaluate(TABLES_JS)
    if phone and layout["sidebarOpen"]:
        problems.append("the navigation is open over the page on a phone")
    if layout["mainTop"] < layout["headerBottom"] - 1:
        problems.append(f"the header (bottom {layout['headerBottom']:.0f} px) overlaps the "
                        f"page (top {layout['mainTop']:.0f} px)")
    if not layout["panes"] or min(layout["panes"]) < 24:
        problems.append(f"an empty pane in the main area (heights {layout['panes']})")
    return problems


def text_problems(page, site: Site, role: str) -> list[str]:
    """English words on a Chinese page: in the header, the navigation, the main area, the
    window title, and the placeholders and labels of what is shown."""
    allowed = ALLOWED_WORDS | site.data_words | {USERS[role][0]}
    problems = []
    title = page.evaluate("document.title")
    regions = {"window title": title}
    for region, selector in (("header", "#header"), ("navigation", "#sidebar"),
                             ("page", "#main")):
        locator = page.locator(selector)
        if locator.count():
            regions[region] = locator.first.evaluate(VISIBLE_TEXT_JS)
            regions[f"{region} labels"] = "\n".join(locator.first.evaluate(LABELS_JS))
    for region, text in regions.items():
        words = english_words(text, allowed)
        if words:
            problems.append(f"untranslated in the {region}: {', '.join(words[:25])}")
    return problems


def check_page(page, site: Site, watch: Watch, name: str, *, role: str, language: str,
               viewport: str) -> list[str]:
    """Open console page ``name``, save its screenshot, and list everything wrong with it."""
    width, _height, phone = VIEWPORTS[viewport]
    response = page.goto(f"{site.console.url}/{name}")
    problems: list[str] = []
    if response is None or response.status != 200:
        problems.append(f"answered {response.status if response else 'nothing'}")
    try:
        settle(page)
    except Exception as exc:  # noqa: BLE001 - reported with the rest
        problems.append(f"was not drawn: {str(exc).splitlines()[0]}")
    shot(page, name, role, language, width)
    if page.locator(".siyu-error-card").count():
        problems.append("shows an error card: "
                        + page.locator(".siyu-error-card").first.evaluate(VISIBLE_TEXT_JS)[:200])
    problems += layout_problems(page, phone, width)
    if language == "zh_CN":
        problems += text_problems(page, site, role)
    problems += watch.take()
    return problems


def new_context(browser, viewport: str, language: str):
    """A browser context the size of ``viewport``; a phone's honours the viewport meta."""
    width, height, phone = VIEWPORTS[viewport]
    context = browser.new_context(viewport={"width": width, "height": height},
                                  is_mobile=phone, has_touch=phone,
                                  locale="zh-CN" if language == "zh_CN" else "en-US")
    context.set_default_timeout(RENDER_TIMEOUT * 1000)
    return context


def sign_in(page, site: Site, watch: Watch, role: str, language: str, viewport: str
            ) -> list[str]:
    """Sign in through the login form (in ``language``); the login page's problems."""
    width = VIEWPORTS[viewport][0]
    name, password = USERS[role]
    page.goto(f"{site.console.url}/login?lang={language}")
    problems = []
    shot(page, "login", role, language, width)
    layout = page.evaluate(LAYOUT_JS)
    if layout["scrollWidth"] > layout["innerWidth"] + 1:
        problems.append(f"the page scrolls sideways ({layout['scrollWidth']} px)")
    if language == "zh_CN":
        words = english_words(page.locator("body").inner_text() + "\n" + layout["title"],
                              ALLOWED_WORDS | {"siyu"})
        if words:
            problems.append(f"untranslated: {', '.join(words)}")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert "/login" not in page.url, f"signing in as {name} failed: {page.url}"
    problems += watch.take()
    return [f"login ({role}, {language}, {viewport} px): {problem}" for problem in problems]


# -- the tests ------------------------------------------------------------------------------

@pytest.mark.parametrize("viewport", list(VIEWPORTS))
@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("role", list(USERS))
def test_every_page_a_role_may_open_is_complete_and_self_contained(browser, site, role,
                                                                   language, viewport):
    set_language(site, role, language)
    context = new_context(browser, viewport, language)
    watch = Watch(urlsplit(site.console.url).netloc)
    watch.attach(context)
    try:
        page = context.new_page()
        watch.watch(page)
        problems = sign_in(page, site, watch, role, language, viewport)
        pages = site.pages_for(role)
        assert pages, f"{role} may open no page"
        seen: set[str] = set()
        for name in pages:
            for problem in check_page(page, site, watch, name, role=role, language=language,
                                      viewport=viewport):
                if problem.startswith("untranslated in the navigation"):
                    if problem in seen:
                        continue  # the same on every page: once is enough
                    seen.add(problem)
                problems.append(f"{name} ({role}, {language}, {viewport} px): {problem}")
    finally:
        context.close()

    assert not problems, f"{len(problems)} problem(s):\n" + "\n".join(problems)


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
@pytest.mark.parametrize("language", LANGUAGES)
def test_a_page_the_analyst_may_not_open_shows_the_no_access_page(browser, site, language,
                                                                  viewport):
    set_language(site, "analyst", language)
    width = VIEWPORTS[viewport][0]
    denied = site.page_denied_to("analyst")
    context = new_context(browser, viewport, language)
    watch = Watch(urlsplit(site.console.url).netloc)
    watch.attach(context)
    try:
        page = context.new_page()
        watch.watch(page)
        problems = sign_in(page, site, watch, "analyst", language, viewport)

        response = page.goto(f"{site.console.url}/{denied}")
        shot(page, "denied", "analyst", language, width)

        assert urlsplit(page.url).path.rstrip("/") == "/denied", page.url
        assert response.status == 403
        card = page.locator(".siyu-denied")
        assert card.is_visible()
        title = next(title for name, title, _p in site.pages if name == denied)
        assert page.locator(".siyu-denied-page").inner_text().strip()
        text = card.inner_text()
        if language == "zh_CN":
            words = english_words(text, ALLOWED_WORDS | site.data_words | {"analyst"})
            problems += [f"untranslated on the no-access page: {', '.join(words)}"] \
                if words else []
        else:
            assert title in text
        layout = page.evaluate(LAYOUT_JS)
        if layout["scrollWidth"] > layout["innerWidth"] + 1:
            problems.append(f"the no-access page scrolls sideways ({layout['scrollWidth']} px)")
        # The browser logs the page's own 403 as a failed load: that one is the point.
        problems += [problem for problem in watch.take()
                     if not ("status of 403" in problem and "/denied?" in problem)]
    finally:
        context.close()

    assert not problems, "\n".join(problems)


def test_the_navigation_starts_collapsed_on_a_phone_and_opens_over_the_page(browser, site):
    set_language(site, "admin", "zh_CN")
    context = new_context(browser, "390", "zh_CN")
    try:
        page = context.new_page()
        watch = Watch(urlsplit(site.console.url).netloc)
        sign_in(page, site, watch, "admin", "zh_CN", "390")
        settle(page)
        nav = page.locator("nav.siyu-nav")
        assert not nav.is_visible()
        main_left = page.locator("#main").bounding_box()["x"]

        page.locator("#sidebar-button").click()
        wait_until(lambda: nav.is_visible(), timeout=5, page=page)
        screenshot_path = shot(page, "navigation-open", "admin", "zh_CN", 390)
        assert page.locator("#main").bounding_box()["x"] == main_left, \
            f"opening the navigation moved the page (see {screenshot_path})"

        page.locator("#main").click(position={"x": 360, "y": 300})
        wait_until(lambda: not nav.is_visible(), timeout=5, page=page)
    finally:
        context.close()


def test_the_navigation_stays_in_view_while_a_long_page_scrolls_on_a_desktop(browser, site):
    set_language(site, "admin", "zh_CN")
    context = new_context(browser, "1440", "zh_CN")
    try:
        page = context.new_page()
        watch = Watch(urlsplit(site.console.url).netloc)
        sign_in(page, site, watch, "admin", "zh_CN", "1440")
        page.goto(f"{site.console.url}/contacts")
        settle(page)
        assert page.evaluate("document.documentElement.scrollHeight > innerHeight + 900")

        page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
        wait_until(lambda: page.evaluate("window.scrollY") > 900, timeout=5, page=page)

        current = page.locator("nav.siyu-nav a.siyu-nav-current")
        box = current.bounding_box()
        assert current.is_visible() and 0 < box["y"] < 900, box
        assert page.locator(".siyu-user-name").bounding_box()["y"] >= 0  # the header too
    finally:
        context.close()
