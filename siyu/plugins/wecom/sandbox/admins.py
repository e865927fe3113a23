"""Admin-console actions and the passing of time: tag changes, transfers, resignations.

Changing corp tags in the admin console posts ``change_external_tag`` (the same change made
through the API posts nothing). Transfers started through the API settle here: when the sandbox
clock passes their takeover time the customer moves to the takeover member, unless the customer
refused in the meantime or the takeover member has no room left (``transfer_fail``).
"""

from __future__ import annotations

from typing import Any

from siyu.plugins.wecom.sandbox.actors import Actor, Outcome
from siyu.plugins.wecom.sandbox.callbacks import Fields
from siyu.plugins.wecom.sandbox.errors import SandboxError
from siyu.plugins.wecom.sandbox.model import Transfer

#: follow_user.add_way of a customer received through inheritance: 202 管理员/负责人分配
ADD_WAY_ASSIGNED = 202


class AdminActions(Actor):
    """What the corp admin does in the console, and what time does by itself."""

    def _tag_event(self, item_id: str, tag_type: str, change_type: str) -> Fields:
        return [*self.callbacks.base_fields("change_external_tag", self.world.now()),
                ("Id", item_id), ("TagType", tag_type), ("ChangeType", change_type)]

    # -- corp tags -------------------------------------------------------------------------

    def admin_adds_tags(self, group_name: str, names: list[str]) -> Outcome:
        """Add tags in the console: a new group posts one ``tag_group`` create event, tags
        added to an existing group post one ``tag`` create event each."""
        world = self.world
        with world.lock:
            group = next((g for g in world.tag_groups.values()
                          if g.name == group_name and not g.deleted), None)
            taken = {world.tags[t].name for t in group.tag_ids} if group else set()
            fresh = [n for n in dict.fromkeys(names) if n not in taken]
            if not fresh:
                raise SandboxError(f"no new tag names for group {group_name!r}")
            events = []
            if group is None:
                group = world.create_tag_group(group_name)
                events.append(self._tag_event(group.id, "tag_group", "create"))
                for name in fresh:
                    world.create_tag(group, name)
            else:
                for name in fresh:
                    tag = world.create_tag(group, name)
                    events.append(self._tag_event(tag.id, "tag", "create"))
        return self._post(Outcome("admin_adds_tags", state=group.id), events)

    def admin_renames_tag(self, item_id: str, name: str) -> Outcome:
        """Rename a tag or a tag group in the console (``update``)."""
        world = self.world
        with world.lock:
            item = world.tags.get(item_id) or world.tag_groups.get(item_id)
            if item is None or item.deleted:
                raise SandboxError(f"no tag or tag group {item_id!r}")
            item.name = name
            kind = "tag" if item_id in world.tags else "tag_group"
            event = self._tag_event(item_id, kind, "update")
        return self._post(Outcome("admin_renames_tag"), [event])

    def admin_deletes_tag(self, item_id: str) -> Outcome:
        """Delete a tag, or a whole group (one ``tag_group`` event, none for its tags)."""
        world = self.world
        with world.lock:
            if item_id in world.tag_groups and not world.tag_groups[item_id].deleted:
                for tag_id in world.tag_groups[item_id].tag_ids:
                    if not world.tags[tag_id].deleted:
                        world.delete_tag(world.tags[tag_id])
                event = self._tag_event(item_id, "tag_group", "delete")
            elif item_id in world.tags and not world.tags[item_id].deleted:
                world.delete_tag(world.tags[item_id])
                event = self._tag_event(item_id, "tag", "delete")
            else:
                raise SandboxError(f"no tag or tag group {item_id!r}")
        return self._post(Outcome("admin_deletes_tag"), [event])

    def admin_reorders_tags(self, group_id: str = "") -> Outcome:
        """Reorder the tags of a group, or all groups when ``group_id`` is empty (``shuffle``)."""
        world = self.world
        with world.lock:
            if group_id and group_id not in world.tag_groups:
                raise SandboxError(f"no tag group {group_id!r}")
            targets = [world.tag_groups[group_id]] if group_id else list(world.tag_groups.values())
            for group in targets:
                for position, tag_id in enumerate(reversed(group.tag_ids)):
                    world.tags[tag_id].order = position + 1
            event = self._tag_event(group_id, "tag_group", "shuffle")
        return self._post(Outcome("admin_reorders_tags"), [event])

    # -- members ---------------------------------------------------------------------------

    def staff_resigns(self, userid: str) -> Outcome:
        """A member leaves the corp; their customers wait for 离职继承."""
        with self.world.lock:
            staff = self.world.staff.get(userid)
            if staff is None or staff.resigned:
                raise SandboxError(f"no active member {userid!r}")
            staff.resigned, staff.resigned_at = True, self.world.now()
        return Outcome("staff_resigns", userid=userid)

    # -- transfers -------------------------------------------------------------------------

    def _fail(self, transfer: Transfer, status: int, reason: str) -> Fields:
        transfer.status = status
        if status == 3:
            transfer.takeover_time = 0
        return self._contact_event("transfer_fail", transfer.takeover, transfer.external_userid,
                                   ("FailReason", reason))

    def customer_refuses_transfer(self, external_userid: str) -> Outcome:
        """The customer refuses a waiting transfer: status 3, ``transfer_fail`` posted."""
        with self.world.lock:
            transfer = next((t for t in self.world.transfers
                             if t.external_userid == external_userid and t.status == 2), None)
            if transfer is None:
                raise SandboxError(f"no transfer of {external_userid!r} is waiting")
            event = self._fail(transfer, 3, "customer_refused")
        return self._post(Outcome("customer_refuses_transfer", userid=transfer.takeover,
                                  external_userid=external_userid), [event])

    def _take_over(self, transfer: Transfer) -> list[Fields]:
        """Move the customer to the takeover member; the events that reports."""
        world = self.world
        customer = world.customers[transfer.external_userid]
        old = customer.follows.pop(transfer.handover, None)
        events = []
        if transfer.kind == "onjob":
            events.append(self._contact_event("del_external_contact", transfer.handover,
                                              transfer.external_userid,
                                              ("Source", "DELETE_BY_TRANSFER")))
        if transfer.takeover not in customer.follows:
            follow = world.add_follow(customer, transfer.takeover, add_way=ADD_WAY_ASSIGNED,
                                      oper_userid=transfer.handover)
            if old is not None:
                follow.remark, follow.description = old.remark, old.description
                follow.tag_ids = list(old.tag_ids)
                follow.state, follow.friend = old.state, old.friend
            events.append(self._contact_event("add_external_contact", transfer.takeover,
                                              transfer.external_userid))
        transfer.status = 1
        return events

    def tick(self) -> list[Outcome]:
        """Settle every transfer whose takeover time has come; return what happened.

        The sandbox calls this whenever its clock is moved, and every second in real time.
        """
        world = self.world
        settled: list[tuple[Outcome, list[Fields]]] = []
        with world.lock:
            now = world.now()
            for transfer in world.transfers:
                if transfer.status != 2 or now < transfer.takeover_time:
                    continue
                customer = world.customers.get(transfer.external_userid)
                outcome = Outcome("transfer", userid=transfer.takeover,
                                  external_userid=transfer.external_userid)
                full = len(world.customers_of(transfer.takeover)) >= \
                    world.limits.staff_customer_limit
                if customer is None or transfer.handover not in customer.follows:
                    transfer.status, outcome.changed = 3, False
                    events: list[Fields] = []
                elif full:
                    events = [self._fail(transfer, 4, "customer_limit_exceed")]
                else:
                    events = self._take_over(transfer)
                outcome.statuses[transfer.external_userid] = transfer.status
                settled.append((outcome, events))
        return [self._post(outcome, events) for outcome, events in settled]

    def pending_transfers(self) -> list[dict[str, Any]]:
        with self.world.lock:
            return [vars(t).copy() for t in self.world.transfers if t.status == 2]

