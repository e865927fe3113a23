"""Sync and doctor against the sandbox, and the WeCom console pages."""

import pandas as pd

from siyu.plugins.wecom.doctor import run_checks
from siyu.plugins.wecom.sync import STATE_SETTING, sync


def test_sync_imports_staff_tags_customers_and_groups(wired):
    ws, world = wired.ws, wired.sandbox.world
    report = sync(ws)
    served = {u for u, s in world.staff.items()
              if s.contact_permission and s.activated and not s.resigned}
    followed = {c.external_userid: c for c in world.customers.values()
                if set(c.follows) & served}
    assert followed, "the sandbox world has customers"
    assert set(ws.staff.df()["userid"]) >= served
    assert set(ws.contacts.df()["external_userid"]) == set(followed)
    sample = next(iter(followed.values()))
    stored = ws.contacts.get(sample.external_userid)
    first = min(sample.follows.values(), key=lambda f: f.createtime)
    assert stored.name == sample.name
    assert ws.staff.df().set_index("id").loc[stored.owner_id, "userid"] == first.userid
    assert len(ws.tags.names()) >= len(world.tags) - sum(t.deleted for t in world.tags.values())
    assert report.groups == len(world.group_chats)
    assert ws.settings.get(STATE_SETTING) == {}
    again = sync(ws)
    assert again.created == 0 and again.updated == 0


def test_interrupted_sync_resumes_at_its_stage(wired):
    ws = wired.ws
    ws.settings.set(STATE_SETTING, {"stage": "customers", "batch": 0})
    report = sync(ws)
    assert report.resumed_from == "customers"
    assert report.stages == ["customers", "groups"]


def test_doctor_passes_against_the_sandbox(wired):
    from siyu.plugins.wecom.config import save_config

    save_config(wired.ws, callback_url=f"{wired.base}/wecom/callback")
    checks = {c.step: c for c in run_checks(wired.ws)}
    assert all(c.ok for c in checks.values()), [c.line() for c in checks.values()]


def test_doctor_names_a_wrong_secret(wired):
    from siyu.plugins.wecom.config import save_config

    save_config(wired.ws, secret="wrong-secret")
    checks = {c.step: c for c in run_checks(wired.ws)}
    assert checks["access token"].ok is False
    assert "40001" in checks["access token"].detail
    assert checks["customer-contact permission"].ok is None


def test_settings_page_never_shows_secrets(wired):
    from siyu.plugins.wecom.pages import WeComSettingsPage

    page = WeComSettingsPage(wired.ws)
    assert all(w.value == "" for w in page.secrets.values())
    assert all("(set)" in w.label for w in page.secrets.values())
    page.inputs["callback_url"].value = f"{wired.base}/wecom/callback"
    page.secrets["token"].value_input = page.secrets["token"].value = "TypedToken123"
    page._save()
    assert wired.ws.settings.get("wecom.secret") == wired.sandbox.secret
    assert page.secrets["secret"].label == "App secret (set)"
    # what was typed leaves the browser too (value_input is what the browser holds)
    assert all(w.value == "" and w.value_input == "" for w in page.secrets.values())
    page._check()
    assert isinstance(page.checks.value, pd.DataFrame)
    assert set(page.checks.value["Result"]) == {"Passed"}
