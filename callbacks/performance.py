"""Performance: every panel from one report of the chosen portfolios and dates, read through the
Performance read model (engine/views/performance.py), which keeps it until the log grows or the
choice changes; the downloads write the same report as the tear sheet and its CSV tables."""

from __future__ import annotations

import io
import tempfile
import zipfile
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dash import Input, Output, State, ctx, dcc, html
from dash.exceptions import PreventUpdate

from app.tearsheet import write_tearsheet
from components import ids
from components.colours import portfolio_colours
from components.figures import base_figure, waiting
from components.performance_figures import (
    active_return_waterfall,
    brinson_figure,
    drawdown_figure,
    growth_figure,
    monthly_heatmap,
    rolling_figure,
)
from components.performance_tables import (
    EXECUTION_GROUPS,
    decision_table,
    execution_table,
    factor_table,
    gates_table,
    metrics_table,
    sector_table,
    sleeve_table,
    source_table,
)
from engine.performance.report import Report

if TYPE_CHECKING:
    import dash

    from engine.views.performance import PerformanceReadModel

UNAVAILABLE = (
    "The Performance page reads the engine's event store and the market's price history: open "
    "it on the engine's own dashboard (pcoord serve) over the bundled market or a price file."
)


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text[:10]) if text else None


def _empty(message: str) -> tuple[Any, ...]:
    blank = waiting(base_figure([], x_title="", y_title="", revision="empty"), message)
    return (message, None, *([blank] * 6), *([None] * 7))


def register(app: dash.Dash, performance: PerformanceReadModel | None) -> None:
    order = [p.id for p in performance.config.portfolios] if performance else []
    names = {p.id: p.name for p in performance.config.portfolios} if performance else {}
    colours = portfolio_colours(order)

    def report_for(
        chosen: list[str] | None, start: str | None, end: str | None, refresh: bool = True
    ) -> Report | None:
        assert performance is not None
        picked = [pid for pid in order if pid in (chosen or [])]
        if not picked:
            return None
        return performance.report(picked, _day(start), _day(end), refresh=refresh)

    @app.callback(
        Output(ids.PERF_PORTFOLIOS, "options"),
        Output(ids.PERF_PORTFOLIOS, "value"),
        Output(ids.PERF_DATES, "min_date_allowed"),
        Output(ids.PERF_DATES, "max_date_allowed"),
        Input(ids.PERF_INTERVAL, "n_intervals"),
        State(ids.PERF_PORTFOLIOS, "value"),
    )
    def choices(_tick: int | None, chosen: list[str] | None) -> tuple[Any, ...]:
        if performance is None:
            return [], [], None, None
        first, last = performance.date_range()
        options = [{"label": names[pid], "value": pid} for pid in order]
        # Every portfolio at first; after that, what the person ticked (even nothing).
        return options, order if chosen is None else chosen, first, last

    @app.callback(
        Output(ids.PERF_FOCUS, "options"),
        Output(ids.PERF_FOCUS, "value"),
        Input(ids.PERF_PORTFOLIOS, "value"),
        State(ids.PERF_FOCUS, "value"),
    )
    def focus(chosen: list[str] | None, current: str | None) -> tuple[Any, ...]:
        picked = [pid for pid in order if pid in (chosen or [])]
        options = [{"label": names[pid], "value": pid} for pid in picked]
        return options, current if current in picked else (picked[0] if picked else None)

    @app.callback(
        Output(ids.PERF_STATUS, "children"),
        Output(ids.PERF_METRICS, "children"),
        Output(ids.PERF_GROWTH_GRAPH, "figure"),
        Output(ids.PERF_DRAWDOWN_GRAPH, "figure"),
        Output(ids.PERF_ROLLING_GRAPH, "figure"),
        Output(ids.PERF_MONTHLY_GRAPH, "figure"),
        Output(ids.PERF_WATERFALL_GRAPH, "figure"),
        Output(ids.PERF_BRINSON_GRAPH, "figure"),
        Output(ids.PERF_BRINSON_TABLE, "children"),
        Output(ids.PERF_FACTOR_TABLE, "children"),
        Output(ids.PERF_SLEEVE_TABLE, "children"),
        Output(ids.PERF_SOURCE_TABLE, "children"),
        Output(ids.PERF_DECISION_TABLE, "children"),
        Output(ids.PERF_EXECUTION_TABLE, "children"),
        Output(ids.PERF_GATES, "children"),
        Input(ids.PERF_PORTFOLIOS, "value"),
        Input(ids.PERF_DATES, "start_date"),
        Input(ids.PERF_DATES, "end_date"),
        Input(ids.PERF_FOCUS, "value"),
        Input(ids.PERF_LOG_SCALE, "value"),
        Input(ids.PERF_ROLLING_MEASURE, "value"),
        Input(ids.PERF_ROLLING_WINDOW, "value"),
        Input(ids.PERF_EXECUTION_GROUP, "value"),
        Input(ids.PERF_INTERVAL, "n_intervals"),
    )
    def panels(
        chosen: list[str] | None,
        start: str | None,
        end: str | None,
        focus_id: str | None,
        log_scale: bool,
        measure: str,
        window: int,
        group: str,
        _tick: int | None,
    ) -> tuple[Any, ...]:
        if performance is None or not performance.available:
            return _empty(UNAVAILABLE)
        if not chosen:
            return _empty("Choose one or more portfolios.")
        if start and end and start > end:
            return _empty(f"The range ends ({end[:10]}) before it starts ({start[:10]}).")
        # New events are read on the page's own clock (and on first drawing), not on each click.
        refresh = ctx.triggered_id in (None, ids.PERF_INTERVAL)
        report = report_for(chosen, start, end, refresh)
        if report is None or not report.analyses:
            return _empty("No portfolio has two days of NAV in the range yet.")
        analyses = list(report.analyses)
        focused = next((a for a in analyses if a.run.portfolio.id == focus_id), analyses[0])
        coordination = report.coordination
        skipped = "".join(f" {pid}: {why}." for pid, why in report.skipped.items())
        status = (
            f"{len(analyses)} portfolio(s), market dates {report.first_date} to "
            f"{report.last_date}; risk-free rate "
            f"{performance.config.performance.risk_free_rate_annual:.2%} a year; conventions in "
            f"docs/performance.md.{skipped}"
        )
        return (
            status,
            metrics_table(report.metrics),
            growth_figure(analyses, colours, log_scale=bool(log_scale)),
            drawdown_figure(analyses, colours),
            rolling_figure(analyses, colours, measure, int(window)),
            monthly_heatmap(focused),
            active_return_waterfall(focused),
            brinson_figure(focused),
            [
                html.P(f"Against {focused.attribution['against']}.", className="small"),
                sector_table(focused),
            ],
            factor_table(focused),
            sleeve_table(focused),
            source_table(focused),
            decision_table(focused),
            execution_table(report.execution[EXECUTION_GROUPS[group]], group_column(group)),
            [
                gates_table(coordination),
                html.P(
                    "All from the log over the range; each cycle's time as its "
                    "CycleCompleted recorded it (before the events' append).",
                    className="small text-muted",
                ),
            ],
        )

    @app.callback(
        Output(ids.PERF_SHEET_FILE, "data"),
        Input(ids.PERF_DOWNLOAD_SHEET, "n_clicks"),
        State(ids.PERF_PORTFOLIOS, "value"),
        State(ids.PERF_DATES, "start_date"),
        State(ids.PERF_DATES, "end_date"),
        prevent_initial_call=True,
    )
    def download_sheet(
        _clicks: int | None, chosen: list[str] | None, start: str | None, end: str | None
    ) -> dict[str, Any]:
        content = _packed(report_for(chosen, start, end), order, tables=False)
        return dcc.send_bytes(content, "performance-tear-sheet.html")

    @app.callback(
        Output(ids.PERF_CSV_FILE, "data"),
        Input(ids.PERF_DOWNLOAD_CSV, "n_clicks"),
        State(ids.PERF_PORTFOLIOS, "value"),
        State(ids.PERF_DATES, "start_date"),
        State(ids.PERF_DATES, "end_date"),
        prevent_initial_call=True,
    )
    def download_csv(
        _clicks: int | None, chosen: list[str] | None, start: str | None, end: str | None
    ) -> dict[str, Any]:
        content = _packed(report_for(chosen, start, end), order, tables=True)
        return dcc.send_bytes(content, "performance-tables.zip")


def group_column(group: str) -> str:
    """The execution table's column for a grouping the page offers."""
    return "symbol" if group == "instrument" else group


def _packed(report: Report | None, order: list[str], *, tables: bool) -> bytes:
    """The tear sheet's HTML, or its tables zipped as CSV, written in a scratch folder."""
    if report is None or not report.analyses:
        raise PreventUpdate
    with tempfile.TemporaryDirectory(prefix="pcoord-report-") as folder:
        files = write_tearsheet(report, Path(folder) / "tear-sheet.html", order)
        if not tables:
            return files[0].read_bytes()
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in files[1:]:
                archive.write(path, path.name)
        return buffer.getvalue()
