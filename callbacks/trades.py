"""Trades: per-portfolio trading state and counts, the working-order blotter and its schedule,
crosses, blocks, execution quality, recent orders and fills; Cancel and the trading state (hold,
reduce, release) sent as commands.

One refresh reads the snapshot once and redraws only the parts whose content changed: each part
has a key in the rendered Store (counts for the recent orders and fills, the length and ends of
the crosses and blocks histories, a digest of the working orders and execution quality), so a
quiet second costs well under a millisecond. An answered Cancel or Hold bumps a
counter that triggers the refresh at once, so a paused engine still shows it.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, ctx, html, no_update
from dash.exceptions import PreventUpdate

from callbacks.commands import alert, describe_trading_state, send, trading_state_command
from components import ids
from components.colours import portfolio_colours
from components.schedule_figure import execution_schedule_figure
from components.tables import PortfolioLabels, portfolio_label
from components.trade_tables import (
    blocks_table,
    crosses_table,
    execution_quality_table,
    fills_table,
    orders_table,
    trading_state_badge,
    working_orders_table,
)
from engine.commands import CancelOrder, SetTradingState

if TYPE_CHECKING:
    import dash

    from engine.coordinator import CoordinatorRunner
    from engine.snapshot import PortfolioView, StateSnapshot, WorkingOrderView
    from engine.views.queries import EventQueries

CANCEL_REASON = "cancelled from the dashboard"
# The hold form's choices and the trading state each asks for (a state's own name works too).
HOLD_MODES = {"hold": "HALTED", "reduce": "REDUCING", "release": "ACTIVE"}
# Whoever cancels without naming themselves still has to be someone in the audit trail.
FALLBACK_ACTOR = "dashboard-user"
SHOWN_ONCE_APPLIED = "the blotter and the trading states above show it once applied"


def hold_trading_command(
    portfolio_id: str | None, mode: str | None, reason: str | None, actor: str | None
) -> SetTradingState:
    """The ``SetTradingState`` the hold form describes: ``mode`` "hold" halts the portfolio's
    trading (HALTED), "reduce" lets only position-reducing orders pass (REDUCING), "release"
    lets it trade again (ACTIVE).

    Raises ``ValueError`` naming the field when something is missing; the command itself checks
    the reason (required: it goes into the audit trail)."""
    if not portfolio_id:
        raise ValueError("portfolio: choose the portfolio to hold or release")
    if mode in HOLD_MODES:
        state = HOLD_MODES[mode]
    elif mode in HOLD_MODES.values():
        state = mode
    else:
        raise ValueError(f"trading: {mode!r} must be one of {', '.join(HOLD_MODES)}")
    return trading_state_command(portfolio_id, state, reason, actor)


def cancel_order_command(order_id: str, actor: str | None) -> CancelOrder:
    """The ``CancelOrder`` of a blotter row's Cancel button, by the hold form's actor."""
    return CancelOrder((actor or "").strip() or FALLBACK_ACTOR, CANCEL_REASON, order_id=order_id)


def describe_cancel(order_id: str, order: WorkingOrderView | None) -> str:
    """What an answered Cancel did: which order, and how much of it was left."""
    if order is None:
        return f"Cancelled order {order_id}."
    left = order.quantity_shares - order.filled_shares
    return (
        f"Cancelled order {order_id} ({order.symbol} {order.side}): {left:,} of "
        f"{order.quantity_shares:,} shares were left to trade."
    )


def _digest(views: object) -> str:
    """A short fingerprint of immutable views (their repr), the same in every process: a part
    of the page redraws when its views' content changes, and only then."""
    return hashlib.blake2b(repr(views).encode(), digest_size=12).hexdigest()


def _history_key(items: tuple[object, ...]) -> list[object]:
    """The key of a bounded history the engine only appends to (crosses, blocks): its length and
    its two ends, which change whenever an item arrives (or an old one falls off), at a cost
    that does not grow with the history."""
    if not items:
        return [0]
    return [len(items), _digest((items[0], items[-1]))]


def trading_strip(portfolios: tuple[PortfolioView, ...], colours: dict[str, str]) -> html.Div:
    """One badge a portfolio: its name, order and fill counts, and its trading state (with the
    reason when it is not active)."""
    return html.Div(
        [
            dbc.Badge(
                [
                    portfolio_label(view.name, colours[view.portfolio_id]),
                    f" {view.orders_total:,} orders · {view.fills_total:,} fills ",
                    trading_state_badge(view.trading_state, view.halt_reason),
                ],
                color="light",
                text_color="dark",
                className="pc-count-badge",
            )
            for view in portfolios
        ],
        className="d-flex flex-wrap gap-2",
    )


def rendered_keys(snapshot: StateSnapshot) -> dict[str, Any]:
    """What each part of the page shows, as a key that changes when (and only when) it does."""
    return {
        "summary": [
            [v.portfolio_id, v.orders_total, v.fills_total, v.trading_state, v.halt_reason]
            for v in snapshot.portfolios
        ],
        # Orders and fills arrive only on rebalancing days: the counts move with them.
        "recent": [n for v in snapshot.portfolios for n in (v.orders_total, v.fills_total)],
        "working": _digest(snapshot.working_orders),
        "crosses": _history_key(snapshot.recent_crosses),
        "blocks": _history_key(snapshot.recent_blocks),
        "quality": _digest(snapshot.execution_quality),
    }


def _working_order(snapshot: StateSnapshot, order_id: str) -> WorkingOrderView | None:
    return next((o for o in snapshot.working_orders if o.order_id == order_id), None)


def register(app: dash.Dash, runner: CoordinatorRunner, queries: EventQueries) -> None:
    @app.callback(
        Output(ids.TRADES_SUMMARY, "children"),
        Output(ids.TRADES_ORDERS_TABLE, "children"),
        Output(ids.TRADES_FILLS_TABLE, "children"),
        Output(ids.TRADES_WORKING_TABLE, "children"),
        Output(ids.TRADES_SCHEDULE_GRAPH, "figure"),
        Output(ids.TRADES_CROSSES_TABLE, "children"),
        Output(ids.TRADES_BLOCKS_TABLE, "children"),
        Output(ids.TRADES_QUALITY_TABLE, "children"),
        Output(ids.TRADES_RENDERED, "data"),
        Input(ids.SNAPSHOT_VERSION, "data"),
        Input(ids.TRADES_CHANGED, "data"),
        State(ids.TRADES_RENDERED, "data"),
    )
    def show_trades(
        _version: int | None, _changed: int | None, rendered: dict[str, Any] | None
    ) -> tuple[Any, ...]:
        snapshot = runner.snapshot()
        keys = rendered_keys(snapshot)
        rendered = rendered or {}
        if keys == rendered:
            raise PreventUpdate

        def changed(part: str) -> bool:
            return keys[part] != rendered.get(part)

        colours = portfolio_colours(view.portfolio_id for view in snapshot.portfolios)
        names = {view.portfolio_id: view.name for view in snapshot.portfolios}
        labels = PortfolioLabels(snapshot.portfolios, colours)
        recent = changed("recent")
        working = changed("working")
        return (
            trading_strip(snapshot.portfolios, colours) if changed("summary") else no_update,
            orders_table(snapshot.recent_orders, labels) if recent else no_update,
            fills_table(snapshot.recent_fills, labels) if recent else no_update,
            working_orders_table(snapshot.working_orders, labels, ids.trades_cancel_button)
            if working
            else no_update,
            execution_schedule_figure(snapshot.working_orders, names, colours)
            if working
            else no_update,
            crosses_table(snapshot.recent_crosses, names, colours)
            if changed("crosses")
            else no_update,
            blocks_table(snapshot.recent_blocks) if changed("blocks") else no_update,
            execution_quality_table(snapshot.execution_quality, labels)
            if changed("quality")
            else no_update,
            keys,
        )

    @app.callback(
        Output(ids.TRADES_HOLD_PORTFOLIO, "options"),
        Output(ids.TRADES_HOLD_PORTFOLIO, "value"),
        Input(ids.SNAPSHOT_VERSION, "data"),
        State(ids.TRADES_HOLD_PORTFOLIO, "options"),
    )
    def offer_portfolios(
        _version: int | None, offered: list[dict[str, str]] | None
    ) -> tuple[list[dict[str, str]], Any]:
        options = [
            {"label": view.name, "value": view.portfolio_id}
            for view in runner.snapshot().portfolios
        ]
        # The portfolios are fixed for a run: fill the select once, and leave the choice alone.
        if options == offered:
            raise PreventUpdate
        return options, no_update

    @app.callback(
        Output(ids.TRADES_HOLD_FEEDBACK, "children"),
        Output(ids.TRADES_CANCEL_FEEDBACK, "children"),
        Output(ids.TRADES_CHANGED, "data"),
        Input(ids.TRADES_HOLD_APPLY, "n_clicks"),
        Input({"type": ids.TRADES_CANCEL_BUTTON, "index": ALL}, "n_clicks"),
        State(ids.TRADES_HOLD_PORTFOLIO, "value"),
        State(ids.TRADES_HOLD_MODE, "value"),
        State(ids.TRADES_HOLD_REASON, "value"),
        State(ids.TRADES_HOLD_ACTOR, "value"),
        State(ids.TRADES_CHANGED, "data"),
        prevent_initial_call=True,
    )
    def change_trading(
        _apply: int | None,
        _cancels: list[int | None],
        portfolio_id: str | None,
        mode: str | None,
        reason: str | None,
        actor: str | None,
        changed: int | None,
    ) -> tuple[Any, Any, int]:
        # A redrawn blotter brings new Cancel buttons, which fire this with no click.
        if not ctx.triggered or not ctx.triggered[0]["value"]:
            raise PreventUpdate
        trigger = ctx.triggered_id
        snapshot = runner.snapshot()
        if trigger == ids.TRADES_HOLD_APPLY:
            try:
                hold = hold_trading_command(portfolio_id, mode, reason, actor)
            except ValueError as error:
                return alert(f"Not applied. {error}", "danger"), no_update, changed or 0
            names = {view.portfolio_id: view.name for view in snapshot.portfolios}
            name = names.get(hold.portfolio_id, hold.portfolio_id)
            feedback, counter = send(
                runner,
                hold,
                lambda _: describe_trading_state(hold, name),
                changed,
                shown_once_applied=SHOWN_ONCE_APPLIED,
            )
            return feedback, no_update, counter
        order_id = trigger["index"]
        order = _working_order(snapshot, order_id)
        cancel = cancel_order_command(order_id, actor)
        feedback, counter = send(
            runner,
            cancel,
            lambda _: describe_cancel(order_id, order),
            changed,
            shown_once_applied=SHOWN_ONCE_APPLIED,
        )
        return no_update, feedback, counter
