"""The Signals page in headless Chromium over a real engine: a portfolio manager's veto goes from
the form to the engine, the coordinated signal and the audit trail, and is lifted again.

Every wait is on a condition the page or the engine shows; none is a fixed sleep.
"""

from __future__ import annotations

import pytest
from dash.testing.composite import DashComposite

from app.runtime import Runtime
from components import ids
from engine.commands import Pause, Resume
from engine.snapshot import EngineStatus, StateSnapshot
from tests.browser.pages import WAIT_S, choose, click, open_page, text, wait

pytestmark = pytest.mark.browser

PORTFOLIO = "balanced"


def _coordinated_view(snapshot: StateSnapshot, portfolio_id: str, symbol: str) -> float:
    """The portfolio's coordinated confidence in the instrument; 0 where it holds no view."""
    return next(
        (
            row.confidence
            for row in snapshot.coordinated_signals
            if row.origin == portfolio_id and row.symbol == symbol
        ),
        0.0,
    )


def _strongest_view(snapshot: StateSnapshot, portfolio_id: str) -> str:
    rows = [row for row in snapshot.coordinated_signals if row.origin == portfolio_id]
    return max(rows, key=lambda row: row.confidence).symbol


def _pause(runtime: Runtime) -> None:
    runtime.runner.submit(Pause("test", "show that overrides need no cycle to appear"))
    wait(lambda: runtime.runner.snapshot().status is EngineStatus.PAUSED, "no pause")


def test_a_veto_from_the_signals_page_reaches_the_engine_and_the_audit_trail_until_lifted(
    dashboard: DashComposite, runtime: Runtime
) -> None:
    runner = runtime.runner
    wait(
        lambda: any(row.origin == PORTFOLIO for row in runner.snapshot().coordinated_signals),
        f"{PORTFOLIO} never held a coordinated view",
    )
    open_page(dashboard, "/signals")
    dashboard.wait_for_element(f"#{ids.SIGNALS_FLOW_SANKEY} .sankey", timeout=WAIT_S)
    # Paused, nothing but the command can redraw the overrides: the page must follow it at once.
    _pause(runtime)
    symbol = _strongest_view(runner.snapshot(), PORTFOLIO)
    reason = f"compliance: {symbol} on the restricted list"

    choose(dashboard, ids.SIGNALS_OVERRIDE_PORTFOLIO, PORTFOLIO)
    choose(dashboard, ids.SIGNALS_OVERRIDE_INSTRUMENT, symbol)
    choose(dashboard, ids.SIGNALS_OVERRIDE_KIND, "veto")
    dashboard.find_element(f"#{ids.SIGNALS_OVERRIDE_REASON}").send_keys(reason)
    assert dashboard.find_element(f"#{ids.SIGNALS_OVERRIDE_ACTOR}").get_attribute("value") == "pm"
    click(dashboard, f"#{ids.SIGNALS_OVERRIDE_APPLY}")

    dashboard.wait_for_contains_text(f"#{ids.SIGNALS_OVERRIDE_FEEDBACK}", "Applied", timeout=WAIT_S)
    (override,) = runner.snapshot().overrides
    assert (override.kind, override.portfolio_id, override.symbol) == ("veto", PORTFOLIO, symbol)
    assert (override.actor, override.reason) == ("pm", reason)
    assert override.override_id in text(dashboard, ids.SIGNALS_OVERRIDE_FEEDBACK)
    dashboard.wait_for_contains_text(
        f"#{ids.SIGNALS_OVERRIDES_TABLE}", override.override_id, timeout=WAIT_S
    )
    assert reason in text(dashboard, ids.SIGNALS_OVERRIDES_TABLE)
    dashboard.wait_for_contains_text(f"#{ids.SIGNALS_OVERRIDE_AUDIT}", "veto set", timeout=WAIT_S)
    assert reason in text(dashboard, ids.SIGNALS_OVERRIDE_AUDIT)
    assert runner.snapshot().status is EngineStatus.PAUSED

    # From the next cycle on, the portfolio holds no view on the vetoed instrument.
    set_at = runner.snapshot().cycles_completed
    runner.submit(Resume("test", "let the veto act"))
    assert runner.wait_for_cycles(set_at + 1, timeout_s=WAIT_S)
    assert _coordinated_view(runner.snapshot(), PORTFOLIO, symbol) == 0.0

    # The Events page has it, with who set it and why.
    open_page(dashboard, "/events")
    choose(dashboard, ids.EVENTS_TYPE_FILTER, "OverrideSet")
    dashboard.wait_for_contains_text(f"#{ids.EVENTS_TABLE}", override.override_id, timeout=WAIT_S)
    assert "pm" in text(dashboard, ids.EVENTS_TABLE)
    # The row's payload is cut to its width; picking the row shows it whole, the reason too.
    click(dashboard, f"#{ids.EVENTS_GRID} .ag-center-cols-container .ag-row .ag-cell")
    dashboard.wait_for_contains_text(f"#{ids.EVENTS_DETAIL}", "OverrideSet", timeout=WAIT_S)
    assert reason in text(dashboard, ids.EVENTS_DETAIL)

    open_page(dashboard, "/signals")
    dashboard.wait_for_contains_text(
        f"#{ids.SIGNALS_OVERRIDES_TABLE}", override.override_id, timeout=WAIT_S
    )
    click(dashboard, f"#{ids.SIGNALS_OVERRIDES_TABLE} button")
    dashboard.wait_for_contains_text(
        f"#{ids.SIGNALS_OVERRIDE_FEEDBACK}", f"Lifted {override.override_id}", timeout=WAIT_S
    )
    dashboard.wait_for_contains_text(
        f"#{ids.SIGNALS_OVERRIDES_TABLE}", "No active overrides", timeout=WAIT_S
    )
    dashboard.wait_for_contains_text(
        f"#{ids.SIGNALS_OVERRIDE_AUDIT}", "veto lifted", timeout=WAIT_S
    )
    assert "lifted from dashboard" in text(dashboard, ids.SIGNALS_OVERRIDE_AUDIT)
    wait(lambda: runner.snapshot().overrides == (), "the engine still holds the override")

    assert dashboard.get_logs() == [], "the browser console reported errors"


def test_a_pin_without_a_reason_is_refused_and_the_message_names_the_field(
    dashboard: DashComposite, runtime: Runtime
) -> None:
    open_page(dashboard, "/signals")
    choose(dashboard, ids.SIGNALS_OVERRIDE_PORTFOLIO, "growth")
    choose(dashboard, ids.SIGNALS_OVERRIDE_INSTRUMENT, "AAPL")
    choose(dashboard, ids.SIGNALS_OVERRIDE_KIND, "pin")
    score = dashboard.find_element(f"#{ids.SIGNALS_OVERRIDE_SCORE}")
    wait(score.is_enabled, "a pin does not take a score")
    score.send_keys("0.5")
    click(dashboard, f"#{ids.SIGNALS_OVERRIDE_APPLY}")

    dashboard.wait_for_contains_text(
        f"#{ids.SIGNALS_OVERRIDE_FEEDBACK}", "Not applied", timeout=WAIT_S
    )
    # The field as the person knows it, without the command's class name.
    said = text(dashboard, ids.SIGNALS_OVERRIDE_FEEDBACK)
    assert "reason: say why" in said
    assert "SetOverride" not in said
    assert runtime.runner.snapshot().overrides == ()
    dashboard.wait_for_contains_text(
        f"#{ids.SIGNALS_OVERRIDES_TABLE}", "No active overrides", timeout=WAIT_S
    )
