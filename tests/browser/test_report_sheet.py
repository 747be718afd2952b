"""The tear sheet of `pcoord report` opens in headless Chromium from the file alone: every chart
drawn, no console error."""

from __future__ import annotations

from pathlib import Path

import pytest
from dash.testing.composite import DashComposite
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from app.cli import main
from tests.browser.pages import WAIT_S

pytestmark = pytest.mark.browser


def test_the_tear_sheet_opens_offline_with_every_chart(
    dash_duo: DashComposite, tmp_path: Path
) -> None:
    replay = tmp_path / "replay"
    window = ["--start", "2019-01-02", "--end", "2019-06-28"]
    assert main(["replay", *window, "--out", str(replay), "--no-progress"]) == 0
    sheet = tmp_path / "sheet.html"
    database = f"sqlite:///{replay / 'events.db'}"
    args = ["report", "--all", "--database-url", database, "--out", str(sheet), "--no-progress"]
    assert main(args) == 0
    dash_duo.driver.get(sheet.as_uri())
    # Growth, drawdown and three rolling charts for all, and three per portfolio.
    expected = 5 + 4 * 3
    WebDriverWait(dash_duo.driver, WAIT_S).until(
        lambda driver: (
            len(driver.find_elements(By.CSS_SELECTOR, ".js-plotly-plot .main-svg")) >= expected
        )
    )
    plots = dash_duo.driver.find_elements(By.CSS_SELECTOR, ".js-plotly-plot")
    assert len(plots) == expected
    summary = dash_duo.driver.find_element(By.ID, "summary")
    assert "Sharpe ratio" in summary.text and "Growth momentum" in summary.text
    # The figures travel with the page, readable by a script as JSON.
    embedded = dash_duo.driver.execute_script(
        "return JSON.parse(document.getElementById('metrics').textContent)"
    )
    assert set(embedded["portfolios"]) == {"growth", "balanced", "defensive", "market_neutral"}
    assert dash_duo.get_logs() == [], "the browser console reported errors"
