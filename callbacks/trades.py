"""Trades: per-portfolio trading state and counts, the working-order blotter and its schedule,
crosses, blocks, execution quality, recent orders and fills; Cancel and the trading state (hold,
reduce, release) sent as commands after a confirmation that shows before -> after.

One refresh reads the snapshot once and redraws only the parts whose content changed: each part
has a key in the rendered Store (order and fill counts per portfolio, the length and ends of the
crosses and blocks histories, a digest of the working orders and execution quality), so a quiet
second costs well under a millisecond and sends nothing. The orders, fills, working-order,
crosses and blocks grids are paged on the server: when their key changes the page writes it
into the grid's refresh store and the grid asks again for the page it shows (a few KiB). An
answered Cancel or Hold bumps a counter that triggers the refresh at once, so a paused engine
still shows it.
"""

from __future__ import annotations

import hashlib
import threading
from typing import TYPE_CHECKING, Any

import dash_bootstrap_components as dbc
from dash import Input, Output, State, ctx, html, no_update
from dash.exceptions import PreventUpdate

from callbacks.commands import (
    alert,
    describe_trading_state,
    in_user_words,
    send,
    trading_state_command,
)
from components import ids
from components.colours import portfolio_colours
from components.grid import refresh_store_id, register_refresh, serve_rows
from components.schedule_figure import execution_schedule_figure
from components.tables import PortfolioLabels, portfolio_label
from components.trade_tables import (
    block_rows,
    cross_rows,
    describe_cancel_before_after,
    execution_quality_table,
    fill_rows,
    order_rows,
    shown_of_total,
    trading_state_badge,
    working_order_rows,
)
from engine.commands import CancelOrder, SetTradingState

if TYPE_CHECKING:
    import dash

    from engine.coordinator import CoordinatorRunner
    from engine.snapshot import PortfolioView, StateSnapshot, WorkingOrderView
    from engine.views.queries import EventQueries

# The hold form's choices and the trading state each asks for (a state's own name works too).
HOLD_MODES = {"hold": "HALTED", "reduce": "REDUCING", "release": "ACTIVE"}
# Whoever cancels without naming themselves still has to be someone in the audit trail.
FALLBACK_ACTOR = "dashboard-user"
SHOWN_ONCE_APPLIED = "the blotter and the trading states above show it once applied"
GRIDS = (
    ids.TRADES_ORDERS_GRID,
    ids.TRADES_FILLS_GRID,
    ids.TRADES_WORKING_GRID,
    ids.TRADES_CROSSES_GRID,
    ids.TRADES_BLOCKS_GRID,
)


def hold_trading_command(
    portfolio_id: str | None, mode: str | None, reason: str | None, actor: str | None
) -> SetTradingState:
    """The ``SetTradingState`` the hold form describes: ``mode`` "hold" halts the portfolio's
    trading (HALTED), "reduce" lets only position-reducing orders pass (REDUCING), "release"
    lets it trade again (ACTIVE).

    Raises ``ValueError`` naming the field, in the person's words, when something is missing."""
    if not portfolio_id:
        raise ValueError("portfolio: choose the portfolio to hold or release")
    if mode in HOLD_MODES:
        state = HOLD_MODES[mode]
    elif mode in HOLD_MODES.values():
        state = mode
    else:
        raise ValueError("trading: choose hold, reduce only or release")
    if not (reason or "").strip():
        raise ValueError("reason: say why (it goes into the audit trail)")
    return trading_state_command(portfolio_id, state, reason, actor)


def cancel_order_command(order_id: str, reason: str | None, actor: str | None) -> CancelOrder:
    """The ``CancelOrder`` of the confirmation dialog. Raises ``ValueError`` when the reason,
    which goes into the audit trail, is missing."""
    if not (reason or "").strip():
        raise ValueError("reason: say why you cancel this order (it goes into the audit trail)")
    return CancelOrder((actor or "").strip() or FALLBACK_ACTOR, reason.strip(), order_id=order_id)


def describe_cancel(order_id: str, order: WorkingOrderView | None) -> str:
    """What an answered Cancel did: which order, and how much of it was left."""
    if order is None:
        return f"Cancelled order {order_id}."
    left = order.quantity_shares - order.filled_shares
    return (
        f"Cancelled order {order_id} ({order.symbol} {order.side}): {left:,} of "
        f"{order.quantity_shares:,} shares were left to trade."
    )


def describe_hold_before_after(snapshot: StateSnapshot, command: SetTradingState) -> str:
    """What a trading-state change would do, before -> after: ``Growth: ACTIVE -> HALTED; its
    3 working orders are cancelled``."""
    view = snapshot.portfolio(command.portfolio_id)
    working = sum(1 for o in snapshot.working_orders if o.portfolio_id == command.portfolio_id)
    text = f"{view.name}: {view.trading_state} -> {command.state}"
    if command.state == "HALTED" and working:
        text += f"; its {working:,} working order{'s' if working != 1 else ''} are cancelled"
    elif command.state == "REDUCING" and working:
        text += "; its working orders that do not reduce a position are cancelled"
    return f"{text}. Reason: {command.reason}"


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
        "orders": [v.orders_total for v in snapshot.portfolios],
        "fills": [v.fills_total for v in snapshot.portfolios],
        "working": _digest(snapshot.working_orders),
        "crosses": _history_key(snapshot.recent_crosses),
        "blocks": _history_key(snapshot.recent_blocks),
        "quality": _digest(snapshot.execution_quality),
    }


class GridRows:
    """The rows of the page's three grids, built once per snapshot version and then only sliced
    by each grid request (every session and every page request shares them)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._version: int | None = None
        self._rows: dict[str, list[dict[str, Any]]] = {}

    def of(self, snapshot: StateSnapshot, grid_id: str) -> list[dict[str, Any]]:
        with self._lock:
            if self._version != snapshot.version:
                names = {view.portfolio_id: view.name for view in snapshot.portfolios}
                self._rows = {
                    ids.TRADES_ORDERS_GRID: order_rows(snapshot.recent_orders, names),
                    ids.TRADES_FILLS_GRID: fill_rows(snapshot.recent_fills, names),
                    ids.TRADES_WORKING_GRID: working_order_rows(snapshot.working_orders, names),
                    ids.TRADES_CROSSES_GRID: cross_rows(snapshot.recent_crosses, names),
                    ids.TRADES_BLOCKS_GRID: block_rows(snapshot.recent_blocks),
                }
                self._version = snapshot.version
            return self._rows[grid_id]


def _working_order(snapshot: StateSnapshot, order_id: str | None) -> WorkingOrderView | None:
    return next((o for o in snapshot.working_orders if o.order_id == order_id), None)


def _portfolio_name(snapshot: StateSnapshot, portfolio_id: str) -> str:
    return next(
        (v.name for v in snapshot.portfolios if v.portfolio_id == portfolio_id), portfolio_id
    )


NO_LONGER_WORKING = (
    "Order {order_id} is no longer working: it filled, expired or was cancelled since it was "
    "shown. The blotter lists the orders working now."
)


def register(app: dash.Dash, runner: CoordinatorRunner, queries: EventQueries) -> None:
    rows = GridRows()
    for grid_id in GRIDS:
        register_refresh(app, grid_id)
        _serve(app, runner, rows, grid_id)

    @app.callback(
        Output(ids.TRADES_SUMMARY, "children"),
        Output(ids.TRADES_ORDERS_NOTE, "children"),
        Output(ids.TRADES_FILLS_NOTE, "children"),
        Output(ids.TRADES_WORKING_NOTE, "children"),
        Output(refresh_store_id(ids.TRADES_ORDERS_GRID), "data"),
        Output(refresh_store_id(ids.TRADES_FILLS_GRID), "data"),
        Output(refresh_store_id(ids.TRADES_WORKING_GRID), "data"),
        Output(ids.TRADES_SCHEDULE_GRAPH, "figure"),
        Output(refresh_store_id(ids.TRADES_CROSSES_GRID), "data"),
        Output(refresh_store_id(ids.TRADES_BLOCKS_GRID), "data"),
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
        orders_total = sum(v.orders_total for v in snapshot.portfolios)
        fills_total = sum(v.fills_total for v in snapshot.portfolios)
        working = changed("working")
        working_count = len(snapshot.working_orders)
        return (
            trading_strip(snapshot.portfolios, colours) if changed("summary") else no_update,
            shown_of_total("orders", len(snapshot.recent_orders), orders_total)
            if changed("orders")
            else no_update,
            shown_of_total("fills", len(snapshot.recent_fills), fills_total)
            if changed("fills")
            else no_update,
            f"{working_count:,} order{'s' if working_count != 1 else ''} working now, "
            "newest first; dates are market dates"
            if working
            else no_update,
            keys["orders"] if changed("orders") else no_update,
            keys["fills"] if changed("fills") else no_update,
            keys["working"] if working else no_update,
            execution_schedule_figure(snapshot.working_orders, names, colours)
            if working
            else no_update,
            keys["crosses"] if changed("crosses") else no_update,
            keys["blocks"] if changed("blocks") else no_update,
            execution_quality_table(snapshot.execution_quality, labels)
            if changed("quality")
            else no_update,
            keys,
        )

    @app.callback(
        Output(ids.TRADES_HOLD_PORTFOLIO, "options"),
        Input(ids.SNAPSHOT_VERSION, "data"),
        State(ids.TRADES_HOLD_PORTFOLIO, "options"),
    )
    def offer_portfolios(
        _version: int | None, offered: list[dict[str, str]] | None
    ) -> list[dict[str, str]]:
        options = [
            {"label": view.name, "value": view.portfolio_id}
            for view in runner.snapshot().portfolios
        ]
        # The portfolios are fixed for a run: fill the select once, and leave the choice alone.
        if options == offered:
            raise PreventUpdate
        return options

    @app.callback(
        Output(ids.TRADES_HOLD_DIALOG, "is_open"),
        Output(ids.TRADES_HOLD_SUMMARY, "children"),
        Output(ids.TRADES_HOLD_FEEDBACK, "children"),
        Output(ids.TRADES_CHANGED, "data"),
        Input(ids.TRADES_HOLD_APPLY, "n_clicks"),
        Input(ids.TRADES_HOLD_CONFIRM, "n_clicks"),
        Input(ids.TRADES_HOLD_DISMISS, "n_clicks"),
        State(ids.TRADES_HOLD_PORTFOLIO, "value"),
        State(ids.TRADES_HOLD_MODE, "value"),
        State(ids.TRADES_HOLD_REASON, "value"),
        State(ids.TRADES_HOLD_ACTOR, "value"),
        State(ids.TRADES_CHANGED, "data"),
        prevent_initial_call=True,
    )
    def change_trading(
        _apply: int | None,
        _confirm: int | None,
        _dismiss: int | None,
        portfolio_id: str | None,
        mode: str | None,
        reason: str | None,
        actor: str | None,
        changed: int | None,
    ) -> tuple[Any, ...]:
        trigger = ctx.triggered_id
        if trigger == ids.TRADES_HOLD_DISMISS:
            return False, no_update, no_update, no_update
        try:
            hold = hold_trading_command(portfolio_id, mode, reason, actor)
        except ValueError as error:
            return (
                False,
                no_update,
                alert(f"Not applied. {in_user_words(error)}", "danger"),
                (no_update),
            )
        snapshot = runner.snapshot()
        if trigger == ids.TRADES_HOLD_APPLY:
            if snapshot.portfolio(hold.portfolio_id).trading_state == hold.state:
                name = _portfolio_name(snapshot, hold.portfolio_id)
                return (
                    False,
                    no_update,
                    alert(f"{name} is already {hold.state}.", "info"),
                    (no_update),
                )
            return True, describe_hold_before_after(snapshot, hold), None, no_update
        name = _portfolio_name(snapshot, hold.portfolio_id)
        feedback, counter = send(
            runner,
            hold,
            lambda _: describe_trading_state(hold, name),
            changed,
            shown_once_applied=SHOWN_ONCE_APPLIED,
        )
        return False, no_update, _plain(feedback), counter

    @app.callback(
        Output(ids.TRADES_CANCEL_SELECTED, "data"),
        Output(ids.TRADES_CANCEL_SELECTION, "children"),
        Output(ids.TRADES_CANCEL_OPEN, "disabled"),
        Input(ids.TRADES_WORKING_GRID, "cellClicked"),
        Input(refresh_store_id(ids.TRADES_WORKING_GRID), "data"),
        State(ids.TRADES_CANCEL_SELECTED, "data"),
        prevent_initial_call=True,
    )
    def pick_order(
        clicked: dict[str, Any] | None, _working: Any, selected: str | None
    ) -> tuple[Any, ...]:
        snapshot = runner.snapshot()
        if ctx.triggered_id == ids.TRADES_WORKING_GRID:
            selected = (clicked or {}).get("rowId")
        elif selected is None:
            # The working orders changed and nothing is picked: nothing to say.
            raise PreventUpdate
        order = _working_order(snapshot, selected)
        if order is None:
            if selected is None:
                raise PreventUpdate
            return None, NO_LONGER_WORKING.format(order_id=selected), True
        name = _portfolio_name(snapshot, order.portfolio_id)
        return (
            order.order_id,
            [html.Code(order.order_id), " ", describe_cancel_before_after(order, name)],
            False,
        )

    @app.callback(
        Output(ids.TRADES_CANCEL_DIALOG, "is_open"),
        Output(ids.TRADES_CANCEL_SUMMARY, "children"),
        Output(ids.TRADES_CANCEL_ERROR, "children"),
        Output(ids.TRADES_CANCEL_FEEDBACK, "children"),
        Output(ids.TRADES_CHANGED, "data", allow_duplicate=True),
        Input(ids.TRADES_CANCEL_OPEN, "n_clicks"),
        Input(ids.TRADES_CANCEL_CONFIRM, "n_clicks"),
        Input(ids.TRADES_CANCEL_DISMISS, "n_clicks"),
        State(ids.TRADES_CANCEL_SELECTED, "data"),
        State(ids.TRADES_CANCEL_REASON, "value"),
        State(ids.TRADES_HOLD_ACTOR, "value"),
        State(ids.TRADES_CHANGED, "data"),
        prevent_initial_call=True,
    )
    def cancel_order(
        _open: int | None,
        _confirm: int | None,
        _dismiss: int | None,
        order_id: str | None,
        reason: str | None,
        actor: str | None,
        changed: int | None,
    ) -> tuple[Any, ...]:
        trigger = ctx.triggered_id
        if trigger == ids.TRADES_CANCEL_DISMISS:
            return False, no_update, None, no_update, no_update
        snapshot = runner.snapshot()
        order = _working_order(snapshot, order_id)
        if order is None:
            # What the page showed is gone: say so, and redraw the blotter from the live list.
            gone = alert(NO_LONGER_WORKING.format(order_id=order_id or "?"), "warning")
            return False, no_update, None, gone, (changed or 0) + 1
        name = _portfolio_name(snapshot, order.portfolio_id)
        if trigger == ids.TRADES_CANCEL_OPEN:
            return True, describe_cancel_before_after(order, name), None, no_update, no_update
        try:
            cancel = cancel_order_command(order.order_id, reason, actor)
        except ValueError as error:
            return True, no_update, alert(in_user_words(error), "danger"), no_update, no_update
        feedback, counter = send(
            runner,
            cancel,
            lambda _: describe_cancel(order.order_id, order),
            changed,
            shown_once_applied=SHOWN_ONCE_APPLIED,
        )
        return False, no_update, None, _plain(feedback), counter


def _plain(feedback: dbc.Alert) -> dbc.Alert:
    """The alert ``send`` made, its message in the person's words (no internal names)."""
    feedback.children = in_user_words(feedback.children)
    return feedback


def _serve(app: dash.Dash, runner: CoordinatorRunner, rows: GridRows, grid_id: str) -> None:
    @app.callback(Output(grid_id, "getRowsResponse"), Input(grid_id, "getRowsRequest"))
    def serve(request: dict[str, Any] | None) -> dict[str, Any]:
        if request is None:
            raise PreventUpdate
        return serve_rows(rows.of(runner.snapshot(), grid_id), request)
