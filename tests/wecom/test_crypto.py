"""WeCom callback crypto: official vectors, round trips and every SDK error code we promise."""

from __future__ import annotations

import base64
import re
import struct

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from siyu.plugins.wecom import crypto as wc
from siyu.plugins.wecom.crypto import WeComCrypto, WeComCryptoError

# -- official vectors ----------------------------------------------------------------------
# Tencent's official callback SDK, repository sbzhu/weworkapi_python, file callback/Sample.py
# (commit 27220fbe9d5251d46101e33751568eae9f413666): token, key and corp id of the sample app,
# one URL-verification request and one POSTed message.
OPY_TOKEN = "hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo"
OPY_KEY = "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt"
OPY_CORP = "ww1436e0e65a779aee"
OPY_VERIFY = {
    "msg_signature": "012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb",
    "timestamp": "1476416373",
    "nonce": "47744683",
    "echostr": "fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9qdqjnoVzEtpbhnFyq6"
               "SVHyA==",
}
OPY_POST_SIG = "0c3914025cb4b4d68103f6bfc8db550f79dcf48e"
OPY_POST_TS = "1476422779"
OPY_POST_NONCE = "1597212914"
OPY_POST_BODY = (
    "<xml><ToUserName><![CDATA[ww1436e0e65a779aee]]></ToUserName>\n"
    "<Encrypt><![CDATA[Kl7kjoSf6DMD1zh7rtrHjFaDapSCkaOnwu3bqLc5tAybhhMl9pFeK8NslNPVdMwmBQTNoW4mY7AI"
    "jeLvEl3NyeTkAgGzBhzTtRLNshw2AEew+kkYcD+Fq72Kt00fT0WnN87hGrW8SqGc+NcT3mu87Ha3dz1pSDi6GaUA6A0s"
    "qfde0VJPQbZ9U+3JWcoD4Z5jaU0y9GSh010wsHF8KZD24YhmZH4ch4Ka7ilEbjbfvhKkNL65HHL0J6EYJIZUC2pFrdkJ"
    "7MhmEbU2qARR4iQHE7wy24qy0cRX3Mfp6iELcDNfSsPGjUQVDGxQDCWjayJOpcwocugux082f49HKYg84EpHSGXAyh+/"
    "oxwaWbvL6aSDPOYuPDGOCI8jmnKiypE+]]></Encrypt>\n"
    "<AgentID><![CDATA[1000002]]></AgentID>\n</xml>"
)
# The plaintext the same Sample.py encrypts as its reply example, i.e. the message above.
OPY_POST_PLAIN = (
    "<xml><ToUserName>ww1436e0e65a779aee</ToUserName><FromUserName>ChenJiaShun</FromUserName>"
    "<CreateTime>1476422779</CreateTime><MsgType>text</MsgType><Content>你好</Content>"
    "<MsgId>1456453720</MsgId><AgentID>1000002</AgentID></xml>"
)

# The older official sample vector (corp wx5823bf96d3bd56c7, token QDG6eK) with its plaintext
# and signature pinned by the .NET SDK's unit tests: repository
# fudiwei/DotNetCore.SKIT.FlurlHttpClient.Wechat, file
# test/SKIT.FlurlHttpClient.Wechat.Work.UnitTests/TestCase_WxBizMsgCryptorUtilityTests.cs
# (commit 6fd73753057f6db3940a5d7e849d57a6e43267ee); the envelope is the one in that file's
# TestWxBizMsgCryptorParsing.
SKIT_TOKEN = "QDG6eK"
SKIT_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
SKIT_CORP = "wx5823bf96d3bd56c7"
SKIT_TS = "1409659813"
SKIT_NONCE = "1372623149"
SKIT_SIG = "477715d11cdb4164915debcba66cb864d751f3e6"
SKIT_CIPHER = (
    "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3Qczc"
    "dCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4X"
    "gpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqC"
    "KIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o"
    "0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2p"
    "DBS8R07+qN+E7Q=="
)
SKIT_BODY = (
    "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><Encrypt><![CDATA["
    + SKIT_CIPHER
    + "]]></Encrypt><AgentID><![CDATA[218]]></AgentID></xml>"
)
SKIT_PLAIN = (
    "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>\n"
    "<FromUserName><![CDATA[mycreate]]></FromUserName>\n"
    "<CreateTime>1409659813</CreateTime>\n"
    "<MsgType><![CDATA[text]]></MsgType>\n"
    "<Content><![CDATA[hello]]></Content>\n"
    "<MsgId>4561255354251345929</MsgId>\n"
    "<AgentID>218</AgentID>\n"
    "</xml>"
)

KEY = SKIT_KEY
CORP = "ww1436e0e65a779aee"


@pytest.fixture
def crypto() -> WeComCrypto:
    return WeComCrypto("siyutoken", KEY, CORP)


def _fields(envelope: str) -> dict[str, str]:
    out = {}
    for name in ("Encrypt", "MsgSignature", "Nonce"):
        out[name] = re.search(rf"<{name}><!\[CDATA\[(.*?)\]\]></{name}>", envelope).group(1)
    out["TimeStamp"] = re.search(r"<TimeStamp>(.*?)</TimeStamp>", envelope).group(1)
    return out


def _raw_encrypt(key: str, buf: bytes) -> str:
    """AES-CBC-encrypt an arbitrary (already padded) buffer the way WeCom does."""
    aes = base64.b64decode(key + "=")
    enc = Cipher(algorithms.AES(aes), modes.CBC(aes[:16])).encryptor()
    return base64.b64encode(enc.update(buf) + enc.finalize()).decode()


def _post(c: WeComCrypto, encrypted: str, ts: str = "1700000000", nonce: str = "n1"):
    body = f"<xml><ToUserName><![CDATA[{c.receive_id}]]></ToUserName>" \
           f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
    return c.signature(ts, nonce, encrypted), ts, nonce, body


def _code(excinfo) -> int:
    return excinfo.value.code


# -- official vectors ----------------------------------------------------------------------

def test_official_url_verification_vector_decrypts_echostr():
    c = WeComCrypto(OPY_TOKEN, OPY_KEY, OPY_CORP)
    assert c.verify_url(**OPY_VERIFY) == "1288432023552776189"


def test_official_post_vector_decrypts_to_the_sample_message():
    c = WeComCrypto(OPY_TOKEN, OPY_KEY, OPY_CORP)
    assert c.decrypt(OPY_POST_SIG, OPY_POST_TS, OPY_POST_NONCE, OPY_POST_BODY) == OPY_POST_PLAIN


def test_official_post_vector_accepts_bytes_body():
    c = WeComCrypto(OPY_TOKEN, OPY_KEY, OPY_CORP)
    body = OPY_POST_BODY.encode("utf-8")
    assert c.decrypt(OPY_POST_SIG, OPY_POST_TS, OPY_POST_NONCE, body) == OPY_POST_PLAIN


def test_pinned_vector_signature_matches():
    c = WeComCrypto(SKIT_TOKEN, SKIT_KEY, SKIT_CORP)
    assert c.signature(SKIT_TS, SKIT_NONCE, SKIT_CIPHER) == SKIT_SIG


def test_pinned_vector_decrypts_to_the_pinned_plaintext():
    c = WeComCrypto(SKIT_TOKEN, SKIT_KEY, SKIT_CORP)
    assert c.decrypt(SKIT_SIG, SKIT_TS, SKIT_NONCE, SKIT_BODY) == SKIT_PLAIN


def test_official_vector_with_other_corp_id_is_rejected():
    c = WeComCrypto(OPY_TOKEN, OPY_KEY, "wwsomeoneelse")
    with pytest.raises(WeComCryptoError) as exc:
        c.decrypt(OPY_POST_SIG, OPY_POST_TS, OPY_POST_NONCE, OPY_POST_BODY)
    assert _code(exc) == wc.ValidateCorpid_Error == -40005


# -- round trips ---------------------------------------------------------------------------

@pytest.mark.parametrize("plain", [
    "<xml><Content><![CDATA[hello]]></Content></xml>",
    "<xml><Content><![CDATA[你好，欢迎添加 🎉]]></Content></xml>",
    "",
    "x" * 5000,
])
def test_encrypt_then_decrypt_round_trips(crypto, plain):
    envelope = crypto.encrypt(plain, nonce="1372623149", timestamp="1409659813")
    f = _fields(envelope)
    assert crypto.decrypt(f["MsgSignature"], f["TimeStamp"], f["Nonce"], envelope) == plain


def test_reply_envelope_follows_the_official_template_exactly(crypto):
    envelope = crypto.encrypt("<xml/>", nonce="abc", timestamp=1409659813)
    f = _fields(envelope)
    assert envelope == (
        "<xml>\n"
        f"<Encrypt><![CDATA[{f['Encrypt']}]]></Encrypt>\n"
        f"<MsgSignature><![CDATA[{f['MsgSignature']}]]></MsgSignature>\n"
        "<TimeStamp>1409659813</TimeStamp>\n"
        "<Nonce><![CDATA[abc]]></Nonce>\n"
        "</xml>"
    )
    assert f["MsgSignature"] == crypto.signature("1409659813", "abc", f["Encrypt"])


def test_encrypt_defaults_timestamp_to_now(crypto, monkeypatch):
    monkeypatch.setattr(wc.time, "time", lambda: 1700000123.9)
    assert _fields(crypto.encrypt("hi", nonce="n"))["TimeStamp"] == "1700000123"


def test_each_encryption_uses_a_fresh_random_prefix(crypto):
    a = _fields(crypto.encrypt("same", nonce="n", timestamp="1"))["Encrypt"]
    b = _fields(crypto.encrypt("same", nonce="n", timestamp="1"))["Encrypt"]
    assert a != b


def test_verify_url_round_trips_an_echostr(crypto):
    echostr = _fields(crypto.encrypt("8761234567890", nonce="n", timestamp="1"))["Encrypt"]
    sig = crypto.signature("1", "n", echostr)
    assert crypto.verify_url(sig, "1", "n", echostr) == "8761234567890"


def test_signature_is_sha1_of_sorted_concatenation():
    import hashlib

    c = WeComCrypto("tok", KEY, CORP)
    expected = hashlib.sha1("".join(sorted(["tok", "123", "nonce", "ENC"])).encode()).hexdigest()
    assert c.signature("123", "nonce", "ENC") == expected


def test_empty_receive_id_is_supported():
    c = WeComCrypto("tok", KEY, "")
    envelope = c.encrypt("<xml/>", nonce="n", timestamp="1")
    f = _fields(envelope)
    assert c.decrypt(f["MsgSignature"], "1", "n", envelope) == "<xml/>"


# -- padding -------------------------------------------------------------------------------

@pytest.mark.parametrize("msg_len", [0, 1, 26, 27, 25, 58, 90, 122])
def test_padding_is_pkcs7_to_32_bytes(crypto, msg_len):
    # buffer = 16 random + 4 length + msg + 18-byte corp id; 26 and 58 make it exactly 64 / 96
    plain = "a" * msg_len
    buf_len = 16 + 4 + msg_len + len(CORP)
    envelope = crypto.encrypt(plain, nonce="n", timestamp="1")
    f = _fields(envelope)
    cipher = base64.b64decode(f["Encrypt"])
    pad = 32 - buf_len % 32  # a full block of 32 when already aligned
    assert len(cipher) == buf_len + pad
    assert len(cipher) % 32 == 0
    assert crypto.decrypt(f["MsgSignature"], "1", "n", envelope) == plain


def test_aligned_buffer_gets_a_full_padding_block():
    assert wc.pkcs7_pad(b"x" * 64) == b"x" * 64 + bytes([32]) * 32
    assert wc.pkcs7_pad(b"x" * 63) == b"x" * 63 + b"\x01"
    assert wc.pkcs7_pad(b"") == bytes([32]) * 32


@pytest.mark.parametrize("bad", [b"x" * 31 + b"\x00", b"x" * 31 + b"\x21", b"x" * 30 + b"\x01\x02"])
def test_unpad_rejects_malformed_padding(bad):
    with pytest.raises(WeComCryptoError) as exc:
        wc.pkcs7_unpad(bad)
    assert _code(exc) == wc.IllegalBuffer


def _buffer(msg: bytes, receive_id: bytes, length: int | None = None) -> bytes:
    n = len(msg) if length is None else length
    return b"0123456789abcdef" + struct.pack(">I", n) + msg + receive_id


@pytest.mark.parametrize("pad_byte", [0, 33, 200])
def test_decrypt_rejects_buffer_with_invalid_pad_value(crypto, pad_byte):
    buf = _buffer(b"<xml/>", CORP.encode())
    buf += bytes([pad_byte]) * (32 - len(buf) % 32)
    sig, ts, nonce, body = _post(crypto, _raw_encrypt(KEY, buf))
    with pytest.raises(WeComCryptoError) as exc:
        crypto.decrypt(sig, ts, nonce, body)
    assert _code(exc) == wc.IllegalBuffer == -40008


def test_decrypt_rejects_length_field_beyond_buffer(crypto):
    buf = wc.pkcs7_pad(_buffer(b"<xml/>", CORP.encode(), length=10_000))
    sig, ts, nonce, body = _post(crypto, _raw_encrypt(KEY, buf))
    with pytest.raises(WeComCryptoError) as exc:
        crypto.decrypt(sig, ts, nonce, body)
    assert _code(exc) == wc.IllegalBuffer


def test_decrypt_rejects_too_short_buffer(crypto):
    buf = wc.pkcs7_pad(b"short")
    sig, ts, nonce, body = _post(crypto, _raw_encrypt(KEY, buf))
    with pytest.raises(WeComCryptoError) as exc:
        crypto.decrypt(sig, ts, nonce, body)
    assert _code(exc) == wc.IllegalBuffer


def test_decrypt_accepts_the_sdk_style_digit_prefix(crypto):
    # a 16-digit ASCII prefix as the official SDK generates it
    buf = b"1234567890123456" + struct.pack(">I", 6) + b"<xml/>" + CORP.encode()
    sig, ts, nonce, body = _post(crypto, _raw_encrypt(KEY, wc.pkcs7_pad(buf)))
    assert crypto.decrypt(sig, ts, nonce, body) == "<xml/>"


# -- tampering and malformed input ---------------------------------------------------------

def test_tampered_signature_is_rejected(crypto):
    envelope = crypto.encrypt("<xml/>", nonce="n", timestamp="1")
    f = _fields(envelope)
    bad = ("0" if f["MsgSignature"][0] != "0" else "1") + f["MsgSignature"][1:]
    with pytest.raises(WeComCryptoError) as exc:
        crypto.decrypt(bad, "1", "n", envelope)
    assert _code(exc) == wc.ValidateSignature_Error == -40001


def test_signature_over_other_timestamp_is_rejected(crypto):
    envelope = crypto.encrypt("<xml/>", nonce="n", timestamp="1")
    f = _fields(envelope)
    with pytest.raises(WeComCryptoError) as exc:
        crypto.decrypt(f["MsgSignature"], "2", "n", envelope)
    assert _code(exc) == wc.ValidateSignature_Error


def test_tampered_body_fails_the_signature(crypto):
    envelope = crypto.encrypt("<xml/>", nonce="n", timestamp="1")
    f = _fields(envelope)
    enc = f["Encrypt"]
    tampered = envelope.replace(enc, ("A" if enc[0] != "A" else "B") + enc[1:])
    with pytest.raises(WeComCryptoError) as exc:
        crypto.decrypt(f["MsgSignature"], "1", "n", tampered)
    assert _code(exc) == wc.ValidateSignature_Error


def test_tampered_ciphertext_with_valid_signature_is_an_illegal_buffer(crypto):
    # flipping a byte in the first ciphertext block flips the same byte of the second plaintext
    # block, i.e. the high byte of the big-endian length field
    enc = _fields(crypto.encrypt("<xml/>", nonce="n", timestamp="1"))["Encrypt"]
    raw = bytearray(base64.b64decode(enc))
    raw[0] ^= 0x80
    sig, ts, nonce, body = _post(crypto, base64.b64encode(bytes(raw)).decode())
    with pytest.raises(WeComCryptoError) as exc:
        crypto.decrypt(sig, ts, nonce, body)
    assert _code(exc) == wc.IllegalBuffer


def test_wrong_receive_id_is_rejected():
    sender = WeComCrypto("tok", KEY, "wwsender")
    receiver = WeComCrypto("tok", KEY, "wwreceiver")
    envelope = sender.encrypt("<xml/>", nonce="n", timestamp="1")
    f = _fields(envelope)
    with pytest.raises(WeComCryptoError) as exc:
        receiver.decrypt(f["MsgSignature"], "1", "n", envelope)
    assert _code(exc) == wc.ValidateCorpid_Error
    assert "wwsender" in str(exc.value)


def test_wrong_key_fails_to_decrypt():
    other = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
    sender = WeComCrypto("tok", KEY, CORP)
    receiver = WeComCrypto("tok", other, CORP)
    envelope = sender.encrypt("<xml/>", nonce="n", timestamp="1")
    f = _fields(envelope)
    with pytest.raises(WeComCryptoError) as exc:
        receiver.decrypt(f["MsgSignature"], "1", "n", envelope)
    assert _code(exc) in (wc.IllegalBuffer, wc.ValidateCorpid_Error)


def test_bad_base64_is_rejected(crypto):
    sig, ts, nonce, body = _post(crypto, "not*base64!!")
    with pytest.raises(WeComCryptoError) as exc:
        crypto.decrypt(sig, ts, nonce, body)
    assert _code(exc) == wc.DecodeBase64_Error == -40010


def test_ciphertext_not_a_multiple_of_the_aes_block_is_an_aes_failure(crypto):
    enc = base64.b64encode(b"x" * 20).decode()
    sig, ts, nonce, body = _post(crypto, enc)
    with pytest.raises(WeComCryptoError) as exc:
        crypto.decrypt(sig, ts, nonce, body)
    assert _code(exc) == wc.DecryptAES_Error == -40007


def test_verify_url_with_bad_signature_is_rejected():
    c = WeComCrypto(OPY_TOKEN, OPY_KEY, OPY_CORP)
    with pytest.raises(WeComCryptoError) as exc:
        c.verify_url(**{**OPY_VERIFY, "msg_signature": "0" * 40})
    assert _code(exc) == wc.ValidateSignature_Error


@pytest.mark.parametrize("body", [
    "<xml><ToUserName><![CDATA[ww]]></ToUserName></xml>",
    "<xml><Encrypt></Encrypt></xml>",
    "not xml at all",
    "<xml><Encrypt>abc",
    "",
])
def test_envelope_without_encrypt_is_a_parse_error(crypto, body):
    with pytest.raises(WeComCryptoError) as exc:
        crypto.decrypt("sig", "1", "n", body)
    assert _code(exc) == wc.ParseXml_Error == -40002


def test_doctype_and_entities_are_refused(crypto):
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
        "<xml><Encrypt>&lol2;</Encrypt></xml>"
    )
    with pytest.raises(WeComCryptoError) as exc:
        crypto.decrypt("sig", "1", "n", bomb)
    assert _code(exc) == wc.ParseXml_Error


# -- keys ----------------------------------------------------------------------------------

@pytest.mark.parametrize("key", [
    KEY[:-1],                      # 42 characters
    KEY + "A",                     # 44 characters
    KEY[:-1] + "+",                # base64 but not alphanumeric
    KEY[:-1] + "=",
    "",
    " " * 43,
])
def test_malformed_key_is_rejected_at_construction(key):
    with pytest.raises(WeComCryptoError) as exc:
        WeComCrypto("tok", key, CORP)
    assert _code(exc) == wc.IllegalAesKey == -40004


def test_error_carries_code_and_message():
    err = WeComCryptoError(wc.ValidateSignature_Error, "msg_signature does not match")
    assert (err.code, err.message) == (-40001, "msg_signature does not match")
    assert "-40001" in str(err)


def test_sdk_return_codes_match_the_official_constants():
    assert [wc.ValidateSignature_Error, wc.ParseXml_Error, wc.ComputeSignature_Error,
            wc.IllegalAesKey, wc.ValidateCorpid_Error, wc.EncryptAES_Error,
            wc.DecryptAES_Error, wc.IllegalBuffer, wc.EncodeBase64_Error,
            wc.DecodeBase64_Error, wc.GenReturnXml_Error] == list(range(-40001, -40012, -1))


def test_repr_hides_token_and_key():
    c = WeComCrypto("supersecrettoken", KEY, CORP)
    assert "supersecrettoken" not in repr(c) and KEY not in repr(c)
