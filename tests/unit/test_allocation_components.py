"""The Allocation page's pure builders and its weight override form, fed hand-built views."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from dash.development.base_component import Component

from callbacks.allocation import (
    LIFT_REASON,
    describe_weight_command,
    lift_weight_override_command,
    set_weight_override_command,
)
from components import ids
from components.figures import risk_contributions_figure
from components.tables import (
    allocation_outcome,
    cash_table,
    signed_usd,
    sleeves_table,
    weight_overrides_table,
)
from engine.commands import LiftWeightOverride, SetWeightOverride
from engine.snapshot import (
    AllocationView,
    CashView,
    PortfolioView,
    SleeveView,
    WeightOverrideView,
)
from tests.unit.component_tree import find, plotly_figure, shown_rows, text_of

MARKET_DATE = date(2006, 3, 1)
COLOUR = "#0072B2"


def _allocation(**changes: Any) -> AllocationView:
    allocation = AllocationView(
        market_date=MARKET_DATE,
        model="mean_variance",
        status="ok",
        reason=None,
        binding=("max_weight: AAPL, MSFT", "sector_cap: Energy"),
        risk_contributions=(("MSFT", 0.25), ("XOM", -0.05), ("AAPL", 0.6), ("JNJ", 0.2)),
    )
    return replace(allocation, **changes)


def _portfolio(**changes: Any) -> PortfolioView:
    # 9,000.00 invested and 1,000.00 cash: a NAV of 10,000.00.
    view = PortfolioView(
        portfolio_id="growth",
        name="Growth",
        sources=("momentum",),
        nav_usd=Decimal("10000.00"),
        cash_usd=Decimal("1000.00"),
        initial_nav_usd=Decimal("10000.00"),
        positions=(),
        target_cash_weight=0.02,
        nav_history=(),
        orders_total=0,
        fills_total=0,
    )
    return replace(view, **changes)


def _headers(table: Component) -> list[str]:
    return [text_of(cell) for cell in find(find(table, "Thead")[0], "Th")]


# Allocation outcome ------------------------------------------------------------------------------


def test_outcome_shows_status_model_date_and_each_binding_constraint_with_its_names() -> None:
    outcome = allocation_outcome(_allocation())

    (badge,) = find(outcome, "Badge")
    assert (text_of(badge), badge.color) == ("ok", "success")
    assert "mean_variance" in text_of(outcome)
    assert "market date 2006-03-01" in text_of(outcome)
    assert shown_rows(outcome) == ["max_weight|AAPL, MSFT", "sector_cap|Energy"]


@pytest.mark.parametrize(("status", "colour"), [("fallback", "warning"), ("infeasible", "danger")])
def test_an_allocation_that_is_not_ok_is_flagged_and_says_why(status: str, colour: str) -> None:
    reason = "max_weight 5% x 10 names cannot hold 98% invested"
    outcome = allocation_outcome(_allocation(status=status, reason=reason, binding=()))

    (badge,) = find(outcome, "Badge")
    assert (text_of(badge), badge.color) == (status, colour)
    assert reason in text_of(outcome)
    assert shown_rows(outcome) == ["No constraint binds: the target sits inside every limit."]


def test_outcome_names_the_solver_and_why_the_fallback_answered() -> None:
    assert "sized by" not in text_of(allocation_outcome(_allocation()))
    by_piqp = allocation_outcome(_allocation(solver="piqp"))
    assert "sized by piqp" in text_of(by_piqp) and "Clarabel sized it" not in text_of(by_piqp)
    fallback = allocation_outcome(
        _allocation(solver="clarabel", solver_fallback="reached its iteration limit")
    )
    assert "sized by clarabel" in text_of(fallback)
    assert "(reached its iteration limit); Clarabel sized it" in text_of(fallback)


def test_outcome_before_the_first_allocation_says_there_is_none_yet() -> None:
    outcome = allocation_outcome(None)
    assert find(outcome, "Badge") == []
    assert text_of(outcome).startswith("No allocation yet")


# Risk contributions ------------------------------------------------------------------------------


def test_risk_figure_ranks_each_names_share_of_variance_in_percent_largest_first() -> None:
    figure = plotly_figure(risk_contributions_figure(_allocation(), COLOUR))
    (bar,) = figure.data

    assert bar.orientation == "h"
    assert list(bar.y) == ["AAPL", "MSFT", "JNJ", "XOM"]
    assert list(bar.x) == pytest.approx([60.0, 25.0, 20.0, -5.0])
    assert sum(bar.x) == pytest.approx(100.0)
    assert bar.marker.color == COLOUR
    # Categories are drawn bottom-up: reversed, the largest sits on top.
    assert figure.layout.yaxis.autorange == "reversed"
    assert figure.layout.xaxis.title.text == "share of ex-ante variance (%)"
    assert figure.layout.xaxis.ticksuffix == "%"
    assert not figure.layout.annotations


def test_risk_figure_waits_for_the_first_allocation() -> None:
    figure = plotly_figure(risk_contributions_figure(None, COLOUR))
    assert list(figure.data[0].x) == []
    assert figure.layout.annotations[0].text == "No allocation yet"
    nothing_held = plotly_figure(
        risk_contributions_figure(_allocation(risk_contributions=()), COLOUR)
    )
    assert nothing_held.layout.annotations[0].text == "Nothing held at target"


# Sleeves -----------------------------------------------------------------------------------------


def test_sleeves_table_lists_capital_model_sources_and_largest_contributions() -> None:
    sleeves = (
        SleeveView(
            "trend",
            0.6,
            "risk_parity",
            ("momentum",),
            (("AAPL", 0.12), ("XOM", -0.18), ("MSFT", 0.06), ("JNJ", 0.03)),
        ),
        SleeveView("desk", 0.4, "signal_proportional", ("analyst_desk", "risk_desk"), ()),
    )
    table = sleeves_table(sleeves)

    assert _headers(table) == [
        "sleeve",
        "capital (% of NAV)",
        "model",
        "sources",
        "largest contributions (% of NAV)",
    ]
    # By size: the 18% short comes first; JNJ, the fourth largest, is left out.
    assert shown_rows(table) == [
        "trend|60.0%|risk_parity|momentum|XOM -18.00%, AAPL 12.00%, MSFT 6.00%",
        "desk|40.0%|signal_proportional|analyst_desk, risk_desk|—",
    ]


def test_a_portfolio_without_sleeves_says_so() -> None:
    assert shown_rows(sleeves_table(())) == ["One book: this portfolio has no sleeves."]


# Cash --------------------------------------------------------------------------------------------


def test_cash_table_splits_settled_from_signed_pending_with_each_settlement_date() -> None:
    cash = CashView(
        settled_usd=Decimal("1250.50"),
        pending_usd=Decimal("-250.50"),
        # Out of date order on purpose: the table lists the nearer settlement first.
        settlements=(
            (date(2006, 3, 3), Decimal("-1000.00")),
            (date(2006, 3, 2), Decimal("749.50")),
        ),
        interest_income_usd=Decimal("12.34"),
        interest_rate_annual=0.0425,
    )
    rows = shown_rows(cash_table(_portfolio(cash=cash)))

    assert Decimal("1250.50") + Decimal("-250.50") == Decimal("1000.00")
    assert rows == [
        "cash|$1,000.00",
        "settled|$1,250.50",
        "pending settlement (+ to receive, - to pay)|-$250.50",
        "settles 2006-03-02|+$749.50",
        "settles 2006-03-03|-$1,000.00",
        "interest income to date|$12.34",
        "interest rate (a year)|4.25%",
        # 1,000.00 of 10,000.00.
        "cash weight|10.00%",
        "target cash weight|2.00%",
    ]


def test_cash_table_before_the_engine_reports_cash_shows_balance_and_weights_only() -> None:
    assert shown_rows(cash_table(_portfolio())) == [
        "cash|$1,000.00",
        "cash weight|10.00%",
        "target cash weight|2.00%",
    ]


def test_money_to_receive_carries_a_plus_and_money_to_pay_a_minus() -> None:
    assert signed_usd(Decimal("1234.5")) == "+$1,234.50"
    assert signed_usd(Decimal("-0.01")) == "-$0.01"
    assert signed_usd(Decimal("0")) == "$0.00"


# Weight overrides --------------------------------------------------------------------------------


def test_overrides_table_shows_pins_in_percent_and_exclusions_each_with_a_lift_button() -> None:
    overrides = (
        WeightOverrideView("growth", "XOM", None, "restricted list", "pm", MARKET_DATE),
        WeightOverrideView("growth", "AAPL", -0.0525, "hedge", "pm", None),
    )
    table = weight_overrides_table(overrides, ids.allocation_lift_button)

    assert shown_rows(table) == [
        "AAPL|pin|-5.25%|—|pm|hedge|Lift",
        "XOM|exclude|—|2006-03-01|pm|restricted list|Lift",
    ]
    assert [button.id for button in find(table, "Button")] == [
        {"type": ids.ALLOCATION_LIFT_BUTTON, "portfolio": "growth", "symbol": "AAPL"},
        {"type": ids.ALLOCATION_LIFT_BUTTON, "portfolio": "growth", "symbol": "XOM"},
    ]


def test_no_weight_overrides_says_the_allocation_sets_every_weight() -> None:
    assert shown_rows(weight_overrides_table((), ids.allocation_lift_button)) == [
        "No weight overrides: the allocation sets every weight."
    ]


# The weight override form ------------------------------------------------------------------------


def _form(**changes: Any) -> dict[str, Any]:
    return {
        "portfolio_id": "growth",
        "symbol": "AAPL",
        "mode": "pin",
        "weight_pct": 7.5,
        "reason": "conviction after the earnings call",
        "actor": "pm",
        "long_short": False,
        **changes,
    }


def test_a_pin_from_the_form_carries_its_weight_as_a_fraction_of_nav() -> None:
    command = set_weight_override_command(**_form(actor=" pm ", weight_pct="7.5"))

    assert isinstance(command, SetWeightOverride)
    assert (command.portfolio_id, command.symbol) == ("growth", "AAPL")
    assert command.weight == pytest.approx(0.075)
    assert (command.actor, command.reason) == ("pm", "conviction after the earnings call")
    assert describe_weight_command(command, "Growth") == "Pinned AAPL at 7.50% of NAV in Growth."


def test_an_exclusion_ignores_whatever_weight_is_in_the_box() -> None:
    command = set_weight_override_command(**_form(mode="exclude", weight_pct="not a number"))
    assert command.weight is None
    assert describe_weight_command(command, "Growth") == "Excluded AAPL from Growth."


@pytest.mark.parametrize("typed", ["7.5%", "7.5", "0.075", 7.5])
def test_a_pin_reads_by_the_one_unit_rule_of_every_form(typed: object) -> None:
    # The same rule as the Risk page's limit form: a bare number above 1 is percent.
    assert set_weight_override_command(**_form(weight_pct=typed)).weight == pytest.approx(0.075)


def test_a_short_pin_is_accepted_in_a_long_short_portfolio() -> None:
    command = set_weight_override_command(**_form(weight_pct=-4, long_short=True))
    assert command.weight == pytest.approx(-0.04)


def test_a_pin_at_zero_is_a_weight_not_an_exclusion() -> None:
    assert set_weight_override_command(**_form(weight_pct=0)).weight == 0.0


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"weight_pct": None}, "weight: a pin needs a weight in percent of NAV"),
        ({"weight_pct": " "}, "weight: a pin needs a weight in percent of NAV"),
        ({"weight_pct": "five"}, "weight: 'five' is not a percentage"),
        ({"weight_pct": "nan"}, "weight: 'nan' is not a finite percentage"),
        ({"weight_pct": -5}, "weight: -5% is a short, and this portfolio is long-only"),
        ({"weight_pct": 120}, "weight: 120% must be between 0% and 100% of NAV"),
        (
            {"weight_pct": -101, "long_short": True},
            "weight: -101% must be between -100% and 100% of NAV",
        ),
        ({"reason": ""}, "SetWeightOverride.reason: say why"),
        ({"reason": "   "}, "SetWeightOverride.reason: say why"),
        ({"reason": None}, "SetWeightOverride.reason: say why"),
        ({"portfolio_id": None}, "portfolio: choose"),
        ({"symbol": ""}, "instrument: choose"),
        ({"actor": "  "}, "actor: say who"),
        ({"mode": None}, "mode: None must be 'pin'"),
    ],
)
def test_an_invalid_override_is_refused_with_the_field_named(
    form: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError) as refused:
        set_weight_override_command(**_form(**form))
    assert str(refused.value).startswith(message)


def test_a_lift_names_the_override_and_says_it_came_from_the_dashboard() -> None:
    command = lift_weight_override_command("growth", "XOM", "pm")

    assert isinstance(command, LiftWeightOverride)
    assert (command.portfolio_id, command.symbol) == ("growth", "XOM")
    assert (command.actor, command.reason) == ("pm", LIFT_REASON)
    assert LIFT_REASON == "lifted from the dashboard"
    assert lift_weight_override_command("growth", "XOM", "").actor == "dashboard-user"
    assert describe_weight_command(command, "Growth") == (
        "Lifted the weight override on XOM in Growth."
    )
