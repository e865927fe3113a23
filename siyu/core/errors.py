"""Exceptions a user can cause. Each message names the bad value and how to fix it.

The CLI prints ``str(error)`` as one line and exits non-zero; the console shows it as a
notification. Anything that is not a :class:`SiyuError` is a bug and keeps its traceback.

Messages are translated when the error is raised (``raise NotFound(_("unknown user
{name!r}", name=name))`` with ``from siyu.core.i18n import core as _``), so they come out
in the language of whoever caused them: the console user's, or the CLI's.
"""

from __future__ import annotations

from collections.abc import Iterable

from siyu.core.i18n import current_language


def listing(items: Iterable[object]) -> str:
    """``items`` as a list inside a message: ``"a, b, c"`` in English, ``"a、b、c"`` in
    Chinese (the enumeration comma)."""
    separator = "、" if current_language().startswith("zh") else ", "
    return separator.join(str(item) for item in items)


class SiyuError(Exception):
    """Base class for every error a user (not a bug) can cause."""


class ConfigError(SiyuError):
    """A setting, URL or environment variable is malformed."""


class PluginError(SiyuError):
    """A plugin is broken: bad hook names, duplicate registrations, a failing hook."""


class NotFound(SiyuError):
    """A named object (tag, staff member, store, contact…) does not exist."""


class ValidationError(SiyuError):
    """A value given to a service is not acceptable (bad phone, negative money…)."""


class PermissionDenied(SiyuError):
    """The acting user's role does not allow this action."""


class ImportFailed(SiyuError):
    """An import file was rejected; nothing was written.

    :ivar problems: list of :class:`siyu.core.importing.RowProblem` (line number and reason).
    """

    def __init__(self, message: str, problems: list | None = None):
        super().__init__(message)
        self.problems = list(problems or [])


class RateLimited(SiyuError):
    """Too many attempts (logins, searches…) in a short time; try again later.

    :ivar retry_after: seconds until another attempt is accepted.
    """

    def __init__(self, message: str, retry_after: float = 0.0):
        super().__init__(message)
        self.retry_after = retry_after


class SyncError(SiyuError):
    """A connector's source failed: unreachable, an error answer, HTML where JSON was
    expected, a field the mapping names that is not there. The run stops; what was stored
    before stays stored and the connector resumes from there.

    :ivar retryable: another try may succeed (a timeout, a 5xx, a 429), as opposed to a
        mistake in the settings or the source (a 401, a 404, HTML instead of JSON).
    """

    def __init__(self, message: str, retryable: bool = False):
        super().__init__(message)
        self.retryable = retryable
