"""The risk plugin: sensitive-word lists stored in the workspace, and the ``siyu risk`` CLI.

Registered as a built-in (``siyu.plugins.risk.plugin``), written exactly like a third-party
plugin. Campaign risk control (``risk_check``) builds on it later.
"""

from __future__ import annotations

from pathlib import Path

from siyu.core.i18n import translator
from siyu.core.plugins import hookimpl
from siyu.core.records import ModelSet
from siyu.plugins.risk.models import TABLES

_ = translator("siyu.plugins.risk")


@hookimpl
def register_models():
    """risk_word and risk_word_version (history ``risk``)."""
    return [ModelSet("risk", TABLES, Path(__file__).parent / "migrations")]


@hookimpl
def register_commands():
    """``siyu risk``, named by import path: its module (and the Aho-Corasick extension) is
    imported only when it is run (``siyu --help`` reads the help text here)."""
    from siyu.core.records import CommandSpec

    module = "siyu.plugins.risk.commands"
    return [CommandSpec("risk", _.lazy("sensitive words: import, list and remove word lists, "
                                       "test a text"),
                        f"{module}:configure", f"{module}:run")]
