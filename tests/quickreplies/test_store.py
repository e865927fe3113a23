"""The quick-reply library's Python door on both engines: adding texts and images, the
checks that refuse bad input with nothing stored, ordering, counting sends, permissions,
the audit log, importing and exporting, and the migration matching the model."""

from __future__ import annotations

import pandas as pd
import pytest
import sqlalchemy as sa

from siyu.core.errors import ImportFailed, NotFound, PermissionDenied, ValidationError
from siyu.core.permissions import Principal
from siyu.plugins import quickreplies as qr
from siyu.plugins.quickreplies.models import MAX_IMAGE_BYTES, QuickReplyRow

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
GIF = b"GIF89a" + b"\x00" * 64
ANALYST = Principal("ann", "analyst")
OPERATOR = Principal("amy", "operator")


def count(ws) -> int:
    with ws.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(QuickReplyRow)).scalar_one()


def test_add_text_and_image_replies_and_read_them_back(ws):
    text = qr.add(ws, category=" 售后 ", title=" 退换货政策 ", text=" 七天无理由退换 ")
    assert (text.category, text.title, text.kind, text.text) == ("售后", "退换货政策", "text",
                                                                 "七天无理由退换")
    assert text.position == 1 and text.enabled and text.use_count == 0
    assert text.created_at.tzinfo is not None and text.created_by == "local"
    image = qr.add(ws, category="售后", title="尺码表", image=PNG, image_name="size.png")
    assert (image.kind, image.text, image.image_type, image.image_size, image.position) == (
        "image", None, "image/png", len(PNG), 2)
    photo = qr.add(ws, category="活动", title="海报", image=JPEG)
    assert photo.image_name == "image.jpg" and photo.image_type == "image/jpeg"
    assert qr.image_of(ws, image.id) == (PNG, "size.png", "image/png")
    assert qr.get(ws, text.id) == text
    assert qr.categories(ws) == ["售后", "活动"]
    frame = qr.listing(ws)
    assert list(frame["title"]) == ["退换货政策", "尺码表", "海报"]
    assert "image" not in frame.columns and list(frame.columns) == list(qr.store.COLUMNS)
    assert str(frame["created_at"].dt.tz) == "UTC"
    assert list(qr.listing(ws, category="活动")["title"]) == ["海报"]
    assert list(qr.listing(ws, search="无理由")["title"]) == ["退换货政策"]
    assert list(qr.listing(ws, search="尺码")["title"]) == ["尺码表"]
    assert qr.listing(ws, search="100%_")["title"].tolist() == []


def test_an_image_file_path_is_read_and_named_after_the_file(ws, tmp_path):
    path = tmp_path / "poster.jpeg"
    path.write_bytes(JPEG)
    reply = qr.add(ws, category="活动", title="海报", image=path)
    assert (reply.image_name, reply.image_type) == ("poster.jpeg", "image/jpeg")


@pytest.mark.parametrize(("kwargs", "fragment"), [
    ({"category": "", "title": "t", "text": "x"}, "needs a category"),
    ({"category": "c" * 33, "title": "t", "text": "x"}, "at most 32"),
    ({"category": "c", "title": "  ", "text": "x"}, "needs a title"),
    ({"category": "c", "title": "t" * 41, "text": "x"}, "at most 40"),
    ({"category": "c", "title": "t", "text": "  "}, "text is empty"),
    ({"category": "c", "title": "t", "text": "x" * 2001}, "2001 characters long; at most 2000"),
    ({"category": "c", "title": "t", "text": "字" * 1400}, "4200 bytes; WeCom sends at most 4000"),
    ({"category": "c", "title": "t"}, "give the reply's text, or an image"),
    ({"category": "c", "title": "t", "text": "x", "image": PNG}, "not both"),
    ({"category": "c", "title": "t", "image": GIF, "image_name": "fake.png"},
     "fake.png is not a PNG or JPEG image"),
    ({"category": "c", "title": "t", "image": b""}, "is empty"),
    ({"category": "c", "title": "t", "image": PNG + b"0" * MAX_IMAGE_BYTES}, "at most 2 MB"),
    ({"category": "c", "title": "t", "image": "/no/such/file.png"}, "cannot read the image"),
])
def test_bad_input_is_refused_naming_the_problem_and_nothing_is_stored(ws, kwargs, fragment):
    with pytest.raises(ValidationError, match=None) as caught:
        qr.add(ws, **kwargs)
    assert fragment in str(caught.value)
    assert count(ws) == 0


def test_a_title_is_unique_within_its_category_only(ws):
    qr.add(ws, category="售后", title="运费", text="包邮")
    with pytest.raises(ValidationError, match="has a reply titled '运费' already"):
        qr.add(ws, category="售后", title="运费", text="不包邮")
    qr.add(ws, category="活动", title="运费", text="活动包邮")
    other = qr.add(ws, category="售后", title="发货", text="48小时")
    with pytest.raises(ValidationError, match="already"):
        qr.update(ws, other.id, title="运费")
    assert qr.get(ws, other.id).title == "发货" and count(ws) == 3


def test_update_changes_fields_kind_and_category(ws):
    a = qr.add(ws, category="售后", title="a", text="one")
    b = qr.add(ws, category="售后", title="b", text="two")
    c = qr.add(ws, category="活动", title="c", text="three")
    changed = qr.update(ws, a.id, image=PNG, image_name="x.png")
    assert (changed.kind, changed.text, changed.image_name) == ("image", None, "x.png")
    assert qr.update(ws, a.id, image_name="renamed.png").image_name == "renamed.png"
    back = qr.update(ws, a.id, text="again")
    assert (back.kind, back.text, back.image_size) == ("text", "again", 0)
    with pytest.raises(ValidationError, match="is a text, not an image"):
        qr.image_of(ws, a.id)
    moved = qr.update(ws, a.id, category="活动", enabled=False)
    assert (moved.category, moved.position, moved.enabled) == ("活动", 2, False)
    assert qr.get(ws, b.id).position == 1 and qr.get(ws, c.id).position == 1
    assert qr.listing(ws, enabled_only=True)["title"].tolist() == ["b", "c"]
    with pytest.raises(ValidationError, match="has no colour to change"):
        qr.update(ws, a.id, colour="red")
    with pytest.raises(ValidationError, match="not both"):
        qr.update(ws, a.id, text="x", image=PNG)
    with pytest.raises(NotFound):
        qr.update(ws, 999, title="x")


def test_move_reorders_the_category_and_remove_closes_up(ws):
    ids = [qr.add(ws, category="售后", title=t, text=t).id for t in "abcd"]
    qr.add(ws, category="活动", title="x", text="x")
    assert qr.move(ws, ids[3], 1).position == 1
    assert qr.listing(ws, category="售后")["title"].tolist() == ["d", "a", "b", "c"]
    assert qr.move(ws, ids[3], 99).position == 4
    assert qr.listing(ws, category="售后")["title"].tolist() == ["a", "b", "c", "d"]
    with pytest.raises(ValidationError, match="whole number from 1"):
        qr.move(ws, ids[0], 0)
    qr.remove(ws, ids[1])
    frame = qr.listing(ws, category="售后")
    assert frame["title"].tolist() == ["a", "c", "d"] and frame["position"].tolist() == [1, 2, 3]
    with pytest.raises(NotFound):
        qr.get(ws, ids[1])


def test_record_use_counts_sends(ws):
    reply = qr.add(ws, category="售后", title="a", text="x")
    qr.record_use(ws, reply.id, by="zhangsan")
    used = qr.record_use(ws, reply.id, by="lisi")
    assert used.use_count == 2 and used.last_used_at is not None
    assert used.last_used_at.tzinfo is not None
    with pytest.raises(ValidationError):
        qr.record_use(ws, reply.id, by="")


def test_reading_needs_data_read_and_writing_data_write(ws):
    reply = qr.add(ws, category="售后", title="a", text="x")
    analyst = ws.as_user(ANALYST)
    assert qr.get(analyst, reply.id).title == "a"
    assert len(qr.listing(analyst)) == 1
    for attempt in (lambda: qr.add(analyst, category="c", title="t", text="x"),
                    lambda: qr.update(analyst, reply.id, title="b"),
                    lambda: qr.remove(analyst, reply.id),
                    lambda: qr.move(analyst, reply.id, 1),
                    lambda: qr.record_use(analyst, reply.id, by="x"),
                    lambda: qr.import_texts(analyst, pd.DataFrame(
                        {"category": ["c"], "title": ["t"], "text": ["x"]}))):
        with pytest.raises(PermissionDenied):
            attempt()
    assert qr.get(ws, reply.id).title == "a"


def test_writes_are_audited(ws):
    operator = ws.as_user(OPERATOR)
    reply = qr.add(operator, category="售后", title="a", text="x")
    qr.update(operator, reply.id, text="y")
    qr.remove(operator, reply.id)
    log = ws.audit_log.df()
    actions = [a for a in log["action"] if str(a).startswith("quick_reply.")]
    assert {"quick_reply.add", "quick_reply.update", "quick_reply.remove"} <= set(actions)
    assert set(log[log["action"] == "quick_reply.add"]["actor"]) == {"amy"}


def test_import_texts_from_a_frame_adds_updates_and_is_idempotent(ws):
    qr.add(ws, category="售后", title="运费", text="旧")
    frame = pd.DataFrame({"分类": ["售后", "售后", "活动"], "标题": ["运费", "发货", "满减"],
                          "内容": ["新", "48小时内", "满300减30"]})
    report = qr.import_texts(ws, frame)
    assert (report.rows, report.created, report.updated, report.unchanged) == (3, 2, 1, 0)
    assert qr.listing(ws, category="售后")["text"].tolist() == ["新", "48小时内"]
    again = qr.import_texts(ws, frame)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)


def test_import_texts_is_all_or_nothing_with_each_bad_row_named(ws, tmp_path):
    qr.add(ws, category="活动", title="海报", image=PNG)
    path = tmp_path / "replies.csv"
    path.write_text("category,title,text\n售后,好的,ok\n售后,,x\n售后,好的,again\n"
                    f"活动,海报,x\n售后,长,{'字' * 2001}\n", encoding="utf-8")
    with pytest.raises(ImportFailed) as caught:
        qr.import_texts(ws, path)
    assert "replies.csv: 4 bad rows, nothing imported" in str(caught.value)
    lines = {p.line: p.reason for p in caught.value.problems}
    assert set(lines) == {3, 4, 5, 6}
    assert "needs a title" in lines[3] and "on line 2 already" in lines[4]
    assert "image reply" in lines[5] and "at most 2000" in lines[6]
    assert count(ws) == 1
    missing = tmp_path / "wrong.csv"
    missing.write_text("category,title\na,b\n", encoding="utf-8")
    with pytest.raises(ImportFailed, match="has no text column"):
        qr.import_texts(ws, missing)


def test_export_frame_reimports_as_is(ws, tmp_path):
    qr.add(ws, category="售后", title="a", text="x")
    qr.add(ws, category="活动", title="海报", image=PNG)
    frame = qr.export_frame(ws)
    assert frame.columns.tolist()[:4] == ["category", "title", "kind", "text"]
    path = tmp_path / "all.xlsx"
    frame[frame["kind"] == "text"].drop(columns=["last_used_at"]).to_excel(path, index=False)
    assert qr.import_texts(ws, path).unchanged == 1


def test_the_migration_builds_the_table_the_model_declares(ws):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    declared = sa.MetaData()
    QuickReplyRow.__table__.to_metadata(declared)
    with ws.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": False})
        differences = [d for d in compare_metadata(context, declared)
                       if d[0] != "remove_table" and not (
                           d[0] == "remove_index" and d[1].table.name != "quick_reply")]
    assert differences == []
