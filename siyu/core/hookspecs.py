"""Every hook siyu calls: the integrator's contract.

Plugins implement these with ``@siyu.hookimpl``; the core calls them through ``ws.hook``.
Hooks are grouped by stage. Unless a hook says *firstresult*, every implementation is called
and the results are collected in a list (``None`` results are dropped). A *firstresult* hook
stops at the first implementation that returns something other than ``None``.

``docs/plugins.md`` documents each hook with a worked example; a test keeps the two in step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:  # pragma: no cover
    from datetime import datetime

    from siyu.core.records import (
        ChannelSpec,
        CommandSpec,
        ConnectorSpec,
        DemoService,
        Hold,
        JobSpec,
        LaunchRule,
        ModelSet,
        OutgoingMessage,
        PageSpec,
        RiskRule,
        RouteSpec,
        SegmentRule,
        SendResult,
        StatePrefix,
    )
    from siyu.core.workspace import Workspace
    from siyu.storage.models import Contact, Order

hookspec = pluggy.HookspecMarker("siyu")


# --------------------------------------------------------------------------------------------
# Registration: the Workspace calls these when it needs the records (models, channels, rules,
# jobs, connectors and state prefixes once per Workspace; pages, routes and commands on each
# request for them). None of them is called for a plugin disabled for want of a plugin it
# requires (``siyu_requires``, see siyu.core.plugins).
# --------------------------------------------------------------------------------------------


@hookspec
def register_models() -> list[ModelSet] | None:
    """Declare tables this plugin adds, with their Alembic migrations.

    Called before the workspace migrates its database, so the tables exist before any other
    hook runs.

    :return: a list of :class:`siyu.core.records.ModelSet`.
    """


@hookspec
def register_channels() -> list[ChannelSpec] | None:
    """Declare delivery channels this plugin can ``send`` through.

    :return: a list of :class:`siyu.core.records.ChannelSpec`; names must be unique.
    """


@hookspec
def register_segment_rules() -> list[SegmentRule] | None:
    """Declare audience rules this plugin compiles in ``segment``.

    :return: a list of :class:`siyu.core.records.SegmentRule`; names must be unique.
    """


@hookspec
def register_risk_rules() -> list[RiskRule] | None:
    """Declare risk rules this plugin enforces in ``risk_check`` (listed in the risk centre).

    :return: a list of :class:`siyu.core.records.RiskRule`; names must be unique.
    """


@hookspec
def register_jobs(ws: Workspace) -> list[JobSpec] | None:
    """Declare scheduled jobs. The scheduler keeps them in its persistent job store.

    :param ws: the Workspace, to read settings that shape the schedule.
    :return: a list of :class:`siyu.core.records.JobSpec`; names must be unique.
    """


@hookspec
def register_pages(ws: Workspace) -> list[PageSpec] | None:
    """Declare console pages. The console builds its navigation from them.

    :param ws: the Workspace the console serves.
    :return: a list of :class:`siyu.core.records.PageSpec`; names must be unique.
    """


@hookspec
def register_routes(ws: Workspace) -> list[RouteSpec] | None:
    """Declare extra HTTP routes served by ``siyu serve`` (callbacks, claim pages…).

    :param ws: the Workspace the server serves.
    :return: a list of :class:`siyu.core.records.RouteSpec`; names must be unique.
    """


@hookspec
def register_connectors() -> list[ConnectorSpec] | None:
    """Declare kinds of source that orders and members are synced from (a REST API, a SQL
    database, a folder of files…). Users configure connectors of these kinds; the
    connectors plugin runs them (cursors, retries, run history, the schedule) and stores
    what they read through the import path (``on_order``, ``on_contact_added``).

    :return: a list of :class:`siyu.core.records.ConnectorSpec`; names must be unique.
    """


@hookspec
def register_commands() -> list[CommandSpec] | None:
    """Declare extra ``siyu`` CLI sub-commands.

    :return: a list of :class:`siyu.core.records.CommandSpec`; names must be unique and must
        not shadow a built-in command.
    """


@hookspec
def register_state_prefixes() -> list[StatePrefix] | None:
    """Claim WeCom ``state`` prefixes: the callbacks whose ``state`` starts with one are this
    plugin's to act on (``ws.state_owner(state)`` names the owner).

    Not *firstresult*: every plugin's claims are collected, once per Workspace, when it first
    asks (``ws.state_prefixes``, ``ws.state_owner``; ``siyu plugins`` lists them).

    :return: a list of :class:`siyu.core.records.StatePrefix`; a prefix is 2 to 5 characters
        ending with ``:``, and no prefix may equal or start another plugin's (a
        :class:`~siyu.core.errors.PluginError` naming both plugins).
    """


@hookspec
def start_demo(ws: Workspace) -> DemoService | None:
    """Start what the plugin needs to show itself in ``siyu demo`` (a sandbox, sample data).

    Called by ``siyu demo`` after the sample business is loaded and before the console
    starts (not with ``--no-serve`` or ``--no-sandbox``). Raising stops the demo with the
    error; services already started are stopped.

    :param ws: the demo workspace.
    :return: a :class:`siyu.core.records.DemoService` whose ``connect(port)`` is called
        once the console listens and whose ``stop()`` is called when the demo ends, or
        ``None`` when the plugin has nothing to run.
    """


# --------------------------------------------------------------------------------------------
# Notifications (``on_*`` below, but for on_message_received). Durable delivery: the core
# writes each notification as a row in the same transaction as the change it describes, and
# a dispatcher calls every implementation at least once after the commit (again after a
# crash or a failure, with backoff), in order per subject (one contact's notices in the order
# they were written). Implementations get a ``delivery_id``, the same on every redelivery:
# apply a notification once per delivery id. A failing implementation does not hold up the
# others; its failures are listed by ``siyu hooks`` and on the console's Hooks page.
# --------------------------------------------------------------------------------------------

# --------------------------------------------------------------------------------------------
# Contact lifecycle
# --------------------------------------------------------------------------------------------


@hookspec
def on_contact_added(ws: Workspace, contact: Contact, via: str, delivery_id: str) -> None:
    """A customer became a contact (a new friend of a staff member, or an imported member).

    Delivered after the contact row is committed (see *Durable delivery* above). Notified
    once per new contact: replays and re-imports do not notify again.

    :param ws: the Workspace, acting as the plugin (admin rights).
    :param contact: the stored contact, a read-only view with the attributes of
        :class:`siyu.storage.models.Contact`, as it is when delivered.
    :param via: how the contact arrived: a WeCom ``state`` string (e.g. ``"lc:42"``),
        ``"staff"`` (added without a state), ``"import"`` or ``"api"``.
    :param delivery_id: stable across redeliveries of this notice; be idempotent by it.
    """


@hookspec
def on_contact_removed(ws: Workspace, contact: Contact, by: str, delivery_id: str) -> None:
    """A contact left: the customer deleted the staff member, or the staff member deleted them.

    :param ws: the Workspace.
    :param contact: the contact (a read-only view), with ``removed_at`` set.
    :param by: ``"customer"`` or ``"staff"``.
    :param delivery_id: stable across redeliveries of this notice; be idempotent by it.
    """


@hookspec
def on_contact_tagged(ws: Workspace, contact: Contact, added: list[str], removed: list[str],
                      source: str, delivery_id: str) -> None:
    """A contact's tags changed.

    :param ws: the Workspace.
    :param contact: the contact.
    :param added: tags added, as ``"group/tag"`` names.
    :param removed: tags removed, as ``"group/tag"`` names.
    :param source: who changed them: ``"manual"``, ``"import"``, a plugin name, ``"wecom"``.
    :param delivery_id: stable across redeliveries of this notice; be idempotent by it.
    """


@hookspec
def on_group_member_changed(ws: Workspace, chat_id: str, joined: list[dict[str, Any]],
                            left: list[str], at: datetime, delivery_id: str) -> None:
    """People joined or left a customer group chat (客户群).

    Fired once per WeCom ``change_external_chat`` join/quit event, after the group and its
    members were refreshed from ``groupchat/get`` (so ``wecom_group_chat.members`` is the
    count after the change). Exactly one of ``joined`` and ``left`` is non-empty.

    :param ws: the Workspace.
    :param chat_id: the group's WeCom ``chat_id``.
    :param joined: one dict per member who joined, as ``groupchat/get`` describes them:
        ``userid`` (a staff userid or a customer's external userid), ``type`` (1 staff,
        2 customer), ``join_time``, ``join_scene`` (1 invited directly, 2 invite link,
        3 scanned a group QR / join way) and ``state`` (the join way's state, ``""`` when
        none). A member who already left again carries ``join_scene`` from the event,
        ``join_time`` = ``at`` and an empty ``state``.
    :param left: the userids / external userids who left.
    :param at: when the change happened (the event's time, aware UTC).
    :param delivery_id: stable across redeliveries of this notice; be idempotent by it.
    """


@hookspec(firstresult=True)
def on_message_received(ws: Workspace, contact: Contact, message: dict[str, Any]
                        ) -> dict[str, Any] | None:
    """A contact sent a message; return an automatic reply or ``None``.

    *firstresult*: stops at the first implementation that returns a reply.

    :param ws: the Workspace.
    :param contact: the sender.
    :param message: ``{"type": "text", "content": ...}`` or another WeCom message shape.
    :return: a reply message of the same shape, or ``None`` to stay silent.
    """


# --------------------------------------------------------------------------------------------
# Audience
# --------------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def segment(ws: Workspace, rule: str, params: dict[str, Any]) -> Any | None:
    """Compile the named segment rule into a SQL predicate over the ``contact`` table.

    *firstresult*: the plugin that registered ``rule`` answers; others return ``None``.

    :param ws: the Workspace.
    :param rule: the rule name (see ``register_segment_rules``).
    :param params: the rule's parameters from the segment spec.
    :return: a SQLAlchemy boolean clause (e.g. ``Contact.city == params["city"]``), or
        ``None`` when this plugin does not own ``rule``.
    """


# --------------------------------------------------------------------------------------------
# Delivery
# --------------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def send(ws: Workspace, channel: str, batch: list[OutgoingMessage]) -> list[SendResult] | None:
    """Send one batch of outbox messages through ``channel``.

    *firstresult*: the plugin that registered ``channel`` answers; others return ``None``.
    Called by an outbox sender with no database transaction open; the outbox records the
    results (and fires ``on_delivery``) afterwards.

    :param ws: the Workspace.
    :param channel: channel name (see ``register_channels``).
    :param batch: :class:`siyu.core.records.OutgoingMessage` records, rendered, at most the
        channel's ``batch_size``; all of one campaign and one sender.
    :return: one :class:`siyu.core.records.SendResult` per message, in order (``sent``,
        ``pending``, ``failed`` with ``retry`` for transient trouble, or ``unknown`` when the
        provider may have it but did not answer), or ``None`` when this plugin does not own
        ``channel``.
    """


@hookspec
def risk_check(ws: Workspace, action: dict[str, Any]) -> str | None:
    """Vet an outgoing action before it happens. Any veto blocks it.

    :param ws: the Workspace.
    :param action: what is about to happen. ``kind="send"``: one message of the outbox,
        ``{"kind", "channel", "campaign_id", "contact_id", "recipient", "text", "sender"}``
        (a veto makes the delivery ``blocked`` with the reason). ``kind="content"``: a
        campaign's text before launch, ``{"kind", "channel", "campaign_id", "text"}`` (a veto
        refuses the launch and shows in the preview). Other kinds (``"payout"``) come from
        other features; return ``None`` for kinds you do not judge.
    :return: a human reason to block the action, or ``None`` to allow it.
    """


@hookspec
def risk_check_batch(ws: Workspace, batch: list[OutgoingMessage]
                     ) -> dict[int, str | Hold] | None:
    """Vet a whole outbox batch before it is sent: the batch form of ``risk_check`` for
    sends, for rules that look many messages up at once (one query for a batch's contacts,
    one screening per distinct text). A plugin implementing it is not asked
    ``risk_check`` once per message of the batch (it still is for ``kind="content"`` and
    other actions).

    :param ws: the Workspace.
    :param batch: the :class:`siyu.core.records.OutgoingMessage` records about to be sent.
    :return: ``{delivery_id: reason}`` for the messages to block (a missing id is allowed),
        or ``None``. A value may instead be a :class:`siyu.core.records.Hold`: the message
        is not blocked but waits (quiet hours, a daily cap) and is tried again at
        ``Hold.until``. A block from any plugin wins over a hold.
    """


@hookspec
def launch_rules(ws: Workspace, campaign: Any, now: datetime) -> list[LaunchRule] | None:
    """Rules to apply to a campaign's whole audience when it launches — and in its preview,
    so "N selected → M will actually receive it" counts them. Decided in SQL for all the
    recipients at once, before any delivery row is written.

    :param ws: the Workspace.
    :param campaign: the campaign being launched or previewed (read-only; ``id``,
        ``channel``, ``content``, ``audience``…).
    :param now: the launch time, aware UTC.
    :return: a list of :class:`siyu.core.records.LaunchRule`: skips (a do-not-contact list)
        and delays (quiet hours), or ``None``. Only for campaigns to contacts; a campaign to
        channel targets (group robots) is not asked.
    """


@hookspec
def on_delivery(ws: Workspace, delivery: Any, status: str, delivery_id: str) -> None:
    """An outbox delivery changed status: ``skipped`` or ``cancelled`` at launch, then
    ``pending``, ``sent``, ``failed``, ``blocked``… Notified in the transaction of the change.

    :param ws: the Workspace.
    :param delivery: the stored delivery, a read-only view with the attributes of
        :class:`siyu.storage.models.Delivery` (``campaign_id``, ``contact_id``,
        ``recipient``, ``variant``, ``reason``, ``provider_id``…), read when delivered.
    :param status: the status it changed to (the row may have moved on since).
    :param delivery_id: stable across redeliveries of this notice; be idempotent by it.
    """


# --------------------------------------------------------------------------------------------
# Commerce
# --------------------------------------------------------------------------------------------


@hookspec
def on_order(ws: Workspace, order: Order, delivery_id: str) -> None:
    """A new order was stored (from a connector or an import). Not notified again on
    re-sync; a later change of the same order is ``on_order_changed``.

    :param ws: the Workspace, acting as the plugin.
    :param order: the stored order, a read-only view with the attributes of
        :class:`siyu.storage.models.Order`.
    :param delivery_id: stable across redeliveries of this notice; be idempotent by it.
    """


@hookspec
def on_order_changed(ws: Workspace, order: Order, changes: dict[str, list[Any]],
                     delivery_id: str) -> None:
    """A stored order changed: a refund, a corrected amount, a cancellation, a buyer matched
    later (``ws.orders.upsert``, an order import, a connector's sync). Notified once per
    change that altered something, in the transaction of the change; a re-sync that changes
    nothing notifies nothing. A new order is ``on_order``, never this.

    :param ws: the Workspace, acting as the plugin.
    :param order: the order, a read-only view with the attributes of
        :class:`siyu.storage.models.Order`, as it is when delivered.
    :param changes: what this change altered, ``{"field": [old, new]}``, among
        ``amount_fen``, ``status``, ``refunded_fen`` and ``contact_id``, e.g.
        ``{"status": ["paid", "refunded"], "refunded_fen": [0, 128800]}``.
    :param delivery_id: stable across redeliveries of this notice; be idempotent by it.
    """


@hookspec
def on_reward_claimed(ws: Workspace, claim: Any, delivery_id: str) -> None:
    """A red packet or coupon was claimed and written to the ledger; notified in the claim's
    own transaction, so a claim is never without its notice nor a notice without its claim.

    :param ws: the Workspace, acting as the plugin.
    :param claim: the ledger row, a read-only view with the attributes of
        :class:`siyu.plugins.rewards.models.RewardClaim`: ``id, pool_id, contact_id, seq,
        amount_fen`` (integer fen; a coupon's face value), ``code`` (a coupon's), ``expires_at,
        claimed_at, source``.
    :param delivery_id: stable across redeliveries of this notice; be idempotent by it.
    """
