"""plan_members: who a live code lists now, and why (pure, no database)."""

from datetime import datetime
from zoneinfo import ZoneInfo

from siyu.plugins.livecodes.routing import CodeRules, Counts, Member, plan_members

TZ = ZoneInfo("Asia/Shanghai")
MONDAY_10 = datetime(2025, 6, 2, 10, 0, tzinfo=TZ)
A, B, C = Member("a"), Member("b"), Member("c")


def plan(strategy="round_robin", members=(A, B, C), counts=None, now=MONDAY_10, **rules):
    return plan_members(CodeRules(strategy, **rules), list(members), counts or {}, now)


def test_round_robin_lists_exactly_the_member_next_in_turn():
    result = plan()
    assert result.listed == ["a"]
    assert result.reasons["a"] == "next in turn"


def test_round_robin_moves_on_after_a_member_had_its_turn():
    assert plan(counts={"a": Counts(1, 1)}).listed == ["b"]
    assert plan(counts={"a": Counts(1, 1), "b": Counts(1, 1)}).listed == ["c"]


def test_round_robin_starts_a_new_round_when_everyone_had_a_turn():
    result = plan(counts={u: Counts(1, 1) for u in "abc"})
    assert result.listed == ["a"] and result.new_round


def test_round_cap_lets_a_member_take_several_in_a_row():
    assert plan(counts={"a": Counts(1, 1)}, round_cap=2).listed == ["a"]
    assert plan(counts={"a": Counts(2, 2)}, round_cap=2).listed == ["b"]


def test_weighted_lists_the_member_furthest_below_its_share():
    members = [Member("a", weight=3), Member("b", weight=1)]
    assert plan("weighted", members, {"a": Counts(3), "b": Counts(0)}).listed == ["b"]
    assert plan("weighted", members, {"a": Counts(2), "b": Counts(1)}).listed == ["a"]


def test_weighted_shares_follow_weights_over_many_adds():
    members = [Member("a", weight=3), Member("b", weight=1)]
    counts = {"a": Counts(), "b": Counts()}
    for _ in range(400):
        chosen = plan("weighted", members, counts).listed[0]
        counts[chosen] = Counts(counts[chosen].today + 1)
    assert (counts["a"].today, counts["b"].today) == (300, 100)


def test_least_loaded_lists_every_member_tied_for_fewest_adds():
    result = plan("least_loaded", counts={"a": Counts(2), "b": Counts(1), "c": Counts(1)})
    assert result.listed == ["b", "c"]
    assert result.reasons["b"] == "fewest adds today (1)"


def test_a_member_at_the_daily_cap_leaves_the_list():
    result = plan("least_loaded", counts={"a": Counts(0)}, members=[Member("a", daily_cap=0),
                                                                    B])
    assert result.listed == ["b"]
    assert result.reasons["a"].startswith("capped")


def test_the_codes_daily_cap_applies_and_midnight_is_the_next_change():
    result = plan("schedule", counts={"a": Counts(5)}, daily_cap=5)
    assert result.listed == ["b", "c"]
    assert result.next_change_at == datetime(2025, 6, 3, 0, 0, tzinfo=TZ)


def test_backup_staff_take_over_when_every_member_is_capped():
    result = plan(counts={u: Counts(5) for u in "abc"}, daily_cap=5, backup=("z",))
    assert result.listed == ["z"]
    assert result.reasons["z"].startswith("backup")


def test_without_backup_the_least_loaded_member_keeps_the_code_open():
    result = plan(counts={"a": Counts(5), "b": Counts(6), "c": Counts(7)}, daily_cap=5)
    assert result.listed == ["a"]
    assert "no backup" in result.reasons["a"]


def test_schedule_lists_members_on_duty_and_says_who_is_off():
    day = Member("a", slots=({"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "18:00"},))
    night = Member("b", slots=({"days": [0, 1, 2, 3, 4, 5, 6], "start": "18:00",
                                "end": "09:00"},))
    result = plan("schedule", [day, night])
    assert result.listed == ["a"]
    assert result.reasons["b"].startswith("off duty")
    assert result.next_change_at == datetime(2025, 6, 2, 18, 0, tzinfo=TZ)
    late = plan("schedule", [day, night], now=datetime(2025, 6, 3, 2, 0, tzinfo=TZ))
    assert late.listed == ["b"]


def test_off_duty_everyone_goes_to_backup():
    weekend = Member("a", slots=({"days": [5, 6], "start": "00:00", "end": "24:00"},))
    result = plan("schedule", [weekend], backup=("z",))
    assert result.listed == ["z"]
    assert result.next_change_at == datetime(2025, 6, 7, 0, 0, tzinfo=TZ)
