"""What a risk control is about to do, as the confirmation shows it before anything is sent:
the trading state or the limit before -> after, and what that means for the book.

Pure functions: the views the page already holds and the command the form describes in, text
out. A threshold is an upper bound, so a higher one is looser ("raise") and a lower one tighter.
"""

from __future__ import annotations

from components.risk import RESTRICTED, limit_amount, shown_unit, unit_of
from engine.commands import SetRiskLimit, SetTradingState
from engine.snapshot import LimitView


def _orders(count: int) -> str:
    return f"{count} working order" + ("" if count == 1 else "s")


def trading_state_change(
    name: str, before: str, command: SetTradingState, working_orders: int
) -> str:
    """``Growth: ACTIVE -> HALTED; its 3 working orders are cancelled ...`` for a state the
    portfolio is moving to, with what the new state lets through."""
    after = command.state
    if before == after:
        return f"{name} is already {after}: this records the reason again and changes nothing."
    change = f"{name}: {before} -> {after}"
    if after == "HALTED":
        cancelled = (
            f"its {_orders(working_orders)} {'is' if working_orders == 1 else 'are'} cancelled"
            if working_orders
            else "it has no working order to cancel"
        )
        return f"{change}; {cancelled}, and no order passes until it is made ACTIVE again."
    if after == "REDUCING":
        return f"{change}; only orders that reduce a position pass."
    return f"{change} (release); it trades again from its next rebalance."


def limit_change(name: str, current: LimitView | None, command: SetRiskLimit) -> str:
    """``max_drawdown of Growth: 30.00% -> 40.00% (raise: looser), v1 -> v2`` with the mode, the
    warning level and what a breach does after the change."""
    if command.limit == RESTRICTED:
        before = ", ".join(current.symbols) if current and current.symbols else "none"
        change = f"{RESTRICTED} of {name}: {before} -> {', '.join(command.symbols)}"
    else:
        unit = current.unit if current else unit_of(command.limit)
        after = limit_amount(command.value, unit)
        if current is None:
            change = f"{command.limit} of {name}: none -> {after} (a new limit)"
        else:
            before = limit_amount(current.threshold, unit)
            value = command.value if command.value is not None else current.threshold
            if value > current.threshold:
                direction = " (raise: looser)"
            elif value < current.threshold:
                direction = " (lower: tighter)"
            else:
                direction = " (threshold unchanged)"
            change = f"{command.limit} of {name}: {before} -> {after}{direction}"
        change += f" ({shown_unit(unit)})"
    version = f"v{current.version} -> v{current.version + 1}" if current else "v1"
    warn = "" if command.warn_at is None else f", warn at {command.warn_at * 100:g}%"
    return (
        f"{change}; {command.mode}{warn}, on breach: {command.on_breach}; {version}. "
        f"Reason: {command.reason}"
    )
