"""The golden digest of a replay: what must not change when the engine is reshaped.

A digest covers `nav.csv`, `fills.csv` and every event's (seq, portfolio, portfolio_seq, type,
event_id, correlation_id, actor, payload) in sequence order. What differs from one run to the next
by design is left out: the event timestamp (wall clock), the random part of the ids of events
outside a cycle (`s<session>-<random>`; cycle events have ids from their cycle and position), and
the session id, output directory and recovery timing of `EngineStarted`/`EngineFinished`, and
each cycle's wall time (`CycleCompleted`'s `duration_ms`).

Record it again (in a commit of its own that says why results changed on purpose) with
`.venv/bin/python -m tests.golden.digest --record`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import sqlalchemy as sa

DIGEST_PATH = Path(__file__).with_name("replay_digest.json")
# The whole bundled history, default configuration.
REPLAY_ARGS = ("--start", "1990-01-01")
# Payload keys that name this run rather than the portfolios, or time it.
VOLATILE_KEYS = {
    "EngineStarted": frozenset({"session_id", "out_dir", "recovery"}),
    "EngineFinished": frozenset({"session_id"}),
    "CycleCompleted": frozenset({"duration_ms"}),
}
SESSION_EVENT_ID = re.compile(r"^s[0-9a-f]{12}-[0-9a-f]{16}$")


def stable_payload(event_type: str, payload: dict[str, object]) -> dict[str, object]:
    """``payload`` without the keys that differ from one run to the next by design."""
    volatile = VOLATILE_KEYS.get(event_type, frozenset())
    return {key: value for key, value in payload.items() if key not in volatile}


def _file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def replay_digest(out_dir: Path) -> dict[str, object]:
    """The digest of a finished replay in `out_dir`: one hash per part, and the event count."""
    engine = sa.create_engine(f"sqlite:///{(out_dir / 'events.db').resolve()}")
    events = hashlib.sha256()
    count = 0
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT seq, portfolio_id, portfolio_seq, type, event_id, correlation_id, actor, "
                "payload "
                "FROM events ORDER BY seq"
            )
        )
        for seq, portfolio, portfolio_seq, kind, event_id, correlation, actor, payload in rows:
            record = [
                seq,
                portfolio,
                portfolio_seq,
                kind,
                "session-event" if SESSION_EVENT_ID.match(event_id) else event_id,
                correlation,
                actor,
                stable_payload(kind, json.loads(payload)),
            ]
            events.update(json.dumps(record, sort_keys=True, separators=(",", ":")).encode())
            events.update(b"\n")
            count += 1
    engine.dispose()
    return {
        "events": count,
        "events_sha256": events.hexdigest(),
        "nav_csv_sha256": _file_digest(out_dir / "nav.csv"),
        "fills_csv_sha256": _file_digest(out_dir / "fills.csv"),
    }


def run_replay(out_dir: Path) -> None:
    """Replay the bundled history into `out_dir` with `pcoord replay` (a process of its own).

    Not measured for coverage: line tracing doubles a 5-minute replay, and every line it runs is
    run by the shorter replays of the other tests."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in ("COVERAGE_PROCESS_START", "COVERAGE_PROCESS_CONFIG")
    }
    subprocess.run(
        [
            sys.executable,
            "-m",
            "app.cli",
            "replay",
            *REPLAY_ARGS,
            "--out",
            str(out_dir),
            "--fresh",
            "--no-progress",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        env=environment,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--record", action="store_true", help="write the digest to the repository")
    parser.add_argument("--out", type=Path, help="replay here (default: a temporary directory)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out_dir = args.out or Path(tmp)
        run_replay(out_dir)
        digest = replay_digest(out_dir)
    print(json.dumps(digest, indent=2))
    if args.record:
        DIGEST_PATH.write_text(json.dumps(digest, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
