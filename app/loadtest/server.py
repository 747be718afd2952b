"""The server under test: a real ``pcoord serve`` in its own process, on a free local port.

Its own process gives the server its own interpreter lock (the simulated browsers' threads do not
slow its Python), and its log can be read for waitress's "Task queue depth" warnings: each one
says a request waited because every worker thread was busy.
"""

from __future__ import annotations

import http.client
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HOST = "127.0.0.1"
# The engine at full speed: SetSpeed's (and --speed's) maximum, trading days per second.
FULL_SPEED_DAYS_PER_SECOND = 1000
STARTUP_TIMEOUT_S = 180.0
STOP_TIMEOUT_S = 30.0
QUEUE_WARNING = re.compile(r"waitress\.queue.*Task queue depth is (\d+)")
# The repository root, so the subprocess imports this checkout's code, as `python -m` here does.
REPOSITORY_ROOT = Path(__file__).resolve().parents[2]


class ServerFailed(RuntimeError):
    """The server did not start, or it died while under load."""


@dataclass(frozen=True, slots=True)
class QueueWarnings:
    count: int
    max_depth: int


def free_port() -> int:
    """A port nothing listens on now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


class ServerProcess:
    """``pcoord serve`` on 127.0.0.1 with a fresh SQLite event store in ``scratch``, the engine
    at full speed and ``threads`` waitress workers. Use as a context manager."""

    def __init__(
        self, scratch: Path, threads: int, config: Path | None = None, speed: float | None = None
    ) -> None:
        self.port = free_port()
        self.log_path = scratch / "server.log"
        self._command = [
            sys.executable,
            "-m",
            "app.cli",
            "serve",
            "--host",
            HOST,
            "--port",
            str(self.port),
            "--speed",
            f"{speed or FULL_SPEED_DAYS_PER_SECOND:g}",
            "--threads",
            str(threads),
            "--database-url",
            f"sqlite:///{scratch / 'events.db'}",
        ]
        if config is not None:
            self._command += ["--config", str(config.resolve())]
        self._process: subprocess.Popen[bytes] | None = None
        self._log_offset = 0
        self._warnings = QueueWarnings(0, 0)

    def __enter__(self) -> ServerProcess:
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(
                self._command,
                cwd=REPOSITORY_ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self._wait_until_serving()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """SIGTERM (the server stops its engine first, as for a service manager), then kill."""
        process = self._process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def check_alive(self) -> None:
        if self._process is not None and self._process.poll() is not None:
            raise ServerFailed(
                f"the server exited with status {self._process.returncode}; "
                f"its log:\n{self.log_tail()}"
            )

    def queue_warnings(self) -> QueueWarnings:
        """waitress's queue-depth warnings in the log so far (read on from where it stopped)."""
        with self.log_path.open("rb") as log:
            log.seek(self._log_offset)
            chunk = log.read()
        complete = chunk.rfind(b"\n") + 1  # a line still being written is read next time
        self._log_offset += complete
        count, depth = self._warnings.count, self._warnings.max_depth
        for match in QUEUE_WARNING.finditer(chunk[:complete].decode(errors="replace")):
            count += 1
            depth = max(depth, int(match.group(1)))
        self._warnings = QueueWarnings(count, depth)
        return self._warnings

    def log_tail(self, lines: int = 30) -> str:
        text = self.log_path.read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def _wait_until_serving(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                connection = http.client.HTTPConnection(HOST, self.port, timeout=5)
                connection.request("GET", "/api/health")
                status = connection.getresponse().status
                connection.close()
            except OSError:
                status = 0
            if status == 200:
                return
            time.sleep(0.2)  # the server is still loading its market data and engine
        self.stop()
        raise ServerFailed(
            f"the server did not answer within {STARTUP_TIMEOUT_S:.0f} s; "
            f"its log:\n{self.log_tail()}"
        )
