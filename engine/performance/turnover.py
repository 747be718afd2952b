"""How much a portfolio trades: annual turnover and quick reversals ("round trips").

Turnover is the traded notional (buys plus sells, at the fill prices) over the average NAV, per
year of trading days: a book that sells its whole holding and buys another once a year turns
over 2x. A round trip is an order on a name in the opposite direction to a fill of the same
portfolio on that name no more than ``window_days`` trading days earlier: selling a name and
buying it back (or the reverse) within a week is churn unless the view of it changed.

Plain inputs (dates as ISO strings or dates, both ordered the same way) so a replay's report, a
test and an analysis of ``fills.csv`` / ``nav.csv`` all use the same definitions.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass

TRADING_DAYS_PER_YEAR = 252
ROUND_TRIP_WINDOW_DAYS = 5


@dataclass(frozen=True, slots=True)
class TradeRecord:
    """One fill: its trading day, order, instrument, side ("BUY"/"SELL") and notional (USD)."""

    day: Hashable
    order_id: str
    symbol: str
    side: str
    notional_usd: float


@dataclass(frozen=True, slots=True)
class RoundTrip:
    """An order on ``symbol`` opposite to a fill ``days_apart`` trading days before it."""

    symbol: str
    first_order_id: str
    first_day: Hashable
    second_order_id: str
    second_day: Hashable
    days_apart: int


@dataclass(frozen=True, slots=True)
class TurnoverReport:
    traded_usd: float
    average_nav_usd: float
    years: float
    annual_turnover: float  # traded / average NAV / years
    round_trips: tuple[RoundTrip, ...]

    def summary(self) -> dict[str, float | int]:
        """The figures of a replay's ``summary.json``."""
        return {
            "traded_usd": round(self.traded_usd, 2),
            "average_nav_usd": round(self.average_nav_usd, 2),
            "annual_turnover": round(self.annual_turnover, 4),
            f"round_trips_{ROUND_TRIP_WINDOW_DAYS}d": len(self.round_trips),
        }


def round_trips(
    trades: Iterable[TradeRecord],
    days: Sequence[Hashable],
    window_days: int = ROUND_TRIP_WINDOW_DAYS,
) -> tuple[RoundTrip, ...]:
    """Each order that reverses a fill of the same name at most ``window_days`` trading days
    (positions in ``days``) before it; an order counts once, against its latest earlier
    opposite fill, however many days its own fills take. Order ids must sort in the order the
    orders were made (the engine's do: portfolio, cycle, number), which decides between two
    opposite orders on one day."""
    if window_days < 0:
        raise ValueError(f"window_days: {window_days} must be >= 0")
    position = {day: k for k, day in enumerate(days)}
    # The first fill of each order decides when the order traded; later fills are its schedule.
    first_fill: dict[str, TradeRecord] = {}
    by_symbol: dict[str, list[tuple[int, TradeRecord]]] = defaultdict(list)
    trades = list(trades)
    for trade in trades:
        if trade.day not in position:
            raise ValueError(f"day: {trade.day!r} of order {trade.order_id} is not a trading day")
    for trade in sorted(trades, key=lambda t: position[t.day]):
        first_fill.setdefault(trade.order_id, trade)
        by_symbol[trade.symbol].append((position[trade.day], trade))
    found = []
    for order_id, first in first_fill.items():
        at = position[first.day]
        fills = by_symbol[first.symbol]
        # Walk back from the order's day (fills sorted by day) while inside the window.
        k = bisect_right(fills, at, key=lambda item: item[0]) - 1
        while k >= 0 and at - fills[k][0] <= window_days:
            earlier = fills[k][1]
            # Two opposite orders on one day count once: the later-made one reverses the other.
            before = fills[k][0] < at or earlier.order_id < order_id
            if before and earlier.order_id != order_id and earlier.side != first.side:
                found.append(
                    RoundTrip(
                        first.symbol,
                        earlier.order_id,
                        earlier.day,
                        order_id,
                        first.day,
                        at - fills[k][0],
                    )
                )
                break
            k -= 1
    found.sort(key=lambda trip: (position[trip.second_day], trip.symbol, trip.second_order_id))
    return tuple(found)


def turnover_report(
    trades: Iterable[TradeRecord],
    days: Sequence[Hashable],
    nav_usd: Sequence[float],
    window_days: int = ROUND_TRIP_WINDOW_DAYS,
) -> TurnoverReport:
    """``days``: every trading day of the period in order; ``nav_usd``: the NAV on each."""
    if len(days) != len(nav_usd):
        raise ValueError(f"nav_usd: {len(nav_usd)} values for {len(days)} days")
    trades = list(trades)
    traded = float(sum(abs(t.notional_usd) for t in trades))
    average = float(sum(nav_usd) / len(nav_usd)) if nav_usd else 0.0
    years = len(days) / TRADING_DAYS_PER_YEAR
    annual = traded / average / years if average > 0 and years > 0 else 0.0
    return TurnoverReport(traded, average, years, annual, round_trips(trades, days, window_days))
