"""The Events page in headless Chromium over a real engine: a picked event shows its whole
payload, pretty-printed, with both its times (wall clock, UTC, and the market date of its cycle);
the grid sorts oldest first on the server.

Every wait is on a condition the page or the engine shows; none is a fixed sleep.
"""

from __future__ import annotations

import json

import pytest
from dash.testing.composite import DashComposite
from selenium.webdriver.support.ui import Select

from app.runtime import Runtime
from components import ids
from engine.commands import Pause
from engine.snapshot import EngineStatus
from tests.browser.pages import WAIT_S, click, open_page, text, wait

pytestmark = pytest.mark.browser


def _cells(dashboard: DashComposite, field: str) -> list[str]:
    """One column of the grid, top to bottom, read in one step."""
    return dashboard.driver.execute_script(
        """
        const index = cell => Number(cell.closest('.ag-row').getAttribute('row-index'));
        const cells = Array.from(document.querySelectorAll(arguments[0]));
        cells.sort((a, b) => index(a) - index(b));
        return cells.map(cell => cell.textContent);
        """,
        f"#{ids.EVENTS_GRID} .ag-cell[col-id='{field}']",
    )


def _seqs(dashboard: DashComposite) -> list[int] | None:
    """The seq column as numbers; None while a row is still loading (an empty cell)."""
    cells = _cells(dashboard, "seq")
    if not cells or not all(cells):
        return None
    return [int(seq.replace(",", "")) for seq in cells]


def _paused_on_events(dashboard: DashComposite, runtime: Runtime) -> None:
    runner = runtime.runner
    assert runner.wait_for_cycles(5, timeout_s=WAIT_S)
    runner.submit(Pause("test", "a still log to read"))
    wait(lambda: runner.snapshot().status is EngineStatus.PAUSED, "no pause")
    open_page(dashboard, "/events")
    wait(lambda: _cells(dashboard, "seq"), "the events grid shows no row")


def test_a_picked_event_shows_its_whole_payload_and_both_its_times(
    dashboard: DashComposite, runtime: Runtime
) -> None:
    _paused_on_events(dashboard, runtime)
    Select(dashboard.find_element(f"#{ids.EVENTS_TYPE_FILTER}")).select_by_value("OrderFilled")
    wait(lambda: set(_cells(dashboard, "type")) == {"OrderFilled"}, "filter not applied")
    wait(lambda: _seqs(dashboard), "the events grid shows no whole row")
    seq = _seqs(dashboard)[0]
    (event,) = [e for e in runtime.store.query(event_type="OrderFilled", limit=50) if e.seq == seq]
    # Each row shows the market date of its cycle: an OrderFilled says its own.
    assert _cells(dashboard, "market_date")[0] == event.payload["market_date"]

    click(
        dashboard, f"#{ids.EVENTS_GRID} .ag-center-cols-container .ag-row[row-id='{seq}'] .ag-cell"
    )
    dashboard.wait_for_contains_text(
        f"#{ids.EVENTS_DETAIL}", f"#{seq:,} OrderFilled", timeout=WAIT_S
    )
    detail = text(dashboard, ids.EVENTS_DETAIL)
    assert "wall clock, UTC" in detail
    assert f"market date {event.payload['market_date']}" in detail
    pretty = dashboard.find_element(f"#{ids.EVENTS_DETAIL} pre").text
    # The whole payload, one field a line, exactly what the store holds.
    assert json.loads(pretty) == json.loads(json.dumps(event.payload, default=str))
    assert pretty.count("\n") >= len(event.payload)
    assert dashboard.get_logs() == [], "the browser console reported errors"


def test_the_events_grid_sorts_oldest_first_on_the_server(
    dashboard: DashComposite, runtime: Runtime
) -> None:
    _paused_on_events(dashboard, runtime)
    wait(lambda: _seqs(dashboard), "the events grid shows no whole row")
    newest = _seqs(dashboard)
    assert newest == sorted(newest, reverse=True)

    click(dashboard, f"#{ids.EVENTS_GRID} .ag-header-cell[col-id='seq'] .ag-header-cell-label")
    oldest = [e.seq for e in runtime.store.read_from(1, limit=len(newest))]
    wait(
        lambda: _seqs(dashboard) == oldest,
        "sorting by seq did not show the first events of the log",
    )
    assert dashboard.get_logs() == [], "the browser console reported errors"
