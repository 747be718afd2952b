"""Events: the event log (the ``EventQueries`` read model) in a server-paged grid, newest first,
filtered by portfolio and type, and the pretty payload of the picked event.

The grid pages a view anchored at an event sequence number, so rows hold still while a person
pages: each request asks ``EventQueries.window`` for its rows up to that anchor. The anchor
follows the log (the grid reloads) only while the person looks at the newest page, newest first,
as the old "live" first page did; changing a filter anchors anew and goes back to page one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dash import Input, Output, State, dcc, no_update
from dash.exceptions import PreventUpdate

from components import ids
from components.event_grid import event_detail, event_rows
from components.exports import events_csv, events_csv_filename
from components.grid import MAX_ROWS_PER_REQUEST, refresh_store_id, register_refresh
from engine.views.queries import cycle_of

if TYPE_CHECKING:
    import dash

    from engine.coordinator import CoordinatorRunner
    from engine.views.queries import EventQueries

# A download is built in memory in one request; past this many rows use `pcoord events --json`.
EXPORT_MAX_ROWS = 100_000


def _filters(portfolio_id: str | None, event_type: str | None) -> dict[str, str | None]:
    return {
        "portfolio_id": None if portfolio_id in (None, ids.ALL) else portfolio_id,
        "event_type": None if event_type in (None, ids.ALL) else event_type,
    }


def _on_live_page(pagination: dict[str, Any] | None, request: dict[str, Any] | None) -> bool:
    """Whether the person looks at the newest events (first page, newest first)."""
    page = (pagination or {}).get("currentPage") or 0
    sort = ((request or {}).get("sortModel") or [{}])[0].get("sort", "desc")
    return page == 0 and sort != "asc"


def register(app: dash.Dash, runner: CoordinatorRunner, queries: EventQueries) -> None:
    register_refresh(app, ids.EVENTS_GRID)
    view_store = refresh_store_id(ids.EVENTS_GRID)

    @app.callback(
        Output(ids.EVENTS_PORTFOLIO_FILTER, "options"),
        Output(ids.EVENTS_TYPE_FILTER, "options"),
        Input(ids.EVENTS_OPTIONS_INTERVAL, "n_intervals"),
    )
    def offer_filters(_tick: int | None) -> tuple[list[dict], list[dict]]:
        portfolios = [
            {"label": view.name, "value": view.portfolio_id}
            for view in runner.snapshot().portfolios
        ]
        types = [{"label": name, "value": name} for name in queries.event_types()]
        return (
            [{"label": "all portfolios", "value": ids.ALL}, *portfolios],
            [{"label": "all types", "value": ids.ALL}, *types],
        )

    @app.callback(
        Output(view_store, "data"),
        Output(ids.EVENTS_GRID, "paginationGoTo"),
        Output(ids.EVENTS_PAGE_LABEL, "children"),
        Input(ids.SNAPSHOT_VERSION, "data"),
        Input(ids.EVENTS_PORTFOLIO_FILTER, "value"),
        Input(ids.EVENTS_TYPE_FILTER, "value"),
        State(view_store, "data"),
        State(ids.EVENTS_GRID, "paginationInfo"),
        State(ids.EVENTS_GRID, "getRowsRequest"),
    )
    def anchor_view(
        _version: int | None,
        portfolio_id: str | None,
        event_type: str | None,
        view: dict[str, Any] | None,
        pagination: dict[str, Any] | None,
        request: dict[str, Any] | None,
    ) -> tuple[Any, ...]:
        filters = _filters(portfolio_id, event_type)
        anchor = runner.snapshot().event_seq or None
        refilter = view is None or {k: view.get(k) for k in filters} != filters
        if not refilter and (
            anchor == view.get("anchor") or not _on_live_page(pagination, request)
        ):
            # Nothing new, or the person is reading an older page: leave the rows still.
            raise PreventUpdate
        label = (
            f"Events up to #{anchor:,}, newest first; the first page follows the log."
            if anchor
            else "No events yet."
        )
        return {**filters, "anchor": anchor}, "first" if refilter and view else no_update, label

    @app.callback(
        Output(ids.EVENTS_GRID, "getRowsResponse"),
        Input(ids.EVENTS_GRID, "getRowsRequest"),
        State(view_store, "data"),
    )
    def serve_events(request: dict[str, Any] | None, view: dict[str, Any] | None) -> dict:
        if request is None:
            raise PreventUpdate
        view = view or {"portfolio_id": None, "event_type": None, "anchor": None}
        start = max(int(request.get("startRow") or 0), 0)
        end = int(request.get("endRow") or start + 25)
        size = max(min(end - start, MAX_ROWS_PER_REQUEST), 1)
        sort = (request.get("sortModel") or [{}])[0].get("sort", "desc")
        found = queries.window(
            view["portfolio_id"],
            view["event_type"],
            start,
            size,
            anchor_seq=view.get("anchor"),
            oldest_first=sort == "asc",
        )
        snapshot = runner.snapshot()
        names = {p.portfolio_id: p.name for p in snapshot.portfolios}
        cycles = {c for c in map(cycle_of, found.events) if c is not None}
        rows = event_rows(found.events, names, queries.market_dates(cycles))
        response: dict[str, Any] = {"rowData": rows}
        if found.row_count is not None:
            response["rowCount"] = found.row_count
        return response

    @app.callback(
        Output(ids.EVENTS_DETAIL, "children"),
        Input(ids.EVENTS_GRID, "cellClicked"),
        prevent_initial_call=True,
    )
    def show_event(clicked: dict[str, Any] | None) -> Any:
        row_id = (clicked or {}).get("rowId")
        if not row_id or not str(row_id).isdigit():
            raise PreventUpdate
        event = queries.event(int(row_id))
        cycle = cycle_of(event) if event else None
        market_date = queries.market_dates([cycle]).get(cycle) if cycle is not None else None
        names = {p.portfolio_id: p.name for p in runner.snapshot().portfolios}
        name = names.get(event.portfolio_id) if event and event.portfolio_id else None
        return event_detail(event, market_date, name)

    @app.callback(
        Output(ids.EVENTS_DOWNLOAD, "data"),
        Input(ids.EVENTS_EXPORT_BUTTON, "n_clicks"),
        State(ids.EVENTS_PORTFOLIO_FILTER, "value"),
        State(ids.EVENTS_TYPE_FILTER, "value"),
        prevent_initial_call=True,
    )
    def export_events(
        _clicks: int | None, portfolio_id: str | None, event_type: str | None
    ) -> dict[str, Any]:
        filters = _filters(portfolio_id, event_type)
        oldest_first = queries.export(
            filters["portfolio_id"], filters["event_type"], limit=EXPORT_MAX_ROWS
        )
        return dcc.send_string(
            events_csv(oldest_first),
            events_csv_filename(filters["portfolio_id"], filters["event_type"]),
            type="text/csv",
        )
