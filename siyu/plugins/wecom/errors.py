"""Errors from the WeCom server API, with what each code means and how an operator fixes it.

WeCom answers every call with ``{"errcode": …, "errmsg": …}``; programs must branch on
``errcode``, never on ``errmsg`` (official docs path/90455). :class:`WeComError` carries both
plus the endpoint, and its message adds a short explanation from :data:`ERRCODES`.

The explanations reach operators (console notifications, the live-code pages, the CLI), so
they are translated: the table holds lazy texts (it is built at import, before anyone's
language is known), and :func:`explain` and ``str()`` of an error put them into words in the
current language each time they are called. An error raised by a job and shown later in the
console therefore reads in the console user's language; ``errcode`` stays the number to
compare.
"""

from __future__ import annotations

from typing import NamedTuple

from siyu.core.errors import SiyuError
from siyu.core.i18n import LazyText, translator
from siyu.plugins.wecom.crypto import WeComCryptoError

__all__ = ["ERRCODES", "ErrInfo", "WeComCryptoError", "WeComError", "WeComTransportError",
           "explain"]

_ = translator("siyu.plugins.wecom")


class ErrInfo(NamedTuple):
    """What a WeCom errcode means and, for the ones an operator can fix, how.

    Both are lazy texts: ``str()`` gives them in the current language.
    """

    meaning: LazyText | str
    fix: LazyText | str | None = None


#: Global error codes (official path/90455) that the customer-contact features can meet.
ERRCODES: dict[int, ErrInfo] = {
    -1: ErrInfo(_.lazy("system busy; retry later (at most 3 times)")),
    0: ErrInfo(_.lazy("ok")),
    40001: ErrInfo(
        _.lazy("invalid secret"),
        _.lazy("copy the app's Secret again from the WeCom admin console (应用管理 → the "
               "app → Secret) and check the corp id; the app must be enabled")),
    40003: ErrInfo(_.lazy("invalid UserID")),
    40013: ErrInfo(_.lazy("invalid CorpID"),
                   _.lazy("use the 企业ID shown under 我的企业 → 企业信息")),
    40014: ErrInfo(
        _.lazy("invalid access_token"),
        _.lazy("a fresh token is fetched automatically; if it persists, check that the "
               "corp id and secret belong to the same app")),
    40056: ErrInfo(_.lazy("invalid agentid")),
    40058: ErrInfo(_.lazy("invalid parameter")),
    40063: ErrInfo(_.lazy("a required parameter is empty")),
    40068: ErrInfo(_.lazy("invalid tag or tag group (not given or does not exist)")),
    40071: ErrInfo(_.lazy("invalid tag name (the name already exists)")),
    40096: ErrInfo(_.lazy("invalid external userid")),
    40097: ErrInfo(
        _.lazy("the member has not resigned"),
        _.lazy("resigned transfer needs a member who has left; use transfer_customer for "
               "members still employed")),
    40098: ErrInfo(_.lazy("the member has not completed real-name verification")),
    40099: ErrInfo(_.lazy("the member's external contacts reached the limit")),
    40100: ErrInfo(_.lazy("this customer is already being transferred")),
    41001: ErrInfo(_.lazy("access_token missing")),
    41004: ErrInfo(_.lazy("secret missing")),
    41035: ErrInfo(_.lazy("external userid missing")),
    41037: ErrInfo(_.lazy("contact way 'type' missing")),
    41038: ErrInfo(_.lazy("contact way 'scene' missing")),
    41039: ErrInfo(_.lazy("invalid contact way 'type'")),
    41040: ErrInfo(_.lazy("invalid contact way 'scene'")),
    41041: ErrInfo(
        _.lazy("too many members on a contact way (limit 100, departments expanded)"),
        _.lazy("split the members over several live codes of at most 100 people each")),
    41042: ErrInfo(_.lazy("invalid contact way 'style'")),
    41043: ErrInfo(_.lazy("contact way config_id missing")),
    41044: ErrInfo(_.lazy("invalid contact way config_id")),
    41045: ErrInfo(
        _.lazy("the corp reached the quota of contact ways created through the API"),
        _.lazy("delete unused live codes (quota 500,000, shared with group join ways)")),
    41046: ErrInfo(_.lazy("mass-message msgid missing")),
    41047: ErrInfo(_.lazy("invalid mass-message msgid")),
    41048: ErrInfo(_.lazy("no customer to send to")),
    41049: ErrInfo(_.lazy("welcome code missing")),
    41050: ErrInfo(
        _.lazy("welcome code expired (valid 20 seconds after the add event)"),
        _.lazy("send the welcome message right after the callback; check that callbacks "
               "are processed without delay")),
    41051: ErrInfo(
        _.lazy("customer and member already started chatting; welcome code used"),
        _.lazy("nothing to fix: the welcome message was already delivered or is no longer "
               "allowed")),
    41053: ErrInfo(_.lazy("the customer has not agreed to chat archiving")),
    41054: ErrInfo(
        _.lazy("the member is not activated"),
        _.lazy("the member must activate WeCom, pass real-name verification and have "
               "customer contact (客户联系) enabled")),
    41056: ErrInfo(_.lazy("wrong external id type")),
    41063: ErrInfo(_.lazy("the mass message is still being dispatched; retry later")),
    41064: ErrInfo(_.lazy("too many attachments")),
    41065: ErrInfo(_.lazy("invalid attachment type")),
    41088: ErrInfo(_.lazy("attachment list is empty")),
    41091: ErrInfo(
        _.lazy("a group join way can link at most 5 groups"),
        _.lazy("give at most 5 chat ids per join way; create another join way for more")),
    41093: ErrInfo(_.lazy("the mass-message task was cancelled")),
    41094: ErrInfo(_.lazy("mass-message reminders over the limit (3 per 24 hours)")),
    41096: ErrInfo(_.lazy("a welcome message is already being sent (by another app)")),
    42001: ErrInfo(_.lazy("access_token expired"),
                   _.lazy("a fresh token is fetched automatically")),
    45001: ErrInfo(_.lazy("media file too large (image 5 MB, voice 5 MB, file 20 MB)")),
    45009: ErrInfo(
        _.lazy("API call frequency over the limit"),
        _.lazy("slow down: WeCom blocks for 60 s (per-minute limit) or 60 min (per-hour "
               "limit); spread bulk jobs over time")),
    45033: ErrInfo(_.lazy("too many concurrent API calls"),
                   _.lazy("lower the number of parallel workers")),
    48002: ErrInfo(
        _.lazy("the app has no permission to call this API"),
        _.lazy("in the WeCom admin console add this app under 客户与上下游 → 客户联系 → "
               "API → 可调用应用 (and enable the needed permissions)")),
    60011: ErrInfo(
        _.lazy("no permission on the given member/department/tag (outside the app's "
               "visible range)"),
        _.lazy("add the member or department to the app's visible range (可见范围)")),
    60020: ErrInfo(
        _.lazy("request from an untrusted IP address"),
        _.lazy("add this server's public IP to the app's trusted IPs (企业可信IP) in the "
               "WeCom admin console")),
    60111: ErrInfo(_.lazy("UserID does not exist")),
    81017: ErrInfo(
        _.lazy("groupchat/list without owner_filter while the visible range has more "
               "than 1000 people"),
        _.lazy("pass owner_filter with the owners' userids")),
    84061: ErrInfo(_.lazy("no external-contact relationship between this member and customer")),
    701008: ErrInfo(
        _.lazy("none of the given members has an interop license"),
        _.lazy("buy or activate interop (互通) licenses for these members")),
}


def explain(errcode: int | None) -> str:
    """A short explanation of ``errcode`` in the current language, with the fix when an
    operator can act.

    Unknown codes point to WeCom's lookup page.
    """
    if errcode is None:
        return _("no answer from WeCom")
    info = ERRCODES.get(errcode)
    if info is None:
        return _("WeCom error {errcode}; look it up at "
                 "https://open.work.weixin.qq.com/devtool/query?e={errcode}", errcode=errcode)
    if info.fix is not None:
        return _("{meaning}; fix: {fix}", meaning=str(info.meaning), fix=str(info.fix))
    return str(info.meaning)


class WeComError(SiyuError):
    """WeCom refused a call or could not be reached.

    ``str()`` of the error is made each time it is asked for, in the current language (the
    console user's who sees it, not the job's that raised it).

    :ivar errcode: WeCom's ``errcode`` (``None`` when no answer came, see
        :class:`WeComTransportError`).
    :ivar errmsg: WeCom's ``errmsg`` (or what went wrong on the way, in the current
        language).
    :ivar endpoint: the API path, e.g. ``externalcontact/get``.
    """

    def __init__(self, errcode: int | None, errmsg: str | LazyText, endpoint: str):
        self.errcode = errcode
        self._errmsg = errmsg
        self.endpoint = endpoint
        super().__init__(self._describe())

    @property
    def errmsg(self) -> str:
        """WeCom's ``errmsg`` as it came, or siyu's words for what went wrong on the way
        (in the current language)."""
        return str(self._errmsg)

    def _describe(self) -> str:
        return _("WeCom {endpoint} failed: {errcode} {errmsg} ({explained})",
                 endpoint=self.endpoint, errcode=self.errcode, errmsg=self.errmsg,
                 explained=explain(self.errcode))

    def __str__(self) -> str:
        return self._describe()

    @property
    def hint(self) -> str:
        """The explanation of :attr:`errcode` (see :func:`explain`)."""
        return explain(self.errcode)

    def _arguments(self, errmsg: str | LazyText) -> tuple:
        return (self.errcode, errmsg, self.endpoint)

    def __reduce__(self):
        # pickled as plain text (a lazy text holds its translator, which does not pickle)
        return (type(self), self._arguments(self.errmsg))

    def __copy__(self):
        # a copy (the token cache hands one to every waiting caller) stays lazy
        return type(self)(*self._arguments(self._errmsg))


class WeComTransportError(WeComError):
    """No usable answer: timeout, connection failure, HTTP error status or non-JSON body,
    after the retries were spent. :attr:`errcode` is ``None``."""

    def __init__(self, errmsg: str | LazyText, endpoint: str, errcode: int | None = None):
        super().__init__(errcode, errmsg, endpoint)

    def _describe(self) -> str:
        return _("WeCom {endpoint} failed: {errmsg} (no usable answer from WeCom; check this "
                 "server's network path to the API host)",
                 endpoint=self.endpoint, errmsg=self.errmsg)

    def _arguments(self, errmsg: str | LazyText) -> tuple:
        return (errmsg, self.endpoint, self.errcode)
