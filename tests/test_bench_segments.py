"""``bench/segments.py`` runs end to end at a tiny size: siyu on SQLite, DuckDB and pandas
count every segment alike, the stats stay current through upserts and an import, and the
last line is the JSON summary. A smoke test of the script, never a timing (the figures come
from running the bench itself; see bench/README.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SEGMENTS = ("tag_city", "lapsed", "rfm_555", "douyin_no_order", "nested")

pytest.importorskip("duckdb")


@pytest.mark.slow
def test_segments_bench_runs_small(tmp_path):
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "segments.py"), "--size", "1000",
         "--engines", "sqlite", "--upserts", "10", "--import-size", "300",
         "--tmpdir", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, encoding="utf-8", timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "WRONG ANSWER" not in result.stderr

    lines = result.stdout.strip().splitlines()
    summary = json.loads(lines[-1])
    assert summary["bench"] == "segments"
    assert summary["case"] == "all"
    assert summary["size"] == 1000
    assert summary["rows"] == {"contacts": 1000, "orders": 10_000, "events": 5000}
    assert isinstance(summary["met"], bool)
    assert set(summary["segments"]) == set(SEGMENTS)
    for name, row in summary["segments"].items():
        assert set(row["answers"]) == {"sqlite", "duckdb", "pandas"}, name
        assert set(row["answers"].values()) == {row["count"]}, name
    stats = summary["stats"]["sqlite"]
    assert stats["import_rows"] == 300 and stats["upserts"] == 30
    assert stats["upsert_ms"] > 0 and stats["import_ratio"] > 0

    # One JSON line per case comes before the summary.
    cases = [json.loads(line)["case"] for line in lines[-1 - len(SEGMENTS) - 2:-1]]
    assert cases == [*SEGMENTS, "stats_upsert", "stats_import"]
    # Nothing is left behind in the folder the bench was given.
    assert not any(tmp_path.iterdir())
