"""Server processes the benchmarks start, shared by the scripts in this folder.

:func:`start_siyu` runs ``python -m siyu serve`` on a SQLite workspace or a database URL
(free port, no scheduler) and returns once it prints its ``Console:`` (``控制台：``) URL;
:func:`start_process` does the same for any script that prints
``Listening: http://127.0.0.1:PORT/``. Every line a server prints is kept, so a failure
can show it. The scripts run as ``python bench/NAME.py``, which puts this folder on
``sys.path``.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

START_TIMEOUT = 120.0
#: The line a server prints once it listens (``siyu serve`` prints it in its language).
READY = re.compile(r"(?:Console|Listening|控制台)\s*[:：]\s*(http://127\.0\.0\.1:\d+)/")


@dataclass
class Server:
    """A server process, the URL it listens on and everything it printed."""

    name: str
    process: subprocess.Popen
    url: str = ""
    lines: list[str] = field(default_factory=list)

    @property
    def port(self) -> int:
        """The port of :attr:`url` (0 before it is known)."""
        return int(self.url.rsplit(":", 1)[1]) if self.url else 0

    def output(self, last: int = 40) -> str:
        """The last ``last`` lines the server printed."""
        return "".join(self.lines[-last:])


def start_process(name: str, argv: list[str], cwd: Path,
                  env: dict[str, str] | None = None) -> Server:
    """Start ``argv`` and return once it printed the URL it listens on.

    :param env: variables to set (or, with the value ``None``, to remove) for the process.
    :raises RuntimeError: it exited or printed no URL within :data:`START_TIMEOUT`; holds
        its output.
    """
    environ = dict(os.environ, PYTHONUNBUFFERED="1")
    for key, value in (env or {}).items():
        if value is None:
            environ.pop(key, None)
        else:
            environ[key] = value
    process = subprocess.Popen(argv, cwd=cwd, env=environ, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, encoding="utf-8",
                               errors="replace")
    server = Server(name, process)
    ready = threading.Event()

    def read() -> None:
        for line in process.stdout:
            server.lines.append(line)
            found = READY.search(line)
            if found and not server.url:
                server.url = found.group(1)
                ready.set()
        ready.set()

    threading.Thread(target=read, daemon=True).start()
    ready.wait(START_TIMEOUT)
    if not server.url:
        stop_server(server)
        raise RuntimeError(f"{name} did not start:\n{server.output()}")
    return server


def start_siyu(db: Path | str, *, env: dict[str, str] | None = None,
               cwd: Path | None = None) -> Server:
    """``siyu serve`` on the SQLite file ``db``, or on the database URL ``db`` (a ``str``),
    on a free port with no scheduler, ignoring any ``SIYU_DATABASE_URL`` of the caller's
    environment.

    :param cwd: the folder the server runs in (default: the SQLite file's folder, else the
        current one).
    """
    folder = cwd or (db.parent if isinstance(db, Path) else Path.cwd())
    return start_process("siyu serve", [sys.executable, "-m", "siyu", "serve", "--db", str(db),
                                        "--port", "0", "--no-scheduler"], folder,
                         {"SIYU_DATABASE_URL": None, **(env or {})})


def stop_server(server: Server) -> None:
    """Ctrl-C the server, kill it if it lingers."""
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGINT)
        try:
            server.process.wait(15)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(15)


def remove_db(path: Path) -> None:
    """Delete a SQLite workspace with its WAL and journal files."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
