"""The SQL event store behaves the same on SQLite and on PostgreSQL.

Every test runs once per database (the ``database_url`` fixture, ids ``sqlite`` and
``postgresql``), each on an empty database of its own.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from engine.events.store import SqlEventStore, last_portfolio_seq
from engine.model import Event

OpenStore = Callable[[str], SqlEventStore]
START = datetime(2024, 3, 1, 14, 30, tzinfo=UTC)


def make_event(
    number: int,
    portfolio_id: str | None = "alpha",
    event_type: str = "order.placed",
    payload: dict | None = None,
    timestamp: datetime | None = None,
) -> Event:
    return Event(
        event_id=f"evt-{number:05d}",
        type=event_type,
        timestamp=timestamp or START + timedelta(seconds=number),
        actor="engine",
        payload={"n": number} if payload is None else payload,
        portfolio_id=portfolio_id,
        correlation_id=f"cycle-{number // 10}",
    )


def backend(database_url: str) -> str:
    return make_url(database_url).get_backend_name()


def test_append_assigns_global_seq_and_gapless_portfolio_seq(
    database_url: str, open_store: OpenStore
) -> None:
    store = open_store(database_url)
    portfolios = ["alpha", "beta", None, "alpha", "beta", "alpha", None, "gamma", "alpha"]
    first = [make_event(i, portfolio_id=pid) for i, pid in enumerate(portfolios[:5])]
    second = [make_event(i + 5, portfolio_id=pid) for i, pid in enumerate(portfolios[5:])]

    stored = store.append(first) + store.append(second)

    assert [item.seq for item in stored] == list(range(1, len(portfolios) + 1))
    assert [item.portfolio_seq for item in stored] == [1, 1, None, 2, 2, 3, None, 1, 4]
    assert store.last_seq() == len(portfolios)
    assert store.count() == len(portfolios)
    # What was returned is what was stored.
    assert store.read_from(1) == stored


def test_threads_appending_for_different_portfolios_number_each_without_gaps(
    database_url: str, open_store: OpenStore
) -> None:
    """Appends from several threads (the API, a relay, the engine) take turns: none numbers a
    portfolio's event from counters that another append has moved on since."""
    store = open_store(database_url)
    portfolios = [f"p{n}" for n in range(6)]
    batches = 40
    start = threading.Barrier(len(portfolios))

    def append_all(pid: str) -> None:
        start.wait()
        for batch in range(batches):
            store.append(
                [
                    Event(f"{pid}-{batch}-{k}", "order.placed", START, "engine", {}, pid)
                    for k in range(3)
                ]
            )

    threads = [threading.Thread(target=append_all, args=(pid,)) for pid in portfolios]
    # Switch threads as often as the interpreter can, so that a window between one append and
    # the next (if the store left one) is hit: a correct store passes however the threads run.
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    for pid in portfolios:
        numbers = [e.portfolio_seq for e in store.read_from(1, portfolio_id=pid)]
        assert numbers == list(range(1, 3 * batches + 1)), pid


def test_two_store_objects_appending_at_once_number_without_gaps_or_duplicates(
    database_url: str, open_store: OpenStore
) -> None:
    """Two writers with engines of their own (as two processes would be) append batches for the
    same portfolios at once: the database's write lock makes them take turns, so every seq and
    every portfolio_seq is given once, without gaps, and each writer gets back exactly the
    numbers that were stored for its events."""
    writers = [open_store(database_url), open_store(database_url)]
    portfolios = ["alpha", "beta", None]
    batches, batch_size = 30, 7
    start = threading.Barrier(len(writers))
    returned: list[list[Event]] = [[] for _ in writers]
    errors: list[BaseException] = []

    def append_all(number: int) -> None:
        try:
            start.wait()
            for batch in range(batches):
                returned[number] += writers[number].append(
                    [
                        Event(
                            f"w{number}-{batch}-{k}",
                            "order.placed",
                            START,
                            "engine",
                            {"k": k},
                            portfolios[k % len(portfolios)],
                        )
                        for k in range(batch_size)
                    ]
                )
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=append_all, args=(n,)) for n in range(len(writers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    stored = writers[0].read_from(1)
    total = len(writers) * batches * batch_size
    assert [item.seq for item in stored] == list(range(1, total + 1))
    assert sorted(returned[0] + returned[1], key=lambda item: item.seq or 0) == stored
    for pid in ("alpha", "beta"):
        numbers = [item.portfolio_seq for item in stored if item.portfolio_id == pid]
        assert numbers == list(range(1, len(numbers) + 1)), pid
    # Each writer's batches are whole: a batch's seqs follow each other.
    for events in returned:
        for first in range(0, len(events), batch_size):
            seqs = [item.seq or 0 for item in events[first : first + batch_size]]
            assert seqs == list(range(seqs[0], seqs[0] + batch_size))


def test_appending_a_stored_event_id_again_is_a_no_op(
    database_url: str, open_store: OpenStore
) -> None:
    store = open_store(database_url)
    first = make_event(1)
    [stored] = store.append([first])

    assert store.append([first]) == []
    assert store.count() == 1

    # Mixed batch: only the new event is stored, with the next numbers (no gaps from the skip).
    [second] = store.append([first, make_event(2), make_event(2)])
    assert (second.event_id, second.seq, second.portfolio_seq) == ("evt-00002", 2, 2)
    assert store.count() == 2
    assert store.read_from(1) == [stored, second]


def test_a_failed_append_stores_nothing_and_numbers_nothing(
    database_url: str, open_store: OpenStore
) -> None:
    store = open_store(database_url)
    store.append([make_event(1)])

    def fail(_connection: object, _stored: list[Event]) -> None:
        raise RuntimeError("projection failed")

    with pytest.raises(RuntimeError, match="projection failed"):
        store.append([make_event(2), make_event(3)], also=fail)
    assert store.count() == 1

    [stored] = store.append([make_event(2)])
    assert stored.portfolio_seq == 2  # per-portfolio numbering stays gapless
    # So does the global seq, on PostgreSQL too: the store numbers under its write lock rather
    # than from the table's sequence, which a rolled-back insert would have used up.
    assert stored.seq == 2
    assert [item.seq for item in store.read_from(1)] == [1, stored.seq]


def test_money_written_as_decimal_strings_comes_back_exactly(
    database_url: str, open_store: OpenStore
) -> None:
    store = open_store(database_url)
    payload = {
        "price": "101.2500",
        "quantity": "0.1",
        "cash": "12345678901234567890.123456789012345678",
        "tiny": "-0.000000000000000001",
        "fills": [{"price": "99.99", "shares": 7}],
        "as_of": "2024-03-01T16:00:00+00:00",
        "name": "Société Générale ✓",
        "ratio": 0.5,
        "flag": True,
        "none": None,
    }
    store.append([make_event(1, payload=payload)])

    [event] = store.read_from(1)
    assert event.payload == payload
    assert Decimal(event.payload["cash"]) == Decimal("12345678901234567890.123456789012345678")


def test_a_payload_value_that_is_not_json_is_refused_and_nothing_is_stored(
    database_url: str, open_store: OpenStore
) -> None:
    store = open_store(database_url)
    with pytest.raises(ValueError, match=r"Decimal.*is not JSON"):
        store.append([make_event(1), make_event(2, payload={"price": Decimal("1.5")})])
    assert store.count() == 0


def test_timestamps_come_back_timezone_aware_utc(database_url: str, open_store: OpenStore) -> None:
    store = open_store(database_url)
    moments = [
        datetime(2024, 3, 1, 14, 30, 0, 123456, tzinfo=UTC),
        datetime(2024, 12, 31, 23, 59, 59, tzinfo=UTC),
        datetime(1999, 6, 30, 0, 0, tzinfo=UTC),
    ]
    store.append([make_event(i, timestamp=moment) for i, moment in enumerate(moments)])

    for event, moment in zip(store.read_from(1), moments, strict=True):
        assert event.timestamp.tzinfo is not None
        assert event.timestamp.utcoffset() == timedelta(0)
        assert event.timestamp == moment
        assert event.timestamp.isoformat() == moment.isoformat()
    assert store.first_seq_at(datetime(2024, 3, 1, tzinfo=UTC)) == 1
    assert store.first_seq_at(datetime(2025, 1, 1, tzinfo=UTC)) == 4


def test_timestamps_keep_their_instant_when_given_in_another_zone(
    database_url: str, open_store: OpenStore
) -> None:
    store = open_store(database_url)
    new_york_winter = timezone(timedelta(hours=-5))
    moment = datetime(2024, 3, 1, 10, 0, tzinfo=new_york_winter)
    store.append([make_event(1, timestamp=moment)])

    [event] = store.read_from(1)
    assert event.timestamp == moment  # the same instant: 15:00 UTC
    assert event.timestamp.utcoffset() == timedelta(0)
    assert store.first_seq_at(datetime(2024, 3, 1, 9, 59, tzinfo=new_york_winter)) == 1
    assert store.first_seq_at(datetime(2024, 3, 1, 10, 1, tzinfo=new_york_winter)) == 2


def test_timestamps_come_back_utc_whatever_the_session_time_zone(
    database_url: str, open_store: OpenStore
) -> None:
    url = database_url
    if backend(database_url) == "postgresql":
        # A server (or role) whose TimeZone setting is not UTC, as Debian's initdb picks the
        # machine's zone: the same as ALTER DATABASE .. SET timezone, for this connection only.
        url = (
            make_url(database_url)
            .update_query_dict({"options": "-c timezone=America/New_York"})
            .render_as_string(hide_password=False)
        )
    store = open_store(url)
    moment = datetime(2024, 3, 1, 14, 30, tzinfo=UTC)
    store.append([make_event(1, timestamp=moment)])

    [event] = store.read_from(1)
    assert event.timestamp == moment
    assert event.timestamp.utcoffset() == timedelta(0)
    assert store.first_seq_at(moment) == 1
    assert store.first_seq_at(moment + timedelta(microseconds=1)) == 2


def test_a_timestamp_without_a_time_zone_is_refused(
    database_url: str, open_store: OpenStore
) -> None:
    store = open_store(database_url)
    naive = make_event(1, timestamp=datetime(2024, 3, 1, 14, 30))

    with pytest.raises(ValueError, match="no time zone"):
        store.append([make_event(0), naive])
    assert store.count() == 0


def test_query_filters_newest_first(database_url: str, open_store: OpenStore) -> None:
    store = open_store(database_url)
    layout = [
        ("alpha", "order.placed"),
        ("beta", "order.placed"),
        ("alpha", "fill"),
        (None, "cycle.started"),
        ("alpha", "order.placed"),
        ("beta", "fill"),
        ("alpha", "fill"),
        ("alpha", "order.placed"),
    ]
    store.append(
        [
            make_event(i, portfolio_id=pid, event_type=kind)
            for i, (pid, kind) in enumerate(layout, start=1)
        ]
    )

    def seqs(**filters: object) -> list[int | None]:
        return [item.seq for item in store.query(**filters)]  # type: ignore[arg-type]

    assert seqs() == [8, 7, 6, 5, 4, 3, 2, 1]
    assert seqs(portfolio_id="alpha") == [8, 7, 5, 3, 1]
    assert seqs(event_type="fill") == [7, 6, 3]
    assert seqs(portfolio_id="alpha", event_type="order.placed") == [8, 5, 1]
    assert seqs(before_seq=6) == [5, 4, 3, 2, 1]
    assert seqs(portfolio_id="alpha", event_type="fill", before_seq=7) == [3]
    assert seqs(portfolio_id="alpha", limit=2) == [8, 7]
    assert seqs(portfolio_id="nobody") == []
    assert store.event_types() == ["cycle.started", "fill", "order.placed"]


def test_iter_from_pages_in_order(database_url: str, open_store: OpenStore) -> None:
    store = open_store(database_url)
    store.append(
        [
            make_event(
                i,
                portfolio_id="alpha" if i % 3 else "beta",
                event_type="fill" if i % 2 else "order.placed",
            )
            for i in range(1, 26)
        ]
    )

    assert [item.seq for item in store.iter_from(page_size=7)] == list(range(1, 26))
    assert [item.seq for item in store.iter_from(from_seq=5, page_size=5)] == list(range(5, 26))
    assert [item.seq for item in store.iter_from(from_seq=26, page_size=5)] == []
    beta = [item.seq for item in store.iter_from(page_size=2, portfolio_id="beta")]
    assert beta == [3, 6, 9, 12, 15, 18, 21, 24]
    fills = store.iter_from(page_size=4, event_types=frozenset({"fill"}))
    assert [item.seq for item in fills] == list(range(1, 26, 2))


def test_reopening_the_store_continues_the_numbering(
    database_url: str, open_store: OpenStore
) -> None:
    store = open_store(database_url)
    store.append([make_event(1, "alpha"), make_event(2, "beta"), make_event(3, "alpha")])
    store.close()

    reopened = open_store(database_url)
    stored = reopened.append([make_event(4, "alpha"), make_event(5, "beta"), make_event(6, None)])
    assert [item.seq for item in stored] == [4, 5, 6]
    assert [item.portfolio_seq for item in stored] == [3, 2, None]
    assert reopened.append([make_event(1, "alpha")]) == []  # still known after reopening


def test_an_older_stores_numbering_index_is_dropped_and_the_numbering_goes_on(
    database_url: str, open_store: OpenStore
) -> None:
    store = open_store(database_url)
    store.append([make_event(1, "alpha"), make_event(2, "beta"), make_event(3, "alpha")])
    with store.engine.begin() as connection:  # as a store written by an older version has it
        connection.exec_driver_sql(
            "CREATE INDEX ix_events_portfolio_numbering ON events (portfolio_id, portfolio_seq)"
        )
    store.close()

    reopened = open_store(database_url)
    names = {index["name"] for index in inspect(reopened.engine).get_indexes("events")}
    assert "ix_events_portfolio_numbering" not in names
    assert {"ix_events_portfolio_seq", "ix_events_type_seq"} <= names
    stored = reopened.append([make_event(4, "beta"), make_event(5, "alpha")])
    assert [item.portfolio_seq for item in stored] == [2, 3]


def test_each_portfolios_last_number_is_read_at_any_point_of_the_log(
    database_url: str, open_store: OpenStore
) -> None:
    store = open_store(database_url)
    portfolios = ["alpha", None, "beta", "alpha", "gamma", "beta", "alpha", None, "gamma"]
    stored = store.append([make_event(i, pid) for i, pid in enumerate(portfolios)])

    with store.engine.connect() as connection:
        for through in [None, *range(0, len(stored) + 1)]:
            expected: dict[str, int] = {}
            for item in stored:  # the numbers worked out the slow way, event by event
                if item.portfolio_id is not None and (through is None or item.seq <= through):
                    expected[item.portfolio_id] = item.portfolio_seq
            assert last_portfolio_seq(connection, through) == expected
        assert last_portfolio_seq(connection) == {"alpha": 3, "beta": 2, "gamma": 2}


def test_concurrent_readers_see_only_committed_batches(
    database_url: str, open_store: OpenStore
) -> None:
    writer_store = open_store(database_url)
    reader_store = open_store(database_url)  # its own engine and connections
    batches, batch_size = 50, 10
    done = threading.Event()
    counts: list[int] = []
    errors: list[BaseException] = []

    def write() -> None:
        try:
            for batch in range(batches):
                first = batch * batch_size
                writer_store.append([make_event(first + i) for i in range(batch_size)])
        except BaseException as error:
            errors.append(error)
        finally:
            done.set()

    def read() -> None:
        deadline = time.monotonic() + 120
        try:
            while time.monotonic() < deadline:
                finished = done.is_set()
                counts.append(reader_store.count())
                if finished:
                    return
            errors.append(TimeoutError("the writer did not finish within 120 s"))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=write), threading.Thread(target=read)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=150)
    assert not any(thread.is_alive() for thread in threads)

    assert errors == []
    torn = sorted({count for count in counts if count % batch_size})
    assert torn == [], f"the reader saw part of a batch: {torn}"
    assert counts == sorted(counts), "the count went backwards"
    assert counts[-1] == batches * batch_size
    assert len(set(counts)) >= 3, f"the reader never overlapped the writer: {counts}"
    assert [item.seq for item in reader_store.iter_from(page_size=64)] == list(range(1, 501))
