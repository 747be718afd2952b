"""The risk officer's pieces of the Risk page: the trading state, the limits grid's columns and
rows, risk alerts and the pre-trade gate's decisions (each holding's risk attribution, stress
results and the audit trail of risk controls are in ``risk_tables.py``).

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
from components.colours import NEGATIVE
from components.grid import (
    date_column,
    number_column,
    percent_column,
    shares_column,
    text_column,
)
from components.layout import audited_submit
from components.tables import (
    Cell,
    Column,
    PortfolioLabels,
    build_table,
)
from components.trade_tables import trading_state_badge
from components.units import PERCENT_RULE, percent_text
from engine.risk.limits import DEFAULT_WARN_AT, KINDS, MODES, ON_BREACH, TRADING_STATES
from engine.risk.metrics import drawdown_basis
from engine.snapshot import (
    GateDecisionView,
    LimitView,
    RiskAlertView,
)

RESTRICTED = "restricted_instruments"
# Who a risk form's commands are recorded as, until the person types their own name.
RISK_ACTOR = "risk"
WARNING_COLOUR = "#E69F00"
LEVEL_BADGES = {"ok": "success", "warning": "warning", "breach": "danger"}
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


# How each row's measure and threshold read: percent of NAV, dollars, or a whole count.
AMOUNT_FORMAT = {
    "function": (
        "params.value == null ? '' : params.data.amount_format === '%' "
        "? d3.format(',.2%')(params.value) : params.data.amount_format === '$' "
        "? d3.format('$,.2f')(params.value) : d3.format(',.0f')(params.value)"
    )
}
# A row coloured by its level: amber at a warning, red at a breach.
LEVEL_STYLE = {
    "function": (
        "!params.data ? {} : params.data.level === 'breach' "
        f"? {{color: '{NEGATIVE}', fontWeight: 600}} : params.data.level === 'warning' "
        f"? {{color: '{WARNING_COLOUR}', fontWeight: 600}} : {{}}"
    )
}


def measure_basis(name: str, drawdown_window_days: int) -> str:
    """What a limit's measure is, for its tooltip: the kind's description in its unit, and for
    the drawdown its window and basis (the one definition the figures card also shows)."""
    kind = KINDS.get(name)
    if kind is None:
        return name
    if name == "max_drawdown":
        return f"Drawdown {drawdown_basis(drawdown_window_days)}, at the latest close"
    return f"{kind.description[:1].upper()}{kind.description[1:]}, in {shown_unit(kind.unit)}"


def _amount_format(unit: str) -> str:
    if "fraction" in unit:
        return "%"
    return "$" if unit == "USD" else "n"


def limit_grid_columns() -> list[dict[str, Any]]:
    """The limits grid: the limit pinned (its measure's basis as the tooltip), utilisation
    coloured by level, the measure and threshold in the limit's unit, then its setting."""
    limit = text_column("limit", "limit", pinned=True, width=210)
    limit["tooltipField"] = "basis"
    utilisation = percent_column("utilisation", "utilisation", decimals=0)
    utilisation["cellStyle"] = LEVEL_STYLE
    level = text_column("level", "level")
    level["cellStyle"] = LEVEL_STYLE
    amounts = [
        {**number_column(field, header), "valueFormatter": AMOUNT_FORMAT}
        for field, header in (("value", "measure"), ("threshold", "threshold"))
    ]
    version = number_column("version", "version", decimals=0)
    version["valueFormatter"] = {"function": "params.value == null ? '' : 'v' + params.value"}
    binding = text_column("binding", "binding")
    binding["tooltipField"] = "binding"
    return [
        limit,
        utilisation,
        level,
        *amounts,
        text_column("mode", "mode"),
        percent_column("warn_at", "warn at", decimals=0),
        text_column("on_breach", "on breach"),
        version,
        text_column("set_by", "set by"),
        binding,
    ]


def limit_grid_rows(limits: Sequence[LimitView], drawdown_window_days: int) -> list[dict[str, Any]]:
    """One plain row a limit in force, for the server grid (restricted instruments list their
    symbols under binding)."""

    def finite(value: float | None) -> float | None:
        return value if value is not None and math.isfinite(value) else None

    return [
        {
            "limit": limit.name,
            "basis": measure_basis(limit.name, drawdown_window_days),
            "utilisation": None if limit.name == RESTRICTED else finite(limit.utilisation),
            "level": limit.level,
            "value": None if limit.name == RESTRICTED else finite(limit.value),
            "threshold": None if limit.name == RESTRICTED else finite(limit.threshold),
            "amount_format": _amount_format(limit.unit),
            "mode": limit.mode,
            "warn_at": limit.warn_at,
            "on_breach": limit.on_breach,
            "version": limit.version,
            "scope": limit.scope,
            "set_by": limit.set_by or "config",
            "binding": ", ".join(limit.symbols) if limit.name == RESTRICTED else limit.detail,
        }
        for limit in limits
    ]


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


# Short enough to read whole in the select; the panel above it says the full meaning.
STATE_OPTION_LABELS = {
    "ACTIVE": "ACTIVE (trade within limits)",
    "REDUCING": "REDUCING (reduce only)",
    "HALTED": "HALTED (no orders)",
}


def trading_state_options() -> list[dict[str, str]]:
    return [{"label": STATE_OPTION_LABELS[state], "value": state} for state in TRADING_STATES]


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

GATE_PAGE_SIZE = 20
GATE_ACTION_STYLE = {
    "function": (
        "!params.data ? {} : params.data.action === 'rejected' "
        f"? {{color: '{NEGATIVE}', fontWeight: 600}} : params.data.action === 'scaled' "
        f"? {{color: '{WARNING_COLOUR}', fontWeight: 600}} : {{}}"
    )
}


def gate_grid_columns() -> list[dict[str, Any]]:
    """The gate's decisions: date and order pinned, shares asked for and let through, the limit
    that decided, its measure against the threshold in the limit's unit, and why."""
    action = text_column("action", "action", width=110)
    action["cellStyle"] = GATE_ACTION_STYLE
    reason = text_column("reason", "reason", width=320)
    reason["tooltipField"] = "reason"
    return [
        date_column("market_date", "market date", pinned=True),
        text_column("order_id", "order", pinned=True, width=150),
        text_column("symbol", "symbol", width=100),
        text_column("side", "side", width=80),
        shares_column("requested_shares", "requested"),
        shares_column("approved_shares", "approved"),
        action,
        text_column("limit", "limit", width=200),
        text_column("measure", "value vs threshold", width=200),
        reason,
    ]


def gate_grid_rows(decisions: Sequence[GateDecisionView]) -> list[dict[str, Any]]:
    """One plain row a decision, newest first (the order they were made in, within a day)."""
    rows = []
    for number, d in enumerate(decisions):
        unit = unit_of(d.limit)
        rows.append(
            {
                "key": f"{number}:{d.order_id}:{d.limit}",
                "market_date": d.market_date.isoformat(),
                "order_id": d.order_id,
                "symbol": d.symbol,
                "side": d.side,
                "requested_shares": d.requested_shares,
                "approved_shares": d.approved_shares,
                "action": d.action,
                "limit": d.limit,
                "measure": f"{limit_amount(d.value, unit)} vs {limit_amount(d.threshold, unit)}",
                "reason": d.reason,
            }
        )
    return sorted(reversed(rows), key=lambda row: row["market_date"], reverse=True)


def gate_note(decisions: Sequence[GateDecisionView]) -> html.Small:
    """Above the gate's grid: how many decisions it holds, or that every order fitted."""
    if not decisions:
        return html.Small(
            "No order scaled or rejected: every order fitted the limits.", className="text-muted"
        )
    rejected = sum(1 for d in decisions if d.action == "rejected")
    return html.Small(
        f"The last {len(decisions):,} orders scaled down or rejected ({rejected:,} rejected), "
        "newest first.",
        className="text-muted",
    )
