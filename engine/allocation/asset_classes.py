"""Asset class targets (``[portfolios.rebalancing] asset_classes``; docs/rebalancing.md): the
allocation's weights scaled within each asset class so that the class totals are the class
targets, the rebalance keeping the class mix however the views moved.

For each class with a target ``T``:

- its eligible names with a positive weight keep their relative sizes, scaled to sum to ``T``;
- if none has one (no positive view in the class), its eligible names share ``T`` equally;
- no name goes above ``max_weight``: what a capped name cannot take goes to the class's other
  names in proportion to their weights (equally, for names at zero), until it all fits or
  every name of the class is capped (the class then holds less than ``T``).

Names of a class without a target are not held. Long-only portfolios without sleeves only (the
configuration says so).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

_TOLERANCE = 1e-12


def keep_class_mix(
    weights: np.ndarray,
    classes: Sequence[str],
    targets: Mapping[str, float],
    eligible: np.ndarray,
    max_weight: float,
) -> np.ndarray:
    """``weights`` (of NAV, per name of ``classes``) with each class's total at its target."""
    mixed = np.zeros(len(weights))
    class_of = np.asarray(classes)
    for asset_class, target in targets.items():
        members = np.flatnonzero((class_of == asset_class) & eligible)
        if not len(members):
            continue
        own = np.clip(weights[members], 0.0, None)
        share = own / own.sum() if own.sum() > 0 else np.full(len(members), 1 / len(members))
        mixed[members] = _capped(share * target, share, target, max_weight)
    return mixed


def _capped(sized: np.ndarray, share: np.ndarray, target: float, cap: float) -> np.ndarray:
    """``sized`` (summing to ``target``) with no name above ``cap``, the excess spread over the
    names below it by ``share`` (equally where their shares are all zero)."""
    sized = sized.copy()
    for _ in range(len(sized)):
        over = sized > cap + _TOLERANCE
        if not over.any():
            break
        sized[over] = cap
        room = ~(sized >= cap - _TOLERANCE)
        if not room.any():
            break
        left = target - sized.sum()
        weights = np.where(room, share, 0.0)
        if weights.sum() <= 0:
            weights = room.astype(float)
        sized += left * weights / weights.sum()
    return sized
