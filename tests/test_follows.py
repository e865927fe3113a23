"""Follow relations (contact × staff): the migration of existing owners, the WeCom sync and
callbacks keeping them, the owner rules and choosing an owner by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pandas as pd
import pytest
import sqlalchemy as sa

import siyu
from siyu.core.errors import ConfigError, NotFound, PermissionDenied, ValidationError
from siyu.core.permissions import Principal
from siyu.plugins.wecom import apply as wecom_apply
from siyu.plugins.wecom.apply import apply_callback
from siyu.storage.models import AuditLog, Contact, Event, Staff

T0 = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def at(hours: float) -> datetime:
    return T0 + hours * HOUR


def callback(change: str, userid: str, ext: str = "wmC", *, hours: float, **extra):
    """A stored change_external_contact callback as the processor hands it over."""
    fields = {"Event": "change_external_contact", "ChangeType": change, "UserID": userid,
              "ExternalUserID": ext, **extra}
    return SimpleNamespace(fields=fields, created_at=at(hours),
                           dedupe_key=f"{change}:{userid}:{ext}:{hours}")


def add(userid, ext="wmC", *, hours, state=""):
    return callback("add_external_contact", userid, ext, hours=hours, State=state)


def customer_deletes(userid, ext="wmC", *, hours):
    return callback("del_follow_user", userid, ext, hours=hours)


def staff_deletes(userid, ext="wmC", *, hours, **extra):
    return callback("del_external_contact", userid, ext, hours=hours, **extra)


def run(ws, *events) -> list[str]:
    return [apply_callback(ws, event) for event in events]


def owner(ws, ext="wmC") -> str | None:
    contact = ws.contacts.get(ext)
    if contact.owner_id is None:
        return None
    with ws.engine.connect() as conn:
        return conn.execute(sa.select(Staff.userid).where(Staff.id == contact.owner_id)
                            ).scalar()


def follows(ws, ext="wmC", include_deleted=True):
    return {f.staff: f for f in ws.follows.of(ext, include_deleted=include_deleted)}


def kinds(ws, ext="wmC") -> list[str]:
    return ws.events.timeline(ext)["kind"].tolist()[::-1]


@pytest.fixture
def staff(ws):
    for userid, name in (("zhangsan", "张三"), ("lisi", "李四"), ("wangwu", "王五")):
        ws.staff.upsert(userid, name)
    return ws


# -- the migration ---------------------------------------------------------------------------

def test_migration_makes_one_follow_per_owned_contact_and_downgrades(db_url):
    from alembic import command

    from siyu.storage.migrate import alembic_config

    siyu.open(db_url, load_entry_points=False).close()
    engine = sa.create_engine(db_url)
    now = T0
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0006_hook_delivery")
        assert "contact_follow" not in sa.inspect(conn).get_table_names()
        ids = {}
        for userid in ("zhangsan", "lisi"):
            ids[userid] = conn.execute(Staff.__table__.insert().values(
                userid=userid, name=userid, status="active", created_at=now)
                .returning(Staff.__table__.c.id)).scalar()

        def contact(ext, owner, removed=None, remark=""):
            return conn.execute(Contact.__table__.insert().values(
                external_userid=ext, name=ext, gender=0, city="", source_channel="",
                remark=remark, owner_id=ids.get(owner), added_at=at(1), removed_at=removed,
                created_at=now, updated_at=now).returning(Contact.__table__.c.id)).scalar()

        live = contact("wm1", "zhangsan", remark="王姐")
        gone = contact("wm2", "lisi", removed=at(5))
        contact("wm3", None)
        contact("wm4", "zhangsan", removed=at(6))
        events = Event.__table__
        for key, kind, cid, payload in (
                ("a1", "contact.added", live, {"userid": "zhangsan", "state": "lc:7"}),
                ("a2", "contact.added", gone, {"userid": "zhangsan", "state": "lc:8"}),
                ("r2", "contact.removed", gone, {"userid": "lisi", "by": "staff"})):
            conn.execute(events.insert().values(kind=kind, contact_id=cid, occurred_at=at(2),
                                                dedupe_key=key, source="wecom",
                                                payload=payload))
        conn.execute(AuditLog.__table__.insert().values(
            at=at(6), actor="local", action="contact.remove", target="wm4",
            detail={"by": "customer"}))
        command.upgrade(alembic_config(conn), "head")
    with siyu.open(db_url, load_entry_points=False) as ws:
        frame = ws.follows.df(include_deleted=True).set_index("external_userid")
        assert sorted(frame.index) == ["wm1", "wm2", "wm4"]  # wm3 had no owner
        assert frame.loc["wm1", "staff"] == "zhangsan" and frame.loc["wm1", "owner"]
        assert frame.loc["wm1", "state"] == "lc:7"  # the owner's add kept its state
        assert frame.loc["wm1", "remark"] == "王姐"
        assert frame.loc["wm1", "added_at"] == at(1) and str(frame["added_at"].dt.tz) \
            == "Asia/Shanghai"
        assert pd.isna(frame.loc["wm1", "deleted_at"])
        assert frame.loc["wm2", "state"] == ""  # that add was by someone else
        assert (frame.loc["wm2", "deleted_at"], frame.loc["wm2", "deleted_by"]) \
            == (at(5), "staff")
        assert (frame.loc["wm4", "deleted_at"], frame.loc["wm4", "deleted_by"]) \
            == (at(6), "customer")
        assert ws.contacts.df().set_index("external_userid")["follows"].to_dict() == {
            "wm1": 1, "wm2": 0, "wm3": 0, "wm4": 0}
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0006_hook_delivery")
        assert "contact_follow" not in sa.inspect(conn).get_table_names()
        command.upgrade(alembic_config(conn), "head")
        assert conn.execute(sa.text("SELECT count(*) FROM contact_follow")).scalar() == 3
    engine.dispose()


# -- callbacks -------------------------------------------------------------------------------

@pytest.mark.parametrize("first_gone", ["zhangsan", "lisi"])
def test_two_members_then_deleted_in_either_order(staff, first_gone):
    ws = staff
    assert run(ws, add("zhangsan", hours=0, state="lc:1"), add("lisi", hours=1)) \
        == ["done", "done"]
    live = follows(ws)
    assert set(live) == {"zhangsan", "lisi"} and live["zhangsan"].state == "lc:1"
    assert owner(ws) == "zhangsan"  # the default rule: the earliest friend
    assert ws.contacts.get("wmC").added_at == at(0)
    assert ws.contacts.df()["follows"].tolist() == [2]

    second = "lisi" if first_gone == "zhangsan" else "zhangsan"
    run(ws, customer_deletes(first_gone, hours=2))
    assert ws.contacts.get("wmC").removed_at is None  # the other member still follows
    assert owner(ws) == second
    assert (follows(ws)[first_gone].deleted_at, follows(ws)[first_gone].deleted_by) \
        == (at(2), "customer")
    assert kinds(ws)[-1] == "contact.follow_removed"

    run(ws, staff_deletes(second, hours=3))
    contact = ws.contacts.get("wmC")
    assert contact.removed_at == at(3)
    assert owner(ws) == second  # a contact nobody follows keeps its last owner
    assert {u: f.deleted_by for u, f in follows(ws).items()} == {first_gone: "customer",
                                                                second: "staff"}
    removed = ws.events.df(kind="contact.removed")
    assert removed.iloc[0]["payload"] == {"userid": second, "change_type":
                                          "del_external_contact", "by": "staff"}
    assert ws.follows.df().empty and len(ws.follows.df(include_deleted=True)) == 2


def test_replays_and_stale_events_change_nothing(staff):
    ws = staff
    assert run(ws, add("zhangsan", hours=5)) == ["done"]
    assert run(ws, add("zhangsan", hours=5)) == ["ignored"]  # a replay
    assert run(ws, add("zhangsan", hours=4)) == ["ignored"]  # older than what is known
    assert run(ws, customer_deletes("zhangsan", hours=3)) == ["ignored"]  # older relation
    assert ws.contacts.get("wmC").removed_at is None and follows(ws)["zhangsan"].live
    assert run(ws, customer_deletes("zhangsan", hours=6),
               staff_deletes("zhangsan", hours=7)) == ["done", "ignored"]  # ended already
    assert follows(ws)["zhangsan"].deleted_by == "customer"


def test_an_add_arriving_after_a_later_removal_of_it_changes_nothing(staff):
    ws = staff
    run(ws, add("zhangsan", hours=0), customer_deletes("zhangsan", hours=2))
    assert run(ws, add("zhangsan", hours=1)) == ["ignored"]
    assert ws.contacts.get("wmC").removed_at == at(2)
    # a removal that arrives before its add: the customer is known as removed, and the
    # late add (older than the removal) leaves it so
    assert run(ws, staff_deletes("lisi", "wmZ", hours=2)) == ["done"]
    assert ws.contacts.get("wmZ").removed_at == at(2)
    assert run(ws, add("lisi", "wmZ", hours=1)) == ["ignored"]
    assert ws.contacts.get("wmZ").removed_at == at(2)
    assert follows(ws, "wmZ")["lisi"].deleted_by == "staff"


def test_a_late_add_of_another_member_brings_a_removed_contact_back(staff):
    ws = staff
    seen = []

    class Watcher:
        @siyu.hookimpl
        def on_contact_added(self, ws, contact, via):
            seen.append((contact.external_userid, via, contact.owner_id))

    ws.pm.register(Watcher(), name="watcher")
    run(ws, add("zhangsan", hours=0), customer_deletes("zhangsan", hours=2))
    assert ws.contacts.get("wmC").removed_at == at(2)
    # lisi's add (1 h) was stored late: the customer has followed lisi since then
    assert run(ws, add("lisi", hours=1, state="lc:3")) == ["done"]
    contact = ws.contacts.get("wmC")
    assert contact.removed_at is None and owner(ws) == "lisi"
    assert [(e, v) for e, v, _o in seen] == [("wmC", "staff"), ("wmC", "lc:3")]
    lisi = ws.staff.get("lisi").id
    assert seen[-1][2] == lisi  # the adding member owns it when plugins are told


def test_a_member_who_adds_again_revives_the_follow(staff):
    ws = staff
    run(ws, add("zhangsan", hours=0), add("lisi", hours=1),
        staff_deletes("zhangsan", hours=2))
    assert owner(ws) == "lisi"
    run(ws, add("zhangsan", hours=3, state="lc:9"))
    again = follows(ws)["zhangsan"]
    assert (again.added_at, again.deleted_at, again.deleted_by, again.state) \
        == (at(3), None, None, "lc:9")
    assert owner(ws) == "lisi"  # first: lisi has been a friend the longest now
    assert len(ws.follows.df(staff="zhangsan")) == 1


def test_a_transfer_ends_the_follow_but_keeps_the_contact(staff):
    ws = staff
    run(ws, add("zhangsan", hours=0))
    run(ws, staff_deletes("zhangsan", hours=1, Source="DELETE_BY_TRANSFER"))
    assert follows(ws)["zhangsan"].deleted_by == "transfer"
    assert ws.contacts.get("wmC").removed_at is None
    assert kinds(ws)[-1] == "contact.transferred_away"
    run(ws, add("lisi", hours=1.5))
    assert owner(ws) == "lisi" and ws.contacts.get("wmC").removed_at is None


def test_remark_tags_and_state_come_from_wecom(staff, monkeypatch):
    ws = staff
    answers = {"remark": "王姐"}

    def fetch(ws, external_userid):
        return {"external_contact": {"external_userid": external_userid, "name": "王芳",
                                     "gender": 2},
                "follow_user": [
                    {"userid": "zhangsan", "remark": answers["remark"], "createtime": 1,
                     "tags": [{"group_name": "等级", "tag_name": "VIP", "tag_id": "et1",
                               "type": 1},
                              {"group_name": "个人", "tag_name": "老客", "type": 2}]},
                    {"userid": "lisi", "remark": "李姐", "state": "lc:2"}]}

    monkeypatch.setattr(wecom_apply, "fetch_contact", fetch)
    run(ws, add("zhangsan", hours=0), add("lisi", hours=1))
    mine = follows(ws)
    assert mine["zhangsan"].remark == "王姐" and mine["lisi"].remark == "李姐"
    assert mine["lisi"].state == "lc:2"  # the event had none: WeCom's follow_user has it
    assert mine["zhangsan"].tags == [{"id": "et1", "name": "等级/VIP", "type": 1},
                                     {"id": None, "name": "个人/老客", "type": 2}]
    contact = ws.contacts.get("wmC")
    assert (contact.name, contact.remark) == ("王芳", "王姐")  # the owner's remark
    answers["remark"] = "王总"
    assert run(ws, callback("edit_external_contact", "zhangsan", hours=2)) == ["done"]
    assert follows(ws)["zhangsan"].remark == "王总"
    assert ws.contacts.get("wmC").remark == "王总"
    run(ws, callback("edit_external_contact", "lisi", hours=3))
    assert ws.contacts.get("wmC").remark == "王总"  # lisi's remark is lisi's own


# -- the owner -------------------------------------------------------------------------------

@pytest.mark.parametrize(("rule", "chosen", "after"), [
    ("first", "zhangsan", "lisi"), ("last", "wangwu", "lisi"), ("livecode", "lisi", "zhangsan")])
def test_owner_rules(staff, rule, chosen, after):
    ws = staff
    if rule != "first":
        ws.settings.set("contacts.owner_rule", rule)
    assert ws.follows.owner_rule == rule
    run(ws, add("zhangsan", hours=0), add("lisi", hours=1, state="lc:5"),
        add("wangwu", hours=2, state="campaign-7"))  # not a claimed prefix: not a code
    assert owner(ws) == chosen
    run(ws, customer_deletes(chosen, hours=3))
    assert owner(ws) == after


def test_changing_the_rule_reassigns_every_contact(staff):
    ws = staff
    run(ws, add("zhangsan", hours=0), add("lisi", hours=1),
        add("zhangsan", "wmD", hours=0))
    assert ws.follows.set_owner_rule("last") == 1  # wmC changes, wmD has one follow
    assert (owner(ws), owner(ws, "wmD")) == ("lisi", "zhangsan")
    with pytest.raises(ValidationError, match="newest"):
        ws.follows.set_owner_rule("newest")
    ws.settings.set("contacts.owner_rule", "oldest")
    with pytest.raises(ConfigError, match="contacts.owner_rule.*first, last, livecode"):
        ws.follows.owner_rule  # noqa: B018
    # a typo in the setting loses no callback: follows change under the default rule
    run(ws, add("wangwu", "wmD", hours=3), staff_deletes("zhangsan", "wmD", hours=4))
    assert owner(ws, "wmD") == "wangwu"
    run(ws, add("wangwu", hours=3))
    assert owner(ws) == "zhangsan"


def test_set_owner_sticks_until_that_follow_ends(staff):
    ws = staff
    ws.settings.set("contacts.owner_rule", "last")
    run(ws, add("zhangsan", hours=0), add("lisi", hours=1))
    assert owner(ws) == "lisi"
    contact = ws.contacts.set_owner("wmC", "zhangsan")
    assert owner(ws) == "zhangsan" == ws.staff.df().set_index("id").loc[contact.owner_id,
                                                                      "userid"]
    assert follows(ws)["zhangsan"].pinned and follows(ws)["zhangsan"].owner
    entry = ws.audit_log.df().query("action == 'contact.owner'").iloc[0]
    assert (entry["target"], entry["detail"]) == ("wmC", {"owner": "zhangsan", "was": "lisi"})
    run(ws, add("wangwu", hours=2))
    assert owner(ws) == "zhangsan"  # the rule (last) would pick wangwu: the choice holds
    run(ws, customer_deletes("zhangsan", hours=3))
    assert owner(ws) == "wangwu"  # the chosen follow ended: the rule again
    assert not follows(ws)["zhangsan"].pinned


def test_set_owner_names_the_contact_and_the_member_it_does_not_follow(staff):
    ws = staff
    run(ws, add("zhangsan", hours=0), add("lisi", hours=1), customer_deletes("lisi", hours=2))
    with pytest.raises(ValidationError) as refused:
        ws.contacts.set_owner("wmC", "wangwu")
    message = str(refused.value)
    assert "'wangwu'" in message and "'wmC'" in message and "zhangsan" in message
    with pytest.raises(ValidationError, match="'lisi'.*'wmC'"):
        ws.contacts.set_owner("wmC", "lisi")  # lisi's follow ended
    with pytest.raises(ValidationError, match="'nobody'"):
        ws.contacts.set_owner(ws.contacts.get("wmC").id, "nobody")
    with pytest.raises(NotFound, match="wmX"):
        ws.contacts.set_owner("wmX", "zhangsan")
    with pytest.raises(PermissionDenied):
        ws.as_user(Principal("ana", "analyst")).contacts.set_owner("wmC", "zhangsan")
    assert owner(ws) == "zhangsan"
    assert ws.audit_log.df().query("action == 'contact.owner'").empty


# -- the services and the card ----------------------------------------------------------------

def test_follows_and_contacts_frames(staff):
    ws = staff
    run(ws, add("zhangsan", hours=0), add("lisi", hours=1), add("lisi", "wmD", hours=2),
        customer_deletes("zhangsan", hours=3))
    frame = ws.follows.df()
    assert list(frame.columns)[:6] == ["contact_id", "external_userid", "contact", "staff",
                                       "staff_name", "owner"]
    assert sorted(zip(frame["external_userid"], frame["staff"], strict=True)) \
        == [("wmC", "lisi"), ("wmD", "lisi")]
    assert str(frame["added_at"].dt.tz) == "Asia/Shanghai"
    assert frame["owner"].tolist() == [True, True]
    everything = ws.follows.df(contact="wmC", include_deleted=True)
    assert everything["staff"].tolist() == ["zhangsan", "lisi"]
    assert everything["deleted_by"].tolist()[0] == "customer"
    assert ws.follows.df(staff="zhangsan").empty
    assert ws.follows.count("wmC") == 1
    contacts = ws.contacts.df().set_index("external_userid")
    assert contacts["follows"].to_dict() == {"wmC": 1, "wmD": 1}
    assert ws.contacts.df(followed_by="lisi")["external_userid"].tolist() == ["wmC", "wmD"]
    assert ws.contacts.df(followed_by="zhangsan").empty
    with pytest.raises(NotFound):
        ws.follows.df(contact="wmX")


def test_removing_a_contact_ends_its_follows(staff):
    ws = staff
    run(ws, add("zhangsan", hours=0), add("lisi", hours=1))
    ws.contacts.remove("wmC", by="staff", at=at(2))
    assert {f.deleted_by for f in follows(ws).values()} == {"staff"}
    assert {f.deleted_at for f in follows(ws).values()} == {at(2)}


def test_the_customer_card_lists_the_follows_escaped(staff):
    from siyu.apps.pages.customer_card import CustomerCard

    ws = staff
    ws.staff.upsert("evil", "<img src=x onerror=alert(1)>")
    run(ws, add("zhangsan", hours=0, state="lc:<b>"), add("evil", hours=1),
        customer_deletes("zhangsan", hours=2))
    ws.contacts.set_owner("wmC", "evil")
    card = CustomerCard(ws)
    card.show("wmC")
    text = card.follows.object
    assert "<img" not in text and "&lt;img src=x onerror=alert(1)&gt; (evil) · owner (chosen)" \
        in text
    assert "lc:&lt;b&gt;" in text
    assert "2026-11-01 10:00" in text  # added, in the workspace timezone
    assert "2026-11-01 12:00 by customer" in text
    ws.contacts.upsert("wmE")
    card.show("wmE")
    assert "No staff member follows" in card.follows.object


# -- the WeCom sync ---------------------------------------------------------------------------

@pytest.fixture
def wired(db_url):
    from siyu.plugins.wecom.sandbox.testing import wired_workspace

    with wired_workspace(db_url) as (ws, sandbox, _base):
        yield ws, sandbox


def test_sync_keeps_every_member_a_customer_follows(wired):
    from siyu.plugins.wecom.sync import sync

    ws, sandbox = wired
    world = sandbox.world
    sync(ws)
    served = {u for u, s in world.staff.items()
              if s.contact_permission and s.activated and not s.resigned}
    relations = {(c.external_userid, u) for c in world.customers.values()
                 for u in c.follows if u in served}
    frame = ws.follows.df()
    assert set(zip(frame["external_userid"], frame["staff"], strict=True)) == relations
    two = next(c for c in world.customers.values() if len(set(c.follows) & served) == 2)
    ext = two.external_userid
    mine = follows(ws, ext)
    assert set(mine) == set(two.follows)
    for userid, follow in two.follows.items():
        assert mine[userid].added_at == datetime.fromtimestamp(follow.createtime, UTC)
    earliest = min(two.follows.values(), key=lambda f: f.createtime).userid
    latest = max(two.follows.values(), key=lambda f: f.createtime).userid
    assert owner(ws, ext) == earliest
    assert ws.contacts.df().set_index("external_userid").loc[ext, "follows"] == 2
    again = sync(ws)
    assert (again.created, again.updated, again.follows_started, again.follows_ended) \
        == (0, 0, 0, 0)

    # the earliest friend deletes the customer, wangwu adds them through a code
    with world.lock:
        del two.follows[earliest]
        added = world.add_follow(two, "wangwu", state="lc:x")
        added.createtime = int(world.now()) + 60
    report = sync(ws)
    assert (report.follows_started, report.follows_ended) == (1, 1)
    mine = follows(ws, ext)
    assert mine[earliest].deleted_by == "staff" and not mine[earliest].live
    assert mine["wangwu"].live and mine["wangwu"].state == "lc:x"
    assert owner(ws, ext) == latest and ws.contacts.get(ext).removed_at is None

    # a customer who deleted a member stays listed by WeCom: the sync does not revive it
    ws.settings.set("contacts.owner_rule", "livecode")
    run(ws, customer_deletes(latest, ext, hours=(datetime.now(UTC) - T0) / HOUR))
    assert not follows(ws, ext)[latest].live
    with world.lock:
        two.follows[latest].friend = False
    sync(ws)
    assert not follows(ws, ext)[latest].live
    assert owner(ws, ext) == "wangwu"

    # nobody follows them any more: removed
    with world.lock:
        two.follows.clear()
    report = sync(ws)
    assert report.removed == 1 and ws.contacts.get(ext).removed_at is not None
    assert ws.follows.df(contact=ext).empty

    # and back, through a member who adds them again
    with world.lock:
        back = world.add_follow(two, "lisi")
        back.createtime = int(world.now()) + 120
    report = sync(ws)
    assert report.follows_started == 1
    contact = ws.contacts.get(ext)
    assert contact.removed_at is None and owner(ws, ext) == "lisi"
    assert contact.added_at == datetime.fromtimestamp(back.createtime, UTC)


def test_sandbox_customer_befriends_two_members_and_leaves_them(wired):
    """The real receiver and processor: a customer scans two members' codes, one member
    deletes them, then they delete the other."""
    from siyu.plugins.wecom.sandbox.testing import wait_until
    from siyu.plugins.wecom.service import wecom

    ws, sandbox = wired
    client = wecom(ws).client
    first = client.add_contact_way(1, 2, user=["zhangsan"], state="lc:11")["config_id"]
    second = client.add_contact_way(1, 2, user=["lisi"], state="lc:12")["config_id"]
    ext = sandbox.people.scan_contact_way(first).external_userid
    wait_until(lambda: ws.contacts.count() == 1)
    sandbox.people.scan_contact_way(second, customer=ext)
    wait_until(lambda: ws.follows.count(ext) == 2)
    assert {f.staff: f.state for f in ws.follows.of(ext)} == {"zhangsan": "lc:11",
                                                              "lisi": "lc:12"}
    assert owner(ws, ext) == "zhangsan"
    sandbox.people.staff_deletes_customer("zhangsan", ext)
    wait_until(lambda: ws.follows.count(ext) == 1)
    assert owner(ws, ext) == "lisi" and ws.contacts.get(ext).removed_at is None
    sandbox.people.customer_deletes_staff(ext, "lisi")
    wait_until(lambda: ws.contacts.get(ext).removed_at is not None)
    assert {f.staff: f.deleted_by for f in ws.follows.of(ext, include_deleted=True)} \
        == {"zhangsan": "staff", "lisi": "customer"}
    assert ws.events.df(kind="contact.follow_removed")["payload"].iloc[0]["by"] == "staff"
    assert ws.events.df(kind="contact.removed")["payload"].iloc[0]["by"] == "customer"
