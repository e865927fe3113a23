"""``bench/risk.py`` runs end to end at a tiny size: the screen and the plain loop find the same
(message, word) pairs on the sample, ours finds every planted word, and the last line is the
JSON summary. A smoke test of the script, never a timing (the figures come from running the
bench itself; see bench/README.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytest.importorskip("ahocorasick")


@pytest.mark.slow
def test_risk_bench_runs_small():
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "risk.py"), "--messages", "3000", "--words",
         "500", "--sample", "400", "--repeat", "3", "--seed", "7"],
        cwd=ROOT, capture_output=True, text=True, encoding="utf-8", timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "WRONG ANSWER" not in result.stderr

    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["bench"] == "risk"
    assert summary["case"] == "screen"
    assert (summary["messages"], summary["words"], summary["sample"]) == (3000, 500, 400)
    assert summary["baseline"] == "plain loop"
    assert summary["identical"] is True
    assert summary["matches_checked"] > 0
    assert 0 < summary["messages_matching"] < 3000
    assert summary["ours_per_s"] > 0 and summary["baseline_per_s"] > 0
    assert summary["speedup"] == pytest.approx(
        summary["ours_per_s"] / summary["baseline_per_s"], rel=0.01)
    assert summary["target"] == "speedup >= 50"
    assert isinstance(summary["met"], bool)
    assert "answers: identical on the sample" in result.stdout
