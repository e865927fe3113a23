"""Simulated people: customers and members acting in the client, producing callbacks.

Unlike API calls, which WeCom never reports back ("通过API进行的操作不会产生回调"), what people
do in the WeCom/WeChat clients is pushed to the app's callback URL. Each action changes the
world under its lock, then (lock released) posts the encrypted callbacks and returns an
:class:`Outcome`. Actions that cannot happen raise :class:`SandboxError`.

Admin-console actions (tag changes, transfer settlement, resignations) live in
:mod:`~siyu.plugins.wecom.sandbox.admins`; :class:`People` offers both.
"""

from __future__ import annotations

from typing import Any

from siyu.plugins.wecom.sandbox.actors import Outcome
from siyu.plugins.wecom.sandbox.admins import AdminActions
from siyu.plugins.wecom.sandbox.callbacks import Fields
from siyu.plugins.wecom.sandbox.errors import SandboxError
from siyu.plugins.wecom.sandbox.model import GroupChat, JoinWay


class People(AdminActions):
    """Customers and members of one sandbox world (and its admin, see
    :class:`~siyu.plugins.wecom.sandbox.admins.AdminActions`).

    :param world: the world they act in.
    :param callbacks: where their actions are reported.
    """

    # -- customers and members -----------------------------------------------------------

    def scan_contact_way(self, config_id: str, customer: str | None = None, *,
                         name: str | None = None) -> Outcome:
        """A WeChat user scans a 「联系我」 code and becomes the customer of one of its members.

        WeCom picks one of the code's current members at random (seeded). The follow relation
        carries the code's ``state``; ``add_external_contact`` is posted with ``State`` and a
        fresh ``WelcomeCode`` (valid 20 s, single use).

        :param customer: an existing external_userid, or ``None`` for a new WeChat user.
        :param name: the new user's nickname (random when omitted).
        :raises SandboxError: unknown code, expired temporary code, no member able to serve.
        """
        world = self.world
        with world.lock:
            way = world.contact_ways.get(config_id)
            if way is None:
                raise SandboxError(f"no 「联系我」 code {config_id!r}")
            if way.is_temp and (way.used or world.now() > way.create_time + way.expires_in):
                raise SandboxError(f"temporary code {config_id!r} has expired")
            members = [u for u in dict.fromkeys([*way.user, *world.expand_party(way.party)])
                       if self._can_serve(u)]
            if not members:
                raise SandboxError(f"code {config_id!r} has no member who can add customers")
            person, new = self._customer(customer, name)
            userid = world.rng.choice(members)
            if way.is_exclusive:
                userid = next((u for u in members if u in person.follows), userid)
            follow = person.follows.get(userid)
            outcome = Outcome("scan_contact_way", userid=userid,
                              external_userid=person.external_userid, state=way.state,
                              new_customer=new)
            if follow is not None and follow.friend:
                outcome.changed = False
                return outcome
            follow = world.add_follow(person, userid, state=way.state, add_way=1)
            follow.last_chat = world.now()
            way.used = way.is_temp
            extra: list[tuple[str, Any]] = [("State", way.state)] if way.state else []
            if not world.staff[userid].console_welcome:
                outcome.welcome_code = world.issue_welcome_code(userid, person.external_userid)
                extra.append(("WelcomeCode", outcome.welcome_code))
            event = self._contact_event("add_external_contact", userid,
                                        person.external_userid, *extra)
        return self._post(outcome, [event])

    def _open_chat(self, way: JoinWay) -> tuple[GroupChat, list[Fields]]:
        """The first group of ``way`` with room, creating one when all are full."""
        world = self.world
        for chat_id in way.chat_id_list:
            chat = world.group_chats.get(chat_id)
            if chat is not None and len(chat.members) < world.limits.group_capacity:
                return chat, []
        if not way.auto_create_room:
            raise SandboxError(f"every group of join way {way.config_id!r} is full "
                               "and auto_create_room is off")
        first = world.group_chats[way.chat_id_list[0]]
        chat = world.create_chat(f"{way.room_base_name or first.name}{way.room_base_id}",
                                 first.owner)
        way.room_base_id += 1
        way.chat_id_list.append(chat.chat_id)
        if len(way.chat_id_list) > world.limits.join_way_chats:
            way.chat_id_list.pop(0)  # the oldest (full) group leaves the rotation
        return chat, [self._chat_event(chat, "create")]

    def scan_join_way(self, config_id: str, customer: str | None = None, *,
                      name: str | None = None) -> Outcome:
        """A customer scans a 「加入群聊」 code and joins its first group with room.

        When every group is full and the way has ``auto_create_room``, a new group named
        ``room_base_name`` + ``room_base_id`` is created (``change_external_chat``/``create``)
        and the sequence advances. Joining posts ``update``/``add_member`` with JoinScene 3
        and the last and current member versions.

        :raises SandboxError: unknown way, or all groups full without auto_create_room.
        """
        world = self.world
        with world.lock:
            way = world.join_ways.get(config_id)
            if way is None:
                raise SandboxError(f"no 「加入群聊」 way {config_id!r}")
            person, new = self._customer(customer, name)
            outcome = Outcome("scan_join_way", external_userid=person.external_userid,
                              state=way.state, new_customer=new)
            for chat_id in way.chat_id_list:
                if person.external_userid in world.group_chats[chat_id].members:
                    outcome.changed, outcome.chat_id = False, chat_id
                    return outcome
            chat, events = self._open_chat(way)
            if events:
                outcome.created_chat = chat.chat_id
            world.add_member(chat, person, join_scene=3, state=way.state)
            last, current = world.bump_version(chat)
            outcome.chat_id, outcome.userid = chat.chat_id, chat.owner
            events.append(self._chat_event(
                chat, "update", ("UpdateDetail", "add_member"), ("JoinScene", 3),
                ("MemChangeCnt", 1), ("MemChangeList", [person.external_userid]),
                ("LastMemVer", last), ("CurMemVer", current)))
        return self._post(outcome, events)

    def quit_group(self, chat_id: str, customer: str) -> Outcome:
        """A customer leaves a group by themselves (``del_member``, QuitScene 0)."""
        world = self.world
        with world.lock:
            chat = world.group_chats.get(chat_id)
            if chat is None or customer not in chat.members:
                raise SandboxError(f"{customer!r} is not a member of group {chat_id!r}")
            del chat.members[customer]
            last, current = world.bump_version(chat)
            event = self._chat_event(chat, "update", ("UpdateDetail", "del_member"),
                                     ("QuitScene", 0), ("MemChangeCnt", 1),
                                     ("MemChangeList", [customer]), ("LastMemVer", last),
                                     ("CurMemVer", current))
        return self._post(Outcome("quit_group", chat_id=chat_id, external_userid=customer),
                          [event])

    def staff_creates_group(self, userid: str, name: str,
                            customers: list[str] | tuple[str, ...] = ()) -> Outcome:
        """A member creates a customer group in the client and invites ``customers``
        (``change_external_chat``/``create``; the creator owns the group).

        :raises SandboxError: a member who may not serve customers, an empty name, an
            unknown customer.
        """
        world = self.world
        name = (name or "").strip()
        with world.lock:
            if not self._can_serve(userid):
                raise SandboxError(f"{userid!r} cannot own customer groups (unknown, not "
                                   "activated, without 客户联系 or resigned)")
            if not name:
                raise SandboxError("a customer group needs a name")
            people = [self._customer(external_userid)[0] for external_userid in customers]
            chat = world.create_chat(name, userid)
            for person in people:
                world.add_member(chat, person, join_scene=1, invitor=userid)
            world.bump_version(chat)
            event = self._chat_event(chat, "create")
        return self._post(Outcome("staff_creates_group", userid=userid, chat_id=chat.chat_id,
                                  created_chat=chat.chat_id), [event])

    def _relation(self, userid: str, external_userid: str):
        customer = self.world.customers.get(external_userid)
        follow = customer.follows.get(userid) if customer else None
        if follow is None:
            raise SandboxError(f"{external_userid!r} is not a customer of {userid!r}")
        return customer, follow

    def customer_deletes_staff(self, external_userid: str, userid: str) -> Outcome:
        """The customer deletes the member (``del_follow_user``).

        The member keeps the customer in their list (a one-way friend): mass messages to them
        now fail with status 2.
        """
        with self.world.lock:
            _, follow = self._relation(userid, external_userid)
            follow.friend = False
            event = self._contact_event("del_follow_user", userid, external_userid)
        return self._post(Outcome("customer_deletes_staff", userid=userid,
                                  external_userid=external_userid), [event])

    def staff_deletes_customer(self, userid: str, external_userid: str) -> Outcome:
        """The member deletes the customer (``del_external_contact``); the relation is gone."""
        with self.world.lock:
            customer, _ = self._relation(userid, external_userid)
            del customer.follows[userid]
            event = self._contact_event("del_external_contact", userid, external_userid)
        return self._post(Outcome("staff_deletes_customer", userid=userid,
                                  external_userid=external_userid), [event])

    def chat(self, userid: str, external_userid: str) -> Outcome:
        """Member and customer exchange messages: the welcome code is spent (41051)."""
        with self.world.lock:
            _, follow = self._relation(userid, external_userid)
            follow.chat_started = True
            follow.last_chat = self.world.now()
        return Outcome("chat", userid=userid, external_userid=external_userid)

    def staff_edits_customer(self, userid: str, external_userid: str, *,
                             remark: str | None = None, description: str | None = None,
                             remark_mobiles: list[str] | None = None,
                             add_tags: list[str] = (), remove_tags: list[str] = ()) -> Outcome:
        """The member edits remark, description, phone numbers or tags in the client
        (``edit_external_contact``).

        :raises SandboxError: no such relation, or an unknown tag id.
        """
        world = self.world
        with world.lock:
            _, follow = self._relation(userid, external_userid)
            for tag_id in (*add_tags, *remove_tags):
                if tag_id not in world.tags or world.tags[tag_id].deleted:
                    raise SandboxError(f"no tag {tag_id!r}")
            if remark is not None:
                follow.remark = remark
            if description is not None:
                follow.description = description
            if remark_mobiles is not None:
                follow.remark_mobiles = list(remark_mobiles)
            follow.tag_ids = [t for t in follow.tag_ids if t not in remove_tags]
            follow.tag_ids += [t for t in add_tags if t not in follow.tag_ids]
            event = self._contact_event("edit_external_contact", userid, external_userid)
        return self._post(Outcome("staff_edits_customer", userid=userid,
                                  external_userid=external_userid), [event])

    def staff_confirms_mass_send(self, msgid: str, userid: str) -> Outcome:
        """A sender confirms a mass message in the client; it goes out now.

        Each recipient's result becomes 1 (sent, recorded in :attr:`World.deliveries`),
        2 (no longer a friend; for a customer group: the group is gone) or 3 (the customer's
        or group's receive cap of the period reached). Works alike for customer
        (``chat_type="single"``) and group tasks. No callback.

        :returns: an outcome whose ``statuses`` maps each recipient to its status.
        :raises SandboxError: unknown or cancelled task, or ``userid`` is not one of its senders.
        """
        world = self.world
        with world.lock:
            task = world.tasks.get(msgid)
            if task is None:
                raise SandboxError(f"no mass message {msgid!r}")
            if task.canceled:
                raise SandboxError(f"mass message {msgid!r} was cancelled")
            sender = task.senders.get(userid)
            if sender is None:
                raise SandboxError(f"{userid!r} is not a sender of {msgid!r}")
            outcome = Outcome("staff_confirms_mass_send", userid=userid)
            if sender.status == 2:
                outcome.changed = False
                return outcome
            now = world.now()
            for result in task.results:
                if result.userid != userid:
                    continue
                target = result.external_userid or result.chat_id
                if result.external_userid:
                    customer = world.customers.get(target)
                    follow = customer.follows.get(userid) if customer else None
                    reachable = follow is not None and follow.friend
                else:
                    reachable = target in world.group_chats
                if not reachable:
                    result.status = 2
                elif not world.may_receive(target, now):
                    result.status = 3
                else:
                    result.status, result.send_time = 1, int(now)
                    world.record_delivery(task, userid, target)
                outcome.statuses[target] = result.status
            sender.status, sender.send_time = 2, int(now)
        return outcome
