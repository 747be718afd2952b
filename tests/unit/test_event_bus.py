"""The embedded bus: ordered, filtered, at-least-once delivery that never waits on a subscriber."""

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from engine.events.bus import EmbeddedEventBus
from engine.events.store import SqlEventStore
from engine.model import Event

T0 = datetime(2024, 1, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
def bus(tmp_path: Path):
    bus = EmbeddedEventBus(SqlEventStore.from_url(f"sqlite:///{tmp_path / 'events.db'}"))
    yield bus
    bus.close()


def _events(start: int, count: int, portfolio: str = "p1", kind: str = "OrderCreated"):
    return [
        Event(
            event_id=f"e{n}",
            type=kind,
            timestamp=T0 + timedelta(seconds=n),
            actor="engine",
            payload={"n": n},
            portfolio_id=portfolio if n % 3 else "p2",
        )
        for n in range(start, start + count)
    ]


def test_subscribers_get_matching_events_in_order(bus: EmbeddedEventBus) -> None:
    everything: list[int] = []
    only_p2: list[int] = []
    all_sub = bus.subscribe(lambda e: everything.append(e.seq))
    p2_sub = bus.subscribe(lambda e: only_p2.append(e.seq), portfolio_id="p2")
    stored = bus.publish(_events(1, 30))
    assert all_sub.wait_until_delivered(stored[-1].seq, 10)
    assert p2_sub.wait_until_delivered(stored[-1].seq, 10)
    assert everything == list(range(1, 31))
    assert only_p2 == [e.seq for e in stored if e.portfolio_id == "p2"]


def test_a_blocked_subscriber_never_blocks_publishing_and_catches_up_from_the_store(
    bus: EmbeddedEventBus,
) -> None:
    release = threading.Event()
    seen: list[int] = []

    def slow(event: Event) -> None:
        release.wait(30)
        seen.append(event.seq)

    subscription = bus.subscribe(slow, queue_size=5, name="slow")
    publisher = threading.Thread(
        target=lambda: [bus.publish(_events(n, 10)) for n in range(1, 200, 10)]
    )
    publisher.start()
    publisher.join(20)
    assert not publisher.is_alive(), "publishing waited on a blocked subscriber"
    assert subscription.dropped > 0
    release.set()
    assert subscription.wait_until_delivered(bus.store.last_seq(), 20)
    assert seen == list(range(1, 201)), "every event once, in order, despite the overflow"
    assert subscription.catch_ups >= 2


def test_a_failing_handler_is_retried_counted_and_the_stream_goes_on(
    bus: EmbeddedEventBus,
) -> None:
    calls: list[int] = []

    def flaky(event: Event) -> None:
        calls.append(event.seq)
        if event.seq == 2:
            raise RuntimeError("downstream outage")

    subscription = bus.subscribe(flaky)
    stored = bus.publish(_events(1, 4))
    assert subscription.wait_until_delivered(stored[-1].seq, 10)
    assert calls == [1, 2, 2, 2, 3, 4]
    assert subscription.handler_failures == 1


def test_subscribing_from_a_sequence_replays_then_follows_live(bus: EmbeddedEventBus) -> None:
    bus.publish(_events(1, 10))
    seen: list[int] = []
    subscription = bus.subscribe(lambda e: seen.append(e.seq), from_seq=4)
    stored = bus.publish(_events(11, 5))
    assert subscription.wait_until_delivered(stored[-1].seq, 10)
    assert seen == list(range(4, 16))


def test_replay_from_a_time_or_a_sequence(bus: EmbeddedEventBus) -> None:
    bus.publish(_events(1, 10))
    assert [e.seq for e in bus.replay(from_time=T0 + timedelta(seconds=7))] == [7, 8, 9, 10]
    assert [e.seq for e in bus.replay(from_seq=9)] == [9, 10]
    p2 = [e.payload["n"] for e in bus.replay(portfolio_id="p2")]
    assert p2 == [3, 6, 9]
