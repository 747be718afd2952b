"""Browser fixtures: a real engine replaying the bundled history, and its dashboard in Chromium."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from dash.testing.composite import DashComposite

from app.dashboard import create_app
from app.runtime import Runtime, build_runtime
from components import ids
from tests.browser.pages import WAIT_S


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    runtime = build_runtime(database_url=f"sqlite:///{tmp_path}/t.db", speed_days_per_second=20)
    runtime.runner.start()
    try:
        yield runtime
    finally:
        runtime.runner.stop()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def dashboard(dash_duo: DashComposite, runtime: Runtime) -> DashComposite:
    # A port of its own: dash_duo numbers ports per process from one start, so two test
    # workers would otherwise serve on the same one.
    app = create_app(runtime.runner, runtime.dashboard_events(), performance=runtime.performance())
    dash_duo.start_server(app, port=_free_port())
    dash_duo.wait_for_element(f"#{ids.NAVBAR_STATUS} .badge", timeout=WAIT_S)
    return dash_duo
