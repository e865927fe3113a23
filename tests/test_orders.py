"""Orders as upserts: refunds and corrections reach stored orders (``on_order_changed``),
buyers matched to contacts by one identity module, on both engines."""

from __future__ import annotations

import re
import types
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel

import siyu
from siyu.core import identity
from siyu.core.errors import ConfigError, ImportFailed, NotFound, ValidationError
from siyu.core.services.orders import settle
from siyu.storage.models import Contact, HookDelivery, Order
from siyu.storage.types import utcnow

GUIDE = Path(__file__).resolve().parent.parent / "docs" / "plugins.md"
PAID = "2026-11-11T20:05"


class Recorder:
    """Records every order notice it gets."""

    __name__ = "order_recorder"

    def __init__(self):
        self.calls: list[tuple] = []

    @siyu.hookimpl
    def on_order(self, order, delivery_id):
        self.calls.append(("new", delivery_id, order.id, None))

    @siyu.hookimpl
    def on_order_changed(self, order, changes, delivery_id):
        self.calls.append(("changed", delivery_id, order.id, changes))

    def kinds(self):
        return [kind for kind, *_rest in self.calls]


def _open(db_url, *plugins):
    return siyu.open(db_url, plugins=list(plugins), load_entry_points=False)


def _stored(ws, external_id, source="tmall"):
    with ws.engine.connect() as conn:
        return conn.execute(sa.select(Order.__table__).where(
            Order.source == source, Order.external_id == external_id)).one()


# -- upsert -------------------------------------------------------------------------------


def test_upsert_creates_updates_and_leaves_alone(db_url):
    recorder = Recorder()
    with _open(db_url, recorder) as ws:
        buyer, _ = ws.contacts.upsert("wm1", phone="13800000001")
        order, change = ws.orders.upsert("tmall", "T1", amount_fen=19900, paid_at=PAID,
                                         buyer_phone="138 0000 0001")
        assert change == "created"
        assert (order.status, order.refunded_fen, order.contact_id) == ("paid", 0, buyer.id)
        again, change = ws.orders.upsert("tmall", "T1", amount_fen=19900, paid_at=PAID)
        assert (change, again.id, again.contact_id) == ("unchanged", order.id, buyer.id)
        refunded, change = ws.orders.upsert("tmall", "T1", amount_fen=19900, paid_at=PAID,
                                            refunded_fen=5000)
        assert change == "updated"
        assert (refunded.status, refunded.refunded_fen) == ("partially_refunded", 5000)
        corrected, change = ws.orders.upsert("tmall", "T1", amount_fen=18900, paid_at=PAID,
                                             status="refunded")
        assert (change, corrected.status, corrected.refunded_fen) == ("updated", "refunded",
                                                                       18900)
        row = _stored(ws, "T1")
        assert (row.amount_fen, row.status, row.refunded_fen) == (18900, "refunded", 18900)
        assert recorder.kinds() == ["new", "changed", "changed"]
        assert [c for kind, _d, _o, c in recorder.calls if kind == "changed"] == [
            {"status": ["paid", "partially_refunded"], "refunded_fen": [0, 5000]},
            {"amount_fen": [19900, 18900], "status": ["partially_refunded", "refunded"],
             "refunded_fen": [5000, 18900]}]
        assert {o for _k, _d, o, _c in recorder.calls} == {order.id}
        actions = ws.audit_log.df()["action"].tolist()
        assert actions.count("order.add") == 1 and actions.count("order.update") == 2
        # Another source's order of the same number is another order.
        _, change = ws.orders.upsert("jd", "T1", amount_fen=100, paid_at=PAID)
        assert change == "created"
        assert ws.orders.summary()["orders"] == 2


def test_notices_go_once_to_the_right_hook_with_the_subject_of_the_buyer(db_url):
    recorder = Recorder()
    with _open(db_url, recorder) as ws:
        buyer, _ = ws.contacts.upsert("wm1")
        order, _ = ws.orders.upsert("shop", "S1", amount_fen=100, paid_at=PAID, contact="wm1")
        loose, _ = ws.orders.upsert("shop", "S2", amount_fen=100, paid_at=PAID)
        ws.orders.upsert("shop", "S1", amount_fen=100, paid_at=PAID, status="cancelled")
        ws.orders.upsert("shop", "S1", amount_fen=100, paid_at=PAID, status="cancelled")
        ws.orders.upsert("shop", "S2", amount_fen=100, paid_at=PAID, status="refunded",
                         notify=False)
        assert recorder.kinds() == ["new", "new", "changed"]
        assert recorder.calls[2][3] == {"status": ["paid", "cancelled"]}
        assert ws.hooks.deliver() == 0
        d = HookDelivery.__table__
        with ws.engine.connect() as conn:
            subjects = conn.execute(sa.select(d.c.subject).where(d.c.plugin == "order_recorder")
                                    .order_by(d.c.id)).scalars().all()
        assert subjects == [f"contact:{buyer.id}", f"orders:{loose.id}",
                            f"contact:{buyer.id}"]


def test_a_buyer_matched_later_is_a_change_and_is_never_unmatched(db_url):
    recorder = Recorder()
    with _open(db_url, recorder) as ws:
        order, _ = ws.orders.upsert("shop", "S1", amount_fen=100, paid_at=PAID,
                                    buyer_phone="13800000001")
        assert order.contact_id is None
        buyer, _ = ws.contacts.upsert("wm1", phone="13800000001")
        order, change = ws.orders.upsert("shop", "S1", amount_fen=100, paid_at=PAID,
                                         buyer_phone="13800000001")
        assert (change, order.contact_id) == ("updated", buyer.id)
        assert recorder.calls[-1][3] == {"contact_id": [None, buyer.id]}
        # A later sync that names no buyer, or one nobody is, keeps the contact.
        for phone in (None, "13900000009"):
            order, change = ws.orders.upsert("shop", "S1", amount_fen=100, paid_at=PAID,
                                             buyer_phone=phone)
            assert (change, order.contact_id) == ("unchanged", buyer.id)
        other, _ = ws.contacts.upsert("wm2")
        order, change = ws.orders.upsert("shop", "S1", amount_fen=100, paid_at=PAID,
                                         contact=other.id)
        assert (change, order.contact_id) == ("updated", other.id)
        with pytest.raises(NotFound, match="ghost"):
            ws.orders.upsert("shop", "S1", amount_fen=100, paid_at=PAID, contact="wm_ghost")


def test_the_update_is_in_the_callers_transaction_with_its_notice(db_url):
    recorder = Recorder()
    with _open(db_url, recorder) as ws:
        ws.orders.upsert("shop", "S1", amount_fen=1000, paid_at=PAID)
        with pytest.raises(RuntimeError, match="changed my mind"):
            with ws.session() as s:
                _, change = ws.orders.upsert("shop", "S1", amount_fen=1000, paid_at=PAID,
                                             refunded_fen=10, session=s)
                assert change == "updated"
                raise RuntimeError("changed my mind")
        assert _stored(ws, "S1", "shop").refunded_fen == 0
        assert recorder.kinds() == ["new"]
        with ws.session() as s:
            ws.orders.upsert("shop", "S1", amount_fen=1000, paid_at=PAID, refunded_fen=10,
                             session=s)
            assert recorder.kinds() == ["new"]  # not before the commit
        assert recorder.kinds() == ["new", "changed"]


def test_add_only_creates_as_before(db_url):
    recorder = Recorder()
    with _open(db_url, recorder) as ws:
        order, created = ws.orders.add("T1", amount_fen=19900, paid_at=PAID)
        again, created_again = ws.orders.add("T1", amount_fen=1, paid_at=PAID,
                                             status="refunded")
        assert created and not created_again and again.id == order.id
        row = _stored(ws, "T1", "api")
        assert (row.amount_fen, row.status, row.refunded_fen) == (19900, "paid", 0)
        refunded, _ = ws.orders.add("T2", amount_fen=500, paid_at=PAID, status="refunded")
        assert (refunded.status, refunded.refunded_fen) == ("refunded", 500)
        assert recorder.kinds() == ["new", "new"]


# -- statuses and refunds -------------------------------------------------------------------


@pytest.mark.parametrize(("amount", "status", "refunded", "expected"), [
    (1000, "paid", None, ("paid", 0)),
    (1000, "refunded", None, ("refunded", 1000)),
    (1000, "cancelled", None, ("cancelled", 0)),
    (1000, "paid", 0, ("paid", 0)),
    (1000, "paid", 300, ("partially_refunded", 300)),
    (1000, "paid", 1000, ("refunded", 1000)),
    (1000, "partially_refunded", 300, ("partially_refunded", 300)),
    (1000, "refunded", 1000, ("refunded", 1000)),
    (1000, "cancelled", 300, ("cancelled", 300)),
    (0, "refunded", None, ("refunded", 0)),
])
def test_status_and_refund_settle(amount, status, refunded, expected):
    assert settle(amount, status, refunded) == expected


@pytest.mark.parametrize(("amount", "status", "refunded", "message"), [
    (1000, "lost", None, "not one of paid, partially_refunded, refunded, cancelled"),
    (1000, "partially_refunded", None, "needs refunded_fen"),
    (1000, "paid", -1, "refunded_fen -1 must be a non-negative integer"),
    (1000, "paid", 1.5, "refunded_fen 1.5 must be a non-negative integer"),
    (1000, "paid", True, "refunded_fen True must be"),
    (1000, "paid", "10", "refunded_fen '10' must be"),
    (1000, "paid", 1001, "more than the order's amount_fen 1000"),
    (1000, "cancelled", 1001, "more than"),
    (1000, "refunded", 300, "whole amount_fen 1000"),
    (1000, "partially_refunded", 0, "0 < refunded_fen < amount_fen"),
    (1000, "partially_refunded", 1000, "0 < refunded_fen < amount_fen"),
    (-5, "paid", None, "amount_fen -5 must be a non-negative integer"),
])
def test_refunds_at_odds_with_the_order_are_refused(amount, status, refunded, message):
    with pytest.raises(ValidationError, match=re.escape(message)):
        settle(amount, status, refunded)


def test_a_refused_update_leaves_the_order_and_the_database_checks_too(ws):
    ws.orders.upsert("shop", "S1", amount_fen=1000, paid_at=PAID, refunded_fen=100)
    for kwargs in ({"refunded_fen": 2000}, {"status": "partially_refunded"},
                   {"status": "refunded", "refunded_fen": 10}):
        with pytest.raises(ValidationError):
            ws.orders.upsert("shop", "S1", amount_fen=1000, paid_at=PAID, **kwargs)
    with pytest.raises(ValidationError, match="external_id"):
        ws.orders.upsert("shop", " ", amount_fen=1000, paid_at=PAID)
    with pytest.raises(ValidationError, match="source"):
        ws.orders.upsert("", "S2", amount_fen=1000, paid_at=PAID)
    with pytest.raises(ValidationError, match="paid_at"):
        ws.orders.upsert("shop", "S2", amount_fen=1000, paid_at=None)
    row = _stored(ws, "S1", "shop")
    assert (row.status, row.refunded_fen) == ("partially_refunded", 100)
    o = Order.__table__
    for values in ({"refunded_fen": 1001}, {"refunded_fen": -1}, {"amount_fen": 50}):
        with pytest.raises(sa.exc.IntegrityError):
            with ws.engine.begin() as conn:
                conn.execute(o.update().where(o.c.id == row.id).values(**values))
    frame = ws.orders.df()
    assert frame[["refunded_fen", "status"]].values.tolist() == [[100, "partially_refunded"]]


# -- identity -------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "message"), [
    (["phone", "email"], "unknown key(s) 'email'"),
    (["phone", "phone"], "repeats 'phone'"),
    ([], "names no key"),
    ("", "names no key"),
    (42, "is not a list of keys"),
    (["phone", 3], "is not a list of keys"),
])
def test_a_malformed_identity_order_is_refused_clearly(value, message):
    with pytest.raises(ConfigError, match=re.escape(message)) as err:
        identity.parse_order(value)
    assert "identity.order" in str(err.value) and "member_id" in str(err.value)


def test_the_identity_order_setting(ws):
    assert identity.identity_order(ws) == identity.DEFAULT_ORDER == (
        "external_userid", "unionid", "phone", "member_id")
    assert identity.parse_order(" phone , unionid ") == ("phone", "unionid")
    assert identity.set_identity_order(ws, ("member_id", "phone")) == ("member_id", "phone")
    assert ws.settings.get("identity.order") == ["member_id", "phone"]
    with pytest.raises(ConfigError):
        identity.set_identity_order(ws, ["phone", "wechat"])
    assert identity.identity_order(ws) == ("member_id", "phone")
    ws.settings.set("identity.order", ["phone", "nickname"])  # stored by hand, malformed
    with pytest.raises(ConfigError, match="nickname"):
        ws.orders.upsert("shop", "S1", amount_fen=1, paid_at=PAID, buyer_phone="13800000001")


def _four_contacts(ws):
    """Four contacts, each holding one key the buyer below has; and an older twin phone."""
    ws.contacts.upsert(None, name="twin", phone="13800000003")
    by = {"external_userid": ws.contacts.upsert("wm1")[0].id,
          "unionid": ws.contacts.upsert("wm2", unionid="un2")[0].id,
          "phone": ws.contacts.upsert("wm3", phone="13800000003")[0].id,
          "member_id": ws.contacts.upsert("wm4", member_id=" M4 ")[0].id}
    by["phone"] = ws.contacts.get(1).id  # two contacts share the phone: the oldest wins
    return by


BUYER = {"external_userid": "wm1", "unionid": "un2", "phone": "13800000003",
         "member_id": "M4"}


@pytest.mark.parametrize("order", [
    ["external_userid", "unionid", "phone", "member_id"],
    ["member_id", "phone", "unionid", "external_userid"],
    ["phone", "member_id"],
    ["unionid"],
])
def test_matching_takes_the_first_key_in_the_workspace_order(db_url, order):
    with _open(db_url) as ws:
        by = _four_contacts(ws)
        assert ws.contacts.get("wm4").member_id == "M4"
        identity.set_identity_order(ws, order)
        with ws.engine.connect() as conn:
            assert identity.match_one(conn, order, **BUYER) == by[order[0]]
            # Without the first key's value, the next one decides.
            rest = {k: v for k, v in BUYER.items() if k != order[0]}
            expected = by[order[1]] if len(order) > 1 else None
            assert identity.match_one(conn, order, **rest) == expected
            assert identity.match_one(conn, order, phone="13900000000") is None
            assert identity.match_one(conn, order) is None
        # The service and the batch door agree with it.
        service_keys = {"buyer_phone": BUYER["phone"], "buyer_unionid": BUYER["unionid"],
                        "member_id": BUYER["member_id"]}
        placed, _ = ws.orders.upsert("shop", "S1", amount_fen=1, paid_at=PAID, **service_keys)
        without_wm = [k for k in order if k != "external_userid"]
        assert placed.contact_id == (by[without_wm[0]] if without_wm else None)
        frame = pd.DataFrame([BUYER, {**BUYER, order[0]: None}, {k: "" for k in BUYER}])
        with ws.engine.connect() as conn:
            got = identity.match_rows(conn, frame, order).tolist()
        assert got == [by[order[0]], expected if expected is not None else pd.NA, pd.NA]


def test_batch_matching_takes_a_few_queries_not_one_per_row(ws):
    n = 2000
    conn_rows = [{"external_userid": f"wm{i}", "unionid": f"un{i}", "phone": f"138{i:08d}",
                  "member_id": f"M{i}", "name": "", "gender": 0, "city": "",
                  "source_channel": "", "remark": "", "created_at": utcnow(),
                  "updated_at": utcnow()} for i in range(n)]
    with ws.engine.begin() as conn:
        conn.execute(sa.insert(Contact.__table__), conn_rows)
        ids = dict(conn.execute(sa.select(Contact.external_userid, Contact.id)).all())
    # Each key finds a quarter of the rows; the rest match nobody.
    keys = pd.DataFrame({
        "external_userid": [f"wm{i}" if i % 4 == 0 else "" for i in range(n)],
        "unionid": [f"un{i}" if i % 4 == 1 else None for i in range(n)],
        "phone": [f"138{i:08d}" if i % 4 == 2 else None for i in range(n)],
        "member_id": [f"M{i}" if i % 4 == 3 else f"X{i}" for i in range(n)]},
        index=range(10, 10 + n))
    statements = []
    with ws.engine.connect() as conn:
        sa.event.listen(conn, "before_cursor_execute",
                        lambda *args: statements.append(args[2]))
        got = identity.match_rows(conn, keys, identity.DEFAULT_ORDER)
    assert list(got.index) == list(keys.index)
    assert got.tolist() == [ids[f"wm{i}"] for i in range(n)]
    # Each key looks up only the rows still unmatched, its 500 values bound as one list:
    # one query per key (the member ids of rows matched before are not looked up).
    assert len(statements) == 4, statements
    assert all(s.count("?") + s.count("%(") <= 1 for s in statements), statements


# -- contacts carry member numbers ------------------------------------------------------------


def test_contacts_carry_member_numbers_from_upserts_and_imports(ws, tmp_path):
    contact, _ = ws.contacts.upsert("wm1", member_id=" M001 ")
    assert contact.member_id == "M001"
    path = tmp_path / "members.csv"
    path.write_text("外部联系人ID,昵称,会员卡号\nwm1,小王,M001B\nwm2,小李,M002\n",
                    encoding="utf-8")
    report = ws.imports.contacts(path)
    assert (report.created, report.updated) == (1, 1)
    assert ws.contacts.get("wm1").member_id == "M001B"
    # A file without member numbers leaves them alone.
    plain = tmp_path / "plain.csv"
    plain.write_text("外部联系人ID,昵称\nwm2,小李子\n", encoding="utf-8")
    ws.imports.contacts(plain)
    assert (ws.contacts.get("wm2").name, ws.contacts.get("wm2").member_id) == ("小李子", "M002")
    # Members keyed by their number.
    by_member = tmp_path / "crm.csv"
    by_member.write_text("会员号,城市\nM002,上海\nM003,北京\n", encoding="utf-8")
    report = ws.imports.contacts(by_member, key="member_id")
    assert (report.created, report.updated) == (1, 1)
    assert ws.contacts.get("wm2").city == "上海"


# -- imports --------------------------------------------------------------------------------


ORDERS = "订单号,外部联系人ID,手机号,unionid,会员号,金额,支付时间,状态\n"


def test_order_import_matches_by_the_identity_order(db_url, tmp_path):
    with _open(db_url) as ws:
        by = _four_contacts(ws)
        path = tmp_path / "o.csv"
        path.write_text(ORDERS + "A1,,13800000003,un2,M4,1.00,2026-10-03,已支付\n"
                        "A2,,13800000003,,M4,1.00,2026-10-03,已支付\n"
                        "A3,,,,M4,1.00,2026-10-03,已支付\n", encoding="utf-8")
        ws.imports.orders(path, source="erp")
        frame = ws.orders.df().set_index("external_id")
        assert frame["contact_id"].tolist() == [by["unionid"], by["phone"], by["member_id"]]
        identity.set_identity_order(ws, ["member_id", "phone"])
        path.write_text(ORDERS + "B1,,13800000003,un2,M4,1.00,2026-10-03,已支付\n"
                        "B2,,,un2,,1.00,2026-10-03,已支付\n"
                        "B3,ghost,13800000003,,,1.00,2026-10-03,已支付\n",
                        encoding="utf-8")
        ws.imports.orders(path, source="erp")
        frame = ws.orders.df().set_index("external_id")
        assert frame.loc["B1", "contact_id"] == by["member_id"]
        assert pd.isna(frame.loc["B2", "contact_id"])  # unionid is not in the order
        assert frame.loc["B3", "contact_id"] == by["phone"]  # external_userid not used
        identity.set_identity_order(ws, identity.DEFAULT_ORDER)
        path.write_text(ORDERS + "C1,ghost,,,,1.00,2026-10-03,已支付\n", encoding="utf-8")
        with pytest.raises(ImportFailed) as err:
            ws.imports.orders(path, source="erp")
        assert "unknown contact 'ghost'" in str(err.value.problems[0])
        ws.settings.set("identity.order", "phone;unionid")
        with pytest.raises(ConfigError, match="identity.order"):
            ws.imports.orders(path, source="erp")


@pytest.mark.parametrize(("text", "fen"), [
    ("199.00", 19900), ("12.5", 1250), ("0.01", 1), ("3", 300), ("12.", 1200),
    (".5", 50), ("1,234.5", 123450), ("¥5", 500), ("1.230", 123), ("１２", 1200),
    ("1.234", None), ("-1", None), ("", None), ("abc", None), ("1.2.3", None)])
def test_yuan_amounts_become_whole_fen(text, fen):
    from siyu.core.importing.orders import _yuan_to_fen

    assert _yuan_to_fen(text) == fen


def test_refund_columns_are_checked_line_by_line(ws, tmp_path):
    header = "订单号,金额,支付时间,状态,退款金额\n"
    lines = ["R1,10.00,2026-10-03,已支付,",           # fine: no refund
             "R2,10.00,2026-10-03,部分退款,",         # partial without an amount
             "R3,10.00,2026-10-03,交易成功,10.01",     # more than the amount
             "R4,10.00,2026-10-03,已退款,3.00",        # refunded, but only in part
             "R5,10.00,2026-10-03,部分退款,10.00",     # the whole amount is not a part
             "R6,10.00,2026-10-03,已支付,-1",          # negative
             "R7,10.00,2026-10-03,已支付,3.001"]       # not whole fen
    path = tmp_path / "r.csv"
    path.write_text(header + "\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ImportFailed) as err:
        ws.imports.orders(path)
    assert sorted({p.line for p in err.value.problems}) == [3, 4, 5, 6, 7, 8]
    problems = {p.line: str(p) for p in err.value.problems}
    assert "needs its refund amount" in problems[3]
    assert "more than the order's amount" in problems[4]
    assert "not the whole amount" in problems[5]
    fen = tmp_path / "fen.csv"
    fen.write_text("订单号,金额分,支付时间,退款金额分\nF1,1000,2026-10-03,250\n"
                   "F2,1000,2026-10-03,x\n", encoding="utf-8")
    with pytest.raises(ImportFailed) as err:
        ws.imports.orders(fen)
    assert [p.line for p in err.value.problems] == [3]
    assert ws.orders.summary()["orders"] == 0


def test_an_import_updates_refunds_and_amounts_and_notifies_in_bulk(db_url, tmp_path):
    n = 3000
    recorder = Recorder()
    with _open(db_url, recorder) as ws:
        members = pd.DataFrame({"会员号": [f"M{i}" for i in range(300)],
                                "手机号": [f"138{i:08d}" for i in range(300)]})
        members.to_csv(tmp_path / "m.csv", index=False)
        ws.imports.contacts(tmp_path / "m.csv", key="member_id")
        with ws.engine.connect() as conn:
            by_member = dict(conn.execute(sa.select(Contact.member_id, Contact.id)).all())
        contact_of = {i: by_member[f"M{i}"] for i in range(300)}
        first = pd.DataFrame({
            "订单号": [f"E{i:05d}" for i in range(n)],
            "会员号": [f"M{i % 300}" if i % 3 else "" for i in range(n)],
            "手机号": ["" if i % 3 else f"138{i % 300:08d}" for i in range(n)],
            "金额": [f"{(i % 50 + 1) * 10}.00" for i in range(n)],
            "支付时间": ["2026-10-03 12:00"] * n,
            "状态": ["交易成功"] * n})
        first.to_csv(tmp_path / "o1.csv", index=False)
        report = ws.imports.orders(tmp_path / "o1.csv", source="erp")
        assert (report.created, report.updated, report.unchanged) == (n, 0, 0)
        ws.hooks.deliver()
        assert recorder.kinds() == ["new"] * n
        frame = ws.orders.df(source="erp").set_index("external_id")
        assert frame["contact_id"].tolist() == [contact_of[i % 300] for i in range(n)]

        second = first.assign(退款金额="")
        amount = [(i % 50 + 1) * 1000 for i in range(n)]
        for i in range(0, 300):                 # refunded wholly
            second.loc[i, "状态"] = "已退款"
        for i in range(300, 600):               # refunded in part, status still 交易成功
            second.loc[i, "退款金额"] = "1.00"
        for i in range(600, 700):               # amount corrected
            second.loc[i, "金额"] = f"{amount[i] / 100 + 1:.2f}"
        second.to_csv(tmp_path / "o2.csv", index=False)
        recorder.calls.clear()
        report = ws.imports.orders(tmp_path / "o2.csv", source="erp")
        assert (report.created, report.updated, report.unchanged) == (0, 700, n - 700)
        ws.hooks.deliver()
        assert recorder.kinds() == ["changed"] * 700
        ids = frame["id"].tolist()
        changes = {order_id: c for _k, _d, order_id, c in recorder.calls}
        assert len({d for _k, d, _o, _c in recorder.calls}) == 700
        assert changes[ids[0]] == {"status": ["paid", "refunded"],
                                   "refunded_fen": [0, amount[0]]}
        assert changes[ids[300]] == {"status": ["paid", "partially_refunded"],
                                     "refunded_fen": [0, 100]}
        assert changes[ids[600]] == {"amount_fen": [amount[600], amount[600] + 100]}
        stored = ws.orders.df(source="erp").set_index("external_id")
        assert stored["status"].value_counts().to_dict() == {
            "paid": n - 600, "refunded": 300, "partially_refunded": 300}
        assert int(stored["refunded_fen"].sum()) == sum(amount[:300]) + 300 * 100
        # The same file again changes nothing and notifies nothing.
        recorder.calls.clear()
        again = ws.imports.orders(tmp_path / "o2.csv", source="erp")
        assert (again.updated, again.unchanged) == (0, n)
        ws.hooks.deliver()
        assert recorder.calls == []


# -- the guide's examples, run ------------------------------------------------------------------


def _example(hook: str) -> str:
    text = GUIDE.read_text(encoding="utf-8")
    section = re.search(rf"^### {hook}\n(.*?)(?=^#{{1,3}} )", text,
                        re.MULTILINE | re.DOTALL).group(1)
    return re.search(r"^```python\n(.*?)^```", section, re.MULTILINE | re.DOTALL).group(1)


def _module(hook: str) -> types.ModuleType:
    plugin = types.ModuleType(f"docs_{hook}")
    exec(compile(_example(hook), f"docs/plugins.md ### {hook}", "exec"), plugin.__dict__)
    return plugin


def test_the_on_order_changed_example_untags_a_refunded_big_buyer(db_url):
    tables_before = set(SQLModel.metadata.tables)
    try:
        with _open(db_url, _module("on_order"), _module("on_order_changed")) as ws:
            ws.contacts.upsert("wm_visitor_1")
            ws.contacts.upsert("wm_visitor_2")
            ws.orders.add("T20261111001", amount_fen=128_800, paid_at=PAID,
                          contact="wm_visitor_1")
            ws.orders.add("T20261111002", amount_fen=150_000, paid_at=PAID,
                          contact="wm_visitor_2")
            ws.orders.add("T20261111003", amount_fen=120_000, paid_at=PAID,
                          contact="wm_visitor_2")
            assert ws.tags.of("wm_visitor_1") == ["会员/大单客户"]
            # A small refund keeps a big order big; refunding it takes the tag off.
            ws.orders.upsert("api", "T20261111001", amount_fen=128_800, paid_at=PAID,
                             refunded_fen=10_000)
            assert ws.tags.of("wm_visitor_1") == ["会员/大单客户"]
            ws.orders.upsert("api", "T20261111001", amount_fen=128_800, paid_at=PAID,
                             status="refunded")
            assert ws.tags.of("wm_visitor_1") == []
            # Another big paid order keeps the tag.
            ws.orders.upsert("api", "T20261111002", amount_fen=150_000, paid_at=PAID,
                             status="refunded")
            assert ws.tags.of("wm_visitor_2") == ["会员/大单客户"]
            # Redelivered, as after a crash: still applied once, nothing fails.
            d = HookDelivery.__table__
            with ws.engine.begin() as conn:
                conn.execute(d.update().values(status="pending", due_at=utcnow()))
            assert ws.hooks.deliver() > 0
            assert ws.tags.of("wm_visitor_1") == []
            assert all("failed" not in counts for counts in ws.hooks.summary().values())
    finally:
        for name in set(SQLModel.metadata.tables) - tables_before:
            SQLModel.metadata.remove(SQLModel.metadata.tables[name])


# -- the migration --------------------------------------------------------------------------


def test_the_migration_downgrades_and_upgrades_keeping_the_data(db_url):
    from alembic import command

    from siyu.storage import migrate

    with _open(db_url) as ws:
        contact, _ = ws.contacts.upsert("wm1", member_id="M1")
        ws.tags.tag([contact.id], ["客户等级/VIP"], create=True)
        ws.orders.upsert("shop", "S1", amount_fen=1000, paid_at=PAID, contact="wm1",
                         status="refunded")
        ws.orders.upsert("shop", "S2", amount_fen=1000, paid_at=PAID, contact="wm1",
                         refunded_fen=10)
        with ws.engine.begin() as conn:
            command.downgrade(migrate.alembic_config(conn), "0007_contact_follow")
        inspector = sa.inspect(ws.engine)
        assert "member_id" not in {c["name"] for c in inspector.get_columns("contact")}
        assert "refunded_fen" not in {c["name"] for c in inspector.get_columns("orders")}
        with ws.engine.connect() as conn:
            # Nothing was copied away and back: the contact's tags and orders stay.
            assert conn.execute(sa.text("SELECT count(*) FROM contact_tag")).scalar() == 1
            rows = conn.execute(sa.text("SELECT external_id, status, contact_id FROM orders "
                                        "ORDER BY external_id")).all()
        assert [tuple(r) for r in rows] == [("S1", "refunded", contact.id),
                                            ("S2", "paid", contact.id)]
        with ws.engine.begin() as conn:
            command.upgrade(migrate.alembic_config(conn), "heads")
        assert migrate.pending(ws.engine) == []
        row = _stored(ws, "S1", "shop")
        assert (row.status, row.refunded_fen) == ("refunded", 1000)  # refunds backfilled
        assert ws.contacts.get("wm1").member_id is None
        assert ws.tags.of("wm1") == ["客户等级/VIP"]


def test_partly_refunded_orders_count_as_sales_net_of_the_refund(db_url):
    with siyu.open(db_url, load_entry_points=False) as ws:
        ws.contacts.upsert("wm_1")
        ws.orders.upsert("shop", "A1", amount_fen=10_000, paid_at=utcnow(), contact="wm_1")
        ws.orders.upsert("shop", "A2", amount_fen=5_000, paid_at=utcnow(), contact="wm_1")
        ws.orders.upsert("shop", "A2", amount_fen=5_000, paid_at=utcnow(), contact="wm_1",
                         refunded_fen=2_000)
        ws.orders.upsert("shop", "A3", amount_fen=7_000, paid_at=utcnow(), status="refunded")
        assert ws.orders.summary(paid=True) == {"orders": 2, "buyers": 1,
                                                "revenue_fen": 13_000}
        assert ws.summary()["revenue_fen"] == 13_000
        kpis = ws.reports.kpis()
        assert (kpis["orders_30d"], kpis["revenue_30d_fen"]) == (2, 13_000)
        assert int(ws.reports.orders_daily()["revenue_fen"].sum()) \
            == 13_000
