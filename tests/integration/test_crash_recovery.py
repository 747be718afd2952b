"""Crash recovery: SIGKILL the engine at random points of a replay, restart it until it finishes,
and compare the result with an uninterrupted run. Snapshots are frequent here so that restarts
exercise both snapshot-plus-tail and full-replay recovery."""

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from app.cli import main
from engine.config import default_config_text
from engine.events.store import SqlEventStore
from engine.state.consistency import check_consistency
from engine.state.engine_state import EngineState
from engine.state.repository import StateRepository

REPO = Path(__file__).resolve().parents[2]
WINDOW = ["--start", "2012-01-03", "--end", "2019-12-31"]
KILL_POINTS = 20
LIFECYCLE = {"EngineStarted", "EngineFinished"}


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "crash.toml"
    path.write_text(
        default_config_text().replace(
            "snapshot_every_events = 20000", "snapshot_every_events = 1500"
        )
    )
    return path


def _command(config: Path, out: Path) -> list[str]:
    return [
        *(sys.executable, "-m", "app.cli", "replay", "--config", str(config), *WINDOW),
        *("--out", str(out), "--no-progress"),
    ]


def _log(url: str) -> list[tuple[Any, ...]]:
    """The log as it must be identical: every event but the start/finish records of a process,
    with ids for cycle events (engine-session events carry the session in their id)."""
    store = SqlEventStore.from_url(url)
    try:
        return [
            (
                e.event_id if e.event_id.startswith("c") else "session",
                e.type,
                e.portfolio_id,
                e.portfolio_seq,
                e.correlation_id,
                e.payload,
            )
            for e in store.iter_from(1)
            if e.type not in LIFECYCLE
        ]
    finally:
        store.close()


def _ledger(url: str) -> dict[str, Any]:
    store = SqlEventStore.from_url(url)
    try:
        state = EngineState()
        for event in store.iter_from(1):
            state.apply(event)
        return {"ledger": state.ledger.to_dict(), "pending": state.to_dict()["pending_orders"]}
    finally:
        store.close()


def _cycles(url: str) -> int:
    if not Path(url.removeprefix("sqlite:///")).exists():
        return 0
    store = SqlEventStore.from_url(url)
    try:
        last = store.query(event_type="CycleCompleted", limit=1)
        return last[0].payload["cycle"] if last else 0
    finally:
        store.close()


def test_killed_at_random_points_the_replay_ends_exactly_as_an_uninterrupted_one(
    tmp_path: Path,
) -> None:
    config = _config(tmp_path)
    reference_out = tmp_path / "reference"
    assert (
        main(
            [
                "replay",
                "--config",
                str(config),
                *WINDOW,
                "--out",
                str(reference_out),
                "--no-progress",
            ]
        )
        == 0
    )
    reference_url = f"sqlite:///{reference_out / 'events.db'}"

    crashed_out = tmp_path / "crashed"
    crashed_url = f"sqlite:///{crashed_out / 'events.db'}"
    rng = random.Random(20261125)
    environment = {**os.environ, "PYTHONPATH": str(REPO)}
    progress = []
    for _ in range(KILL_POINTS):
        process = subprocess.Popen(
            _command(config, crashed_out),
            cwd=REPO,
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.5, 2.5))
        if process.poll() is not None:
            break  # finished before this kill point
        process.send_signal(signal.SIGKILL)
        process.wait()
        progress.append(_cycles(crashed_url))
    print(f"cycles completed at each of {len(progress)} kill points: {progress}")
    final = subprocess.run(
        _command(config, crashed_out), cwd=REPO, env=environment, capture_output=True, text=True
    )
    assert final.returncode == 0, final.stderr[-2000:]

    killed_mid_replay = [c for c in progress if c > 0]
    assert len(progress) >= 10, f"only {len(progress)} kill points were tried"
    assert len(set(killed_mid_replay)) >= 5, f"kills did not spread over the replay: {progress}"
    assert _ledger(crashed_url) == _ledger(reference_url)
    assert _log(crashed_url) == _log(reference_url)
    for name in ("nav.csv", "fills.csv"):
        assert (crashed_out / name).read_bytes() == (reference_out / name).read_bytes()
    store = SqlEventStore.from_url(crashed_url)
    report = check_consistency(StateRepository(store))
    store.close()
    assert report.consistent, report.describe()
