"""The tracking-error limit through the risk and gate stages, with plain inputs: both measure
against the portfolio's own benchmark (its universe, equally weighted), worked out here by hand
from the sample covariance of the look-back's returns."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from engine.allocation.risk_models import scenario_risk
from engine.cycle.context import MarketClose, RiskCarry
from engine.cycle.gate import GateStage
from engine.cycle.risk import RiskStage
from engine.model import Order, Side
from engine.risk.gate import RiskModel
from tests.unit.cycle_support import (
    SYMBOLS,
    TODAY,
    UNIVERSE,
    holding,
    mandates,
    market_close,
    moving_window,
    opened_state,
    risk_manager,
    set_limit,
)

PRICES = (50.0, 20.0, 80.0, 10.0)
LOOKBACK = 20


def _covariance(close: MarketClose) -> np.ndarray:
    window = close.window[-(LOOKBACK + 1) :]
    return np.cov(window[1:] / window[:-1] - 1.0, rowvar=False)


def _tracking_error(weights: list[float], benchmark: list[float], covariance: np.ndarray) -> float:
    active = np.array(weights) - np.array(benchmark)
    return float(np.sqrt(active @ covariance @ active * 252))


def test_the_benchmark_is_the_portfolios_universe_equally_weighted() -> None:
    alpha, beta = mandates()
    assert alpha.benchmark.tolist() == [0.25] * 4
    assert beta.benchmark.tolist() == pytest.approx([1 / 3, 1 / 3, 1 / 3, 0.0])


def test_the_risk_stage_measures_tracking_error_against_each_portfolios_benchmark() -> None:
    state, emit = opened_state(allow_short=frozenset({"beta"}))
    holding(emit, "alpha", "AAA", 400, "50")  # 20% of 100,000
    holding(emit, "alpha", "CCC", 250, "80")  # 20%
    holding(emit, "beta", "AAA", 200, "50")  # 20% of 50,000
    holding(emit, "beta", "BBB", -500, "20")  # -20%
    close = market_close(moving_window(PRICES))
    state.ledger.mark(SYMBOLS, close.close)
    set_limit(emit, "alpha", "tracking_error", 0.5)
    set_limit(emit, "beta", "tracking_error", 0.05)
    emit.clear()

    stage = RiskStage(UNIVERSE, mandates(), risk_manager(), lookback_days=LOOKBACK)
    views = stage.run(1, close, state, RiskCarry(), emit).views

    covariance = _covariance(close)
    alpha_te = _tracking_error([0.2, 0, 0.2, 0], [0.25] * 4, covariance)
    beta_te = _tracking_error([0.2, -0.2, 0, 0], [1 / 3, 1 / 3, 1 / 3, 0], covariance)
    (alpha_limit,) = views["alpha"].limits
    (beta_limit,) = views["beta"].limits
    assert alpha_limit.value == pytest.approx(alpha_te, rel=1e-9)
    assert beta_limit.value == pytest.approx(beta_te, rel=1e-9)
    assert alpha_limit.utilisation == pytest.approx(alpha_te / 0.5, rel=1e-9)
    assert beta_te > 0.05  # beta's book is far from its benchmark: an alert
    (alert,) = emit.of("RiskAlertRaised")
    assert alert.portfolio_id == "beta"
    assert alert.payload["limit"] == "tracking_error"
    assert alert.payload["value"] == pytest.approx(beta_te, rel=1e-6)


def _order(symbol: str, quantity: int, k: int = 0) -> Order:
    price = Decimal(str(PRICES[SYMBOLS.index(symbol)]))
    return Order(f"alpha-00000003-{k:04d}", "alpha", symbol, Side.BUY, quantity, price, TODAY)


def test_the_gate_rejects_orders_taking_the_book_away_from_its_benchmark() -> None:
    state, emit = opened_state()
    # Alpha holds its benchmark: a quarter of 100,000 in each name.
    for symbol, shares in zip(SYMBOLS, (500, 1250, 312, 2500), strict=True):
        holding(emit, "alpha", symbol, shares, str(PRICES[SYMBOLS.index(symbol)]))
    close = market_close(moving_window(PRICES))
    state.ledger.mark(SYMBOLS, close.close)
    set_limit(emit, "alpha", "tracking_error", 0.02)
    emit.clear()
    found = scenario_risk(close.window, LOOKBACK)
    assert found is not None
    model = RiskModel(found)
    orders = {"alpha": [_order("DDD", 10, 0), _order("AAA", 400, 1)]}

    result = GateStage(UNIVERSE, mandates(), risk_manager()).run(
        3, close, state, orders, model, emit
    )

    nav = float(state.ledger.nav_usd("alpha"))
    held = np.array([500, 1250, 312, 2500]) * np.array(PRICES) / nav
    after = held + np.array([400 * 50, 0, 0, 10 * 10]) / nav
    expected = _tracking_error(list(after), [0.25] * 4, _covariance(close))
    assert expected > 0.02
    # A hard budget rejects every order that adds to the measure, each naming the limit and
    # the value the orders together would reach.
    rejected = [e.payload for e in emit.of("OrderRejected")]
    assert [p["symbol"] for p in rejected] == ["DDD", "AAA"]
    for payload in rejected:
        assert payload["limit"] == "tracking_error"
        assert payload["threshold"] == 0.02
        assert payload["value"] == pytest.approx(expected, rel=1e-4)
        assert payload["approved_shares"] == 0
    assert result.approved == ()

    emit.clear()
    small = GateStage(UNIVERSE, mandates(), risk_manager()).run(
        3, close, state, {"alpha": [_order("DDD", 10)]}, model, emit
    )
    assert [o.symbol for o in small.approved] == ["DDD"]  # alone it keeps the rule
    assert emit.events == []
