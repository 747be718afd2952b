"""Execution scheduling: algorithm by size and urgency, slices within the participation cap."""

import itertools
import math
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.trading.scheduling import (
    Algorithm,
    ExecutionPlan,
    ExecutionPolicy,
    max_participation_shares,
    participation_fill,
    plan_execution,
    rank_orders,
    urgency,
)

POLICY = ExecutionPolicy()  # cap 10% of volume, immediate up to 1% of ADV, POV >= 0.7, TWAP < 0.3
ADV = 100_000.0


# Hand-computed plans, one per rule.


def test_small_order_goes_at_once() -> None:
    plan = plan_execution(800, ADV, 0.5, POLICY)
    assert plan.algorithm is Algorithm.IMMEDIATE
    assert plan.schedule == (800,)
    assert plan.intervals == 1
    assert plan.unscheduled_shares == 0
    assert "0.8% of ADV" in plan.reason and "IMMEDIATE" in plan.reason


def test_small_order_above_a_tight_cap_is_not_immediate() -> None:
    # 800 shares is 0.8% of ADV, but a 0.5% cap allows only 500 shares a day.
    policy = ExecutionPolicy(participation_cap=0.005)
    plan = plan_execution(800, ADV, 0.9, policy)
    assert plan.algorithm is Algorithm.POV
    assert plan.schedule == (500, 300)


def test_urgent_order_is_pov_front_loaded_at_the_cap() -> None:
    # 25,000 shares at 10% of 100,000 a day: 10,000 + 10,000 + 5,000.
    plan = plan_execution(25_000, ADV, 0.85, POLICY)
    assert plan.algorithm is Algorithm.POV
    assert plan.schedule == (10_000, 10_000, 5_000)
    assert plan.reason == "25% of ADV, urgency 0.85 >= 0.7: POV at 10% of volume over 3 days"


def test_urgent_order_within_one_day_reads_like_the_desk() -> None:
    plan = plan_execution(4_200, ADV, 0.85, POLICY)
    assert plan.schedule == (4_200,)
    assert plan.reason == "4.2% of ADV, urgency 0.85 >= 0.7: POV at 10% of volume over 1 day"


def test_patient_order_is_twap_in_equal_slices_remainder_first() -> None:
    # ceil(25,000 / 10,000) = 3 days; 25,000 / 3 = 8,333 r 1, the extra share on day one.
    plan = plan_execution(25_000, ADV, 0.2, POLICY)
    assert plan.algorithm is Algorithm.TWAP
    assert plan.schedule == (8_334, 8_333, 8_333)
    assert "urgency 0.2 < 0.3" in plan.reason and "TWAP" in plan.reason


def test_patient_order_that_fits_one_day_is_still_spread_over_the_minimum() -> None:
    plan = plan_execution(5_000, ADV, 0.1, POLICY)
    assert plan.algorithm is Algorithm.TWAP
    assert plan.schedule == (2_500, 2_500)


def test_twap_never_exceeds_a_quiet_interval_cap() -> None:
    # Capacities 3,000 / 10,000 / 10,000: equal 5,000s would break day one's cap, so it takes
    # 3,000 and the other two share the remaining 12,000 equally.
    plan = plan_execution(15_000, ADV, 0.1, POLICY, volume_profile=[0.3, 1.0, 1.0])
    assert plan.algorithm is Algorithm.TWAP
    assert plan.schedule == (3_000, 6_000, 6_000)


def test_moderate_order_is_vwap_in_proportion_to_the_profile() -> None:
    # Capacities 5,000 / 10,000 / 15,000 hold 25,000 in three intervals; shares in proportion to
    # 0.5 : 1.0 : 1.5 are 4,166.67 / 8,333.33 / 12,500, rounded by largest remainder.
    plan = plan_execution(25_000, ADV, 0.5, POLICY, volume_profile=[0.5, 1.0, 1.5, 1.0])
    assert plan.algorithm is Algorithm.VWAP
    assert plan.schedule == (4_167, 8_333, 12_500)
    assert "urgency 0.5 in [0.3, 0.7)" in plan.reason


def test_vwap_rounding_respects_whole_share_caps() -> None:
    # ADV 10, profile 1 : 1.5 -> caps 1 and 1 share; proportional 0.8 / 1.2 would break the second.
    plan = plan_execution(2, 10.0, 0.5, POLICY, volume_profile=[1.0, 1.5])
    assert plan.algorithm is Algorithm.VWAP
    assert plan.schedule == (1, 1)


def test_order_too_large_for_the_horizon_leaves_the_rest_unscheduled() -> None:
    plan = plan_execution(250_000, ADV, 0.9, POLICY)
    assert plan.algorithm is Algorithm.POV
    assert plan.schedule == (10_000,) * 20
    assert plan.unscheduled_shares == 50_000
    assert "cannot complete within 20 days" in plan.reason
    assert "50,000 shares" in plan.reason


def test_short_profile_bounds_the_horizon() -> None:
    plan = plan_execution(25_000, ADV, 0.5, POLICY, volume_profile=[1.0, 1.0])
    assert plan.schedule == (10_000, 10_000)
    assert plan.unscheduled_shares == 5_000


@pytest.mark.parametrize("adv", [math.nan, 0.0, -5.0, math.inf])
def test_unknown_volume_takes_the_slowest_schedule_whatever_the_urgency(adv: float) -> None:
    plan = plan_execution(1_000, adv, 0.95, POLICY)
    assert plan.algorithm is Algorithm.TWAP
    assert plan.schedule == (50,) * 20
    assert "no volume data" in plan.reason


def test_unknown_volume_small_order_has_no_empty_slices() -> None:
    assert plan_execution(7, math.nan, 0.5, POLICY).schedule == (1,) * 7


# Validation: errors name the field, the value and the rule.


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"participation_cap": 0.0}, "participation_cap"),
        ({"participation_cap": 1.5}, "participation_cap"),
        ({"participation_cap": math.nan}, "participation_cap"),
        ({"immediate_max_adv_fraction": -0.01}, "immediate_max_adv_fraction"),
        ({"urgent_threshold": 1.2}, "urgent_threshold"),
        ({"patient_threshold": 0.8}, "patient_threshold"),
        ({"max_intervals": 0}, "max_intervals"),
        ({"max_intervals": 2.5}, "max_intervals"),
        ({"min_twap_intervals": 30}, "min_twap_intervals"),
        ({"interval_unit": " "}, "interval_unit"),
    ],
)
def test_invalid_policy_is_refused_naming_the_field(kwargs: dict, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        ExecutionPolicy(**kwargs)


@pytest.mark.parametrize(
    ("quantity", "urgency_value", "profile", "field"),
    [
        (0, 0.5, None, "quantity"),
        (-10, 0.5, None, "quantity"),
        (10.5, 0.5, None, "quantity"),
        (100, 1.5, None, "urgency"),
        (100, math.nan, None, "urgency"),
        (100, 0.5, [], "volume_profile"),
        (100, 0.5, [1.0, -0.2], r"volume_profile\[1\]"),
    ],
)
def test_invalid_order_inputs_are_refused(
    quantity: float, urgency_value: float, profile: list[float] | None, field: str
) -> None:
    with pytest.raises(ValueError, match=field):
        plan_execution(quantity, ADV, urgency_value, POLICY, volume_profile=profile)  # type: ignore[arg-type]


def test_plan_that_does_not_add_up_is_refused() -> None:
    with pytest.raises(ValueError, match="add up"):
        ExecutionPlan(Algorithm.TWAP, "x", (5, 5), 11)


# The venue's partial fills.


def test_participation_fill_is_the_smallest_of_remaining_planned_and_cap() -> None:
    assert participation_fill(10_000, 8_000, 50_000.0, 0.10) == 5_000  # the cap binds
    assert participation_fill(10_000, 3_000, 50_000.0, 0.10) == 3_000  # the plan binds
    assert participation_fill(1_000, 3_000, 50_000.0, 0.10) == 1_000  # what is left binds
    assert participation_fill(1_000, 3_000, math.nan, 0.10) == 0  # no volume, no fill
    assert participation_fill(-5, 3_000, 50_000.0, 0.10) == 0


def test_cap_uses_decimal_values_not_binary_floats() -> None:
    # 0.29 * 100 is 28.999999999999996 in binary floating point.
    assert max_participation_shares(100.0, 0.29) == 29


@settings(max_examples=400, deadline=None)
@given(
    cap_thousandths=st.integers(1, 1000),
    multiple=st.integers(0, 10**6),
    nudge_hundredths=st.integers(-2, 2),
)
def test_cap_is_the_floor_of_the_exact_decimal_product_even_next_to_a_whole_share(
    cap_thousandths: int, multiple: int, nudge_hundredths: int
) -> None:
    # Volumes (in cents of a share) whose product with the cap is a whole number of shares, or
    # a cent either side of one: where binary floating point is most often off by one.
    cap = cap_thousandths / 1000
    step = 100_000 // math.gcd(cap_thousandths, 100_000)
    volume = max(multiple * step + nudge_hundredths, 0) / 100
    exact = Fraction(repr(cap)) * Fraction(repr(volume))
    assert max_participation_shares(volume, cap) == math.floor(exact)


def test_large_order_fills_partially_when_volume_is_lower_than_expected() -> None:
    plan = plan_execution(25_000, ADV, 0.85, POLICY)  # 10,000 / 10,000 / 5,000
    remaining = plan.quantity_shares
    fills = []
    for day, volume in enumerate([60_000.0, 100_000.0, 100_000.0]):
        filled = participation_fill(remaining, plan.planned_shares(day), volume, 0.10)
        fills.append(filled)
        remaining -= filled
    assert fills == [6_000, 10_000, 5_000]
    assert remaining == 4_000  # left open for the caller to carry or cancel


# Urgency and ranking.


def test_urgency_formula_hand_computed() -> None:
    assert urgency(1.0, False, 0.0) == pytest.approx(1.0)
    assert urgency(-0.5, False, 0.5) == pytest.approx(0.25)  # half a day's volume halves it
    assert urgency(0.0, True, 0.0) == pytest.approx(0.8)  # risk reduction alone is urgent
    assert urgency(1.0, True, math.nan) == 0.0  # unknown liquidity: trade slowly


def test_urgency_rejects_out_of_range_inputs() -> None:
    with pytest.raises(ValueError, match="signal_strength"):
        urgency(1.2, False, 0.1)
    with pytest.raises(ValueError, match="size_vs_adv"):
        urgency(0.5, False, -0.1)


def test_ranking_puts_risk_reducing_orders_first_then_urgency() -> None:
    orders = [
        ("buy A", 0.9, False),
        ("sell B", 0.2, True),
        ("buy C", 0.5, False),
        ("sell D", 0.6, True),
    ]
    ranked = rank_orders(orders, lambda o: o[1], lambda o: o[2])
    assert [name for name, *_ in ranked] == ["sell D", "sell B", "buy A", "buy C"]


def test_ranking_refuses_nan_urgency() -> None:
    with pytest.raises(ValueError, match="NaN"):
        rank_orders([1, 2], lambda o: math.nan, lambda o: False)


# Properties.

profiles = st.one_of(
    st.none(),
    st.lists(
        st.floats(min_value=0.0, max_value=3.0, allow_nan=False, allow_subnormal=False),
        min_size=1,
        max_size=25,
    ),
)
policies = st.builds(
    ExecutionPolicy,
    participation_cap=st.sampled_from([0.01, 0.05, 0.1, 0.25, 0.29, 1.0]),
    immediate_max_adv_fraction=st.sampled_from([0.0, 0.005, 0.01, 0.05]),
    max_intervals=st.integers(min_value=2, max_value=30),
)


def _expected_volumes(adv: float, profile: list[float] | None, policy: ExecutionPolicy) -> list:
    """Expected shares traded per interval, computed as the caller would (ADV x profile)."""
    multiples = [1.0] * policy.max_intervals if profile is None else profile[: policy.max_intervals]
    return [adv * multiple for multiple in multiples]


@settings(max_examples=300, deadline=None)
@given(
    quantity=st.integers(min_value=1, max_value=5_000_000),
    adv=st.floats(min_value=1.0, max_value=1e8, allow_nan=False),
    urgency_value=st.floats(min_value=0.0, max_value=1.0),
    profile=profiles,
    policy=policies,
)
def test_schedule_adds_up_and_respects_the_cap(
    quantity: int, adv: float, urgency_value: float, profile: list[float] | None, policy
) -> None:
    plan = plan_execution(quantity, adv, urgency_value, policy, volume_profile=profile)
    volumes = _expected_volumes(adv, profile, policy)
    assert sum(plan.schedule) == quantity - plan.unscheduled_shares
    assert plan.unscheduled_shares >= 0
    assert plan.intervals == len(plan.schedule) <= len(volumes)
    assert all(isinstance(s, int) and s >= 0 for s in plan.schedule)
    assert not plan.schedule or plan.schedule[-1] > 0
    for slice_shares, volume in zip(plan.schedule, volumes, strict=False):
        assert slice_shares <= policy.participation_cap * volume * (1 + 1e-12) + 1e-9
    if plan.unscheduled_shares:
        # Only when the whole horizon is already planned at the cap (to the whole share).
        for interval, volume in enumerate(volumes):
            cap_shares = policy.participation_cap * volume
            assert plan.planned_shares(interval) >= cap_shares * (1 - 1e-12) - 1
    assert plan_execution(quantity, adv, urgency_value, policy, volume_profile=profile) == plan


@settings(max_examples=300, deadline=None)
@given(
    quantity=st.integers(min_value=1, max_value=2_000_000),
    adv=st.floats(min_value=10.0, max_value=1e7, allow_nan=False),
    urgency_value=st.floats(min_value=0.0, max_value=1.0),
    profile=profiles,
    policy=policies,
)
def test_order_completes_when_volume_is_as_expected(
    quantity: int, adv: float, urgency_value: float, profile: list[float] | None, policy
) -> None:
    plan = plan_execution(quantity, adv, urgency_value, policy, volume_profile=profile)
    remaining = quantity
    for interval, volume in enumerate(_expected_volumes(adv, profile, policy)):
        filled = participation_fill(
            remaining, plan.planned_shares(interval), volume, policy.participation_cap
        )
        assert 0 <= filled <= policy.participation_cap * volume * (1 + 1e-12) + 1e-9
        remaining -= filled
    assert remaining == plan.unscheduled_shares


@settings(max_examples=200, deadline=None)
@given(
    cap=st.sampled_from([0.01, 0.05, 0.1, 0.25]),
    adv=st.floats(min_value=1_000.0, max_value=1e7, allow_nan=False),
    multiple=st.floats(min_value=1.01, max_value=5.0),
    urgency_value=st.floats(min_value=0.0, max_value=1.0),
)
def test_order_larger_than_the_cap_is_spread_over_several_intervals(
    cap: float, adv: float, multiple: float, urgency_value: float
) -> None:
    policy = ExecutionPolicy(participation_cap=cap, immediate_max_adv_fraction=0.01)
    quantity = math.ceil(cap * adv * multiple)
    plan = plan_execution(quantity, adv, urgency_value, policy)
    assert plan.algorithm is not Algorithm.IMMEDIATE
    assert plan.intervals >= 2
    assert plan.unscheduled_shares == 0
    assert plan.intervals * cap * adv >= quantity * (1 - 1e-12)  # no slice above the cap


@given(
    st.lists(
        st.tuples(st.floats(min_value=0.0, max_value=1.0), st.booleans()), min_size=0, max_size=30
    )
)
def test_ranking_is_stable_risk_reducing_first_and_by_urgency(
    orders: list[tuple[float, bool]],
) -> None:
    indexed = list(enumerate(orders))
    ranked = rank_orders(indexed, lambda o: o[1][0], lambda o: o[1][1])
    assert sorted(ranked) == indexed
    flags = [risk_reducing for _, (_, risk_reducing) in ranked]
    assert flags == sorted(flags, reverse=True)  # every risk-reducing order before any other
    for (i, (u1, r1)), (j, (u2, r2)) in itertools.pairwise(ranked):
        if r1 == r2:
            assert u1 > u2 or (u1 == u2 and i < j)


@given(
    strength=st.floats(min_value=-1.0, max_value=1.0),
    size=st.floats(min_value=0.0, max_value=100.0),
    larger=st.floats(min_value=0.0, max_value=100.0),
)
def test_urgency_is_bounded_and_moves_the_right_way(
    strength: float, size: float, larger: float
) -> None:
    value = urgency(strength, False, size)
    assert 0.0 <= value <= 1.0
    assert urgency(strength, True, size) >= value
    assert urgency(strength, False, size + larger) <= value
    assert urgency(strength, False, size) == urgency(-strength, False, size)
