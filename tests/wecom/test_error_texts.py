"""WeCom error texts read in the language of whoever sees them.

The errcode table is built at import, before anyone's language is known, so its meanings and
fixes are lazy texts; :func:`explain` and ``str()`` of a :class:`WeComError` put them into
words each time they are asked for. An error raised by a job (speaking English) and shown
later in a Chinese console reads in Chinese; ``errcode`` stays the number code compares.
The client's own refusals (a documented limit broken, no usable answer) and the callback
crypto errors are translated the same way.
"""

from __future__ import annotations

import copy
import pickle
import re

import httpx
import pytest

from siyu.core.errors import ValidationError
from siyu.core.i18n import LazyText, use_language
from siyu.plugins.wecom import crypto as wc
from siyu.plugins.wecom.client import RETRY_ERRCODES, TOKEN_ERRCODES, WeComClient
from siyu.plugins.wecom.crypto import WeComCrypto, WeComCryptoError
from siyu.plugins.wecom.errors import ERRCODES, WeComError, WeComTransportError, explain

#: An English word (3+ ASCII letters) that is not an API identifier, a unit or a product name.
_ENGLISH = re.compile(r"(?<![\w./])[A-Za-z]{3,}(?![\w/])")
#: What a Chinese explanation may keep in Latin letters: WeCom's own parameter names and terms.
_KEPT = {"access_token", "secret", "Secret", "UserID", "CorpID", "agentid", "userid", "type",
         "scene", "style", "config_id", "msgid", "code", "API", "owner_filter",
         "transfer_customer", "groupchat/list"}


def chinese(function, *args, **kwargs):
    with use_language("zh_CN"):
        return function(*args, **kwargs)


def english_words(text: str) -> list[str]:
    return [w for w in _ENGLISH.findall(text) if w not in _KEPT]


# -- the errcode table ----------------------------------------------------------------------

def test_the_table_holds_lazy_texts_whose_english_is_the_source():
    for code, info in ERRCODES.items():
        assert isinstance(info.meaning, LazyText), code
        assert str(info.meaning) == info.meaning.source, code
        if info.fix is not None:
            assert isinstance(info.fix, LazyText), code
            assert str(info.fix) == info.fix.source, code


@pytest.mark.parametrize("code", sorted(ERRCODES))
def test_every_explanation_reads_in_chinese(code):
    english, zh = explain(code), chinese(explain, code)
    assert zh != english
    assert re.search(r"[\u4e00-\u9fff]", zh)
    assert english_words(zh) == [], zh
    if ERRCODES[code].fix is not None:
        assert "fix:" in english and "；解决方法：" in zh
    else:
        assert zh == chinese(str, ERRCODES[code].meaning)


@pytest.mark.parametrize(("code", "english", "zh"), [
    (40003, "invalid UserID", "无效的 UserID"),
    (41054, "the member is not activated; fix: the member must activate WeCom, pass real-name "
            "verification and have customer contact (客户联系) enabled",
     "该成员尚未激活；解决方法：该成员必须激活企业微信、完成实名认证，并开通客户联系功能"),
    (45009, "API call frequency over the limit; fix: slow down: WeCom blocks for 60 s "
            "(per-minute limit) or 60 min (per-hour limit); spread bulk jobs over time",
     "接口调用超过限制；解决方法：请降低调用频率：企业微信会封禁 60 秒（超过每分钟限制）或 "
     "60 分钟（超过每小时限制）；请把批量任务分散到不同时间执行"),
    (None, "no answer from WeCom", "企业微信没有应答"),
    (12345, "WeCom error 12345; look it up at "
            "https://open.work.weixin.qq.com/devtool/query?e=12345",
     "企业微信错误码 12345；请在 https://open.work.weixin.qq.com/devtool/query?e=12345 查询"),
])
def test_explain_in_english_and_chinese(code, english, zh):
    assert explain(code) == english
    assert chinese(explain, code) == zh


@pytest.mark.parametrize(("code", "terms"), [
    (40001, ["应用管理", "Secret"]),
    (40013, ["我的企业 → 企业信息", "企业ID"]),
    (48002, ["客户与上下游 → 客户联系 → API → 可调用应用"]),
    (60011, ["可见范围"]),
    (60020, ["企业可信IP"]),
    (701008, ["互通"]),
])
def test_the_official_console_terms_stay_in_both_languages(code, terms):
    for term in terms:
        assert term in explain(code)
        assert term in chinese(explain, code)


# -- WeComError -------------------------------------------------------------------------------

def test_a_wecom_error_reads_in_the_language_it_is_shown_in():
    with use_language("en"):  # raised by a job that speaks English…
        error = WeComError(60011, "no privilege to access/modify contact", "externalcontact/get")
    # …and shown to a Chinese console user
    assert chinese(str, error) == (
        "企业微信接口 externalcontact/get 调用失败：60011 no privilege to access/modify contact"
        "（指定的成员/部门/标签参数无权限（不在应用的可见范围内）；解决方法：请把该成员或部门加入"
        "应用的可见范围）")
    assert str(error) == (
        "WeCom externalcontact/get failed: 60011 no privilege to access/modify contact (no "
        "permission on the given member/department/tag (outside the app's visible range); fix: "
        "add the member or department to the app's visible range (可见范围))")
    assert chinese(lambda: error.hint) == chinese(explain, 60011)
    assert error.errmsg == "no privilege to access/modify contact"  # WeCom's words, as sent


def test_errcodes_compare_as_numbers_whatever_the_language():
    with use_language("zh_CN"):
        error = WeComError(45009, "api freq out of limit", "externalcontact/list")
        transport = WeComTransportError("ConnectError", "gettoken")
    assert error.errcode == 45009 and error.errcode in RETRY_ERRCODES
    assert isinstance(error.errcode, int) and error.errcode not in TOKEN_ERRCODES
    assert transport.errcode is None
    assert error.endpoint == "externalcontact/list"


@pytest.mark.parametrize("error", [
    WeComError(41054, "user not active", "externalcontact/add_contact_way"),
    WeComError(None, "no body", "gettoken"),
    WeComTransportError("ReadTimeout: timed out (after 4 attempts)", "externalcontact/get"),
    WeComTransportError("HTTP 502", "gettoken", errcode=7),
], ids=["errcode", "no-errcode", "transport", "transport-with-code"])
def test_a_wecom_error_pickles_and_copies_with_its_fields(error):
    for twin in (pickle.loads(pickle.dumps(error)), copy.copy(error)):
        assert type(twin) is type(error)
        assert (twin.errcode, twin.errmsg, twin.endpoint) == (
            error.errcode, error.errmsg, error.endpoint)
        assert str(twin) == str(error) and chinese(str, twin) == chinese(str, error)


def test_a_transport_problem_in_siyus_words_stays_translatable():
    client = WeComClient("wwcorp", "secret", base_url="https://qyapi.example",
                         transport=httpx.MockTransport(lambda r: httpx.Response(502)),
                         max_retries=1, sleep=lambda s: None)
    with client, pytest.raises(WeComTransportError) as caught:
        client.access_token()
    error = caught.value
    assert str(error) == ("WeCom gettoken failed: HTTP 502 (after 2 attempts) (no usable answer "
                          "from WeCom; check this server's network path to the API host)")
    assert chinese(str, error) == ("企业微信接口 gettoken 调用失败：HTTP 502（共尝试 2 次后）"
                                   "（没有收到企业微信的有效应答；请检查本服务器到企业微信 API "
                                   "服务器的网络）")
    # a pickled error keeps the words of the language it was pickled in; a copy stays lazy
    assert chinese(str, copy.copy(error)) == chinese(str, error)
    assert pickle.loads(pickle.dumps(error)).errmsg == "HTTP 502 (after 2 attempts)"


def test_one_attempt_is_said_in_the_singular():
    def refuse(request):
        raise httpx.ReadTimeout("timed out", request=request)

    client = WeComClient("wwcorp", "secret", base_url="https://qyapi.example",
                         transport=httpx.MockTransport(refuse), max_retries=0,
                         sleep=lambda s: None)
    with client, pytest.raises(WeComTransportError) as caught:
        client.access_token()
    assert caught.value.errmsg == "ReadTimeout: timed out (after 1 attempt)"
    assert chinese(lambda: caught.value.errmsg) == "ReadTimeout: timed out（尝试 1 次后）"


# -- the client's own refusals ----------------------------------------------------------------

@pytest.fixture
def offline() -> WeComClient:
    def no_http(request):
        raise AssertionError("nothing should be sent")

    return WeComClient("wwcorp", "secret", base_url="https://qyapi.example",
                       transport=httpx.MockTransport(no_http))


@pytest.mark.parametrize(("call", "english", "zh"), [
    (lambda c: c.add_contact_way(2, 2, user=[f"u{i}" for i in range(101)]),
     "user has 101 entries ('u0', 'u1', 'u2', …); WeCom accepts at most 100 per call "
     "(departments count after expansion); split the members over several live codes",
     "user 有 101 项（'u0', 'u1', 'u2'，…）；企业微信每次调用最多接受 100 项（部门按展开后的"
     "人数计算）；请把成员分到多个渠道活码"),
    (lambda c: c.add_contact_way(3, 2, user=["a"]),
     "contact way type 3 must be 1 (single) or 2 (multi)",
     "「联系我」type 3 必须是 1（单人）或 2（多人）"),
    (lambda c: c.add_corp_tag([{"name": "n" * 31}], group_name="g"),
     f"tag name {'n' * 31!r} is 31 characters long; WeCom allows at most 30",
     f"标签名称 {'n' * 31!r} 长 31 个字符；企业微信最多允许 30 个"),
    (lambda c: c.add_msg_template(sender="a"),
     "give text or attachments: WeCom refuses an empty message",
     "请填写文本或附件：企业微信不接受空消息"),
    (lambda c: c.groupchat_list(limit=0),
     "limit 0 is out of range; WeCom accepts 1–1000", "limit 0 超出范围；企业微信接受 1–1000"),
], ids=["count", "type", "length", "empty", "range"])
def test_a_refused_call_is_explained_in_the_callers_language(offline, call, english, zh):
    with pytest.raises(ValidationError) as caught:
        call(offline)
    assert str(caught.value) == english
    with use_language("zh_CN"), pytest.raises(ValidationError) as caught:
        call(offline)
    assert str(caught.value) == zh


# -- callback crypto --------------------------------------------------------------------------

def test_a_malformed_key_is_explained_in_the_readers_language():
    with pytest.raises(WeComCryptoError) as caught:
        WeComCrypto("tok", "short", "wwcorp")
    error = caught.value
    assert error.code == wc.IllegalAesKey
    assert str(error) == ("WeCom callback crypto error -40004: EncodingAESKey must be exactly "
                          "43 letters or digits (got 5 characters); copy it again from the "
                          "app's callback settings")
    assert chinese(str, error) == ("企业微信回调加解密错误 -40004：EncodingAESKey 必须正好是 43 位"
                                   "字母或数字（当前为 5 个字符）；请从应用的接收消息（回调）设置"
                                   "中重新复制")
    assert chinese(lambda: error.message).startswith("EncodingAESKey 必须正好是 43 位")


def test_a_crypto_error_pickles_and_keeps_code_and_message():
    crypto = WeComCrypto("tok", "a" * 43, "wwcorp")
    with pytest.raises(WeComCryptoError) as caught:
        crypto.verify_url("not-the-signature", "1", "n", "c2lnbmVk")
    error = caught.value
    assert (error.code, error.message) == (wc.ValidateSignature_Error,
                                           "msg_signature does not match")
    assert chinese(lambda: error.message) == "msg_signature 签名不匹配"
    twin = pickle.loads(pickle.dumps(error))
    assert (twin.code, twin.message, str(twin)) == (error.code, error.message, str(error))
    plain = WeComCryptoError(wc.ParseXml_Error, "given as plain text")
    assert chinese(str, plain) == "企业微信回调加解密错误 -40002：given as plain text"
