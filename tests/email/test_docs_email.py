"""docs/email.md: its notebook example runs as written (with the plugin among the built-ins,
as the document describes it)."""

import re
from pathlib import Path

DOC = Path(__file__).parent.parent.parent / "docs" / "email.md"


def test_the_notebook_example_runs(builtin_email, monkeypatch):
    monkeypatch.delenv("SIYU_SECRET_KEY", raising=False)
    monkeypatch.delenv("SIYU_SECRET_FILE", raising=False)
    blocks = re.findall(r"^```python\n(.*?)^```", DOC.read_text(encoding="utf-8"), re.M | re.S)
    assert blocks
    for block in blocks:
        exec(compile(block, "docs/email.md", "exec"), {})
