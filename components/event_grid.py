"""The Events page's grid and detail: a row per event with both its times (wall clock in UTC,
when it was recorded; and the market date of the cycle it belongs to), and the pretty-printed
payload of the event a person picks."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from dash import html

from components.grid import date_column, number_column, text_column
from engine.model import Event
from engine.views.queries import cycle_of

# The one-line payload in the grid is a preview; the detail panel shows it whole.
PAYLOAD_PREVIEW_CHARS = 160
EVENTS_GRID_PAGE = 25


def _unsortable(column: dict) -> dict:
    # The log is paged by sequence number; only that order is served (newest or oldest first).
    return {**column, "sortable": False, "filter": False}


EVENT_GRID_COLUMNS = (
    {
        **number_column("seq", "seq", decimals=0),
        "pinned": "left",
        "width": 110,
        "sort": "desc",
        "filter": False,
        "sortingOrder": ["desc", "asc"],
    },
    _unsortable(text_column("recorded_at", "recorded (wall clock, UTC)", width=190)),
    _unsortable(date_column("market_date", "market date (of its cycle)")),
    _unsortable(text_column("type", "type", width=190)),
    _unsortable(text_column("portfolio", "portfolio", width=150)),
    _unsortable(text_column("actor", "actor", width=130)),
    {**_unsortable(text_column("payload", "payload (pick a row to see it whole)")), "flex": 3},
)


def event_rows(
    events: Sequence[Event], names: Mapping[str, str], market_dates: Mapping[int, date]
) -> list[dict[str, Any]]:
    """The grid rows of ``events`` (plain JSON), in the order given."""
    rows = []
    for event in events:
        cycle = cycle_of(event)
        market_date = market_dates.get(cycle) if cycle is not None else None
        preview = json.dumps(event.payload, separators=(",", ":"), sort_keys=True, default=str)
        if len(preview) > PAYLOAD_PREVIEW_CHARS:
            preview = preview[: PAYLOAD_PREVIEW_CHARS - 1] + "…"
        rows.append(
            {
                "id": str(event.seq),
                "seq": event.seq,
                "recorded_at": event.timestamp.strftime("%Y-%m-%d %H:%M:%S"),
                "market_date": market_date.isoformat() if market_date else None,
                "type": event.type,
                "portfolio": names.get(event.portfolio_id, event.portfolio_id)
                if event.portfolio_id
                else "",
                "actor": event.actor,
                "payload": preview,
            }
        )
    return rows


def event_detail(event: Event | None, market_date: date | None, name: str | None) -> html.Div:
    """The picked event: who, what and both its times over its payload, pretty-printed."""
    if event is None:
        return html.Div(
            "Pick an event in the grid to see its whole payload.", className="text-muted small"
        )
    times = f"recorded {event.timestamp.strftime('%Y-%m-%d %H:%M:%S')} (wall clock, UTC) · " + (
        f"market date {market_date.isoformat()} ({event.correlation_id})"
        if market_date
        else f"market date not yet known ({event.correlation_id or 'no cycle'})"
    )
    return html.Div(
        [
            html.Div(
                [
                    html.Span(f"#{event.seq:,} {event.type}", className="fw-semibold"),
                    f" · {name or 'all portfolios'} · by {event.actor}",
                ]
            ),
            html.Div(times, className="small text-muted mb-2"),
            html.Pre(
                json.dumps(event.payload, indent=2, sort_keys=True, default=str),
                className="pc-payload-detail mb-0",
            ),
        ]
    )
