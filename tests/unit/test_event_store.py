"""The SQL event store: global and per-portfolio order, idempotent appends, exact payloads."""

import math
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from engine.events.store import SqlEventStore
from engine.model import Event


@pytest.fixture
def store(tmp_path: Path) -> SqlEventStore:
    return SqlEventStore.from_url(f"sqlite:///{tmp_path / 'events.db'}")


def _event(n: int, portfolio: str | None = "p1", kind: str = "OrderCreated") -> Event:
    return Event(
        event_id=f"e{n}",
        type=kind,
        timestamp=datetime(2024, 1, 2, 12, 0, n, tzinfo=UTC),
        actor="engine",
        payload={"n": n, "price_usd": "10.0001"},
        portfolio_id=portfolio,
        correlation_id="c1",
    )


def test_append_assigns_global_and_gapless_portfolio_sequences(store: SqlEventStore) -> None:
    stored = store.append([_event(1), _event(2, "p2"), _event(3), _event(4, None)])
    assert [e.seq for e in stored] == [1, 2, 3, 4]
    assert [(e.portfolio_id, e.portfolio_seq) for e in stored] == [
        ("p1", 1),
        ("p2", 1),
        ("p1", 2),
        (None, None),
    ]


def test_appending_the_same_event_id_again_is_a_no_op(store: SqlEventStore) -> None:
    store.append([_event(1), _event(2)])
    again = store.append([_event(2), _event(3), _event(3)])
    assert [e.event_id for e in again] == ["e3"]
    assert again[0].portfolio_seq == 3
    assert store.count() == 3


def test_portfolio_sequence_continues_after_reopening(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'events.db'}"
    SqlEventStore.from_url(url).append([_event(1), _event(2)])
    reopened = SqlEventStore.from_url(url)
    assert reopened.append([_event(3)])[0].portfolio_seq == 3


def test_a_payload_that_is_not_json_is_refused_and_nothing_is_stored(
    store: SqlEventStore,
) -> None:
    money = Event(
        "m1", "OrderFilled", datetime(2024, 1, 2, tzinfo=UTC), "engine", {"x": Decimal(1)}
    )
    with pytest.raises(ValueError, match=r"Decimal.*write money as str\(amount\)"):
        store.append([_event(1), money])
    assert store.count() == 0


def test_money_in_payloads_stays_exact_and_timestamps_keep_utc(store: SqlEventStore) -> None:
    store.append([_event(1)])
    (event,) = store.read_from(1)
    assert event.payload["price_usd"] == "10.0001"
    assert event.timestamp == datetime(2024, 1, 2, 12, 0, 1, tzinfo=UTC)


def test_query_filters_newest_first_and_pages_by_seq(store: SqlEventStore) -> None:
    store.append([_event(n, "p1" if n % 2 else "p2", "A" if n < 5 else "B") for n in range(1, 9)])
    assert [e.seq for e in store.query(portfolio_id="p1")] == [7, 5, 3, 1]
    assert [e.seq for e in store.query(event_type="B", limit=2)] == [8, 7]
    assert [e.seq for e in store.query(before_seq=4)] == [3, 2, 1]
    assert store.event_types() == ["A", "B"]


def test_an_over_long_field_is_refused_by_name_and_nothing_is_stored(store: SqlEventStore) -> None:
    too_long = Event("e" * 129, "OrderCreated", datetime(2024, 1, 2, tzinfo=UTC), "engine", {})
    with pytest.raises(ValueError, match="event_id has 129 characters"):
        store.append([_event(1), too_long])
    assert store.count() == 0


def _with_payload(n: int, payload: dict) -> Event:
    return Event(f"j{n}", "Measured", datetime(2024, 1, 2, tzinfo=UTC), "engine", payload)


def test_payloads_read_back_with_the_values_the_live_state_applied(store: SqlEventStore) -> None:
    """Whatever writes the JSON, a replay must fold the values the engine applied live: floats
    to the last bit, NaN as NaN (not null), numpy floats as floats, non-ASCII text, None,
    and integer keys as the strings JSON makes of them (as always)."""
    payloads = [
        {"weight": 0.1 + 0.2, "tiny": -2.6e-05, "big": 1e16, "name": "Société Générale"},
        {"ratio": float("nan"), "missing": None},
        {"beta": np.float64(1.0000000000000002), "shares": 2**70},
        {1: "first", "nested": {"list": [1, 2.5, None, True]}},
    ]
    store.append([_with_payload(n, payload) for n, payload in enumerate(payloads)])

    read = [event.payload for event in store.read_from(1)]

    assert read[0] == payloads[0]
    assert math.isnan(read[1]["ratio"]) and read[1]["missing"] is None
    assert read[2] == {"beta": 1.0000000000000002, "shares": 2**70}
    assert type(read[2]["beta"]) is float
    assert read[3] == {"1": "first", "nested": {"list": [1, 2.5, None, True]}}


@pytest.mark.parametrize(
    "value", [datetime(2024, 1, 2, tzinfo=UTC), Decimal("1.5"), {1, 2}], ids=type
)
def test_values_that_are_not_json_are_refused_by_name(store: SqlEventStore, value: object) -> None:
    with pytest.raises(ValueError, match=f"of type {type(value).__name__} is not JSON"):
        store.append([_with_payload(1, {"when": value})])
    assert store.count() == 0


def test_appends_leave_the_write_ahead_log_to_the_checkpoint_between_cycles(
    store: SqlEventStore,
) -> None:
    # A commit never copies the log into the database by itself (that landed inside cycles);
    # checkpoint() does, and then nothing is left for the next one.
    for start in range(0, 30_000, 3_000):
        batch = [_event(n % 60) for n in range(start, start + 3_000)]
        store.append([e._replace(event_id=f"w{start + k}") for k, e in enumerate(batch)])
    copied = store.checkpoint()
    assert copied > 1_000  # SQLite's own threshold would have checkpointed inside the appends
    assert store.checkpoint() == copied  # the log kept, fully copied: nothing new to copy
    assert store.count() == 30_000
