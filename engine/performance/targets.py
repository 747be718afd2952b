"""A portfolio's rebalances as its log recorded them (``TargetWeightsSet``, with the risk
budget's ``AllocationScaled`` of the same day): what the source and decision attributions read.

Each target is decided at a close and traded from the next day, so a day's holdings were built
for the latest target decided before it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np


@dataclass(frozen=True, slots=True)
class SizingViews:
    """The names sizing could choose at a rebalance, with their blended score and confidence
    (engine/cycle/lineage.py's ``views``)."""

    symbols: tuple[str, ...]
    score: tuple[float, ...]
    confidence: tuple[float, ...]
    held: frozenset[str] = frozenset()

    @classmethod
    def of(cls, recorded: Mapping[str, Any]) -> SizingViews:
        return cls(
            tuple(recorded["symbols"]),
            tuple(recorded["score"]),
            tuple(recorded["confidence"]),
            frozenset(recorded.get("held", ())),
        )


@dataclass(frozen=True, slots=True)
class RecordedTarget:
    """One rebalance: the allocator's weights (``optimised``, before the risk budget's scaling
    and whole-share rounding), the budget's ``scale`` factor (1 when it did not scale), the
    target itself (``weights``), each held name's lineage (symbol -> view -> share) and the
    weight a manager's override pinned each such name to. Weights are fractions of NAV by
    symbol.

    For a mandate with limits, ``views`` (``sleeve_views`` per limited sleeve, with every
    sleeve's weights of its own capital in ``sleeves`` and its capital in ``sleeve_capital``):
    what sizing without the limits needs. ``gate_withheld``: what the risk gate withheld of the
    orders toward the target (the order events of its day)."""

    market_date: date
    weights: Mapping[str, float]
    optimised: Mapping[str, float] = field(default_factory=dict)
    scale: float = 1.0
    lineage: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    pinned: Mapping[str, float] = field(default_factory=dict)
    views: SizingViews | None = None
    sleeve_views: Mapping[str, SizingViews] = field(default_factory=dict)
    sleeves: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    sleeve_capital: Mapping[str, float] = field(default_factory=dict)
    # What the risk gate withheld of the orders toward it, weights of NAV (buys positive).
    gate_withheld: Mapping[str, float] = field(default_factory=dict)


def recorded_target(
    market_date: str, payload: Mapping[str, Any], scale: float = 1.0
) -> RecordedTarget:
    """The record of a ``TargetWeightsSet`` payload. A log written before the allocator's
    weights were recorded reads them as the target's (no scaling or rounding to measure)."""
    weights = dict(payload["weights"])
    names = list(weights)
    lineage: dict[str, dict[str, float]] = {}
    for key, shares in payload.get("lineage", {}).items():
        for symbol, share in zip(names, shares, strict=True):
            if share:
                lineage.setdefault(symbol, {})[key] = share
    views = payload.get("views")
    return RecordedTarget(
        date.fromisoformat(market_date),
        weights,
        dict(payload.get("optimised", weights)),
        scale,
        lineage,
        dict(payload.get("pinned", {})),
        SizingViews.of(views) if views is not None else None,
        {s: SizingViews.of(v) for s, v in payload.get("sleeve_views", {}).items()},
        {s: dict(w) for s, w in payload.get("sleeves", {}).items()},
        dict(payload.get("sleeve_capital", {})),
    )


def vector(weights: Mapping[str, float], index: Mapping[str, int]) -> np.ndarray:
    out = np.zeros(len(index))
    for symbol, weight in weights.items():
        i = index.get(symbol)
        if i is not None:
            out[i] = weight
    return out


def in_force(targets: Sequence[RecordedTarget], first_day: date | None) -> list[RecordedTarget]:
    """``targets`` from the one the book of ``first_day`` was built for (the latest decided
    before it) on: the earlier ones shape no day from ``first_day``."""
    if first_day is None:
        return list(targets)
    before = [t.market_date for t in targets if t.market_date < first_day]
    start = max(before, default=date.min)
    return [t for t in targets if t.market_date >= start]


def segments(
    targets: Sequence[RecordedTarget], days: Sequence[date]
) -> Iterator[tuple[RecordedTarget | None, int, int]]:
    """(target, first day, end day) over ``days``: each run of days whose book was built for the
    same target (None before the first target decided before a day)."""
    ordered = sorted(targets, key=lambda t: t.market_date)
    k, current, start = 0, None, 0
    for t, day in enumerate(days):
        latest = current
        while k < len(ordered) and ordered[k].market_date < day:
            latest = ordered[k]
            k += 1
        if latest is not current:
            if t > start:
                yield current, start, t
            current, start = latest, t
    if len(days) > start:
        yield current, start, len(days)
