"""The Events page's grid rows and detail panel, fed hand-built events."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

from components.event_grid import PAYLOAD_PREVIEW_CHARS, event_detail, event_rows
from engine.model import Event
from tests.unit.component_tree import find, text_of


def _event(seq: int, payload: dict, correlation: str | None = "cycle-7") -> Event:
    return Event(
        event_id=f"e{seq}",
        type="OrderFilled",
        timestamp=datetime(2026, 12, 3, 23, 5, 31, 123456, tzinfo=UTC),
        actor="engine",
        payload=payload,
        portfolio_id="growth",
        correlation_id=correlation,
        seq=seq,
    )


def test_a_row_shows_its_wall_clock_time_and_the_market_date_of_its_cycle() -> None:
    rows = event_rows(
        [_event(12, {"b": 1, "a": "x"}), _event(11, {}, correlation="cycle-8")],
        {"growth": "Growth"},
        {7: date(2008, 9, 15)},
    )
    assert rows[0] == {
        "id": "12",
        "seq": 12,
        "recorded_at": "2026-12-03 23:05:31",
        "market_date": "2008-09-15",
        "type": "OrderFilled",
        "portfolio": "Growth",
        "actor": "engine",
        "payload": '{"a":"x","b":1}',
    }
    # A cycle not yet completed has no market date yet: an empty cell, not a guess.
    assert rows[1]["market_date"] is None


def test_a_long_payload_is_a_preview_in_the_grid_and_whole_in_the_detail() -> None:
    payload = {"reason": "r" * 500, "shares": 1200}
    (row,) = event_rows([_event(3, payload)], {}, {})
    assert len(row["payload"]) == PAYLOAD_PREVIEW_CHARS and row["payload"].endswith("…")

    detail = event_detail(_event(3, payload), date(2008, 9, 15), "Growth")
    (pretty,) = find(detail, "Pre")
    assert json.loads(pretty.children) == payload
    assert "\n" in pretty.children
    shown = text_of(detail)
    assert "(wall clock, UTC)" in shown and "market date 2008-09-15 (cycle-7)" in shown


def test_no_event_picked_says_how_to_see_one() -> None:
    assert "Pick an event" in text_of(event_detail(None, None, None))
