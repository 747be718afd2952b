"""The live engine's snapshot keeps parts from the last one (engine/views/live.py): the
signal rows, as columns made into rows on the first read, while the signals they come from are
the same objects (a snapshot published again before the next cycle). After every cycle of a
replay, and after a command between cycles, the snapshot built with what was kept must show
what one built from scratch (the kept parts dropped) shows, and the rows and positions what
they were made of before."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from engine.assembly import EngineParts, build_engine
from engine.commands import SetOverride
from engine.config import parse_config
from engine.model import Position
from engine.snapshot import EngineStatus, PositionView, SignalRow, StateSnapshot
from tests.support import SIGNALS_CONFIG, signal_rows_one_by_one

CYCLES = 24
COMMAND_AFTER_CYCLE = 12
# "guarded" rebalances every third day: its allocation and targets stay between rebalances
# while its signals and prices move.
CONFIG = SIGNALS_CONFIG.replace(
    'name = "Blend with a veto"', 'name = "Blend with a veto"\nrebalance_every_days = 3'
)


def _as_seen(snapshot: StateSnapshot) -> str:
    """Everything a page reads, as text (a NaN, an IC not measured yet, never equals itself),
    but the time of publication."""
    seen = replace(
        snapshot,
        published_at=datetime(2000, 1, 1, tzinfo=UTC),
        raw_signals=tuple(snapshot.raw_signals),
        coordinated_signals=tuple(snapshot.coordinated_signals),
    )
    return repr(seen)


def _coordinated_rows(parts: EngineParts) -> tuple[SignalRow, ...]:
    """The coordinated rows made one by one from the engine's latest coordinated signals."""
    symbols = parts.coordinator.universe.symbols
    return tuple(
        row
        for pid, signals in parts.coordinator.views.latest_coordinated.items()
        for row in signal_rows_one_by_one(pid, symbols, signals)
    )


def _raw_rows(parts: EngineParts) -> tuple[SignalRow, ...]:
    symbols = parts.coordinator.universe.symbols
    return tuple(
        SignalRow(batch.key, symbol, float(batch.score[i]), float(batch.confidence[i]))
        for batch in parts.coordinator.views.latest_batches
        for i, symbol in enumerate(symbols)
        if batch.confidence[i] > 0
    )


def _positions(parts: EngineParts, portfolio_id: str) -> tuple[PositionView, ...]:
    """Each position valued as the ledger values one, at its latest mark (zero without one)."""
    state = parts.coordinator.views.state
    ledger = state.ledger
    nav = ledger.nav_usd(portfolio_id)
    held = ledger.holdings_of(portfolio_id)
    targets = state.targets.get(portfolio_id, {})
    sectors = {i.symbol: i.sector for i in parts.coordinator.universe.instruments}
    views = []
    for symbol in sorted(set(held) | set(targets)):
        position = Position(symbol, held.get(symbol, 0), ledger.mark_of(symbol) or Decimal(0))
        value = position.market_value_usd
        views.append(
            PositionView(
                symbol,
                sectors[symbol],
                position.quantity_shares,
                position.price_usd,
                value,
                float(value / nav),
                targets.get(symbol, 0.0),
            )
        )
    return tuple(views)


def _kept_and_from_scratch(parts: EngineParts, version: int) -> tuple[StateSnapshot, ...]:
    coordinator = parts.coordinator
    kept = coordinator.build_snapshot(EngineStatus.RUNNING, 1.0, version)
    coordinator.views.forget_kept_parts()
    return kept, coordinator.build_snapshot(EngineStatus.RUNNING, 1.0, version)


def test_a_snapshot_from_kept_parts_shows_what_one_built_from_scratch_shows(
    tmp_path: Path,
) -> None:
    config = parse_config(CONFIG.format(days=60, snapshot_every=20_000), "snapshot test config")
    parts = build_engine(config, f"sqlite:///{tmp_path}/events.db")
    coordinator = parts.coordinator
    coordinator.start({"mode": "test"})
    for cycle, tick in enumerate(coordinator.resume(parts.feed), start=1):
        assert coordinator.run_cycle(tick).error is None
        kept, from_scratch = _kept_and_from_scratch(parts, cycle)
        assert _as_seen(kept) == _as_seen(from_scratch), f"cycle {cycle}"
        assert kept.coordinated_signals == _coordinated_rows(parts)
        assert len(kept.coordinated_signals) > 0
        assert kept.raw_signals == _raw_rows(parts)
        for view in kept.portfolios:
            assert view.positions == _positions(parts, view.portfolio_id)
        assert any(view.positions for view in kept.portfolios) or cycle < 3

        if cycle == COMMAND_AFTER_CYCLE:
            # A command between cycles is published at once, on the same cycle's signals.
            coordinator.apply(SetOverride("pm", "test", kind="veto", symbol="SIM00002"))
            again = coordinator.build_snapshot(EngineStatus.RUNNING, 1.0, cycle)
            # The rows of the same cycle are the same rows, made once for every reader.
            assert again.coordinated_signals[0] is from_scratch.coordinated_signals[0]
            kept, from_scratch = _kept_and_from_scratch(parts, cycle)
            assert _as_seen(kept) == _as_seen(from_scratch)
            assert len(kept.overrides) == 1
        if cycle == CYCLES:
            break
    assert cycle == CYCLES
