"""The browser-test harness: a real ``siyu serve`` on a free port, driven by headless Chromium.

Each console runs ``python -m siyu serve --db PATH --port 0 --no-scheduler`` as a subprocess
on a workspace built for it (users ``admin``, ``operator`` and ``analyst``, see :data:`USERS`);
its URL is read from the ``Console: http://...`` line it prints when ready. The browser is the
system Chromium (``/usr/bin/chromium``, or ``$SIYU_TEST_CHROMIUM``), started once per session;
every test gets a fresh context, so no cookies leak from one test to the next.

Helpers, used by the tests directly: :func:`login`, :func:`wait_until`, :func:`visit` (open a
console page, wait until it is drawn, save a screenshot) and :func:`screenshot`. Screenshots go
to ``test-artifacts/screenshots/`` at the repository root.

Without Chromium the browser tests are skipped, unless ``$CI`` is set: then they fail.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import siyu
from siyu.apps.browser import SHOWN_TEXT_JS
from siyu.samples import load_sample_business
from siyu.storage.bulk import db_times, insert_rows
from siyu.storage.models import Contact

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"
CHROMIUM = os.environ.get("SIYU_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]

#: Console users of every test workspace: role -> (user name, password).
USERS = {"admin": ("admin", "admin-secret-1"),
         "operator": ("operator", "operator-secret-1"),
         "analyst": ("analyst", "analyst-secret-1")}

#: How long a console may take to print its URL.
START_TIMEOUT = 60.0
#: How long a page may take to be drawn (Bokeh loads, opens its websocket, renders).
RENDER_TIMEOUT = 30.0

_READY = re.compile(r"Console: (http://\S+?)/?\s")


# -- waiting --------------------------------------------------------------------------------

def wait_until(fn: Callable[[], Any], timeout: float = 10.0, interval: float = 0.1,
               page: Any = None) -> Any:
    """Call ``fn`` until it returns something truthy without raising ``AssertionError``.

    :param fn: the condition; may assert.
    :param timeout: seconds before giving up.
    :param interval: seconds between tries.
    :param page: a Playwright page to wait on between tries (keeps its events flowing).
    :return: what ``fn`` returned.
    :raises AssertionError: the condition still failed after ``timeout``; the message
        carries the last failure.
    """
    __tracebackhide__ = True
    deadline = time.monotonic() + timeout
    last: str = "the condition stayed false"
    while True:
        try:
            result = fn()
            if result:
                return result
            last = f"the condition returned {result!r}"
        except AssertionError as exc:
            last = str(exc) or "an assertion failed"
        if time.monotonic() > deadline:
            raise AssertionError(f"wait_until timed out after {timeout:.0f} s: {last}")
        if page is not None:
            page.wait_for_timeout(interval * 1000)
        else:
            time.sleep(interval)


# -- the console process --------------------------------------------------------------------

@dataclass
class Console:
    """A running ``siyu serve``: its base URL (no trailing slash) and its output so far."""

    url: str
    db: Path
    process: subprocess.Popen
    lines: list[str] = field(default_factory=list)

    def output(self) -> str:
        """Everything the server printed (stdout and stderr) up to now."""
        return "".join(self.lines)


@contextmanager
def serve_console(db: Path, *, python_path: list[Path] = (), cwd: Path | None = None,
                  timeout: float = START_TIMEOUT,
                  environ: dict[str, str | None] | None = None) -> Iterator[Console]:
    """Run ``python -m siyu serve --db DB --port 0 --no-scheduler`` until the block ends.

    :param db: the SQLite workspace file.
    :param python_path: folders put in front of ``PYTHONPATH`` (e.g. a test plugin's).
    :param cwd: working folder of the server (default: the database's folder).
    :param timeout: seconds to wait for the ``Console: http://...`` line.
    :param environ: environment variables to set for the server (``None`` values remove
        one), e.g. ``{"SIYU_LANGUAGE": None}`` for a server that speaks its default.
    :raises pytest.fail.Exception: the server exited or stayed silent; the message holds
        its output.
    """
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env.pop("SIYU_DATABASE_URL", None)
    for name, value in (environ or {}).items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    if python_path:
        env["PYTHONPATH"] = os.pathsep.join([*map(str, python_path),
                                             env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    process = subprocess.Popen(
        [sys.executable, "-m", "siyu", "serve", "--db", str(db), "--port", "0",
         "--no-scheduler"],
        cwd=cwd or db.parent, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, encoding="utf-8", errors="replace")
    lines: list[str] = []
    found: dict[str, str] = {}
    ready = threading.Event()

    def read() -> None:  # drains the pipe for the server's whole life, so it never blocks
        for line in process.stdout:
            lines.append(line)
            match = _READY.search(line)
            if match and not ready.is_set():
                found["url"] = match.group(1).rstrip("/")
                ready.set()
        ready.set()  # the output ended: the process is gone

    reader = threading.Thread(target=read, name=f"siyu serve {db.name}", daemon=True)
    reader.start()
    try:
        ready.wait(timeout)
        if "url" not in found:
            state = (f"exited with {process.poll()}" if process.poll() is not None
                     else f"printed no console URL within {timeout:.0f} s")
            pytest.fail(f"siyu serve {state}; its output:\n{''.join(lines)}", pytrace=False)
        yield Console(found["url"], db, process, lines)
    finally:
        _stop(process)
        reader.join(5)


def _stop(process: subprocess.Popen) -> None:
    """Ctrl-C (the server stops cleanly and closes its workspace), then kill if need be."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


# -- workspaces -----------------------------------------------------------------------------

def new_workspace(path: Path, *, sample: bool = False, contacts: int = 0,
                  seed: int = 20261125) -> Path:
    """Create the SQLite workspace ``path`` with the :data:`USERS`.

    :param sample: load the bundled sample business (stores, staff, 3,000 contacts,
        orders, tags).
    :param contacts: bulk-insert this many generated contacts (see :func:`bulk_contacts`).
    :return: ``path``.
    """
    with siyu.open(str(path), load_entry_points=False) as ws:
        for role, (name, password) in USERS.items():
            ws.users.add(name, role, password)
        if sample:
            load_sample_business(ws)
        if contacts:
            bulk_contacts(ws, contacts, seed=seed)
    return path


def bulk_contacts(ws: siyu.Workspace, count: int, *, seed: int = 20261125) -> None:
    """Insert ``count`` generated contacts in one ``executemany`` (no ORM, no hooks).

    Contact ``i`` (1-based insertion order) is named ``客户{i:06d}`` with external id
    ``wm-test-{i:06d}``, so a test can tell which page of the table it sees.
    """
    rng = np.random.default_rng(seed)
    number = np.arange(1, count + 1)
    now = datetime.now(UTC)
    added = pd.Series(pd.to_datetime(now - timedelta(days=90))
                      + pd.to_timedelta(rng.integers(0, 90 * 86400, count), unit="s"))
    # One in ten has been removed again, at some time between being added and now.
    removed = (added + (pd.Timestamp(now) - added) * rng.random(count)).where(
        rng.random(count) < 0.1)
    cities = np.array(["上海", "北京", "广州", "深圳", "杭州", "成都"])[rng.integers(0, 6, count)]
    channels = np.array(["抖音", "门店海报", "天猫", "包裹卡"])[rng.integers(0, 4, count)]
    phones = (13_800_000_000 + number).astype(str)
    columns = ("external_userid", "name", "phone", "gender", "city", "source_channel",
               "remark", "added_at", "removed_at", "created_at", "updated_at")
    with ws.engine.begin() as conn:
        stamp = db_times(conn, pd.Series([now]))[0]
        rows = list(zip([f"wm-test-{i:06d}" for i in number],
                        [f"客户{i:06d}" for i in number], phones.tolist(),
                        rng.integers(0, 3, count).tolist(), cities.tolist(),
                        channels.tolist(), [""] * count, db_times(conn, added),
                        db_times(conn, removed), [stamp] * count, [stamp] * count,
                        strict=True))
        insert_rows(conn, Contact.__table__, columns, rows)


BROKEN_PAGE_PLUGIN = '''\
"""A console page whose factory raises, as a page would when its data source is down."""

from siyu import hookimpl
from siyu.core.records import PageSpec


def build(ws):
    raise RuntimeError("the sales feed is unreachable")


@hookimpl
def register_pages(ws):
    return [PageSpec(name="broken", title="Broken report", factory=build, order=900)]
'''


def broken_page_plugin(folder: Path) -> Path:
    """Write an installed-looking distribution ``siyu-broken-page`` into ``folder``: the
    module plus a ``.dist-info`` whose ``siyu`` entry point names it, so a server with
    ``folder`` on its ``PYTHONPATH`` loads it like any third-party plugin.

    :return: ``folder``.
    """
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "siyu_broken_page.py").write_text(BROKEN_PAGE_PLUGIN, encoding="utf-8")
    meta = folder / "siyu_broken_page-1.0.dist-info"
    meta.mkdir(exist_ok=True)
    (meta / "METADATA").write_text("Metadata-Version: 2.1\nName: siyu-broken-page\n"
                                   "Version: 1.0\n", encoding="utf-8")
    (meta / "entry_points.txt").write_text(textwrap.dedent("""\
        [siyu]
        broken_page = siyu_broken_page
        """), encoding="utf-8")
    (meta / "top_level.txt").write_text("siyu_broken_page\n", encoding="utf-8")
    return folder


# -- the browser ----------------------------------------------------------------------------

@pytest.fixture(scope="session")
def browser():
    """Headless system Chromium for the whole session (skipped when it is missing, unless
    ``$CI`` is set)."""
    reason = None
    if not Path(CHROMIUM).exists():
        reason = (f"Chromium not found at {CHROMIUM}; install it (apt-get install chromium) "
                  f"or point $SIYU_TEST_CHROMIUM at one")
    else:
        try:
            from playwright.sync_api import sync_playwright
        except ImportError:
            reason = "the playwright package is missing; pip install -e '.[test]'"
    if reason:
        if os.environ.get("CI"):
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def context(browser):
    """A fresh browser context (no cookies, no storage) per test."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
    ctx.set_default_timeout(RENDER_TIMEOUT * 1000)
    yield ctx
    ctx.close()


_CALL_FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Remember whether the test itself failed, for the ``page`` fixture's teardown."""
    report = yield
    if report.when == "call":
        item.stash[_CALL_FAILED] = report.failed
    return report


@pytest.fixture
def page(context, request):
    """A tab in the test's context. Its screenshots are named after the test; when the
    test fails, what the tab showed last is saved as ``<test>-failed.png``."""
    tab = context.new_page()
    tab.screenshot_prefix = _slug(request.node.name.removeprefix("test_"))
    yield tab
    if request.node.stash.get(_CALL_FAILED, False) and tab.url.startswith("http"):
        screenshot(tab, "failed")


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")


def screenshot(page, label: str) -> Path:
    """Save what ``page`` shows as ``test-artifacts/screenshots/<test>-<label>.png``."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    prefix = getattr(page, "screenshot_prefix", "page")
    path = SCREENSHOTS / f"{prefix}-{_slug(label)}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


# -- console helpers ------------------------------------------------------------------------

def login(page, base: str, user: str, password: str):
    """Sign in through the login form; returns the response of the page it lands on."""
    page.goto(f"{base}/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", password)
    with page.expect_navigation() as landed:
        page.click("button[type=submit]")
    return landed.value


def login_as(page, console: Console, role: str):
    """Sign in as the :data:`USERS` entry of ``role``."""
    name, password = USERS[role]
    return login(page, console.url, name, password)


def wait_for_shell(page, timeout: float = RENDER_TIMEOUT) -> None:
    """Wait until the console shell is drawn: navigation and the signed-in user.

    :raises AssertionError: it did not appear; the message quotes what the page shows.
    """
    __tracebackhide__ = True
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.locator("nav.siyu-nav").first.wait_for(state="visible", timeout=timeout * 1000)
        page.locator(".siyu-user-name").first.wait_for(state="visible",
                                                       timeout=timeout * 1000)
    except PlaywrightTimeout:
        shown = shown_text(page.locator("body"))[:500]
        raise AssertionError(f"the console shell did not appear within {timeout:.0f} s at "
                             f"{page.url}; the page shows: {shown!r}") from None


def visit(page, console: Console, name: str, ready: str | None = None):
    """Open console page ``name``, wait until it is drawn, save a screenshot.

    :param ready: a selector that shows the page's own content is there; without it the
        shell (navigation and user) is enough.
    :return: the navigation's response.
    """
    response = page.goto(f"{console.url}/{name}")
    wait_for_shell(page)
    if ready:
        page.locator(ready).first.wait_for(state="visible")
    screenshot(page, name)
    return response




def shown_text(locator) -> str:
    """The text a user sees in the element ``locator`` points at, including what Panel
    draws inside its shadow roots (``inner_text`` stops at a shadow root)."""
    return locator.first.evaluate(SHOWN_TEXT_JS)


def nav_titles(page) -> list[str]:
    """The link texts of the console navigation, in order."""
    return [text.strip() for text in page.locator("nav.siyu-nav a").all_inner_texts()]


# -- consoles -------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def console(tmp_path_factory) -> Iterator[Console]:
    """A console on the sample business (3,000 contacts, orders, tags) with the three users.

    Shared by the session: tests that change data use names no other test uses.
    """
    folder = tmp_path_factory.mktemp("console")
    with serve_console(new_workspace(folder / "shop.db", sample=True)) as running:
        yield running


@pytest.fixture(scope="session")
def big_console(tmp_path_factory) -> Iterator[Console]:
    """A console on 100,000 generated contacts (see :func:`bulk_contacts`)."""
    folder = tmp_path_factory.mktemp("big-console")
    with serve_console(new_workspace(folder / "big.db", contacts=100_000)) as running:
        yield running


@pytest.fixture
def broken_console(tmp_path) -> Iterator[Console]:
    """A console with one more page, from an entry-point plugin, whose factory raises."""
    plugin = broken_page_plugin(tmp_path / "plugin")
    with serve_console(new_workspace(tmp_path / "shop.db"), python_path=[plugin]) as running:
        yield running


@pytest.fixture
def sandbox_console(tmp_path) -> Iterator[tuple[Console, Any]]:
    """A console configured for a WeCom sandbox running in the test process (its default
    world: members ``zhangsan``, ``lisi``…), which posts its callbacks to the console.

    :return: ``(console, sandbox)``; drive WeCom with ``sandbox.people``.
    """
    from siyu.plugins.wecom.config import save_config
    from siyu.plugins.wecom.sandbox.server import Sandbox

    with Sandbox(seed=7) as sandbox:
        db = new_workspace(tmp_path / "wecom.db")
        with siyu.open(str(db), load_entry_points=False) as ws:
            save_config(ws, corp_id=sandbox.corp_id, secret=sandbox.secret,
                        token=sandbox.token, encoding_aes_key=sandbox.encoding_aes_key,
                        base_url=sandbox.base_url, welcome_text="欢迎来到私域!")
        with serve_console(db) as running:
            sandbox.set_callback_url(f"{running.url}/wecom/callback")
            yield running, sandbox
