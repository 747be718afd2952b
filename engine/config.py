"""Configuration: one TOML file describes the market data, the venue and every portfolio's mandate.

The default ships with the package (``engine/default_config.toml``); ``--config FILE`` replaces it
whole. Validation is strict (unknown keys are errors) and every error names the key path, the value
and the rule, e.g. ``portfolios[1].max_weight: 1.5 is not valid (must be <= 1)``.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from engine.errors import ConfigError
from engine.rebalancing.config import RebalancingConfig, TaxConfig
from engine.risk.limits import LimitScope, make_limit
from engine.signals.horizons import horizon_days

DEFAULT_CONFIG_RESOURCE = "default_config.toml"
MODEL_SOURCE_NAMES = ("momentum", "mean_reversion")
RESERVED_SOURCE_NAMES = (*MODEL_SOURCE_NAMES, "manual")
LONG_SHORT_MODELS = ("signal_proportional", "minimum_variance", "mean_variance")
# The long-only models that size the names with a positive view (engine/allocation/mandate.py).
SIGNAL_BAND_MODELS = ("equal_weight", "inverse_volatility", "risk_parity", "minimum_variance")
SOURCE_NAME_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MarketConfig(_Strict):
    source: Literal["bundled", "simulated", "file"] = "bundled"
    path: Path | None = Field(None, description="CSV or Parquet of prices when source = 'file'")
    start: date | None = None
    end: date | None = None
    adv_usd: Annotated[float, Field(gt=0)] = 5e8
    simulated_instruments: Annotated[int, Field(ge=2, le=20_000)] = 100
    simulated_days: Annotated[int, Field(ge=2)] = 2_520
    seed: int = 7
    # symbol -> asset class (bond, commodity, ...) for instruments the prices do not class;
    # every other instrument is equity (docs/rebalancing.md).
    asset_classes: dict[str, Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")]] = {}

    @model_validator(mode="after")
    def _path_given_for_file(self) -> MarketConfig:
        if self.source == "file" and self.path is None:
            raise ValueError("path is required when source = 'file'")
        if self.start and self.end and self.start > self.end:
            raise ValueError(f"start {self.start} is after end {self.end}")
        return self


class VenueConfig(_Strict):
    half_spread_bps: Annotated[float, Field(ge=0, le=500)] = 5.0
    commission_bps: Annotated[float, Field(ge=0, le=500)] = 1.0
    min_commission_usd: Annotated[Decimal, Field(ge=0)] = Decimal("1.00")
    # Square-root market impact: coefficient * daily volatility * sqrt(shares / ADV), of price.
    impact_coefficient: Annotated[float, Field(ge=0, le=10)] = 1.0


def _check_horizons(labels: Iterable[str]) -> None:
    for label in labels:
        horizon_days(label)


class MomentumConfig(_Strict):
    priority: Annotated[float, Field(gt=0)] = 2.0
    horizons_days: Annotated[tuple[int, ...], Field(min_length=1)] = (21, 63, 126, 252)
    skip_days: Annotated[int, Field(ge=0)] = 5

    @model_validator(mode="after")
    def _horizons_longer_than_skip(self) -> MomentumConfig:
        for horizon in self.horizons_days:
            if horizon <= self.skip_days:
                raise ValueError(
                    f"horizon {horizon} must be longer than skip_days {self.skip_days}"
                )
        return self


class MeanReversionConfig(_Strict):
    priority: Annotated[float, Field(gt=0)] = 1.0
    lookbacks_days: Annotated[
        tuple[Annotated[int, Field(ge=2, le=63)], ...], Field(min_length=1)
    ] = (5, 21)
    volatility_days: Annotated[int, Field(ge=10, le=252)] = 63


class ExternalSourceConfig(_Strict):
    """A feed or desk that submits signals over HTTP or from files."""

    description: str = ""
    priority: Annotated[float, Field(gt=0)] = 1.0
    # Business days a signal counts for when it names no ttl_days of its own.
    ttl_days: Annotated[int, Field(ge=1, le=2520)] = 5
    # Horizons the source may send (empty: any valid label such as 1d, 1w, 1m, 3m).
    horizons: tuple[str, ...] = ()
    max_signals_per_minute: Annotated[int, Field(ge=1)] = 6000

    @model_validator(mode="after")
    def _valid_horizons(self) -> ExternalSourceConfig:
        _check_horizons(self.horizons)
        return self


class SourcesConfig(_Strict):
    momentum: MomentumConfig = MomentumConfig()
    mean_reversion: MeanReversionConfig = MeanReversionConfig()
    external: dict[Annotated[str, Field(pattern=SOURCE_NAME_PATTERN)], ExternalSourceConfig] = {}

    @model_validator(mode="after")
    def _external_names_free(self) -> SourcesConfig:
        taken = sorted(set(self.external) & set(RESERVED_SOURCE_NAMES))
        if taken:
            raise ValueError(f"external source names {taken} are reserved for built-in sources")
        return self

    @property
    def names(self) -> tuple[str, ...]:
        return (*MODEL_SOURCE_NAMES, *self.external)

    def priority(self, name: str) -> float:
        if name == "momentum":
            return self.momentum.priority
        if name == "mean_reversion":
            return self.mean_reversion.priority
        return self.external[name].priority


class CoordinationConfig(_Strict):
    """How a portfolio turns its sources' views into one (see engine/signals/coordination.py)."""

    policy: Literal["confidence_blend", "priority", "majority_vote"] = "confidence_blend"
    # majority_vote: the share of weighted votes the larger side needs, else no view.
    min_agreement: Annotated[float, Field(ge=0.5, le=1)] = 0.6
    # Sources that only block: one that disagrees with the result at this confidence or more.
    veto_sources: tuple[str, ...] = ()
    veto_min_confidence: Annotated[float, Field(gt=0, le=1)] = 0.5
    # Weight of each horizon inside a source (default 1) and its half-life in business days
    # (default: half the horizon).
    horizon_weights: dict[str, Annotated[float, Field(ge=0)]] = {}
    half_life_days: dict[str, Annotated[float, Field(gt=0)]] = {}

    @model_validator(mode="after")
    def _valid_horizons(self) -> CoordinationConfig:
        _check_horizons(self.horizon_weights)
        _check_horizons(self.half_life_days)
        return self


class QualityConfig(_Strict):
    """Rolling information coefficient per source and the weight it earns (signals/quality)."""

    window: Annotated[int, Field(ge=5, le=2520)] = 63
    min_observations: Annotated[int, Field(ge=1)] = 20
    min_cross_section: Annotated[int, Field(ge=3)] = 5
    sensitivity: Annotated[float, Field(ge=0)] = 10.0
    weight_bounds: tuple[
        Annotated[float, Field(gt=0, le=1)], Annotated[float, Field(ge=1, le=100)]
    ] = (0.25, 2.0)
    # An audited SourceQualityMeasured event every this many cycles.
    record_every_cycles: Annotated[int, Field(ge=1)] = 5


class SignalsConfig(_Strict):
    quality: QualityConfig = QualityConfig()
    max_signals_per_request: Annotated[int, Field(ge=1, le=1_000_000)] = 20_000


class AllocationConfig(_Strict):
    """How a portfolio sizes its positions (see engine/allocation/mandate.py)."""

    model: Literal[
        "signal_proportional",
        "equal_weight",
        "inverse_volatility",
        "minimum_variance",
        "risk_parity",
        "mean_variance",
    ] = "signal_proportional"
    risk_model: Literal["sample", "ledoit_wolf", "ewma", "pca"] = "ledoit_wolf"
    # Daily returns the risk model is estimated from (less than history_days).
    lookback_days: Annotated[int, Field(ge=20, le=2520)] = 126
    ewma_halflife_days: Annotated[float, Field(gt=0)] = 42.0
    pca_factors: Annotated[int, Field(ge=1, le=100)] = 5
    # mean_variance: maximise mu'w - risk_aversion * w'Sigma w (daily units); mu = IC * vol * view.
    risk_aversion: Annotated[float, Field(gt=0)] = 1.0
    information_coefficient: Annotated[float, Field(gt=0, le=1)] = 0.05
    sector_caps: dict[str, Annotated[float, Field(ge=0, le=1)]] = {}
    # Largest sum of |weight changes| per rebalance (e.g. 0.2 = 20% of NAV); none by default.
    max_turnover: Annotated[float, Field(gt=0, le=2)] | None = None
    # No-trade band on the view (conviction = score x confidence) of the long-only models that
    # size the names with a positive view: buy a name only above +signal_band, keep a held one
    # until it is no longer above -signal_band. 0: exactly the names with a positive view.
    signal_band: Annotated[float, Field(ge=0, lt=1)] = 0.0
    # Long/short: the largest short per name (0 = long-only), the most gross exposure sum |w|
    # and the net exposure range sum(w) (default: 1 - cash_buffer exactly); all of NAV.
    max_short_weight: Annotated[float, Field(ge=0, le=1)] = 0.0
    gross_exposure: Annotated[float, Field(gt=0, le=10)] | None = None
    net_exposure: (
        tuple[Annotated[float, Field(ge=-1, le=1)], Annotated[float, Field(ge=-1, le=1)]] | None
    ) = None

    @model_validator(mode="after")
    def _long_short_rules(self) -> AllocationConfig:
        if self.max_short_weight == 0:
            if self.gross_exposure is not None or self.net_exposure is not None:
                raise ValueError(
                    "gross_exposure and net_exposure need a long/short book (max_short_weight > 0)"
                )
            return self
        if self.model not in LONG_SHORT_MODELS:
            raise ValueError(
                f"model {self.model!r} is long-only; with max_short_weight > 0 use one of "
                f"{', '.join(LONG_SHORT_MODELS)}"
            )
        if self.gross_exposure is None:
            raise ValueError("gross_exposure is required for a long/short book (e.g. 1.6)")
        if self.net_exposure is not None:
            low, high = self.net_exposure
            if low > high:
                raise ValueError(f"net_exposure [{low}, {high}]: the floor is above the ceiling")
            if self.gross_exposure < max(low, -high, 0.0):
                raise ValueError(
                    f"gross_exposure {self.gross_exposure} cannot hold the net exposure "
                    f"[{low}, {high}]"
                )
        return self

    @model_validator(mode="after")
    def _signal_band_rules(self) -> AllocationConfig:
        # After the long/short rules: a broken long/short book is explained first.
        if self.signal_band > 0 and (
            self.model not in SIGNAL_BAND_MODELS or self.max_short_weight > 0
        ):
            raise ValueError(
                f"signal_band applies to the long-only models that size the names with a "
                f"positive view ({', '.join(SIGNAL_BAND_MODELS)}); model {self.model!r}"
                + (" with max_short_weight > 0" if self.max_short_weight > 0 else "")
                + " sizes every view"
            )
        return self


class SolverConfig(_Strict):
    """The engine-wide ``[allocation]`` section: which solver sizes the quadratic models
    (minimum_variance, mean_variance). ``piqp`` (on the QP directly, with Clarabel as the
    fallback when it fails or is inaccurate) or ``clarabel`` (through cvxpy); see
    engine/allocation/qp.py and ``pcoord bench-allocation``. ``workers``: processes that solve
    the portfolios' problems side by side (1: in the engine's process); ``worker_timeout_s``: the
    longest a worker may take over one problem before the engine solves it itself (see
    engine/allocation/solver_pool.py)."""

    solver: Literal["piqp", "clarabel"] = "piqp"
    workers: Annotated[int, Field(ge=1, le=64)] = 1
    worker_timeout_s: Annotated[float, Field(gt=0, le=3600)] = 10.0


class CashConfig(_Strict):
    """Cash management: settlement lag and interest income (see engine/state/ledger.py)."""

    # Business days from trade to settlement (US equities settle T+1 since 28 May 2024).
    settlement_days: Annotated[int, Field(ge=0, le=5)] = 1
    # Interest on settled cash, ACT/360, accrued daily and credited on the month's first cycle.
    interest_rate_annual: Annotated[float, Field(ge=-0.05, le=0.25)] = 0.0


class SleeveConfig(_Strict):
    """One strategy sleeve of a portfolio: its own sources, coordination and sizing model, and
    its share of the portfolio's capital."""

    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")]
    capital: Annotated[float, Field(gt=0, le=1)]
    sources: Annotated[tuple[str, ...], Field(min_length=1)]
    source_weights: dict[str, Annotated[float, Field(gt=0)]] = {}
    coordination: CoordinationConfig = CoordinationConfig()
    allocation: AllocationConfig = AllocationConfig()
    # With [portfolios.risk_budgeting]: the sleeve's share of the portfolio's variance.
    risk_budget: Annotated[float, Field(gt=0, le=1)] | None = None


class RiskBudgetingConfig(_Strict):
    """Sleeve capital set at each rebalance so that each sleeve carries its ``risk_budget``
    share of the portfolio's variance (engine/risk/budgets.py); the budgets move against each
    sleeve's volatility regime (short / long window) within ``budget_bounds``, and the capital
    stays within ``capital_bounds``."""

    capital_bounds: tuple[
        Annotated[float, Field(ge=0, le=1)], Annotated[float, Field(ge=0, le=1)]
    ] = (0.05, 0.95)
    adapt_to_regime: bool = True
    short_window_days: Annotated[int, Field(ge=5)] = 21
    long_window_days: Annotated[int, Field(ge=10)] = 126
    budget_bounds: tuple[
        Annotated[float, Field(gt=0, le=1)], Annotated[float, Field(gt=0, le=1)]
    ] = (0.1, 0.9)

    @model_validator(mode="after")
    def _ordered(self) -> RiskBudgetingConfig:
        for name in ("capital_bounds", "budget_bounds"):
            low, high = getattr(self, name)
            if low > high:
                raise ValueError(f"{name}: {low} is above {high}")
        if self.short_window_days >= self.long_window_days:
            raise ValueError(
                f"short_window_days {self.short_window_days} must be less than "
                f"long_window_days {self.long_window_days}"
            )
        return self


class BenchmarkConfig(_Strict):
    """What a portfolio's returns are measured against (engine/performance/returns.py)."""

    # "sp500": the bundled S&P 500 index (price only; comes with the bundled market);
    # "equal_weight": the portfolio's universe equally weighted; "weights": weights_file, a CSV
    # of symbol,weight. Baskets are rebalanced to their weights every day.
    kind: Literal["sp500", "equal_weight", "weights"] = "sp500"
    weights_file: Path | None = None

    @model_validator(mode="after")
    def _file_with_weights(self) -> BenchmarkConfig:
        if (self.kind == "weights") != (self.weights_file is not None):
            raise ValueError('weights_file is needed with kind = "weights", and only then')
        return self


class PerformanceConfig(_Strict):
    """Performance measurement (docs/performance.md): the risk-free rate behind Sharpe, Sortino
    and alpha, and the benchmark of every portfolio that does not name its own."""

    risk_free_rate_annual: Annotated[float, Field(ge=-0.05, le=0.25)] = 0.0
    benchmark: BenchmarkConfig = BenchmarkConfig()


class PortfolioConfig(_Strict):
    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")]
    name: Annotated[str, Field(min_length=1)]
    universe: Literal["all"] | Annotated[tuple[str, ...], Field(min_length=1)] = "all"
    sources: tuple[str, ...]
    source_weights: dict[str, Annotated[float, Field(gt=0)]] = {}
    coordination: CoordinationConfig = CoordinationConfig()
    allocation: AllocationConfig = AllocationConfig()
    max_weight: Annotated[float, Field(gt=0, le=1)] = 0.10
    cash_buffer: Annotated[float, Field(ge=0, lt=1)] = 0.02
    initial_cash_usd: Annotated[Decimal, Field(gt=0)] = Decimal("1000000")
    rebalance_every_days: Annotated[int, Field(ge=1)] = 1
    rebalancing: RebalancingConfig = RebalancingConfig()
    tax: TaxConfig = TaxConfig()
    min_trade_weight: Annotated[float, Field(ge=0, lt=1)] = 0.002
    cash: CashConfig = CashConfig()
    # Risk limits may be set for all of a tenant's portfolios at once.
    tenant: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")] = "default"
    # Multi-strategy: sleeves sized apart and combined by capital (capitals sum to 1).
    sleeves: tuple[SleeveConfig, ...] = ()
    risk_budgeting: RiskBudgetingConfig | None = None
    # Its own benchmark; else [performance.benchmark].
    benchmark: BenchmarkConfig | None = None

    @model_validator(mode="after")
    def _weights_name_used_sources(self) -> PortfolioConfig:
        if not self.sources:
            raise ValueError("sources must name at least one signal source")
        unknown = sorted(set(self.source_weights) - set(self.sources))
        if unknown:
            raise ValueError(f"source_weights names {unknown}, which are not in sources")
        if self.sleeves:
            self._check_sleeves()
        if self.rebalancing.asset_classes:
            self._check_asset_classes()
        if self.risk_budgeting is not None:
            budgets = [sleeve.risk_budget for sleeve in self.sleeves]
            if len(budgets) < 2 or any(b is None for b in budgets):
                raise ValueError("risk_budgeting: needs two or more sleeves, each with risk_budget")
            if abs(sum(budgets) - 1.0) > 1e-9:  # type: ignore[arg-type]
                raise ValueError(f"sleeves: risk_budget values sum to {sum(budgets):g}, not 1")  # type: ignore[arg-type]
        return self

    def _check_asset_classes(self) -> None:
        total = sum(self.rebalancing.asset_classes.values())
        if total > 1 - self.cash_buffer + 1e-9:
            raise ValueError(
                f"rebalancing.asset_classes: the targets sum to {total:g}, more than the "
                f"{1 - self.cash_buffer:g} of NAV invested (cash_buffer {self.cash_buffer:g})"
            )
        if self.allocation.max_short_weight > 0 or self.sleeves:
            raise ValueError(
                "rebalancing.asset_classes: class targets are for long-only portfolios without "
                "sleeves"
            )

    def _check_sleeves(self) -> None:
        ids = [sleeve.id for sleeve in self.sleeves]
        if len(set(ids)) != len(ids):
            raise ValueError(f"sleeves: ids {ids} are not unique")
        total = sum(sleeve.capital for sleeve in self.sleeves)
        if abs(total - 1.0) > 1e-9:
            raise ValueError(f"sleeves: capitals sum to {total:g}, not 1")
        for k, sleeve in enumerate(self.sleeves):
            outside = sorted(set(sleeve.sources) - set(self.sources))
            if outside:
                raise ValueError(
                    f"sleeves[{k}].sources {outside} are not among the portfolio's sources"
                )
            unknown = sorted(set(sleeve.source_weights) - set(sleeve.sources))
            if unknown:
                raise ValueError(f"sleeves[{k}].source_weights names {unknown}, not in its sources")
            if sleeve.allocation.max_short_weight != self.allocation.max_short_weight:
                raise ValueError(
                    f"sleeves[{k}].allocation.max_short_weight must equal the portfolio's "
                    f"({self.allocation.max_short_weight}): the ledger is long-only or not"
                )


class EventsConfig(_Strict):
    bus: Literal["embedded", "pulsar"] = "embedded"
    pulsar_url: Annotated[str, Field(pattern=r"^pulsar(\+ssl)?://")] = "pulsar://127.0.0.1:6650"
    pulsar_tenant: str = "public"
    pulsar_namespace: str = "default"
    # Names this deployment's topics and producers, so two deployments can share a broker.
    deployment: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")] = "pcoord"


class TradingConfig(_Strict):
    """How orders reach the market (see engine/trading/execution.py)."""

    # Opposite orders of different portfolios on one instrument cross internally at the mid.
    crossing: bool = True
    # At most this share of an instrument's daily volume per day; larger orders take more days.
    participation_cap: Annotated[float, Field(gt=0, le=1)] = 0.10
    # Orders up to this share of average daily volume go at once (Immediate).
    immediate_max_adv_fraction: Annotated[float, Field(gt=0, le=1)] = 0.01
    # The longest schedule, in trading days.
    max_days: Annotated[int, Field(ge=1, le=60)] = 20


class RiskLimitConfig(_Strict):
    """One risk limit (see engine/risk/limits.py for the kinds and their units), for every
    portfolio, or only a tenant's (``tenant``) or one portfolio's (``portfolio``)."""

    name: str
    value: float | None = None
    mode: Literal["hard", "soft"] = "hard"
    warn_at: Annotated[float, Field(gt=0, le=1)] | None = None
    on_breach: Literal["alert", "reduce", "halt"] = "alert"
    symbols: tuple[str, ...] = ()
    portfolio: str | None = None
    tenant: str | None = None

    @model_validator(mode="after")
    def _valid(self) -> RiskLimitConfig:
        if self.portfolio and self.tenant:
            raise ValueError("a limit applies to one portfolio or one tenant, not both")
        make_limit(self.name, self.value, self.mode, self.warn_at, self.on_breach, self.symbols)
        return self

    def scoped(self, warn_at: float, known_symbols: frozenset[str] | None = None) -> LimitScope:
        scope = (
            f"portfolio {self.portfolio}"
            if self.portfolio
            else f"tenant {self.tenant}"
            if self.tenant
            else "every portfolio"
        )
        limit = make_limit(
            self.name,
            self.value,
            self.mode,
            self.warn_at or warn_at,
            self.on_breach,
            self.symbols,
            known_symbols,
            scope=f"config: {scope}",
        )
        return LimitScope(limit, self.portfolio, self.tenant)


class RiskConfig(_Strict):
    """Risk monitoring and limits (see engine/risk/metrics.py and engine/risk/limits.py)."""

    # Daily returns behind the covariance and the historical VaR (less than history_days;
    # default: the whole price window).
    lookback_days: Annotated[int, Field(ge=20, le=2520)] | None = None
    # An audited RiskMeasured event every this many cycles.
    record_every_cycles: Annotated[int, Field(ge=1)] = 5
    # Utilisation (measure / limit) from which a warning alert is raised, unless a limit says.
    warn_at: Annotated[float, Field(gt=0, le=1)] = 0.8
    # An alert's level is left only this far (utilisation) below where it starts.
    alert_hysteresis: Annotated[float, Field(ge=0, lt=0.5)] = 0.05
    # max_drawdown counts from the highest NAV of this many trading days.
    drawdown_window_days: Annotated[int, Field(ge=5)] = 252
    # Stress tests of the holdings and the latest proposal every this many cycles.
    stress_every_cycles: Annotated[int, Field(ge=1)] = 5
    limits: tuple[RiskLimitConfig, ...] = ()


class StateConfig(_Strict):
    snapshot_every_events: Annotated[int, Field(ge=100)] = 20_000


class AppConfig(_Strict):
    market: MarketConfig = MarketConfig()
    state: StateConfig = StateConfig()
    events: EventsConfig = EventsConfig()
    venue: VenueConfig = VenueConfig()
    trading: TradingConfig = TradingConfig()
    risk: RiskConfig = RiskConfig()
    sources: SourcesConfig = SourcesConfig()
    signals: SignalsConfig = SignalsConfig()
    allocation: SolverConfig = SolverConfig()
    performance: PerformanceConfig = PerformanceConfig()
    speed_days_per_second: Annotated[float, Field(gt=0, le=1000)] = 5.0
    history_days: Annotated[int, Field(ge=10, le=5000)] = 260
    portfolios: Annotated[tuple[PortfolioConfig, ...], Field(min_length=1)]

    @property
    def risk_lookback_days(self) -> int:
        """Daily returns behind the risk stage's covariance (and ``pcoord stress``'s): ``[risk]
        lookback_days``, else every return of the price window."""
        return self.risk.lookback_days or self.history_days - 1

    def benchmark_of(self, portfolio: PortfolioConfig) -> BenchmarkConfig:
        """The portfolio's benchmark: its own, else [performance]'s. Left at its default on a
        market without the S&P 500 index, that is the universe equally weighted."""
        chosen = portfolio.benchmark or self.performance.benchmark
        if chosen.kind == "sp500" and self.market.source != "bundled":
            return BenchmarkConfig(kind="equal_weight")
        return chosen

    @model_validator(mode="after")
    def _unique_portfolio_ids(self) -> AppConfig:
        seen: set[str] = set()
        for portfolio in self.portfolios:
            if portfolio.id in seen:
                raise ValueError(f"portfolio id {portfolio.id!r} is used twice")
            seen.add(portfolio.id)
        known = set(self.sources.names)
        for k, portfolio in enumerate(self.portfolios):
            named = (
                *portfolio.sources,
                *portfolio.coordination.veto_sources,
                *(v for sleeve in portfolio.sleeves for v in sleeve.coordination.veto_sources),
            )
            unknown = sorted(set(named) - known)
            if unknown:
                raise ValueError(
                    f"portfolios[{k}] names sources {unknown}; the configured ones are "
                    f"{sorted(known)} (add external ones under [sources.external.NAME])"
                )
        for k, portfolio in enumerate(self.portfolios):
            where = [(f"portfolios[{k}]", portfolio.allocation)] + [
                (f"portfolios[{k}].sleeves[{j}]", sleeve.allocation)
                for j, sleeve in enumerate(portfolio.sleeves)
            ]
            for path, allocation in where:
                uses_prices = allocation.model != "signal_proportional"
                if uses_prices and allocation.lookback_days >= self.history_days:
                    raise ValueError(
                        f"{path}.allocation.lookback_days {allocation.lookback_days} must be "
                        f"less than history_days {self.history_days}"
                    )
        tenants = {p.tenant for p in self.portfolios}
        for k, entry in enumerate(self.risk.limits):
            if entry.portfolio and entry.portfolio not in seen:
                raise ValueError(
                    f"risk.limits[{k}].portfolio {entry.portfolio!r} is not a portfolio "
                    f"({', '.join(sorted(seen))})"
                )
            if entry.tenant and entry.tenant not in tenants:
                raise ValueError(
                    f"risk.limits[{k}].tenant {entry.tenant!r} has no portfolio "
                    f"(tenants: {', '.join(sorted(tenants))})"
                )
        for k, portfolio in enumerate(self.portfolios):
            rules = portfolio.risk_budgeting
            if rules is not None and rules.long_window_days >= self.history_days:
                raise ValueError(
                    f"portfolios[{k}].risk_budgeting.long_window_days {rules.long_window_days} "
                    f"must be less than history_days {self.history_days}"
                )
        if self.risk.lookback_days is not None and self.risk.lookback_days >= self.history_days:
            raise ValueError(
                f"risk.lookback_days {self.risk.lookback_days} must be less than history_days "
                f"{self.history_days}"
            )
        self._check_benchmarks()
        longest = max(self.sources.momentum.horizons_days)
        if self.history_days <= longest:
            raise ValueError(
                f"history_days {self.history_days} must exceed the longest momentum horizon "
                f"{longest}"
            )
        return self

    def _check_benchmarks(self) -> None:
        if self.market.source == "bundled":
            return
        named = [("performance.benchmark", self.performance.benchmark)] + [
            (f"portfolios[{k}].benchmark", p.benchmark) for k, p in enumerate(self.portfolios)
        ]
        for path, benchmark in named:
            # Only a benchmark set in the file: left at its default, it becomes equal weights.
            explicit = benchmark is not None and "kind" in benchmark.model_fields_set
            if explicit and benchmark.kind == "sp500":  # type: ignore[union-attr]
                raise ValueError(
                    f'{path}.kind "sp500" needs the bundled market (market.source is '
                    f'"{self.market.source}"): choose "equal_weight" or "weights"'
                )


def _key_path(location: tuple[str | int, ...]) -> str:
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part in {"function-after", "literal['all']", "tuple[str, ...]"} or "[" in part:
            continue  # pydantic's internal names for union branches, not keys a user wrote
        else:
            path += f".{part}" if path else part
    return path or "(top level)"


def _describe(error: ValidationError, origin: str) -> str:
    lines = []
    seen: set[str] = set()
    for item in error.errors():
        key = _key_path(item["loc"])
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown key (check the spelling; see the default config)"
        line = f"{key}: {message}"
        if item["type"] not in {"missing", "extra_forbidden"} and not isinstance(
            item.get("input"), dict
        ):
            line += f" (got {item['input']!r})"
        if line not in seen:
            seen.add(line)
            lines.append(line)
    return f"invalid configuration in {origin}:\n  " + "\n  ".join(lines)


def parse_config(text: str, origin: str = "<string>") -> AppConfig:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"invalid configuration in {origin}: not valid TOML: {exc}") from exc
    try:
        return AppConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, origin)) from exc


def default_config_text() -> str:
    return resources.files("engine").joinpath(DEFAULT_CONFIG_RESOURCE).read_text("utf-8")


def load_config(path: Path | None = None) -> AppConfig:
    """Load ``path`` (it replaces the default whole), or the default config of the package."""
    if path is None:
        return parse_config(default_config_text(), "the default config")
    try:
        text = Path(path).read_text("utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read configuration file {path}: {exc.strerror}") from exc
    return parse_config(text, str(path))
