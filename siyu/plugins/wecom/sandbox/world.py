"""The sandbox world: one corp with its staff, customers, tags, codes, groups and tasks.

Everything that changes lives here, behind one re-entrant lock (:attr:`World.lock`). The HTTP
endpoints and the simulated people both take the lock for the short time they read or change
state, and never hold it while talking to the network: a callback receiver that answers a
callback by calling the API again must not wait for itself.
"""

from __future__ import annotations

import calendar
import hashlib
import random
import secrets
import string
import threading
from datetime import datetime
from zoneinfo import ZoneInfo

from siyu.plugins.wecom.sandbox.clock import Clock
from siyu.plugins.wecom.sandbox.errors import ApiError, SandboxError
from siyu.plugins.wecom.sandbox.model import (
    AccessToken,
    ClientState,
    ContactWay,
    Corp,
    Customer,
    Delivery,
    Department,
    Follow,
    GroupChat,
    JoinWay,
    JsTicket,
    Limits,
    MassTask,
    Media,
    Member,
    OAuthCode,
    SidebarMessage,
    Staff,
    Tag,
    TagGroup,
    Transfer,
    WelcomeCode,
    WelcomeSent,
)

#: Calendar of the receive caps ("每月"/"每周"/"每天" are Beijing-time periods).
TIMEZONE = ZoneInfo("Asia/Shanghai")
ALNUM = string.ascii_letters + string.digits
RECEIVE_CAPS = ("month", "week", "day")


class World:
    """The state of one sandboxed corp.

    :param corp: the corp, its app secret and callback settings.
    :param clock: the sandbox clock (real time when omitted).
    :param seed: seeds the generator behind every id and random pick, so one seed gives one
        world.
    :param limits: quotas and windows; the documented values when omitted.
    """

    def __init__(self, corp: Corp, clock: Clock | None = None, seed: int = 0,
                 limits: Limits | None = None):
        self.corp = corp
        self.clock = clock or Clock()
        self.limits = limits or Limits()
        self.seed = seed
        self.rng = random.Random(seed)
        self.lock = threading.RLock()
        self.public_url = ""
        self.departments: dict[int, Department] = {1: Department(1, corp.name, parentid=0)}
        #: The app's visible range (可见范围): these departments and everything below them.
        self.visible_departments: set[int] = {1}
        self.staff: dict[str, Staff] = {}
        self.customers: dict[str, Customer] = {}
        self.tag_groups: dict[str, TagGroup] = {}
        self.tags: dict[str, Tag] = {}
        self.contact_ways: dict[str, ContactWay] = {}
        self.group_chats: dict[str, GroupChat] = {}
        self.join_ways: dict[str, JoinWay] = {}
        self.tasks: dict[str, MassTask] = {}
        self.transfers: list[Transfer] = []
        self.welcome_codes: dict[str, WelcomeCode] = {}
        self.tokens: dict[str, AccessToken] = {}
        self.deliveries: list[Delivery] = []
        self.welcomes: list[WelcomeSent] = []
        self.receipts: dict[str, list[float]] = {}
        #: JS-SDK tickets by value (kind ``jsapi`` or ``agent_config``), old ones included.
        self.js_tickets: dict[str, JsTicket] = {}
        self.oauth_codes: dict[str, OAuthCode] = {}
        self.media: dict[str, Media] = {}
        #: The simulated WeCom client (signed-in member, open chat).
        self.client = ClientState()
        #: Messages sidebar pages sent into chats (``sendChatMessage``), oldest first.
        self.sidebar_messages: list[SidebarMessage] = []
        self._current_tickets: dict[str, str] = {}
        self._hourly: dict[str, tuple[int, int]] = {}
        self._current_token: str | None = None
        self._rate: dict[tuple[str, str], tuple[int, int]] = {}
        self._blocked: dict[str, float] = {}

    # -- time and ids --------------------------------------------------------------------

    def now(self) -> float:
        """The sandbox clock's time."""
        return self.clock.now()

    def new_id(self, prefix: str, length: int = 30) -> str:
        """``prefix`` followed by ``length`` letters/digits from the seeded generator."""
        return prefix + "".join(self.rng.choice(ALNUM) for _ in range(length))

    def new_hex(self, length: int = 32) -> str:
        """``length`` lowercase hex digits from the seeded generator (config ids)."""
        return "".join(self.rng.choice("0123456789abcdef") for _ in range(length))

    def qr_url(self, config_id: str) -> str:
        """Where the QR code image of a contact way or join way is served."""
        return f"{self.public_url}/sandbox/qr/{config_id}"

    # -- access tokens -------------------------------------------------------------------

    def issue_token(self, corpid: str | None, corpsecret: str | None) -> tuple[str, int]:
        """gettoken: the current token while it is valid, a new one otherwise.

        :returns: ``(access_token, expires_in)``; expires_in counts the seconds left.
        :raises ApiError: 40013 bad/missing corpid, 41004 missing secret, 40001 wrong secret.
        """
        if not corpid or corpid != self.corp.corp_id:
            raise ApiError(40013, f"corpid {corpid!r}" if corpid else "corpid missing")
        if not corpsecret:
            raise ApiError(41004)
        if corpsecret != self.corp.secret:
            raise ApiError(40001, "corpsecret does not match the app")
        now = self.now()
        current = self.tokens.get(self._current_token or "")
        if current and not current.revoked and now < current.expires_at:
            return current.value, int(current.expires_at - now)
        value = secrets.token_urlsafe(96)
        ttl = self.limits.token_ttl
        self.tokens[value] = AccessToken(value, now, now + ttl)
        self._current_token = value
        return value, ttl

    def check_token(self, value: str | None, revoke_after: float | None = None) -> None:
        """Accept a valid token.

        :param revoke_after: early revocation: tokens older than this many seconds are revoked.
        :raises ApiError: 41001 missing, 40014 unknown or revoked, 42001 expired.
        """
        if not value:
            raise ApiError(41001)
        token = self.tokens.get(value)
        if token is None:
            raise ApiError(40014)
        now = self.now()
        if revoke_after is not None and now - token.issued >= revoke_after:
            token.revoked = True
        if token.revoked:
            raise ApiError(40014, "access_token was revoked")
        if now >= token.expires_at:
            raise ApiError(42001)

    def revoke_tokens(self) -> int:
        """Invalidate every token before its time, as WeCom may; return how many were live."""
        live = 0
        for token in self.tokens.values():
            live += not token.revoked and self.now() < token.expires_at
            token.revoked = True
        self._current_token = None
        return live

    # -- rate limits ---------------------------------------------------------------------

    def count_call(self, api: str) -> None:
        """Count one call of ``api``; raise 45009 beyond the per-minute or per-hour limit.

        A minute overrun blocks the API for 60 s, an hour overrun for 60 min (reference §1.4).
        """
        now = self.now()
        if now < self._blocked.get(api, 0.0):
            raise ApiError(45009, f"{api} is blocked")
        for window, seconds, limit in (("minute", 60, self.limits.api_per_minute),
                                       ("hour", 3600, self.limits.api_per_hour)):
            bucket = int(now // seconds)
            seen_bucket, count = self._rate.get((api, window), (bucket, 0))
            count = count + 1 if seen_bucket == bucket else 1
            self._rate[(api, window)] = (bucket, count)
            if count > limit:
                self._blocked[api] = now + seconds
                raise ApiError(45009, f"more than {limit} calls of {api} per {window}")

    def count_hourly(self, key: str, limit: int, what: str) -> None:
        """Count one call against an hourly quota ``key``; beyond ``limit`` calls in the hour
        raise 45009 and block ``key`` for 60 minutes (reference §1.4)."""
        now = self.now()
        blocked = f"hourly:{key}"
        if now < self._blocked.get(blocked, 0.0):
            raise ApiError(45009, f"{what} is blocked for the hour")
        bucket = int(now // 3600)
        seen_bucket, count = self._hourly.get(key, (bucket, 0))
        count = count + 1 if seen_bucket == bucket else 1
        self._hourly[key] = (bucket, count)
        if count > limit:
            self._blocked[blocked] = now + 3600
            raise ApiError(45009, f"more than {limit} calls of {what} per hour")

    # -- JS-SDK tickets, OAuth codes, temporary media --------------------------------------

    def issue_ticket(self, kind: str) -> tuple[str, int]:
        """The current ticket of ``kind`` (``jsapi`` or ``agent_config``) while it is valid, a
        new one otherwise.

        :returns: ``(ticket, expires_in)``; expires_in counts the seconds left.
        """
        now = self.now()
        current = self.js_tickets.get(self._current_tickets.get(kind, ""))
        if current is not None and now < current.expires_at:
            return current.value, int(current.expires_at - now)
        value = secrets.token_urlsafe(64)
        ttl = self.limits.ticket_ttl
        self.js_tickets[value] = JsTicket(kind, value, now, now + ttl)
        self._current_tickets[kind] = value
        return value, ttl

    def valid_tickets(self, kind: str) -> list[str]:
        """Tickets of ``kind`` that have not expired (a signature must use one of them)."""
        now = self.now()
        return [t.value for t in self.js_tickets.values()
                if t.kind == kind and now < t.expires_at]

    def issue_oauth_code(self, *, scope: str = "snsapi_base", userid: str = "",
                         openid: str = "", external_userid: str = "") -> str:
        """A fresh OAuth code for a member (``userid``) or a WeChat user (``openid``)."""
        code = secrets.token_urlsafe(32)
        self.oauth_codes[code] = OAuthCode(code, self.now(), scope, userid, openid,
                                           external_userid)
        return code

    def take_oauth_code(self, code: str) -> OAuthCode:
        """Spend ``code``; 40029 when unknown, used or older than 5 minutes."""
        found = self.oauth_codes.get(code)
        if found is None:
            raise ApiError(40029, "unknown code")
        if found.used:
            raise ApiError(40029, "code has been used")
        if self.now() >= found.issued + self.limits.oauth_code_ttl:
            raise ApiError(40029, "code expired")
        found.used = True
        return found

    def add_media(self, kind: str, filename: str, content_type: str, content: bytes) -> Media:
        """Keep an uploaded temporary media file for ``media_ttl`` seconds (3 days)."""
        now = self.now()
        media = Media(secrets.token_urlsafe(48), kind, filename, content_type, content,
                      now, now + self.limits.media_ttl)
        self.media[media.media_id] = media
        return media

    def live_media(self, media_id: object) -> Media | None:
        """The uploaded media ``media_id`` when it exists and has not expired."""
        media = self.media.get(media_id) if isinstance(media_id, str) else None
        if media is None or self.now() >= media.expires_at:
            return None
        return media

    # -- people --------------------------------------------------------------------------

    def staff_or_error(self, userid: object) -> Staff:
        """The member ``userid``; 60111 when there is none (resigned members are kept)."""
        staff = self.staff.get(userid) if isinstance(userid, str) else None
        if staff is None:
            raise ApiError(60111, f"userid {userid!r}")
        return staff

    def serving_staff(self, userid: object) -> Staff:
        """A member who may serve customers: exists, activated, 客户联系 enabled, not resigned.

        :raises ApiError: 60111 unknown, 41054 not activated, 60011 no permission or resigned.
        """
        staff = self.staff_or_error(userid)
        if not staff.activated:
            raise ApiError(41054, f"userid {staff.userid!r}")
        if staff.resigned or not staff.contact_permission:
            raise ApiError(60011, f"userid {staff.userid!r} may not use customer contact")
        return staff

    def department(self, name: str, parent: int | None = None) -> int:
        """The id of the department called ``name`` (below ``parent`` when given), created
        below ``parent`` (the root when ``None``) when there is none."""
        with self.lock:
            for dept in self.departments.values():
                if dept.name == name and (parent is None or dept.parentid == parent):
                    return dept.id
            return self.add_department(name, parent or 1).id

    def add_department(self, name: str, parentid: int = 1, *, order: int = 0,
                       name_en: str = "", leaders: list[str] | None = None,
                       dept_id: int | None = None) -> Department:
        """A new department below ``parentid`` (the next free id unless ``dept_id``).

        :raises SandboxError: an empty name, an unknown parent or a taken id.
        """
        name = (name or "").strip()
        if not name:
            raise SandboxError("a department needs a name")
        with self.lock:
            if parentid not in self.departments:
                raise SandboxError(f"no department {parentid} to put {name!r} under")
            if dept_id is None:
                dept_id = max(self.departments) + 1
            elif dept_id in self.departments:
                raise SandboxError(f"department id {dept_id} is taken")
            dept = Department(dept_id, name, parentid, order, name_en, list(leaders or []))
            self.departments[dept_id] = dept
            return dept

    def subtree(self, dept_id: int) -> list[int]:
        """``dept_id`` and every department below it, parents before children, siblings by
        WeCom's order (larger first, then id)."""
        children: dict[int, list[Department]] = {}
        for dept in self.departments.values():
            if dept.id != dept.parentid:
                children.setdefault(dept.parentid, []).append(dept)
        out, todo = [], [dept_id]
        while todo:
            current = todo.pop(0)
            out.append(current)
            kids = sorted(children.get(current, []), key=lambda d: (-d.order, d.id))
            todo[0:0] = [d.id for d in kids]
        return out

    def is_visible(self, dept_id: int) -> bool:
        """Whether ``dept_id`` lies in the app's visible range (itself or an ancestor is)."""
        seen: set[int] = set()
        current: int | None = dept_id
        while current is not None and current in self.departments and current not in seen:
            if current in self.visible_departments:
                return True
            seen.add(current)
            current = self.departments[current].parentid or None
        return False

    def move_staff(self, userid: str, dept_id: int) -> Staff:
        """Make ``dept_id`` the member's only (so main) department, as an admin moving them
        in the address book would.

        :raises SandboxError: an unknown member or department.
        """
        with self.lock:
            staff = self.staff.get(userid)
            if staff is None or dept_id not in self.departments:
                raise SandboxError(f"cannot move {userid!r} to department {dept_id}")
            staff.department = [dept_id]
            return staff

    def add_staff(self, userid: str, name: str, department: str | int | None = None) -> Staff:
        """Add member ``userid`` called ``name``: activated, with 客户联系 permission, in
        ``department`` (an id, or a name: created below the root when new; the root when
        ``None``). A member already there is renamed and moved instead.

        :raises SandboxError: an empty userid or name, or an unknown department id.
        """
        userid, name = (userid or "").strip(), (name or "").strip()
        if not userid or not name:
            raise SandboxError("a member needs a userid and a name")
        with self.lock:
            if isinstance(department, int):
                if department not in self.departments:
                    raise SandboxError(f"no department {department}")
                dept = department
            else:
                dept = self.department(department) if department else 1
            staff = self.staff.get(userid)
            if staff is None:
                staff = self.staff[userid] = Staff(userid, name, [dept])
            else:
                staff.name, staff.department = name, [dept]
            return staff

    def expand_party(self, party: list[int]) -> list[str]:
        """Members of the given departments, in userid order."""
        wanted = set(party)
        return sorted(s.userid for s in self.staff.values()
                      if wanted & set(s.department) and not s.resigned)

    def customer_or_error(self, external_userid: object) -> Customer:
        """The customer ``external_userid``: 41035 when missing, 40096 when unknown."""
        if not external_userid:
            raise ApiError(41035)
        customer = (self.customers.get(external_userid)
                    if isinstance(external_userid, str) else None)
        if customer is None:
            raise ApiError(40096, f"external_userid {external_userid!r}")
        return customer

    def follow_or_error(self, userid: object, external_userid: object) -> Follow:
        """The relation between a member and a customer; 84061 when there is none."""
        self.staff_or_error(userid)
        customer = self.customer_or_error(external_userid)
        follow = customer.follows.get(userid)  # type: ignore[arg-type]
        if follow is None:
            raise ApiError(84061, f"{external_userid} is not a customer of {userid}")
        return follow

    def customers_of(self, userid: str) -> list[str]:
        """External userids of the customers ``userid`` follows."""
        return [c.external_userid for c in self.customers.values() if userid in c.follows]

    def new_customer(self, name: str | None = None, gender: int | None = None) -> Customer:
        """A WeChat user who is not yet anybody's customer."""
        customer = Customer(
            external_userid=self.new_id("wm"),
            name=name or self.rng.choice(SURNAMES) + self.rng.choice(GIVEN_NAMES),
            unionid=self.new_id("o", 27),
            openid=self.new_id("oo", 26),
            gender=self.rng.choice((1, 2)) if gender is None else gender,
        )
        customer.avatar = f"https://wework.qpic.cn/wwhead/{customer.unionid}/0"
        self.customers[customer.external_userid] = customer
        return customer

    def add_follow(self, customer: Customer, userid: str, *, state: str = "", add_way: int = 1,
                   oper_userid: str | None = None) -> Follow:
        """Make ``userid`` follow ``customer`` from now on (replacing an old relation)."""
        follow = Follow(userid=userid, createtime=int(self.now()), state=state,
                        add_way=add_way, oper_userid=oper_userid or userid)
        customer.follows[userid] = follow
        return follow

    # -- tags ----------------------------------------------------------------------------

    def live_tags(self) -> int:
        """How many corp tags exist (deleted ones not counted)."""
        return sum(1 for t in self.tags.values() if not t.deleted)

    def create_tag_group(self, name: str, order: int = 0) -> TagGroup:
        """A new, empty tag group."""
        group = TagGroup(self.new_id("et"), name, int(self.now()), order)
        self.tag_groups[group.id] = group
        return group

    def create_tag(self, group: TagGroup, name: str, order: int = 0) -> Tag:
        """A new tag in ``group``."""
        tag = Tag(self.new_id("et"), name, group.id, int(self.now()), order)
        self.tags[tag.id] = tag
        group.tag_ids.append(tag.id)
        return tag

    def delete_tag(self, tag: Tag) -> None:
        """Delete a tag everywhere; its group goes when its last tag goes."""
        tag.deleted = True
        for customer in self.customers.values():
            for follow in customer.follows.values():
                if tag.id in follow.tag_ids:
                    follow.tag_ids.remove(tag.id)
        group = self.tag_groups[tag.group_id]
        if all(self.tags[t].deleted for t in group.tag_ids):
            group.deleted = True

    # -- groups --------------------------------------------------------------------------

    def bump_version(self, chat: GroupChat) -> tuple[str, str]:
        """Give ``chat`` a new member_version; return ``(last, current)``."""
        last = chat.member_version
        seed = f"{chat.chat_id}:{sorted(chat.members)}:{self.rng.random()}"
        chat.member_version = hashlib.md5(seed.encode()).hexdigest()
        return last, chat.member_version

    def create_chat(self, name: str, owner: str) -> GroupChat:
        """A new customer group with its owner as the only member."""
        chat = GroupChat(self.new_id("wr"), name, owner, int(self.now()))
        chat.members[owner] = Member(owner, 1, chat.create_time, 1,
                                     name=self.staff[owner].name if owner in self.staff else "")
        self.bump_version(chat)
        self.group_chats[chat.chat_id] = chat
        return chat

    def add_member(self, chat: GroupChat, customer: Customer, *, join_scene: int = 3,
                   state: str = "", invitor: str = "") -> Member:
        """Put ``customer`` into ``chat`` (the caller bumps the member version)."""
        member = Member(customer.external_userid, 2, int(self.now()), join_scene,
                        invitor=invitor, state=state, name=customer.name,
                        unionid=customer.unionid)
        chat.members[customer.external_userid] = member
        return member

    # -- welcome codes -------------------------------------------------------------------

    def issue_welcome_code(self, userid: str, external_userid: str) -> str:
        """A fresh welcome code for a new friendship (valid ``welcome_ttl`` seconds, once)."""
        code = self.new_id("", 43)
        self.welcome_codes[code] = WelcomeCode(code, userid, external_userid, self.now())
        return code

    # -- mass-send receive caps ----------------------------------------------------------

    def receive_cap(self, when: float) -> tuple[int, tuple[int, ...]]:
        """``(cap, period key)`` of the receive-cap period containing ``when``."""
        mode = self.limits.receive_cap
        local = datetime.fromtimestamp(when, TIMEZONE)
        if mode == "day":
            return 1, (local.year, local.month, local.day)
        if mode == "week":
            year, week, _ = local.isocalendar()
            return 7, (year, week)
        if mode == "month":
            return calendar.monthrange(local.year, local.month)[1], (local.year, local.month)
        raise ValueError(f"receive_cap must be one of {RECEIVE_CAPS}, not {mode!r}")

    def may_receive(self, target: str, when: float) -> bool:
        """Whether a customer or group still has room for one more mass message."""
        cap, key = self.receive_cap(when)
        received = [t for t in self.receipts.get(target, ()) if self.receive_cap(t)[1] == key]
        return len(received) < cap

    def record_delivery(self, task: MassTask, sender: str, target: str) -> Delivery:
        """Count a delivered mass message against the recipient's cap and record it."""
        now = self.now()
        self.receipts.setdefault(target, []).append(now)
        kind = "chat_id" if task.chat_type == "group" else "external_userid"
        delivery = Delivery(task.msgid, sender, int(now), **{kind: target})
        self.deliveries.append(delivery)
        return delivery

    # -- overview ------------------------------------------------------------------------

    def summary(self) -> dict:
        """A JSON-ready overview for demos (no secrets)."""
        with self.lock:
            return {
                "corp_id": self.corp.corp_id,
                "agent_id": self.corp.agent_id,
                "callback_url": self.corp.callback_url,
                "now": self.now(),
                "staff": [{"userid": s.userid, "name": s.name, "activated": s.activated,
                           "contact_permission": s.contact_permission, "resigned": s.resigned,
                           "customers": len(self.customers_of(s.userid))}
                          for s in self.staff.values()],
                "customers": len(self.customers),
                "tags": self.live_tags(),
                "contact_ways": [{"config_id": w.config_id, "state": w.state, "user": w.user,
                                  "qr_code": self.qr_url(w.config_id)}
                                 for w in self.contact_ways.values()],
                "join_ways": [{"config_id": w.config_id, "state": w.state,
                               "chat_id_list": w.chat_id_list}
                              for w in self.join_ways.values()],
                "group_chats": [{"chat_id": c.chat_id, "name": c.name, "owner": c.owner,
                                 "members": len(c.members)} for c in self.group_chats.values()],
                "mass_tasks": len(self.tasks),
                "mass_reminders": sum(len(t.reminders) for t in self.tasks.values()),
                "deliveries": len(self.deliveries),
                "transfers_waiting": sum(t.status == 2 for t in self.transfers),
            }

    def task_summaries(self) -> list[dict]:
        """Every mass message (oldest first), JSON-ready: chat type, text, each sender's
        confirmation (0 未发送, 2 已发送), recipients by result status, reminders sent."""
        with self.lock:
            out = []
            for task in self.tasks.values():
                statuses: dict[int, int] = {}
                for result in task.results:
                    statuses[result.status] = statuses.get(result.status, 0) + 1
                out.append({"msgid": task.msgid, "chat_type": task.chat_type,
                            "create_time": task.create_time,
                            "text": (task.text or {}).get("content", ""),
                            "senders": {u: s.status for u, s in task.senders.items()},
                            "results": {str(k): v for k, v in sorted(statuses.items())},
                            "reminders": list(task.reminders), "canceled": task.canceled})
            return out


SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
GIVEN_NAMES = ("伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "洋", "艳", "勇", "军", "杰", "娟",
               "涛", "明", "超", "秀英", "霞", "平", "刚", "桂英", "晓明", "思远", "雨桐")
