"""The column headers an import recognises: the one table of aliases per field.

The README's "Headers" paragraph lists some of these aliases and its field lists name these
fields; ``tests/test_import_headers.py`` reads the README and checks both against this module,
so the two cannot drift apart. Kept free of pandas: the CLI lists the fields in its help.
"""

from __future__ import annotations

from collections.abc import Mapping

#: A mapping target ``field:<name>`` keeps a column as the custom field ``<name>``.
CUSTOM_PREFIX = "field:"

#: Contact field → header aliases (matched ignoring case, spaces, underscores and the width of
#: a slash). The field name itself is always accepted too.
CONTACT_FIELDS: dict[str, tuple[str, ...]] = {
    "external_userid": ("外部联系人id", "外部联系人userid", "externaluserid", "客户id",
                        "userid"),
    "unionid": ("unionid", "union_id"),
    "name": ("昵称", "客户名称", "姓名", "名称", "客户昵称", "nickname"),
    "phone": ("手机号", "手机", "手机号码", "电话", "联系电话", "mobile", "phone_number"),
    "gender": ("性别", "sex"),
    "city": ("城市", "所在城市"),
    "owner": ("负责人/导购", "负责人", "导购", "添加人", "所属员工", "跟进人", "owner_userid",
              "staff"),
    "store": ("门店", "门店编码", "所属门店", "store_code"),
    "source_channel": ("渠道", "来源", "来源渠道", "channel", "source"),
    "remark": ("备注", "备注名"),
    "added_at": ("添加时间", "加好友时间", "创建时间", "added", "createtime"),
    "tags": ("标签", "客户标签", "tag"),
    "member_id": ("会员号", "会员卡号", "member_id"),
}

#: Order field → header aliases, matched like :data:`CONTACT_FIELDS`.
ORDER_FIELDS: dict[str, tuple[str, ...]] = {
    "external_id": ("订单号", "订单编号", "订单id", "order_id", "orderno", "order_no"),
    "contact": ("外部联系人id", "externaluserid", "external_userid", "客户id"),
    "buyer_phone": ("手机号", "买家手机", "收货人手机", "手机", "phone", "mobile"),
    "unionid": ("unionid",),
    "member_id": ("会员号", "会员卡号", "member_id"),
    "amount": ("金额", "实付金额", "订单金额", "支付金额", "实付款"),
    "amount_fen": ("金额分", "amountfen"),
    "refunded": ("退款金额", "已退款金额", "退款额", "refunded", "refund_amount"),
    "refunded_fen": ("退款金额分", "refundedfen"),
    "paid_at": ("支付时间", "付款时间", "下单时间", "paid", "paytime"),
    "store": ("门店", "门店编码", "store_code"),
    "staff": ("负责人/导购", "导购", "员工", "负责人", "staff_userid"),
    "status": ("状态", "订单状态"),
}

#: Order-line field → header aliases (a 宝贝报表 / line-item export), matched like
#: :data:`CONTACT_FIELDS`.
ORDER_LINE_FIELDS: dict[str, tuple[str, ...]] = {
    "external_id": ("订单号", "订单编号", "主订单编号", "订单id", "order_id", "orderno",
                    "order_no"),
    "line_no": ("行号", "子订单号", "子订单编号", "line", "line_no"),
    "sku": ("sku", "商品编码", "商家编码", "货号", "skuid", "sku_id"),
    "product": ("商品", "商品名称", "宝贝标题", "商品标题", "product", "product_name"),
    "category": ("品类", "类目", "商品分类", "分类", "category"),
    "quantity": ("数量", "购买数量", "件数", "qty", "quantity"),
    "amount": ("金额", "小计", "实付金额", "商品金额", "amount"),
    "amount_fen": ("金额分", "amountfen"),
}


def normalise_header(name: object) -> str:
    """A header as aliases are compared: no BOM, case, spaces or underscores; ``／`` is ``/``."""
    return (str(name).replace("\ufeff", "").replace("／", "/").strip().lower()
            .replace(" ", "").replace("_", ""))


def field_for_header(header: object, fields: Mapping[str, tuple[str, ...]]) -> str | None:
    """The field a column headed ``header`` is read as, by the aliases of ``fields``
    (``None`` when no alias matches)."""
    key = normalise_header(header)
    for name, aliases in fields.items():
        if key in {normalise_header(alias) for alias in (name, *aliases)}:
            return name
    return None
