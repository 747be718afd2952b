"""The risk stage, built with plain data and called directly: exposures from the weights set
up, limits monitored into alerts and automatic trading states, ``RiskMeasured`` every
``record_every`` cycles, stress on the cycles that run it, and what the carry reports."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from engine.cycle.context import MarketClose, RiskCarry
from engine.cycle.risk import RiskStage
from engine.risk.scenarios import MarketShock
from engine.state.engine_state import EngineState
from tests.unit.cycle_support import (
    SYMBOLS,
    TODAY,
    UNIVERSE,
    Recorder,
    cycle_completed,
    holding,
    mandates,
    market_close,
    moving_window,
    opened_state,
    order_created,
    risk_manager,
    set_limit,
)

PRICES = (50.0, 20.0, 80.0, 10.0)


def _books() -> tuple[EngineState, Recorder, MarketClose]:
    """alpha: 20% AAA and 20% CCC of a 100,000 NAV (long only); beta: 20% AAA long and 20%
    BBB short of a 50,000 NAV. The ledger marked at the close the trades were made at."""
    state, emit = opened_state(allow_short=frozenset({"beta"}))
    holding(emit, "alpha", "AAA", 400, "50")
    holding(emit, "alpha", "CCC", 250, "80")
    holding(emit, "beta", "AAA", 200, "50")
    holding(emit, "beta", "BBB", -500, "20")
    close = market_close(moving_window(PRICES))
    state.ledger.mark(SYMBOLS, close.close)
    emit.clear()
    return state, emit, close


def _stage(**kwargs: object) -> RiskStage:
    return RiskStage(UNIVERSE, mandates(), risk_manager(), **kwargs)  # type: ignore[arg-type]


def test_no_risk_model_before_two_days_of_returns() -> None:
    state, emit = opened_state()
    close = market_close(np.array([PRICES, PRICES], dtype=float))  # one return only
    result = _stage().run(5, close, state, RiskCarry(), emit)
    assert result.model is None
    assert result.views == {}
    assert emit.events == []


def test_gross_and_net_exposure_are_the_weights_set_up() -> None:
    state, emit, close = _books()

    result = _stage().run(1, close, state, RiskCarry(), emit)

    alpha, beta = result.views["alpha"], result.views["beta"]
    assert alpha.gross_exposure == pytest.approx(0.4)
    assert alpha.net_exposure == pytest.approx(0.4)
    assert beta.gross_exposure == pytest.approx(0.4)
    assert beta.net_exposure == pytest.approx(0.0, abs=1e-12)
    assert dict(alpha.sector_exposures) == pytest.approx({"Energy": 0.2, "Tech": 0.2})
    assert dict(beta.sector_exposures) == pytest.approx({"Tech": 0.0}, abs=1e-12)
    # Euler: the instruments' shares of the 99% VaR add up to the whole.
    assert sum(share for _, share in alpha.contributions) == pytest.approx(1.0)
    assert {symbol for symbol, _ in alpha.contributions} == {"AAA", "CCC"}
    assert result.model is not None
    assert result.model.columns.tolist() == [0, 1, 2, 3]


def test_volatility_is_the_annualised_sample_volatility_of_the_weights() -> None:
    state, emit, close = _books()

    view = _stage(lookback_days=20).run(1, close, state, RiskCarry(), emit).views["alpha"]

    window = close.window[-21:]
    returns = window[1:] / window[:-1] - 1.0
    weights = np.array([0.2, 0.0, 0.2, 0.0])
    expected = float(np.sqrt(weights @ np.cov(returns, rowvar=False) @ weights * 252))
    assert view.volatility_annual == pytest.approx(expected, rel=1e-9)


def test_drawdown_is_measured_from_the_recorded_navs() -> None:
    state, emit, close = _books()
    cycle_completed(emit, 1, TODAY - timedelta(days=1), valuation_usd={"alpha": ["125000", "0"]})

    view = _stage().run(2, close, state, RiskCarry(), emit).views["alpha"]

    assert view.drawdown == pytest.approx(1 - 100_000 / 125_000)
    assert view.max_drawdown == pytest.approx(0.2)
    assert view.trading_state == "ACTIVE"


def test_the_drawdown_limit_and_the_figures_read_one_drawdown_over_the_window() -> None:
    # alpha's closes: 80,000, then a peak of 125,000, then today's 100,000 -> 20% below the peak.
    state, emit, close = _books()
    for cycle, (days_ago, nav) in enumerate(((3, "80000"), (2, "125000"), (1, "110000")), 1):
        cycle_completed(
            emit, cycle, TODAY - timedelta(days=days_ago), valuation_usd={"alpha": [nav, "0"]}
        )
    set_limit(emit, "alpha", "max_drawdown", 0.5)

    view = _stage(drawdown_window_days=5).run(4, close, state, RiskCarry(), emit).views["alpha"]

    limit = next(limit for limit in view.limits if limit.name == "max_drawdown")
    assert view.drawdown == pytest.approx(0.2)
    assert limit.value == view.drawdown
    assert limit.utilisation == pytest.approx(0.2 / 0.5)
    assert view.drawdown_window_days == 5
    # A window of one day sees only 110,000 and 100,000: both read the shorter window.
    short = _stage(drawdown_window_days=1).run(5, close, state, RiskCarry(), emit).views["alpha"]
    short_limit = next(limit for limit in short.limits if limit.name == "max_drawdown")
    assert short.drawdown == pytest.approx(1 - 100_000 / 110_000)
    assert short_limit.value == short.drawdown
    assert short.max_drawdown == short.drawdown


def test_risk_measured_is_recorded_every_record_every_cycles() -> None:
    state, emit, close = _books()
    stage = _stage(record_every=5, stress_every=3)

    stage.run(4, close, state, RiskCarry(), emit)
    assert emit.of("RiskMeasured") == []

    stage.run(5, close, state, RiskCarry(), emit)
    measured = {e.portfolio_id: e.payload for e in emit.of("RiskMeasured")}
    assert set(measured) == {"alpha", "beta"}
    assert measured["alpha"]["gross_exposure"] == pytest.approx(0.4)
    assert measured["beta"]["net_exposure"] == pytest.approx(0.0, abs=1e-6)
    assert measured["alpha"]["market_date"] == TODAY.isoformat()
    assert "stress" not in measured["alpha"]  # stress did not run on cycle 5 (every 3)
    assert len(stage.history["alpha"]) == 2


def test_a_breach_raises_an_alert_reduces_trading_and_cancels_what_would_add() -> None:
    state, emit, close = _books()
    set_limit(emit, "alpha", "max_position_weight", 0.1, on_breach="reduce")
    order_created(emit, "alpha-00000001-0000", "alpha", "DDD", "BUY", 100, "10", cycle=1)
    order_created(emit, "alpha-00000001-0001", "alpha", "AAA", "SELL", 100, "50", cycle=1)
    emit.clear()

    view = _stage().run(2, close, state, RiskCarry(), emit).views["alpha"]

    assert emit.types == ["RiskAlertRaised", "OrderCancelled", "TradingStateChanged"]
    alert = emit.of("RiskAlertRaised")[0].payload
    assert alert["limit"] == "max_position_weight"
    assert alert["level"] == "breach"
    assert alert["value"] == pytest.approx(0.2)
    assert alert["threshold"] == 0.1
    assert alert["utilisation"] == pytest.approx(2.0)
    cancelled = emit.of("OrderCancelled")[0].payload
    assert cancelled["order_id"] == "alpha-00000001-0000"  # the sell reduces AAA: it stays
    changed = emit.of("TradingStateChanged")[0]
    assert changed.payload["state"] == "REDUCING"
    assert changed.payload["automatic"] is True
    assert changed.payload["limit"] == "max_position_weight"
    assert changed.actor == "risk-monitor"
    assert state.trading_state("alpha") == "REDUCING"
    assert set(state.pending_orders) == {"alpha-00000001-0001"}
    (limit,) = view.limits
    assert (limit.name, limit.level, limit.detail) == ("max_position_weight", "breach", "AAA")
    assert limit.utilisation == pytest.approx(2.0)


def test_back_within_the_limit_clears_the_alert_and_the_automatic_state() -> None:
    state, emit, close = _books()
    set_limit(emit, "alpha", "max_position_weight", 0.1, on_breach="halt")
    stage = _stage()
    stage.run(1, close, state, RiskCarry(), emit)
    assert state.trading_state("alpha") == "HALTED"
    set_limit(emit, "alpha", "max_position_weight", 0.5, on_breach="halt")
    emit.clear()

    stage.run(2, close, state, RiskCarry(), emit)

    assert emit.types == ["RiskAlertCleared", "TradingStateChanged"]
    assert emit.of("TradingStateChanged")[0].payload["state"] == "ACTIVE"
    assert state.trading_state("alpha") == "ACTIVE"
    assert state.risk_alerts == {}


def test_a_state_a_person_set_is_left_to_people() -> None:
    state, emit, close = _books()
    set_limit(emit, "alpha", "max_position_weight", 0.5, on_breach="halt")
    emit(
        "TradingStateChanged",
        {"state": "REDUCING", "reason": "set by pm", "automatic": False},
        "alpha",
        actor="pm",
    )
    emit.clear()

    _stage().run(1, close, state, RiskCarry(), emit)

    assert emit.of("TradingStateChanged") == []
    assert state.trading_state("alpha") == "REDUCING"


def test_the_carry_from_the_last_allocation_is_reported() -> None:
    state, emit, close = _books()
    carry = RiskCarry({"alpha": ("volatility", 0.5)}, {"alpha": (("core", 0.75), ("hedge", 0.25))})

    views = _stage().run(1, close, state, carry, emit).views

    assert views["alpha"].budget_scaling == ("volatility", 0.5)
    assert views["alpha"].sleeve_contributions == (("core", 0.75), ("hedge", 0.25))
    assert views["beta"].budget_scaling is None
    assert views["beta"].sleeve_contributions == ()


def test_stress_runs_on_its_cycles_and_carries_over_between_them() -> None:
    state, emit, close = _books()
    stage = _stage(stress_scenarios=(MarketShock(-0.10),), stress_every=3, record_every=3)

    views = stage.run(3, close, state, RiskCarry(), emit).views
    (shock,) = views["alpha"].stress
    assert shock.scenario == "Market -10%"
    assert shock.pnl_holdings == pytest.approx(-0.1 * 0.4)  # 40% invested, all down 10%
    assert views["beta"].stress[0].pnl_holdings == pytest.approx(0.0, abs=1e-12)  # net flat
    recorded = {e.portfolio_id: e.payload for e in emit.of("RiskMeasured")}
    assert recorded["alpha"]["stress"] == {"Market -10%": pytest.approx(-0.04)}

    later = market_close(close.window, today=TODAY + timedelta(days=3))
    carried = stage.run(4, later, state, RiskCarry(), emit).views["alpha"]
    assert carried.stress == views["alpha"].stress


def test_stress_on_the_proposed_allocation_uses_the_last_targets() -> None:
    state, emit, close = _books()
    emit(
        "TargetWeightsSet",
        {"market_date": TODAY.isoformat(), "weights": {"DDD": 0.5}, "cash_weight": 0.5},
        "alpha",
    )
    stage = _stage(stress_scenarios=(MarketShock(-0.10),), stress_every=1)

    views = stage.run(1, close, state, RiskCarry(), emit).views

    assert views["alpha"].stress[0].pnl_proposed == pytest.approx(-0.05)
    assert views["beta"].stress[0].pnl_proposed is None


def test_a_changed_limit_is_shown_at_once_against_the_last_measures() -> None:
    state, emit, close = _books()
    stage = _stage()
    stage.run(1, close, state, RiskCarry(), emit)
    assert stage.latest["alpha"].limits == ()
    set_limit(emit, "alpha", "gross_exposure", 0.45)
    emit.clear()

    stage.refresh_limits(state, "alpha")

    (limit,) = stage.latest["alpha"].limits
    assert limit.name == "gross_exposure"
    assert limit.value == pytest.approx(0.4)
    assert limit.utilisation == pytest.approx(0.4 / 0.45)
    assert limit.level == "warning"  # above the default warn_at of 80%
    assert emit.events == []  # alerts wait for the next close


def test_refreshing_a_portfolio_not_measured_yet_changes_nothing() -> None:
    state, _ = opened_state()
    stage = _stage()
    stage.refresh_limits(state, "alpha")
    assert stage.latest == {}
