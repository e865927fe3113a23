"""gettoken and getcallbackip."""

from __future__ import annotations

from siyu.plugins.wecom.sandbox.endpoints.base import Call, endpoint


@endpoint("gettoken")
def gettoken(call: Call) -> dict:
    """The app's access token: the same one while it is valid (reference §1.1)."""
    token, expires_in = call.world.issue_token(call.query.get("corpid"),
                                               call.query.get("corpsecret"))
    return {"access_token": token, "expires_in": expires_in}


@endpoint("getcallbackip")
def getcallbackip(call: Call) -> dict:
    """Where callbacks come from: the sandbox posts from loopback."""
    return {"ip_list": ["127.0.0.1"]}
