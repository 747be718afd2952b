"""When a portfolio rebalances (engine/rebalancing/triggers.py and the triggers stage): the
calendars, drift bands that fire exactly at their edge, a sector's band, a risk breach."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from engine.cycle.coordination import Coordinated
from engine.cycle.triggers import TriggerStage
from engine.rebalancing.triggers import (
    RebalancePolicy,
    calendar_firing,
    drift_firings,
)
from tests.unit.cycle_support import (
    TODAY,
    UNIVERSE,
    business_days,
    flat_close,
    holding,
    mandates,
    opened_state,
)

SYMBOLS = ("AAA", "BBB", "CCC", "DDD")
SECTORS = ("Tech", "Tech", "Energy", "Health")
PRICES = (10.0, 20.0, 80.0, 10.0)


@pytest.mark.parametrize(
    ("calendar", "fired_on"),
    [
        ("daily", None),  # every day
        ("weekly", [date(2024, 1, 2), date(2024, 1, 8), date(2024, 1, 15), date(2024, 1, 22)]),
        ("monthly", [date(2024, 1, 2), date(2024, 2, 1), date(2024, 3, 1)]),
        ("quarterly", [date(2024, 1, 2)]),
        ("none", []),
    ],
)
def test_calendars_fire_on_the_first_trading_day_of_their_period(
    calendar: str, fired_on: list[date] | None
) -> None:
    days = business_days(date(2024, 1, 2), 50)  # 2 January to 11 March
    policy = RebalancePolicy(calendar)
    fired = [
        day
        for k, day in enumerate(days)
        if calendar_firing(policy, k + 1, day, days[k - 1] if k else None) is not None
    ]
    if fired_on is None:
        assert fired == days
    elif calendar == "weekly":
        assert fired[:4] == fired_on and len(fired) == 11  # to Monday 11 March
    else:
        assert fired == fired_on


def test_every_n_days_counts_cycles_from_the_first() -> None:
    policy = RebalancePolicy("every_n_days", every_days=3)
    fired = [c for c in range(1, 11) if calendar_firing(policy, c, TODAY, None) is not None]
    assert fired == [1, 4, 7, 10]


def test_an_absolute_band_fires_exactly_at_its_edge() -> None:
    policy = RebalancePolicy("none", drift_absolute=0.05)
    target = np.array([0.30, 0.20, 0.10, 0.0])
    # AAA drifted 5.00% (the edge): it fires; at 4.99% it does not.
    at_edge = drift_firings(policy, np.array([0.35, 0.20, 0.10, 0.0]), target, SYMBOLS, SECTORS)
    assert [f.trigger for f in at_edge] == ["drift"]
    assert "1 name(s) off their target: AAA 35.00% vs 30.00%" in at_edge[0].detail
    inside = drift_firings(policy, np.array([0.3499, 0.20, 0.10, 0.0]), target, SYMBOLS, SECTORS)
    assert inside == []
    # A name the target does not hold counts for the absolute band too.
    bought = drift_firings(policy, np.array([0.30, 0.20, 0.10, 0.05]), target, SYMBOLS, SECTORS)
    assert "DDD 5.00% vs 0.00%" in bought[0].detail


def test_a_relative_band_is_a_share_of_each_names_target() -> None:
    policy = RebalancePolicy("none", drift_relative=0.25)
    target = np.array([0.40, 0.08, 0.0, 0.0])
    # BBB at 10% is 2 points, 25% of its 8% target: the edge. AAA 9 points off 40% is inside.
    current = np.array([0.31 + 0.0001, 0.10, 0.0, 0.03])
    fired = drift_firings(policy, current, target, SYMBOLS, SECTORS)
    assert len(fired) == 1 and fired[0].detail.startswith("1 name(s) off their target: BBB")
    assert "relative band 25% of the target" in fired[0].detail
    # DDD, not in the target, is for the absolute band only.
    assert drift_firings(policy, np.array([0.40, 0.08, 0.0, 0.5]), target, SYMBOLS, SECTORS) == []


def test_a_sector_band_sums_the_sectors_names() -> None:
    policy = RebalancePolicy("none", sector_drift_absolute=0.04)
    target = np.array([0.20, 0.20, 0.30, 0.20])
    # AAA and BBB each 2 points over: Tech is 4 points over (the edge); no name moved 4 points.
    fired = drift_firings(policy, np.array([0.22, 0.22, 0.28, 0.18]), target, SYMBOLS, SECTORS)
    assert [f.trigger for f in fired] == ["sector_drift"]
    assert fired[0].detail.startswith("1 sector(s) off their target: Tech 4.00%")


def test_bad_policies_are_refused_naming_the_field() -> None:
    with pytest.raises(ValueError, match="calendar: 'hourly' is not one of"):
        RebalancePolicy("hourly")
    with pytest.raises(ValueError, match="drift_absolute: 0 must be above 0"):
        RebalancePolicy(drift_absolute=0)


def test_the_stage_records_each_due_portfolio_with_every_trigger_that_fired() -> None:
    # alpha every day with a 5% band; beta every second day.
    the_mandates = mandates("[portfolios.rebalancing]\ndrift_absolute = 0.05\n")
    state, emit = opened_state({"alpha": "10000", "beta": "10000"})
    holding(emit, "alpha", "AAA", 100, "10")  # AAA: 1,000 USD of 10,000 at a close of 10
    emit(
        "TargetWeightsSet",
        {"market_date": "2024-02-29", "weights": {"AAA": 0.02}, "cash_weight": 0.98},
        "alpha",
    )
    emit.clear()
    state.ledger.mark(SYMBOLS, np.array(PRICES))  # as the market stage does first
    stage = TriggerStage(UNIVERSE, the_mandates)
    close = flat_close(PRICES)
    due = stage.run(2, close, state, Coordinated(), emit)
    assert set(due) == {"alpha"}  # beta's calendar is not due at cycle 2
    (recorded,) = emit.of("RebalanceTriggered")
    assert recorded.portfolio_id == "alpha"
    assert [t["trigger"] for t in recorded.payload["triggers"]] == ["calendar", "drift"]
    assert recorded.payload["market_date"] == TODAY.isoformat()


def test_a_breach_at_this_close_triggers_a_portfolio_that_asks_for_it() -> None:
    the_mandates = mandates(beta_extra="[portfolios.rebalancing]\non_risk_breach = true\n")
    state, emit = opened_state()
    for day, limit in ((TODAY - timedelta(days=1), "max_drawdown"), (TODAY, "var_99")):
        emit(
            "RiskAlertRaised",
            {
                "alert_id": f"beta:{limit}:breach:{day}",
                "limit": limit,
                "level": "breach",
                "market_date": day.isoformat(),
            },
            "beta",
        )
    state.ledger.mark(SYMBOLS, np.array(PRICES))
    # Cycle 2: beta's calendar (every second cycle) is not due; yesterday's breach is old news.
    due = TriggerStage(UNIVERSE, the_mandates).run(
        2, flat_close(PRICES), state, Coordinated(), emit
    )
    assert [f.to_dict() for f in due["beta"]] == [
        {"trigger": "risk_breach", "detail": "limit(s) breached at this close: var_99"}
    ]


def test_a_signal_change_fires_exactly_at_its_threshold() -> None:
    from engine.rebalancing.triggers import signal_firing, signal_scores

    universe = np.array([True, True, True, False])
    baseline = {"AAA": 0.2, "BBB": -0.1}
    at_edge = signal_firing(0.5, np.array([0.7, 0.1, 0.0, 0.9]), baseline, SYMBOLS, universe)
    assert at_edge is not None and at_edge.trigger == "signal_change"
    assert at_edge.detail.startswith("1 name(s)' views moved at least 0.5")
    assert "AAA +0.20 -> +0.70" in at_edge.detail
    # A hair short does not fire; a name out of the universe never does (DDD moved 0.9).
    assert (
        signal_firing(0.5, np.array([0.6999, 0.1, 0.0, 0.9]), baseline, SYMBOLS, universe) is None
    )
    # A name without a recorded score moved from 0.
    fired = signal_firing(0.5, np.array([0.2, -0.1, -0.55, 0.0]), baseline, SYMBOLS, universe)
    assert fired is not None and "CCC +0.00 -> -0.55" in fired.detail
    # What is recorded: the universe's names with a score, to 6 decimals.
    scores = np.array([0.1234567, 0.0, -0.5, 0.3])
    assert signal_scores(scores, SYMBOLS, universe) == {"AAA": 0.123457, "CCC": -0.5}
    with pytest.raises(ValueError, match="signal_change: 3 must be above 0 and at most 2"):
        RebalancePolicy(signal_change=3)
