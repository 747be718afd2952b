"""``EventQueries``: the event log's query side, the read model the dashboard's callbacks use
instead of the store.

It reads any ``EventLog``: the SQL event store of a running engine, or the recent events a
Pulsar follower keeps (``engine.follower.FollowedEventLog``), so the Events page, the audit
trails and the export work the same on either dashboard.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from engine.model import Event


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
    def __init__(self, log: EventLog) -> None:
        self.log = log

    def event_types(self) -> list[str]:
        """Every event type in the log, sorted."""
        return self.log.event_types()

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
        found = self.log.query(portfolio_id, event_type, before_seq, size + 1)
        return EventPage(tuple(found[:size]), len(found) > size)

    def audit_trail(self, event_types: Sequence[str], limit: int = 200) -> list[Event]:
        """The newest ``limit`` events of any of ``event_types``, newest first (by sequence)."""
        found = [e for kind in event_types for e in self.log.query(event_type=kind, limit=limit)]
        found.sort(key=lambda event: event.seq or 0, reverse=True)
        return found[:limit]

    def export(
        self, portfolio_id: str | None = None, event_type: str | None = None, limit: int = 100_000
    ) -> list[Event]:
        """The newest ``limit`` events matching the filters, oldest first, as a file lists them."""
        return self.log.query(portfolio_id, event_type, None, limit)[::-1]
