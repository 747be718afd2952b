"""``EventRecorder``: the one way engine state changes. It numbers, applies, batches and
persists events.

A stage or a command handler calls ``emit``; the recorder applies the event to the
``EngineState`` fold at once (so the next stage sees it) and queues it; ``flush`` appends the
queue to the store through the bus in one transaction, together with the current-state
projection. Every ``snapshot_every_events`` a snapshot of the state falls due; the coordinator
writes it with ``write_due_snapshot`` once the cycle is over, off the cycle's measured time (a
crash before it only means recovery starts from the previous snapshot). After a restart of the
replay the snapshot goes into the same transaction: recovery then needs no event from before it.

Ids: events emitted between ``begin_cycle`` and ``end_cycle`` are numbered from the cycle and
their position in it (``c000000042-00007``), so a cycle run again after a crash produces the same
ids and the store keeps each once; events outside a cycle (commands, start and finish) get a
session id and a random part.

State it keeps: the live ``state``, a ``shadow`` ledger fed only with committed events (the
consistency check compares it with the live ledger), the unpublished queue, and the count of
events since the last snapshot.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Protocol

from sqlalchemy import Connection

from engine.cycle.context import ENGINE_ACTOR
from engine.events.bus import EventBus
from engine.events.store import utc_now
from engine.model import Event
from engine.risk.manager import Emit
from engine.state.engine_state import CreatedOrder, EngineState, FilledOrder
from engine.state.ledger_fold import LedgerFold
from engine.state.repository import StateRepository

log = logging.getLogger(__name__)


class Emitter(Protocol):
    """What a stage is given to record an event; returns the event as applied."""

    def __call__(
        self,
        event_type: str,
        payload: dict[str, object],
        portfolio_id: str | None = None,
        actor: str = ENGINE_ACTOR,
        record: CreatedOrder | FilledOrder | None = None,
    ) -> Event: ...


def record_all(emit: Emitter, changes: list[Emit]) -> None:
    """Record events a domain object decided on (``Emit`` values), in order."""
    for change in changes:
        emit(change.type, change.payload, change.portfolio_id, change.actor)


class EventRecorder:
    def __init__(
        self,
        state: EngineState,
        bus: EventBus,
        repository: StateRepository,
        session_id: str,
        events_since_snapshot: int,
        snapshot_every_events: int = 20_000,
    ) -> None:
        self.state = state
        self.bus = bus
        self.repository = repository
        self.session_id = session_id
        self.snapshot_every_events = snapshot_every_events
        # The ledger fed only with committed events: comparing it with the live ledger after
        # each cycle proves that nothing changed cash or shares without a stored event. Only
        # the ledger is compared, so only the ledger is folded (a whole EngineState fold of
        # every event cost about as much again as writing them).
        self.shadow = LedgerFold.of(state)
        self._events_since_snapshot = events_since_snapshot
        self._snapshot_written = False
        self.snapshot_due = False
        self._unpublished: list[Event] = []
        self._unverified: list[Event] = []  # stored, not yet folded into the shadow ledger
        self._cycle: int | None = None
        self._position = 0
        self._listeners: list[Callable[[Event], None]] = []
        self._last_seq = repository.store.last_seq()

    @property
    def pending(self) -> int:
        """Events emitted and not yet stored (kept for the next flush after a store failure)."""
        return len(self._unpublished)

    @property
    def last_seq(self) -> int:
        """The sequence of the last event this engine has stored (or found in the store)."""
        return self._last_seq

    def on_event(self, listener: Callable[[Event], None]) -> None:
        """Call ``listener`` with every event as it is emitted (read models keep their lists)."""
        self._listeners.append(listener)

    def begin_cycle(self, cycle: int) -> None:
        self._cycle, self._position = cycle, 0

    def end_cycle(self) -> None:
        self._cycle = None

    def emit(
        self,
        event_type: str,
        payload: dict[str, object],
        portfolio_id: str | None = None,
        actor: str = ENGINE_ACTOR,
        record: CreatedOrder | FilledOrder | None = None,
    ) -> Event:
        """Apply the event to the state, then queue it for the store.

        Payloads hold JSON values only (money as decimal strings, dates as ISO strings), so the
        state, subscribers and a reader of the store all see the same thing. ``record``: what
        the payload was made from, which the state folds instead of parsing the payload back
        (``EngineState.apply``)."""
        # Inside a cycle, the cycle begun (even after its CycleCompleted moved the state on);
        # outside, the cycle to come.
        correlation = self._cycle or self.state.cycles_completed + 1
        if self._cycle is not None:
            self._position += 1
            # Cycle numbers start again after a replay restart; the restart count keeps the ids
            # unique (a plain replay's ids are unchanged).
            epoch = f"r{self.state.restarts}-" if self.state.restarts else ""
            event_id = f"{epoch}c{correlation:09d}-{self._position:05d}"
        else:
            event_id = f"s{self.session_id}-{uuid.uuid4().hex[:16]}"
        event = Event(
            event_id, event_type, utc_now(), actor, payload, portfolio_id, f"cycle-{correlation}"
        )
        self.state.apply(event, record)
        self._unpublished.append(event)
        for listener in self._listeners:
            listener(event)
        return event

    def flush(self) -> None:
        """Store what is waiting; on failure keep it for the next try, so nothing is lost."""
        if not self._unpublished:
            return
        batch = list(self._unpublished)
        self._snapshot_written = False
        stored = self.bus.publish(batch, also=self._persist_state)
        del self._unpublished[: len(batch)]
        if stored:
            self._last_seq = int(stored[-1].seq or self._last_seq)
        self._events_since_snapshot = (
            0 if self._snapshot_written else self._events_since_snapshot + len(stored)
        )
        self.snapshot_due = self._events_since_snapshot >= self.snapshot_every_events
        # Folded into the shadow ledger by the next check, after the cycle's measured time.
        self._unverified.extend(stored)

    def _persist_state(self, connection: Connection, stored: list[Event]) -> None:
        """Runs inside the append transaction: the projection and, when due, a snapshot."""
        touched: set[tuple[str, str | None]] = set()
        restarted = False
        for event in stored:
            if event.type == "ReplayRestarted":
                # Every position goes; each portfolio's cash is written again below.
                self.repository.clear_positions(connection)
                touched.update((pid, None) for pid in event.payload["portfolios"])
                restarted = True
            elif event.type == "OrderFilled":
                touched.add((event.portfolio_id or "", event.payload["symbol"]))
            elif event.type == "PortfolioOpened":
                touched.add((event.payload["portfolio_id"], None))
        last_seq = int(stored[-1].seq or 0)
        self.repository.write_projection(connection, self.state, touched, last_seq)
        # After a restart a snapshot at once: recovery then needs no event from before it.
        if restarted:
            self.repository.write_snapshot(connection, self.state, last_seq)
            self._snapshot_written = True

    def after_cycle(self) -> None:
        """What follows a cycle, after its measured time and before the next cycle: the proof
        that the ledger is the fold of the stored events, the periodic state snapshot (inside
        the cycle it was a p99 spike) and the SQLite log's checkpoint (inside a commit it
        carried an fsync into the events stage)."""
        if not self._unpublished:
            self.check_consistency()
        self.write_due_snapshot()
        self.repository.store.checkpoint()

    def write_due_snapshot(self) -> bool:
        """Write the state's snapshot if one is due and every event is stored (the state is then
        exactly the fold of the log up to the last stored event). Its own transaction: run it
        between cycles, where it delays no stage. True if written."""
        if not self.snapshot_due or self._unpublished:
            return False
        with self.repository.store.engine.begin() as connection:
            self.repository.write_snapshot(connection, self.state, self._last_seq)
        self._events_since_snapshot = 0
        self.snapshot_due = False
        return True

    def check_consistency(self) -> None:
        """Cheap per-cycle check, once everything is stored: every portfolio's cash and
        positions in the live state equal the fold of the committed events. A difference halts
        that portfolio and raises an alert (``ConsistencyAlert``).

        The committed events are folded here, not as they are stored: the coordinator runs this
        after each cycle's report, before the next cycle, so the proof costs the cycle nothing
        and still comes before any further trading."""
        for event in self._unverified:
            self.shadow.apply(event)
        self._unverified.clear()
        live, shadow = self.state.ledger, self.shadow.ledger
        for pid in live.portfolio_ids:
            if pid in self.state.halted:
                continue
            differences = []
            if live.cash_usd(pid) != shadow.cash_usd(pid):
                differences.append(
                    f"cash_usd live {live.cash_usd(pid)} != events {shadow.cash_usd(pid)}"
                )
            if live.holdings_of(pid) != shadow.holdings_of(pid):
                symbols = sorted(
                    s
                    for s in set(live.holdings_of(pid)) | set(shadow.holdings_of(pid))
                    if live.shares(pid, s) != shadow.shares(pid, s)
                )
                differences.append(f"shares differ in {symbols}")
            if differences:
                reason = "; ".join(differences)
                log.error("portfolio %s is inconsistent with its events: %s", pid, reason)
                self.emit("ConsistencyAlert", {"differences": differences}, pid)
                self.emit(
                    "TradingStateChanged",
                    {"state": "HALTED", "reason": f"consistency check failed: {reason}"},
                    pid,
                )
                self.flush()
