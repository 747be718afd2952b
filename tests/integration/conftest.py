"""Integration fixtures: the databases the event store must work on, SQLite and PostgreSQL.

``make test`` starts a throw-away PostgreSQL (scripts/postgres.sh) and exports its URL as
PCOORD_TEST_POSTGRES_URL. Without it the PostgreSQL cases fail: they are never skipped, so CI
cannot pass without running them.

The signal fixtures serve a live engine's dashboard and JSON API over real HTTP on 127.0.0.1.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from engine.config import AppConfig, load_config
from engine.events.store import SqlEventStore
from tests.support import eventually

if TYPE_CHECKING:
    from flask import Flask

    from app.runtime import Runtime

POSTGRES_URL_VARIABLE = "PCOORD_TEST_POSTGRES_URL"
NOT_RUNNING = (
    "PostgreSQL is not running: `make test` starts it, or run `bash scripts/postgres.sh start` "
    "and export PCOORD_TEST_POSTGRES_URL=$(bash scripts/postgres.sh url)"
)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of an empty database: a SQLite file, or a fresh PostgreSQL database per test."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'events.db'}"
        return
    server_url = os.environ.get(POSTGRES_URL_VARIABLE)
    if not server_url:
        pytest.fail(f"{POSTGRES_URL_VARIABLE} is not set. {NOT_RUNNING}", pytrace=False)
    name = f"pcoord_test_{uuid.uuid4().hex[:16]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        try:
            with admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
        except OperationalError as error:
            first_line = str(error.orig or error).splitlines()[0]
            pytest.fail(
                f"cannot reach {make_url(server_url)} ({first_line}). {NOT_RUNNING}", pytrace=False
            )
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
        with admin.connect() as connection:
            # FORCE: a test that left a connection open must not leave its database behind.
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@pytest.fixture
def open_store() -> Iterator[Callable[[str], SqlEventStore]]:
    """Opens event stores on a URL and closes (disposes) every one of them after the test."""
    stores: list[SqlEventStore] = []

    def _open(url: str) -> SqlEventStore:
        store = SqlEventStore.from_url(url)
        stores.append(store)
        return store

    yield _open
    for store in stores:
        store.close()


# -- a live engine behind its HTTP API (signals over HTTP and from files) -------------------------

# Small, so that "too many signals" is cheap to send; the default config's is 20000.
SIGNAL_TEST_MAX_PER_REQUEST = 40
# Slow enough that the bundled history (2006-2022) lasts the whole test, fast enough for cycles
# to come quickly when a test waits for the next one.
SIGNAL_TEST_SPEED_DAYS_PER_SECOND = 20.0


def signal_test_config(max_signals_per_request: int = SIGNAL_TEST_MAX_PER_REQUEST) -> AppConfig:
    """The default config (bundled prices, external sources analyst_desk and risk_desk) with a
    small ``signals.max_signals_per_request``."""
    config = load_config()
    signals = config.signals.model_copy(update={"max_signals_per_request": max_signals_per_request})
    return config.model_copy(update={"signals": signals})


@dataclass(frozen=True, slots=True, eq=False)
class SignalServer:
    runtime: Runtime
    url: str  # the server's root, e.g. http://127.0.0.1:50123


@pytest.fixture
def serve_http() -> Iterator[Callable[[Flask], str]]:
    """Serves Flask apps with waitress (as ``pcoord serve`` does) on free ports of 127.0.0.1;
    returns each one's root URL and closes them all after the test."""
    from waitress import create_server, wasyncore

    running: list[tuple[threading.Event, threading.Thread]] = []

    def _loop(server: Any, stop: threading.Event) -> None:
        # waitress's own run(), a poll at a time, so that the sockets are closed here, in the
        # thread that polls them: closed from another thread they would vanish under its poll.
        while not stop.is_set():
            wasyncore.loop(timeout=0.05, map=server._map, use_poll=True, count=1)
        wasyncore.close_all(server._map)
        server.task_dispatcher.shutdown()

    def _serve(flask_app: Flask) -> str:
        server = create_server(flask_app, host="127.0.0.1", port=0, threads=4)
        stop = threading.Event()
        thread = threading.Thread(target=_loop, args=(server, stop), name="test-http", daemon=True)
        thread.start()
        running.append((stop, thread))
        return f"http://127.0.0.1:{server.effective_port}"

    yield _serve
    for stop, thread in running:
        stop.set()
        thread.join(10)


@pytest.fixture
def signal_runtime(tmp_path: Path) -> Iterator[Runtime]:
    """A started engine on the bundled history with a SQLite event store, past its first cycles
    (so it has a market date to check signal timestamps against)."""
    from app.runtime import build_runtime

    runtime = build_runtime(
        database_url=f"sqlite:///{tmp_path / 'signals.db'}",
        speed_days_per_second=SIGNAL_TEST_SPEED_DAYS_PER_SECOND,
        config=signal_test_config(),
    )
    runtime.runner.start()
    try:
        if not runtime.runner.wait_for_cycles(3, timeout_s=60):
            pytest.fail("the engine did not complete 3 cycles in 60 s", pytrace=False)
        yield runtime
    finally:
        runtime.close()


@pytest.fixture
def signal_server(signal_runtime: Runtime, serve_http: Callable[[Flask], str]) -> SignalServer:
    """The dashboard's server (dashboard and JSON API) over ``signal_runtime``, over HTTP."""
    from app.api import ApiSettings
    from app.dashboard import create_app

    app = create_app(
        signal_runtime.runner,
        signal_runtime.store,
        api=ApiSettings.from_config(signal_runtime.config),
    )
    return SignalServer(signal_runtime, serve_http(app.server))


@pytest.fixture
def paused_signal_server(signal_server: SignalServer) -> SignalServer:
    """``signal_server`` with its engine paused: the market date holds still, so signal dates
    can be set relative to it, while the engine still answers commands and submissions."""
    from engine.commands import Pause
    from engine.snapshot import EngineStatus

    runner = signal_server.runtime.runner
    runner.submit(Pause("test", "hold the market date still"))
    if not eventually(lambda: runner.snapshot().status is EngineStatus.PAUSED):
        pytest.fail("the engine did not pause within 20 s", pytrace=False)
    return signal_server
