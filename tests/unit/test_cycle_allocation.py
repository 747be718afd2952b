"""The allocation stage, built with plain data and called directly: targets on due days only,
weights plus cash that add up to one within the mandate's limits, whole shares, weight
overrides and restricted instruments left out, risk budgets scaling toward cash, sleeves."""

from __future__ import annotations

import numpy as np
import pytest

from engine.allocation.risk_models import scenario_risk
from engine.cycle.allocation import AllocationResult, AllocationStage
from engine.cycle.context import MarketClose, PortfolioMandate, RiskCarry
from engine.cycle.coordination import Coordinated, CoordinationStage
from engine.cycle.signals import SignalViews
from engine.model import SignalBatch
from engine.risk.gate import RiskModel, budget_measure
from engine.state.engine_state import EngineState
from tests.unit.cycle_support import (
    SYMBOLS,
    TODAY,
    UNIVERSE,
    Recorder,
    coordinate,
    cost_model,
    due_at,
    mandates,
    market_close,
    moving_window,
    opened_state,
    risk_manager,
    set_limit,
)

PRICES = (50.0, 20.0, 80.0, 10.0)
MAX_WEIGHT = {"alpha": 0.4, "beta": 0.5}
SLEEVES = """
[[portfolios.sleeves]]
id = "trend"
capital = 0.6
sources = ["momentum"]

[[portfolios.sleeves]]
id = "revert"
capital = 0.4
sources = ["mean_reversion"]
"""


def _batch(source: str, horizon: str, scores: list[float]) -> SignalBatch:
    score = np.array(scores, dtype=float)
    return SignalBatch(source, horizon, TODAY, score, np.where(score != 0, 1.0, 0.0))


VIEWS = SignalViews(
    model=(
        _batch("momentum", "1w", [0.8, 0.3, 0.0, 0.5]),
        _batch("mean_reversion", "3d", [0.2, 0.0, 0.6, 0.1]),
    ),
    all=(
        _batch("momentum", "1w", [0.8, 0.3, 0.0, 0.5]),
        _batch("mean_reversion", "3d", [0.2, 0.0, 0.6, 0.1]),
    ),
)


def _model(close: MarketClose) -> RiskModel:
    found = scenario_risk(close.window, 30)
    assert found is not None
    return RiskModel(found)


def _setup(
    the_mandates: tuple[PortfolioMandate, ...] | None = None,
) -> tuple[tuple[PortfolioMandate, ...], EngineState, Recorder, MarketClose]:
    the_mandates = the_mandates or mandates()
    state, emit = opened_state()
    close = market_close(moving_window(PRICES))
    state.ledger.mark(SYMBOLS, close.close)
    return the_mandates, state, emit, close


def _allocate(
    the_mandates: tuple[PortfolioMandate, ...],
    state: EngineState,
    emit: Recorder,
    close: MarketClose,
    cycle: int = 1,
    model: RiskModel | None = None,
    carry: RiskCarry | None = None,
) -> AllocationResult:
    due = due_at(cycle, the_mandates)
    coordinated = coordinate(
        CoordinationStage(UNIVERSE, the_mandates), close, VIEWS, {}, (), due, emit
    )
    emit.clear()
    stage = AllocationStage(UNIVERSE, the_mandates, risk_manager(), cost_model())
    return stage.run(due, close, state, coordinated, model, carry or RiskCarry(), emit)


def test_on_a_due_day_target_weights_and_cash_add_up_to_one_within_max_weight() -> None:
    the_mandates, state, emit, close = _setup()

    result = _allocate(the_mandates, state, emit, close)

    targets = {e.portfolio_id: e.payload for e in emit.of("TargetWeightsSet")}
    assert set(targets) == {"alpha", "beta"}
    for pid, payload in targets.items():
        weights = payload["weights"]
        assert sum(weights.values()) + payload["cash_weight"] == pytest.approx(1.0, abs=1e-5)
        assert all(0 < w <= MAX_WEIGHT[pid] + 1e-9 for w in weights.values())
        assert state.targets[pid] == weights
    assert "CCC" not in targets["alpha"]  # no momentum view on CCC
    assert "DDD" not in targets["beta"]  # outside beta's universe
    assert targets["alpha"]["cash_weight"] >= 0.05 - 1e-9  # the cash buffer
    assert set(result.targets) == {"alpha", "beta"}
    assert set(result.views) == {"alpha", "beta"}
    assert {e.portfolio_id for e in emit.of("AllocationProposed")} == {"alpha", "beta"}
    assert emit.types.index("AllocationProposed") < emit.types.index("TargetWeightsSet")


def test_targets_are_whole_shares_at_todays_close() -> None:
    the_mandates, state, emit, close = _setup()

    target = _allocate(the_mandates, state, emit, close).targets["alpha"]

    nav = float(state.ledger.nav_usd("alpha"))
    assert target.shares.dtype.kind == "i"
    assert target.weights.weights == pytest.approx(target.shares * close.close / nav)
    assert target.weights.cash_weight == pytest.approx(1 - target.weights.weights.sum())


def test_only_the_portfolios_due_get_targets() -> None:
    the_mandates, state, emit, close = _setup()

    result = _allocate(the_mandates, state, emit, close, cycle=2)  # beta every 2 days

    assert set(result.targets) == {"alpha"}
    assert [e.portfolio_id for e in emit.of("TargetWeightsSet")] == ["alpha"]


def test_without_coordinated_views_nothing_is_allocated_and_the_carry_passes_on() -> None:
    the_mandates, state, emit, close = _setup()
    carry = RiskCarry({"alpha": ("volatility", 0.5)})
    stage = AllocationStage(UNIVERSE, the_mandates, risk_manager(), cost_model())

    result = stage.run(due_at(1, the_mandates), close, state, Coordinated(), None, carry, emit)

    assert result.targets == {} and result.views == {}
    assert result.carry is carry
    assert emit.events == []


def test_an_excluded_instrument_and_a_pinned_one_shape_the_target() -> None:
    the_mandates, state, emit, close = _setup()
    emit("WeightOverrideSet", {"instrument": "AAA", "weight": None, "reason": "x"}, "alpha")
    emit("WeightOverrideSet", {"instrument": "CCC", "weight": 0.1, "reason": "x"}, "alpha")

    weights = _allocate(the_mandates, state, emit, close).targets["alpha"].weights.weights

    assert weights[SYMBOLS.index("AAA")] == 0.0
    # Pinned at 10%, to the whole share (80 USD of a 100,000 NAV).
    assert weights[SYMBOLS.index("CCC")] == pytest.approx(0.1, abs=80 / 100_000)


def test_a_restricted_instrument_gets_no_weight() -> None:
    the_mandates, state, emit, close = _setup()
    set_limit(emit, "alpha", "restricted_instruments", None, symbols=("DDD",))

    weights = _allocate(the_mandates, state, emit, close).targets["alpha"].weights.weights

    assert weights[SYMBOLS.index("DDD")] == 0.0
    assert weights[SYMBOLS.index("AAA")] > 0


def test_an_allocation_over_its_volatility_budget_is_scaled_toward_cash() -> None:
    the_mandates, state, emit, close = _setup()
    set_limit(emit, "alpha", "volatility", 0.02)
    model = _model(close)

    result = _allocate(the_mandates, state, emit, close, model=model)

    (scaled,) = emit.of("AllocationScaled")
    assert scaled.portfolio_id == "alpha"
    assert scaled.payload["limit"] == "volatility"
    assert scaled.payload["threshold"] == 0.02
    assert scaled.payload["factor"] == pytest.approx(0.02 / scaled.payload["value"], rel=1e-6)
    assert 0 < scaled.payload["factor"] < 1
    limit, factor = result.carry.budget_scaling["alpha"]
    assert limit == "volatility" and factor == pytest.approx(scaled.payload["factor"])
    weights = result.targets["alpha"].weights.weights
    # Whole shares after scaling: within a share or so of the budget.
    assert budget_measure("volatility", weights, model) == pytest.approx(0.02, rel=0.02)
    payload = emit.of("TargetWeightsSet")[0].payload
    assert sum(payload["weights"].values()) + payload["cash_weight"] == pytest.approx(1, abs=1e-5)


def test_a_later_allocation_within_budget_drops_the_old_scaling() -> None:
    the_mandates, state, emit, close = _setup()
    carry = RiskCarry({"alpha": ("volatility", 0.5), "beta": ("var_99_parametric", 0.7)})

    result = _allocate(the_mandates, state, emit, close, cycle=2, model=_model(close), carry=carry)

    assert "alpha" not in result.carry.budget_scaling  # allocated again, within budget
    assert result.carry.budget_scaling["beta"] == ("var_99_parametric", 0.7)  # not due


def test_sleeves_are_combined_by_their_capital_and_their_var_shares_carried() -> None:
    the_mandates, state, emit, close = _setup(mandates(beta_extra=SLEEVES))

    result = _allocate(the_mandates, state, emit, close, model=_model(close))

    payload = next(e.payload for e in emit.of("TargetWeightsSet") if e.portfolio_id == "beta")
    capital = payload["sleeve_capital"]
    assert capital == {"trend": 0.6, "revert": 0.4}
    for symbol, weight in payload["weights"].items():
        combined = sum(
            capital[sleeve] * payload["sleeves"][sleeve].get(symbol, 0.0) for sleeve in capital
        )
        assert weight == pytest.approx(combined, abs=1e-3)
    shares = dict(result.carry.sleeve_risk["beta"])
    assert set(shares) == {"trend", "revert"}
    assert sum(shares.values()) == pytest.approx(1.0)
    assert state.sleeve_targets["beta"]["trend"] == payload["sleeves"]["trend"]
    assert [s.sleeve_id for s in result.views["beta"].sleeves] == ["trend", "revert"]
