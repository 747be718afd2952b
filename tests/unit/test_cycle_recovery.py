"""Recovery with plain data: a store the configuration does not match is refused with the
reason, and the ticks a stopped engine already ran roll the windows instead of trading again."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from engine.cycle.market import MarketStage
from engine.cycle.quality import QualityStage
from engine.cycle.recovery import accepted_external_by_cycle, catch_up, check_recovered_state
from engine.cycle.signals import SignalsStage
from engine.errors import RecoveryError
from engine.events.store import SqlEventStore
from engine.model import Event, MarketTick
from engine.signals.horizons import MAX_HORIZON_DAYS
from engine.signals.quality import QualityTracker
from tests.unit.cycle_support import (
    FIXED_TIME,
    SYMBOLS,
    UNIVERSE,
    business_days,
    cycle_completed,
    holding,
    opened_state,
)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlEventStore]:
    store = SqlEventStore.from_url(f"sqlite:///{tmp_path / 'events.db'}")
    yield store
    store.close()


def test_a_state_the_configuration_matches_is_accepted() -> None:
    state, emit = opened_state()
    holding(emit, "alpha", "AAA", 10, "100.00")
    check_recovered_state(state, ("alpha", "beta"), SYMBOLS)


def test_a_portfolio_the_configuration_lacks_is_refused_by_name() -> None:
    state, _ = opened_state()
    with pytest.raises(RecoveryError, match=r"portfolios \['beta'\] that the config does not"):
        check_recovered_state(state, ("alpha",), SYMBOLS)


def test_a_position_the_market_data_lacks_is_refused_by_name() -> None:
    state, emit = opened_state()
    holding(emit, "alpha", "AAA", 10, "100.00")
    with pytest.raises(RecoveryError, match=r"positions in \['AAA'\]"):
        check_recovered_state(state, ("alpha", "beta"), ("BBB", "CCC"))


def _ticks(days: int) -> list[MarketTick]:
    return [
        MarketTick(day, np.full(len(SYMBOLS), 100.0 + k), np.full(len(SYMBOLS), 1e6))
        for k, day in enumerate(business_days(FIXED_TIME.date(), days))
    ]


def test_ticks_already_run_roll_the_window_and_only_the_rest_are_yielded(
    store: SqlEventStore,
) -> None:
    ticks = _ticks(5)
    state, emit = opened_state()
    for cycle, tick in enumerate(ticks[:3], start=1):
        cycle_completed(emit, cycle, tick.timestamp)
    market = MarketStage(UNIVERSE, history_days=20, warmup_prices=np.ones((2, len(SYMBOLS))))
    quality = QualityStage(QualityTracker(), ())

    remaining = catch_up(ticks, state, store, market, SignalsStage(UNIVERSE, {}), quality)
    first = next(remaining)

    assert first.timestamp == ticks[3].timestamp
    assert market.days == 2 + 3  # the warm-up plus the three ticks already run
    np.testing.assert_array_equal(market.latest_close(), ticks[2].close)
    assert [t.timestamp for t in remaining] == [ticks[4].timestamp]


def test_a_fresh_state_runs_every_tick(store: SqlEventStore) -> None:
    ticks = _ticks(3)
    state, _ = opened_state()
    market = MarketStage(UNIVERSE, history_days=20, warmup_prices=np.ones((2, len(SYMBOLS))))
    quality = QualityStage(QualityTracker(), ())
    remaining = catch_up(ticks, state, store, market, SignalsStage(UNIVERSE, {}), quality)
    assert [t.timestamp for t in remaining] == [t.timestamp for t in ticks]
    assert market.days == 2


def _received(seq: int, cycle: int, signal_id: str) -> Event:
    return Event(
        event_id=f"e{seq}",
        type="SignalReceived",
        timestamp=FIXED_TIME,
        actor="feed",
        payload={
            "signal_id": signal_id,
            "source": "desk",
            "instrument": "AAA",
            "horizon": "1m",
            "score": 0.5,
            "confidence": 0.8,
            "ttl_days": 5,
            "timestamp": FIXED_TIME.date().isoformat(),
            "cycle": cycle,
        },
    )


def test_external_views_still_being_measured_come_back_by_cycle_in_order(
    store: SqlEventStore,
) -> None:
    done = MAX_HORIZON_DAYS + 10
    store.append([_received(1, 1, "old"), _received(2, done - 5, "a"), _received(3, done - 5, "b")])
    by_cycle = accepted_external_by_cycle(store, cycles_completed=done, page_size=1)
    # Cycle 1 is more than the longest horizon back: its quality is settled, it is not re-read.
    assert list(by_cycle) == [done - 5]
    assert [s.signal_id for s in by_cycle[done - 5]] == ["a", "b"]
