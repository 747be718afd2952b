"""The Risk page's pure builders, fed hand-made risk views: figures in percent of NAV, bars
ranked largest first with hedges shown, and an empty state before anything is measured."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from callbacks.risk import rendered_key, risk_of, risk_summary
from components.colours import translucent
from components.figures import (
    NO_RISK_YET,
    sector_exposure_figure,
    var_contributions_figure,
    var_history_figure,
)
from components.tables import risk_figures
from engine.snapshot import EngineStatus, PortfolioView, RiskView, StateSnapshot
from tests.unit.component_tree import find, plotly_figure, shown_rows, text_of

COLOUR = "#0072B2"
MONDAY = date(2006, 3, 6)
TUESDAY = date(2006, 3, 7)


def _risk(**changes: Any) -> RiskView:
    view = RiskView(
        portfolio_id="growth",
        market_date=TUESDAY,
        gross_exposure=1.30,
        net_exposure=0.70,
        volatility_annual=0.1825,
        var_95_parametric=0.0187,
        var_99_parametric=0.0265,
        cvar_95_parametric=0.0235,
        cvar_99_parametric=0.0304,
        var_95_historical=0.0201,
        var_99_historical=0.0312,
        cvar_95_historical=0.0277,
        cvar_99_historical=0.0398,
        drawdown=0.0420,
        max_drawdown=0.1150,
        sector_exposures=(("Energy", -0.15), ("Technology", 0.55), ("Health", 0.30)),
        contributions=(("XOM", -0.10), ("AAPL", 0.65), ("JNJ", 0.20), ("MSFT", 0.25)),
        sector_contributions=(("Energy", -0.10), ("Technology", 0.90), ("Health", 0.20)),
        history=((MONDAY, 0.0290), (TUESDAY, 0.0312)),
    )
    return replace(view, **changes)


def _snapshot(risk: tuple[RiskView, ...]) -> StateSnapshot:
    portfolio = PortfolioView(
        portfolio_id="growth",
        name="Growth",
        sources=("momentum",),
        nav_usd=Decimal("10000.00"),
        cash_usd=Decimal("1000.00"),
        initial_nav_usd=Decimal("10000.00"),
        positions=(),
        target_cash_weight=0.02,
        nav_history=(),
        orders_total=0,
        fills_total=0,
    )
    return StateSnapshot(
        status=EngineStatus.RUNNING,
        speed_days_per_second=1.0,
        cycles_completed=2,
        market_date=TUESDAY,
        published_at=datetime(2006, 3, 7, 21, 0),
        instruments=(),
        portfolios=(portfolio,),
        risk=risk,
    )


def _bars(figure: dict[str, Any]) -> list[tuple[str, float]]:
    bar = plotly_figure(figure).data[0]
    return [(label, round(value, 6)) for label, value in zip(bar.y, bar.x, strict=True)]


def _annotation(figure: dict[str, Any]) -> str | None:
    annotations = plotly_figure(figure).layout.annotations
    return annotations[0].text if annotations else None


# The figures card --------------------------------------------------------------------------------


def test_risk_card_shows_exposures_volatility_and_drawdowns_in_percent_of_nav() -> None:
    card = risk_figures(_risk())

    exposures, _ = find(card, "Table")
    assert shown_rows(exposures) == [
        "gross exposure|130.00%",
        "net exposure|70.00%",
        "volatility (annual)|18.25%",
        "drawdown (current)|4.20%",
        "drawdown (maximum)|11.50%",
    ]
    assert "2006-03-07" in text_of(card)


def test_risk_card_sets_parametric_beside_historical_var_and_cvar_at_both_levels() -> None:
    _, losses = find(risk_figures(_risk()), "Table")

    assert [text_of(cell) for cell in find(find(losses, "Thead")[0], "Th")] == [
        "1-day loss",
        "parametric (% of NAV)",
        "historical (% of NAV)",
    ]
    assert shown_rows(losses) == [
        "VaR 95%|1.87%|2.01%",
        "VaR 99%|2.65%|3.12%",
        "CVaR 95%|2.35%|2.77%",
        "CVaR 99%|3.04%|3.98%",
    ]


def test_risk_card_before_any_measurement_says_so_and_shows_no_table() -> None:
    card = risk_figures(None)

    assert find(card, "Table") == []
    assert "No risk measured yet" in text_of(card)


# The bar charts ----------------------------------------------------------------------------------


def test_sector_exposure_bars_are_net_percent_of_nav_longest_first_shorts_kept() -> None:
    figure = sector_exposure_figure(_risk(), COLOUR)

    assert _bars(figure) == [("Technology", 55.0), ("Health", 30.0), ("Energy", -15.0)]
    layout = plotly_figure(figure).layout
    assert layout.xaxis.title.text == "net exposure (% of NAV)"
    assert layout.xaxis.ticksuffix == "%"
    assert _annotation(figure) is None


def test_var_contributions_rank_instruments_and_show_a_hedge_below_zero_faded() -> None:
    figure = var_contributions_figure(_risk(), COLOUR)

    bars = _bars(figure)
    assert bars == [("AAPL", 65.0), ("MSFT", 25.0), ("JNJ", 20.0), ("XOM", -10.0)]
    # Euler's shares add up to the whole VaR.
    assert sum(share for _, share in bars) == 100.0
    colours = list(plotly_figure(figure).data[0].marker.color)
    assert colours == [COLOUR, COLOUR, COLOUR, translucent(COLOUR, 0.45)]
    assert "99% VaR" in plotly_figure(figure).layout.xaxis.title.text


def test_var_contributions_by_sector_use_the_sector_shares() -> None:
    figure = var_contributions_figure(_risk(), COLOUR, by_sector=True)

    assert _bars(figure) == [("Technology", 90.0), ("Health", 20.0), ("Energy", -10.0)]
    assert plotly_figure(figure).layout.yaxis.title.text == "sector"


def test_bar_charts_before_any_measurement_are_empty_and_say_so() -> None:
    for figure in (
        sector_exposure_figure(None, COLOUR),
        var_contributions_figure(None, COLOUR),
        var_contributions_figure(None, COLOUR, by_sector=True),
    ):
        assert _bars(figure) == []
        assert _annotation(figure) == NO_RISK_YET == "No risk measured yet"


def test_bar_charts_of_a_portfolio_holding_nothing_say_nothing_is_held() -> None:
    flat = _risk(sector_exposures=(), contributions=(), sector_contributions=())

    assert _annotation(sector_exposure_figure(flat, COLOUR)) == "Nothing held"
    assert _annotation(var_contributions_figure(flat, COLOUR)) == "Nothing held"


# The VaR history ---------------------------------------------------------------------------------


def test_var_history_is_the_historical_99_var_per_market_date_in_percent() -> None:
    figure = plotly_figure(var_history_figure(_risk(), COLOUR))

    line = figure.data[0]
    assert list(line.x) == ["2006-03-06", "2006-03-07"]
    assert [round(y, 6) for y in line.y] == [2.9, 3.12]
    assert figure.layout.yaxis.title.text == "1-day 99% VaR, historical (% of NAV)"
    assert figure.layout.annotations == ()


def test_var_history_empty_states() -> None:
    assert _annotation(var_history_figure(None, COLOUR)) == "No risk measured yet"
    assert _annotation(var_history_figure(_risk(history=()), COLOUR)) == "No VaR history yet"


# The refresh guard -------------------------------------------------------------------------------


def test_page_redraws_only_when_the_portfolio_or_the_risk_market_date_changes() -> None:
    measured = _snapshot((_risk(),))
    unmeasured = _snapshot(())

    assert risk_of(unmeasured, "growth") is None
    assert risk_of(measured, "growth") == _risk()
    assert risk_of(measured, "income") is None

    before = rendered_key("growth", None)
    today = rendered_key("growth", risk_of(measured, "growth"))
    assert before != today
    # Same portfolio, same close: nothing to redraw, whatever else moved.
    assert today == rendered_key("growth", _risk(var_99_historical=0.5))
    assert today != rendered_key("growth", _risk(market_date=date(2006, 3, 8)))
    assert today != rendered_key("income", _risk(portfolio_id="income"))


def test_summary_names_the_portfolio_and_the_close_measured() -> None:
    assert "Growth" in text_of(risk_summary("Growth", COLOUR, _risk()))
    assert "2006-03-07" in text_of(risk_summary("Growth", COLOUR, _risk()))
    assert "no risk measured yet" in text_of(risk_summary("Growth", COLOUR, None))
