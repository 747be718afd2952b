"""The Trades page in headless Chromium over a real engine: the blotter, schedule, crosses, blocks
and execution quality cards; the orders grid paged and sorted on the server; a working order
cancelled from the blotter after a confirmation that shows before -> after (gone from the grid,
recorded with its reason); and a portfolio manager holding a portfolio's trading from the form
(confirmed; the strip shows it HALTED) and releasing it again (ACTIVE).

Every wait is on a condition the page or the engine shows; none is a fixed sleep.
"""

from __future__ import annotations

import pytest
from dash.testing.composite import DashComposite

from app.runtime import Runtime
from callbacks.trades import GridRows
from components import ids
from components.grid import serve_rows
from engine.commands import Pause, Resume, SetSpeed
from engine.snapshot import EngineStatus
from tests.browser.pages import WAIT_S, choose, click, open_page, text, wait

pytestmark = pytest.mark.browser

PORTFOLIO = "balanced"


def _rows(grid_id: str) -> str:
    # AG Grid draws a row in each of its pinned and centre containers; the centre one is enough.
    return f"#{grid_id} .ag-center-cols-container .ag-row"


def _row_ids(dashboard: DashComposite, grid_id: str) -> list[str]:
    """The ids of the rows the grid shows, top to bottom."""
    found = []
    for row in dashboard.find_elements(_rows(grid_id)):
        try:
            found.append((int(row.get_attribute("row-index")), row.get_attribute("row-id")))
        except Exception:  # a row redrawn while read: the next poll reads it again
            return []
    return [row_id for _, row_id in sorted(found)]


def _audited(runtime: Runtime, reason: str) -> bool:
    """Some event names the manager and carries the reason, whatever the engine calls it."""
    return any(
        event.actor == "pm" and reason in str(event.payload)
        for event in runtime.store.query(limit=500)
    )


def _open_trades(dashboard: DashComposite) -> None:
    """Open the page and wait until its first refresh has drawn the strip."""
    open_page(dashboard, "/trades")
    dashboard.wait_for_contains_text(f"#{ids.TRADES_SUMMARY}", "ACTIVE", timeout=WAIT_S)


def _trading_state(runtime: Runtime) -> str:
    return runtime.runner.snapshot().portfolio(PORTFOLIO).trading_state


def _pause_with_working_orders(runtime: Runtime) -> None:
    """Pause the engine at a moment some orders are working. Most orders of the default books
    work for one day only, so the replay is slowed first: at two days a second the pause,
    taken before the next cycle, lands while the orders just made still work."""
    runner = runtime.runner
    runner.submit(SetSpeed("test", "time to catch a working order", days_per_second=2))
    for _ in range(50):
        wait(lambda: runner.snapshot().working_orders, "no order ever worked")
        runner.submit(Pause("test", "catch a working order"))
        wait(lambda: runner.snapshot().status is EngineStatus.PAUSED, "no pause")
        if runner.snapshot().working_orders:
            return
        runner.submit(Resume("test", "look again"))
        wait(lambda: runner.snapshot().status is EngineStatus.RUNNING, "no resume")
    raise AssertionError("never paused with an order working")


def test_trades_page_shows_the_blotter_schedule_crosses_blocks_and_execution_quality(
    dashboard: DashComposite, runtime: Runtime
) -> None:
    runner = runtime.runner
    wait(lambda: runner.snapshot().recent_fills, "the engine never filled an order")
    _open_trades(dashboard)

    assert "orders" in text(dashboard, ids.TRADES_SUMMARY)
    for portfolio in runner.snapshot().portfolios:
        assert portfolio.name in text(dashboard, ids.TRADES_SUMMARY)
    dashboard.wait_for_contains_text(
        f"#{ids.TRADES_SCHEDULE_GRAPH}", "day of the order's schedule", timeout=WAIT_S
    )
    dashboard.wait_for_contains_text(
        f"#{ids.TRADES_CROSSES_TABLE}", "portfolios (signed shares)", timeout=WAIT_S
    )
    dashboard.wait_for_contains_text(f"#{ids.TRADES_BLOCKS_TABLE}", "child orders", timeout=WAIT_S)
    dashboard.wait_for_contains_text(
        f"#{ids.TRADES_QUALITY_TABLE}", "crossing saving (USD)", timeout=WAIT_S
    )
    dashboard.wait_for_element(_rows(ids.TRADES_ORDERS_GRID), timeout=WAIT_S)
    dashboard.wait_for_element(_rows(ids.TRADES_FILLS_GRID), timeout=WAIT_S)
    # Money is shown as currency to the cent, never with a long tail of decimals.
    # The first row's notional (its text, whether or not the grid has scrolled it into view).
    notional = f"#{ids.TRADES_ORDERS_GRID} .ag-row[row-index='0'] [col-id='notional_usd']"

    def first_notional() -> str:
        cells = dashboard.find_elements(notional)
        return cells[0].get_attribute("textContent") if cells else ""

    wait(first_notional, "the orders grid shows no notional")
    shown = first_notional()
    assert shown.startswith("$") and len(shown.split(".")[-1]) == 2, shown
    assert "of" in text(dashboard, ids.TRADES_ORDERS_NOTE) or "all" in text(
        dashboard, ids.TRADES_ORDERS_NOTE
    )
    assert dashboard.get_logs() == [], "the browser console reported errors"


def test_the_orders_grid_pages_and_sorts_on_the_server(
    dashboard: DashComposite, runtime: Runtime
) -> None:
    runner = runtime.runner
    # More than a page of orders, then a still engine so the rows stay put while compared.
    wait(lambda: len(runner.snapshot().recent_orders) > 40, "fewer than two pages of orders")
    runner.submit(Pause("test", "hold the rows still"))
    wait(lambda: runner.snapshot().status is EngineStatus.PAUSED, "no pause")
    rows = GridRows().of(runner.snapshot(), ids.TRADES_ORDERS_GRID)
    _open_trades(dashboard)
    grid = ids.TRADES_ORDERS_GRID

    def first_ids(request: dict) -> list[str]:
        return [row["order_id"] for row in serve_rows(rows, request)["rowData"]]

    page_one = first_ids({"startRow": 0, "endRow": 20})
    wait(lambda: _row_ids(dashboard, grid) == page_one, "page 1 is not the newest orders")

    click(dashboard, f"#{grid} .ag-paging-button[aria-label='Next Page']")
    page_two = first_ids({"startRow": 20, "endRow": 40})
    assert page_two != page_one
    wait(lambda: _row_ids(dashboard, grid) == page_two, "page 2 is not the next 20 orders")

    click(dashboard, f"#{grid} .ag-header-cell[col-id='quantity_shares'] .ag-header-cell-label")
    by_shares = first_ids(
        {"startRow": 0, "endRow": 20, "sortModel": [{"colId": "quantity_shares", "sort": "asc"}]}
    )
    wait(
        lambda: _row_ids(dashboard, grid) == by_shares,
        "sorting by shares did not show the smallest orders first",
    )
    assert dashboard.get_logs() == [], "the browser console reported errors"


def test_cancelling_a_working_order_asks_to_confirm_and_removes_it_from_the_blotter(
    dashboard: DashComposite, runtime: Runtime
) -> None:
    runner = runtime.runner
    _pause_with_working_orders(runtime)
    working = {o.order_id for o in runner.snapshot().working_orders}
    _open_trades(dashboard)
    grid = ids.TRADES_WORKING_GRID
    wait(lambda: _row_ids(dashboard, grid), "the blotter shows no working order")
    order_id = _row_ids(dashboard, grid)[0]
    assert order_id in working

    click(dashboard, f"{_rows(grid)}[row-id='{order_id}'] .ag-cell")
    dashboard.wait_for_contains_text(f"#{ids.TRADES_CANCEL_SELECTION}", order_id, timeout=WAIT_S)
    wait(
        lambda: dashboard.find_element(f"#{ids.TRADES_CANCEL_OPEN}").is_enabled(),
        "Cancel stays disabled with an order picked",
    )
    click(dashboard, f"#{ids.TRADES_CANCEL_OPEN}")
    dashboard.wait_for_contains_text(
        f"#{ids.TRADES_CANCEL_SUMMARY}", "working -> cancelled", timeout=WAIT_S
    )
    # No reason, no cancel: the dialog says what is missing and the order still works.
    click(dashboard, f"#{ids.TRADES_CANCEL_CONFIRM}")
    dashboard.wait_for_contains_text(f"#{ids.TRADES_CANCEL_ERROR}", "reason", timeout=WAIT_S)
    assert order_id in {o.order_id for o in runner.snapshot().working_orders}

    reason = "price moved away: not worth chasing"
    dashboard.find_element(f"#{ids.TRADES_CANCEL_REASON}").send_keys(reason)
    click(dashboard, f"#{ids.TRADES_CANCEL_CONFIRM}")

    dashboard.wait_for_contains_text(
        f"#{ids.TRADES_CANCEL_FEEDBACK}", "Recorded as event #", timeout=WAIT_S
    )
    assert order_id in text(dashboard, ids.TRADES_CANCEL_FEEDBACK)
    assert order_id not in {o.order_id for o in runner.snapshot().working_orders}
    cancelled = runtime.store.query(event_type="OrderCancelled", limit=50)
    assert any(
        e.payload["order_id"] == order_id and reason in e.payload["reason"] for e in cancelled
    )
    wait(
        lambda: order_id not in _row_ids(dashboard, grid),
        "the cancelled order is still in the blotter",
    )
    assert dashboard.get_logs() == [], "the browser console reported errors"


def test_holding_a_portfolio_asks_to_confirm_halts_it_and_releasing_makes_it_active_again(
    dashboard: DashComposite, runtime: Runtime
) -> None:
    runner = runtime.runner
    _open_trades(dashboard)
    # Paused, nothing but the command can redraw the strip: the page must follow it at once.
    runner.submit(Pause("test", "show that a hold needs no cycle to appear"))
    wait(lambda: runner.snapshot().status is EngineStatus.PAUSED, "no pause")
    assert _trading_state(runtime) == "ACTIVE"
    name = runner.snapshot().portfolio(PORTFOLIO).name
    hold_reason = "earnings blackout: no trading until the call"
    # Nothing is chosen at first: a hold is a decision, never a default.
    assert not dashboard.find_element(f"#{ids.TRADES_HOLD_MODE}").get_attribute("value")

    choose(dashboard, ids.TRADES_HOLD_PORTFOLIO, PORTFOLIO)
    choose(dashboard, ids.TRADES_HOLD_MODE, "hold")
    reason_box = dashboard.find_element(f"#{ids.TRADES_HOLD_REASON}")
    reason_box.send_keys(hold_reason)
    click(dashboard, f"#{ids.TRADES_HOLD_APPLY}")
    dashboard.wait_for_contains_text(
        f"#{ids.TRADES_HOLD_SUMMARY}", f"{name}: ACTIVE -> HALTED", timeout=WAIT_S
    )
    assert _trading_state(runtime) == "ACTIVE", "the hold was sent before it was confirmed"
    click(dashboard, f"#{ids.TRADES_HOLD_CONFIRM}")

    dashboard.wait_for_contains_text(
        f"#{ids.TRADES_HOLD_FEEDBACK}", f"Halted trading in {name}", timeout=WAIT_S
    )
    assert "Recorded as event #" in text(dashboard, ids.TRADES_HOLD_FEEDBACK)
    assert _trading_state(runtime) == "HALTED"
    dashboard.wait_for_contains_text(f"#{ids.TRADES_SUMMARY}", "HALTED", timeout=WAIT_S)
    assert hold_reason in text(dashboard, ids.TRADES_SUMMARY)
    wait(lambda: _audited(runtime, hold_reason), "no event records the hold and its reason")

    choose(dashboard, ids.TRADES_HOLD_MODE, "release")
    reason_box.clear()
    reason_box.send_keys("blackout over")
    click(dashboard, f"#{ids.TRADES_HOLD_APPLY}")
    dashboard.wait_for_contains_text(
        f"#{ids.TRADES_HOLD_SUMMARY}", "HALTED -> ACTIVE", timeout=WAIT_S
    )
    click(dashboard, f"#{ids.TRADES_HOLD_CONFIRM}")

    dashboard.wait_for_contains_text(
        f"#{ids.TRADES_HOLD_FEEDBACK}", f"{name} is ACTIVE", timeout=WAIT_S
    )
    assert _trading_state(runtime) == "ACTIVE"
    wait(
        lambda: "HALTED" not in text(dashboard, ids.TRADES_SUMMARY), "the strip still shows HALTED"
    )
    assert runner.snapshot().status is EngineStatus.PAUSED
    assert dashboard.get_logs() == [], "the browser console reported errors"


def test_a_hold_without_a_reason_is_refused_in_the_persons_words(
    dashboard: DashComposite, runtime: Runtime
) -> None:
    _open_trades(dashboard)
    choose(dashboard, ids.TRADES_HOLD_PORTFOLIO, PORTFOLIO)
    choose(dashboard, ids.TRADES_HOLD_MODE, "hold")
    click(dashboard, f"#{ids.TRADES_HOLD_APPLY}")

    dashboard.wait_for_contains_text(f"#{ids.TRADES_HOLD_FEEDBACK}", "Not applied", timeout=WAIT_S)
    refusal = text(dashboard, ids.TRADES_HOLD_FEEDBACK)
    assert "reason" in refusal
    assert "Error" not in refusal and "SetTradingState" not in refusal
    assert _trading_state(runtime) == "ACTIVE"
