"""Progress bars for long imports: tqdm in terminals and notebooks, nothing otherwise."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Any


class _Silent:
    def update(self, _n: int) -> None:
        """Ignore progress."""


@contextmanager
def progress_bar(total: int, unit: str, enabled: bool | None):
    """A tqdm bar over ``total`` ``unit``; ``enabled=None`` shows it only on a terminal."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        yield _Silent()
        return
    from tqdm.auto import tqdm

    bar: Any = tqdm(total=total, unit=f" {unit}", unit_scale=True, leave=True)
    try:
        yield bar
    finally:
        bar.close()
