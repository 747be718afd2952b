"""The immutable picture of the engine that readers (dashboard, API, CLI) see after each cycle.

The engine thread builds a new ``StateSnapshot`` at the end of every cycle and swaps one reference;
readers never see a half-updated state and never hold a lock. Everything in here is a frozen
dataclass or a tuple so a reader cannot change what the engine owns (the live engine's signal
rows are a ``SignalRows``, engine/views/signal_rows.py: an immutable sequence read as a tuple).
The views made per holding, per order or per gate decision, hundreds to thousands a cycle, are
``NamedTuple``s: as immutable, at a third of a frozen dataclass's cost to construct.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, NamedTuple

from engine.allocation.impact import AllocationImpact
from engine.model import Conflict, CycleReport, Fill, Instrument, Order
from engine.signals.book import Override

if TYPE_CHECKING:
    from engine.views.rebalancing import RebalancingView


class EngineStatus(enum.StrEnum):
    STARTING = "starting"
    RUNNING = "running"
    PAUSED = "paused"
    FINISHED = "finished"
    STOPPED = "stopped"


class PositionView(NamedTuple):
    symbol: str
    sector: str
    quantity_shares: int
    price_usd: Decimal
    market_value_usd: Decimal
    weight: float
    target_weight: float


@dataclass(frozen=True, slots=True)
class NavPoint:
    timestamp: date
    nav_usd: float
    cash_usd: float


@dataclass(frozen=True, slots=True)
class SleeveView:
    """One sleeve of a multi-strategy portfolio: its capital share and what it contributes,
    ``contributions`` = (symbol, capital x sleeve weight), fractions of the portfolio's NAV."""

    sleeve_id: str
    capital: float
    model: str
    sources: tuple[str, ...]
    contributions: tuple[tuple[str, float], ...]


@dataclass(frozen=True, slots=True)
class AllocationView:
    """The latest allocation of a portfolio: how it came out and what shaped it.

    ``binding``: the constraint families at their limit in the whole-share target (e.g.
    ``max_weight: AAPL, MSFT``); ``solver`` and ``solver_fallback`` as in the allocation's
    event (``TargetWeightsSet``); ``risk_contributions``: (symbol, share of the target's ex-ante
    variance, summing to 1 over the held names).
    """

    market_date: date
    model: str
    status: str  # "ok", "infeasible" or "fallback"
    reason: str | None
    binding: tuple[str, ...]
    risk_contributions: tuple[tuple[str, float], ...]
    sleeves: tuple[SleeveView, ...] = ()
    # Which solver sized the target ("piqp", "clarabel"; by sleeve, "sleeve: solver", for a
    # sleeved portfolio), and why Clarabel did when PIQP was chosen; None: no solver was needed.
    solver: str | None = None
    solver_fallback: str | None = None


@dataclass(frozen=True, slots=True)
class CashView:
    """Cash in US dollars: ``settled + pending = cash``; pending is signed (receivable > 0)."""

    settled_usd: Decimal
    pending_usd: Decimal
    settlements: tuple[tuple[date, Decimal], ...]
    interest_income_usd: Decimal
    interest_rate_annual: float


@dataclass(frozen=True, slots=True)
class WeightOverrideView:
    """A manager's weight override: ``weight`` pins the instrument's target weight (fraction of
    NAV); None excludes the instrument from the portfolio."""

    portfolio_id: str
    symbol: str
    weight: float | None
    reason: str
    actor: str
    set_on: date | None


@dataclass(frozen=True, slots=True)
class PortfolioView:
    portfolio_id: str
    name: str
    sources: tuple[str, ...]
    nav_usd: Decimal
    cash_usd: Decimal
    initial_nav_usd: Decimal
    positions: tuple[PositionView, ...]
    target_cash_weight: float
    nav_history: tuple[NavPoint, ...]
    orders_total: int
    fills_total: int
    trading_state: str = "ACTIVE"
    halt_reason: str | None = None
    allocation_model: str = "signal_proportional"
    impact: AllocationImpact | None = None
    long_short: bool = False
    allocation: AllocationView | None = None
    cash: CashView | None = None
    weight_overrides: tuple[WeightOverrideView, ...] = ()

    @property
    def total_return_pct(self) -> float:
        return float((self.nav_usd / self.initial_nav_usd - 1) * 100)

    @property
    def cash_weight(self) -> float:
        return float(self.cash_usd / self.nav_usd) if self.nav_usd else 1.0


@dataclass(frozen=True, slots=True)
class SignalRow:
    """One instrument's signal: from a source at one horizon (``origin`` = ``source/horizon``) or
    coordinated for a portfolio (``origin`` = portfolio id, with the ``lineage``: each raw view's
    share of the score)."""

    origin: str
    symbol: str
    score: float
    confidence: float
    lineage: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True, slots=True)
class SourceQualityView:
    """A signal source, its configured priority and its measured quality (NaN until measured)."""

    source: str
    kind: str
    priority: float
    horizons: tuple[str, ...]
    ic: float
    hit_rate: float
    coverage: float
    observations: int
    multiplier: float


@dataclass(frozen=True, slots=True)
class QualityPoint:
    market_date: date
    source: str
    ic: float
    hit_rate: float
    coverage: float
    multiplier: float


@dataclass(frozen=True, slots=True)
class SignalFlow:
    """How much of a portfolio's coordinated view came from one raw ``source/horizon``: the sum
    over instruments of that view's share (instrument equivalents)."""

    origin: str
    portfolio_id: str
    weight: float


@dataclass(frozen=True, slots=True)
class RejectedSignal:
    received_at: datetime
    market_date: date | None
    signal_id: str | None
    source: str | None
    instrument: str | None
    field: str
    reason: str
    value: str
    actor: str
    channel: str


@dataclass(frozen=True, slots=True)
class ConflictCount:
    portfolio_id: str
    latest_cycle: int
    session_total: int


@dataclass(frozen=True, slots=True)
class TransportView:
    """Where events go beyond the SQL store, and how far behind the store that is."""

    bus: str = "embedded"
    relay_lag_events: int | None = None
    relay_published_seq: int | None = None
    relay_error: str | None = None


class WorkingOrderView(NamedTuple):
    """An order still working at the venue (or just created): its plan and progress.

    ``state``: NEW, PARTIALLY_FILLED (terminal states leave the view); ``schedule``: planned
    shares per trading day from its creation; ``crossed_shares``: the part matched internally
    against other portfolios at the mid; ``estimated_cost_bps``: the cost model's estimate."""

    order_id: str
    portfolio_id: str
    symbol: str
    side: str
    quantity_shares: int
    filled_shares: int
    state: str
    algorithm: str
    reason: str
    schedule: tuple[int, ...]
    crossed_shares: int
    created: date
    decision_price_usd: Decimal
    estimated_cost_bps: float


@dataclass(frozen=True, slots=True)
class CrossView:
    """Shares of one instrument crossed internally between portfolios at the mid (USD/share),
    each portfolio's signed share, and the spread and impact the venue would have charged."""

    market_date: date
    symbol: str
    quantity_shares: int
    price_usd: Decimal
    portfolios: tuple[tuple[str, int], ...]
    saving_usd: Decimal


@dataclass(frozen=True, slots=True)
class BlockView:
    """One day's block at the venue: the child orders' slices on one instrument and side, sent
    as one order, and the fill allocated back to them pro rata."""

    block_id: str
    market_date: date
    symbol: str
    side: str
    quantity_shares: int
    filled_shares: int
    children: int


@dataclass(frozen=True, slots=True)
class ExecutionQualityView:
    """Implementation shortfall of a portfolio's completed orders since the engine started
    (USD, and basis points of the decision notional), and what internal crossing saved."""

    portfolio_id: str
    orders: int
    decision_notional_usd: Decimal
    delay_bps: float
    spread_bps: float
    impact_bps: float
    commission_bps: float
    opportunity_bps: float
    total_bps: float
    total_usd: Decimal
    crossing_saving_usd: Decimal


@dataclass(frozen=True, slots=True)
class LimitView:
    """One risk limit in force and its utilisation at the latest close (see
    engine/risk/limits.py for the kinds and units). ``value``/``utilisation`` are None where the
    measure is not known yet; ``detail`` names what binds (an instrument, a sector)."""

    name: str
    unit: str
    threshold: float
    mode: str
    warn_at: float
    on_breach: str
    version: int
    scope: str
    set_by: str
    value: float | None = None
    utilisation: float | None = None
    level: str = "ok"
    detail: str = ""
    symbols: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RiskAlertView:
    alert_id: str
    portfolio_id: str
    limit: str
    level: str  # warning | breach
    value: float
    threshold: float
    utilisation: float
    raised_on: date | None
    message: str
    acknowledged_by: str | None = None
    acknowledged_note: str = ""


class GateDecisionView(NamedTuple):
    """An order the pre-trade risk gate scaled down or rejected, and why."""

    market_date: date
    portfolio_id: str
    order_id: str
    symbol: str
    side: str
    requested_shares: int
    approved_shares: int
    action: str  # scaled | rejected
    limit: str
    value: float | None
    threshold: float | None
    reason: str


@dataclass(frozen=True, slots=True)
class RiskAuditView:
    """A risk control change: a limit set or removed, a trading state, an acknowledged alert."""

    recorded_at: datetime
    portfolio_id: str | None
    action: str
    actor: str
    detail: str
    # The market date it took effect on: the latest close for a command, the cycle's close for
    # a change the engine made itself; None when not known (entries read back after a restart).
    market_date: date | None = None


@dataclass(frozen=True, slots=True)
class StressView:
    """One stress scenario's P&L (fraction of NAV; negative is a loss) on the holdings and on
    the latest proposed allocation (None when there is none)."""

    scenario: str
    kind: str
    window: str
    pnl_holdings: float
    pnl_proposed: float | None = None


class InstrumentRiskView(NamedTuple):
    """One holding's Euler risk attribution (engine/risk/attribution.py): ``marginal`` is the
    measure's change per unit of NAV added to the instrument, ``component`` its part of the
    total (weight x marginal; the components sum to the total). Volatility is annualised; VaR
    and CVaR are 1-day at 99%, fractions of NAV."""

    symbol: str
    sector: str
    weight: float
    marginal_volatility: float
    component_volatility: float
    marginal_var_99: float
    component_var_99: float
    component_cvar_99_historical: float


@dataclass(frozen=True, slots=True)
class RiskView:
    """A portfolio's risk at the latest close, from its current holdings (fractions of NAV; VaR
    and CVaR are 1-day losses, positive, as fractions of NAV).

    ``contributions``: (symbol, share of the parametric 1-day 99% VaR), Euler's decomposition, so
    they sum to 1; ``sector_contributions`` the same by sector; ``sector_exposures``: (sector,
    net weight). ``drawdown`` (current) and ``max_drawdown`` are positive fractions below the
    peak closing NAV of the last ``drawdown_window_days`` trading days (engine/risk/metrics.py
    ``trailing_drawdowns``), the measure the ``max_drawdown`` limit is checked against.
    ``history``: (market date, historical 99% VaR) of recent cycles."""

    portfolio_id: str
    market_date: date
    gross_exposure: float
    net_exposure: float
    volatility_annual: float
    var_95_parametric: float
    var_99_parametric: float
    cvar_95_parametric: float
    cvar_99_parametric: float
    var_95_historical: float
    var_99_historical: float
    cvar_95_historical: float
    cvar_99_historical: float
    drawdown: float
    max_drawdown: float
    sector_exposures: tuple[tuple[str, float], ...]
    contributions: tuple[tuple[str, float], ...]
    sector_contributions: tuple[tuple[str, float], ...]
    history: tuple[tuple[date, float], ...] = ()
    trading_state: str = "ACTIVE"
    limits: tuple[LimitView, ...] = ()
    # (sleeve, share of the parametric 99% VaR), Euler; with the instrument shares they sum to 1.
    sleeve_contributions: tuple[tuple[str, float], ...] = ()
    stress: tuple[StressView, ...] = ()
    # Scaling of the latest allocation toward the risk budget: (limit, factor < 1), if any.
    budget_scaling: tuple[str, float] | None = None
    # Held instruments, largest |component VaR| first.
    attribution: tuple[InstrumentRiskView, ...] = ()
    # The trailing window ``drawdown`` and ``max_drawdown`` are measured over (trading days).
    drawdown_window_days: int = 252


@dataclass(frozen=True, slots=True)
class StateSnapshot:
    status: EngineStatus
    speed_days_per_second: float
    cycles_completed: int
    market_date: date | None
    published_at: datetime
    instruments: tuple[Instrument, ...]
    portfolios: tuple[PortfolioView, ...]
    # Tuples, or the SignalRows the live engine builds (rows made on the first read).
    raw_signals: Sequence[SignalRow] = ()
    coordinated_signals: Sequence[SignalRow] = ()
    recent_orders: tuple[Order, ...] = ()
    recent_fills: tuple[Fill, ...] = ()
    recent_cycles: tuple[CycleReport, ...] = ()
    cycle_errors: int = 0
    last_error: str | None = None
    stage_names: tuple[str, ...] = field(default=())
    transport: TransportView = TransportView()
    sources: tuple[SourceQualityView, ...] = ()
    quality_history: tuple[QualityPoint, ...] = ()
    signal_flows: tuple[SignalFlow, ...] = ()
    conflicts: tuple[Conflict, ...] = ()
    conflict_counts: tuple[ConflictCount, ...] = ()
    rejected_signals: tuple[RejectedSignal, ...] = ()
    overrides: tuple[Override, ...] = ()
    signals_accepted_session: int = 0
    signals_rejected_session: int = 0
    working_orders: tuple[WorkingOrderView, ...] = ()
    recent_crosses: tuple[CrossView, ...] = ()
    recent_blocks: tuple[BlockView, ...] = ()
    execution_quality: tuple[ExecutionQualityView, ...] = ()
    risk: tuple[RiskView, ...] = ()
    risk_alerts: tuple[RiskAlertView, ...] = ()
    gate_decisions: tuple[GateDecisionView, ...] = ()
    risk_audit: tuple[RiskAuditView, ...] = ()
    # ``version`` changes with every publication (a page redraws only when it changed);
    # ``event_seq`` is the last stored event the snapshot reflects (a command's reply names the
    # sequence its page waits for).
    version: int = 0
    event_seq: int = 0
    # The portfolio manager's figures (AUM, P&L, drift, cash to invest, turnover, alerts),
    # computed once per publication by engine/views/overview.py; None before the first one.
    overview: OverviewView | None = None
    # Each portfolio's drift against its bands, policy, proposal and rebalances
    # (engine/views/rebalancing.py).
    rebalancing: tuple[RebalancingView, ...] = ()

    @property
    def last_cycle_ms(self) -> float | None:
        return self.recent_cycles[-1].total_ms if self.recent_cycles else None

    def portfolio(self, portfolio_id: str) -> PortfolioView:
        for view in self.portfolios:
            if view.portfolio_id == portfolio_id:
                return view
        raise KeyError(f"portfolio_id: no portfolio named {portfolio_id!r}")


@dataclass(frozen=True, slots=True)
class BookSummaryView:
    """One portfolio as its manager reads it (engine/views/overview.py defines each figure).

    Money in USD; ``*_pct`` and weights are fractions (0.012 = 1.2%). ``pnl_today_usd`` is the
    change of NAV on ``pnl_date``, the latest market date (None before the first cycle);
    ``drift`` is half the sum of |weight - target weight| over instruments and cash, the share
    of NAV a rebalance to target would trade one way; ``annual_turnover`` is traded notional
    over average NAV per year of trading days, measured since ``turnover_since`` (None until a
    cycle was seen). ``alerts``: open risk alerts; ``breaches``: limits in breach now."""

    portfolio_id: str
    name: str
    trading_state: str
    nav_usd: Decimal
    pnl_date: date | None
    pnl_today_usd: Decimal | None
    pnl_today_pct: float | None
    pnl_period_usd: Decimal
    pnl_period_pct: float
    drift: float
    cash_weight: float
    target_cash_weight: float
    cash_to_invest_usd: Decimal
    traded_usd: Decimal
    annual_turnover: float | None
    turnover_since: date | None
    alerts: int
    breaches: int
    halt_reason: str | None = None


@dataclass(frozen=True, slots=True)
class OverviewView:
    """Every portfolio's ``BookSummaryView`` and their totals (AUM is the sum of the NAVs)."""

    market_date: date | None
    aum_usd: Decimal
    pnl_today_usd: Decimal | None
    pnl_today_pct: float | None
    pnl_period_usd: Decimal
    pnl_period_pct: float
    cash_to_invest_usd: Decimal
    alerts: int
    breaches: int
    books: tuple[BookSummaryView, ...]
