"""What a web page inside WeCom needs from the server API: JS-SDK tickets and OAuth identity.

Official docs: 获取企业的jsapi_ticket ``get_jsapi_ticket`` and 获取应用的jsapi_ticket
``ticket/get?type=agent_config`` (JS-SDK 使用权限签名算法, path/90506), and 获取访问用户身份
``auth/getuserinfo`` (path/91023) behind 构造网页授权链接 (path/91022). What those pages state
and the sandbox keeps:

- A ticket is valid 7200 s; asked for again while valid, the same ticket comes back (with the
  seconds it has left). The corp's ``jsapi_ticket`` signs ``wx.config``, the app's ticket
  signs ``wx.agentConfig``; the two are different tickets.
- The tickets are rate limited apart from the other APIs (reference §1.4): ``get_jsapi_ticket``
  400 calls per hour per corp, ``ticket/get`` 100 per hour per app; beyond that 45009, and the
  API stays blocked for 60 minutes ("按小时拦截则被屏蔽60分钟"). Every call counts, including
  those answered with the cached ticket.
- ``ticket/get`` knows ``type=agent_config`` only; another or a missing type is refused with
  40058 (不合法的参数).
- An OAuth code is used once and only within 5 minutes; otherwise 40029 (invalid code), a
  missing one 41008. A member's code answers ``userid`` (and ``user_ticket``, valid 1800 s,
  when the page asked for ``scope=snsapi_privateinfo``); a WeChat user who is not a member
  gets ``openid`` instead, plus ``external_userid`` when they are the corp's customer.
"""

from __future__ import annotations

import secrets

from siyu.plugins.wecom.sandbox.endpoints.base import Call, endpoint
from siyu.plugins.wecom.sandbox.errors import ApiError

#: ticket kinds: the corp's (wx.config) and the app's (wx.agentConfig)
CORP, AGENT = "jsapi", "agent_config"


@endpoint("get_jsapi_ticket")
def get_jsapi_ticket(call: Call) -> dict:
    """The corp's jsapi_ticket, for ``wx.config`` signatures (path/90506)."""
    world = call.world
    world.count_hourly("get_jsapi_ticket", world.limits.jsapi_ticket_per_hour,
                       "get_jsapi_ticket")
    ticket, expires_in = world.issue_ticket(CORP)
    return {"ticket": ticket, "expires_in": expires_in}


@endpoint("ticket/get")
def ticket_get(call: Call) -> dict:
    """The app's ticket, for ``wx.agentConfig`` signatures (``type=agent_config``)."""
    world = call.world
    kind = call.text("type", required=True, missing=40058)
    if kind != AGENT:
        raise ApiError(40058, f"type {kind!r}: only agent_config is supported")
    world.count_hourly(f"ticket/get:{world.corp.agent_id}", world.limits.agent_ticket_per_hour,
                       "ticket/get")
    ticket, expires_in = world.issue_ticket(AGENT)
    return {"ticket": ticket, "expires_in": expires_in}


@endpoint("auth/getuserinfo")
def getuserinfo(call: Call) -> dict:
    """Who opened the page: spend the OAuth code the page was given (path/91023)."""
    world = call.world
    code = call.text("code", required=True, missing=41008)
    found = world.take_oauth_code(code)
    if found.userid:
        answer = {"userid": found.userid}
        if found.scope == "snsapi_privateinfo":
            answer["user_ticket"] = secrets.token_urlsafe(96)
            answer["expires_in"] = world.limits.user_ticket_ttl
        return answer
    answer = {"openid": found.openid}
    if found.external_userid:
        answer["external_userid"] = found.external_userid
    return answer
