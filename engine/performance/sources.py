"""A portfolio's profit and loss by signal source and horizon.

Each day a name's profit and loss is its start-of-day weight x its price return x the previous
close's NAV: the shares held through the day times the change in price. It is split among the
raw views (``source/horizon``) by the lineage the latest target decided before the day recorded
for the name (engine/cycle/lineage.py): each view's share of the blended score that asked for
it. A manual override is a view of its own (``manual/override``). A view that pulled against
the position has a negative share, and so earns the opposite of the name's profit.

Two lines take the rest, so that the parts add up to the total exactly:
- ``held without a view``: names the book held that the target gave no lineage for (a position
  still being sold, a name kept by a limit) and what the 6-decimal shares leave over;
- ``trading, costs and cash income``: the NAV's change less the holdings' profit and loss
  (fills at other prices than the closes, costs, interest on cash).

In USD the parts add up day by day. As returns, the days are Carino-scaled against the
portfolio's time-weighted return, so that they add up to its return over the period.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np

from engine.performance.attribution import carino_factor, carino_factors
from engine.performance.targets import RecordedTarget, segments

NO_VIEW = "held without a view"
TRADING = "trading, costs and cash income"


def source_attribution(
    weights: np.ndarray,
    day_returns: np.ndarray,
    nav_before_usd: np.ndarray,
    portfolio_returns: np.ndarray,
    symbols: Sequence[str],
    days: Sequence[date],
    targets: Sequence[RecordedTarget],
) -> dict[str, object]:
    """Profit and loss by view, by source and the two other lines (module docstring), in USD
    and as Carino-linked contributions to the period's return.

    ``weights`` and ``day_returns``: days x symbols (``sectors.holding_weights``);
    ``nav_before_usd``: each day's previous close NAV; ``portfolio_returns``: time-weighted."""
    keys = sorted({key for t in targets for shares in t.lineage.values() for key in shares})
    columns = [*keys, NO_VIEW]
    index = {symbol: i for i, symbol in enumerate(symbols)}
    column = {key: j for j, key in enumerate(keys)}
    earned = np.where(weights != 0, weights * np.nan_to_num(day_returns), 0.0)
    contribution = np.zeros((len(days), len(columns)))
    for target, start, end in segments(targets, days):
        share = np.zeros((len(symbols), len(columns)))
        if target is not None:
            for symbol, shares in target.lineage.items():
                i = index.get(symbol)
                if i is not None:
                    for key, value in shares.items():
                        share[i, column[key]] = value
        share[:, -1] = 1.0 - share[:, :-1].sum(axis=1)
        contribution[start:end] = earned[start:end] @ share
    holdings = contribution.sum(axis=1)
    lines = np.column_stack([contribution, portfolio_returns - holdings])
    pnl_usd = lines * nav_before_usd[:, None]
    period = float(np.prod(1.0 + portfolio_returns) - 1.0)
    scale = carino_factors(portfolio_returns, np.zeros(len(days))) / carino_factor(period, 0.0)
    linked = (lines * scale[:, None]).sum(axis=0)
    names = [*columns, TRADING]
    by_view = {
        name: {"pnl_usd": float(pnl_usd[:, j].sum()), "contribution": float(linked[j])}
        for j, name in enumerate(names)
    }
    by_source: dict[str, dict[str, float]] = {}
    for key in keys:
        source = key.split("/", 1)[0]
        total = by_source.setdefault(source, {"pnl_usd": 0.0, "contribution": 0.0})
        total["pnl_usd"] += by_view[key]["pnl_usd"]
        total["contribution"] += by_view[key]["contribution"]
    for name in (NO_VIEW, TRADING):
        by_source[name] = by_view[name]
    return {
        "views": by_view,
        "sources": by_source,
        "total_pnl_usd": float(pnl_usd.sum()),
        "portfolio_return": period,
    }
