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


@hookimpl
def register_risk_rules():
    """The sensitive-word rule the risk centre lists."""
    from siyu.core.records import RiskRule

    return [RiskRule("sensitive_words", _.lazy("Sensitive words"),
                     _.lazy("Blocks campaign content that contains a listed word "
                            "(advertising law, finance, abuse, competitors…)"))]


@hookimpl
def risk_check(ws, action):
    """Block a campaign's content (at launch) or a message (when sent) that contains a
    sensitive word, naming the word and its category."""
    if action.get("kind") not in ("content", "send") or not action.get("text"):
        return None
    from siyu.plugins.risk.checks import word_reason

    return word_reason(ws, action["text"], fresh=action["kind"] == "content")


@hookimpl
def risk_check_batch(ws, batch):
    """Block an outbox batch's messages that contain a sensitive word (each distinct text
    screened once)."""
    from siyu.plugins.risk.checks import word_reason

    verdicts = {text: word_reason(ws, text) for text in {m.text for m in batch if m.text}}
    return {m.delivery_id: verdicts[m.text] for m in batch if m.text and verdicts[m.text]}
