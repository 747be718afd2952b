"""``EventQueries``: the event log's query side, the read model the dashboard's callbacks and the
``pcoord events`` command use instead of the store.

``EventQueries`` reads any ``EventLog``: the SQL event store of a running engine, or the recent
events a Pulsar follower keeps (``engine.follower.FollowedEventLog``), so the Events page, the
audit trails and the export work the same on either dashboard. ``StoredEventQueries`` adds what
only a log kept whole and in order can answer, reading forward from a sequence number or a
moment (``SequencedEventLog``, which ``SqlEventStore`` is).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from engine.model import Event

# The signal desk's overrides: set by a person, and expired (or lifted, recorded as expired).
OVERRIDE_EVENT_TYPES = ("OverrideSet", "OverrideExpired")


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


class EventQueries:
    """The questions the dashboard asks of an event log: its types, pages newest first, audit
    trails, the override history and the rows of an export."""

    def __init__(self, log: EventLog) -> None:
        self._log = log

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
