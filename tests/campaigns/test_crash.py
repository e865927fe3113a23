"""Exactly once through crashes: sender processes killed with SIGKILL at random points while
they drain a campaign to the WeCom sandbox, restarted each time (see ``crash.py``; the
acceptance-size run is ``python -m tests.campaigns.crash --deliveries 100000``)."""

import pytest

from tests.campaigns.crash import run

pytestmark = pytest.mark.slow


def test_twenty_kills_lose_and_double_nothing(db_url, tmp_path):
    senders = 4 if db_url.startswith("postgresql") else 1
    # 60 staff: 60 batches of 50, so the senders are still at work for all 20 kills.
    report = run(db_url, tmp_path, deliveries=3000, kills=20, senders=senders, staff=60)
    assert report["kills"] >= 15
    assert report["missing"] == 0 and report["doubled"] == 0 and report["disagree"] == 0
    assert report["received_once"] == 3000 and report["received_twice_or_more"] == 0
    assert report["statuses_after_confirmation"] == {"sent": 3000}
    assert report["batches_recovered"] >= 1  # the kills did leave batches in doubt
    assert report["ok"], report
