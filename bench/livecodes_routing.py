"""Benchmark: live-code routing end to end — scan → callback → owner, tags, welcome.

Targets (live-code issue): against the sandbox WeCom, 10,000 simulated scans across 50 codes
and 200 staff, through ``siyu serve``:

- every customer has exactly one owner, the member WeCom handed them to;
- daily caps are never exceeded when scans arrive one at a time (**sequential**), and by no
  more than the other scans in flight when they arrive concurrently (**concurrent**): WeCom
  assigns a customer before siyu can take a capped member off the code's list, so a member
  who reaches the cap can still receive the scans already in flight. The overshoot is
  measured and reported next to the in-flight count;
- the backup staff take over only when every member of the code is capped;
- every customer is welcomed exactly once, by the owner, with the code's text;
- every customer carries the code's channel tag, here and in WeCom, and its channel;
- routing keeps at least 0.5x the baseline's scans/s in both phases;
- rotation stays well inside WeCom's per-API limit: at most one ``update_contact_way`` call
  per scan, and the busiest minute below WeCom's 10,000 calls of one API per minute.

Setup:

- **WeCom**: the in-process sandbox (:class:`~siyu.plugins.wecom.sandbox.server.Sandbox`) on
  127.0.0.1, an empty corp with ``--staff`` members (plus four for the warm-up), a fresh one
  for every run so every run starts from the same world. Its per-API quota is lifted so the
  bench measures siyu, not the quota; every API call is counted per endpoint instead. The
  sandbox runs in the bench's process and shares the machine with ``siyu serve``: its work
  per scan (WeCom's side: choosing the member, sealing and posting the callback, answering
  the API calls) is the same on both sides.
- **ours**: ``python -m siyu serve --db FILE --port 0 --no-scheduler`` in its own process on a
  fresh SQLite workspace configured for the sandbox (``save_config``). Before it starts, the
  bench creates the ``--codes`` live codes with :func:`siyu.plugins.livecodes.api.create_code`:
  code *n* has four members (the strategies cycle through round_robin, weighted, least_loaded
  and schedule; weights 1-4), one backup member (the first member of the next code), a daily
  cap per member chosen so that the members take about three quarters of the code's scans and
  the backup the rest, channel ``chN``, tag ``渠道/码N`` and a welcome text with
  ``{nickname}`` and ``{staff}``. A scan's customer is done when the sandbox accepted its
  welcome and holds the channel tag on the friendship: routing, counting, re-listing, the
  welcome and the tags all happened.
- **baseline**: the same scans against plain WeCom 「联系我」 codes made with
  ``add_contact_way`` (the same four members each, a fixed list, state ``plainN``), through
  ``siyu serve`` with the live-code plugin disabled (``SIYU_DISABLE_PLUGINS=livecodes``): the
  WeCom plugin stores the contact with its owner and greets with the workspace's default
  welcome. A customer is done when that welcome is accepted. The ratio is the cost of routing.
- **scans**: each scan is of a code drawn at random (seeded: both sides get the same
  sequence), by a new WeChat user; the sandbox hands them to a random member of the code's
  current list and posts the encrypted ``add_external_contact`` callback. ``sequential``
  runs one scan at a time (the next starts when the previous customer is done);
  ``concurrent`` keeps ``--in-flight`` scans in flight (each worker scans, waits until its
  customer is done, scans again), so several can be at one code when a member reaches the
  cap.

Each run has a fresh sandbox, workspace and server; every server first takes ``--warmup``
untimed scans of a separate warm-up code. Ours and the baseline alternate, ``--repeat`` times
each per phase; medians are reported. After every run the workspace and the sandbox are
checked against the scans: one contact per customer owned by the member WeCom chose, one
welcome each with the right text and member, every callback applied; for ours also one
arrival per scan on the right code, adds per member and day within the cap (sequential) or
within cap + in-flight - 1 (concurrent), backup adds only on days when every member was at
the cap, and the channel tag here and in WeCom. Any difference exits with status 1.

Run ``python bench/livecodes_routing.py --help`` for the options; see ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import secrets
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from _servers import remove_db, start_siyu, stop_server

import siyu
from siyu.plugins.wecom.config import save_config
from siyu.plugins.wecom.sandbox.model import Limits
from siyu.plugins.wecom.sandbox.model import Staff as SandboxStaff
from siyu.plugins.wecom.sandbox.server import Sandbox

BENCH = "livecodes_routing"
RATIO_TARGET = 0.5
#: WeCom's limit on calls of one API per corp per minute (reference §1.4).
API_PER_MINUTE = 10_000
STRATEGIES = ("round_robin", "weighted", "least_loaded", "schedule")
PER_CODE = 4
WELCOME_TEXT = "你好 {nickname}，我是{staff}"
DEFAULT_WELCOME = "欢迎关注！我是您的专属顾问，有问题随时找我~"
WARMUP_STAFF = ("warm0", "warm1", "warm2", "warm3")
#: A customer not done this long after its scan is a lost arrival (a welcome code lives 20 s).
DONE_TIMEOUT = 30.0


class WrongAnswer(Exception):
    """A side stored or sent something other than what the scans call for."""


# -- the layout: codes, members, caps --------------------------------------------------------

@dataclass(frozen=True)
class CodePlan:
    """One code of the layout: its members (weights 1, 2, …), backup, strategy, tag."""

    name: str
    members: tuple[str, ...]
    backup: str
    strategy: str
    channel: str
    tag: str


@dataclass(frozen=True)
class Layout:
    """Codes over staff, and the daily cap that leaves about a quarter to the backups."""

    codes: tuple[CodePlan, ...]
    cap: int
    staff: tuple[str, ...]


def make_layout(scans: int, codes: int, staff: int) -> Layout:
    """``codes`` codes of four members each over ``staff`` members ``st000``…, each code's
    backup being the first member of the next code; members take about 3/4 of the scans."""
    userids = tuple(f"st{i:03d}" for i in range(staff))
    plans = []
    for n in range(codes):
        members = tuple(userids[(n * PER_CODE + i) % staff] for i in range(PER_CODE))
        backup = userids[((n + 1) * PER_CODE) % staff]
        plans.append(CodePlan(f"码{n}", members, backup, STRATEGIES[n % len(STRATEGIES)],
                              f"ch{n}", f"渠道/码{n}"))
    cap = max(1, (scans // codes) * 3 // (4 * PER_CODE))
    return Layout(tuple(plans), cap, userids)


# -- the sandbox side ---------------------------------------------------------------------

class Welcomes(list):
    """``World.welcomes`` that wakes the waiting scans when a welcome is accepted.

    The sandbox appends inside ``send_welcome_msg`` with the world lock held, before the
    answer goes back to siyu.
    """

    def __init__(self) -> None:
        super().__init__()
        self.changed = threading.Condition()
        self.by_customer: dict[str, list] = defaultdict(list)

    def append(self, item) -> None:
        with self.changed:
            super().append(item)
            self.by_customer[item.external_userid].append(item)
            self.changed.notify_all()


class ApiCalls:
    """Counts every sandbox API call per endpoint, with the minute it fell in."""

    def __init__(self, world) -> None:
        self.counts: Counter[str] = Counter()
        self.per_minute: Counter[tuple[str, int]] = Counter()
        self._lock = threading.Lock()
        inner = world.count_call

        def count_call(api: str) -> None:
            with self._lock:
                self.counts[api] += 1
                self.per_minute[(api, int(time.time() // 60))] += 1
            inner(api)

        world.count_call = count_call

    def reset(self) -> None:
        """Forget the calls so far (code creation and warm-up are not counted)."""
        with self._lock:
            self.counts.clear()
            self.per_minute.clear()

    def busiest_minute(self, api: str) -> int:
        """The most calls of ``api`` in one clock minute."""
        return max((n for (a, _), n in self.per_minute.items() if a == api), default=0)


class Corp:
    """One sandbox WeCom with the layout's staff, counted API calls and watched welcomes."""

    def __init__(self, seed: int, layout: Layout):
        self.sandbox = Sandbox(seed=seed, limits=Limits(api_per_minute=10**9,
                                                        api_per_hour=10**9),
                               populate_world=False)
        world = self.sandbox.world
        with world.lock:
            for userid in (*layout.staff, *WARMUP_STAFF):
                world.staff[userid] = SandboxStaff(userid, staff_name(userid), [1])
            self.welcomes = Welcomes()
            world.welcomes = self.welcomes
        self.calls = ApiCalls(world)

    @property
    def world(self):
        """The sandbox's world (staff, customers, codes, tags)."""
        return self.sandbox.world

    def tag_names(self, external_userid: str, userid: str) -> set[str]:
        """Names of the corp tags on the friendship (read without the lock: a snapshot)."""
        follow = self.world.customers[external_userid].follows.get(userid)
        return {self.world.tags[t].name for t in list(follow.tag_ids)} if follow else set()

    def stop(self) -> None:
        """Stop the sandbox's server."""
        self.sandbox.stop()


def staff_name(userid: str) -> str:
    """The name a member has in WeCom and in the workspace."""
    return f"员工{userid}"


# -- workspaces and servers ---------------------------------------------------------------

@dataclass
class Target:
    """A code the scans go to: its WeCom config id, and for ours its plan and id."""

    config_id: str
    plan: CodePlan | None = None
    code_id: int | None = None


def new_workspace(folder: Path, corp: Corp, layout: Layout, side: str
                  ) -> tuple[Path, list[Target], Target]:
    """A configured SQLite workspace with the staff and the side's codes; closed again.

    :return: the database, the codes the scans go to and the warm-up code.
    """
    from siyu.plugins.livecodes import api
    from siyu.plugins.wecom.service import wecom

    path = folder / f"{side}-{secrets.token_hex(4)}.db"
    ws = siyu.open(f"sqlite:///{path}", load_entry_points=False)
    try:
        sandbox = corp.sandbox
        save_config(ws, corp_id=sandbox.corp_id, secret=sandbox.secret, token=sandbox.token,
                    encoding_aes_key=sandbox.encoding_aes_key, base_url=sandbox.base_url,
                    agent_id=str(sandbox.world.corp.agent_id), welcome_text=DEFAULT_WELCOME)
        for userid in (*layout.staff, *WARMUP_STAFF):
            ws.staff.upsert(userid, staff_name(userid))
        if side == "ours":
            targets = []
            for plan in layout.codes:
                code = api.create_code(
                    ws, plan.name, [{"userid": u, "weight": i + 1}
                                    for i, u in enumerate(plan.members)],
                    strategy=plan.strategy, channel=plan.channel, tags=[plan.tag],
                    welcome={"text": WELCOME_TEXT}, backup=[plan.backup],
                    daily_cap=layout.cap)
                targets.append(Target(code["config_id"], plan, code["id"]))
            warm = api.create_code(ws, "预热", list(WARMUP_STAFF), tags=["渠道/预热"],
                                   welcome={"text": WELCOME_TEXT})
            warm_target = Target(warm["config_id"], None, warm["id"])
        else:
            client = wecom(ws).client
            targets = [Target(client.add_contact_way(
                2, 2, state=f"plain{n}", user=list(plan.members), remark=plan.name,
                skip_verify=True)["config_id"], plan) for n, plan in enumerate(layout.codes)]
            warm_target = Target(client.add_contact_way(
                2, 2, state="plainwarm", user=list(WARMUP_STAFF), remark="预热",
                skip_verify=True)["config_id"])
    finally:
        ws.close()
    return path, targets, warm_target


# -- scanning -----------------------------------------------------------------------------

@dataclass
class Scan:
    """One scan: the code, who WeCom chose, and when it started and was done."""

    target: Target
    external_userid: str
    userid: str
    started: float
    done: float


def scan_all(corp: Corp, targets: list[Target], order: list[int], in_flight: int,
             tagged: bool) -> list[Scan]:
    """One scan per entry of ``order``, scan ``i`` of ``targets[order[i]]``, with
    ``in_flight`` workers each scanning, waiting until its customer is done, and scanning
    again.

    :param tagged: whether a customer is done only once the code's tag is on the friendship.
    :raises WrongAnswer: a customer was not done within :data:`DONE_TIMEOUT`.
    """
    people, welcomes = corp.sandbox.people, corp.welcomes
    n = len(order)
    turn = itertools.count()
    scans: list[Scan | None] = [None] * n
    failures: list[BaseException] = []

    def done(external_userid: str, userid: str, tag: str) -> bool:
        if not welcomes.by_customer.get(external_userid):
            return False
        return not tagged or tag.partition("/")[2] in corp.tag_names(external_userid, userid)

    def scan(i: int) -> Scan:
        target = targets[order[i]]
        tag = target.plan.tag if target.plan else "渠道/预热"
        started = time.perf_counter()
        outcome = people.scan_contact_way(target.config_id)
        deadline = started + DONE_TIMEOUT
        with welcomes.changed:
            while not welcomes.by_customer.get(outcome.external_userid):
                if not welcomes.changed.wait(deadline - time.perf_counter()):
                    break
        while not done(outcome.external_userid, outcome.userid, tag):
            if time.perf_counter() > deadline:
                raise WrongAnswer(f"scan {i} of {target.config_id}: customer "
                                  f"{outcome.external_userid} (member {outcome.userid}) not "
                                  f"welcomed{' and tagged' if tagged else ''} within "
                                  f"{DONE_TIMEOUT:.0f} s")
            time.sleep(0.001)
        return Scan(target, outcome.external_userid, outcome.userid, started,
                    time.perf_counter())

    def worker() -> None:
        try:
            while not failures and (i := next(turn)) < n:
                scans[i] = scan(i)
        except BaseException as exc:  # stop every worker; re-raised below
            failures.append(exc)

    threads = [threading.Thread(target=worker, name=f"scan-{k}") for k in range(in_flight)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    return scans  # type: ignore[return-value]


def wait_applied(db: Path, timeout: float = 60.0) -> dict[str, int]:
    """Wait until the server applied every stored callback; the callbacks by status."""
    engine = sa.create_engine(f"sqlite:///{db}")
    try:
        deadline = time.monotonic() + timeout
        while True:
            with engine.connect() as conn:
                statuses = dict(conn.execute(sa.text(
                    "SELECT status, count(*) FROM wecom_callback GROUP BY status")).all())
            if not statuses.get("pending") and not statuses.get("processing"):
                return statuses
            if time.monotonic() > deadline:
                return statuses
            time.sleep(0.05)
    finally:
        engine.dispose()


# -- checking -----------------------------------------------------------------------------

@dataclass
class Stored:
    """What a workspace holds about the scanned customers."""

    owners: dict[str, list[str]]
    channels: dict[str, str]
    tags: dict[str, set[str]]
    arrivals: dict[str, tuple[int | None, str, str]]
    day_adds: dict[tuple[int, str, str], int]
    callbacks: dict[str, int]


def read_workspace(db: Path, side: str, callbacks: dict[str, int]) -> Stored:
    """Owners, channels, tags and (ours) arrivals and daily adds, straight from the tables."""
    engine = sa.create_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as conn:
            owners: dict[str, list[str]] = defaultdict(list)
            channels = {}
            for ext, owner, channel in conn.execute(sa.text(
                    "SELECT c.external_userid, s.userid, c.source_channel FROM contact c "
                    "LEFT JOIN staff s ON s.id = c.owner_id")):
                owners[ext].append(owner)
                channels[ext] = channel
            tags: dict[str, set[str]] = defaultdict(set)
            for ext, group, name in conn.execute(sa.text(
                    "SELECT c.external_userid, g.name, t.name FROM contact_tag ct "
                    "JOIN contact c ON c.id = ct.contact_id JOIN tag t ON t.id = ct.tag_id "
                    "JOIN tag_group g ON g.id = t.group_id")):
                tags[ext].add(f"{group}/{name}")
            arrivals, day_adds = {}, {}
            if side == "ours":
                for code_id, ext, userid, welcome in conn.execute(sa.text(
                        "SELECT a.code_id, c.external_userid, a.userid, a.welcome "
                        "FROM live_code_add a JOIN contact c ON c.id = a.contact_id")):
                    if ext in arrivals:
                        raise WrongAnswer(f"ours: customer {ext} arrived twice")
                    arrivals[ext] = (code_id, userid, welcome)
                day_adds = {(code_id, userid, day): adds for code_id, userid, day, adds in
                            conn.execute(sa.text("SELECT code_id, userid, day, adds "
                                                 "FROM live_code_day"))}
    finally:
        engine.dispose()
    return Stored(dict(owners), channels, dict(tags), arrivals, day_adds, callbacks)


@dataclass
class Routing:
    """How a run's scans spread over members, backups and caps (ours only)."""

    backup_adds: int = 0
    overshoot_total: int = 0
    overshoot_max: int = 0
    members_over: int = 0


def check(side: str, corp: Corp, layout: Layout, scans: list[Scan], stored: Stored,
          in_flight: int, warmup: int) -> Routing:
    """Everything the scans call for; raises :class:`WrongAnswer` naming the first problems.

    :param warmup: customers of the warm-up scans, also stored (not checked otherwise).
    :return: for ours, the backup adds and the cap overshoot.
    """
    problems: list[str] = []

    def problem(text: str) -> None:
        if len(problems) < 5:
            problems.append(text)

    n = len(scans)
    if stored.callbacks.get("done", 0) != sum(stored.callbacks.values()):
        problem(f"stored callbacks by status {stored.callbacks}, expected all done")
    if len(stored.owners) != n + warmup:
        problem(f"{len(stored.owners):,} contacts stored for {n:,} scans and {warmup} warm-up "
                f"scans")
    for s in scans:
        owners = stored.owners.get(s.external_userid, [])
        if owners != [s.userid]:
            problem(f"customer {s.external_userid}: owners {owners}, expected exactly "
                    f"[{s.userid!r}] (the member WeCom chose)")
        follows = corp.world.customers[s.external_userid].follows
        if list(follows) != [s.userid]:
            problem(f"customer {s.external_userid} follows {list(follows)} in WeCom")
        sent = corp.welcomes.by_customer.get(s.external_userid, [])
        expected = (WELCOME_TEXT.format(nickname=corp.world.customers[s.external_userid].name,
                                        staff=staff_name(s.userid))
                    if side == "ours" else DEFAULT_WELCOME)
        if [(w.userid, w.text) for w in sent] != [(s.userid, expected)]:
            problem(f"customer {s.external_userid}: welcomes {[(w.userid, w.text) for w in sent]}"
                    f", expected one from {s.userid} saying {expected!r}")
    routing = Routing()
    if side == "ours":
        routing = _check_routing(corp, layout, scans, stored, in_flight, problem)
    if problems:
        raise WrongAnswer(f"{side} ({n:,} scans, {in_flight} in flight): "
                          + "; ".join(problems))
    return routing


def _check_routing(corp: Corp, layout: Layout, scans: list[Scan], stored: Stored,
                   in_flight: int, problem) -> Routing:
    """Arrivals, channel tags, caps, overshoot and backups of ours."""
    for s in scans:
        plan = s.target.plan
        arrival = stored.arrivals.get(s.external_userid)
        if arrival != (s.target.code_id, s.userid, "sent"):
            problem(f"customer {s.external_userid}: arrival {arrival}, expected code "
                    f"{s.target.code_id}, member {s.userid}, welcome sent")
        if stored.tags.get(s.external_userid) != {plan.tag}:
            problem(f"customer {s.external_userid}: tags {stored.tags.get(s.external_userid)}"
                    f", expected {{{plan.tag!r}}}")
        if stored.channels.get(s.external_userid) != plan.channel:
            problem(f"customer {s.external_userid}: channel "
                    f"{stored.channels.get(s.external_userid)!r}, expected {plan.channel!r}")
        in_wecom = corp.tag_names(s.external_userid, s.userid)
        if in_wecom != {plan.tag.partition("/")[2]}:
            problem(f"customer {s.external_userid}: WeCom tags {in_wecom} on the friendship "
                    f"with {s.userid}, expected {{{plan.tag.partition('/')[2]!r}}}")
    routing = Routing()
    allowed = layout.cap + in_flight - 1
    by_code: dict[int, list[Scan]] = defaultdict(list)
    for s in scans:
        by_code[s.target.code_id].append(s)
    days = sorted({day for _, _, day in stored.day_adds})
    for code_id, code_scans in by_code.items():
        plan = code_scans[0].target.plan
        counted = sum(a for (c, _, _), a in stored.day_adds.items() if c == code_id)
        if counted != len(code_scans):
            problem(f"code {plan.name}: {counted} adds counted for {len(code_scans)} scans")
        chosen = Counter(s.userid for s in code_scans)
        strangers = set(chosen) - {*plan.members, plan.backup}
        if strangers:
            problem(f"code {plan.name}: customers went to {sorted(strangers)}, neither "
                    f"members nor backup")
        for day in days:
            adds = {u: stored.day_adds.get((code_id, u, day), 0) for u in plan.members}
            backup = stored.day_adds.get((code_id, plan.backup, day), 0)
            routing.backup_adds += backup
            for userid, count in adds.items():
                over = count - layout.cap
                if over > 0:
                    routing.overshoot_total += over
                    routing.members_over += 1
                    routing.overshoot_max = max(routing.overshoot_max, over)
                if count > allowed:
                    problem(f"code {plan.name}, {day}: {userid} took {count} customers, cap "
                            f"{layout.cap}" + (f" + {in_flight - 1} in flight"
                                               if in_flight > 1 else ""))
            if backup and min(adds.values()) < layout.cap:
                problem(f"code {plan.name}, {day}: backup {plan.backup} took {backup} while "
                        f"members had {adds} (cap {layout.cap})")
    expected_backup = sum(max(0, len(v) - PER_CODE * layout.cap) for v in by_code.values())
    if in_flight == 1 and len(days) == 1 and routing.backup_adds != expected_backup:
        problem(f"{routing.backup_adds} customers went to backup staff, expected "
                f"{expected_backup} (every member filled to the cap of {layout.cap} first)")
    return routing


# -- runs ---------------------------------------------------------------------------------

@dataclass
class Run:
    """What one run measured."""

    side: str
    phase: str
    in_flight: int
    scans: list[Scan]
    calls: Counter
    busiest_update_minute: int
    routing: Routing

    @property
    def seconds(self) -> float:
        """From the first scan to the last customer done."""
        return max(s.done for s in self.scans) - min(s.started for s in self.scans)

    @property
    def rate(self) -> float:
        """Scans per second over the run."""
        return len(self.scans) / self.seconds

    @property
    def latencies(self) -> list[float]:
        """Seconds from each scan to its customer done, in order."""
        return sorted(s.done - s.started for s in self.scans)

    def per_scan(self, api: str) -> float:
        """Calls of ``externalcontact/<api>`` per timed scan."""
        return self.calls.get(f"externalcontact/{api}", 0) / len(self.scans)


def run_side(args, folder: Path, layout: Layout, side: str, phase: str,
             order: list[int]) -> Run:
    """One run on a fresh sandbox, workspace and server: warm-up, timed scans, checks."""
    in_flight = 1 if phase == "sequential" else args.in_flight
    corp = Corp(args.seed, layout)
    db = server = None
    try:
        db, targets, warm = new_workspace(folder, corp, layout, side)
        server = start_siyu(db, env={"SIYU_DISABLE_PLUGINS": "livecodes"}
                            if side == "baseline" else None)
        corp.sandbox.set_callback_url(f"{server.url}/wecom/callback")
        if args.warmup:
            scan_all(corp, [warm], [0] * args.warmup, 1, tagged=side == "ours")
        corp.calls.reset()
        scans = scan_all(corp, targets, order, in_flight, tagged=side == "ours")
        calls = Counter(corp.calls.counts)
        busiest = corp.calls.busiest_minute("externalcontact/update_contact_way")
        callbacks = wait_applied(db)
        stop_server(server)
        stored = read_workspace(db, side, callbacks)
        routing = check(side, corp, layout, scans, stored, in_flight, args.warmup)
        return Run(side, phase, in_flight, scans, calls, busiest, routing)
    except BaseException:
        if server is not None and server.process.poll() is None:
            print(f"--- siyu serve output ---\n{server.output()}", file=sys.stderr)
        raise
    finally:
        if server is not None:
            stop_server(server)
        corp.stop()
        if db is not None:
            remove_db(db)


# -- report -------------------------------------------------------------------------------

def _pct(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


def _say(label: str, run: Run) -> None:
    lat = run.latencies
    extra = ""
    if run.side == "ours":
        extra = (f", update_contact_way {run.per_scan('update_contact_way'):.2f}/scan, "
                 f"backup {run.routing.backup_adds:,}, cap overshoot "
                 f"{run.routing.overshoot_total} (max {run.routing.overshoot_max})")
    print(f"  {label} {run.phase:<10} {run.side:<8} {len(run.scans):>6,} scans "
          f"{run.seconds:8.2f} s {run.rate:8.1f} scans/s  p50 {_pct(lat, 50) * 1000:6.1f} ms "
          f"p99 {_pct(lat, 99) * 1000:7.1f} ms{extra}", flush=True)


def summarise(args, layout: Layout, phase: str, ours: list[Run], base: list[Run]) -> dict:
    """Print one phase's table; return its JSON case."""
    med = statistics.median
    n = len(ours[0].scans)
    in_flight = ours[0].in_flight
    ours_s, base_s = med(r.seconds for r in ours), med(r.seconds for r in base)
    ratio = (n / ours_s) / (n / base_s)
    print(f"  {phase}: {n:,} scans, {in_flight} in flight")
    header = (f"  {'side':<9} {'median s':>9} {'scans/s':>8} {'p50 ms':>7} {'p99 ms':>8}   "
              f"runs (scans/s)")
    print(header)
    print("  " + "-" * (len(header) + 12))
    for side, runs, seconds in (("ours", ours, ours_s), ("baseline", base, base_s)):
        p50 = med(_pct(r.latencies, 50) for r in runs) * 1000
        p99 = med(_pct(r.latencies, 99) for r in runs) * 1000
        print(f"  {side:<9} {seconds:>9.2f} {n / seconds:>8.1f} {p50:>7.1f} {p99:>8.1f}   "
              + " ".join(f"{r.rate:.1f}" for r in runs))
    updates = max(r.per_scan("update_contact_way") for r in ours)
    busiest = max(r.busiest_update_minute for r in ours)
    overshoot = max(r.routing.overshoot_total for r in ours)
    overshoot_max = max(r.routing.overshoot_max for r in ours)
    members_over = max(r.routing.members_over for r in ours)
    backup = med(r.routing.backup_adds for r in ours)
    calls_ok = updates <= 1 and busiest < API_PER_MINUTE
    met = ratio >= RATIO_TARGET and calls_ok
    print(f"  ratio (ours scans/s / baseline scans/s): {ratio:.3f}   target >= "
          f"{RATIO_TARGET}: {'met' if ratio >= RATIO_TARGET else 'NOT met'}")
    if in_flight == 1:
        print(f"  caps: never exceeded (cap {layout.cap}/member/day); {backup:,.0f} customers "
              f"went to backup staff, each only once all members of the code were capped")
    else:
        print(f"  caps with {in_flight} scans in flight: overshoot {overshoot} customers in "
              f"all (worst run), {members_over} of {len(layout.codes) * PER_CODE} members over "
              f"the cap, at most {overshoot_max} over per member (bound: {in_flight - 1}, the "
              f"other scans in flight); {backup:,.0f} went to backup staff")
    calls = {api: max(r.per_scan(api) for r in ours) for api in (
        "update_contact_way", "get", "send_welcome_msg", "mark_tag")}
    base_calls = {api: max(r.per_scan(api) for r in base) for api in calls}
    print("  WeCom calls per scan, worst run (ours / baseline): " + ", ".join(
        f"{api} {calls[api]:.2f} / {base_calls[api]:.2f}" for api in calls))
    inside = ("NOT inside" if not calls_ok else
              "well inside" if busiest < API_PER_MINUTE / 10 else "inside")
    print(f"  update_contact_way: {updates:.2f} per scan, busiest minute {busiest:,} calls "
          f"(WeCom allows {API_PER_MINUTE:,} per API per minute): {inside}")
    print()
    return {"bench": BENCH, "case": phase, "ours_s": round(ours_s, 3),
            "baseline": "plain 「联系我」 codes, no live-code plugin",
            "baseline_s": round(base_s, 3), "ratio": round(ratio, 3),
            "ours_scans_per_s": round(n / ours_s, 1),
            "baseline_scans_per_s": round(n / base_s, 1),
            "in_flight": in_flight, "cap": layout.cap,
            "cap_overshoot": overshoot, "cap_overshoot_max_per_member": overshoot_max,
            "backup_adds": int(backup),
            "update_contact_way_per_scan": round(updates, 3),
            "update_contact_way_busiest_minute": busiest,
            "target": f"ratio >= {RATIO_TARGET}, caps held (overshoot <= in_flight - 1 per "
                      f"member), update_contact_way <= 1 per scan and < {API_PER_MINUTE} "
                      f"per minute",
            "met": bool(met),
            "size": {"scans": n, "codes": len(layout.codes), "staff": len(layout.staff)}}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=10_000,
                        help="scans per run (default: 10000)")
    parser.add_argument("--codes", type=int, default=50,
                        help="live codes the scans spread over (default: 50)")
    parser.add_argument("--staff", type=int, default=200,
                        help="staff members, four per code, reused when fewer "
                             "(default: 200)")
    parser.add_argument("--in-flight", type=int, default=16,
                        help="scans in flight in the concurrent phase (default: 16)")
    parser.add_argument("--phases", default="sequential,concurrent",
                        help="phases to run, comma-separated (default: sequential,concurrent)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="timed runs of each side and phase, at least 3; the median is "
                             "reported (default: 3)")
    parser.add_argument("--warmup", type=int, default=20,
                        help="untimed scans of a warm-up code each server takes first "
                             "(default: 20)")
    parser.add_argument("--seed", type=int, default=20251125,
                        help="sandbox world seed (default: 20251125)")
    parser.add_argument("--tmpdir", type=Path, default=None,
                        help="folder for the SQLite files (default: the system temp folder)")
    args = parser.parse_args(argv)
    args.phases = [p.strip() for p in args.phases.split(",") if p.strip()]
    if not args.phases or set(args.phases) - {"sequential", "concurrent"}:
        parser.error("--phases takes sequential and/or concurrent")
    if args.codes < 1 or args.size < args.codes:
        parser.error("--codes must be at least 1 and --size at least --codes")
    if args.staff <= PER_CODE:
        parser.error(f"--staff must be more than {PER_CODE} (four members and a backup "
                     "per code)")
    if args.in_flight < 2 or args.warmup < 0:
        parser.error("--in-flight must be at least 2 and --warmup at least 0")
    if args.repeat < 3:
        parser.error("--repeat must be at least 3 (the median of 3 or more runs is reported)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="siyu-bench-livecodes-", dir=args.tmpdir))
    layout = make_layout(args.size, args.codes, args.staff)
    sequence = random.Random(args.seed).choices(range(args.codes), k=args.size)
    started = time.perf_counter()
    cases = []
    try:
        print(f"{args.size:,} scans per run over {args.codes} codes and {args.staff} staff, "
              f"cap {layout.cap}/member/day, phases {', '.join(args.phases)} "
              f"({args.in_flight} in flight when concurrent), {args.repeat} runs each",
              flush=True)
        runs: dict[tuple[str, str], list[Run]] = defaultdict(list)
        for rep in range(args.repeat):
            order = ("ours", "baseline") if rep % 2 == 0 else ("baseline", "ours")
            for phase in args.phases:
                for side in order:
                    run = run_side(args, folder, layout, side, phase, sequence)
                    runs[phase, side].append(run)
                    _say(f"run {rep + 1}/{args.repeat}", run)
        print()
        print(f"livecodes_routing: scan → callback → owner, tags, welcome through siyu serve "
              f"(SQLite) and the sandbox WeCom, median of {args.repeat} alternating runs each "
              f"({time.perf_counter() - started:.0f} s in all)")
        print("  ours     = live codes: routing with daily caps and backup, re-listing in "
              "WeCom, the code's welcome, channel tag here and in WeCom")
        print("  baseline = plain 「联系我」 codes with a fixed member list, no live-code "
              "plugin: contact stored with its owner, default welcome")
        print()
        for phase in args.phases:
            cases.append(summarise(args, layout, phase, runs[phase, "ours"],
                                   runs[phase, "baseline"]))
        print("  answers match on every run: one contact per scan owned by the member WeCom "
              "chose, one welcome each from that member; ours also one arrival per scan, "
              "caps, backups and channel tags as above")
        print()
    except WrongAnswer as exc:
        print(f"WRONG ANSWER: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # could not run: say why
        print(f"cannot run: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    for case in cases:
        print(json.dumps(case, ensure_ascii=False))
    worst = min(cases, key=lambda c: c["ratio"])
    crowded = max(cases, key=lambda c: c["in_flight"])
    print(json.dumps({"bench": BENCH, "case": "all", "ours_s": worst["ours_s"],
                      "baseline": worst["baseline"], "baseline_s": worst["baseline_s"],
                      "ratio": worst["ratio"], "worst_case": worst["case"],
                      "in_flight": crowded["in_flight"],
                      "cap_overshoot": crowded["cap_overshoot"],
                      "cap_overshoot_max_per_member": crowded["cap_overshoot_max_per_member"],
                      "update_contact_way_per_scan": max(
                          c["update_contact_way_per_scan"] for c in cases),
                      "target": worst["target"], "met": all(c["met"] for c in cases),
                      "size": worst["size"]}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
