"""The views of the event-sourced state (engine/views/state_views.py), from a state brought to
a situation by events."""

from __future__ import annotations

import math
from datetime import date, timedelta
from decimal import Decimal

import pytest

from engine.signals.book import Override
from engine.state.engine_state import QUALITY_FIELDS
from engine.views.state_views import (
    active_overrides,
    cash_view,
    execution_quality_views,
    position_views,
    risk_alert_views,
    weight_override_views,
    working_order_views,
)
from tests.unit.cycle_support import TODAY, holding, opened_state, order_created, order_filled

SECTORS = {"AAA": "Tech", "BBB": "Tech", "CCC": "Energy"}


def test_positions_are_valued_at_the_prices_given_with_their_weights_and_targets() -> None:
    state, emit = opened_state()
    holding(emit, "alpha", "AAA", 100, "50")
    emit(
        "TargetWeightsSet",
        {"market_date": "2024-03-01", "weights": {"AAA": 0.1, "CCC": 0.2}, "cash_weight": 0.7},
        "alpha",
    )

    views = position_views(
        state, "alpha", Decimal("100000"), SECTORS, {"AAA": Decimal("55"), "CCC": Decimal("80")}
    )

    aaa, ccc = views
    assert (aaa.symbol, aaa.sector, aaa.quantity_shares) == ("AAA", "Tech", 100)
    assert aaa.market_value_usd == Decimal("5500.00")
    assert aaa.weight == pytest.approx(5500 / 100_000)
    assert aaa.target_weight == 0.1
    # Targeted, not held yet.
    assert (ccc.quantity_shares, ccc.market_value_usd, ccc.target_weight) == (
        0,
        Decimal("0.00"),
        0.2,
    )


def test_a_zero_nav_gives_zero_weights_and_an_unknown_sector_is_named() -> None:
    state, emit = opened_state()
    holding(emit, "alpha", "DDD", 10, "10")
    (view,) = position_views(state, "alpha", Decimal(0), {}, {})
    assert view.weight == 0.0
    assert view.sector == "Unknown"
    assert view.price_usd == Decimal(0)


def test_cash_shows_what_is_settled_and_what_is_pending() -> None:
    state, emit = opened_state()
    holding(emit, "alpha", "AAA", 100, "50")
    emit(
        "OrderFilled",
        {
            "order_id": "x",
            "fill_id": "x-F00",
            "symbol": "AAA",
            "side": "SELL",
            "quantity_shares": 40,
            "price_usd": "50",
            "commission_usd": "1.00",
            "market_date": TODAY.isoformat(),
            "settlement_date": (TODAY + timedelta(days=3)).isoformat(),
        },
        "alpha",
    )

    view = cash_view(state, "alpha", 0.03)

    assert view.settled_usd == Decimal("95000.00")
    assert view.pending_usd == Decimal("1999.00")  # 40 x 50 less the commission
    assert view.settlements == ((TODAY + timedelta(days=3), Decimal("1999.00")),)
    assert view.interest_rate_annual == 0.03
    assert view.interest_income_usd == Decimal("0")


def test_weight_overrides_by_symbol() -> None:
    state, emit = opened_state()
    emit(
        "WeightOverrideSet",
        {"instrument": "CCC", "weight": 0.05, "reason": "pin", "market_date": "2024-03-01"},
        "alpha",
        actor="pm",
    )
    emit("WeightOverrideSet", {"instrument": "AAA", "weight": None, "reason": "out"}, "alpha")

    views = weight_override_views(state, "alpha")

    assert [(v.symbol, v.weight, v.reason) for v in views] == [
        ("AAA", None, "out"),
        ("CCC", 0.05, "pin"),
    ]
    assert views[1].actor == "pm" and views[1].set_on == date(2024, 3, 1)
    assert views[0].set_on is None
    assert weight_override_views(state, "beta") == ()


def test_working_orders_show_their_progress() -> None:
    state, emit = opened_state()
    order_created(emit, "alpha-1", "alpha", "AAA", "BUY", 100, "50", 1, schedule=(60, 40))
    order_created(emit, "alpha-2", "alpha", "BBB", "SELL", 10, "20", 1)
    order_filled(emit, "alpha-1", "alpha", "AAA", "BUY", 60, "50")

    first, second = working_order_views(state)

    assert (first.order_id, first.filled_shares, first.state) == ("alpha-1", 60, "PARTIALLY_FILLED")
    assert first.schedule == (60, 40)
    assert first.decision_price_usd == Decimal("50")
    assert (second.order_id, second.state, second.side) == ("alpha-2", "NEW", "SELL")


def test_execution_quality_is_in_basis_points_of_the_decided_notional() -> None:
    state, emit = opened_state()
    shortfall = dict.fromkeys(QUALITY_FIELDS, "0")
    shortfall |= {
        "decision_notional_usd": "10000",
        "spread_usd": "5",
        "commission_usd": "1",
        "total_usd": "6",
    }
    order_created(emit, "alpha-1", "alpha", "AAA", "BUY", 200, "50", 1)
    emit(
        "OrderCompleted",
        {"order_id": "alpha-1", "state": "FILLED", "shortfall": shortfall},
        "alpha",
    )
    emit("CrossExecuted", {"savings_usd": {"alpha": "2.50"}, "unmatched": {}})

    (view,) = execution_quality_views(state)

    assert view.orders == 1
    assert view.spread_bps == pytest.approx(5 / 10_000 * 10_000)
    assert view.commission_bps == pytest.approx(1.0)
    assert view.total_bps == pytest.approx(6.0)
    assert view.total_usd == Decimal("6")
    assert view.crossing_saving_usd == Decimal("2.50")


def test_crossing_savings_alone_show_zero_basis_points() -> None:
    state, emit = opened_state()
    emit("CrossExecuted", {"savings_usd": {"beta": "1.00"}, "unmatched": {}})
    (view,) = execution_quality_views(state)
    assert (view.orders, view.total_bps) == (0, 0.0)


def test_open_alerts_oldest_first_with_unknown_values_as_nan() -> None:
    state, emit = opened_state()
    for alert_id, day, value in (("a-new", "2024-03-04", 0.3), ("a-old", "2024-03-01", None)):
        emit(
            "RiskAlertRaised",
            {
                "alert_id": alert_id,
                "limit": "volatility",
                "level": "breach",
                "value": value,
                "threshold": 0.2,
                "utilisation": None if value is None else value / 0.2,
                "market_date": day,
                "message": "m",
            },
            "alpha",
        )
    emit("RiskAlertAcknowledged", {"alert_id": "a-new", "note": "seen"}, "alpha", actor="cro")

    old, new = risk_alert_views(state)

    assert (old.alert_id, new.alert_id) == ("a-old", "a-new")
    assert math.isnan(old.value) and math.isnan(old.utilisation)
    assert new.utilisation == pytest.approx(1.5)
    assert (new.acknowledged_by, new.acknowledged_note) == ("cro", "seen")
    assert new.raised_on == date(2024, 3, 4)


def test_overrides_in_force_by_instrument() -> None:
    state, emit = opened_state()
    for override_id, symbol in (("o2", "CCC"), ("o1", "AAA"), ("o3", "AAA")):
        override = Override(override_id, "veto", "*", symbol, 0.0, 0.0, None, "pm", "r")
        emit("OverrideSet", override.payload(), actor="pm")

    assert [o.override_id for o in active_overrides(state)] == ["o1", "o3", "o2"]
