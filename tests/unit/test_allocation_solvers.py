"""The allocation's solvers: the default (PIQP on the QP directly) answers every model within
1e-6 of Clarabel at 1e-12, bitwise the same whatever was solved before, and falls back to
Clarabel, saying why, when PIQP fails."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest

from engine.allocation import qp
from engine.allocation.mandate import MandateAllocator
from engine.allocation.optimisers import (
    Bounds,
    Limits,
    MeanVariance,
    MinimumVariance,
    Sizer,
    net_range,
    risk_factor,
)
from engine.allocation.qp import DirectQp, SolverChoice, quadratic_problem
from engine.allocation.risk_models import (
    CovarianceEstimate,
    LedoitWolfShrinkage,
    PcaFactorModel,
)
from engine.config import load_config
from engine.errors import ConfigError
from engine.model import CoordinatedSignals

REFERENCE = SolverChoice("clarabel")
DAY = date(2020, 6, 30)


def _returns(n: int, seed: int, days: int = 160) -> np.ndarray:
    rng = np.random.default_rng(seed)
    loadings = rng.normal(0, 1, (n, 4)) * 0.005
    return rng.normal(0, 1, (days, 4)) @ loadings.T + rng.normal(0, 0.012, (days, n))


def _estimate(n: int, seed: int, factor: bool) -> CovarianceEstimate:
    model = PcaFactorModel(4) if factor else LedoitWolfShrinkage()
    return model.estimate(_returns(n, seed))


def _books(n: int, seed: int) -> list[tuple[Bounds, Limits]]:
    rng = np.random.default_rng(seed)
    current = rng.dirichlet(np.ones(n)) * 0.9
    sectors = tuple("abcd"[i % 4] for i in range(n))
    cap = max(3.0 / n, 0.06)
    # Held outside today's bounds (prices moved; a cap lowered): the move back is forced.
    drifted = current.copy()
    drifted[:2] = (2.0 * cap, -cap)
    return [
        (Bounds(0.95, 0.0, cap), Limits()),
        (Bounds(0.9, 0.0, cap), Limits(sectors, (("a", 0.2), ("b", 0.3)), current, 0.3)),
        (Bounds(0.3, -cap / 2, cap, 1.5, -0.1), Limits()),
        (Bounds(0.2, -cap, cap, 1.2, 0.0), Limits(sectors, (("c", 0.1),), current, 0.6)),
        (Bounds(0.9, 0.0, cap), Limits(current=drifted, max_turnover=1.2)),
    ]


@pytest.mark.parametrize("model", Sizer.MODELS)
@pytest.mark.parametrize("factor", [True, False], ids=["factor", "dense"])
# 200 names: the turnover- and gross-limited books are solved as moves (qp.MOVE_MIN_NAMES).
@pytest.mark.parametrize(("n", "seed"), [(12, 1), (40, 2), (90, 3), (200, 4)])
def test_every_model_from_the_default_solver_is_within_1e_6_of_clarabel_at_1e_12(
    model: str, factor: bool, n: int, seed: int
) -> None:
    estimate = _estimate(n, seed, factor)
    mu = estimate.volatility * 0.05 * np.random.default_rng(seed).uniform(-1, 1, n)
    default, reference = Sizer(model, 3.0), Sizer(model, 3.0, REFERENCE)
    for bounds, limits in _books(n, seed):
        if bounds.long_short and model not in Sizer.LONG_SHORT:
            continue
        ours = default.weights(estimate, bounds, mu, limits)
        expected = reference.weights(estimate, bounds, mu, limits)
        assert np.abs(ours - expected).max() <= 1e-6
        if model in Sizer.LONG_SHORT:
            assert default.solved_by is not None and default.solved_by.solver == "piqp"
            assert default.solved_by.fallback_reason is None


@pytest.mark.parametrize("factor", [True, False], ids=["factor", "dense"])
def test_a_solve_is_bitwise_the_same_whatever_the_model_solved_before(factor: bool) -> None:
    # A restarted engine (a new model) must decide exactly as one that ran on (a model whose
    # PIQP solvers were updated in place from other problems of the same structure).
    n = 30
    bounds, limits = _books(n, 5)[1]
    ran_on = MeanVariance(2.0)
    for seed in (11, 12, 13):
        before = _estimate(n, seed, factor)
        ran_on.weights(before.volatility * 0.03, before, bounds, limits)
    estimate = _estimate(n, 14, factor)
    mu = estimate.volatility * 0.05 * np.linspace(-1, 1, n)
    after_others = ran_on.weights(mu, estimate, bounds, limits)
    fresh = MeanVariance(2.0).weights(mu, estimate, bounds, limits)
    assert after_others.tobytes() == fresh.tobytes()


def test_clarabel_answers_and_the_reason_is_kept_when_piqp_fails() -> None:
    # One iteration cannot solve it: PIQP fails for real, and Clarabel gives the answer.
    n = 25
    estimate = _estimate(n, 7, True)
    bounds, limits = _books(n, 7)[0]
    starved = MinimumVariance(SolverChoice("piqp", piqp_max_iter=1))
    weights = starved.weights(estimate, bounds, limits)
    assert starved.solved_by is not None and starved.solved_by.solver == "clarabel"
    assert starved.solved_by.fallback_reason == "piqp reached its iteration limit"
    expected = MinimumVariance(REFERENCE).weights(estimate, bounds, limits)
    assert weights.tobytes() == expected.tobytes()


def _signals(n: int) -> CoordinatedSignals:
    score = np.linspace(-0.8, 0.9, n)
    return CoordinatedSignals("p", "confidence_blend", ("m",), DAY, score, np.ones(n), {})


def _prices(n: int) -> np.ndarray:
    return 50.0 * np.exp(np.cumsum(_returns(n, 21, days=150), axis=0))


@pytest.mark.parametrize(
    ("choice", "solver", "fallback"),
    [
        (SolverChoice(), "piqp", None),
        (SolverChoice("piqp", piqp_max_iter=1), "clarabel", "piqp reached its iteration limit"),
        (SolverChoice("clarabel"), "clarabel", None),
    ],
)
def test_the_allocation_outcome_records_which_solver_answered_and_why(
    choice: SolverChoice, solver: str, fallback: str | None
) -> None:
    n = 20
    allocator = MandateAllocator(
        "p", "mean_variance", 0.2, 0.05, LedoitWolfShrinkage(), 120, solver=choice
    )
    outcome = allocator.allocate(_signals(n), np.ones(n, dtype=bool), DAY, _prices(n))
    assert outcome.status == "ok" and outcome.model == "mean_variance"
    assert (outcome.solver, outcome.solver_fallback) == (solver, fallback)
    assert outcome.target.weights.sum() == pytest.approx(0.95)


def test_a_model_without_a_solver_records_none() -> None:
    n = 20
    allocator = MandateAllocator("p", "inverse_volatility", 0.2, 0.05, LedoitWolfShrinkage(), 120)
    outcome = allocator.allocate(_signals(n), np.ones(n, dtype=bool), DAY, _prices(n))
    assert outcome.status == "ok" and outcome.solver is None and outcome.solver_fallback is None


def test_the_config_names_the_solver_field_when_it_is_unknown(tmp_path: Path) -> None:
    default = (Path(__file__).parents[2] / "engine" / "default_config.toml").read_text()
    assert 'solver = "piqp"' in default and load_config(None).allocation.solver == "piqp"
    path = tmp_path / "config.toml"
    path.write_text(default.replace('solver = "piqp"', 'solver = "gurobi"'))
    with pytest.raises(ConfigError, match=r"allocation\.solver: .*'piqp' or 'clarabel'"):
        load_config(path)


def test_a_move_form_solve_stopped_at_its_limit_is_answered_in_the_auxiliary_form(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A turnover-limited book: solved as a move from today's weights unless that stalls (at a
    # precision floor), then with the auxiliary variables, to the same tolerance.
    n = qp.MOVE_MIN_NAMES
    estimate = _estimate(n, 8, factor=True)
    bounds, limits = _books(n, 8)[1]
    mu = estimate.volatility * 0.05 * np.linspace(-1, 1, n)
    problem = quadratic_problem(
        mu, risk_factor(estimate), 3.0, bounds, limits, False, net_range(bounds, limits)
    )
    assert problem.centre is not None
    as_move = DirectQp().solve_here(problem)
    monkeypatch.setattr(qp, "MOVE_MAX_ITER", 2)
    stalled = DirectQp().solve_here(problem)
    assert np.abs(stalled - as_move).max() <= 1e-7
    assert stalled.tobytes() != as_move.tobytes()  # a different solve, not the same one
