"""What every simulated actor shares: the outcome record and the callback helpers."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from siyu.plugins.wecom.sandbox.callbacks import CallbackRecord, Callbacks, Fields
from siyu.plugins.wecom.sandbox.errors import SandboxError
from siyu.plugins.wecom.sandbox.model import Customer, GroupChat
from siyu.plugins.wecom.sandbox.world import World


@dataclass
class Outcome:
    """What a simulated action did.

    :ivar changed: False when nothing happened (already friends, already in the group…).
    :ivar callbacks: the callbacks posted, in order.
    """

    action: str
    changed: bool = True
    userid: str = ""
    external_userid: str = ""
    chat_id: str = ""
    state: str = ""
    welcome_code: str = ""
    new_customer: bool = False
    created_chat: str = ""
    statuses: dict[str, int] = field(default_factory=dict)
    callbacks: list[CallbackRecord] = field(default_factory=list)

    @property
    def callback(self) -> CallbackRecord | None:
        """The first callback posted, if any."""
        return self.callbacks[0] if self.callbacks else None

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["callbacks"] = [{k: v for k, v in c.items() if k != "plaintext"}
                             for c in data["callbacks"]]
        return data


class Actor:
    """Acts on a world and reports what it did through callbacks.

    :param world: the world to act in.
    :param callbacks: where actions are reported.
    """

    def __init__(self, world: World, callbacks: Callbacks):
        self.world = world
        self.callbacks = callbacks

    # -- helpers -------------------------------------------------------------------------

    def _post(self, outcome: Outcome, events: list[Fields]) -> Outcome:
        outcome.callbacks.extend(self.callbacks.send(fields) for fields in events)
        return outcome

    def _contact_event(self, change_type: str, userid: str, external_userid: str,
                       *extra: tuple[str, Any]) -> Fields:
        return [*self.callbacks.base_fields("change_external_contact", self.world.now()),
                ("ChangeType", change_type), ("UserID", userid),
                ("ExternalUserID", external_userid), *extra]

    def _chat_event(self, chat: GroupChat, change_type: str, *extra: tuple[str, Any]) -> Fields:
        return [*self.callbacks.base_fields("change_external_chat", self.world.now()),
                ("ChatId", chat.chat_id), ("ChangeType", change_type), *extra]

    def _customer(self, customer: str | None, name: str | None = None) -> tuple[Customer, bool]:
        """An existing customer by external_userid, or a new WeChat user when ``None``."""
        if customer is None:
            return self.world.new_customer(name), True
        found = self.world.customers.get(customer)
        if found is None:
            raise SandboxError(f"no customer {customer!r}; pass None to bring a new one")
        return found, False

    def _can_serve(self, userid: str) -> bool:
        staff = self.world.staff.get(userid)
        return bool(staff and staff.activated and staff.contact_permission and not staff.resigned)

