"""Archiving old events: they leave the live store, stay readable in order from the archive, and
the engine recovers exactly the state it had."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import delete

from app.cli import main
from engine.assembly import EngineParts, build_engine
from engine.errors import RecoveryError
from engine.events.archive import archive_before
from engine.events.growth import store_growth
from engine.events.store import SqlEventStore
from engine.model import Event
from engine.state.consistency import check_consistency
from engine.state.repository import StateRepository, snapshots_table
from tests.support import simulated_config

CYCLES = 60


def run(parts: EngineParts, cycles: int) -> None:
    for k, tick in enumerate(parts.coordinator.resume(parts.feed)):
        if k == cycles:
            break
        parts.coordinator.run_cycle(tick)


def identity(event: Event) -> tuple:
    return (
        event.seq,
        event.event_id,
        event.type,
        event.portfolio_id,
        event.portfolio_seq,
        event.timestamp,
        event.payload,
    )


@pytest.fixture
def ran(tmp_path: Path) -> tuple[str, dict, list[Event]]:
    """A store after ``CYCLES`` cycles: its URL, the live state and every event."""
    url = f"sqlite:///{tmp_path / 'live.db'}"
    parts = build_engine(simulated_config(snapshot_every=500), url)
    run(parts, CYCLES)
    state = parts.coordinator.state.to_dict()
    events = list(parts.store.iter_from(1))
    parts.store.close()
    return url, state, events


def cycle_dates(events: list[Event]) -> list[date]:
    return [
        date.fromisoformat(e.payload["market_date"]) for e in events if e.type == "CycleCompleted"
    ]


def test_archived_events_read_back_in_order_and_the_engine_recovers_the_same_state(
    ran: tuple[str, dict, list[Event]], tmp_path: Path
) -> None:
    url, state, events = ran
    before = cycle_dates(events)[30]
    store = SqlEventStore.from_url(url)
    report = archive_before(store, before, f"sqlite:///{tmp_path / 'archive.db'}")

    # The archive ends with the CycleCompleted of the last day before the date.
    last_archived = next(e for e in events if e.seq == report.last_seq)
    assert last_archived.type == "CycleCompleted"
    assert date.fromisoformat(last_archived.payload["market_date"]) < before
    assert report.first_seq == 1 and report.events_moved == report.last_seq

    archive = SqlEventStore.from_url(f"sqlite:///{tmp_path / 'archive.db'}", writable=False)
    archived = list(archive.iter_from(1))
    assert [identity(e) for e in archived] == [
        identity(e) for e in events if e.seq <= report.last_seq
    ]
    live = list(store.iter_from(1))
    assert [identity(e) for e in live] == [identity(e) for e in events if e.seq > report.last_seq]
    assert cycle_dates(live)[0] >= before

    recovered = build_engine(simulated_config(snapshot_every=500), url)
    assert recovered.coordinator.state.to_dict() == state
    assert check_consistency(StateRepository(recovered.store)).consistent

    # Each portfolio numbers its events on from where the archive left off.
    run(recovered, 5)
    seen: dict[str, list[int]] = {}
    for event in [*archived, *recovered.store.iter_from(1)]:
        if event.portfolio_id is not None:
            seen.setdefault(event.portfolio_id, []).append(int(event.portfolio_seq or 0))
    for numbers in seen.values():
        assert numbers == list(range(1, len(numbers) + 1))


def test_archiving_again_continues_in_a_second_file(
    ran: tuple[str, dict, list[Event]], tmp_path: Path
) -> None:
    url, state, events = ran
    dates = cycle_dates(events)
    store = SqlEventStore.from_url(url)
    first = archive_before(store, dates[10], f"sqlite:///{tmp_path / 'a1.db'}")
    second = archive_before(store, dates[40], f"sqlite:///{tmp_path / 'a2.db'}")
    assert second.first_seq == first.last_seq + 1
    again = archive_before(store, dates[40], f"sqlite:///{tmp_path / 'a3.db'}")
    assert again.events_moved == 0
    assert "nothing to archive" in again.describe()
    both = [
        *SqlEventStore.from_url(f"sqlite:///{tmp_path / 'a1.db'}", writable=False).iter_from(1),
        *SqlEventStore.from_url(f"sqlite:///{tmp_path / 'a2.db'}", writable=False).iter_from(1),
        *store.iter_from(1),
    ]
    assert [identity(e) for e in both] == [identity(e) for e in events]
    assert build_engine(simulated_config(snapshot_every=500), url).coordinator.state.to_dict() == (
        state
    )


def test_recovery_refuses_a_store_whose_archived_events_no_snapshot_covers(
    ran: tuple[str, dict, list[Event]], tmp_path: Path
) -> None:
    url, _state, events = ran
    store = SqlEventStore.from_url(url)
    archive_before(store, cycle_dates(events)[30], f"sqlite:///{tmp_path / 'archive.db'}")
    with store.engine.begin() as connection:
        connection.execute(delete(snapshots_table))
    with pytest.raises(RecoveryError, match=r"events up to #[\d,]+ are archived"):
        StateRepository(store).recover()


def test_the_cli_archives_and_reads_the_archive_back(
    ran: tuple[str, dict, list[Event]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, _state, events = ran
    before = cycle_dates(events)[20]
    assert main(["archive", "--before", before.isoformat(), "--database-url", url]) == 0
    out = capsys.readouterr().out
    path = tmp_path / f"live-archive-before-{before.isoformat()}.db"
    assert f"to {path}" in out and "archived " in out and "live store:" in out
    assert path.is_file()

    assert main(["events", "--archive", str(path), "--from-seq", "1", "--limit", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [int(line.split()[0]) for line in lines] == [1, 2, 3]

    assert main(["archive", "--before", "1999-01-01", "--database-url", url]) == 0
    assert "nothing to archive before 1999-01-01" in capsys.readouterr().out


def test_store_growth_counts_cycles_events_and_payload_bytes(
    ran: tuple[str, dict, list[Event]],
) -> None:
    url, _state, events = ran
    stats = store_growth(SqlEventStore.from_url(url, writable=False), file_bytes=2_000_000)
    assert stats["cycles"] == CYCLES
    assert stats["events"] == len(events)
    assert stats["events_per_cycle"] == pytest.approx(len(events) / CYCLES)
    assert stats["file_mb_per_1000_cycles"] == pytest.approx(2.0 / CYCLES * 1000)
    by_type = {row["type"]: row for row in stats["by_type"]}
    fills = [e for e in events if e.type == "OrderFilled"]
    assert by_type["OrderFilled"]["events"] == len(fills)
    assert stats["payload_bytes"] == sum(row["payload_bytes"] for row in stats["by_type"])
