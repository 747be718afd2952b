"""The Rebalancing page's parts: drift against the bands (figure and tables), the pending
proposal with its preview and the trades to keep, the policy as a form reads and writes it,
and the history of rebalances. Everything is read from ``RebalancingView``
(engine/views/rebalancing.py)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import dash_bootstrap_components as dbc
from dash import html

from components import formatting as fmt
from components.figures import Figure, base_figure, waiting
from components.tables import Cell, Column, build_table
from engine.rebalancing.triggers import CALENDARS, RebalancePolicy
from engine.views.rebalancing import (
    DriftRow,
    GroupDriftRow,
    PolicyChange,
    ProposalView,
    RebalanceRecord,
    RebalancingView,
)

# Names the drift figure shows at most: the furthest from their target.
DRIFT_NAMES_SHOWN = 30
HISTORY_ROWS = 30
CALENDAR_LABELS = {
    "every_n_days": "every N trading days",
    "daily": "daily",
    "weekly": "first trading day of the week",
    "monthly": "first trading day of the month",
    "quarterly": "first trading day of the quarter",
    "none": "no calendar (bands and requests only)",
}
# The policy form's switches.
ON_RISK_BREACH, APPROVAL = "on_risk_breach", "approval"
COST_AWARE, TO_BAND_EDGE = "cost_aware", "to_band_edge"
SWITCHES = (ON_RISK_BREACH, APPROVAL, COST_AWARE, TO_BAND_EDGE)
BEYOND_CLASS = "table-danger"
# What a rebalance waiting for the next close was asked for by, as the summary says it.
REQUESTED = {"manual": "a manager asked for it", "cash_flow": "a deposit or withdrawal"}


def calendar_options() -> list[dict[str, str]]:
    return [{"label": CALENDAR_LABELS[kind], "value": kind} for kind in CALENDARS]


def switch_options() -> list[dict[str, str]]:
    return [
        {"label": "rebalance on a risk limit breach", "value": ON_RISK_BREACH},
        {"label": "wait for a manager's approval", "value": APPROVAL},
        {"label": "skip trades worth less than their cost and tax", "value": COST_AWARE},
        {"label": "trade names beyond their band to its edge only", "value": TO_BAND_EDGE},
    ]


def describe_policy(policy: RebalancePolicy) -> str:
    """The policy in one line, as a manager would say it."""
    if policy.calendar == "every_n_days":
        parts = [f"every {policy.every_days} trading day(s)"]
    else:
        parts = [CALENDAR_LABELS[policy.calendar]]
    if policy.drift_absolute is not None:
        parts.append(f"a name {fmt.pct(policy.drift_absolute, 2)} of NAV off target")
    if policy.drift_relative is not None:
        parts.append(f"a name {fmt.pct(policy.drift_relative, 0)} off its target weight")
    if policy.sector_drift_absolute is not None:
        parts.append(f"a sector {fmt.pct(policy.sector_drift_absolute, 2)} off target")
    if policy.class_drift_absolute is not None:
        parts.append(f"an asset class {fmt.pct(policy.class_drift_absolute, 2)} off target")
    if policy.on_risk_breach:
        parts.append("a risk limit breach")
    if policy.signal_change is not None:
        parts.append(f"a name's view moving {policy.signal_change:g} since the last rebalance")
    approval = (
        f"; waits for approval (expires after {policy.proposal_expires_days} day(s))"
        if policy.approval
        else "; trades without approval"
    )
    if policy.cost_aware:
        approval += (
            f"; skips trades worth less over {policy.horizon_days} day(s) than their cost and tax"
        )
    if policy.to_band_edge:
        approval += "; trades to the band edges"
    return "Rebalances on " + ", or ".join(parts) + approval


# -- the policy form ------------------------------------------------------------------------
def _percent(value: float | None, decimals: int) -> str:
    return "" if value is None else f"{value * 100:.{decimals}f}"


def policy_form_values(policy: RebalancePolicy) -> tuple[Any, ...]:
    """The form's values for ``policy``: calendar, every N days, the three bands in percent,
    the signal change, the switches, the expiry and the no-trade horizon."""
    switches = [name for name in SWITCHES if getattr(policy, name)]
    return (
        policy.calendar,
        policy.every_days,
        _percent(policy.drift_absolute, 2),
        _percent(policy.drift_relative, 1),
        _percent(policy.sector_drift_absolute, 2),
        _percent(policy.class_drift_absolute, 2),
        "" if policy.signal_change is None else f"{policy.signal_change:g}",
        switches,
        policy.proposal_expires_days,
        policy.horizon_days,
    )


def _band(field: str, text: str | None) -> float | None:
    """A band typed in percent ("3", "3%", "2.5"), as a fraction; empty: no band."""
    text = (text or "").strip().removesuffix("%").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{field}: {text!r} is not a percentage (e.g. 3 for 3%)") from None
    return value / 100


def amount_usd(text: str | None) -> Decimal:
    """A cash flow typed in USD ("250,000", "-50000.00", "$1,000"); ``ValueError`` naming
    the field otherwise."""
    cleaned = (text or "").strip().replace(",", "").replace("$", "").replace(" ", "")
    if not cleaned:
        raise ValueError("amount_usd: give the amount in USD (negative for a withdrawal)")
    try:
        amount = Decimal(cleaned)
    except ArithmeticError:
        raise ValueError(f"amount_usd: {text!r} is not an amount in USD") from None
    if not amount.is_finite():
        raise ValueError(f"amount_usd: {text!r} is not an amount in USD")
    return amount


def _score(field: str, text: str | None) -> float | None:
    """A change of score typed as a number ("0.5"); empty: none."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{field}: {text!r} is not a number (a score change, e.g. 0.5)") from None


def _whole(field: str, value: Any) -> int:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{field}: {value!r} is not a whole number") from None
    if not number.is_integer():
        raise ValueError(f"{field}: {value!r} is not a whole number")
    return int(number)


def policy_from_form(
    calendar: str | None,
    every_days: Any,
    drift_absolute: str | None,
    drift_relative: str | None,
    sector_drift: str | None,
    class_drift: str | None,
    signal_change: str | None,
    switches: list[str] | None,
    expires_days: Any,
    horizon_days: Any,
) -> RebalancePolicy:
    """The ``RebalancePolicy`` the form describes; ``ValueError`` naming the field otherwise."""
    chosen = set(switches or ())
    return RebalancePolicy(
        calendar=calendar or "",
        every_days=_whole("every_days", every_days if every_days not in (None, "") else 1),
        drift_absolute=_band("drift_absolute", drift_absolute),
        drift_relative=_band("drift_relative", drift_relative),
        sector_drift_absolute=_band("sector_drift_absolute", sector_drift),
        class_drift_absolute=_band("class_drift_absolute", class_drift),
        on_risk_breach=ON_RISK_BREACH in chosen,
        approval=APPROVAL in chosen,
        signal_change=_score("signal_change", signal_change),
        proposal_expires_days=_whole("proposal_expires_days", expires_days),
        cost_aware=COST_AWARE in chosen,
        horizon_days=_whole("horizon_days", horizon_days),
        to_band_edge=TO_BAND_EDGE in chosen,
    )


def policy_audit(changes: tuple[PolicyChange, ...], configured: RebalancePolicy) -> html.Div:
    rows = [
        [
            fmt.day(change.market_date),
            change.actor,
            change.reason,
            describe_policy(change.policy),
        ]
        for change in changes
    ]
    return html.Div(
        [
            html.Div(
                f"Configured at start: {describe_policy(configured)}.",
                className="small text-muted mb-1",
            ),
            build_table(
                [Column("market date"), Column("by"), Column("why"), Column("new policy")],
                rows,
                empty="No change since the engine started with its configuration.",
            ),
        ]
    )


# -- drift ----------------------------------------------------------------------------------
def _status(row: DriftRow | GroupDriftRow) -> Cell:
    if row.band is None:
        return Cell("no band", "text-muted")
    if row.beyond:
        return Cell("beyond", f"{BEYOND_CLASS} fw-semibold")
    return Cell(f"{abs(row.drift) / row.band:.0%} of band")


def _drift(drift: float) -> str:
    # A drift that rounds to nothing reads 0.00%, not -0.00%.
    shown = round(drift * 100, 2)
    return f"{shown + 0.0:+.2f}%" if shown else "0.00%"


DRIFT_COLUMNS = (
    Column("weight", numeric=True),
    Column("target", numeric=True),
    Column("drift", numeric=True),
    Column("band", numeric=True),
    Column("status"),
)


def _drift_cells(row: DriftRow | GroupDriftRow) -> list[Any]:
    return [
        fmt.pct(row.weight, 2),
        fmt.pct(row.target_weight, 2),
        _drift(row.drift),
        fmt.pct(row.band, 2) if row.band is not None else fmt.EMPTY,
        _status(row),
    ]


def drift_table(rows: tuple[DriftRow, ...]) -> html.Div:
    """Each name's drift against its band, the furthest off first."""
    return build_table(
        [Column("instrument"), Column("sector"), *DRIFT_COLUMNS],
        [[r.symbol, r.sector, *_drift_cells(r)] for r in sorted(rows, key=lambda r: -abs(r.drift))],
        empty="Nothing held or targeted yet.",
    )


def group_table(rows: tuple[GroupDriftRow, ...], kind: str) -> html.Div:
    """Each sector's or asset class's (``kind``) drift against its band."""
    return build_table(
        [Column(kind), *DRIFT_COLUMNS],
        [[r.group, *_drift_cells(r)] for r in sorted(rows, key=lambda r: -abs(r.drift))],
        empty="Nothing held or targeted yet.",
    )


def drift_figure(view: RebalancingView) -> Figure:
    """Each name's drift from target (weight less target, in % of NAV) with its band either
    side; the names furthest off first."""
    rows = sorted(view.drift, key=lambda r: -abs(r.drift))[:DRIFT_NAMES_SHOWN]
    names = [r.symbol for r in rows]
    traces: list[dict[str, Any]] = [
        {
            "type": "bar",
            "name": "drift",
            "x": names,
            "y": [r.drift * 100 for r in rows],
            "marker": {"color": ["#dc3545" if r.beyond else "#0d6efd" for r in rows]},
            "hovertemplate": "%{x}: %{y:+.2f}% of NAV<extra></extra>",
        }
    ]
    banded = [r for r in rows if r.band is not None]
    for sign, label in ((1, "band"), (-1, None)):
        traces.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": label or "band",
                "showlegend": label is not None,
                "x": [r.symbol for r in banded],
                "y": [sign * (r.band or 0) * 100 for r in banded],
                "marker": {"symbol": "line-ew-open", "size": 18, "color": "#6c757d"},
                "hovertemplate": "%{x}: band %{y:.2f}%<extra></extra>",
            }
        )
    figure = base_figure(
        traces,
        x_title="",
        y_title="drift, % of NAV",
        revision=view.portfolio_id,
        showlegend=True,
    )
    if not rows:
        return waiting(figure, "no target yet")
    return figure


# -- the proposal ---------------------------------------------------------------------------
PREVIEW_ROWS = (
    ("turnover", "turnover (one way, of NAV)", "pct"),
    ("estimated_cost_usd", "estimated cost", "usd"),
    ("current_volatility_annual", "volatility before", "pct"),
    ("volatility_annual", "volatility after", "pct"),
    ("current_expected_return_annual", "expected return before", "pct"),
    ("expected_return_annual", "expected return after", "pct"),
    ("tracking_error_annual", "tracking error to the benchmark", "pct"),
    ("realised_short_term_gain_usd", "short-term gains realised", "usd"),
    ("realised_long_term_gain_usd", "long-term gains realised", "usd"),
    ("estimated_tax_usd", "estimated tax", "usd"),
)


def _shown(value: float | str | None, kind: str) -> str:
    if value is None:
        return fmt.EMPTY
    if kind == "usd":
        return fmt.usd(Decimal(str(value)))
    return fmt.pct(float(value), 2)


def preview_table(preview: Mapping[str, float | str]) -> html.Div:
    return build_table(
        [Column("preview"), Column("", numeric=True)],
        [[label, _shown(preview.get(key), kind)] for key, label, kind in PREVIEW_ROWS],
        empty="No preview recorded.",
    )


def trades_table(proposal: ProposalView) -> html.Div:
    return build_table(
        [
            Column("instrument"),
            Column("side"),
            Column("shares", numeric=True),
            Column("notional at the proposal's close", numeric=True),
        ],
        [
            [
                t.symbol,
                Cell(t.side, "text-success" if t.side == "BUY" else "text-danger"),
                fmt.shares(t.quantity_shares),
                fmt.usd(t.notional_usd) if t.notional_usd else fmt.EMPTY,
            ]
            for t in proposal.trades
        ],
        empty="No trade.",
    )


def proposal_header(proposal: ProposalView) -> html.Div:
    status = (
        dbc.Badge("waiting for a decision", color="warning", className="me-2")
        if proposal.status == "pending"
        else dbc.Badge("approved: trades at the next close", color="success", className="me-2")
    )
    lines: list[Any] = [
        html.Div(
            [
                status,
                html.Strong(proposal.proposal_id),
                f" proposed at the close of {fmt.day(proposal.market_date)}; expires after "
                f"{fmt.day(proposal.expires_after)}.",
            ]
        )
    ]
    if proposal.triggers:
        lines.append(html.Div("Why: " + "; ".join(proposal.triggers), className="small"))
    if proposal.dropped:
        lines.append(
            html.Div("Dropped: " + ", ".join(proposal.dropped), className="small text-muted")
        )
    return html.Div(lines, className="mb-2")


def keep_options(proposal: ProposalView) -> list[dict[str, Any]]:
    """One tick box per traded name: ticked, the trade goes; unticked, it is dropped."""
    return [
        {"label": f"{t.side} {t.quantity_shares:,} {t.symbol}", "value": t.symbol}
        for t in proposal.trades
    ]


# -- the history ----------------------------------------------------------------------------
def history_table(records: tuple[RebalanceRecord, ...]) -> html.Div:
    return build_table(
        [
            Column("close"),
            Column("triggers"),
            Column("outcome"),
            Column("orders", numeric=True),
            Column("held back", numeric=True),
            Column("turnover", numeric=True),
            Column("est. cost", numeric=True),
            Column("cost so far", numeric=True),
            Column("realised gain", numeric=True),
            Column("tax (est.)", numeric=True),
        ],
        [
            [
                fmt.day(r.market_date),
                html.Div([html.Div(t) for t in r.triggers], className="small"),
                html.Span(r.outcome, className="small"),
                f"{r.orders:,}",
                f"{r.held_back:,}",
                fmt.pct(r.turnover, 2),
                fmt.usd(r.estimated_cost_usd),
                fmt.usd(r.cost_usd),
                fmt.usd(r.realised_gain_usd),
                fmt.usd(r.tax_usd),
            ]
            for r in records[:HISTORY_ROWS]
        ],
        empty="No rebalance yet.",
    )


def summary(view: RebalancingView) -> list[Any]:
    beyond = view.beyond_bands
    if not view.policy.watches_drift:
        badge = dbc.Badge("no drift band", color="secondary", className="me-2")
    elif beyond:
        badge = dbc.Badge(f"{beyond} beyond their band", color="danger", className="me-2")
    else:
        badge = dbc.Badge("within the bands", color="success", className="me-2")
    parts: list[Any] = [badge, describe_policy(view.policy) + "."]
    if view.requested:
        why = " and ".join(REQUESTED.get(kind, kind) for kind in view.requested)
        parts.append(
            html.Div(f"Rebalances at the next close: {why}.", className="small text-primary")
        )
    return parts
