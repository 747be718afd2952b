"""Following a running engine from another process, through Apache Pulsar alone.

``PulsarFollower`` reads every event family from the earliest message, folds the events into the
same ``EngineState`` as the engine does, and publishes a ``StateSnapshot`` built with the same
state views as the engine's own (engine/views/state_views.py), which a dashboard reads exactly
as it reads the engine's. It offers the runner's read side (``snapshot``) and refuses
commands: those go to the engine's own dashboard. ``FollowedEventLog`` keeps the recent events for
the Events page, with the query side of the SQL store.
"""

from __future__ import annotations

import heapq
import logging
import threading
import time
from collections import deque
from datetime import date
from decimal import Decimal

import numpy as np

from engine.commands import Command, CommandRefused
from engine.events.pulsar_bus import PulsarSettings, tail_events
from engine.events.store import utc_now
from engine.market.data import PriceHistory
from engine.model import Conflict, CycleReport, Event, Instrument, Order
from engine.signals.records import (
    conflicts_from_event,
    quality_points_from_event,
    rejection_from_event,
)
from engine.snapshot import (
    EngineStatus,
    PortfolioView,
    QualityPoint,
    RejectedSignal,
    StateSnapshot,
    TransportView,
)
from engine.state.engine_state import EngineState, fill_from_event
from engine.views.overview import TurnoverTracker, overview_view
from engine.views.state_views import (
    active_overrides,
    execution_quality_views,
    position_views,
    risk_alert_views,
    weight_override_views,
    working_order_views,
)

log = logging.getLogger(__name__)

_STATUS_AFTER_COMMAND = {"Pause": EngineStatus.PAUSED, "Resume": EngineStatus.RUNNING}


class FollowedEventLog:
    """The most recent events seen, newest first on query, like ``SqlEventStore.query``."""

    def __init__(self, capacity: int = 50_000) -> None:
        self._events: deque[Event] = deque(maxlen=capacity)
        self._lock = threading.Lock()

    def add(self, event: Event) -> None:
        with self._lock:
            self._events.append(event)

    def query(
        self,
        portfolio_id: str | None = None,
        event_type: str | None = None,
        before_seq: int | None = None,
        limit: int = 100,
    ) -> list[Event]:
        with self._lock:
            matching = [
                event
                for event in self._events
                if (portfolio_id is None or event.portfolio_id == portfolio_id)
                and (event_type is None or event.type == event_type)
                and (before_seq is None or (event.seq or 0) < before_seq)
            ]
        # Topics arrive interleaved, so the log is only roughly in seq order: pick the newest
        # ``limit`` without sorting all of it (the Events page asks every second).
        return heapq.nlargest(limit, matching, key=lambda event: event.seq or 0)

    def event_types(self) -> list[str]:
        with self._lock:
            return sorted({event.type for event in self._events})


class PulsarFollower:
    def __init__(
        self,
        settings: PulsarSettings,
        instruments: tuple[Instrument, ...],
        history: PriceHistory | None = None,
        recent_items: int = 200,
    ) -> None:
        self.settings = settings
        self.instruments = instruments
        self.log = FollowedEventLog()
        self._history = history
        self._state = EngineState()
        self._turnover = TurnoverTracker()
        self._names: dict[str, str] = {}
        self._last_fill_price: dict[str, Decimal] = {}
        # NAV and cash as the engine valued them at the last completed cycle (exact strings).
        self._valuation: dict[str, tuple[Decimal, Decimal]] = {}
        self._recent_orders: deque[Order] = deque(maxlen=recent_items)
        self._recent_fills: deque = deque(maxlen=recent_items)
        self._status = EngineStatus.STARTING
        self._speed = 0.0
        self._last_cycle_reports: deque[CycleReport] = deque(maxlen=300)
        self._rejections: deque[RejectedSignal] = deque(maxlen=recent_items)
        self._quality: deque[QualityPoint] = deque(maxlen=20_000)
        self._conflicts: dict[str, tuple[Conflict, ...]] = {}
        self._events_seen = 0
        self._last_seq = 0
        self._stop = threading.Event()
        self._snapshot = self.build_snapshot()
        self._thread = threading.Thread(target=self._run, name="pulsar-follower", daemon=True)

    # -- the runner's read side, and no write side ---------------------------------------------
    def snapshot(self) -> StateSnapshot:
        return self._snapshot

    def submit(self, command: Command) -> None:
        raise CommandRefused(
            "this dashboard follows the engine through Pulsar and is read-only; "
            "send commands from the engine's own dashboard"
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout_s)

    def wait_for_cycles(self, n: int, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while self._snapshot.cycles_completed < n:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    # -- following -----------------------------------------------------------------------------
    def _run(self) -> None:
        last_publish = 0.0
        while not self._stop.is_set():
            try:
                for event in tail_events(self.settings, from_earliest=True, stop=self._stop):
                    self.apply(event)
                    now = time.monotonic()
                    if event.type == "CycleCompleted" or now - last_publish > 0.5:
                        self._snapshot = self.build_snapshot()
                        last_publish = now
            except Exception:
                log.exception("following %s failed; reconnecting", self.settings.service_url)
                self._state = EngineState()  # the readers start again from the earliest
                self._turnover = TurnoverTracker()
                self._stop.wait(2.0)

    def apply(self, event: Event) -> None:
        """Fold one event into the followed state (the reading thread calls this for each)."""
        self._events_seen += 1
        self._last_seq = int(event.seq or self._last_seq)
        self.log.add(event)
        try:
            self._state.apply(event)
        except Exception:
            log.exception("event %s (%s) does not fold; skipped", event.seq, event.type)
            return
        self._turnover.observe(event)
        p = event.payload
        if event.type == "PortfolioOpened":
            self._names[p["portfolio_id"]] = p["name"]
        elif event.type == "OrderCreated":
            self._recent_orders.append(self._state.pending_orders[p["order_id"]])
        elif event.type == "OrderFilled":
            fill = fill_from_event(event)
            self._recent_fills.append(fill)
            self._last_fill_price[fill.symbol] = fill.price_usd
        elif event.type == "EngineStarted":
            self._status = EngineStatus.RUNNING
            self._speed = float(p.get("speed_days_per_second", self._speed) or 0.0)
        elif event.type == "EngineFinished":
            self._status = EngineStatus.FINISHED
        elif event.type == "CommandApplied":
            self._status = _STATUS_AFTER_COMMAND.get(p["command"], self._status)
            self._speed = float(p.get("days_per_second", self._speed))
        elif event.type == "SignalRejected":
            self._rejections.append(rejection_from_event(event))
        elif event.type == "SourceQualityMeasured":
            self._quality.extend(quality_points_from_event(event))
        elif event.type == "SignalConflictsResolved":
            self._conflicts[event.portfolio_id or ""] = conflicts_from_event(event)
        elif event.type == "CycleCompleted":
            if self._status is EngineStatus.STARTING:
                self._status = EngineStatus.RUNNING
            self._last_cycle_reports.append(
                CycleReport(int(p["cycle"]), date.fromisoformat(p["market_date"]))
            )
            for pid, (nav, cash) in p.get("valuation_usd", {}).items():
                self._valuation[pid] = (Decimal(nav), Decimal(cash))

    def _mark(self, symbol: str, index: dict[str, int]) -> Decimal:
        """The close on the last market date from the same market data, else the last fill."""
        market_date = self._state.market_date
        if self._history is not None and market_date is not None and symbol in index:
            row = min(self._history.index_of(market_date), len(self._history.dates) - 1)
            price = self._history.close[row, index[symbol]]
            if np.isfinite(price):
                return Decimal(repr(float(price))).quantize(Decimal("0.0001"))
        return self._last_fill_price.get(symbol, Decimal(0))

    def build_snapshot(self) -> StateSnapshot:
        state = self._state
        sectors = {i.symbol: i.sector for i in self.instruments}
        index = {i.symbol: k for k, i in enumerate(self.instruments)}
        portfolios = []
        for pid in state.ledger.portfolio_ids:
            # Valued as the engine valued them at the last cycle: the ledger may already hold
            # fills of the next one, which travel on another topic than the cycle's result.
            nav, cash = self._valuation.get(pid, (state.ledger.cash_usd(pid),) * 2)
            shown = set(state.ledger.holdings_of(pid)) | set(state.targets.get(pid, {}))
            prices = {symbol: self._mark(symbol, index) for symbol in shown}
            portfolios.append(
                PortfolioView(
                    pid,
                    self._names.get(pid, pid),
                    (),
                    nav,
                    cash,
                    state.initial_cash_usd[pid],
                    position_views(state, pid, nav, sectors, prices),
                    state.target_cash_weight.get(pid, 1.0),
                    tuple(state.nav_history.get(pid, ())),
                    state.orders_total.get(pid, 0),
                    state.fills_total.get(pid, 0),
                    state.trading_state(pid),
                    state.trading_states.get(pid, {}).get("reason"),
                    weight_overrides=weight_override_views(state, pid),
                )
            )
        portfolios = tuple(portfolios)
        risk_alerts = risk_alert_views(state)
        return StateSnapshot(
            # Each event folded is a change a page may show.
            version=self._events_seen,
            event_seq=self._last_seq,
            status=self._status,
            speed_days_per_second=self._speed,
            cycles_completed=state.cycles_completed,
            market_date=state.market_date,
            published_at=utc_now(),
            instruments=self.instruments,
            portfolios=portfolios,
            recent_orders=tuple(self._recent_orders),
            working_orders=working_order_views(state),
            execution_quality=execution_quality_views(state),
            recent_fills=tuple(self._recent_fills),
            recent_cycles=tuple(self._last_cycle_reports),
            transport=TransportView("pulsar (following)", None, None, None),
            conflicts=tuple(c for conflicts in self._conflicts.values() for c in conflicts),
            rejected_signals=tuple(self._rejections),
            quality_history=tuple(self._quality),
            overrides=active_overrides(state),
            risk_alerts=risk_alerts,
            overview=overview_view(
                portfolios,
                risk_alerts,
                (),
                self._turnover,
                state.market_date,
                breaches_from_alerts=True,
            ),
        )
