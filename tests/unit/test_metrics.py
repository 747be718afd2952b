"""Report statistics against textbook definitions computed independently here."""

import math

import numpy as np
import pandas as pd
import pytest

from engine.performance.metrics import latency_percentiles, return_statistics


def test_return_statistics_match_pandas_reference() -> None:
    rng = np.random.default_rng(2)
    nav = 100 * np.cumprod(1 + rng.normal(0.0004, 0.01, 504))
    stats = return_statistics(nav)
    series = pd.Series(nav)
    daily = series.pct_change().dropna()
    assert stats["total_return"] == pytest.approx(nav[-1] / nav[0] - 1)
    assert stats["annualised_return"] == pytest.approx((nav[-1] / nav[0]) ** (252 / 503) - 1)
    assert stats["annualised_volatility"] == pytest.approx(daily.std() * math.sqrt(252))
    assert stats["sharpe"] == pytest.approx(daily.mean() / daily.std() * math.sqrt(252))
    assert stats["max_drawdown"] == pytest.approx((series / series.cummax() - 1).min())


def test_max_drawdown_of_a_known_path() -> None:
    assert return_statistics([100, 120, 90, 130, 65, 70])["max_drawdown"] == pytest.approx(-0.5)


def test_latency_percentiles_of_1_to_100() -> None:
    result = latency_percentiles(list(range(1, 101)))
    assert result["p50_ms"] == 50.5
    assert result["p95_ms"] == pytest.approx(95.05)
    assert result["max_ms"] == 100
    assert result["count"] == 100
