"""Plain inputs for the cycle's stages (engine/cycle/), built by hand: a universe of four
instruments, mandates from a small config, closes with small numpy arrays, an ``EngineState``
brought to a situation by applying events, and an emitter that keeps what the stage records.

No Coordinator, no database: each stage is built and called with these alone."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np

from engine.assembly import build_mandates
from engine.config import parse_config
from engine.cycle.context import ENGINE_ACTOR, MarketClose, PortfolioMandate, Universe
from engine.cycle.coordination import Coordinated, CoordinationStage
from engine.cycle.signals import SignalViews
from engine.model import Event, Instrument, MarketTick
from engine.rebalancing.triggers import Firing, calendar_firing
from engine.risk.limits import make_limit
from engine.risk.manager import RiskManager
from engine.signals.book import Override
from engine.state.engine_state import CreatedOrder, EngineState, FilledOrder
from engine.trading.costs import CostModel
from engine.trading.execution import ExecutionDesk
from engine.trading.scheduling import ExecutionPolicy

SYMBOLS = ("AAA", "BBB", "CCC", "DDD")
SECTORS = ("Tech", "Tech", "Energy", "Health")
INSTRUMENTS = tuple(Instrument(s, sector) for s, sector in zip(SYMBOLS, SECTORS, strict=True))
UNIVERSE = Universe(INSTRUMENTS)
TODAY = date(2024, 3, 1)  # a Friday
FIXED_TIME = datetime(2024, 3, 1, 21, 0, tzinfo=UTC)

MANDATES_CONFIG = """
history_days = 30

[market]
source = "simulated"
simulated_instruments = 4
simulated_days = 60
seed = 1

[sources.momentum]
horizons_days = [5, 10]
skip_days = 1

[sources.mean_reversion]
lookbacks_days = [3]
volatility_days = 10

[[portfolios]]
id = "alpha"
name = "Alpha"
sources = ["momentum"]
max_weight = 0.4
cash_buffer = 0.05
initial_cash_usd = "100000"
{alpha_extra}

[[portfolios]]
id = "beta"
name = "Beta"
universe = ["AAA", "BBB", "CCC"]
sources = ["momentum", "mean_reversion"]
max_weight = 0.5
initial_cash_usd = "50000"
rebalance_every_days = 2
{beta_extra}
"""


def due_at(
    cycle: int, the_mandates: tuple[PortfolioMandate, ...] | None = None
) -> dict[str, tuple[Firing, ...]]:
    """The portfolios whose calendar is due at cycle number ``cycle``, as the triggers stage
    gives them."""
    due = {}
    for mandate in the_mandates or mandates():
        firing = calendar_firing(mandate.rebalancing, cycle, TODAY, None)
        if firing is not None:
            due[mandate.portfolio_id] = (firing,)
    return due


def coordinate(
    stage: CoordinationStage,
    close: MarketClose,
    views: SignalViews,
    multipliers: dict[str, float],
    overrides: tuple[Override, ...],
    due: dict[str, tuple[Firing, ...]],
    emit: Recorder,
) -> Coordinated:
    """Both parts of the coordination stage, as the cycle runs them around the triggers."""
    coordinated = stage.run(close, views, multipliers, overrides)
    return stage.rebalancing(coordinated, close, views, multipliers, overrides, due, emit)


def mandates(alpha_extra: str = "", beta_extra: str = "") -> tuple[PortfolioMandate, ...]:
    """Two mandates over ``INSTRUMENTS``: alpha (momentum, every day, max 40%, 5% cash buffer)
    and beta (momentum and mean reversion, AAA-CCC, every second day, max 50%)."""
    config = parse_config(
        MANDATES_CONFIG.format(alpha_extra=alpha_extra, beta_extra=beta_extra), "cycle tests"
    )
    return build_mandates(config, INSTRUMENTS)


def risk_manager(portfolio_ids: tuple[str, ...] = ("alpha", "beta")) -> RiskManager:
    """No configured limits: a test sets the ones it needs with ``set_limit``."""
    return RiskManager((), {pid: "default" for pid in portfolio_ids}, SYMBOLS, SECTORS)


def cost_model() -> CostModel:
    return CostModel(half_spread_bps=5.0, commission_bps=1.0, min_commission_usd=Decimal("1"))


def desk(crossing: bool = True, participation_cap: float = 0.1) -> ExecutionDesk:
    return ExecutionDesk(
        cost_model(), ExecutionPolicy(participation_cap=participation_cap), crossing
    )


@dataclass
class Recorder:
    """The ``EventRecorder.emit`` contract without a store: build the event, apply it to the
    state, keep it, return it."""

    state: EngineState
    events: list[Event] = field(default_factory=list)

    def __call__(
        self,
        event_type: str,
        payload: dict[str, object],
        portfolio_id: str | None = None,
        actor: str = ENGINE_ACTOR,
        record: CreatedOrder | FilledOrder | None = None,
    ) -> Event:
        event = Event(
            event_id=f"t{len(self.events) + 1:05d}",
            type=event_type,
            timestamp=FIXED_TIME,
            actor=actor,
            payload=payload,
            portfolio_id=portfolio_id,
            correlation_id="test",
        )
        self.state.apply(event, record)
        self.events.append(event)
        return event

    def of(self, event_type: str) -> list[Event]:
        return [e for e in self.events if e.type == event_type]

    @property
    def types(self) -> list[str]:
        return [e.type for e in self.events]

    def clear(self) -> None:
        self.events.clear()


def opened_state(
    cash: dict[str, str] | None = None, allow_short: frozenset[str] = frozenset()
) -> tuple[EngineState, Recorder]:
    """A state with each portfolio opened with its cash (USD), and the recorder on it."""
    state = EngineState()
    emit = Recorder(state)
    for pid, usd in (cash or {"alpha": "100000", "beta": "50000"}).items():
        emit(
            "PortfolioOpened",
            {
                "portfolio_id": pid,
                "name": pid.title(),
                "initial_cash_usd": usd,
                "allow_short": pid in allow_short,
            },
            pid,
        )
    emit.clear()
    return state, emit


def order_created(
    emit: Recorder,
    order_id: str,
    portfolio_id: str,
    symbol: str,
    side: str,
    quantity: int,
    price: str,
    cycle: int,
    schedule: tuple[int, ...] | None = None,
    cross_shares: int = 0,
    created: date = TODAY,
) -> Event:
    """A working order, as the trades stage records it (made at ``cycle``)."""
    return emit(
        "OrderCreated",
        {
            "order_id": order_id,
            "symbol": symbol,
            "side": side,
            "quantity_shares": quantity,
            "decision_price_usd": price,
            "market_date": created.isoformat(),
            "algorithm": "IMMEDIATE",
            "reason": "test",
            "schedule": list(schedule if schedule is not None else (quantity - cross_shares,)),
            "cross_shares": cross_shares,
            "cycle": cycle,
            "estimated_cost_bps": 5.0,
        },
        portfolio_id,
    )


def order_filled(
    emit: Recorder,
    order_id: str,
    portfolio_id: str,
    symbol: str,
    side: str,
    quantity: int,
    price: str,
    commission: str = "1.00",
    market_date: date = TODAY,
    venue: str | None = "market",
) -> Event:
    """A fill that settles at once (no ``settlement_date``). Without a ``venue`` (as before
    orders worked over days) the fill ends the order."""
    return emit(
        "OrderFilled",
        {
            "order_id": order_id,
            "fill_id": f"{order_id}-F00",
            "symbol": symbol,
            "side": side,
            "quantity_shares": quantity,
            "price_usd": price,
            "market_price_usd": price,
            "commission_usd": commission,
            **({"venue": venue} if venue else {}),
            "market_date": market_date.isoformat(),
        },
        portfolio_id,
    )


def holding(
    emit: Recorder, portfolio_id: str, symbol: str, quantity: int, price: str, n: int = 0
) -> None:
    """Trade ``quantity`` shares (negative: sell, or short in a long/short book) at ``price``
    with no commission: an order created and filled at once."""
    order_id = f"{portfolio_id}-seed-{symbol}-{n}"
    side = "BUY" if quantity > 0 else "SELL"
    order_created(emit, order_id, portfolio_id, symbol, side, abs(quantity), price, 0)
    order_filled(
        emit, order_id, portfolio_id, symbol, side, abs(quantity), price, "0.00", venue=None
    )


def set_limit(
    emit: Recorder,
    portfolio_id: str,
    name: str,
    value: float | None,
    mode: str = "hard",
    on_breach: str = "alert",
    symbols: tuple[str, ...] = (),
    warn_at: float | None = None,
) -> Event:
    limit = make_limit(name, value, mode, warn_at, on_breach, symbols, frozenset(SYMBOLS))
    version = int(emit.state.risk_limits.get(portfolio_id, {}).get(name, {}).get("version", 0))
    return emit(
        "RiskLimitSet",
        {
            **limit.setting(),
            "unit": limit.kind.unit,
            "scope": "portfolio",
            "version": version + 1,
            "previous": None,
            "reason": "test",
            "config_setting": None,
        },
        portfolio_id,
        actor="officer",
    )


def cycle_completed(emit: Recorder, cycle: int, market_date: date, **extra: Any) -> Event:
    return emit(
        "CycleCompleted",
        {"cycle": cycle, "market_date": market_date.isoformat(), "orders": 0, "fills": 0, **extra},
    )


def price_window(
    days: int = 40, seed: int = 7, start: tuple[float, ...] = (50, 20, 80, 10)
) -> np.ndarray:
    """Days x instruments of closes (USD), a seeded random walk from ``start``."""
    rng = np.random.default_rng(seed)
    returns = rng.normal(0.0005, 0.015, size=(days - 1, len(start)))
    growth = np.vstack([np.ones(len(start)), np.exp(np.cumsum(returns, axis=0))])
    return np.round(np.array(start) * growth, 2)


def moving_window(prices: tuple[float, ...], days: int = 40, seed: int = 7) -> np.ndarray:
    """A seeded random walk over ``days`` whose last close is exactly ``prices``."""
    walk = price_window(days, seed, prices)
    return walk / walk[-1] * np.array(prices, dtype=float)


def volume_window(days: int = 40, shares: float = 1_000_000.0) -> np.ndarray:
    return np.full((days, len(SYMBOLS)), shares)


def market_close(
    window: np.ndarray, volumes: np.ndarray | None = None, today: date = TODAY
) -> MarketClose:
    """The close of ``window``'s last row, as the market stage hands it on."""
    volumes = volume_window(len(window)) if volumes is None else volumes
    tick = MarketTick(today, window[-1].copy(), volumes[-1].copy())
    return MarketClose(tick, window, volumes)


def flat_close(
    prices: tuple[float, ...], days: int = 25, volume: float = 1_000_000.0, today: date = TODAY
) -> MarketClose:
    """A close where every day of the window had ``prices`` (no movement) and ``volume``."""
    window = np.tile(np.array(prices, dtype=float), (days, 1))
    return market_close(window, volume_window(days, volume), today)


def business_days(start: date, count: int) -> list[date]:
    days, day = [], start
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days
