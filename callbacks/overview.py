"""Overview: live counters and status, the engine commands, NAV and latency charts, and the cycle
latency against the seed gate and our target."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import dash_bootstrap_components as dbc
from dash import Input, Output, State, ctx, html
from dash.exceptions import PreventUpdate

from components import formatting as fmt
from components import ids
from components.cards import portfolio_cards, status_badge, transport_line
from components.colours import portfolio_colours
from components.figures import latency_figure, nav_figure
from components.latency import latency_card_body, latency_trend_figure
from engine.commands import Command, CommandRefused, Pause, Resume, SetSpeed
from engine.performance.latency import latency_summary
from engine.snapshot import EngineStatus

if TYPE_CHECKING:
    import dash

    from engine.coordinator import CoordinatorRunner
    from engine.views.queries import EventQueries

ACTOR = "dashboard-user"


def _error_alert(cycle_errors: int, last_error: str | None) -> dbc.Alert | None:
    if not cycle_errors and not last_error:
        return None
    return dbc.Alert(
        [
            html.Strong(f"{cycle_errors:,} cycle(s) failed. "),
            f"Last error: {last_error}" if last_error else "",
        ],
        color="danger",
        className="py-2",
    )


def _command_from_click(trigger: Any, speed: float | str | None) -> tuple[Command, str]:
    """The command a button stands for, and what to tell the person who pressed it.

    Raises ``ValueError`` with a message for that person when the speed is missing or out of range.
    """
    if trigger == ids.OVERVIEW_PAUSE_BUTTON:
        return Pause(ACTOR, "paused from dashboard"), "Pause sent"
    if trigger == ids.OVERVIEW_RESUME_BUTTON:
        return Resume(ACTOR, "resumed from dashboard"), "Resume sent"
    if speed in (None, ""):
        raise ValueError("Replay speed: enter a number of trading days per second first")
    days_per_second = float(speed)
    command = SetSpeed(ACTOR, "speed set from dashboard", days_per_second=days_per_second)
    return command, f"Speed {days_per_second:g} trading days/s sent"


def register(app: dash.Dash, runner: CoordinatorRunner, queries: EventQueries) -> None:
    @app.callback(
        Output(ids.OVERVIEW_STATUS_BADGE, "children"),
        Output(ids.OVERVIEW_PAUSE_BUTTON, "disabled"),
        Output(ids.OVERVIEW_RESUME_BUTTON, "disabled"),
        Output(ids.OVERVIEW_CYCLES, "children"),
        Output(ids.OVERVIEW_MARKET_DATE, "children"),
        Output(ids.OVERVIEW_SPEED, "children"),
        Output(ids.OVERVIEW_LAST_CYCLE_MS, "children"),
        Output(ids.OVERVIEW_ERROR, "children"),
        Output(ids.OVERVIEW_TRANSPORT, "children"),
        Output(ids.OVERVIEW_REFRESHED_AT, "children"),
        Input(ids.SNAPSHOT_VERSION, "data"),
    )
    def show_counters(_version: int | None) -> tuple[Any, ...]:
        snapshot = runner.snapshot()
        can_pause = snapshot.status in (EngineStatus.STARTING, EngineStatus.RUNNING)
        return (
            status_badge(snapshot.status),
            not can_pause,
            snapshot.status is not EngineStatus.PAUSED,
            f"{snapshot.cycles_completed:,}",
            fmt.day(snapshot.market_date),
            f"{snapshot.speed_days_per_second:g} days/s",
            fmt.ms(snapshot.last_cycle_ms),
            _error_alert(snapshot.cycle_errors, snapshot.last_error),
            transport_line(snapshot.transport),
            # Tells a person the page is live even while the engine is paused.
            f"refreshed {datetime.now():%H:%M:%S}",
        )

    @app.callback(
        Output(ids.OVERVIEW_PORTFOLIO_CARDS, "children"),
        Output(ids.OVERVIEW_NAV_GRAPH, "figure"),
        Output(ids.OVERVIEW_LATENCY_GRAPH, "figure"),
        Output(ids.OVERVIEW_RENDERED_CYCLE, "data"),
        Input(ids.SNAPSHOT_VERSION, "data"),
        State(ids.OVERVIEW_RENDERED_CYCLE, "data"),
    )
    def show_portfolios(_version: int | None, rendered_cycle: int | None) -> tuple[Any, ...]:
        snapshot = runner.snapshot()
        # Charts only change with a cycle: a paused or finished engine costs no redraw.
        if snapshot.cycles_completed == rendered_cycle:
            raise PreventUpdate
        colours = portfolio_colours(view.portfolio_id for view in snapshot.portfolios)
        return (
            portfolio_cards(snapshot.portfolios, colours),
            nav_figure(snapshot.portfolios, colours),
            latency_figure(snapshot.recent_cycles, snapshot.stage_names),
            snapshot.cycles_completed,
        )

    @app.callback(
        Output(ids.OVERVIEW_LATENCY_SUMMARY, "children"),
        Output(ids.OVERVIEW_LATENCY_TREND_GRAPH, "figure"),
        Output(ids.OVERVIEW_LATENCY_RENDERED, "data"),
        Input(ids.SNAPSHOT_VERSION, "data"),
        State(ids.OVERVIEW_LATENCY_RENDERED, "data"),
    )
    def show_latency(_version: int | None, rendered: list[float] | None) -> tuple[Any, ...]:
        snapshot = runner.snapshot()
        # Keyed on the latest cycle and its time: no new cycle, nothing to summarise or redraw.
        # The time is in the key because the engine adds its snapshot time to the latest cycle
        # after publishing it; [] stands for "no cycle yet", so the waiting card is drawn once.
        last = snapshot.recent_cycles[-1] if snapshot.recent_cycles else None
        key = [last.cycle, last.total_ms] if last is not None else []
        if key == rendered:
            raise PreventUpdate
        summary = latency_summary(snapshot.recent_cycles)
        return (
            latency_card_body(
                summary,
                instruments=len(snapshot.instruments),
                portfolios=len(snapshot.portfolios),
            ),
            latency_trend_figure(snapshot.recent_cycles),
            key,
        )

    @app.callback(
        Output(ids.OVERVIEW_COMMAND_FEEDBACK, "children"),
        Input(ids.OVERVIEW_PAUSE_BUTTON, "n_clicks"),
        Input(ids.OVERVIEW_RESUME_BUTTON, "n_clicks"),
        Input(ids.OVERVIEW_SPEED_BUTTON, "n_clicks"),
        State(ids.OVERVIEW_SPEED_INPUT, "value"),
        prevent_initial_call=True,
    )
    def send_command(
        _pause: int | None, _resume: int | None, _speed: int | None, speed: float | str | None
    ) -> html.Span:
        try:
            command, sent = _command_from_click(ctx.triggered_id, speed)
        except ValueError as error:
            return html.Span(f"Not sent. {error}", className="text-danger")
        try:
            runner.submit(command)
        except CommandRefused as refusal:
            return html.Span(f"Not sent. {refusal}", className="text-danger")
        return html.Span(
            f"{sent}; the engine applies it before its next cycle.", className="text-success"
        )
