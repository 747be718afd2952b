"""The Risk page in headless Chromium over a real engine: a portfolio manager opens /risk, picks a
portfolio, and once the engine has measured its risk sees the figures card (VaR and CVaR,
parametric and historical, in percent of NAV), the sector exposure, the shares of the 99% VaR and
the VaR history. A risk officer sees the trading state and each limit's utilisation in the limits
grid, sets a limit from the form after confirming it before -> after (and sees its new version and
audit row with the engine paused), halts and releases a book after confirming, and lowers the
order notional limit to watch the next orders scaled under it.

Every wait is on a condition the page or the engine shows; none is a fixed sleep.
"""

from __future__ import annotations

import pytest
from dash.testing.composite import DashComposite
from selenium.webdriver.support.ui import Select

from app.runtime import Runtime
from components import ids
from engine.commands import Pause, Resume
from engine.snapshot import EngineStatus, GateDecisionView, LimitView
from tests.browser.pages import WAIT_S, choose, click, open_page, text, wait

pytestmark = pytest.mark.browser


def test_risk_page_shows_the_chosen_portfolios_measured_risk(
    dashboard: DashComposite, runtime: Runtime
) -> None:
    runner = runtime.runner
    wait(lambda: runner.snapshot().risk, "the engine never measured any portfolio's risk")
    # Held still, the page must show exactly the engine's latest measurement.
    runner.submit(Pause("test", "read the risk of one close"))
    wait(
        lambda: runner.snapshot().status in (EngineStatus.PAUSED, EngineStatus.FINISHED),
        "no pause",
    )
    snapshot = runner.snapshot()
    # Pick a portfolio other than the one the picker starts on, when there is one.
    risk = snapshot.risk[-1]
    name = snapshot.portfolio(risk.portfolio_id).name

    open_page(dashboard, "/risk")
    choose(dashboard, ids.RISK_PORTFOLIO_PICKER, risk.portfolio_id)

    dashboard.wait_for_contains_text(f"#{ids.RISK_SUMMARY}", name, timeout=WAIT_S)
    dashboard.wait_for_contains_text(
        f"#{ids.RISK_SUMMARY}", risk.market_date.isoformat(), timeout=WAIT_S
    )
    dashboard.wait_for_contains_text(f"#{ids.RISK_FIGURES}", "CVaR 99%", timeout=WAIT_S)
    figures = text(dashboard, ids.RISK_FIGURES)
    assert "No risk measured yet" not in figures
    assert "parametric (% of NAV)" in figures
    assert "historical (% of NAV)" in figures
    # Fractions of NAV read as percentages, to the hundredth.
    for label, fraction in (
        ("gross exposure", risk.gross_exposure),
        ("net exposure", risk.net_exposure),
        ("volatility (annual)", risk.volatility_annual),
    ):
        assert f"{label}\n{fraction * 100:.2f}%" in figures or (
            f"{label} {fraction * 100:.2f}%" in figures
        ), (label, figures)
    for fraction in (
        risk.var_99_parametric,
        risk.var_99_historical,
        risk.cvar_99_parametric,
        risk.cvar_99_historical,
    ):
        assert f"{fraction * 100:.2f}%" in figures

    dashboard.wait_for_contains_text(
        f"#{ids.RISK_SECTOR_EXPOSURE_GRAPH}", "net exposure (% of NAV)", timeout=WAIT_S
    )
    dashboard.wait_for_contains_text(
        f"#{ids.RISK_CONTRIBUTIONS_GRAPH}", "share of the 1-day 99% VaR", timeout=WAIT_S
    )
    dashboard.wait_for_contains_text(
        f"#{ids.RISK_SECTOR_CONTRIBUTIONS_GRAPH}", "share of the 1-day 99% VaR", timeout=WAIT_S
    )
    dashboard.wait_for_contains_text(
        f"#{ids.RISK_HISTORY_GRAPH}", "1-day 99% VaR, historical", timeout=WAIT_S
    )
    wait(
        lambda: dashboard.find_elements(f"#{ids.RISK_CONTRIBUTIONS_GRAPH} .bars path"),
        "the VaR contributions chart has no bars",
    )
    # Each holding's risk attribution, with a total row that adds up to the portfolio's figures.
    if risk.attribution:
        dashboard.wait_for_contains_text(
            f"#{ids.RISK_ATTRIBUTION_TABLE}", "the totals above equal them", timeout=WAIT_S
        )
        attribution = text(dashboard, ids.RISK_ATTRIBUTION_TABLE)
        assert risk.attribution[0].symbol in attribution
        assert f"{risk.var_99_parametric * 100:.2f}%" in attribution
    assert dashboard.get_logs() == [], "the browser console reported errors"


# The risk officer's view and controls ------------------------------------------------------------

PORTFOLIO = "balanced"
NOTIONAL = "max_order_notional_usd"


def _pause(runtime: Runtime, why: str) -> None:
    runtime.runner.submit(Pause("test", why))
    wait(
        lambda: runtime.runner.snapshot().status in (EngineStatus.PAUSED, EngineStatus.FINISHED),
        "no pause",
    )


def _limits(runtime: Runtime) -> dict[str, LimitView]:
    risk = next((r for r in runtime.runner.snapshot().risk if r.portfolio_id == PORTFOLIO), None)
    return {limit.name: limit for limit in risk.limits} if risk else {}


def _open_risk(dashboard: DashComposite, runtime: Runtime) -> str:
    """Open the page on the portfolio, once its limits are drawn; the portfolio's name."""
    open_page(dashboard, "/risk")
    choose(dashboard, ids.RISK_PORTFOLIO_PICKER, PORTFOLIO)
    name = runtime.runner.snapshot().portfolio(PORTFOLIO).name
    dashboard.wait_for_contains_text(f"#{ids.RISK_SUMMARY}", name, timeout=WAIT_S)
    wait(lambda: _limit_row(dashboard, NOTIONAL), f"the limits grid has no {NOTIONAL} row")
    return name


def _limit_row(dashboard: DashComposite, limit: str) -> str:
    """The limit's row of the limits grid as the page shows it (the pinned limit column and the
    rest are two halves of one row), read in one go."""
    return dashboard.driver.execute_script(
        "return Array.from(document.querySelectorAll(arguments[0]), r => r.innerText).join(' | ');",
        f"#{ids.RISK_LIMITS_GRID} .ag-row[row-id='{limit}']",
    )


def _grid_limits(dashboard: DashComposite) -> list[str]:
    return dashboard.driver.execute_script(
        "return Array.from(document.querySelectorAll(arguments[0]),"
        " r => r.getAttribute('row-id'));",
        f"#{ids.RISK_LIMITS_GRID} .ag-pinned-left-cols-container .ag-row",
    )


def _type(dashboard: DashComposite, component_id: str, value: str) -> None:
    box = dashboard.find_element(f"#{component_id}")
    box.clear()
    box.send_keys(value)


def _confirm(dashboard: DashComposite, *expected: str) -> str:
    """The confirmation opens showing the change before -> after; confirm it. Its text."""
    # Read once the modal has faded in (a hidden element reads as no text).
    wait(
        lambda: all(part in text(dashboard, ids.RISK_CONFIRM_BODY) for part in expected),
        f"the confirmation does not show {expected}",
    )
    shown = text(dashboard, ids.RISK_CONFIRM_BODY)
    click(dashboard, f"#{ids.RISK_CONFIRM_YES}")
    wait(
        lambda: not dashboard.find_elements(f"#{ids.RISK_CONFIRM_BODY}"),
        "the confirmation stays open after Confirm",
    )
    return shown


def _set_limit(dashboard: DashComposite, limit: str, value: str, mode: str, reason: str) -> None:
    """Fill the edit-limit form as a risk officer would and press Apply."""
    choose(dashboard, ids.RISK_LIMIT_NAME, limit)
    # The form fills itself with the chosen limit's setting first; type over it after.
    dashboard.wait_for_contains_text(f"#{ids.RISK_LIMIT_VALUE_HELP}", "now v", timeout=WAIT_S)
    _type(dashboard, ids.RISK_LIMIT_VALUE, value)
    click(dashboard, f"#{ids.RISK_LIMIT_MODE} input[value='{mode}']")
    _type(dashboard, ids.RISK_LIMIT_REASON, reason)
    click(dashboard, f"#{ids.RISK_LIMIT_APPLY}")


def test_risk_page_shows_the_trading_state_and_each_limits_utilisation(
    dashboard: DashComposite, runtime: Runtime
) -> None:
    wait(lambda: _limits(runtime), "the engine never measured the portfolio's limits")
    _pause(runtime, "read the limits of one close")
    limits = _limits(runtime)
    state = runtime.runner.snapshot().portfolio(PORTFOLIO).trading_state

    _open_risk(dashboard, runtime)

    dashboard.wait_for_contains_text(f"#{ids.RISK_TRADING_STATE}", state, timeout=WAIT_S)
    wait(lambda: set(_grid_limits(dashboard)) == set(limits), "the grid lists other limits")
    for limit in limits.values():
        row = _limit_row(dashboard, limit.name)
        assert f"v{limit.version}" in row
        if limit.utilisation is not None and limit.name != "restricted_instruments":
            assert f"{limit.utilisation * 100:.0f}%" in row, (limit.name, row)
    # No column is cut at 1440 px: the grid needs no horizontal scroll to show them all.
    dashboard.driver.set_window_size(1440, 900)
    scroll = dashboard.driver.execute_script(
        "const v = document.querySelector(arguments[0]); return [v.scrollWidth, v.clientWidth];",
        f"#{ids.RISK_LIMITS_GRID} .ag-center-cols-viewport",
    )
    assert scroll[0] <= scroll[1] + 1, f"the limits grid is cut at 1440 px: {scroll}"
    for card in (ids.RISK_ALERTS_TABLE, ids.RISK_AUDIT_TABLE):
        dashboard.wait_for_element(f"#{card} table", timeout=WAIT_S)
    dashboard.wait_for_element(f"#{ids.RISK_GATE_GRID} .ag-header-cell", timeout=WAIT_S)
    assert dashboard.get_logs() == [], "the browser console reported errors"


def test_a_limit_change_shows_its_new_version_and_audit_row_without_a_new_close(
    dashboard: DashComposite, runtime: Runtime
) -> None:
    wait(lambda: NOTIONAL in _limits(runtime), f"the portfolio has no {NOTIONAL} limit")
    # Paused: no close can redraw the page; only the command's own publication can.
    _pause(runtime, "set a limit between two closes")
    before = _limits(runtime)[NOTIONAL]
    name = _open_risk(dashboard, runtime)
    wait(lambda: f"v{before.version}" in _limit_row(dashboard, NOTIONAL), "no limit row")

    _set_limit(dashboard, NOTIONAL, "2,500,000", "hard", "tighter single-order cap")
    version = before.version + 1
    _confirm(
        dashboard,
        f"{NOTIONAL} of {name}: ",
        "-> $2,500,000.00",
        f"v{before.version} -> v{version}",
        "Reason: tighter single-order cap",
    )

    dashboard.wait_for_contains_text(
        f"#{ids.RISK_LIMIT_FEEDBACK}",
        f"Set {NOTIONAL} of {name} to $2,500,000.00 (hard",
        timeout=WAIT_S,
    )
    feedback = text(dashboard, ids.RISK_LIMIT_FEEDBACK)
    assert f"now v{version}" in feedback
    assert "Recorded as event #" in feedback
    set_events = runtime.store.query(portfolio_id=PORTFOLIO, event_type="RiskLimitSet", limit=5)
    assert any(
        e.actor == "risk" and e.payload["version"] == version and e.payload["name"] == NOTIONAL
        for e in set_events
    )
    # What the control said is what the page shows, with the engine still paused.
    wait(
        lambda: (
            f"v{version}" in _limit_row(dashboard, NOTIONAL)
            and "$2,500,000.00" in _limit_row(dashboard, NOTIONAL)
        ),
        "the limits grid does not show the new threshold and version",
    )
    dashboard.wait_for_contains_text(
        f"#{ids.RISK_AUDIT_TABLE}", "tighter single-order cap", timeout=WAIT_S
    )
    audit = text(dashboard, ids.RISK_AUDIT_TABLE)
    assert "recorded at (UTC, wall clock)" in audit and "market date" in audit
    assert runtime.runner.snapshot().market_date.isoformat() in audit
    assert runtime.runner.snapshot().status is EngineStatus.PAUSED

    # A value the form cannot read is refused before any confirmation, naming the field.
    _type(dashboard, ids.RISK_LIMIT_VALUE, "a lot")
    click(dashboard, f"#{ids.RISK_LIMIT_APPLY}")
    dashboard.wait_for_contains_text(
        f"#{ids.RISK_LIMIT_FEEDBACK}", "Not applied. value: 'a lot'", timeout=WAIT_S
    )
    assert not dashboard.find_elements(f"#{ids.RISK_CONFIRM_BODY}")
    # One the engine refuses (an instrument it does not know) comes back with its field named,
    # in the person's words (no internal class name).
    choose(dashboard, ids.RISK_LIMIT_NAME, "restricted_instruments")
    wait(
        lambda: dashboard.find_element(f"#{ids.RISK_LIMIT_SYMBOLS}").is_enabled(),
        "the symbols field stays disabled for restricted instruments",
    )
    _type(dashboard, ids.RISK_LIMIT_SYMBOLS, "ZZZZ")
    _type(dashboard, ids.RISK_LIMIT_REASON, "no new exposure")
    click(dashboard, f"#{ids.RISK_LIMIT_APPLY}")
    _confirm(dashboard, f"restricted_instruments of {name}: none -> ZZZZ")
    dashboard.wait_for_contains_text(
        f"#{ids.RISK_LIMIT_FEEDBACK}", "Not applied. symbols", timeout=WAIT_S
    )
    refusal = text(dashboard, ids.RISK_LIMIT_FEEDBACK)
    assert "SetRiskLimit" not in refusal
    assert "restricted_instruments" not in _limits(runtime)
    assert dashboard.get_logs() == [], "the browser console reported errors"


def test_a_halt_asks_for_confirmation_then_the_chip_says_halted(
    dashboard: DashComposite, runtime: Runtime
) -> None:
    _pause(runtime, "show that a trading state needs no cycle to appear")
    assert runtime.runner.snapshot().portfolio(PORTFOLIO).trading_state == "ACTIVE"
    name = _open_risk(dashboard, runtime)
    dashboard.wait_for_contains_text(f"#{ids.RISK_TRADING_STATE}", "ACTIVE", timeout=WAIT_S)
    # No destructive default: the select starts empty, and Apply on it asks for a state.
    select = Select(dashboard.find_element(f"#{ids.RISK_STATE_SELECT}"))
    assert select.first_selected_option.get_attribute("value") == ""
    _type(dashboard, ids.RISK_STATE_REASON, "breach review")
    click(dashboard, f"#{ids.RISK_STATE_APPLY}")
    dashboard.wait_for_contains_text(
        f"#{ids.RISK_STATE_FEEDBACK}", "Not applied. trading state", timeout=WAIT_S
    )
    assert runtime.runner.snapshot().portfolio(PORTFOLIO).trading_state == "ACTIVE"

    select.select_by_value("HALTED")
    click(dashboard, f"#{ids.RISK_STATE_APPLY}")
    working = sum(
        1 for o in runtime.runner.snapshot().working_orders if o.portfolio_id == PORTFOLIO
    )
    # Cancel first: nothing is sent.
    wait(
        lambda: f"{name}: ACTIVE -> HALTED" in text(dashboard, ids.RISK_CONFIRM_BODY),
        "the confirmation does not show the change",
    )
    click(dashboard, f"#{ids.RISK_CONFIRM_NO}")
    dashboard.wait_for_contains_text(
        f"#{ids.RISK_STATE_FEEDBACK}", "Not sent: cancelled", timeout=WAIT_S
    )
    assert runtime.runner.snapshot().portfolio(PORTFOLIO).trading_state == "ACTIVE"

    click(dashboard, f"#{ids.RISK_STATE_APPLY}")
    orders = "no working order to cancel" if not working else f"its {working} working order"
    _confirm(dashboard, f"{name}: ACTIVE -> HALTED", orders, "Reason: breach review")
    dashboard.wait_for_contains_text(
        f"#{ids.RISK_STATE_FEEDBACK}", f"Halted trading in {name}", timeout=WAIT_S
    )
    assert "Recorded as event #" in text(dashboard, ids.RISK_STATE_FEEDBACK)
    assert runtime.runner.snapshot().portfolio(PORTFOLIO).trading_state == "HALTED"
    dashboard.wait_for_contains_text(f"#{ids.RISK_TRADING_STATE}", "HALTED", timeout=WAIT_S)
    badge = dashboard.find_element(f"#{ids.RISK_TRADING_STATE} .badge")
    assert "bg-danger" in badge.get_attribute("class")
    dashboard.wait_for_contains_text(f"#{ids.RISK_AUDIT_TABLE}", "breach review", timeout=WAIT_S)

    # Releasing it asks too, and says so.
    select.select_by_value("ACTIVE")
    _type(dashboard, ids.RISK_STATE_REASON, "review done")
    click(dashboard, f"#{ids.RISK_STATE_APPLY}")
    _confirm(dashboard, f"{name}: HALTED -> ACTIVE (release)")
    dashboard.wait_for_contains_text(
        f"#{ids.RISK_STATE_FEEDBACK}", f"{name} is ACTIVE", timeout=WAIT_S
    )
    dashboard.wait_for_contains_text(f"#{ids.RISK_TRADING_STATE}", "ACTIVE", timeout=WAIT_S)
    dashboard.wait_for_contains_text(f"#{ids.RISK_AUDIT_TABLE}", "review done", timeout=WAIT_S)
    assert dashboard.get_logs() == [], "the browser console reported errors"


def test_lowering_the_order_notional_limit_scales_the_next_orders_under_it(
    dashboard: DashComposite, runtime: Runtime
) -> None:
    runner = runtime.runner
    cap_usd = 10_000
    wait(lambda: NOTIONAL in _limits(runtime), f"the portfolio has no {NOTIONAL} limit")
    _pause(runtime, "lower a limit between two closes")
    changed_on = runner.snapshot().market_date
    _open_risk(dashboard, runtime)

    _set_limit(dashboard, NOTIONAL, f"{cap_usd}", "soft", "small orders only")
    _confirm(dashboard, "-> $10,000.00 (lower: tighter)")
    dashboard.wait_for_contains_text(
        f"#{ids.RISK_LIMIT_FEEDBACK}", "$10,000.00 (soft", timeout=WAIT_S
    )
    runner.submit(Resume("test", "trade under the new limit"))

    def scaled() -> list[GateDecisionView]:
        return [
            d
            for d in runner.snapshot().gate_decisions
            if d.portfolio_id == PORTFOLIO
            and d.limit == NOTIONAL
            and d.action == "scaled"
            and d.market_date > changed_on
        ]

    wait(scaled, f"no order was scaled to fit the lowered {NOTIONAL}")
    for decision in scaled():
        assert decision.approved_shares < decision.requested_shares
        assert decision.threshold == cap_usd
    # The next orders of the portfolio stay under the limit at their decision price.
    new_orders = [
        o
        for o in runner.snapshot().recent_orders
        if o.portfolio_id == PORTFOLIO and o.created > changed_on
    ]
    assert new_orders
    for order in new_orders:
        assert order.quantity_shares * order.decision_price_usd <= cap_usd, order

    # The page lists them, naming the limit.
    dashboard.wait_for_contains_text(f"#{ids.RISK_GATE_GRID}", NOTIONAL, timeout=WAIT_S)
    gate = text(dashboard, ids.RISK_GATE_GRID)
    assert "scaled" in gate
    assert "$10,000.00" in gate
    assert dashboard.get_logs() == [], "the browser console reported errors"
