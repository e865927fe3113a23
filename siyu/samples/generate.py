"""Rewrite the bundled sample business: ``python -m siyu.samples.generate``.

A skincare brand with eight stores in six cities, three shopping guides per store, about
3,000 WeCom customers and 8,000 orders over four months. The files look like what an
operator would export: contacts with Chinese headers, phones typed by hand in mixed formats
and a UTF-8 BOM (Excel); orders GBK-encoded with Chinese statuses (已支付 / 已退款), as
Chinese ERPs write them.

The output is deterministic: the same seed gives byte-identical files, so regenerating them
leaves ``git diff`` empty unless this script changed.
"""

from __future__ import annotations

import argparse
import csv
import random
import string
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

HERE = Path(__file__).parent
SEED = 20261120
#: The sample's "today": contacts were added in the ~120 days before it.
ANCHOR = datetime(2026, 11, 20, 21, 0)
DAYS = 120

STORES = (
    ("SH001", "上海南京西路店", "华东", "上海"),
    ("SH002", "上海徐家汇店", "华东", "上海"),
    ("HZ001", "杭州湖滨银泰店", "华东", "杭州"),
    ("BJ001", "北京三里屯店", "华北", "北京"),
    ("BJ002", "北京国贸店", "华北", "北京"),
    ("GZ001", "广州天河城店", "华南", "广州"),
    ("SZ001", "深圳万象城店", "华南", "深圳"),
    ("CD001", "成都太古里店", "西南", "成都"),
)
STAFF_PER_STORE = 3

SURNAMES = (("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"),
            ("杨", "yang"), ("赵", "zhao"), ("黄", "huang"), ("周", "zhou"), ("吴", "wu"),
            ("徐", "xu"), ("孙", "sun"), ("胡", "hu"), ("朱", "zhu"), ("高", "gao"),
            ("林", "lin"), ("何", "he"), ("郭", "guo"), ("马", "ma"), ("罗", "luo"))
GIVEN = (("伟", "wei"), ("芳", "fang"), ("娜", "na"), ("敏", "min"), ("静", "jing"),
         ("丽", "li"), ("强", "qiang"), ("磊", "lei"), ("洋", "yang"), ("艳", "yan"),
         ("婷", "ting"), ("杰", "jie"), ("涛", "tao"), ("明", "ming"), ("超", "chao"),
         ("秀英", "xiuying"), ("慧", "hui"), ("佳", "jia"), ("欣怡", "xinyi"),
         ("子涵", "zihan"), ("雨桐", "yutong"), ("梓萱", "zixuan"), ("晨", "chen"),
         ("悦", "yue"))
NICKNAMES = ("小雨", "木子", "阿May", "Lily", "糖糖", "晴天", "Coco", "小鹿", "橙子",
             "一一", "Vivian", "安安", "豆豆", "Yuki", "苏苏", "七七", "阿杰", "Mia",
             "米粒", "大白", "Grace", "果果", "小鱼儿", "Amber")
OTHER_CITIES = ("南京", "苏州", "天津", "武汉", "重庆", "西安", "长沙", "厦门", "青岛",
                "宁波", "佛山", "东莞")
#: Acquisition channels with their weight; store channels bind to the guide's store.
CHANNELS = (("抖音", 22), ("天猫", 18), ("京东", 10), ("门店海报", 17), ("包裹卡", 14),
            ("朋友推荐", 9), ("小红书", 6), ("直播间", 4))
INTERESTS = ("护肤", "彩妆", "香氛", "身体护理", "防晒")
SKIN = ("干皮", "油皮", "混合皮", "敏感肌")
# Typical prices in yuan: a few repeated price points plus some odd totals.
PRICES = (59.0, 89.0, 129.0, 169.0, 199.0, 239.0, 299.0, 349.0, 459.0, 599.0, 899.0)


@dataclass
class Customer:
    external_userid: str
    name: str
    phone: str
    gender: str
    city: str
    owner: str
    store: str
    channel: str
    added_at: datetime
    tags: list[str]
    appetite: float


def _weighted(rng: random.Random, pairs: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]


def _person(rng: random.Random) -> tuple[str, str]:
    surname, s_py = rng.choice(SURNAMES)
    given, g_py = rng.choice(GIVEN)
    return surname + given, s_py + g_py


def make_stores() -> list[dict[str, str]]:
    """The store rows (code, name, region, city)."""
    return [dict(zip(("code", "name", "region", "city"), row, strict=True))
            for row in STORES]


def make_staff(rng: random.Random) -> list[dict[str, str]]:
    """Three shopping guides per store; userids are pinyin, made unique with a digit."""
    rows, seen = [], set()
    for code, *_ in STORES:
        for _ in range(STAFF_PER_STORE):
            name, userid = _person(rng)
            while userid in seen or name in {r["name"] for r in rows}:
                name, userid = _person(rng)
            seen.add(userid)
            rows.append({"userid": userid, "name": name, "store": code})
    return rows


def _phone(rng: random.Random, used: set[str]) -> str:
    while True:
        digits = rng.choice("3456789") + "".join(rng.choices(string.digits, k=9))
        number = "1" + digits
        if number not in used:
            used.add(number)
            return number


def _typed(rng: random.Random, number: str) -> str:
    """The phone as someone typed it into a spreadsheet."""
    style = rng.random()
    if style < 0.55:
        return number
    if style < 0.70:
        return f"{number[:3]} {number[3:7]} {number[7:]}"
    if style < 0.82:
        return f"{number[:3]}-{number[3:7]}-{number[7:]}"
    if style < 0.92:
        return f"+86 {number}"
    return f"+86{number}"


def _tags(rng: random.Random, appetite: float) -> list[str]:
    tags = []
    if appetite > 2.6:
        tags.append("客户等级/VIP")
    elif appetite < 0.5 and rng.random() < 0.5:
        tags.append("客户等级/新客")
    elif rng.random() < 0.4:
        tags.append("客户等级/普通")
    for interest in rng.sample(INTERESTS, k=rng.choice((0, 1, 1, 2))):
        tags.append(f"兴趣/{interest}")
    if rng.random() < 0.3:
        tags.append(f"肤质/{rng.choice(SKIN)}")
    return tags


def make_customers(rng: random.Random, staff: list[dict[str, str]],
                   count: int = 3000) -> list[Customer]:
    """Customers spread over the guides, added over the last :data:`DAYS` days."""
    city_of = {code: city for code, _n, _r, city in STORES}
    used_phones: set[str] = set()
    used_ids: set[str] = set()
    alphabet = string.ascii_letters + string.digits
    customers = []
    for _ in range(count):
        guide = rng.choice(staff)
        external_userid = "wm" + "".join(rng.choices(alphabet, k=14))
        while external_userid in used_ids:
            external_userid = "wm" + "".join(rng.choices(alphabet, k=14))
        used_ids.add(external_userid)
        # Newer channels grow: sample the day with a mild bias towards recent weeks.
        day = int(DAYS * rng.random() ** 0.8)
        added_at = (ANCHOR - timedelta(days=day)).replace(
            hour=rng.choice((9, 10, 11, 12, 13, 14, 15, 16, 19, 20, 21, 22)),
            minute=rng.randrange(60), second=rng.randrange(60))
        if added_at > ANCHOR:
            added_at -= timedelta(days=1)
        name = rng.choice(NICKNAMES) if rng.random() < 0.35 else _person(rng)[0]
        appetite = rng.lognormvariate(0.3, 0.8)
        customers.append(Customer(
            external_userid=external_userid,
            name=name,
            phone="" if rng.random() < 0.12 else _typed(rng, _phone(rng, used_phones)),
            gender=rng.choices(("女", "男", "未知"), weights=(72, 18, 10))[0],
            city=city_of[guide["store"]] if rng.random() < 0.85 else rng.choice(OTHER_CITIES),
            owner=guide["userid"], store=guide["store"],
            channel=_weighted(rng, CHANNELS), added_at=added_at,
            tags=_tags(rng, appetite), appetite=appetite))
    customers.sort(key=lambda c: c.added_at)
    return customers


def make_orders(rng: random.Random, customers: list[Customer], staff: list[dict[str, str]],
                target: int = 8000) -> list[dict[str, str]]:
    """About ``target`` orders; big spenders buy more often, a few orders are refunded."""
    by_store: dict[str, list[str]] = {}
    for person in staff:
        by_store.setdefault(person["store"], []).append(person["userid"])
    total_appetite = sum(c.appetite for c in customers)
    rows = []
    for customer in customers:
        expected = target * customer.appetite / total_appetite
        count = int(expected) + (rng.random() < expected - int(expected))
        window = (ANCHOR - customer.added_at).total_seconds()
        for _ in range(count):
            paid_at = customer.added_at + timedelta(seconds=rng.random() * window)
            price = rng.choice(PRICES) * rng.choice((1, 1, 1, 2, 3))
            if rng.random() < 0.25:  # a discount or a bundle with a small item
                price = round(price * rng.choice((0.8, 0.85, 0.9)) + rng.choice((0, 19.9)), 2)
            in_store = rng.random() < 0.8
            store = customer.store if in_store else rng.choice(STORES)[0]
            guide = customer.owner if in_store else rng.choice(by_store[store])
            status = "已退款" if rng.random() < 0.04 else "已支付"
            rows.append({"paid_at": paid_at, "contact": customer.external_userid,
                         "amount": f"{price:.2f}", "store": store, "staff": guide,
                         "status": status})
    rows.sort(key=lambda r: (r["paid_at"], r["contact"]))
    per_day: dict[str, int] = {}
    for row in rows:
        day = row["paid_at"].strftime("%y%m%d")
        per_day[day] = per_day.get(day, 0) + 1
        row["external_id"] = f"SO{day}{per_day[day]:04d}"
    return rows


def _write(path: Path, header: list[str], rows: list[list[str]], encoding: str) -> None:
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def generate(folder: Path = HERE, seed: int = SEED) -> dict[str, int]:
    """Write ``stores.csv``, ``staff.csv``, ``contacts.csv`` and ``orders.csv`` to ``folder``.

    :return: row counts by file stem.
    """
    rng = random.Random(seed)
    stores = make_stores()
    staff = make_staff(rng)
    customers = make_customers(rng, staff)
    orders = make_orders(rng, customers, staff)

    _write(folder / "stores.csv", ["code", "name", "region", "city"],
           [[s["code"], s["name"], s["region"], s["city"]] for s in stores], "utf-8")
    _write(folder / "staff.csv", ["userid", "name", "store"],
           [[s["userid"], s["name"], s["store"]] for s in staff], "utf-8")
    _write(folder / "contacts.csv",
           ["外部联系人ID", "昵称", "手机号", "性别", "城市", "负责人", "门店", "渠道",
            "添加时间", "标签"],
           [[c.external_userid, c.name, c.phone, c.gender, c.city, c.owner, c.store,
             c.channel, c.added_at.strftime("%Y-%m-%d %H:%M:%S"), ";".join(c.tags)]
            for c in customers], "utf-8-sig")
    _write(folder / "orders.csv",
           ["订单号", "外部联系人ID", "金额", "支付时间", "门店", "导购", "状态"],
           [[o["external_id"], o["contact"], o["amount"],
             o["paid_at"].strftime("%Y-%m-%d %H:%M"), o["store"], o["staff"], o["status"]]
            for o in orders], "gbk")
    return {"stores": len(stores), "staff": len(staff), "contacts": len(customers),
            "orders": len(orders)}


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m siyu.samples.generate [--out FOLDER] [--seed N]``."""
    parser = argparse.ArgumentParser(prog="python -m siyu.samples.generate",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE, help="folder to write (default: "
                        "the bundled samples)")
    parser.add_argument("--seed", type=int, default=SEED, help="random seed")
    args = parser.parse_args(argv)
    counts = generate(args.out, args.seed)
    print(", ".join(f"{n} {name}" for name, n in counts.items()), "written to", args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
