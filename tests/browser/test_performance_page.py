"""The Performance page in headless Chromium over a real engine: an analyst picks one portfolio
and a date range, and every panel follows: the metrics against the benchmark, growth,
drawdown, rolling figures, monthly returns, the Brinson waterfall, chart and table, execution
quality and the seed's gates. Every wait is on what the page or the engine shows."""

from __future__ import annotations

from datetime import date

import pytest
from dash.testing.composite import DashComposite
from selenium.webdriver.common.keys import Keys

from app.runtime import Runtime
from components import ids
from engine.commands import Pause
from engine.snapshot import EngineStatus
from tests.browser.pages import WAIT_S, choose, click, open_page, text, wait

pytestmark = pytest.mark.browser

CHARTS = (
    ids.PERF_GROWTH_GRAPH,
    ids.PERF_DRAWDOWN_GRAPH,
    ids.PERF_ROLLING_GRAPH,
    ids.PERF_MONTHLY_GRAPH,
    ids.PERF_WATERFALL_GRAPH,
    ids.PERF_BRINSON_GRAPH,
)


def _traces(dashboard: DashComposite, graph_id: str) -> int:
    """Traces with points that plotly drew in the graph."""
    return dashboard.driver.execute_script(
        "const plot = document.querySelector(arguments[0]);"
        "if (!plot || !plot._fullData) { return 0; }"
        "return plot._fullData.filter(t => (t.z || t.x || []).length > 0).length;",
        f"#{graph_id} .js-plotly-plot",
    )


def _type_date(dashboard: DashComposite, field_id: str, day: date) -> None:
    """Type a date into the range picker's start or end field, as a person would."""
    field = dashboard.find_element(f"input#{field_id}")
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys(day.isoformat(), Keys.ENTER)


def test_every_panel_follows_one_portfolio_and_a_date_range(
    dashboard: DashComposite, runtime: Runtime
) -> None:
    runner = runtime.runner
    # Some 100 trading days in, held still so that the figures cannot move under the test.
    wait(lambda: runner.snapshot().cycles_completed >= 100, "the engine never ran 100 cycles")
    runner.submit(Pause("test", "read the performance of a fixed run"))
    wait(lambda: runner.snapshot().status is EngineStatus.PAUSED, "no pause")
    snapshot = runner.snapshot()
    first = snapshot.portfolios[0]
    chosen = snapshot.portfolios[1]

    open_page(dashboard, "/performance")
    dashboard.wait_for_contains_text(f"#{ids.PERF_METRICS}", "Sharpe ratio", timeout=WAIT_S)
    assert first.name in text(dashboard, ids.PERF_METRICS)
    # Keep only the second portfolio: untick every other one.
    for view in snapshot.portfolios:
        if view.portfolio_id != chosen.portfolio_id:
            click(dashboard, f"#{ids.PERF_PORTFOLIOS} input[value='{view.portfolio_id}']")
    wait(
        lambda: first.name not in text(dashboard, ids.PERF_METRICS),
        "the metrics never left the unticked portfolios out",
    )
    choose(dashboard, ids.PERF_FOCUS, chosen.portfolio_id)
    # A range inside the run, from its 10th trading day to its 90th, and the rolling figures
    # over 63 days (the range holds fewer than the default 252).
    days = [point.timestamp for point in chosen.nav_history]
    start, end = days[9], days[89]
    click(dashboard, f"#{ids.PERF_ROLLING_WINDOW} input[value='63']")
    _type_date(dashboard, ids.PERF_DATES, start)
    _type_date(dashboard, f"{ids.PERF_DATES}-end-date", end)
    dashboard.wait_for_contains_text(
        f"#{ids.PERF_STATUS}", f"market dates {start} to {end}", timeout=WAIT_S
    )
    metrics = text(dashboard, ids.PERF_METRICS)
    assert chosen.name in metrics and "information ratio" in metrics
    for chart in CHARTS:
        wait(lambda chart=chart: _traces(dashboard, chart) > 0, f"{chart} drew nothing")
    sectors = text(dashboard, ids.PERF_BRINSON_TABLE)
    assert "all sectors" in sectors and "active return" in sectors
    factors = text(dashboard, ids.PERF_FACTOR_TABLE)
    assert "factor 1" in factors and "specific to the names" in factors
    # The second default portfolio is the multi-strategy one: its sleeves are shown.
    assert chosen.portfolio_id == "balanced"
    sleeves = text(dashboard, ids.PERF_SLEEVE_TABLE)
    assert "trend" in sleeves and "reversion" in sleeves and "holdings' return" in sleeves
    # Its profit and loss by signal view (both sleeves' sources) and by decision; the two
    # tables end on the same return over the range.
    sources = text(dashboard, ids.PERF_SOURCE_TABLE)
    assert "momentum/" in sources and "mean_reversion/" in sources
    assert "trading, costs and cash income" in sources
    decisions = text(dashboard, ids.PERF_DECISION_TABLE)
    assert "the mandate's limits" in decisions and "risk gate" in decisions
    assert "fills and timing" in decisions
    source_total = sources.split("total")[-1].split()[-1]
    assert decisions.split("portfolio's return")[-1].split()[0] == source_total
    assert "shortfall (bps)" in text(dashboard, ids.PERF_EXECUTION_TABLE)
    click(dashboard, f"#{ids.PERF_EXECUTION_GROUP} input[value='instrument']")
    dashboard.wait_for_contains_text(f"#{ids.PERF_EXECUTION_TABLE}", "symbol", timeout=WAIT_S)
    gates = text(dashboard, ids.PERF_GATES)
    assert "cycles without error" in gates and "state-consistency checks passed" in gates
    assert dashboard.get_logs() == [], "the browser console reported errors"
