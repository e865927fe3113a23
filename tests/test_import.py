"""Importing contacts and orders from files, on both engines."""

from pathlib import Path

import pandas as pd
import pytest

from siyu.core.errors import ImportFailed

HEADER = "外部联系人ID,昵称,手机号,性别,城市,负责人,渠道,添加时间,标签\n"
GOOD = [
    "wm1,小王,+86 138-0000-0001,男,上海,zhangsan,抖音,2026-10-01 10:00,客户等级/VIP",
    "wm2,小李,139 0000 0002,女,北京,,天猫,2026-10-02,",
    "wm3,阿强,,未知,杭州,lisi,门店海报,2026/10/03 08:00,兴趣/护肤;客户等级/VIP",
]


def write(tmp_path: Path, lines: list[str], encoding: str = "utf-8", name: str = "c.csv",
          header: str = HEADER) -> Path:
    path = tmp_path / name
    path.write_bytes((header + "\n".join(lines) + "\n").encode(encoding))
    return path


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_common_chinese_encodings_are_read(sample_world, tmp_path, encoding):
    ws = sample_world
    report = ws.imports.contacts(write(tmp_path, GOOD, encoding), create_tags=True)
    assert (report.rows, report.created) == (3, 3)
    frame = ws.contacts.df(reveal_pii=True).set_index("external_userid")
    assert frame.loc["wm1", "name"] == "小王"
    assert frame.loc["wm1", "phone"] == "13800000001"
    assert frame.loc["wm2", "gender"] == 2
    assert frame.loc["wm1", "owner"] == "zhangsan"
    assert frame.loc["wm1", "added_at"].hour == 10
    assert ws.tags.of("wm3") == ["兴趣/护肤", "客户等级/VIP"]


def test_bad_rows_are_reported_by_line_and_nothing_is_written(sample_world, tmp_path):
    ws = sample_world
    lines = GOOD + ["wm4,坏号码,12345,男,上海,,抖音,2026-10-04,",
                    "wm5,坏负责人,,男,上海,nobody,抖音,2026-10-04,",
                    "wm6,坏时间,,男,上海,,抖音,昨天,",
                    ",没有ID,,男,上海,,抖音,2026-10-04,"]
    with pytest.raises(ImportFailed) as err:
        ws.imports.contacts(write(tmp_path, lines), create_tags=True)
    problems = {p.line: str(p) for p in err.value.problems}
    assert "12345" in problems[5] and "mobile" in problems[5]
    assert "nobody" in problems[6]
    assert "昨天" in problems[7]
    assert "external_userid is empty" in problems[8]
    assert ws.contacts.count() == 0
    assert ws.tags.names() == []


def test_skip_bad_rows_imports_the_good_ones(sample_world, tmp_path):
    ws = sample_world
    lines = GOOD + ["wm4,坏号码,12345,男,上海,,抖音,2026-10-04,"]
    report = ws.imports.contacts(write(tmp_path, lines), skip_bad_rows=True, create_tags=True)
    assert (report.created, report.skipped) == (3, 1)
    assert [p.line for p in report.problems] == [5]


def test_unknown_tag_is_a_row_problem_without_create_tags(sample_world, tmp_path):
    with pytest.raises(ImportFailed, match="unknown tag"):
        sample_world.imports.contacts(write(tmp_path, GOOD))


def test_reimporting_the_same_file_changes_nothing(sample_world, tmp_path):
    ws = sample_world
    path = write(tmp_path, GOOD)
    ws.imports.contacts(path, create_tags=True)
    before = ws.contacts.df(reveal_pii=True)
    with ws.engine.connect() as conn:
        stamps = conn.exec_driver_sql("SELECT updated_at FROM contact ORDER BY id").all()
    report = ws.imports.contacts(path, create_tags=True)
    assert (report.created, report.updated, report.unchanged) == (0, 0, 3)
    pd.testing.assert_frame_equal(before, ws.contacts.df(reveal_pii=True))
    with ws.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT updated_at FROM contact ORDER BY id").all() == stamps


def test_changed_rows_update_existing_contacts(sample_world, tmp_path):
    ws = sample_world
    ws.imports.contacts(write(tmp_path, GOOD), create_tags=True)
    changed = [GOOD[0].replace("小王", "王先生")] + GOOD[1:]
    report = ws.imports.contacts(write(tmp_path, changed, name="c2.csv"), create_tags=True)
    assert (report.created, report.updated, report.unchanged) == (0, 1, 2)
    assert ws.contacts.get("wm1").name == "王先生"


def test_duplicate_rows_merge_but_conflicts_are_reported(sample_world, tmp_path):
    ws = sample_world
    report = ws.imports.contacts(write(tmp_path, GOOD + [GOOD[1]]), create_tags=True)
    assert (report.created, report.duplicates) == (3, 1)
    conflict = GOOD + [GOOD[1].replace("小李", "李小姐")]
    with pytest.raises(ImportFailed) as err:
        ws.imports.contacts(write(tmp_path, conflict, name="c2.csv"), create_tags=True)
    assert "already appears on line 3" in str(err.value.problems[0])


def test_explicit_mapping_and_phone_key(ws, tmp_path):
    path = write(tmp_path, ["13800000001,Amy", "+8613900000002,Bob"], header="mobile no,who\n")
    report = ws.imports.contacts(path, mapping={"mobile no": "phone", "who": "name"},
                                 key="phone")
    assert report.created == 2
    again = ws.imports.contacts(path, mapping={"mobile no": "phone", "who": "name"},
                                key="phone")
    assert again.unchanged == 2 and ws.contacts.count() == 2


def test_mapping_errors_name_the_column(ws, tmp_path):
    path = write(tmp_path, GOOD)
    with pytest.raises(ImportFailed, match="手机"):
        ws.imports.contacts(path, mapping={"手机": "phone"})
    with pytest.raises(ImportFailed, match="mobile"):
        ws.imports.contacts(path, mapping={"手机号": "mobile"})


def test_missing_key_column_is_an_error(ws, tmp_path):
    path = write(tmp_path, ["小王"], header="昵称\n")
    with pytest.raises(ImportFailed, match="external_userid"):
        ws.imports.contacts(path)


def test_binary_and_empty_files_are_refused(ws, tmp_path):
    junk = tmp_path / "junk.csv"
    junk.write_bytes(bytes(range(128, 256)) * 10)
    with pytest.raises(ImportFailed, match="UTF-8"):
        ws.imports.contacts(junk)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(ImportFailed, match="empty"):
        ws.imports.contacts(empty)
    with pytest.raises(ImportFailed, match="no such file"):
        ws.imports.contacts(tmp_path / "missing.csv")


def test_xlsx_import(sample_world, tmp_path):
    ws = sample_world
    frame = pd.DataFrame({"外部联系人ID": ["wm1", "wm2"], "昵称": ["小王", "小李"],
                          "手机号": [13800000001, None], "性别": ["男", "女"]})
    path = tmp_path / "c.xlsx"
    frame.to_excel(path, index=False)
    report = ws.imports.contacts(path)
    assert report.created == 2
    assert ws.contacts.df(reveal_pii=True).set_index("external_userid") \
        .loc["wm1", "phone"] == "13800000001"


ORDERS = "订单号,外部联系人ID,手机号,金额,支付时间,门店,导购,状态\n"


def test_orders_import_matches_contacts_and_is_idempotent(sample_world, tmp_path):
    ws = sample_world
    ws.imports.contacts(write(tmp_path, GOOD), create_tags=True)
    lines = ["A1,wm1,,199.00,2026-10-03 12:00,SH001,zhangsan,已支付",
             "A2,,13900000002,12.5,2026-10-04,,,paid",
             "A3,,,0.01,2026-10-05,BJ001,,已退款"]
    path = write(tmp_path, lines, "gbk", "o.csv", ORDERS)
    report = ws.imports.orders(path, source="erp")
    assert (report.created, report.rows) == (3, 3)
    orders = ws.orders.df().set_index("external_id")
    assert orders.loc["A1", "amount_fen"] == 19900
    assert orders.loc["A2", "contact_id"] == ws.contacts.get("wm2").id
    assert orders.loc["A3", "status"] == "refunded"
    assert orders.loc["A1", "store"] == "SH001"
    again = ws.imports.orders(path, source="erp")
    assert (again.created, again.unchanged) == (0, 3)
    refunded = write(tmp_path, [lines[0].replace("已支付", "已退款")], "utf-8", "o2.csv", ORDERS)
    assert ws.imports.orders(refunded, source="erp").updated == 1
    assert ws.orders.summary(status="refunded")["orders"] == 2


def test_bad_orders_name_their_lines(sample_world, tmp_path):
    ws = sample_world
    lines = ["B1,,,1.234,2026-10-03,,,", "B2,,,-5,2026-10-03,,,", "B3,,,5,someday,,,",
             "B4,ghost,,5,2026-10-03,,,", "B5,,,5,2026-10-03,XX9,,", "B6,,,5,2026-10-03,,,lost"]
    with pytest.raises(ImportFailed) as err:
        ws.imports.orders(write(tmp_path, lines, name="o.csv", header=ORDERS))
    lines_with_problems = sorted({p.line for p in err.value.problems})
    assert lines_with_problems == [2, 3, 4, 5, 6, 7]
    assert ws.orders.summary()["orders"] == 0


def test_import_fires_on_contact_added_once_per_new_contact(db_url, tmp_path):
    import siyu

    seen = []

    class Recorder:
        @siyu.hookimpl
        def on_contact_added(self, ws, contact, via):
            seen.append((contact.external_userid, via))

    with siyu.open(db_url, plugins=[Recorder()], load_entry_points=False) as ws:
        ws.staff.upsert("zhangsan", "张三")
        ws.staff.upsert("lisi", "李四")
        path = write(tmp_path, GOOD)
        ws.imports.contacts(path, create_tags=True)
        ws.imports.contacts(path, create_tags=True)
    assert sorted(seen) == [("wm1", "import"), ("wm2", "import"), ("wm3", "import")]


def test_import_fires_on_contact_tagged_for_new_tags_only(db_url, tmp_path):
    import siyu

    seen = []

    class Recorder:
        @siyu.hookimpl
        def on_contact_tagged(self, ws, contact, added, removed, source):
            seen.append((contact.external_userid, sorted(added), source))

    with siyu.open(db_url, plugins=[Recorder()], load_entry_points=False) as ws:
        ws.staff.upsert("zhangsan", "张三")
        ws.staff.upsert("lisi", "李四")
        path = write(tmp_path, GOOD)
        ws.imports.contacts(path, create_tags=True)
        ws.imports.contacts(path, create_tags=True)
    assert sorted(seen) == [("wm1", ["客户等级/VIP"], "import"),
                            ("wm3", ["兴趣/护肤", "客户等级/VIP"], "import")]
