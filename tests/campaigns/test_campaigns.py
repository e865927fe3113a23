"""Campaigns through the outbox: composing, launching, splitting, caps, retries, states."""

from datetime import timedelta

import pytest

from siyu.core.errors import NotFound, PermissionDenied, ValidationError
from siyu.core.messaging import outbox
from siyu.core.permissions import Principal
from siyu.storage.types import utcnow

SHANGHAI = {"city": {"cities": ["上海"]}}


def test_a_campaign_reaches_its_segment_once_and_finishes(cws, rehearsal):
    cws.segments.create("上海客户", SHANGHAI)
    campaign = cws.campaigns.create("冬季上新", channel="rehearsal",
                                    text="{nickname}您好，冬季新品到店", segment="上海客户")
    assert campaign.status == "draft"
    preview = cws.campaigns.preview("冬季上新")
    assert preview["selected"] == preview["will_receive"] == 100
    assert preview["samples"][0]["text"].startswith("顾客")
    launched = cws.campaigns.launch("冬季上新")
    assert launched.status == "sending" and launched.targeted == 100
    report = cws.campaigns.drain()
    assert report.statuses == {"sent": 100} and report.batches == 1
    assert cws.campaigns.get("冬季上新").status == "done"
    assert sorted(m.contact_id for m in rehearsal.sent) == sorted(
        int(i) for i in cws.segments.df("上海客户")["id"])
    assert {m.text for m in rehearsal.sent} == {f"顾客{i}您好，冬季新品到店"
                                                for i in range(0, 200, 2)}
    assert cws.campaigns.drain().handled == 0  # nothing is sent twice
    assert sorted(status for _i, status in rehearsal.statuses) == ["sent"] * 100


def test_bad_content_is_refused_before_anything_is_stored(cws):
    cws.segments.create("上海客户", SHANGHAI)
    cases = [
        (dict(channel="nope", text="hi"), "channel nope"),
        (dict(channel="rehearsal", text="{nick}好"), "{nick}"),
        (dict(channel="rehearsal", text="好{"), "braces"),
        (dict(channel="rehearsal", text=""), "empty"),
        (dict(channel="wecom", text="{nickname}好"), "{nickname}"),
        (dict(channel="wecom", text="字" * 1400), "4000 bytes"),
        (dict(channel="wecom", content={"text": "hi", "attachments": [{"msgtype": "image"}] * 10}),
         "at most 9"),
        (dict(channel="rehearsal", text="hi", variants=[{"name": "A", "share": 60},
                                                        {"name": "B", "share": 30}]), "100"),
        (dict(channel="rehearsal", text="hi", holdout_pct=80), "holdout_pct"),
    ]
    for fields, expected in cases:
        fields.setdefault("segment", "上海客户")
        with pytest.raises(ValidationError, match=expected.replace("{", r"\{")
                           .replace("}", r"\}")):
            cws.campaigns.create("坏", **fields)
    with pytest.raises(NotFound):
        cws.campaigns.create("坏", channel="rehearsal", text="hi", segment="没有这个人群")
    assert cws.campaigns.list().empty


def test_empty_audience_and_past_schedule_are_refused(cws):
    cws.campaigns.create("空", channel="rehearsal", text="hi",
                         spec={"city": {"cities": ["拉萨"]}})
    with pytest.raises(ValidationError, match="empty"):
        cws.campaigns.launch("空")
    assert cws.campaigns.get("空").status == "draft"
    assert cws.campaigns.counts("空") == {}
    with pytest.raises(ValidationError, match="past"):
        cws.campaigns.schedule("空", utcnow() - timedelta(minutes=1))


def test_holdout_and_variants_split_in_the_given_proportions(cws, rehearsal):
    from tests.campaigns.conftest import add_contacts

    add_contacts(cws, 9800, start=200)
    cws.campaigns.create("AB", channel="rehearsal", text="A 文案", spec={"city": {
        "cities": ["上海", "北京"]}}, holdout_pct=10,
        variants=[{"name": "A", "share": 50},
                  {"name": "B", "share": 50, "content": {"text": "B 文案"}}])
    preview = cws.campaigns.preview("AB")
    cws.campaigns.launch("AB")
    counts = cws.campaigns.counts("AB")
    assert counts["skipped"] == preview["reasons"]["holdout"]
    n = 10_000
    # Binomial(10,000, 0.1): sd 30; a split off by more than 4 sd would be a bug.
    assert abs(counts["skipped"] - 1000) < 120
    assert abs(preview["variants"]["A"] - 4500) < 4 * 50
    assert preview["variants"]["A"] + preview["variants"]["B"] == n - counts["skipped"]
    cws.campaigns.drain()
    texts = {m.variant: m.text for m in rehearsal.sent}
    assert texts == {"A": "A 文案", "B": "B 文案"}
    results = cws.campaigns.results("AB").set_index("variant")
    assert list(results.index) == ["A", "B", "holdout"]
    assert results.loc["holdout", "targeted"] == counts["skipped"]


def test_quota_and_frequency_caps_hold_across_campaigns(cws):
    cws.settings.set("campaigns.frequency_cap", {"messages": 1, "days": 7})
    for name in ("一", "二"):
        cws.campaigns.create(name, channel="rehearsal", text=name, spec=SHANGHAI)
    cws.campaigns.launch("一")
    assert cws.campaigns.preview("二")["reasons"] == {"frequency cap": 100}
    cws.campaigns.drain()
    second = cws.campaigns.launch("二")
    assert second.status == "done"  # nobody left to send to
    assert cws.campaigns.counts("二") == {"skipped": 100}
    assert set(cws.campaigns.deliveries("二")["reason"]) == {"frequency cap"}


def test_transient_failures_are_retried_with_backoff_then_sent(cws, rehearsal):
    cws.campaigns.create("重试", channel="flaky", text="hi", spec=SHANGHAI)
    cws.campaigns.launch("重试")
    assert cws.campaigns.drain().statuses == {"queued": 100}
    frame = cws.campaigns.deliveries("重试")
    assert set(frame["status"]) == {"queued"} and set(frame["attempts"]) == {1}
    assert cws.campaigns.drain().handled == 0  # waiting out the backoff
    later = utcnow() + timedelta(seconds=outbox.BACKOFF_S[0] + 1)
    for _ in range(2):
        for cid, channel in outbox.sending_campaigns(cws):
            while (claimed := outbox.claim(cws, cid, channel, worker="t", now=later)):
                outbox.send_batch(cws, claimed)
        later += timedelta(seconds=outbox.BACKOFF_S[1] + 1)
    assert cws.campaigns.counts("重试") == {"sent": 100}
    assert set(cws.campaigns.deliveries("重试")["attempts"]) == {3}


def test_an_unknown_outcome_is_never_sent_again_blindly(cws, rehearsal):
    cws.campaigns.create("不确定", channel="unsure", text="hi", spec=SHANGHAI)
    cws.campaigns.launch("不确定")
    cws.campaigns.drain()
    frame = cws.campaigns.deliveries("不确定")
    assert set(frame["status"]) == {"failed"}
    assert frame["reason"].str.contains("outcome unknown").all()
    assert set(rehearsal.tries.values()) == {1}


def test_a_crashed_batch_of_a_channel_that_cannot_be_asked_is_sent_again(cws, rehearsal):
    cws.campaigns.create("崩溃", channel="rehearsal", text="hi", spec=SHANGHAI)
    cws.campaigns.launch("崩溃")
    [(cid, channel)] = outbox.sending_campaigns(cws)
    claimed = outbox.claim(cws, cid, channel, worker="dead")
    assert outbox.recover(cws) == 0  # its lease still runs
    later = utcnow() + outbox.LEASE + timedelta(seconds=1)
    assert outbox.stale_batches(cws, later) == [claimed.batch_id]
    with cws.engine.begin() as conn:  # the lease ran out
        conn.execute(outbox.B.update().values(lease_until=utcnow() - timedelta(seconds=1)))
    report = cws.campaigns.drain()
    assert report.recovered == 1 and report.statuses == {"sent": 100}
    assert cws.campaigns.counts("崩溃") == {"sent": 100}


def test_pause_resume_and_cancel(cws, rehearsal):
    from tests.campaigns.conftest import add_contacts

    add_contacts(cws, 300, start=200)
    cws.campaigns.create("暂停", channel="rehearsal", text="hi", spec={"city": {
        "cities": ["上海", "北京"]}})
    cws.campaigns.launch("暂停")
    cws.campaigns.drain(max_batches=1)
    cws.campaigns.pause("暂停")
    assert cws.campaigns.drain().handled == 0
    cws.campaigns.resume("暂停")
    cws.campaigns.drain(max_batches=1)
    cws.campaigns.cancel("暂停")
    assert cws.campaigns.counts("暂停") == {"sent": 200, "cancelled": 300}
    assert cws.campaigns.drain().handled == 0
    with pytest.raises(ValidationError, match="cancelled"):
        cws.campaigns.resume("暂停")


def test_a_word_listed_after_launch_blocks_the_messages(cws, rehearsal):
    from siyu.plugins.risk.checks import RECHECK_S
    from siyu.plugins.risk.words import add_word

    cws.campaigns.create("违禁", channel="rehearsal", text="全网最低价，速来", spec=SHANGHAI)
    cws.campaigns.launch("违禁")
    add_word(cws, "最低价", "广告法")
    import time

    time.sleep(RECHECK_S + 0.1)
    cws.campaigns.drain()
    frame = cws.campaigns.deliveries("违禁")
    assert set(frame["status"]) == {"blocked"}
    assert frame["reason"].str.contains("「最低价」(广告法)", regex=False).all()
    assert rehearsal.sent == []
    cws.campaigns.create("违禁2", channel="rehearsal", text="全网最低价", spec=SHANGHAI)
    assert "最低价" in cws.campaigns.preview("违禁2")["blocked_words"][0]["reason"]
    with pytest.raises(ValidationError, match="最低价"):
        cws.campaigns.launch("违禁2")


def test_scheduled_campaigns_launch_when_due(cws):
    cws.campaigns.create("定时", channel="rehearsal", text="hi", spec=SHANGHAI)
    at = utcnow() + timedelta(hours=1)
    assert cws.campaigns.schedule("定时", at).status == "scheduled"
    assert cws.campaigns.launch_due() == []
    assert cws.campaigns.launch_due(now=at + timedelta(seconds=1)) == ["定时"]
    assert cws.campaigns.get("定时").status == "sending"


def test_analysts_draft_and_preview_but_do_not_launch(cws):
    analyst = cws.as_user(Principal("ana", "analyst"))
    analyst.campaigns.create("分析师草稿", channel="rehearsal", text="hi", spec=SHANGHAI)
    assert analyst.campaigns.preview("分析师草稿")["will_receive"] == 100
    with pytest.raises(PermissionDenied):
        analyst.campaigns.launch("分析师草稿")
    with pytest.raises(PermissionDenied):
        analyst.campaigns.drain()


def test_a_segment_a_scheduled_campaign_needs_cannot_be_deleted(cws):
    cws.segments.create("上海客户", SHANGHAI)
    cws.campaigns.create("定时活动", channel="rehearsal", text="hi", segment="上海客户")
    cws.campaigns.schedule("定时活动", utcnow() + timedelta(days=1))
    with pytest.raises(ValidationError, match="定时活动"):
        cws.segments.delete("上海客户")
    cws.campaigns.cancel("定时活动")
    cws.segments.delete("上海客户")
    with pytest.raises(NotFound):
        cws.segments.get("上海客户")


def test_a_claimed_batch_knows_how_many_deliveries_it_holds(cws):
    cws.campaigns.create("计数", channel="rehearsal", text="hi", spec=SHANGHAI)
    campaign = cws.campaigns.launch("计数")
    claimed = outbox.claim(cws, campaign.id, "rehearsal", worker="t")
    frame = cws.campaigns.deliveries("计数", status="sending")
    assert claimed.size == len(frame) == 100
    with cws.engine.connect() as conn:
        assert outbox.items_in_batch(conn, claimed.batch_id) == 100
