"""Import headers: the README's list agrees with the alias table, every listed header is read,
and a column that is not read is named in the report, never dropped in silence."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from siyu.core.errors import ImportFailed
from siyu.core.importing.headers import CONTACT_FIELDS, ORDER_FIELDS, field_for_header

README = Path(__file__).resolve().parent.parent / "README.md"
FIELDS = {"contacts": CONTACT_FIELDS, "orders": ORDER_FIELDS}


def _bullet(label: str) -> str:
    """The text of the README's ``- **label**:`` bullet (up to the next bullet or blank line),
    on one line."""
    text = README.read_text(encoding="utf-8")
    match = re.search(rf"^- \*\*{label}\*\*:(.*?)(?=^- |^\s*$)", text, re.MULTILINE | re.DOTALL)
    assert match, f"README.md has no '- **{label}**:' bullet"
    return " ".join(match.group(1).split())


def readme_headers() -> dict[str, list[str]]:
    """The headers the README's Headers bullet lists, by kind: '… A, B (or C, D) for contacts;
    E, F for orders'."""
    text = _bullet("Headers")
    match = re.search(r"recognised: (.*?) for contacts; (.*?) for orders", text)
    assert match, f"README.md's Headers bullet lost its 'X for contacts; Y for orders': {text}"
    lists = {}
    for kind, listed in zip(("contacts", "orders"), match.groups(), strict=True):
        listed = listed.replace("(or ", ",").replace(")", "")
        lists[kind] = [h.strip() for h in listed.split(",") if h.strip()]
    return lists


def readme_fields(label: str) -> list[str]:
    """The field names a README field-list bullet names ('owner (staff userid), amount (yuan)
    or amount_fen, …'), without their explanations."""
    text = re.sub(r"\([^()]*\)", "", _bullet(label)).split(".")[0]
    return [name.strip() for item in text.split(",") for name in item.split(" or ")
            if name.strip()]


HEADERS = readme_headers()
LISTED = [(kind, header) for kind, headers in HEADERS.items() for header in headers]


def test_the_readme_lists_headers_for_contacts_and_orders():
    assert len(HEADERS["contacts"]) >= 10 and len(HEADERS["orders"]) >= 6
    assert {"负责人/导购", "负责人", "导购"} <= set(HEADERS["contacts"])


@pytest.mark.parametrize(("kind", "header"), LISTED, ids=[f"{k}-{h}" for k, h in LISTED])
def test_every_header_the_readme_lists_maps_to_a_field(kind, header):
    assert field_for_header(header, FIELDS[kind]) is not None, (
        f"README.md lists {header!r} as a {kind} header, but no alias in "
        f"siyu/core/importing/headers.py matches it")


@pytest.mark.parametrize(("header", "field"), [("负责人/导购", "owner"), ("负责人", "owner"),
                                               ("导购", "owner"), ("负责人／导购", "owner"),
                                               ("外部联系人ID", "external_userid")])
def test_contact_headers_map_to_the_field_they_name(header, field):
    assert field_for_header(header, CONTACT_FIELDS) == field


@pytest.mark.parametrize(("kind", "label"), [("contacts", "Contact fields"),
                                             ("orders", "Order fields")])
def test_the_readme_names_every_field_an_import_reads(kind, label):
    assert readme_fields(label) == list(FIELDS[kind])


# -- imports, on both engines -------------------------------------------------------------


def write(tmp_path: Path, text: str, name: str = "c.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("header", ["负责人/导购", "负责人", "导购", "负责人／导购"])
def test_an_owner_column_headed_as_the_readme_prints_it_sets_the_owner(sample_world, tmp_path,
                                                                      header):
    ws = sample_world
    path = write(tmp_path, f"外部联系人ID,昵称,{header}\nwm1,小王,zhangsan\nwm2,小李,李四\n")
    report = ws.imports.contacts(path)
    assert (report.created, report.ignored_columns) == (2, [])
    owners = ws.contacts.df().set_index("external_userid")["owner"]
    assert owners.to_dict() == {"wm1": "zhangsan", "wm2": "lisi"}


def test_an_order_staff_column_in_the_slash_form_sets_the_staff(sample_world, tmp_path):
    ws = sample_world
    path = write(tmp_path, "订单号,金额,支付时间,门店,负责人/导购,状态\n"
                           "A1,199.00,2026-10-03 12:00,SH001,zhangsan,已支付\n", "o.csv")
    report = ws.imports.orders(path)
    assert (report.created, report.ignored_columns) == (1, [])
    assert ws.orders.df().set_index("external_id").loc["A1", "staff"] == "zhangsan"


def test_unknown_columns_are_named_in_the_report_and_its_summary(sample_world, tmp_path):
    ws = sample_world
    path = write(tmp_path, "外部联系人ID,昵称,会员等级,积分,\n"  # the trailing comma: no column
                           "wm1,小王,金卡,100,\nwm2,小李,银卡,20,\n")
    report = ws.imports.contacts(path)
    assert report.created == 2
    assert report.ignored_columns == ["会员等级", "积分"]
    assert report.summary() == ("contacts from c.csv: 2 rows, 2 new, 0 updated, 0 unchanged; "
                                "2 unrecognised columns not imported: '会员等级', '积分'")
    assert ws.contacts.get("wm1").name == "小王"


def test_an_unknown_order_column_is_named_in_the_summary(sample_world, tmp_path):
    path = write(tmp_path, "订单号,金额,支付时间,物流公司\nA1,5,2026-10-03,顺丰\n", "o.csv")
    report = sample_world.imports.orders(path)
    assert report.ignored_columns == ["物流公司"]
    assert report.summary().endswith("; 1 unrecognised column not imported: '物流公司'")


def test_a_headerless_column_with_values_is_reported(ws, tmp_path):
    path = write(tmp_path, "外部联系人ID,昵称,\nwm1,小王,悄悄话\n")
    report = ws.imports.contacts(path)
    assert report.ignored_columns == ["Unnamed: 2"]


def test_a_mapping_wins_over_an_alias_and_the_alias_column_is_reported(ws, tmp_path):
    path = write(tmp_path, "外部联系人ID,手机号,联系电话\nwm1,13800000001,13900000002\n")
    report = ws.imports.contacts(path, mapping={"联系电话": "phone"})
    assert report.ignored_columns == ["手机号"]
    assert ws.contacts.get("wm1").phone == "13900000002"


def test_two_columns_for_one_field_name_both_and_write_nothing(ws, tmp_path):
    path = write(tmp_path, "外部联系人ID,负责人,导购\nwm1,,\n")
    with pytest.raises(ImportFailed, match=r"owner \('负责人', '导购'\).*--map COLUMN=FIELD"):
        ws.imports.contacts(path)
    assert ws.contacts.count() == 0


def test_a_mapping_to_an_unknown_field_names_it_and_writes_nothing(ws, tmp_path):
    path = write(tmp_path, "外部联系人ID,会员等级\nwm1,金卡\n")
    with pytest.raises(ImportFailed, match=r"会员等级=level names an unknown field; fields are "
                                           r"external_userid"):
        ws.imports.contacts(path, mapping={"会员等级": "level"})
    assert ws.contacts.count() == 0
