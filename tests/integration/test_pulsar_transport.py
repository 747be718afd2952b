"""The Pulsar transport against a real standalone broker (``make test`` starts it).

Each test uses its own deployment name, so its topics are its own.
"""

import json
import os
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pulsar
import pytest
from sqlalchemy import update

from engine.assembly import EngineParts, build_engine
from engine.config import AppConfig
from engine.events.pulsar_bus import (
    FAMILIES,
    WIRE_SCHEMA,
    OutboxRelay,
    PortfolioSequencer,
    PulsarEventBus,
    PulsarSettings,
    PulsarSubscriber,
    from_record,
    outbox_positions_table,
    read_events,
    tail_events,
)
from engine.events.store import SqlEventStore
from engine.model import Event
from engine.state.engine_state import EngineState
from tests.support import eventually, simulated_config

pytestmark = pytest.mark.pulsar
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def pulsar_url() -> str:
    url = os.environ.get("PCOORD_TEST_PULSAR_URL")
    if not url:
        pytest.fail(
            "PCOORD_TEST_PULSAR_URL is not set. The Pulsar broker is not running: `make test` "
            "starts it, or run `bash scripts/pulsar.sh start` and export "
            "PCOORD_TEST_PULSAR_URL=$(bash scripts/pulsar.sh url)"
        )
    return url


@pytest.fixture
def settings(pulsar_url: str) -> PulsarSettings:
    return PulsarSettings(pulsar_url, deployment=f"t{uuid.uuid4().hex[:10]}")


def _pulsar_config(settings: PulsarSettings, days: int = 120) -> AppConfig:
    config = simulated_config(days=days)
    events = config.events.model_copy(
        update={
            "bus": "pulsar",
            "pulsar_url": settings.service_url,
            "deployment": settings.deployment,
        }
    )
    return config.model_copy(update={"events": events})


def _replay(database_url: str, config: AppConfig) -> EngineParts:
    parts = build_engine(config, database_url)
    parts.coordinator.start({"mode": "test"})
    for tick in parts.coordinator.resume(parts.feed):
        parts.coordinator.run_cycle(tick)
    return parts


def _ledger(events: list[Event]) -> dict:
    state = EngineState()
    for event in sorted(events, key=lambda e: e.seq):
        state.apply(event)
    return {"ledger": state.ledger.to_dict(), "pending": state.to_dict()["pending_orders"]}


def test_every_committed_event_reaches_pulsar_once_and_a_replay_rebuilds_the_ledger(
    tmp_path: Path, settings: PulsarSettings
) -> None:
    parts = _replay(f"sqlite:///{tmp_path / 'e.db'}", _pulsar_config(settings))
    assert isinstance(parts.bus, PulsarEventBus)
    assert parts.bus.flush(timeout_s=60), parts.bus.health()
    assert parts.bus.health().relay_lag_events == 0
    parts.bus.close()

    from_pulsar = list(read_events(settings))
    from_store = list(parts.store.iter_from(1))
    assert sorted(e.seq for e in from_pulsar) == [e.seq for e in from_store]
    assert {e.seq: e for e in from_pulsar} == {e.seq: e for e in from_store}
    assert _ledger(from_pulsar) == _ledger(from_store)


def test_a_republished_event_is_dropped_by_the_broker(
    tmp_path: Path, settings: PulsarSettings
) -> None:
    store = SqlEventStore.from_url(f"sqlite:///{tmp_path / 'e.db'}")
    stored = store.append(
        [
            Event(f"e{n}", "OrderCreated", datetime(2024, 1, 2, tzinfo=UTC), "t", {"n": n}, "p1")
            for n in range(50)
        ]
    )
    relay = OutboxRelay(store, settings)
    relay.start()
    assert relay.wait_until_published(stored[-1].seq, 30)
    relay.stop()
    # A crash after the broker acknowledged but before the position was saved: all sent again.
    with store.engine.begin() as connection:
        connection.execute(update(outbox_positions_table).values(last_seq=0))
    again = OutboxRelay(store, settings)
    assert again.published_seq == 0
    again.start()
    assert again.wait_until_published(stored[-1].seq, 30)
    again.stop()
    assert again.sent == 50
    assert [e.seq for e in read_events(settings)] == [e.seq for e in stored]


def _admin_url(settings: PulsarSettings, family: str, path: str) -> str:
    """The broker's admin REST address of ``path`` under the topic of ``family``."""
    admin = os.environ.get("PCOORD_TEST_PULSAR_ADMIN_URL", "http://127.0.0.1:8080")
    topic = settings.topic(family).removeprefix("persistent://")
    return f"{admin}/admin/v2/persistent/{topic}/{path}"


def _readers_attached(settings: PulsarSettings) -> bool:
    """True once every family's topic has a reader connected: from then on, a message published
    to it reaches a reader that started at the latest message."""
    for family in FAMILIES:
        try:
            with urllib.request.urlopen(_admin_url(settings, family, "stats"), timeout=10) as reply:
                subscriptions = json.loads(reply.read())["subscriptions"]
        except urllib.error.HTTPError as error:
            if error.code == 404:  # the topic is not there yet: the reader creates it
                return False
            raise
        if not any(
            name.startswith("reader-") and sub["consumers"] for name, sub in subscriptions.items()
        ):
            return False
    return True


def _next_millisecond() -> datetime:
    """Wait until the clock reaches a later millisecond than now (publish times are whole
    milliseconds); that moment. Whatever was published before is then strictly earlier."""
    start = int(datetime.now(UTC).timestamp() * 1000)
    while int((now := datetime.now(UTC)).timestamp() * 1000) <= start:
        time.sleep(0.0005)
    return now


def _partition_topic(settings: PulsarSettings, family: str, partitions: int) -> None:
    request = urllib.request.Request(
        _admin_url(settings, family, "partitions"),
        data=json.dumps(partitions).encode(),
        method="PUT",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status in (200, 204)


def test_each_portfolio_keeps_its_order_with_ten_publishing_at_once_on_a_partitioned_topic(
    tmp_path: Path, settings: PulsarSettings
) -> None:
    _partition_topic(settings, "portfolio", 4)
    store = SqlEventStore.from_url(f"sqlite:///{tmp_path / 'e.db'}")
    client = pulsar.Client(settings.service_url)
    consumer = client.subscribe(
        settings.topic("portfolio"),
        "order-check",
        consumer_type=pulsar.ConsumerType.Failover,
        schema=WIRE_SCHEMA,
        initial_position=pulsar.InitialPosition.Earliest,
    )
    relay = OutboxRelay(store, settings)
    relay.start()

    def trade(portfolio: str) -> None:
        for batch in range(20):
            store.append(
                [
                    Event(
                        f"{portfolio}-{batch}-{k}",
                        "OrderCreated",
                        datetime.now(UTC),
                        "t",
                        {"batch": batch, "k": k},
                        portfolio,
                    )
                    for k in range(10)
                ]
            )
            relay.notify()

    threads = [threading.Thread(target=trade, args=(f"p{n}",)) for n in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    gaps: list[tuple[str, int, int]] = []
    sequencer = PortfolioSequencer(lambda *gap: gaps.append(gap))
    received: dict[str, list[int]] = defaultdict(list)
    while sum(len(v) for v in received.values()) < 2000:
        message = consumer.receive(timeout_millis=20_000)
        event = from_record(message.value())
        assert sequencer.accept(event)
        received[event.portfolio_id].append(event.portfolio_seq)
        consumer.acknowledge(message)
    relay.stop()
    client.close()
    assert gaps == [] and sequencer.duplicates == 0
    assert {pid: seqs == list(range(1, 201)) for pid, seqs in received.items()} == {
        f"p{n}": True for n in range(10)
    }


def test_a_stalled_consumer_does_not_hold_back_the_engine_or_the_relay(
    tmp_path: Path, settings: PulsarSettings
) -> None:
    client = pulsar.Client(settings.service_url)
    stalled = client.subscribe(  # subscribes, never receives nor acknowledges
        settings.topic("portfolio"),
        "stalled",
        schema=WIRE_SCHEMA,
        receiver_queue_size=1,
    )
    parts = _replay(f"sqlite:///{tmp_path / 'e.db'}", _pulsar_config(settings, days=150))
    assert parts.coordinator.cycles_completed == 150
    assert parts.bus.flush(timeout_s=60)
    parts.bus.close()
    stalled.close()
    client.close()


def test_the_broker_killed_and_restarted_mid_replay_loses_and_duplicates_nothing(
    tmp_path: Path, settings: PulsarSettings
) -> None:
    parts = build_engine(_pulsar_config(settings, days=400), f"sqlite:///{tmp_path / 'e.db'}")
    coordinator = parts.coordinator
    coordinator.start({"mode": "test"})
    ticks = coordinator.resume(parts.feed)
    for _ in range(100):
        coordinator.run_cycle(next(ticks))
    subprocess.run(["bash", "scripts/pulsar.sh", "kill"], cwd=REPO, check=True)
    for _ in range(150):  # the engine trades on while the broker is down
        coordinator.run_cycle(next(ticks))
    assert parts.bus.health().relay_lag_events > 0
    subprocess.run(["bash", "scripts/pulsar.sh", "start"], cwd=REPO, check=True, timeout=240)
    for tick in ticks:
        coordinator.run_cycle(tick)
    assert coordinator.cycles_completed == 400
    started = time.monotonic()
    assert parts.bus.flush(timeout_s=120), parts.bus.health()
    print(f"relay caught up {time.monotonic() - started:.1f} s after the broker came back")
    parts.bus.close()
    from_pulsar = list(read_events(settings))
    from_store = list(parts.store.iter_from(1))
    assert sorted(e.seq for e in from_pulsar) == [e.seq for e in from_store]
    assert _ledger(from_pulsar) == _ledger(from_store)


def _append_portfolio_events(store: SqlEventStore, portfolios: int, per_portfolio: int) -> None:
    store.append(
        [
            Event(f"p{p}-{n}", "OrderCreated", datetime.now(UTC), "t", {"n": n}, f"p{p}")
            for n in range(per_portfolio)
            for p in range(portfolios)
        ]
    )


def test_key_shared_workers_split_the_portfolios_and_each_portfolio_stays_in_order(
    tmp_path: Path, settings: PulsarSettings
) -> None:
    arrivals: list[tuple[str, str, int]] = []  # (worker, portfolio, portfolio_seq) as handled
    lock = threading.Lock()

    def worker(name: str) -> Callable[[Event], None]:
        def handle(event: Event) -> None:
            with lock:
                arrivals.append((name, event.portfolio_id, event.portfolio_seq))

        return handle

    workers = [
        PulsarSubscriber(
            settings, "workers", worker(name), mode="key_shared", families=("portfolio",)
        )
        for name in ("a", "b")
    ]
    store = SqlEventStore.from_url(f"sqlite:///{tmp_path / 'e.db'}")
    _append_portfolio_events(store, portfolios=10, per_portfolio=30)
    relay = OutboxRelay(store, settings)
    relay.start()
    eventually(lambda: len(arrivals) >= 300, timeout_s=30)
    relay.stop()
    for subscriber in workers:
        subscriber.close()
    assert len(arrivals) == 300
    for portfolio in {p for _, p, _ in arrivals}:
        handled = [(w, s) for w, p, s in arrivals if p == portfolio]
        assert [s for _, s in handled] == list(range(1, 31)), portfolio
        assert len({w for w, _ in handled}) == 1, f"{portfolio} was split between workers"
    assert {name for name, _, _ in arrivals} == {"a", "b"}, "one worker got every portfolio"


def test_tail_follows_new_events_of_one_portfolio(tmp_path: Path, settings: PulsarSettings) -> None:
    store = SqlEventStore.from_url(f"sqlite:///{tmp_path / 'e.db'}")
    relay = OutboxRelay(store, settings)
    relay.start()
    _append_portfolio_events(store, portfolios=2, per_portfolio=5)  # before the tail starts
    relay.notify()
    assert relay.wait_until_published(10, 30)
    stop = threading.Event()
    tailed: list[Event] = []

    def follow() -> None:
        for event in tail_events(settings, portfolio_id="p1", stop=stop):
            tailed.append(event)

    follower = threading.Thread(target=follow)
    follower.start()
    try:
        # The readers start at the latest message: publish once the broker shows them attached.
        assert eventually(lambda: _readers_attached(settings), 30), "the readers never attached"
        store.append(
            [
                Event(f"late-{n}", "OrderCreated", datetime.now(UTC), "t", {}, f"p{n % 2}")
                for n in range(6)
            ]
        )
        relay.notify()
        eventually(lambda: len(tailed) >= 3, 20)
    finally:
        stop.set()
        follower.join(10)
        relay.stop()
    assert [e.event_id for e in tailed] == ["late-1", "late-3", "late-5"]


def test_a_reader_can_start_from_a_publish_time(tmp_path: Path, settings: PulsarSettings) -> None:
    store = SqlEventStore.from_url(f"sqlite:///{tmp_path / 'e.db'}")
    relay = OutboxRelay(store, settings)
    relay.start()
    _append_portfolio_events(store, portfolios=2, per_portfolio=5)
    relay.notify()
    assert relay.wait_until_published(10, 30)
    boundary = _next_millisecond()  # after every publish time of the first batch
    _next_millisecond()  # and before every one of the second
    store.append(
        [Event(f"late-{n}", "OrderCreated", datetime.now(UTC), "t", {}, "p0") for n in range(3)]
    )
    relay.notify()
    assert relay.wait_until_published(13, 30)
    relay.stop()
    assert [e.event_id for e in read_events(settings, since=boundary)] == [
        "late-0",
        "late-1",
        "late-2",
    ]
