"""Downloads built from engine data: plain functions, data in, file content out."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable

from engine.model import Event

EVENT_CSV_COLUMNS = (
    "seq",
    "portfolio_seq",
    "timestamp_utc",
    "type",
    "portfolio_id",
    "actor",
    "correlation_id",
    "event_id",
    "version",
    "payload_json",
)


def events_csv(events: Iterable[Event]) -> str:
    """The events as CSV, one row each; the payload as compact JSON (money stays exact strings)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(EVENT_CSV_COLUMNS)
    for event in events:
        writer.writerow(
            [
                event.seq,
                event.portfolio_seq if event.portfolio_seq is not None else "",
                event.timestamp.isoformat(),
                event.type,
                event.portfolio_id or "",
                event.actor,
                event.correlation_id or "",
                event.event_id,
                event.version,
                json.dumps(event.payload, separators=(",", ":"), sort_keys=True),
            ]
        )
    return buffer.getvalue()


def events_csv_filename(portfolio_id: str | None, event_type: str | None) -> str:
    parts = ["events", portfolio_id or "all-portfolios", event_type or "all-types"]
    return "-".join(parts) + ".csv"
