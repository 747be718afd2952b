"""The Risk page in headless Chromium over a real engine: a portfolio manager opens /risk, picks a
portfolio, and once the engine has measured its risk sees the figures card (VaR and CVaR,
parametric and historical, in percent of NAV), the sector exposure, the shares of the 99% VaR and
the VaR history.

Every wait is on a condition the page or the engine shows; none is a fixed sleep.
"""

from __future__ import annotations

import pytest
from dash.testing.composite import DashComposite

from app.runtime import Runtime
from components import ids
from engine.commands import Pause
from engine.snapshot import EngineStatus
from tests.browser.pages import WAIT_S, choose, open_page, text, wait

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
    assert dashboard.get_logs() == [], "the browser console reported errors"
