"""The replay clock in the navbar: its panel, what the clock does now, and its commands.

Cheap by construction: the summary redraws on ``SNAPSHOT_VERSION`` only (a few fields of the
snapshot); the date bounds are read when the panel opens; a command is sent on a click and its
answer ("Recorded as event #N") shown under the panel."""

from __future__ import annotations

import re
from datetime import date
from typing import TYPE_CHECKING, Any

from dash import Input, Output, State, ctx, html
from dash.exceptions import PreventUpdate

from callbacks.commands import alert, send
from components import formatting as fmt
from components import ids
from components.cards import status_badge
from components.clock import restart_consequence
from engine.commands import Command, JumpTo, Pause, RestartFrom, Resume, SetSpeed, Step
from engine.snapshot import EngineStatus

if TYPE_CHECKING:
    import dash

    from engine.coordinator import CoordinatorRunner
    from engine.views.queries import EventQueries

# The command's own field names, as the panel labels them (errors speak the person's words).
FIELD_LABELS = {
    "reason": "reason",
    "actor": "actor",
    "days_per_second": "speed",
    "market_date": "market date",
}
SHOWN_ONCE_APPLIED = "the market date above shows it once applied"


def in_user_words(message: str) -> str:
    """An engine refusal without its class names: ``JumpTo.market_date: ...`` reads
    ``market date: ...``, ``Step: ...`` reads ``Step 1 day: ...``."""
    found = re.match(r"^(\w+)\.(\w+):\s*", message)
    if found:
        return f"{FIELD_LABELS.get(found.group(2), found.group(2))}: {message[found.end() :]}"
    if message.startswith("Step:"):
        return "Step 1 day:" + message[len("Step:") :]
    return message


def parse_day(value: str | None, label: str) -> date:
    if not value:
        raise ValueError(f"{label}: choose a market date (YYYY-MM-DD)")
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise ValueError(f"{label}: {value!r} is not a date (YYYY-MM-DD)") from None


def clock_command(
    trigger: str, reason: str | None, actor: str | None, speed: Any, jump: Any, restart: Any
) -> tuple[Command, str]:
    """The command a button stands for and what to say once the engine took it; raises
    ``ValueError`` in the person's words when a field is missing or wrong."""
    reason = (reason or "").strip()
    actor = (actor or "").strip()
    if not actor:
        raise ValueError("actor: say who changes the clock (it goes into the audit trail)")
    if not reason:
        raise ValueError("reason: say why you change the clock (it goes into the audit trail)")
    if trigger == ids.CLOCK_PAUSE_BUTTON:
        return Pause(actor, reason), "Paused."
    if trigger == ids.CLOCK_RESUME_BUTTON:
        return Resume(actor, reason), "Running."
    if trigger == ids.CLOCK_STEP_BUTTON:
        return Step(actor, reason), "Stepping one trading day."
    if trigger == ids.CLOCK_SPEED_BUTTON:
        if speed in (None, ""):
            raise ValueError("speed: enter trading days per second (0.1 to 1000)")
        days = float(speed)
        return SetSpeed(actor, reason, days_per_second=days), f"Speed {days:g} trading days/s."
    if trigger == ids.CLOCK_JUMP_BUTTON:
        day = parse_day(jump, "jump to market date")
        return (
            JumpTo(actor, reason, market_date=day),
            f"Jumping to {day}: every trading day runs at full speed, then the clock pauses.",
        )
    if trigger == ids.CLOCK_RESTART_CONFIRM:
        day = parse_day(restart, "restart from market date")
        return RestartFrom(actor, reason, market_date=day), f"Replay restarted from {day}."
    raise PreventUpdate


def clock_summary(runner: CoordinatorRunner) -> list[Any]:
    snapshot = runner.snapshot()
    calendar = getattr(runner, "calendar", None)
    parts: list[Any] = [
        html.Strong(f"market date {fmt.day(snapshot.market_date)}"),
        f" · {snapshot.status.value} · {snapshot.speed_days_per_second:g} trading days/s",
    ]
    if calendar is not None:
        parts.append(f" · data {calendar.first_date} to {calendar.last_date}")
    return parts


def register(app: dash.Dash, runner: CoordinatorRunner, queries: EventQueries) -> None:
    @app.callback(
        Output(ids.CLOCK_PANEL, "is_open"),
        Output(ids.CLOCK_JUMP_DATE, "min_date_allowed"),
        Output(ids.CLOCK_JUMP_DATE, "max_date_allowed"),
        Output(ids.CLOCK_RESTART_DATE, "min_date_allowed"),
        Output(ids.CLOCK_RESTART_DATE, "max_date_allowed"),
        Output(ids.CLOCK_SPEED_INPUT, "value"),
        Input(ids.CLOCK_TOGGLE, "n_clicks"),
        State(ids.CLOCK_PANEL, "is_open"),
    )
    def toggle_panel(clicks: int | None, is_open: bool | None) -> tuple[Any, ...]:
        if not clicks:
            raise PreventUpdate
        calendar = getattr(runner, "calendar", None)
        first = calendar.first_date.isoformat() if calendar else None
        last = calendar.last_date.isoformat() if calendar else None
        speed = runner.snapshot().speed_days_per_second
        return not is_open, first, last, first, last, speed

    # The navbar's engine status and market date come with the clock: one request a tab per
    # new snapshot instead of two.
    @app.callback(
        Output(ids.NAVBAR_STATUS, "children"),
        Output(ids.NAVBAR_MARKET_DATE, "children"),
        Output(ids.CLOCK_SUMMARY, "children"),
        Output(ids.CLOCK_PAUSE_BUTTON, "disabled"),
        Output(ids.CLOCK_RESUME_BUTTON, "disabled"),
        Output(ids.CLOCK_STEP_BUTTON, "disabled"),
        Input(ids.SNAPSHOT_VERSION, "data"),
    )
    def show_clock(_version: int | None) -> tuple[Any, ...]:
        snapshot = runner.snapshot()
        status = snapshot.status
        return (
            status_badge(status),
            f"market date {fmt.day(snapshot.market_date)}",
            clock_summary(runner),
            status not in (EngineStatus.STARTING, EngineStatus.RUNNING),
            status is not EngineStatus.PAUSED,
            status is not EngineStatus.PAUSED,
        )

    @app.callback(
        Output(ids.CLOCK_RESTART_MODAL, "is_open"),
        Output(ids.CLOCK_RESTART_TEXT, "children"),
        Input(ids.CLOCK_RESTART_BUTTON, "n_clicks"),
        Input(ids.CLOCK_RESTART_CONFIRM, "n_clicks"),
        Input(ids.CLOCK_RESTART_CANCEL, "n_clicks"),
        State(ids.CLOCK_RESTART_DATE, "date"),
        prevent_initial_call=True,
    )
    def confirm_restart(_open: int, _confirm: int, _cancel: int, day: str | None) -> tuple:
        if ctx.triggered_id != ids.CLOCK_RESTART_BUTTON:
            return False, ""
        if not day:
            # Nothing to confirm yet; the feedback callback says what is missing.
            raise PreventUpdate
        market = runner.snapshot().market_date
        return True, restart_consequence(str(day)[:10], market.isoformat() if market else None)

    @app.callback(
        Output(ids.CLOCK_FEEDBACK, "children"),
        Input(ids.CLOCK_PAUSE_BUTTON, "n_clicks"),
        Input(ids.CLOCK_RESUME_BUTTON, "n_clicks"),
        Input(ids.CLOCK_STEP_BUTTON, "n_clicks"),
        Input(ids.CLOCK_SPEED_BUTTON, "n_clicks"),
        Input(ids.CLOCK_JUMP_BUTTON, "n_clicks"),
        Input(ids.CLOCK_RESTART_BUTTON, "n_clicks"),
        Input(ids.CLOCK_RESTART_CONFIRM, "n_clicks"),
        State(ids.CLOCK_REASON, "value"),
        State(ids.CLOCK_ACTOR, "value"),
        State(ids.CLOCK_SPEED_INPUT, "value"),
        State(ids.CLOCK_JUMP_DATE, "date"),
        State(ids.CLOCK_RESTART_DATE, "date"),
        prevent_initial_call=True,
    )
    def send_clock_command(*args: Any) -> Any:
        reason, actor, speed, jump, restart = args[-5:]
        trigger = ctx.triggered_id
        if trigger == ids.CLOCK_RESTART_BUTTON:
            # The confirmation opens instead; only a missing date or reason is said here.
            if not restart:
                return alert("restart from market date: choose a market date first", "danger")
            if not (reason or "").strip():
                return alert(
                    "reason: say why you restart the replay (it goes into the audit trail)",
                    "danger",
                )
            raise PreventUpdate
        try:
            command, done = clock_command(trigger, reason, actor, speed, jump, restart)
        except ValueError as error:
            return alert(f"Not sent. {in_user_words(str(error))}", "danger")
        shown, _ = send(
            runner,
            command,
            lambda _answer: done,
            None,  # type: ignore[arg-type]
            shown_once_applied=SHOWN_ONCE_APPLIED,
        )
        return _in_user_words_alert(shown)


def _in_user_words_alert(shown: Any) -> Any:
    """``send`` words a refusal as the engine did; say it without class names."""
    children = getattr(shown, "children", None)
    if isinstance(children, str) and children.startswith("Not applied. "):
        shown.children = "Not applied. " + in_user_words(children[len("Not applied. ") :])
    return shown
