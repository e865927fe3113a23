"""The risk plugin's rules: their names, the records the risk centre lists, the reasons a
launch stores on deliveries, and what rules and decisions are called in the reader's
language.

The launch reasons stay in English (``"do not contact"`` on a skipped delivery, like the
core's ``"holdout"``), so that code can compare them.
"""

from __future__ import annotations

from typing import Any

from siyu.core.i18n import translator
from siyu.core.records import RiskRule

_ = translator("siyu.plugins.risk")

SENSITIVE_WORDS = "sensitive_words"
DNC = "dnc"
STAFF_CAP = "staff_cap"
QUIET_HOURS = "quiet_hours"
#: Every rule, in the order the risk centre lists them.
NAMES = (SENSITIVE_WORDS, DNC, STAFF_CAP, QUIET_HOURS)

#: The reason a launch stores on a delivery it skips for the do-not-contact list.
DNC_SKIP = "do not contact"
#: The reason a launch stores on deliveries it delays until quiet hours end.
QUIET_DELAY = "quiet hours"

#: What a decision is called.
DECISION_TITLES: dict[str, Any] = {"blocked": _.lazy("Blocked"), "held": _.lazy("Held"),
                                   "skipped": _.lazy("Skipped")}


def risk_rules() -> list[RiskRule]:
    """The :class:`~siyu.core.records.RiskRule` records of the plugin, in :data:`NAMES`
    order."""
    return [
        RiskRule(SENSITIVE_WORDS, _.lazy("Sensitive words"),
                 _.lazy("Blocks campaign content that contains a listed word "
                        "(advertising law, finance, abuse, competitors…)")),
        RiskRule(DNC, _.lazy("Do-not-contact list"),
                 _.lazy("Contacts on the list are skipped when a campaign launches, and a "
                        "message to someone added later is blocked when it is sent")),
        RiskRule(STAFF_CAP, _.lazy("Staff daily cap"),
                 _.lazy("Each staff member sends at most this many campaign messages per "
                        "local day; the rest wait until the next day")),
        RiskRule(QUIET_HOURS, _.lazy("Quiet hours"),
                 _.lazy("Nothing is sent during quiet hours: a launch or a message inside "
                        "them waits until they end")),
    ]


def rule_title(name: str) -> str:
    """What rule ``name`` is called (its name when it is not one of this plugin's)."""
    for rule in risk_rules():
        if rule.name == name:
            return str(rule.title)
    return name


def decision_title(decision: str) -> str:
    """What a decision (``blocked``, ``held``, ``skipped``) is called."""
    title = DECISION_TITLES.get(decision)
    return str(title) if title is not None else decision
