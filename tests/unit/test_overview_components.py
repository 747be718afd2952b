"""The Overview's and the Engine page's pieces, fed hand-built views: what a manager reads."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from components.cards import alerts_table, books_table, pnl_text, turnover_text
from components.colours import portfolio_colours
from components.figures import NAV_INDEX_TITLE, latency_figure, nav_figure
from components.latency import latency_trend_figure
from engine.model import CycleReport
from engine.snapshot import NavPoint, PortfolioView, PositionView, RiskAlertView
from engine.views.overview import TurnoverTracker, overview_view
from tests.unit.component_tree import find, plotly_figure, text_of

DAY = date(2020, 3, 16)
COLOURS = portfolio_colours(["big", "small"])


def _book(pid: str, start: str, navs: tuple[float, ...], cash: str) -> PortfolioView:
    history = tuple(
        NavPoint(DAY - timedelta(days=len(navs) - 1 - k), nav, 0.0) for k, nav in enumerate(navs)
    )
    nav = Decimal(repr(navs[-1]))
    held = nav - Decimal(cash)
    return PortfolioView(
        pid,
        pid.title(),
        (),
        nav,
        Decimal(cash),
        Decimal(start),
        (PositionView("AAPL", "IT", 1, held, held, float(held / nav), 0.95),),
        0.05,
        history,
        0,
        0,
    )


BIG = _book("big", "2500000", (2_500_000.0, 2_750_000.0, 2_700_000.0), "135000.00")
SMALL = _book("small", "500000", (500_000.0, 450_000.0, 460_000.0), "100000.00")


def _rows(table: object) -> list[str]:
    """Each body row, header cells and data cells alike, as a person reads it."""
    body = find(table, "Tbody")[0]
    return ["|".join(text_of(cell) for cell in row.children) for row in find(body, "Tr")]


def test_nav_is_rebased_to_100_so_a_big_and_a_small_book_compare() -> None:
    figure = plotly_figure(nav_figure((BIG, SMALL), COLOURS))
    assert [list(trace.y) for trace in figure.data] == [[100.0, 110.0, 108.0], [100.0, 90.0, 92.0]]
    assert list(figure.data[0].x) == ["2020-03-14", "2020-03-15", "2020-03-16"]
    assert figure.layout.yaxis.title.text == NAV_INDEX_TITLE
    assert figure.layout.xaxis.title.text == "market date"
    assert figure.layout.yaxis.type == "linear"
    assert plotly_figure(nav_figure((BIG,), COLOURS, log_scale=True)).layout.yaxis.type == "log"


def test_charts_keep_the_legend_below_and_the_top_for_the_modebar() -> None:
    cycles = [CycleReport(1, DAY, {"market": 1.0}, total_ms=1.0)]
    for figure in (
        nav_figure((BIG, SMALL), COLOURS),
        latency_figure(cycles, ("market",)),
        latency_trend_figure(cycles),
    ):
        layout = plotly_figure(figure).layout
        assert (layout.legend.yref, layout.legend.y, layout.legend.yanchor) == (
            "container",
            0,
            "bottom",
        )
        assert layout.margin.t >= 30


def test_the_books_table_reads_each_portfolio_and_the_total_with_units() -> None:
    overview = overview_view((BIG, SMALL), (), (), TurnoverTracker(), DAY)
    rows = _rows(books_table(overview, COLOURS))
    # Big: 2.70M, -50,000 today on 2.75M (-1.82%), +200,000 since 2.5M (+8.00%); cash 5.0% of
    # 2.70M = its target, nothing to invest. Drift: AAPL 0.95 vs 0.95, cash 0.05 vs 0.05 -> 0.
    assert rows[0] == (
        "Big|$2,700,000.00|-$50,000.00 (-1.82%)|+$200,000.00 (+8.00%)|0.00%|5.0% / 5.0%"
        "|$0.00|—|none"
    )
    # Small: +10,000 on 450,000 (+2.22%); -40,000 since 500,000 (-8.00%); cash 21.7% against
    # 5%: 100,000 - 23,000 = 77,000 to invest, and drift (|0.7826-0.95| + |0.2174-0.05|)/2.
    assert rows[1] == (
        "Small|$460,000.00|+$10,000.00 (+2.22%)|-$40,000.00 (-8.00%)|16.74%|21.7% / 5.0%"
        "|$77,000.00|—|none"
    )
    # All: 3.16M; -40,000 on 3.2M (-1.25%); +160,000 since 3.0M (+5.33%).
    assert rows[2] == (
        "All portfolios|$3,160,000.00|-$40,000.00 (-1.25%)|+$160,000.00 (+5.33%)|—|—"
        "|$77,000.00|—|none"
    )


def test_a_halted_book_says_so_with_the_reason() -> None:
    halted = replace(BIG, trading_state="HALTED", halt_reason="drawdown limit breached")
    overview = overview_view((halted,), (), (), TurnoverTracker(), DAY)
    (badge,) = find(books_table(overview, COLOURS), "Badge")
    assert (badge.children, badge.color, badge.title) == (
        "HALTED",
        "danger",
        "drawdown limit breached",
    )


def test_figures_read_with_sign_and_unit() -> None:
    assert pnl_text(Decimal("1234.5"), 0.0123) == "+$1,234.50 (+1.23%)"
    assert pnl_text(Decimal("-80"), None) == "-$80.00"
    assert pnl_text(None, None) == "—"
    assert turnover_text(3.456) == "3.46× NAV/yr"
    assert turnover_text(None) == "—"


def test_open_alerts_list_newest_first_with_their_market_date() -> None:
    alerts = [
        RiskAlertView("a1", "big", "max_drawdown", "warning", 0.2, 0.25, 0.8, DAY, "drawdown 80%"),
        RiskAlertView(
            "a2", "small", "max_var_99", "breach", 0.05, 0.04, 1.25, DAY + timedelta(1), "VaR"
        ),
    ]
    table = alerts_table(alerts, {"big": "Big", "small": "Small"}, COLOURS)
    assert _rows(table) == [
        "Small|breach|max_var_99|VaR|2020-03-17|no",
        "Big|warning|max_drawdown|drawdown 80%|2020-03-16|no",
    ]
    assert text_of(alerts_table((), {}, COLOURS)) == "No open risk alerts."
