"""The Allocation page in headless Chromium over a real engine: the latest allocation's outcome,
risk and cash cards, and a portfolio manager's weight pin going from the form to the engine and
the audit trail, then lifted again.

Every wait is on a condition the page or the engine shows; none is a fixed sleep.
"""

from __future__ import annotations

import pytest
from dash.testing.composite import DashComposite

from app.runtime import Runtime
from components import ids
from engine.commands import Pause
from engine.snapshot import EngineStatus
from tests.browser.pages import WAIT_S, choose, click, open_page, read_text, text, wait

pytestmark = pytest.mark.browser

PORTFOLIO = "balanced"
SYMBOL = "AAPL"
WEIGHT_PCT = "4.5"


def _audited(runtime: Runtime, reason: str) -> bool:
    """Some event names the manager and carries the reason, whatever the engine calls it."""
    return any(
        event.actor == "pm" and reason in str(event.payload)
        for event in runtime.store.query(limit=500)
    )


def test_allocation_page_shows_outcome_risk_and_cash_of_the_chosen_portfolio(
    dashboard: DashComposite, runtime: Runtime
) -> None:
    runner = runtime.runner
    wait(
        lambda: runner.snapshot().portfolio(PORTFOLIO).allocation is not None,
        f"the engine never reported an allocation of {PORTFOLIO}",
    )
    open_page(dashboard, "/allocation")
    choose(dashboard, ids.ALLOCATION_PORTFOLIO_PICKER, PORTFOLIO)
    name = runner.snapshot().portfolio(PORTFOLIO).name
    dashboard.wait_for_contains_text(f"#{ids.ALLOCATION_SUMMARY}", name, timeout=WAIT_S)

    dashboard.wait_for_element(f"#{ids.ALLOCATION_OUTCOME} .badge", timeout=WAIT_S)
    statuses = {"ok", "fallback", "infeasible"}
    assert read_text(dashboard, f"#{ids.ALLOCATION_OUTCOME} .badge") in statuses
    assert "constraint at its limit" in text(dashboard, ids.ALLOCATION_OUTCOME)
    # How far the book sits from its target, and why (or that nothing holds it back).
    dashboard.wait_for_contains_text(
        f"#{ids.ALLOCATION_WHY}", "of NAV from its target", timeout=WAIT_S
    )
    # The holdings grid: every name held or targeted at its market price, never $0.
    dashboard.driver.set_window_size(1440, 900)
    positions = runner.snapshot().portfolio(PORTFOLIO).positions
    assert all(p.price_usd > 0 for p in positions), [
        (p.symbol, p.price_usd) for p in positions if not p.price_usd
    ]

    def prices() -> dict[str, str]:
        return dashboard.driver.execute_script(
            "const g = document.querySelector(arguments[0]); const out = {};"
            "g.querySelectorAll('.ag-center-cols-container .ag-row').forEach(r => {"
            " const p = r.querySelector(\"[col-id='price_usd']\");"
            " out[r.getAttribute('row-id')] = p ? p.textContent : ''; });"
            "return out;",
            f"#{ids.ALLOCATION_HOLDINGS_GRID}",
        )

    wait(
        lambda: prices() and all(prices().values()),
        f"the holdings grid shows no price in some row: {prices()}",
    )
    # (The engine runs on: the rows may be of a later close than the positions read above.)
    for symbol, price in prices().items():
        assert price.startswith("$") and price not in ("$0.00", "$0.0000"), (symbol, price)
    dashboard.wait_for_contains_text(
        f"#{ids.ALLOCATION_RISK_GRAPH}", "share of ex-ante variance", timeout=WAIT_S
    )
    wait(
        lambda: dashboard.find_elements(f"#{ids.ALLOCATION_RISK_GRAPH} .barlayer .point"),
        "the risk contributions chart has no bars",
    )
    dashboard.wait_for_contains_text(f"#{ids.ALLOCATION_CASH}", "target cash weight")
    assert "settled" in text(dashboard, ids.ALLOCATION_CASH)
    assert "interest income to date" in text(dashboard, ids.ALLOCATION_CASH)
    # The sleeves card shows only for a multi-strategy portfolio, with a row per sleeve.
    sleeves = runner.snapshot().portfolio(PORTFOLIO).allocation.sleeves
    sleeves_card = dashboard.find_element(f"#{ids.ALLOCATION_SLEEVES_CARD}")
    wait(lambda: sleeves_card.is_displayed() == bool(sleeves), "the sleeves card is not as due")
    for sleeve in sleeves:
        assert sleeve.sleeve_id in text(dashboard, ids.ALLOCATION_SLEEVES_TABLE)

    assert dashboard.get_logs() == [], "the browser console reported errors"


def test_a_weight_pin_from_the_allocation_page_reaches_the_engine_and_is_lifted_again(
    dashboard: DashComposite, runtime: Runtime
) -> None:
    runner = runtime.runner
    open_page(dashboard, "/allocation")
    choose(dashboard, ids.ALLOCATION_PORTFOLIO_PICKER, PORTFOLIO)
    dashboard.wait_for_contains_text(
        f"#{ids.ALLOCATION_OVERRIDES_TABLE}", "No weight overrides", timeout=WAIT_S
    )
    # Paused, nothing but the command can redraw the overrides: the page must follow it at once.
    runner.submit(Pause("test", "show that weight overrides need no cycle to appear"))
    wait(lambda: runner.snapshot().status is EngineStatus.PAUSED, "no pause")
    reason = f"conviction: hold {SYMBOL} at {WEIGHT_PCT}% through earnings"

    choose(dashboard, ids.ALLOCATION_OVERRIDE_INSTRUMENT, SYMBOL)
    dashboard.find_element(f"#{ids.ALLOCATION_OVERRIDE_WEIGHT}").send_keys(WEIGHT_PCT)
    dashboard.find_element(f"#{ids.ALLOCATION_OVERRIDE_REASON}").send_keys(reason)
    assert (
        dashboard.find_element(f"#{ids.ALLOCATION_OVERRIDE_ACTOR}").get_attribute("value") == "pm"
    )
    click(dashboard, f"#{ids.ALLOCATION_OVERRIDE_APPLY}")

    dashboard.wait_for_contains_text(
        f"#{ids.ALLOCATION_OVERRIDE_FEEDBACK}", f"Pinned {SYMBOL} at 4.50% of NAV", timeout=WAIT_S
    )
    (override,) = runner.snapshot().portfolio(PORTFOLIO).weight_overrides
    assert (override.symbol, override.actor, override.reason) == (SYMBOL, "pm", reason)
    assert override.weight == pytest.approx(0.045)
    dashboard.wait_for_contains_text(f"#{ids.ALLOCATION_OVERRIDES_TABLE}", reason, timeout=WAIT_S)
    shown = text(dashboard, ids.ALLOCATION_OVERRIDES_TABLE)
    assert SYMBOL in shown
    assert "4.50%" in shown
    wait(lambda: _audited(runtime, reason), "no event records the override and its reason")
    assert runner.snapshot().status is EngineStatus.PAUSED

    click(dashboard, f"#{ids.ALLOCATION_OVERRIDES_TABLE} button")
    dashboard.wait_for_contains_text(
        f"#{ids.ALLOCATION_OVERRIDE_FEEDBACK}",
        f"Lifted the weight override on {SYMBOL}",
        timeout=WAIT_S,
    )
    dashboard.wait_for_contains_text(
        f"#{ids.ALLOCATION_OVERRIDES_TABLE}", "No weight overrides", timeout=WAIT_S
    )
    assert runner.snapshot().portfolio(PORTFOLIO).weight_overrides == ()

    assert dashboard.get_logs() == [], "the browser console reported errors"


def test_a_short_pin_in_a_long_only_portfolio_is_refused_before_it_reaches_the_engine(
    dashboard: DashComposite, runtime: Runtime
) -> None:
    open_page(dashboard, "/allocation")
    choose(dashboard, ids.ALLOCATION_PORTFOLIO_PICKER, PORTFOLIO)
    assert not runtime.runner.snapshot().portfolio(PORTFOLIO).long_short
    choose(dashboard, ids.ALLOCATION_OVERRIDE_INSTRUMENT, SYMBOL)
    dashboard.find_element(f"#{ids.ALLOCATION_OVERRIDE_WEIGHT}").send_keys("-3")
    dashboard.find_element(f"#{ids.ALLOCATION_OVERRIDE_REASON}").send_keys("hedge")
    click(dashboard, f"#{ids.ALLOCATION_OVERRIDE_APPLY}")

    dashboard.wait_for_contains_text(
        f"#{ids.ALLOCATION_OVERRIDE_FEEDBACK}", "Not applied", timeout=WAIT_S
    )
    assert "long-only" in text(dashboard, ids.ALLOCATION_OVERRIDE_FEEDBACK)
    assert runtime.runner.snapshot().portfolio(PORTFOLIO).weight_overrides == ()
