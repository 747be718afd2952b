"""Builds a ready-to-run engine (feed, stages, ledger, event store) from a validated config."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np

from engine.allocation.expected_returns import SignalToReturn
from engine.allocation.mandate import MandateAllocator
from engine.allocation.qp import SolverChoice
from engine.allocation.risk_models import make_risk_model
from engine.allocation.sleeves import Sleeve
from engine.allocation.solver_pool import SolverPool
from engine.config import (
    AllocationConfig,
    AppConfig,
    ConfigError,
    CoordinationConfig,
    PortfolioConfig,
    SolverConfig,
)
from engine.coordinator import Coordinator
from engine.cycle.context import PortfolioMandate
from engine.cycle.pacing import ReplayCalendar
from engine.events.bus import EmbeddedEventBus, EventBus
from engine.events.pulsar_bus import PulsarEventBus, PulsarSettings
from engine.events.store import SqlEventStore, default_database_url
from engine.market.data import load_bundled, load_price_file, with_asset_classes
from engine.market.feeds import HistoricalFeed, MarketFeed, SimulatedFeed
from engine.model import Instrument
from engine.performance.latency import limit_blas_threads
from engine.rebalancing.harvest import HarvestPolicy
from engine.rebalancing.tax import TaxRules
from engine.rebalancing.triggers import RebalancePolicy
from engine.risk.budgets import SleeveBudgeting
from engine.risk.manager import RiskManager
from engine.risk.scenarios import Scenario, default_hypothetical, historical_scenarios
from engine.signals.coordination import SignalCoordinator, TimeframeBlend, make_policy
from engine.signals.horizons import canonical
from engine.signals.quality import QualityTracker
from engine.signals.sources import MeanReversionSource, MomentumSource, SignalSource
from engine.signals.validation import ExternalSourceSpec
from engine.state.repository import StateRepository
from engine.trading.costs import CostModel
from engine.trading.execution import ExecutionDesk
from engine.trading.orders import OrderGenerator
from engine.trading.scheduling import ExecutionPolicy

PULSAR_URL_ENV = "PCOORD_PULSAR_URL"


@dataclass(frozen=True, slots=True, eq=False)
class EngineParts:
    config: AppConfig
    feed: MarketFeed
    coordinator: Coordinator
    store: SqlEventStore
    bus: EventBus


def build_feed(config: AppConfig, start: date | None = None, end: date | None = None) -> MarketFeed:
    market = config.market
    if market.source == "simulated":
        return SimulatedFeed(
            market.simulated_instruments, market.simulated_days, config.history_days, market.seed
        )
    history = with_asset_classes(
        load_price_file(market.path, market.adv_usd)  # type: ignore[arg-type]
        if market.source == "file"
        else load_bundled(market.adv_usd),
        market.asset_classes,
    )
    return HistoricalFeed(history, config.history_days, start or market.start, end or market.end)


def build_sources(config: AppConfig) -> dict[str, SignalSource]:
    momentum = config.sources.momentum
    reversion = config.sources.mean_reversion
    return {
        "momentum": MomentumSource(momentum.horizons_days, momentum.skip_days),
        "mean_reversion": MeanReversionSource(reversion.lookbacks_days, reversion.volatility_days),
    }


def build_external_sources(config: AppConfig) -> dict[str, ExternalSourceSpec]:
    return {
        name: ExternalSourceSpec(
            name,
            source.ttl_days,
            frozenset(canonical(h) for h in source.horizons),
            source.max_signals_per_minute,
        )
        for name, source in config.sources.external.items()
    }


def build_quality_tracker(config: AppConfig) -> QualityTracker:
    quality = config.signals.quality
    return QualityTracker(
        quality.window,
        quality.min_observations,
        quality.min_cross_section,
        quality.sensitivity,
        quality.weight_bounds,
    )


def build_signal_coordinator(
    config: AppConfig,
    portfolio_id: str,
    sources: tuple[str, ...],
    source_weights: dict[str, float],
    rules: CoordinationConfig,
) -> SignalCoordinator:
    return SignalCoordinator(
        portfolio_id,
        sources,
        make_policy(rules.policy, rules.min_agreement),
        source_weights,
        {name: config.sources.priority(name) for name in sources},
        TimeframeBlend(
            {canonical(h): w for h, w in rules.horizon_weights.items()},
            {canonical(h): d for h, d in rules.half_life_days.items()},
        ),
        rules.veto_sources,
        rules.veto_min_confidence,
    )


def build_allocator(
    portfolio: PortfolioConfig,
    rules: AllocationConfig | None = None,
    name: str = "",
    solver: SolverConfig | None = None,
) -> MandateAllocator:
    """The portfolio's allocator, or a sleeve's (its own ``rules``, the portfolio's limits);
    ``solver``: the config's ``[allocation]`` section."""
    rules = rules or portfolio.allocation
    return MandateAllocator(
        name or portfolio.id,
        rules.model,
        portfolio.max_weight,
        portfolio.cash_buffer,
        make_risk_model(rules.risk_model, rules.ewma_halflife_days, rules.pca_factors),
        rules.lookback_days,
        rules.risk_aversion,
        SignalToReturn(rules.information_coefficient),
        tuple(sorted(rules.sector_caps.items())),
        rules.max_turnover,
        portfolio.min_trade_weight,
        rules.max_short_weight,
        rules.gross_exposure,
        rules.net_exposure,
        rules.signal_band,
        SolverChoice((solver or SolverConfig()).solver),
    )


def build_harvest(portfolio: PortfolioConfig, symbols: Sequence[str]) -> HarvestPolicy | None:
    """The portfolio's tax-loss harvesting, None when it has no threshold; a substitute must
    be in the market data."""
    rules = portfolio.tax
    if rules.harvest_loss_threshold is None:
        return None
    known = set(symbols)
    unknown = sorted(
        name for pair in rules.substitutes.items() for name in pair if name not in known
    )
    if unknown:
        raise ConfigError(
            f"portfolios.{portfolio.id}.tax.substitutes: {', '.join(unknown)} not in the "
            "market data"
        )
    return HarvestPolicy(rules.harvest_loss_threshold, dict(rules.substitutes))


def build_rebalance_policy(portfolio: PortfolioConfig) -> RebalancePolicy:
    """The portfolio's rebalance policy: its calendar (every ``rebalance_every_days`` cycles
    by default) and what ``[portfolios.rebalancing]`` adds (bands, approval, no-trade region)."""
    rules = portfolio.rebalancing
    return RebalancePolicy(
        calendar=rules.calendar,
        every_days=portfolio.rebalance_every_days,
        drift_absolute=rules.drift_absolute,
        drift_relative=rules.drift_relative,
        sector_drift_absolute=rules.sector_drift_absolute,
        class_drift_absolute=rules.class_drift_absolute,
        on_risk_breach=rules.on_risk_breach,
        approval=rules.approval,
        signal_change=rules.signal_change,
        proposal_expires_days=rules.proposal_expires_days,
        cost_aware=rules.cost_aware,
        horizon_days=rules.horizon_days,
        to_band_edge=rules.to_band_edge,
    )


def build_sleeves(config: AppConfig, portfolio: PortfolioConfig) -> tuple[Sleeve, ...]:
    return tuple(
        Sleeve(
            sleeve.id,
            sleeve.capital,
            build_signal_coordinator(
                config, portfolio.id, sleeve.sources, sleeve.source_weights, sleeve.coordination
            ),
            build_allocator(
                portfolio, sleeve.allocation, f"{portfolio.id}/{sleeve.id}", config.allocation
            ),
        )
        for sleeve in portfolio.sleeves
    )


def build_mandates(
    config: AppConfig, instruments: tuple[Instrument, ...]
) -> tuple[PortfolioMandate, ...]:
    symbols = [instrument.symbol for instrument in instruments]
    cost_allowance_bps = config.venue.half_spread_bps + config.venue.commission_bps
    mandates = []
    for k, portfolio in enumerate(config.portfolios):
        if portfolio.universe == "all":
            universe = np.ones(len(symbols), dtype=bool)
        else:
            unknown = sorted(set(portfolio.universe) - set(symbols))
            if unknown:
                raise ConfigError(
                    f"portfolios[{k}].universe: unknown symbols {unknown}; the market data has "
                    f"{', '.join(symbols[:25])}{' ...' if len(symbols) > 25 else ''}"
                )
            universe = np.isin(symbols, portfolio.universe)
        mandates.append(
            PortfolioMandate(
                portfolio.id,
                portfolio.name,
                universe,
                build_signal_coordinator(
                    config,
                    portfolio.id,
                    portfolio.sources,
                    portfolio.source_weights,
                    portfolio.coordination,
                ),
                build_allocator(portfolio, solver=config.allocation),
                OrderGenerator(cost_allowance_bps),
                build_rebalance_policy(portfolio),
                portfolio.initial_cash_usd,
                portfolio.cash.settlement_days,
                portfolio.cash.interest_rate_annual,
                build_sleeves(config, portfolio),
                build_sleeve_budgeting(portfolio),
                TaxRules(
                    portfolio.tax.lot_method,
                    portfolio.tax.short_term_rate,
                    portfolio.tax.long_term_rate,
                    portfolio.tax.long_term_after_days,
                    portfolio.tax.wash_sale_days,
                ),
                build_harvest(portfolio, symbols),
                tuple(portfolio.rebalancing.asset_classes.items()),
            )
        )
    return tuple(mandates)


def build_sleeve_budgeting(portfolio: PortfolioConfig) -> SleeveBudgeting | None:
    rules = portfolio.risk_budgeting
    if rules is None:
        return None
    return SleeveBudgeting(
        tuple(float(sleeve.risk_budget or 0.0) for sleeve in portfolio.sleeves),
        rules.capital_bounds,
        rules.adapt_to_regime,
        rules.short_window_days,
        rules.long_window_days,
        rules.budget_bounds,
    )


def build_solver_pool(config: AppConfig) -> SolverPool | None:
    """The allocation's solver processes when ``[allocation] workers`` is more than 1."""
    settings = config.allocation
    if settings.workers == 1:
        return None
    return SolverPool(settings.workers, settings.worker_timeout_s)


def pulsar_settings(config: AppConfig) -> PulsarSettings:
    events = config.events
    return PulsarSettings(
        os.environ.get(PULSAR_URL_ENV) or events.pulsar_url,
        events.pulsar_tenant,
        events.pulsar_namespace,
        events.deployment,
    )


def build_bus(config: AppConfig, store: SqlEventStore) -> EventBus:
    """The embedded bus, or the Pulsar one when configured or ``PCOORD_PULSAR_URL`` is set."""
    if config.events.bus == "pulsar" or os.environ.get(PULSAR_URL_ENV):
        return PulsarEventBus(store, pulsar_settings(config))
    return EmbeddedEventBus(store)


def build_risk_manager(config: AppConfig, instruments: tuple[Instrument, ...]) -> RiskManager:
    """The configured limits, checked against the instruments the market data has."""
    symbols = tuple(i.symbol for i in instruments)
    known = frozenset(symbols)
    try:
        scoped = tuple(entry.scoped(config.risk.warn_at, known) for entry in config.risk.limits)
    except ValueError as exc:
        raise ConfigError(f"invalid configuration: risk.limits: {exc}") from exc
    return RiskManager(
        scoped,
        {p.id: p.tenant for p in config.portfolios},
        symbols,
        tuple(i.sector for i in instruments),
        config.risk.alert_hysteresis,
    )


MAX_INSTRUMENT_SHOCKS = 30


def build_stress_scenarios(feed: MarketFeed) -> tuple[Scenario, ...]:
    """The standard stress set: the named crises and worst 20-day windows of the whole price
    history (real data only), and the hypothetical shocks (each instrument on its own up to
    ``MAX_INSTRUMENT_SHOCKS`` instruments)."""
    sectors = [i.sector for i in feed.instruments]
    historical: tuple[Scenario, ...] = ()
    if isinstance(feed, HistoricalFeed):
        history = feed.history
        historical = historical_scenarios(history.close, history.dates, symbols=history.symbols)
    symbols = [i.symbol for i in feed.instruments]
    # One shock per instrument while the list stays readable; beyond, `pcoord stress --shock`.
    singles = symbols if len(symbols) <= MAX_INSTRUMENT_SHOCKS else ()
    return (*historical, *default_hypothetical(sectors, instruments=singles))


def replay_calendar(feed: MarketFeed, warmup_days: int) -> ReplayCalendar | None:
    """The days a historical feed can restart from or jump to: from the first day with a full
    warm-up window to the feed's last day. None for a simulated market (no dates ahead)."""
    if not isinstance(feed, HistoricalFeed):
        return None
    dates = feed.history.dates
    return ReplayCalendar.of([d for d in dates[warmup_days:] if d <= feed.last_date])


def restarted_on(store: SqlEventStore) -> date | None:
    """The trading day the latest ``ReplayRestarted`` started the feed on, if any."""
    latest = store.query(event_type="ReplayRestarted", limit=1)
    return date.fromisoformat(latest[0].payload["first_trading_date"]) if latest else None


def build_engine(
    config: AppConfig,
    database_url: str | None = None,
    start: date | None = None,
    end: date | None = None,
    store: SqlEventStore | None = None,
    bus: EventBus | None = None,
) -> EngineParts:
    """The engine on ``database_url`` (or on ``store`` and ``bus`` already open).

    A store whose replay was restarted (``RestartFrom``) starts the feed on the restart day,
    whatever ``start`` says: the state it holds is that replay's."""
    limit_blas_threads()
    store = store or SqlEventStore.from_url(database_url or default_database_url())
    start = restarted_on(store) or start
    feed = build_feed(config, start, end)
    mandates = build_mandates(config, feed.instruments)
    bus = bus or build_bus(config, store)
    venue = config.venue
    coordinator = Coordinator(
        feed.instruments,
        mandates,
        build_sources(config),
        ExecutionDesk(
            CostModel(
                venue.half_spread_bps,
                venue.commission_bps,
                venue.min_commission_usd,
                venue.impact_coefficient,
            ),
            ExecutionPolicy(
                participation_cap=config.trading.participation_cap,
                immediate_max_adv_fraction=config.trading.immediate_max_adv_fraction,
                max_intervals=config.trading.max_days,
            ),
            config.trading.crossing,
        ),
        bus,
        StateRepository(store),
        feed.warmup(),
        config.history_days,
        snapshot_every_events=config.state.snapshot_every_events,
        external_sources=build_external_sources(config),
        source_priorities={name: config.sources.priority(name) for name in config.sources.names},
        quality=build_quality_tracker(config),
        quality_record_every=config.signals.quality.record_every_cycles,
        risk_lookback_days=config.risk_lookback_days,
        risk_record_every=config.risk.record_every_cycles,
        risk_manager=build_risk_manager(config, feed.instruments),
        drawdown_window_days=config.risk.drawdown_window_days,
        stress_scenarios=build_stress_scenarios(feed),
        stress_every_cycles=config.risk.stress_every_cycles,
        calendar=replay_calendar(feed, config.history_days),
        solver_pool=build_solver_pool(config),
    )
    return EngineParts(config, feed, coordinator, store, bus)
