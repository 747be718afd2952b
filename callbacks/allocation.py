"""Allocation: the portfolio picker, target vs current weights, the latest allocation's outcome,
risk contributions, sleeves and cash, the holdings table, and weight overrides sent as commands.

Two refreshes, each skipping its work unless what it shows can have changed: the allocation views
change only with a cycle (or another portfolio chosen); the weight overrides with an Apply or Lift
(which needs no cycle, so a paused engine still shows them at once) or a command from elsewhere.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, ctx, html
from dash.exceptions import PreventUpdate

from callbacks.commands import alert, send
from callbacks.pickers import register_portfolio_picker
from components import formatting as fmt
from components import ids
from components.allocation_why import holding_grid_rows, holdings_footer, why_panel
from components.colours import portfolio_colours
from components.figures import risk_contributions_figure, weights_figure
from components.grid import refresh_store_id, register_refresh, serve_rows
from components.tables import (
    allocation_outcome,
    cash_table,
    impact_table,
    portfolio_label,
    sleeves_table,
    weight_overrides_table,
)
from components.units import PERCENT_RULE, parse_fraction
from engine.commands import LiftWeightOverride, SetWeightOverride

if TYPE_CHECKING:
    import dash

    from engine.coordinator import CoordinatorRunner
    from engine.snapshot import StateSnapshot
    from engine.views.queries import EventQueries

# The reason recorded with a lift made on this page: the audit trail says where it came from.
LIFT_REASON = "lifted from the dashboard"
WEIGHT_MODES = ("pin", "exclude")
# Whoever lifts without naming themselves still has to be someone in the audit trail.
FALLBACK_ACTOR = "dashboard-user"


def _weight_fraction(weight_pct: float | str | None, *, long_short: bool) -> float:
    """The pinned weight as a fraction of NAV, from the form's percent by the one rule of every
    form (components/units.py): ``5%``, ``5`` and ``0.05`` are all 5% of NAV."""
    if weight_pct is None or (isinstance(weight_pct, str) and not weight_pct.strip()):
        raise ValueError("weight: a pin needs a weight in percent of NAV (5% for 5%)")
    fraction = parse_fraction(weight_pct, "weight")
    percent = fraction * 100.0
    if fraction < 0 and not long_short:
        raise ValueError(
            f"weight: {percent:g}% is a short, and this portfolio is long-only: "
            "pin 0% or more, or exclude the instrument"
        )
    lowest = -1.0 if long_short else 0.0
    if not lowest <= fraction <= 1.0:
        raise ValueError(f"weight: {percent:g}% must be between {lowest * 100:g}% and 100% of NAV")
    return fraction


def set_weight_override_command(
    portfolio_id: str | None,
    symbol: str | None,
    mode: str | None,
    weight_pct: float | str | None,
    reason: str | None,
    actor: str | None,
    *,
    long_short: bool,
) -> SetWeightOverride:
    """The ``SetWeightOverride`` the form describes: a pin at ``weight_pct`` percent of NAV, or an
    exclusion (the weight is then ignored).

    Raises ``ValueError`` naming the field when something is missing or out of range; a short
    is refused unless the portfolio is ``long_short``. The command itself checks the reason.
    """
    if not portfolio_id:
        raise ValueError("portfolio: choose the portfolio to override")
    if not symbol:
        raise ValueError("instrument: choose the instrument to pin or exclude")
    actor = (actor or "").strip()
    if not actor:
        raise ValueError("actor: say who sets the override (it goes into the audit trail)")
    if mode not in WEIGHT_MODES:
        raise ValueError(f"mode: {mode!r} must be 'pin' (a weight) or 'exclude'")
    weight = _weight_fraction(weight_pct, long_short=long_short) if mode == "pin" else None
    return SetWeightOverride(
        actor,
        (reason or "").strip(),
        portfolio_id=portfolio_id,
        symbol=symbol,
        weight=weight,
    )


def lift_weight_override_command(
    portfolio_id: str, symbol: str, actor: str | None
) -> LiftWeightOverride:
    """The ``LiftWeightOverride`` of a row's Lift button, by the form's actor."""
    return LiftWeightOverride(
        (actor or "").strip() or FALLBACK_ACTOR,
        LIFT_REASON,
        portfolio_id=portfolio_id,
        symbol=symbol,
    )


def _portfolio_name(snapshot: StateSnapshot, portfolio_id: str) -> str:
    names = {view.portfolio_id: view.name for view in snapshot.portfolios}
    return names.get(portfolio_id, portfolio_id)


def describe_weight_command(command: SetWeightOverride | LiftWeightOverride, name: str) -> str:
    """What an answered command did, as the person asked for it."""
    if isinstance(command, LiftWeightOverride):
        return f"Lifted the weight override on {command.symbol} in {name}."
    if command.weight is None:
        return f"Excluded {command.symbol} from {name}."
    return f"Pinned {command.symbol} at {fmt.pct(command.weight, 2)} of NAV in {name}."


def _is_long_short(snapshot: StateSnapshot, portfolio_id: str | None) -> bool:
    return any(v.long_short for v in snapshot.portfolios if v.portfolio_id == portfolio_id)


def register(app: dash.Dash, runner: CoordinatorRunner, queries: EventQueries) -> None:
    register_portfolio_picker(app, runner, ids.ALLOCATION_PORTFOLIO_PICKER)

    @app.callback(
        Output(ids.ALLOCATION_WEIGHTS_GRAPH, "figure"),
        Output(ids.ALLOCATION_HOLDINGS_TABLE, "children"),
        Output(ids.ALLOCATION_SUMMARY, "children"),
        Output(ids.ALLOCATION_IMPACT, "children"),
        Output(ids.ALLOCATION_OUTCOME, "children"),
        Output(ids.ALLOCATION_RISK_GRAPH, "figure"),
        Output(ids.ALLOCATION_SLEEVES_TABLE, "children"),
        Output(ids.ALLOCATION_SLEEVES_CARD, "hidden"),
        Output(ids.ALLOCATION_CASH, "children"),
        Output(ids.ALLOCATION_WHY, "children"),
        Output(refresh_store_id(ids.ALLOCATION_HOLDINGS_GRID), "data"),
        Output(ids.ALLOCATION_RENDERED, "data"),
        Input(ids.SNAPSHOT_VERSION, "data"),
        Input(ids.ALLOCATION_PORTFOLIO_PICKER, "value"),
        State(ids.ALLOCATION_RENDERED, "data"),
    )
    def show_allocation(
        _version: int | None, portfolio_id: str | None, rendered: dict[str, Any] | None
    ) -> tuple[Any, ...]:
        if not portfolio_id:
            raise PreventUpdate
        snapshot = runner.snapshot()
        try:
            portfolio = snapshot.portfolio(portfolio_id)
        except KeyError as error:
            raise PreventUpdate from error
        risk = next((r for r in snapshot.risk if r.portfolio_id == portfolio_id), None)
        # A cycle changes everything here; a trading state or a limit set between cycles
        # changes why the book sits where it does.
        shown = {
            "portfolio_id": portfolio_id,
            "cycle": snapshot.cycles_completed,
            "state": [portfolio.trading_state, portfolio.halt_reason],
            "limits": [[limit.name, limit.version, limit.level] for limit in risk.limits]
            if risk
            else None,
        }
        if shown == rendered:
            raise PreventUpdate
        colours = portfolio_colours(view.portfolio_id for view in snapshot.portfolios)
        colour = colours[portfolio_id]
        summary = html.Span(
            [
                portfolio_label(portfolio.name, colour),
                html.Span(
                    f" NAV {fmt.usd(portfolio.nav_usd)}"
                    f" · cash {fmt.usd(portfolio.cash_usd)} ({fmt.pct(portfolio.cash_weight)})"
                    f" · sources: {', '.join(portfolio.sources)}"
                    f" · sizing: {portfolio.allocation_model}"
                    f" · {'long/short' if portfolio.long_short else 'long-only'}",
                    className="text-muted",
                ),
            ]
        )
        allocation = portfolio.allocation
        sleeves = allocation.sleeves if allocation else ()
        return (
            weights_figure(portfolio, colour),
            holdings_footer(portfolio),
            summary,
            impact_table(portfolio.impact),
            allocation_outcome(allocation),
            risk_contributions_figure(allocation, colour),
            sleeves_table(sleeves),
            not sleeves,
            cash_table(portfolio),
            why_panel(portfolio, risk, snapshot.gate_decisions),
            [portfolio_id, snapshot.cycles_completed],
            shown,
        )

    register_refresh(app, ids.ALLOCATION_HOLDINGS_GRID)

    @app.callback(
        Output(ids.ALLOCATION_HOLDINGS_GRID, "getRowsResponse"),
        Input(ids.ALLOCATION_HOLDINGS_GRID, "getRowsRequest"),
        State(ids.ALLOCATION_PORTFOLIO_PICKER, "value"),
    )
    def holding_rows(request: dict[str, Any] | None, portfolio_id: str | None) -> dict[str, Any]:
        snapshot = runner.snapshot()
        known = {view.portfolio_id for view in snapshot.portfolios}
        if portfolio_id not in known:
            return serve_rows([], request)
        return serve_rows(holding_grid_rows(snapshot.portfolio(portfolio_id)), request)

    @app.callback(
        Output(ids.ALLOCATION_OVERRIDE_INSTRUMENT, "options"),
        Input(ids.SNAPSHOT_VERSION, "data"),
        State(ids.ALLOCATION_OVERRIDE_INSTRUMENT, "options"),
    )
    def offer_instruments(
        _version: int | None, instruments_shown: list[dict[str, str]] | None
    ) -> list[dict[str, str]]:
        instruments = [
            {"label": f"{i.symbol} · {i.name or i.sector}", "value": i.symbol}
            for i in sorted(runner.snapshot().instruments, key=lambda i: i.symbol)
        ]
        # The universe is fixed for a run: sending it again would only redraw the select.
        if instruments == instruments_shown:
            raise PreventUpdate
        return instruments

    @app.callback(
        Output(ids.ALLOCATION_OVERRIDE_WEIGHT, "disabled"),
        Output(ids.ALLOCATION_OVERRIDE_WEIGHT_HELP, "children"),
        Input(ids.ALLOCATION_OVERRIDE_MODE, "value"),
        Input(ids.ALLOCATION_PORTFOLIO_PICKER, "value"),
    )
    def explain_weight_field(mode: str | None, portfolio_id: str | None) -> tuple[bool, str]:
        if mode == "exclude":
            return True, "excluded: held at 0% and left out of the allocation"
        if _is_long_short(runner.snapshot(), portfolio_id):
            return False, f"long/short, negative for a short; {PERCENT_RULE}"
        return False, f"long-only, 0% to 100%; {PERCENT_RULE}"

    @app.callback(
        Output(ids.ALLOCATION_OVERRIDE_FEEDBACK, "children"),
        Output(ids.ALLOCATION_OVERRIDES_CHANGED, "data"),
        Input(ids.ALLOCATION_OVERRIDE_APPLY, "n_clicks"),
        Input({"type": ids.ALLOCATION_LIFT_BUTTON, "portfolio": ALL, "symbol": ALL}, "n_clicks"),
        State(ids.ALLOCATION_PORTFOLIO_PICKER, "value"),
        State(ids.ALLOCATION_OVERRIDE_INSTRUMENT, "value"),
        State(ids.ALLOCATION_OVERRIDE_MODE, "value"),
        State(ids.ALLOCATION_OVERRIDE_WEIGHT, "value"),
        State(ids.ALLOCATION_OVERRIDE_REASON, "value"),
        State(ids.ALLOCATION_OVERRIDE_ACTOR, "value"),
        State(ids.ALLOCATION_OVERRIDES_CHANGED, "data"),
        prevent_initial_call=True,
    )
    def change_weight_override(
        _apply: int | None,
        _lifts: list[int | None],
        portfolio_id: str | None,
        symbol: str | None,
        mode: str | None,
        weight_pct: float | str | None,
        reason: str | None,
        actor: str | None,
        changed: int | None,
    ) -> tuple[dbc.Alert, int]:
        # A redrawn overrides table brings new Lift buttons, which fire this with no click.
        if not ctx.triggered or not ctx.triggered[0]["value"]:
            raise PreventUpdate
        trigger = ctx.triggered_id
        snapshot = runner.snapshot()
        try:
            if trigger == ids.ALLOCATION_OVERRIDE_APPLY:
                command: SetWeightOverride | LiftWeightOverride = set_weight_override_command(
                    portfolio_id,
                    symbol,
                    mode,
                    weight_pct,
                    reason,
                    actor,
                    long_short=_is_long_short(snapshot, portfolio_id),
                )
            else:
                command = lift_weight_override_command(
                    trigger["portfolio"], trigger["symbol"], actor
                )
        except ValueError as error:
            return alert(f"Not applied. {error}", "danger"), changed or 0
        name = _portfolio_name(snapshot, command.portfolio_id)
        return send(runner, command, lambda _: describe_weight_command(command, name), changed)

    @app.callback(
        Output(ids.ALLOCATION_OVERRIDES_TABLE, "children"),
        Output(ids.ALLOCATION_OVERRIDES_RENDERED, "data"),
        Input(ids.SNAPSHOT_VERSION, "data"),
        Input(ids.ALLOCATION_PORTFOLIO_PICKER, "value"),
        Input(ids.ALLOCATION_OVERRIDES_CHANGED, "data"),
        State(ids.ALLOCATION_OVERRIDES_RENDERED, "data"),
    )
    def show_weight_overrides(
        _version: int | None,
        portfolio_id: str | None,
        changed: int | None,
        rendered: dict[str, Any] | None,
    ) -> tuple[Any, ...]:
        if not portfolio_id:
            raise PreventUpdate
        try:
            portfolio = runner.snapshot().portfolio(portfolio_id)
        except KeyError as error:
            raise PreventUpdate from error
        # The overrides themselves are part of the key, not only the Apply/Lift counter: one set
        # or lifted elsewhere (API, CLI), or answered after the timeout, shows on the next tick.
        shown = {
            "portfolio_id": portfolio_id,
            "active": [[o.symbol, o.weight, o.actor, o.reason] for o in portfolio.weight_overrides],
            "changed": changed,
        }
        if shown == rendered:
            raise PreventUpdate
        return (
            weight_overrides_table(portfolio.weight_overrides, ids.allocation_lift_button),
            shown,
        )
