"""Return and risk metrics of a portfolio against its benchmark, from daily returns.

Conventions (the same as the empyrical library's, which the tests check every figure against, and
in docs/performance.md):

- 252 trading days a year. ``rf`` is the daily risk-free rate compounding to the configured
  annual one; "excess" means less ``rf``.
- **Annualised return**: geometric, ``(prod(1 + r))^(252 / n) - 1``. **Volatility**: the sample
  standard deviation (``n - 1``) times ``sqrt(252)``.
- **Sharpe**: mean excess return over its sample standard deviation, times ``sqrt(252)``.
  **Sortino**: mean excess return times 252 over the downside deviation,
  ``sqrt(mean(min(r - rf, 0)^2)) * sqrt(252)`` (every day counts in the mean).
- **Maximum drawdown**: the largest fall of the cumulative value from its running peak, the
  starting value included as a peak; with the dates of the peak, the trough and the recovery (the
  first day back at the peak's value; none while under water). **Calmar**: annualised return over
  the maximum drawdown's size.
- **Beta**: covariance of excess returns with the benchmark's over the benchmark's variance.
  **Alpha**: the mean daily ``(r - rf) - beta (b - rf)``, compounded to a year.
- **Tracking error**: the active return's sample standard deviation times ``sqrt(252)``.
  **Information ratio**: mean active return times 252 over the tracking error.
- **Hit rate**: share of days with a positive return; **active hit rate**: share of days ahead
  of the benchmark. **Up / down capture**: the annualised return on the benchmark's up (down)
  days over the benchmark's on the same days.
- **VaR / CVaR (realised, 95%)**: the 5th percentile of daily returns (linear interpolation) and
  the mean of the worst 5% of days (as empyrical: the days up to the cut-off's index).

Days on which either series is missing are left out of every figure that uses both.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from datetime import date

import numpy as np
import pandas as pd

from engine.performance.returns import TRADING_DAYS_PER_YEAR

VAR_CUTOFF = 0.05


@dataclass(frozen=True, slots=True)
class Drawdown:
    """The largest fall from a running peak (``depth`` negative, 0 if there was none)."""

    depth: float
    peak: date | None
    trough: date | None
    recovery: date | None  # None: not back at the peak's value by the last day
    days_to_recover: int | None  # trading days from trough to recovery


@dataclass(frozen=True, slots=True)
class PerformanceMetrics:
    """Every metric of one series against its benchmark (fractions: 0.1 is 10%)."""

    days: int
    first_day: date
    last_day: date
    total_return: float
    annualised_return: float
    annualised_volatility: float
    sharpe: float
    sortino: float
    calmar: float
    max_drawdown: Drawdown
    beta: float
    alpha_annualised: float
    tracking_error: float
    information_ratio: float
    hit_rate: float
    active_hit_rate: float
    up_capture: float
    down_capture: float
    var_95_daily: float
    cvar_95_daily: float
    benchmark_total_return: float
    benchmark_annualised_return: float
    active_annualised_return: float

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-ready values: dates as ISO text, NaN as None."""
        return {k: _plain(v) for k, v in asdict(self).items()}


def annualised_return(returns: np.ndarray) -> float:
    if len(returns) == 0:
        return math.nan
    growth = float(np.prod(1.0 + returns))
    if growth <= 0:
        return -1.0
    return growth ** (TRADING_DAYS_PER_YEAR / len(returns)) - 1.0


def max_drawdown(returns: pd.Series) -> Drawdown:
    """The maximum drawdown of a daily return series and its dates (see the module docstring)."""
    values = returns.to_numpy(dtype=float)
    if len(values) == 0:
        return Drawdown(0.0, None, None, None, None)
    wealth = np.concatenate(([1.0], np.cumprod(1.0 + values)))
    peaks = np.maximum.accumulate(wealth)
    drawdowns = wealth / peaks - 1.0
    trough_at = int(np.argmin(drawdowns))
    depth = float(drawdowns[trough_at])
    if depth >= 0:
        return Drawdown(0.0, None, None, None, None)
    peak_at = int(np.argmax(wealth[: trough_at + 1]))
    days = [None, *(_as_date(d) for d in returns.index)]  # wealth[0] is the day before the first
    back = np.flatnonzero(wealth[trough_at:] >= wealth[peak_at])
    recovery_at = trough_at + int(back[0]) if len(back) else None
    return Drawdown(
        depth,
        days[peak_at] if peak_at else _as_date(returns.index[0]),
        days[trough_at],
        days[recovery_at] if recovery_at is not None else None,
        recovery_at - trough_at if recovery_at is not None else None,
    )


def performance_metrics(
    returns: pd.Series, benchmark: pd.Series, risk_free_daily: float = 0.0
) -> PerformanceMetrics:
    """Every metric of ``returns`` against ``benchmark`` (both daily, indexed by date)."""
    returns = returns.dropna()
    if len(returns) < 2:
        raise ValueError(f"returns: {len(returns)} days; the metrics need at least two")
    r = returns.to_numpy(dtype=float)
    excess = r - risk_free_daily
    volatility = float(np.std(r, ddof=1))
    excess_sd = float(np.std(excess, ddof=1))
    downside = math.sqrt(float(np.mean(np.minimum(excess, 0.0) ** 2)))
    annual = annualised_return(r)
    drawdown = max_drawdown(returns)

    both = pd.concat([returns, benchmark], axis=1, join="inner").dropna()
    p, b = both.iloc[:, 0].to_numpy(dtype=float), both.iloc[:, 1].to_numpy(dtype=float)
    active = p - b
    pe, be = p - risk_free_daily, b - risk_free_daily
    bench_var = float(np.var(be, ddof=1)) if len(be) > 1 else math.nan
    beta = float(np.cov(pe, be, ddof=1)[0, 1] / bench_var) if bench_var > 0 else math.nan
    alpha = (1.0 + float(np.mean(pe - beta * be))) ** TRADING_DAYS_PER_YEAR - 1.0
    tracking = float(np.std(active, ddof=1)) if len(active) > 1 else math.nan
    up, down = b > 0, b < 0
    sqrt_year = math.sqrt(TRADING_DAYS_PER_YEAR)
    bench_annual = annualised_return(b)
    return PerformanceMetrics(
        days=len(r),
        first_day=_as_date(returns.index[0]),
        last_day=_as_date(returns.index[-1]),
        total_return=float(np.prod(1.0 + r)) - 1.0,
        annualised_return=annual,
        annualised_volatility=volatility * sqrt_year,
        sharpe=_ratio(float(np.mean(excess)), excess_sd) * sqrt_year,
        sortino=_ratio(float(np.mean(excess)) * TRADING_DAYS_PER_YEAR, downside * sqrt_year),
        calmar=_ratio(annual, abs(drawdown.depth)),
        max_drawdown=drawdown,
        beta=beta,
        alpha_annualised=alpha,
        tracking_error=tracking * sqrt_year,
        information_ratio=_ratio(float(np.mean(active)), tracking) * sqrt_year,
        hit_rate=float(np.mean(r > 0)),
        active_hit_rate=float(np.mean(active > 0)) if len(active) else math.nan,
        up_capture=_ratio(annualised_return(p[up]), annualised_return(b[up])),
        down_capture=_ratio(annualised_return(p[down]), annualised_return(b[down])),
        var_95_daily=float(np.percentile(r, 100 * VAR_CUTOFF)),
        cvar_95_daily=float(np.mean(np.partition(r, _cut(len(r)))[: _cut(len(r)) + 1])),
        benchmark_total_return=float(np.prod(1.0 + b)) - 1.0 if len(b) else math.nan,
        benchmark_annualised_return=bench_annual,
        active_annualised_return=annualised_return(p) - bench_annual,
    )


def _cut(n: int) -> int:
    return int((n - 1) * VAR_CUTOFF)


def _ratio(numerator: float, denominator: float) -> float:
    if not math.isfinite(denominator) or denominator == 0:
        return math.nan
    return numerator / denominator


def _as_date(value: object) -> date:
    return pd.Timestamp(value).date()  # type: ignore[arg-type]


def _plain(value: object) -> object:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
