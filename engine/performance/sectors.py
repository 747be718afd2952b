"""Sector weights and returns per day, of a portfolio's holdings and of a benchmark basket: the
inputs of the Brinson attribution (engine/performance/attribution.py).

A portfolio's day: the shares held at the previous close, valued at that close, over the
previous close's NAV, are the start-of-day weights (cash is the rest, a sector of its own with a
zero return); each name earns its price return. This is the return of holding the book through
the day. What the NAV's time-weighted return adds to it (trading at other prices than the
closes, costs, interest on cash) is not a sector's doing: the attribution shows it as its own
line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

CASH = "Cash"
# The short side of a sector is a segment of its own: "Energy (short)".
SHORT_LEG = " (short)"


@dataclass(frozen=True, slots=True)
class SectorFrames:
    """Days x sectors: start-of-day weights (summing to one) and the day's returns (NaN where
    the weight is zero)."""

    weights: pd.DataFrame
    returns: pd.DataFrame

    def total_return(self) -> pd.Series:
        """Each day's return of the whole: the weighted sum of the sectors'."""
        contributions = (self.weights * self.returns.fillna(0.0)).sum(axis=1)
        return contributions.rename("return")


def holdings_at_close(
    fills: pd.DataFrame, dates: pd.DatetimeIndex, symbols: list[str]
) -> tuple[pd.Series, pd.DataFrame]:
    """Shares held before the first date (from the fills dated before it) and at each date's
    close (days x symbols), from ``fills`` with columns ``date``, ``symbol`` and
    ``signed_shares`` (buys positive). A fill after the last date is left out; one between the
    first and the last on a date without a NAV is refused."""
    carried = pd.Series(0, index=symbols, dtype=np.int64)
    if fills.empty:
        return carried, pd.DataFrame(0, index=dates, columns=symbols, dtype=np.int64)
    unknown = sorted(set(fills["symbol"]) - set(symbols))
    if unknown:
        raise ValueError(f"fills: symbols without prices {', '.join(unknown)}")
    fills = fills.assign(date=pd.DatetimeIndex(fills["date"]))
    before = fills[fills["date"] < dates[0]]
    fills = fills[(fills["date"] >= dates[0]) & (fills["date"] <= dates[-1])]
    outside = pd.DatetimeIndex(fills["date"]).difference(dates)
    if len(outside):
        raise ValueError(
            f"fills: {len(outside)} fill dates are not in the NAV's, the first {outside[0]}"
        )
    carried = carried.add(before.groupby("symbol")["signed_shares"].sum(), fill_value=0)
    traded = (
        fills.pivot_table(index="date", columns="symbol", values="signed_shares", aggfunc="sum")
        .reindex(index=dates, columns=symbols, fill_value=0)
        .fillna(0)
    )
    shares = traded.cumsum() + carried.to_numpy()
    return carried.astype(np.int64), shares.astype(np.int64)


def holding_weights(
    carried: pd.Series,
    shares: pd.DataFrame,
    close: pd.DataFrame,
    nav_usd: pd.Series,
    opening_nav_usd: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Each name's start-of-day weight (days x symbols: the shares held at the previous close,
    valued at it, over the previous close's NAV) and its price return that day.

    ``carried`` and ``shares`` are :func:`holdings_at_close` on the NAV's dates; ``close`` holds
    prices by date and symbol, including the day before the first."""
    dates = pd.DatetimeIndex(nav_usd.index)
    symbols = list(shares.columns)
    prices = close[symbols].sort_index()
    previous_close = prices.shift(1).reindex(dates).to_numpy(dtype=float)
    today = prices.reindex(dates).to_numpy(dtype=float)
    start = carried.reindex(symbols, fill_value=0).to_numpy(dtype=float)[None, :]
    held = np.vstack([start, shares.to_numpy(dtype=float)[:-1]])
    base = np.concatenate(([opening_nav_usd], nav_usd.to_numpy(dtype=float)[:-1]))
    with np.errstate(divide="ignore", invalid="ignore"):
        weights = np.where(held != 0, held * previous_close, 0.0) / base[:, None]
        returns = today / previous_close - 1.0
    return weights, returns


def portfolio_sectors(
    weights: np.ndarray,
    day_returns: np.ndarray,
    dates: pd.DatetimeIndex,
    symbols: list[str],
    sector_of: Mapping[str, str],
) -> SectorFrames:
    """A portfolio's sector weights and returns per day (see the module docstring), from its
    names' (as :func:`holding_weights` gives them)."""
    return _by_sector(weights, day_returns, dates, symbols, sector_of, cash=True)


def basket_sectors(
    weights: pd.DataFrame, returns: pd.DataFrame, sector_of: Mapping[str, str]
) -> SectorFrames:
    """A basket's sector weights and returns per day, from its names' (as
    ``returns.basket_weights`` gives them)."""
    return _by_sector(
        weights.to_numpy(dtype=float),
        returns.to_numpy(dtype=float),
        pd.DatetimeIndex(weights.index),
        list(weights.columns),
        sector_of,
        cash=False,
    )


def align(book: SectorFrames, basket: SectorFrames) -> tuple[SectorFrames, SectorFrames]:
    """The same segments in both (a segment one lacks has weight zero there), cash last. A
    book's short leg of a sector is measured against that sector's benchmark return."""
    segments = sorted(
        (set(book.weights.columns) | set(basket.weights.columns)) - {CASH},
        key=lambda name: (name.removesuffix(SHORT_LEG), name.endswith(SHORT_LEG)),
    )
    if CASH in book.weights.columns or CASH in basket.weights.columns:
        segments.append(CASH)
    returns = basket.returns.reindex(columns=segments)
    for name in segments:
        sector = name.removesuffix(SHORT_LEG)
        if name.endswith(SHORT_LEG) and sector in basket.returns.columns:
            returns[name] = basket.returns[sector]
    return (
        SectorFrames(
            book.weights.reindex(columns=segments, fill_value=0.0),
            book.returns.reindex(columns=segments),
        ),
        SectorFrames(basket.weights.reindex(columns=segments, fill_value=0.0), returns),
    )


def _by_sector(
    weights: np.ndarray,
    returns: np.ndarray,
    dates: pd.DatetimeIndex,
    symbols: list[str],
    sector_of: Mapping[str, str],
    cash: bool,
) -> SectorFrames:
    # A name without a return today (no price) earns nothing on its weight.
    contribution = np.where(weights != 0, weights * np.nan_to_num(returns), 0.0)
    frame_w, frame_r = {}, {}
    # The long and the short side of a sector apart: netted, a hedged sector's weight is near
    # zero while both sides earn, and its "return" (contribution over weight) means nothing.
    for leg, side in (("", weights > 0), (SHORT_LEG, weights < 0)):
        if leg and not side.any():
            continue
        for sector in sorted({sector_of[s] for s in symbols}):
            member = np.array([sector_of[s] == sector for s in symbols]) & side
            if leg and not member.any():
                continue
            weight = (weights * member).sum(axis=1)
            earned = (contribution * member).sum(axis=1)
            with np.errstate(divide="ignore", invalid="ignore"):
                frame_r[sector + leg] = np.where(weight != 0, earned / weight, np.nan)
            frame_w[sector + leg] = weight
    weights_frame = pd.DataFrame(frame_w, dates)
    returns_frame = pd.DataFrame(frame_r, dates)
    if cash:
        weights_frame[CASH] = 1.0 - weights.sum(axis=1)
        returns_frame[CASH] = 0.0
    return SectorFrames(weights_frame, returns_frame)
