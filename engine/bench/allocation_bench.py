"""Allocation benchmark: mean-variance solve time per cycle, re-solving a problem built once.

For each universe size ``N`` a simulated market (10 latent factors plus specific noise, 252 days)
gives, each cycle, new expected returns and a new risk model; the long-only mean-variance problem
with a budget and a per-name cap (``max_weight = max(2 / N, 0.02)``) is re-solved by
``MeanVariance``, which only updates its ``cp.Parameter`` values. Up to 500 names the risk model is
the Ledoit-Wolf covariance; beyond, a 10-factor PCA model, so the problem has ``N + 10`` risk
terms instead of ``N^2``. The same problems are solved with PyPortfolioOpt (``EfficientFrontier.
max_quadratic_utility`` on the dense covariance, a new problem each time, as its API builds them),
when it is installed, and the objective values are compared.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from engine.allocation.optimisers import Bounds, MeanVariance
from engine.allocation.risk_models import (
    CovarianceEstimate,
    LedoitWolfShrinkage,
    PcaFactorModel,
)

RISK_AVERSION = 5.0
FACTOR_MODEL_ABOVE = 500


@dataclass(frozen=True, slots=True)
class SizeResult:
    instruments: int
    risk_model: str
    cycles: int
    solve_ms_p50: float
    solve_ms_p95: float
    reference_cycles: int
    reference_ms_p50: float | None
    largest_objective_gap_rel: float | None
    reference_violation: float | None

    @property
    def speedup(self) -> float | None:
        if self.reference_ms_p50 is None:
            return None
        return self.reference_ms_p50 / self.solve_ms_p50

    def as_dict(self) -> dict[str, object]:
        return {
            "instruments": self.instruments,
            "risk_model": self.risk_model,
            "cycles": self.cycles,
            "solve_ms_p50": round(self.solve_ms_p50, 2),
            "solve_ms_p95": round(self.solve_ms_p95, 2),
            "pypfopt_cycles": self.reference_cycles,
            "pypfopt_ms_p50": None
            if self.reference_ms_p50 is None
            else round(self.reference_ms_p50, 2),
            "pypfopt_over_ours": None if self.speedup is None else round(self.speedup, 2),
            "largest_objective_gap_rel": self.largest_objective_gap_rel,
            "pypfopt_largest_constraint_violation": self.reference_violation,
        }


def _market(n: int, days: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    loadings = rng.normal(0, 1, (n, 10)) * 0.004
    factors = rng.normal(0, 1, (days, 10))
    return factors @ loadings.T + rng.normal(0, 0.012, (days, n))


def _utility(mu: np.ndarray, covariance: np.ndarray, w: np.ndarray) -> float:
    return float(mu @ w - RISK_AVERSION * w @ covariance @ w)


def _reference_weights(mu: np.ndarray, covariance: np.ndarray, max_weight: float) -> np.ndarray:
    from pypfopt import EfficientFrontier  # test-only peer; the bench says when it is missing

    frontier = EfficientFrontier(mu, covariance, weight_bounds=(0, max_weight))
    # PyPortfolioOpt maximises mu'w - delta/2 w'Sigma w.
    weights = frontier.max_quadratic_utility(risk_aversion=2 * RISK_AVERSION, market_neutral=False)
    return np.array([weights[i] for i in range(len(mu))])


def reference_available() -> bool:
    try:
        import pypfopt  # noqa: F401
    except ImportError:
        return False
    return True


def run_allocation_bench(
    sizes: tuple[int, ...] = (100, 500, 2000),
    cycles: int = 20,
    reference_cycles: int = 5,
    seed: int = 7,
    on_cycle: Callable[[int, int], None] | None = None,
) -> list[SizeResult]:
    with_reference = reference_available() and reference_cycles > 0
    results = []
    for n in sizes:
        returns = _market(n, 252 + cycles, seed)
        factor_form = n > FACTOR_MODEL_ABOVE
        risk_model = PcaFactorModel(10) if factor_form else LedoitWolfShrinkage()
        model = MeanVariance(RISK_AVERSION)
        bounds = Bounds(1.0, 0.0, max(2.0 / n, 0.02))
        rng = np.random.default_rng(seed + n)
        ours_ms: list[float] = []
        reference_ms: list[float] = []
        gaps: list[float] = []
        violations: list[float] = []
        for cycle in range(cycles):
            estimate = risk_model.estimate(returns[cycle : cycle + 252])
            mu = estimate.volatility * 0.05 * rng.uniform(-1, 1, n)
            t0 = time.perf_counter()
            weights = model.weights(mu, estimate, bounds)
            ours_ms.append((time.perf_counter() - t0) * 1000.0)
            if with_reference and cycle < reference_cycles:
                covariance = estimate.covariance
                dense = CovarianceEstimate("dense", estimate.observations, covariance)
                t1 = time.perf_counter()
                reference = _reference_weights(mu, dense.covariance, bounds.max_weight)
                reference_ms.append((time.perf_counter() - t1) * 1000.0)
                ours_value = _utility(mu, covariance, weights)
                their_value = _utility(mu, covariance, reference)
                # A higher utility is only better if it is feasible: record how far the reference
                # strays outside the bounds and the budget.
                violations.append(
                    max(
                        0.0,
                        float(-reference.min()),
                        float(reference.max() - bounds.max_weight),
                        abs(float(reference.sum()) - 1.0),
                    )
                )
                # Signed: positive when ours reaches a higher utility than PyPortfolioOpt's.
                gaps.append((ours_value - their_value) / max(abs(their_value), 1e-18))
            if on_cycle is not None:
                on_cycle(n, cycle + 1)
        # The first solve compiles the problem; the figure is for the re-solves that follow.
        steady = ours_ms[1:] if len(ours_ms) > 1 else ours_ms
        results.append(
            SizeResult(
                n,
                "pca (10 factors)" if factor_form else "ledoit_wolf",
                cycles,
                float(np.percentile(steady, 50)),
                float(np.percentile(steady, 95)),
                len(reference_ms),
                float(np.percentile(reference_ms, 50)) if reference_ms else None,
                float(max(gaps, key=abs)) if gaps else None,
                float(max(violations)) if violations else None,
            )
        )
    return results


def format_results(results: list[SizeResult]) -> str:
    lines = [
        "mean-variance, long-only, budget and per-name cap; re-solve of a problem built once",
        f"{'N':>6} {'risk model':<18}{'p50 ms':>9}{'p95 ms':>9}{'PyPortfolioOpt p50 ms':>23}"
        f"{'ratio':>8}{'utility gap':>13}{'its violation':>15}",
        "(ratio: PyPortfolioOpt time / ours; utility gap: ours minus its, relative; its violation:"
        " how far its weights leave the bounds or the budget)",
    ]
    for r in results:
        reference = "not installed" if r.reference_ms_p50 is None else f"{r.reference_ms_p50:.1f}"
        ratio = "" if r.speedup is None else f"{r.speedup:.1f}x"
        gap = "" if r.largest_objective_gap_rel is None else f"{r.largest_objective_gap_rel:.1e}"
        violation = "" if r.reference_violation is None else f"{r.reference_violation:.1e}"
        lines.append(
            f"{r.instruments:>6} {r.risk_model:<18}{r.solve_ms_p50:>9.1f}{r.solve_ms_p95:>9.1f}"
            f"{reference:>23}{ratio:>8}{gap:>13}{violation:>15}"
        )
    return "\n".join(lines)
