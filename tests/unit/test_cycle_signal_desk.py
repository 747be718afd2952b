"""``SignalDesk.submit`` with plain data: each external signal of a submission is recorded as
``SignalReceived`` or ``SignalRejected`` (naming the field and the reason), a duplicate id is
ignored, and the accepted views join the quality measurement of their source."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from engine.commands import SubmitSignals
from engine.cycle.quality import QualityStage
from engine.cycle.signal_desk import SignalDesk
from engine.signals.intake import SignalIntake
from engine.signals.quality import QualityTracker
from engine.signals.validation import ExternalSourceSpec, RateLimiter, SignalValidator
from engine.state.engine_state import EngineState
from tests.unit.cycle_support import (
    SYMBOLS,
    TODAY,
    UNIVERSE,
    Recorder,
    cycle_completed,
    mandates,
    opened_state,
)

CLOSE = np.array([50.0, 20.0, 80.0, 10.0])
SOURCES = {"desk": ExternalSourceSpec("desk", default_ttl_days=5)}


def _frozen_clock() -> float:
    return 0.0  # the rate limiter never sees time pass: no wall clock in these tests


def _desk(
    close: Callable[[], np.ndarray | None] = lambda: CLOSE,
    cycles: int = 3,
    limit_per_minute: int | None = None,
) -> tuple[SignalDesk, EngineState, Recorder, QualityStage]:
    """A desk over a state that has completed ``cycles`` cycles, the last on ``TODAY``."""
    state, emit = opened_state()
    for cycle in range(1, cycles + 1):
        cycle_completed(emit, cycle, TODAY)
    emit.clear()
    sources = SOURCES
    if limit_per_minute is not None:
        sources = {"desk": ExternalSourceSpec("desk", 5, max_signals_per_minute=limit_per_minute)}
    intake = SignalIntake(SignalValidator(SYMBOLS, sources), sources, RateLimiter(_frozen_clock))
    tracker = QualityTracker(window=10, min_observations=1, min_cross_section=3)
    quality = QualityStage(tracker, ["desk"])
    desk = SignalDesk(UNIVERSE, mandates(), intake, quality, state, emit, close)
    return desk, state, emit, quality


def _raw(signal_id: str, symbol: str, score: float, **changes: object) -> dict[str, object]:
    return {
        "id": signal_id,
        "source": "desk",
        "instrument": symbol,
        "timestamp": TODAY.isoformat(),
        "horizon": "1d",
        "score": score,
        "confidence": 0.8,
        **changes,
    }


def test_an_accepted_signal_is_recorded_with_its_cycle_market_date_and_channel() -> None:
    desk, state, emit, _ = _desk()

    (outcome,) = desk.submit(SubmitSignals("feed", "x", signals=(_raw("s1", "CCC", 0.6),)))

    assert outcome.status == "accepted"
    (received,) = emit.events
    assert received.type == "SignalReceived"
    assert received.actor == "feed"
    assert received.portfolio_id is None
    assert received.payload == {
        "signal_id": "s1",
        "source": "desk",
        "instrument": "CCC",
        "timestamp": TODAY.isoformat(),
        "horizon": "1d",
        "score": 0.6,
        "confidence": 0.8,
        "ttl_days": 5,
        "cycle": 3,
        "market_date": TODAY.isoformat(),
        "channel": "api",
    }
    # Applied at once: the signal book shows it as a view of the next close.
    (batch,) = state.signal_book.batches(UNIVERSE.symbol_index, TODAY)
    assert batch.key == "desk/1d"
    assert batch.score.tolist() == [0.0, 0.0, 0.6, 0.0]


def test_a_rejected_signal_names_the_field_and_the_reason_and_the_rest_go_through() -> None:
    desk, state, emit, _ = _desk()
    raws = (
        _raw("s1", "ZZZ", 0.5),
        _raw("s2", "AAA", 1.5),
        _raw("s3", "BBB", 0.2),
    )

    outcomes = desk.submit(SubmitSignals("feed", "x", signals=raws, channel="file"))

    assert [o.status for o in outcomes] == ["rejected", "rejected", "accepted"]
    assert emit.types == ["SignalRejected", "SignalRejected", "SignalReceived"]
    unknown, too_big = (e.payload for e in emit.of("SignalRejected"))
    assert unknown["field"] == "instrument"
    assert unknown["reason"] == "is not in the market data's universe"
    assert unknown["value"] == "'ZZZ'"
    assert (unknown["index"], unknown["signal_id"], unknown["channel"]) == (0, "s1", "file")
    assert unknown["market_date"] == TODAY.isoformat()
    assert too_big["field"] == "score"
    assert too_big["reason"] == "must be between -1 and 1"
    assert too_big["index"] == 1
    assert not state.signal_book.seen("s1") and state.signal_book.seen("s3")


def test_a_signal_id_already_accepted_is_ignored_without_a_record() -> None:
    desk, _, emit, _ = _desk()
    desk.submit(SubmitSignals("feed", "x", signals=(_raw("s1", "AAA", 0.5),)))
    emit.clear()

    outcomes = desk.submit(
        SubmitSignals("feed", "x", signals=(_raw("s1", "AAA", 0.9), _raw("s2", "AAA", 0.9)))
    )

    assert [o.status for o in outcomes] == ["duplicate", "accepted"]
    assert [e.payload["signal_id"] for e in emit.events] == ["s2"]


def test_a_source_over_its_rate_limit_is_refused_by_source() -> None:
    desk, _, emit, _ = _desk(limit_per_minute=2)
    raws = tuple(_raw(f"s{k}", "AAA", 0.1) for k in range(3))

    outcomes = desk.submit(SubmitSignals("feed", "x", signals=raws))

    assert [o.status for o in outcomes] == ["accepted", "accepted", "rejected"]
    (rejected,) = emit.of("SignalRejected")
    assert rejected.payload["field"] == "source"
    assert "rate limit of 2 signals per minute" in rejected.payload["reason"]


def test_before_any_cycle_a_signal_cannot_be_checked_and_is_rejected() -> None:
    desk, _, emit, _ = _desk(cycles=0)

    (outcome,) = desk.submit(SubmitSignals("feed", "x", signals=(_raw("s1", "AAA", 0.5),)))

    assert outcome.status == "rejected"
    payload = emit.of("SignalRejected")[0].payload
    assert payload["field"] == "timestamp"
    assert payload["market_date"] is None


def test_accepted_views_are_measured_as_the_sources_quality_once_their_horizon_passes() -> None:
    desk, _, _, quality = _desk()
    # Ranked as the market will move the next day: AAA up most, CCC down most.
    raws = (_raw("a", "AAA", 0.9), _raw("b", "BBB", 0.1), _raw("c", "CCC", -0.7))
    desk.submit(SubmitSignals("feed", "x", signals=raws))
    assert quality.tracker.quality("desk").observations == 0  # the horizon has not passed

    next_close = CLOSE * np.array([1.03, 1.01, 0.97, 1.0])
    (observation,) = quality.tracker.mature(4, next_close)  # one day (cycle 3 -> 4) later

    assert observation.key == "desk/1d"
    assert observation.cycle == 3  # the cycle completed when the views came in
    assert observation.ic == pytest.approx(1.0)
    assert observation.instruments == 3
    assert observation.coverage == pytest.approx(3 / 4)
    assert quality.tracker.quality("desk").observations == 1


def test_without_a_close_yet_the_views_are_recorded_but_not_measured() -> None:
    desk, _, emit, quality = _desk(close=lambda: None)
    raws = (_raw("a", "AAA", 0.9), _raw("b", "BBB", 0.1), _raw("c", "CCC", -0.7))

    desk.submit(SubmitSignals("feed", "x", signals=raws))

    assert len(emit.of("SignalReceived")) == 3
    assert quality.tracker.mature(10, CLOSE) == []
