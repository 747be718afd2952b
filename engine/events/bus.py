"""The event bus: every stage's events are stored, then delivered to subscribers.

``EventBus`` is the interface the engine depends on; ``EmbeddedEventBus`` is the in-process
default. ``publish`` appends a batch to the SQL event store in one transaction (the system of
record) and then offers the stored events to each subscription without ever waiting on one.

Each subscription has a bounded queue and its own delivery thread, so a slow subscriber cannot slow
the engine. Delivery is in global sequence order (hence in order per portfolio) and at least once:
when a subscriber's queue overflows, the events that do not fit are counted as dropped and the
subscription catches up by reading the store from the last sequence it delivered; an event can then
reach the handler twice only if it was both queued and read back, and the subscription itself skips
any event at or below the last sequence it delivered. Handlers should still be idempotent (key on
``event.seq`` or ``event.event_id``), as with any at-least-once transport.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import Connection

from engine.events.store import SqlEventStore
from engine.model import Event
from engine.snapshot import TransportView

log = logging.getLogger(__name__)

Handler = Callable[[Event], None]
InTransaction = Callable[[Connection, list[Event]], None]

HANDLER_ATTEMPTS = 3


class EventBus(Protocol):
    def publish(self, events: Sequence[Event], also: InTransaction | None = None) -> list[Event]:
        """Store ``events`` (with ``also`` in the same transaction), then deliver them."""
        ...

    def subscribe(
        self,
        handler: Handler,
        event_types: frozenset[str] | None = None,
        portfolio_id: str | None = None,
        from_seq: int | None = None,
        name: str | None = None,
        queue_size: int = 10_000,
    ) -> Subscription: ...

    def replay(
        self,
        from_seq: int = 1,
        from_time: datetime | None = None,
        event_types: frozenset[str] | None = None,
        portfolio_id: str | None = None,
    ) -> Iterator[Event]: ...

    def health(self) -> TransportView: ...

    def flush(self, timeout_s: float) -> bool:
        """Wait until every stored event has left for its transport; False on timeout."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class SubscriptionStats:
    name: str
    last_seq: int
    delivered: int
    dropped: int
    handler_failures: int
    catch_ups: int


class Subscription:
    """One subscriber: a filter, a bounded queue and a delivery thread."""

    def __init__(
        self,
        store: SqlEventStore,
        handler: Handler,
        event_types: frozenset[str] | None,
        portfolio_id: str | None,
        from_seq: int | None,
        name: str,
        queue_size: int,
    ) -> None:
        if queue_size < 1:
            raise ValueError(f"queue_size: {queue_size} must be at least 1")
        self.name = name
        self._store = store
        self._handler = handler
        self._event_types = event_types
        self._portfolio_id = portfolio_id
        self._queue: queue.Queue[Event] = queue.Queue(maxsize=queue_size)
        # Every subscription starts by reading the store from its first sequence, then goes
        # live: this also covers events committed while it was being registered.
        self.last_seq = (store.last_seq() + 1 if from_seq is None else from_seq) - 1
        self._position = self.last_seq
        self._needs_catch_up = threading.Event()
        self._needs_catch_up.set()
        self._overflowed = False
        self.delivered = 0
        self.dropped = 0
        self.handler_failures = 0
        self.catch_ups = 0
        self._closed = threading.Event()
        self._idle = threading.Condition()
        self._thread = threading.Thread(target=self._run, name=f"subscriber-{name}", daemon=True)
        self._thread.start()

    def matches(self, item: Event) -> bool:
        return (self._event_types is None or item.type in self._event_types) and (
            self._portfolio_id is None or item.portfolio_id == self._portfolio_id
        )

    def offer(self, item: Event) -> None:
        """Called by the publisher: never blocks. A full queue switches to catch-up mode."""
        if not self.matches(item):
            return
        if self._needs_catch_up.is_set():
            # Read back from the store by the coming catch-up; a drop only if the queue overflowed.
            self.dropped += self._overflowed
            return
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            self.dropped += 1
            self._overflowed = True
            self._needs_catch_up.set()

    def stats(self) -> SubscriptionStats:
        return SubscriptionStats(
            self.name,
            self.last_seq,
            self.delivered,
            self.dropped,
            self.handler_failures,
            self.catch_ups,
        )

    def wait_until_delivered(self, seq: int, timeout_s: float) -> bool:
        """Block until every matching event up to ``seq`` has been handled; False on timeout."""
        deadline = time.monotonic() + timeout_s
        with self._idle:
            while max(self.last_seq, self._position) < seq:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._idle.wait(min(remaining, 0.05))
        return True

    def close(self, timeout_s: float = 5.0) -> None:
        self._closed.set()
        self._thread.join(timeout_s)

    def _deliver(self, item: Event) -> None:
        seq = int(item.seq or 0)
        if seq <= self.last_seq:
            return  # already delivered (read back during a catch-up)
        for attempt in range(1, HANDLER_ATTEMPTS + 1):
            try:
                self._handler(item)
                break
            except Exception:
                log.exception(
                    "subscriber %s failed on %s seq %s (attempt %d of %d)",
                    self.name,
                    item.type,
                    seq,
                    attempt,
                    HANDLER_ATTEMPTS,
                )
                if attempt == HANDLER_ATTEMPTS:
                    # A poison event must not stop the stream for ever: count it and go on.
                    self.handler_failures += 1
        self.delivered += 1
        with self._idle:
            self.last_seq = seq
            self._idle.notify_all()

    def _catch_up(self) -> None:
        """Read from the store after the last delivered seq until nothing is left."""
        self.catch_ups += 1
        if self._overflowed:
            log.warning(
                "subscriber %s fell behind: %d events dropped from its queue so far; "
                "catching up from the store after seq %d",
                self.name,
                self.dropped,
                self.last_seq,
            )
        # Cleared before the read: whatever commits from now on is queued again, and what
        # committed before is in the read; the seq check drops anything seen twice.
        self._needs_catch_up.clear()
        self._overflowed = False
        stored_up_to = self._store.last_seq()
        for item in self._store.iter_from(
            self.last_seq + 1, portfolio_id=self._portfolio_id, event_types=self._event_types
        ):
            if self._closed.is_set():
                return
            self._deliver(item)
        with self._idle:
            # Events this subscription does not match still count as passed for waiters.
            self._position = max(self._position, stored_up_to)
            self._idle.notify_all()

    def _run(self) -> None:
        while not self._closed.is_set():
            if self._needs_catch_up.is_set() and self._queue.empty():
                try:
                    self._catch_up()
                except Exception:
                    log.exception("subscriber %s could not read the store; retrying", self.name)
                    self._needs_catch_up.set()
                    self._closed.wait(0.5)
                continue
            try:
                item = self._queue.get(timeout=0.1)
            except queue.Empty:
                continue
            self._deliver(item)


class EmbeddedEventBus:
    def __init__(self, store: SqlEventStore) -> None:
        self.store = store
        self._subscriptions: list[Subscription] = []
        self._lock = threading.Lock()

    def subscribe(
        self,
        handler: Handler,
        event_types: frozenset[str] | None = None,
        portfolio_id: str | None = None,
        from_seq: int | None = None,
        name: str | None = None,
        queue_size: int = 10_000,
    ) -> Subscription:
        subscription = Subscription(
            self.store,
            handler,
            event_types,
            portfolio_id,
            from_seq,
            name or f"subscriber-{len(self._subscriptions) + 1}",
            queue_size,
        )
        with self._lock:
            self._subscriptions = [*self._subscriptions, subscription]
        return subscription

    def publish(self, events: Sequence[Event], also: InTransaction | None = None) -> list[Event]:
        stored = self.store.append(events, also)
        subscriptions = self._subscriptions  # a snapshot of the list: subscribe may swap it
        for item in stored:
            for subscription in subscriptions:
                subscription.offer(item)
        return stored

    def replay(
        self,
        from_seq: int = 1,
        from_time: datetime | None = None,
        event_types: frozenset[str] | None = None,
        portfolio_id: str | None = None,
    ) -> Iterator[Event]:
        """Stored events in order from a sequence number or from a time (whichever is later)."""
        if from_time is not None:
            from_seq = max(from_seq, self.store.first_seq_at(from_time))
        return self.store.iter_from(from_seq, portfolio_id=portfolio_id, event_types=event_types)

    def stats(self) -> list[SubscriptionStats]:
        return [subscription.stats() for subscription in self._subscriptions]

    def health(self) -> TransportView:
        return TransportView("embedded")

    def flush(self, timeout_s: float) -> bool:
        return True  # the store is the only destination, and append has returned

    def close(self) -> None:
        for subscription in self._subscriptions:
            subscription.close()
        self._subscriptions = []
