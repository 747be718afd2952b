"""``TailedEventLog``: the event store with its newest events also kept in memory.

The Events page and the market dates of its rows ask for the newest events every second. Read
from SQLite under load they were the dashboard's slowest answers (p95 about 200 ms against 50 for
the other pages): the engine thread keeps the interpreter busy, and the sqlite3 module gives the
lock up around every row it steps, so a 25-row page waited for it 25 times. The tail follows the
store through a bus subscription (``TailedEventLog.following``: in order, and caught up from the
store if it falls behind), and a question the newest ``capacity`` events can answer is answered
from them; the rest of the answer, if any, comes from the store below the tail, and a question
about events the tail has not received yet goes to the store: the answers are the store's.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from engine.model import Event
from engine.views.queries import EventLog

if TYPE_CHECKING:
    from engine.events.bus import EventBus, Subscription

# About 590 cycles of the default engine (8.5 events a cycle), a few MB: every newest page of the
# Events grid, filtered or not, and the market dates of its rows.
DEFAULT_TAIL_EVENTS = 5_000


class StoredLog(EventLog, Protocol):
    """An event log that knows its last sequence number (the SQL store)."""

    def last_seq(self) -> int: ...


class TailedEventLog:
    """An ``EventLog`` (engine/views/queries.py) over ``store`` answering from memory where the
    newest ``capacity`` stored events suffice."""

    def __init__(self, store: StoredLog, capacity: int = DEFAULT_TAIL_EVENTS) -> None:
        if capacity < 1:
            raise ValueError(f"capacity: must be at least 1, got {capacity}")
        self.store = store
        self._capacity = capacity
        self._lock = threading.Lock()
        self._events: deque[Event] = deque()
        # Events at or below this sequence number are in the store only.
        self._floor = store.last_seq()
        self._types = set(store.event_types())
        self.subscription: Subscription | None = None

    @classmethod
    def following(
        cls, store: StoredLog, bus: EventBus, capacity: int = DEFAULT_TAIL_EVENTS
    ) -> TailedEventLog:
        """A tail of ``store`` fed by a subscription to ``bus`` from the store's next event."""
        tail = cls(store, capacity)
        tail.subscription = bus.subscribe(
            tail.add, from_seq=tail.newest + 1, name="dashboard-event-tail"
        )
        return tail

    def __getattr__(self, name: str) -> object:
        # What only a log kept whole can answer (reading forward, by moment) is the store's.
        return getattr(self.store, name)

    @property
    def newest(self) -> int:
        """The sequence number of the newest event the tail has received."""
        with self._lock:
            return self._newest()

    def _newest(self) -> int:
        return (self._events[-1].seq or 0) if self._events else self._floor

    def add(self, event: Event) -> None:
        """One stored event, in sequence order (the subscription's handler)."""
        self.extend((event,))

    def extend(self, stored: Sequence[Event]) -> None:
        """Stored events, in sequence order."""
        with self._lock:
            newest = self._newest()
            for event in stored:
                if (event.seq or 0) <= newest:
                    continue  # already here: a catch-up read it again
                self._events.append(event)
                self._types.add(event.type)
                newest = event.seq or 0
            while len(self._events) > self._capacity:
                self._floor = self._events.popleft().seq or self._floor

    def query(
        self,
        portfolio_id: str | None = None,
        event_type: str | None = None,
        before_seq: int | None = None,
        limit: int = 100,
    ) -> list[Event]:
        """Events newest first, filtered by portfolio and type, older than ``before_seq``, as
        the store would answer."""
        found: list[Event] = []
        with self._lock:
            floor = self._floor
            # Asked about events not received yet (a page's anchor is the engine's own count,
            # and the subscription delivers a moment later): the store has them.
            behind = before_seq is not None and before_seq - 1 > self._newest()
            for event in () if behind else reversed(self._events):
                if len(found) == limit:
                    return found
                if before_seq is not None and (event.seq or 0) >= before_seq:
                    continue
                if portfolio_id is not None and event.portfolio_id != portfolio_id:
                    continue
                if event_type is not None and event.type != event_type:
                    continue
                found.append(event)
        if behind:
            return self.store.query(portfolio_id, event_type, before_seq, limit)
        if len(found) == limit or floor == 0:
            return found
        below = floor + 1 if before_seq is None else min(before_seq, floor + 1)
        return found + self.store.query(portfolio_id, event_type, below, limit - len(found))

    def event_types(self) -> list[str]:
        """Every event type in the log, sorted (those stored before the tail began, and since)."""
        with self._lock:
            return sorted(self._types)
