"""Market feeds: where each cycle's prices come from.

A feed yields one ``MarketTick`` per trading day and can hand the signal stage the price history
that precedes its first tick (``warmup``). Live mode and replay use the same feeds; only the pace at
which the runner pulls ticks differs.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Protocol

import numpy as np

from engine.market.data import MarketDataError, PriceHistory
from engine.model import Instrument, MarketTick

GICS_SECTORS = (
    "Information Technology",
    "Health Care",
    "Financials",
    "Consumer Discretionary",
    "Communication Services",
    "Industrials",
    "Consumer Staples",
    "Energy",
    "Utilities",
    "Real Estate",
    "Materials",
)


class MarketFeed(Protocol):
    instruments: tuple[Instrument, ...]

    def warmup(self) -> np.ndarray:
        """Closing prices (days x instruments, USD) before the first tick, oldest first."""
        ...

    def __iter__(self) -> Iterator[MarketTick]: ...

    def __len__(self) -> int: ...


class HistoricalFeed:
    """Replays a ``PriceHistory`` from ``start`` to ``end``, ``warmup_days`` before ``start``."""

    def __init__(
        self,
        history: PriceHistory,
        warmup_days: int,
        start: date | None = None,
        end: date | None = None,
    ) -> None:
        first = history.index_of(start) if start else 0
        first = max(first, warmup_days)
        last = history.index_of(end + timedelta(days=1)) if end else len(history.dates)
        if first >= last:
            raise MarketDataError(
                f"market.start/end: no trading days to replay between {start} and {end} after "
                f"{warmup_days} days of warm-up (history covers {history.dates[0]} to "
                f"{history.dates[-1]})"
            )
        self.instruments = history.instruments
        self._history = history
        self._first = first
        self._last = last
        self._warmup_days = warmup_days

    @property
    def history(self) -> PriceHistory:
        return self._history

    @property
    def first_date(self) -> date:
        return self._history.dates[self._first]

    @property
    def last_date(self) -> date:
        return self._history.dates[self._last - 1]

    def warmup(self) -> np.ndarray:
        return self._history.close[self._first - self._warmup_days : self._first]

    def __len__(self) -> int:
        return self._last - self._first

    def __iter__(self) -> Iterator[MarketTick]:
        history = self._history
        for t in range(self._first, self._last):
            yield MarketTick(history.dates[t], history.close[t], history.volume_shares[t])


class SimulatedFeed:
    """A correlated factor model of daily prices and volumes, for any number of instruments.

    Log returns follow ``r = B f + e``: a market factor and ``n_factors - 1`` sector-style factors
    with Gaussian shocks, betas around 1 on the market, and idiosyncratic noise, giving realistic
    cross-sectional correlation (about 0.2-0.4 pairwise). Volumes are log-normal around an ADV
    that is larger for larger (higher-priced) names. Deterministic for a given ``seed``.
    """

    def __init__(
        self,
        n_instruments: int,
        n_days: int,
        warmup_days: int,
        seed: int = 7,
        n_factors: int = 4,
        start: date = date(2020, 1, 2),
    ) -> None:
        if n_instruments < 1 or n_days < 1:
            raise MarketDataError("simulated feed needs at least one instrument and one day")
        self._rng = np.random.default_rng(seed)
        rng = self._rng
        self.instruments = tuple(
            Instrument(f"SIM{i:05d}", GICS_SECTORS[i % len(GICS_SECTORS)])
            for i in range(n_instruments)
        )
        self._n_days = n_days
        self._warmup_days = warmup_days
        self._start = start
        self._betas = np.column_stack(
            [rng.normal(1.0, 0.25, n_instruments)]
            + [rng.normal(0.0, 0.5, n_instruments) for _ in range(n_factors - 1)]
        )
        self._factor_vol = np.array([0.011] + [0.006] * (n_factors - 1))
        self._idio_vol = rng.uniform(0.008, 0.02, n_instruments)
        self._drift = rng.normal(0.0003, 0.0002, n_instruments)
        self._adv_usd = np.exp(rng.normal(np.log(2e8), 1.0, n_instruments))
        self._log_price = np.log(rng.uniform(10.0, 300.0, n_instruments))
        self._warmup = np.exp(
            np.array([self._step() for _ in range(warmup_days)]).reshape(warmup_days, n_instruments)
        )

    def _step(self) -> np.ndarray:
        rng = self._rng
        factors = rng.normal(0.0, self._factor_vol)
        returns = self._drift + self._betas @ factors + rng.normal(0.0, self._idio_vol)
        self._log_price = self._log_price + returns
        return self._log_price

    def warmup(self) -> np.ndarray:
        return self._warmup

    def __len__(self) -> int:
        return self._n_days

    def __iter__(self) -> Iterator[MarketTick]:
        day = self._start
        for _ in range(self._n_days):
            close = np.exp(self._step())
            volume_usd = self._adv_usd * np.exp(self._rng.normal(0.0, 0.3, len(close)))
            yield MarketTick(day, close, volume_usd / close)
            day += timedelta(days=3 if day.weekday() == 4 else 1)


class RollingPrices:
    """The last ``capacity`` closing prices per instrument, oldest first, as one contiguous array.

    Appends are O(instruments): rows are written into a buffer twice the capacity and compacted
    only when it is full, so ``window()`` is a view with no copy.
    """

    def __init__(self, capacity: int, n_instruments: int) -> None:
        self.capacity = capacity
        self._buffer = np.full((2 * capacity, n_instruments), np.nan)
        self._end = 0

    def extend(self, rows: np.ndarray) -> None:
        for row in rows:
            self.append(row)

    def append(self, close: np.ndarray) -> None:
        if self._end == len(self._buffer):
            self._buffer[: self.capacity - 1] = self._buffer[self._end - self.capacity + 1 :]
            self._end = self.capacity - 1
        self._buffer[self._end] = close
        self._end += 1

    def __len__(self) -> int:
        return min(self._end, self.capacity)

    def window(self) -> np.ndarray:
        """The filled part of the history (at most ``capacity`` rows), oldest first; read-only."""
        view = self._buffer[max(0, self._end - self.capacity) : self._end]
        view.flags.writeable = False
        return view
