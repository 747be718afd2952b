"""When a portfolio rebalances: its triggers, combinable, each firing with its cause.

- **calendar**: every ``every_days`` cycles from the first (``every_n_days``, the default), or
  on the first trading day of each week, month or quarter (``weekly``, ``monthly``,
  ``quarterly``), or every day (``daily``); ``none`` leaves it to the other triggers;
- **drift** (``drift_absolute``, ``drift_relative``): a name's weight has moved at least the
  band from its last target, in weight (``|w - t| >= band``) or relative to its target
  (``|w - t| >= band x |t|``, for names with a target; a name the target does not hold is for
  the absolute band). A drift exactly at the band's edge fires;
- **sector drift** (``sector_drift_absolute``), **asset class drift**
  (``class_drift_absolute``): a sector's or an asset class's total weight has moved at least
  the band from its target's;
- **risk breach** (``on_risk_breach``): a risk limit of the portfolio was breached at this close;
- **signal change** (``signal_change``): a name's coordinated score has moved at least the
  threshold since the portfolio's last rebalance (``|s - s_last| >= threshold``, scores in
  [-1, 1] rounded to 6 decimals as recorded). The scores at each rebalance are recorded with it
  (``RebalanceTriggered.signal_scores``); before the first such record it does not fire;
- **manual**: a portfolio manager asked for one (the ``RequestRebalance`` command).

Drift is measured at the close, on the holdings marked at it, against the last target
(``TargetWeightsSet``); before the first target only the calendar and manual requests fire.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date

import numpy as np

CALENDARS = ("every_n_days", "daily", "weekly", "monthly", "quarterly", "none")
# A drift this close to its band's edge counts as at the edge: weights are products and
# quotients of decimal prices and shares, so an edge drift may land a rounding error short.
EDGE_TOLERANCE = 1e-12
# The names a drift firing's detail lists at most (the count says how many there were).
NAMES_SHOWN = 5
# The bands in weight of NAV: a name's, a sector's and an asset class's.
BANDS = ("drift_absolute", "sector_drift_absolute", "class_drift_absolute")
# The longest a proposal may wait for a decision, in days.
MAX_EXPIRY_DAYS = 90
# The longest horizon a no-trade region weighs a trade's benefit over: a year of trading days.
MAX_HORIZON_DAYS = 252


@dataclass(frozen=True, slots=True)
class RebalancePolicy:
    """A portfolio's triggers, and whether its rebalances wait for a manager's approval
    (``approval``; undecided, a proposal expires after ``proposal_expires_days`` days).

    Set from ``[portfolios.rebalancing]`` at start; a manager may replace it while the engine
    runs (``SetRebalancePolicy``, recorded as ``RebalancePolicySet``)."""

    calendar: str = "every_n_days"
    every_days: int = 1
    drift_absolute: float | None = None
    drift_relative: float | None = None
    sector_drift_absolute: float | None = None
    class_drift_absolute: float | None = None
    on_risk_breach: bool = False
    approval: bool = False
    # A name's coordinated score (in [-1, 1]) moved at least this much since the last rebalance.
    signal_change: float | None = None
    proposal_expires_days: int = 5
    # The no-trade region (engine/rebalancing/no_trade.py): a trade whose benefit over
    # ``horizon_days`` is below its cost and tax is not made; names beyond a band are traded to
    # its edge, and names inside it not at all, with ``to_band_edge``.
    cost_aware: bool = False
    horizon_days: int = 21
    to_band_edge: bool = False

    def __post_init__(self) -> None:
        if self.calendar not in CALENDARS:
            raise ValueError(f"calendar: {self.calendar!r} is not one of {', '.join(CALENDARS)}")
        if self.every_days < 1:
            raise ValueError(f"every_days: {self.every_days} must be at least 1")
        for name in (*BANDS, "drift_relative"):
            band = getattr(self, name)
            if band is not None and not band > 0:
                raise ValueError(f"{name}: {band} must be above 0 (leave it out for no band)")
        for name in BANDS:
            band = getattr(self, name)
            if band is not None and band > 1:
                raise ValueError(f"{name}: {band} is a weight of NAV, at most 1")
        if self.signal_change is not None and not 0 < self.signal_change <= 2:
            raise ValueError(
                f"signal_change: {self.signal_change} must be above 0 and at most 2 (scores are "
                "in [-1, 1]; leave it out for no signal trigger)"
            )
        if not 1 <= self.horizon_days <= MAX_HORIZON_DAYS:
            raise ValueError(
                f"horizon_days: {self.horizon_days} must be from 1 to {MAX_HORIZON_DAYS} "
                "trading days"
            )
        if self.to_band_edge and self.drift_absolute is None and self.drift_relative is None:
            raise ValueError(
                "to_band_edge: needs a name band (drift_absolute or drift_relative) to trade to"
            )
        if not 1 <= self.proposal_expires_days <= MAX_EXPIRY_DAYS:
            raise ValueError(
                f"proposal_expires_days: {self.proposal_expires_days} must be from 1 to "
                f"{MAX_EXPIRY_DAYS}"
            )

    @property
    def watches_drift(self) -> bool:
        return any(getattr(self, band) is not None for band in (*BANDS, "drift_relative"))

    def to_dict(self) -> dict[str, object]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> RebalancePolicy:
        return cls(**data)  # type: ignore[arg-type]


def name_bands(policy: RebalancePolicy, target: np.ndarray) -> np.ndarray:
    """Each name's narrowest drift band (weight of NAV) for names of weights ``target``: the
    absolute band, or the relative band times the target (names with one), whichever is
    smaller; ``inf`` where no band applies."""
    bands = np.full(len(target), np.inf)
    if policy.drift_absolute is not None:
        bands[:] = policy.drift_absolute
    if policy.drift_relative is not None:
        relative = np.where(target != 0, policy.drift_relative * np.abs(target), np.inf)
        bands = np.minimum(bands, relative)
    return bands


@dataclass(frozen=True, slots=True)
class Firing:
    """One trigger that fired: ``trigger`` (calendar, drift, sector_drift, risk_breach,
    manual, cash_flow) and what it saw. ``preview``: a manual request asked to see the
    rebalance as a proposal first, whatever the policy's ``approval``."""

    trigger: str
    detail: str
    preview: bool = False

    def to_dict(self) -> dict[str, object]:
        shown: dict[str, object] = {"trigger": self.trigger, "detail": self.detail}
        if self.preview:
            shown["preview"] = True
        return shown


def calendar_firing(
    policy: RebalancePolicy, cycle: int, today: date, previous_day: date | None
) -> Firing | None:
    """The calendar's firing at cycle number ``cycle`` (1 is the first) on ``today``, the last
    trading day before being ``previous_day`` (None on the first)."""
    kind = policy.calendar
    if kind == "none":
        return None
    if kind == "every_n_days":
        if (cycle - 1) % policy.every_days:
            return None
        return Firing("calendar", f"every {policy.every_days} trading day(s)")
    if kind == "daily":
        return Firing("calendar", "daily")
    if previous_day is not None and _period(kind, today) == _period(kind, previous_day):
        return None
    return Firing("calendar", f"first trading day of the {kind[:-2]}")


def _period(kind: str, day: date) -> tuple[int, int]:
    if kind == "weekly":
        iso = day.isocalendar()
        return iso.year, iso.week
    if kind == "monthly":
        return day.year, day.month
    return day.year, (day.month - 1) // 3  # quarterly


def drift_firings(
    policy: RebalancePolicy,
    current: np.ndarray,
    target: np.ndarray,
    symbols: Sequence[str],
    sectors: Sequence[str],
    classes: Sequence[str] = (),
) -> list[Firing]:
    """The drift bands' firings: ``current`` and ``target`` are weights of NAV per name, of
    ``sectors`` and asset ``classes``."""
    firings = []
    drift = np.abs(current - target)
    bands = []
    if policy.drift_absolute is not None:
        band = policy.drift_absolute
        bands.append((np.full(len(target), band), f"absolute band {band:.2%}"))
    if policy.drift_relative is not None:
        # A name the target does not hold has no relative band: it is the absolute band's.
        relative = np.where(target != 0, policy.drift_relative * np.abs(target), np.inf)
        bands.append((relative, f"relative band {policy.drift_relative:.0%} of the target"))
    for band_of_name, described in bands:
        beyond = np.flatnonzero(drift >= band_of_name - EDGE_TOLERANCE)
        if len(beyond):
            names = _names(beyond, current, target, symbols)
            firings.append(Firing("drift", f"{names} ({described})"))
    for kind, band, groups in (
        ("sector", policy.sector_drift_absolute, sectors),
        ("asset class", policy.class_drift_absolute, classes),
    ):
        if band is not None and len(groups):
            fired = _group_firing(kind, band, current, target, groups)
            if fired is not None:
                firings.append(fired)
    return firings


def _group_firing(
    kind: str, band: float, current: np.ndarray, target: np.ndarray, groups: Sequence[str]
) -> Firing | None:
    """A group band's firing (a sector's, an asset class's): the groups whose total weight is
    at least ``band`` away from their target's total."""
    names = sorted(set(groups))
    codes = np.array([names.index(g) for g in groups])
    gap = np.abs(np.bincount(codes, current, len(names)) - np.bincount(codes, target, len(names)))
    beyond = np.flatnonzero(gap >= band - EDGE_TOLERANCE)
    if not len(beyond):
        return None
    shown = ", ".join(f"{names[k]} {gap[k]:.2%}" for k in beyond[:NAMES_SHOWN])
    trigger = "sector_drift" if kind == "sector" else "class_drift"
    return Firing(trigger, f"{len(beyond)} {kind}(s) off their target: {shown} (band {band:.2%})")


def signal_firing(
    threshold: float,
    scores: np.ndarray,
    baseline: Mapping[str, float],
    symbols: Sequence[str],
    universe: np.ndarray,
) -> Firing | None:
    """The signal-change trigger's firing: ``scores`` the portfolio's coordinated view now (over
    ``symbols``), ``baseline`` its scores at the last rebalance (names left out: 0)."""
    then = np.array([baseline.get(s, 0.0) for s in symbols])
    change = np.where(universe, np.abs(np.round(scores, 6) - then), 0.0)
    moved = np.flatnonzero(change >= threshold - EDGE_TOLERANCE)
    if not len(moved):
        return None
    order = moved[np.argsort(-change[moved], kind="stable")]
    shown = ", ".join(
        f"{symbols[i]} {then[i]:+.2f} -> {scores[i]:+.2f}" for i in order[:NAMES_SHOWN]
    )
    return Firing(
        "signal_change",
        f"{len(moved)} name(s)' views moved at least {threshold:g} since the last rebalance: "
        f"{shown}",
    )


def signal_scores(scores: np.ndarray, symbols: Sequence[str], universe: np.ndarray) -> dict:
    """A portfolio's view as the signal-change trigger records it: the names of its universe
    with a score, rounded to 6 decimals."""
    rounded = np.round(scores, 6)
    held = np.flatnonzero(universe & (rounded != 0))
    return {symbols[i]: float(rounded[i]) for i in held.tolist()}


def _names(
    beyond: np.ndarray, current: np.ndarray, target: np.ndarray, symbols: Sequence[str]
) -> str:
    shown = ", ".join(
        f"{symbols[i]} {current[i]:.2%} vs {target[i]:.2%}" for i in beyond[:NAMES_SHOWN]
    )
    return f"{len(beyond)} name(s) off their target: {shown}"
