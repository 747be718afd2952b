"""The dashboard's pure builders, fed hand-built snapshots: what a person would read on screen."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from dash.development.base_component import Component

from components import formatting as fmt
from components.cards import books_table, status_badge
from components.colours import PORTFOLIO_PALETTE, portfolio_colours
from components.figures import latency_figure, nav_figure, signal_heatmap, thin, weights_figure
from components.signal_tables import coordinated_signals_table
from components.tables import PortfolioLabels
from engine.model import CycleReport, Fill, Instrument, Order, Side
from engine.snapshot import (
    EngineStatus,
    NavPoint,
    PortfolioView,
    PositionView,
    SignalRow,
    StateSnapshot,
)
from engine.views.overview import TurnoverTracker, overview_view
from tests.unit.component_tree import find, plotly_figure, shown_rows

START = date(2020, 1, 2)


def _nav_history(start_nav: float, daily_change: float, days: int) -> tuple[NavPoint, ...]:
    return tuple(
        NavPoint(START + timedelta(days=i), start_nav + i * daily_change, 10_000.0)
        for i in range(days)
    )


def _growth() -> PortfolioView:
    # 100 AAPL at 150.25 and 40 MSFT at 300.10, 2,000.50 cash.
    return PortfolioView(
        portfolio_id="growth",
        name="Growth",
        sources=("momentum",),
        nav_usd=Decimal("29029.50"),
        cash_usd=Decimal("2000.50"),
        initial_nav_usd=Decimal("25000.00"),
        positions=(
            PositionView(
                "AAPL",
                "Information Technology",
                100,
                Decimal("150.25"),
                Decimal("15025.00"),
                15025 / 29029.5,
                0.55,
            ),
            PositionView(
                "MSFT",
                "Information Technology",
                40,
                Decimal("300.10"),
                Decimal("12004.00"),
                12004 / 29029.5,
                0.40,
            ),
            PositionView("XOM", "Energy", 0, Decimal("80.00"), Decimal("0.00"), 0.0, 0.0),
        ),
        target_cash_weight=0.05,
        nav_history=_nav_history(25_000.0, 100.0, 5),
        orders_total=7,
        fills_total=6,
    )


def _income() -> PortfolioView:
    return PortfolioView(
        portfolio_id="income",
        name="Income",
        sources=("value",),
        nav_usd=Decimal("50000.00"),
        cash_usd=Decimal("50000.00"),
        initial_nav_usd=Decimal("50000.00"),
        positions=(),
        target_cash_weight=1.0,
        nav_history=_nav_history(50_000.0, -10.0, 5),
        orders_total=0,
        fills_total=0,
    )


def _snapshot() -> StateSnapshot:
    return StateSnapshot(
        status=EngineStatus.RUNNING,
        speed_days_per_second=20.0,
        cycles_completed=3,
        market_date=START + timedelta(days=4),
        published_at=datetime(2024, 5, 1, 12, 0, tzinfo=UTC),
        instruments=(
            Instrument("AAPL", "Information Technology"),
            Instrument("MSFT", "Information Technology"),
            Instrument("XOM", "Energy"),
        ),
        portfolios=(_growth(), _income()),
        raw_signals=(
            SignalRow("momentum", "AAPL", 0.8, 0.9),
            SignalRow("momentum", "MSFT", -0.3, 0.5),
            SignalRow("momentum", "XOM", 0.0, 0.0),
            SignalRow("value", "XOM", 0.6, 0.7),
        ),
        coordinated_signals=(
            SignalRow("growth", "AAPL", 0.8, 0.9),
            SignalRow("growth", "MSFT", -0.3, 0.5),
            SignalRow("income", "XOM", 0.6, 0.7),
        ),
        recent_cycles=(
            CycleReport(1, START, {"market": 1.0, "signals": 4.0}, total_ms=5.0),
            CycleReport(2, START, {"market": 2.0, "signals": 3.5}, total_ms=5.5),
            CycleReport(3, START, {"market": 1.5, "signals": 2.0, "audit": 0.5}, total_ms=4.0),
        ),
        stage_names=("market", "signals"),
    )


def _portfolio_bars(table: Component) -> dict[str, str]:
    """Name shown in each portfolio cell and the colour of the bar beside it."""
    return {
        cell.children: cell.style["borderLeft"].split()[-1]
        for cell in find(table, "Td")
        if "pc-portfolio-cell" in (getattr(cell, "className", None) or "")
    }


def _swatch_colours(component: Component) -> set[str]:
    return {
        span.style["backgroundColor"]
        for span in find(component, "Span")
        if getattr(span, "className", None) == "pc-swatch"
    }


# Colours -----------------------------------------------------------------------------------------


def test_each_portfolio_keeps_one_colour_on_every_page() -> None:
    snapshot = _snapshot()
    colours = portfolio_colours(view.portfolio_id for view in snapshot.portfolios)
    assert colours == {"growth": PORTFOLIO_PALETTE[0], "income": PORTFOLIO_PALETTE[1]}

    nav_lines = {
        trace.name: trace.line.color
        for trace in plotly_figure(nav_figure(snapshot.portfolios, colours)).data
    }
    book_rows = books_table(
        overview_view(snapshot.portfolios, (), (), TurnoverTracker(), START), colours
    )
    weight_bars = {
        trace.name: trace.marker.color
        for trace in plotly_figure(weights_figure(_growth(), colours["growth"])).data
    }
    labels = PortfolioLabels(snapshot.portfolios, colours)
    signal_bars = _portfolio_bars(coordinated_signals_table(snapshot.coordinated_signals, labels))

    assert nav_lines == {"Growth": colours["growth"], "Income": colours["income"]}
    assert weight_bars["current"] == colours["growth"]
    assert signal_bars == {"Growth": colours["growth"], "Income": colours["income"]}
    assert _swatch_colours(book_rows) == set(colours.values())


def test_more_portfolios_than_colours_reuse_the_palette_in_order() -> None:
    ids = [f"p{i}" for i in range(len(PORTFOLIO_PALETTE) + 1)]
    assert portfolio_colours(ids)[ids[-1]] == PORTFOLIO_PALETTE[0]


# Figures -----------------------------------------------------------------------------------------


def test_nav_figure_says_it_waits_before_the_first_cycle() -> None:
    empty = PortfolioView(
        "growth", "Growth", (), Decimal(1), Decimal(1), Decimal(1), (), 1.0, (), 0, 0
    )
    figure = plotly_figure(nav_figure([empty], {"growth": "#000000"}))
    assert "Waiting for the first cycle" in figure.layout.annotations[0].text


def test_a_long_history_is_thinned_to_the_limit_and_keeps_the_latest_point() -> None:
    history = list(range(2521))
    kept = thin(history, 1000)
    assert len(kept) <= 1000
    assert kept[0] == 0
    assert kept[-1] == 2520
    assert kept == sorted(kept)
    assert thin(history[:10], 1000) == history[:10]


def test_latency_figure_stacks_each_stage_per_cycle_in_milliseconds() -> None:
    snapshot = _snapshot()
    figure = plotly_figure(latency_figure(snapshot.recent_cycles, snapshot.stage_names))

    assert figure.layout.barmode == "stack"
    assert figure.layout.yaxis.title.text == "latency (ms)"
    assert figure.layout.xaxis.title.text == "cycle"
    # Named stages in cycle order, then a stage the snapshot did not name.
    assert [trace.name for trace in figure.data] == ["market", "signals", "audit"]
    by_stage = {trace.name: list(trace.y) for trace in figure.data}
    assert by_stage == {
        "market": [1.0, 2.0, 1.5],
        "signals": [4.0, 3.5, 2.0],
        "audit": [0.0, 0.0, 0.5],
    }
    assert list(figure.data[0].x) == [1, 2, 3]
    stacked_heights = [sum(values) for values in zip(*by_stage.values(), strict=True)]
    assert stacked_heights == [5.0, 5.5, 4.0]


def test_signal_heatmap_puts_each_score_in_its_cell_and_leaves_no_view_blank() -> None:
    snapshot = _snapshot()
    figure = plotly_figure(
        signal_heatmap(
            snapshot.raw_signals, ["AAPL", "MSFT", "XOM"], origin_labels={}, y_title="source"
        )
    )
    heatmap = figure.data[0]

    assert list(heatmap.y) == ["momentum", "value"]
    assert list(heatmap.x) == ["AAPL", "MSFT", "XOM"]
    # momentum has confidence 0 on XOM: no view, so blank rather than a neutral 0.
    assert [list(row) for row in heatmap.z] == [[0.8, -0.3, None], [None, None, 0.6]]
    assert [list(row) for row in heatmap.customdata] == [[0.9, 0.5, None], [None, None, 0.7]]
    assert (heatmap.zmin, heatmap.zmax) == (-1, 1)
    assert heatmap.colorbar.title.text == "score"
    assert figure.layout.yaxis.title.text == "source"
    assert figure.layout.xaxis.title.text == "instrument"


def test_coordinated_heatmap_names_portfolios_not_their_ids() -> None:
    snapshot = _snapshot()
    figure = plotly_figure(
        signal_heatmap(
            snapshot.coordinated_signals,
            ["AAPL", "MSFT", "XOM"],
            origin_labels={"growth": "Growth", "income": "Income"},
            y_title="portfolio",
        )
    )
    assert list(figure.data[0].y) == ["Growth", "Income"]


def test_weights_figure_sets_target_beside_current_in_percent_of_nav_with_cash() -> None:
    growth = _growth()
    figure = plotly_figure(weights_figure(growth, "#0072B2"))
    target, current = figure.data

    assert figure.layout.barmode == "group"
    assert figure.layout.yaxis.title.text == "weight (% of NAV)"
    # XOM is neither held nor targeted, so it is left out; cash comes last.
    assert list(target.x) == ["AAPL", "MSFT", "cash"]
    assert list(target.y) == pytest.approx([55.0, 40.0, 5.0])
    nav = 15025.00 + 12004.00 + 2000.50
    assert list(current.y) == pytest.approx(
        [15025.00 / nav * 100, 12004.00 / nav * 100, 2000.50 / nav * 100]
    )
    assert sum(current.y) == pytest.approx(100.0)


# Tables and cards ---------------------------------------------------------------------------------


def _order(order_id: str, day: int, side: Side = Side.BUY) -> Order:
    return Order(
        order_id, "growth", "AAPL", side, 10, Decimal("150.2500"), START + timedelta(days=day)
    )


def _fill(fill_id: str, day: int) -> Fill:
    return Fill(
        fill_id,
        f"o-{fill_id}",
        "income",
        "XOM",
        Side.SELL,
        3,
        Decimal("80.1234"),
        Decimal("1.00"),
        START + timedelta(days=day),
    )


def test_coordinated_signals_table_ranks_each_portfolio_by_strength_and_skips_no_view() -> None:
    rows = (
        SignalRow("growth", "MSFT", -0.3, 0.5),
        SignalRow("growth", "AAPL", 0.8, 0.9),
        SignalRow("growth", "XOM", 0.9, 0.0),
        SignalRow("income", "XOM", 0.6, 0.7),
    )
    labels = PortfolioLabels(_snapshot().portfolios, portfolio_colours(["growth", "income"]))

    assert shown_rows(coordinated_signals_table(rows, labels)) == [
        "Growth|AAPL|+0.80|90%",
        "Growth|MSFT|-0.30|50%",
        "Income|XOM|+0.60|70%",
    ]


def test_status_badge_reads_the_engine_status() -> None:
    assert status_badge(EngineStatus.PAUSED).children == "paused"
    assert status_badge(EngineStatus.RUNNING).color == "success"


@pytest.mark.parametrize(
    ("amount", "shown"),
    [(Decimal("1234567.891"), "$1,234,567.89"), (Decimal("-12.5"), "-$12.50"), (None, "—")],
)
def test_money_reads_in_dollars_to_the_cent(amount: Decimal | None, shown: str) -> None:
    assert fmt.usd(amount) == shown


def test_the_transport_line_shows_the_relay_lag_and_its_error() -> None:
    from components.cards import transport_line
    from engine.snapshot import TransportView

    assert "embedded" in transport_line(TransportView()).children
    healthy = transport_line(TransportView("pulsar", 1234, 99, None))
    assert healthy.children == "events: SQL event store → pulsar, relay lag 1,234"
    failing = transport_line(TransportView("pulsar", 7, 1, "Timeout: broker down"))
    assert failing.className == "text-danger"
    assert failing.children.endswith("relay lag 7 · Timeout: broker down")
