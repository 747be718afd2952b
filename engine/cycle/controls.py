"""Cancelling working orders and changing a portfolio's trading state: what a person's command,
the risk monitor, a changed limit and a rebalance all do, recorded the same way whoever asks."""

from __future__ import annotations

from engine.cycle.recorder import Emitter
from engine.model import Order, Side
from engine.state.engine_state import EngineState


def cancel_order(state: EngineState, order: Order, reason: str, emit: Emitter) -> dict[str, object]:
    """Cancel what is left of a working order (``OrderCancelled``); returns the payload."""
    progress = state.order_progress.get(order.order_id)
    filled = progress.filled_shares if progress is not None else 0
    payload: dict[str, object] = {
        "order_id": order.order_id,
        "symbol": order.symbol,
        "side": order.side.value,
        "filled_shares": filled,
        "remaining_shares": order.quantity_shares - filled,
        "reason": reason,
    }
    emit("OrderCancelled", payload, order.portfolio_id)
    return payload


def working_orders(state: EngineState, portfolio_id: str) -> list[Order]:
    """The portfolio's orders still working, in the order they were made."""
    return [o for o in state.pending_orders.values() if o.portfolio_id == portfolio_id]


def remaining_shares(state: EngineState, order: Order) -> int:
    progress = state.order_progress.get(order.order_id)
    return order.quantity_shares - (progress.filled_shares if progress else 0)


def reduces_position(state: EngineState, order: Order) -> bool:
    """Whether what is left of a working order only reduces the position it trades."""
    left = remaining_shares(state, order)
    held = state.ledger.shares(order.portfolio_id, order.symbol)
    return (held > 0 and order.side is Side.SELL and left <= held) or (
        held < 0 and order.side is Side.BUY and left <= -held
    )


def change_trading_state(
    state: EngineState,
    portfolio_id: str,
    new_state: str,
    reason: str,
    actor: str,
    emit: Emitter,
    limit: str | None = None,
    automatic: bool = False,
) -> dict[str, object]:
    """Set a portfolio's trading state (``TradingStateChanged``). HALTED cancels its working
    orders first; REDUCING those that would not reduce a position."""
    for order in working_orders(state, portfolio_id):
        if new_state == "HALTED" or (
            new_state == "REDUCING" and not reduces_position(state, order)
        ):
            cancel_order(state, order, f"trading state {new_state}: {reason}", emit)
    payload: dict[str, object] = {
        "state": new_state,
        "previous": state.trading_state(portfolio_id),
        "reason": reason,
        "automatic": automatic,
        **({"limit": limit} if limit else {}),
    }
    emit("TradingStateChanged", payload, portfolio_id, actor=actor)
    return payload
