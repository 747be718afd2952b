"""``EventQueries``: the event log's query side, the read model the dashboard's callbacks and the
``pcoord events`` command use instead of the store.

``EventQueries`` reads any ``EventLog``: the SQL event store of a running engine, or the recent
events a Pulsar follower keeps (``engine.follower.FollowedEventLog``), so the Events page, the
audit trails and the export work the same on either dashboard. ``StoredEventQueries`` adds what
only a log kept whole and in order can answer, reading forward from a sequence number or a
moment (``SequencedEventLog``, which ``SqlEventStore`` is).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from engine.model import Event

# The signal desk's overrides: set by a person, and expired (or lifted, recorded as expired).
OVERRIDE_EVENT_TYPES = ("OverrideSet", "OverrideExpired")
# A grid page deeper than this many filtered events is not scanned for (use the export or
# `pcoord events`): each page of a filtered view reads the rows before it.
MAX_WINDOW_SCAN = 20_000
# New cycles' market dates are read this many CycleCompleted events at a time, starting small:
# a refresh usually has a few new cycles, which the newest events (engine/views/tail.py) hold.
CYCLE_DATES_FIRST_BATCH = 64
CYCLE_DATES_BATCH = 1_000
_CYCLE = re.compile(r"^cycle-(\d+)$")


def cycle_of(event: Event) -> int | None:
    """The cycle an event belongs to, from its correlation id ``cycle-N`` (a command applied
    between cycles belongs to the cycle to come)."""
    found = _CYCLE.match(event.correlation_id or "")
    return int(found.group(1)) if found else None


class EventLog(Protocol):
    """What a log offers to be queried: events newest first, and the types it holds."""

    def query(
        self,
        portfolio_id: str | None = None,
        event_type: str | None = None,
        before_seq: int | None = None,
        limit: int = 100,
    ) -> list[Event]: ...

    def event_types(self) -> list[str]: ...


class SequencedEventLog(EventLog, Protocol):
    """A log kept whole and in sequence order, so it can also be read forward."""

    def read_from(
        self,
        from_seq: int = 1,
        limit: int | None = None,
        portfolio_id: str | None = None,
        event_types: frozenset[str] | None = None,
    ) -> list[Event]: ...

    def first_seq_at(self, moment: datetime) -> int: ...


@dataclass(frozen=True, slots=True)
class EventPage:
    """One page of the log, newest first, and whether an older page exists."""

    events: tuple[Event, ...]
    has_older: bool

    @property
    def newest_seq(self) -> int | None:
        return self.events[0].seq if self.events else None

    @property
    def oldest_seq(self) -> int | None:
        return self.events[-1].seq if self.events else None


@dataclass(frozen=True, slots=True)
class EventWindow:
    """Rows ``start`` to ``start + len(events)`` of a view of the log, and how many rows the view
    has when that is known (a grid's pager); None: at least one more page."""

    events: tuple[Event, ...]
    row_count: int | None


class EventQueries:
    """The questions the dashboard asks of an event log: its types, pages newest first, audit
    trails, the override history and the rows of an export."""

    def __init__(self, log: EventLog) -> None:
        self._log = log
        self._dates_lock = threading.Lock()
        self._cycle_dates: dict[int, date] = {}
        self._cycle_dates_seq = 0

    def event_types(self) -> list[str]:
        """Every event type in the log, sorted."""
        return self._log.event_types()

    def page(
        self,
        portfolio_id: str | None = None,
        event_type: str | None = None,
        before_seq: int | None = None,
        size: int = 50,
    ) -> EventPage:
        """``size`` events older than ``before_seq`` (None: the newest), filtered."""
        if size < 1:
            raise ValueError(f"size: {size} must be at least 1")
        # One extra row tells whether an older page exists without a count query.
        found = self._log.query(portfolio_id, event_type, before_seq, size + 1)
        return EventPage(tuple(found[:size]), len(found) > size)

    def window(
        self,
        portfolio_id: str | None,
        event_type: str | None,
        start: int,
        size: int,
        *,
        anchor_seq: int | None = None,
        oldest_first: bool = False,
    ) -> EventWindow:
        """Rows ``start`` to ``start + size`` of the events matching the filters, newest first
        (or oldest first), among those up to ``anchor_seq`` (None: all): a grid pages a view
        that holds still while a person pages it, and moves the anchor when it refreshes.

        Unfiltered, the sequence numbers are the row numbers, so a page costs one page of
        reads wherever it is; filtered, a page reads the rows before it (up to
        ``MAX_WINDOW_SCAN``)."""
        if start < 0 or size < 1:
            raise ValueError(f"rows: start {start} and size {size} must be 0+ and 1+")
        filtered = portfolio_id is not None or event_type is not None
        if oldest_first:
            return self._oldest_window(portfolio_id, event_type, start, size, anchor_seq)
        if not filtered and anchor_seq is not None:
            # Row r is seq anchor - r while the log has no gap (one is checked, not assumed).
            found = self._log.query(None, None, anchor_seq - start + 1, size)
            if not found or found[0].seq == anchor_seq - start:
                more = len(found) == size and (found[-1].seq or 0) > 1
                return EventWindow(tuple(found), None if more else start + len(found))
        if start + size > MAX_WINDOW_SCAN:
            return EventWindow((), start)
        before = anchor_seq + 1 if anchor_seq is not None else None
        found = self._log.query(portfolio_id, event_type, before, start + size + 1)
        last = len(found) if len(found) <= start + size else None
        return EventWindow(tuple(found[start : start + size]), last)

    def _oldest_window(
        self,
        portfolio_id: str | None,
        event_type: str | None,
        start: int,
        size: int,
        anchor_seq: int | None,
    ) -> EventWindow:
        read_from = getattr(self._log, "read_from", None)
        if read_from is None or start + size > MAX_WINDOW_SCAN:
            # A follower keeps only recent events, newest first: no oldest-first view of them.
            return EventWindow((), start)
        kinds = frozenset({event_type}) if event_type is not None else None
        found = [
            event
            for event in read_from(1, start + size + 1, portfolio_id, kinds)
            if anchor_seq is None or (event.seq or 0) <= anchor_seq
        ]
        last = len(found) if len(found) <= start + size else None
        return EventWindow(tuple(found[start : start + size]), last)

    def event(self, seq: int) -> Event | None:
        """The event with sequence number ``seq``, if the log holds it."""
        found = self._log.query(before_seq=seq + 1, limit=1)
        return found[0] if found and found[0].seq == seq else None

    def market_dates(self, cycles: Iterable[int]) -> dict[int, date]:
        """The market date of each of ``cycles`` that has completed (from its CycleCompleted
        event). Kept here as it grows: a page of events costs a lookup, and only cycles newer
        than those already known are read, a batch at a time."""
        wanted = set(cycles)
        with self._dates_lock:
            if wanted and max(wanted) not in self._cycle_dates:
                self._read_new_cycle_dates()
            return {c: self._cycle_dates[c] for c in wanted if c in self._cycle_dates}

    def _read_new_cycle_dates(self) -> None:
        before: int | None = None
        newest = self._cycle_dates_seq
        size = CYCLE_DATES_FIRST_BATCH
        while True:
            batch = self._log.query(None, "CycleCompleted", before, size)
            fresh = [e for e in batch if (e.seq or 0) > self._cycle_dates_seq]
            for event in fresh:
                market_date = event.payload.get("market_date")
                if market_date:
                    self._cycle_dates[int(event.payload["cycle"])] = date.fromisoformat(
                        str(market_date)[:10]
                    )
                newest = max(newest, event.seq or 0)
            if len(fresh) < len(batch) or len(batch) < size:
                break
            before = batch[-1].seq
            size = min(size * 4, CYCLE_DATES_BATCH)
        self._cycle_dates_seq = newest

    def audit_trail(self, event_types: Sequence[str], limit: int = 200) -> list[Event]:
        """The newest ``limit`` events of any of ``event_types``, newest first (by sequence)."""
        found = [e for kind in event_types for e in self._log.query(event_type=kind, limit=limit)]
        found.sort(key=lambda event: event.seq or 0, reverse=True)
        return found[:limit]

    def override_history(self, limit: int = 200) -> list[Event]:
        """The newest ``limit`` signal overrides set or expired (a lift is recorded as expired),
        newest first, every portfolio's."""
        return self.audit_trail(OVERRIDE_EVENT_TYPES, limit)

    def export(
        self, portfolio_id: str | None = None, event_type: str | None = None, limit: int = 100_000
    ) -> list[Event]:
        """The newest ``limit`` events matching the filters, oldest first, as a file lists them."""
        return self._log.query(portfolio_id, event_type, None, limit)[::-1]


class StoredEventQueries(EventQueries):
    """``EventQueries`` over a log kept whole (the SQL store), which can also be read forward."""

    def __init__(self, log: SequencedEventLog) -> None:
        super().__init__(log)
        self._stored = log

    def oldest_first(
        self,
        from_seq: int | None = None,
        since: datetime | None = None,
        portfolio_id: str | None = None,
        event_type: str | None = None,
        limit: int = 100,
    ) -> list[Event]:
        """Up to ``limit`` events matching the filters, oldest first, from sequence number
        ``from_seq`` and stored at or after ``since`` (both given: whichever starts later);
        neither given: from the first event."""
        if limit < 1:
            raise ValueError(f"limit: {limit} must be at least 1")
        start = from_seq or 1
        if since is not None:
            start = max(start, self._stored.first_seq_at(since))
        kinds = frozenset({event_type}) if event_type is not None else None
        return self._stored.read_from(start, limit, portfolio_id, kinds)
