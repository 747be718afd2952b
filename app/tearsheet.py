"""The HTML tear sheet of ``pcoord report``: one self-contained file (plotly.js inside, no
network needed to open it) with every figure of the report, and every table also as CSV.

Each figure in a table carries its full-precision value in ``data-value`` (the text shows it
rounded), so that a reader or a test can check it against ``metrics.json``.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import plotly.io as pio
from plotly.offline import get_plotlyjs

from components.colours import portfolio_colours
from components.performance_figures import (
    active_return_waterfall,
    brinson_figure,
    drawdown_figure,
    growth_figure,
    monthly_heatmap,
    rolling_figure,
)
from components.performance_tables import (
    EXECUTION_COLUMNS,
    METRIC_ROWS,
    SLEEVE_COLUMNS,
    decision_rows,
    factor_rows,
    formatted,
    metric_of,
    source_rows,
)
from engine.performance.attribution import EFFECTS
from engine.performance.measurement import PortfolioAnalysis
from engine.performance.report import Report
from engine.performance.returns import calendar_returns

STYLE = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:24px;color:#212529}
h1{font-size:24px}h2{font-size:19px;margin-top:32px;border-bottom:1px solid #dee2e6}
h3{font-size:16px}table{border-collapse:collapse;margin:8px 0 16px;font-size:13px}
th,td{border:1px solid #dee2e6;padding:4px 8px;text-align:right}
th:first-child,td:first-child{text-align:left}
th{background:#f8f9fa}.met{color:#1B7837;font-weight:600}.missed{color:#B2182B;font-weight:600}
.note{color:#6c757d;font-size:13px}.chart{height:380px}
"""


def write_tearsheet(report: Report, out: Path, portfolio_order: Sequence[str]) -> list[Path]:
    """``out`` (HTML) and, beside it in ``<name>-csv/``, every table as CSV; the paths written."""
    out.parent.mkdir(parents=True, exist_ok=True)
    colours = portfolio_colours(portfolio_order)
    analyses = list(report.analyses)
    tables = _tables(report)
    sections = [
        _header(report),
        "<h2>Summary</h2>",
        _metrics_table(report.metrics),
        _chart(growth_figure(analyses, colours), "growth", log_toggle=True),
        _chart(drawdown_figure(analyses, colours), "drawdown"),
        *(
            _chart(rolling_figure(analyses, colours, m), f"rolling-{m}")
            for m in ("sharpe", "volatility", "beta")
        ),
        *(_portfolio_section(a, report) for a in analyses),
        "<h2>Execution quality</h2>",
        *(
            f"<h3>By {group.removeprefix('by_')}</h3>"
            + _execution_table(table, group.removeprefix("by_"))
            for group, table in report.execution.items()
        ),
        "<h2>Coordination against the seed's gates</h2>",
        _coordination_table(report),
    ]
    if report.skipped:
        sections.insert(
            1,
            "".join(
                f"<p class='note'>{html.escape(pid)}: {html.escape(why)}</p>"
                for pid, why in report.skipped.items()
            ),
        )
    page = (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<title>Portfolio Coordinator tear sheet</title>"
        f"<style>{STYLE}</style><script>{get_plotlyjs()}</script></head><body>"
        + "".join(sections)
        # A script's text is not HTML: entities would stay as they are. Only "</" could end it.
        + "<script type='application/json' id='metrics'>"
        + json.dumps(report.metrics, default=str).replace("</", "<\\/")
        + "</script>"
        + "</body></html>"
    )
    out.write_text(page, encoding="utf-8")
    folder = out.with_name(f"{out.stem}-csv")
    folder.mkdir(exist_ok=True)
    written = [out]
    for name, table in tables.items():
        path = folder / f"{name}.csv"
        table.to_csv(path, index=False)
        written.append(path)
    return written


def _header(report: Report) -> str:
    period = f"{report.first_date or '-'} to {report.last_date or '-'}"
    rf = report.metrics["risk_free_rate_annual"]
    return (
        "<h1>Portfolio Coordinator tear sheet</h1>"
        f"<p>Market dates {period}; risk-free rate {float(rf):.2%} a year; written "  # type: ignore[arg-type]
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC. Conventions: docs/performance.md "
        "(252 trading days a year, time-weighted returns, empyrical's definitions).</p>"
    )


def _value(value: object, kind: str) -> tuple[str, str]:
    """(data-value, text) of a figure."""
    text = formatted(value, kind)
    return ("" if text == "n/a" else repr(float(value))), text  # type: ignore[arg-type]


def _cell(value: object, kind: str, key: str = "") -> str:
    data, text = _value(value, kind)
    attribute = f" data-key='{html.escape(key)}'" if key else ""
    return f"<td data-value='{data}'{attribute}>{text}</td>"


def _metrics_table(metrics: Mapping[str, object]) -> str:
    portfolios = metrics["portfolios"]
    assert isinstance(portfolios, Mapping)
    measured = {pid: e for pid, e in portfolios.items() if e.get("metrics")}
    head = "".join(f"<th>{html.escape(str(e['name']))}</th>" for e in measured.values())
    rows = []
    for key, label, kind in METRIC_ROWS:
        cells = "".join(
            _cell(metric_of(e["metrics"], key), kind, f"{pid}.{key}") for pid, e in measured.items()
        )
        rows.append(f"<tr><td>{label}</td>{cells}</tr>")
    for key, label, kind in (
        ("annual_turnover", "turnover (x NAV a year)", "x"),
        ("cost_drag_annual", "cost drag (a year)", "%"),
    ):
        cells = "".join(_cell(e.get(key), kind, f"{pid}.{key}") for pid, e in measured.items())
        rows.append(f"<tr><td>{label}</td>{cells}</tr>")
    benchmarks = "".join(f"<td>{html.escape(str(e['benchmark']))}</td>" for e in measured.values())
    rows.append(f"<tr><td>benchmark</td>{benchmarks}</tr>")
    return f"<table id='summary'><tr><th>metric</th>{head}</tr>{''.join(rows)}</table>"


def _chart(figure: Mapping[str, object], name: str, log_toggle: bool = False) -> str:
    figure = dict(figure)
    if log_toggle:
        layout = dict(figure["layout"])  # type: ignore[arg-type]
        layout["updatemenus"] = [
            {
                "type": "buttons",
                "direction": "right",
                "x": 1,
                "xanchor": "right",
                "y": 1.12,
                "buttons": [
                    {"label": "linear", "method": "relayout", "args": [{"yaxis.type": "linear"}]},
                    {"label": "log scale", "method": "relayout", "args": [{"yaxis.type": "log"}]},
                ],
            }
        ]
        figure["layout"] = layout
    body = pio.to_html(
        figure,
        include_plotlyjs=False,
        full_html=False,
        div_id=f"chart-{name}",
        config={"displaylogo": False},
    )
    return f"<div class='chart'>{body}</div>"


def _portfolio_section(analysis: PortfolioAnalysis, report: Report) -> str:
    portfolio = analysis.run.portfolio
    drawdown = analysis.metrics.max_drawdown
    recovered = drawdown.recovery.isoformat() if drawdown.recovery else "not recovered by the end"
    attribution = analysis.attribution
    sectors = attribution["sectors"]
    assert isinstance(sectors, Mapping)
    rows = "".join(
        f"<tr><td>{html.escape(name)}</td>"
        + "".join(
            _cell(row[e], "%", f"{portfolio.id}.sector.{name}.{e}") for e in (*EFFECTS, "total")
        )
        + "</tr>"
        for name, row in sectors.items()
    )
    totals = attribution["effects"]
    assert isinstance(totals, Mapping)
    rows += (
        "<tr><th>all sectors</th>"
        + "".join(_cell(totals[e], "%") for e in EFFECTS)
        + _cell(sum(totals.values()), "%")
        + "</tr>"
    )
    return (
        f"<h2>{html.escape(portfolio.name)} ({html.escape(portfolio.id)})</h2>"
        f"<p>Benchmark: {html.escape(analysis.benchmark.label)}. Maximum drawdown "
        f"{drawdown.depth:.2%}: peak {drawdown.peak}, trough {drawdown.trough}, "
        f"recovery {recovered}.</p>"
        + _chart(monthly_heatmap(analysis), f"monthly-{portfolio.id}")
        + "<h3>Attribution by sector (Brinson-Fachler, Carino-linked) against "
        + f"{html.escape(str(attribution['against']))}</h3>"
        + _chart(active_return_waterfall(analysis), f"waterfall-{portfolio.id}")
        + _chart(brinson_figure(analysis), f"brinson-{portfolio.id}")
        + "<table><tr><th>sector</th><th>allocation</th><th>selection</th>"
        + "<th>interaction</th><th>total</th></tr>"
        + rows
        + "</table>"
        + "<p class='note'>trading, costs and cash income: "
        + f"{float(attribution['trading_costs_and_income']):.2%}; active return "  # type: ignore[arg-type]
        + f"{float(attribution['active_return']):.2%}.</p>"  # type: ignore[arg-type]
        + _factor_section(analysis)
        + _sleeve_section(analysis)
        + _source_section(analysis)
        + _decision_section(analysis)
        + "<h3>Execution by algorithm</h3>"
        + _execution_table(report.execution_by_portfolio[portfolio.id], "algorithm")
    )


def _factor_section(analysis: PortfolioAnalysis) -> str:
    window = (analysis.factor_attribution or {}).get("window_days")
    title = f"<h3>Return by statistical factor (PCA over {window} days before each day)</h3>"
    rows = factor_rows(analysis)
    if rows is None:
        return (
            title
            + "<p class='note'>The prices do not reach a full window before the first day.</p>"
        )
    pid = analysis.run.portfolio.id
    cells = "".join(
        f"<tr><td>{html.escape(label)}</td>{_cell(value, '%', f'{pid}.factor.{label}')}</tr>"
        for label, value in rows
    )
    return title + f"<table><tr><th>part</th><th>return</th></tr>{cells}</table>"


def _sleeve_section(analysis: PortfolioAnalysis) -> str:
    sleeves = analysis.sleeve_attribution
    if sleeves is None:
        return ""
    pid = analysis.run.portfolio.id
    rows = "".join(
        f"<tr><td>{html.escape(name)}</td>"
        + "".join(
            _cell(row[key], kind, f"{pid}.sleeve.{name}.{key}") for key, _, kind in SLEEVE_COLUMNS
        )
        + "</tr>"
        for name, row in sleeves["sleeves"].items()  # type: ignore[union-attr]
    )
    head = "".join(f"<th>{label}</th>" for _, label, _ in SLEEVE_COLUMNS)
    return (
        "<h3>By sleeve (each name's holding shared as the sleeves' targets wanted it)</h3>"
        + f"<table><tr><th>sleeve</th>{head}</tr>{rows}</table>"
    )


def _source_section(analysis: PortfolioAnalysis) -> str:
    pid = analysis.run.portfolio.id
    rows = "".join(
        f"<tr><td>{html.escape(label)}</td>"
        + _cell(pnl, "usd", f"{pid}.source.{label}.pnl_usd")
        + _cell(contribution, "%", f"{pid}.source.{label}.contribution")
        + "</tr>"
        for label, pnl, contribution in source_rows(analysis)
    )
    return (
        "<h3>Profit and loss by signal source and horizon (each name's P&amp;L shared by the "
        "lineage of the target it was held for)</h3>"
        + f"<table><tr><th>signal view</th><th>P&amp;L (USD)</th><th>contribution</th></tr>{rows}"
        + "</table>"
    )


def _decision_section(analysis: PortfolioAnalysis) -> str:
    pid = analysis.run.portfolio.id
    rows = "".join(
        f"<tr><td>{html.escape(label)}</td>{_cell(value, '%', f'{pid}.decision.{label}')}</tr>"
        for label, value in decision_rows(analysis)
    )
    return (
        "<h3>What each decision after the allocator gained or cost (paper books, "
        "Carino-linked)</h3>"
        + f"<table><tr><th>decision</th><th>gained or cost</th></tr>{rows}</table>"
    )


def _execution_table(table: pd.DataFrame, group: str) -> str:
    if table.empty:
        return "<p class='note'>No order completed in the range.</p>"
    head = "".join(f"<th>{label}</th>" for _, label, _ in EXECUTION_COLUMNS)
    saving = "crossing_saving_usd" in table.columns
    rows = []
    for record in table.to_dict("records"):
        cells = "".join(_cell(record[key], kind) for key, _, kind in EXECUTION_COLUMNS)
        if saving:
            cells += _cell(record["crossing_saving_usd"], "usd")
        rows.append(f"<tr><td>{html.escape(str(record[group]))}</td>{cells}</tr>")
    extra = "<th>crossing saved (USD)</th>" if saving else ""
    return f"<table><tr><th>{group}</th>{head}{extra}</tr>{''.join(rows)}</table>"


def _coordination_table(report: Report) -> str:
    rows = []
    for gate in report.coordination.gates:
        if gate.value is None:
            verdict, share = "<td class='note'>not measured</td>", "<td>n/a</td>"
        else:
            verdict = "<td class='met'>met</td>" if gate.met else "<td class='missed'>missed</td>"
            share = _cell(gate.value, "%")
        rows.append(
            f"<tr><td>{html.escape(gate.name)}</td>{share}<td>{gate.gate:.2%}</td>{verdict}<td>{html.escape(gate.basis)}</td></tr>"
        )
    c = report.coordination
    note = (
        f"{c.conflicts_resolved:,} signal conflicts resolved, {c.signals_rejected:,} signals "
        f"rejected, {c.orders_crossed:,} orders crossed ({c.shares_crossed:,} shares), "
        f"{c.orders_rejected:,} orders rejected by the risk gate, {c.limit_breaches:,} limit "
        "breaches. "
        "Each cycle's time is the one its CycleCompleted event recorded (up to that event, "
        "before the events' append)."
    )
    return (
        "<table id='gates'><tr><th>gate</th><th>share</th><th>seed gate</th><th></th>"
        "<th>of</th></tr>" + "".join(rows) + f"</table><p class='note'>{note}</p>"
    )


def _tables(report: Report) -> dict[str, pd.DataFrame]:
    """Every table of the sheet, as it goes to CSV."""
    portfolios = report.metrics["portfolios"]
    assert isinstance(portfolios, Mapping)
    metrics = pd.DataFrame(
        [
            {
                "portfolio": pid,
                "benchmark": e.get("benchmark"),
                **{key: metric_of(e["metrics"], key) for key, _, _ in METRIC_ROWS},
                "annual_turnover": e.get("annual_turnover"),
                "cost_drag_annual": e.get("cost_drag_annual"),
            }
            for pid, e in portfolios.items()
            if e.get("metrics")
        ]
    )
    monthly, daily, sectors, sources, decisions = [], [], [], [], []
    for a in report.analyses:
        pid = a.run.portfolio.id
        for month, value in calendar_returns(a.returns, "month").items():
            monthly.append({"portfolio": pid, "month": month, "return": value})
        frame = pd.DataFrame(
            {
                "date": a.returns.index.strftime("%Y-%m-%d"),
                "portfolio": pid,
                "return": a.returns.to_numpy(),
                "benchmark_return": a.benchmark.returns.reindex(a.returns.index).to_numpy(),
            }
        )
        daily.append(frame)
        for name, row in a.attribution["sectors"].items():  # type: ignore[union-attr]
            sectors.append({"portfolio": pid, "sector": name, **row})
        for label, pnl, contribution in source_rows(a):
            sources.append(
                {"portfolio": pid, "view": label, "pnl_usd": pnl, "contribution": contribution}
            )
        for label, value in decision_rows(a):
            decisions.append({"portfolio": pid, "decision": label, "contribution": value})
    gates = pd.DataFrame(
        [
            {"gate": g.name, "share": g.value, "seed_gate": g.gate, "met": g.met, "of": g.basis}
            for g in report.coordination.gates
        ]
    )
    return {
        "metrics": metrics,
        "monthly_returns": pd.DataFrame(monthly, columns=["portfolio", "month", "return"]),
        "daily_returns": pd.concat(daily)
        if daily
        else pd.DataFrame(columns=["date", "portfolio", "return", "benchmark_return"]),
        "sector_attribution": pd.DataFrame(sectors),
        "source_attribution": pd.DataFrame(sources),
        "decision_attribution": pd.DataFrame(decisions),
        **{f"execution_{name}": table for name, table in report.execution.items()},
        "coordination": gates,
    }
