"""The Live codes console page, driven through its Python objects against the sandbox on
both engines."""

import io

import panel as pn
from bokeh.model import Model
from PIL import Image

from siyu.core.permissions import Principal
from siyu.plugins.livecodes import api
from siyu.plugins.livecodes.pages import LiveCodesPage, parse_tags

OPERATOR = Principal("amy", "operator")
ANALYST = Principal("ann", "analyst")



def render(page):
    return pn.panel(page.__panel__()).get_root()


def fill(page, name, members, **fields):
    page.code_name.value = name
    page.members.value = members
    for key, value in fields.items():
        getattr(page, key).value = value


def test_the_page_is_registered_for_data_read(wired):
    spec = wired.ws.pages()["livecodes"]
    assert (spec.title, spec.icon, spec.permission, spec.order) == (
        "Live codes", "qrcode", "data.read", 40)
    page = spec.factory(wired.ws)
    assert isinstance(page, LiveCodesPage)
    assert isinstance(render(page), Model)


def test_creating_a_code_from_the_form_creates_it_in_wecom(wired, notes):
    wired.hire("s1", "s2", "bk")
    page = LiveCodesPage(wired.ws.as_user(OPERATOR))
    assert page.members.options == {"员工s1 (s1)": "s1", "员工s2 (s2)": "s2",
                                    "员工bk (bk)": "bk"}
    fill(page, "门店海报", ["s1", "s2"], strategy="least_loaded", channel="poster",
         tags="渠道/海报, 活动/双11", backup=["bk"], daily_cap=5,
         welcome="{nickname} 你好，我是{staff}")
    page.create_button.clicks += 1
    codes = api.list_codes(wired.ws)
    assert codes["name"].tolist() == ["门店海报"]
    code = api.get_code(wired.ws, int(codes["id"].iloc[0]))
    assert code["config_id"] in wired.world.contact_ways
    assert codes["qr_url"].iloc[0] == wired.world.qr_url(code["config_id"])
    assert (code["strategy"], code["channel"], code["backup"], code["daily_cap"]) == (
        "least_loaded", "poster", ["bk"], 5)
    assert code["tags"] == ["渠道/海报", "活动/双11"]
    assert code["welcome"] == {"text": "{nickname} 你好，我是{staff}"}
    assert page.table.value["Name"].tolist() == ["门店海报"]
    assert page.table.value["Routing"].tolist() == ["Fewest adds today first"]
    assert page.code.value == code["id"]
    assert notes.messages("success") == [f"created live code 门店海报 ({code['state']})"]


def test_the_preview_says_who_gets_the_next_customer_and_why(wired):
    staff = wired.hire("p1", "p2")
    api.create_code(wired.ws, "轮询", staff)
    page = LiveCodesPage(wired.ws)
    preview = page.frames["preview"].set_index("userid")
    assert sorted(preview.index) == ["p1", "p2"]
    assert preview["reason"].str.len().gt(0).all()
    assert preview.loc["p1", "listed"]
    shown = page.preview.value
    assert list(shown.columns) == ["Staff", "Listed now", "Why", "Adds today", "Adds this round"]
    assert shown["Staff"].tolist() == ["员工p1", "员工p2"]
    assert shown["Listed now"].tolist() == ["Yes", "No"]


def test_pause_and_resume_change_the_status(wired, notes):
    staff = wired.hire("m1", "bk")
    code = api.create_code(wired.ws, "暂停", staff[:1], backup=["bk"])
    page = LiveCodesPage(wired.ws.as_user(OPERATOR))
    assert page.code.value == code["id"] and page.resume_button.disabled
    page.pause_button.clicks += 1
    assert api.get_code(wired.ws, code["id"])["status"] == "paused"
    assert page.table.value["Status"].tolist() == ["Paused"]
    assert page.table.value["Listed now"].tolist() == ["员工bk"]
    assert "paused" in page.preview.value["Why"].iloc[0]
    assert page.pause_button.disabled and not page.resume_button.disabled
    page.resume_button.clicks += 1
    assert api.get_code(wired.ws, code["id"])["status"] == "active"
    assert page.table.value["Status"].tolist() == ["Active"]
    assert notes.messages("success") == ["paused 暂停: backup staff serve new customers",
                                          "resumed 暂停"]


def test_pausing_without_backup_staff_is_a_notification(wired, notes):
    staff = wired.hire("n1")
    code = api.create_code(wired.ws, "无备份", staff)
    page = LiveCodesPage(wired.ws)
    page.pause_button.clicks += 1
    assert "no backup staff" in notes.messages("error")[0]
    assert api.get_code(wired.ws, code["id"])["status"] == "active"


def test_deleting_removes_the_code_from_wecom_and_the_choices(wired):
    staff = wired.hire("x1")
    code = api.create_code(wired.ws, "删除", staff)
    page = LiveCodesPage(wired.ws)
    page.delete()
    assert code["config_id"] not in wired.world.contact_ways
    assert page.table.value["Status"].tolist() == ["Deleted"]
    assert page.code.value is None and page.qr.object is None


def test_the_qr_pane_shows_the_chosen_code_and_downloads_png_and_svg(wired):
    staff = wired.hire("q1")
    first = api.create_code(wired.ws, "一号", staff)
    second = api.create_code(wired.ws, "二号", staff)
    page = LiveCodesPage(wired.ws)
    page.table.selection = [1]
    assert page.code.value == second["id"]
    assert page.qr.object.startswith(b"\x89PNG")
    with Image.open(io.BytesIO(page.qr.object)) as img:
        assert img.format == "PNG" and img.width > 100
    assert page.png_download.filename == f"livecode-{second['id']}.png"
    assert page.png_download.callback().getvalue().startswith(b"\x89PNG")
    assert b"<svg" in page.svg_download.callback().getvalue()
    page.code.value = first["id"]
    assert page.svg_download.filename == f"livecode-{first['id']}.svg"


def test_recent_arrivals_of_the_chosen_code(wired):
    staff = wired.hire("v1")
    code = api.create_code(wired.ws, "到店", staff, welcome={"text": "你好"})
    wired.scan(code["config_id"], name="客甲")
    wired.scan(code["config_id"], name="客乙")
    page = LiveCodesPage(wired.ws)
    arrivals = page.arrivals.value
    assert arrivals["Staff"].tolist() == ["员工v1", "员工v1"]
    assert arrivals["Welcome message"].tolist() == ["Sent", "Sent"]
    assert arrivals["Customer ID"].tolist() == [
        str(i) for i in page.frames["arrivals"]["contact_id"]]
    assert page.arrivals.visible and not page.no_arrivals.visible
    assert page.table.value["Adds in total"].tolist() == ["2"]


def test_an_analyst_reads_codes_with_the_write_controls_disabled(wired):
    staff = wired.hire("a1", "bk")
    api.create_code(wired.ws, "只读", staff[:1], backup=["bk"])
    page = LiveCodesPage(wired.ws.as_user(ANALYST))
    render(page)
    assert page.table.value["Name"].tolist() == ["只读"]
    assert page.create_button.disabled and page.code_name.disabled and page.members.disabled
    assert page.pause_button.disabled and page.resume_button.disabled
    assert page.delete_button.disabled
    assert page.qr.object.startswith(b"\x89PNG")


def test_a_code_without_members_is_a_notification_not_an_error(wired, notes):
    wired.hire("e1")
    page = LiveCodesPage(wired.ws)
    fill(page, "空码", [])
    assert page.create() is None
    assert notes.messages("error") == ["a live code needs at least one member"]
    assert api.list_codes(wired.ws).empty


def test_a_bad_tag_is_a_notification(wired, notes):
    wired.hire("t1")
    page = LiveCodesPage(wired.ws)
    fill(page, "坏标签", ["t1"], tags="渠道/" + "长" * 31)
    page.create_button.clicks += 1
    assert "must be 'group/name'" in notes.messages("error")[0]
    assert api.list_codes(wired.ws).empty


def test_tags_are_split_on_either_comma():
    assert parse_tags("渠道/海报， 活动/双11,, ") == ["渠道/海报", "活动/双11"]


def test_edit_loads_the_chosen_code_and_save_changes_it_in_wecom(wired, notes):
    wired.hire("s1", "s2", "s3", "bk")
    code = api.create_code(wired.ws, "门店海报", [{"userid": "s1", "weight": 3}, "s2"],
                           strategy="weighted", channel="poster", tags=["渠道/海报"],
                           backup=["bk"], welcome={"text": "你好", "fallback": "欢迎"})
    page = LiveCodesPage(wired.ws.as_user(OPERATOR))
    assert page.save_button.disabled
    page.code.value = code["id"]
    page.edit_button.clicks += 1
    assert (page.code_name.value, page.members.value, page.strategy.value) == (
        "门店海报", ["s1", "s2"], "weighted")
    assert (page.channel.value, page.tags.value, page.backup.value, page.welcome.value) == (
        "poster", "渠道/海报", ["bk"], "你好")
    assert not page.save_button.disabled
    fill(page, "门店海报 二期", ["s1", "s3"], tags="渠道/海报二期", welcome="欢迎光临")
    page.save_button.clicks += 1
    saved = api.get_code(wired.ws, code["id"])
    assert saved["name"] == "门店海报 二期"
    assert [(m["userid"], m["weight"]) for m in saved["members"]] == [("s1", 3), ("s3", 1)]
    assert saved["tags"] == ["渠道/海报二期"]
    assert saved["welcome"] == {"text": "欢迎光临", "fallback": "欢迎"}
    assert set(wired.world.contact_ways[code["config_id"]].user) <= {"s1", "s3"}
    assert page.save_button.disabled and page.code.value == code["id"]
    assert notes.messages("success")[-1].startswith("saved live code 门店海报 二期")


def test_save_without_edit_is_a_notification(wired, notes):
    page = LiveCodesPage(wired.ws.as_user(OPERATOR))
    page.save()
    assert notes.messages("error") == ["choose a code and press Edit first"]
