"""The WeCom sandbox: a local WeCom-compatible server that behaves like the real service.

Real HTTP on 127.0.0.1, the documented request validation, errcodes and limits, encrypted
callbacks posted by simulated customers and members, a movable clock and injectable faults, so
growth teams can demo, analysts rehearse and integrators test plugins offline.

- :class:`Sandbox` — start one (``with Sandbox() as sandbox: …``); ``siyu sandbox`` runs one
  from the command line (:func:`main`, or :func:`configure` + :func:`run` inside a CLI).
- :class:`World` — its state; :class:`People` — the simulated people; :class:`Faults` — knobs;
  :class:`Clock` — simulated time; :class:`Limits` — quotas and windows.
"""

from siyu.plugins.wecom.sandbox.actors import Outcome
from siyu.plugins.wecom.sandbox.callbacks import CallbackRecord
from siyu.plugins.wecom.sandbox.clock import Clock
from siyu.plugins.wecom.sandbox.errors import ApiError, SandboxError
from siyu.plugins.wecom.sandbox.faults import Faults
from siyu.plugins.wecom.sandbox.model import Delivery, Limits
from siyu.plugins.wecom.sandbox.people import People
from siyu.plugins.wecom.sandbox.server import Sandbox, configure, main, run
from siyu.plugins.wecom.sandbox.world import World

__all__ = ["Sandbox", "World", "People", "Faults", "Clock", "Limits", "Delivery", "Outcome",
           "CallbackRecord", "ApiError", "SandboxError", "main", "configure", "run"]
