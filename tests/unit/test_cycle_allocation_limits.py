"""The allocation stage where the mandate's model cannot have its way, with plain inputs: an
infeasible model keeps the holdings (``AllocationInfeasible``, no target), an infeasible sleeve
keeps its own weights inside a portfolio that still rebalances, a turnover limit holds, and risk
budgets set the sleeves' capital so each carries its budgeted share of the VaR."""

from __future__ import annotations

import numpy as np
import pytest

from engine.allocation.risk_models import scenario_risk
from engine.cycle.allocation import AllocationResult, AllocationStage
from engine.cycle.context import MarketClose, PortfolioMandate, RiskCarry
from engine.cycle.coordination import CoordinationStage
from engine.cycle.signals import SignalViews
from engine.model import SignalBatch
from engine.risk.gate import RiskModel
from engine.state.engine_state import EngineState
from tests.unit.cycle_support import (
    SYMBOLS,
    TODAY,
    UNIVERSE,
    Recorder,
    coordinate,
    cost_model,
    due_at,
    holding,
    mandates,
    market_close,
    moving_window,
    opened_state,
    risk_manager,
)

PRICES = (50.0, 20.0, 80.0, 10.0)
MINIMUM_VARIANCE = '[portfolios.allocation]\nmodel = "minimum_variance"\nlookback_days = 20'


def _sleeves(revert_extra: str = "", trend_budget: str = "", revert_budget: str = "") -> str:
    return f"""
[[portfolios.sleeves]]
id = "trend"
capital = 0.6
sources = ["momentum"]
{trend_budget}

[[portfolios.sleeves]]
id = "revert"
capital = 0.4
sources = ["mean_reversion"]
{revert_budget}
{revert_extra}
"""


def _batch(source: str, horizon: str, scores: list[float]) -> SignalBatch:
    score = np.array(scores, dtype=float)
    return SignalBatch(source, horizon, TODAY, score, np.where(score != 0, 1.0, 0.0))


MOMENTUM = _batch("momentum", "1w", [0.8, 0.3, 0.0, 0.5])
REVERSION = _batch("mean_reversion", "3d", [0.2, 0.0, 0.6, 0.1])
VIEWS = SignalViews((MOMENTUM, REVERSION), (MOMENTUM, REVERSION))


def _allocate(
    the_mandates: tuple[PortfolioMandate, ...],
    state: EngineState,
    emit: Recorder,
    close: MarketClose,
    model: RiskModel | None = None,
) -> AllocationResult:
    coordinated = coordinate(
        CoordinationStage(UNIVERSE, the_mandates),
        close,
        VIEWS,
        {},
        (),
        due_at(1, the_mandates),
        emit,
    )
    emit.clear()
    stage = AllocationStage(UNIVERSE, the_mandates, risk_manager(), cost_model())
    return stage.run(due_at(1, the_mandates), close, state, coordinated, model, RiskCarry(), emit)


def _model(close: MarketClose) -> RiskModel:
    found = scenario_risk(close.window, 20)
    assert found is not None
    return RiskModel(found)


def test_an_infeasible_model_keeps_the_holdings_and_says_why() -> None:
    state, emit = opened_state()
    close = market_close(moving_window(PRICES, days=2))  # too short for minimum variance

    result = _allocate(mandates(alpha_extra=MINIMUM_VARIANCE), state, emit, close)

    (problem,) = emit.of("AllocationInfeasible")
    assert problem.portfolio_id == "alpha"
    assert problem.payload == {
        "market_date": TODAY.isoformat(),
        "model": "minimum_variance",
        "reason": "minimum_variance: needs a price history",
        "action": "kept current holdings",
    }
    assert "alpha" not in result.targets  # nothing to trade
    view = result.views["alpha"]
    assert (view.status, view.reason) == ("infeasible", "minimum_variance: needs a price history")
    assert [e.portfolio_id for e in emit.of("TargetWeightsSet")] == ["beta"]  # beta unaffected
    assert "alpha" not in state.targets


def test_an_infeasible_sleeve_keeps_its_weights_and_the_others_still_rebalance() -> None:
    state, emit = opened_state()
    close = market_close(moving_window(PRICES, days=2))
    sleeve_model = MINIMUM_VARIANCE.replace("[portfolios.", "[portfolios.sleeves.")
    the_mandates = mandates(beta_extra=_sleeves(revert_extra=sleeve_model))

    result = _allocate(the_mandates, state, emit, close)

    (problem,) = emit.of("AllocationInfeasible")
    assert problem.portfolio_id == "beta"
    assert problem.payload["sleeve"] == "revert"
    assert problem.payload["action"] == "sleeve kept its weights"
    payload = next(e.payload for e in emit.of("TargetWeightsSet") if e.portfolio_id == "beta")
    assert payload["sleeves"]["revert"] == {}  # it held nothing, and keeps nothing
    # The portfolio is the trend sleeve at its 60% of capital; the rest stays in cash.
    trend = payload["sleeves"]["trend"]
    assert payload["weights"] == pytest.approx(
        {symbol: 0.6 * weight for symbol, weight in trend.items()}, abs=1e-3
    )
    assert payload["cash_weight"] == pytest.approx(1 - 0.6 * sum(trend.values()), abs=1e-3)
    assert result.views["beta"].status == "ok"
    assert "revert" in (result.views["beta"].reason or "")


def test_a_turnover_limit_holds_the_sum_of_weight_changes() -> None:
    state, emit = opened_state()
    holding(emit, "alpha", "CCC", 600, "80")  # 48% of NAV, above alpha's 40% maximum
    close = market_close(moving_window(PRICES))
    state.ledger.mark(SYMBOLS, close.close)
    the_mandates = mandates(alpha_extra="[portfolios.allocation]\nmax_turnover = 0.1")

    result = _allocate(the_mandates, state, emit, close)

    nav = float(state.ledger.nav_usd("alpha"))
    current = np.array([0.0, 0.0, 600 * 80 / nav, 0.0])
    target = result.targets["alpha"].weights.weights
    assert np.abs(target - current).sum() <= 0.1 + 1e-9
    assert target.max() <= 0.4 + 1e-9  # the turnover goes first to the position over its limit
    assert target[SYMBOLS.index("CCC")] == pytest.approx(0.4)
    binding = emit.of("TargetWeightsSet")[0].payload["binding"]
    assert any(b.startswith("max_turnover") for b in binding)


def test_risk_budgets_give_each_sleeve_its_budgeted_share_of_the_var() -> None:
    state, emit = opened_state()
    close = market_close(moving_window(PRICES))
    state.ledger.mark(SYMBOLS, close.close)
    budgeting = "[portfolios.risk_budgeting]\nshort_window_days = 5\nlong_window_days = 20\n"
    sleeves = _sleeves(trend_budget="risk_budget = 0.5", revert_budget="risk_budget = 0.5")
    the_mandates = mandates(beta_extra=budgeting + sleeves)

    result = _allocate(the_mandates, state, emit, close, _model(close))

    payload = next(e.payload for e in emit.of("TargetWeightsSet") if e.portfolio_id == "beta")
    budgets = payload["sleeve_risk_budgets"]
    capital = payload["sleeve_capital"]
    assert sum(budgets.values()) == pytest.approx(1.0)
    assert sum(capital.values()) == pytest.approx(1.0)
    assert all(0.05 <= c <= 0.95 for c in capital.values())  # the default capital bounds
    # Capital is set so that each sleeve's Euler share of the VaR is its budget.
    assert payload["sleeve_var_99_shares"] == pytest.approx(budgets, abs=1e-6)
    assert dict(result.carry.sleeve_risk["beta"]) == pytest.approx(budgets, abs=1e-6)
    # The budgets lean away from a sleeve whose recent volatility is above its longer run.
    for sleeve, (short, long) in payload["sleeve_volatility_daily"].items():
        assert (budgets[sleeve] < 0.5) == (short > long)
    # The portfolio is the sleeves combined by that capital.
    for symbol, weight in payload["weights"].items():
        combined = sum(capital[s] * payload["sleeves"][s].get(symbol, 0.0) for s in capital)
        assert weight == pytest.approx(combined, abs=1e-3)


def test_a_portfolio_with_nothing_to_invest_gets_no_target() -> None:
    state, emit = opened_state({"alpha": "100000", "beta": "50000"})
    close = market_close(moving_window(PRICES))
    state.ledger.mark(SYMBOLS, close.close)
    emit(
        "CashInterestCredited",
        {"amount_usd": "-100000", "market_date": TODAY.isoformat(), "period": "2024-02"},
        "alpha",
    )
    assert state.ledger.nav_usd("alpha") == 0

    result = _allocate(mandates(), state, emit, close)

    assert "alpha" not in result.targets
    assert result.views["alpha"].status == "ok"
    assert [e.portfolio_id for e in emit.of("TargetWeightsSet")] == ["beta"]
