"""docs/customers.md: its notebook example runs as written."""

import re
from pathlib import Path

DOC = Path(__file__).parent.parent.parent / "docs" / "customers.md"


def test_the_notebook_example_runs():
    blocks = re.findall(r"^```python\n(.*?)^```", DOC.read_text(encoding="utf-8"), re.M | re.S)
    assert blocks
    for block in blocks:
        exec(compile(block, "docs/customers.md", "exec"), {})
