"""Performance tables: which figures, their labels and their formats, shared by the Performance
page (Dash tables, here) and the HTML tear sheet (app/tearsheet.py)."""

from __future__ import annotations

import math
from collections.abc import Mapping

import dash_bootstrap_components as dbc
import pandas as pd
from dash import html

from engine.performance.attribution import EFFECTS
from engine.performance.effectiveness import Effectiveness
from engine.performance.measurement import PortfolioAnalysis

# (key in metrics.json's "metrics", label, format): "%" a fraction shown in %, "x" a ratio.
METRIC_ROWS = (
    ("annualised_return", "annualised return", "%"),
    ("annualised_volatility", "annualised volatility", "%"),
    ("sharpe", "Sharpe ratio", "x"),
    ("sortino", "Sortino ratio", "x"),
    ("calmar", "Calmar ratio", "x"),
    ("max_drawdown.depth", "maximum drawdown", "%"),
    ("beta", "beta", "x"),
    ("alpha_annualised", "alpha (annualised)", "%"),
    ("tracking_error", "tracking error", "%"),
    ("information_ratio", "information ratio", "x"),
    ("hit_rate", "days up", "%"),
    ("active_hit_rate", "days ahead of the benchmark", "%"),
    ("up_capture", "up capture", "x"),
    ("down_capture", "down capture", "x"),
    ("var_95_daily", "VaR 95% (one day)", "%"),
    ("cvar_95_daily", "CVaR 95% (one day)", "%"),
    ("benchmark_annualised_return", "benchmark annualised return", "%"),
    ("active_annualised_return", "active annualised return", "%"),
)
# Figures of a portfolio's entry itself, not of its "metrics".
ENTRY_ROWS = (
    ("annual_turnover", "turnover (x NAV a year)", "x"),
    ("cost_drag_annual", "cost drag (a year)", "%"),
)
EXECUTION_COLUMNS = (
    ("orders", "orders", "n"),
    ("decision_notional_usd", "decision notional (USD)", "usd"),
    ("delay_bps", "delay (bps)", "bps"),
    ("spread_bps", "spread (bps)", "bps"),
    ("impact_bps", "impact (bps)", "bps"),
    ("commission_bps", "commission (bps)", "bps"),
    ("opportunity_bps", "opportunity (bps)", "bps"),
    ("total_bps", "shortfall (bps)", "bps"),
    ("fill_rate", "fill rate", "%"),
)
EXECUTION_GROUPS = {
    "algorithm": "by_algorithm",
    "portfolio": "by_portfolio",
    "instrument": "by_symbol",
}


def formatted(value: object, kind: str) -> str:
    """A figure as a person reads it (``n/a`` when there is none)."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    number = float(value)  # type: ignore[arg-type]
    return {
        "%": f"{number:.2%}",
        "x": f"{number:.2f}",
        "bps": f"{number:.2f}",
        "usd": f"{number:,.0f}",
        "n": f"{number:,.0f}",
    }[kind]


def metric_of(entry: Mapping[str, object], key: str) -> object:
    """A dotted key's value in a metrics entry (``max_drawdown.depth``)."""
    value: object = entry
    for part in key.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def _table(header: list[str], rows: list[list[object]], table_id: str | None = None) -> dbc.Table:
    head = html.Thead(html.Tr([html.Th(h) for h in header]))
    body = html.Tbody([html.Tr([html.Td(cell) for cell in row]) for row in rows])
    extra = {"id": table_id} if table_id else {}
    return dbc.Table(
        [head, body], size="sm", bordered=True, hover=True, className="pc-table", **extra
    )


def metrics_table(metrics: Mapping[str, object], table_id: str | None = None) -> dbc.Table:
    """One column per measured portfolio, one row per metric."""
    portfolios = metrics["portfolios"]
    assert isinstance(portfolios, Mapping)
    measured = [e for e in portfolios.values() if e.get("metrics")]
    rows = [
        [label, *(formatted(metric_of(e["metrics"], key), kind) for e in measured)]
        for key, label, kind in METRIC_ROWS
    ]
    rows += [
        [label, *(formatted(e.get(key), kind) for e in measured)] for key, label, kind in ENTRY_ROWS
    ]
    rows.append(["benchmark", *(str(e["benchmark"]) for e in measured)])
    return _table(["metric", *(str(e["name"]) for e in measured)], rows, table_id)


def sector_table(analysis: PortfolioAnalysis, table_id: str | None = None) -> dbc.Table:
    sectors = analysis.attribution["sectors"]
    totals = analysis.attribution["effects"]
    assert isinstance(sectors, Mapping) and isinstance(totals, Mapping)
    rows = [
        [name, *(formatted(row[e], "%") for e in (*EFFECTS, "total"))]
        for name, row in sectors.items()
    ]
    rows.append(
        [
            "all sectors",
            *(formatted(totals[e], "%") for e in EFFECTS),
            formatted(sum(totals.values()), "%"),
        ]
    )
    rows.append(
        [
            "trading, costs and cash income",
            "",
            "",
            "",
            formatted(analysis.attribution["trading_costs_and_income"], "%"),
        ]
    )
    rows.append(
        ["active return", "", "", "", formatted(analysis.attribution["active_return"], "%")]
    )
    return _table(["sector", *EFFECTS, "total"], rows, table_id)


def execution_table(table: pd.DataFrame, group: str) -> dbc.Table | html.P:
    """Execution quality per ``group`` (a column of ``table``)."""
    if table.empty:
        return html.P("No order completed in the range.", className="text-muted")
    saving = "crossing_saving_usd" in table.columns
    header = [group, *(label for _, label, _ in EXECUTION_COLUMNS)] + (
        ["crossing saved (USD)"] if saving else []
    )
    rows = [
        [str(r[group]), *(formatted(r[key], kind) for key, _, kind in EXECUTION_COLUMNS)]
        + ([formatted(r["crossing_saving_usd"], "usd")] if saving else [])
        for r in table.to_dict("records")
    ]
    return _table(header, rows)


def gates_table(coordination: Effectiveness, table_id: str | None = None) -> dbc.Table:
    """Each seed gate, its share, and met (green) or missed (red)."""
    rows = []
    for gate in coordination.gates:
        if gate.value is None:
            verdict: object = html.Span("not measured", className="text-muted")
        elif gate.met:
            verdict = dbc.Badge("met", color="success")
        else:
            verdict = dbc.Badge("missed", color="danger")
        rows.append(
            [gate.name, formatted(gate.value, "%"), f"{gate.gate:.2%}", verdict, gate.basis]
        )
    return _table(["gate", "share", "seed gate", "", "of"], rows, table_id)


def factor_rows(analysis: PortfolioAnalysis) -> list[tuple[str, float]] | None:
    """(label, share of the portfolio) for each statistical factor, their total, what is
    specific and the holdings' return; None when the prices did not reach back far enough."""
    factors = analysis.factor_attribution
    if factors is None:
        return None
    by_factor = factors["factors"]
    assert isinstance(by_factor, Mapping)
    return [
        *((str(name), float(value)) for name, value in by_factor.items()),
        ("all factors", float(factors["factor_total"])),  # type: ignore[arg-type]
        ("specific to the names", float(factors["specific"])),  # type: ignore[arg-type]
        ("holdings' return", float(factors["holdings_return"])),  # type: ignore[arg-type]
    ]


def factor_table(analysis: PortfolioAnalysis, table_id: str | None = None) -> object:
    rows = factor_rows(analysis)
    if rows is None:
        return html.P(
            "The prices do not reach a full look-back window before the first day.",
            className="text-muted",
        )
    return _table(
        ["part", "return"], [[label, formatted(value, "%")] for label, value in rows], table_id
    )


SLEEVE_COLUMNS = (
    ("average_weight", "average weight", "%"),
    ("return", "return", "%"),
    ("contribution", "contribution", "%"),
)


def sleeve_table(analysis: PortfolioAnalysis) -> object:
    """A multi-strategy portfolio's sleeves: weight, return and contribution over the range."""
    sleeves = analysis.sleeve_attribution
    if sleeves is None:
        return html.P("A single-strategy portfolio: no sleeves.", className="text-muted")
    by_sleeve = sleeves["sleeves"]
    assert isinstance(by_sleeve, Mapping)
    rows = [
        [name, *(formatted(row[key], kind) for key, _, kind in SLEEVE_COLUMNS)]
        for name, row in by_sleeve.items()
    ]
    rows.append(["holdings' return", "", "", formatted(sleeves["holdings_return"], "%")])
    return _table(["sleeve", *(label for _, label, _ in SLEEVE_COLUMNS)], rows)


def source_rows(analysis: PortfolioAnalysis) -> list[tuple[str, float, float]]:
    """(label, profit and loss in USD, contribution to the return) for each signal view
    (``source/horizon``), then each source's total, then the two lines that take the rest."""
    sources = analysis.source_attribution
    views, by_source = sources["views"], sources["sources"]
    assert isinstance(views, Mapping) and isinstance(by_source, Mapping)
    return [
        *(
            (str(key), row["pnl_usd"], row["contribution"])
            for key, row in views.items()
            if "/" in key
        ),
        *(
            (f"{name} (all horizons)", row["pnl_usd"], row["contribution"])
            for name, row in by_source.items()
            if name not in views
        ),
        *(
            (str(key), row["pnl_usd"], row["contribution"])
            for key, row in views.items()
            if "/" not in key
        ),
        ("total", float(sources["total_pnl_usd"]), float(sources["portfolio_return"])),  # type: ignore[arg-type]
    ]


def source_table(analysis: PortfolioAnalysis, table_id: str | None = None) -> object:
    rows = [
        [label, formatted(pnl, "usd"), formatted(contribution, "%")]
        for label, pnl, contribution in source_rows(analysis)
    ]
    return _table(["signal view", "P&L (USD)", "contribution"], rows, table_id)


def decision_rows(analysis: PortfolioAnalysis) -> list[tuple[str, float]]:
    """(decision, its contribution to the return), then the portfolio's return."""
    decisions = analysis.decision_attribution
    by_decision = decisions["decisions"]
    assert isinstance(by_decision, Mapping)
    return [
        *((str(name), float(value)) for name, value in by_decision.items()),
        ("portfolio's return", float(decisions["portfolio_return"])),  # type: ignore[arg-type]
    ]


def decision_table(analysis: PortfolioAnalysis, table_id: str | None = None) -> object:
    stages = analysis.decision_attribution["returns"]
    assert isinstance(stages, Mapping)
    return html.Div(
        [
            _table(
                ["decision", "gained or cost"],
                [[label, formatted(value, "%")] for label, value in decision_rows(analysis)],
                table_id,
            ),
            html.P(
                "Each book's return: "
                + "; ".join(f"{name} {value:.2%}" for name, value in stages.items())
                + ".",
                className="small text-muted",
            ),
        ]
    )
