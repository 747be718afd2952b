"""Plain, immutable data passed between the stages of a coordination cycle.

Units: share quantities are ``int`` shares; cash, prices and commissions are ``Decimal`` US dollars
(cash to the cent, prices to 1/10,000 of a dollar). Scores, confidences and weights are floats:
they are analytics, not holdings.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, NamedTuple

import numpy as np

CENT = Decimal("0.01")
PRICE_TICK = Decimal("0.0001")


def to_cash(value: Decimal | int | str) -> Decimal:
    """Round a dollar amount to the cent with banker's rounding (the ledger's precision)."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_EVEN)


def to_price(value: float | Decimal | str) -> Decimal:
    """Convert a market price (float from the data feed) to an exact ledger price in USD."""
    return Decimal(repr(float(value)) if isinstance(value, float) else value).quantize(
        PRICE_TICK, rounding=ROUND_HALF_EVEN
    )


@dataclass(frozen=True, slots=True)
class Instrument:
    symbol: str
    sector: str
    name: str = ""
    currency: str = "USD"
    # Equity for the bundled stocks; a price file or [market] asset_classes names others
    # (bond, commodity, ...), which class targets and bands are set on.
    asset_class: str = "equity"


@dataclass(frozen=True, slots=True, eq=False)
class MarketTick:
    """One bar of the market: closing prices (USD/share) and volumes (shares) for every instrument.

    ``close[i]`` is NaN where instrument ``i`` has no price that day (not tradable).
    """

    timestamp: date
    close: np.ndarray
    volume_shares: np.ndarray


@dataclass(frozen=True, slots=True)
class Signal:
    """One view of one source on one instrument, as submitted from outside the engine.

    ``timestamp`` is the market date the view was formed on; ``score`` is direction and strength in
    [-1, 1]; ``confidence`` is in [0, 1]; the signal counts for ``ttl_days`` business days after
    ``timestamp``; ``signal_id`` makes a resubmission a no-op.
    """

    signal_id: str
    source: str
    symbol: str
    timestamp: date
    horizon: str
    score: float
    confidence: float
    ttl_days: int


@dataclass(frozen=True, slots=True, eq=False)
class SignalBatch:
    """All signals one source emits at one horizon in one cycle, vectorised over the universe.

    ``score`` is direction and strength in [-1, 1]; ``confidence`` is in [0, 1]. Instruments the
    source has no view on carry confidence 0. ``age_days`` (business days since each view was
    formed) is 0 for views computed this cycle.
    """

    source: str
    horizon: str
    timestamp: date
    score: np.ndarray
    confidence: np.ndarray
    age_days: np.ndarray | None = None

    @property
    def key(self) -> str:
        return f"{self.source}/{self.horizon}"


@dataclass(frozen=True, slots=True)
class SourceView:
    """What one source said about an instrument, after blending its horizons."""

    source: str
    score: float
    confidence: float
    weight: float
    priority: float


@dataclass(frozen=True, slots=True)
class Conflict:
    """Sources disagreeing in direction on one instrument, and how the portfolio's policy ruled."""

    portfolio_id: str
    symbol: str
    views: tuple[SourceView, ...]
    policy: str
    score: float
    confidence: float
    resolution: str


@dataclass(frozen=True, slots=True, eq=False)
class CoordinatedSignals:
    """One portfolio's view per instrument, with its lineage.

    ``lineage`` maps each raw signal key (``source/horizon``) to its share of the coordinated score
    per instrument (shares of an instrument with a view sum to 1); ``conflicts`` lists instruments
    where sources disagreed in direction; ``vetoed`` and ``pinned`` mark what a veto or a manual
    override decided. ``conflicts`` holds the first ``MAX_CONFLICTS_RECORDED`` of
    ``conflicts_total``.
    """

    portfolio_id: str
    policy: str
    sources: tuple[str, ...]
    timestamp: date
    score: np.ndarray
    confidence: np.ndarray
    lineage: dict[str, np.ndarray]
    conflicts: tuple[Conflict, ...] = ()
    conflicts_total: int = 0
    vetoed: np.ndarray | None = None
    pinned: np.ndarray | None = None


@dataclass(frozen=True, slots=True, eq=False)
class TargetWeights:
    """Target fraction of NAV per instrument for one portfolio; ``cash_weight`` takes the rest."""

    portfolio_id: str
    timestamp: date
    weights: np.ndarray
    cash_weight: float


class Side(enum.StrEnum):
    BUY = "BUY"
    SELL = "SELL"


class _OrderFields(NamedTuple):
    order_id: str
    portfolio_id: str
    symbol: str
    side: Side
    quantity_shares: int
    decision_price_usd: Decimal
    created: date


class Order(_OrderFields):
    """An instruction to trade ``quantity_shares`` (positive) of ``symbol``, decided at
    ``decision_price_usd`` on ``created``.

    Immutable as a tuple: a cycle builds thousands (made, sliced per day, folded from its event,
    scaled by the gate), and a frozen dataclass cost about three times as much to construct. The
    check a ``__post_init__`` made is in ``__new__``, and ``_replace`` goes through it too."""

    __slots__ = ()

    def __new__(
        cls,
        order_id: str,
        portfolio_id: str,
        symbol: str,
        side: Side,
        quantity_shares: int,
        decision_price_usd: Decimal,
        created: date,
    ) -> Order:
        if quantity_shares <= 0:
            raise ValueError(
                f"Order.quantity_shares: {quantity_shares} must be a positive whole number"
            )
        return tuple.__new__(
            cls,
            (order_id, portfolio_id, symbol, side, quantity_shares, decision_price_usd, created),
        )

    def _replace(self, **changes: Any) -> Order:
        return Order(**{**self._asdict(), **changes})


class Fill(NamedTuple):
    """One execution: ``quantity_shares`` of ``symbol`` at ``price_usd``, traded on ``timestamp``.

    ``settlement_date`` is when the cash actually changes hands (e.g. T+1); ``None`` means it
    settles at once. The ledger books cash on the trade date either way and carries the movement as
    pending until the settlement date.
    """

    fill_id: str
    order_id: str
    portfolio_id: str
    symbol: str
    side: Side
    quantity_shares: int
    price_usd: Decimal
    commission_usd: Decimal
    timestamp: date
    settlement_date: date | None = None

    @property
    def notional_usd(self) -> Decimal:
        return self.price_usd * self.quantity_shares

    @property
    def cash_change_usd(self) -> Decimal:
        """Signed change in cash: a buy pays notional plus commission, a sell receives less it."""
        gross = to_cash(self.notional_usd)
        if self.side is Side.BUY:
            return -(gross + self.commission_usd)
        return gross - self.commission_usd


@dataclass(frozen=True, slots=True)
class Position:
    symbol: str
    quantity_shares: int
    price_usd: Decimal

    @property
    def market_value_usd(self) -> Decimal:
        return to_cash(self.price_usd * self.quantity_shares)


class Event(NamedTuple):
    """One entry of the append-only event log.

    ``seq`` is the global order (assigned by the store); ``portfolio_seq`` orders the events of one
    portfolio; ``event_id`` makes appends idempotent; ``correlation_id`` names the cycle.

    Immutable as a tuple rather than as a frozen dataclass: a cycle makes over 2,000 of them,
    twice each (emitted, then stored with its numbers), and a frozen dataclass costs about four
    times as much to construct (one ``object.__setattr__`` per field). A copy with other values
    is ``event._replace(...)``.
    """

    event_id: str
    type: str
    timestamp: datetime
    actor: str
    payload: dict[str, Any]
    portfolio_id: str | None = None
    correlation_id: str | None = None
    version: int = 1
    seq: int | None = None
    portfolio_seq: int | None = None


@dataclass(frozen=True, slots=True)
class CycleReport:
    cycle: int
    timestamp: date
    stage_ms: dict[str, float] = field(default_factory=dict)
    total_ms: float = 0.0
    orders: int = 0
    fills: int = 0
    error: str | None = None
    # Orders the pre-trade risk gate checked (passed, scaled or rejected).
    orders_checked: int = 0
