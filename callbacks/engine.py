"""Engine: the engine's counters and health, the latency per stage of recent cycles, and the
cycle latency against the seed gate and our target. Everything is read from the snapshot."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import dash_bootstrap_components as dbc
from dash import Input, Output, State, html
from dash.exceptions import PreventUpdate

from components import formatting as fmt
from components import ids
from components.cards import status_badge, transport_line
from components.figures import latency_figure
from components.latency import latency_card_body, latency_trend_figure
from engine.model import CycleReport
from engine.performance.latency import latency_summary

if TYPE_CHECKING:
    import dash

    from engine.coordinator import CoordinatorRunner
    from engine.views.queries import EventQueries


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


def _snapshot_time(cycles: Sequence[CycleReport]) -> str:
    """The latest measured snapshot publication. The engine times a publication after it
    published, so the newest cycle of a snapshot is never timed yet: the one before it is."""
    for cycle in reversed(cycles[-3:]):
        if "snapshot" in cycle.stage_ms:
            return f"{fmt.ms(cycle.stage_ms['snapshot'])} (cycle {cycle.cycle:,})"
    return fmt.EMPTY


def register(app: dash.Dash, runner: CoordinatorRunner, queries: EventQueries) -> None:
    @app.callback(
        Output(ids.ENGINE_STATUS_BADGE, "children"),
        Output(ids.ENGINE_CYCLES, "children"),
        Output(ids.ENGINE_MARKET_DATE, "children"),
        Output(ids.ENGINE_SPEED, "children"),
        Output(ids.ENGINE_LAST_CYCLE_MS, "children"),
        Output(ids.ENGINE_SNAPSHOT_MS, "children"),
        Output(ids.ENGINE_CYCLE_ERRORS, "children"),
        Output(ids.ENGINE_ERROR, "children"),
        Output(ids.ENGINE_TRANSPORT, "children"),
        Output(ids.ENGINE_PUBLISHED_AT, "children"),
        Input(ids.SNAPSHOT_VERSION, "data"),
    )
    def show_counters(_version: int | None) -> tuple[Any, ...]:
        snapshot = runner.snapshot()
        return (
            status_badge(snapshot.status),
            f"{snapshot.cycles_completed:,}",
            fmt.day(snapshot.market_date),
            f"{snapshot.speed_days_per_second:g} days/s",
            fmt.ms(snapshot.last_cycle_ms),
            _snapshot_time(snapshot.recent_cycles),
            f"{snapshot.cycle_errors:,}",
            _error_alert(snapshot.cycle_errors, snapshot.last_error),
            transport_line(snapshot.transport),
            # Wall clock, said so: everything else on the page is in market dates.
            f"snapshot #{snapshot.version:,} published {fmt.moment(snapshot.published_at)} "
            f"UTC (wall clock), up to event #{snapshot.event_seq:,}",
        )

    @app.callback(
        Output(ids.ENGINE_LATENCY_SUMMARY, "children"),
        Output(ids.ENGINE_LATENCY_TREND_GRAPH, "figure"),
        Output(ids.ENGINE_LATENCY_GRAPH, "figure"),
        Output(ids.ENGINE_LATENCY_RENDERED, "data"),
        Input(ids.SNAPSHOT_VERSION, "data"),
        State(ids.ENGINE_LATENCY_RENDERED, "data"),
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
            latency_figure(snapshot.recent_cycles, snapshot.stage_names),
            key,
        )
