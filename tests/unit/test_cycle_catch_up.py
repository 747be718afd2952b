"""Recovery's ``catch_up`` against the cycle it stands in for, with plain inputs: rolling the
ticks already run through it leaves the price window and the sources' measured quality exactly
where running the market, signals and quality stages over the same ticks left them, external
views accepted then included (read back from a real SQLite store in tmp_path)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from engine.cycle.market import MarketStage
from engine.cycle.quality import QualityStage
from engine.cycle.recovery import catch_up
from engine.cycle.signals import SignalsStage
from engine.events.store import SqlEventStore
from engine.model import Event, MarketTick, Signal
from engine.signals.book import signal_payload
from engine.signals.quality import QualityTracker
from engine.signals.sources import MomentumSource
from tests.unit.cycle_support import (
    FIXED_TIME,
    SYMBOLS,
    UNIVERSE,
    Recorder,
    business_days,
    cycle_completed,
    opened_state,
    price_window,
)

WARMUP_DAYS, TICKS, RUN = 12, 30, 24
EXTERNAL_CYCLE = 10


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlEventStore]:
    store = SqlEventStore.from_url(f"sqlite:///{tmp_path / 'events.db'}")
    yield store
    store.close()


def _stages() -> tuple[MarketStage, SignalsStage, QualityStage]:
    prices = price_window(WARMUP_DAYS + TICKS, seed=11)
    market = MarketStage(UNIVERSE, history_days=40, warmup_prices=prices[:WARMUP_DAYS])
    signals = SignalsStage(UNIVERSE, {"momentum": MomentumSource((5, 10), 1)})
    tracker = QualityTracker(window=20, min_observations=2, min_cross_section=3)
    return market, signals, QualityStage(tracker, ["momentum", "desk"])


def _ticks() -> list[MarketTick]:
    prices = price_window(WARMUP_DAYS + TICKS, seed=11)[WARMUP_DAYS:]
    days = business_days(FIXED_TIME.date(), TICKS)
    volume = np.full(len(SYMBOLS), 1e6)
    return [MarketTick(day, row, volume) for day, row in zip(days, prices, strict=True)]


def _desk_signals(tick: MarketTick) -> list[Signal]:
    return [
        Signal("d1", "desk", "AAA", tick.timestamp, "1w", 0.5, 0.9, 10),
        Signal("d2", "desk", "BBB", tick.timestamp, "1w", -0.3, 0.9, 10),
        Signal("d3", "desk", "CCC", tick.timestamp, "1w", 0.1, 0.9, 10),
    ]


def test_catching_up_re_forms_the_quality_the_cycles_measured(store: SqlEventStore) -> None:
    ticks = _ticks()

    # The engine as it ran: RUN cycles, external views accepted after cycle EXTERNAL_CYCLE.
    market, signals, quality = _stages()
    state, emit = opened_state()
    for cycle, tick in enumerate(ticks[:RUN], start=1):
        close = market.run(tick, state.ledger)
        quality.run(cycle, close, signals.run(close, state, emit), emit)
        if cycle == EXTERNAL_CYCLE:
            for signal in _desk_signals(tick):
                i = UNIVERSE.symbol_index[signal.symbol]
                quality.record_external(
                    cycle, "desk", signal.horizon, [i], [signal.score], tick.close
                )

    # The engine restarted on the store those cycles left.
    store.append(
        [
            Event(
                event_id=f"e{k}",
                type="SignalReceived",
                timestamp=FIXED_TIME,
                actor="desk",
                payload={**signal_payload(signal), "cycle": EXTERNAL_CYCLE},
            )
            for k, signal in enumerate(_desk_signals(ticks[EXTERNAL_CYCLE - 1]))
        ]
    )
    restarted, _ = opened_state()
    recorder = Recorder(restarted)
    for cycle, tick in enumerate(ticks[:RUN], start=1):
        cycle_completed(recorder, cycle, tick.timestamp)
    market2, signals2, quality2 = _stages()

    remaining = list(catch_up(ticks, restarted, store, market2, signals2, quality2))

    assert [t.timestamp for t in remaining] == [t.timestamp for t in ticks[RUN:]]
    np.testing.assert_array_equal(market2.prices.window(), market.prices.window())
    for source in ("momentum", "desk"):
        assert quality2.tracker.quality(source) == quality.tracker.quality(source)
    assert quality.tracker.quality("desk").observations == 1  # the desk's views were measured
    assert quality.tracker.quality("momentum").observations >= 2
    # And the next cycle, run on either, measures the same.
    tick = ticks[RUN]
    first = quality.tracker.mature(RUN + 1, tick.close)
    second = quality2.tracker.mature(RUN + 1, tick.close)
    assert first == second
