"""Live codes against the sandbox, on SQLite and PostgreSQL."""

from collections import Counter

import pytest
import sqlalchemy as sa

from siyu.core.errors import SiyuError, ValidationError
from siyu.plugins.livecodes import api
from siyu.storage.models import Contact, Staff, Tag

WELCOME = {"text": "{nickname} 你好，我是{staff}", "fallback": "你好"}


def owners(wired, external_ids):
    with wired.ws.engine.connect() as conn:
        rows = conn.execute(sa.select(Contact.external_userid, Staff.userid)
                            .join(Staff, Contact.owner_id == Staff.id)
                            .where(Contact.external_userid.in_(external_ids))).all()
    return dict(rows)


def test_scans_become_contacts_with_one_owner_the_channel_tag_and_one_welcome(wired):
    staff = wired.hire("s1", "s2")
    code = api.create_code(wired.ws, "海报", staff, channel="poster", tags=["渠道/海报"],
                           welcome=WELCOME, remark="海报-{nickname}")
    outcomes = [wired.scan(code["config_id"], name=f"客{i}") for i in range(4)]
    ids = [o.external_userid for o in outcomes]
    assert owners(wired, ids) == {o.external_userid: o.userid for o in outcomes}
    for o in outcomes:
        contact = wired.ws.contacts.get(o.external_userid)
        assert contact.source_channel == "poster"
        assert "渠道/海报" in wired.ws.tags.of(contact.id)
        follow = wired.world.customers[o.external_userid].follows[o.userid]
        tag_names = {wired.world.tags[t].name for t in follow.tag_ids}
        assert "海报" in tag_names
        assert follow.remark == f"海报-{contact.name}"
    welcomes = Counter(w.external_userid for w in wired.world.welcomes)
    assert all(welcomes[i] == 1 for i in ids)
    first = next(w for w in wired.world.welcomes if w.external_userid == ids[0])
    assert first.text == f"客0 你好，我是员工{outcomes[0].userid}"
    adds = api.adds_df(wired.ws, code["id"])
    assert list(adds["welcome"]) == ["sent"] * 4
    assert adds["latency_ms"].notna().all()
    with wired.ws.engine.connect() as conn:
        assert conn.execute(sa.select(Tag.wecom_tag_id).where(Tag.name == "海报")).scalar()


def test_round_robin_alternates_between_members(wired):
    staff = wired.hire("r1", "r2", "r3")
    code = api.create_code(wired.ws, "轮询", staff, strategy="round_robin")
    got = [wired.scan(code["config_id"]).userid for _ in range(6)]
    assert got == ["r1", "r2", "r3", "r1", "r2", "r3"]


def test_daily_caps_are_never_exceeded_and_backup_takes_over(wired):
    staff = wired.hire("c1", "c2", "bk")
    code = api.create_code(wired.ws, "限额", staff[:2], strategy="least_loaded", daily_cap=2,
                           backup=["bk"])
    got = Counter(wired.scan(code["config_id"]).userid for _ in range(7))
    assert got == {"c1": 2, "c2": 2, "bk": 3}
    preview = api.preview(wired.ws, code["id"])
    listed = preview[preview["listed"]]
    assert list(listed["userid"]) == ["bk"]
    assert listed["reason"].iloc[0].startswith("backup")


def test_pause_lists_backup_only_and_resume_routes_to_members(wired):
    staff = wired.hire("p1", "pb")
    code = api.create_code(wired.ws, "暂停", staff[:1], backup=["pb"])
    api.pause_code(wired.ws, code["id"])
    assert wired.world.contact_ways[code["config_id"]].user == ["pb"]
    assert wired.scan(code["config_id"]).userid == "pb"
    api.resume_code(wired.ws, code["id"])
    assert wired.world.contact_ways[code["config_id"]].user == ["p1"]


def test_pause_without_backup_is_refused_with_the_fix(wired):
    code = api.create_code(wired.ws, "无备份", wired.hire("nb"))
    with pytest.raises(ValidationError, match="backup"):
        api.pause_code(wired.ws, code["id"])


def test_an_unknown_state_is_recorded_and_the_customer_kept(wired):
    wired.hire("u1")
    with wired.world.lock:
        from siyu.plugins.wecom.sandbox.model import ContactWay
        way = ContactWay("foreign", 2, 2, wired.world.now())
        way.user, way.state = ["u1"], "lc:999"
        wired.world.contact_ways["foreign"] = way
    outcome = wired.scan("foreign")
    adds = api.adds_df(wired.ws)
    row = adds[adds["state"] == "lc:999"].iloc[0]
    assert row["code_id"] is None or row["code_id"] != row["code_id"]
    assert "unknown live-code state" in row["reason"]
    assert owners(wired, [outcome.external_userid]) == {outcome.external_userid: "u1"}


def test_a_state_over_30_characters_is_refused_before_calling_wecom(wired):
    with pytest.raises(ValidationError, match="30"):
        api.create_code(wired.ws, "长", wired.hire("l1"), state="lc:" + "x" * 28)
    assert not wired.world.contact_ways or all(
        w.state != "lc:" + "x" * 28 for w in wired.world.contact_ways.values())


def test_more_than_100_members_names_41041_and_the_fix(wired):
    staff = wired.hire(*(f"m{i}" for i in range(101)))
    with pytest.raises(SiyuError, match="41041.*split the members"):
        api.create_code(wired.ws, "太多", staff)


def test_a_member_who_is_not_activated_is_named_with_41054(wired):
    with pytest.raises(SiyuError, match=r"'zhaoliu'.*41054.*activate"):
        api.create_code(wired.ws, "未激活", ["zhaoliu"])
    assert api.list_codes(wired.ws).empty


def test_a_member_without_permission_is_named_with_60011(wired):
    with pytest.raises(SiyuError, match=r"'sunqi'.*60011.*visible range"):
        api.create_code(wired.ws, "无权限", ["sunqi"])


def test_list_and_delete(wired):
    code = api.create_code(wired.ws, "删除", wired.hire("d1"), channel="c")
    frame = api.list_codes(wired.ws)
    assert list(frame["state"]) == [code["state"]]
    api.delete_code(wired.ws, code["id"])
    assert code["config_id"] not in wired.world.contact_ways
    assert api.get_code(wired.ws, code["id"])["status"] == "deleted"


def test_cli_creates_previews_and_lists_codes(wired, capsys):
    from siyu.cli import main

    if wired.ws.engine.dialect.name != "sqlite":
        pytest.skip("the CLI test needs the workspace's file path")
    staff = wired.hire("c1", "c2")
    db = wired.ws.engine.url.database
    argv = ["--db", db, "livecode", "create", "门店海报", "--member", staff[0],
            "--member", staff[1], "--strategy", "round_robin", "--channel", "poster"]
    assert main(argv) == 0
    created = capsys.readouterr().out
    assert "created live code" in created and "lc:" in created
    assert main(["--db", db, "livecode", "list"]) == 0
    listing = capsys.readouterr().out
    assert "门店海报" in listing and "round_robin" in listing
    code_id = str(api.list_codes(wired.ws)["id"].iloc[0])
    assert main(["--db", db, "livecode", "preview", code_id]) == 0
    assert "next in turn" in capsys.readouterr().out
    assert main(["--db", db, "livecode", "pause", "999"]) == 2
    assert "999" in capsys.readouterr().err


def test_cli_update_changes_only_the_options_given(wired, capsys):
    from siyu.cli import main

    if wired.ws.engine.dialect.name != "sqlite":
        pytest.skip("the CLI test needs the workspace's file path")
    staff = wired.hire("u1", "u2", "u3")
    code = api.create_code(wired.ws, "海报", [{"userid": "u1", "weight": 2}, "u2"],
                           strategy="weighted", channel="poster", tags=["渠道/海报"],
                           welcome={"text": "你好"})
    db = wired.ws.engine.url.database
    argv = ["--db", db, "livecode", "update", str(code["id"]), "--member", staff[0],
            "--member", f"{staff[2]}:5", "--daily-cap", "7", "--welcome", "欢迎"]
    assert main(argv) == 0
    assert "updated live code" in capsys.readouterr().out
    saved = api.get_code(wired.ws, code["id"])
    assert [(m["userid"], m["weight"]) for m in saved["members"]] == [("u1", 2), ("u3", 5)]
    assert (saved["daily_cap"], saved["welcome"], saved["channel"], saved["tags"]) == (
        7, {"text": "欢迎"}, "poster", ["渠道/海报"])
    assert main(["--db", db, "livecode", "update", str(code["id"])]) == 2
    assert "nothing to change" in capsys.readouterr().err
