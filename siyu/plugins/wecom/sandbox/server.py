"""Running the sandbox: the :class:`Sandbox` object and the ``siyu sandbox`` command.

``Sandbox`` binds 127.0.0.1 (never another interface), serves the Tornado application from a
background thread with its own event loop, and exposes the world, the simulated people, the
fault knobs and the records tests count::

    with Sandbox(seed=1, callback_url="http://127.0.0.1:8000/wecom/callback") as sandbox:
        token = httpx.get(f"{sandbox.base_url}/cgi-bin/gettoken",
                          params={"corpid": sandbox.corp_id, "corpsecret": sandbox.secret})
        sandbox.people.scan_contact_way(config_id)
        sandbox.clock.advance(24 * 3600)   # transfers due by now are settled

WeChat Pay's red-packet API is served at ``/mmpaymkttransfers/`` with the merchant settings
:attr:`Sandbox.mch_id`, :attr:`Sandbox.mch_key` and :attr:`Sandbox.pay_secret` (see
:mod:`~siyu.plugins.wecom.sandbox.redpack`). It is plain HTTP on loopback: no mutual TLS, so a
client's merchant certificate is not checked here.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
import secrets
import string
import sys
import threading
from collections.abc import Sequence
from typing import Any

import tornado.httpserver
import tornado.netutil

from siyu.core.errors import ConfigError
from siyu.core.i18n import current_language, translator
from siyu.plugins.wecom.sandbox.api import make_app
from siyu.plugins.wecom.sandbox.callbacks import CallbackRecord, Callbacks
from siyu.plugins.wecom.sandbox.client_app import SimulatedClient
from siyu.plugins.wecom.sandbox.clock import Clock
from siyu.plugins.wecom.sandbox.faults import Faults
from siyu.plugins.wecom.sandbox.model import Corp, Delivery, Limits
from siyu.plugins.wecom.sandbox.people import People
from siyu.plugins.wecom.sandbox.redpack import RedPackLimits, RedPacks, new_merchant
from siyu.plugins.wecom.sandbox.scans import ScanLog
from siyu.plugins.wecom.sandbox.seed import populate
from siyu.plugins.wecom.sandbox.world import RECEIVE_CAPS, World

HOST = "127.0.0.1"
DEFAULT_PORT = 8990
DEFAULT_AGENT_ID = 1000002
ALNUM = string.ascii_letters + string.digits
#: The console's callback route (a sandbox posting there is wired to a siyu console).
CONSOLE_CALLBACK_PATH = "/wecom/callback"

_ = translator("siyu.plugins.wecom")


def _random(alphabet: str, length: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def _check(name: str, value: str, pattern: str, hint: str) -> str:
    if not re.fullmatch(pattern, value):
        raise ConfigError(_("{name} {value} is not valid: {hint}", name=name,
                            value=repr(value), hint=hint))
    return value


class Sandbox:
    """A running WeCom sandbox on loopback; starts at once, stops on :meth:`stop` or ``with``.

    :param port: TCP port on 127.0.0.1; 0 picks a free one (see :attr:`port`).
    :param corp_id: the CorpID (random ``ww…`` when omitted).
    :param secret: the app secret gettoken expects (random when omitted).
    :param token: the callback Token, letters/digits, at most 32 (random when omitted).
    :param encoding_aes_key: the 43-character EncodingAESKey (random when omitted).
    :param callback_url: where callbacks are posted; ``None`` records them without posting.
    :param seed: makes the default world, ids and random picks reproducible.
    :param clock: the sandbox clock (real time when omitted).
    :param limits: quotas and windows (documented values when omitted).
    :param populate_world: start with the small default world (else an empty corp).
    :param console_url: the siyu console this sandbox serves (``http://host:port``): scan
        pages link to its customers. When omitted, a callback URL ending in
        ``/wecom/callback`` names it.
    :param language: the language of the scan pages (the workspace's); the process's
        current language when omitted.
    :param mch_id: the WeChat Pay merchant number for red packets (random when omitted).
    :param mch_key: the merchant API key that signs red-packet calls (random when omitted).
    :param pay_secret: the 企业支付 app secret behind ``workwx_sign`` (random when omitted).
    :param redpack_limits: red-packet rules (documented values when omitted).
    :raises ConfigError: for a malformed corp id, token or key.
    """

    def __init__(self, port: int = 0, corp_id: str | None = None, secret: str | None = None,
                 token: str | None = None, encoding_aes_key: str | None = None,
                 callback_url: str | None = None, seed: int = 0, clock: Clock | None = None,
                 *, agent_id: int = DEFAULT_AGENT_ID, limits: Limits | None = None,
                 populate_world: bool = True, console_url: str | None = None,
                 language: str | None = None, mch_id: str | None = None,
                 mch_key: str | None = None, pay_secret: str | None = None,
                 redpack_limits: RedPackLimits | None = None):
        corp = Corp(
            corp_id=_check(_("corp id"), corp_id or "ww" + secrets.token_hex(8),
                           r"[A-Za-z0-9]{1,64}", _("use letters and digits")),
            agent_id=agent_id,
            secret=secret or _random(ALNUM + "-_", 43),
            token=_check(_("callback token"), token or _random(ALNUM, 32),
                         r"[A-Za-z0-9]{1,32}", _("WeCom tokens are 1-32 letters or digits")),
            encoding_aes_key=_check("EncodingAESKey", encoding_aes_key or _random(ALNUM, 43),
                                    r"[A-Za-z0-9]{43}",
                                    _("it must be 43 letters or digits")),
            callback_url=callback_url or None,
        )
        self.clock = clock or Clock()
        self.world = World(corp, self.clock, seed=seed, limits=limits)
        if populate_world:
            populate(self.world)
        self.faults = Faults(self.world, seed=seed)
        self.callbacks = Callbacks(self.world, self.faults)
        self.people = People(self.world, self.callbacks)
        #: Enterprise red packets (WeChat Pay): merchant, packets sent, daily counters.
        self.redpacks = RedPacks(self.world, new_merchant(mch_id, mch_key, pay_secret),
                                 redpack_limits)
        #: The simulated WeCom client: sign-in, open chat and sidebar, messages sent.
        self.client = SimulatedClient(self)
        #: The siyu console this sandbox serves (scan pages link to its customers).
        self.console_url = console_url or None
        #: The language of the scan pages (``None``: the process's current language).
        self.language = language or None
        #: Recent scans made through ``/sandbox/scan``, for their pages.
        self.scans = ScanLog()
        self.port = 0
        self._requested_port = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: tornado.httpserver.HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._ticker: threading.Thread | None = None
        self._stopping = threading.Event()
        self.start()

    # -- what tests and demos read ---------------------------------------------------------

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``; the API is under ``/cgi-bin/``."""
        return f"http://{HOST}:{self.port}"

    @property
    def corp_id(self) -> str:
        return self.world.corp.corp_id

    @property
    def secret(self) -> str:
        return self.world.corp.secret

    @property
    def token(self) -> str:
        return self.world.corp.token

    @property
    def encoding_aes_key(self) -> str:
        return self.world.corp.encoding_aes_key

    @property
    def mch_id(self) -> str:
        """The WeChat Pay merchant number (商户号) red packets are sent from."""
        return self.redpacks.merchant.mch_id

    @property
    def mch_key(self) -> str:
        """The merchant API key (商户API密钥) behind ``sign``."""
        return self.redpacks.merchant.mch_key

    @property
    def pay_secret(self) -> str:
        """The 企业支付 app secret behind ``workwx_sign``."""
        return self.redpacks.merchant.pay_secret

    @property
    def limits(self) -> Limits:
        return self.world.limits

    @property
    def deliveries(self) -> list[Delivery]:
        """Every mass message delivered so far (customer or group, msgid, sender, time)."""
        with self.world.lock:
            return list(self.world.deliveries)

    @property
    def callback_log(self) -> list[CallbackRecord]:
        """Every callback posted so far, with attempts and outcomes."""
        return list(self.callbacks.log)

    def set_callback_url(self, url: str | None) -> None:
        """Post callbacks to ``url`` from now on (``None`` stops posting)."""
        with self.world.lock:
            self.world.corp.callback_url = url or None

    @property
    def console_base_url(self) -> str | None:
        """The console's address: :attr:`console_url`, else the callback URL without
        ``/wecom/callback`` when it ends so, else ``None``."""
        if self.console_url:
            return self.console_url.rstrip("/")
        url = self.world.corp.callback_url or ""
        if url.endswith(CONSOLE_CALLBACK_PATH):
            return url[:-len(CONSOLE_CALLBACK_PATH)]
        return None

    def page_language(self) -> str:
        """The language scan pages are shown in."""
        return self.language or current_language()

    def verify_callback_url(self, url: str | None = None) -> dict[str, Any]:
        """Run WeCom's URL verification (GET with echostr) against the callback URL."""
        return self.callbacks.verify_url(url)

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> Sandbox:
        """Bind the port and serve from a background thread (no-op when running)."""
        if self._thread is not None:
            return self
        sockets = tornado.netutil.bind_sockets(self._requested_port, HOST)
        self.port = sockets[0].getsockname()[1]
        self.world.public_url = self.base_url
        ready = threading.Event()

        def serve() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            self._server = tornado.httpserver.HTTPServer(make_app(self))
            self._server.add_sockets(sockets)
            self._loop = loop
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.close()

        self._stopping.clear()
        self._thread = threading.Thread(target=serve, name=f"wecom-sandbox-{self.port}",
                                        daemon=True)
        self._thread.start()
        ready.wait()
        self.clock.on_change(self._clock_moved)
        self._ticker = threading.Thread(target=self._tick_in_real_time, daemon=True,
                                        name=f"wecom-sandbox-clock-{self.port}")
        self._ticker.start()
        return self

    def _clock_moved(self, now: float) -> None:
        self.people.tick()
        self.redpacks.tick(now)

    def _tick_in_real_time(self) -> None:
        while not self._stopping.wait(1.0):
            if not self.clock.is_frozen:
                self.people.tick()
                self.redpacks.tick(self.clock.now())

    def stop(self) -> None:
        """Stop serving and close every connection; safe to call twice."""
        if self._thread is None or self._loop is None:
            return
        self._stopping.set()
        self.clock.remove_listener(self._clock_moved)
        server, loop = self._server, self._loop

        async def shutdown() -> None:
            server.stop()
            await server.close_all_connections()

        asyncio.run_coroutine_threadsafe(shutdown(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        self._thread.join(timeout=10)
        if self._ticker is not None:
            self._ticker.join(timeout=5)
        self._thread = self._loop = self._server = self._ticker = None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"serving {self.base_url}" if self._thread else "stopped"
        return f"<Sandbox corp_id={self.corp_id!r} {state}>"


# -- the ``siyu sandbox`` command ------------------------------------------------------------


def configure(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the ``siyu sandbox`` options to ``parser``; return it."""
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=_("port on 127.0.0.1 (default {port}; 0 picks a free one)",
                               port=DEFAULT_PORT))
    corp = parser.add_argument_group(_("corp and app (random when omitted, printed at start)"))
    corp.add_argument("--corp-id", help=_("CorpID, e.g. ww0123456789abcdef"))
    corp.add_argument("--agent-id", type=int, default=DEFAULT_AGENT_ID, help="AgentID")
    corp.add_argument("--secret", help=_("app secret for gettoken"))
    corp.add_argument("--token", help=_("callback Token (letters/digits, at most 32)"))
    corp.add_argument("--encoding-aes-key",
                      help=_("callback EncodingAESKey (43 letters/digits)"))
    corp.add_argument("--callback-url", help=_("where to post encrypted callbacks"))
    corp.add_argument("--seed", type=int, default=0, help=_("seed of the default world (0)"))
    corp.add_argument("--verify-callback", action="store_true",
                      help=_("run WeCom's URL verification against --callback-url at start"))
    parser.add_argument("--quiet", action="store_true",
                        help=_("do not log each request and callback"))
    limits = parser.add_argument_group(_("limits"))
    limits.add_argument("--rate-limit", type=int, metavar="N",
                        help=_("calls per API per minute (documented: 10000)"))
    limits.add_argument("--receive-cap", choices=RECEIVE_CAPS, default="month",
                        help=_("mass messages a customer may receive: per month (as many as "
                               "days), week (7) or day (1)"))
    limits.add_argument("--group-capacity", type=int, default=200,
                        help=_("members per customer group before join ways move on (200)"))
    faults = parser.add_argument_group(_("faults"))
    faults.add_argument("--latency", type=float, default=0.0, metavar="SECONDS",
                        help=_("delay added to every API answer"))
    faults.add_argument("--error-rate", type=float, default=0.0, metavar="FRACTION",
                        help=_("fraction of API calls answered with HTTP 503"))
    faults.add_argument("--drop-rate", type=float, default=0.0, metavar="FRACTION",
                        help=_("fraction of API connections closed without an answer"))
    faults.add_argument("--busy-rate", type=float, default=0.0, metavar="FRACTION",
                        help=_("fraction of API calls answered errcode -1 (system busy)"))
    faults.add_argument("--revoke-tokens-after", type=float, metavar="SECONDS",
                        help=_("access tokens stop working this long after they were issued"))
    faults.add_argument("--duplicate-rate", type=float, default=0.0, metavar="FRACTION",
                        help=_("fraction of callbacks posted twice"))
    return parser


def build(args: argparse.Namespace) -> Sandbox:
    """A started sandbox configured from parsed ``siyu sandbox`` options."""
    limits = Limits(receive_cap=args.receive_cap, group_capacity=args.group_capacity)
    if args.rate_limit is not None:
        limits.api_per_minute = args.rate_limit
    sandbox = Sandbox(port=args.port, corp_id=args.corp_id, secret=args.secret,
                      token=args.token, encoding_aes_key=args.encoding_aes_key,
                      callback_url=args.callback_url, seed=args.seed,
                      agent_id=args.agent_id, limits=limits)
    try:
        sandbox.faults.set(latency=args.latency, error_rate=args.error_rate,
                           drop_rate=args.drop_rate, busy_rate=args.busy_rate,
                           revoke_after=args.revoke_tokens_after,
                           duplicate_rate=args.duplicate_rate)
    except ValueError as exc:
        sandbox.stop()
        raise ConfigError(str(exc)) from None
    return sandbox


def describe(sandbox: Sandbox) -> str:
    """The settings a client and a callback receiver need, one per line."""
    corp = sandbox.world.corp
    rows = [(_("corp id"), corp.corp_id), (_("agent id"), str(corp.agent_id)),
            (_("app secret"), corp.secret), (_("callback token"), corp.token),
            ("EncodingAESKey", corp.encoding_aes_key),
            (_("callback URL"),
             corp.callback_url or _("(none: callbacks are recorded only)")),
            (_("merchant id"), sandbox.mch_id), (_("merchant API key"), sandbox.mch_key),
            (_("enterprise pay secret"), sandbox.pay_secret),
            (_("seed"), str(sandbox.world.seed))]
    width = max(_display_width(label) for label, _value in rows) + 2
    api, admin = sandbox.base_url + "/cgi-bin/", sandbox.base_url + "/sandbox/world"
    lines = [_("WeCom sandbox serving {api} (admin: {admin})", api=api, admin=admin)]
    lines += [f"  {label}:{' ' * (width - _display_width(label))}{value}"
              for label, value in rows]
    return "\n".join(lines)


def _display_width(text: str) -> int:
    """Columns ``text`` takes in a terminal (CJK characters take two)."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def run(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C; print the settings a client and a callback receiver need."""
    sandbox = build(args)
    logger = logging.getLogger("siyu.wecom.sandbox")
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    if not args.quiet:
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    try:
        print(describe(sandbox), flush=True)
        if args.verify_callback:
            result = sandbox.verify_callback_url()
            verdict = (_("passed") if result["ok"]
                       else _("FAILED ({answer})", answer=repr(result["answer"])))
            print("  " + _("URL verification: {verdict}", verdict=verdict), flush=True)
        print(_("Press Ctrl-C to stop."), flush=True)
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()
        logger.removeHandler(handler)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``siyu sandbox`` as a stand-alone entry point."""
    parser = configure(argparse.ArgumentParser(
        prog="siyu sandbox",
        description=_("A local WeCom-compatible server for demos, rehearsals and plugin "
                      "tests.")))
    args = parser.parse_args(argv)
    try:
        return run(args)
    except ConfigError as exc:
        print(_("siyu sandbox: error: {error}", error=exc), file=sys.stderr)
        return 2
