"""Performance and latency statistics for reports (floats: analytics, not holdings)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

TRADING_DAYS_PER_YEAR = 252


def latency_percentiles(values_ms: Sequence[float]) -> dict[str, float]:
    """p50/p95/p99/max of a latency sample in milliseconds (linear interpolation, as numpy)."""
    if not len(values_ms):
        return {"p50_ms": 0.0, "p95_ms": 0.0, "p99_ms": 0.0, "max_ms": 0.0, "count": 0}
    sample = np.asarray(values_ms, dtype=float)
    p50, p95, p99 = np.percentile(sample, [50, 95, 99])
    return {
        "p50_ms": round(float(p50), 3),
        "p95_ms": round(float(p95), 3),
        "p99_ms": round(float(p99), 3),
        "max_ms": round(float(sample.max()), 3),
        "count": len(sample),
    }


def return_statistics(nav: Sequence[float]) -> dict[str, float]:
    """Total and annualised return, annualised volatility, Sharpe ratio (zero risk-free rate) and
    maximum drawdown of a daily NAV series, all as fractions (0.1 = 10%)."""
    series = np.asarray(nav, dtype=float)
    if len(series) < 2:
        return {
            "total_return": 0.0,
            "annualised_return": 0.0,
            "annualised_volatility": 0.0,
            "sharpe": 0.0,
            "max_drawdown": 0.0,
        }
    daily = series[1:] / series[:-1] - 1
    years = len(daily) / TRADING_DAYS_PER_YEAR
    total = series[-1] / series[0] - 1
    volatility = (
        float(np.std(daily, ddof=1) * np.sqrt(TRADING_DAYS_PER_YEAR)) if len(daily) > 1 else 0.0
    )
    mean_annual = float(np.mean(daily) * TRADING_DAYS_PER_YEAR)
    drawdown = series / np.maximum.accumulate(series) - 1
    return {
        "total_return": float(total),
        "annualised_return": float((1 + total) ** (1 / years) - 1),
        "annualised_volatility": volatility,
        "sharpe": mean_annual / volatility if volatility > 0 else 0.0,
        "max_drawdown": float(drawdown.min()),
    }
