"""The Trades page's pure builders and its Cancel and trading-state (hold, reduce, release)
commands, fed hand-built views."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
from dash.development.base_component import Component

from callbacks.commands import describe_trading_state
from callbacks.trades import (
    cancel_order_command,
    describe_cancel,
    describe_hold_before_after,
    hold_trading_command,
    rendered_keys,
    trading_strip,
)
from components.schedule_figure import execution_schedule_figure, schedule_days
from components.tables import PortfolioLabels
from components.trade_tables import (
    BLOCK_GRID_COLUMNS,
    CROSS_GRID_COLUMNS,
    FILL_GRID_COLUMNS,
    ORDER_GRID_COLUMNS,
    WORKING_GRID_COLUMNS,
    block_rows,
    cross_rows,
    describe_cancel_before_after,
    execution_quality_table,
    fill_rows,
    order_rows,
    shown_of_total,
    trading_state_badge,
    working_order_rows,
)
from engine.commands import CancelOrder, SetTradingState
from engine.model import Fill, Order, Side
from engine.snapshot import (
    BlockView,
    CrossView,
    EngineStatus,
    ExecutionQualityView,
    PortfolioView,
    StateSnapshot,
    WorkingOrderView,
)
from tests.unit.component_tree import find, plotly_figure, shown_rows, text_of

MONDAY = date(2006, 3, 6)
TUESDAY = date(2006, 3, 7)
COLOURS = {"growth": "#0072B2", "income": "#E69F00"}
NAMES = {"growth": "Growth", "income": "Income"}


def _portfolio(portfolio_id: str, **changes: Any) -> PortfolioView:
    view = PortfolioView(
        portfolio_id=portfolio_id,
        name=NAMES[portfolio_id],
        sources=("momentum",),
        nav_usd=Decimal("10000.00"),
        cash_usd=Decimal("1000.00"),
        initial_nav_usd=Decimal("10000.00"),
        positions=(),
        target_cash_weight=0.02,
        nav_history=(),
        orders_total=12,
        fills_total=30,
    )
    return replace(view, **changes)


PORTFOLIOS = (_portfolio("growth"), _portfolio("income"))
LABELS = PortfolioLabels(PORTFOLIOS, COLOURS)


def _order(**changes: Any) -> WorkingOrderView:
    # 5,000 AAPL over four days, 1,000 + 2,000 + 1,500 + 500; 2,400 filled so far.
    order = WorkingOrderView(
        order_id="O-1",
        portfolio_id="growth",
        symbol="AAPL",
        side="BUY",
        quantity_shares=5000,
        filled_shares=2400,
        state="PARTIALLY_FILLED",
        algorithm="VWAP",
        reason="12% of ADV: spread over 4 days at 10% participation",
        schedule=(1000, 2000, 1500, 500),
        crossed_shares=300,
        created=MONDAY,
        decision_price_usd=Decimal("62.5000"),
        estimated_cost_bps=7.25,
    )
    return order._replace(**changes)


def _headers(table: Component) -> list[str]:
    return [text_of(cell) for cell in find(find(table, "Thead")[0], "Th")]


# The working-order blotter -----------------------------------------------------------------------


def test_blotter_rows_show_progress_what_is_left_the_algorithm_and_why_newest_first() -> None:
    newer = _order(
        order_id="O-2",
        portfolio_id="income",
        symbol="XOM",
        side="SELL",
        quantity_shares=800,
        filled_shares=0,
        state="NEW",
        algorithm="IMMEDIATE",
        reason="small: 0.4% of ADV",
        schedule=(800,),
        crossed_shares=0,
        created=TUESDAY,
        estimated_cost_bps=float("nan"),
    )
    rows = working_order_rows((_order(), newer), NAMES)

    assert [row["order_id"] for row in rows] == ["O-2", "O-1"]
    assert rows[1] == {
        "order_id": "O-1",
        "portfolio": "Growth",
        "symbol": "AAPL",
        "created": "2006-03-06",
        "side": "BUY",
        "quantity_shares": 5000,
        "filled_shares": 2400,
        "left_shares": 2600,
        # 2,600 left at the 62.50 decision price.
        "left_usd": 162_500.0,
        "state": "PARTIALLY_FILLED",
        "algorithm": "VWAP",
        "reason": "12% of ADV: spread over 4 days at 10% participation",
        "crossed_shares": 300,
        "estimated_cost_bps": 7.25,
    }
    # An estimate the cost model could not make is an empty cell, not NaN (which is not JSON).
    assert rows[0]["estimated_cost_bps"] is None


def test_the_blotter_grid_pins_the_order_portfolio_and_symbol_and_formats_every_number() -> None:
    pinned = [c["field"] for c in WORKING_GRID_COLUMNS if c.get("pinned") == "left"]
    assert pinned == ["order_id", "portfolio", "symbol"]
    for columns in (WORKING_GRID_COLUMNS, ORDER_GRID_COLUMNS, FILL_GRID_COLUMNS):
        numeric = [c for c in columns if c.get("filter") == "agNumberColumnFilter"]
        assert numeric, "a grid with no number column"
        # d3 fixed-point formats: never scientific notation, never a long tail of decimals.
        for column in numeric:
            spec = column["valueFormatter"]["function"]
            assert "e" not in spec.split("d3.format('")[1].split("'")[0], spec


def test_a_cancel_is_described_before_it_is_sent_as_before_and_after() -> None:
    assert describe_cancel_before_after(_order(), "Growth") == (
        "Cancel BUY 5,000 AAPL (2,600 left, $162,500.00) in Growth: working -> cancelled"
    )


# Orders and fills --------------------------------------------------------------------------------


def test_order_and_fill_rows_are_newest_first_with_exact_prices_and_notionals_to_the_cent() -> None:
    orders = (
        Order("o-1", "growth", "AAPL", Side.BUY, 10, Decimal("150.2500"), MONDAY),
        Order("o-2", "income", "XOM", Side.SELL, 3, Decimal("80.1234"), TUESDAY),
    )
    fill = Fill(
        "f-1", "o-2", "income", "XOM", Side.SELL, 3, Decimal("80.1234"), Decimal("1.00"), TUESDAY
    )

    order_grid = order_rows(orders, NAMES)
    fill_grid = fill_rows((fill,), NAMES)

    assert [row["order_id"] for row in order_grid] == ["o-2", "o-1"]
    assert order_grid[0]["decision_price_usd"] == 80.1234
    # 3 x 80.1234 = 240.3702 USD, to the cent.
    assert order_grid[0]["notional_usd"] == 240.37
    assert order_grid[0]["portfolio"] == "Income" and order_grid[0]["created"] == "2006-03-07"
    assert fill_grid == [
        {
            "fill_id": "f-1",
            "portfolio": "Income",
            "symbol": "XOM",
            "date": "2006-03-07",
            "order_id": "o-2",
            "side": "SELL",
            "quantity_shares": 3,
            "price_usd": 80.1234,
            "notional_usd": 240.37,
            "commission_usd": 1.0,
        }
    ]


def test_a_grid_of_the_newest_trades_says_how_many_of_how_many_it_holds() -> None:
    assert shown_of_total("orders", 12, 12) == "all 12 orders, newest first"
    assert shown_of_total("fills", 200, 45_123).startswith("the newest 200 of 45,123 fills")


# The execution schedule --------------------------------------------------------------------------


def test_fills_count_against_the_plan_day_by_day_in_order() -> None:
    # 2,400 filled covers day 1 (1,000) and 1,400 of day 2's 2,000.
    assert schedule_days(_order()) == [(1000, 1000), (2000, 1400), (1500, 0), (500, 0)]
    assert schedule_days(_order(filled_shares=0))[0] == (1000, 0)
    assert schedule_days(_order(filled_shares=5000))[-1] == (500, 500)


def test_schedule_greys_the_filled_days_and_shades_the_rest_by_their_share_of_the_order() -> None:
    figure = plotly_figure(execution_schedule_figure((_order(),), NAMES, COLOURS))
    filled, to_trade = figure.data

    assert (filled.name, to_trade.name) == ("filled", "to trade")
    assert list(filled.x) == [1, 2, 3, 4]
    # Day 1 (1,000 of 5,000 = 20%) is filled; day 2 is only part filled, so still to trade.
    assert list(filled.z[0]) == [pytest.approx(20.0), None, None, None]
    assert list(to_trade.z[0]) == [None, pytest.approx(40.0), pytest.approx(30.0), 10.0]
    assert list(to_trade.text[0]) == ["1,000", "2,000", "1,500", "500"]
    assert "1,400 filled, 600 to trade" in to_trade.customdata[0][1]
    (label,) = to_trade.y
    assert "AAPL BUY 5,000 · Growth · O-1" in label
    assert COLOURS["growth"] in label
    assert figure.layout.xaxis.title.text.startswith("day of the order's schedule")
    assert figure.layout.yaxis.autorange == "reversed"
    assert not figure.layout.annotations


def test_schedule_rows_are_as_wide_as_the_longest_plan_newest_order_on_top() -> None:
    newer = _order(
        order_id="O-2",
        created=TUESDAY,
        schedule=(400, 400),
        quantity_shares=800,
        filled_shares=0,
        state="NEW",
    )
    figure = plotly_figure(execution_schedule_figure((_order(), newer), NAMES, COLOURS))
    to_trade = figure.data[1]

    assert ["O-2" in label for label in to_trade.y] == [True, False]
    assert list(to_trade.z[0]) == [pytest.approx(50.0), pytest.approx(50.0), None, None]


def test_schedule_of_many_orders_shows_the_newest_and_says_how_many() -> None:
    orders = tuple(_order(order_id=f"O-{day}", created=date(2006, 3, day)) for day in range(1, 6))
    figure = plotly_figure(execution_schedule_figure(orders, NAMES, COLOURS, max_orders=2))

    assert len(figure.data[1].y) == 2
    assert figure.layout.annotations[0].text == "the 2 newest of 5 working orders"


def test_schedule_with_nothing_working_says_nothing_is_scheduled() -> None:
    figure = plotly_figure(execution_schedule_figure((), NAMES, COLOURS))
    assert figure.layout.annotations[0].text == "No working orders: nothing scheduled"


# Crosses and blocks ------------------------------------------------------------------------------


def test_crosses_show_the_mid_each_portfolios_signed_shares_buyers_first_and_the_saving() -> None:
    crosses = (
        CrossView(
            MONDAY,
            "AAPL",
            300,
            Decimal("62.4950"),
            (("income", -300), ("growth", 300)),
            Decimal("4.12"),
        ),
        CrossView(
            TUESDAY,
            "XOM",
            1200,
            Decimal("80.0000"),
            (("growth", -1200), ("income", 1200)),
            Decimal("18.00"),
        ),
    )
    rows = cross_rows(crosses, NAMES)

    assert rows == [
        {
            "market_date": "2006-03-07",
            "symbol": "XOM",
            "quantity_shares": 1200,
            "price_usd": 80.0,
            "portfolios": "Income +1,200 · Growth -1,200",
            "saving_usd": 18.0,
        },
        {
            "market_date": "2006-03-06",
            "symbol": "AAPL",
            "quantity_shares": 300,
            "price_usd": 62.495,
            "portfolios": "Growth +300 · Income -300",
            "saving_usd": 4.12,
        },
    ]
    # A cross moves shares between portfolios: what one buys, the others sell.
    assert all(sum(shares for _, shares in c.portfolios) == 0 for c in crosses)
    assert cross_rows((), NAMES) == []


def test_blocks_show_size_fill_rate_and_children_newest_first() -> None:
    blocks = (
        BlockView("B-1", MONDAY, "AAPL", "BUY", 4000, 3000, 3),
        BlockView("B-2", TUESDAY, "MSFT", "SELL", 1500, 1500, 2),
    )
    rows = block_rows(blocks)

    assert [(r["block_id"], r["market_date"], r["fill_rate"], r["children"]) for r in rows] == [
        ("B-2", "2006-03-07", 1.0, 2),
        ("B-1", "2006-03-06", 0.75, 3),
    ]
    # The fill rate is a fraction the grid shows as a percentage.
    rate = next(c for c in BLOCK_GRID_COLUMNS if c["field"] == "fill_rate")
    assert "%" in rate["valueFormatter"]["function"]
    assert [c["field"] for c in CROSS_GRID_COLUMNS if c.get("pinned")] == ["market_date", "symbol"]


# Execution quality -------------------------------------------------------------------------------


def test_execution_quality_splits_the_shortfall_into_its_parts_in_bps_and_usd() -> None:
    # 1,000,000 of decision notional at 12.5 bps is 1,250.00.
    quality = (
        ExecutionQualityView(
            portfolio_id="growth",
            orders=42,
            decision_notional_usd=Decimal("1000000.00"),
            delay_bps=1.5,
            spread_bps=4.0,
            impact_bps=3.25,
            commission_bps=1.0,
            opportunity_bps=2.75,
            total_bps=12.5,
            total_usd=Decimal("1250.00"),
            crossing_saving_usd=Decimal("310.40"),
        ),
        ExecutionQualityView(
            "income", 0, Decimal("0"), *([float("nan")] * 6), Decimal("0"), Decimal("0")
        ),
    )
    parts = (1.5, 4.0, 3.25, 1.0, 2.75)
    assert sum(parts) == pytest.approx(quality[0].total_bps)
    assert float(quality[0].decision_notional_usd) * 12.5 / 10_000 == 1250.0

    table = execution_quality_table(quality, LABELS)
    assert _headers(table)[3:9] == [
        "delay (bps)",
        "spread (bps)",
        "impact (bps)",
        "commission (bps)",
        "opportunity (bps)",
        "total (bps)",
    ]
    assert shown_rows(table) == [
        "Growth|42|$1,000,000.00|1.5|4.0|3.2|1.0|2.8|12.5|$1,250.00|$310.40",
        "Income|0|$0.00|—|—|—|—|—|—|$0.00|$0.00",
    ]
    assert shown_rows(execution_quality_table((), LABELS)) == [
        "No completed orders yet to measure."
    ]


# Trading state -----------------------------------------------------------------------------------


def test_the_strip_shows_each_portfolios_counts_and_trading_state_with_the_halt_reason() -> None:
    halted = _portfolio("income", trading_state="HALTED", halt_reason="earnings blackout")
    strip = trading_strip((PORTFOLIOS[0], halted), COLOURS)

    badges = find(strip, "Badge")
    assert [text_of(badge) for badge in badges[::2]] == [
        "Growth 12 orders · 30 fills ACTIVE",
        "Income 12 orders · 30 fills HALTED earnings blackout",
    ]
    assert [(text_of(b), b.color) for b in badges[1::2]] == [
        ("ACTIVE", "success"),
        ("HALTED", "danger"),
    ]


def test_an_active_portfolio_shows_no_reason_even_if_one_lingers() -> None:
    assert text_of(trading_state_badge("ACTIVE", "old reason")) == "ACTIVE"
    assert find(trading_state_badge("REDUCING", None), "Badge")[0].color == "warning"


# Redraw keys -------------------------------------------------------------------------------------


def _snapshot(**changes: Any) -> StateSnapshot:
    snapshot = StateSnapshot(
        status=EngineStatus.RUNNING,
        speed_days_per_second=1.0,
        cycles_completed=5,
        market_date=TUESDAY,
        published_at=datetime(2024, 1, 1),
        instruments=(),
        portfolios=PORTFOLIOS,
        working_orders=(_order(),),
    )
    return replace(snapshot, **changes)


def test_a_part_of_the_page_is_redrawn_only_when_what_it_shows_changes() -> None:
    before = rendered_keys(_snapshot())
    # A new snapshot with the same content (the engine publishes one each cycle) changes nothing.
    assert rendered_keys(_snapshot(cycles_completed=6, working_orders=(_order(),))) == before

    filled_more = rendered_keys(_snapshot(working_orders=(_order(filled_shares=3000),)))
    assert {part for part in before if before[part] != filled_more[part]} == {"working"}

    cross = CrossView(MONDAY, "AAPL", 300, Decimal("62.4950"), (("growth", 300),), Decimal("4"))
    crossed = rendered_keys(_snapshot(recent_crosses=(cross,)))
    assert {part for part in before if before[part] != crossed[part]} == {"crosses"}
    crossed_again = rendered_keys(
        _snapshot(recent_crosses=(cross, replace(cross, market_date=TUESDAY)))
    )
    assert crossed_again["crosses"] != crossed["crosses"]

    held = rendered_keys(
        _snapshot(portfolios=(replace(PORTFOLIOS[0], trading_state="HALTED"), PORTFOLIOS[1]))
    )
    assert {part for part in before if before[part] != held[part]} == {"summary"}


# The Hold and Cancel commands --------------------------------------------------------------------


def _form(**changes: Any) -> dict[str, Any]:
    return {
        "portfolio_id": "growth",
        "mode": "hold",
        "reason": "earnings blackout",
        "actor": " pm ",
        **changes,
    }


def test_a_hold_from_the_form_halts_the_portfolio_naming_who_and_why() -> None:
    command = hold_trading_command(**_form())

    assert isinstance(command, SetTradingState)
    assert (command.portfolio_id, command.state) == ("growth", "HALTED")
    assert (command.actor, command.reason) == ("pm", "earnings blackout")
    assert describe_trading_state(command, "Growth").startswith("Halted trading in Growth")


def test_a_release_from_the_form_makes_the_portfolio_active_again() -> None:
    command = hold_trading_command(**_form(mode="release", reason="blackout over"))
    assert command.state == "ACTIVE"
    assert describe_trading_state(command, "Growth") == (
        "Growth is ACTIVE: it trades again from its next rebalance."
    )


def test_reduce_lets_only_position_reducing_orders_through_and_state_names_work_too() -> None:
    assert hold_trading_command(**_form(mode="reduce")).state == "REDUCING"
    for state in ("ACTIVE", "REDUCING", "HALTED"):
        assert hold_trading_command(**_form(mode=state)).state == state


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"portfolio_id": None}, "portfolio: choose the portfolio to hold or release"),
        ({"portfolio_id": ""}, "portfolio: choose"),
        # Nothing is chosen at first: the form says what to choose.
        ({"mode": None}, "trading: choose hold, reduce only or release"),
        ({"mode": "pause"}, "trading: choose hold, reduce only or release"),
        ({"actor": "  "}, "actor: say who"),
        ({"actor": None}, "actor: say who"),
        ({"reason": None}, "reason: say why"),
        ({"reason": "   "}, "reason: say why"),
    ],
)
def test_an_incomplete_hold_is_refused_with_the_field_named(
    form: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError) as refused:
        hold_trading_command(**_form(**form))
    assert str(refused.value).startswith(message)


def test_a_cancel_names_the_order_who_and_why_and_needs_a_reason() -> None:
    command = cancel_order_command("O-1", " price moved away ", " pm ")

    assert isinstance(command, CancelOrder)
    assert command.order_id == "O-1"
    assert (command.actor, command.reason) == ("pm", "price moved away")
    assert cancel_order_command("O-1", "stale", None).actor == "dashboard-user"
    for missing in (None, "", "   "):
        with pytest.raises(ValueError, match=r"^reason: say why you cancel"):
            cancel_order_command("O-1", missing, "pm")


def test_a_trading_state_change_is_described_before_it_is_sent_as_before_and_after() -> None:
    snapshot = _snapshot(
        working_orders=(
            _order(),
            _order(order_id="O-2"),
            _order(order_id="O-3", portfolio_id="income"),
        )
    )
    halt = hold_trading_command(**_form())
    assert describe_hold_before_after(snapshot, halt) == (
        "Growth: ACTIVE -> HALTED; its 2 working orders are cancelled. Reason: earnings blackout"
    )
    release = hold_trading_command(**_form(portfolio_id="income", mode="release", reason="over"))
    assert describe_hold_before_after(snapshot, release) == "Income: ACTIVE -> ACTIVE. Reason: over"


def test_an_answered_cancel_says_how_much_of_the_order_was_left() -> None:
    # 5,000 ordered, 2,400 filled: 2,600 left.
    assert describe_cancel("O-1", _order()) == (
        "Cancelled order O-1 (AAPL BUY): 2,600 of 5,000 shares were left to trade."
    )
    assert describe_cancel("O-9", None) == "Cancelled order O-9."
