"""WeCom callback encryption, compatible with the official ``WXBizMsgCrypt`` SDK.

WeCom signs and encrypts every callback it pushes (URL verification, events, messages) and
expects encrypted passive replies in return. The scheme (official docs path/90968, reference SDK
``sbzhu/weworkapi_python`` ``callback_python3/WXBizMsgCrypt.py``):

- ``AESKey = base64_decode(EncodingAESKey + "=")`` (32 bytes), AES-256-CBC with
  ``IV = AESKey[:16]``;
- plaintext buffer ``random(16) + len(msg) as 4-byte big-endian + msg + receive_id``, padded with
  PKCS#7 to a multiple of **32** bytes (1..32 pad bytes, a full block when already aligned);
- ``msg_signature = sha1("".join(sorted([token, timestamp, nonce, encrypted])))`` in lowercase hex.

Every failure raises :class:`WeComCryptoError` carrying the SDK's return code, so a receiver can
log the same numbers the WeCom documentation uses.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import struct
import time
import xml.etree.ElementTree as ET

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from siyu.core.errors import SiyuError
from siyu.core.i18n import LazyText, translator

__all__ = [
    "WeComCrypto",
    "WeComCryptoError",
    "OK",
    "ValidateSignature_Error",
    "ParseXml_Error",
    "ComputeSignature_Error",
    "IllegalAesKey",
    "ValidateCorpid_Error",
    "EncryptAES_Error",
    "DecryptAES_Error",
    "IllegalBuffer",
    "EncodeBase64_Error",
    "DecodeBase64_Error",
    "GenReturnXml_Error",
]

# SDK return codes, named as in the official ``ierror.py`` (without the ``WXBizMsgCrypt_`` prefix).
OK = 0
ValidateSignature_Error = -40001
ParseXml_Error = -40002
ComputeSignature_Error = -40003
IllegalAesKey = -40004
ValidateCorpid_Error = -40005
EncryptAES_Error = -40006
DecryptAES_Error = -40007
IllegalBuffer = -40008
EncodeBase64_Error = -40009
DecodeBase64_Error = -40010
GenReturnXml_Error = -40011

_ = translator("siyu.plugins.wecom")

BLOCK_SIZE = 32  # PKCS#7 block size used by WeCom (not the AES block size of 16)

_KEY_RE = re.compile(r"[A-Za-z0-9]{43}")
_DOCTYPE_RE = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)

REPLY_TEMPLATE = """<xml>
<Encrypt><![CDATA[%(msg_encrypt)s]]></Encrypt>
<MsgSignature><![CDATA[%(msg_signaturet)s]]></MsgSignature>
<TimeStamp>%(timestamp)s</TimeStamp>
<Nonce><![CDATA[%(nonce)s]]></Nonce>
</xml>"""


class WeComCryptoError(SiyuError):
    """A callback could not be verified, decrypted or encrypted.

    The message may be a lazy text: ``str()`` of the error and :attr:`message` put it into
    words in the current language each time (the doctor shows them to the operator).

    :ivar code: the official SDK return code (-40001 … -40011).
    """

    def __init__(self, code: int, message: str | LazyText):
        self.code = code
        self._message = message
        super().__init__(self._describe())

    @property
    def message(self) -> str:
        """What went wrong, in words (in the current language)."""
        return str(self._message)

    def _describe(self) -> str:
        return _("WeCom callback crypto error {code}: {message}", code=self.code,
                 message=self.message)

    def __str__(self) -> str:
        return self._describe()

    def __reduce__(self):
        # pickled as plain text (a lazy text holds its translator, which does not pickle)
        return (type(self), (self.code, self.message))


def pkcs7_pad(data: bytes, block_size: int = BLOCK_SIZE) -> bytes:
    """Pad ``data`` with PKCS#7 to a multiple of ``block_size`` (always 1..block_size bytes)."""
    amount = block_size - (len(data) % block_size)
    return data + bytes([amount]) * amount


def pkcs7_unpad(data: bytes, block_size: int = BLOCK_SIZE) -> bytes:
    """Strip PKCS#7 padding; raise ``WeComCryptoError(IllegalBuffer)`` when it is malformed."""
    if not data:
        raise WeComCryptoError(IllegalBuffer, _.lazy("decrypted buffer is empty"))
    amount = data[-1]
    if amount < 1 or amount > block_size or amount > len(data):
        raise WeComCryptoError(IllegalBuffer, _.lazy("invalid PKCS#7 padding length {amount}",
                                                      amount=amount))
    if data[-amount:] != bytes([amount]) * amount:
        raise WeComCryptoError(IllegalBuffer, _.lazy("inconsistent PKCS#7 padding bytes"))
    return data[:-amount]


def _text(value: str | bytes | int) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8")
    return str(value)


def compute_signature(token: str, timestamp: str, nonce: str, encrypted: str) -> str:
    """SHA-1 of the four strings sorted lexicographically and concatenated, lowercase hex."""
    try:
        parts = sorted([_text(token), _text(timestamp), _text(nonce), _text(encrypted)])
        return hashlib.sha1("".join(parts).encode("utf-8")).hexdigest()
    except (UnicodeError, TypeError) as exc:
        raise WeComCryptoError(ComputeSignature_Error, _.lazy(
            "cannot compute signature: {error}", error=str(exc))) from exc


def extract_encrypt(body: str | bytes) -> str:
    """Return the ``<Encrypt>`` text of a callback envelope.

    DOCTYPE and ENTITY declarations are refused before parsing (no entity expansion).
    """
    raw = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    if _DOCTYPE_RE.search(raw):
        raise WeComCryptoError(ParseXml_Error,
                               _.lazy("XML with DOCTYPE/ENTITY declarations is refused"))
    try:
        root = ET.fromstring(raw)
    except ET.ParseError as exc:
        raise WeComCryptoError(ParseXml_Error, _.lazy("body is not well-formed XML: {error}",
                                                       error=str(exc))) from exc
    node = root.find("Encrypt")
    if node is None or not (node.text or "").strip():
        raise WeComCryptoError(ParseXml_Error, _.lazy("XML envelope has no <Encrypt> element"))
    return node.text.strip()


class WeComCrypto:
    """Verify, decrypt and encrypt WeCom callbacks for one app.

    :param token: the callback Token configured for the app (letters/digits, ≤ 32 chars).
    :param encoding_aes_key: the 43-character EncodingAESKey configured for the app.
    :param receive_id: the CorpID for self-built apps (the SuiteID for provider suites, empty for
        individual-subject third-party apps); decrypted messages must carry exactly this id.
    :raises WeComCryptoError: ``IllegalAesKey`` (-40004) when the key is malformed.
    """

    def __init__(self, token: str, encoding_aes_key: str, receive_id: str):
        if not isinstance(encoding_aes_key, str) or not _KEY_RE.fullmatch(encoding_aes_key):
            raise WeComCryptoError(IllegalAesKey, _.lazy(
                "EncodingAESKey must be exactly 43 letters or digits (got {length} "
                "characters); copy it again from the app's callback settings",
                length=len(encoding_aes_key) if isinstance(encoding_aes_key, str) else "?"))
        try:
            key = base64.b64decode(encoding_aes_key + "=")
        except (binascii.Error, ValueError) as exc:
            raise WeComCryptoError(IllegalAesKey, _.lazy("EncodingAESKey is not base64: {error}",
                                                         error=str(exc))) from exc
        if len(key) != 32:
            raise WeComCryptoError(IllegalAesKey,
                                   _.lazy("EncodingAESKey does not decode to 32 bytes"))
        self.token = token
        self.receive_id = receive_id
        self._key = key
        self._iv = key[:16]

    def __repr__(self) -> str:  # never show the token or key
        return f"WeComCrypto(receive_id={self.receive_id!r})"

    # -- signatures -------------------------------------------------------------------------

    def signature(self, timestamp: str, nonce: str, encrypted: str) -> str:
        """The ``msg_signature`` WeCom computes for ``encrypted`` with this app's token."""
        return compute_signature(self.token, timestamp, nonce, encrypted)

    def _check_signature(self, msg_signature: str, timestamp: str, nonce: str, encrypted: str):
        expected = self.signature(timestamp, nonce, encrypted)
        given = _text(msg_signature or "")
        if not hmac.compare_digest(expected.encode("ascii"), given.encode("utf-8", "replace")):
            raise WeComCryptoError(ValidateSignature_Error, _.lazy("msg_signature does not match"))

    # -- AES --------------------------------------------------------------------------------

    def _decrypt_payload(self, encrypted: str) -> str:
        try:
            data = base64.b64decode(_text(encrypted), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise WeComCryptoError(DecodeBase64_Error, _.lazy("ciphertext is not base64: {error}",
                                                               error=str(exc))) from exc
        if not data or len(data) % 16:
            raise WeComCryptoError(DecryptAES_Error, _.lazy(
                "ciphertext length {length} is not a multiple of 16", length=len(data)))
        try:
            decryptor = Cipher(algorithms.AES(self._key), modes.CBC(self._iv)).decryptor()
            plain = decryptor.update(data) + decryptor.finalize()
        except ValueError as exc:
            raise WeComCryptoError(DecryptAES_Error, _.lazy("AES decryption failed: {error}",
                                                           error=str(exc))) from exc
        content = pkcs7_unpad(plain)
        if len(content) < 20:
            raise WeComCryptoError(IllegalBuffer, _.lazy("decrypted buffer is too short"))
        (msg_len,) = struct.unpack(">I", content[16:20])
        if 20 + msg_len > len(content):
            raise WeComCryptoError(IllegalBuffer, _.lazy(
                "message length {length} exceeds the buffer", length=msg_len))
        msg = content[20 : 20 + msg_len]
        from_id = content[20 + msg_len :]
        try:
            from_id_text = from_id.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise WeComCryptoError(IllegalBuffer, _.lazy("receive id is not UTF-8")) from exc
        if from_id_text != self.receive_id:
            raise WeComCryptoError(ValidateCorpid_Error, _.lazy(
                "message is for receive id {given!r}, expected {expected!r}",
                given=from_id_text, expected=self.receive_id))
        try:
            return msg.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise WeComCryptoError(IllegalBuffer, _.lazy("message is not UTF-8")) from exc

    def _encrypt_payload(self, plaintext: str | bytes) -> str:
        msg = plaintext.encode("utf-8") if isinstance(plaintext, str) else bytes(plaintext)
        buf = (
            secrets.token_bytes(16)
            + struct.pack(">I", len(msg))
            + msg
            + self.receive_id.encode("utf-8")
        )
        try:
            encryptor = Cipher(algorithms.AES(self._key), modes.CBC(self._iv)).encryptor()
            cipher = encryptor.update(pkcs7_pad(buf)) + encryptor.finalize()
        except ValueError as exc:
            raise WeComCryptoError(EncryptAES_Error, _.lazy("AES encryption failed: {error}",
                                                           error=str(exc))) from exc
        try:
            return base64.b64encode(cipher).decode("ascii")
        except (binascii.Error, ValueError) as exc:  # pragma: no cover - cannot happen
            raise WeComCryptoError(EncodeBase64_Error, str(exc)) from exc

    # -- public operations ------------------------------------------------------------------

    def verify_url(self, msg_signature: str, timestamp: str, nonce: str, echostr: str) -> str:
        """Answer WeCom's URL verification GET.

        :param echostr: the URL-decoded ``echostr`` query parameter.
        :returns: the decrypted plaintext, to be sent back verbatim (no quotes, BOM or newline).
        :raises WeComCryptoError: on a bad signature, ciphertext or receive id.
        """
        echostr = _text(echostr)
        self._check_signature(msg_signature, timestamp, nonce, echostr)
        return self._decrypt_payload(echostr)

    def decrypt(self, msg_signature: str, timestamp: str, nonce: str, body: str | bytes) -> str:
        """Verify and decrypt a POSTed callback.

        :param body: the XML envelope WeCom posted (``<xml>…<Encrypt>…</Encrypt>…</xml>``).
        :returns: the decrypted message, itself an XML document.
        :raises WeComCryptoError: ``ParseXml_Error`` for a malformed envelope, otherwise as
            :meth:`verify_url`.
        """
        encrypted = extract_encrypt(body)
        self._check_signature(msg_signature, timestamp, nonce, encrypted)
        return self._decrypt_payload(encrypted)

    def encrypt(self, plaintext: str, nonce: str, timestamp: str | int | None = None) -> str:
        """Encrypt a passive reply (or, in the sandbox, a callback) into the reply envelope.

        :param plaintext: the reply message (XML).
        :param nonce: a random string (the request's nonce may be reused).
        :param timestamp: seconds since the epoch; now when omitted.
        :returns: ``<xml>`` with ``Encrypt``, ``MsgSignature``, ``TimeStamp`` and ``Nonce``,
            formatted exactly like the official SDK's template.
        """
        ts = str(int(time.time())) if timestamp is None else _text(timestamp)
        nonce = _text(nonce)
        encrypted = self._encrypt_payload(plaintext)
        sig = self.signature(ts, nonce, encrypted)
        try:
            return REPLY_TEMPLATE % {
                "msg_encrypt": encrypted,
                "msg_signaturet": sig,
                "timestamp": ts,
                "nonce": nonce,
            }
        except (TypeError, ValueError) as exc:  # pragma: no cover - defensive
            raise WeComCryptoError(GenReturnXml_Error, str(exc)) from exc
