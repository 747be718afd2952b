"""Multi-strategy portfolios: sleeves sized apart and combined by capital into one target.

Each sleeve has its own sources, coordination and sizing model, and a share of the portfolio's
capital ``c_s`` (the shares sum to one). A sleeve is sized as if it were a whole portfolio, in its
own weights ``w_s`` (fractions of the sleeve's capital), with the portfolio's per-name bounds,
sector caps, cash buffer and pins; the portfolio's target is ``w = sum_s c_s w_s``. Being a
convex combination, ``w`` keeps every per-name bound, sector cap and exposure limit each sleeve
kept, and its turnover is at most the capital-weighted turnover of the sleeves. Each sleeve's
contribution ``c_s w_s`` is kept, so the dashboard and the event log show who wants what.

A sleeve whose limits cannot hold keeps its previous weights (the others still rebalance); only
when every sleeve is infeasible does the portfolio keep its holdings.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

import numpy as np

from engine.allocation.mandate import AllocationOutcome, MandateAllocator
from engine.model import CoordinatedSignals, TargetWeights
from engine.signals.coordination import SignalCoordinator


@dataclass(frozen=True, slots=True, eq=False)
class Sleeve:
    sleeve_id: str
    capital: float
    coordinator: SignalCoordinator
    allocator: MandateAllocator

    @property
    def sources(self) -> tuple[str, ...]:
        return self.coordinator.sources


@dataclass(frozen=True, slots=True, eq=False)
class SleeveOutcome:
    sleeve: Sleeve
    outcome: AllocationOutcome
    weights: np.ndarray  # the sleeve's own weights, fractions of its capital

    @property
    def contribution(self) -> np.ndarray:
        """What the sleeve adds to the portfolio's target, fractions of the portfolio's NAV."""
        return self.sleeve.capital * self.weights


@dataclass(frozen=True, slots=True, eq=False)
class CombinedAllocation:
    outcome: AllocationOutcome
    sleeves: tuple[SleeveOutcome, ...]


def allocate_sleeves(
    portfolio_id: str,
    sleeves: tuple[Sleeve, ...],
    signals: dict[str, CoordinatedSignals],
    previous: dict[str, np.ndarray],
    eligible: np.ndarray,
    timestamp: date,
    prices: np.ndarray | None,
    sectors: tuple[str, ...],
    pins: np.ndarray | None,
) -> CombinedAllocation:
    """Size each sleeve on its own ``signals`` and combine them by capital.

    ``previous``: each sleeve's last weights (its ``current`` for a turnover limit, and what it
    keeps when infeasible); a sleeve without them starts from cash."""
    n = len(eligible)
    results = []
    problems = []
    sized = np.zeros(n, dtype=bool)
    for sleeve in sleeves:
        before = previous.get(sleeve.sleeve_id, np.zeros(n))
        outcome = sleeve.allocator.allocate(
            signals[sleeve.sleeve_id], eligible, timestamp, prices, before, sectors, pins
        )
        weights = outcome.target.weights
        if outcome.status == "infeasible":
            weights = before
            problems.append(f"sleeve {sleeve.sleeve_id} kept its weights: {outcome.reason}")
        elif outcome.status == "fallback":
            problems.append(f"sleeve {sleeve.sleeve_id}: {outcome.reason}")
        if outcome.sized is not None:
            sized |= outcome.sized
        results.append(SleeveOutcome(sleeve, outcome, weights))
    return _combine(portfolio_id, timestamp, tuple(results), "; ".join(problems) or None, sized)


def recombine(
    portfolio_id: str, timestamp: date, combined: CombinedAllocation, capital: np.ndarray
) -> CombinedAllocation:
    """The same sleeves' weights combined with new ``capital`` (one per sleeve, summing to one):
    a sleeve's weights do not depend on its capital, so risk budgeting can set the capital from
    the weights just sized."""
    results = tuple(
        SleeveOutcome(replace(r.sleeve, capital=float(c)), r.outcome, r.weights)
        for r, c in zip(combined.sleeves, capital, strict=True)
    )
    outcome = combined.outcome
    return _combine(portfolio_id, timestamp, results, outcome.reason, outcome.sized)


def _combine(
    portfolio_id: str,
    timestamp: date,
    results: tuple[SleeveOutcome, ...],
    reason: str | None,
    sized: np.ndarray | None,
) -> CombinedAllocation:
    combined = np.sum([r.contribution for r in results], axis=0)
    all_infeasible = all(r.outcome.status == "infeasible" for r in results)
    status = "infeasible" if all_infeasible else "ok"
    model = "sleeves: " + ", ".join(
        f"{r.sleeve.sleeve_id} {r.outcome.model} {r.sleeve.capital:.0%}" for r in results
    )
    target = TargetWeights(portfolio_id, timestamp, combined, 1.0 - float(combined.sum()))
    return CombinedAllocation(AllocationOutcome(target, model, status, reason, sized), results)
