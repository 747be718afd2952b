"""The dashboard in headless Chromium, over a real engine replaying the bundled market history.

Run with ``pytest tests/browser --webdriver Chrome --headless``. Every wait is on a condition the
page shows (a text, an element); none is a fixed sleep.
"""

from __future__ import annotations

import json
import re
import urllib.request
from decimal import Decimal
from pathlib import Path

import pytest
from dash.testing.composite import DashComposite
from selenium.webdriver.support.ui import Select

from app.runtime import Runtime
from components import formatting as fmt
from components import ids
from components.cards import pnl_text, turnover_text
from components.event_grid import EVENTS_GRID_PAGE
from engine.commands import Pause
from engine.snapshot import EngineStatus
from tests.browser.pages import WAIT_S, click, open_page, read_text, text, wait

pytestmark = pytest.mark.browser


def _count(dash_duo: DashComposite, component_id: str) -> int:
    return int(text(dash_duo, component_id).replace(",", ""))


def _event_column(dash_duo: DashComposite, field: str) -> list[str]:
    """One column of the events grid, top to bottom, read in one step (the grid reloads as the
    log grows)."""
    return dash_duo.driver.execute_script(
        """
        const index = cell => Number(cell.closest('.ag-row').getAttribute('row-index'));
        const cells = Array.from(document.querySelectorAll(arguments[0]));
        cells.sort((a, b) => index(a) - index(b));
        return cells.map(cell => cell.textContent);
        """,
        f"#{ids.EVENTS_GRID} .ag-cell[col-id='{field}']",
    )


def _seqs(dash_duo: DashComposite) -> list[int]:
    """The seq column as numbers; empty while a row is still loading (an empty cell)."""
    cells = _event_column(dash_duo, "seq")
    return [int(seq.replace(",", "")) for seq in cells] if all(cells) else []


def _shows_latency_against_the_gates(dashboard: DashComposite, runtime: Runtime) -> None:
    """The Engine page's latency card: the recent cycles' percentiles, the 50 ms target and
    200 ms seed gate they are held to, and the engine size next to the one the targets are set
    for."""
    card = f"#{ids.ENGINE_LATENCY_SUMMARY}"
    dashboard.wait_for_element(f"{card} .pc-latency-p95", timeout=WAIT_S)
    count = re.search(
        r"Last ([\d,]+) cycles? \(cycles? [\d,–]+\)", text(dashboard, ids.ENGINE_LATENCY_SUMMARY)
    )
    assert count is not None, "the latency card does not say how many cycles it summarises"
    assert 1 <= int(count.group(1).replace(",", "")) <= 300
    for percentile in ("p50", "p95", "p99", "max"):
        shown = read_text(dashboard, f"{card} .pc-latency-{percentile}")
        assert re.fullmatch(r"[\d,]+\.\d ms", shown), f"{percentile} reads {shown!r}"
    shown = text(dashboard, ids.ENGINE_LATENCY_SUMMARY)
    assert "target ≤ 50 ms · seed gate ≤ 200 ms" in shown
    assert "target ≤ 100 ms" in shown
    assert "of cycles within 200 ms · the seed gate asks ≥ 95%" in shown
    assert "of cycles within 50 ms · our target asks ≥ 95%" in shown
    assert "slowest stage by p95: " in shown
    snapshot = runtime.runner.snapshot()
    assert "Targets are set for 500 instruments × 10 portfolios on 2 cores" in shown
    assert (
        f"This engine: {len(snapshot.instruments):,} instruments × "
        f"{len(snapshot.portfolios):,} portfolios." in shown
    )
    trend = f"#{ids.ENGINE_LATENCY_TREND_GRAPH}"
    dashboard.wait_for_contains_text(trend, "seed gate 200 ms", timeout=WAIT_S)
    dashboard.wait_for_contains_text(trend, "target p95 50 ms", timeout=WAIT_S)
    assert len(dashboard.find_elements(f"{trend} .scatterlayer .trace")) == 1


def _nav_axis_type(dash_duo: DashComposite) -> str:
    """The NAV chart's y axis type as plotly drew it."""
    return dash_duo.driver.execute_script(
        "const plot = document.querySelector(arguments[0]);"
        "return plot && plot._fullLayout ? plot._fullLayout.yaxis.type : null;",
        f"#{ids.OVERVIEW_NAV_GRAPH} .js-plotly-plot",
    )


def test_every_page_shows_the_engine_state(dashboard: DashComposite, runtime: Runtime) -> None:
    portfolios = runtime.runner.snapshot().portfolios
    names = [view.name for view in portfolios]

    # Overview: each book in the table, one rebased NAV line per portfolio.
    wait(lambda: text(dashboard, ids.OVERVIEW_AUM).startswith("$"), "no total AUM")
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", text(dashboard, ids.OVERVIEW_MARKET_DATE))
    for name in names:
        dashboard.wait_for_contains_text(f"#{ids.OVERVIEW_BOOKS_TABLE}", name, timeout=WAIT_S)
    wait(
        lambda: (
            len(dashboard.find_elements(f"#{ids.OVERVIEW_NAV_GRAPH} .scatterlayer .trace"))
            == len(names)
        ),
        "the NAV chart does not draw one line per portfolio",
    )
    dashboard.wait_for_contains_text(f"#{ids.OVERVIEW_NAV_GRAPH}", "NAV rebased (start = 100)")

    # Engine: counters, latency bars per stage, latency against the gates.
    open_page(dashboard, "/engine")
    # The counters are drawn with the status badge, by one callback.
    dashboard.wait_for_element(f"#{ids.ENGINE_STATUS_BADGE} .badge", timeout=WAIT_S)
    wait(lambda: _count(dashboard, ids.ENGINE_CYCLES) > 0, "no cycle was counted")
    assert text(dashboard, ids.ENGINE_SPEED) == "20 days/s"
    dashboard.wait_for_contains_text(f"#{ids.ENGINE_LATENCY_GRAPH}", "latency (ms)")
    stages = runtime.runner.snapshot().stage_names
    wait(
        lambda: (
            len(dashboard.find_elements(f"#{ids.ENGINE_LATENCY_GRAPH} .barlayer .trace"))
            == len(stages)
        ),
        "the latency chart does not stack one bar per stage",
    )

    # Signals: a heatmap per source and per portfolio, and the ranked table.
    open_page(dashboard, "/signals")
    dashboard.wait_for_element(f"#{ids.SIGNALS_RAW_HEATMAP} .hm", timeout=WAIT_S)
    dashboard.wait_for_element(f"#{ids.SIGNALS_COORDINATED_HEATMAP} .hm", timeout=WAIT_S)
    for source in {row.origin for row in runtime.runner.snapshot().raw_signals}:
        dashboard.wait_for_contains_text(f"#{ids.SIGNALS_RAW_HEATMAP}", source, timeout=WAIT_S)
    dashboard.wait_for_contains_text(f"#{ids.SIGNALS_COORDINATED_TABLE}", names[0], timeout=WAIT_S)

    # Allocation: the first portfolio is chosen; choosing another redraws for it.
    open_page(dashboard, "/allocation")
    dashboard.wait_for_contains_text(f"#{ids.ALLOCATION_SUMMARY}", names[0], timeout=WAIT_S)
    dashboard.wait_for_contains_text(f"#{ids.ALLOCATION_HOLDINGS_TABLE}", "NAV", timeout=WAIT_S)
    dashboard.wait_for_contains_text(f"#{ids.ALLOCATION_WEIGHTS_GRAPH}", "weight (% of NAV)")
    Select(dashboard.find_element(f"#{ids.ALLOCATION_PORTFOLIO_PICKER}")).select_by_visible_text(
        names[-1]
    )
    dashboard.wait_for_contains_text(f"#{ids.ALLOCATION_SUMMARY}", names[-1], timeout=WAIT_S)
    assert len(dashboard.find_elements(f"#{ids.ALLOCATION_WEIGHTS_GRAPH} .barlayer .trace")) == 2

    # Trades: orders and fills, each row with its side.
    open_page(dashboard, "/trades")
    dashboard.wait_for_element(f"#{ids.TRADES_ORDERS_GRID} .pc-side", timeout=WAIT_S)
    dashboard.wait_for_element(f"#{ids.TRADES_FILLS_GRID} .pc-side", timeout=WAIT_S)
    dashboard.wait_for_contains_text(f"#{ids.TRADES_SUMMARY}", "orders", timeout=WAIT_S)

    # Events: newest first, filtered by type, paged forth and back on the server.
    open_page(dashboard, "/events")
    dashboard.wait_for_contains_text(f"#{ids.EVENTS_PAGE_LABEL}", "newest first", timeout=WAIT_S)
    Select(dashboard.find_element(f"#{ids.EVENTS_TYPE_FILTER}")).select_by_value("OrderCreated")
    wait(
        lambda: set(_event_column(dashboard, "type")) == {"OrderCreated"},
        "the type filter lets other event types through",
    )
    # More than a page (25) of them, then a still log to page through.
    wait(
        lambda: len(runtime.store.query(event_type="OrderCreated", limit=30)) == 30,
        "fewer than two pages of OrderCreated events",
    )
    runtime.runner.submit(Pause("test", "a still log to page through"))
    wait(lambda: runtime.runner.snapshot().status is EngineStatus.PAUSED, "no pause")
    # Paused, the log holds still: wait until the grid shows its newest full page (a reload
    # started before the pause may still be on its way) before paging from it.
    newest_seq = runtime.store.query(event_type="OrderCreated", limit=1)[0].seq

    def first_page_is_current() -> bool:
        page = _seqs(dashboard)
        return len(page) == EVENTS_GRID_PAGE and page[0] == newest_seq

    wait(first_page_is_current, "the grid does not show the newest page of OrderCreated events")
    newest_page = _seqs(dashboard)
    click(dashboard, f"#{ids.EVENTS_GRID} .ag-paging-button[aria-label='Next Page']")
    wait(
        lambda: (page := _seqs(dashboard)) and max(page) < min(newest_page),
        "the next page does not hold older events",
    )
    older_page = _seqs(dashboard)
    assert older_page == sorted(older_page, reverse=True), "events are not newest first"
    assert set(_event_column(dashboard, "type")) == {"OrderCreated"}
    click(dashboard, f"#{ids.EVENTS_GRID} .ag-paging-button[aria-label='Previous Page']")
    wait(lambda: _seqs(dashboard) == newest_page, "the first page did not come back")

    assert dashboard.get_logs() == [], "the browser console reported errors"


def test_overview_shows_the_managers_figures_of_the_snapshot(
    dashboard: DashComposite, runtime: Runtime
) -> None:
    assert runtime.runner.wait_for_cycles(3, timeout_s=WAIT_S)
    # Paused, the figures hold still, so the page can be compared with the read model exactly.
    runtime.runner.submit(Pause("test", "compare the Overview with a still snapshot"))
    wait(lambda: runtime.runner.snapshot().status is EngineStatus.PAUSED, "no pause")
    overview = runtime.runner.snapshot().overview
    assert overview is not None

    dashboard.wait_for_text_to_equal(
        f"#{ids.OVERVIEW_MARKET_DATE}", fmt.day(overview.market_date), timeout=WAIT_S
    )
    dashboard.wait_for_text_to_equal(
        f"#{ids.OVERVIEW_AUM}", fmt.usd(overview.aum_usd), timeout=WAIT_S
    )
    assert text(dashboard, ids.OVERVIEW_PNL_TODAY) == pnl_text(
        overview.pnl_today_usd, overview.pnl_today_pct
    )
    assert text(dashboard, ids.OVERVIEW_PNL_PERIOD) == pnl_text(
        overview.pnl_period_usd, overview.pnl_period_pct
    )
    assert text(dashboard, ids.OVERVIEW_CASH_TO_INVEST) == fmt.usd(overview.cash_to_invest_usd)
    rows = dashboard.find_elements(f"#{ids.OVERVIEW_BOOKS_TABLE} tbody tr.pc-book-row")
    assert len(rows) == len(overview.books)
    for row, book in zip(rows, overview.books, strict=True):
        assert book.name in row.text
        assert fmt.usd(book.nav_usd) in row.text
        assert turnover_text(book.annual_turnover) in row.text
    header = text(dashboard, ids.OVERVIEW_BOOKS_TABLE)
    for column in ("Drift from target", "Cash to invest", "Annual turnover"):
        assert column in header

    # The log switch redraws the axis alone, and back.
    wait(lambda: _nav_axis_type(dashboard) == "linear", "the NAV chart is not drawn")
    dashboard.find_element(f"#{ids.OVERVIEW_NAV_SCALE} input[value='log']").click()
    wait(lambda: _nav_axis_type(dashboard) == "log", "the log switch did not change the axis")
    dashboard.find_element(f"#{ids.OVERVIEW_NAV_SCALE} input[value='linear']").click()
    wait(lambda: _nav_axis_type(dashboard) == "linear", "the axis did not go back to linear")
    assert dashboard.get_logs() == [], "the browser console reported errors"


def test_engine_page_shows_the_cycle_latency_against_the_gates(
    dashboard: DashComposite, runtime: Runtime
) -> None:
    open_page(dashboard, "/engine")
    dashboard.wait_for_element(f"#{ids.ENGINE_STATUS_BADGE} .badge", timeout=WAIT_S)
    wait(lambda: _count(dashboard, ids.ENGINE_CYCLES) > 0, "no cycle was counted")
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", text(dashboard, ids.ENGINE_MARKET_DATE))
    assert re.fullmatch(r"[\d,]+\.\d ms", text(dashboard, ids.ENGINE_LAST_CYCLE_MS))
    wait(
        lambda: re.fullmatch(
            r"[\d,]+\.\d ms \(cycle [\d,]+\)", text(dashboard, ids.ENGINE_SNAPSHOT_MS)
        ),
        "the snapshot publication time is not shown",
    )
    assert text(dashboard, ids.ENGINE_CYCLE_ERRORS) == "0"
    assert "embedded bus" in text(dashboard, ids.ENGINE_TRANSPORT)
    assert "(wall clock)" in text(dashboard, ids.ENGINE_PUBLISHED_AT)
    _shows_latency_against_the_gates(dashboard, runtime)
    assert dashboard.get_logs() == [], "the browser console reported errors"


def test_health_api_reports_status_progress_and_exact_money(
    dashboard: DashComposite, runtime: Runtime
) -> None:
    # Paused, the engine's numbers hold still, so the API can be compared with them exactly.
    runtime.runner.submit(Pause("test", "compare the API with a still snapshot"))
    wait(
        lambda: runtime.runner.snapshot().status is EngineStatus.PAUSED, "the engine did not pause"
    )
    snapshot = runtime.runner.snapshot()

    with urllib.request.urlopen(f"{dashboard.server_url}/api/health", timeout=WAIT_S) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "application/json"
        health = json.load(response)

    assert health["status"] == "paused"
    assert health["cycles_completed"] == snapshot.cycles_completed
    assert health["market_date"] == snapshot.market_date.isoformat()
    assert health["last_cycle_ms"] == snapshot.last_cycle_ms
    assert [p["id"] for p in health["portfolios"]] == [v.portfolio_id for v in snapshot.portfolios]
    for sent, view in zip(health["portfolios"], snapshot.portfolios, strict=True):
        assert sent["name"] == view.name
        assert isinstance(sent["nav_usd"], str)
        assert Decimal(sent["nav_usd"]) == view.nav_usd
        assert Decimal(sent["cash_usd"]) == view.cash_usd


def test_events_export_downloads_the_filtered_log_as_csv(
    dashboard: DashComposite, runtime: Runtime
) -> None:
    from tests.conftest import DOWNLOAD_DIR

    assert runtime.runner.wait_for_cycles(3, timeout_s=WAIT_S)
    open_page(dashboard, "/events")
    dashboard.wait_for_element(f"#{ids.EVENTS_GRID} .ag-row", timeout=WAIT_S)
    wait(
        lambda: (
            "OrderFilled"
            in [
                o.get_attribute("value")
                for o in Select(dashboard.find_element(f"#{ids.EVENTS_TYPE_FILTER}")).options
            ]
        ),
        "the type filter never offered OrderFilled",
    )
    Select(dashboard.find_element(f"#{ids.EVENTS_TYPE_FILTER}")).select_by_value("OrderFilled")
    wait(lambda: set(_event_column(dashboard, "type")) == {"OrderFilled"}, "filter not applied")
    runtime.runner.submit(Pause("test", "a still log to compare the export with"))
    wait(lambda: runtime.runner.snapshot().status is EngineStatus.PAUSED, "no pause")
    # Headless Chromium saves downloads only where DevTools allows it.
    dashboard.driver.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": DOWNLOAD_DIR}
    )
    dashboard.find_element(f"#{ids.EVENTS_EXPORT_BUTTON}").click()
    exported = Path(DOWNLOAD_DIR) / "events-all-portfolios-OrderFilled.csv"
    wait(exported.exists, f"no download at {exported}")

    import csv

    with exported.open() as handle:
        rows = list(csv.DictReader(handle))
    stored = runtime.store.query(event_type="OrderFilled", limit=100_000)[::-1]
    assert [int(row["seq"]) for row in rows] == [event.seq for event in stored]
    first = json.loads(rows[0]["payload_json"])
    assert Decimal(first["price_usd"]) == Decimal(stored[0].payload["price_usd"])
