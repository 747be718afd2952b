"""Sending a command from a dashboard form, and telling the person what became of it."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import dash_bootstrap_components as dbc

from engine.commands import CommandRefused, SetTradingState
from engine.risk.limits import TRADING_STATES

if TYPE_CHECKING:
    from engine.commands import (
        AcknowledgeAlert,
        CancelOrder,
        LiftOverride,
        LiftWeightOverride,
        SetOverride,
        SetRiskLimit,
        SetWeightOverride,
    )
    from engine.coordinator import CoordinatorRunner

    # The commands a form sends; each carries the ``reply`` the engine answers on.
    FormCommand = (
        SetOverride
        | LiftOverride
        | SetWeightOverride
        | LiftWeightOverride
        | CancelOrder
        | SetTradingState
        | SetRiskLimit
        | AcknowledgeAlert
    )

REPLY_TIMEOUT_S = 2.0
# Where the person will see a command the engine takes after the timeout; a page names its own.
SHOWN_ONCE_APPLIED = "the overrides below show it once applied"


def trading_state_command(
    portfolio_id: str | None, state: str | None, reason: str | None, actor: str | None
) -> SetTradingState:
    """The ``SetTradingState`` a form describes: ACTIVE, REDUCING (only orders that reduce a
    position pass) or HALTED (none pass, working orders cancelled).

    Raises ``ValueError`` naming the field when something is missing; the command itself checks
    the reason (required: it goes into the audit trail)."""
    if not portfolio_id:
        raise ValueError("portfolio: choose the portfolio whose trading state to set")
    if state not in TRADING_STATES:
        raise ValueError(f"trading state: {state!r} must be one of {', '.join(TRADING_STATES)}")
    actor = (actor or "").strip()
    if not actor:
        raise ValueError("actor: say who sets the trading state (it goes into the audit trail)")
    return SetTradingState(actor, (reason or "").strip(), portfolio_id=portfolio_id, state=state)


def describe_trading_state(command: SetTradingState, name: str) -> str:
    """What an answered ``SetTradingState`` did, as the person asked for it."""
    if command.state == "HALTED":
        return (
            f"Halted trading in {name}: no order passes, and its working orders are cancelled, "
            "until it is made ACTIVE again."
        )
    if command.state == "REDUCING":
        return f"{name} is REDUCING: only orders that reduce a position pass."
    return f"{name} is ACTIVE: it trades again from its next rebalance."


def alert(message: str, colour: str) -> dbc.Alert:
    return dbc.Alert(message, color=colour, className="py-2 mb-0", dismissable=True)


def send(
    runner: CoordinatorRunner,
    command: FormCommand,
    done: Callable[[Any], str],
    changed: int | None,
    *,
    shown_once_applied: str = SHOWN_ONCE_APPLIED,
) -> tuple[dbc.Alert, int]:
    """Submit ``command`` and wait for the engine's answer on its ``reply``.

    Returns the alert to show (``done(answer)`` on success) and the change counter, bumped when
    the engine took the command or may still take it, so the page redraws what it changed.
    Past the timeout the alert says where the change will show (``shown_once_applied``)."""
    counter = changed or 0
    try:
        runner.submit(command)
    except CommandRefused as refusal:
        return alert(f"Not applied. {in_user_words(refusal)}", "danger"), counter
    try:
        answer = command.reply.result(timeout=REPLY_TIMEOUT_S)
    except TimeoutError:
        return (
            alert(
                f"Sent, but the engine has not answered within {REPLY_TIMEOUT_S:g} s; "
                f"{shown_once_applied}.",
                "warning",
            ),
            counter + 1,
        )
    except Exception as error:
        # Whatever the engine refused with names the field; the person needs to read it.
        return alert(f"Not applied. {in_user_words(error)}", "danger"), counter
    return alert(f"{done(answer)}{recorded_as(command.reply.seq)}", "success"), counter + 1


# "SetRiskLimit.value: ..." -> "value: ...": the field is the person's, the class is ours.
_COMMAND_PREFIX = re.compile(r"\b[A-Z][A-Za-z]+\.(?=[a-z_]+\b)")


def in_user_words(error: BaseException | str) -> str:
    """An error as a person reads it: the field and the reason, without Python's class names.

    Refusals (``ValueError``, ``KeyError``, ``CommandRefused``) and messages already name the
    field; any other exception is a fault of ours, said as such."""
    if isinstance(error, str):
        return _COMMAND_PREFIX.sub("", error)
    message = str(error.args[0]) if isinstance(error, KeyError) and error.args else str(error)
    message = _COMMAND_PREFIX.sub("", message)
    if isinstance(error, ValueError | KeyError | CommandRefused | TimeoutError):
        return message
    return f"the engine could not apply it ({message or 'no detail'}); see the server log"


def recorded_as(seq: int | None) -> str:
    """Where the change is in the audit trail: the sequence of its event (the page shows the
    change from the snapshot carrying that sequence on, which is the one already published)."""
    return f" Recorded as event #{seq:,}." if seq else ""
