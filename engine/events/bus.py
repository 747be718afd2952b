"""The event bus: every stage's events are stored, then delivered to subscribers.

``EventBus`` is the interface the engine depends on; ``EmbeddedEventBus`` is the in-process default:
it appends each batch to the SQL event store (one transaction) and then hands the stored events, in
order, to the subscribers whose filter they match. A subscriber that raises is logged and counted;
it never fails the append or the cycle.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import Connection

from engine.events.store import SqlEventStore
from engine.model import Event

log = logging.getLogger(__name__)

Handler = Callable[[Event], None]


InTransaction = Callable[[Connection, list[Event]], None]


class EventBus(Protocol):
    def publish(self, events: Sequence[Event], also: InTransaction | None = None) -> list[Event]:
        """Store ``events`` (with ``also`` in the same transaction), then deliver them."""
        ...

    def subscribe(
        self,
        handler: Handler,
        event_types: frozenset[str] | None = None,
        portfolio_id: str | None = None,
    ) -> None: ...


@dataclass(frozen=True, slots=True)
class _Subscription:
    handler: Handler
    event_types: frozenset[str] | None
    portfolio_id: str | None

    def matches(self, item: Event) -> bool:
        return (self.event_types is None or item.type in self.event_types) and (
            self.portfolio_id is None or item.portfolio_id == self.portfolio_id
        )


class EmbeddedEventBus:
    def __init__(self, store: SqlEventStore) -> None:
        self.store = store
        self._subscriptions: list[_Subscription] = []
        self.handler_failures = 0

    def subscribe(
        self,
        handler: Handler,
        event_types: frozenset[str] | None = None,
        portfolio_id: str | None = None,
    ) -> None:
        self._subscriptions.append(_Subscription(handler, event_types, portfolio_id))

    def publish(self, events: Sequence[Event], also: InTransaction | None = None) -> list[Event]:
        stored = self.store.append(events, also)
        for item in stored:
            for subscription in self._subscriptions:
                if not subscription.matches(item):
                    continue
                try:
                    subscription.handler(item)
                except Exception:
                    self.handler_failures += 1
                    log.exception("event subscriber failed on %s seq %s", item.type, item.seq)
        return stored
