"""Crash recovery: SIGKILL the engine at seeded points of a replay, restart it until it finishes,
and compare the result with an uninterrupted run.

Every kill waits on a condition, never on the clock, so the same kills happen on a slow or a fast
machine: most kill points are cycle numbers (the process is killed once the store shows it has
completed that cycle), one kill lands right after a process is spawned, and one while a process
restarted on an existing store has just recovered. Snapshots are frequent here so that restarts
exercise both snapshot-plus-tail and full-replay recovery."""

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

from app.cli import main
from engine.config import default_config_text
from engine.events.store import SqlEventStore
from engine.state.consistency import check_consistency
from engine.state.engine_state import EngineState
from engine.state.repository import StateRepository
from tests.golden.digest import stable_payload

REPO = Path(__file__).resolve().parents[2]
WINDOW = ["--start", "2012-01-03", "--end", "2013-06-28"]
SEED = 20261125
CYCLE_KILLS = 20  # kill points given as a cycle number; plus two at start-up, two at recovery
DEADLINE_S = 1800.0  # for all the interrupted runs together, however slow the machine
POLL_S = 0.01
LIFECYCLE = {"EngineStarted", "EngineFinished"}
RESUMING = "resuming after cycle"  # what a replay prints to stderr once it has recovered


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
                stable_payload(e.type, e.payload),  # a cycle's wall time differs by design
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


def _last_cycle(db: Path) -> int | None:
    """The last cycle committed to the store at ``db``, read without writing to it: 0 before the
    first, None while the store cannot be read (being created by the process)."""
    if not db.exists():
        return 0
    try:
        with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)) as connection:
            row = connection.execute(
                "SELECT payload FROM events WHERE type = 'CycleCompleted' ORDER BY seq DESC LIMIT 1"
            ).fetchone()
    except sqlite3.OperationalError as exc:
        return 0 if "no such table" in str(exc) else None
    return json.loads(row[0])["cycle"] if row else 0


@contextmanager
def _writes_held_off(db: Path) -> Iterator[None]:
    """Hold the store's write lock: a process can open the store and recover from it (reads
    only), but the first thing it records waits for the lock, so a kill before the lock is let go
    lands after the recovery and before anything new is stored, however fast the machine."""
    connection = sqlite3.connect(db, isolation_level=None, timeout=30)
    try:
        connection.execute("BEGIN IMMEDIATE")
        yield
    finally:
        connection.execute("ROLLBACK")
        connection.close()


class _Run:
    """One ``pcoord replay`` process on the interrupted store. Its stderr goes to a file, never
    to a pipe that could fill up and block it."""

    def __init__(self, command: list[str], stderr: Path, deadline: float) -> None:
        self.stderr_path = stderr
        self.deadline = deadline
        with stderr.open("wb") as sink:
            self.process = subprocess.Popen(
                command,
                cwd=REPO,
                env={**os.environ, "PYTHONPATH": str(REPO)},
                stdout=subprocess.DEVNULL,
                stderr=sink,
            )

    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def wait_until_recovered(self) -> None:
        self.wait_for(lambda: RESUMING in self.stderr(), "it recovered from the store")

    def wait_until_cycle(self, db: Path, cycle: int) -> None:
        self.wait_for(lambda: (_last_cycle(db) or 0) >= cycle, f"it completed cycle {cycle}")

    def wait_for(self, condition: Callable[[], bool], what: str) -> None:
        """Poll ``condition`` until it holds; fail if the process ends first or time runs out."""
        while not condition():
            if self.process.poll() is not None:
                raise AssertionError(
                    f"the replay ended (exit {self.process.returncode}) before {what}:\n"
                    f"{self.stderr()[-2000:]}"
                )
            if time.monotonic() > self.deadline:
                self.kill()
                raise AssertionError(
                    f"the interrupted replays took over {DEADLINE_S:.0f} s: timed out waiting "
                    f"for {what}:\n{self.stderr()[-2000:]}"
                )
            time.sleep(POLL_S)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait()


def _kill_plan(cycles: int, rng: random.Random) -> list[str | int]:
    """Where to kill each run, in order: a cycle number (killed once the store holds it),
    "start-up" (killed as soon as it is spawned) or "recovery" (killed once it has recovered from
    the store and before it stores anything). One cycle kill comes before the first snapshot, so
    the restarts after it replay every event; the others are spread over the whole replay."""
    early = rng.randint(2, 6)
    low, high = early + 10, cycles - 10
    width = (high - low) // (CYCLE_KILLS - 1)
    spread = [low + i * width + rng.randrange(width // 2 + 1) for i in range(CYCLE_KILLS - 1)]
    plan: list[str | int] = ["start-up", early, "recovery", *spread]
    later_start_up, later_recovery = sorted(rng.sample(range(5, len(plan)), 2))
    plan.insert(later_recovery, "recovery")
    plan.insert(later_start_up, "start-up")
    return plan


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
    cycles = _last_cycle(reference_out / "events.db")
    assert cycles, "the reference replay stored no cycle"
    plan = _kill_plan(cycles, random.Random(SEED))

    crashed_out = tmp_path / "crashed"
    crashed_url = f"sqlite:///{crashed_out / 'events.db'}"
    db = crashed_out / "events.db"

    def settled_cycle() -> int:
        """The last stored cycle, with no process running."""
        for _ in range(100):
            if (cycle := _last_cycle(db)) is not None:
                return cycle
            time.sleep(POLL_S)
        raise AssertionError(f"cannot read {db} after a kill")

    deadline = time.monotonic() + DEADLINE_S
    kills: list[tuple[str | int, int, int]] = []  # (kill point, cycle before, cycle at the kill)
    recoveries: list[str] = []
    for n, point in enumerate(plan):
        before = settled_cycle()
        stderr = tmp_path / f"run-{n:02d}.stderr"
        if point == "recovery":
            with _writes_held_off(db):
                run = _Run(_command(config, crashed_out), stderr, deadline)
                run.wait_until_recovered()
                run.kill()
        else:
            run = _Run(_command(config, crashed_out), stderr, deadline)
            if isinstance(point, int):
                run.wait_until_cycle(db, point)
            run.kill()
        kills.append((point, before, settled_cycle()))
        recoveries += [line for line in run.stderr().splitlines() if RESUMING in line]
    print(f"{len(kills)} kills over {cycles} cycles (kill point: cycle before -> cycle at kill)")
    for point, before, reached in kills:
        print(f"  {point!s:>9}: {before:4d} -> {reached:4d}")

    final = subprocess.run(
        _command(config, crashed_out),
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=DEADLINE_S,
    )
    assert final.returncode == 0, final.stderr[-2000:]
    recoveries += [line for line in final.stderr.splitlines() if RESUMING in line]

    assert len(kills) >= 20, f"only {len(kills)} kill points were tried"
    reached_at_kill = {reached for point, _, reached in kills if isinstance(point, int)}
    assert len(reached_at_kill) >= 15, f"kills did not spread over the replay: {kills}"
    for point, before, reached in kills:
        if isinstance(point, int):
            assert reached >= point, (point, before, reached)
        else:  # killed before this run completed a cycle of its own
            assert reached == before, (point, before, reached)
    assert any("recovered from the first event" in line for line in recoveries), recoveries
    assert any("recovered from snapshot" in line for line in recoveries), recoveries

    assert _ledger(crashed_url) == _ledger(reference_url)
    assert _log(crashed_url) == _log(reference_url)
    for name in ("nav.csv", "fills.csv"):
        assert (crashed_out / name).read_bytes() == (reference_out / name).read_bytes()
    store = SqlEventStore.from_url(crashed_url)
    report = check_consistency(StateRepository(store))
    store.close()
    assert report.consistent, report.describe()
