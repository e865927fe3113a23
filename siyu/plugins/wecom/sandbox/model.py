"""The records the sandbox world is made of, and the limits it enforces.

Plain dataclasses; the :class:`~siyu.plugins.wecom.sandbox.world.World` owns them and guards
them with one lock. Times are seconds since the epoch on the sandbox clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Limits:
    """Documented quotas and windows; tests shrink them to reach the edges quickly.

    :ivar api_per_minute: calls of one API per corp per minute (reference §1.4: 10,000).
    :ivar api_per_hour: calls of one API per corp per hour (150,000).
    :ivar receive_cap: mass messages a customer/group receives per period: ``"month"`` (as many
        as the month has days), ``"week"`` (7) or ``"day"`` (1).
    :ivar group_capacity: members of a customer group before a join way moves on to the next.
    """

    api_per_minute: int = 10_000
    api_per_hour: int = 150_000
    token_ttl: int = 7200
    welcome_ttl: int = 20
    receive_cap: str = "month"
    group_capacity: int = 200
    contact_way_quota: int = 500_000
    corp_tag_limit: int = 10_000
    tags_per_customer: int = 3000
    mass_send_customers: int = 10_000
    mass_send_chats: int = 2000
    contact_way_users: int = 100
    join_way_chats: int = 5
    transfer_delay: int = 24 * 3600
    transfer_limit: int = 2
    transfer_window: int = 90 * 24 * 3600
    staff_customer_limit: int = 50_000
    follow_page_size: int = 500
    remind_limit: int = 3
    ticket_ttl: int = 7200
    jsapi_ticket_per_hour: int = 400
    agent_ticket_per_hour: int = 100
    oauth_code_ttl: int = 300
    user_ticket_ttl: int = 1800
    media_ttl: int = 3 * 86400


@dataclass
class Corp:
    """The corp and its self-built app, with the app's callback settings."""

    corp_id: str
    agent_id: int
    secret: str
    token: str
    encoding_aes_key: str
    callback_url: str | None = None
    name: str = "示例科技"


@dataclass
class Department:
    """A department of the corp's address book (通讯录); the root is id 1 with parentid 0.

    :ivar order: position among its siblings; a larger order comes first (WeCom's rule).
    :ivar leaders: userids of the department's leaders (department_leader).
    """

    id: int
    name: str
    parentid: int = 1
    order: int = 0
    name_en: str = ""
    leaders: list[str] = field(default_factory=list)


@dataclass
class Staff:
    """A member of the corp (企业成员).

    ``department`` lists the member's departments, the main one (main_department) first.
    """

    userid: str
    name: str
    department: list[int] = field(default_factory=lambda: [1])
    position: str = ""
    activated: bool = True
    contact_permission: bool = True
    resigned: bool = False
    resigned_at: float = 0.0
    licensed: bool = True
    console_welcome: bool = False


@dataclass
class Follow:
    """One member's relation to one customer (``follow_user`` entry)."""

    userid: str
    createtime: int
    remark: str = ""
    description: str = ""
    tag_ids: list[str] = field(default_factory=list)
    state: str = ""
    add_way: int = 1
    oper_userid: str = ""
    remark_corp_name: str = ""
    remark_mobiles: list[str] = field(default_factory=list)
    friend: bool = True  # False once the customer deleted the member (单向好友)
    last_chat: float = 0.0
    chat_started: bool = False


@dataclass
class Customer:
    """A WeChat customer (external contact, ``wm…``)."""

    external_userid: str
    name: str
    unionid: str
    openid: str
    gender: int = 0
    type: int = 1
    avatar: str = ""
    follows: dict[str, Follow] = field(default_factory=dict)
    transfer_times: list[float] = field(default_factory=list)  # on-job transfers started


@dataclass
class TagGroup:
    id: str
    name: str
    create_time: int
    order: int = 0
    deleted: bool = False
    tag_ids: list[str] = field(default_factory=list)


@dataclass
class Tag:
    id: str
    name: str
    group_id: str
    create_time: int
    order: int = 0
    deleted: bool = False


@dataclass
class ContactWay:
    """A 「联系我」 live code."""

    config_id: str
    type: int
    scene: int
    create_time: float
    style: int | None = None
    remark: str = ""
    skip_verify: bool = True
    state: str = ""
    user: list[str] = field(default_factory=list)
    party: list[int] = field(default_factory=list)
    is_temp: bool = False
    expires_in: int = 0
    chat_expires_in: int = 0
    unionid: str = ""
    is_exclusive: bool = False
    mark_source: bool = True
    conclusions: dict[str, Any] = field(default_factory=dict)
    used: bool = False  # a temporary code dies after its first friend request


@dataclass
class Member:
    """A member of a customer group: staff (type 1) or customer (type 2)."""

    userid: str
    type: int
    join_time: int
    join_scene: int = 1
    invitor: str = ""
    state: str = ""
    group_nickname: str = ""
    name: str = ""
    unionid: str = ""


@dataclass
class GroupChat:
    """A customer group (客户群, ``wr…``)."""

    chat_id: str
    name: str
    owner: str
    create_time: int
    notice: str = ""
    members: dict[str, Member] = field(default_factory=dict)
    admin_list: list[str] = field(default_factory=list)
    member_version: str = ""
    status: int = 0


@dataclass
class JoinWay:
    """A 「加入群聊」 way: a QR/plugin that fills a list of groups in order."""

    config_id: str
    scene: int
    chat_id_list: list[str]
    create_time: float
    remark: str = ""
    auto_create_room: int = 1
    room_base_name: str = ""
    room_base_id: int = 0
    state: str = ""
    mark_source: bool = True


@dataclass
class SenderTask:
    userid: str
    status: int = 0  # 0 未发送, 2 已发送
    send_time: int = 0


@dataclass
class SendResult:
    """One recipient of a mass message: status 0 未发送, 1 已发送, 2 非好友, 3 已收到其他群发."""

    userid: str
    external_userid: str = ""
    chat_id: str = ""
    status: int = 0
    send_time: int = 0


@dataclass
class MassTask:
    """A mass message (企业群发) created with add_msg_template, waiting for members to confirm."""

    msgid: str
    chat_type: str
    create_time: int
    text: dict[str, Any] | None
    attachments: list[dict[str, Any]]
    allow_select: bool = False
    create_type: int = 0
    creator: str = ""
    senders: dict[str, SenderTask] = field(default_factory=dict)
    results: list[SendResult] = field(default_factory=list)
    canceled: bool = False
    reminders: list[float] = field(default_factory=list)


@dataclass
class Transfer:
    """A customer handed from one member to another (在职 or 离职继承).

    status 1 接替完毕, 2 等待接替, 3 客户拒绝, 4 接替成员客户达到上限.
    """

    external_userid: str
    handover: str
    takeover: str
    kind: str  # "onjob" or "resigned"
    start_time: float
    takeover_time: int
    status: int = 2
    message: str = ""


@dataclass
class WelcomeCode:
    code: str
    userid: str
    external_userid: str
    issued: float
    used: bool = False


@dataclass
class AccessToken:
    value: str
    issued: float
    expires_at: float
    revoked: bool = False


@dataclass(frozen=True)
class Delivery:
    """A mass message that reached a customer or group."""

    msgid: str
    sender: str
    time: int
    external_userid: str = ""
    chat_id: str = ""


@dataclass(frozen=True)
class WelcomeSent:
    """A welcome message sent with send_welcome_msg."""

    userid: str
    external_userid: str
    time: int
    text: str = ""
    attachments: int = 0


@dataclass
class JsTicket:
    """A JS-SDK ticket: the corp's ``jsapi_ticket`` (kind ``"jsapi"``) or the app's
    ``agent_config`` ticket (kind ``"agent_config"``)."""

    kind: str
    value: str
    issued: float
    expires_at: float


@dataclass
class OAuthCode:
    """A code WeCom's OAuth page hands to ``redirect_uri``: once, within 5 minutes.

    A member's code carries ``userid``; a WeChat user's (not a member) ``openid`` and, when
    they are the corp's customer, ``external_userid``.
    """

    code: str
    issued: float
    scope: str = "snsapi_base"
    userid: str = ""
    openid: str = ""
    external_userid: str = ""
    used: bool = False


@dataclass
class Media:
    """A temporary media file (临时素材) uploaded with media/upload: valid 3 days."""

    media_id: str
    type: str
    filename: str
    content_type: str
    content: bytes
    created_at: float
    expires_at: float


@dataclass
class ClientState:
    """The simulated WeCom client: who is signed in and which chat (and sidebar) is open.

    :ivar entry: what ``getContext`` answers: ``single_chat_tools`` when a member opened the
        sidebar of a chat with a customer, ``normal`` otherwise.
    """

    userid: str = ""
    external_userid: str = ""
    entry: str = "normal"
    url: str = ""
    opened_at: float = 0.0


@dataclass(frozen=True)
class SidebarMessage:
    """A message a sidebar page sent into the open chat with ``wx.invoke('sendChatMessage')``."""

    userid: str
    external_userid: str
    msgtype: str
    time: int
    content: str = ""
    media_id: str = ""
    enter_chat: bool = False
