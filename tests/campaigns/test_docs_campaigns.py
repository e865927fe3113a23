"""docs/campaigns.md: its notebook example runs as written (it asserts what it shows)."""

import re
from pathlib import Path

DOC = Path(__file__).parent.parent.parent / "docs" / "campaigns.md"


def test_the_notebook_example_runs(capsys):
    blocks = re.findall(r"^```python\n(.*?)^```", DOC.read_text(encoding="utf-8"), re.M | re.S)
    assert blocks
    for block in blocks:
        exec(compile(block, "docs/campaigns.md", "exec"), {})
    printed = capsys.readouterr().out
    assert "→" in printed and "pending" in printed
