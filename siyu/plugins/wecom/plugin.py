"""The WeCom plugin: callbacks, sync, the mass-send channel, settings, doctor, sandbox.

Registered as a built-in (``siyu.plugins.wecom.plugin``), written exactly like a
third-party plugin.
"""

from __future__ import annotations

import logging
from pathlib import Path

import sqlalchemy as sa

from siyu.core.i18n import translator
from siyu.core.plugins import hookimpl, notified_when
from siyu.core.records import ModelSet, RouteSpec
from siyu.plugins.wecom import models
from siyu.plugins.wecom.service import wecom
from siyu.storage.models import Staff

log = logging.getLogger("siyu.wecom")
_ = translator("siyu.plugins.wecom")


@hookimpl
def register_models():
    """The callback store and customer groups, with their own migrations."""
    return [ModelSet("wecom", (models.WeComCallback.__table__,
                               models.WeComGroupChat.__table__,
                               models.WeComGroupMember.__table__,
                               models.WeComMassSend.__table__,
                               models.WeComMassResult.__table__,
                               models.WeComCallbackRejection.__table__,
                               models.WeComDepartment.__table__,
                               models.WeComMember.__table__),
                     Path(__file__).parent / "migrations")]


@hookimpl
def register_routes(ws):
    """The public callback endpoint; serving it also starts the callback processor."""
    # Imported here, not at the top: the receiver pulls in Tornado and the console's auth
    # (Panel), which only `siyu serve` needs; every other command stays quick to start.
    from siyu.plugins.wecom.processor import CallbackProcessor
    from siyu.plugins.wecom.receiver import CALLBACK_PATH, WeComCallbackHandler

    service = wecom(ws)
    if service.processor is None:
        service.processor = CallbackProcessor(ws)
    service.processor.start()
    service.inbox.start()
    return [RouteSpec("wecom-callback", CALLBACK_PATH, WeComCallbackHandler, public=True)]


#: Ways a contact arrives without a WeCom callback, so without a welcome code.
NO_WELCOME_CODE = frozenset({"import", "api", "wecom"})


@hookimpl(trylast=True)
@notified_when(lambda via, **_: via not in NO_WELCOME_CODE)
def on_contact_added(ws, contact, via):
    """Greet a new WeCom friend with the workspace's default welcome text, when no other
    plugin used the friendship's welcome code first (only contacts added through a callback
    are delivered here: imports and syncs bring no welcome code)."""
    text = wecom(ws).config.welcome_text
    if not text or not contact.external_userid or contact.owner_id is None:
        return
    with ws.engine.connect() as conn:
        userid = conn.execute(sa.select(Staff.userid)
                              .where(Staff.id == contact.owner_id)).scalar()
    if userid and wecom(ws).send_welcome(contact.external_userid, userid, text):
        ws.events.record("contact.welcomed",
                         dedupe_key=f"welcome:{contact.external_userid}:{userid}:"
                                    f"{contact.added_at.timestamp() if contact.added_at else 0}",
                         contact_id=contact.id, source="wecom", payload={"userid": userid})


@hookimpl
def start_demo(ws):
    """The built-in sandbox for ``siyu demo``: configured, synced, one live code to scan,
    its callbacks sent to the demo console."""
    from siyu.core.records import DemoService
    from siyu.plugins.wecom.demo import wire_sandbox

    demo = wire_sandbox(ws)
    return DemoService("wecom-sandbox", demo.connect, demo.stop)


@hookimpl
def register_commands():
    """``siyu wecom``, ``siyu doctor`` and ``siyu sandbox``, named by import path: the
    commands module (and the sandbox server behind ``siyu sandbox``'s options) is imported
    only when one of them is run."""
    from siyu.core.records import CommandSpec

    module = "siyu.plugins.wecom.commands"
    return [CommandSpec("wecom", _.lazy("WeCom: settings, sync, callbacks"),
                        f"{module}:configure_wecom", f"{module}:run_wecom"),
            CommandSpec("doctor", _.lazy("check the WeCom set-up step by step"),
                        f"{module}:configure_doctor", f"{module}:run_doctor"),
            CommandSpec("sandbox", _.lazy("run the local WeCom-compatible sandbox"),
                        f"{module}:configure_sandbox", f"{module}:run_sandbox")]


@hookimpl
def register_jobs(ws):
    """An hourly incremental sync, a sweep of callbacks left pending, mass-send results,
    a daily org sync (departments and members → regions, stores and staff) and the daily
    digest of customers deleted by staff."""
    from siyu.core.records import JobSpec

    return [JobSpec("wecom.sync", run_sync_job, "interval", {"hours": 1},
                    _.lazy("WeCom sync")),
            JobSpec("wecom.callbacks", run_pending_job, "interval", {"minutes": 1},
                    _.lazy("Apply pending WeCom callbacks")),
            JobSpec("wecom.mass_results", run_mass_results_job, "interval", {"minutes": 5},
                    _.lazy("Read WeCom mass-send results")),
            JobSpec("wecom.org_sync", run_org_sync_job, "cron", {"hour": 5, "minute": 10},
                    _.lazy("WeCom org sync (regions, stores, staff)")),
            JobSpec("wecom.deletion_digest", run_deletion_digest_job, "cron",
                    {"hour": 8, "minute": 30},
                    _.lazy("Alert admins: customers deleted by staff, per store"))]


def run_sync_job(ws):
    """Scheduled sync: skipped quietly while WeCom is not configured."""
    from siyu.plugins.wecom.sync import sync

    if not wecom(ws).config.api_ready:
        return "WeCom not configured; skipped"
    return sync(ws).summary()


def run_org_sync_job(ws):
    """Scheduled org sync with the saved settings: skipped quietly while WeCom is not
    configured."""
    from siyu.plugins.wecom.org_sync import sync_org

    if not wecom(ws).config.api_ready:
        return "WeCom not configured; skipped"
    return sync_org(ws).summary()


def run_deletion_digest_job(ws):
    """Scheduled digest of yesterday's customer deletions by staff, one robot message per
    store; skipped quietly while no robot is chosen."""
    from siyu.plugins.wecom.deletion_alerts import run_digest_job

    return run_digest_job(ws)


def run_pending_job(ws):
    """Scheduled sweep of pending callbacks (the receiver normally applies them at once)."""
    from siyu.plugins.wecom.processor import CallbackProcessor

    return f"{CallbackProcessor(ws).run_pending(limit=1000)} applied"


@hookimpl
def register_pages(ws):
    """WeCom settings (admins) and sync (operators and admins)."""
    from siyu.core.records import PageSpec

    # Import paths, not classes: the page module imports Panel, loaded on first build only.
    return [PageSpec("wecom-settings", _.lazy("WeCom settings"),
                     "siyu.plugins.wecom.pages:WeComSettingsPage", icon="settings",
                     permission="settings.write", order=70),
            PageSpec("wecom-sync", _.lazy("WeCom sync"),
                     "siyu.plugins.wecom.pages:WeComSyncPage",
                     icon="refresh", permission="data.write", order=60)]


def run_mass_results_job(ws):
    """Scheduled read of mass-send results into deliveries."""
    from siyu.plugins.wecom.channel import poll_results

    if not wecom(ws).config.api_ready:
        return "WeCom not configured; skipped"
    return f"{poll_results(ws)} recipients changed status"


@hookimpl
def register_channels():
    """Mass messages through add_msg_template: ``wecom`` to customers (10,000 per task),
    ``wecom_group`` to every customer group of the staff members chosen as targets (one
    task per member; groups have their own receive cap, which WeCom enforces)."""
    from siyu.core.records import ChannelSpec

    return [ChannelSpec("wecom", _.lazy("WeCom mass message"), batch_size=10_000,
                        text_limit=4000, max_attachments=9, placeholders=("staff",),
                        reconcile="siyu.plugins.wecom.channel:reconcile", wecom_quota=True,
                        address="external_userid"),
            ChannelSpec("wecom_group", _.lazy("WeCom customer-group mass message"),
                        batch_size=100, text_limit=4000, max_attachments=9, placeholders=(),
                        recipients="targets",
                        targets="siyu.plugins.wecom.group_channel:targets",
                        reconcile="siyu.plugins.wecom.group_channel:reconcile")]


@hookimpl
def send(ws, channel, batch):
    """Send a batch through the ``wecom`` or ``wecom_group`` channel; ``None`` for other
    channels."""
    if channel == "wecom_group":
        from siyu.plugins.wecom.group_channel import send as send_groups

        return send_groups(ws, batch)
    if channel != "wecom":
        return None
    from siyu.plugins.wecom.channel import send as send_batch

    return send_batch(ws, batch)


@hookimpl
def register_segment_rules():
    """The ``group`` segment rule: customers in chosen WeCom customer groups."""
    from siyu.plugins.wecom import segment_rules

    return [segment_rules.RULE]


@hookimpl
def segment(ws, rule, params):
    """Compile the ``group`` rule; ``None`` for every other rule."""
    if rule != "group":
        return None
    from siyu.plugins.wecom import segment_rules

    return segment_rules.compile_rule(params)
