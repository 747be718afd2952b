"""`pcoord events` prints the audit trail with filters, as text or JSON Lines."""

import json
from pathlib import Path

import pytest

from app.cli import main
from engine.commands import Pause
from engine.events.store import SqlEventStore
from engine.snapshot import EngineStatus
from tests.support import SIMULATED_CONFIG, eventually


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> str:
    out = tmp_path_factory.mktemp("events")
    config = out / "sim.toml"
    config.write_text(SIMULATED_CONFIG.format(days=40, speed=100, snapshot_every=20_000))
    assert main(["replay", "--config", str(config), "--out", str(out), "--no-progress"]) == 0
    return f"sqlite:///{out / 'events.db'}"


def _json_lines(capsys: pytest.CaptureFixture[str]) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_latest_events_come_oldest_first_up_to_the_limit(
    replayed: str, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["events", "--database-url", replayed, "--limit", "5", "--json"]) == 0
    rows = _json_lines(capsys)
    store = SqlEventStore.from_url(replayed)
    last = store.last_seq()
    assert [row["seq"] for row in rows] == list(range(last - 4, last + 1))
    assert rows[-1]["type"] == "EngineFinished"


def test_filters_by_portfolio_type_and_sequence(
    replayed: str, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    args = ["events", "--database-url", replayed, "--json", "--limit", "1000"]
    assert main([*args, "--portfolio", "beta", "--type", "OrderFilled", "--from-seq", "1"]) == 0
    rows = _json_lines(capsys)
    assert rows and {(r["portfolio_id"], r["type"]) for r in rows} == {("beta", "OrderFilled")}
    sequences = [r["portfolio_seq"] for r in rows]
    assert sequences == sorted(sequences)
    assert all(isinstance(r["payload"]["price_usd"], str) for r in rows)


def test_a_command_is_in_the_trail_with_actor_and_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from app.runtime import build_runtime
    from engine.config import parse_config

    config = parse_config(SIMULATED_CONFIG.format(days=40, speed=100, snapshot_every=20_000))
    url = f"sqlite:///{tmp_path / 'live.db'}"
    runtime = build_runtime(database_url=url, config=config)
    runtime.runner.start()
    runtime.runner.submit(Pause("carol", "end-of-day review"))
    assert eventually(lambda: runtime.runner.snapshot().status is EngineStatus.PAUSED)
    runtime.runner.stop()
    capsys.readouterr()
    assert main(["events", "--database-url", url, "--type", "CommandApplied"]) == 0
    line = capsys.readouterr().out.strip()
    assert "carol" in line and "end-of-day review" in line and "Pause" in line


def test_a_bad_limit_is_refused(replayed: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["events", "--database-url", replayed, "--limit", "0"]) == 2
    assert "--limit: 0 must be at least 1" in capsys.readouterr().err


def test_since_a_time_prints_from_the_first_event_at_or_after_it(
    replayed: str, capsys: pytest.CaptureFixture[str]
) -> None:
    store = SqlEventStore.from_url(replayed, writable=False)
    middle = store.read_from(store.last_seq() // 2, 1)[0]
    store.close()
    capsys.readouterr()
    since = middle.timestamp.isoformat()
    assert main(["events", "--database-url", replayed, "--since", since, "--json"]) == 0
    rows = _json_lines(capsys)
    assert rows and all(row["timestamp"] >= since for row in rows)
    assert rows[0]["seq"] <= middle.seq


def test_an_unknown_type_says_nothing_matches(
    replayed: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["events", "--database-url", replayed, "--type", "NoSuchEvent"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and "no events match" in captured.err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["tail"], "events tail: use --bus pulsar"),
        (["--bus", "pulsar"], "only 'events tail' reads Pulsar"),
    ],
)
def test_the_store_and_the_stream_are_not_mixed_up(
    replayed: str, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    assert main(["events", *extra, "--database-url", replayed]) == 2
    assert message in capsys.readouterr().err
