"""The coordination cycle, run as a pipeline of stage objects (engine/cycle/), and the background
thread that runs it.

One cycle, per market tick (a trading day); see docs/architecture.md for each stage's inputs,
outputs and events::

    market        roll the price window, mark positions to the new closes
    execution     fill the orders decided last cycle at this tick's prices (no look-ahead)
    risk          risk figures, limits, alerts, stress tests from the holdings after the fills;
                  the risk model the allocation and the gate measure with
    signals       model sources score the universe; the live external signals join them
    quality       matured views are scored; each source's weight multiplier is updated
    coordination  each portfolio's sources blended into one view per instrument
    allocation    target weights for each portfolio due to rebalance
    orders        target minus holdings, whole shares, sells first, cash-feasible
    gate          the pre-trade risk check of each order
    trades        approved orders crossed, scheduled, ranked and recorded
    events        the cycle's events appended to the store in one transaction
    snapshot      (live mode) a new immutable StateSnapshot is published

Each stage is timed here, around the stage object's one method, not inside it.
"""

from __future__ import annotations

import logging
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date
from functools import partial

import numpy as np

from engine.allocation.solver_pool import SolverPool
from engine.commands import (
    CLOCK_COMMANDS,
    AcknowledgeAlert,
    ApproveRebalance,
    CancelOrder,
    Command,
    JumpTo,
    LiftOverride,
    LiftWeightOverride,
    Pause,
    RecordCashFlow,
    RejectRebalance,
    RequestRebalance,
    RestartFrom,
    Resume,
    SetOverride,
    SetRebalancePolicy,
    SetRiskLimit,
    SetSpeed,
    SetTradingState,
    SetWeightOverride,
    Step,
    SubmitSignals,
)
from engine.cycle.allocation import AllocationStage
from engine.cycle.context import PortfolioMandate, RiskCarry, Universe
from engine.cycle.coordination import CoordinationStage
from engine.cycle.desks import RebalanceDesk, RiskDesk, TradingDesk, WeightDesk
from engine.cycle.execution import ExecutionStage
from engine.cycle.gate import GateStage
from engine.cycle.interest import InterestStage
from engine.cycle.market import MarketStage
from engine.cycle.orders import OrdersStage
from engine.cycle.pacing import Pacing, ReplayCalendar
from engine.cycle.quality import QualityStage
from engine.cycle.recorder import EventRecorder, record_all
from engine.cycle.recovery import catch_up, check_recovered_state
from engine.cycle.risk import RiskStage
from engine.cycle.router import CommandRouter
from engine.cycle.signal_desk import SignalDesk
from engine.cycle.signals import SignalsStage
from engine.cycle.trades import TradesStage
from engine.cycle.triggers import TriggerStage
from engine.events.bus import EventBus
from engine.model import CycleReport, Instrument, MarketTick, to_cash
from engine.performance.latency import collect_between_cycles
from engine.rebalancing.tax import TaxRules
from engine.risk.manager import RiskManager
from engine.risk.scenarios import Scenario
from engine.signals.intake import SignalIntake
from engine.signals.quality import QualityTracker
from engine.signals.sources import SignalSource
from engine.signals.validation import ExternalSourceSpec, SignalValidator
from engine.snapshot import EngineStatus, StateSnapshot
from engine.state.ledger import Ledger
from engine.state.repository import StateRepository
from engine.trading.execution import ExecutionDesk
from engine.views.live import LiveViews, source_views

log = logging.getLogger(__name__)

STAGES = (
    "market",
    "execution",
    "risk",
    "signals",
    "quality",
    "coordination",
    "triggers",
    "allocation",
    "orders",
    "gate",
    "trades",
    "events",
    "snapshot",
)

__all__ = ["STAGES", "Coordinator", "CoordinatorRunner", "PortfolioMandate"]


def _tax_fields(rules: TaxRules) -> dict[str, object]:
    """A portfolio's lot method and tax rates as its opening records them (none: the default
    first-in, first-out, as logs from before lot methods have it)."""
    return {"tax": rules.to_dict()} if rules != TaxRules() else {}


class Coordinator:
    """Builds the cycle's stages, runs them in order for each tick, and routes commands.

    Only the thread that runs cycles may call its methods. State changes only by events, through
    the ``EventRecorder``; the ``events`` stage stores a cycle's events, the current-state
    projection in one transaction; every ``snapshot_every_events`` a snapshot after the cycle.

    Between cycles it carries one value: the ``RiskCarry`` the allocation leaves for the next
    cycle's risk view. Everything else a stage keeps is the stage's own.
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
        calendar: ReplayCalendar | None = None,
        solver_pool: SolverPool | None = None,
    ) -> None:
        universe = self.universe = Universe(instruments)
        self.mandates = mandates
        used = {name for mandate in mandates for name in mandate.sources}
        self.external_sources = dict(external_sources or {})
        self.source_priorities = dict(source_priorities or {})
        self.bus = bus
        self.repository = repository
        self.risk_manager = risk_manager or RiskManager(
            (), {m.portfolio_id: "default" for m in mandates}, universe.symbols, universe.sectors
        )

        self.state, self.recovery = repository.recover()
        check_recovered_state(self.state, (m.portfolio_id for m in mandates), universe.symbols)
        self.session_id = uuid.uuid4().hex[:12]
        self.recorder = EventRecorder(
            self.state,
            bus,
            repository,
            self.session_id,
            # Everything replayed at start-up came after the snapshot used (or is all there is).
            self.recovery.events_replayed,
            snapshot_every_events,
        )
        emit = self.recorder.emit

        self.market = MarketStage(universe, history_days, warmup_prices)
        if len(warmup_prices):
            self.ledger.mark(universe.symbols, warmup_prices[-1])
        self.execution = ExecutionStage(universe, mandates, desk)
        self.risk = RiskStage(
            universe,
            mandates,
            self.risk_manager,
            stress_scenarios,
            risk_lookback_days,
            risk_record_every,
            stress_every_cycles,
            drawdown_window_days,
        )
        self.signals = SignalsStage(
            universe, {name: sources[name] for name in sorted(used) if name in sources}
        )
        self.quality = QualityStage(
            quality or QualityTracker(),
            [*self.signals.sources, *self.external_sources],
            quality_record_every,
        )
        self.triggers = TriggerStage(universe, mandates)
        self.coordination = CoordinationStage(universe, mandates)
        self.allocation = AllocationStage(
            universe, mandates, self.risk_manager, desk.cost_model, solver_pool
        )
        self.orders = OrdersStage(universe, mandates)
        self.gate = GateStage(universe, mandates, self.risk_manager)
        self.trades = TradesStage(universe, desk)
        self.interest = InterestStage(mandates)
        self.carry = RiskCarry()

        self.views = LiveViews(
            universe, mandates, self.state, repository.store, recent_items, len(used)
        )
        self.recorder.on_event(self.views.observe)
        self.cycle_errors = 0
        self.last_error: str | None = None
        self.pacing = Pacing(calendar=calendar, market_date=lambda: self.state.market_date)
        # Set once a RestartFrom is recorded: the runner then carries on with a fresh engine.
        self.restart_requested: date | None = None

        intake = SignalIntake(
            SignalValidator(universe.symbols, self.external_sources), self.external_sources
        )
        latest_close = self.market.latest_close
        signal_desk = SignalDesk(
            universe, mandates, intake, self.quality, self.state, emit, latest_close
        )
        weights = WeightDesk(universe, mandates, self.state, emit)
        trading = TradingDesk(mandates, self.state, emit)
        rebalances = RebalanceDesk(mandates, self.state, emit)
        risk = RiskDesk(mandates, self.state, emit, self.risk, self.gate, latest_close)
        # Every command the engine answers, and who owns it: one line each.
        self.commands = CommandRouter()
        self.commands.register(SubmitSignals, signal_desk.submit)
        self.commands.register(SetOverride, signal_desk.set_override)
        self.commands.register(LiftOverride, signal_desk.lift_override)
        self.commands.register(SetWeightOverride, weights.set_override)
        self.commands.register(LiftWeightOverride, weights.lift_override)
        self.commands.register(RequestRebalance, rebalances.request)
        self.commands.register(RecordCashFlow, rebalances.record_cash_flow)
        self.commands.register(ApproveRebalance, rebalances.approve)
        self.commands.register(RejectRebalance, rebalances.reject)
        self.commands.register(SetRebalancePolicy, rebalances.set_policy)
        self.commands.register(CancelOrder, trading.cancel)
        self.commands.register(SetTradingState, trading.set_state)
        self.commands.register(SetRiskLimit, risk.set_limit)
        self.commands.register(AcknowledgeAlert, risk.acknowledge)
        self.commands.register(Pause, self.pacing.pause)
        self.commands.register(Resume, self.pacing.resume)
        self.commands.register(SetSpeed, self.pacing.set_speed)
        self.commands.register(Step, self.pacing.step)
        self.commands.register(JumpTo, self.pacing.jump)
        self.commands.register(RestartFrom, self.restart_from)

        self._open_new_portfolios()
        record_all(emit, self.risk_manager.config_changes(self.state))

    @property
    def sources(self) -> dict[str, SignalSource]:
        """The model sources some portfolio uses, by name."""
        return self.signals.sources

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

    # -- session events -----------------------------------------------------------------------
    def _open_new_portfolios(self) -> None:
        """Configured portfolios the store does not know yet are opened with their cash."""
        for mandate in self.mandates:
            if mandate.portfolio_id not in self.ledger.portfolio_ids:
                self.recorder.emit(
                    "PortfolioOpened",
                    {
                        "portfolio_id": mandate.portfolio_id,
                        "name": mandate.name,
                        "initial_cash_usd": str(to_cash(mandate.initial_cash_usd)),
                        "allow_short": mandate.long_short,
                        **_tax_fields(mandate.tax),
                    },
                    mandate.portfolio_id,
                )

    def start(self, details: Mapping[str, object]) -> None:
        """Record the start (and the recovery it began with) in the event log."""
        self.recorder.emit(
            "EngineStarted",
            {
                "session_id": self.session_id,
                "resumed_after_cycle": self.state.cycles_completed,
                "recovery": self.recovery.describe(),
                **details,
            },
        )
        self.recorder.flush()

    def record_finish(self) -> None:
        self.recorder.emit(
            "EngineFinished",
            {
                "session_id": self.session_id,
                "cycles": self.cycles_completed,
                "nav_usd": {
                    m.portfolio_id: str(self.ledger.nav_usd(m.portfolio_id)) for m in self.mandates
                },
            },
        )
        self.recorder.flush()

    def record_command(self, command: Command) -> None:
        """An applied command is an audited event: who, what, why."""
        self.recorder.emit(
            "CommandApplied",
            {"command": command.name, "reason": command.reason, **command.details()},
            actor=command.actor,
        )
        self.recorder.flush()

    def resume(self, ticks: Iterable[MarketTick]) -> Iterator[MarketTick]:
        """The ticks still to run (engine/cycle/recovery.py)."""
        return catch_up(
            ticks, self.state, self.repository.store, self.market, self.signals, self.quality
        )

    def restart_from(self, command: RestartFrom) -> dict[str, object]:
        """Record ``ReplayRestarted``: the state folds back to the portfolios' opening cash
        (engine/state/engine_state.py) and the runner rebuilds the stages and the feed."""
        day = self.pacing.restart_day(command)
        before = self.state.market_date
        self.recorder.emit(
            "ReplayRestarted",
            {
                "requested_date": command.market_date.isoformat() if command.market_date else None,
                "first_trading_date": day.isoformat(),
                "previous_market_date": before.isoformat() if before else None,
                "previous_cycles": self.state.cycles_completed,
                "portfolios": {
                    pid: {
                        "initial_cash_usd": str(self.state.initial_cash_usd[pid]),
                        "allow_short": self.ledger.allows_short(pid),
                        **_tax_fields(self.ledger.tax_rules(pid)),
                    }
                    for pid in sorted(self.state.initial_cash_usd)
                },
            },
            actor=command.actor,
        )
        self.restart_requested = day
        return {
            **self.pacing.answer(),
            "restarted_from": day.isoformat(),
            "previous_market_date": before.isoformat() if before else None,
        }

    # -- commands -----------------------------------------------------------------------------
    def apply(self, command: Command) -> object:
        """Apply a command the engine answers and store its events; returns the handler's
        answer, or raises its ValueError (nothing is recorded then)."""
        result = self.commands.route(command)
        self.recorder.flush()
        return result

    def handle(self, command: Command) -> Callable[[], None] | None:
        """Route a command to its handler (engine thread only).

        A command with a ``reply`` gets the handler's answer, or its error: this returns what
        answers the reply, and the runner calls it once the new snapshot is published, so
        whoever waits on the reply then reads a snapshot that shows the change. A control
        command (pause, resume, speed) has no reply: it is recorded as ``CommandApplied`` and
        this returns None."""
        reply = getattr(command, "reply", None)
        if isinstance(command, CLOCK_COMMANDS):
            # The clock's handlers record nothing themselves: the command is the event.
            try:
                result = self.commands.route(command)
                self.record_command(command)
            except Exception as exc:
                return partial(command.reply.set_exception, exc)
            command.reply.seq = self.recorder.last_seq
            return partial(command.reply.set_result, result)
        if reply is None:
            self.commands.route(command)
            try:
                self.record_command(command)
            except Exception:
                log.exception("could not record command %s", command.name)
            return None
        try:
            result = self.apply(command)
        except Exception as exc:
            return partial(reply.set_exception, exc)
        reply.seq = self.recorder.last_seq
        return partial(reply.set_result, result)

    def close(self) -> None:
        """Release what the engine holds outside its thread: the solver pool's processes. The
        store and the bus belong to whoever opened them (app/runtime.py closes them)."""
        self.allocation.close()

    # -- the cycle ----------------------------------------------------------------------------
    def run_cycle(self, tick: MarketTick) -> CycleReport:
        """Run every stage for ``tick``. An exception is recorded as a ``CycleFailed`` event and in
        the report; the state changes made before it (fills) keep their events, so the log and
        the ledger never disagree."""
        state, views, emit = self.state, self.views, self.recorder.emit
        cycle = self.cycles_completed + 1
        stage_ms: dict[str, float] = {}

        def timed(stage: str, work: Callable[..., object], *args: object) -> object:
            t0 = time.perf_counter()
            result = work(*args)
            # A stage run in two parts (coordination) is timed as their sum.
            stage_ms[stage] = stage_ms.get(stage, 0.0) + (time.perf_counter() - t0) * 1000.0
            return result

        fills_before = sum(self.fills_total.values())
        orders_before = sum(self.orders_total.values())
        orders_checked = 0
        started = time.perf_counter()
        error = None
        self.recorder.begin_cycle(cycle)
        try:
            market = timed("market", self.market.run, tick, self.ledger)
            executed = timed("execution", self.execution.run, cycle, market, state, emit)
            views.record_execution(executed)
            risk = timed("risk", self.risk.run, cycle, market, state, self.carry, emit)
            signals = timed("signals", self.signals.run, market, state, emit)
            quality = timed("quality", self.quality.run, cycle, market, signals, emit)
            overrides = tuple(state.overrides.values())
            coordinated = timed(
                "coordination",
                self.coordination.run,
                market,
                signals,
                quality.multipliers,
                overrides,
            )
            due = timed("triggers", self.triggers.run, cycle, market, state, coordinated, emit)
            coordinated = timed(
                "coordination",
                self.coordination.rebalancing,
                coordinated,
                market,
                signals,
                quality.multipliers,
                overrides,
                due,
                emit,
            )
            views.record_signals(signals.all, coordinated)
            allocated = timed(
                "allocation",
                self.allocation.run,
                due,
                market,
                state,
                coordinated,
                risk.model,
                self.carry,
                emit,
            )
            self.carry = allocated.carry
            views.record_allocation(allocated)
            made = timed(
                "orders",
                self.orders.run,
                cycle,
                market,
                state,
                allocated.targets,
                emit,
                allocated.impacts,
                due,
            )
            orders_checked = sum(len(orders) for orders in made.values())
            gated = timed("gate", self.gate.run, cycle, market, state, made, risk.model, emit)
            created = timed(
                "trades",
                self.trades.run,
                cycle,
                market,
                state,
                gated.approved,
                gated.scaled,
                coordinated,
                emit,
            )
            views.record_orders(gated, created)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            self.cycle_errors += 1
            self.last_error = f"cycle {cycle} ({tick.timestamp}): {error}"
            log.error("cycle %s failed: %s", cycle, error)
            emit(
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
        accrued = self.interest.run(tick.timestamp, state, emit)
        emit(
            "CycleCompleted",
            {
                "cycle": cycle,
                "market_date": tick.timestamp.isoformat(),
                "orders": orders,
                "fills": fills,
                "failed": error is not None,
                # Wall time from the cycle's start to this event (its events' append follows):
                # what a report from the log measures the 200 ms gate by. Not replayable.
                "duration_ms": round((time.perf_counter() - started) * 1000.0, 2),
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
        self.recorder.end_cycle()
        t0 = time.perf_counter()
        try:
            self.recorder.flush()
        except Exception as exc:
            self.cycle_errors += 1
            self.last_error = f"cycle {cycle}: events not stored yet, will retry: {exc}"
            log.exception("event store append failed; %d events kept", self.recorder.pending)
        stage_ms["events"] = (time.perf_counter() - t0) * 1000.0
        report = CycleReport(
            cycle,
            tick.timestamp,
            stage_ms,
            total_ms=(time.perf_counter() - started) * 1000.0,
            orders=orders,
            fills=fills,
            error=error,
            orders_checked=orders_checked,
        )
        views.record_cycle(report)
        self.recorder.after_cycle()
        collect_between_cycles()
        return report

    # -- read side ----------------------------------------------------------------------------
    def build_snapshot(
        self, status: EngineStatus, speed_days_per_second: float, version: int = 0
    ) -> StateSnapshot:
        """The read side's picture; ``version`` numbers the runner's publications, and the
        snapshot carries the sequence of the last stored event it reflects."""
        return self.views.snapshot(
            status,
            speed_days_per_second,
            STAGES,
            self.risk.latest,
            source_views(
                {name: source.horizons for name, source in self.sources.items()},
                {name: tuple(sorted(s.horizons)) for name, s in self.external_sources.items()},
                self.source_priorities,
                self.quality.tracker,
                self.quality.multipliers,
            ),
            self.bus.health(),
            self.cycle_errors,
            self.last_error,
            event_seq=self.recorder.last_seq,
            version=version,
        )


# The background thread lives in engine/cycle/runner.py; importers name it from here too.
from engine.cycle.runner import CoordinatorRunner  # noqa: E402
