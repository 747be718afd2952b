"""The risk officer's pieces of the Risk page: the trading state, limit utilisation bars, risk
alerts and the pre-trade gate's decisions (each holding's risk attribution, stress results and
the audit trail of risk controls are in ``risk_tables.py``).

Pure functions: snapshot views in, components out. Limits carry their unit (see
engine/risk/limits.py); a fraction of NAV reads as a percentage, dollars to the cent, a count
whole. Styles are inline so the pieces need nothing from the stylesheet.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import dash_bootstrap_components as dbc
from dash import html

from components import formatting as fmt
from components.colours import NEGATIVE, POSITIVE
from components.layout import audited_submit
from components.tables import (
    RECENT_ROWS,
    Cell,
    Column,
    PortfolioLabels,
    build_table,
    shown_of,
)
from components.trade_tables import side_text_cell, trading_state_badge
from components.units import PERCENT_RULE, percent_text
from engine.risk.limits import DEFAULT_WARN_AT, KINDS, MODES, ON_BREACH, TRADING_STATES
from engine.snapshot import (
    GateDecisionView,
    LimitView,
    RiskAlertView,
)

RESTRICTED = "restricted_instruments"
# Who a risk form's commands are recorded as, until the person types their own name.
RISK_ACTOR = "risk"
WARNING_COLOUR = "#E69F00"
LEVEL_COLOURS = {"ok": POSITIVE, "warning": WARNING_COLOUR, "breach": NEGATIVE}
LEVEL_BADGES = {"ok": "success", "warning": "warning", "breach": "danger"}
# A utilisation bar's track spans 0 to 150% of the limit; a bar past it is cut (its text is not).
BAR_SCALE = 1.5
STATE_MEANINGS = {
    "ACTIVE": "orders pass within the limits",
    "REDUCING": "only orders that reduce a position pass",
    "HALTED": "no order passes; working orders are cancelled",
}


# Units and amounts --------------------------------------------------------------------------------


def shown_unit(unit: str) -> str:
    """A limit's unit as the page shows its amounts: fractions of NAV read in percent."""
    return unit.replace("fraction of", "% of")


def limit_amount(value: float | None, unit: str) -> str:
    """A measure or threshold in its unit: ``12.50%`` of NAV, ``$50,000.00``, ``12`` orders."""
    if value is None or not math.isfinite(value):
        return fmt.EMPTY
    if "fraction" in unit:
        return fmt.pct(value, 2)
    if unit == "USD":
        return fmt.usd(value)
    if unit == "orders":
        return f"{value:,.0f}"
    return f"{value:,.4g}"


def unit_of(limit_name: str) -> str:
    """The unit of a limit kind, by name ("" for one the page does not know)."""
    kind = KINDS.get(limit_name)
    return kind.unit if kind else ""


def utilisation_text(utilisation: float | None) -> str:
    if utilisation is None or not math.isfinite(utilisation):
        return fmt.EMPTY
    return f"{utilisation * 100:.0f}%"


# The trading state --------------------------------------------------------------------------------


def trading_state_panel(
    state: str, reason: str | None, budget_scaling: tuple[str, float] | None = None
) -> html.Div:
    """The portfolio's trading state as a coloured badge (ACTIVE green, REDUCING amber, HALTED
    red), why it is not active, what the state lets through, and whether the latest allocation
    was scaled down to fit a risk budget."""
    lines: list[Any] = [
        html.Div(
            [
                trading_state_badge(state, reason),
                html.Small(f" {STATE_MEANINGS.get(state, '')}", className="text-muted"),
            ]
        )
    ]
    if budget_scaling is not None:
        limit, factor = budget_scaling
        lines.append(
            html.Small(
                f"The latest allocation was scaled to {factor * 100:.0f}% of its size to fit "
                f"the {limit} budget.",
                className="text-muted d-block mt-1",
            )
        )
    return html.Div(lines)


# Limit utilisation --------------------------------------------------------------------------------


def utilisation_bar(limit: LimitView) -> html.Div:
    """One horizontal bar: the measure's utilisation of its limit (measure / threshold), coloured
    by level (green ok, amber warning, red breach), a thin mark at the warning level and a dark
    one at the limit itself, and the utilisation in percent."""
    if limit.name == RESTRICTED:
        return html.Div(
            ", ".join(limit.symbols) or fmt.EMPTY, className="pc-restricted fw-semibold"
        )
    if limit.utilisation is None or not math.isfinite(limit.utilisation):
        return html.Div("not measured yet", className="text-muted small")
    colour = LEVEL_COLOURS.get(limit.level, "#6c757d")
    filled_pct = 100.0 * min(max(limit.utilisation, 0.0), BAR_SCALE) / BAR_SCALE

    def mark(at: float, mark_colour: str, title: str) -> html.Div:
        return html.Div(
            title=title,
            style={
                "position": "absolute",
                "left": f"{100.0 * min(at, BAR_SCALE) / BAR_SCALE:.1f}%",
                "top": "-3px",
                "bottom": "-3px",
                "width": "2px",
                "background": mark_colour,
            },
        )

    track = html.Div(
        [
            html.Div(
                className=f"pc-limit-fill pc-limit-{limit.level}",
                style={
                    "width": f"{filled_pct:.1f}%",
                    "height": "100%",
                    "background": colour,
                    "borderRadius": "2px",
                },
            ),
            mark(limit.warn_at, WARNING_COLOUR, f"warning from {limit.warn_at * 100:.0f}%"),
            mark(1.0, "#212529", "the limit (100%)"),
        ],
        style={
            "position": "relative",
            "flex": "1 1 auto",
            "minWidth": "9rem",
            "height": "0.8rem",
            "background": "#E9ECEF",
            "borderRadius": "2px",
        },
    )
    return html.Div(
        [
            track,
            html.Span(
                utilisation_text(limit.utilisation),
                className="pc-limit-pct fw-semibold",
                style={"color": colour, "minWidth": "3.5rem", "textAlign": "right"},
            ),
        ],
        className="pc-limit-bar",
        title=f"{limit.level}: {utilisation_text(limit.utilisation)} of the limit",
        style={"display": "flex", "alignItems": "center", "gap": "0.5rem"},
    )


LIMIT_COLUMNS = (
    Column("limit"),
    Column("utilisation (of the limit)"),
    Column("value", numeric=True),
    Column("threshold", numeric=True),
    Column("unit"),
    Column("mode"),
    Column("warn at", numeric=True),
    Column("on breach"),
    Column("version", numeric=True),
    Column("scope"),
    Column("set by"),
    Column("binding"),
)


def limits_table(limits: Sequence[LimitView]) -> html.Div:
    """One row a limit in force: its utilisation bar, the measure and the threshold in the
    limit's unit, hard or soft, the warning level, what a breach does, its version and who set
    it, and what binds (an instrument, a sector); restricted instruments are listed by symbol."""
    rows = [
        [
            Cell(limit.name, class_name="fw-semibold"),
            utilisation_bar(limit),
            fmt.EMPTY if limit.name == RESTRICTED else limit_amount(limit.value, limit.unit),
            fmt.EMPTY if limit.name == RESTRICTED else limit_amount(limit.threshold, limit.unit),
            shown_unit(limit.unit),
            dbc.Badge(
                limit.mode,
                color="dark" if limit.mode == "hard" else "secondary",
                className="pc-limit-mode",
            ),
            fmt.pct(limit.warn_at, 0),
            limit.on_breach,
            f"v{limit.version}",
            limit.scope,
            limit.set_by or fmt.EMPTY,
            Cell(limit.detail or fmt.EMPTY, class_name="small"),
        ]
        for limit in limits
    ]
    return build_table(LIMIT_COLUMNS, rows, empty="No risk limits in force for this portfolio.")


def breach_count(limits: Sequence[LimitView]) -> dict[str, int]:
    """How many limits are at each level (for the card's one-line summary)."""
    counts = {"ok": 0, "warning": 0, "breach": 0}
    for limit in limits:
        counts[limit.level] = counts.get(limit.level, 0) + 1
    return counts


def limits_summary(limits: Sequence[LimitView]) -> html.Div:
    counts = breach_count(limits)
    return html.Div(
        [
            dbc.Badge(f"{counts['breach']} breach", color="danger", className="me-1"),
            dbc.Badge(f"{counts['warning']} warning", color="warning", className="me-1"),
            dbc.Badge(f"{counts['ok']} ok", color="success", className="me-1"),
        ],
        className="mb-2",
    )


# The edit-limit form ------------------------------------------------------------------------------


def limit_options() -> list[dict[str, str]]:
    """Every limit kind a risk officer can set, with its unit."""
    return [
        {"label": f"{kind.name} ({shown_unit(kind.unit)})", "value": kind.name}
        for kind in KINDS.values()
    ]


def limit_value_help(limit_name: str | None) -> str:
    """What the value field takes for the chosen limit."""
    kind = KINDS.get(limit_name or "")
    if kind is None:
        return "choose a limit"
    if kind.name == RESTRICTED:
        return "no value: list the instruments under symbols"
    if "fraction" in kind.unit:
        return f"{kind.description}; in {shown_unit(kind.unit)}: {PERCENT_RULE}"
    if kind.integer:
        return f"{kind.description}; a whole number of {kind.unit}"
    return f"{kind.description}; in {kind.unit}"


def limit_form_values(limit: LimitView | None) -> tuple[str, str, str, str, str]:
    """The form's value, mode, warn-at (percent of the limit), on-breach and symbols fields for
    a limit in force (its current setting, to edit), or the defaults for a new one."""
    if limit is None:
        return "", "hard", percent_text(DEFAULT_WARN_AT), "alert", ""
    if limit.name == RESTRICTED:
        value = ""
    elif "fraction" in limit.unit:
        # With its %, so that sending the form back unchanged reads the same threshold.
        value = percent_text(limit.threshold)
    else:
        value = f"{limit.threshold:g}"
    return (
        value,
        limit.mode,
        percent_text(limit.warn_at),
        limit.on_breach,
        ", ".join(limit.symbols),
    )


def risk_submit(
    reason_id: str, actor_id: str, apply_id: str, *, placeholder: str, reason_md: int
) -> list[dbc.Col]:
    """The audited end of a risk form (reason, actor, Apply), the actor a risk officer."""
    columns = audited_submit(reason_id, actor_id, apply_id, reason_md=reason_md, apply_md=1)
    for column in columns[:2]:
        control = column.children.children[1]
        if control.id == reason_id:
            control.placeholder = placeholder
        elif control.id == actor_id:
            control.value = RISK_ACTOR
    return columns


def trading_state_options() -> list[dict[str, str]]:
    return [
        {"label": f"{state}: {STATE_MEANINGS[state]}", "value": state} for state in TRADING_STATES
    ]


def mode_options() -> list[dict[str, str]]:
    labels = {"hard": "hard (reject)", "soft": "soft (scale down)"}
    return [{"label": labels[mode], "value": mode} for mode in MODES]


def on_breach_options() -> list[dict[str, str]]:
    labels = {"alert": "alert only", "reduce": "alert, REDUCING", "halt": "alert, HALTED"}
    return [{"label": labels[action], "value": action} for action in ON_BREACH]


# Alerts ------------------------------------------------------------------------------------------

ALERT_COLUMNS = (
    Column("raised"),
    Column("portfolio"),
    Column("limit"),
    Column("level"),
    Column("value", numeric=True),
    Column("threshold", numeric=True),
    Column("utilisation", numeric=True),
    Column("message"),
    Column("acknowledged"),
)
LEVEL_RANK = {"breach": 0, "warning": 1}


def alerts_table(
    alerts: Sequence[RiskAlertView],
    labels: PortfolioLabels,
    ack_button_id: Callable[[str], dict[str, str]],
) -> html.Div:
    """The active risk alerts, breaches first, newest first within a level: the measure against
    its threshold, and an Acknowledge button (id ``ack_button_id(alert_id)``) or who has
    acknowledged it and their note."""
    shown = sorted(
        alerts,
        key=lambda a: (
            LEVEL_RANK.get(a.level, 2),
            -(a.raised_on.toordinal() if a.raised_on else 0),
            a.alert_id,
        ),
    )
    rows = []
    for a in shown:
        unit = unit_of(a.limit)
        if a.acknowledged_by:
            acknowledged: Any = Cell(
                [
                    html.Span(f"✓ {a.acknowledged_by}", className="fw-semibold"),
                    f" {a.acknowledged_note}" if a.acknowledged_note else "",
                ],
                class_name="pc-wrap small text-muted",
            )
        else:
            acknowledged = dbc.Button(
                "Acknowledge",
                id=ack_button_id(a.alert_id),
                size="sm",
                color="warning" if a.level == "warning" else "danger",
                outline=True,
                className="py-0",
            )
        rows.append(
            [
                fmt.day(a.raised_on),
                labels(a.portfolio_id),
                a.limit,
                dbc.Badge(a.level, color=LEVEL_BADGES.get(a.level, "secondary")),
                limit_amount(a.value, unit),
                limit_amount(a.threshold, unit),
                utilisation_text(a.utilisation),
                Cell(a.message, class_name="pc-wrap"),
                acknowledged,
            ]
        )
    return build_table(ALERT_COLUMNS, rows, empty="No active risk alerts.")


# Gate decisions ----------------------------------------------------------------------------------

GATE_COLUMNS = (
    Column("market date"),
    Column("order"),
    Column("symbol"),
    Column("side"),
    Column("requested → approved (shares)", numeric=True),
    Column("action"),
    Column("limit"),
    Column("value vs threshold", numeric=True),
    Column("reason"),
)
GATE_ACTION_COLOURS = {"scaled": "warning", "rejected": "danger"}


def gate_decisions_table(
    decisions: Sequence[GateDecisionView], *, limit: int = RECENT_ROWS
) -> html.Div:
    """Orders the pre-trade gate scaled down or rejected, newest first: shares asked for and
    let through, the limit that decided, its measure against the threshold, and why."""
    shown = sorted(reversed(decisions), key=lambda d: d.market_date, reverse=True)[:limit]
    rows = []
    for d in shown:
        unit = unit_of(d.limit)
        rows.append(
            [
                fmt.day(d.market_date),
                html.Code(d.order_id),
                d.symbol,
                side_text_cell(d.side),
                f"{fmt.shares(d.requested_shares)} → {fmt.shares(d.approved_shares)}",
                dbc.Badge(d.action, color=GATE_ACTION_COLOURS.get(d.action, "secondary")),
                d.limit,
                f"{limit_amount(d.value, unit)} vs {limit_amount(d.threshold, unit)}",
                Cell(d.reason, class_name="pc-wrap small"),
            ]
        )
    table = build_table(
        GATE_COLUMNS, rows, empty="No order scaled or rejected: every order fitted the limits."
    )
    return shown_of(table, len(shown), len(decisions))
