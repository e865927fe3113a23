"""``ws.campaigns``: compose, preview, launch and follow campaigns.

A campaign is drafted (analysts and operators), previewed ("N selected → M will actually
receive it", by reason), then launched now or at a scheduled time (operators): launching
snapshots the audience and writes the outbox in one transaction; senders drain it
(:mod:`siyu.core.messaging.outbox`). While sending it can be paused, resumed or cancelled.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from siyu.core.errors import NotFound, ValidationError, listing
from siyu.core.i18n import core as _
from siyu.core.messaging import launch as launching
from siyu.core.messaging import outbox
from siyu.core.messaging.content import check_content, fill
from siyu.core.services.base import Service, as_utc
from siyu.storage.models import CAMPAIGN_STATUSES, Campaign, Delivery
from siyu.storage.types import utcnow

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

C = Campaign.__table__
D = Delivery.__table__
#: Fields :meth:`CampaignsService.update` may change.
EDITABLE = ("channel", "text", "content", "segment", "spec", "targets", "variants",
            "holdout_pct", "sender", "options", "conversion_days")
#: Most variants of an A/B test.
MAX_VARIANTS = 5
MAX_HOLDOUT_PCT = 50


class CampaignsService(Service):
    """Campaigns of the workspace."""

    # -- reading --------------------------------------------------------------------------

    def get(self, name_or_id: str | int) -> Campaign:
        """The campaign named (or numbered) ``name_or_id``.

        :raises NotFound: no such campaign.
        """
        self.ws.principal.require("data.read")
        column = C.c.id if isinstance(name_or_id, int) else C.c.name
        with self.ws.engine.connect() as conn:
            row = conn.execute(sa.select(C).where(column == name_or_id)).first()
        if row is None:
            raise NotFound(_("no campaign {name!r}", name=name_or_id))
        return Campaign(**row._mapping)

    def list(self) -> pd.DataFrame:
        """Every campaign, newest first, with its delivery counts by status."""
        self.ws.principal.require("data.read")
        frame = self._read_df(sa.select(C.c.id, C.c.name, C.c.status, C.c.channel,
                                        C.c.targeted, C.c.scheduled_at, C.c.launched_at,
                                        C.c.finished_at, C.c.created_by)
                              .order_by(C.c.id.desc()),
                              ("scheduled_at", "launched_at", "finished_at"))
        return frame

    def counts(self, name_or_id: str | int) -> dict[str, int]:
        """The campaign's deliveries by status (``queued``, ``sent``, ``skipped``…)."""
        campaign = self.get(name_or_id)
        with self.ws.engine.connect() as conn:
            rows = conn.execute(sa.select(D.c.status, sa.func.count()).where(
                D.c.campaign_id == campaign.id).group_by(D.c.status)).all()
        return {status: n for status, n in rows}

    def deliveries(self, name_or_id: str | int, *, status: str | None = None,
                   limit: int = 1000, offset: int = 0) -> pd.DataFrame:
        """One page of the campaign's deliveries (server-side paging)."""
        campaign = self.get(name_or_id)
        query = (sa.select(D.c.id, D.c.recipient, D.c.contact_id, D.c.variant, D.c.sender,
                           D.c.status, D.c.reason, D.c.attempts, D.c.provider_id,
                           D.c.updated_at, D.c.sent_at)
                 .where(D.c.campaign_id == campaign.id).order_by(D.c.id)
                 .limit(limit).offset(offset))
        if status:
            query = query.where(D.c.status == status)
        return self._read_df(query, ("updated_at", "sent_at"))

    # -- composing ------------------------------------------------------------------------

    def _channel(self, name: str) -> Any:
        spec = self.ws.channels.get(name)
        if spec is None:
            raise ValidationError(_("channel {channel} is not available; available: "
                                    "{channels}", channel=name,
                                    channels=listing(sorted(self.ws.channels)) or _("none")))
        return spec

    def _checked(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Validate a campaign's fields; the column values to store."""
        spec = self._channel(str(fields.get("channel") or ""))
        content = fields.get("content")
        if content is None:
            content = {"text": fields.get("text") or ""}
        content = check_content(content, spec)
        audience = self._audience(spec, fields)
        variants = self._variants(fields.get("variants"), spec)
        holdout = fields.get("holdout_pct") or 0
        if not isinstance(holdout, int) or not 0 <= holdout <= MAX_HOLDOUT_PCT:
            raise ValidationError(_("holdout_pct must be a whole number from 0 to {most}",
                                    most=MAX_HOLDOUT_PCT))
        sender = fields.get("sender") or {"policy": "owner"}
        if isinstance(sender, str):
            sender = {"policy": "staff", "userid": sender}
        if sender.get("policy") not in ("owner", "staff") or (
                sender["policy"] == "staff" and not sender.get("userid")):
            raise ValidationError(_("sender must be {{\"policy\": \"owner\"}} or a staff "
                                    "member's userid"))
        days = fields.get("conversion_days", 7)
        if not isinstance(days, int) or not 1 <= days <= 90:
            raise ValidationError(_("conversion_days must be a whole number from 1 to 90"))
        return {"channel": spec.name, "content": content, "audience": audience,
                "variants": variants or None, "holdout_pct": holdout, "sender": sender,
                "options": dict(fields.get("options") or {}), "conversion_days": days}

    @staticmethod
    def _fields(campaign: Campaign) -> dict[str, Any]:
        """A stored campaign's fields, as :meth:`_checked` takes them."""
        return {"channel": campaign.channel, "content": campaign.content,
                "variants": campaign.variants, "holdout_pct": campaign.holdout_pct,
                "sender": campaign.sender, "options": campaign.options,
                "conversion_days": campaign.conversion_days, **campaign.audience}

    def _audience(self, spec: Any, fields: Mapping[str, Any]) -> dict[str, Any]:
        given = [k for k in ("segment", "spec", "targets") if fields.get(k) is not None]
        if len(given) != 1:
            raise ValidationError(_("choose exactly one audience: a saved segment, a segment "
                                    "spec or channel targets"))
        key = given[0]
        if spec.recipients == "targets":
            if key != "targets":
                raise ValidationError(_("channel {channel} sends to its own targets; give "
                                        "targets, not a segment", channel=spec.name))
            targets = list(fields["targets"])
            known = spec.targets(self.ws) if spec.targets else {}
            missing = [t for t in targets if t not in known]
            if not targets or missing:
                raise ValidationError(_("unknown targets of channel {channel}: {missing}; "
                                        "known: {known}", channel=spec.name,
                                        missing=listing(missing) or _("none given"),
                                        known=listing(sorted(known)) or _("none")))
            return {"targets": targets}
        if key == "targets":
            raise ValidationError(_("channel {channel} sends to contacts; choose a segment",
                                    channel=spec.name))
        if key == "segment":
            self.ws.segments.get(fields["segment"])  # raises NotFound
            return {"segment": fields["segment"]}
        self.ws.segments.check(fields["spec"])
        return {"spec": fields["spec"]}

    def _variants(self, variants: Any, spec: Any) -> list[dict[str, Any]]:
        if not variants:
            return []
        if not isinstance(variants, Sequence) or len(variants) < 2:
            raise ValidationError(_("an A/B test needs at least two variants"))
        if len(variants) > MAX_VARIANTS:
            raise ValidationError(_("at most {most} variants", most=MAX_VARIANTS))
        out, names = [], set()
        for entry in variants:
            name = str(entry.get("name") or "").strip()
            if not name or name in names or name == launching.HOLDOUT or len(name) > 40:
                raise ValidationError(_("variant names must be distinct, not empty, at most "
                                        "40 characters and not 'holdout': {name!r}",
                                        name=name))
            share = entry.get("share")
            if not isinstance(share, (int, float)) or share <= 0:
                raise ValidationError(_("variant {name}: share must be a positive percentage",
                                        name=name))
            names.add(name)
            content = entry.get("content")
            out.append({"name": name, "share": share,
                        "content": check_content(content, spec) if content else None})
        if abs(sum(v["share"] for v in out) - 100) > 1e-6:
            raise ValidationError(_("variant shares must add up to 100, not {total}",
                                    total=sum(v["share"] for v in out)))
        return out

    def create(self, name: str, *, channel: str, text: str | None = None,
               content: Mapping[str, Any] | None = None, segment: str | None = None,
               spec: Any = None, targets: Sequence[str] | None = None,
               variants: Sequence[Mapping[str, Any]] | None = None, holdout_pct: int = 0,
               sender: Any = None, options: Mapping[str, Any] | None = None,
               conversion_days: int = 7) -> Campaign:
        """Draft a campaign.

        :param channel: a channel name (``ws.channels``): ``"wecom"``, ``"email"``…
        :param text: the message text (shortcut for ``content={"text": text}``); may use
            ``{nickname}``, ``{staff}``, ``{store}`` where the channel can fill them.
        :param content: ``{"text", "subject", "attachments", "fallbacks"}``.
        :param segment: a saved segment's name; or ``spec`` (an unsaved spec), or
            ``targets`` (for channels that address targets, e.g. group robots).
        :param variants: A/B variants ``[{"name": "A", "share": 50, "content": {...}}, ...]``
            (shares in percent, adding up to 100; a variant without content uses the
            campaign's).
        :param holdout_pct: percent of the audience kept back as a control group (0–50).
        :param sender: ``None`` (each customer's owner sends) or a staff userid.
        :raises ValidationError: a bad field, named.
        """
        self.ws.principal.require("campaigns.draft")
        name = str(name or "").strip()
        if not name or len(name) > 200:
            raise ValidationError(_("a campaign needs a name of at most 200 characters"))
        values = self._checked({"channel": channel, "text": text, "content": content,
                                "segment": segment, "spec": spec, "targets": targets,
                                "variants": variants, "holdout_pct": holdout_pct,
                                "sender": sender, "options": options,
                                "conversion_days": conversion_days})
        with self.ws.session() as s:
            conn = s.connection()
            if conn.execute(sa.select(C.c.id).where(C.c.name == name)).first():
                raise ValidationError(_("a campaign named {name!r} exists already", name=name))
            now = utcnow()
            campaign_id = conn.execute(C.insert().values(
                name=name, status="draft", salt=random.randrange(1, 1_000_000), targeted=0,
                created_by=self.ws.principal.name, created_at=now, updated_at=now,
                launched_by="", **values).returning(C.c.id)).scalar_one()
            self.ws.audit("campaign.create", name, {"channel": channel}, session=s)
        return self.get(campaign_id)

    def update(self, name_or_id: str | int, **fields: Any) -> Campaign:
        """Change a draft (or scheduled) campaign; the same fields as :meth:`create`."""
        self.ws.principal.require("campaigns.draft")
        campaign = self.get(name_or_id)
        if campaign.status not in ("draft", "scheduled"):
            raise ValidationError(_("campaign {name!r} is {status}; only drafts and scheduled "
                                    "campaigns can be changed", name=campaign.name,
                                    status=campaign.status))
        unknown = set(fields) - set(EDITABLE)
        if unknown:
            raise ValidationError(_("cannot change {fields}", fields=listing(sorted(unknown))))
        merged = self._fields(campaign)
        if "text" in fields:
            merged["content"] = {**campaign.content, "text": fields.pop("text")}
        if {"segment", "spec", "targets"} & set(fields):
            for key in ("segment", "spec", "targets"):
                merged.pop(key, None)
        merged.update(fields)
        values = self._checked(merged)
        with self.ws.session() as s:
            s.connection().execute(C.update().where(C.c.id == campaign.id)
                                   .values(**values, updated_at=utcnow()))
            self.ws.audit("campaign.update", campaign.name, {"fields": sorted(fields)},
                          session=s)
        return self.get(campaign.id)

    # -- preview and launch ---------------------------------------------------------------

    def _members(self, campaign: Campaign, now: datetime) -> Any:
        audience = campaign.audience
        source = audience.get("segment") or audience.get("spec")
        return launching.query_members(self.ws.segments.query(source, now=now))

    def preview(self, name_or_id: str | int, *, samples: int = 5,
                now: datetime | None = None) -> dict[str, Any]:
        """What launching now would do, without writing anything.

        :return: ``{"selected", "will_receive", "reasons": {reason: n}, "delayed": {reason:
            n}, "variants": {name: n}, "samples": [{"contact_id", "variant", "text"}],
            "blocked_words": [...]}`` (``delayed``: recipients who will receive it later,
            e.g. after quiet hours, by reason).
        """
        self.ws.principal.require("campaigns.draft")
        campaign = self.get(name_or_id)
        spec = self._channel(campaign.channel)
        now = now or utcnow()
        if spec.recipients == "targets":
            targets = campaign.audience.get("targets") or []
            out = {"selected": len(targets), "will_receive": len(targets), "reasons": {},
                   "delayed": {}, "variants": {"": len(targets)}}
            sample_rows: list[Any] = [(None, "", None) for _t in targets[:samples]]
        else:
            select = launching.audience_select(
                self.ws, campaign, spec, members=self._members(campaign, now), now=now,
                rules=launching.launch_rules(self.ws, campaign, now))
            sub = select.subquery()
            with self.ws.engine.connect() as conn:
                out = launching.breakdown(conn, select)
                sample_rows = conn.execute(sa.select(sub.c.contact_id, sub.c.variant,
                                                     sub.c.sender)
                                           .where(sub.c.status == "queued")
                                           .limit(samples)).all()
        out["samples"] = self._samples(campaign, sample_rows)
        out["blocked_words"] = self._screen(campaign)
        return out

    def _samples(self, campaign: Campaign, rows: Sequence[Any]) -> list[dict[str, Any]]:
        from siyu.storage.models import Contact, Staff, Store

        ids = [r[0] for r in rows if r[0] is not None]
        with self.ws.engine.connect() as conn:
            people = {r.id: r for r in conn.execute(
                sa.select(Contact.id, Contact.name, Store.name.label("store"))
                .outerjoin(Store, Store.id == Contact.store_id)
                .where(Contact.id.in_(ids)))} if ids else {}
            staff = dict(conn.execute(sa.select(Staff.userid, Staff.name)).all())
        out = []
        for contact_id, variant, sender in rows:
            content = outbox._variant_content(campaign, variant)
            person = people.get(contact_id)
            values = {"nickname": person.name if person else "",
                      "store": person.store if person else "",
                      "staff": staff.get(sender or "", "")}
            out.append({"contact_id": contact_id, "variant": variant, "sender": sender,
                        "text": fill(content.get("text") or "", values,
                                     content.get("fallbacks"))})
        return out

    def _screen(self, campaign: Campaign) -> list[dict[str, Any]]:
        """Sensitive words in the campaign's texts, from plugins implementing
        ``screen_content`` through ``risk_check`` with ``kind="content"``."""
        if not self.ws.has_hook("risk_check"):
            return []
        texts = [campaign.content.get("text") or ""] + [
            (v.get("content") or {}).get("text") or "" for v in campaign.variants or []]
        problems = []
        for text in dict.fromkeys(t for t in texts if t):
            for reason in self.ws.hook.risk_check(ws=self.ws, action={
                    "kind": "content", "channel": campaign.channel,
                    "campaign_id": campaign.id, "text": text}):
                if reason:
                    problems.append({"text": text, "reason": str(reason)})
        return problems

    def launch(self, name_or_id: str | int, *, now: datetime | None = None) -> Campaign:
        """Snapshot the audience and write the outbox (one transaction); senders then send.

        :raises ValidationError: not a draft or scheduled campaign, blocked words in the
            content, an empty audience, a channel that is not available.
        """
        self.ws.principal.require("campaigns.send")
        campaign = self.get(name_or_id)
        if campaign.status not in ("draft", "scheduled"):
            raise ValidationError(_("campaign {name!r} is {status}; only a draft or a "
                                    "scheduled campaign can be launched", name=campaign.name,
                                    status=campaign.status))
        spec = self._channel(campaign.channel)
        self._checked(self._fields(campaign))  # the channel or segment may be gone
        problems = self._screen(campaign)
        if problems:
            raise ValidationError(_("the content is blocked: {reasons}",
                                    reasons="; ".join(p["reason"] for p in problems)))
        now = now or utcnow()
        snapshot_id = None
        rules: list[Any] = []
        if spec.recipients == "contacts":
            rules = launching.launch_rules(self.ws, campaign, now)  # before the transaction
            source = campaign.audience.get("segment") or campaign.audience.get("spec")
            snapshot_id = self.ws.segments.snapshot(source, now=now).id
        with self.ws.session() as s:
            conn = s.connection()
            moved = conn.execute(C.update().where(
                C.c.id == campaign.id, C.c.status.in_(("draft", "scheduled")))
                .values(status="sending", launched_at=now, updated_at=now,
                        launched_by=self.ws.principal.name, snapshot_id=snapshot_id)).rowcount
            if not moved:
                raise ValidationError(_("campaign {name!r} was launched by someone else",
                                        name=campaign.name))
            if snapshot_id is not None:
                select = launching.audience_select(
                    self.ws, campaign, spec, members=launching.snapshot_members(snapshot_id),
                    now=now, rules=rules)
                written = launching.write_outbox(conn, select, campaign.id)
            else:
                rows = launching.target_rows(campaign, campaign.audience["targets"], now)
                conn.execute(D.insert(), rows)
                written = len(rows)
            if not written:
                raise ValidationError(_("the audience of campaign {name!r} is empty",
                                        name=campaign.name))
            queued = conn.execute(sa.select(sa.func.count()).where(
                D.c.campaign_id == campaign.id, D.c.status == "queued")).scalar_one()
            conn.execute(C.update().where(C.c.id == campaign.id).values(targeted=written))
            if not queued:
                conn.execute(C.update().where(C.c.id == campaign.id)
                             .values(status="done", finished_at=now))
            skipped = [(i, "skipped") for i in conn.execute(sa.select(D.c.id).where(
                D.c.campaign_id == campaign.id, D.c.status == "skipped")).scalars()]
            outbox.notify_changes(self.ws, s, skipped)
            self.ws.audit("campaign.launch", campaign.name,
                          {"targeted": written, "queued": queued}, session=s)
        return self.get(campaign.id)

    def schedule(self, name_or_id: str | int, at: datetime | str) -> Campaign:
        """Launch the campaign at ``at`` (read in the workspace timezone when naive); the
        scheduler's ``campaigns.launch_due`` job launches it, across restarts.

        :raises ValidationError: ``at`` is in the past.
        """
        self.ws.principal.require("campaigns.send")
        campaign = self.get(name_or_id)
        when = as_utc(at, self.ws.timezone)
        if when is None or when <= utcnow():
            raise ValidationError(_("the time {at} is in the past; choose a later one",
                                    at=at))
        if campaign.status not in ("draft", "scheduled"):
            raise ValidationError(_("campaign {name!r} is {status}; only a draft can be "
                                    "scheduled", name=campaign.name, status=campaign.status))
        self._checked(self._fields(campaign))  # the channel or segment may be gone
        self._set_status(campaign, ("draft", "scheduled"), "scheduled", "campaign.schedule",
                         scheduled_at=when)
        return self.get(campaign.id)

    def launch_due(self, *, now: datetime | None = None) -> list[str]:
        """Launch every scheduled campaign whose time has come; their names."""
        now = now or utcnow()
        with self.ws.engine.connect() as conn:
            names = list(conn.execute(sa.select(C.c.name).where(
                C.c.status == "scheduled", C.c.scheduled_at <= now)
                .order_by(C.c.scheduled_at)).scalars())
        launched = []
        for name in names:
            self.launch(name, now=now)
            launched.append(name)
        return launched

    # -- while sending --------------------------------------------------------------------

    def _set_status(self, campaign: Campaign, allowed: tuple[str, ...], status: str,
                    action: str, **values: Any) -> None:
        if campaign.status not in allowed:
            raise ValidationError(_("campaign {name!r} is {status}; cannot {action} it",
                                    name=campaign.name, status=campaign.status,
                                    action=action.split(".")[-1]))
        now = utcnow()
        with self.ws.session() as s:
            conn = s.connection()
            moved = conn.execute(C.update().where(C.c.id == campaign.id,
                                                  C.c.status.in_(allowed))
                                 .values(status=status, updated_at=now, **values)).rowcount
            if not moved:
                raise ValidationError(_("campaign {name!r} changed meanwhile; reload it",
                                        name=campaign.name))
            if status == "cancelled":
                ids = list(conn.execute(sa.select(D.c.id).where(
                    D.c.campaign_id == campaign.id, D.c.status == "queued")).scalars())
                for i in range(0, len(ids), 5000):
                    conn.execute(D.update().where(D.c.id.in_(ids[i:i + 5000]),
                                                  D.c.status == "queued")
                                 .values(status="cancelled", reason="campaign cancelled",
                                         updated_at=now))
                outbox.notify_changes(self.ws, s, [(i, "cancelled") for i in ids])
            self.ws.audit(action, campaign.name, {"from": campaign.status}, session=s)

    def pause(self, name_or_id: str | int) -> Campaign:
        """Stop handing the campaign's deliveries to senders (batches in flight finish)."""
        self.ws.principal.require("campaigns.send")
        campaign = self.get(name_or_id)
        self._set_status(campaign, ("sending",), "paused", "campaign.pause")
        return self.get(campaign.id)

    def resume(self, name_or_id: str | int) -> Campaign:
        """Send a paused campaign's remaining deliveries."""
        self.ws.principal.require("campaigns.send")
        campaign = self.get(name_or_id)
        self._set_status(campaign, ("paused",), "sending", "campaign.resume")
        return self.get(campaign.id)

    def cancel(self, name_or_id: str | int) -> Campaign:
        """Cancel a draft, scheduled, sending or paused campaign: nothing more is sent
        (queued deliveries become ``cancelled``; batches in flight finish)."""
        self.ws.principal.require("campaigns.send")
        campaign = self.get(name_or_id)
        self._set_status(campaign, ("draft", "scheduled", "sending", "paused"), "cancelled",
                         "campaign.cancel", finished_at=utcnow())
        return self.get(campaign.id)

    def drain(self, name_or_id: str | int | None = None, *, max_batches: int | None = None,
              progress: Any = None) -> outbox.DrainReport:
        """Send what is due now, in this process (a sender worker does the same).

        :param name_or_id: only this campaign.
        """
        self.ws.principal.require("campaigns.send")
        campaign_id = self.get(name_or_id).id if name_or_id is not None else None
        return outbox.drain(self.ws, campaign_id=campaign_id, max_batches=max_batches,
                            progress=progress)

    @staticmethod
    def statuses() -> tuple[str, ...]:
        """Every campaign status, in life order."""
        return CAMPAIGN_STATUSES

    def results(self, name_or_id: str | int) -> pd.DataFrame:
        """Per variant (and holdout): targeted, skipped, blocked, failed, in flight,
        awaiting confirmation, sent, conversions, conversion rate, revenue (fen), lift over
        the holdout and a two-proportion test against the first variant (or, for the first,
        against the holdout). See :mod:`siyu.core.messaging.results`."""
        from siyu.core.messaging.results import results

        self.ws.principal.require("data.read")
        return results(self.ws, self.get(name_or_id))
