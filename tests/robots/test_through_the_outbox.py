"""Campaigns on the ``robot`` and ``webhook`` channels, launched and drained by the outbox
(skipped while the workspace has no campaigns service)."""

from __future__ import annotations

import json

import pytest

from siyu.plugins.robots import add_robot, configure_webhook, robot_rows

from .conftest import SECRET


@pytest.fixture
def campaigns(lite):
    if not hasattr(lite, "campaigns"):
        pytest.skip("the campaigns service is not there yet")
    return lite.campaigns


def test_a_robot_campaign_reaches_its_groups(lite, campaigns, fake):
    add_robot(lite, "ops", fake.url("k-ops"))
    add_robot(lite, "dev", fake.url("invalid"))
    campaigns.create("早报", channel="robot", text="**今日**", targets=["ops", "dev"],
                     options={"format": "markdown"})
    campaigns.launch("早报")
    report = campaigns.drain("早报")
    assert report.statuses == {"sent": 1, "failed": 1}
    assert [c["body"] for c in fake.received] == [
        {"msgtype": "markdown", "markdown": {"content": "**今日**"}}] * 2
    assert "refused (code 93000)" in next(r for r in robot_rows(lite)
                                          if r["name"] == "dev")["last_error"]


def test_a_webhook_campaign_posts_each_contact_signed(lite, campaigns, receiver):
    for n in range(3):
        lite.contacts.upsert(f"wm{n}", name=f"客户{n}", city="杭州")
    configure_webhook(lite, url=receiver.url(), secret=SECRET)
    campaigns.create("回访", channel="webhook", text="{nickname} 您好",
                     spec={"city": {"cities": ["杭州"]}})
    campaigns.launch("回访")
    assert campaigns.drain("回访").statuses == {"sent": 3}
    assert all(r["valid"] for r in receiver.received)
    bodies = sorted((json.loads(r["body"]) for r in receiver.received),
                    key=lambda b: b["contact_id"])
    assert [b["text"] for b in bodies] == ["客户0 您好", "客户1 您好", "客户2 您好"]
    assert {r["headers"]["Idempotency-Key"] for r in receiver.received} == {
        b["key"] for b in bodies}
