"""On every page: the snapshot version the pages and the navbar (callbacks/clock.py) listen to.

The one-second interval fires only ``follow_snapshot``, which answers with nothing unless the
engine published a new snapshot; the pages' callbacks take ``SNAPSHOT_VERSION`` as their input,
so a paused engine, or one between cycles, costs the server one tiny request per tab a second."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dash import Input, Output, State
from dash.exceptions import PreventUpdate

from components import ids

if TYPE_CHECKING:
    import dash

    from engine.coordinator import CoordinatorRunner
    from engine.views.queries import EventQueries


def register(app: dash.Dash, runner: CoordinatorRunner, queries: EventQueries) -> None:
    @app.callback(
        Output(ids.SNAPSHOT_VERSION, "data"),
        Input(ids.REFRESH_INTERVAL, "n_intervals"),
        State(ids.SNAPSHOT_VERSION, "data"),
    )
    def follow_snapshot(_tick: int | None, shown: int | None) -> int:
        version = runner.snapshot().version
        if version == shown:
            raise PreventUpdate
        return version
