"""A multi-strategy portfolio's holdings' return by sleeve.

The ledger keeps one book per portfolio, so a sleeve's part of it is read from the targets: at
each rebalance (``TargetWeightsSet``, decided at a close and traded from the next day) sleeve
``s`` wants ``capital_s x w_s,i`` of name ``i``, and each name's holding is shared among the
sleeves in proportion to what they want of it (a name no sleeve targets is "unassigned": a
position still being sold, say). Each day a sleeve's weight is its share of the book's
start-of-day weights and its contribution its share of what they earned; its return is the
contribution over the weight, compounded over the period. Contributions are Carino-scaled (against
a zero benchmark), so the sleeves and the unassigned part add up to the holdings' return.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

import numpy as np

from engine.performance.attribution import carino_factor, carino_factors

UNASSIGNED = "unassigned"

# A rebalance's targets: market date, sleeve -> symbol -> capital share x weight in the sleeve.
SleeveTargets = tuple[date, Mapping[str, Mapping[str, float]]]


def sleeve_attribution(
    weights: np.ndarray,
    day_returns: np.ndarray,
    symbols: Sequence[str],
    days: Sequence[date],
    targets: Sequence[SleeveTargets],
) -> dict[str, object] | None:
    """Each sleeve's average weight, return and contribution over ``days`` (see the module
    docstring); None when no rebalance before the last day named any sleeve."""
    sleeves = sorted({s for _, by_sleeve in targets for s in by_sleeve})
    if not sleeves:
        return None
    columns = [*sleeves, UNASSIGNED]
    index = {symbol: i for i, symbol in enumerate(symbols)}
    earned = np.where(weights != 0, weights * np.nan_to_num(day_returns), 0.0)
    share = np.zeros((len(symbols), len(columns)))
    share[:, -1] = 1.0
    sleeve_weight = np.zeros((len(days), len(columns)))
    contribution = np.zeros((len(days), len(columns)))
    ordered = sorted(targets, key=lambda item: item[0])
    k = 0
    for t, day in enumerate(days):
        # The latest targets decided before the day: what its start-of-day book was built for.
        while k < len(ordered) and ordered[k][0] < day:
            share = _shares(ordered[k][1], sleeves, index)
            k += 1
        sleeve_weight[t] = weights[t] @ share
        contribution[t] = earned[t] @ share
    total = contribution.sum(axis=1)
    period = float(np.prod(1.0 + total) - 1.0)
    scale = carino_factors(total, np.zeros(len(days))) / carino_factor(period, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        daily = np.where(sleeve_weight != 0, contribution / sleeve_weight, 0.0)
    linked = (contribution * scale[:, None]).sum(axis=0)
    return {
        "sleeves": {
            name: {
                "average_weight": float(sleeve_weight[:, j].mean()),
                "return": float(np.prod(1.0 + daily[:, j]) - 1.0),
                "contribution": float(linked[j]),
            }
            for j, name in enumerate(columns)
        },
        "holdings_return": period,
    }


def _shares(
    by_sleeve: Mapping[str, Mapping[str, float]], sleeves: list[str], index: Mapping[str, int]
) -> np.ndarray:
    """Each name's split among the sleeves (rows sum to one; untargeted names unassigned)."""
    wanted = np.zeros((len(index), len(sleeves) + 1))
    for j, sleeve in enumerate(sleeves):
        for symbol, amount in by_sleeve.get(sleeve, {}).items():
            if symbol in index:
                wanted[index[symbol], j] = abs(amount)
    totals = wanted.sum(axis=1)
    wanted[totals == 0, -1] = 1.0
    totals[totals == 0] = 1.0
    return wanted / totals[:, None]
