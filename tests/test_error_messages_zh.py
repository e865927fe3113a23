"""Errors a user causes come out in the user's language.

The services raise :class:`siyu.core.errors.SiyuError` messages through the translator, so a
console user who reads Chinese gets a Chinese notification and the CLI prints the language
it runs in. Each case below is raised through the public workspace API twice: inside
``use_language("zh_CN")`` (Chinese, lists joined with 、) and outside it (English, as the
rest of the test suite reads it).
"""

from __future__ import annotations

import pytest

import siyu
from siyu.core.errors import (
    ConfigError,
    NotFound,
    PermissionDenied,
    PluginError,
    RateLimited,
    SiyuError,
    ValidationError,
    listing,
)
from siyu.core.i18n import use_language
from siyu.core.permissions import Principal
from siyu.core.plugins import hookimpl
from siyu.core.records import JobSpec


def _raised(error: type[SiyuError], call) -> str:
    with pytest.raises(error) as caught:
        call()
    return str(caught.value)


def _both(error: type[SiyuError], call) -> tuple[str, str]:
    """The message ``call`` raises in Chinese, then in English."""
    with use_language("zh_CN"):
        chinese = _raised(error, call)
    return chinese, _raised(error, call)


def test_unknown_user_is_named_in_chinese(ws):
    zh, en = _both(NotFound, lambda: ws.users.get("nobody"))
    assert zh == "未知用户 'nobody'"
    assert en == "unknown user 'nobody'"


def test_unknown_role_lists_the_roles_with_the_chinese_comma(ws):
    zh, en = _both(ValidationError, lambda: ws.users.add("ana", "boss", "a-long-password"))
    assert zh == "角色 'boss' 不存在；可选：admin、operator、analyst"
    assert en == "unknown role 'boss'; choose one of admin, operator, analyst"


def test_bad_phone_says_what_a_phone_looks_like(ws):
    zh, en = _both(ValidationError, lambda: ws.contacts.upsert("wmA", phone="12345"))
    assert zh == "手机号 '12345' 不是中国大陆手机号（以 1 开头的 11 位数字，可带 +86）"
    assert en.startswith("phone '12345' is not a mainland mobile number")


def test_negative_order_amount(ws):
    zh, en = _both(ValidationError, lambda: ws.orders.upsert(
        "tmall", "T1", amount_fen=-1, paid_at="2026-11-25"))
    assert zh == "amount_fen -1 无效：须为以分为单位的非负整数"
    assert en == "amount_fen -1 must be a non-negative integer number of fen"


def test_unknown_contacts_when_tagging_count_the_rest(ws):
    ws.tags.create("渠道/抖音")
    missing = [f"wm{i}" for i in range(7)]
    zh, en = _both(NotFound, lambda: ws.tags.tag(missing, ["渠道/抖音"]))
    assert zh == ("未知客户 'wm0'、'wm1'、'wm2'、'wm3'、'wm4' 等（另有 2 个）；未打任何标签")
    assert en == ("unknown contact(s) 'wm0', 'wm1', 'wm2', 'wm3', 'wm4' and 2 more; "
                  "nothing was tagged")


def test_phone_search_refusal_names_the_user_and_translated_role(ws):
    ws.contacts.upsert("wmA", name="王一", phone="13800000001")
    otto = ws.as_user(Principal("otto", "operator"))
    zh, en = _both(PermissionDenied, lambda: otto.contacts.count(search="13800000001"))
    assert zh.startswith("otto（运营）只能按手机号后四位（如 0001）")
    assert zh.endswith("按其他数字搜索需要 pii.view 权限")
    assert en.startswith("otto (Operator) may search phone numbers only by their last four")


def test_locked_account(ws):
    ws.users.add("ana", "operator", "a-long-password")
    for _attempt in range(5):
        ws.users.authenticate("ana", "wrong password")
    zh, en = _both(RateLimited, lambda: ws.users.authenticate("ana", "a-long-password"))
    assert zh == "登录失败次数过多；此账号将继续锁定 15 分钟"
    assert en == "too many failed sign-ins; this account is locked for 15 more minute(s)"


def test_missing_hook_delivery(ws):
    zh, en = _both(NotFound, lambda: ws.hooks.retry(999999))
    assert zh == "插件通知投递 999999 不存在"
    assert en == "no hook delivery 999999"


def test_unsupported_database_url():
    zh, en = _both(ConfigError, lambda: siyu.open("mysql://db.example/shop",
                                                  load_entry_points=False))
    assert zh == ("'mysql://db.example/shop' 中的数据库 'mysql' 不受支持：siyu 只支持 SQLite 和 "
                  "PostgreSQL")
    assert en == "unsupported database 'mysql' in 'mysql://db.example/shop': siyu runs on " \
                 "SQLite or PostgreSQL"


def test_unknown_language_lists_the_shipped_ones(ws):
    zh, en = _both(ValidationError, lambda: ws.set_language("klingon"))
    assert zh == "未知语言 'klingon'；可选：zh_CN、en"
    assert en == "unknown language 'klingon'; use one of: zh_CN, en"


class _CountJob:
    @hookimpl
    def register_jobs(self, ws):
        return [JobSpec("count", lambda ws: None, "interval", {"hours": 1})]


class _AnotherCountJob(_CountJob):
    pass


def test_clashing_registrations_name_the_kind_of_record_in_chinese(db_url):
    ws = siyu.open(db_url, plugins=[_CountJob(), _AnotherCountJob()], load_entry_points=False)
    try:
        with use_language("zh_CN"):
            with pytest.raises(PluginError) as caught:
                ws.jobs  # noqa: B018 - the property collects the registrations
        assert str(caught.value) == ("定时任务 'count' 同时由插件 '_AnotherCountJob' 和插件 "
                                     "'_CountJob' 注册；请重命名其中一个")
        with pytest.raises(PluginError, match=r"^job 'count' is registered by both plugin "
                                              r"'_AnotherCountJob' and plugin '_CountJob'"):
            ws.jobs  # noqa: B018
    finally:
        ws.close()


def test_listing_follows_the_language():
    assert listing(["a", "b"]) == "a, b"
    with use_language("zh_CN"):
        assert listing(["a", "b"]) == "a、b"
    assert listing([]) == ""
