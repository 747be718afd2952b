"""Daily returns of a portfolio and of its benchmark, and the views analysts read them through.

Conventions (docs/performance.md says the same for readers of the reports):

- **Time-weighted.** A day's return is ``r_t = (NAV_t - F_t) / NAV_{t-1} - 1``, where ``F_t`` is
  the external cash flow booked on day ``t`` (a deposit positive, a withdrawal negative), taken to
  arrive at the day's close, after that day's return was earned. Chaining the daily returns then
  measures the manager, not the timing of the client's money. The first day's base is the
  portfolio's opening cash.
- **Benchmarks** are rebalanced daily: the index's own daily change, or the weighted mean of the
  constituents' daily price returns (equal weights, or a weight file's). A constituent without a
  price on both days is left out of that day and the others' weights are scaled up to sum to one.
- **Active return** is arithmetic: portfolio minus benchmark, day by day.
- **Calendar returns** compound the days of each month or year; **rolling** figures use windows
  of 63 (a quarter) and 252 (a year) trading days, the last ``window`` days up to each date.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from engine.errors import ConfigError

TRADING_DAYS_PER_YEAR = 252
ROLLING_WINDOWS_DAYS = (63, 252)


def time_weighted_returns(
    nav_usd: pd.Series, opening_nav_usd: float, flows_usd: pd.Series | None = None
) -> pd.Series:
    """Daily time-weighted returns from end-of-day NAVs (see the module docstring).

    ``nav_usd`` is indexed by date, in order; ``flows_usd`` (same kind of index, any subset of
    the dates) holds the external flows. A day whose base NAV is not positive has no return (NaN):
    a portfolio that lost everything, or had not been funded, has no percentage change."""
    if not nav_usd.index.is_monotonic_increasing or nav_usd.index.has_duplicates:
        raise ValueError("nav_usd: the dates must be increasing and unique")
    if not math.isfinite(opening_nav_usd) or opening_nav_usd <= 0:
        raise ValueError(f"opening_nav_usd: {opening_nav_usd!r} must be a positive amount")
    nav = nav_usd.to_numpy(dtype=float)
    flows = np.zeros(len(nav))
    if flows_usd is not None and len(flows_usd):
        unknown = flows_usd.index.difference(nav_usd.index)
        if len(unknown):
            raise ValueError(
                f"flows_usd: {len(unknown)} flow dates have no NAV, the first {unknown[0]}"
            )
        flows = flows_usd.reindex(nav_usd.index, fill_value=0.0).to_numpy(dtype=float)
    base = np.concatenate(([opening_nav_usd], nav[:-1]))
    with np.errstate(divide="ignore", invalid="ignore"):
        returns = np.where(base > 0, (nav - flows) / base - 1.0, np.nan)
    return pd.Series(returns, index=nav_usd.index, name="return")


def index_returns(level: pd.Series, dates: pd.DatetimeIndex) -> pd.Series:
    """The returns of an index between consecutive ``dates``: each date's level (the last one on
    or before it) against the previous date's, the first date's against the last level before
    it."""
    level = level.dropna().sort_index()
    values = level.to_numpy(dtype=float)
    at = level.index.searchsorted(dates, side="right") - 1
    before_first = level.index.searchsorted(dates[:1], side="left") - 1
    positions = np.concatenate((before_first, at[:-1]))
    now = np.where(at >= 0, values[np.maximum(at, 0)], np.nan)
    base = np.where(positions >= 0, values[np.maximum(positions, 0)], np.nan)
    return pd.Series(now / base - 1.0, index=dates, name="benchmark")


def price_returns(close: pd.DataFrame, dates: pd.DatetimeIndex) -> pd.DataFrame:
    """Each instrument's price return on ``dates``, against the previous row of ``close`` (which
    holds prices by date and symbol, including the day before ``dates[0]``)."""
    prices = close.sort_index()
    return (prices / prices.shift(1) - 1.0).reindex(dates)


def basket_weights(
    returns: pd.DataFrame, weights: Mapping[str, float]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A basket rebalanced to ``weights`` every day: each day's weights (the names with a return
    that day, scaled to sum to one; a day with none is all zero) and the returns, NaN as zero.
    ``returns`` is days x symbols, as :func:`price_returns`."""
    missing = sorted(set(weights) - set(returns.columns))
    if missing:
        raise ValueError(f"weights: no prices for {', '.join(missing)}")
    symbols = list(weights)
    values = returns[symbols].to_numpy(dtype=float)
    present = np.isfinite(values)
    raw = present * np.array([weights[s] for s in symbols], dtype=float)
    total = raw.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        daily = np.where(total > 0, raw / total, 0.0)
    return (
        pd.DataFrame(daily, returns.index, symbols),
        pd.DataFrame(np.where(present, values, 0.0), returns.index, symbols),
    )


def weighted_returns(
    close: pd.DataFrame, weights: Mapping[str, float], dates: pd.DatetimeIndex
) -> pd.Series:
    """Daily returns of a basket rebalanced to ``weights`` every day (see the module docstring);
    NaN on a day none of its names has a return."""
    daily, returns = basket_weights(price_returns(close, dates), weights)
    basket = (daily.to_numpy() * returns.to_numpy()).sum(axis=1)
    basket[daily.to_numpy().sum(axis=1) == 0] = np.nan
    return pd.Series(basket, index=dates, name="benchmark")


def read_weight_file(path: Path, known_symbols: Sequence[str]) -> dict[str, float]:
    """A benchmark weight file: CSV with columns ``symbol`` and ``weight`` (fractions summing to
    one, each non-negative), every symbol one of ``known_symbols``."""
    try:
        table = pd.read_csv(path)
    except (OSError, ValueError) as error:
        raise ConfigError(f"benchmark weights_file {path}: cannot be read ({error})") from error
    columns = {str(c).strip().lower() for c in table.columns}
    if not {"symbol", "weight"} <= columns:
        raise ConfigError(
            f"benchmark weights_file {path}: needs the columns symbol and weight, has "
            f"{', '.join(map(str, table.columns))}"
        )
    table.columns = [str(c).strip().lower() for c in table.columns]
    weights: dict[str, float] = {}
    for row, (symbol, weight) in enumerate(zip(table["symbol"], table["weight"], strict=True), 2):
        symbol = str(symbol).strip()
        if symbol in weights:
            raise ConfigError(f"benchmark weights_file {path} line {row}: {symbol} appears twice")
        if symbol not in known_symbols:
            raise ConfigError(
                f"benchmark weights_file {path} line {row}: {symbol} is not in the market data"
            )
        value = float(weight)
        if not math.isfinite(value) or value < 0:
            raise ConfigError(
                f"benchmark weights_file {path} line {row}: weight {weight!r} of {symbol} must "
                "be a non-negative number"
            )
        weights[symbol] = value
    total = sum(weights.values())
    if not weights or abs(total - 1.0) > 1e-6:
        raise ConfigError(f"benchmark weights_file {path}: the weights sum to {total:.6g}, not 1")
    return weights


def cumulative_returns(returns: pd.Series) -> pd.Series:
    """Growth of one unit less one: ``prod(1 + r) - 1`` up to each date (a missing day adds 0)."""
    return (1.0 + returns.fillna(0.0)).cumprod() - 1.0


def calendar_returns(returns: pd.Series, period: str) -> pd.Series:
    """Compounded returns per calendar month (``"month"``, indexed by ``YYYY-MM``) or year
    (``"year"``, indexed by the year)."""
    if period not in {"month", "year"}:
        raise ValueError(f"period: {period!r} must be 'month' or 'year'")
    index = pd.DatetimeIndex(returns.index)
    keys = index.strftime("%Y-%m") if period == "month" else index.year.astype(str)
    grouped = (1.0 + returns.fillna(0.0)).groupby(np.asarray(keys)).prod() - 1.0
    return grouped.rename(f"{period}ly return")


def rolling_statistics(
    returns: pd.Series,
    benchmark: pd.Series,
    window_days: int,
    risk_free_daily: float = 0.0,
) -> pd.DataFrame:
    """Annualised volatility, Sharpe ratio and beta to the benchmark over the last
    ``window_days`` days at each date (NaN until the window is full)."""
    if window_days < 2:
        raise ValueError(f"window_days: {window_days} must be at least 2")
    excess = returns - risk_free_daily
    bench_excess = benchmark.reindex(returns.index) - risk_free_daily
    roll = excess.rolling(window_days, min_periods=window_days)
    volatility = returns.rolling(window_days, min_periods=window_days).std(ddof=1)
    sharpe = roll.mean() / excess.rolling(window_days, min_periods=window_days).std(ddof=1)
    covariance = excess.rolling(window_days, min_periods=window_days).cov(bench_excess)
    variance = bench_excess.rolling(window_days, min_periods=window_days).var(ddof=1)
    return pd.DataFrame(
        {
            "volatility": volatility * math.sqrt(TRADING_DAYS_PER_YEAR),
            "sharpe": sharpe * math.sqrt(TRADING_DAYS_PER_YEAR),
            "beta": covariance / variance,
        }
    )


def daily_risk_free(annual_rate: float) -> float:
    """The daily rate that compounds to ``annual_rate`` over 252 trading days."""
    return (1.0 + annual_rate) ** (1.0 / TRADING_DAYS_PER_YEAR) - 1.0
