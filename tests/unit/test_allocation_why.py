"""Why a portfolio sits where it does against its target, and its holdings as grid rows
(components/allocation_why.py), from plain views."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from components.allocation_why import (
    distance_from_target,
    holding_grid_columns,
    holding_grid_rows,
    reasons_off_target,
    why_panel,
)
from engine.snapshot import (
    AllocationView,
    GateDecisionView,
    LimitView,
    PortfolioView,
    PositionView,
    RiskView,
)
from tests.unit.component_tree import text_of

DAY = date(2020, 3, 16)


def _cash_book(**changes: object) -> PortfolioView:
    """All in cash against a target of 25% invested (AAPL 15%, MSFT 10%), as the issue saw."""
    view = PortfolioView(
        portfolio_id="growth",
        name="Growth momentum",
        sources=("momentum",),
        nav_usd=Decimal("100000.00"),
        cash_usd=Decimal("100000.00"),
        initial_nav_usd=Decimal("100000.00"),
        positions=(
            PositionView("AAPL", "Tech", 0, Decimal("245.50"), Decimal("0.00"), 0.0, 0.15),
            PositionView("MSFT", "Tech", 0, Decimal("135.98"), Decimal("0.00"), 0.0, 0.10),
        ),
        target_cash_weight=0.75,
        nav_history=(),
        orders_total=0,
        fills_total=0,
        allocation=AllocationView(DAY, "momentum", "ok", None, (), ()),
    )
    return replace(view, **changes)


def _risk(**changes: object) -> RiskView:
    view = RiskView("growth", DAY, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.35, 0.40, (), (), ())
    return replace(view, **changes)


def _decision(action: str, limit: str = "max_position_weight") -> GateDecisionView:
    return GateDecisionView(
        DAY, "growth", "o-1", "AAPL", "BUY", 100, 0, action, limit, 0.2, 0.1, "x"
    )


def test_a_book_in_cash_against_a_quarter_invested_target_is_a_quarter_away() -> None:
    assert distance_from_target(_cash_book()) == pytest.approx(0.25)


def test_a_reducing_book_says_its_state_and_why_it_cannot_buy() -> None:
    book = _cash_book(trading_state="REDUCING", halt_reason="max_drawdown breached")

    (reason,) = reasons_off_target(book, None, ())
    assert reason.startswith("Trading state REDUCING (max_drawdown breached): only orders that")
    panel = text_of(why_panel(book, None, ()))
    assert "25.0% of NAV from its target" in panel
    assert "because" in panel


def test_the_gate_a_budget_a_breach_and_an_infeasible_allocation_are_each_named() -> None:
    breach = LimitView(
        "max_drawdown",
        "fraction of peak NAV",
        0.3,
        "hard",
        0.8,
        "reduce",
        1,
        "portfolio",
        "",
        0.35,
        1.17,
        "breach",
        "",
    )
    book = _cash_book(allocation=AllocationView(DAY, "mv", "infeasible", "no solution", (), ()))
    risk = _risk(budget_scaling=("volatility", 0.6), limits=(breach,))
    gate = (_decision("rejected"), _decision("scaled", "sector_cap"), _decision("rejected"))
    other = _decision("rejected")._replace(portfolio_id="income")

    reasons = reasons_off_target(book, risk, (*gate, other))

    assert reasons == [
        "The latest allocation was infeasible: no solution",
        "The pre-trade risk gate rejected 2 and scaled down 1 of its orders on 2020-03-16 "
        "(max_position_weight, sector_cap).",
        "The allocation was scaled to 60% of its size to fit the volatility budget.",
        "Limits in breach: max_drawdown.",
    ]


def test_nothing_holding_a_book_back_says_so_and_on_target_reads_on_target() -> None:
    assert "Nothing holds it back" in text_of(why_panel(_cash_book(), None, ()))
    on_target = _cash_book(target_cash_weight=1.0, positions=())
    assert "On target." in text_of(why_panel(on_target, None, ()))


def test_holdings_rows_show_the_price_of_names_not_held_and_are_plain_json() -> None:
    rows = holding_grid_rows(_cash_book())

    assert [(r["symbol"], r["price_usd"], r["drift"]) for r in rows] == [
        ("AAPL", 245.5, pytest.approx(-0.15)),
        ("MSFT", 135.98, pytest.approx(-0.10)),
    ]
    assert json.loads(json.dumps(rows, allow_nan=False)) == rows
    columns = holding_grid_columns()
    assert columns[0]["field"] == "symbol" and columns[0]["pinned"] == "left"
    assert {c["field"] for c in columns} <= set(rows[0])
