"""What every stage of the cycle reads: the instrument universe, the portfolios' mandates, the
close being processed, and the values one cycle hands to the next.

These are plain values. The event-sourced ``EngineState`` is the other input most stages take; a
stage reads it and changes it only by emitting events (engine/cycle/recorder.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cached_property

import numpy as np

from engine.allocation.mandate import MandateAllocator
from engine.allocation.sleeves import Sleeve
from engine.model import Instrument, MarketTick
from engine.rebalancing.harvest import HarvestPolicy
from engine.rebalancing.tax import TaxRules
from engine.rebalancing.triggers import RebalancePolicy
from engine.risk.budgets import SleeveBudgeting
from engine.risk.gate import Book
from engine.risk.manager import RiskManager
from engine.signals.coordination import SignalCoordinator
from engine.state.ledger import Ledger
from engine.trading.costs import MarketStats, market_stats
from engine.trading.orders import OrderGenerator

ENGINE_ACTOR = "engine"


def json_float(value: float) -> float | None:
    """NaN (not measured yet) is not JSON: it is stored as null."""
    return round(value, 6) if np.isfinite(value) else None


# slots off: cached_property needs an instance __dict__.
@dataclass(frozen=True, eq=False)
class Universe:
    """The instruments every portfolio draws from, in the column order of every price array."""

    instruments: tuple[Instrument, ...]

    @cached_property
    def symbols(self) -> tuple[str, ...]:
        return tuple(instrument.symbol for instrument in self.instruments)

    @cached_property
    def symbol_index(self) -> dict[str, int]:
        return {symbol: i for i, symbol in enumerate(self.symbols)}

    @cached_property
    def sectors(self) -> tuple[str, ...]:
        return tuple(instrument.sector for instrument in self.instruments)

    @cached_property
    def asset_classes(self) -> tuple[str, ...]:
        return tuple(instrument.asset_class for instrument in self.instruments)

    def __len__(self) -> int:
        return len(self.instruments)

    def vector(self, by_symbol: Mapping[str, float]) -> np.ndarray:
        """Weights by symbol as a vector over the universe (zero where none is given)."""
        vector = np.zeros(len(self.instruments))
        for symbol, weight in by_symbol.items():
            vector[self.symbol_index[symbol]] = weight
        return vector

    def by_symbol(self, vector: np.ndarray, digits: int) -> dict[str, float]:
        """``vector``'s non-zero weights by symbol, rounded to ``digits`` (as events record
        them): the inverse of ``vector``. Read as lists, not one numpy scalar per name."""
        held = np.flatnonzero(vector)
        return {
            self.symbols[i]: round(weight, digits)
            for i, weight in zip(held.tolist(), vector[held].tolist(), strict=True)
        }


# slots off: cached_property needs an instance __dict__.
@dataclass(frozen=True, eq=False)
class PortfolioMandate:
    """What one portfolio trades and how, resolved against the instrument universe."""

    portfolio_id: str
    name: str
    universe: np.ndarray  # bool mask over the instruments
    coordinator: SignalCoordinator
    allocator: MandateAllocator
    order_generator: OrderGenerator
    rebalancing: RebalancePolicy
    initial_cash_usd: Decimal
    settlement_days: int = 1
    interest_rate_annual: float = 0.0
    sleeves: tuple[Sleeve, ...] = ()
    sleeve_budgeting: SleeveBudgeting | None = None
    tax: TaxRules = field(default_factory=TaxRules)
    harvest: HarvestPolicy | None = None
    # Asset class -> target weight of NAV the allocation keeps (engine/allocation/asset_classes.py).
    class_targets: tuple[tuple[str, float], ...] = ()

    @property
    def sources(self) -> tuple[str, ...]:
        return self.coordinator.subscribed

    @property
    def long_short(self) -> bool:
        return self.allocator.long_short

    @cached_property
    def benchmark(self) -> np.ndarray:
        """The tracking error's benchmark: the portfolio's universe, equally weighted."""
        universe = self.universe.astype(float)
        return universe / max(universe.sum(), 1.0)


def mandate_of(mandates: tuple[PortfolioMandate, ...], portfolio_id: str) -> PortfolioMandate:
    """The mandate of ``portfolio_id``; a ValueError naming the field and the portfolios if none."""
    for mandate in mandates:
        if mandate.portfolio_id == portfolio_id:
            return mandate
    known = ", ".join(m.portfolio_id for m in mandates)
    raise ValueError(f"portfolio_id: {portfolio_id!r} is not a portfolio ({known})")


class MarketClose:
    """One close as the stages after the market stage see it: the tick, the rolled price window
    (days x instruments, oldest first, today last) and the traded volumes (shares) window.

    ``stats`` (daily volatility and average daily volume for the cost model) is worked out the
    first time a stage asks, once per close, so execution, proposals and trades read the same
    figures and a cycle that needs none pays nothing."""

    def __init__(self, tick: MarketTick, window: np.ndarray, volumes: np.ndarray) -> None:
        self.tick = tick
        self.window = window
        self.volumes = volumes

    @property
    def today(self) -> date:
        return self.tick.timestamp

    @property
    def close(self) -> np.ndarray:
        return self.tick.close

    @cached_property
    def stats(self) -> MarketStats:
        # Over the days both windows cover: volumes only start with the first tick.
        return market_stats(self.window[-len(self.volumes) :], self.volumes)

    @cached_property
    def tradable(self) -> np.ndarray:
        """Instruments with a positive, finite close today."""
        return np.isfinite(self.close) & (self.close > 0)


@dataclass(frozen=True, slots=True)
class RiskCarry:
    """What the risk stage of the next cycle reports from this cycle's allocation: the risk
    budget's scaling of each portfolio's last allocation, (limit, factor), and each sleeve's
    share of the combined target's 99% VaR. Carried explicitly from one cycle to the next."""

    budget_scaling: Mapping[str, tuple[str, float]] = field(default_factory=dict)
    sleeve_risk: Mapping[str, tuple[tuple[str, float], ...]] = field(default_factory=dict)


def current_weights(
    ledger: Ledger, portfolio_id: str, universe: Universe, close: np.ndarray, nav: float
) -> np.ndarray:
    """What the portfolio holds as fractions of its NAV (``nav`` in USD) at ``close``."""
    if nav <= 0:
        return np.zeros(len(close))
    shares = ledger.shares_vector(portfolio_id, universe.symbols)
    return np.where(shares != 0, shares * np.nan_to_num(close) / nav, 0.0)


def book_of(
    ledger: Ledger,
    portfolio_id: str,
    universe: Universe,
    risk_manager: RiskManager,
    close: np.ndarray,
) -> Book:
    """The portfolio as the pre-trade gate sees it at ``close`` (USD per share)."""
    return Book(
        float(ledger.nav_usd(portfolio_id)),
        ledger.shares_vector(portfolio_id, universe.symbols),
        close,
        risk_manager.sector_codes,
        risk_manager.sector_names,
        universe.symbols,
        universe.symbol_index,
    )
