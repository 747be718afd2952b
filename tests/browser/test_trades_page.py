"""The Trades page in headless Chromium over a real engine: the blotter, schedule, crosses, blocks
and execution quality cards, and a portfolio manager holding a portfolio's trading from the form
(a SetTradingState: the strip shows it HALTED, with the reason) and releasing it again (ACTIVE).

Every wait is on a condition the page or the engine shows; none is a fixed sleep.
"""

from __future__ import annotations

import pytest
from dash.testing.composite import DashComposite

from app.runtime import Runtime
from components import ids
from engine.commands import Pause
from engine.snapshot import EngineStatus
from tests.browser.pages import WAIT_S, choose, click, open_page, text, wait

pytestmark = pytest.mark.browser

PORTFOLIO = "balanced"


def _audited(runtime: Runtime, reason: str) -> bool:
    """Some event names the manager and carries the reason, whatever the engine calls it."""
    return any(
        event.actor == "pm" and reason in str(event.payload)
        for event in runtime.store.query(limit=500)
    )


def _open_trades(dashboard: DashComposite) -> None:
    """Open the page and wait until its first refresh has drawn the strip and the blotter, so
    the form no longer moves under the pointer."""
    open_page(dashboard, "/trades")
    dashboard.wait_for_contains_text(f"#{ids.TRADES_SUMMARY}", "ACTIVE", timeout=WAIT_S)
    dashboard.wait_for_contains_text(
        f"#{ids.TRADES_WORKING_TABLE}", "algorithm (why)", timeout=WAIT_S
    )


def _trading_state(runtime: Runtime) -> str:
    return runtime.runner.snapshot().portfolio(PORTFOLIO).trading_state


def test_trades_page_shows_the_blotter_schedule_crosses_blocks_and_execution_quality(
    dashboard: DashComposite, runtime: Runtime
) -> None:
    runner = runtime.runner
    wait(lambda: runner.snapshot().recent_orders, "the engine never made an order")
    open_page(dashboard, "/trades")

    dashboard.wait_for_contains_text(f"#{ids.TRADES_SUMMARY}", "ACTIVE", timeout=WAIT_S)
    assert "orders" in text(dashboard, ids.TRADES_SUMMARY)
    for portfolio in runner.snapshot().portfolios:
        assert portfolio.name in text(dashboard, ids.TRADES_SUMMARY)
    dashboard.wait_for_contains_text(
        f"#{ids.TRADES_WORKING_TABLE}", "algorithm (why)", timeout=WAIT_S
    )
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
    dashboard.wait_for_element(f"#{ids.TRADES_ORDERS_TABLE} tbody .pc-side", timeout=WAIT_S)
    # Each working order the engine reports has its row and its Cancel button (the blotter
    # shows up to its limit).
    working = runner.snapshot().working_orders
    if working:
        wait(
            lambda: dashboard.find_elements(f"#{ids.TRADES_WORKING_TABLE} tbody button"),
            "the blotter shows no Cancel button though orders are working",
        )

    assert dashboard.get_logs() == [], "the browser console reported errors"


def test_holding_a_portfolio_from_the_form_halts_it_and_releasing_makes_it_active_again(
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

    choose(dashboard, ids.TRADES_HOLD_PORTFOLIO, PORTFOLIO)
    reason_box = dashboard.find_element(f"#{ids.TRADES_HOLD_REASON}")
    reason_box.send_keys(hold_reason)
    assert dashboard.find_element(f"#{ids.TRADES_HOLD_ACTOR}").get_attribute("value") == "pm"
    click(dashboard, f"#{ids.TRADES_HOLD_APPLY}")

    dashboard.wait_for_contains_text(
        f"#{ids.TRADES_HOLD_FEEDBACK}", f"Halted trading in {name}", timeout=WAIT_S
    )
    assert _trading_state(runtime) == "HALTED"
    dashboard.wait_for_contains_text(f"#{ids.TRADES_SUMMARY}", "HALTED", timeout=WAIT_S)
    assert hold_reason in text(dashboard, ids.TRADES_SUMMARY)
    wait(lambda: _audited(runtime, hold_reason), "no event records the hold and its reason")

    click(dashboard, f"#{ids.TRADES_HOLD_MODE} input[value='release']")
    reason_box.clear()
    reason_box.send_keys("blackout over")
    click(dashboard, f"#{ids.TRADES_HOLD_APPLY}")

    dashboard.wait_for_contains_text(
        f"#{ids.TRADES_HOLD_FEEDBACK}", f"{name} is ACTIVE", timeout=WAIT_S
    )
    assert _trading_state(runtime) == "ACTIVE"
    wait(
        lambda: "HALTED" not in text(dashboard, ids.TRADES_SUMMARY), "the strip still shows HALTED"
    )
    assert hold_reason not in text(dashboard, ids.TRADES_SUMMARY)
    assert runner.snapshot().status is EngineStatus.PAUSED

    assert dashboard.get_logs() == [], "the browser console reported errors"


def test_a_hold_without_a_reason_is_refused_before_it_reaches_the_engine(
    dashboard: DashComposite, runtime: Runtime
) -> None:
    _open_trades(dashboard)
    choose(dashboard, ids.TRADES_HOLD_PORTFOLIO, PORTFOLIO)
    click(dashboard, f"#{ids.TRADES_HOLD_APPLY}")

    dashboard.wait_for_contains_text(f"#{ids.TRADES_HOLD_FEEDBACK}", "Not applied", timeout=WAIT_S)
    assert "reason" in text(dashboard, ids.TRADES_HOLD_FEEDBACK)
    assert _trading_state(runtime) == "ACTIVE"


def test_cancelling_a_working_order_from_the_blotter_removes_it_and_is_audited(
    dashboard: DashComposite, runtime: Runtime
) -> None:
    from engine.commands import Resume

    runner = runtime.runner
    # Large orders work over several days: pause while some are working.
    for _ in range(50):
        wait(lambda: runner.snapshot().working_orders, "no order ever worked")
        runner.submit(Pause("test", "catch a working order"))
        wait(lambda: runner.snapshot().status is EngineStatus.PAUSED, "no pause")
        if runner.snapshot().working_orders:
            break
        runner.submit(Resume("test", "look again"))
        wait(lambda: runner.snapshot().status is EngineStatus.RUNNING, "no resume")
    working = {o.order_id for o in runner.snapshot().working_orders}
    assert working
    _open_trades(dashboard)
    buttons = f"#{ids.TRADES_WORKING_TABLE} tbody button"
    wait(lambda: dashboard.find_elements(buttons), "the blotter shows no Cancel button")
    row = dashboard.find_elements(f"#{ids.TRADES_WORKING_TABLE} tbody tr")[0].text
    (order_id,) = [o for o in working if o in row]
    dashboard.find_elements(buttons)[0].click()

    dashboard.wait_for_contains_text(f"#{ids.TRADES_CANCEL_FEEDBACK}", order_id, timeout=WAIT_S)
    assert order_id not in {o.order_id for o in runner.snapshot().working_orders}
    cancelled = runtime.store.query(event_type="OrderCancelled", limit=50)
    assert any(e.payload["order_id"] == order_id for e in cancelled)
    wait(
        lambda: order_id not in text(dashboard, ids.TRADES_WORKING_TABLE),
        "the cancelled order is still in the blotter",
    )
    assert dashboard.get_logs() == [], "the browser console reported errors"
