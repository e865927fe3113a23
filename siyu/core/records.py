"""Small typed records that registration hooks return.

Every record has a ``name``; two plugins registering the same name for the same kind of
record is an error (:class:`siyu.core.errors.PluginError`), never a silent override.

A page's ``factory`` and a command's ``configure`` and ``run`` may be given as an import
path, ``"package.module:Name"`` (see :func:`lazy`): the module is imported the first time the
page is built or the command is set up or runs, so registering a console page or a CLI command
costs nothing to another command or a notebook that never uses it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from siyu.core.errors import PluginError
from siyu.core.i18n import core as _


class LazyCallable:
    """A callable named by its import path, ``"package.module:Name"`` (``Name`` may be dotted,
    ``"module:Class.method"``), imported on first use.

    Calling it calls the target with the same arguments. Two lazy callables are equal when
    they name the same path, so records holding them compare as before.
    """

    __slots__ = ("_target", "path")

    def __init__(self, path: str) -> None:
        self.path = path
        self._target: Callable[..., Any] | None = None

    def resolve(self) -> Callable[..., Any]:
        """Import the module (once) and return the callable the path names.

        Every mistake surfaces here, at first use, and not when the plugin registers: a page
        that cannot load shows an error card instead of taking the console down.

        :raises PluginError: the path is malformed, the module cannot be imported or has no
            such name, or the name is not callable.
        """
        if self._target is None:
            module, sep, name = self.path.partition(":")
            if not sep or not module.strip() or not name.strip():
                raise PluginError(_("{path!r} is not an import path; write "
                                    "'package.module:Name', e.g. 'mypkg.pages:MyPage'",
                                    path=self.path))
            try:
                target: Any = importlib.import_module(module)
                for part in name.split("."):
                    target = getattr(target, part)
            except (ImportError, AttributeError) as exc:
                raise PluginError(_("cannot load {path!r}: {kind}: {error}", path=self.path,
                                    kind=type(exc).__name__, error=exc)) from exc
            if not callable(target):
                raise PluginError(_("{path!r} names {kind}, not something to call",
                                    path=self.path, kind=type(target).__name__))
            self._target = target
        return self._target

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.resolve()(*args, **kwargs)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LazyCallable) and other.path == self.path

    def __hash__(self) -> int:
        return hash(self.path)

    def __repr__(self) -> str:
        return f"lazy({self.path!r})"


def lazy(target: Callable[..., Any] | str) -> Callable[..., Any]:
    """An import path ``"package.module:Name"`` as a :class:`LazyCallable` that imports it on
    first call; anything else (a plain callable) unchanged."""
    return LazyCallable(target) if isinstance(target, str) else target


@dataclass(frozen=True)
class ModelSet:
    """Tables a plugin adds.

    :param name: unique name; the plugin's Alembic history is kept in the version table
        ``alembic_version_<name>``.
    :param tables: SQLAlchemy ``Table`` objects (``MyModel.__table__``) the plugin owns.
    :param migrations: folder of Alembic revision files for these tables (their own history,
        starting from ``down_revision = None``; run after the core's). When ``None`` the
        tables are created with ``create_all`` after the core migrations (fine for prototypes;
        ship migrations before your schema changes for the first time).
    """

    name: str
    tables: tuple = ()
    migrations: Path | None = None


#: What a channel's ``send`` may answer for one message (see :class:`SendResult`).
SEND_STATUSES = ("sent", "pending", "failed", "unknown")


@dataclass(frozen=True)
class ChannelSpec:
    """A delivery channel (WeCom mass-send, e-mail, a group robot…).

    The outbox reads these limits before anything is sent: content over ``text_limit`` or
    with more than ``max_attachments`` attachments, or naming a placeholder the channel
    cannot fill, is refused when the campaign is saved.

    :param name: channel name used in campaigns and in ``send(ws, channel, batch)``.
    :param title: human title for the console.
    :param batch_size: most messages one ``send`` call receives.
    :param text_limit: most bytes (UTF-8) of the rendered text; ``None`` for no limit.
    :param max_attachments: most attachments per message; ``None`` for no limit.
    :param placeholders: the placeholders (``"nickname"``, ``"staff"``, ``"store"``) the
        channel fills per message; ``None`` for all of them. WeCom mass messages carry one
        text per staff member's task, so the ``wecom`` channel allows ``{staff}`` only.
    :param recipients: ``"contacts"`` (the audience is a segment of contacts) or
        ``"targets"`` (the channel addresses fixed targets, e.g. group robots: ``targets``
        lists them).
    :param targets: ``targets(ws) -> {key: title}``, for ``recipients="targets"``.
    :param reconcile: ``reconcile(ws, batch) -> {delivery_id: SendResult}`` for channels the
        outbox can ask what they already did: after a crash, a batch whose outcome was never
        recorded is looked up with it; deliveries it does not answer for were not sent and are
        sent again. ``None`` (SMTP, webhooks): such a batch is sent again, so at most that
        batch may repeat, and only after a crash.
    :param wecom_quota: messages count against WeCom's per-customer receive cap.
    :param address: a column of the contact table (``"external_userid"``) the outbox reads
        into each message's ``address`` with the batch, so ``send`` need not look the
        recipients up again; ``None`` for none.
    """

    name: str
    title: str = ""
    batch_size: int = 1000
    text_limit: int | None = None
    max_attachments: int | None = None
    placeholders: tuple[str, ...] | None = None
    recipients: str = "contacts"
    targets: Callable[[Any], dict[str, str]] | str | None = None
    reconcile: Callable[[Any, list[Any]], dict[int, Any]] | str | None = None
    wecom_quota: bool = False
    address: str | None = None

    def __post_init__(self) -> None:
        if self.recipients not in ("contacts", "targets"):
            raise PluginError(_("channel {name}: recipients must be 'contacts' or 'targets', "
                                "not {value!r}", name=self.name, value=self.recipients))
        for attr in ("targets", "reconcile"):
            value = getattr(self, attr)
            if value is not None:
                object.__setattr__(self, attr, lazy(value))


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """One message the outbox hands to a channel's ``send``: one delivery row, rendered.

    :param delivery_id: the delivery's id; echo it in results and ``on_delivery``.
    :param key: the delivery's idempotency key (``"<campaign>:<recipient>"``), unique for
        ever; channels that accept an idempotency key pass this one.
    :param campaign_id: the campaign.
    :param channel: the channel name.
    :param recipient: ``"contact:<id>"`` for a contact, or the channel's target key.
    :param contact_id: the contact, or ``None`` for a target.
    :param variant: the A/B variant name (``""`` without variants).
    :param text: the rendered text (placeholders filled for this recipient).
    :param attachments: the channel-specific attachments (WeCom: ``{"msgtype": "image",
        "image": {...}}``…).
    :param subject: a subject line, for channels that have one (e-mail).
    :param sender: who sends it: a staff userid (WeCom: the customer's owner, or the fixed
        staff member of a group send), or ``None``.
    :param attempt: 1 for the first try, 2… for retries of a transient failure.
    :param extra: channel-specific fields of the campaign (e.g. ``{"chat_type": "group"}``).
    :param address: the contact's value of the channel's ``ChannelSpec.address`` column (a
        WeCom ``external_userid``), or ``None``.
    """

    delivery_id: int
    key: str
    campaign_id: int
    channel: str
    recipient: str
    contact_id: int | None = None
    variant: str = ""
    text: str = ""
    attachments: tuple[dict[str, Any], ...] = ()
    subject: str = ""
    sender: str | None = None
    attempt: int = 1
    extra: dict[str, Any] = field(default_factory=dict)
    address: str | None = None


@dataclass(frozen=True)
class SendResult:
    """What a channel did with one :class:`OutgoingMessage`.

    :param status: ``"sent"`` (the provider accepted it for delivery), ``"pending"`` (the
        provider holds it until someone acts: a WeCom mass message waits for the staff
        member to confirm; a later status change comes from the channel through
        :func:`siyu.core.messaging.outbox.record_feedback`), ``"failed"``, or ``"unknown"``:
        the request may have reached the provider but no answer came (a read timeout). The
        outbox never sends an ``unknown`` message again blindly: it asks the channel's
        ``reconcile``, or, for a channel without one, records it as failed "outcome unknown".
    :param provider_id: the provider's id for it (a WeCom msgid, an SMTP Message-ID).
    :param reason: why it failed, in words an operator understands.
    :param retry: the failure is transient (a timeout, a rate limit, a 5xx): the outbox tries
        again later with backoff, up to its attempt limit.
    """

    status: str
    provider_id: str | None = None
    reason: str = ""
    retry: bool = False

    def __post_init__(self) -> None:
        if self.status not in SEND_STATUSES:
            raise PluginError(_("a send result's status must be one of {allowed}, not "
                                "{value!r}", allowed=", ".join(SEND_STATUSES),
                                value=self.status))

    @classmethod
    def of(cls, value: Any) -> SendResult:
        """``value`` as a :class:`SendResult`: one already, or a dict of its fields."""
        if isinstance(value, cls):
            return value
        if isinstance(value, dict):
            return cls(**{k: value[k] for k in ("status", "provider_id", "reason", "retry")
                          if k in value})
        raise PluginError(_("a channel answered {value!r} for a message; expected a "
                            "SendResult or a dict with a status", value=value))


#: The types a :class:`SegmentParam` may declare, and what a spec value must be for each.
PARAM_TYPES = ("str", "int", "bool", "date", "list", "ints", "choice")


@dataclass(frozen=True)
class SegmentParam:
    """One typed parameter of a :class:`SegmentRule`.

    The segment validator and the console's rule form both read it: the type picks the
    widget and the check, ``choices`` or ``choices_from`` fill the menu.

    :param name: the key in the rule's params (``"within_days"``).
    :param type: ``"str"``, ``"int"``, ``"bool"``, ``"date"`` (a date or ISO time, read in
        the workspace timezone), ``"list"`` (of strings; one string is taken as a list of
        one), ``"ints"`` (a list of integers) or ``"choice"`` (one of ``choices``).
    :param title: what the console calls it (translatable).
    :param required: a spec must give it.
    :param default: the value when omitted.
    :param choices: the allowed values (``"choice"``), or value → title pairs.
    :param choices_from: where the console's menu comes from: ``"tags"``, ``"tag_groups"``,
        ``"staff"``, ``"stores"``, ``"regions"``, ``"cities"``, ``"channels"``,
        ``"event_kinds"``, ``"segments"``, or a callable ``f(ws) -> list[str]``.
    :param strict: values must be among ``choices_from``'s (an unknown tag is an error that
        suggests close names); otherwise they are only suggestions (a city nobody lives in
        simply matches nobody).
    :param minimum: smallest allowed integer (``1`` for a number of days).
    :param maximum: largest allowed integer.
    """

    name: str
    type: str = "str"
    title: Any = ""
    required: bool = False
    default: Any = None
    choices: tuple[Any, ...] = ()
    choices_from: str | Callable[..., list[str]] | None = None
    strict: bool = False
    minimum: int | None = None
    maximum: int | None = None

    def __post_init__(self) -> None:
        if self.type not in PARAM_TYPES:
            raise PluginError(_("segment parameter {name!r} has type {type!r}; use one of "
                                "{types}", name=self.name, type=self.type,
                                types=", ".join(PARAM_TYPES)))


@dataclass(frozen=True)
class SegmentRule:
    """A named audience rule a segment spec can use: ``{"<name>": {params}}``.

    :param name: rule name used in segment specs, e.g. ``"tag"``.
    :param title: human title (translatable).
    :param params: the rule's typed parameters (:class:`SegmentParam`); a plain
        ``{"name": "description"}`` dict declares optional string parameters.
    :param family: the console menu it is listed under: ``"tags"``, ``"attributes"``,
        ``"journey"``, ``"orders"``, ``"rfm"``, ``"membership"`` or a plugin's own.
    :param description: one sentence for the console's help text.
    :param compile: ``compile(ws, params) -> ColumnElement[bool]``, the SQL predicate over
        ``contact`` for validated params; ``None`` asks the ``segment`` hook instead.
    :param check: ``check(params) -> str | None``: a message when the params, each valid
        alone, make no sense together (``since`` after ``until``).
    """

    name: str
    title: Any = ""
    params: Any = ()
    family: str = "plugin"
    description: Any = ""
    compile: Callable[..., Any] | None = None
    check: Callable[..., Any] | None = None

    @property
    def typed_params(self) -> tuple[SegmentParam, ...]:
        """The parameters as :class:`SegmentParam` records (a plain dict's as optional
        strings)."""
        if isinstance(self.params, dict):
            return tuple(SegmentParam(name, "str", title=text)
                         for name, text in self.params.items())
        return tuple(self.params)


@dataclass(frozen=True)
class RiskRule:
    """A named risk rule the risk centre lists; the check itself is ``risk_check``."""

    name: str
    title: str = ""
    description: str = ""


@dataclass(frozen=True)
class Hold:
    """A risk verdict meaning "not now": the delivery waits and is tried again at ``until``.

    ``risk_check_batch`` may answer one for a delivery instead of a reason to block it (quiet
    hours, a staff member's daily cap used up). The outbox puts the delivery back in the queue
    with ``not_before = until`` (never sooner than a minute from now) and the reason, without
    counting a try.

    :param until: when to try again, aware UTC.
    :param reason: why it waits, in words an operator understands.
    :param rule: the :class:`RiskRule` name that decided it.
    """

    until: datetime
    reason: str
    rule: str = ""

    def __post_init__(self) -> None:
        if self.until.tzinfo is None:
            raise PluginError(_("a Hold's time must be timezone-aware (UTC), not {value}",
                                value=self.until))


@dataclass(frozen=True)
class LaunchRule:
    """A rule applied to a whole audience when a campaign launches (and in its preview), in
    SQL, before any delivery row exists; answered by ``launch_rules``.

    Either a **skip** (``until`` is ``None``): the contacts ``contacts`` selects get a
    ``skipped`` delivery with ``reason``; or a **delay** (``until`` set): their deliveries
    (everyone's when ``contacts`` is ``None``) are queued with ``not_before = until`` — they
    still receive the message, later.

    :param name: the :class:`RiskRule` name (for the risk centre and the preview).
    :param reason: the reason stored on the delivery and shown in the preview.
    :param contacts: a SQLAlchemy ``SELECT`` of one column of contact ids, or ``None`` (a
        delay for the whole audience).
    :param until: for a delay, aware UTC.
    """

    name: str
    reason: str
    contacts: Any = None
    until: datetime | None = None

    def __post_init__(self) -> None:
        if self.until is None and self.contacts is None:
            raise PluginError(_("launch rule {name!r} skips nobody: give the contacts to "
                                "skip, or a time to delay to", name=self.name))
        if self.until is not None and self.until.tzinfo is None:
            raise PluginError(_("launch rule {name!r}: the time must be timezone-aware "
                                "(UTC)", name=self.name))


@dataclass(frozen=True)
class JobSpec:
    """A scheduled job.

    :param name: unique job id (kept across restarts in the persistent job store).
    :param func: the callable, importable by path; it receives the Workspace as only argument.
    :param trigger: APScheduler trigger name: ``"interval"``, ``"cron"`` or ``"date"``.
    :param trigger_args: keyword arguments of the trigger, e.g. ``{"minutes": 5}``.
    :param title: human title for the Jobs page.
    """

    name: str
    func: Callable[[Any], Any]
    trigger: str = "interval"
    trigger_args: dict[str, Any] = field(default_factory=dict)
    title: str = ""


@dataclass(frozen=True)
class PageSpec:
    """A console page.

    :param name: URL slug, unique.
    :param title: navigation title.
    :param factory: ``factory(ws) -> viewable``; called once per browser session. Either the
        callable, or its import path ``"package.module:PageClass"`` (imported when the page is
        first built, so that loading the plugin does not import Panel).
    :param icon: icon name for the navigation.
    :param permission: permission required to open the page (see ``siyu.core.permissions``).
    :param order: position in the navigation (lower first).
    """

    name: str
    title: str
    factory: Callable[[Any], Any] | str
    icon: str = ""
    permission: str = "console.view"
    order: int = 100

    def __post_init__(self) -> None:
        # Frozen dataclass: replace the import path by a callable once, so every caller
        # (the console shell, tests, third-party code) just calls ``spec.factory(ws)``.
        object.__setattr__(self, "factory", lazy(self.factory))


@dataclass(frozen=True)
class RouteSpec:
    """An extra HTTP route served next to the console.

    :param name: unique name.
    :param pattern: Tornado URL pattern, e.g. ``r"/wecom/callback"``.
    :param handler: a ``tornado.web.RequestHandler`` subclass. ``register_routes`` is called
        only when the server starts, so import the handler's module inside the hook: then a
        handler that needs Tornado or Panel costs the CLI nothing.
    :param public: when True, no console login is needed (the handler authenticates itself).
    :param kwargs: passed to the handler's ``initialize``.
    """

    name: str
    pattern: str
    handler: Any
    public: bool = False
    kwargs: dict[str, Any] = field(default_factory=dict)


#: What a connector may sync: orders, and members (a CRM's customers, stored as contacts).
CONNECTOR_ENTITIES = ("orders", "members")


@dataclass(frozen=True)
class ConnectorSetting:
    """One setting of a kind of connector, as the console form, the CLI and ``add`` ask for it.

    :param name: the key in the connector's settings, e.g. ``"base_url"``.
    :param title: human label (translated by the plugin).
    :param help: one line saying what to give.
    :param required: a connector of this kind can't be saved without it.
    :param secret: write-only (a token, a password inside a database URL): stored, given to
        ``read``, never shown back, listed or audited — reads say only whether it is set.
    :param default: the value when none is given.
    :param choices: the allowed values, when there are a few.
    :param choice_labels: how a menu names each of ``choices`` (same order, translated by
        the plugin); the values themselves when not given.
    """

    name: str
    title: Any = ""
    help: Any = ""
    required: bool = False
    secret: bool = False
    default: Any = None
    choices: tuple[str, ...] = ()
    choice_labels: tuple[Any, ...] = ()


@dataclass(frozen=True)
class SourcePage:
    """One page of records read from a source, and where the source stands after it.

    :param records: the source's records as dicts (JSON objects, database rows), mapped to
        siyu's fields by the connector's field mapping.
    :param cursor: JSON-able position after this page (a page number, an opaque cursor, the
        last ``updated_at`` and id…); stored in the transaction that stores the records, and
        given back to ``read`` on the next run or after a crash.
    :param total: how many records the source says it has in all, when it says (progress).
    """

    records: list[dict[str, Any]]
    cursor: Any = None
    total: int | None = None


@dataclass(frozen=True)
class ConnectorSpec:
    """A kind of source siyu syncs orders and members from: a REST API, a SQL database, a
    folder of files. A user configures connectors of a kind (its settings and a field
    mapping); siyu's connector framework runs them.

    :param name: the kind's unique name, e.g. ``"rest"``.
    :param title: human title.
    :param read: ``read(settings, entity, cursor) -> Iterable[SourcePage]``: the records of
        ``entity`` (one of :data:`CONNECTOR_ENTITIES`) from ``cursor`` on (``None`` on the
        first run), page by page, lazily. ``settings`` holds every setting, secrets included.
        Each page's records are stored and its ``cursor`` saved before the next page is
        asked for, so a run that stops (a crash, an error) resumes after the last stored page.
        Raise :class:`siyu.core.errors.SyncError` with a clear message when the source fails.
    :param entities: what this kind can sync, among :data:`CONNECTOR_ENTITIES`.
    :param settings: the settings it reads (:class:`ConnectorSetting`).
    :param check: ``check(settings)`` raises :class:`siyu.core.errors.ConfigError` naming a
        bad setting; called before a connector of this kind is saved (optional).
    :param help: one line saying what sources this kind reads.
    """

    name: str
    title: Any = ""
    read: Callable[[dict[str, Any], str, Any], Any] | None = None
    entities: tuple[str, ...] = CONNECTOR_ENTITIES
    settings: tuple[ConnectorSetting, ...] = ()
    check: Callable[[dict[str, Any]], None] | None = None
    help: Any = ""

    def __post_init__(self) -> None:
        unknown = [entity for entity in self.entities if entity not in CONNECTOR_ENTITIES]
        if unknown:
            raise PluginError(_("connector kind {name!r} syncs {unknown}; a connector syncs "
                                "{known}", name=self.name, unknown=", ".join(unknown),
                                known=", ".join(CONNECTOR_ENTITIES)))
        if self.read is None:
            raise PluginError(_("connector kind {name!r} has no read function",
                                name=self.name))


@dataclass(frozen=True)
class CommandSpec:
    """An extra ``siyu`` CLI sub-command.

    :param name: sub-command name, e.g. ``"wecom"``.
    :param help: one-line help, shown by ``siyu --help`` without importing the command.
    :param configure: ``configure(parser)`` adds arguments to an ``argparse`` parser. Either
        the callable or its import path ``"package.module:function"``: ``siyu`` calls it only
        when this command is the one being run (or its ``--help`` is asked for), so a command
        whose options need heavy modules costs the other commands nothing.
    :param run: ``run(ws, args) -> int | None``; the exit code. Either the callable or its
        import path ``"package.module:function"``, imported only when this command runs.
    """

    name: str
    help: str
    configure: Callable[[Any], None] | str
    run: Callable[[Any, Any], int | None] | str

    def __post_init__(self) -> None:
        # Frozen dataclass: replace import paths by lazy callables once, so callers just call
        # ``spec.configure(parser)`` and ``spec.run(ws, args)``.
        object.__setattr__(self, "configure", lazy(self.configure))
        object.__setattr__(self, "run", lazy(self.run))


@dataclass(frozen=True)
class DemoService:
    """Something a plugin runs beside ``siyu demo``'s console (e.g. a sandbox).

    :param name: what it is, e.g. ``"wecom-sandbox"``.
    :param connect: ``connect(console_port) -> lines``: called once the console listens;
        returns lines to print for people trying the demo.
    :param stop: ``stop()``: called when the demo stops.
    """

    name: str
    connect: Callable[[int], list[str]]
    stop: Callable[[], None]


@dataclass(frozen=True)
class StatePrefix:
    """A claim on the WeCom ``state`` strings that start with ``name``.

    A "contact me" or join-way QR code carries a ``state`` (at most 30 characters) that comes
    back with its callbacks; the plugin that claimed the state's prefix is the one that acts on
    it (``ws.state_owner(state)``).

    :param name: the prefix: 2 to 5 characters, lowercase letters, digits, ``_``, ``-``,
        ``.`` or ``:``, ending with ``:`` (``"lc:"``). No prefix may start another.
    :param description: what the states mean, e.g. ``"staff live codes: lc:<code id>"``.
    :param plugin: the plugin that claims it; filled in by siyu with the registering plugin's
        name (leave it empty, or give that same name).
    """

    name: str
    description: str = ""
    plugin: str = ""

    def claims(self, state: str | None) -> bool:
        """Whether ``state`` (a callback's state, or ``via``) is in this prefix."""
        return bool(state) and str(state).startswith(self.name)
