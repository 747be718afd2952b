"""Events: the event log (the ``EventQueries`` read model), newest first, filtered and paged by
global sequence.

Two callbacks, on purpose. ``choose_page`` turns a person's action (a filter, a paging button)
into the query to show; ``show_events`` runs that query, on the action and on every refresh tick.
Dash drops a callback still running when the same callback is fired again, so if one callback did
both, a refresh tick landing during a slow click would throw the click away.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from dash import Input, Output, State, ctx, dcc
from dash.exceptions import PreventUpdate

from components import ids
from components.colours import portfolio_colours
from components.exports import events_csv, events_csv_filename
from components.tables import PortfolioLabels, events_table

if TYPE_CHECKING:
    import dash

    from engine.coordinator import CoordinatorRunner
    from engine.views.queries import EventQueries

PAGE_SIZE = 50
# A download is built in memory in one request; past this many rows use `pcoord events --json`.
EXPORT_MAX_ROWS = 100_000


def _first_page(portfolio_id: str | None, event_type: str | None) -> dict[str, Any]:
    """The query shown: filters, and ``before_seq`` None for the newest page, which follows the
    log live; ``newer`` is the stack of ``before_seq`` values to step back towards it."""
    return {
        "portfolio_id": None if portfolio_id in (None, ids.ALL) else portfolio_id,
        "event_type": None if event_type in (None, ids.ALL) else event_type,
        "before_seq": None,
        "newer": [],
    }


def _turn_page(
    fired: Iterable[Any],
    page: dict[str, Any] | None,
    oldest_shown_seq: int | None,
    filters: tuple[str | None, str | None],
) -> dict[str, Any]:
    """The page to show after the inputs in ``fired`` changed (a filter or a paging button)."""
    fired = set(fired)
    if (
        page is None
        or ids.EVENTS_NEWEST_BUTTON in fired
        or not fired.isdisjoint((ids.EVENTS_PORTFOLIO_FILTER, ids.EVENTS_TYPE_FILTER))
    ):
        return _first_page(*filters)
    if ids.EVENTS_OLDER_BUTTON in fired:
        if oldest_shown_seq is None:
            raise PreventUpdate
        return {
            **page,
            "before_seq": oldest_shown_seq,
            "newer": [*page["newer"], page["before_seq"]],
        }
    if ids.EVENTS_NEWER_BUTTON in fired and page["newer"]:
        return {**page, "before_seq": page["newer"][-1], "newer": page["newer"][:-1]}
    raise PreventUpdate


def register(app: dash.Dash, runner: CoordinatorRunner, queries: EventQueries) -> None:
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
        Output(ids.EVENTS_PAGE, "data"),
        Input(ids.EVENTS_PORTFOLIO_FILTER, "value"),
        Input(ids.EVENTS_TYPE_FILTER, "value"),
        Input(ids.EVENTS_OLDER_BUTTON, "n_clicks"),
        Input(ids.EVENTS_NEWER_BUTTON, "n_clicks"),
        Input(ids.EVENTS_NEWEST_BUTTON, "n_clicks"),
        State(ids.EVENTS_PAGE, "data"),
        State(ids.EVENTS_SHOWN, "data"),
    )
    def choose_page(
        portfolio_id: str | None,
        event_type: str | None,
        _older: int | None,
        _newer: int | None,
        _newest: int | None,
        page: dict[str, Any] | None,
        shown: dict[str, Any] | None,
    ) -> dict[str, Any]:
        # All inputs that fired, not only the first: Dash merges changes that come close together.
        return _turn_page(
            ctx.triggered_prop_ids.values(),
            page,
            shown["oldest_seq"] if shown else None,
            (portfolio_id, event_type),
        )

    @app.callback(
        Output(ids.EVENTS_TABLE, "children"),
        Output(ids.EVENTS_PAGE_LABEL, "children"),
        Output(ids.EVENTS_SHOWN, "data"),
        Output(ids.EVENTS_OLDER_BUTTON, "disabled"),
        Output(ids.EVENTS_NEWER_BUTTON, "disabled"),
        Output(ids.EVENTS_NEWEST_BUTTON, "disabled"),
        Input(ids.EVENTS_PAGE, "data"),
        Input(ids.SNAPSHOT_VERSION, "data"),
        State(ids.EVENTS_SHOWN, "data"),
    )
    def show_events(
        page: dict[str, Any] | None, _version: int | None, shown: dict[str, Any] | None
    ) -> tuple[Any, ...]:
        if page is None:
            raise PreventUpdate
        refresh = shown is not None and shown["page"] == page
        # An older page never changes; only the newest page follows the log.
        if refresh and page["before_seq"] is not None:
            raise PreventUpdate
        found = queries.page(
            page["portfolio_id"], page["event_type"], page["before_seq"], size=PAGE_SIZE
        )
        rows, has_older, newest_seq = found.events, found.has_older, found.newest_seq
        if refresh and newest_seq == shown["newest_seq"]:
            raise PreventUpdate
        snapshot = runner.snapshot()
        colours = portfolio_colours(view.portfolio_id for view in snapshot.portfolios)
        page_number = len(page["newer"]) + 1
        if rows:
            label = (
                f"page {page_number} · seq {rows[0].seq:,} to {rows[-1].seq:,}, newest first"
                + (" · live" if page["before_seq"] is None else "")
            )
        else:
            label = f"page {page_number} · no events"
        return (
            events_table(rows, PortfolioLabels(snapshot.portfolios, colours)),
            label,
            {
                "page": page,
                "newest_seq": newest_seq,
                "oldest_seq": found.oldest_seq if has_older else None,
            },
            not has_older,
            page_number == 1,
            page_number == 1,
        )

    @app.callback(
        Output(ids.EVENTS_DOWNLOAD, "data"),
        Input(ids.EVENTS_EXPORT_BUTTON, "n_clicks"),
        State(ids.EVENTS_PAGE, "data"),
        prevent_initial_call=True,
    )
    def export_events(_clicks: int | None, page: dict[str, Any] | None) -> dict[str, Any]:
        filters = page or _first_page(None, None)
        oldest_first = queries.export(
            filters["portfolio_id"], filters["event_type"], limit=EXPORT_MAX_ROWS
        )
        return dcc.send_string(
            events_csv(oldest_first),
            events_csv_filename(filters["portfolio_id"], filters["event_type"]),
            type="text/csv",
        )
