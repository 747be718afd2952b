"""Solver benchmark: the engine's own allocation problems solved by each candidate solver.

For each universe size ``N`` a simulated market (10 latent factors plus specific noise, 252 days)
gives, each cycle, new expected returns and a new risk model (a 10-factor PCA model, as in
``pcoord bench``; ``ledoit_wolf`` gives the dense form). The cycles alternate between the two
kinds of book the engine sizes: long-only (a budget, a per-name cap ``max(2 / N, 0.02)``, ten
sector caps and a turnover limit against the last weights) and long/short (net exposure in
``[0, 0.2]``, gross at most 1.6, shorts down to half the cap). Each problem is solved by:

- ``clarabel 1e-12``: the engine's Clarabel path (cvxpy, tolerances 1e-12), the **reference**;
- ``piqp direct``: the engine's PIQP path (the QP handed to PIQP, engine/allocation/qp.py);
- ``clarabel default``, ``piqp cvxpy`` (tolerances 1e-12) and ``osqp cvxpy`` (1e-9, polished):
  the reference's own compiled cvxpy problem re-solved with that solver.

Reported per size and solver: time per solve (p50, p95; the first two cycles, which compile, are
left out) and the largest absolute weight difference to the reference over the cycles.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import cvxpy as cp
import numpy as np

from engine.allocation.optimisers import Bounds, Limits, MeanVariance
from engine.allocation.qp import PIQP_TOLERANCE, SolverChoice
from engine.allocation.risk_models import LedoitWolfShrinkage, PcaFactorModel

RISK_AVERSION = 5.0
SECTORS = 10
REFERENCE = "clarabel 1e-12"
# The candidates that re-solve the reference's compiled cvxpy problem: solver and its options.
CVXPY_CANDIDATES: dict[str, tuple[str, dict[str, object]]] = {
    "clarabel default": (cp.CLARABEL, {}),
    "piqp cvxpy": (
        cp.PIQP,
        {
            "eps_abs": PIQP_TOLERANCE,
            "eps_rel": PIQP_TOLERANCE,
            "eps_duality_gap_abs": PIQP_TOLERANCE,
            "eps_duality_gap_rel": PIQP_TOLERANCE,
        },
    ),
    # Capped: at 2,000 names OSQP took 15 s a solve with 100,000 iterations and still failed.
    "osqp cvxpy": (cp.OSQP, {"eps_abs": 1e-9, "eps_rel": 1e-9, "max_iter": 10_000}),
}
SOLVER_NAMES = (REFERENCE, "piqp direct", *CVXPY_CANDIDATES)


@dataclass(frozen=True, slots=True)
class SolverResult:
    instruments: int
    solver: str
    solves: int
    ms_p50: float
    ms_p95: float
    max_weight_diff: float | None  # None: the reference itself
    failures: int  # solves that gave no answer (cvxpy candidates) or fell back (piqp direct)

    def as_dict(self) -> dict[str, object]:
        return {
            "instruments": self.instruments,
            "solver": self.solver,
            "solves": self.solves,
            "ms_p50": round(self.ms_p50, 3),
            "ms_p95": round(self.ms_p95, 3),
            "max_weight_diff": self.max_weight_diff,
            "failures": self.failures,
        }


def _market(n: int, days: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    loadings = rng.normal(0, 1, (n, 10)) * 0.004
    factors = rng.normal(0, 1, (days, 10))
    return factors @ loadings.T + rng.normal(0, 0.012, (days, n))


def _book(n: int, cycle: int, current: np.ndarray) -> tuple[Bounds, Limits]:
    cap = max(2.0 / n, 0.02)
    if cycle % 2:
        return Bounds(0.2, -cap / 2, cap, 1.6, 0.0), Limits()
    sectors = tuple(f"s{i % SECTORS}" for i in range(n))
    caps = tuple((f"s{k}", 0.15) for k in range(SECTORS))
    return Bounds(0.98, 0.0, cap), Limits(sectors, caps, current, 0.5)


def _resolve(problem: cp.Problem, solver: str, options: dict[str, object]) -> np.ndarray | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            problem.solve(solver=solver, warm_start=False, **options)
        except cp.SolverError:
            return None
    if problem.status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE):
        return None
    return np.asarray(problem.variables()[0].value, dtype=float)


def run_solver_bench(
    sizes: tuple[int, ...] = (100, 500, 2000),
    cycles: int = 20,
    risk_model: str = "pca",
    seed: int = 7,
    on_cycle: Callable[[int, int], None] | None = None,
    solvers: tuple[str, ...] = SOLVER_NAMES,
) -> list[SolverResult]:
    """The ``solvers`` (the reference always) on the same problems, size by size;
    ``on_cycle(N, cycle)`` after each cycle."""
    unknown = sorted(set(solvers) - set(SOLVER_NAMES))
    if unknown:
        raise ValueError(f"solvers: {unknown} are not among {', '.join(SOLVER_NAMES)}")
    names = tuple(name for name in SOLVER_NAMES if name == REFERENCE or name in solvers)
    results: list[SolverResult] = []
    for n in sizes:
        returns = _market(n, 252 + cycles, seed)
        model = PcaFactorModel(10) if risk_model == "pca" else LedoitWolfShrinkage()
        reference = MeanVariance(RISK_AVERSION, SolverChoice("clarabel"))
        direct = MeanVariance(RISK_AVERSION, SolverChoice("piqp"))
        rng = np.random.default_rng(seed + n)
        times: dict[str, list[float]] = {name: [] for name in names}
        diffs: dict[str, list[float]] = {name: [] for name in names}
        failures = dict.fromkeys(names, 0)
        current = np.zeros(n)
        for cycle in range(cycles):
            estimate = model.estimate(returns[cycle : cycle + 252])
            mu = estimate.volatility * 0.05 * rng.uniform(-1, 1, n)
            bounds, limits = _book(n, cycle, current)
            t0 = time.perf_counter()
            expected = reference.weights(mu, estimate, bounds, limits)
            times[REFERENCE].append((time.perf_counter() - t0) * 1000.0)
            if "piqp direct" in names:
                t0 = time.perf_counter()
                ours = direct.weights(mu, estimate, bounds, limits)
                times["piqp direct"].append((time.perf_counter() - t0) * 1000.0)
                diffs["piqp direct"].append(float(np.abs(ours - expected).max()))
                solved_by = direct.solved_by
                failures["piqp direct"] += solved_by is None or solved_by.solver != "piqp"
            problem = reference.problem
            assert problem is not None  # the reference just solved it
            for name, (solver, options) in CVXPY_CANDIDATES.items():
                if name not in names:
                    continue
                t0 = time.perf_counter()
                raw = _resolve(problem, solver, options)
                times[name].append((time.perf_counter() - t0) * 1000.0)
                if raw is None:
                    failures[name] += 1
                    continue
                weights = np.clip(raw, bounds.min_weight, bounds.max_weight)
                diffs[name].append(float(np.abs(weights - expected).max()))
            if not cycle % 2:
                current = expected
            if on_cycle is not None:
                on_cycle(n, cycle + 1)
        for name in names:
            # The first solve of each kind of book compiles (cvxpy) or sets up (PIQP); the
            # figures are re-solves.
            steady = times[name][2:] if len(times[name]) > 2 else times[name]
            results.append(
                SolverResult(
                    n,
                    name,
                    len(times[name]),
                    float(np.percentile(steady, 50)),
                    float(np.percentile(steady, 95)),
                    None if name == REFERENCE else max(diffs[name], default=float("nan")),
                    failures[name],
                )
            )
    return results


def format_solver_results(results: list[SolverResult], risk_model: str = "pca") -> str:
    lines = [
        f"mean-variance ({risk_model} risk model), alternating long-only (budget, cap, sector "
        "caps, turnover) and long/short (net, gross) books",
        f"{'N':>6}  {'solver':<18}{'p50 ms':>9}{'p95 ms':>9}{'max |w - ref|':>15}{'failed':>8}",
    ]
    for r in results:
        diff = "reference" if r.max_weight_diff is None else f"{r.max_weight_diff:.1e}"
        lines.append(
            f"{r.instruments:>6}  {r.solver:<18}{r.ms_p50:>9.2f}{r.ms_p95:>9.2f}{diff:>15}"
            f"{r.failures:>8}"
        )
    lines.append(
        "(failed: no answer from the solver; for piqp direct, solves Clarabel answered instead)"
    )
    return "\n".join(lines)
