"""The load test's Dash client against a small Dash app served over real HTTP: it must follow
chains the way dash-renderer does, whatever the app's ids (the dashboard is moving to a timer ->
snapshot-version store -> page chain, and the client must not need to know)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import dash
import pytest
from dash import ALL, Input, Output, dcc, html, no_update

from app.loadtest.dash_client import CallbackAnswer, DashTab
from components.grid import refresh_store_id, register_refresh, serve_rows, server_grid

if TYPE_CHECKING:
    from flask import Flask


def _chain_app() -> dash.Dash:
    """A timer bumps a version store on odd ticks only; the version redraws a label and a row of
    buttons with pattern ids; a callback on ALL those buttons counts them."""
    app = dash.Dash(__name__)
    app.layout = html.Div(
        [
            dcc.Interval(id="tick", interval=1000),
            dcc.Store(id="version"),
            html.Div(id="shown"),
            html.Div(id="holder"),
            html.Div(id="count"),
            html.Div(id="clicked"),
        ]
    )

    @app.callback(Output("version", "data"), Input("tick", "n_intervals"))
    def bump(ticks: int | None) -> object:
        return no_update if ticks and ticks % 2 == 0 else (ticks or 0)

    @app.callback(
        Output("shown", "children"), Output("holder", "children"), Input("version", "data")
    )
    def show(version: int) -> tuple[str, list]:
        buttons = [html.Button(id={"type": "row", "index": i}) for i in range(version + 2)]
        return f"v{version}", buttons

    @app.callback(Output("count", "children"), Input({"type": "row", "index": ALL}, "n_clicks"))
    def count(clicks: list) -> str:
        return f"{len(clicks)} buttons"

    @app.callback(
        Output("clicked", "children"),
        Input({"type": "row", "index": ALL}, "n_clicks"),
        prevent_initial_call=True,
    )
    def clicked(_clicks: list) -> str:
        return "clicked"

    return app


@pytest.fixture
def tab(
    serve_http: Callable[[Flask], str],
) -> Iterator[tuple[DashTab, list[CallbackAnswer]]]:
    """A client on the chain app, and every answer it got (in the order they arrived)."""
    url = serve_http(_chain_app().server)
    answers: list[CallbackAnswer] = []
    client = DashTab("127.0.0.1", int(url.rsplit(":", 1)[1]), on_answer=answers.append)
    try:
        yield client, answers
    finally:
        client.close()


def _fired(answers: list[CallbackAnswer]) -> list[str]:
    return [answer.output.strip(".").split(".")[0] for answer in answers]


def test_initial_calls_run_the_chain_in_dependency_order_once_each(tab) -> None:
    client, answers = tab
    chain = client.load()
    # bump and count (its output is on the page, no button yet) first; show waits for bump;
    # count fires again for the buttons show created; the callback that prevents its initial
    # call never fires.
    first_wave, later = _fired(answers)[:2], _fired(answers)[2:]
    assert sorted(first_wave) == ["count", "version"] and later == ["shown", "count"]
    assert chain.waves == 3 and not chain.cut
    assert client.props["shown"]["children"] == "v0"
    assert client.props["count"]["children"] == "2 buttons"
    assert client.props["clicked"]["children"] is None


def test_a_tick_follows_the_chain_and_no_update_stops_it(tab) -> None:
    client, answers = tab
    client.load()
    answers.clear()

    client.set_props({"tick": {"n_intervals": 1}})
    # The new version redraws three buttons: the ALL callback sees them as the browser would.
    assert _fired(answers) == ["version", "shown", "count"]
    assert client.props["shown"]["children"] == "v1"
    assert client.props["count"]["children"] == "3 buttons"
    assert [key for key in client.props if key.startswith("{")] == [
        f'{{"index":{i},"type":"row"}}' for i in range(3)
    ]

    answers.clear()
    chain = client.set_props({"tick": {"n_intervals": 2}})
    # Even tick: no_update leaves the prop out of the answer, and nothing downstream fires.
    assert [(a.status, a.updates) for a in answers] == [(200, {})]
    assert chain.waves == 1
    assert client.props["shown"]["children"] == "v1"


def test_the_navigation_links_and_timers_are_read_from_the_layout(tab) -> None:
    client, _answers = tab
    client.load()
    assert client.components_of_type("Interval") == ["tick"]
    assert client.links() == []


def _grid_app() -> dash.Dash:
    """A server-paged grid (components/grid.py) whose rows change with a version store."""
    app = dash.Dash(__name__)
    app.layout = html.Div(
        [
            dcc.Store(id="version", data=0),
            html.Button(id="bump"),
            server_grid("orders", [{"field": "n"}], page_size=5),
        ]
    )

    @app.callback(Output("version", "data"), Input("bump", "n_clicks"), prevent_initial_call=True)
    def bump(clicks: int) -> int:
        return clicks

    @app.callback(Output(refresh_store_id("orders"), "data"), Input("version", "data"))
    def rows_changed(version: int) -> int:
        return version

    @app.callback(
        Output("orders", "getRowsResponse"),
        Input("orders", "getRowsRequest"),
        dash.State("version", "data"),
    )
    def rows(request: dict | None, version: int) -> dict:
        return serve_rows([{"n": version * 100 + i} for i in range(12)], request)

    register_refresh(app, "orders")
    return app


def test_a_paged_grid_asks_for_its_first_page_and_again_when_refreshed(
    serve_http: Callable[[Flask], str],
) -> None:
    url = serve_http(_grid_app().server)
    answers: list[CallbackAnswer] = []
    client = DashTab("127.0.0.1", int(url.rsplit(":", 1)[1]), on_answer=answers.append)
    try:
        client.load()
        assert client.props["orders"]["getRowsRequest"]["endRow"] == 5
        first = client.props["orders"]["getRowsResponse"]
        assert [row["n"] for row in first["rowData"]] == [0, 1, 2, 3, 4]
        assert first["rowCount"] == 12

        answers.clear()
        client.set_props({"bump": {"n_clicks": 1}})
        # The refresh store changed; its clientside callback makes the grid ask again.
        assert _fired(answers) == ["version", "orders-refresh", "orders"]
        assert client.props["orders"]["getRowsResponse"]["rowData"][0] == {"n": 100}
    finally:
        client.close()
