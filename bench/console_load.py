"""Benchmark: console pages on 1,000,000 contacts load about as fast as on 1,000.

Target (console issue): the time to first render of ``/overview`` and ``/contacts`` in a
browser, on a workspace with 1,000,000 contacts, is less than twice the time on a workspace
with 1,000 contacts of the same shape (ratio big/small < 2, worst page).

- **data**: two SQLite workspaces generated from the same seeded distribution: 8 stores,
  24 guides, contacts added over the last 90 days (about 12% removed again since), 0.2 orders
  per contact (92% paid, the rest refunded) paid over the same 90 days, and about one tag per
  contact from 12 tags in 3 groups. Written with ``siyu.storage.bulk.insert_rows``.
- **ours**: ``siyu serve`` on the big workspace; **baseline**: ``siyu serve`` on the small
  one. Both run at once, each in its own process, on free ports.
- **measure**: headless Chromium, signed in once per workspace; for each page, the wall time
  from asking for the URL until its main content is visible: the three overview charts and
  the headline numbers, or the rows of the contacts table and its pager. Big and small
  alternate, after one untimed warm-up visit of every page on each side; the median of
  ``--repeat`` runs is reported.
- **answers**: every timed visit checks what the page shows against the generated data: the
  pager's total and the first row on Contacts, the "Contacts ever added" and "Active
  contacts" numbers on Overview. Any difference exits with status 1.

Second target: **time to interactive after sign-in**. On the big workspace, the first page a
user lands on after the login form (``/`` → the Overview) is timed from the click on *Sign
in* until its content is drawn and its live session is connected, next to a static "hello"
page (one Markdown pane, nothing read from the database) served the same way: the same
server code (:func:`siyu.apps.server.make_server`, see ``bench/_hello_serve.py``), template,
sign-in and redirects. Fresh browser context each time, alternating, median of ``--repeat``.
Target: at most 3× the hello page.

After the browser figures, the service calls those pages make are timed in this process on
both workspaces, so a missed target points at the query that grew.

Run ``python bench/console_load.py --help`` for the options.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from _servers import Server, start_process, start_siyu, stop_server

import siyu
from siyu.apps.browser import SHOWN_TEXT_JS
from siyu.apps.pages.contacts import COLS as CONTACT_COLUMNS
from siyu.core.i18n import use_language
from siyu.storage.bulk import db_times, insert_rows
from siyu.storage.models import Contact, ContactTag, Order, Staff, Store, Tag, TagGroup

BENCH = "console_load"
TARGET = 2.0
TTI_TARGET = 3.0
SMALL = 1_000
CHROMIUM = os.environ.get("SIYU_BENCH_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
USER, PASSWORD = "bench-admin", "bench-admin-password"
PAGES = ("overview", "contacts")
RENDER_TIMEOUT_MS = 180_000

ORDERS_PER_CONTACT = 0.2
DAYS = 90
REMOVED_SHARE = 0.12
PAID_SHARE = 0.92

STORES = (("SH001", "上海南京西路店", "华东", "上海"), ("SH002", "上海徐家汇店", "华东", "上海"),
          ("HZ001", "杭州湖滨银泰店", "华东", "杭州"), ("BJ001", "北京三里屯店", "华北", "北京"),
          ("BJ002", "北京国贸店", "华北", "北京"), ("GZ001", "广州天河城店", "华南", "广州"),
          ("SZ001", "深圳万象城店", "华南", "深圳"), ("CD001", "成都太古里店", "西南", "成都"))
GUIDES_PER_STORE = 3
SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗")
GIVEN = list("伟芳娜敏静丽强磊洋艳婷杰涛明超慧佳晨悦欣怡子涵雨桐梓萱")
CITIES = ["上海", "北京", "杭州", "广州", "深圳", "成都", "南京", "苏州", "武汉", "重庆", ""]
CITY_WEIGHTS = np.array([16, 14, 10, 10, 10, 8, 6, 6, 6, 6, 8], dtype=float)
CHANNELS = ["抖音", "天猫", "京东", "门店海报", "包裹卡", "朋友推荐", "小红书", "直播间", ""]
CHANNEL_WEIGHTS = np.array([22, 18, 10, 17, 14, 9, 6, 3, 1], dtype=float)
#: Tags as "group/name" and the share of contacts carrying each (about one per contact).
TAGS = {"兴趣/护肤": 0.20, "兴趣/彩妆": 0.12, "兴趣/香氛": 0.06, "兴趣/身体护理": 0.05,
        "兴趣/防晒": 0.07, "肤质/干皮": 0.10, "肤质/油皮": 0.10, "肤质/混合皮": 0.08,
        "肤质/敏感肌": 0.07, "客户等级/普通": 0.12, "客户等级/VIP": 0.04,
        "客户等级/SVIP": 0.01}
PRICES_FEN = np.array([5900, 8900, 12900, 16900, 19900, 23900, 29900, 34900, 45900, 59900,
                       89900])
PRICE_WEIGHTS = np.array([8, 10, 14, 12, 14, 10, 10, 8, 6, 5, 3], dtype=float)

#: The contacts pager in English or Chinese
#: ("Page 1 of 5 · 250 contacts", "第 1/5 页 · 共 250 位客户").
PAGER = re.compile(r"(?:Page (\d+) of (\d+) · ([\d,]+) contacts?)|"
                   r"(?:第\s*(\d+)\s*/\s*(\d+)\s*页\D*?([\d,]+)\D*)")


def pager_total(found: re.Match) -> int:
    """The contacts total a :data:`PAGER` match names."""
    return int((found.group(3) or found.group(6)).replace(",", ""))


#: The language the servers speak (the default a user gets) and, in it, the header of the
#: contacts table's name column (the page kit names a column after its label).
LANGUAGE = "zh_CN"
with use_language(LANGUAGE):
    NAME_FIELD = next(col.title for col in CONTACT_COLUMNS if col.key == "name")


class WrongAnswer(Exception):
    """A page showed something other than what the workspace holds."""


# -- data -----------------------------------------------------------------------------------

@dataclass
class Expected:
    """What the pages must show for one workspace."""

    contacts: int
    active: int
    orders: int
    contact_tags: int
    first_contact_name: str


def _choose(rng: np.random.Generator, values, weights, size: int) -> np.ndarray:
    return np.asarray(values)[rng.choice(len(values), size=size, p=weights / weights.sum())]


def build_workspace(path: Path, size: int, seed: int, now: datetime) -> Expected:
    """Create the SQLite workspace ``path`` with ``size`` generated contacts, their orders
    and tags, and the bench user; vectorised, written with raw ``executemany`` inserts."""
    rng = np.random.default_rng(seed)
    ws = siyu.open(str(path), load_entry_points=False)
    try:
        ws.users.add(USER, "admin", PASSWORD)
        with ws.engine.begin() as conn:
            stamp = db_times(conn, pd.Series([now]))[0]
            insert_rows(conn, Store.__table__, ("code", "name", "region", "city",
                                                "created_at"),
                        [(*store, stamp) for store in STORES])
            guides = [(f"guide{s:02d}{g}", f"导购{s:02d}{g}", s + 1, "active", stamp)
                      for s in range(len(STORES)) for g in range(GUIDES_PER_STORE)]
            insert_rows(conn, Staff.__table__, ("userid", "name", "store_id", "status",
                                                "created_at"), guides)
            expected = _contacts(conn, rng, size, now, stamp)
            expected.orders = _orders(conn, rng, size, now, stamp)
            expected.contact_tags = _tags(conn, rng, size, stamp)
    finally:
        ws.close()
    return expected


def _contacts(conn, rng: np.random.Generator, size: int, now: datetime, stamp) -> Expected:
    number = np.arange(1, size + 1)
    external = np.strings.add("wmBench", np.strings.zfill(number.astype(str), 7))
    name = np.strings.add(np.asarray(SURNAMES)[rng.integers(0, len(SURNAMES), size)],
                          np.asarray(GIVEN)[rng.integers(0, len(GIVEN), size)])
    phone = np.strings.add("1", np.strings.zfill(
        rng.integers(3_000_000_000, 9_999_999_999, size).astype(str), 10)).astype(object)
    phone[rng.random(size) < 0.05] = None
    gender = rng.choice(3, size=size, p=[0.1, 0.35, 0.55])
    city = _choose(rng, CITIES, CITY_WEIGHTS, size)
    channel = _choose(rng, CHANNELS, CHANNEL_WEIGHTS, size)
    guide = rng.integers(1, len(STORES) * GUIDES_PER_STORE + 1, size)
    store = (guide - 1) // GUIDES_PER_STORE + 1
    added = pd.Series(pd.Timestamp(now) - pd.to_timedelta(
        rng.integers(0, DAYS * 86400, size), unit="s"))
    gone = rng.random(size) < REMOVED_SHARE
    removed = (added + (pd.Timestamp(now) - added) * rng.random(size)).where(gone)
    added_db, removed_db = db_times(conn, added), db_times(conn, removed)
    columns = ("external_userid", "name", "phone", "gender", "city", "owner_id", "store_id",
               "source_channel", "remark", "added_at", "removed_at", "created_at",
               "updated_at")
    for lo in range(0, size, 200_000):
        hi = min(size, lo + 200_000)
        n = hi - lo
        insert_rows(conn, Contact.__table__, columns, list(zip(
            external[lo:hi].tolist(), name[lo:hi].tolist(), phone[lo:hi].tolist(),
            gender[lo:hi].tolist(), city[lo:hi].tolist(), guide[lo:hi].tolist(),
            store[lo:hi].tolist(), channel[lo:hi].tolist(), [""] * n, added_db[lo:hi],
            removed_db[lo:hi], [stamp] * n, [stamp] * n, strict=True)))
    return Expected(contacts=size, active=int(size - gone.sum()), orders=0, contact_tags=0,
                    first_contact_name=str(name[0]))


def _orders(conn, rng: np.random.Generator, size: int, now: datetime, stamp) -> int:
    count = max(1, int(size * ORDERS_PER_CONTACT))
    # Some customers buy again and again: buyers are drawn with a skew towards the first
    # ranks of a random ordering of the contacts.
    rank = (size * rng.random(count) ** 2.5).astype(np.int64)
    contact = rng.permutation(size)[rank] + 1
    guide = rng.integers(1, len(STORES) * GUIDES_PER_STORE + 1, count)
    store = (guide - 1) // GUIDES_PER_STORE + 1
    amount = _choose(rng, PRICES_FEN, PRICE_WEIGHTS, count) * rng.integers(1, 3, count)
    status = np.where(rng.random(count) < PAID_SHARE, "paid", "refunded")
    paid = pd.Series(pd.Timestamp(now) - pd.to_timedelta(
        rng.integers(0, DAYS * 86400, count), unit="s"))
    columns = ("source", "external_id", "contact_id", "store_id", "staff_id", "amount_fen",
               "status", "paid_at", "created_at")
    external = np.strings.add("B", np.strings.zfill(np.arange(1, count + 1).astype(str), 8))
    insert_rows(conn, Order.__table__, columns, list(zip(
        ["bench"] * count, external.tolist(), contact.tolist(), store.tolist(),
        guide.tolist(), amount.tolist(), status.tolist(), db_times(conn, paid),
        [stamp] * count, strict=True)))
    return count


def _tags(conn, rng: np.random.Generator, size: int, stamp) -> int:
    groups = list(dict.fromkeys(full.split("/")[0] for full in TAGS))
    insert_rows(conn, TagGroup.__table__, ("name", "kind", "source", "created_at"),
                [(group, "manual", "", stamp) for group in groups])
    insert_rows(conn, Tag.__table__, ("group_id", "name", "created_at"),
                [(groups.index(full.split("/")[0]) + 1, full.split("/")[1], stamp)
                 for full in TAGS])
    carries = rng.random((size, len(TAGS))) < np.array(list(TAGS.values()))
    contact, tag = np.nonzero(carries)
    total = len(contact)
    for lo in range(0, total, 500_000):
        hi = min(total, lo + 500_000)
        insert_rows(conn, ContactTag.__table__, ("contact_id", "tag_id", "source",
                                                 "created_at"),
                    list(zip((contact[lo:hi] + 1).tolist(), (tag[lo:hi] + 1).tolist(),
                             ["manual"] * (hi - lo), [stamp] * (hi - lo), strict=True)))
    return total


# -- servers --------------------------------------------------------------------------------

# -- the browser ----------------------------------------------------------------------------



def _number(page, css_class: str) -> int:
    text = page.locator(f".{css_class}").first.evaluate(SHOWN_TEXT_JS)
    digits = re.findall(r"[\d,]+", text.splitlines()[-1])
    return int(digits[-1].replace(",", "")) if digits else -1


def sign_in(page, base: str) -> None:
    """Sign in through the login form."""
    page.goto(f"{base}/login")
    page.fill("input[name=username]", USER)
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("button[type=submit]")
    if "/login" in page.url:
        raise RuntimeError(f"could not sign in to {base}")


def wait_overview(page) -> None:
    """The three charts and the headline numbers are drawn."""
    for chart in ("contacts", "channels", "orders"):
        page.locator(f".siyu-chart-{chart} canvas").first.wait_for(
            state="visible", timeout=RENDER_TIMEOUT_MS)
    page.locator(".siyu-kpi-contacts_total").first.wait_for(state="visible",
                                                            timeout=RENDER_TIMEOUT_MS)


def pager_text(page):
    """The innermost element showing the contacts pager's "Page 1 of N · M contacts"."""
    return page.locator(".siyu-contacts-pager-text").get_by_text(PAGER).first


def wait_contacts(page) -> None:
    """The first rows of the table and the pager are drawn."""
    page.locator(".siyu-contacts-table .tabulator-row").first.wait_for(
        state="visible", timeout=RENDER_TIMEOUT_MS)
    pager_text(page).wait_for(state="visible", timeout=RENDER_TIMEOUT_MS)


def check_overview(page, side: str, expected: Expected) -> None:
    total = _number(page, "siyu-kpi-contacts_total")
    active = _number(page, "siyu-kpi-contacts_active")
    if (total, active) != (expected.contacts, expected.active):
        raise WrongAnswer(f"{side}: Overview shows {total:,} contacts ever added and "
                          f"{active:,} active; the workspace holds {expected.contacts:,} and "
                          f"{expected.active:,}")


def check_contacts(page, side: str, expected: Expected) -> None:
    text = pager_text(page).inner_text().strip()
    found = PAGER.fullmatch(text)
    if not found or pager_total(found) != expected.contacts:
        raise WrongAnswer(f"{side}: the Contacts pager says {text!r}; the workspace holds "
                          f"{expected.contacts:,} contacts")
    cells = page.locator(".siyu-contacts-table .tabulator-row "
                         f".tabulator-cell[tabulator-field='{NAME_FIELD}']")
    first = cells.first.inner_text().strip()
    if first != expected.first_contact_name:
        raise WrongAnswer(f"{side}: the first contact shown is {first!r}, expected "
                          f"{expected.first_contact_name!r}")


WAIT = {"overview": wait_overview, "contacts": wait_contacts}
CHECK = {"overview": check_overview, "contacts": check_contacts}


def visit(page, base: str, name: str) -> float:
    """Open page ``name``; seconds until its main content is visible."""
    start = time.perf_counter()
    page.goto(f"{base}/{name}", wait_until="commit", timeout=RENDER_TIMEOUT_MS)
    WAIT[name](page)
    return time.perf_counter() - start


#: A page's live session is up: Bokeh has the document and Panel's busy indicator is idle.
CONNECTED_JS = ("() => window.Bokeh !== undefined && Bokeh.documents.length > 0 && "
                "!document.querySelector('.pn-busy, .bk-busy')")


def wait_hello(page) -> None:
    """The static page's text is drawn."""
    page.locator(".siyu-bench-hello").get_by_text("hello").first.wait_for(
        state="visible", timeout=RENDER_TIMEOUT_MS)


def time_to_interactive(browser, base: str, next_path: str, wait, check=None) -> float:
    """Sign in through the form with ``next_path`` as the destination; seconds from the
    click on *Sign in* until the landing page is drawn (``wait``) and connected; then
    ``check(page)`` checks what it shows (untimed)."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        page = context.new_page()
        page.goto(f"{base}/login?next={next_path}")
        page.fill("input[name=username]", USER)
        page.fill("input[name=password]", PASSWORD)
        start = time.perf_counter()
        page.click("button[type=submit]")
        page.wait_for_url(lambda url: "/login" not in url, timeout=RENDER_TIMEOUT_MS)
        wait(page)
        page.wait_for_function(CONNECTED_JS, timeout=RENDER_TIMEOUT_MS)
        seconds = time.perf_counter() - start
        if check is not None:
            check(page)
        return seconds
    finally:
        context.close()


def measure_tti(browser, base: str, repeat: int, expected: Expected) -> dict[str, list[float]]:
    """Alternating sign-ins to the first page (``/``) and to the hello page; the first
    page's answers are checked every time."""
    runs: dict[str, list[float]] = {"first page": [], "hello": []}
    for rep in range(repeat + 1):  # the first round warms up and is not counted
        order = ("first page", "hello") if rep % 2 == 0 else ("hello", "first page")
        for case in order:
            if case == "hello":
                seconds = time_to_interactive(browser, base, "/hello", wait_hello)
            else:
                seconds = time_to_interactive(
                    browser, base, "/", wait_overview,
                    lambda page: check_overview(page, "big (first page)", expected))
            label = "warm-up" if rep == 0 else f"run {rep}/{repeat}"
            print(f"  tti {label} {case:<10} {seconds:7.3f} s", flush=True)
            if rep:
                runs[case].append(seconds)
    return runs


# -- service timings ------------------------------------------------------------------------

def service_calls(ws) -> dict[str, Callable[[], object]]:
    """The workspace calls the Overview and Contacts pages make when they are built."""
    today = pd.Timestamp.now(tz=ws.timezone).date()
    since = today - timedelta(days=29)
    return {
        "overview: reports.kpis()": ws.reports.kpis,
        "overview: reports.contacts_daily(30 d)": lambda: ws.reports.contacts_daily(
            since=since),
        "overview: reports.orders_daily(30 d)": lambda: ws.reports.orders_daily(since=since),
        "overview: reports.contacts_by_channel()": ws.reports.contacts_by_channel,
        "contacts: tags.names()": ws.tags.names,
        "contacts: staff.list()": ws.staff.list,
        "contacts: reports.contacts_by_channel(active=None)": lambda: (
            ws.reports.contacts_by_channel(active=None)),
        "contacts: contacts.count()": ws.contacts.count,
        "contacts: contacts.df(page 1 of 50)": lambda: ws.contacts.df(
            columns=["id", "external_userid", "name", "phone", "owner", "store",
                     "source_channel", "city", "added_at", "removed_at"],
            limit=50, offset=0, reveal_pii=True),
    }


def time_services(dbs: dict[str, Path], repeat: int) -> dict[str, dict[str, float]]:
    """Median seconds of each page's service calls on each workspace, alternating."""
    workspaces = {side: siyu.open(str(path), load_entry_points=False)
                  for side, path in dbs.items()}
    try:
        calls = {side: service_calls(ws) for side, ws in workspaces.items()}
        times: dict[str, dict[str, list[float]]] = {side: {} for side in dbs}
        for name in calls["big"]:
            for side in ("big", "small"):  # warm-up
                calls[side][name]()
            for _ in range(repeat):
                for side in ("big", "small"):
                    start = time.perf_counter()
                    calls[side][name]()
                    times[side].setdefault(name, []).append(time.perf_counter() - start)
        return {side: {name: statistics.median(runs) for name, runs in by_name.items()}
                for side, by_name in times.items()}
    finally:
        for ws in workspaces.values():
            ws.close()


# -- report ---------------------------------------------------------------------------------

def print_table(args, sizes: dict[str, int], runs: dict[str, dict[str, list[float]]],
                expected: dict[str, Expected], gen_s: float) -> dict[str, tuple]:
    print()
    print(f"console_load: time to first render in headless Chromium, "
          f"{sizes['big']:,} vs {sizes['small']:,} contacts (SQLite; data generated in "
          f"{gen_s:.1f} s), median of {args.repeat} alternating runs after a warm-up")
    big, small = expected["big"], expected["small"]
    print(f"  big   = {big.contacts:,} contacts ({big.active:,} active), {big.orders:,} "
          f"orders, {big.contact_tags:,} contact tags")
    print(f"  small = {small.contacts:,} contacts ({small.active:,} active), "
          f"{small.orders:,} orders, {small.contact_tags:,} contact tags")
    print()
    header = (f"  {'page':<10} {'big s':>8} {'small s':>8} {'ratio':>7} {'target':>9}   "
              f"runs big | small (s)")
    print(header)
    print("  " + "-" * (len(header) + 10))
    results = {}
    for name in PAGES:
        big_s = statistics.median(runs["big"][name])
        small_s = statistics.median(runs["small"][name])
        ratio = big_s / small_s
        results[name] = (big_s, small_s, ratio)
        runs_text = (" ".join(f"{t:.2f}" for t in runs["big"][name]) + " | "
                     + " ".join(f"{t:.2f}" for t in runs["small"][name]))
        verdict = "met" if ratio < TARGET else "NOT met"
        print(f"  {name:<10} {big_s:>8.3f} {small_s:>8.3f} {ratio:>7.2f} {verdict:>9}   "
              f"{runs_text}")
    print()
    print("  answers match on every run: pager total and first row on Contacts, contacts "
          "ever added and active on Overview")
    print()
    return results


def print_services(services: dict[str, dict[str, float]]) -> None:
    print("  service calls the pages make, timed in this process (median, s):")
    print(f"  {'call':<52} {'big s':>8} {'small s':>8} {'big-small':>10}")
    for name, big_s in services["big"].items():
        small_s = services["small"][name]
        print(f"  {name:<52} {big_s:>8.3f} {small_s:>8.3f} {big_s - small_s:>10.3f}")
    for page in PAGES:
        total_big = sum(v for k, v in services["big"].items() if k.startswith(page))
        total_small = sum(v for k, v in services["small"].items() if k.startswith(page))
        print(f"  {page + ': all calls':<52} {total_big:>8.3f} {total_small:>8.3f} "
              f"{total_big - total_small:>10.3f}")
    print()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--size", type=int, default=1_000_000,
                        help="contacts in the big workspace")
    parser.add_argument("--small", type=int, default=SMALL,
                        help="contacts in the small workspace (same distribution)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="timed visits of each page on each side (median reported; at "
                             "least 3)")
    parser.add_argument("--seed", type=int, default=20261125, help="data generator seed")
    parser.add_argument("--no-services", action="store_true",
                        help="skip timing the service calls in this process")
    parser.add_argument("--tmpdir", type=Path, default=None,
                        help="folder for the SQLite files (default: the system temp folder)")
    args = parser.parse_args(argv)
    if args.size < 1 or args.small < 1:
        parser.error("--size and --small must be at least 1")
    if args.repeat < 3:
        parser.error("--repeat must be at least 3 (the median of 3 or more runs is reported)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not Path(CHROMIUM).exists():
        print(f"cannot run: no Chromium at {CHROMIUM} (set $SIYU_BENCH_CHROMIUM)",
              file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    folder = Path(tempfile.mkdtemp(prefix="siyu-bench-console-", dir=args.tmpdir))
    servers: dict[str, Server] = {}
    try:
        now = datetime.now(UTC).replace(microsecond=0)
        sizes = {"big": args.size, "small": args.small}
        dbs = {side: folder / f"{side}.db" for side in sizes}
        start = time.perf_counter()
        expected = {side: build_workspace(dbs[side], sizes[side], args.seed, now)
                    for side in sizes}
        gen_s = time.perf_counter() - start
        for side in sizes:
            e = expected[side]
            print(f"generated {side}: {e.contacts:,} contacts, {e.orders:,} orders, "
                  f"{e.contact_tags:,} contact tags ({dbs[side].stat().st_size / 1e6:.0f} MB)",
                  flush=True)
        print(f"data generated in {gen_s:.1f} s", flush=True)

        for side in sizes:
            servers[side] = start_siyu(dbs[side], env={"SIYU_LANGUAGE": LANGUAGE})
            print(f"serving {side} at {servers[side].url}", flush=True)
        servers["hello"] = start_process(
            "hello serve", [sys.executable, str(Path(__file__).with_name("_hello_serve.py")),
                            "--db", str(dbs["big"])], folder, {"SIYU_LANGUAGE": LANGUAGE})
        print(f"serving big with the hello page at {servers['hello'].url}", flush=True)

        runs: dict[str, dict[str, list[float]]] = {"big": {}, "small": {}}
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            tabs = {}
            for side in sizes:
                context = browser.new_context(viewport={"width": 1400, "height": 900})
                tabs[side] = context.new_page()
                sign_in(tabs[side], servers[side].url)
            for name in PAGES:  # warm-up: scripts cached, first session built
                for side in sizes:
                    seconds = visit(tabs[side], servers[side].url, name)
                    CHECK[name](tabs[side], side, expected[side])
                    print(f"  warm-up {side:<5} {name:<9} {seconds:7.3f} s", flush=True)
            for rep in range(args.repeat):
                order = ("big", "small") if rep % 2 == 0 else ("small", "big")
                for name in PAGES:
                    for side in order:
                        seconds = visit(tabs[side], servers[side].url, name)
                        CHECK[name](tabs[side], side, expected[side])
                        runs[side].setdefault(name, []).append(seconds)
                        print(f"  run {rep + 1}/{args.repeat} {side:<5} {name:<9} "
                              f"{seconds:7.3f} s", flush=True)
            tti = measure_tti(browser, servers["hello"].url, args.repeat, expected["big"])
            browser.close()
        for server in servers.values():
            stop_server(server)

        results = print_table(args, sizes, runs, expected, gen_s)
        first_s, hello_s = (statistics.median(tti["first page"]),
                            statistics.median(tti["hello"]))
        tti_ratio = first_s / hello_s
        print(f"  time to interactive after sign-in ({sizes['big']:,} contacts): first page "
              f"(Overview) {first_s:.3f} s, static hello page {hello_s:.3f} s, ratio "
              f"{tti_ratio:.2f} ({'met' if tti_ratio <= TTI_TARGET else 'NOT met'}, target "
              f"<= {TTI_TARGET:g})")
        print("  runs first page | hello (s): "
              + " ".join(f"{t:.2f}" for t in tti["first page"]) + " | "
              + " ".join(f"{t:.2f}" for t in tti["hello"]))
        print()
        if not args.no_services:
            print_services(time_services(dbs, args.repeat))
    except WrongAnswer as exc:
        print(f"WRONG ANSWER: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # could not run: say why, with the servers' output
        for side, server in servers.items():
            print(f"--- siyu serve ({side}) output ---\n{''.join(server.lines[-40:])}",
                  file=sys.stderr)
        print(f"cannot run: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    finally:
        for server in servers.values():
            stop_server(server)
        shutil.rmtree(folder, ignore_errors=True)

    for name, (big_s, small_s, ratio) in results.items():
        print(json.dumps({"bench": BENCH, "case": name, "ours_s": round(big_s, 3),
                          "baseline": f"{args.small} contacts", "baseline_s": round(small_s, 3),
                          "ratio": round(ratio, 3), "target": f"ratio < {TARGET:g}",
                          "met": bool(ratio < TARGET), "size": {"contacts": args.size}},
                         ensure_ascii=False))
    print(json.dumps({"bench": BENCH, "case": "first_page_tti", "ours_s": round(first_s, 3),
                      "baseline": "static hello page, same server", "baseline_s":
                      round(hello_s, 3), "ratio": round(tti_ratio, 3),
                      "target": f"ratio <= {TTI_TARGET:g}", "met": bool(tti_ratio <= TTI_TARGET),
                      "size": {"contacts": args.size}}, ensure_ascii=False))
    worst = max(results, key=lambda name: results[name][2])
    big_s, small_s, ratio = results[worst]
    print(json.dumps({"bench": BENCH, "case": "all", "worst": worst, "ours_s": round(big_s, 3),
                      "baseline": f"{args.small} contacts", "baseline_s": round(small_s, 3),
                      "ratio": round(ratio, 3), "target": f"ratio < {TARGET:g}",
                      "met": all(r[2] < TARGET for r in results.values())
                      and bool(tti_ratio <= TTI_TARGET), "first_page_tti_ratio":
                      round(tti_ratio, 3),
                      "size": {"contacts": args.size}}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
