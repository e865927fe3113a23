"""The Quick replies page built in Python as the console builds it: an operator adds a text
and an image reply through the form, edits, disables, moves and deletes (asked first) and
imports a file; bad input is a notification with nothing stored; an analyst sees the library
with every control that changes it disabled; data-derived text is escaped."""

from __future__ import annotations

import panel as pn
from bokeh.model import Model

from siyu.core.permissions import Principal
from siyu.plugins import quickreplies as qr
from siyu.plugins.quickreplies.pages import QuickRepliesPage

OPERATOR = Principal("amy", "operator")
ANALYST = Principal("ann", "analyst")
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
HOSTILE = "<img src=x onerror=alert(1)>"


def test_the_page_is_registered_for_data_read(ws):
    spec = ws.pages()["quick-replies"]
    assert (str(spec.title), spec.permission, spec.order) == ("Quick replies", "data.read", 50)
    page = spec.factory(ws.as_user(OPERATOR))
    assert isinstance(page, QuickRepliesPage)
    assert isinstance(pn.panel(page.__panel__()).get_root(), Model)


def test_an_operator_adds_edits_moves_and_deletes(ws, notes):
    page = QuickRepliesPage(ws.as_user(OPERATOR))
    assert page.empty.visible and page.edit_button.disabled
    page.new_category.value, page.new_title.value, page.text.value = "售后", "退货", "七天"
    page.save_button.clicks += 1
    page.kind.value = "image"
    assert page.image_box.visible and not page.text.visible
    page.new_title.value = "尺码表"
    page.image.filename, page.image.value = "size.png", PNG
    assert "data:image/png;base64," in page.image_preview.object
    page.save_button.clicks += 1
    assert notes.messages("success") == ["退货 added to 售后", "尺码表 added to 售后"]
    assert page.rows["title"].tolist() == ["退货", "尺码表"]
    assert page.rows["preview"].tolist() == ["七天", "size.png"]
    page.table.selection = [1]
    assert page.chosen == page.rows["id"].iloc[1] and "<img" in page.detail.object
    assert page.down_button.disabled and not page.up_button.disabled
    page.up_button.clicks += 1
    assert page.rows["title"].tolist() == ["尺码表", "退货"]
    page.choose(int(page.rows["id"].iloc[1]))
    page.edit_button.clicks += 1
    assert page.editing is not None and page.text.value == "七天"
    page.text.value = "七天无理由"
    page.save_button.clicks += 1
    assert qr.listing(ws)["text"].tolist()[1] == "七天无理由"
    page.choose(int(page.rows["id"].iloc[1]))
    page.toggle_button.clicks += 1
    assert not page.rows["enabled"].iloc[1] and page.toggle_button.label == "Enable"
    page.delete_button.clicks += 1
    assert page.confirm_row.visible and len(qr.listing(ws)) == 2
    page.confirm_button.clicks += 1
    assert qr.listing(ws)["title"].tolist() == ["尺码表"]
    frame = page.download_frame()
    assert frame.columns.tolist()[:4] == ["Category", "Title", "Kind", "Text"]


def test_bad_input_is_a_notification_and_stores_nothing(ws, notes):
    page = QuickRepliesPage(ws.as_user(OPERATOR))
    page.new_category.value, page.new_title.value, page.text.value = "售后", "", "x"
    page.save_button.clicks += 1
    page.kind.value = "image"
    page.new_title.value = "图"
    page.image.filename, page.image.value = "fake.png", b"GIF89a..."
    assert "not a PNG or JPEG" in page.image_preview.object
    page.save_button.clicks += 1
    assert notes.messages("error") == [
        "a quick reply needs a title",
        "fake.png is not a PNG or JPEG image (whatever its name says); save it as .png or .jpg",
        "fake.png is not a PNG or JPEG image (whatever its name says); save it as .png or .jpg"]
    assert qr.listing(ws).empty


def test_import_from_the_page(ws, notes):
    page = QuickRepliesPage(ws.as_user(OPERATOR))
    page.import_file.filename = "bad.csv"
    page.import_file.value = "category,title,text\n售后,,x\n".encode()
    page.import_button.clicks += 1
    assert "line 2: a quick reply needs a title" in page.import_result.object
    page.import_file.filename = "good.csv"
    page.import_file.value = "分类,标题,内容\n售后,运费,包邮\n".encode()
    page.import_button.clicks += 1
    assert page.rows["title"].tolist() == ["运费"] and "1 new" in page.import_result.object


def test_an_analyst_reads_with_every_control_disabled(ws):
    qr.add(ws, category=HOSTILE, title=HOSTILE, text=HOSTILE)
    page = QuickRepliesPage(ws.as_user(ANALYST))
    for widget in (page.new_category, page.new_title, page.text, page.image, page.kind,
                   page.save_button, page.import_file, page.import_button):
        assert widget.disabled
    page.choose(int(page.rows["id"].iloc[0]))
    assert page.edit_button.disabled and page.delete_button.disabled
    assert HOSTILE not in page.detail.object and "&lt;img" in page.detail.object
