"""Errors of the sandbox: API answers with an errcode, and refused simulated actions.

:class:`ApiError` never leaves the sandbox: the HTTP layer turns it into the documented
``{"errcode": …, "errmsg": …}`` answer. :class:`SandboxError` is what a test or demo sees when it
asks a simulated person to do something impossible (scan an unknown code, join a full group…).
"""

from __future__ import annotations

import hashlib

from siyu.core.errors import SiyuError

#: Short English errmsg texts, in the style WeCom answers with. Only ``errcode`` is contract
#: ("开发者的程序应该根据 errcode 来判断出错的情况，而不应该依赖 errmsg 来匹配").
MESSAGES: dict[int, str] = {
    -1: "system busy",
    40001: "invalid credential",
    40003: "invalid userid",
    40004: "invalid media type",
    40006: "invalid file size",
    40007: "invalid media_id",
    40009: "invalid image size",
    40010: "invalid voice size",
    40011: "invalid video size",
    40013: "invalid corpid",
    40014: "invalid access_token",
    40029: "invalid code",
    40056: "invalid agentid",
    40058: "invalid Request Parameter",
    40063: "some parameters are empty",
    40068: "invalid tagid",
    40071: "invalid tag name",
    40096: "invalid external userid",
    40097: "user not resigned",
    40099: "external contact count exceed limit",
    40100: "external contact is in transfer",
    41001: "access_token missing",
    41004: "corpsecret missing",
    41005: "media data missing",
    41008: "missing code",
    41035: "external userid missing",
    41037: "contact way type missing",
    41038: "contact way scene missing",
    41039: "invalid contact way type",
    41040: "invalid contact way scene",
    41041: "contact way user count exceed limit",
    41042: "invalid contact way style",
    41043: "contact way config_id missing",
    41044: "invalid contact way config_id",
    41045: "contact way count exceed limit",
    41046: "msgid missing",
    41047: "invalid msgid",
    41048: "no customer to send",
    41049: "welcome code missing",
    41050: "invalid welcome code",
    41051: "customer and user has started chat",
    41054: "user not activated",
    41056: "invalid external userid type",
    41064: "attachment count exceed limit",
    41065: "invalid attachment type",
    41091: "join way chat count exceed limit",
    41093: "group msg task canceled",
    41094: "group msg remind exceed limit",
    42001: "access_token expired",
    44001: "empty media data",
    45009: "api freq out of limit",
    47001: "data format error",
    60003: "department not found",
    60011: "no privilege to access/modify contact/party/agent",
    60111: "userid not found",
    81017: "owner_filter required",
    84061: "not external contact",
    701008: "no valid license user",
}

#: Appended to errmsg when the request body is not the JSON the API expects (reference §1.2).
JSON_WARNING = "Warning: wrong json format."


class ApiError(Exception):
    """An API call is answered with a non-zero ``errcode``.

    :param errcode: the documented WeCom error code.
    :param detail: what exactly was wrong (a field name, a limit), appended to errmsg.
    :param json_warning: whether errmsg carries ``Warning: wrong json format.``.
    """

    def __init__(self, errcode: int, detail: str = "", *, json_warning: bool = False):
        super().__init__(f"{errcode} {detail}".strip())
        self.errcode = errcode
        self.detail = detail
        self.json_warning = json_warning

    def errmsg(self, now: float, client_ip: str) -> str:
        """The errmsg WeCom would send: text, hint, caller ip and the error-code lookup link."""
        text = MESSAGES.get(self.errcode, "error")
        if self.json_warning:
            text = f"{JSON_WARNING} {text}"
        if self.detail:
            text = f"{text}: {self.detail}"
        digest = hashlib.md5(f"{now}:{self.errcode}:{self.detail}".encode()).hexdigest()
        return (f"{text}, hint: [{int(now)}_{self.errcode % 97}_{digest}], from ip: {client_ip}, "
                f"more info at https://open.work.weixin.qq.com/devtool/query?e={self.errcode}")


class SandboxError(SiyuError):
    """A simulated person or admin cannot do what was asked; the message says why."""
