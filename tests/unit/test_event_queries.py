"""The event log's read model over a real SQLite store and over a Pulsar follower's recent
events: the same pages, audit trails, override history and exports from either; and the store's
forward reading from a sequence number or a moment."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from engine.events.bus import EmbeddedEventBus
from engine.events.store import SqlEventStore
from engine.follower import FollowedEventLog
from engine.model import Event
from engine.views.queries import EventLog, EventQueries, StoredEventQueries
from engine.views.tail import TailedEventLog

WHEN = datetime(2024, 3, 1, 21, 0, tzinfo=UTC)


def _events() -> list[Event]:
    """Twenty events an hour apart, seq n at WHEN + n - 1 hours; odd ones alpha's, even beta's."""
    kinds = ["OrderCreated", "OverrideSet", "OrderFilled", "OverrideExpired"] * 5
    return [
        Event(
            event_id=f"e{n:03d}",
            type=kind,
            timestamp=WHEN + timedelta(hours=n - 1),
            actor="engine",
            payload={"n": n},
            portfolio_id="alpha" if n % 2 else "beta",
            seq=n,
        )
        for n, kind in enumerate(kinds, start=1)
    ]


@pytest.fixture(params=["sql store", "followed log", "tailed store"])
def log(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[EventLog]:
    if request.param == "sql store":
        store = SqlEventStore.from_url(f"sqlite:///{tmp_path / 'events.db'}")
        store.append(_events())  # the store numbers them 1, 2, ... as given
        yield store
        store.close()
    elif request.param == "tailed store":
        # Eight events stored before the tail starts, twelve after, six kept in memory: answers
        # come from memory, from the store below the tail, and from both.
        store = SqlEventStore.from_url(f"sqlite:///{tmp_path / 'events.db'}")
        events = _events()
        store.append(events[:8])
        bus = EmbeddedEventBus(store)
        tail = TailedEventLog.following(store, bus, capacity=6)
        bus.publish(events[8:])
        assert tail.subscription is not None
        assert tail.subscription.wait_until_delivered(20, timeout_s=30)
        assert tail.newest == 20
        yield tail
        bus.close()
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


def test_the_override_history_is_every_override_set_or_expired_newest_first(log: EventLog) -> None:
    history = EventQueries(log).override_history(limit=50)
    assert [e.seq for e in history] == [20, 18, 16, 14, 12, 10, 8, 6, 4, 2]
    assert [e.type for e in history[:2]] == ["OverrideExpired", "OverrideSet"]
    assert [e.seq for e in EventQueries(log).override_history(limit=3)] == [20, 18, 16]


@pytest.fixture
def stored(tmp_path: Path) -> Iterator[StoredEventQueries]:
    store = SqlEventStore.from_url(f"sqlite:///{tmp_path / 'events.db'}")
    store.append(_events())
    yield StoredEventQueries(store)
    store.close()


def test_the_store_is_read_forward_from_a_sequence_number(stored: StoredEventQueries) -> None:
    assert [e.seq for e in stored.oldest_first(from_seq=15, limit=3)] == [15, 16, 17]
    assert [e.seq for e in stored.oldest_first(limit=2)] == [1, 2]  # from the first event
    rows = stored.oldest_first(from_seq=4, portfolio_id="alpha", event_type="OrderCreated")
    assert [e.seq for e in rows] == [5, 9, 13, 17]


def test_the_store_is_read_forward_from_a_moment(stored: StoredEventQueries) -> None:
    # seq 11 was stored at WHEN + 10 h, so half an hour before that it is the first one after.
    since = WHEN + timedelta(hours=9, minutes=30)
    assert [e.seq for e in stored.oldest_first(since=since, limit=3)] == [11, 12, 13]
    assert stored.oldest_first(since=WHEN + timedelta(days=2)) == []


def test_a_sequence_number_and_a_moment_start_at_whichever_is_later(
    stored: StoredEventQueries,
) -> None:
    at_seq_11 = WHEN + timedelta(hours=10)
    assert [e.seq for e in stored.oldest_first(5, at_seq_11, limit=2)] == [11, 12]
    assert [e.seq for e in stored.oldest_first(15, at_seq_11, limit=2)] == [15, 16]


def test_reading_forward_for_no_rows_is_refused(stored: StoredEventQueries) -> None:
    with pytest.raises(ValueError, match="limit: 0 must be at least 1"):
        stored.oldest_first(limit=0)


def test_the_store_answers_the_dashboards_questions_too(stored: StoredEventQueries) -> None:
    assert [e.seq for e in stored.page(size=2).events] == [20, 19]
    assert [e.seq for e in stored.export(event_type="OverrideSet", limit=2)] == [14, 18]


# The Events grid: windows of a view anchored at a sequence number, and cycles' market dates ------


def test_a_window_is_rows_of_the_view_up_to_its_anchor_newest_first(log: EventLog) -> None:
    queries = EventQueries(log)
    # Anchored at 15: events 16 to 20 arrived after the person began paging and stay out.
    first = queries.window(None, None, 0, 6, anchor_seq=15)
    second = queries.window(None, None, 6, 6, anchor_seq=15)
    last = queries.window(None, None, 12, 6, anchor_seq=15)
    assert [e.seq for e in first.events] == [15, 14, 13, 12, 11, 10]
    assert [e.seq for e in second.events] == [9, 8, 7, 6, 5, 4]
    assert [e.seq for e in last.events] == [3, 2, 1]
    # The pager learns the row count once the last page is reached.
    assert first.row_count is None and last.row_count == 15


def test_a_filtered_window_counts_rows_of_the_filtered_view(log: EventLog) -> None:
    queries = EventQueries(log)
    # alpha's OrderCreated: seq 1, 5, 9, 13, 17 (every fourth, from 1).
    page = queries.window("alpha", "OrderCreated", 1, 2, anchor_seq=20)
    assert [e.seq for e in page.events] == [13, 9]
    assert page.row_count is None
    rest = queries.window("alpha", "OrderCreated", 3, 2, anchor_seq=20)
    assert [e.seq for e in rest.events] == [5, 1] and rest.row_count == 5


def test_a_window_oldest_first_reads_the_stored_log_forward(tmp_path: Path) -> None:
    store = SqlEventStore.from_url(f"sqlite:///{tmp_path / 'events.db'}")
    store.append(_events())
    queries = EventQueries(store)
    page = queries.window(None, "OrderFilled", 0, 3, anchor_seq=15, oldest_first=True)
    assert [e.seq for e in page.events] == [3, 7, 11]
    assert (
        queries.window(None, "OrderFilled", 3, 3, anchor_seq=15, oldest_first=True).row_count == 4
    )
    store.close()


def test_an_event_is_found_by_its_sequence_number(log: EventLog) -> None:
    queries = EventQueries(log)
    found = queries.event(7)
    assert found is not None and found.payload == {"n": 7}
    assert queries.event(99) is None


def test_a_cycles_market_date_comes_from_its_completion_and_new_cycles_are_read_as_they_come(
    tmp_path: Path,
) -> None:
    store = SqlEventStore.from_url(f"sqlite:///{tmp_path / 'events.db'}")

    def completed(cycle: int, market_date: str) -> Event:
        return Event(
            event_id=f"c{cycle}",
            type="CycleCompleted",
            timestamp=WHEN,
            actor="engine",
            payload={"cycle": cycle, "market_date": market_date},
            correlation_id=f"cycle-{cycle}",
        )

    store.append([completed(1, "2008-09-12"), completed(2, "2008-09-15")])
    queries = EventQueries(store)
    assert queries.market_dates([1, 2, 3]) == {
        1: datetime(2008, 9, 12).date(),
        2: datetime(2008, 9, 15).date(),
    }
    store.append([completed(3, "2008-09-16")])
    assert queries.market_dates([3]) == {3: datetime(2008, 9, 16).date()}
    store.close()
