"""The replay clock in the navbar, in headless Chromium over a real engine: pausing with a
reason, then Step 1 day moves the market date by exactly one trading day and says which event
recorded it. Every wait is on what the page or the engine shows."""

from __future__ import annotations

from datetime import date

import pytest
from dash.testing.composite import DashComposite

from app.runtime import Runtime
from components import ids
from engine.market.data import load_bundled
from engine.snapshot import EngineStatus
from tests.browser.pages import WAIT_S, click, text, wait

pytestmark = pytest.mark.browser


def _navbar_date(dashboard: DashComposite) -> date:
    shown = text(dashboard, ids.NAVBAR_MARKET_DATE)
    assert shown.startswith("market date ")
    return date.fromisoformat(shown.removeprefix("market date "))


def test_step_moves_the_market_date_by_exactly_one_trading_day(
    dashboard: DashComposite, runtime: Runtime
) -> None:
    runner = runtime.runner
    wait(lambda: runner.snapshot().cycles_completed >= 2, "the engine never ran a cycle")
    click(dashboard, f"#{ids.CLOCK_TOGGLE}")
    dashboard.wait_for_element(f"#{ids.CLOCK_REASON}", timeout=WAIT_S)

    # Without a reason nothing is sent, and the page says which field is missing.
    click(dashboard, f"#{ids.CLOCK_PAUSE_BUTTON}")
    dashboard.wait_for_contains_text(f"#{ids.CLOCK_FEEDBACK}", "reason:", timeout=WAIT_S)
    assert runner.snapshot().status is EngineStatus.RUNNING

    dashboard.find_element(f"#{ids.CLOCK_REASON}").send_keys("read one close at a time")
    click(dashboard, f"#{ids.CLOCK_PAUSE_BUTTON}")
    dashboard.wait_for_contains_text(f"#{ids.CLOCK_FEEDBACK}", "Paused.", timeout=WAIT_S)
    wait(lambda: runner.snapshot().status is EngineStatus.PAUSED, "the clock never paused")
    paused = runner.snapshot()
    wait(
        lambda: _navbar_date(dashboard) == paused.market_date,
        "the navbar never showed the paused market date",
    )

    dashboard.wait_for_element(f"#{ids.CLOCK_STEP_BUTTON}:not([disabled])", timeout=WAIT_S)
    click(dashboard, f"#{ids.CLOCK_STEP_BUTTON}")
    dashboard.wait_for_contains_text(
        f"#{ids.CLOCK_FEEDBACK}", "Recorded as event #", timeout=WAIT_S
    )
    dates = load_bundled(5e8).dates
    next_day = dates[dates.index(paused.market_date) + 1]
    wait(lambda: _navbar_date(dashboard) == next_day, f"the navbar never showed {next_day}")
    stepped = runner.snapshot()
    assert stepped.cycles_completed == paused.cycles_completed + 1
    assert stepped.status is EngineStatus.PAUSED
    assert "market date" in text(dashboard, ids.CLOCK_SUMMARY)
