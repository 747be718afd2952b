"""The coordination cycle and the background thread that runs it.

One cycle, per market tick (a trading day)::

    market      roll the price window, mark positions to the new closes
    execution   fill the orders decided last cycle at this tick's prices (no look-ahead) -> ledger
    signals     every model source used by some portfolio scores the universe at each of its
                horizons; the live external signals join them; expired overrides end
    quality     views whose horizon has passed are scored against what the market did (rolling
                IC, hit rate, coverage), and each source's weight multiplier is updated
    coordination  each portfolio's sources are blended into one view per instrument by its
                policy, vetoes and manual overrides; conflicts are recorded
    allocation  target weights for each portfolio due to rebalance
    orders      target minus holdings, whole shares, sells first, cash-feasible; sent next cycle
    events      the cycle's events appended to the store in one transaction
    snapshot    (live mode) a new immutable StateSnapshot is published

Each stage is timed here, around the stage object's one method, not inside it.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import traceback
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from functools import partial

import numpy as np
from sqlalchemy import Connection

from engine.allocation.impact import AllocationImpact
from engine.allocation.mandate import AllocationOutcome, MandateAllocator
from engine.allocation.risk_models import trailing_returns
from engine.allocation.rounding import binding_limits, round_to_shares
from engine.allocation.sleeves import (
    CombinedAllocation,
    Sleeve,
    SleeveOutcome,
    allocate_sleeves,
    recombine,
)
from engine.commands import (
    AcknowledgeAlert,
    CancelOrder,
    Command,
    CommandRefused,
    LiftOverride,
    LiftWeightOverride,
    Pause,
    Resume,
    SetOverride,
    SetRiskLimit,
    SetSpeed,
    SetTradingState,
    SetWeightOverride,
    SubmitSignals,
)
from engine.errors import RecoveryError
from engine.events.bus import EventBus
from engine.events.store import utc_now
from engine.market.feeds import RollingPrices
from engine.model import (
    CoordinatedSignals,
    CycleReport,
    Event,
    Fill,
    Instrument,
    MarketTick,
    Order,
    Side,
    Signal,
    SignalBatch,
    TargetWeights,
    to_cash,
)
from engine.risk.attribution import (
    by_sleeve,
    historical_cvar_attribution,
    parametric_var_attribution,
    volatility_attribution,
)
from engine.risk.budgets import SleeveBudgeting
from engine.risk.gate import Book, GateDecision, RiskGate, RiskModel, budget_measure
from engine.risk.limits import LimitUsage, level_of
from engine.risk.manager import MONITOR_ACTOR, Emit, Measures, RiskManager
from engine.risk.metrics import TRADING_DAYS_PER_YEAR, RiskFigures, drawdowns, risk_figures
from engine.risk.stress import HistoricalScenario, Scenario, stress_pnl
from engine.signals.book import ALL_PORTFOLIOS, Override, signal_from_payload, signal_payload
from engine.signals.coordination import SignalCoordinator
from engine.signals.horizons import MAX_HORIZON_DAYS
from engine.signals.intake import SignalIntake, SignalOutcome
from engine.signals.quality import QualityTracker
from engine.signals.records import quality_points_from_event, rejection_from_event
from engine.signals.sources import SignalSource
from engine.signals.validation import ExternalSourceSpec, SignalValidator
from engine.snapshot import (
    AllocationView,
    BlockView,
    CashView,
    ConflictCount,
    CrossView,
    EngineStatus,
    ExecutionQualityView,
    GateDecisionView,
    InstrumentRiskView,
    LimitView,
    NavPoint,
    PortfolioView,
    PositionView,
    QualityPoint,
    RejectedSignal,
    RiskAlertView,
    RiskAuditView,
    RiskView,
    SignalFlow,
    SignalRow,
    SleeveView,
    SourceQualityView,
    StateSnapshot,
    StressView,
    WeightOverrideView,
    WorkingOrderView,
)
from engine.state.engine_state import (
    QUALITY_FIELDS,
    EngineState,
    fill_from_event,
    order_from_event,
)
from engine.state.ledger import Ledger
from engine.state.repository import StateRepository
from engine.trading.costs import MarketStats, market_stats
from engine.trading.execution import Completion, ExecutionDesk
from engine.trading.orders import OrderGenerator

log = logging.getLogger(__name__)

STAGES = (
    "market",
    "execution",
    "risk",
    "signals",
    "quality",
    "coordination",
    "allocation",
    "orders",
    "gate",
    "trades",
    "events",
    "snapshot",
)
ENGINE_ACTOR = "engine"
RISK_HISTORY_POINTS = 250
RISK_FIELDS = (
    "gross_exposure",
    "net_exposure",
    "volatility_annual",
    "var_95_parametric",
    "var_99_parametric",
    "cvar_95_parametric",
    "cvar_99_parametric",
    "var_95_historical",
    "var_99_historical",
    "cvar_95_historical",
    "cvar_99_historical",
    "drawdown",
    "max_drawdown",
)
QUALITY_HISTORY_EVENTS = 2000
# Events the Risk page's audit trail lists.
RISK_AUDIT_EVENTS = (
    "RiskLimitSet",
    "RiskLimitRemoved",
    "TradingStateChanged",
    "RiskAlertAcknowledged",
)


@dataclass(frozen=True, slots=True, eq=False)
class PortfolioMandate:
    """What one portfolio trades and how, resolved against the instrument universe."""

    portfolio_id: str
    name: str
    universe: np.ndarray  # bool mask over the instruments
    coordinator: SignalCoordinator
    allocator: MandateAllocator
    order_generator: OrderGenerator
    rebalance_every_days: int
    initial_cash_usd: Decimal
    settlement_days: int = 1
    interest_rate_annual: float = 0.0
    sleeves: tuple[Sleeve, ...] = ()
    sleeve_budgeting: SleeveBudgeting | None = None

    @property
    def sources(self) -> tuple[str, ...]:
        return self.coordinator.subscribed

    @property
    def long_short(self) -> bool:
        return self.allocator.long_short


def _json_float(value: float) -> float | None:
    """NaN (not measured yet) is not JSON: it is stored as null."""
    return round(value, 6) if np.isfinite(value) else None


def _gate_payload(decision: GateDecision) -> dict[str, object]:
    return {
        "limit": decision.limit,
        "requested_shares": decision.requested_shares,
        "approved_shares": decision.approved_shares,
        "value": None if decision.value is None else _json_float(decision.value),
        "threshold": decision.threshold,
        "reason": decision.reason,
    }


def _limit_view(usage: LimitUsage) -> LimitView:
    limit = usage.limit
    return LimitView(
        limit.name,
        limit.kind.unit,
        limit.value,
        limit.mode,
        limit.warn_at,
        limit.on_breach,
        limit.version,
        limit.scope,
        limit.actor,
        usage.value if np.isfinite(usage.value) else None,
        usage.utilisation if np.isfinite(usage.utilisation) else None,
        usage.level,
        usage.detail,
        limit.symbols,
    )


def _audit_view(event: Event) -> RiskAuditView:
    p = event.payload
    if event.type == "RiskLimitSet":
        setting = ", ".join(p["symbols"]) if p["symbols"] else f"{p['value']:g} {p.get('unit', '')}"
        detail = f"{p['name']} v{p['version']}: {setting} ({p['mode']}) - {p['reason']}"
    elif event.type == "RiskLimitRemoved":
        detail = f"{p['name']} v{p['version']} removed - {p['reason']}"
    elif event.type == "TradingStateChanged":
        detail = f"{p.get('previous', '?')} -> {p['state']}: {p['reason']}"
    else:
        detail = f"alert {p['alert_id']} acknowledged: {p.get('note', '')}"
    return RiskAuditView(event.timestamp, event.portfolio_id, event.type, event.actor, detail)


class Coordinator:
    """Owns all mutable engine state; only the thread that runs cycles may call its methods.

    State changes only by events: ``_emit`` applies an event to the ``EngineState`` fold and queues
    it; the ``events`` stage appends the queue, the current-state projection and (every
    ``snapshot_every_events``) a snapshot in one transaction.
    """

    def __init__(
        self,
        instruments: tuple[Instrument, ...],
        mandates: tuple[PortfolioMandate, ...],
        sources: Mapping[str, SignalSource],
        desk: ExecutionDesk,
        bus: EventBus,
        repository: StateRepository,
        warmup_prices: np.ndarray,
        history_days: int,
        snapshot_every_events: int = 20_000,
        recent_items: int = 200,
        external_sources: Mapping[str, ExternalSourceSpec] | None = None,
        source_priorities: Mapping[str, float] | None = None,
        quality: QualityTracker | None = None,
        quality_record_every: int = 5,
        risk_lookback_days: int = 250,
        risk_record_every: int = 5,
        risk_manager: RiskManager | None = None,
        drawdown_window_days: int = 252,
        stress_scenarios: tuple[Scenario, ...] = (),
        stress_every_cycles: int = 5,
    ) -> None:
        self.instruments = instruments
        self.symbols = tuple(instrument.symbol for instrument in instruments)
        self.symbol_index = {symbol: i for i, symbol in enumerate(self.symbols)}
        self.sectors = tuple(instrument.sector for instrument in instruments)
        self.mandates = mandates
        used = {name for mandate in mandates for name in mandate.sources}
        self.sources = {name: sources[name] for name in sorted(used) if name in sources}
        self.external_sources = dict(external_sources or {})
        self.source_priorities = dict(source_priorities or {})
        self.intake = SignalIntake(
            SignalValidator(self.symbols, self.external_sources), self.external_sources
        )
        self.quality = quality or QualityTracker()
        self.quality_record_every = quality_record_every
        self.risk_lookback_days = risk_lookback_days
        self.risk_record_every = risk_record_every
        self.risk_manager = risk_manager or RiskManager(
            (),
            {m.portfolio_id: "default" for m in mandates},
            self.symbols,
            self.sectors,
        )
        self.gate = RiskGate()
        self.drawdown_window_days = drawdown_window_days
        # Historical windows aligned with this universe once, so each run is a dot product.
        self.stress_scenarios = tuple(
            HistoricalScenario(
                s.name, s.start, s.end, s.returns_for(self.symbols, self.sectors), origin=s.origin
            )
            if isinstance(s, HistoricalScenario)
            else s
            for s in stress_scenarios
        )
        self.stress_every_cycles = stress_every_cycles
        self._risk_model: RiskModel | None = None
        self._cycle_orders: dict[str, list[Order]] = {}
        self._approved: list[Order] = []
        self._gate_notes: dict[tuple[str, str], GateDecision] = {}
        self._budget_scaling: dict[str, tuple[str, float]] = {}
        self._last_measures: dict[str, Measures] = {}
        self._sleeve_risk: dict[str, tuple[tuple[str, float], ...]] = {}
        self.multipliers: dict[str, float] = {}
        self.desk = desk
        self.latest_impacts: dict[str, AllocationImpact] = {}
        self.bus = bus
        self.repository = repository
        self.snapshot_every_events = snapshot_every_events
        self.session_id = uuid.uuid4().hex[:12]

        self.state, self.recovery = repository.recover()
        self._check_recovered_state()
        # The shadow is fed only with committed events: comparing it with the live state after
        # each cycle proves that nothing changed the ledger without a stored event.
        self._shadow = EngineState.from_dict(self.state.to_dict())
        # Everything replayed at start-up came after the snapshot used (or is all there is).
        self._events_since_snapshot = self.recovery.events_replayed
        self._snapshot_written = False

        self.prices = RollingPrices(history_days, len(instruments))
        self.prices.extend(warmup_prices)
        # Traded volumes (shares) for liquidity estimates: only ticks carry them, so the window
        # starts with the first tick (a resumed engine rolls it through the ticks it skips).
        self.volumes = RollingPrices(history_days, len(instruments))
        self._stats: MarketStats | None = None
        if len(warmup_prices):
            self.ledger.mark(self.symbols, warmup_prices[-1])
        self.required_days = max(
            (source.required_days for source in self.sources.values()), default=2
        )

        self.cycle_errors = 0
        self.last_error: str | None = None
        self.last_cycle_fills: list[Fill] = []
        self._unpublished: list[Event] = []
        self._cycle_event_counter = 0
        self._latest_batches: tuple[SignalBatch, ...] = ()
        self._model_views: tuple[SignalBatch, ...] = ()
        self._latest_coordinated: dict[str, CoordinatedSignals] = {}
        self.signals_accepted_session = 0
        self.signals_rejected_session = 0
        self.conflicts_session: dict[str, int] = {m.portfolio_id: 0 for m in mandates}
        self._cycle_targets: dict[str, tuple[TargetWeights, np.ndarray]] = {}
        self.latest_allocations: dict[str, AllocationView] = {}
        self.latest_risk: dict[str, RiskView] = {}
        self.risk_history: dict[str, deque[tuple[date, float]]] = {}
        self._latest_sleeve_signals: dict[str, dict[str, CoordinatedSignals]] = {}
        # After a restart the recent trades come back from the log, oldest first as live.
        store = repository.store
        self.recent_orders: deque[Order] = deque(
            (
                order_from_event(e)
                for e in reversed(store.query(event_type="OrderCreated", limit=recent_items))
            ),
            maxlen=recent_items,
        )
        self.recent_crosses: deque[CrossView] = deque(maxlen=recent_items)
        self.recent_blocks: deque[BlockView] = deque(maxlen=recent_items)
        self.recent_fills: deque[Fill] = deque(
            (
                fill_from_event(e)
                for e in reversed(store.query(event_type="OrderFilled", limit=recent_items))
            ),
            maxlen=recent_items,
        )
        self.recent_cycles: deque[CycleReport] = deque(maxlen=300)
        self.recent_gate_decisions: deque[GateDecisionView] = deque(maxlen=recent_items)
        self.risk_audit: deque[RiskAuditView] = deque(
            sorted(
                (
                    _audit_view(e)
                    for kind in RISK_AUDIT_EVENTS
                    for e in store.query(event_type=kind, limit=recent_items)
                ),
                key=lambda view: view.recorded_at,
            ),
            maxlen=recent_items,
        )
        self.recent_rejections: deque[RejectedSignal] = deque(
            (
                rejection_from_event(e)
                for e in reversed(store.query(event_type="SignalRejected", limit=recent_items))
            ),
            maxlen=recent_items,
        )
        self.quality_history: deque[QualityPoint] = deque(
            (
                point
                for e in reversed(
                    store.query(event_type="SourceQualityMeasured", limit=QUALITY_HISTORY_EVENTS)
                )
                for point in quality_points_from_event(e)
            ),
            maxlen=QUALITY_HISTORY_EVENTS * max(1, len(used)),
        )
        self._open_new_portfolios()
        for change in self.risk_manager.config_changes(self.state):
            self._record(change, in_cycle=False)

    @property
    def ledger(self) -> Ledger:
        return self.state.ledger

    @property
    def cycles_completed(self) -> int:
        return self.state.cycles_completed

    @property
    def market_date(self) -> date | None:
        return self.state.market_date

    @property
    def orders_total(self) -> dict[str, int]:
        return self.state.orders_total

    @property
    def fills_total(self) -> dict[str, int]:
        return self.state.fills_total

    def _check_recovered_state(self) -> None:
        configured = {mandate.portfolio_id for mandate in self.mandates}
        stored = set(self.state.ledger.portfolio_ids)
        orphans = sorted(stored - configured)
        if orphans:
            raise RecoveryError(
                f"the event store holds portfolios {orphans} that the config does not define; "
                "add them back to the config or use another database (--database-url)"
            )
        unknown = sorted(
            {s for pid in stored for s in self.state.ledger.holdings_of(pid)} - set(self.symbols)
        )
        if unknown:
            raise RecoveryError(
                f"the event store holds positions in {unknown}, which the market data does not "
                "have; use the market data the portfolios were built on"
            )

    # -- events -------------------------------------------------------------------------------
    def _emit(
        self,
        event_type: str,
        payload: dict[str, object],
        portfolio_id: str | None = None,
        actor: str = ENGINE_ACTOR,
        in_cycle: bool = True,
    ) -> None:
        """Apply the event to the state, then queue it for the store.

        Payloads hold JSON values only (money as decimal strings, dates as ISO strings), so the
        state, subscribers and a reader of the store all see the same thing.

        Events of a cycle get ids from the cycle number and their position in it, so a cycle that
        is run again after a crash produces the same ids and the store drops nothing twice.
        """
        cycle = self.state.cycles_completed + 1
        if in_cycle:
            self._cycle_event_counter += 1
            event_id = f"c{cycle:09d}-{self._cycle_event_counter:05d}"
        else:
            event_id = f"s{self.session_id}-{uuid.uuid4().hex[:16]}"
        event = Event(
            event_id=event_id,
            type=event_type,
            timestamp=utc_now(),
            actor=actor,
            payload=payload,
            portfolio_id=portfolio_id,
            correlation_id=f"cycle-{cycle}",
        )
        self.state.apply(event)
        self._unpublished.append(event)
        if event_type in RISK_AUDIT_EVENTS:
            self.risk_audit.append(_audit_view(event))

    def _record(self, emit: Emit, in_cycle: bool = True) -> None:
        self._emit(emit.type, emit.payload, emit.portfolio_id, emit.actor, in_cycle)

    def _persist_state(self, connection: Connection, stored: list[Event]) -> None:
        """Runs inside the append transaction: the projection and, when due, a snapshot."""
        touched: set[tuple[str, str | None]] = set()
        for event in stored:
            if event.type == "OrderFilled":
                touched.add((event.portfolio_id or "", event.payload["symbol"]))
            elif event.type == "PortfolioOpened":
                touched.add((event.payload["portfolio_id"], None))
        last_seq = int(stored[-1].seq or 0)
        self.repository.write_projection(connection, self.state, touched, last_seq)
        if self._events_since_snapshot + len(stored) >= self.snapshot_every_events:
            self.repository.write_snapshot(connection, self.state, last_seq)
            self._snapshot_written = True

    def _flush_events(self) -> None:
        """Publish what is waiting; on failure keep it for the next try, so nothing is lost."""
        if not self._unpublished:
            return
        batch = list(self._unpublished)
        self._snapshot_written = False
        stored = self.bus.publish(batch, also=self._persist_state)
        del self._unpublished[: len(batch)]
        self._events_since_snapshot = (
            0 if self._snapshot_written else self._events_since_snapshot + len(stored)
        )
        for event in stored:
            self._shadow.apply(event)

    def _open_new_portfolios(self) -> None:
        """Configured portfolios the store does not know yet are opened with their cash."""
        for mandate in self.mandates:
            if mandate.portfolio_id not in self.state.ledger.portfolio_ids:
                self._emit(
                    "PortfolioOpened",
                    {
                        "portfolio_id": mandate.portfolio_id,
                        "name": mandate.name,
                        "initial_cash_usd": str(to_cash(mandate.initial_cash_usd)),
                        "allow_short": mandate.long_short,
                    },
                    mandate.portfolio_id,
                    in_cycle=False,
                )

    def start(self, details: Mapping[str, object]) -> None:
        """Record the start (and the recovery it began with) in the event log."""
        self._emit(
            "EngineStarted",
            {
                "session_id": self.session_id,
                "resumed_after_cycle": self.state.cycles_completed,
                "recovery": self.recovery.describe(),
                **details,
            },
            in_cycle=False,
        )
        self._flush_events()

    def record_finish(self) -> None:
        self._emit(
            "EngineFinished",
            {
                "session_id": self.session_id,
                "cycles": self.cycles_completed,
                "nav_usd": {
                    m.portfolio_id: str(self.ledger.nav_usd(m.portfolio_id)) for m in self.mandates
                },
            },
            in_cycle=False,
        )
        self._flush_events()

    def record_command(self, command: Command) -> None:
        """An applied command is an audited event: who, what, why."""
        self._emit(
            "CommandApplied",
            {"command": command.name, "reason": command.reason, **command.details()},
            actor=command.actor,
            in_cycle=False,
        )
        self._flush_events()

    def resume(self, ticks: Iterable[MarketTick]) -> Iterator[MarketTick]:
        """The ticks still to run. Those up to the last completed cycle's market date are not
        traded again: they only roll the price window and re-form the signal views whose quality
        is still being measured, as they did before the restart, so the source weights carry on
        exactly where they were."""
        done = self.state.market_date
        external = self._accepted_external_by_cycle() if done is not None else {}
        cycle = 0
        for tick in ticks:
            if done is not None and tick.timestamp <= done:
                cycle += 1
                self._stage_market(tick)
                if self._trading_ready():
                    batches = self._model_batches(tick.timestamp)
                    self.quality.record_batches(cycle, batches, tick.close)
                    self.quality.mature(cycle, tick.close)
                for signal in external.get(cycle, ()):
                    self._record_external_views(
                        cycle,
                        signal.source,
                        signal.horizon,
                        [self.symbol_index[signal.symbol]],
                        [signal.score],
                        tick.close,
                    )
                continue
            yield tick

    def _accepted_external_by_cycle(self, page_size: int = 5000) -> dict[int, list[Signal]]:
        """External views accepted recently enough that their quality may still be measured."""
        first = self.state.cycles_completed - MAX_HORIZON_DAYS
        accepted: dict[int, list[Signal]] = {}
        before: int | None = None
        while True:
            page = self.repository.store.query(
                event_type="SignalReceived", before_seq=before, limit=page_size
            )
            for event in page:
                cycle = int(event.payload["cycle"])
                if cycle < first:
                    page = []
                    break
                accepted.setdefault(cycle, []).append(signal_from_payload(event.payload))
            if len(page) < page_size:
                break
            before = page[-1].seq
        return {cycle: signals[::-1] for cycle, signals in accepted.items()}

    def _record_external_views(
        self,
        cycle: int,
        source: str,
        horizon: str,
        index: list[int],
        scores: list[float],
        close: np.ndarray,
    ) -> None:
        at = np.array(index, dtype=int)
        priced = np.isfinite(close[at]) & (close[at] > 0)
        if priced.any():
            self.quality.record(
                cycle,
                source,
                horizon,
                at[priced],
                np.array(scores)[priced],
                close[at[priced]],
                len(close),
            )

    # -- commands -----------------------------------------------------------------------------
    def handle(self, command: Command) -> Callable[[], None] | None:
        """Apply a signal or override command; None if it is not one (the runner handles the
        rest). Returns what answers the command's ``reply``: the runner calls it once the new
        snapshot is published, so whoever waits on the reply then reads a snapshot that shows
        the change."""
        if isinstance(command, SubmitSignals):
            work = self.submit_signals
        elif isinstance(command, SetOverride):
            work = self.set_override
        elif isinstance(command, LiftOverride):
            work = self.lift_override
        elif isinstance(command, SetWeightOverride):
            work = self.set_weight_override
        elif isinstance(command, LiftWeightOverride):
            work = self.lift_weight_override
        elif isinstance(command, CancelOrder):
            work = self.cancel_order
        elif isinstance(command, SetTradingState):
            work = self.set_trading_state
        elif isinstance(command, SetRiskLimit):
            work = self.set_risk_limit
        elif isinstance(command, AcknowledgeAlert):
            work = self.acknowledge_alert
        else:
            return None
        reply = command.reply
        try:
            result = work(command)
        except Exception as exc:
            return partial(reply.set_exception, exc)
        return partial(reply.set_result, result)

    def submit_signals(self, command: SubmitSignals) -> list[SignalOutcome]:
        """Validate external signals; record each as ``SignalReceived`` or ``SignalRejected``."""
        outcomes = self.intake.review(
            command.signals, self.state.market_date, self.state.signal_book.seen
        )
        close = self.prices.window()[-1] if len(self.prices) else None
        cycle = self.state.cycles_completed
        views: dict[tuple[str, str], tuple[list[int], list[float]]] = {}
        for outcome in outcomes:
            if outcome.status == "accepted" and outcome.signal is not None:
                signal = outcome.signal
                self._emit(
                    "SignalReceived",
                    {
                        **signal_payload(signal),
                        "cycle": cycle,
                        "market_date": self._market_date_text(),
                        "channel": command.channel,
                    },
                    actor=command.actor,
                    in_cycle=False,
                )
                self.signals_accepted_session += 1
                index, scores = views.setdefault((signal.source, signal.horizon), ([], []))
                index.append(self.symbol_index[signal.symbol])
                scores.append(signal.score)
            elif outcome.status == "rejected":
                self._emit(
                    "SignalRejected",
                    {
                        "index": outcome.index,
                        "signal_id": outcome.signal_id,
                        "source": outcome.source,
                        "instrument": outcome.instrument,
                        "field": outcome.field,
                        "reason": outcome.reason,
                        "value": outcome.value,
                        "channel": command.channel,
                        "market_date": self._market_date_text(),
                    },
                    actor=command.actor,
                    in_cycle=False,
                )
                self.signals_rejected_session += 1
                self.recent_rejections.append(rejection_from_event(self._unpublished[-1]))
        self._flush_events()
        if close is not None:
            for (source, horizon), (index, scores) in views.items():
                self._record_external_views(cycle, source, horizon, index, scores, close)
        return outcomes

    def _market_date_text(self) -> str | None:
        return self.state.market_date.isoformat() if self.state.market_date else None

    def set_override(self, command: SetOverride) -> Override:
        portfolio_ids = {m.portfolio_id for m in self.mandates}
        if command.portfolio_id != ALL_PORTFOLIOS and command.portfolio_id not in portfolio_ids:
            raise ValueError(
                f"portfolio_id: {command.portfolio_id!r} is not a portfolio "
                f"({', '.join(sorted(portfolio_ids))}, or * for all)"
            )
        if command.symbol not in self.symbol_index:
            raise ValueError(f"instrument: {command.symbol!r} is not in the market data")
        market_date = self.state.market_date
        if command.expires_on is not None and market_date and command.expires_on < market_date:
            raise ValueError(
                f"expires_on: {command.expires_on} is before the market date {market_date}"
            )
        override = Override(
            f"ovr-{uuid.uuid4().hex[:10]}",
            command.kind,
            command.portfolio_id,
            command.symbol,
            command.score if command.kind == "pin" else 0.0,
            command.confidence if command.kind == "pin" else 0.0,
            command.expires_on,
            command.actor,
            command.reason,
            market_date,
        )
        self._emit(
            "OverrideSet",
            override.payload(),
            None if override.portfolio_id == ALL_PORTFOLIOS else override.portfolio_id,
            actor=command.actor,
            in_cycle=False,
        )
        self._flush_events()
        return override

    def lift_override(self, command: LiftOverride) -> Override:
        override = self.state.overrides.get(command.override_id)
        if override is None:
            active = ", ".join(sorted(self.state.overrides)) or "none"
            raise ValueError(
                f"override_id: {command.override_id!r} is not active (active: {active})"
            )
        self._emit_override_end(override, f"lifted: {command.reason}", command.actor, False)
        self._flush_events()
        return override

    def _mandate(self, portfolio_id: str) -> PortfolioMandate:
        for mandate in self.mandates:
            if mandate.portfolio_id == portfolio_id:
                return mandate
        known = ", ".join(m.portfolio_id for m in self.mandates)
        raise ValueError(f"portfolio_id: {portfolio_id!r} is not a portfolio ({known})")

    def set_weight_override(self, command: SetWeightOverride) -> dict[str, object]:
        """Pin an instrument's target weight or exclude it, within the mandate's limits."""
        mandate = self._mandate(command.portfolio_id)
        allocator = mandate.allocator
        if command.symbol not in self.symbol_index:
            raise ValueError(f"instrument: {command.symbol!r} is not in the market data")
        weight = command.weight
        if weight is not None:
            low = -allocator.max_short_weight
            if not low <= weight <= allocator.max_weight:
                kind = "long/short" if mandate.long_short else "long-only"
                raise ValueError(
                    f"weight: {weight:.4%} is outside this {kind} mandate's bounds "
                    f"[{low:.2%}, {allocator.max_weight:.2%}] of NAV"
                )
            others = self.state.weight_overrides.get(command.portfolio_id, {})
            pinned = weight + sum(
                float(o["weight"])
                for symbol, o in others.items()
                if symbol != command.symbol and o["weight"] is not None
            )
            ceiling = allocator.net_range[1] if mandate.long_short else allocator.invested
            if pinned > ceiling + 1e-12:
                raise ValueError(
                    f"weight: pins would total {pinned:.2%} of NAV, above the {ceiling:.2%} "
                    "the mandate may invest"
                )
        payload: dict[str, object] = {
            "instrument": command.symbol,
            "weight": weight,
            "action": "exclude" if weight is None else "pin",
            "reason": command.reason,
            "market_date": self._market_date_text(),
        }
        self._emit(
            "WeightOverrideSet", payload, command.portfolio_id, actor=command.actor, in_cycle=False
        )
        self._flush_events()
        return payload

    def lift_weight_override(self, command: LiftWeightOverride) -> dict[str, object]:
        self._mandate(command.portfolio_id)
        active = self.state.weight_overrides.get(command.portfolio_id, {})
        if command.symbol not in active:
            raise ValueError(
                f"instrument: {command.symbol!r} has no weight override in "
                f"{command.portfolio_id} (overridden: {', '.join(sorted(active)) or 'none'})"
            )
        payload: dict[str, object] = {"instrument": command.symbol, "reason": command.reason}
        self._emit(
            "WeightOverrideLifted",
            payload,
            command.portfolio_id,
            actor=command.actor,
            in_cycle=False,
        )
        self._flush_events()
        return payload

    def cancel_order(self, command: CancelOrder) -> dict[str, object]:
        """Cancels an order not yet filled: it never reaches the venue."""
        order = self.state.pending_orders.get(command.order_id)
        if order is None:
            working = ", ".join(sorted(self.state.pending_orders)[:10]) or "none"
            raise ValueError(f"order_id: {command.order_id!r} is not working (working: {working})")
        payload = self._cancel(order, f"cancelled by {command.actor}: {command.reason}")
        self._flush_events()
        return payload

    def _cancel(self, order: Order, reason: str, in_cycle: bool = False) -> dict[str, object]:
        progress = self.state.order_progress.get(order.order_id)
        filled = progress.filled_shares if progress is not None else 0
        payload: dict[str, object] = {
            "order_id": order.order_id,
            "symbol": order.symbol,
            "side": order.side.value,
            "filled_shares": filled,
            "remaining_shares": order.quantity_shares - filled,
            "reason": reason,
        }
        self._emit("OrderCancelled", payload, order.portfolio_id, in_cycle=in_cycle)
        return payload

    def set_trading_state(self, command: SetTradingState) -> dict[str, object]:
        """A person sets a portfolio's trading state. HALTED cancels its working orders;
        REDUCING those that would not reduce a position."""
        self._mandate(command.portfolio_id)
        pid = command.portfolio_id
        now = self.state.trading_state(pid)
        if command.state == now:
            raise ValueError(f"state: {pid} is already {now}")
        payload = self._change_trading_state(
            pid, command.state, f"set by {command.actor}: {command.reason}", command.actor
        )
        self._flush_events()
        return payload

    def _change_trading_state(
        self,
        pid: str,
        state: str,
        reason: str,
        actor: str,
        limit: str | None = None,
        in_cycle: bool = False,
        automatic: bool = False,
    ) -> dict[str, object]:
        working = [o for o in self.state.pending_orders.values() if o.portfolio_id == pid]
        for order in working:
            if state == "HALTED" or (state == "REDUCING" and not self._reduces(order)):
                self._cancel(order, f"trading state {state}: {reason}", in_cycle=in_cycle)
        payload: dict[str, object] = {
            "state": state,
            "previous": self.state.trading_state(pid),
            "reason": reason,
            "automatic": automatic,
            **({"limit": limit} if limit else {}),
        }
        self._emit("TradingStateChanged", payload, pid, actor=actor, in_cycle=in_cycle)
        return payload

    def _reduces(self, order: Order) -> bool:
        """Whether what is left of a working order only reduces the position it trades."""
        progress = self.state.order_progress.get(order.order_id)
        left = order.quantity_shares - (progress.filled_shares if progress else 0)
        held = self.ledger.shares(order.portfolio_id, order.symbol)
        return (held > 0 and order.side is Side.SELL and left <= held) or (
            held < 0 and order.side is Side.BUY and left <= -held
        )

    def set_risk_limit(self, command: SetRiskLimit) -> dict[str, object]:
        """Sets or removes a risk limit of one portfolio or of every portfolio of a tenant."""
        if command.portfolio_id:
            self._mandate(command.portfolio_id)
            portfolio_ids, scope = [command.portfolio_id], "portfolio"
        else:
            tenants = self.risk_manager.tenants
            portfolio_ids = [p for p, t in tenants.items() if t == command.tenant]
            if not portfolio_ids:
                raise ValueError(
                    f"tenant: {command.tenant!r} has no portfolio "
                    f"(tenants: {', '.join(sorted(set(tenants.values())))})"
                )
            scope = f"tenant {command.tenant}"
        changes = self.risk_manager.command_changes(
            self.state,
            portfolio_ids,
            command.limit,
            command.value,
            command.mode,
            command.warn_at,
            command.on_breach,
            command.symbols,
            command.remove,
            command.actor,
            command.reason,
            scope,
        )
        for change in changes:
            self._record(change, in_cycle=False)
        cancelled = {pid: self._recheck_working_orders(pid, command.limit) for pid in portfolio_ids}
        self._flush_events()
        for pid in portfolio_ids:
            self._show_new_limits(pid)
        return {
            "limit": command.limit,
            "versions": {c.portfolio_id: c.payload["version"] for c in changes},
            "cancelled_orders": {pid: ids for pid, ids in cancelled.items() if ids},
        }

    def _recheck_working_orders(self, portfolio_id: str, limit: str) -> list[str]:
        """What is left of the portfolio's working orders goes through the gate again under the
        changed limits, at the latest close; an order that would no longer pass whole is
        cancelled (the next rebalance makes what fits). Returns the cancelled order ids."""
        working = [o for o in self.state.pending_orders.values() if o.portfolio_id == portfolio_id]
        if not working or not len(self.prices):
            return []
        left = []
        for order in working:
            progress = self.state.order_progress.get(order.order_id)
            remaining = order.quantity_shares - (progress.filled_shares if progress else 0)
            if remaining > 0:
                left.append(replace(order, quantity_shares=remaining))
        close = self.prices.window()[-1]
        decisions = self.gate.check(
            left,
            self._book(portfolio_id, close),
            self.risk_manager.limits(self.state, portfolio_id),
            self.state.trading_state(portfolio_id),
            self._risk_model,
        )
        cancelled = []
        for decision in decisions:
            if decision.action != "passed":
                order = self.state.pending_orders[decision.order.order_id]
                self._cancel(order, f"{limit} changed: {decision.reason}")
                cancelled.append(order.order_id)
        return cancelled

    def _book(self, portfolio_id: str, close: np.ndarray) -> Book:
        """The portfolio as the gate sees it at ``close`` (USD per share)."""
        manager = self.risk_manager
        return Book(
            float(self.ledger.nav_usd(portfolio_id)),
            self.ledger.shares_vector(portfolio_id, self.symbols),
            close,
            manager.sector_codes,
            manager.sector_names,
            self.symbols,
            self.symbol_index,
        )

    def _show_new_limits(self, portfolio_id: str) -> None:
        """The Risk view shows a changed limit at once, against the last close's measures;
        alerts follow at the next close, when the limit is monitored."""
        view, measures = self.latest_risk.get(portfolio_id), self._last_measures.get(portfolio_id)
        if view is None or measures is None:
            return
        usages = self.risk_manager.usage(
            self.risk_manager.limits(self.state, portfolio_id), measures
        )
        for usage in usages:
            if usage.limit.name != "restricted_instruments":
                usage.level = level_of(usage.utilisation, usage.limit.warn_at)
        self.latest_risk[portfolio_id] = replace(view, limits=tuple(_limit_view(u) for u in usages))

    def acknowledge_alert(self, command: AcknowledgeAlert) -> dict[str, object]:
        alert = self.state.risk_alerts.get(command.alert_id)
        if alert is None:
            open_ids = ", ".join(sorted(self.state.risk_alerts)[:10]) or "none"
            raise ValueError(f"alert_id: {command.alert_id!r} is not open (open: {open_ids})")
        payload: dict[str, object] = {"alert_id": command.alert_id, "note": command.reason}
        self._emit(
            "RiskAlertAcknowledged",
            payload,
            alert["portfolio_id"],
            actor=command.actor,
            in_cycle=False,
        )
        self._flush_events()
        return payload

    def _emit_override_end(
        self, override: Override, reason: str, actor: str, in_cycle: bool
    ) -> None:
        self._emit(
            "OverrideExpired",
            {
                "override_id": override.override_id,
                "kind": override.kind,
                "instrument": override.symbol,
                "reason": reason,
            },
            None if override.portfolio_id == ALL_PORTFOLIOS else override.portfolio_id,
            actor=actor,
            in_cycle=in_cycle,
        )

    # -- the cycle ----------------------------------------------------------------------------
    def run_cycle(self, tick: MarketTick) -> CycleReport:
        """Run every stage for ``tick``. An exception is recorded as a ``CycleFailed`` event and in
        the report; the state changes made before it (fills) keep their events, so the log and
        the ledger never disagree."""
        stage_ms: dict[str, float] = {}
        cycle = self.cycles_completed + 1
        self._cycle_event_counter = 0
        self._cycle_targets = {}
        self._cycle_orders = {}
        self._approved = []
        self._gate_notes = {}
        self._risk_model = None
        fills_before = sum(self.fills_total.values())
        orders_before = sum(self.orders_total.values())
        started = time.perf_counter()
        error = None
        try:
            for stage, work in (
                ("market", self._stage_market),
                ("execution", self._stage_execution),
                ("risk", self._stage_risk),
                ("signals", self._stage_signals),
                ("quality", self._stage_quality),
                ("coordination", self._stage_coordination),
                ("allocation", self._stage_allocation),
                ("orders", self._stage_orders),
                ("gate", self._stage_gate),
                ("trades", self._stage_trades),
            ):
                t0 = time.perf_counter()
                work(tick)
                stage_ms[stage] = (time.perf_counter() - t0) * 1000.0
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            self.cycle_errors += 1
            self.last_error = f"cycle {cycle} ({tick.timestamp}): {error}"
            log.error("cycle %s failed: %s", cycle, error)
            self._emit(
                "CycleFailed",
                {
                    "cycle": cycle,
                    "market_date": tick.timestamp.isoformat(),
                    "error": error,
                    "traceback": traceback.format_exc(limit=8),
                },
            )
        orders = sum(self.orders_total.values()) - orders_before
        fills = sum(self.fills_total.values()) - fills_before
        accrued = self._accrue_interest(tick.timestamp)
        self._emit(
            "CycleCompleted",
            {
                "cycle": cycle,
                "market_date": tick.timestamp.isoformat(),
                "orders": orders,
                "fills": fills,
                "failed": error is not None,
                "valuation_usd": {
                    m.portfolio_id: [
                        str(self.ledger.nav_usd(m.portfolio_id)),
                        str(self.ledger.cash_usd(m.portfolio_id)),
                    ]
                    for m in self.mandates
                },
                **({"interest_accrued_usd": accrued} if accrued else {}),
            },
        )
        t0 = time.perf_counter()
        try:
            self._flush_events()
        except Exception as exc:
            self.cycle_errors += 1
            self.last_error = f"cycle {cycle}: events not stored yet, will retry: {exc}"
            log.exception("event store append failed; %d events kept", len(self._unpublished))
        stage_ms["events"] = (time.perf_counter() - t0) * 1000.0
        if not self._unpublished:
            self._check_consistency()
        report = CycleReport(
            cycle,
            tick.timestamp,
            stage_ms,
            total_ms=(time.perf_counter() - started) * 1000.0,
            orders=orders,
            fills=fills,
            error=error,
            orders_checked=sum(len(made) for made in self._cycle_orders.values()),
        )
        self.recent_cycles.append(report)
        return report

    def _accrue_interest(self, today: date) -> dict[str, str]:
        """Interest on each portfolio's settled cash since the last market date (ACT/360, exact
        Decimal, not rounded); what accrued over a month is credited, to the cent, on the first
        cycle of the next (``CashInterestCredited``) and the fraction of a cent carries over."""
        last = self.state.market_date
        accrued: dict[str, str] = {}
        if last is None or today <= last:
            return accrued
        days = (today - last).days
        for mandate in self.mandates:
            pid = mandate.portfolio_id
            if mandate.interest_rate_annual == 0:
                continue
            if today.month != last.month:
                owed = to_cash(self.state.interest_accrual_usd.get(pid, Decimal(0)))
                if owed and self.ledger.cash_usd(pid) + owed >= 0:
                    self._emit(
                        "CashInterestCredited",
                        {
                            "amount_usd": str(owed),
                            "market_date": today.isoformat(),
                            "period": f"{last.year:04d}-{last.month:02d}",
                            "rate_annual": mandate.interest_rate_annual,
                            "day_count": "ACT/360",
                        },
                        pid,
                    )
            settled = self.ledger.settled_cash_usd(pid)
            rate = Decimal(str(mandate.interest_rate_annual))
            accrued[pid] = str(settled * rate * days / Decimal(360))
        return accrued

    def _check_consistency(self) -> None:
        """Cheap per-cycle check: every portfolio's cash and positions in the live state equal
        the fold of the committed events. A difference halts that portfolio and raises an alert."""
        live, shadow = self.state.ledger, self._shadow.ledger
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
                self._emit("ConsistencyAlert", {"differences": differences}, pid, in_cycle=False)
                self._emit(
                    "TradingStateChanged",
                    {"state": "HALTED", "reason": f"consistency check failed: {reason}"},
                    pid,
                    in_cycle=False,
                )
                self._flush_events()

    def _market_stats(self) -> MarketStats:
        """Daily volatility and average daily volume (shares) of every instrument, over the
        days both windows cover; for the cost model. Computed once per close: execution, every
        proposal's cost estimate and the orders stage read the same figures."""
        if self._stats is None:
            days = len(self.volumes)
            self._stats = market_stats(self.prices.window()[-days:], self.volumes.window())
        return self._stats

    def _stage_market(self, tick: MarketTick) -> None:
        self.prices.append(tick.close)
        self.volumes.append(tick.volume_shares)
        self._stats = None
        self.ledger.mark(self.symbols, tick.close)

    def _stage_execution(self, tick: MarketTick) -> None:
        self.last_cycle_fills = []
        if not self.state.pending_orders:
            return
        cycle = self.cycles_completed + 1
        working = {
            order_id: (order, self.state.order_progress[order_id])
            for order_id, order in self.state.pending_orders.items()
        }
        window = self.prices.window()
        arrival = {}
        for order_id, (_, progress) in working.items():
            back = cycle - (progress.created_cycle + 1)  # rows back from today's close
            if 0 <= back < len(window):
                arrival[order_id] = window[len(window) - 1 - back]
        day = self.desk.execute(
            working,
            cycle,
            tick.close,
            tick.volume_shares,
            self._market_stats(),
            self.symbol_index,
            {pid: self.ledger.cash_usd(pid) for pid in self.ledger.portfolio_ids},
            self.ledger.holdings(),
            frozenset(m.portfolio_id for m in self.mandates if m.long_short),
            arrival,
            f"B{cycle:08d}",
        )
        market_date = tick.timestamp.isoformat()
        for record in day.crosses:
            self._emit(
                "CrossExecuted",
                {
                    "market_date": market_date,
                    "symbol": record.symbol,
                    "quantity_shares": record.quantity_shares,
                    "price_usd": str(record.price_usd),
                    "orders": record.orders,
                    "unmatched": record.unmatched,
                    "savings_usd": {pid: str(v) for pid, v in record.savings_usd.items()},
                },
            )
            if record.quantity_shares:
                by_portfolio: dict[str, int] = {}
                for order_id, shares in record.orders.items():
                    pid = working[order_id][0].portfolio_id
                    by_portfolio[pid] = by_portfolio.get(pid, 0) + shares
                self.recent_crosses.append(
                    CrossView(
                        tick.timestamp,
                        record.symbol,
                        record.quantity_shares,
                        record.price_usd,
                        tuple(sorted(by_portfolio.items())),
                        sum(record.savings_usd.values(), Decimal(0)),
                    )
                )
        settles = {
            m.portfolio_id: np.busday_offset(
                tick.timestamp, m.settlement_days, roll="forward"
            ).astype(date)
            for m in self.mandates
        }
        day_index: dict[str, int] = {}
        filled_after = {oid: progress.filled_shares for oid, (_, progress) in working.items()}
        for done in day.fills:
            order = done.order
            filled_after[order.order_id] += done.quantity_shares
            d = cycle - working[order.order_id][1].created_cycle - 1
            suffix = "X" if done.venue == "internal cross" else f"F{d:02d}"
            n = day_index[order.order_id] = day_index.get(order.order_id, 0) + 1
            fill = Fill(
                f"{order.order_id}-{suffix}{'' if n == 1 else n}",
                order.order_id,
                order.portfolio_id,
                order.symbol,
                order.side,
                done.quantity_shares,
                done.price_usd,
                done.commission_usd,
                tick.timestamp,
                settles[order.portfolio_id],
            )
            self._emit(
                "OrderFilled",
                {
                    "order_id": fill.order_id,
                    "fill_id": fill.fill_id,
                    "symbol": fill.symbol,
                    "side": fill.side.value,
                    "quantity_shares": fill.quantity_shares,
                    "price_usd": str(fill.price_usd),
                    "market_price_usd": str(done.market_price_usd),
                    "commission_usd": str(fill.commission_usd),
                    "cash_change_usd": str(fill.cash_change_usd),
                    "venue": done.venue,
                    "block_id": done.block_id,
                    "state": "FILLED"
                    if filled_after[order.order_id] == order.quantity_shares
                    else "PARTIALLY_FILLED",
                    "market_date": market_date,
                    "settlement_date": settles[order.portfolio_id].isoformat(),
                },
                fill.portfolio_id,
            )
            self.last_cycle_fills.append(fill)
            self.recent_fills.append(fill)
        for block in day.blocks:
            self._emit(
                "BlockExecuted",
                {
                    "market_date": market_date,
                    "block_id": block.block_id,
                    "symbol": block.symbol,
                    "side": block.side.value,
                    "planned_shares": block.planned_shares,
                    "filled_shares": block.filled_shares,
                    "price_usd": None if block.price_usd is None else str(block.price_usd),
                    "children": block.children,
                },
            )
            self.recent_blocks.append(
                BlockView(
                    block.block_id,
                    tick.timestamp,
                    block.symbol,
                    block.side.value,
                    block.planned_shares,
                    block.filled_shares,
                    len(block.children),
                )
            )
        for completion in day.completions:
            self._complete(completion, market_date)

    def _complete(self, completion: Completion, market_date: str) -> None:
        quality = completion.quality
        self._emit(
            "OrderCompleted",
            {
                "order_id": completion.order.order_id,
                "symbol": completion.order.symbol,
                "state": completion.state,
                "reason": completion.reason,
                "market_date": market_date,
                "shortfall": {name: str(getattr(quality, name)) for name in QUALITY_FIELDS},
                "shortfall_bps": round(quality.total_bps, 3),
            },
            completion.order.portfolio_id,
        )

    def _stage_risk(self, tick: MarketTick) -> None:
        """Each portfolio's risk at this close from what it now holds, after the fills (the
        post-trade check; see engine/risk/metrics.py): limit utilisation, alerts and automatic
        trading states; kept for the dashboard, and recorded as ``RiskMeasured`` every few
        cycles. The risk model built here serves the cycle's allocation and risk gate."""
        window = self.prices.window()
        if len(window) < 3:
            return
        returns, full_history = trailing_returns(window, self.risk_lookback_days)
        columns = np.flatnonzero(full_history)
        if len(columns) == 0 or len(returns) < 2:
            return
        scenarios = returns[:, columns]
        covariance = np.atleast_2d(np.cov(scenarios, rowvar=False))
        self._risk_model = RiskModel(columns, covariance, scenarios)
        cycle = self.cycles_completed + 1
        # Each NAV once: valuing a book sums every position exactly (Decimal).
        nav_now = {
            m.portfolio_id: float(self.ledger.nav_usd(m.portfolio_id)) for m in self.mandates
        }
        holdings = {
            pid: self._current_weights(pid, tick.close, nav) for pid, nav in nav_now.items()
        }
        stress: dict[str, tuple[StressView, ...]] | None = None
        if cycle % self.stress_every_cycles == 0:  # by the cycle alone: the same after a restart
            full_covariance = np.zeros((len(self.symbols), len(self.symbols)))
            full_covariance[np.ix_(columns, columns)] = covariance
            stress = self._stress_all(holdings, full_covariance, tick.timestamp)
        sectors = np.array(self.sectors)
        for mandate in self.mandates:
            pid = mandate.portfolio_id
            weights = holdings[pid]
            figures = risk_figures(weights[columns], scenarios, covariance)
            navs = [point.nav_usd for point in self.state.nav_history.get(pid, ())]
            nav_series = np.array([*navs, nav_now[pid]])
            current_dd, max_dd = drawdowns(nav_series)
            held = weights != 0
            share = np.zeros(len(weights))
            share[columns] = figures.contributions
            by_symbol = tuple(
                (self.symbols[i], float(share[i]))
                for i in np.argsort(-np.abs(share), kind="stable")
                if share[i] != 0
            )
            exposure = tuple(
                (name, float(weights[held & (sectors == name)].sum()))
                for name in sorted(set(sectors[held]))
            )
            by_sector = tuple(
                sorted(
                    ((name, float(share[sectors == name].sum())) for name in set(sectors[held])),
                    key=lambda item: -abs(item[1]),
                )
            )
            history = self.risk_history.setdefault(pid, deque(maxlen=RISK_HISTORY_POINTS))
            history.append((tick.timestamp, figures.var_historical[0.99]))
            usages = self._monitor(mandate, tick, weights, figures, nav_series)
            previous = self.latest_risk.get(pid)
            if stress is not None:
                stressed = stress.get(pid, ())
            else:
                stressed = previous.stress if previous is not None else ()
            view = RiskView(
                pid,
                tick.timestamp,
                figures.gross_exposure,
                figures.net_exposure,
                figures.volatility_annual,
                figures.var_parametric[0.95],
                figures.var_parametric[0.99],
                figures.cvar_parametric[0.95],
                figures.cvar_parametric[0.99],
                figures.var_historical[0.95],
                figures.var_historical[0.99],
                figures.cvar_historical[0.95],
                figures.cvar_historical[0.99],
                current_dd,
                max_dd,
                exposure,
                by_symbol,
                by_sector,
                tuple(history),
                self.state.trading_state(pid),
                tuple(_limit_view(u) for u in usages),
                sleeve_contributions=self._sleeve_risk.get(pid, ()),
                stress=stressed,
                budget_scaling=self._budget_scaling.get(pid),
                attribution=self._attribution(weights, columns, covariance, scenarios),
            )
            self.latest_risk[pid] = view
            if cycle % self.risk_record_every == 0:
                self._emit(
                    "RiskMeasured",
                    {
                        "market_date": tick.timestamp.isoformat(),
                        **{name: _json_float(getattr(view, name)) for name in RISK_FIELDS},
                        "var_99_contributions": {s: round(v, 6) for s, v in by_symbol[:25]},
                        "utilisation": {u.limit.name: _json_float(u.utilisation) for u in usages},
                        **(
                            {"stress": {v.scenario: _json_float(v.pnl_holdings) for v in stressed}}
                            if stress is not None
                            else {}
                        ),
                    },
                    pid,
                )

    def _stress_all(
        self, holdings: dict[str, np.ndarray], covariance: np.ndarray, today: date
    ) -> dict[str, tuple[StressView, ...]]:
        """The stress scenarios (engine/risk/stress.py) on every portfolio's holdings and latest
        proposed allocation, in one pass. Historical windows count once they are history."""
        scenarios = [
            s
            for s in self.stress_scenarios
            if not isinstance(s, HistoricalScenario) or s.end <= today
        ]
        if not scenarios or not holdings:
            return {}
        rows, proposed = list(holdings.values()), {}
        for pid in holdings:
            targets = self.state.targets.get(pid)
            if targets:
                target = np.zeros(len(self.symbols))
                for symbol, weight in targets.items():
                    target[self.symbol_index[symbol]] = weight
                proposed[pid] = len(rows)
                rows.append(target)
        pnl = stress_pnl(
            np.array(rows),
            scenarios,
            symbols=self.symbols,
            sectors=self.sectors,
            covariance=covariance,
        )
        return {
            pid: tuple(
                StressView(
                    scenario.name,
                    scenario.kind,
                    scenario.window or "",
                    float(pnl[k, p]),
                    float(pnl[k, proposed[pid]]) if pid in proposed else None,
                )
                for k, scenario in enumerate(scenarios)
            )
            for p, pid in enumerate(holdings)
        }

    def _attribution(
        self,
        weights: np.ndarray,
        columns: np.ndarray,
        covariance: np.ndarray,
        scenarios: np.ndarray,
    ) -> tuple[InstrumentRiskView, ...]:
        """Marginal and component volatility, VaR and CVaR of each holding with a history."""
        w = weights[columns]
        if not np.any(w):
            return ()
        annual = float(np.sqrt(TRADING_DAYS_PER_YEAR))
        vol = volatility_attribution(w, covariance)
        var = parametric_var_attribution(w, covariance, 0.99)
        cvar = historical_cvar_attribution(w, scenarios, 0.99)
        held = np.flatnonzero(w)
        held = held[np.argsort(-np.abs(var.component[held]), kind="stable")]
        return tuple(
            InstrumentRiskView(
                self.symbols[columns[k]],
                self.sectors[columns[k]],
                float(w[k]),
                float(vol.marginal[k]) * annual,
                float(vol.component[k]) * annual,
                float(var.marginal[k]),
                float(var.component[k]),
                float(cvar.component[k]),
            )
            for k in held
        )

    def _monitor(
        self,
        mandate: PortfolioMandate,
        tick: MarketTick,
        weights: np.ndarray,
        figures: RiskFigures,
        nav_series: np.ndarray,
    ) -> list[LimitUsage]:
        """Utilisation of the portfolio's limits, the alerts it raises or clears, and the
        trading state a breach calls for."""
        pid = mandate.portfolio_id
        limits = self.risk_manager.limits(self.state, pid)
        recent = nav_series[-(self.drawdown_window_days + 1) :]
        _, notional, count = self.state.last_orders.get(pid, (0, 0.0, 0))
        budget = {
            "volatility": figures.volatility_annual,
            **{
                f"{measure}_{int(level * 100)}_{method}": getattr(figures, f"{measure}_{method}")[
                    level
                ]
                for measure in ("var", "cvar")
                for method in ("parametric", "historical")
                for level in (0.95, 0.99)
            },
        }
        if "tracking_error" in limits and self._risk_model is not None:
            model = replace(self._risk_model, benchmark=self._benchmark(mandate))
            budget["tracking_error"] = budget_measure("tracking_error", weights, model)
        measures = Measures(weights, budget, drawdowns(recent)[0], notional, count)
        self._last_measures[pid] = measures
        usages = self.risk_manager.usage(limits, measures)
        for change in self.risk_manager.alerts(self.state, pid, usages, tick.timestamp):
            self._record(change)
        decided = self.risk_manager.automatic_state(self.state, pid, usages)
        if decided is not None:
            state, reason, limit = decided
            self._change_trading_state(
                pid, state, reason, MONITOR_ACTOR, limit, in_cycle=True, automatic=True
            )
        return usages

    def _benchmark(self, mandate: PortfolioMandate) -> np.ndarray:
        """The tracking error's benchmark: the portfolio's universe, equally weighted."""
        universe = mandate.universe.astype(float)
        return universe / max(universe.sum(), 1.0)

    def _trading_ready(self) -> bool:
        return len(self.prices) >= self.required_days

    def _model_batches(self, timestamp: date) -> tuple[SignalBatch, ...]:
        window = self.prices.window()
        return tuple(
            batch
            for source in self.sources.values()
            for batch in source.generate(window, timestamp)
        )

    def _stage_signals(self, tick: MarketTick) -> None:
        for override in list(self.state.overrides.values()):
            if override.expires_on is not None and override.expires_on < tick.timestamp:
                self._emit_override_end(
                    override, f"expired after {override.expires_on}", ENGINE_ACTOR, True
                )
        if not self._trading_ready():
            self._latest_batches = ()
            self._model_views = ()
            return
        self._model_views = self._model_batches(tick.timestamp)
        self._latest_batches = self._model_views + self.state.signal_book.batches(
            self.symbol_index, tick.timestamp
        )

    def _stage_quality(self, tick: MarketTick) -> None:
        if not self._latest_batches:
            return
        cycle = self.cycles_completed + 1
        self.quality.record_batches(cycle, self._model_views, tick.close)
        self.quality.mature(cycle, tick.close)
        names = [*self.sources, *self.external_sources]
        qualities = [self.quality.quality(name) for name in names]
        self.multipliers = {q.source: q.multiplier for q in qualities}
        if cycle % self.quality_record_every == 0:
            self._emit(
                "SourceQualityMeasured",
                {
                    "market_date": tick.timestamp.isoformat(),
                    "sources": {
                        q.source: {
                            "ic": _json_float(q.ic),
                            "hit_rate": _json_float(q.hit_rate),
                            "coverage": _json_float(q.coverage),
                            "observations": q.observations,
                            "weight_multiplier": round(q.multiplier, 6),
                        }
                        for q in qualities
                    },
                },
            )
            self.quality_history.extend(quality_points_from_event(self._unpublished[-1]))

    def _due(self, mandate: PortfolioMandate) -> bool:
        return (self.cycles_completed % mandate.rebalance_every_days) == 0

    def _stage_coordination(self, tick: MarketTick) -> None:
        if not self._latest_batches:
            return
        overrides = tuple(self.state.overrides.values())
        for mandate in self.mandates:
            coordinate = partial(
                SignalCoordinator.coordinate,
                batches=self._latest_batches,
                symbols=self.symbols,
                timestamp=tick.timestamp,
                universe=mandate.universe,
                multipliers=self.multipliers,
                overrides=overrides,
            )
            coordinated = coordinate(mandate.coordinator)
            self._latest_coordinated[mandate.portfolio_id] = coordinated
            if mandate.sleeves and self._due(mandate):
                # Each sleeve reads its own sources; the portfolio's view above is what the
                # Signals page and the impact assessment show.
                self._latest_sleeve_signals[mandate.portfolio_id] = {
                    sleeve.sleeve_id: coordinate(sleeve.coordinator) for sleeve in mandate.sleeves
                }
            self.conflicts_session[mandate.portfolio_id] += coordinated.conflicts_total
            # Recorded when they decide something: on the portfolio's rebalance days.
            if not self._due(mandate) or not coordinated.conflicts_total:
                continue
            self._emit(
                "SignalConflictsResolved",
                {
                    "market_date": tick.timestamp.isoformat(),
                    "policy": coordinated.policy,
                    "conflicts_total": coordinated.conflicts_total,
                    "conflicts": [
                        {
                            "instrument": c.symbol,
                            "sources": {
                                v.source: {
                                    "score": v.score,
                                    "confidence": v.confidence,
                                    "weight": v.weight,
                                    "priority": v.priority,
                                }
                                for v in c.views
                            },
                            "score": c.score,
                            "confidence": c.confidence,
                            "resolution": c.resolution,
                        }
                        for c in coordinated.conflicts
                    ],
                },
                mandate.portfolio_id,
            )

    def _current_weights(
        self, portfolio_id: str, close: np.ndarray, nav: float | None = None
    ) -> np.ndarray:
        """What the portfolio holds, as fractions of its NAV (``nav`` in USD if known)."""
        if nav is None:
            nav = float(self.ledger.nav_usd(portfolio_id))
        if nav <= 0:
            return np.zeros(len(close))
        shares = self.ledger.shares_vector(portfolio_id, self.symbols)
        return np.where(shares != 0, shares * np.nan_to_num(close) / nav, 0.0)

    def _weight_pins(self, portfolio_id: str) -> tuple[np.ndarray | None, np.ndarray]:
        """A manager's weight overrides: pinned weights (NaN where none) and excluded names."""
        overrides = self.state.weight_overrides.get(portfolio_id, {})
        excluded = np.zeros(len(self.symbols), dtype=bool)
        if not overrides:
            return None, excluded
        pins = np.full(len(self.symbols), np.nan)
        for symbol, override in overrides.items():
            i = self.symbol_index[symbol]
            if override["weight"] is None:
                excluded[i] = True
            else:
                pins[i] = float(override["weight"])
        return pins, excluded

    def _stage_allocation(self, tick: MarketTick) -> None:
        if not self._latest_batches:
            return
        due = [mandate for mandate in self.mandates if self._due(mandate)]
        if not due:
            return
        tradable = np.isfinite(tick.close) & (tick.close > 0)
        window = self.prices.window()
        for mandate in due:
            pid = mandate.portfolio_id
            allocator = mandate.allocator
            pins, excluded = self._weight_pins(pid)
            if pins is not None:
                pins = np.where(tradable, pins, np.nan)
            eligible = mandate.universe & tradable & ~excluded & ~self._restricted(pid)
            current = self._current_weights(pid, tick.close)
            sleeve_outcomes: tuple[SleeveOutcome, ...] = ()
            budgeting: dict[str, object] = {}
            if mandate.sleeves:
                combined = allocate_sleeves(
                    pid,
                    mandate.sleeves,
                    self._latest_sleeve_signals[pid],
                    self._sleeve_weights(pid),
                    eligible,
                    tick.timestamp,
                    window,
                    self.sectors,
                    pins,
                )
                combined, budgeting = self._budget_sleeves(mandate, combined, tick.timestamp)
                outcome, sleeve_outcomes = combined.outcome, combined.sleeves
                self._sleeve_risk[pid] = self._sleeve_attribution(sleeve_outcomes)
            else:
                outcome = allocator.allocate(
                    self._latest_coordinated[pid],
                    eligible,
                    tick.timestamp,
                    window,
                    current,
                    self.sectors,
                    pins,
                )
            if outcome.status != "infeasible":
                outcome = self._within_budget(mandate, outcome, tick)
            shares = None
            binding: tuple[str, ...] = ()
            nav = float(self.ledger.nav_usd(pid))
            if outcome.status != "infeasible" and nav > 0:
                # Whole shares, keeping the mandate's limits: what the orders will aim at.
                limits = allocator.share_limits(current, outcome.sized, self.sectors)
                held = self.ledger.shares_vector(pid, self.symbols)
                rounded = round_to_shares(outcome.target.weights, nav, tick.close, held, limits)
                if rounded.breaches:
                    outcome = AllocationOutcome(
                        outcome.target,
                        outcome.model,
                        "infeasible",
                        "whole shares cannot keep "
                        + ", ".join(sorted(rounded.breaches))
                        + " at these prices",
                    )
                else:
                    shares = rounded.shares
                    unit = np.where(tradable, tick.close, 0.0) / nav
                    binding = binding_limits(rounded.weights, unit, current, limits, self.symbols)
                    outcome = replace(
                        outcome,
                        target=TargetWeights(
                            pid, tick.timestamp, rounded.weights, rounded.cash_weight
                        ),
                    )
            # Recorded as events: a portfolio (or sleeve) that did not get the model it asked for.
            for sleeve_result in sleeve_outcomes:
                if sleeve_result.outcome.status != "ok":
                    self._allocation_problem(
                        pid, tick, sleeve_result.outcome, sleeve_result.sleeve.sleeve_id
                    )
            if outcome.status != "ok" and (not sleeve_outcomes or outcome.status == "infeasible"):
                self._allocation_problem(pid, tick, outcome)
            if outcome.status == "infeasible" or shares is None:
                self.latest_allocations[pid] = AllocationView(
                    tick.timestamp, outcome.model, outcome.status, outcome.reason, (), ()
                )
                continue  # nothing to trade: the targets stay where the holdings are
            target = outcome.target
            self._cycle_targets[pid] = (target, shares)
            impact = self._propose(mandate, target.weights, current, eligible, window, tick)
            self.latest_allocations[pid] = AllocationView(
                tick.timestamp,
                outcome.model,
                outcome.status,
                outcome.reason,
                binding,
                impact.risk_contributions if impact is not None else (),
                tuple(self._sleeve_view(result) for result in sleeve_outcomes),
            )
            held_weights = {
                self.symbols[i]: round(float(target.weights[i]), 6)
                for i in np.flatnonzero(target.weights)
            }
            self._emit(
                "TargetWeightsSet",
                {
                    "market_date": tick.timestamp.isoformat(),
                    "weights": held_weights,
                    "cash_weight": round(target.cash_weight, 6),
                    "model": outcome.model,
                    "binding": list(binding),
                    **(
                        {
                            "sleeves": {
                                r.sleeve.sleeve_id: {
                                    self.symbols[i]: round(float(r.weights[i]), 8)
                                    for i in np.flatnonzero(r.weights)
                                }
                                for r in sleeve_outcomes
                            },
                            "sleeve_capital": {
                                r.sleeve.sleeve_id: round(r.sleeve.capital, 8)
                                for r in sleeve_outcomes
                            },
                            "sleeve_var_99_shares": {
                                sleeve: round(share, 8)
                                for sleeve, share in self._sleeve_risk.get(pid, ())
                            },
                            **budgeting,
                        }
                        if sleeve_outcomes
                        else {}
                    ),
                },
                pid,
            )

    def _restricted(self, portfolio_id: str) -> np.ndarray:
        """Instruments the portfolio may hold no new exposure to: the allocation leaves them
        out (so a rebalance sells what is held), and the gate blocks any order adding to them."""
        limit = self.risk_manager.limits(self.state, portfolio_id).get("restricted_instruments")
        mask = np.zeros(len(self.symbols), dtype=bool)
        if limit is not None:
            mask[[self.symbol_index[s] for s in limit.symbols]] = True
        return mask

    def _within_budget(
        self, mandate: PortfolioMandate, outcome: AllocationOutcome, tick: MarketTick
    ) -> AllocationOutcome:
        """The allocation scaled toward cash when its volatility, VaR or CVaR is over the
        portfolio's budget (risk-adjusted coordination: before orders, not only at the gate)."""
        pid = mandate.portfolio_id
        self._budget_scaling.pop(pid, None)
        if self._risk_model is None:
            return outcome
        limits = self.risk_manager.limits(self.state, pid)
        scaling = self.risk_manager.budget_scaling(limits, outcome.target.weights, self._risk_model)
        if scaling is None:
            return outcome
        weights = outcome.target.weights * scaling.factor
        self._budget_scaling[pid] = (scaling.limit, scaling.factor)
        self._emit(
            "AllocationScaled",
            {
                "market_date": tick.timestamp.isoformat(),
                "limit": scaling.limit,
                "value": round(scaling.value, 8),
                "threshold": scaling.threshold,
                "factor": round(scaling.factor, 8),
            },
            pid,
        )
        target = TargetWeights(pid, tick.timestamp, weights, 1.0 - float(weights.sum()))
        return replace(outcome, target=target)

    def _allocation_problem(
        self, portfolio_id: str, tick: MarketTick, outcome: AllocationOutcome, sleeve: str = ""
    ) -> None:
        infeasible = outcome.status == "infeasible"
        if sleeve:
            action = "sleeve kept its weights" if infeasible else "sleeve used signal_proportional"
        else:
            action = "kept current holdings" if infeasible else "used signal_proportional"
        self._emit(
            "AllocationInfeasible" if infeasible else "AllocationFallback",
            {
                "market_date": tick.timestamp.isoformat(),
                "model": outcome.model,
                "reason": outcome.reason,
                "action": action,
                **({"sleeve": sleeve} if sleeve else {}),
            },
            portfolio_id,
        )

    def _budget_sleeves(
        self, mandate: PortfolioMandate, combined: CombinedAllocation, today: date
    ) -> tuple[CombinedAllocation, dict[str, object]]:
        """The sleeves recombined with the capital their risk budgets call for
        (engine/risk/budgets.py), from the weights just sized; the configured capital while a
        sleeve holds nothing."""
        budgeting, model = mandate.sleeve_budgeting, self._risk_model
        if budgeting is None or model is None:
            return combined, {}
        weights = np.array([r.weights[model.columns] for r in combined.sleeves])
        decided = budgeting.allocate(weights, model.covariance, model.scenarios)
        if decided is None:
            return combined, {}
        ids = [r.sleeve.sleeve_id for r in combined.sleeves]
        return recombine(mandate.portfolio_id, today, combined, decided.capital), {
            "sleeve_risk_budgets": {
                i: round(float(b), 8) for i, b in zip(ids, decided.budgets, strict=True)
            },
            "sleeve_volatility_daily": {
                i: [_json_float(float(a)), _json_float(float(b))]
                for i, a, b in zip(ids, decided.short_vol, decided.long_vol, strict=True)
            },
        }

    def _sleeve_attribution(
        self, outcomes: tuple[SleeveOutcome, ...]
    ) -> tuple[tuple[str, float], ...]:
        """Each sleeve's Euler share of the combined target's parametric 99% VaR."""
        model = self._risk_model
        if model is None or not outcomes:
            return ()
        contributions = np.array([r.contribution[model.columns] for r in outcomes])
        attribution = parametric_var_attribution(contributions.sum(axis=0), model.covariance, 0.99)
        if attribution.total <= 0:
            return ()
        shares = by_sleeve(contributions, attribution.marginal) / attribution.total
        return tuple(
            (r.sleeve.sleeve_id, float(share)) for r, share in zip(outcomes, shares, strict=True)
        )

    def _sleeve_weights(self, portfolio_id: str) -> dict[str, np.ndarray]:
        """Each sleeve's last weights (of its own capital), from the last ``TargetWeightsSet``."""
        recorded = self.state.sleeve_targets.get(portfolio_id, {})
        weights = {}
        for sleeve_id, by_symbol in recorded.items():
            vector = np.zeros(len(self.symbols))
            for symbol, weight in by_symbol.items():
                vector[self.symbol_index[symbol]] = weight
            weights[sleeve_id] = vector
        return weights

    def _sleeve_view(self, result: SleeveOutcome) -> SleeveView:
        contribution = result.contribution
        order = np.argsort(-np.abs(contribution), kind="stable")
        return SleeveView(
            result.sleeve.sleeve_id,
            result.sleeve.capital,
            result.outcome.model,
            result.sleeve.sources,
            tuple((self.symbols[i], float(contribution[i])) for i in order if contribution[i] != 0),
        )

    def _propose(
        self,
        mandate: PortfolioMandate,
        target: np.ndarray,
        current: np.ndarray,
        eligible: np.ndarray,
        window: np.ndarray,
        tick: MarketTick,
    ) -> AllocationImpact | None:
        """The proposal's impact, recorded before any order is made (``AllocationProposed``)."""
        pid = mandate.portfolio_id
        nav = float(self.ledger.nav_usd(pid))
        stats = self._market_stats()
        priced = np.isfinite(tick.close) & (tick.close > 0)
        shares = np.where(
            priced, np.abs(target - current) * nav / np.where(priced, tick.close, 1), 0
        )
        cost_bps = self.desk.cost_model.estimate_bps(
            np.rint(shares), tick.close, stats.daily_volatility, stats.adv_shares
        )
        # Unknown liquidity prices at the spread and commission only, and says so in no figure:
        # the venue will not trade such a name anyway.
        floor_bps = float(
            (self.desk.cost_model.half_spread + self.desk.cost_model.commission_rate) * 10_000
        )
        cost_bps = np.where(np.isfinite(cost_bps), cost_bps, floor_bps)
        assessed = mandate.allocator.assess(
            self.symbols,
            self._latest_coordinated[pid],
            target,
            current,
            eligible,
            window,
            nav,
            cost_bps,
        )
        if assessed is None:
            return None
        impact, unassessed = assessed
        self.latest_impacts[pid] = impact
        self._emit(
            "AllocationProposed",
            {
                "market_date": tick.timestamp.isoformat(),
                "model": mandate.allocator.model,
                **impact.payload(),
                "unassessed_weight": round(unassessed, 6),
                "benchmark": "universe equally weighted",
            },
            pid,
        )
        return impact

    def _stage_orders(self, tick: MarketTick) -> None:
        """Each rebalancing portfolio's orders: whole-share targets minus holdings."""
        if not self._latest_batches:
            return
        cycle = self.cycles_completed + 1
        for mandate in self.mandates:
            pid = mandate.portfolio_id
            if not self._due(mandate) or pid not in self._cycle_targets:
                continue
            if self.state.trading_state(pid) == "HALTED":
                continue
            # A rebalance replaces what the last one left working.
            for order in [o for o in self.state.pending_orders.values() if o.portfolio_id == pid]:
                self._cancel(order, "replaced by the rebalance", in_cycle=True)
            _, target_shares = self._cycle_targets[pid]
            self._cycle_orders[pid] = mandate.order_generator.generate(
                pid,
                target_shares,
                self.symbols,
                self.ledger.shares_vector(pid, self.symbols),
                self.ledger.cash_usd(pid),
                tick.close,
                tick.timestamp,
                f"{pid}-{cycle:08d}",
            )

    def _stage_gate(self, tick: MarketTick) -> None:
        """The pre-trade risk gate (engine/risk/gate.py): each order passes, is scaled down or
        is rejected (``OrderRejected`` naming the limit, the value and the threshold)."""
        cycle = self.cycles_completed + 1
        manager = self.risk_manager
        for mandate in self.mandates:
            pid = mandate.portfolio_id
            made = self._cycle_orders.get(pid)
            if not made:
                continue
            model = self._risk_model
            limits = manager.limits(self.state, pid)
            if model is not None and "tracking_error" in limits:
                model = replace(model, benchmark=self._benchmark(mandate))
            book = self._book(pid, tick.close)
            decisions = self.gate.check(made, book, limits, self.state.trading_state(pid), model)
            self._approved.extend(d.order for d in decisions if d.approved)
            for k, decision in enumerate(decisions):
                if decision.action == "passed":
                    continue
                order = decision.order
                if decision.action == "scaled":
                    self._gate_notes[(pid, order.symbol)] = decision
                else:
                    order = replace(order, order_id=f"{pid}-{cycle:08d}-G{k:04d}")
                    self._emit(
                        "OrderRejected",
                        {
                            "order_id": order.order_id,
                            "symbol": order.symbol,
                            "side": order.side.value,
                            "quantity_shares": order.quantity_shares,
                            "decision_price_usd": str(order.decision_price_usd),
                            "reason": decision.reason,
                            "check": "pre-trade",
                            **_gate_payload(decision),
                        },
                        pid,
                    )
                self.recent_gate_decisions.append(
                    GateDecisionView(
                        tick.timestamp,
                        pid,
                        order.order_id,
                        order.symbol,
                        order.side.value,
                        decision.requested_shares,
                        decision.approved_shares,
                        decision.action,
                        decision.limit or "",
                        decision.value,
                        decision.threshold,
                        decision.reason,
                    )
                )

    def _stage_trades(self, tick: MarketTick) -> None:
        """The approved orders: crossed, scheduled, ranked and recorded (``OrderCreated``)."""
        orders = self._approved
        if not orders:
            return
        cycle = self.cycles_completed + 1
        strength: dict[tuple[str, str], float] = {}
        for order in orders:
            coordinated = self._latest_coordinated[order.portfolio_id]
            i = self.symbol_index[order.symbol]
            strength[(order.portfolio_id, order.symbol)] = float(
                coordinated.score[i] * coordinated.confidence[i]
            )
        stats = self._market_stats()
        planned = self.desk.plan(
            orders, self.ledger.holdings(), strength, stats, self.symbol_index, cycle
        )
        # Numbered in execution priority: risk-reducing first, then by urgency.
        counters: dict[str, int] = {}
        for item in planned:
            pid = item.order.portfolio_id
            k = counters[pid] = counters.get(pid, 0) + 1
            order = replace(item.order, order_id=f"{pid}-{cycle:08d}-{k - 1:04d}")
            self.recent_orders.append(order)
            self._emit(
                "OrderCreated",
                {
                    "order_id": order.order_id,
                    "symbol": order.symbol,
                    "side": order.side.value,
                    "quantity_shares": order.quantity_shares,
                    "decision_price_usd": str(order.decision_price_usd),
                    "market_date": order.created.isoformat(),
                    "urgency": round(item.urgency, 4),
                    "risk_reducing": item.risk_reducing,
                    **item.progress.payload(),
                    **(
                        {"risk_check": _gate_payload(note)}
                        if (note := self._gate_notes.get((pid, order.symbol)))
                        else {}
                    ),
                },
                pid,
            )
            adv = stats.adv_shares[self.symbol_index[order.symbol]]
            if not (np.isfinite(adv) and adv > 0):
                # No traded volume known: neither its impact nor a participation cap can be
                # worked out, so it does not go to the market.
                self._emit(
                    "OrderRejected",
                    {
                        "order_id": order.order_id,
                        "symbol": order.symbol,
                        "side": order.side.value,
                        "quantity_shares": order.quantity_shares,
                        "reason": f"no traded volume known for {order.symbol}: impact unknown",
                    },
                    pid,
                )

    def record_snapshot_time(self, snapshot_ms: float) -> None:
        """Add the time the runner spent publishing the snapshot to the latest cycle's report."""
        if self.recent_cycles:
            last = self.recent_cycles[-1]
            self.recent_cycles[-1] = replace(
                last,
                stage_ms={**last.stage_ms, "snapshot": snapshot_ms},
                total_ms=last.total_ms + snapshot_ms,
            )

    # -- read side ----------------------------------------------------------------------------
    def nav_history(self, portfolio_id: str) -> tuple[NavPoint, ...]:
        return tuple(self.state.nav_history[portfolio_id])

    def _working_order_views(self) -> tuple[WorkingOrderView, ...]:
        views = []
        for order_id, order in self.state.pending_orders.items():
            progress = self.state.order_progress[order_id]
            views.append(
                WorkingOrderView(
                    order_id,
                    order.portfolio_id,
                    order.symbol,
                    order.side.value,
                    order.quantity_shares,
                    progress.filled_shares,
                    "PARTIALLY_FILLED" if progress.filled_shares else "NEW",
                    progress.algorithm,
                    progress.reason,
                    progress.schedule,
                    progress.cross_shares,
                    order.created,
                    order.decision_price_usd,
                    progress.estimated_cost_bps,
                )
            )
        return tuple(views)

    def _execution_quality_views(self) -> tuple[ExecutionQualityView, ...]:
        views = []
        for pid, totals in sorted(self.state.execution_quality.items()):
            notional = totals["decision_notional_usd"]

            def bps(name: str, notional: Decimal = notional, totals: dict = totals) -> float:
                return float(totals[name] / notional * 10_000) if notional else 0.0

            views.append(
                ExecutionQualityView(
                    pid,
                    int(totals["orders"]),
                    notional,
                    bps("delay_usd"),
                    bps("spread_usd"),
                    bps("impact_usd"),
                    bps("commission_usd"),
                    bps("opportunity_usd"),
                    bps("total_usd"),
                    totals["total_usd"],
                    totals["crossing_saving_usd"],
                )
            )
        return tuple(views)

    def build_snapshot(self, status: EngineStatus, speed_days_per_second: float) -> StateSnapshot:
        sector = {instrument.symbol: instrument.sector for instrument in self.instruments}
        portfolios = []
        for mandate in self.mandates:
            pid = mandate.portfolio_id
            nav = self.ledger.nav_usd(pid)
            target_by_symbol = self.state.targets.get(pid, {})
            positions = {p.symbol: p for p in self.ledger.positions(pid)}
            views = []
            for symbol in sorted(set(positions) | set(target_by_symbol)):
                position = positions.get(symbol)
                value = position.market_value_usd if position else Decimal("0.00")
                views.append(
                    PositionView(
                        symbol,
                        sector[symbol],
                        position.quantity_shares if position else 0,
                        position.price_usd if position else Decimal(0),
                        value,
                        float(value / nav) if nav else 0.0,
                        target_by_symbol.get(symbol, 0.0),
                    )
                )
            portfolios.append(
                PortfolioView(
                    pid,
                    mandate.name,
                    mandate.sources,
                    nav,
                    self.ledger.cash_usd(pid),
                    self.state.initial_cash_usd[pid],
                    tuple(views),
                    self.state.target_cash_weight.get(pid, 1.0),
                    self.nav_history(pid),
                    self.orders_total[pid],
                    self.fills_total[pid],
                    self.state.trading_state(pid),
                    self.state.trading_states.get(pid, {}).get("reason"),
                    mandate.allocator.model,
                    self.latest_impacts.get(pid),
                    mandate.long_short,
                    self.latest_allocations.get(pid),
                    CashView(
                        self.ledger.settled_cash_usd(pid),
                        self.ledger.pending_settlement_usd(pid),
                        tuple(self.ledger.pending_settlements(pid)),
                        self.ledger.interest_income_usd(pid),
                        mandate.interest_rate_annual,
                    ),
                    tuple(
                        WeightOverrideView(
                            pid,
                            symbol,
                            None if o["weight"] is None else float(o["weight"]),
                            str(o["reason"]),
                            str(o["actor"]),
                            date.fromisoformat(o["set_on"]) if o["set_on"] else None,
                        )
                        for symbol, o in sorted(self.state.weight_overrides.get(pid, {}).items())
                    ),
                )
            )
        return StateSnapshot(
            status=status,
            speed_days_per_second=speed_days_per_second,
            cycles_completed=self.cycles_completed,
            market_date=self.market_date,
            published_at=utc_now(),
            instruments=self.instruments,
            portfolios=tuple(portfolios),
            raw_signals=tuple(self._raw_rows()),
            coordinated_signals=tuple(self._coordinated_rows()),
            recent_orders=tuple(self.recent_orders),
            working_orders=self._working_order_views(),
            recent_crosses=tuple(self.recent_crosses),
            recent_blocks=tuple(self.recent_blocks),
            execution_quality=self._execution_quality_views(),
            risk=tuple(
                self.latest_risk[m.portfolio_id]
                for m in self.mandates
                if m.portfolio_id in self.latest_risk
            ),
            recent_fills=tuple(self.recent_fills),
            recent_cycles=tuple(self.recent_cycles),
            cycle_errors=self.cycle_errors,
            last_error=self.last_error,
            stage_names=STAGES,
            transport=self.bus.health(),
            sources=self._source_views(),
            quality_history=tuple(self.quality_history),
            signal_flows=tuple(self._signal_flows()),
            conflicts=tuple(c for s in self._latest_coordinated.values() for c in s.conflicts),
            conflict_counts=tuple(
                ConflictCount(
                    m.portfolio_id,
                    self._latest_coordinated[m.portfolio_id].conflicts_total
                    if m.portfolio_id in self._latest_coordinated
                    else 0,
                    self.conflicts_session[m.portfolio_id],
                )
                for m in self.mandates
            ),
            rejected_signals=tuple(self.recent_rejections),
            overrides=tuple(
                sorted(self.state.overrides.values(), key=lambda o: (o.symbol, o.override_id))
            ),
            signals_accepted_session=self.signals_accepted_session,
            signals_rejected_session=self.signals_rejected_session,
            risk_alerts=tuple(
                RiskAlertView(
                    alert_id,
                    a["portfolio_id"],
                    a["limit"],
                    a["level"],
                    a["value"] if a["value"] is not None else float("nan"),
                    a["threshold"],
                    a["utilisation"] if a["utilisation"] is not None else float("nan"),
                    date.fromisoformat(a["market_date"]),
                    a["message"],
                    a["acknowledged_by"],
                    a["acknowledged_note"],
                )
                for alert_id, a in sorted(
                    self.state.risk_alerts.items(), key=lambda item: item[1]["market_date"]
                )
            ),
            gate_decisions=tuple(self.recent_gate_decisions),
            risk_audit=tuple(self.risk_audit),
        )

    def _raw_rows(self) -> Iterator[SignalRow]:
        symbols = self.symbols
        for batch in self._latest_batches:
            index = np.flatnonzero(batch.confidence > 0)
            key = batch.key
            for i, score, confidence in zip(
                index.tolist(),
                batch.score[index].tolist(),
                batch.confidence[index].tolist(),
                strict=True,
            ):
                yield SignalRow(key, symbols[i], score, confidence)

    def _coordinated_rows(self) -> Iterator[SignalRow]:
        # Per portfolio, whole columns at a time: a row per instrument with a view, built from
        # plain Python numbers (the snapshot is rebuilt every cycle).
        symbols = self.symbols
        for pid, coordinated in self._latest_coordinated.items():
            index = np.flatnonzero(coordinated.confidence > 0)
            keys = list(coordinated.lineage)
            shares = [coordinated.lineage[key][index] for key in keys]
            rounded = [np.round(share, 4).tolist() for share in shares]
            present = [(share > 0).tolist() for share in shares]
            for j, (i, score, confidence) in enumerate(
                zip(
                    index.tolist(),
                    coordinated.score[index].tolist(),
                    coordinated.confidence[index].tolist(),
                    strict=True,
                )
            ):
                yield SignalRow(
                    pid,
                    symbols[i],
                    score,
                    confidence,
                    tuple((key, rounded[k][j]) for k, key in enumerate(keys) if present[k][j]),
                )

    def _signal_flows(self) -> Iterator[SignalFlow]:
        for pid, coordinated in self._latest_coordinated.items():
            for key, share in coordinated.lineage.items():
                total = float(share.sum())
                if total > 0:
                    yield SignalFlow(key, pid, total)

    def _source_views(self) -> tuple[SourceQualityView, ...]:
        views = []
        for name, source in self.sources.items():
            views.append((name, "model", source.horizons))
        for name, spec in self.external_sources.items():
            views.append((name, "external", tuple(sorted(spec.horizons))))
        result = []
        for name, kind, horizons in views:
            quality = self.quality.quality(name)
            result.append(
                SourceQualityView(
                    name,
                    kind,
                    self.source_priorities.get(name, 1.0),
                    horizons,
                    quality.ic,
                    quality.hit_rate,
                    quality.coverage,
                    quality.observations,
                    self.multipliers.get(name, quality.multiplier),
                )
            )
        return tuple(result)


class CoordinatorRunner:
    """Runs the coordinator's cycles in one background thread, paced at a replay speed.

    Readers call ``snapshot()`` (the latest immutable picture, no lock) and ``submit()`` commands;
    the engine thread applies commands between cycles. A failing cycle is recorded by the
    coordinator and the runner goes on; nothing here can block the web server.
    """

    def __init__(
        self,
        coordinator: Coordinator,
        ticks: Iterable[MarketTick],
        speed_days_per_second: float,
        start_paused: bool = False,
    ) -> None:
        self.coordinator = coordinator
        self._ticks = iter(ticks)
        self._speed = speed_days_per_second
        self._status = EngineStatus.PAUSED if start_paused else EngineStatus.STARTING
        self._commands: queue.Queue[Command] = queue.Queue()
        self._stop = threading.Event()
        self._published = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="coordinator", daemon=True)
        self._next_due = 0.0
        self._snapshot = coordinator.build_snapshot(self._status, self._speed)

    @property
    def status(self) -> EngineStatus:
        return self._status

    def snapshot(self) -> StateSnapshot:
        return self._snapshot

    def submit(self, command: Command) -> None:
        self._commands.put(command)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        self._commands.put(Pause(ENGINE_ACTOR, "stopping"))  # wakes the thread if it waits
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def wait_for_cycles(self, n: int, timeout_s: float) -> bool:
        """Block until at least ``n`` cycles have completed; False on timeout."""
        deadline = time.monotonic() + timeout_s
        with self._published:
            while self._snapshot.cycles_completed < n:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._published.wait(remaining)
        return True

    def _apply(self, command: Command) -> None:
        if self._stop.is_set():
            if hasattr(command, "reply"):
                command.reply.set_exception(CommandRefused("the engine is stopping"))
            return
        answer = self.coordinator.handle(command)
        if answer is not None:
            try:
                self._publish()
            finally:
                answer()
            return
        if isinstance(command, Pause) and self._status is not EngineStatus.FINISHED:
            self._status = EngineStatus.PAUSED
        elif isinstance(command, Resume) and self._status is EngineStatus.PAUSED:
            self._status = EngineStatus.RUNNING
        elif isinstance(command, SetSpeed):
            self._speed = command.days_per_second
        try:
            self.coordinator.record_command(command)
        except Exception:
            log.exception("could not record command %s", command.name)
        self._publish()

    def _wait(self, timeout_s: float) -> None:
        """Sleep up to ``timeout_s``, waking at once to apply a command."""
        try:
            self._apply(self._commands.get(timeout=max(timeout_s, 0.0)))
        except queue.Empty:
            return

    def _publish(self) -> None:
        snapshot = self.coordinator.build_snapshot(self._status, self._speed)
        with self._published:
            self._snapshot = snapshot
            self._published.notify_all()

    def _run(self) -> None:
        if self._status is EngineStatus.STARTING:
            self._status = EngineStatus.RUNNING
        self._publish()
        self._next_due = time.monotonic()
        while not self._stop.is_set():
            try:
                self._step()
            except Exception as exc:
                # run_cycle records its own failures; this guards the loop itself (a snapshot
                # or a store outage) so that the engine thread never dies.
                self.coordinator.last_error = f"engine loop: {type(exc).__name__}: {exc}"
                log.exception("engine loop step failed; going on")
                self._wait(0.5)
        if self._status is not EngineStatus.FINISHED:
            self._status = EngineStatus.STOPPED
        self._publish()

    def _step(self) -> None:
        while not self._commands.empty():
            self._apply(self._commands.get_nowait())
        if self._status is not EngineStatus.RUNNING:
            self._wait(0.5)
            return
        now = time.monotonic()
        if now < self._next_due:
            self._wait(self._next_due - now)
            return
        tick = next(self._ticks, None)
        if tick is None:
            self._status = EngineStatus.FINISHED
            self.coordinator.record_finish()
            self._publish()
            return
        self.coordinator.run_cycle(tick)
        t0 = time.perf_counter()
        self._publish()
        self.coordinator.record_snapshot_time((time.perf_counter() - t0) * 1000.0)
        self._next_due = max(self._next_due + 1.0 / self._speed, time.monotonic() - 1.0)
