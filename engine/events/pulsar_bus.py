"""Apache Pulsar transport for the event log: topics, the wire schema, the outbox relay, readers.

The SQL event store stays the system of record. ``OutboxRelay`` publishes what the store has
committed, in sequence order, and records the last sequence the broker acknowledged in the same
database; after a crash or a broker outage it resumes from there. What it sends again is dropped by
the broker's deduplication, because every message carries ``sequence_id`` = the event's global
sequence under a stable producer name. The engine never waits on the broker: the relay runs on its
own thread and only reads the store.

Topics: one per event family, ``persistent://{tenant}/{namespace}/events-{family}``. Every event
that belongs to a portfolio is in the ``portfolio`` family, keyed by the portfolio id, so Pulsar
keeps each portfolio's events in order (a key always maps to one partition of a partitioned topic)
and a consumer can check the per-portfolio sequence for gaps. Events of the engine as a whole go to
``cycles`` (cycle results), ``audit`` (commands from people) and ``engine`` (start, finish).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import pulsar
from pulsar.schema import Integer, JsonSchema, Long, Record, String
from sqlalchemy import BigInteger, Column, Table, select
from sqlalchemy import String as SqlString

from engine.events.bus import EmbeddedEventBus, InTransaction
from engine.events.store import SqlEventStore, metadata
from engine.model import Event
from engine.snapshot import TransportView

log = logging.getLogger(__name__)

WIRE_SCHEMA_VERSION = 1
PORTFOLIO_FAMILY = "portfolio"
FAMILY_OF_TYPE = {
    "CycleCompleted": "cycles",
    "CycleFailed": "cycles",
    "CommandApplied": "audit",
    "EngineStarted": "engine",
    "EngineFinished": "engine",
}
FAMILIES = (PORTFOLIO_FAMILY, "cycles", "audit", "engine")
ENGINE_KEY = "_engine"

outbox_positions_table = Table(
    "outbox_positions",
    metadata,
    Column("relay", SqlString(64), primary_key=True),
    Column("last_seq", BigInteger, nullable=False),
)


class EventRecord(Record):
    """The wire form of an ``Event`` (JSON schema, registered with the broker)."""

    schema_version = Integer(required=True)
    seq = Long(required=True)
    portfolio_seq = Long()
    event_id = String(required=True)
    type = String(required=True)
    timestamp = String(required=True)
    actor = String(required=True)
    portfolio_id = String()
    correlation_id = String()
    version = Integer(required=True)
    payload_json = String(required=True)


WIRE_SCHEMA = JsonSchema(EventRecord)


def family_of(event: Event) -> str:
    if event.portfolio_id is not None:
        return PORTFOLIO_FAMILY
    return FAMILY_OF_TYPE.get(event.type, "engine")


def to_record(event: Event) -> EventRecord:
    return EventRecord(
        schema_version=WIRE_SCHEMA_VERSION,
        seq=int(event.seq or 0),
        portfolio_seq=event.portfolio_seq,
        event_id=event.event_id,
        type=event.type,
        timestamp=event.timestamp.isoformat(),
        actor=event.actor,
        portfolio_id=event.portfolio_id,
        correlation_id=event.correlation_id,
        version=event.version,
        payload_json=json.dumps(event.payload, separators=(",", ":")),
    )


def from_record(record: EventRecord) -> Event:
    if record.schema_version != WIRE_SCHEMA_VERSION:
        raise ValueError(
            f"event {record.event_id}: wire schema_version {record.schema_version} is not "
            f"{WIRE_SCHEMA_VERSION} (upgrade this consumer)"
        )
    return Event(
        event_id=record.event_id,
        type=record.type,
        timestamp=datetime.fromisoformat(record.timestamp).astimezone(UTC),
        actor=record.actor,
        payload=json.loads(record.payload_json),
        portfolio_id=record.portfolio_id,
        correlation_id=record.correlation_id,
        version=record.version,
        seq=record.seq,
        portfolio_seq=record.portfolio_seq,
    )


@dataclass(frozen=True, slots=True)
class PulsarSettings:
    service_url: str = "pulsar://127.0.0.1:6650"
    tenant: str = "public"
    namespace: str = "default"
    deployment: str = "pcoord"

    def topic(self, family: str) -> str:
        return f"persistent://{self.tenant}/{self.namespace}/{self.deployment}-events-{family}"

    def topics(self) -> list[str]:
        return [self.topic(family) for family in FAMILIES]


class OutboxRelay:
    """Publishes committed events from the store to Pulsar, in order, exactly once on the broker.

    Runs on its own thread. ``notify()`` (called after each append) wakes it; it also polls, so
    events appended by another process are relayed too. On any broker error it backs off and
    resends from the last acknowledged sequence; the broker drops the duplicates.
    """

    def __init__(
        self,
        store: SqlEventStore,
        settings: PulsarSettings,
        name: str = "pulsar",
        batch_size: int = 2_000,
        poll_interval_s: float = 0.2,
    ) -> None:
        self.store = store
        self.settings = settings
        self.name = name
        self.batch_size = batch_size
        self.poll_interval_s = poll_interval_s
        metadata.create_all(store.engine, tables=[outbox_positions_table])
        self.published_seq = self._load_position()
        self.sent = 0
        self.failures = 0
        self.last_error: str | None = None
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._client: pulsar.Client | None = None
        self._producers: dict[str, pulsar.Producer] = {}
        self._thread = threading.Thread(target=self._run, name=f"relay-{name}", daemon=True)

    # -- position, kept in the same database as the events ------------------------------------
    def _load_position(self) -> int:
        with self.store.engine.connect() as connection:
            value = connection.execute(
                select(outbox_positions_table.c.last_seq).where(
                    outbox_positions_table.c.relay == self.name
                )
            ).scalar()
        return int(value or 0)

    def _save_position(self, last_seq: int) -> None:
        with self.store.engine.begin() as connection:
            updated = connection.execute(
                outbox_positions_table.update()
                .where(outbox_positions_table.c.relay == self.name)
                .values(last_seq=last_seq)
            ).rowcount
            if not updated:
                connection.execute(
                    outbox_positions_table.insert().values(relay=self.name, last_seq=last_seq)
                )
        self.published_seq = last_seq

    @property
    def lag(self) -> int:
        """Events committed to the store and not yet acknowledged by the broker."""
        return max(0, self.store.last_seq() - self.published_seq)

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def notify(self) -> None:
        self._wake.set()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stopped.set()
        self._wake.set()
        self._thread.join(timeout_s)
        self._close_client()

    def wait_until_published(self, seq: int, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while self.published_seq < seq:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    def _producer(self, family: str) -> pulsar.Producer:
        if self._client is None:
            self._client = pulsar.Client(
                self.settings.service_url,
                operation_timeout_seconds=10,
                connection_timeout_ms=5_000,
                logger=_quiet_pulsar_logger(),
            )
        producer = self._producers.get(family)
        if producer is None:
            producer = self._client.create_producer(
                self.settings.topic(family),
                # Stable per store and family: the broker keys deduplication on the name, and a
                # new store (whose sequence restarts at 1) must not look like a resend.
                producer_name=f"{self.settings.deployment}-{self.store.store_id}-{family}",
                schema=WIRE_SCHEMA,
                # Batching only where every message has the same key: a batch goes to a Key_Shared
                # consumer by its first key and is judged by deduplication by its sequence range,
                # so on the portfolio topic mixed-key batches would break per-portfolio order and
                # key-based ones (interleaved ranges) could have a resend dropped.
                batching_enabled=family != PORTFOLIO_FAMILY,
                batching_max_publish_delay_ms=5,
                compression_type=pulsar.CompressionType.LZ4,
                # Never time a message out: the client resends pending messages in order after
                # every reconnect, so what the broker holds is always a prefix of what was sent
                # and deduplication only ever drops true repeats. A timed-out message could leave
                # a hole that a later resend would be dropped into.
                send_timeout_millis=0,
                block_if_queue_full=True,
                max_pending_messages=10_000,
            )
            self._producers[family] = producer
        return producer

    def _close_client(self, timeout_s: float = 5.0) -> None:
        """Close the client without hanging: with the broker down, close waits for pending
        messages that may never be acknowledged; after ``timeout_s`` it is left to finish alone."""
        client, self._client, self._producers = self._client, None, {}
        if client is None:
            return

        def close() -> None:
            try:
                client.close()
            except Exception:  # a broken connection cannot be closed cleanly; it is gone anyway
                log.debug("closing the Pulsar client failed", exc_info=True)

        closer = threading.Thread(target=close, name=f"relay-{self.name}-close", daemon=True)
        closer.start()
        closer.join(timeout_s)
        if closer.is_alive():
            log.warning("relay %s: the Pulsar client did not close in %.0f s", self.name, timeout_s)

    def _publish_batch(self, events: list[Event]) -> None:
        """Send ``events`` and wait for every acknowledgement; raise on the first failure."""
        done = threading.Event()
        outcome: dict[str, object] = {"pending": len(events), "error": None}
        lock = threading.Lock()

        def acknowledged(result: pulsar.Result, _message_id: object) -> None:
            with lock:
                if result != pulsar.Result.Ok and outcome["error"] is None:
                    outcome["error"] = result
                outcome["pending"] = int(outcome["pending"]) - 1  # type: ignore[arg-type]
                if outcome["pending"] == 0:
                    done.set()

        for event in events:
            self._producer(family_of(event)).send_async(
                to_record(event),
                acknowledged,
                partition_key=event.portfolio_id or ENGINE_KEY,
                sequence_id=int(event.seq or 0),
                event_timestamp=int(event.timestamp.timestamp() * 1000),
                properties={"type": event.type},
            )
        for producer in self._producers.values():
            producer.flush()
        waited_s = 0
        while not done.wait(1.0):
            waited_s += 1
            if self._stopped.is_set():
                raise InterruptedError("relay stopped while waiting for the broker")
            if waited_s % 10 == 0:
                self.last_error = f"waiting {waited_s} s for the broker to acknowledge"
                log.warning(
                    "relay %s: %s (%s messages)", self.name, self.last_error, outcome["pending"]
                )
        if outcome["error"] is not None:
            raise ConnectionError(f"broker refused a message: {outcome['error']}")

    def _run(self) -> None:
        backoff_s = 0.5
        while not self._stopped.is_set():
            try:
                events = self.store.read_from(self.published_seq + 1, self.batch_size)
                if not events:
                    self._wake.wait(self.poll_interval_s)
                    self._wake.clear()
                    continue
                self._publish_batch(events)
                self._save_position(int(events[-1].seq or 0))
                self.sent += len(events)
                backoff_s = 0.5
                self.last_error = None
            except InterruptedError:
                return
            except Exception as exc:
                self.failures += 1
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning(
                    "relay %s: publishing after seq %d failed (%s); retrying in %.1f s",
                    self.name,
                    self.published_seq,
                    self.last_error,
                    backoff_s,
                )
                if isinstance(exc, ConnectionError):
                    # The broker refused (not merely delayed) a message: start over with new
                    # producers; resends of what it did store are dropped as duplicates.
                    self._close_client()
                self._stopped.wait(backoff_s)
                backoff_s = min(backoff_s * 2, 5.0)


def _quiet_pulsar_logger() -> logging.Logger:
    """The C++ client logs every reconnect attempt at INFO; ours show the outcome instead."""
    logger = logging.getLogger("pulsar.client")
    logger.setLevel(logging.WARNING)
    return logger


def _reader(
    client: pulsar.Client, topic: str, start: pulsar.MessageId, attempts: int = 4
) -> pulsar.Reader:
    """Create a reader, retrying a time-out: after a broker crash its topics are not served until
    the dead broker's ownership expires in the metadata store (about 30 s)."""
    for attempt in range(1, attempts):
        try:
            return client.create_reader(topic, start, schema=WIRE_SCHEMA)
        except pulsar.Timeout:
            log.warning(
                "reader on %s timed out (attempt %d of %d); retrying", topic, attempt, attempts
            )
    return client.create_reader(topic, start, schema=WIRE_SCHEMA)


def read_events(
    settings: PulsarSettings,
    families: tuple[str, ...] = FAMILIES,
    start: pulsar.MessageId | None = None,
    since: datetime | None = None,
    idle_timeout_ms: int = 2_000,
) -> Iterator[Event]:
    """Every event stored in Pulsar for ``families``, from the earliest (or ``start``, or
    ``since`` a publish time), per family in topic order; ends when the topics are drained."""
    client = pulsar.Client(settings.service_url, logger=_quiet_pulsar_logger())
    try:
        for family in families:
            reader = _reader(client, settings.topic(family), start or pulsar.MessageId.earliest)
            try:
                if since is not None:
                    reader.seek(int(since.timestamp() * 1000))
                while reader.has_message_available():
                    message = reader.read_next(idle_timeout_ms)
                    yield from_record(message.value())
            finally:
                reader.close()
    finally:
        client.close()


class PortfolioSequencer:
    """Checks a consumer's stream per portfolio: events must arrive with portfolio_seq 1, 2, 3...

    A repeat (seq already seen) is dropped: at-least-once delivery made idempotent. A gap is
    reported to ``on_gap`` with the portfolio and the missing range, so the consumer can fetch it
    (from the store or a reader) rather than silently apply a later event first.
    """

    def __init__(self, on_gap: Callable[[str, int, int], None] | None = None) -> None:
        self.next_expected: dict[str, int] = {}
        self.duplicates = 0
        self.gaps = 0
        self._on_gap = on_gap

    def accept(self, event: Event) -> bool:
        """True if ``event`` is the next of its portfolio and should be applied."""
        if event.portfolio_id is None or event.portfolio_seq is None:
            return True
        expected = self.next_expected.get(event.portfolio_id, 1)
        if event.portfolio_seq < expected:
            self.duplicates += 1
            return False
        if event.portfolio_seq > expected:
            self.gaps += 1
            if self._on_gap is not None:
                self._on_gap(event.portfolio_id, expected, event.portfolio_seq - 1)
        self.next_expected[event.portfolio_id] = event.portfolio_seq + 1
        return True


class PulsarEventBus:
    """The embedded bus (store + in-process subscriptions) with the store relayed to Pulsar.

    ``publish`` appends to the SQL store exactly as the embedded bus does and wakes the relay; it
    never waits on the broker, so a broker outage only grows the relay's lag.
    """

    def __init__(self, store: SqlEventStore, settings: PulsarSettings) -> None:
        self.store = store
        self.settings = settings
        self._embedded = EmbeddedEventBus(store)
        self.relay = OutboxRelay(store, settings)
        self.relay.start()
        self.subscribe = self._embedded.subscribe
        self.replay = self._embedded.replay
        self.stats = self._embedded.stats

    def publish(self, events: Sequence[Event], also: InTransaction | None = None) -> list[Event]:
        stored = self._embedded.publish(events, also)
        self.relay.notify()
        return stored

    def health(self) -> TransportView:
        return TransportView(
            "pulsar", self.relay.lag, self.relay.published_seq, self.relay.last_error
        )

    def flush(self, timeout_s: float) -> bool:
        return self.relay.wait_until_published(self.store.last_seq(), timeout_s)

    def close(self) -> None:
        self._embedded.close()
        self.relay.stop()


class PulsarSubscriber:
    """A durable Pulsar subscription to this deployment's events, delivered to ``handler``.

    ``mode="failover"`` gives one active consumer that sees everything in order (a standby takes
    over if it dies); ``mode="key_shared"`` spreads portfolios over several workers that share the
    subscription name, each portfolio always to one worker, in order. Either way every event passes
    a ``PortfolioSequencer``: a redelivered event is acknowledged and skipped, a gap is reported.
    """

    def __init__(
        self,
        settings: PulsarSettings,
        subscription: str,
        handler: Callable[[Event], None],
        mode: str = "failover",
        families: tuple[str, ...] = FAMILIES,
        on_gap: Callable[[str, int, int], None] | None = None,
        from_earliest: bool = True,
    ) -> None:
        consumer_types = {
            "failover": pulsar.ConsumerType.Failover,
            "key_shared": pulsar.ConsumerType.KeyShared,
        }
        if mode not in consumer_types:
            raise ValueError(f"mode: {mode!r} is not one of {sorted(consumer_types)}")
        self.sequencer = PortfolioSequencer(on_gap)
        self.handled = 0
        self._handler = handler
        self._client = pulsar.Client(settings.service_url, logger=_quiet_pulsar_logger())
        self._consumer = self._client.subscribe(
            [settings.topic(family) for family in families],
            subscription,
            consumer_type=consumer_types[mode],
            schema=WIRE_SCHEMA,
            initial_position=(
                pulsar.InitialPosition.Earliest if from_earliest else pulsar.InitialPosition.Latest
            ),
            message_listener=self._on_message,
        )

    def _on_message(self, consumer: pulsar.Consumer, message: pulsar.Message) -> None:
        try:
            event = from_record(message.value())
            if self.sequencer.accept(event):
                self._handler(event)
                self.handled += 1
            consumer.acknowledge(message)
        except Exception:
            log.exception("subscriber %s failed; the message will be redelivered", consumer)
            consumer.negative_acknowledge(message)

    def close(self) -> None:
        self._consumer.close()
        self._client.close()


def tail_events(
    settings: PulsarSettings,
    portfolio_id: str | None = None,
    from_earliest: bool = False,
    stop: threading.Event | None = None,
) -> Iterator[Event]:
    """Follow the live stream of every family (a non-durable reader per topic), newest on."""
    client = pulsar.Client(settings.service_url, logger=_quiet_pulsar_logger())
    start = pulsar.MessageId.earliest if from_earliest else pulsar.MessageId.latest
    readers = [_reader(client, settings.topic(family), start) for family in FAMILIES]
    stop = stop or threading.Event()
    try:
        while not stop.is_set():
            idle = True
            for reader in readers:
                while reader.has_message_available():
                    idle = False
                    event = from_record(reader.read_next(1_000).value())
                    if portfolio_id is None or event.portfolio_id == portfolio_id:
                        yield event
            if idle:
                stop.wait(0.1)
    finally:
        for reader in readers:
            reader.close()
        client.close()
