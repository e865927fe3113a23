"""Errors from the WeCom server API, with what each code means and how an operator fixes it.

WeCom answers every call with ``{"errcode": …, "errmsg": …}``; programs must branch on
``errcode``, never on ``errmsg`` (official docs path/90455). :class:`WeComError` carries both
plus the endpoint, and its message adds a short explanation from :data:`ERRCODES`.
"""

from __future__ import annotations

from typing import NamedTuple

from siyu.core.errors import SiyuError
from siyu.plugins.wecom.crypto import WeComCryptoError

__all__ = ["ERRCODES", "ErrInfo", "WeComCryptoError", "WeComError", "WeComTransportError",
           "explain"]


class ErrInfo(NamedTuple):
    """What a WeCom errcode means and, for the ones an operator can fix, how."""

    meaning: str
    fix: str | None = None


#: Global error codes (official path/90455) that the customer-contact features can meet.
ERRCODES: dict[int, ErrInfo] = {
    -1: ErrInfo("system busy; retry later (at most 3 times)"),
    0: ErrInfo("ok"),
    40001: ErrInfo("invalid secret",
                   "copy the app's Secret again from the WeCom admin console (应用管理 → the "
                   "app → Secret) and check the corp id; the app must be enabled"),
    40003: ErrInfo("invalid UserID"),
    40013: ErrInfo("invalid CorpID", "use the 企业ID shown under 我的企业 → 企业信息"),
    40014: ErrInfo("invalid access_token",
                   "a fresh token is fetched automatically; if it persists, check that the "
                   "corp id and secret belong to the same app"),
    40056: ErrInfo("invalid agentid"),
    40058: ErrInfo("invalid parameter"),
    40063: ErrInfo("a required parameter is empty"),
    40068: ErrInfo("invalid tag or tag group (not given or does not exist)"),
    40071: ErrInfo("invalid tag name (the name already exists)"),
    40096: ErrInfo("invalid external userid"),
    40097: ErrInfo("the member has not resigned",
                   "resigned transfer needs a member who has left; use transfer_customer for "
                   "members still employed"),
    40098: ErrInfo("the member has not completed real-name verification"),
    40099: ErrInfo("the member's external contacts reached the limit"),
    40100: ErrInfo("this customer is already being transferred"),
    41001: ErrInfo("access_token missing"),
    41004: ErrInfo("secret missing"),
    41035: ErrInfo("external userid missing"),
    41037: ErrInfo("contact way 'type' missing"),
    41038: ErrInfo("contact way 'scene' missing"),
    41039: ErrInfo("invalid contact way 'type'"),
    41040: ErrInfo("invalid contact way 'scene'"),
    41041: ErrInfo("too many members on a contact way (limit 100, departments expanded)",
                   "split the members over several live codes of at most 100 people each"),
    41042: ErrInfo("invalid contact way 'style'"),
    41043: ErrInfo("contact way config_id missing"),
    41044: ErrInfo("invalid contact way config_id"),
    41045: ErrInfo("the corp reached the quota of contact ways created through the API",
                   "delete unused live codes (quota 500,000, shared with group join ways)"),
    41046: ErrInfo("mass-message msgid missing"),
    41047: ErrInfo("invalid mass-message msgid"),
    41048: ErrInfo("no customer to send to"),
    41049: ErrInfo("welcome code missing"),
    41050: ErrInfo("welcome code expired (valid 20 seconds after the add event)",
                   "send the welcome message right after the callback; check that callbacks "
                   "are processed without delay"),
    41051: ErrInfo("customer and member already started chatting; welcome code used",
                   "nothing to fix: the welcome message was already delivered or is no longer "
                   "allowed"),
    41053: ErrInfo("the customer has not agreed to chat archiving"),
    41054: ErrInfo("the member is not activated",
                   "the member must activate WeCom, pass real-name verification and have "
                   "customer contact (客户联系) enabled"),
    41056: ErrInfo("wrong external id type"),
    41063: ErrInfo("the mass message is still being dispatched; retry later"),
    41064: ErrInfo("too many attachments"),
    41065: ErrInfo("invalid attachment type"),
    41088: ErrInfo("attachment list is empty"),
    41091: ErrInfo("a group join way can link at most 5 groups",
                   "give at most 5 chat ids per join way; create another join way for more"),
    41093: ErrInfo("the mass-message task was cancelled"),
    41094: ErrInfo("mass-message reminders over the limit (3 per 24 hours)"),
    41096: ErrInfo("a welcome message is already being sent (by another app)"),
    42001: ErrInfo("access_token expired", "a fresh token is fetched automatically"),
    45001: ErrInfo("media file too large (image 5 MB, voice 5 MB, file 20 MB)"),
    45009: ErrInfo("API call frequency over the limit",
                   "slow down: WeCom blocks for 60 s (per-minute limit) or 60 min (per-hour "
                   "limit); spread bulk jobs over time"),
    45033: ErrInfo("too many concurrent API calls", "lower the number of parallel workers"),
    48002: ErrInfo("the app has no permission to call this API",
                   "in the WeCom admin console add this app under 客户与上下游 → 客户联系 → "
                   "API → 可调用应用 (and enable the needed permissions)"),
    60011: ErrInfo("no permission on the given member/department/tag (outside the app's "
                   "visible range)",
                   "add the member or department to the app's visible range (可见范围)"),
    60020: ErrInfo("request from an untrusted IP address",
                   "add this server's public IP to the app's trusted IPs (企业可信IP) in the "
                   "WeCom admin console"),
    60111: ErrInfo("UserID does not exist"),
    81017: ErrInfo("groupchat/list without owner_filter while the visible range has more "
                   "than 1000 people", "pass owner_filter with the owners' userids"),
    84061: ErrInfo("no external-contact relationship between this member and customer"),
    701008: ErrInfo("none of the given members has an interop license",
                    "buy or activate interop (互通) licenses for these members"),
}


def explain(errcode: int | None) -> str:
    """A short English explanation of ``errcode``, with the fix when an operator can act.

    Unknown codes point to WeCom's lookup page.
    """
    if errcode is None:
        return "no answer from WeCom"
    info = ERRCODES.get(errcode)
    if info is None:
        return (f"WeCom error {errcode}; look it up at "
                f"https://open.work.weixin.qq.com/devtool/query?e={errcode}")
    if info.fix:
        return f"{info.meaning}; fix: {info.fix}"
    return info.meaning


class WeComError(SiyuError):
    """WeCom refused a call or could not be reached.

    :ivar errcode: WeCom's ``errcode`` (``None`` when no answer came, see
        :class:`WeComTransportError`).
    :ivar errmsg: WeCom's ``errmsg`` (or what went wrong on the way).
    :ivar endpoint: the API path, e.g. ``externalcontact/get``.
    """

    def __init__(self, errcode: int | None, errmsg: str, endpoint: str):
        self.errcode = errcode
        self.errmsg = errmsg
        self.endpoint = endpoint
        super().__init__(self._describe())

    def _describe(self) -> str:
        return (f"WeCom {self.endpoint} failed: {self.errcode} {self.errmsg} "
                f"({explain(self.errcode)})")

    @property
    def hint(self) -> str:
        """The explanation of :attr:`errcode` (see :func:`explain`)."""
        return explain(self.errcode)

    def __reduce__(self):
        return (type(self), (self.errcode, self.errmsg, self.endpoint))


class WeComTransportError(WeComError):
    """No usable answer: timeout, connection failure, HTTP error status or non-JSON body,
    after the retries were spent. :attr:`errcode` is ``None``."""

    def __init__(self, errmsg: str, endpoint: str, errcode: int | None = None):
        super().__init__(errcode, errmsg, endpoint)

    def _describe(self) -> str:
        return (f"WeCom {self.endpoint} failed: {self.errmsg} (no usable answer from WeCom; "
                f"check this server's network path to the API host)")

    def __reduce__(self):
        return (type(self), (self.errmsg, self.endpoint, self.errcode))
