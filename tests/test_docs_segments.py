"""docs/segments.md: its notebook example runs as written; its rule table names every
built-in rule."""

import re
from pathlib import Path

import siyu

DOC = Path(__file__).parent.parent / "docs" / "segments.md"


def test_the_notebook_example_runs():
    blocks = re.findall(r"^```python\n(.*?)^```", DOC.read_text(encoding="utf-8"), re.M | re.S)
    assert blocks
    for block in blocks:
        exec(compile(block, "docs/segments.md", "exec"), {})


def test_the_rule_table_names_every_rule(tmp_path):
    text = DOC.read_text(encoding="utf-8")
    with siyu.open(tmp_path / "x.db") as ws:
        rules = set(ws.segments.rules())
    named = set(re.findall(r"`([a-z_]+)`", text))
    assert rules <= named, sorted(rules - named)
