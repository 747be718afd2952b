"""Sending a command from a dashboard form, and telling the person what became of it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import dash_bootstrap_components as dbc

from engine.commands import CommandRefused

if TYPE_CHECKING:
    from engine.commands import (
        CancelOrder,
        HoldTrading,
        LiftOverride,
        LiftWeightOverride,
        SetOverride,
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
        | HoldTrading
    )

REPLY_TIMEOUT_S = 2.0
# Where the person will see a command the engine takes after the timeout; a page names its own.
SHOWN_ONCE_APPLIED = "the overrides below show it once applied"


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
        return alert(f"Not applied. {refusal}", "danger"), counter
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
        return alert(f"Not applied. {error}", "danger"), counter
    return alert(done(answer), "success"), counter + 1
