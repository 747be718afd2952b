"""What each name of a rebalance's target owes to each signal source, as the target records it.

The coordination keeps each instrument's lineage: each raw view's (``source/horizon``) share of
the blended score, the shares of an instrument with a view summing to one (a manual override
pins it, as ``manual/override``). The allocation stage records it with the target
(``TargetWeightsSet``) for the names the target holds, so that a reader of the log can split a
holding's profit and loss among the sources that asked for it
(engine/performance/sources.py). A multi-strategy portfolio's name is shared among its sleeves
as their part of its target weight (``capital x weight``, in absolute value), each with its own
sleeve's lineage.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from engine.model import CoordinatedSignals

# Shares are recorded to 6 decimals; a reader puts what rounding leaves in its residual.
LINEAGE_DIGITS = 6


def target_lineage(
    weights: np.ndarray,
    symbols: Sequence[str],
    signals: CoordinatedSignals | None,
    sleeves: Sequence[tuple[str, np.ndarray]] = (),
    sleeve_signals: Mapping[str, CoordinatedSignals] | None = None,
) -> dict[str, dict[str, float]]:
    """Symbol -> raw view -> share, for the names ``weights`` holds (non-zero shares only). A
    name held without any view (left by a limit, or no source speaks for it) has none.

    ``sleeves``: a multi-strategy portfolio's (sleeve id, its part of the target: capital x its
    weights), with each sleeve's blended view in ``sleeve_signals``."""
    held = np.flatnonzero(weights)
    if len(held) == 0:
        return {}
    if sleeves and sleeve_signals is not None:
        shares = _sleeved(held, sleeves, sleeve_signals)
    elif signals is not None:
        shares = {key: share[held] for key, share in signals.lineage.items()}
    else:
        return {}
    lineage: dict[str, dict[str, float]] = {}
    for key, column in shares.items():
        rounded = np.round(column, LINEAGE_DIGITS)
        for j in np.flatnonzero(rounded).tolist():
            lineage.setdefault(symbols[held[j]], {})[key] = float(rounded[j])
    return {symbols[i]: lineage[symbols[i]] for i in held.tolist() if symbols[i] in lineage}


def _sleeved(
    held: np.ndarray,
    sleeves: Sequence[tuple[str, np.ndarray]],
    sleeve_signals: Mapping[str, CoordinatedSignals],
) -> dict[str, np.ndarray]:
    """Each key's share of the held names, the sleeves' lineages weighted by their part."""
    parts = np.array([np.abs(part[held]) for _, part in sleeves])
    totals = parts.sum(axis=0)
    portion = np.divide(parts, totals, out=np.zeros_like(parts), where=totals > 0)
    shares: dict[str, np.ndarray] = {}
    for k, (sleeve_id, _) in enumerate(sleeves):
        signals = sleeve_signals.get(sleeve_id)
        if signals is None:
            continue
        for key, share in signals.lineage.items():
            shares[key] = shares.get(key, np.zeros(len(held))) + portion[k] * share[held]
    return shares
