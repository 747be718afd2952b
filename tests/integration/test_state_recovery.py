"""Recovery and consistency of the event-sourced state, on SQLite and on PostgreSQL."""

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import update

from app.cli import main
from engine.assembly import EngineParts, build_engine
from engine.state.consistency import check_consistency
from engine.state.engine_state import EngineState
from engine.state.repository import StateRepository, portfolio_cash_table, snapshots_table
from tests.support import simulated_config


def _run(database_url: str, days: int, snapshot_every: int = 300) -> EngineParts:
    parts = build_engine(simulated_config(days=days, snapshot_every=snapshot_every), database_url)
    parts.coordinator.start({"mode": "test"})
    for tick in parts.coordinator.resume(parts.feed):
        parts.coordinator.run_cycle(tick)
    return parts


def _state(state: EngineState) -> dict[str, Any]:
    data = state.to_dict()
    data.pop("events_applied")
    return data


def test_snapshot_plus_tail_equals_full_replay_equals_live(database_url: str) -> None:
    parts = _run(database_url, days=120)
    repository = StateRepository(parts.store)
    assert len(repository.snapshot_rows()) >= 3
    from_snapshot, report = repository.recover()
    from_scratch, full = repository.recover(use_snapshots=False)
    assert report.snapshot_id is not None and report.events_replayed < full.events_replayed
    assert _state(from_snapshot) == _state(from_scratch) == _state(parts.coordinator.state)


def test_a_restarted_engine_carries_on_where_the_log_ends(database_url: str) -> None:
    first = _run(database_url, days=60)
    cycles, ledger = first.coordinator.cycles_completed, first.coordinator.ledger.to_dict()
    first.store.close()
    again = build_engine(simulated_config(days=60, snapshot_every=300), database_url)
    assert again.coordinator.cycles_completed == cycles
    assert again.coordinator.ledger.to_dict() == ledger
    assert list(again.coordinator.resume(again.feed)) == []


def test_a_corrupted_snapshot_falls_back_to_an_older_one_or_to_full_replay(
    database_url: str,
) -> None:
    parts = _run(database_url, days=120)
    repository = StateRepository(parts.store)
    expected = _state(repository.recover(use_snapshots=False)[0])
    rows = repository.snapshot_rows()
    with parts.store.engine.begin() as connection:
        connection.execute(
            update(snapshots_table)
            .where(snapshots_table.c.id == rows[0].id)
            .values(state=rows[0].state.replace('"cash_usd":"', '"cash_usd":"1'))
        )
    state, report = repository.recover()
    assert report.snapshot_id == rows[1].id
    assert "checksum mismatch" in report.rejected_snapshots[0]
    assert _state(state) == expected

    with parts.store.engine.begin() as connection:
        connection.execute(update(snapshots_table).values(state="{not json"))
    state, report = repository.recover()
    assert report.snapshot_id is None and len(report.rejected_snapshots) == len(rows)
    assert _state(state) == expected


def test_check_finds_a_planted_discrepancy_in_the_projection(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    parts = _run(database_url, days=80)
    repository = StateRepository(parts.store)
    assert check_consistency(repository).consistent
    assert main(["check", "--database-url", database_url]) == 0

    true_cash = parts.coordinator.ledger.cash_usd("beta")
    with parts.store.engine.begin() as connection:
        connection.execute(
            update(portfolio_cash_table)
            .where(portfolio_cash_table.c.portfolio_id == "beta")
            .values(cash_usd=str(true_cash + Decimal("0.01")))
        )
    report = check_consistency(repository)
    assert not report.consistent
    (difference,) = report.differences
    assert (difference.where, difference.portfolio_id, difference.field) == (
        "projection",
        "beta",
        "cash_usd",
    )
    assert difference.from_events == str(true_cash)
    capsys.readouterr()
    assert main(["check", "--database-url", database_url]) == 1
    assert "projection: portfolio beta cash_usd" in capsys.readouterr().out


def test_the_engine_halts_a_portfolio_whose_state_drifts_from_its_events(
    database_url: str,
) -> None:
    parts = build_engine(simulated_config(days=80), database_url)
    coordinator = parts.coordinator
    coordinator.start({"mode": "test"})
    ticks = coordinator.resume(parts.feed)
    for _ in range(40):
        coordinator.run_cycle(next(ticks))
    # A bug (or a stray write) changes the live ledger without an event:
    coordinator.ledger.credit_interest("alpha", Decimal("100.00"), coordinator.market_date)
    coordinator.run_cycle(next(ticks))
    (alert,) = parts.store.query(event_type="ConsistencyAlert")
    assert alert.portfolio_id == "alpha"
    assert "cash_usd live" in alert.payload["differences"][0]
    (halt,) = parts.store.query(event_type="TradingStateChanged")
    assert (halt.portfolio_id, halt.payload["state"]) == ("alpha", "HALTED")

    orders_before = dict(coordinator.orders_total)
    for _ in range(20):
        coordinator.run_cycle(next(ticks))
    assert coordinator.orders_total["alpha"] == orders_before["alpha"]
    assert coordinator.orders_total["beta"] > orders_before["beta"]
    snapshot = coordinator.build_snapshot(*_running())
    assert snapshot.portfolio("alpha").trading_state == "HALTED"


def _running():
    from engine.snapshot import EngineStatus

    return EngineStatus.RUNNING, 1.0


def test_recent_trades_come_back_after_a_restart(database_url: str) -> None:
    first = _run(database_url, days=60)
    orders, fills = (
        list(first.coordinator.views.recent_orders),
        list(first.coordinator.views.recent_fills),
    )
    assert orders and fills
    first.store.close()
    again = build_engine(simulated_config(days=60, snapshot_every=300), database_url)
    assert list(again.coordinator.views.recent_orders) == orders
    assert list(again.coordinator.views.recent_fills) == fills
