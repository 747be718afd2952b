"""The event log's read model over a real SQLite store and over a Pulsar follower's recent
events: the same pages, audit trails and exports from either."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from engine.events.store import SqlEventStore
from engine.follower import FollowedEventLog
from engine.model import Event
from engine.views.queries import EventLog, EventQueries

WHEN = datetime(2024, 3, 1, 21, 0, tzinfo=UTC)


def _events() -> list[Event]:
    kinds = ["OrderCreated", "OverrideSet", "OrderFilled", "OverrideExpired"] * 5
    return [
        Event(
            event_id=f"e{n:03d}",
            type=kind,
            timestamp=WHEN,
            actor="engine",
            payload={"n": n},
            portfolio_id="alpha" if n % 2 else "beta",
            seq=n,
        )
        for n, kind in enumerate(kinds, start=1)
    ]


@pytest.fixture(params=["sql store", "followed log"])
def log(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[EventLog]:
    if request.param == "sql store":
        store = SqlEventStore.from_url(f"sqlite:///{tmp_path / 'events.db'}")
        store.append(_events())  # the store numbers them 1, 2, ... as given
        yield store
        store.close()
    else:
        followed = FollowedEventLog()
        for event in _events():
            followed.add(event)
        yield followed


def test_pages_walk_the_log_newest_first_and_say_when_older_ones_exist(log: EventLog) -> None:
    queries = EventQueries(log)
    first = queries.page(size=8)
    assert [e.seq for e in first.events] == list(range(20, 12, -1))
    assert first.has_older and (first.newest_seq, first.oldest_seq) == (20, 13)
    second = queries.page(before_seq=first.oldest_seq, size=8)
    third = queries.page(before_seq=second.oldest_seq, size=8)
    assert [e.seq for e in third.events] == [4, 3, 2, 1]
    assert not third.has_older


def test_a_page_filters_by_portfolio_and_type(log: EventLog) -> None:
    page = EventQueries(log).page("alpha", "OrderCreated", size=50)
    assert {(e.portfolio_id, e.type) for e in page.events} == {("alpha", "OrderCreated")}
    assert [e.seq for e in page.events] == [17, 13, 9, 5, 1]


def test_an_empty_page_has_no_sequence_bounds(log: EventLog) -> None:
    page = EventQueries(log).page(event_type="NoSuchEvent")
    assert page.events == () and not page.has_older
    assert (page.newest_seq, page.oldest_seq) == (None, None)


def test_a_page_of_no_rows_is_refused() -> None:
    with pytest.raises(ValueError, match="size: 0 must be at least 1"):
        EventQueries(FollowedEventLog()).page(size=0)


def test_an_audit_trail_merges_its_types_newest_first_up_to_the_limit(log: EventLog) -> None:
    trail = EventQueries(log).audit_trail(("OverrideSet", "OverrideExpired"), limit=6)
    assert [e.seq for e in trail] == [20, 18, 16, 14, 12, 10]
    assert {e.type for e in trail} == {"OverrideSet", "OverrideExpired"}


def test_an_export_lists_the_newest_matching_events_oldest_first(log: EventLog) -> None:
    rows = EventQueries(log).export(event_type="OrderFilled", limit=3)
    assert [e.seq for e in rows] == [11, 15, 19]


def test_the_types_held_are_listed_sorted(log: EventLog) -> None:
    assert EventQueries(log).event_types() == [
        "OrderCreated",
        "OrderFilled",
        "OverrideExpired",
        "OverrideSet",
    ]
