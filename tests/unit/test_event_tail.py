"""The dashboard's tail of the event store answers every question exactly as the store does,
whether the answer lies in memory, in the store below the tail, in both, or among events the tail
has not received yet."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import product
from pathlib import Path

import pytest

from engine.events.bus import EmbeddedEventBus
from engine.events.store import SqlEventStore
from engine.model import Event
from engine.views.tail import TailedEventLog

WHEN = datetime(2024, 3, 1, 21, 0, tzinfo=UTC)
KINDS = ("OrderCreated", "OrderFilled", "CycleCompleted", "RiskLimitSet")


def _event(n: int) -> Event:
    # RiskLimitSet rare (every 13th), portfolio-less every 5th: filters that reach below the tail.
    kind = "RiskLimitSet" if n % 13 == 0 else KINDS[n % 3]
    return Event(
        event_id=f"e{n:04d}",
        type=kind,
        timestamp=WHEN + timedelta(minutes=n),
        actor="engine",
        payload={"n": n},
        portfolio_id=None if n % 5 == 0 else ("alpha", "beta")[n % 2],
    )


def _seqs(events: list[Event]) -> list[int | None]:
    return [event.seq for event in events]


def test_every_answer_is_the_stores(tmp_path: Path) -> None:
    store = SqlEventStore.from_url(f"sqlite:///{tmp_path / 'events.db'}")
    store.append([_event(n) for n in range(1, 41)])
    bus = EmbeddedEventBus(store)
    tail = TailedEventLog.following(store, bus, capacity=25)
    for start in range(41, 121, 10):
        bus.publish([_event(n) for n in range(start, start + 10)])
    assert tail.subscription is not None and tail.subscription.wait_until_delivered(120, 30)

    checked = 0
    for portfolio, kind, before, limit in product(
        (None, "alpha", "beta"),
        (None, *KINDS),
        (None, 1, 2, 60, 96, 97, 110, 121, 500),
        (1, 3, 10, 30, 200),
    ):
        assert _seqs(tail.query(portfolio, kind, before, limit)) == _seqs(
            store.query(portfolio, kind, before, limit)
        ), (portfolio, kind, before, limit)
        checked += 1
    assert checked == 3 * 5 * 9 * 5
    assert tail.event_types() == store.event_types()
    bus.close()
    store.close()


def test_a_tail_behind_the_store_sends_newer_questions_to_the_store(tmp_path: Path) -> None:
    store = SqlEventStore.from_url(f"sqlite:///{tmp_path / 'events.db'}")
    tail = TailedEventLog(store, capacity=100)  # fed by hand: nothing delivers to it
    stored = store.append([_event(n) for n in range(1, 31)])
    tail.extend(stored[:20])
    assert tail.newest == 20
    # The engine's snapshot already counts event 30: a page anchored there is the store's.
    assert _seqs(tail.query(None, None, 31, 5)) == [30, 29, 28, 27, 26]
    # Below what it holds, the tail answers by itself, and a repeat delivery changes nothing.
    tail.extend(stored[:20])
    assert _seqs(tail.query(None, None, 21, 3)) == [20, 19, 18]
    assert _seqs(tail.query(None, None, None, 2)) == [20, 19]
    with pytest.raises(ValueError, match="capacity: must be at least 1"):
        TailedEventLog(store, capacity=0)
    store.close()
