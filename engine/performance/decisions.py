"""What each decision between the allocator and the fills gained or cost, as return.

Each rebalance leaves a chain of portfolios, each one decision further from the allocator:

0. the allocation sized again without the mandate's limits (sector caps, turnover cap;
   engine/performance/unconstrained.py), with any names a manager's weight override pinned: the
   unconstrained target. Where the mandate has no limits it is the allocator's weights;
1. the allocator's weights (``optimised``: its model within the mandate's limits);
2. scaled toward cash by the risk budget (``AllocationScaled``'s factor);
3. the target: whole shares at that close, keeping the limits;
4. what the risk gate let through: the target less what it withheld of the orders toward it
   (rejected, or scaled down; their shares at the decision price over that close's NAV);
5. the book actually held: what filled, and when;
6. the portfolio's time-weighted return: the book plus trading at other prices than the closes,
   costs and interest on cash.

Portfolios 0 to 4 are "paper" books: bought at the close of the rebalance and held, drifting
with the prices, until the next rebalance's book takes over (cash earns nothing). A decision's
effect each day is the return of its portfolio less the one before; the unconstrained target's
return is split between the names the model sized and the pinned names (what the overrides
held). The lines add
up to the portfolio's return each day, and are Carino-scaled so they add up over the period.

The tracking error to the target is the annualised standard deviation (252 days) of the
portfolio's daily return less the target book's: how far the book strayed from what it was
given.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

import numpy as np

from engine.performance.attribution import carino_factor, carino_factors
from engine.performance.returns import TRADING_DAYS_PER_YEAR
from engine.performance.targets import RecordedTarget, segments, vector

ALLOCATOR = "unconstrained target"
OVERRIDES = "manual weight overrides"
LIMITS = "the mandate's limits"
SCALING = "risk-budget scaling"
ROUNDING = "whole shares within limits"
GATE = "risk gate"
EXECUTION = "fills and timing"
TRADING = "trading, costs and cash income"
DECISIONS = (ALLOCATOR, OVERRIDES, LIMITS, SCALING, ROUNDING, GATE, EXECUTION, TRADING)
# The chain's portfolios, by the decision that makes each.
STAGES = ("unconstrained", "allocator", "scaled", "target", "gated", "holdings", "portfolio")


def paper_returns(
    weights: np.ndarray, day_returns: np.ndarray, names: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Each day's return of a book bought at ``weights`` (of NAV; cash is the rest) before the
    first of ``day_returns`` (days x names) and held; and of it, what ``names`` (a mask)
    earned."""
    r = np.nan_to_num(day_returns)
    growth = np.cumprod(1.0 + r, axis=0)
    before = np.vstack([np.ones((1, r.shape[1])), growth[:-1]])
    cash = 1.0 - weights.sum()
    value_before = before @ weights + cash
    earned = before * weights * r
    total = earned.sum(axis=1) / value_before
    part = earned[:, names].sum(axis=1) / value_before if names is not None else total * 0.0
    return total, part


def decision_attribution(
    weights: np.ndarray,
    day_returns: np.ndarray,
    portfolio_returns: np.ndarray,
    symbols: Sequence[str],
    days: Sequence[date],
    targets: Sequence[RecordedTarget],
    unconstrained: Mapping[date, np.ndarray] | None = None,
) -> dict[str, object]:
    """Each decision's Carino-linked contribution to the period's return, and each portfolio of
    the chain's compounded return (module docstring). ``weights`` and ``day_returns`` are the
    book's (``sectors.holding_weights``); ``unconstrained``: the weights sized without the
    limits, by rebalance date (none: the allocator's). Before the first target the paper books
    are the book."""
    index = {symbol: i for i, symbol in enumerate(symbols)}
    holdings = (weights * np.nan_to_num(day_returns)).sum(axis=1)
    stage = np.column_stack([holdings] * 5 + [holdings, portfolio_returns])
    pinned_part = np.zeros(len(days))
    for target, start, end in segments(targets, days):
        if target is None:
            continue
        r = day_returns[start:end]
        pins = np.array([s in target.pinned for s in symbols])
        optimised = vector(target.optimised, index)
        reference = (unconstrained or {}).get(target.market_date, optimised)
        stage[start:end, 0], pinned_part[start:end] = paper_returns(reference, r, pins)
        stage[start:end, 1], _ = paper_returns(optimised, r)
        stage[start:end, 2], _ = paper_returns(optimised * target.scale, r)
        rounded = vector(target.weights, index)
        stage[start:end, 3], _ = paper_returns(rounded, r)
        gated = rounded - vector(target.gate_withheld, index)
        stage[start:end, 4], _ = paper_returns(gated, r)
    lines = np.column_stack([stage[:, 0] - pinned_part, pinned_part, *(np.diff(stage, axis=1).T)])
    period = float(np.prod(1.0 + portfolio_returns) - 1.0)
    scale = carino_factors(portfolio_returns, np.zeros(len(days))) / carino_factor(period, 0.0)
    linked = (lines * scale[:, None]).sum(axis=0)
    # How far the portfolio strayed from the targets it was given: the annualised standard
    # deviation of its daily return less the target book's.
    off_target = stage[:, -1] - stage[:, STAGES.index("target")]
    tracking = (
        float(np.std(off_target, ddof=1) * np.sqrt(TRADING_DAYS_PER_YEAR))
        if len(days) > 1
        else None
    )
    return {
        "tracking_error_to_target_annual": tracking,
        "decisions": {name: float(linked[j]) for j, name in enumerate(DECISIONS)},
        "returns": {name: float(np.prod(1.0 + stage[:, j]) - 1.0) for j, name in enumerate(STAGES)},
        "portfolio_return": period,
    }
