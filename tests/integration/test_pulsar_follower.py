"""A second process: `pcoord dashboard --bus pulsar` follows a `pcoord serve` engine through Pulsar
alone, and shows the same books."""

import json
import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.events.store import SqlEventStore
from tests.support import until

pytestmark = pytest.mark.pulsar
REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _health(port: int) -> dict | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=5) as reply:
            return json.loads(reply.read())
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[tuple[int, int, str]]:
    url = os.environ.get("PCOORD_TEST_PULSAR_URL")
    if not url:
        pytest.fail("PCOORD_TEST_PULSAR_URL is not set: `make test` starts the Pulsar broker")
    config = tmp_path / "follow.toml"
    deployment = f"f{uuid.uuid4().hex[:10]}"
    config.write_text(
        (REPO / "engine" / "default_config.toml")
        .read_text()
        .replace('deployment = "pcoord"', f'deployment = "{deployment}"')
        .replace('bus = "embedded"', 'bus = "pulsar"')
        .replace('pulsar_url = "pulsar://127.0.0.1:6650"', f'pulsar_url = "{url}"')
    )
    database_url = f"sqlite:///{tmp_path / 'engine.db'}"
    engine_port, follower_port = _free_port(), _free_port()
    environment = {**os.environ, "PYTHONPATH": str(REPO)}
    environment.pop("PCOORD_PULSAR_URL", None)
    cli = [sys.executable, "-m", "app.cli"]
    engine = subprocess.Popen(
        [
            *cli,
            "serve",
            "--config",
            str(config),
            "--port",
            str(engine_port),
            "--speed",
            "20",
            "--database-url",
            database_url,
        ],
        cwd=REPO,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    follower = subprocess.Popen(
        [
            *cli,
            "dashboard",
            "--bus",
            "pulsar",
            "--config",
            str(config),
            "--port",
            str(follower_port),
        ],
        cwd=REPO,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield engine_port, follower_port, database_url
    finally:
        for process in (follower, engine):
            process.terminate()
        for process in (follower, engine):
            process.wait(30)


def test_a_dashboard_in_another_process_follows_the_engine_through_pulsar(
    processes: tuple[int, int, str],
) -> None:
    engine_port, follower_port, database_url = processes
    until(lambda: (_health(engine_port) or {}).get("cycles_completed", 0) >= 40, 90, "the engine")
    followed = until(
        lambda: (h := _health(follower_port)) and h["cycles_completed"] >= 40 and h,
        90,
        "the follower to see 40 cycles",
    )
    assert followed["status"] == "running"
    assert {p["id"] for p in followed["portfolios"]} == {
        "growth",
        "balanced",
        "defensive",
        "market_neutral",
    }
    # The follower's books at its cycle equal the engine's own record of that cycle.
    cycle = followed["cycles_completed"]
    store = SqlEventStore.from_url(database_url)
    (completed,) = [
        e
        for e in store.query(event_type="CycleCompleted", limit=100_000)
        if e.payload["cycle"] == cycle
    ]
    store.close()
    for portfolio in followed["portfolios"]:
        nav, cash = completed.payload["valuation_usd"][portfolio["id"]]
        assert (portfolio["nav_usd"], portfolio["cash_usd"]) == (nav, cash)
    page = urllib.request.urlopen(f"http://127.0.0.1:{follower_port}/", timeout=10).read()
    assert b"Portfolio Coordinator (following)" in page
