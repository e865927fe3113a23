"""Durable hook delivery: notices written with the change, delivered at least once per plugin,
retried with backoff, in order per contact, one failing plugin isolated from the others."""

from __future__ import annotations

import re
import types
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel

import siyu
from siyu.core import dispatch
from siyu.core.errors import NotFound, PermissionDenied, ValidationError
from siyu.core.notices import StoredRow
from siyu.core.permissions import Principal
from siyu.storage.models import HookDelivery, HookNotice
from siyu.storage.types import utcnow

GUIDE = Path(__file__).resolve().parent.parent / "docs" / "plugins.md"


class Recorder:
    """Records every delivery it gets; raises for the external_userids in ``fail``."""

    def __init__(self, fail=(), name="recorder"):
        self.calls: list[tuple[str, str, object]] = []
        self.fail = set(fail)
        self.__name__ = name

    @siyu.hookimpl
    def on_contact_added(self, contact, via, delivery_id):
        self.calls.append(("added", delivery_id, contact))
        if contact.external_userid in self.fail:
            raise RuntimeError(f"cannot greet {contact.external_userid}")

    @siyu.hookimpl
    def on_contact_tagged(self, contact, added, removed, source, delivery_id):
        self.calls.append(("tagged", delivery_id, (contact.id, tuple(added))))


def _deliveries(ws, plugin=None):
    d = HookDelivery.__table__
    query = sa.select(d).order_by(d.c.id)
    if plugin:
        query = query.where(d.c.plugin == plugin)
    with ws.engine.connect() as conn:
        return conn.execute(query).all()


def _make_due(ws):
    d = HookDelivery.__table__
    with ws.engine.begin() as conn:
        conn.execute(d.update().where(d.c.status == "pending").values(due_at=utcnow()))


def _open(db_url, *plugins):
    return siyu.open(db_url, plugins=list(plugins), load_entry_points=False)


def test_a_new_contact_is_delivered_once_with_a_stable_delivery_id(db_url):
    recorder = Recorder()
    with _open(db_url, recorder) as ws:
        contact, _ = ws.contacts.upsert("wm_1", name="王芳")
        ws.contacts.upsert("wm_1", name="王芳芳")  # an update notifies nothing
        assert [(kind, did) for kind, did, _c in recorder.calls] == [("added", "1")]
        view = recorder.calls[0][2]
        assert isinstance(view, StoredRow)
        # The row as read at delivery (the recorder looked at it then), before the rename.
        assert (view.id, view.external_userid, view.name) == (contact.id, "wm_1", "王芳")
        with pytest.raises(AttributeError, match="read-only"):
            view.name = "x"
        [row] = _deliveries(ws, recorder.__name__)
        assert (row.status, row.attempts, row.delivered_at is not None) == ("done", 1, True)
        assert ws.hooks.deliver() == 0  # nothing left to deliver


def test_the_notice_commits_with_the_change_or_not_at_all(db_url):
    recorder = Recorder()
    with _open(db_url, recorder) as ws:
        with pytest.raises(RuntimeError, match="changed my mind"):
            with ws.session() as s:
                ws.contacts.upsert("wm_1", session=s)
                raise RuntimeError("changed my mind")
        with ws.engine.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(HookNotice)).scalar() == 0
        assert recorder.calls == []
        with ws.session() as s:
            ws.contacts.upsert("wm_2", session=s)
            assert recorder.calls == []  # not before the commit
        assert [kind for kind, _d, _c in recorder.calls] == ["added"]


def test_a_failing_plugin_is_retried_with_backoff_and_does_not_hold_up_others(db_url):
    failing, healthy = Recorder(fail={"wm_1"}, name="failing"), Recorder(name="healthy")
    with _open(db_url, failing, healthy) as ws:
        ws.contacts.upsert("wm_1")
        assert len(healthy.calls) == 1
        [row] = _deliveries(ws, "failing")
        assert (row.status, row.attempts) == ("pending", 1)
        assert "RuntimeError: cannot greet wm_1" in row.error
        assert row.due_at > utcnow() + timedelta(seconds=1)  # backoff, not at once
        assert ws.hooks.deliver() == 0
        errors = ws.events.df(kind="plugin.error")
        assert "plugin 'failing' failed in on_contact_added" in errors["payload"][0]["error"]
        failing.fail.clear()
        _make_due(ws)
        assert ws.hooks.deliver() == 1
        [row] = _deliveries(ws, "failing")
        assert (row.status, row.attempts, row.error) == ("done", 2, "")
        assert [d for _k, d, _c in failing.calls] == ["1", "1"]  # same delivery id
        assert len(healthy.calls) == 1


def test_a_delivery_failing_every_attempt_is_parked_and_can_be_retried(db_url, monkeypatch):
    monkeypatch.setattr(dispatch, "MAX_ATTEMPTS", 2)
    failing = Recorder(fail={"wm_1"}, name="failing")
    with _open(db_url, failing) as ws:
        ws.contacts.upsert("wm_1")
        _make_due(ws)
        ws.hooks.deliver()
        [row] = _deliveries(ws, "failing")
        assert (row.status, row.attempts) == ("failed", 2)
        assert ws.hooks.summary()["failing.on_contact_added"] == {"failed": 1}
        frame = ws.hooks.df(status="failed")
        assert list(frame["id"]) == [row.id] and "cannot greet" in frame["error"][0]
        with pytest.raises(PermissionDenied):
            ws.as_user(Principal("viewer", "viewer")).hooks.retry(row.id)
        with pytest.raises(NotFound):
            ws.hooks.retry(row.id + 100)
        with pytest.raises(ValidationError, match="status"):
            ws.hooks.df(status="lost")
        failing.fail.clear()
        ws.hooks.retry(row.id)
        [row] = _deliveries(ws, "failing")
        assert row.status == "done"
        with pytest.raises(ValidationError, match="delivered already"):
            ws.hooks.retry(row.id)


def test_one_contacts_notices_reach_a_plugin_in_order(db_url):
    failing = Recorder(fail={"wm_1"}, name="failing")
    with _open(db_url, failing) as ws:
        one, _ = ws.contacts.upsert("wm_1")
        two, _ = ws.contacts.upsert("wm_2")
        ws.tags.tag([one.id, two.id], ["渠道/抖音"], create=True)
        # wm_1's tag notice waits behind its failed add; wm_2's does not.
        assert [(k, c) for k, _d, c in failing.calls if k == "tagged"] == [
            ("tagged", (two.id, ("渠道/抖音",)))]
        failing.fail.clear()
        _make_due(ws)
        ws.hooks.deliver()
        kinds = [(k, c if k == "tagged" else c.id) for k, _d, c in failing.calls]
        assert kinds.index(("added", one.id)) < kinds.index(("tagged", (one.id, ("渠道/抖音",))))
        assert len([k for k in kinds if k[0] == "tagged"]) == 2


def test_an_import_notifies_in_bulk_and_an_item_that_fails_is_retried_alone(db_url, tmp_path):
    csv = tmp_path / "contacts.csv"
    csv.write_text("external_userid,昵称,标签\n" + "".join(
        f"wm_{i},客户{i},渠道/抖音\n" for i in range(12)), encoding="utf-8")
    recorder = Recorder(fail={"wm_5"})
    with _open(db_url, recorder) as ws:
        ws.imports.contacts(csv, create_tags=True)
        with ws.engine.connect() as conn:
            notices = conn.execute(sa.select(HookNotice.__table__)).all()
        assert sorted((n.hook, n.items) for n in notices) == [
            ("on_contact_added", 12), ("on_contact_tagged", 12)]
        added = [(d, c) for k, d, c in recorder.calls if k == "added"]
        assert len(added) == 12 and len({d for d, _c in added}) == 12
        assert all(re.fullmatch(r"\d+:\d+", d) for d, _c in added)
        assert {c.external_userid for _d, c in added} == {f"wm_{i}" for i in range(12)}
        rows = _deliveries(ws, "recorder")
        split = [r for r in rows if r.item is not None]
        assert len(split) == 1 and split[0].status == "pending"
        assert split[0].subject == f"contact:{ws.contacts.get('wm_5').id}"
        assert all(r.status == "done" for r in rows if r.item is None)
        recorder.fail.clear()
        _make_due(ws)
        assert ws.hooks.deliver() == 1
        again = [d for k, d, c in recorder.calls if k == "added" and c.external_userid == "wm_5"]
        assert len(again) == 2 and again[0] == again[1]
        # A re-import creates nothing and notifies nothing.
        before = len(recorder.calls)
        ws.imports.contacts(csv, create_tags=True)
        assert len(recorder.calls) == before


def test_a_claimed_delivery_whose_process_died_is_delivered_after_the_lease(db_url,
                                                                          monkeypatch):
    monkeypatch.setenv("SIYU_HOOK_LEASE_S", "1")
    recorder = Recorder()
    with _open(db_url, recorder) as ws:
        monkeypatch.setattr(dispatch.HookDispatcher, "after_commit", lambda *a, **k: None)
        # The session's own deliveries are written claimed by it; it dies before delivering.
        ws.contacts.upsert("wm_1")
        assert recorder.calls == []
        leased = _deliveries(ws, "recorder")
        assert [(row.status, row.attempts) for row in leased] == [("pending", 1)]
        assert ws.hooks.deliver() == 0  # leased
        assert ws.hooks.dispatcher._claim(None, 10) == []
        d = HookDelivery.__table__
        with ws.engine.begin() as conn:  # the lease runs out
            conn.execute(d.update().values(due_at=utcnow() - timedelta(seconds=1)))
        assert ws.hooks.deliver() > 0
        assert [did for _k, did, _c in recorder.calls] == ["1"]
        [row] = _deliveries(ws, "recorder")
        assert (row.status, row.attempts) == ("done", 2)


def test_a_leased_delivery_waits_for_an_earlier_pending_one_of_its_subject(db_url,
                                                                           monkeypatch):
    recorder = Recorder()
    with _open(db_url, recorder) as ws:
        contact, _ = ws.contacts.upsert("wm_1")
        d = HookDelivery.__table__
        with ws.engine.begin() as conn:  # the add is to be retried, in a minute
            conn.execute(d.update().values(status="pending",
                                           due_at=utcnow() + timedelta(minutes=1)))
        ws.tags.tag([contact.id], ["vip"], create=True)
        # The tag notice is not run ahead of the pending add: handed back, claimed after it.
        assert [kind for kind, _did, _c in recorder.calls] == ["added"]
        [_add, tag] = _deliveries(ws, "recorder")
        assert (tag.status, tag.attempts) == ("pending", 0)
        assert ws.hooks.deliver() == 0
        with ws.engine.begin() as conn:  # the retry comes due
            conn.execute(d.update().where(d.c.id == _add.id).values(due_at=utcnow()))
        assert ws.hooks.deliver() >= 2
        kinds = [kind for kind, _did, _c in recorder.calls]
        assert kinds == ["added", "added", "tagged"]


def test_the_background_thread_delivers_what_a_dead_process_left(db_url, monkeypatch):
    monkeypatch.setenv("SIYU_HOOK_LEASE_S", "1")  # the dead writer's lease
    recorder = Recorder()
    with _open(db_url, recorder) as ws:
        original = dispatch.HookDispatcher.after_commit
        monkeypatch.setattr(dispatch.HookDispatcher, "after_commit", lambda *a, **k: None)
        ws.contacts.upsert("wm_1")
        monkeypatch.setattr(dispatch.HookDispatcher, "after_commit", original)
        monkeypatch.setattr(dispatch, "POLL_S", 0.05)
        ws.hooks.start()
        try:
            deadline = utcnow() + timedelta(seconds=10)
            while not recorder.calls and utcnow() < deadline:
                ws.hooks.dispatcher._stop.wait(0.05)
        finally:
            ws.hooks.stop()
        assert [did for _k, did, _c in recorder.calls] == ["1"]


def test_done_deliveries_are_purged_after_a_week(db_url):
    recorder = Recorder()
    with _open(db_url, recorder) as ws:
        ws.contacts.upsert("wm_1")
        assert ws.hooks.purge() == 0
        delivered = len(_deliveries(ws))
        assert delivered > 0
        assert ws.hooks.purge(older_than=timedelta(seconds=-1)) == delivered
        with ws.engine.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(HookNotice)).scalar() == 0


def _durable_delivery_example() -> str:
    chapter = GUIDE.read_text(encoding="utf-8").split("## Durable delivery", 1)[1]
    chapter = chapter.split("\n## ", 1)[0]
    return re.search(r"^```python\n(.*?)^```", chapter, re.MULTILINE | re.DOTALL).group(1)


def test_the_durable_delivery_example_applies_each_notice_once(db_url, monkeypatch):
    plugin = types.ModuleType("docs_durable_delivery")
    tables_before = set(SQLModel.metadata.tables)
    exec(compile(_durable_delivery_example(), "docs/plugins.md durable delivery", "exec"),
         plugin.__dict__)
    try:
        with _open(db_url, plugin) as ws:
            ws.contacts.upsert("wm_1")
            points = plugin.WelcomePoints.__table__
            with ws.engine.connect() as conn:
                assert conn.execute(sa.select(points.c.points)).scalars().all() == [100]
            # The process "dies" after the commit: the notice waits; redelivered twice.
            monkeypatch.setattr(dispatch.HookDispatcher, "after_commit", lambda *a, **k: None)
            ws.contacts.upsert("wm_2")
            d = HookDelivery.__table__
            with ws.engine.begin() as conn:  # its lease on the deliveries runs out
                conn.execute(d.update().where(d.c.status == "pending")
                             .values(due_at=utcnow()))
            assert ws.hooks.deliver() > 0
            d = HookDelivery.__table__
            with ws.engine.begin() as conn:  # as if the deliveries' outcomes were lost
                conn.execute(d.update().values(status="pending", due_at=utcnow()))
            assert ws.hooks.deliver() > 0
            with ws.engine.connect() as conn:
                rows = conn.execute(sa.select(points.c.contact_id, points.c.points)
                                    .order_by(points.c.contact_id)).all()
            assert [tuple(r) for r in rows] == [(1, 100), (2, 100)]
    finally:
        for name in set(SQLModel.metadata.tables) - tables_before:
            SQLModel.metadata.remove(SQLModel.metadata.tables[name])


class LiveCodeOnly:
    """Wants only contacts that came through an ``ex:`` state."""

    __name__ = "expo"

    def __init__(self):
        self.vias = []

    @siyu.hookimpl
    @siyu.notified_when(lambda via, **_: via.startswith("ex:"))
    def on_contact_added(self, contact, via):
        self.vias.append(via)


class BrokenPredicate:
    __name__ = "broken_predicate"

    def __init__(self):
        self.calls = 0

    @siyu.hookimpl
    @siyu.notified_when(lambda via, **_: via.nope)
    def on_contact_added(self, contact, via):
        self.calls += 1


def test_notified_when_keeps_unwanted_notices_from_being_written(db_url, tmp_path):
    expo, broken = LiveCodeOnly(), BrokenPredicate()
    csv = tmp_path / "contacts.csv"
    csv.write_text("external_userid\nwm_a\nwm_b\n", encoding="utf-8")
    with _open(db_url, expo, broken) as ws:
        ws.contacts.upsert("wm_1", via="ex:booth-3")
        ws.contacts.upsert("wm_2", via="api")
        ws.imports.contacts(csv)
        assert expo.vias == ["ex:booth-3"]
        assert [r.notice_id for r in _deliveries(ws, "expo")] == [1]
        assert broken.calls == 4  # a failing predicate delivers rather than loses
