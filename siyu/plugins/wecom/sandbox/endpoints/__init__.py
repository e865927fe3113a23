"""The ``/cgi-bin/`` endpoints of the sandbox, one module per API family.

Importing this package fills :data:`ROUTES` (path below ``/cgi-bin/`` → endpoint function).
"""

from siyu.plugins.wecom.sandbox.endpoints import (  # noqa: F401 - imported to register routes
    auth,
    contact_ways,
    contacts,
    groups,
    jssdk,
    media,
    messages,
    org,
    tags,
    transfers,
)
from siyu.plugins.wecom.sandbox.endpoints.base import ROUTES, Call

#: Endpoints answered without an access token.
NO_TOKEN = frozenset({"gettoken"})

__all__ = ["ROUTES", "NO_TOKEN", "Call"]
