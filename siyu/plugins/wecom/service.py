"""The WeCom side of one workspace: API client, callback crypto, welcome codes, processor.

Get it with :func:`wecom(ws)`; it is built once per workspace and closed with it.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

from siyu.core.errors import ConfigError
from siyu.plugins.wecom.config import WeComConfig, load_config
from siyu.plugins.wecom.rejections import RejectionCounter, stored_rejections
from siyu.storage.group_commit import GroupCommit

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace
    from siyu.plugins.wecom.client import WeComClient
    from siyu.plugins.wecom.crypto import WeComCrypto
    from siyu.plugins.wecom.rejections import Rejection

#: WeCom accepts a welcome code for 20 s after the event; we stop trying a little earlier.
WELCOME_WINDOW_S = 19.0


def store_callbacks(conn: Any, rows: list[dict[str, Any]]) -> None:
    """Insert received callbacks (``wecom_callback`` rows), each once by its dedupe key."""
    from siyu.plugins.wecom.models import WeComCallback
    from siyu.storage.dialect import insert_for

    conn.execute(insert_for(conn, WeComCallback.__table__).on_conflict_do_nothing(), rows)


def wecom(ws: Workspace) -> WeComService:
    """The :class:`WeComService` of ``ws`` (one per workspace)."""
    return ws.extension("wecom", WeComService)


class WeComService:
    """Holds what the WeCom plugin needs per workspace. Thread-safe."""

    def __init__(self, ws: Workspace):
        self.ws = ws
        self._lock = threading.Lock()
        self._client: WeComClient | None = None
        self._crypto: WeComCrypto | None = None
        self._config: WeComConfig | None = None
        self._welcome: dict[tuple[str, str], tuple[str, float]] = {}
        self.processor = None
        self._inbox: GroupCommit | None = None
        #: Counts the callbacks the receiver refused (written at most every few seconds).
        self.rejects = RejectionCounter(ws)

    @property
    def inbox(self) -> GroupCommit:
        """Stores received callbacks, many per transaction (see
        :mod:`siyu.storage.group_commit`); ``siyu serve`` runs its thread."""
        with self._lock:
            if self._inbox is None:
                self._inbox = GroupCommit(self.ws.engine, store_callbacks,
                                          name="siyu-wecom-inbox")
            return self._inbox

    @property
    def config(self) -> WeComConfig:
        """The current settings (re-read after :meth:`reload`)."""
        with self._lock:
            if self._config is None:
                self._config = load_config(self.ws)
            return self._config

    def reload(self) -> None:
        """Forget cached settings, client and crypto (after the settings changed)."""
        with self._lock:
            self._config = None
            client, self._client, self._crypto = self._client, None, None
        if client is not None:
            client.close()

    @property
    def client(self) -> WeComClient:
        """The API client for the configured corp app.

        :raises ConfigError: corp id or secret missing.
        """
        config = self.config
        if not config.api_ready:
            raise ConfigError("WeCom is not configured: set the corp id and app secret "
                              "(WeCom settings page or `siyu wecom config`)")
        with self._lock:
            if self._client is None:
                from siyu.plugins.wecom.client import WeComClient
                self._client = WeComClient(config.corp_id, config.secret,
                                           base_url=config.base_url)
            return self._client

    @property
    def crypto(self) -> WeComCrypto:
        """The callback crypto for the configured token and EncodingAESKey.

        :raises ConfigError: token, key or corp id missing.
        """
        config = self.config
        if not config.callback_ready:
            raise ConfigError("WeCom callbacks are not configured: set the corp id, callback "
                              "token and EncodingAESKey")
        with self._lock:
            if self._crypto is None:
                from siyu.plugins.wecom.crypto import WeComCrypto
                self._crypto = WeComCrypto(config.token, config.encoding_aes_key,
                                           config.corp_id)
            return self._crypto

    # -- welcome codes -----------------------------------------------------------------

    def remember_welcome_code(self, external_userid: str, userid: str, code: str) -> None:
        """Keep the event's WelcomeCode for the plugins that greet the contact."""
        with self._lock:
            now = time.monotonic()
            self._welcome = {k: v for k, v in self._welcome.items()
                             if now - v[1] < WELCOME_WINDOW_S}
            self._welcome[(external_userid, userid)] = (code, now)

    def take_welcome_code(self, external_userid: str, userid: str) -> str | None:
        """The unused, unexpired welcome code for this friendship, at most once."""
        with self._lock:
            entry = self._welcome.pop((external_userid, userid), None)
        if entry is None or time.monotonic() - entry[1] >= WELCOME_WINDOW_S:
            return None
        return entry[0]

    def send_welcome(self, external_userid: str, userid: str, text: str = "",
                     attachments: list[dict[str, Any]] | None = None) -> bool:
        """Send the welcome message for a new friendship with its welcome code.

        :return: ``True`` when WeCom accepted it; ``False`` when no code was pending (none
            came, it expired, or another plugin used it).
        :raises WeComError: WeCom refused (41050 expired, 41051 already chatting…).
        """
        code = self.take_welcome_code(external_userid, userid)
        if code is None:
            return False
        body: dict[str, Any] = {}
        if text:
            body["text"] = {"content": text}
        if attachments:
            body["attachments"] = attachments
        self.client.send_welcome_msg(welcome_code=code, **body)
        return True

    # -- refused callbacks ---------------------------------------------------------------

    def rejections(self) -> list[Rejection]:
        """Refused callbacks per reason, the most recent first, counts of this process
        included (what other processes hold is at most one write interval behind)."""
        self.rejects.flush()
        return stored_rejections(self.ws)

    def close(self) -> None:
        """Stop the processor, write the refusals still counted and close the client."""
        if self.processor is not None:
            self.processor.stop()
        if self._inbox is not None:
            self._inbox.stop()
        self.rejects.close()
        self.reload()
