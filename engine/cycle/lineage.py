"""What a rebalance's target records for attribution (``TargetWeightsSet``), read back by
engine/performance/sources.py and decisions.py:

- ``lineage``: each held name's share per raw view (``source/horizon``) of the blended score
  that asked for it, as the coordination kept it (a manual override pins a name, as
  ``manual/override``). One list per view, in the order of the target's ``weights``. A
  multi-strategy portfolio's name is shared among its sleeves as their part of its target weight
  (``capital x weight``, in absolute value), each with its own sleeve's lineage;
- ``optimised``: the allocator's weights, before the risk budget's scaling and whole shares;
- ``pinned``: the weight a manager's override pinned each name to (only when there are some);
- ``views`` (``sleeve_views`` per sleeve): for a mandate with limits (sector caps, a turnover
  cap), the blended score and confidence of each eligible name with a view or held: what sizing
  the same names again without the limits needs (the prices are the market's).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from engine.allocation.mandate import MandateAllocator
from engine.allocation.sleeves import SleeveOutcome
from engine.model import CoordinatedSignals

# Shares and views are recorded to 6 decimals; a reader puts what rounding leaves in its
# residual.
DIGITS = 6


def target_lineage(
    weights: np.ndarray,
    signals: CoordinatedSignals | None,
    sleeves: Sequence[tuple[str, np.ndarray]] = (),
    sleeve_signals: Mapping[str, CoordinatedSignals] | None = None,
) -> dict[str, list[float]]:
    """Raw view -> its share of each name ``weights`` holds, in their order (views with no
    share in any held name left out). A name held without any view has shares of zero.

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
    lineage = {}
    for key, column in shares.items():
        rounded = np.round(column, DIGITS) + 0.0  # + 0.0: no "-0.0" in the record
        if rounded.any():
            lineage[key] = rounded.tolist()
    return lineage


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


def _by_symbol(weights: np.ndarray, symbols: Sequence[str]) -> dict[str, float]:
    held = np.flatnonzero(weights)
    return {
        symbols[i]: round(w, DIGITS)
        for i, w in zip(held.tolist(), weights[held].tolist(), strict=True)
    }


def has_limits(allocator: MandateAllocator) -> bool:
    """Whether the mandate's sizing has limits a re-sizing without them would drop."""
    return bool(allocator.sector_caps) or allocator.max_turnover is not None


def sizing_views(
    symbols: Sequence[str],
    signals: CoordinatedSignals,
    eligible: np.ndarray,
    held: np.ndarray,
) -> dict[str, list[object]]:
    """The eligible names with a view or ``held`` (a mask), their blended score and
    confidence, and which of them are held: every name sizing could choose, and what it reads
    of them once the turnover cap is gone (see ``MandateAllocator.allocate``)."""
    chosen = np.flatnonzero(eligible & ((signals.confidence > 0) | held))
    return {
        "symbols": [symbols[i] for i in chosen.tolist()],
        "held": [symbols[i] for i in chosen.tolist() if held[i]],
        "score": (np.round(signals.score[chosen], DIGITS) + 0.0).tolist(),
        "confidence": (np.round(signals.confidence[chosen], DIGITS) + 0.0).tolist(),
    }


def attribution_fields(
    allocator: MandateAllocator,
    symbols: Sequence[str],
    target: np.ndarray,
    optimised: np.ndarray,
    pins: np.ndarray | None,
    eligible: np.ndarray,
    current: np.ndarray,
    signals: CoordinatedSignals | None,
    sleeves: Sequence[SleeveOutcome] = (),
    sleeve_signals: Mapping[str, CoordinatedSignals] | None = None,
    sleeve_before: Mapping[str, np.ndarray] | None = None,
) -> dict[str, object]:
    """The target's attribution fields (module docstring). ``pins``: the pinned weights (NaN
    where none; None: no pin); ``current``: the portfolio's weights before the rebalance;
    ``sleeve_before``: each sleeve's last weights."""
    fields: dict[str, object] = {
        "optimised": _by_symbol(optimised, symbols),
        "lineage": target_lineage(
            target,
            signals,
            [(r.sleeve.sleeve_id, r.contribution) for r in sleeves],
            sleeve_signals,
        ),
    }
    pinned = np.flatnonzero(np.isfinite(pins)) if pins is not None else np.array([], dtype=int)
    if len(pinned):
        fields["pinned"] = {symbols[i]: float(pins[i]) for i in pinned.tolist()}
    if not sleeves and signals is not None and has_limits(allocator):
        fields["views"] = sizing_views(symbols, signals, eligible, current > 0)
    limited = [r.sleeve for r in sleeves if has_limits(r.sleeve.allocator)]
    if limited and sleeve_signals is not None:
        before = sleeve_before or {}
        fields["sleeve_views"] = {
            sleeve.sleeve_id: sizing_views(
                symbols,
                sleeve_signals[sleeve.sleeve_id],
                eligible,
                before.get(sleeve.sleeve_id, np.zeros(len(symbols))) > 0,
            )
            for sleeve in limited
        }
    return fields
