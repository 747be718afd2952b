"""Liquidity-aware execution: how fast to work an order, and with which algorithm.

A large order traded at once moves the price against itself; spread over time it risks the price
drifting away (Almgren & Chriss, "Optimal execution of portfolio transactions", 2000). This module
makes that trade-off with simple, explainable desk rules:

* a **participation cap**: never plan (nor fill) more than ``participation_cap`` of an interval's
  volume, so that our own trading stays a small part of the market;
* per order an **algorithm** chosen from its size against the average daily volume (ADV) and its
  urgency: IMMEDIATE for small orders, else POV (urgent: as fast as the cap allows), TWAP (patient:
  equal slices) or VWAP (in between: slices in proportion to the expected volume);
* each plan records the algorithm and a sentence saying why (size as % of ADV, urgency, the rule).

Units: quantities are ``int`` shares; ADV and interval volumes are shares (floats, as the data feed
gives them); the participation cap, thresholds and urgency are fractions in [0, 1]. An *interval*
is a day in replay mode (the default profile expects one ADV per interval) or a slot of the day
when a caller passes an intraday ``volume_profile`` (expected volume per interval as a multiple of
ADV, so a U-shaped day of 13 half-hours sums to about 1).

The planner and the simulated venue size an interval with the same function,
:func:`max_participation_shares`, so that a plan made on the expected volume is filled exactly
when the volume turns out as expected, and only partly, never beyond the cap, when it is lower.
"""

from __future__ import annotations

import enum
import functools
import math
import numbers
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

T = TypeVar("T")

RISK_REDUCING_URGENCY_FLOOR = 0.8
"""Urgency of a risk-reducing order with no signal behind it, before the size discount: above the
default POV threshold (0.7), because leaving risk on the book is the cost a desk avoids first."""

HALF_URGENCY_SIZE_ADV = 0.5
"""Order size, as a fraction of ADV, at which urgency is halved: half a day's volume is large
enough that trading it fast would dominate its cost through market impact."""


class Algorithm(enum.StrEnum):
    """How an order is worked across intervals."""

    IMMEDIATE = "IMMEDIATE"
    """All at once in the first interval: the order is too small to move the price."""
    TWAP = "TWAP"
    """Time-weighted: equal slices per interval (patient orders)."""
    VWAP = "VWAP"
    """Volume-weighted: slices in proportion to each interval's expected volume."""
    POV = "POV"
    """Percentage of volume: the cap's share of every interval until done (urgent orders)."""


@dataclass(frozen=True, slots=True)
class ExecutionPolicy:
    """The desk's execution rules (config-like; invalid values raise ``ValueError``).

    ``participation_cap``: largest fraction of an interval's volume an order may take, in (0, 1].
    ``immediate_max_adv_fraction``: orders up to this fraction of ADV (and within the cap) go at
    once. ``urgent_threshold``: urgency at or above which POV at the cap is used;
    ``patient_threshold``: urgency below which TWAP is used; in between, VWAP. ``max_intervals``:
    the longest schedule (days in replay mode). ``min_twap_intervals``: a TWAP order is spread over
    at least this many intervals, since a patient order gains nothing by finishing early.
    ``interval_unit``: what an interval is called in the reasons ("day", "half-hour").
    """

    participation_cap: float = 0.10
    immediate_max_adv_fraction: float = 0.01
    urgent_threshold: float = 0.7
    patient_threshold: float = 0.3
    max_intervals: int = 20
    min_twap_intervals: int = 2
    interval_unit: str = "day"

    def __post_init__(self) -> None:
        _check_fraction("participation_cap", self.participation_cap, zero_allowed=False)
        _check_fraction("immediate_max_adv_fraction", self.immediate_max_adv_fraction)
        _check_fraction("urgent_threshold", self.urgent_threshold)
        _check_fraction("patient_threshold", self.patient_threshold)
        if self.patient_threshold > self.urgent_threshold:
            raise ValueError(
                f"ExecutionPolicy.patient_threshold: {self.patient_threshold!r} must not exceed "
                f"urgent_threshold {self.urgent_threshold!r} (TWAP below, POV at or above)"
            )
        _check_count("max_intervals", self.max_intervals, 1)
        _check_count("min_twap_intervals", self.min_twap_intervals, 1)
        if self.min_twap_intervals > self.max_intervals:
            raise ValueError(
                f"ExecutionPolicy.min_twap_intervals: {self.min_twap_intervals!r} must not exceed "
                f"max_intervals {self.max_intervals!r}"
            )
        if not isinstance(self.interval_unit, str) or not self.interval_unit.strip():
            raise ValueError(
                f"ExecutionPolicy.interval_unit: {self.interval_unit!r} must be a non-empty name "
                "such as 'day'"
            )


@dataclass(frozen=True, slots=True)
class ExecutionPlan:
    """How one order is to be worked.

    ``schedule[i]`` is the target in shares for interval ``i`` (trailing empty intervals are
    dropped); ``sum(schedule) + unscheduled_shares == quantity_shares``. ``unscheduled_shares`` is
    what the cap cannot place within the allowed intervals: the caller cancels it or carries it to
    a later cycle, since raising the cap is not the planner's call. ``reason`` says why, in words.
    """

    algorithm: Algorithm
    reason: str
    schedule: tuple[int, ...]
    quantity_shares: int
    unscheduled_shares: int = 0

    def __post_init__(self) -> None:
        if any(slice_shares < 0 for slice_shares in self.schedule) or self.unscheduled_shares < 0:
            raise ValueError(f"ExecutionPlan: negative shares in {self.schedule!r}")
        if sum(self.schedule) + self.unscheduled_shares != self.quantity_shares:
            raise ValueError(
                f"ExecutionPlan: schedule {self.schedule!r} plus {self.unscheduled_shares} "
                f"unscheduled does not add up to {self.quantity_shares} shares"
            )

    @property
    def intervals(self) -> int:
        """Number of intervals the schedule spans."""
        return len(self.schedule)

    def planned_shares(self, interval: int) -> int:
        """Target shares for ``interval`` (0-based); 0 past the end of the schedule."""
        return self.schedule[interval] if 0 <= interval < len(self.schedule) else 0


def max_participation_shares(interval_volume_shares: float, cap: float) -> int:
    """Whole shares an order may trade in an interval of ``interval_volume_shares`` at ``cap``.

    ``floor(cap * volume)``, computed on the decimal values as written (``0.29 * 100`` is 29, not
    the 28 binary floating point gives), so that the planner and the venue agree to the share.
    Unknown or non-positive volume allows nothing: we do not trade into a market we cannot see.
    """
    _check_fraction("cap", cap, zero_allowed=False, owner="participation")
    volume = float(interval_volume_shares)
    if not math.isfinite(volume) or volume <= 0:
        return 0
    # Each float is within half an ulp (2**-53 relative) of the decimal it prints as, and the
    # product adds one more rounding, so the float product is within 3.4e-16 (relative) of the
    # exact decimal product. When no integer lies within a wider margin of it, its floor is the
    # exact floor; only the rare product that close to a whole share is worked out exactly
    # (this runs for every order and every block, and the exact product costs ~8 us).
    product = cap * volume
    margin = product * 1e-15
    floor = math.floor(product - margin)
    if floor == math.floor(product + margin):
        return floor
    cap_numerator, cap_denominator = _decimal_ratio(cap)
    volume_numerator, volume_denominator = _decimal_ratio(volume)
    return (cap_numerator * volume_numerator) // (cap_denominator * volume_denominator)


def participation_fill(
    remaining: int, planned: int, interval_volume_shares: float, cap: float
) -> int:
    """Shares the simulated venue fills in one interval: a partial fill under the cap.

    ``min(remaining, planned, floor(cap * actual interval volume))`` and never negative:
    the venue works the plan's slice but takes no more than ``cap`` of the volume that actually
    traded, so a quieter interval than expected fills only in part and the rest stays open.
    """
    return max(
        0,
        min(
            operator.index(remaining),
            operator.index(planned),
            max_participation_shares(interval_volume_shares, cap),
        ),
    )


def plan_execution(
    quantity: int,
    adv_shares: float,
    urgency: float,
    policy: ExecutionPolicy,
    volume_profile: Sequence[float] | None = None,
) -> ExecutionPlan:
    """Choose the algorithm for an order of ``quantity`` shares and schedule it per interval.

    ``volume_profile[i]`` is interval ``i``'s expected volume as a multiple of ``adv_shares``; it
    also bounds the horizon (at most ``max_intervals`` of it is used). The default is one ADV per
    interval for ``max_intervals`` intervals (days in replay mode). Interval ``i`` may carry at
    most :func:`max_participation_shares` of ``adv_shares * volume_profile[i]``.

    Rules, in order:

    1. ADV unknown (NaN, infinite or <= 0): TWAP in equal slices over the whole horizon, whatever
       the urgency. It is the slowest schedule the policy allows, so an order of unknown relative
       size makes the smallest footprint per interval; the venue still caps each fill against the
       volume it actually sees (:func:`participation_fill`). Going at once would be the unsafe
       choice: it is exactly the large order into a thin market the cap exists to prevent.
    2. ``quantity <= immediate_max_adv_fraction * ADV`` and within the first interval's cap:
       IMMEDIATE.
    3. Otherwise ``n``, the fewest intervals whose capped volume holds the order
       (``ceil(q / (cap * ADV))`` for the flat profile), and by urgency: POV (``>=
       urgent_threshold``) fills each interval to the cap, front-loaded, over ``n``; TWAP (``<
       patient_threshold``) in equal slices over ``max(n, min_twap_intervals)``; VWAP in proportion
       to the profile over ``n``. Slices are capped and rounded to whole shares by largest
       remainder (ties to the earlier interval), so they add up exactly.
    4. If the whole horizon at the cap cannot hold the order, every interval is filled to its cap
       and the rest is ``unscheduled_shares``, said in the reason.
    """
    quantity_shares = _check_quantity(quantity)
    urgency = _check_fraction("urgency", urgency, owner="plan_execution")
    profile = _check_profile(volume_profile, policy.max_intervals)
    cap_text = _policy_text(policy)

    if not math.isfinite(adv_shares) or adv_shares <= 0:
        intervals = min(len(profile), quantity_shares)
        schedule = _capped_proportional(
            quantity_shares, [1] * intervals, [quantity_shares] * intervals
        )
        return ExecutionPlan(
            Algorithm.TWAP,
            f"no volume data (ADV {adv_shares!r}), urgency {urgency:.3g}: TWAP in equal slices "
            f"over {_count(intervals, policy.interval_unit)}, the slowest schedule allowed; the "
            f"venue still caps each fill at {cap_text} of the volume it sees",
            tuple(schedule),
            quantity_shares,
        )

    if volume_profile is None:
        # The default, flat profile (one ADV per interval): one capacity for every interval.
        capacities = [
            max_participation_shares(adv_shares, policy.participation_cap)
        ] * policy.max_intervals
    else:
        # Each distinct expected volume is capped once.
        cap_of = {
            expected: max_participation_shares(adv_shares * expected, policy.participation_cap)
            for expected in set(profile)
        }
        capacities = [cap_of[expected] for expected in profile]
    size_text = f"{_pct(quantity_shares / adv_shares)} of ADV, urgency {urgency:.3g}"
    if (
        quantity_shares <= policy.immediate_max_adv_fraction * adv_shares
        and quantity_shares <= capacities[0]
    ):
        return ExecutionPlan(
            Algorithm.IMMEDIATE,
            f"{size_text}: at most {_pct(policy.immediate_max_adv_fraction)} of ADV and within "
            f"{cap_text} of the first {policy.interval_unit}'s volume, so IMMEDIATE in "
            f"{_count(1, policy.interval_unit)}",
            (quantity_shares,),
            quantity_shares,
        )

    algorithm, rule = _choose_algorithm(urgency, policy)
    needed = _intervals_needed(quantity_shares, capacities)
    if needed is None:
        schedule = _trim(capacities)
        unscheduled = quantity_shares - sum(schedule)
        reason = (
            f"{size_text} {rule}: {algorithm}, but the order cannot complete within "
            f"{_count(len(profile), policy.interval_unit)} at {cap_text} of volume: every "
            f"{policy.interval_unit} is planned at the cap and {unscheduled:,} shares are left "
            "unscheduled, to cancel or carry to a later cycle"
        )
        return ExecutionPlan(algorithm, reason, tuple(schedule), quantity_shares, unscheduled)

    if algorithm is Algorithm.POV:
        schedule = _front_loaded(quantity_shares, capacities[:needed])
        how = f"POV at {cap_text} of volume"
    elif algorithm is Algorithm.TWAP:
        intervals = min(len(profile), max(needed, policy.min_twap_intervals))
        schedule = _capped_proportional(quantity_shares, [1] * intervals, capacities[:intervals])
        how = f"TWAP in equal slices, each within {cap_text} of volume,"
    else:
        schedule = _capped_proportional(
            quantity_shares,
            _integer_weights(profile[:needed]),
            capacities[:needed],
        )
        how = f"VWAP in proportion to expected volume, each within {cap_text} of it,"
    schedule = _trim(schedule)
    reason = f"{size_text} {rule}: {how} over {_count(len(schedule), policy.interval_unit)}"
    return ExecutionPlan(algorithm, reason, tuple(schedule), quantity_shares)


def urgency(signal_strength: float, risk_reducing: bool, size_vs_adv: float) -> float:
    """How urgently an order should trade, in [0, 1].

    ``signal_strength`` is the magnitude of the view behind the order (e.g. ``|score| *
    confidence``), in [-1, 1]; its sign is ignored. ``size_vs_adv`` is the order's shares over ADV
    (NaN, for unknown ADV, counts as infinitely large: lowest urgency).

    ``urgency = base / (1 + size_vs_adv / HALF_URGENCY_SIZE_ADV)`` with ``base = strength`` or,
    for a risk-reducing order, ``RISK_REDUCING_URGENCY_FLOOR + (1 - floor) * strength``. Strong
    signals decay if not acted on and risk reductions protect the book, so both are urgent; a
    large order against the day's volume is discounted, since trading it fast costs market impact
    (half a day's volume halves the urgency).
    """
    if not math.isfinite(signal_strength) or abs(signal_strength) > 1:
        raise ValueError(f"urgency: signal_strength {signal_strength!r} must be in [-1, 1]")
    if size_vs_adv < 0:  # NaN passes: it means unknown ADV
        raise ValueError(f"urgency: size_vs_adv {size_vs_adv!r} must not be negative")
    strength = abs(signal_strength)
    if risk_reducing:
        base = RISK_REDUCING_URGENCY_FLOOR + (1.0 - RISK_REDUCING_URGENCY_FLOOR) * strength
    else:
        base = strength
    if math.isnan(size_vs_adv) or math.isinf(size_vs_adv):
        return 0.0
    return min(1.0, max(0.0, base / (1.0 + size_vs_adv / HALF_URGENCY_SIZE_ADV)))


def rank_orders(
    items: Sequence[T],
    key_urgency: Callable[[T], float],
    key_risk_reducing: Callable[[T], bool],
) -> list[T]:
    """Execution priority: risk-reducing orders first, then by urgency, highest first.

    Stable: items that tie keep their input order, so a ranking is reproducible. Each key is read
    once per item. A NaN urgency is refused, since it has no place in an order.
    """
    keyed: list[tuple[bool, float, int]] = []
    for position, item in enumerate(items):
        item_urgency = float(key_urgency(item))
        if math.isnan(item_urgency):
            raise ValueError(f"rank_orders: urgency of item {position} ({item!r}) is NaN")
        keyed.append((not key_risk_reducing(item), -item_urgency, position))
    return [items[position] for *_, position in sorted(keyed)]


def _choose_algorithm(urgency: float, policy: ExecutionPolicy) -> tuple[Algorithm, str]:
    """The algorithm for a non-immediate order and the rule that picked it, in words."""
    urgent, patient, between = _rule_texts(policy)
    if urgency >= policy.urgent_threshold:
        return Algorithm.POV, urgent
    if urgency < policy.patient_threshold:
        return Algorithm.TWAP, patient
    return Algorithm.VWAP, between


@functools.lru_cache(maxsize=64)
def _rule_texts(policy: ExecutionPolicy) -> tuple[str, str, str]:
    """The rules of ``_choose_algorithm`` in words, once per policy (a policy is immutable)."""
    return (
        f">= {policy.urgent_threshold:g}",
        f"< {policy.patient_threshold:g}",
        f"in [{policy.patient_threshold:g}, {policy.urgent_threshold:g})",
    )


@functools.lru_cache(maxsize=64)
def _policy_text(policy: ExecutionPolicy) -> str:
    """The participation cap as the reasons write it, once per policy."""
    return _pct(policy.participation_cap)


def _intervals_needed(quantity_shares: int, capacities: Sequence[int]) -> int | None:
    """Fewest leading intervals whose capacities hold the order; None if all of them cannot."""
    held = 0
    for position, capacity in enumerate(capacities, start=1):
        held += capacity
        if held >= quantity_shares:
            return position
    return None


def _front_loaded(quantity_shares: int, capacities: Sequence[int]) -> list[int]:
    """Each interval filled to its capacity until the order is done (POV)."""
    schedule = []
    remaining = quantity_shares
    for capacity in capacities:
        slice_shares = min(capacity, remaining)
        schedule.append(slice_shares)
        remaining -= slice_shares
    return schedule


def _capped_proportional(
    quantity_shares: int, weights: Sequence[int], capacities: Sequence[int]
) -> list[int]:
    """Split ``quantity_shares`` in proportion to ``weights`` with slice ``i`` <= ``capacities[i]``.

    Exact arithmetic: intervals whose proportional share would exceed their capacity are fixed at
    it and the rest re-split among the others until none exceeds (water-filling); the exact shares
    are then rounded to whole shares by largest remainder, ties to the earlier interval. A share
    with a fractional part lies strictly below its integer capacity, so the rounding never breaks
    the cap. Requires ``quantity_shares <= sum(capacities[:len(weights)])``.

    ``weights`` are whole numbers (only their ratios matter). Fixed intervals take whole
    capacities, so what is left to split is a whole number too, and every exact share is
    ``remaining * weight / total_weight``: compared and floored with integer products and
    ``divmod``, never a ``Fraction``.
    """
    count = len(weights)
    fixed = [False] * count
    remaining = quantity_shares
    while True:
        open_intervals = [i for i in range(count) if not fixed[i]]
        total_weight = sum(weights[i] for i in open_intervals)
        # Zero total weight means, by feasibility, that nothing is left to place there.
        over = [
            i
            for i in open_intervals
            if total_weight and remaining * weights[i] > capacities[i] * total_weight
        ]
        if not over:
            break
        for i in over:
            fixed[i] = True
            remaining -= capacities[i]
    shares = [capacities[i] if fixed[i] else 0 for i in range(count)]
    # The fractional part of interval i's exact share is remainders[i] / total_weight (the same
    # denominator for all), zero for a fixed interval.
    remainders = [0] * count
    if total_weight:
        for i in open_intervals:
            shares[i], remainders[i] = divmod(remaining * weights[i], total_weight)
    leftover = quantity_shares - sum(shares)
    by_remainder = sorted(range(count), key=lambda i: (-remainders[i], i))
    for i in by_remainder[:leftover]:
        shares[i] += 1
    return shares


def _trim(schedule: Sequence[int]) -> list[int]:
    """The schedule without trailing empty intervals (nothing to work there)."""
    end = len(schedule)
    while end > 0 and schedule[end - 1] == 0:
        end -= 1
    return list(schedule[:end])


def _decimal_ratio(value: float) -> tuple[int, int]:
    """A float as the decimal it prints as (``0.1`` is 1/10), as the desk typed or the feed sent:
    numerator and positive denominator, exact."""
    return Decimal(repr(float(value))).as_integer_ratio()


def _integer_weights(values: Sequence[float]) -> list[int]:
    """Non-negative decimal weights (as they print) scaled to whole numbers with the same ratios:
    each over the least common denominator, so that proportional splits stay exact in ``int``."""
    ratios = [_decimal_ratio(value) for value in values]
    common = math.lcm(*(denominator for _, denominator in ratios)) if ratios else 1
    return [numerator * (common // denominator) for numerator, denominator in ratios]


def _pct(fraction: float) -> str:
    """A fraction as a short percentage: 0.042 -> '4.2%', 0.1 -> '10%', 2.5 -> '250%'."""
    percent = 100.0 * fraction
    return f"{percent:,.0f}%" if percent >= 100 else f"{percent:.3g}%"


def _count(intervals: int, unit: str) -> str:
    return f"{intervals} {unit}" if intervals == 1 else f"{intervals} {unit}s"


def _check_fraction(
    field: str, value: float, *, zero_allowed: bool = True, owner: str = "ExecutionPolicy"
) -> float:
    # The usual case first, without the numbers.Real check (an ABC, slow): this runs several
    # times for every order planned and every block filled.
    if type(value) is float and (value >= 0.0 if zero_allowed else value > 0.0) and value <= 1.0:
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{owner}.{field}: {value!r} must be a number")
    low_ok = value >= 0 if zero_allowed else value > 0
    if not (math.isfinite(value) and low_ok and value <= 1):
        interval = "[0, 1]" if zero_allowed else "(0, 1]"
        raise ValueError(f"{owner}.{field}: {value!r} must be in {interval}")
    return float(value)


def _check_count(field: str, value: int, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(
            f"ExecutionPolicy.{field}: {value!r} must be a whole number of at least {minimum}"
        )


def _check_quantity(quantity: int) -> int:
    try:
        if isinstance(quantity, bool):
            raise TypeError
        quantity_shares = operator.index(quantity)
    except TypeError:
        raise ValueError(
            f"plan_execution.quantity: {quantity!r} must be a whole number of shares"
        ) from None
    if quantity_shares <= 0:
        raise ValueError(f"plan_execution.quantity: {quantity_shares} must be positive")
    return quantity_shares


def _check_profile(volume_profile: Sequence[float] | None, max_intervals: int) -> list[float]:
    """The profile to plan on: one ADV per interval by default, at most ``max_intervals`` long."""
    if volume_profile is None:
        return [1.0] * max_intervals
    profile = [float(expected) for expected in volume_profile][:max_intervals]
    if not profile:
        raise ValueError("plan_execution.volume_profile: must hold at least one interval")
    for position, expected in enumerate(profile):
        if not math.isfinite(expected) or expected < 0:
            raise ValueError(
                f"plan_execution.volume_profile[{position}]: {expected!r} must be a finite, "
                "non-negative multiple of ADV"
            )
    return profile
