"""A rebalance's allocation sized again without the mandate's limits: the reference the cost of
the limits is measured against (engine/performance/decisions.py).

The limits are the sector caps and the turnover cap. Everything else stays as the engine had it:
the model, its risk model over the same look-back of the same closes, the bounds (budget, cash
buffer, weight caps, shorts), the views it saw (recorded with the target, engine/cycle/
lineage.py), the names it could choose and which were held (the signal band), and the weights a
manager pinned. The engine's own code sizes it (``MandateAllocator.allocate``), with the
portfolio's configuration as the report reads it: the same as the run's, or the reference is of
another mandate.

A multi-strategy portfolio's limited sleeves are sized again the same way, each with the capital
the rebalance gave it; the other sleeves' weights stay.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

import numpy as np
import pandas as pd

from engine.allocation.mandate import MandateAllocator
from engine.assembly import build_allocator
from engine.config import AllocationConfig, AppConfig, PortfolioConfig
from engine.model import CoordinatedSignals
from engine.performance.targets import RecordedTarget, SizingViews, vector

# What the limits are, in the allocation's configuration.
NO_LIMITS = {"sector_caps": {}, "max_turnover": None}


def unconstrained_targets(
    config: AppConfig,
    portfolio: PortfolioConfig,
    targets: Sequence[RecordedTarget],
    close: pd.DataFrame,
    sectors: Sequence[str],
) -> dict[date, np.ndarray]:
    """By market date: the weights (of NAV, by ``close``'s columns) sized without
    the limits, for each rebalance that recorded views (a mandate with limits). ``close``:
    closes by date and symbol, ``sectors`` per column."""
    if not any(t.views is not None or t.sleeve_views for t in targets):
        return {}
    symbols = list(close.columns)
    index = {symbol: i for i, symbol in enumerate(symbols)}
    prices = close.to_numpy(dtype=float)
    rows = close.index.get_indexer(pd.DatetimeIndex([t.market_date for t in targets]))
    allocator = _unlimited(portfolio, portfolio.allocation, portfolio.id, config)
    sleeves = {
        s.id: _unlimited(portfolio, s.allocation, f"{portfolio.id}/{s.id}", config)
        for s in portfolio.sleeves
    }
    found: dict[date, np.ndarray] = {}
    for target, row in zip(targets, rows, strict=True):
        if row < 0:
            continue  # a date the prices do not have: nothing to size on
        window = prices[: row + 1]
        optimised = vector(target.optimised, index)
        pins = None
        if target.pinned:
            pins = np.full(len(symbols), np.nan)
            for symbol, weight in target.pinned.items():
                pins[index[symbol]] = weight
        if target.views is not None:
            sized = _sized(allocator, target.views, target, window, index, sectors, pins)
            if sized is not None:
                found[target.market_date] = sized
            continue
        reference = optimised.copy()
        for sid, views in target.sleeve_views.items():
            if sid not in sleeves:
                continue  # a sleeve the configuration no longer has
            sleeve = _sized(sleeves[sid], views, target, window, index, sectors, pins)
            if sleeve is not None:
                capital = target.sleeve_capital.get(sid, 0.0)
                reference += capital * (sleeve - vector(target.sleeves.get(sid, {}), index))
        if target.sleeve_views:
            found[target.market_date] = reference
    return found


def _unlimited(
    portfolio: PortfolioConfig, rules: AllocationConfig, name: str, config: AppConfig
) -> MandateAllocator:
    return build_allocator(portfolio, rules.model_copy(update=NO_LIMITS), name, config.allocation)


def _sized(
    allocator: MandateAllocator,
    views: SizingViews,
    target: RecordedTarget,
    window: np.ndarray,
    index: Mapping[str, int],
    sectors: Sequence[str],
    pins: np.ndarray | None,
) -> np.ndarray | None:
    """The weights ``allocator`` sizes on ``views``; None when it finds no allocation (the
    reference is then the engine's own)."""
    n = len(index)
    chosen = [index[s] for s in views.symbols]
    score, confidence, eligible = np.zeros(n), np.zeros(n), np.zeros(n, dtype=bool)
    score[chosen], confidence[chosen], eligible[chosen] = views.score, views.confidence, True
    # Without the turnover cap only whether a name is held matters (the signal band).
    held = np.zeros(n)
    held[[index[s] for s in views.held]] = 1.0
    signals = CoordinatedSignals(
        allocator.portfolio_id, "recorded", (), target.market_date, score, confidence, {}
    )
    outcome = allocator.allocate(
        signals, eligible, target.market_date, window, held, tuple(sectors), pins
    )
    return None if outcome.status == "infeasible" else outcome.target.weights
