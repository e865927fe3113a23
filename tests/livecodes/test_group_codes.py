"""Group live codes (群活码) against the sandbox, on SQLite and PostgreSQL: joins tracked from
WeCom's group callbacks, rotation before a group fills, new customers invited into a group,
and the CLI and console page."""

import io

import panel as pn
import pytest
import sqlalchemy as sa
from bokeh.model import Model
from PIL import Image

from siyu import hookimpl
from siyu.core.errors import NotFound, SiyuError, ValidationError
from siyu.core.permissions import Principal
from siyu.plugins.livecodes import api as staff_api
from siyu.plugins.livecodes import group_api as api
from siyu.plugins.livecodes.group_pages import GroupCodesPage
from siyu.plugins.livecodes.groups import invite_attachments
from siyu.plugins.livecodes.models import LiveGroupJoin
from siyu.plugins.wecom.sandbox.testing import wait_until

OPERATOR = Principal("amy", "operator")
ANALYST = Principal("ann", "analyst")


# -- helpers ----------------------------------------------------------------------------------

def chats(wired, *names, owner="qunzhu"):
    """Customer groups (owner only) in the sandbox corp; returns their chat ids."""
    if owner not in wired.world.staff:
        wired.hire(owner)
    with wired.world.lock:
        return [wired.world.create_chat(name, owner).chat_id for name in names]


def join_row(wired, chat_id, member):
    with wired.ws.engine.connect() as conn:
        return conn.execute(sa.select(LiveGroupJoin).where(
            LiveGroupJoin.chat_id == chat_id, LiveGroupJoin.member_id == member)).first()


def scan(wired, config_id, customer=None):
    """A customer scans the group code; returns once their join is fully applied."""
    outcome = wired.sandbox.people.scan_join_way(config_id, customer)
    wait_until(lambda: join_row(wired, outcome.chat_id, outcome.external_userid)
               and wired.settled())
    return outcome


def quit_group(wired, chat_id, member):
    wired.sandbox.people.quit_group(chat_id, member)
    wait_until(lambda: join_row(wired, chat_id, member).left_at is not None
               and wired.settled())


def way(wired, code):
    return wired.world.join_ways[code["config_id"]]


def events(wired, kind):
    return wired.ws.events.df(kind=kind)



# -- creating ---------------------------------------------------------------------------------

def test_creating_a_group_code_makes_a_join_way_over_its_groups(wired):
    first, second = chats(wired, "新品群1", "新品群2")
    code = api.create_group_code(wired.ws, "新品群码", [first, second], room_base_name="新品群",
                                 room_base_id=3)
    assert code["state"] == f"gl:{code['id']}" and code["status"] == "active"
    joinway = way(wired, code)
    assert (joinway.chat_id_list, joinway.state, joinway.scene) == ([first, second],
                                                                    code["state"], 2)
    assert (joinway.auto_create_room, joinway.room_base_name, joinway.room_base_id) == (
        1, "新品群", 3)
    assert code["qr_url"] == wired.world.qr_url(code["config_id"])
    assert (code["chats"], code["pool"], code["retired"]) == ([first, second], [], [])
    listed = api.list_group_codes(wired.ws)
    assert listed["groups"].tolist() == ["新品群1 1 · 新品群2 1"]


def test_a_sixth_group_is_refused_before_wecom_is_called(wired):
    groups = chats(wired, *(f"群{i}" for i in range(6)))
    before = set(wired.world.join_ways)
    with pytest.raises(ValidationError, match=r"6 groups in use.*at most 5 \(41091\).*pool"):
        api.create_group_code(wired.ws, "太多", groups)
    assert set(wired.world.join_ways) == before
    assert api.list_group_codes(wired.ws).empty


def test_41091_from_wecom_is_explained_and_nothing_is_kept(wired):
    groups = chats(wired, "甲", "乙", "丙")
    wired.sandbox.limits.join_way_chats = 2  # this corp's WeCom links fewer groups
    before = set(wired.world.join_ways)
    with pytest.raises(SiyuError, match=r"refused the groups of group code '三群' \(41091\): "
                                        r"a group join way can link at most 5 groups.*pool"):
        api.create_group_code(wired.ws, "三群", groups)
    assert set(wired.world.join_ways) == before
    assert api.list_group_codes(wired.ws).empty


def test_a_chat_id_wecom_does_not_know_is_named(wired):
    (known,) = chats(wired, "真群")
    with pytest.raises(NotFound, match=r"group chat 'wrNoSuchGroup' is unknown to WeCom"):
        api.create_group_code(wired.ws, "假群", [known, "wrNoSuchGroup"])
    assert api.list_group_codes(wired.ws).empty


def test_a_group_already_past_rotate_at_is_refused(wired):
    (full,) = chats(wired, "满群")
    with wired.world.lock:
        for _ in range(3):
            wired.world.add_member(wired.world.group_chats[full], wired.world.new_customer())
    with pytest.raises(ValidationError, match=r"满群 .* already has 4 members.*rotate_at 4"):
        api.create_group_code(wired.ws, "满", [full], warn_at=3, rotate_at=4)


def test_bad_thresholds_and_room_names_are_refused(wired):
    (chat,) = chats(wired, "群")
    with pytest.raises(ValidationError, match="warn_at 50 is above rotate_at 40"):
        api.create_group_code(wired.ws, "阈值", [chat], warn_at=50, rotate_at=40)
    with pytest.raises(ValidationError, match="rotate_at 201 must be a member count from 2 "
                                              "to 200"):
        api.create_group_code(wired.ws, "阈值", [chat], rotate_at=201)
    with pytest.raises(ValidationError, match="at most 40"):
        api.create_group_code(wired.ws, "前缀", [chat], room_base_name="群" * 41)
    with pytest.raises(ValidationError, match="both in use and in the pool"):
        api.create_group_code(wired.ws, "重复", [chat], pool=[chat])


# -- joins from callbacks ---------------------------------------------------------------------

def test_joins_and_quits_are_tracked_from_group_callbacks(wired):
    first, second = chats(wired, "一群", "二群")
    code = api.create_group_code(wired.ws, "群码", [first, second])
    a = scan(wired, code["config_id"])
    b = scan(wired, code["config_id"])
    assert a.chat_id == b.chat_id == first  # WeCom fills the first group with room
    joins = api.joins_df(wired.ws, code["id"])
    assert joins["member_id"].tolist() == [a.external_userid, b.external_userid]
    assert set(joins["state"]) == {code["state"]} and set(joins["join_scene"]) == {3}
    assert joins["left_at"].isna().all()
    quit_group(wired, first, a.external_userid)
    members = api.group_members_df(wired.ws, code["id"]).set_index("chat_id")
    assert members.loc[first, ["members", "joined", "joins", "left"]].tolist() == [2, 1, 2, 1]
    assert members.loc[second, ["members", "joined"]].tolist() == [1, 0]
    assert members["role"].tolist() == ["in_use", "in_use"]
    assert api.list_group_codes(wired.ws)[["joined", "joins_total"]].values.tolist() == [
        [1, 2]]


def test_a_group_rotates_out_of_the_join_way_before_it_fills(wired):
    first, second, spare = chats(wired, "一群", "二群", "备用群")
    code = api.create_group_code(wired.ws, "轮换", [first, second], pool=[spare],
                                 warn_at=2, rotate_at=3)
    scan(wired, code["config_id"])  # 一群: owner + 1 = the warning
    warned = api.get_group_code(wired.ws, code["id"])
    assert "group 一群 has 2 members (warn at 2); it rotates out at 3" in warned["warning"]
    assert events(wired, "groupcode.warning")["payload"].iloc[0]["warning"] == warned["warning"]
    scan(wired, code["config_id"])  # 一群 reaches 3: out, 备用群 in
    assert way(wired, code).chat_id_list == [second, spare]
    rotated = api.get_group_code(wired.ws, code["id"])
    assert (rotated["chats"], rotated["pool"], rotated["retired"]) == (
        [second, spare], [], [first])
    (event,) = events(wired, "groupcode.rotated")["payload"]
    assert (event["out"], event["in"]) == ([first], [spare])
    third = scan(wired, code["config_id"])
    assert third.chat_id == second
    assert len(wired.world.group_chats[first].members) == 3
    roles = api.group_members_df(wired.ws, code["id"])[["chat_id", "role"]]
    assert roles.values.tolist() == [[second, "in_use"], [spare, "in_use"],
                                     [first, "retired"]]


def test_a_warning_is_one_event_per_situation_not_one_per_join(wired):
    (only,) = chats(wired, "热门群")
    code = api.create_group_code(wired.ws, "热门", [only], warn_at=2, rotate_at=5)
    scan(wired, code["config_id"])
    scan(wired, code["config_id"])
    assert "group 热门群 has 3 members (warn at 2)" in api.get_group_code(
        wired.ws, code["id"])["warning"]
    assert len(events(wired, "groupcode.warning")) == 1


def test_without_a_fresh_group_the_warning_says_what_wecom_will_do(wired):
    (only,) = chats(wired, "唯一群")
    code = api.create_group_code(wired.ws, "无备用", [only], warn_at=2, rotate_at=3,
                                 room_base_name="扩容群", room_base_id=7)
    scan(wired, code["config_id"])
    assert "the pool has no fresh group left" in api.get_group_code(
        wired.ws, code["id"])["warning"]
    scan(wired, code["config_id"])
    stuck = api.get_group_code(wired.ws, code["id"])
    assert "no fresh group is left in the pool: WeCom opens a new room '扩容群7'" in \
        stuck["warning"]
    assert way(wired, code).chat_id_list == [only]  # a join way needs one group
    page = GroupCodesPage(wired.ws)
    assert page.warning.visible and "扩容群7" in page.warning.object
    assert "扩容群7" in page.table.value["Warning"].iloc[0]


def test_a_room_wecom_opens_by_itself_is_adopted(wired):
    (only,) = chats(wired, "唯一群")
    code = api.create_group_code(wired.ws, "自动建群", [only], warn_at=2, rotate_at=3,
                                 room_base_name="扩容群", room_base_id=7)
    scan(wired, code["config_id"])
    scan(wired, code["config_id"])
    wired.sandbox.limits.group_capacity = 3  # 唯一群 is full for WeCom too
    newcomer = scan(wired, code["config_id"])
    room = wired.world.group_chats[newcomer.chat_id]
    assert newcomer.created_chat == room.chat_id and room.name == "扩容群7"
    adopted = api.get_group_code(wired.ws, code["id"])
    assert (adopted["chats"], adopted["retired"], adopted["room_base_id"]) == (
        [room.chat_id], [only], 8)
    assert way(wired, code).chat_id_list == [room.chat_id]
    assert events(wired, "groupcode.room_adopted")["payload"].iloc[0]["chat_id"] == \
        room.chat_id
    assert api.joins_df(wired.ws, code["id"])["chat_id"].tolist()[-1] == room.chat_id


def test_a_join_through_an_unknown_state_is_still_recorded(wired):
    seeded = next(w for w in wired.world.join_ways.values() if w.state == "gl:trial")
    outcome = scan(wired, seeded.config_id)
    joins = api.joins_df(wired.ws)
    row = joins[joins["member_id"] == outcome.external_userid].iloc[0]
    assert row["state"] == "gl:trial" and row["chat_id"] == outcome.chat_id
    assert row["code_id"] is None or row["code_id"] != row["code_id"]
    payload = events(wired, "groupcode.unknown_state")["payload"].iloc[0]
    assert payload == {"chat_id": outcome.chat_id, "member": outcome.external_userid,
                       "state": "gl:trial"}


def test_joiners_who_are_contacts_get_the_codes_tags(wired):
    staff = wired.hire("s1")
    contact_way = staff_api.create_code(wired.ws, "加好友", staff)
    friend = wired.scan(contact_way["config_id"], name="老客")
    (chat,) = chats(wired, "会员群")
    code = api.create_group_code(wired.ws, "会员群码", [chat], tags=["渠道/社群"])
    scan(wired, code["config_id"], friend.external_userid)
    contact = wired.ws.contacts.get(friend.external_userid)
    assert api.joins_df(wired.ws, code["id"])["contact_id"].tolist() == [contact.id]
    assert "渠道/社群" in wired.ws.tags.of(contact.id)
    follow = wired.world.customers[friend.external_userid].follows["s1"]
    assert "社群" in {wired.world.tags[t].name for t in follow.tag_ids}


def test_the_hook_reports_joiners_as_groupchat_get_describes_them(wired):
    seen = []

    class Recorder:
        @hookimpl
        def on_group_member_changed(self, chat_id, joined, left, at):
            seen.append((chat_id, joined, left, at))

    recorder = Recorder()
    wired.ws.pm.register(recorder)
    try:
        (chat,) = chats(wired, "钩子群")
        code = api.create_group_code(wired.ws, "钩子", [chat])
        outcome = scan(wired, code["config_id"])
        quit_group(wired, chat, outcome.external_userid)
    finally:
        wired.ws.pm.unregister(recorder)
    (joined_chat, joined, no_left, at), (left_chat, no_joined, left, _) = seen
    assert joined_chat == left_chat == chat and no_left == [] and no_joined == []
    (member,) = joined
    assert (member["userid"], member["type"], member["join_scene"], member["state"]) == (
        outcome.external_userid, 2, 3, code["state"])
    assert left == [outcome.external_userid] and at.tzinfo is not None


# -- new customer → group ---------------------------------------------------------------------

def test_new_customers_of_a_staff_code_get_the_group_qr_and_join(wired):
    staff = wired.hire("w1")
    (chat,) = chats(wired, "新客群")
    group = api.create_group_code(wired.ws, "新客进群", [chat])
    live = staff_api.create_code(wired.ws, "门店", staff, welcome={"text": "欢迎 {nickname}"})
    assert api.invite_to_group(wired.ws, live["id"], group["id"]) == {
        "live_code": live["id"], "group_code": group["id"]}
    assert invite_attachments(wired.ws, live["id"], []) == [
        {"msgtype": "image", "image": {"pic_url": group["qr_url"]}}]
    customer = wired.scan(live["config_id"], name="新客")
    (welcome,) = [w for w in wired.world.welcomes if w.external_userid == customer.external_userid]
    assert (welcome.text, welcome.attachments) == ("欢迎 新客", 1)
    scan(wired, group["config_id"], customer.external_userid)
    contact = wired.ws.contacts.get(customer.external_userid)
    assert api.joins_df(wired.ws, group["id"])["contact_id"].tolist() == [contact.id]
    assert api.get_group_code(wired.ws, group["id"])["invited_by"] == [live["id"]]
    api.invite_to_group(wired.ws, live["id"], None)
    assert invite_attachments(wired.ws, live["id"], []) == []


def test_inviting_needs_a_welcome_message_and_a_live_group_code(wired):
    staff = wired.hire("w2")
    (chat,) = chats(wired, "群")
    group = api.create_group_code(wired.ws, "群码", [chat])
    silent = staff_api.create_code(wired.ws, "无欢迎语", staff)
    with pytest.raises(ValidationError, match="has no welcome message"):
        api.invite_to_group(wired.ws, silent["id"], group["id"])
    live = staff_api.create_code(wired.ws, "有欢迎语", staff, welcome={"text": "你好"})
    api.delete_group_code(wired.ws, group["id"])
    with pytest.raises(ValidationError, match="is deleted"):
        api.invite_to_group(wired.ws, live["id"], group["id"])
    with pytest.raises(NotFound, match="no group code 99"):
        api.invite_to_group(wired.ws, live["id"], 99)


# -- changing ---------------------------------------------------------------------------------

def test_pause_stops_new_rooms_and_resume_brings_them_back(wired):
    (chat,) = chats(wired, "群")
    code = api.create_group_code(wired.ws, "暂停", [chat])
    assert api.pause_group_code(wired.ws, code["id"])["status"] == "paused"
    assert way(wired, code).auto_create_room == 0
    with pytest.raises(ValidationError, match="is paused, not active"):
        api.pause_group_code(wired.ws, code["id"])
    assert api.resume_group_code(wired.ws, code["state"])["status"] == "active"
    assert way(wired, code).auto_create_room == 1


def test_updating_groups_and_settings_rewrites_the_join_way(wired):
    first, second, third = chats(wired, "一", "二", "三")
    code = api.create_group_code(wired.ws, "改", [first, second])
    changed = api.update_group_code(wired.ws, code["id"], chats=[second, third], pool=[first],
                                    name="改名", room_base_name="新群", warn_at=140,
                                    rotate_at=150)
    assert way(wired, code).chat_id_list == [second, third]
    assert (way(wired, code).remark, way(wired, code).room_base_name) == ("改名", "新群")
    assert (changed["chats"], changed["pool"], changed["rotate_at"]) == (
        [second, third], [first], 150)
    with pytest.raises(ValidationError, match="cannot update"):
        api.update_group_code(wired.ws, code["id"], state="gl:x")


def test_delete_removes_the_join_way_and_the_invites(wired):
    staff = wired.hire("d1")
    (chat,) = chats(wired, "群")
    code = api.create_group_code(wired.ws, "删除", [chat])
    live = staff_api.create_code(wired.ws, "门店", staff, welcome={"text": "你好"})
    api.invite_to_group(wired.ws, live["id"], code["id"])
    deleted = api.delete_group_code(wired.ws, code["id"])
    assert deleted["status"] == "deleted" and deleted["invited_by"] == []
    assert code["config_id"] not in wired.world.join_ways


def test_changes_are_audited(wired):
    (chat,) = chats(wired, "群")
    code = api.create_group_code(wired.ws, "审计", [chat])
    api.pause_group_code(wired.ws, code["id"])
    actions = wired.ws.audit_log.df()["action"].tolist()
    assert {"groupcode.create", "groupcode.pause"} <= set(actions)


def test_an_analyst_may_read_but_not_create(wired):
    (chat,) = chats(wired, "群")
    analyst = wired.ws.as_user(ANALYST)
    assert api.list_group_codes(analyst).empty
    with pytest.raises(SiyuError, match="may not"):
        api.create_group_code(analyst, "只读", [chat])


# -- CLI --------------------------------------------------------------------------------------

def test_cli_creates_lists_shows_and_refuses_a_sixth_group(wired, capsys):
    from siyu.cli import main

    if wired.ws.engine.dialect.name != "sqlite":
        pytest.skip("the CLI test needs the workspace's file path")
    groups = chats(wired, *(f"群{i}" for i in range(6)))
    db = wired.ws.engine.url.database
    argv = ["--db", db, "groupcode", "create", "社群码", "--chat", groups[0], "--chat",
            groups[1], "--pool", groups[2], "--room-name", "社群", "--tag", "渠道/社群"]
    assert main(argv) == 0
    created = capsys.readouterr().out
    assert "created group code" in created and "gl:" in created
    assert main(["--db", db, "groupcode", "list"]) == 0
    assert "社群码" in capsys.readouterr().out
    code_id = str(api.list_group_codes(wired.ws)["id"].iloc[0])
    assert main(["--db", db, "groupcode", "members", code_id]) == 0
    listing = capsys.readouterr().out
    assert "群0" in listing and "pool" in listing
    assert main(["--db", db, "groupcode", "pause", code_id]) == 0
    assert "status: paused" in capsys.readouterr().out
    assert main(["--db", db, "groupcode", "chats"]) == 0
    assert groups[5] in capsys.readouterr().out
    live = staff_api.create_code(wired.ws, "门店", wired.hire("c1"), welcome={"text": "你好"})
    assert main(["--db", db, "groupcode", "invite", str(live["id"]), code_id]) == 0
    assert f"get group code {code_id}'s QR" in capsys.readouterr().out
    assert api.get_group_code(wired.ws, int(code_id))["invited_by"] == [live["id"]]
    too_many = ["--db", db, "groupcode", "create", "太多"]
    for chat in groups:
        too_many += ["--chat", chat]
    assert main(too_many) == 2
    assert "41091" in capsys.readouterr().err
    assert main(["--db", db, "groupcode", "show", "999"]) == 2
    assert "no group code 999" in capsys.readouterr().err


def test_cli_update_changes_only_the_options_given(wired, capsys):
    from siyu.cli import main

    if wired.ws.engine.dialect.name != "sqlite":
        pytest.skip("the CLI test needs the workspace's file path")
    groups = chats(wired, "群A", "群B", "群C")
    code = api.create_group_code(wired.ws, "社群码", [groups[0]], pool=[groups[1]],
                                 tags=["渠道/社群"])
    db = wired.ws.engine.url.database
    argv = ["--db", db, "groupcode", "update", str(code["id"]), "--name", "社群码二期",
            "--chat", groups[0], "--chat", groups[2], "--no-pool", "--warn-at", "150"]
    assert main(argv) == 0
    assert "name: 社群码二期" in capsys.readouterr().out
    saved = api.get_group_code(wired.ws, code["id"])
    assert (saved["chats"], saved["pool"], saved["warn_at"], saved["tags"]) == (
        [groups[0], groups[2]], [], 150, ["渠道/社群"])
    assert main(["--db", db, "groupcode", "update", str(code["id"])]) == 2
    assert "nothing to change" in capsys.readouterr().err


# -- console page -----------------------------------------------------------------------------

def test_the_page_is_registered_for_data_read(wired):
    spec = wired.ws.pages()["groupcodes"]
    assert (spec.title, spec.permission) == ("Group codes", "data.read")
    page = spec.factory(wired.ws)
    assert isinstance(page, GroupCodesPage)
    assert isinstance(pn.panel(page.__panel__()).get_root(), Model)


def test_creating_from_the_form_after_reloading_groups(wired, notes):
    first, second = chats(wired, "表单一群", "表单二群")
    page = GroupCodesPage(wired.ws.as_user(OPERATOR))
    page.reload_button.clicks += 1
    assert first in page.chats.options.values() and second in page.pool.options.values()
    page.code_name.value = "表单群码"
    page.chats.value, page.pool.value = [first], [second]
    page.room_name.value, page.warn_at.value, page.rotate_at.value = "表单群", 140, 150
    page.create_button.clicks += 1
    (code,) = api.list_group_codes(wired.ws).to_dict("records")
    assert page.code.value == code["id"]
    assert page.table.value["Name"].tolist() == ["表单群码"]
    assert page.groups.value[["Group", "Role"]].values.tolist() == [
        ["表单一群", "In use"], ["表单二群", "Pool"]]
    assert way(wired, api.get_group_code(wired.ws, code["id"])).chat_id_list == [first]
    assert notes.messages("success")[-1] == f"created group code 表单群码 ({code['state']})"


def test_edit_and_save_from_the_page_rewrites_the_join_way(wired, notes):
    first, second, third = chats(wired, "编辑一群", "编辑二群", "编辑三群")
    code = api.create_group_code(wired.ws, "编辑群码", [first], pool=[second],
                                 tags=["渠道/社群"])
    page = GroupCodesPage(wired.ws.as_user(OPERATOR))
    page.reload_button.clicks += 1
    assert page.save_button.disabled
    page.code.value = code["id"]
    page.edit_button.clicks += 1
    assert (page.code_name.value, page.chats.value, page.pool.value, page.tags.value) == (
        "编辑群码", [first], [second], "渠道/社群")
    page.code_name.value = "编辑群码二期"
    page.chats.value, page.pool.value = [first, third], []
    page.save_button.clicks += 1
    saved = api.get_group_code(wired.ws, code["id"])
    assert (saved["name"], saved["chats"], saved["pool"]) == ("编辑群码二期", [first, third], [])
    assert way(wired, saved).chat_id_list == [first, third]
    assert page.save_button.disabled
    assert notes.messages("success")[-1] == "saved group code 编辑群码二期"
    page.save()
    assert notes.messages("error")[-1] == "choose a group code and press Edit first"


def test_form_errors_are_notifications(wired, notes):
    page = GroupCodesPage(wired.ws)
    page.code_name.value = "空"
    assert page.create() is None
    assert notes.messages("error") == ["a group code needs at least one group chat in use"]
    assert api.list_group_codes(wired.ws).empty


def test_pause_resume_delete_and_the_qr_from_the_page(wired, notes):
    (chat,) = chats(wired, "页面群")
    code = api.create_group_code(wired.ws, "页面", [chat])
    page = GroupCodesPage(wired.ws.as_user(OPERATOR))
    assert page.code.value == code["id"] and page.resume_button.disabled
    with Image.open(io.BytesIO(page.qr.object)) as img:
        assert img.format == "PNG"
    assert page.png_download.filename == f"groupcode-{code['id']}.png"
    assert page.png_download.callback().getvalue().startswith(b"\x89PNG")
    page.pause_button.clicks += 1
    assert page.table.value["Status"].tolist() == ["Paused"] and not page.resume_button.disabled
    page.resume_button.clicks += 1
    page.delete_button.clicks += 1
    assert code["config_id"] not in wired.world.join_ways
    assert page.code.value is None and page.qr.object is None
    assert notes.messages("success") == [
        "paused 页面: no new rooms or rotation until resumed", "resumed 页面",
        "deleted 页面; its QR code no longer works"]


def test_inviting_from_the_page(wired, notes):
    staff = wired.hire("p1")
    (chat,) = chats(wired, "群")
    code = api.create_group_code(wired.ws, "进群", [chat])
    live = staff_api.create_code(wired.ws, "门店码", staff, welcome={"text": "你好"})
    page = GroupCodesPage(wired.ws)
    page.staff_code.value = live["id"]
    page.invite_button.clicks += 1
    assert api.get_group_code(wired.ws, code["id"])["invited_by"] == [live["id"]]
    assert "门店码" in page.invited.object
    page.uninvite_button.clicks += 1
    assert api.get_group_code(wired.ws, code["id"])["invited_by"] == []


def test_an_analyst_sees_codes_with_the_controls_disabled(wired):
    (chat,) = chats(wired, "群")
    api.create_group_code(wired.ws, "只读", [chat])
    page = GroupCodesPage(wired.ws.as_user(ANALYST))
    pn.panel(page.__panel__()).get_root()
    assert page.table.value["Name"].tolist() == ["只读"]
    assert page.create_button.disabled and page.reload_button.disabled
    assert page.pause_button.disabled and page.delete_button.disabled
    assert page.invite_button.disabled and page.qr.object.startswith(b"\x89PNG")
