"""``LiveViews``: the read model the live engine keeps for the dashboard, and the snapshot it
builds from it each cycle.

It holds what the event-sourced state does not: the recent orders, fills, crosses, blocks, gate
decisions, cycle reports, the latest signal views, allocations and impacts, session counters.
It is fed two ways: the cycle hands it each stage's result (``record_*``), and it listens to
every event emitted (``observe``) for what is recorded outside the cycle (rejected signals, the
risk audit trail, source quality). After a restart the recent lists come back from the store.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from datetime import date

from engine.allocation.impact import AllocationImpact
from engine.cycle.allocation import AllocationResult
from engine.cycle.context import PortfolioMandate, Universe
from engine.cycle.coordination import Coordinated
from engine.cycle.execution import ExecutionResult
from engine.cycle.gate import GateResult
from engine.events.store import SqlEventStore, utc_now
from engine.model import CoordinatedSignals, CycleReport, Event, Fill, Order, SignalBatch
from engine.signals.quality import QualityTracker
from engine.signals.records import quality_points_from_event, rejection_from_event
from engine.snapshot import (
    AllocationView,
    BlockView,
    ConflictCount,
    CrossView,
    EngineStatus,
    GateDecisionView,
    PortfolioView,
    QualityPoint,
    RejectedSignal,
    RiskAuditView,
    RiskView,
    SignalFlow,
    SourceQualityView,
    StateSnapshot,
    TransportView,
)
from engine.state.engine_state import EngineState, fill_from_event, order_from_event
from engine.views.overview import TurnoverTracker, overview_view
from engine.views.rebalancing import RebalanceHistory, rebalancing_views
from engine.views.signal_rows import SignalColumns, SignalRows
from engine.views.state_views import (
    active_overrides,
    cash_view,
    execution_quality_views,
    position_views,
    risk_alert_views,
    weight_override_views,
    working_order_views,
)

QUALITY_HISTORY_EVENTS = 2000
# Events the Risk page's audit trail lists.
RISK_AUDIT_EVENTS = (
    "RiskLimitSet",
    "RiskLimitRemoved",
    "TradingStateChanged",
    "RiskAlertAcknowledged",
)


def audit_view(event: Event, market_date: date | None = None) -> RiskAuditView:
    """One line of the risk audit trail: who changed which limit or state, and why, recorded
    at a wall-clock time on a market date."""
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
    return RiskAuditView(
        event.timestamp, event.portfolio_id, event.type, event.actor, detail, market_date
    )


def _in_cycle(event: Event) -> bool:
    # The recorder numbers a cycle's events "c<cycle>-<position>"; a command's are "s<session>-".
    return event.event_id.startswith("c")


class LiveViews:
    def __init__(
        self,
        universe: Universe,
        mandates: tuple[PortfolioMandate, ...],
        state: EngineState,
        store: SqlEventStore,
        recent_items: int = 200,
        quality_sources: int = 1,
    ) -> None:
        self.universe = universe
        self.mandates = mandates
        self.state = state
        self._sectors = {i.symbol: i.sector for i in universe.instruments}
        self._classes = {i.symbol: i.asset_class for i in universe.instruments}

        def newest(event_type: str, limit: int = recent_items) -> Iterator[Event]:
            return reversed(store.query(event_type=event_type, limit=limit))

        # After a restart the recent trades come back from the log, oldest first as live.
        self.recent_orders: deque[Order] = deque(
            (order_from_event(e) for e in newest("OrderCreated")), maxlen=recent_items
        )
        self.recent_fills: deque[Fill] = deque(
            (fill_from_event(e) for e in newest("OrderFilled")), maxlen=recent_items
        )
        self.recent_crosses: deque[CrossView] = deque(maxlen=recent_items)
        self.recent_blocks: deque[BlockView] = deque(maxlen=recent_items)
        self.recent_cycles: deque[CycleReport] = deque(maxlen=300)
        self.recent_gate_decisions: deque[GateDecisionView] = deque(maxlen=recent_items)
        self.risk_audit: deque[RiskAuditView] = deque(
            sorted(
                (
                    audit_view(e)
                    for kind in RISK_AUDIT_EVENTS
                    for e in store.query(event_type=kind, limit=recent_items)
                ),
                key=lambda view: view.recorded_at,
            ),
            maxlen=recent_items,
        )
        # Audit entries of the running cycle, dated at its CycleCompleted.
        self._undated_audit = 0
        self.recent_rejections: deque[RejectedSignal] = deque(
            (rejection_from_event(e) for e in newest("SignalRejected")), maxlen=recent_items
        )
        self.quality_history: deque[QualityPoint] = deque(
            (
                point
                for e in newest("SourceQualityMeasured", QUALITY_HISTORY_EVENTS)
                for point in quality_points_from_event(e)
            ),
            maxlen=QUALITY_HISTORY_EVENTS * max(1, quality_sources),
        )
        self.latest_batches: tuple[SignalBatch, ...] = ()
        self.latest_coordinated: dict[str, CoordinatedSignals] = {}
        self.latest_allocations: dict[str, AllocationView] = {}
        self.latest_impacts: dict[str, AllocationImpact] = {}
        self.last_cycle_fills: tuple[Fill, ...] = ()
        self.conflicts_session: dict[str, int] = {m.portfolio_id: 0 for m in mandates}
        self.signals_accepted_session = 0
        self.signals_rejected_session = 0
        # Running traded notional and NAV sum per portfolio: the Overview's annual turnover
        # without walking the fills (counted from this engine's start).
        self.turnover = TurnoverTracker()
        self.rebalances = RebalanceHistory(mandates, store)
        # Parts of the last snapshot kept for the next one, each with what it was built from.
        self._raw_rows_of: tuple[tuple[SignalBatch, ...] | None, SignalRows]
        self._coordinated_rows_of: tuple[tuple[tuple[str, CoordinatedSignals], ...], SignalRows]
        self.forget_kept_parts()

    # -- fed by events --------------------------------------------------------------------
    def observe(self, event: Event) -> None:
        self.turnover.observe(event)
        self.rebalances.observe(event)
        if event.type in RISK_AUDIT_EVENTS:
            # Inside a cycle the close it measures is known at its CycleCompleted (below); a
            # command between cycles takes effect on the latest close.
            in_cycle = _in_cycle(event)
            self._undated_audit += in_cycle
            market_date = None if in_cycle else self.state.market_date
            self.risk_audit.append(audit_view(event, market_date))
        elif event.type == "CycleCompleted":
            self._date_audit_entries(date.fromisoformat(event.payload["market_date"]))
        elif event.type == "SignalReceived":
            self.signals_accepted_session += 1
        elif event.type == "SignalRejected":
            self.signals_rejected_session += 1
            self.recent_rejections.append(rejection_from_event(event))
        elif event.type == "SourceQualityMeasured":
            self.quality_history.extend(quality_points_from_event(event))

    def _date_audit_entries(self, market_date: date) -> None:
        """The cycle's own audit entries (the newest ``_undated_audit``) get its close."""
        audit = self.risk_audit
        for k in range(max(len(audit) - self._undated_audit, 0), len(audit)):
            audit[k] = replace(audit[k], market_date=market_date)
        self._undated_audit = 0

    # -- fed by the cycle -----------------------------------------------------------------
    def record_execution(self, result: ExecutionResult) -> None:
        self.last_cycle_fills = result.fills
        self.recent_fills.extend(result.fills)
        self.recent_crosses.extend(result.crosses)
        self.recent_blocks.extend(result.blocks)

    def record_signals(self, batches: tuple[SignalBatch, ...], coordinated: Coordinated) -> None:
        self.latest_batches = batches
        if coordinated:
            self.latest_coordinated.update(coordinated.portfolios)
            for pid, signals in coordinated.portfolios.items():
                self.conflicts_session[pid] += signals.conflicts_total

    def record_allocation(self, result: AllocationResult) -> None:
        self.latest_allocations.update(result.views)
        self.latest_impacts.update(result.impacts)

    def record_orders(self, gate: GateResult, created: Iterable[Order]) -> None:
        self.recent_gate_decisions.extend(gate.decisions)
        self.recent_orders.extend(created)

    def record_cycle(self, report: CycleReport) -> None:
        self.recent_cycles.append(report)

    def record_snapshot_time(self, snapshot_ms: float) -> None:
        """Add the time spent publishing the snapshot to the latest cycle's report."""
        if self.recent_cycles:
            last = self.recent_cycles[-1]
            self.recent_cycles[-1] = replace(
                last,
                stage_ms={**last.stage_ms, "snapshot": snapshot_ms},
                total_ms=last.total_ms + snapshot_ms,
            )

    # -- the snapshot ---------------------------------------------------------------------
    def forget_kept_parts(self) -> None:
        """Drop the parts kept from the last snapshot: the next one is built from scratch (it
        must equal one built from what was kept)."""
        self._raw_rows_of = (None, SignalRows((), ()))
        self._coordinated_rows_of = ((), SignalRows((), ()))

    def portfolio_views(self) -> tuple[PortfolioView, ...]:
        state, ledger = self.state, self.state.ledger
        # Every name shown at its latest close, held or only targeted (not $0 when not held).
        prices = ledger.marks
        portfolios = []
        for mandate in self.mandates:
            pid = mandate.portfolio_id
            nav = ledger.nav_usd(pid)
            portfolios.append(
                PortfolioView(
                    pid,
                    mandate.name,
                    mandate.sources,
                    nav,
                    ledger.cash_usd(pid),
                    state.initial_cash_usd[pid],
                    position_views(state, pid, nav, self._sectors, prices),
                    state.target_cash_weight.get(pid, 1.0),
                    tuple(state.nav_history[pid]),
                    state.orders_total[pid],
                    state.fills_total[pid],
                    state.trading_state(pid),
                    state.trading_states.get(pid, {}).get("reason"),
                    mandate.allocator.model,
                    self.latest_impacts.get(pid),
                    mandate.long_short,
                    self.latest_allocations.get(pid),
                    cash_view(state, pid, mandate.interest_rate_annual),
                    weight_override_views(state, pid),
                )
            )
        return tuple(portfolios)

    def snapshot(
        self,
        status: EngineStatus,
        speed_days_per_second: float,
        stage_names: tuple[str, ...],
        risk: Mapping[str, RiskView],
        sources: tuple[SourceQualityView, ...],
        transport: TransportView,
        cycle_errors: int,
        last_error: str | None,
        event_seq: int = 0,
        version: int = 0,
    ) -> StateSnapshot:
        state = self.state
        portfolios = self.portfolio_views()
        risk_views = tuple(risk[m.portfolio_id] for m in self.mandates if m.portfolio_id in risk)
        risk_alerts = risk_alert_views(state)
        return StateSnapshot(
            version=version,
            event_seq=event_seq,
            status=status,
            speed_days_per_second=speed_days_per_second,
            cycles_completed=state.cycles_completed,
            market_date=state.market_date,
            published_at=utc_now(),
            instruments=self.universe.instruments,
            portfolios=portfolios,
            raw_signals=self._raw_rows(),
            coordinated_signals=self._coordinated_rows(),
            recent_orders=tuple(self.recent_orders),
            working_orders=working_order_views(state),
            recent_crosses=tuple(self.recent_crosses),
            recent_blocks=tuple(self.recent_blocks),
            execution_quality=execution_quality_views(state),
            risk=risk_views,
            recent_fills=tuple(self.recent_fills),
            recent_cycles=tuple(self.recent_cycles),
            cycle_errors=cycle_errors,
            last_error=last_error,
            stage_names=stage_names,
            transport=transport,
            sources=sources,
            quality_history=tuple(self.quality_history),
            signal_flows=tuple(self._signal_flows()),
            conflicts=tuple(c for s in self.latest_coordinated.values() for c in s.conflicts),
            conflict_counts=tuple(
                ConflictCount(
                    m.portfolio_id,
                    self.latest_coordinated[m.portfolio_id].conflicts_total
                    if m.portfolio_id in self.latest_coordinated
                    else 0,
                    self.conflicts_session[m.portfolio_id],
                )
                for m in self.mandates
            ),
            rejected_signals=tuple(self.recent_rejections),
            overrides=active_overrides(state),
            signals_accepted_session=self.signals_accepted_session,
            signals_rejected_session=self.signals_rejected_session,
            risk_alerts=risk_alerts,
            gate_decisions=tuple(self.recent_gate_decisions),
            risk_audit=tuple(self.risk_audit),
            overview=overview_view(
                portfolios, risk_alerts, risk_views, self.turnover, state.market_date
            ),
            rebalancing=rebalancing_views(
                state,
                self.mandates,
                {p.portfolio_id: p.positions for p in portfolios},
                self.rebalances,
                self._classes,
            ),
        )

    def _raw_rows(self) -> SignalRows:
        # One SignalRows per cycle's batches: a snapshot published again in the same cycle (a
        # command between cycles) shares the rows, and whoever made them first.
        if self._raw_rows_of[0] is not self.latest_batches:
            self._raw_rows_of = (
                self.latest_batches,
                SignalRows.of_batches(self.latest_batches, self.universe.symbols),
            )
        return self._raw_rows_of[1]

    def _coordinated_rows(self) -> SignalRows:
        # Every portfolio is coordinated on every cycle (new objects each time), so the rows
        # are kept only while they are the very objects they were built from: a snapshot
        # published again before the next cycle (after a command) shares them.
        latest = tuple(self.latest_coordinated.items())
        built_from, rows = self._coordinated_rows_of
        if len(latest) != len(built_from) or any(
            pid != kept_pid or signals is not kept
            for (pid, signals), (kept_pid, kept) in zip(latest, built_from, strict=False)
        ):
            rows = SignalRows(
                [SignalColumns.of_coordinated(pid, signals) for pid, signals in latest],
                self.universe.symbols,
            )
            self._coordinated_rows_of = (latest, rows)
        return rows

    def _signal_flows(self) -> Iterator[SignalFlow]:
        for pid, coordinated in self.latest_coordinated.items():
            for key, share in coordinated.lineage.items():
                total = float(share.sum())
                if total > 0:
                    yield SignalFlow(key, pid, total)


def source_views(
    models: Mapping[str, tuple[str, ...]],
    externals: Mapping[str, tuple[str, ...]],
    priorities: Mapping[str, float],
    tracker: QualityTracker,
    multipliers: Mapping[str, float],
) -> tuple[SourceQualityView, ...]:
    """Each source (model and external, with its horizons) and its measured quality."""
    kinds = [(name, "model", h) for name, h in models.items()]
    kinds += [(name, "external", h) for name, h in externals.items()]
    views = []
    for name, kind, horizons in kinds:
        quality = tracker.quality(name)
        views.append(
            SourceQualityView(
                name,
                kind,
                priorities.get(name, 1.0),
                horizons,
                quality.ic,
                quality.hit_rate,
                quality.coverage,
                quality.observations,
                multipliers.get(name, quality.multiplier),
            )
        )
    return tuple(views)
