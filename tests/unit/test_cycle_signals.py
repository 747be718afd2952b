"""The signals, quality and coordination stages, built with plain data and called directly."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from engine.cycle.coordination import CoordinationStage
from engine.cycle.quality import QualityStage
from engine.cycle.signals import SignalsStage, SignalViews
from engine.model import Signal, SignalBatch
from engine.signals.book import Override, signal_payload
from engine.signals.quality import QualityTracker
from engine.signals.sources import MeanReversionSource, MomentumSource
from tests.unit.cycle_support import (
    SYMBOLS,
    TODAY,
    UNIVERSE,
    Recorder,
    business_days,
    coordinate,
    due_at,
    flat_close,
    mandates,
    market_close,
    opened_state,
)

PRICES = (50.0, 20.0, 80.0, 10.0)


def _sources() -> dict[str, MomentumSource | MeanReversionSource]:
    return {"momentum": MomentumSource((5, 10), 1), "mean_reversion": MeanReversionSource((3,), 10)}


def _override(override_id: str, expires_on: date | None, portfolio_id: str = "*") -> Override:
    return Override(override_id, "veto", portfolio_id, "BBB", 0.0, 0.0, expires_on, "pm", "test")


def _set_override(emit: Recorder, override: Override) -> None:
    pid = None if override.portfolio_id == "*" else override.portfolio_id
    emit("OverrideSet", override.payload(), pid, actor=override.actor)


def _batch(source: str, horizon: str, scores: list[float], confidence: float = 1.0) -> SignalBatch:
    score = np.array(scores, dtype=float)
    return SignalBatch(
        source, horizon, TODAY, score, np.where(score != 0, confidence, 0.0).astype(float)
    )


def _trending_window(days: int = 30) -> np.ndarray:
    """AAA and BBB rise 1% a day, CCC and DDD fall 1% a day, with a little noise."""
    rng = np.random.default_rng(3)
    drift = np.array([0.01, 0.01, -0.01, -0.01])
    returns = drift + rng.normal(0, 0.002, size=(days - 1, 4))
    growth = np.vstack([np.ones(4), np.exp(np.cumsum(returns, axis=0))])
    return np.array(PRICES) * growth


# -- signals --------------------------------------------------------------------------------


def test_the_stage_is_ready_once_the_window_is_as_long_as_every_source_needs() -> None:
    stage = SignalsStage(UNIVERSE, _sources())
    need = max(source.required_days for source in _sources().values())
    assert stage.required_days == need
    assert stage.ready(need) and not stage.ready(need - 1)
    assert SignalsStage(UNIVERSE, {}).required_days == 2


def test_too_short_a_window_gives_no_views() -> None:
    state, emit = opened_state()
    stage = SignalsStage(UNIVERSE, _sources())
    views = stage.run(flat_close(PRICES, days=stage.required_days - 1), state, emit)
    assert not views
    assert views.model == () and views.all == ()


def test_model_views_follow_the_trend_and_external_signals_join_them() -> None:
    state, emit = opened_state()
    signal = Signal("s-1", "desk", "CCC", TODAY, "1w", 0.7, 0.9, 5)
    emit("SignalReceived", {**signal_payload(signal), "cycle": 1}, actor="desk")
    emit.clear()

    views = SignalsStage(UNIVERSE, _sources()).run(market_close(_trending_window()), state, emit)

    assert [b.key for b in views.model] == ["momentum/1w", "momentum/10d", "mean_reversion/3d"]
    momentum = views.model[0]
    assert (momentum.score[:2] > 0).all() and (momentum.score[2:] < 0).all()
    assert views.all[: len(views.model)] == views.model
    (external,) = views.all[len(views.model) :]
    assert external.key == "desk/1w"
    assert external.score.tolist() == [0.0, 0.0, 0.7, 0.0]
    assert external.confidence[2] == 0.9
    assert emit.events == []


def test_an_override_past_its_expiry_ends_and_one_still_in_force_stays() -> None:
    state, emit = opened_state()
    yesterday = TODAY - timedelta(days=1)
    _set_override(emit, _override("ovr-old", yesterday))
    _set_override(emit, _override("ovr-alpha", yesterday, "alpha"))
    _set_override(emit, _override("ovr-today", TODAY))
    _set_override(emit, _override("ovr-open", None))
    emit.clear()

    SignalsStage(UNIVERSE, _sources()).run(flat_close(PRICES, days=3), state, emit)

    ended = emit.of("OverrideExpired")
    assert [e.payload["override_id"] for e in ended] == ["ovr-old", "ovr-alpha"]
    assert ended[0].portfolio_id is None  # every portfolio's
    assert ended[1].portfolio_id == "alpha"
    assert ended[0].payload["reason"] == f"expired after {yesterday}"
    assert ended[0].payload["instrument"] == "BBB"
    assert ended[0].actor == "engine"
    assert set(state.overrides) == {"ovr-today", "ovr-open"}


# -- quality --------------------------------------------------------------------------------

GROWTH = np.array([0.01, 0.005, -0.005, -0.01])
RANKED = [1.0, 0.5, -0.5, -1.0]  # the same order as the next day's returns


def _quality_stage(record_every: int = 3, cross_section: int = 4) -> QualityStage:
    tracker = QualityTracker(
        window=20, min_observations=2, min_cross_section=cross_section, sensitivity=10.0
    )
    return QualityStage(tracker, ["momentum", "desk"], record_every)


def _close_on(cycle: int) -> np.ndarray:
    return np.array(PRICES) * (1 + GROWTH) ** cycle


def _run_quality(stage: QualityStage, emit: Recorder, cycles: range) -> list:
    results = []
    for cycle, day in zip(cycles, business_days(TODAY, len(cycles)), strict=True):
        close = _close_on(cycle)
        window = np.array([_close_on(cycle - 1), close])
        views = SignalViews(
            (_batch("momentum", "1d", RANKED),), (_batch("momentum", "1d", RANKED),)
        )
        results.append(stage.run(cycle, market_close(window, today=day), views, emit))
    return results


def test_without_views_the_last_multipliers_hold_and_nothing_is_recorded() -> None:
    _, emit = opened_state()
    stage = _quality_stage()
    result = stage.run(3, flat_close(PRICES), SignalViews(), emit)
    assert result.multipliers == {}
    assert result.recorded == ()
    assert emit.events == []


def test_source_quality_is_recorded_every_record_every_cycles() -> None:
    _, emit = opened_state()
    stage = _quality_stage(record_every=3)

    results = _run_quality(stage, emit, range(1, 8))

    recorded = emit.of("SourceQualityMeasured")
    assert len(recorded) == 2  # cycles 3 and 6
    assert [bool(r.recorded) for r in results] == [False, False, True, False, False, True, False]
    assert set(recorded[0].payload["sources"]) == {"momentum", "desk"}
    assert recorded[-1].payload["market_date"] == business_days(TODAY, 6)[-1].isoformat()
    assert {p.source for p in results[5].recorded} == {"momentum", "desk"}


def test_views_ranked_as_the_market_moved_score_an_ic_of_one_and_gain_weight() -> None:
    _, emit = opened_state()
    stage = _quality_stage(record_every=6)

    results = _run_quality(stage, emit, range(1, 7))

    momentum = emit.of("SourceQualityMeasured")[0].payload["sources"]["momentum"]
    assert momentum["ic"] == pytest.approx(1.0)
    assert momentum["hit_rate"] == pytest.approx(1.0)
    assert momentum["coverage"] == pytest.approx(1.0)
    assert momentum["observations"] == 5  # the views of cycles 1-5 matured by cycle 6
    assert 1.0 < results[-1].multipliers["momentum"] <= 2.0
    assert results[-1].multipliers["desk"] == 1.0  # nothing measured: its configured weight
    assert stage.multipliers == results[-1].multipliers


def test_external_views_are_scored_only_where_there_was_a_price() -> None:
    _, emit = opened_state()
    stage = _quality_stage(record_every=100, cross_section=3)
    close = _close_on(1)
    close[3] = np.nan  # DDD had no price when the views came in
    stage.record_external(1, "desk", "1d", [0, 1, 2, 3], RANKED, close)

    _run_quality(stage, emit, range(2, 3))

    desk = stage.tracker.quality("desk")
    assert desk.observations == 1
    assert desk.coverage == pytest.approx(3 / 4)


# -- coordination ---------------------------------------------------------------------------


def _conflicting_views() -> SignalViews:
    """momentum long AAA, mean reversion short AAA; momentum alone on DDD."""
    momentum = _batch("momentum", "1w", [0.8, 0.0, 0.0, 0.5])
    reversion = _batch("mean_reversion", "3d", [-0.6, 0.0, 0.0, 0.0])
    return SignalViews((momentum, reversion), (momentum, reversion))


def test_conflicts_are_recorded_only_on_the_portfolios_rebalance_days() -> None:
    _, emit = opened_state()
    stage = CoordinationStage(UNIVERSE, mandates())
    close = flat_close(PRICES)

    first = coordinate(stage, close, _conflicting_views(), {}, (), due_at(1), emit)
    (conflict,) = emit.of("SignalConflictsResolved")
    assert conflict.portfolio_id == "beta"  # alpha has one source: nothing to resolve
    payload = conflict.payload
    assert payload["policy"] == "confidence_blend"
    assert payload["conflicts_total"] == 1
    assert payload["conflicts"][0]["instrument"] == "AAA"
    assert set(payload["conflicts"][0]["sources"]) == {"momentum", "mean_reversion"}
    assert set(first.portfolios) == {"alpha", "beta"}
    emit.clear()

    # beta rebalances every 2
    second = coordinate(stage, close, _conflicting_views(), {}, (), due_at(2), emit)
    assert emit.events == []
    assert second.portfolios["beta"].conflicts_total == 1  # still coordinated, not recorded

    coordinate(stage, close, _conflicting_views(), {}, (), due_at(3), emit)
    assert [e.portfolio_id for e in emit.of("SignalConflictsResolved")] == ["beta"]


def test_the_blend_weighs_sources_by_their_quality_multipliers() -> None:
    _, emit = opened_state()
    stage = CoordinationStage(UNIVERSE, mandates())

    plain = coordinate(stage, flat_close(PRICES), _conflicting_views(), {}, (), due_at(2), emit)
    weighted = coordinate(
        stage, flat_close(PRICES), _conflicting_views(), {"momentum": 2.0}, (), due_at(2), emit
    )

    # Confidence blend: sum(w c s) / sum(w c), every confidence 1.
    assert plain.portfolios["beta"].score[0] == pytest.approx((0.8 - 0.6) / 2)
    assert weighted.portfolios["beta"].score[0] == pytest.approx((2 * 0.8 - 0.6) / 3)
    assert plain.portfolios["alpha"].score[0] == pytest.approx(0.8)


def test_each_portfolio_sees_only_its_universe_and_its_overrides() -> None:
    _, emit = opened_state()
    stage = CoordinationStage(UNIVERSE, mandates())
    veto = Override("ovr-1", "veto", "alpha", "AAA", 0.0, 0.0, None, "pm", "test")

    result = coordinate(
        stage, flat_close(PRICES), _conflicting_views(), {}, (veto,), due_at(2), emit
    )

    alpha, beta = result.portfolios["alpha"], result.portfolios["beta"]
    assert alpha.score[0] == 0.0 and alpha.vetoed is not None and alpha.vetoed[0]
    assert alpha.score[SYMBOLS.index("DDD")] == pytest.approx(0.5)
    assert beta.score[0] != 0.0  # the veto was alpha's only
    assert beta.score[SYMBOLS.index("DDD")] == 0.0  # DDD is outside beta's universe
    assert result.sleeves == {}


def test_no_views_coordinate_nothing() -> None:
    _, emit = opened_state()
    result = coordinate(
        CoordinationStage(UNIVERSE, mandates()),
        flat_close(PRICES),
        SignalViews(),
        {},
        (),
        due_at(1),
        emit,
    )
    assert not result
    assert emit.events == []
