"""The events CSV export: every field, payload as JSON, money exact."""

import csv
import io
import json
from datetime import UTC, datetime
from decimal import Decimal

from components.exports import EVENT_CSV_COLUMNS, events_csv, events_csv_filename
from engine.model import Event


def test_events_csv_has_one_row_per_event_with_the_payload_as_json() -> None:
    events = [
        Event(
            "e1",
            "OrderFilled",
            datetime(2024, 1, 2, 15, 30, tzinfo=UTC),
            "engine",
            {"price_usd": "101.2500", "symbol": "AAPL", "note": 'a "quoted", comma'},
            "growth",
            "cycle-7",
            seq=41,
            portfolio_seq=12,
        ),
        Event(
            "e2", "CommandApplied", datetime(2024, 1, 2, 15, 31, tzinfo=UTC), "alice", {}, seq=42
        ),
    ]
    rows = list(csv.DictReader(io.StringIO(events_csv(events))))
    assert tuple(rows[0]) == EVENT_CSV_COLUMNS
    assert rows[0]["seq"] == "41" and rows[0]["portfolio_seq"] == "12"
    assert rows[0]["timestamp_utc"] == "2024-01-02T15:30:00+00:00"
    payload = json.loads(rows[0]["payload_json"])
    assert Decimal(payload["price_usd"]) == Decimal("101.25")
    assert payload["note"] == 'a "quoted", comma'
    assert (rows[1]["portfolio_id"], rows[1]["portfolio_seq"], rows[1]["actor"]) == (
        "",
        "",
        "alice",
    )


def test_export_filename_names_the_filters() -> None:
    assert events_csv_filename(None, None) == "events-all-portfolios-all-types.csv"
    assert events_csv_filename("growth", "OrderFilled") == "events-growth-OrderFilled.csv"
