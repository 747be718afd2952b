"""Allocation impact assessment: what a proposed set of target weights would change.

Before orders are made, the proposal ``w`` is compared with the current weights ``w0`` under the
same risk model the allocation used (``Sigma``, daily) and the expected returns implied by the
coordinated signals (``mu``, daily):

- expected return ``252 mu' w`` and ex-ante volatility ``sqrt(252 w' Sigma w)``, before and after;
- tracking error to the benchmark ``b``: ``sqrt(252 (w - b)' Sigma (w - b))``;
- turnover ``sum |w - w0|`` (fractions of NAV; a full switch from one name to another is 2);
- estimated cost ``sum_i |w_i - w0_i| * NAV * cost_i`` in US dollars and basis points of NAV, with
  ``cost_i`` each trade's cost in basis points of its value from the venue's own cost model
  (half-spread, square-root impact for its size, commission);
- the largest changes by ``|w - w0|``;
- each instrument's share of the proposal's variance, ``w_i (Sigma w)_i / w' Sigma w`` (Euler's
  decomposition: the shares sum to one).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.allocation.risk_models import CovarianceEstimate

TRADING_DAYS_PER_YEAR = 252
BPS = 1e-4
RISK_CONTRIBUTIONS_RECORDED = 25


@dataclass(frozen=True, slots=True)
class WeightChange:
    symbol: str
    current: float
    target: float


@dataclass(frozen=True, slots=True)
class AllocationImpact:
    expected_return_annual: float
    current_expected_return_annual: float
    volatility_annual: float
    current_volatility_annual: float
    tracking_error_annual: float
    turnover: float
    estimated_cost_usd: float
    estimated_cost_bps: float
    top_changes: tuple[WeightChange, ...]
    risk_contributions: tuple[tuple[str, float], ...] = ()

    def payload(self) -> dict[str, object]:
        return {
            "expected_return_annual": round(self.expected_return_annual, 6),
            "current_expected_return_annual": round(self.current_expected_return_annual, 6),
            "volatility_annual": round(self.volatility_annual, 6),
            "current_volatility_annual": round(self.current_volatility_annual, 6),
            "tracking_error_annual": round(self.tracking_error_annual, 6),
            "turnover": round(self.turnover, 6),
            "estimated_cost_usd": round(self.estimated_cost_usd, 2),
            "estimated_cost_bps": round(self.estimated_cost_bps, 3),
            "top_changes": [
                {
                    "instrument": c.symbol,
                    "current": round(c.current, 6),
                    "target": round(c.target, 6),
                }
                for c in self.top_changes
            ],
            # The largest shares only: the event stays small on a large universe.
            "risk_contributions": {
                symbol: round(share, 6)
                for symbol, share in self.risk_contributions[:RISK_CONTRIBUTIONS_RECORDED]
            },
        }


def assess_allocation(
    symbols: tuple[str, ...],
    target: np.ndarray,
    current: np.ndarray,
    benchmark: np.ndarray,
    covariance: np.ndarray | CovarianceEstimate,
    expected_returns: np.ndarray,
    nav_usd: float,
    cost_bps: float | np.ndarray,
    top: int = 5,
) -> AllocationImpact:
    """All vectors over ``symbols``; ``covariance`` (a matrix, or an estimate, whose factor form
    is then used as is) and ``expected_returns`` in daily units;
    ``cost_bps`` one figure for every trade or one per instrument."""
    n = len(symbols)
    for name, vector in (
        ("target", target),
        ("current", current),
        ("benchmark", benchmark),
        ("expected_returns", expected_returns),
    ):
        if np.shape(vector) != (n,) or not np.all(np.isfinite(vector)):
            raise ValueError(f"{name}: need {n} finite values")
    if isinstance(covariance, CovarianceEstimate):
        risk = covariance
        shaped = risk.size == n and (risk.dense is None or np.shape(risk.dense) == (n, n))
    else:
        shaped = np.shape(covariance) == (n, n)
        risk = CovarianceEstimate("given", 0, dense=np.asarray(covariance)) if shaped else None
    if not shaped or risk is None or not risk.is_finite():
        raise ValueError(f"covariance: need a finite {n} x {n} matrix")

    def annual_volatility(weights: np.ndarray) -> float:
        return float(np.sqrt(max(TRADING_DAYS_PER_YEAR * risk.variance(weights), 0.0)))

    change = target - current
    turnover = float(np.abs(change).sum())
    cost_usd = float(np.sum(np.abs(change) * nav_usd * np.asarray(cost_bps, dtype=float) * BPS))
    order = np.argsort(-np.abs(change), kind="stable")[:top]
    variance = risk.variance(target)
    shares = target * risk.times(target) / variance if variance > 0 else np.zeros(n)
    by_size = np.argsort(-np.abs(shares), kind="stable")
    # Selected as arrays and read as lists: a numpy scalar per name cost more than the maths.
    held = by_size[target[by_size] != 0]
    return AllocationImpact(
        float(TRADING_DAYS_PER_YEAR * expected_returns @ target),
        float(TRADING_DAYS_PER_YEAR * expected_returns @ current),
        annual_volatility(target),
        annual_volatility(current),
        annual_volatility(target - benchmark),
        turnover,
        cost_usd,
        cost_usd / nav_usd / BPS if nav_usd > 0 else 0.0,
        tuple(
            WeightChange(symbols[i], float(current[i]), float(target[i]))
            for i in order[change[order] != 0].tolist()
        ),
        tuple(zip([symbols[i] for i in held.tolist()], shares[held].tolist(), strict=True)),
    )
