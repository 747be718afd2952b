"""Built-in model signal sources, vectorised over the whole universe.

Each source reads the rolling close-price window (days x instruments, oldest first) and returns
one ``SignalBatch``: a score in [-1, 1] and a confidence in [0, 1] per instrument. An instrument
without enough finite history gets score 0 and confidence 0: no view, rather than a guess.
"""

from __future__ import annotations

from datetime import date
from typing import Protocol

import numpy as np

from engine.model import SignalBatch


class SignalSource(Protocol):
    name: str
    required_days: int

    def generate(self, prices: np.ndarray, timestamp: date) -> SignalBatch: ...


def _daily_log_returns(prices: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.diff(np.log(prices), axis=0)


def _no_view(values: np.ndarray) -> np.ndarray:
    return ~np.isfinite(values)


class MomentumSource:
    """Time-series momentum over several horizons (Moskowitz, Ooi and Pedersen, 2012).

    For each horizon ``h`` the trailing log return from ``t-h`` to ``t-skip`` (the most recent
    ``skip`` days are left out to avoid short-term reversal) is scaled by the return volatility
    expected over that window, ``z_h = r_h / (sigma_daily * sqrt(h - skip))``, and squashed with
    ``tanh``. The score is the mean over horizons; the confidence is the fraction of horizons
    that agree with its sign, so a trend seen at every horizon counts more than a mixed picture.
    """

    name = "momentum"

    def __init__(self, horizons_days: tuple[int, ...], skip_days: int = 5) -> None:
        self.horizons_days = tuple(sorted(horizons_days))
        self.skip_days = skip_days
        self.required_days = self.horizons_days[-1] + 1
        self.horizon = f"{self.horizons_days[0]}d-{self.horizons_days[-1]}d"

    def generate(self, prices: np.ndarray, timestamp: date) -> SignalBatch:
        if len(prices) < self.required_days:
            raise ValueError(
                f"momentum: needs {self.required_days} days of prices, got {len(prices)}"
            )
        log_prices = np.log(prices)
        daily = _daily_log_returns(prices[-self.required_days :])
        sigma_daily = np.std(daily, axis=0, ddof=1)
        end = log_prices[-1 - self.skip_days]
        per_horizon = np.empty((len(self.horizons_days), prices.shape[1]))
        for k, horizon in enumerate(self.horizons_days):
            with np.errstate(divide="ignore", invalid="ignore"):
                z = (end - log_prices[-1 - horizon]) / (
                    sigma_daily * np.sqrt(horizon - self.skip_days)
                )
            per_horizon[k] = np.tanh(z)
        score = per_horizon.mean(axis=0)
        agreement = (np.sign(per_horizon) == np.sign(score)).mean(axis=0)
        confidence = np.where(score == 0, 0.0, agreement)
        missing = _no_view(score)
        return SignalBatch(
            self.name,
            self.horizon,
            timestamp,
            np.where(missing, 0.0, score),
            np.where(missing, 0.0, confidence),
        )


class MeanReversionSource:
    """Short-term reversal (Jegadeesh, 1990; Lehmann, 1990).

    The ``lookback``-day log return is standardised by the volatility expected over that many
    days (daily volatility from the last ``volatility_days`` returns times ``sqrt(lookback)``);
    the score is ``-tanh(z)`` (a sharp fall is a buy) and the confidence ``min(1, |z| / 2)``:
    a two-sigma move is a full-confidence view, a small wiggle is barely one.
    """

    name = "mean_reversion"

    def __init__(self, lookback_days: int = 5, volatility_days: int = 63) -> None:
        self.lookback_days = lookback_days
        self.volatility_days = volatility_days
        self.required_days = max(lookback_days, volatility_days) + 1
        self.horizon = f"{lookback_days}d"

    def generate(self, prices: np.ndarray, timestamp: date) -> SignalBatch:
        if len(prices) < self.required_days:
            raise ValueError(
                f"mean_reversion: needs {self.required_days} days of prices, got {len(prices)}"
            )
        daily = _daily_log_returns(prices[-self.volatility_days - 1 :])
        sigma = np.std(daily, axis=0, ddof=1) * np.sqrt(self.lookback_days)
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.log(prices[-1] / prices[-1 - self.lookback_days]) / sigma
        missing = _no_view(z)
        z = np.where(missing, 0.0, z)
        return SignalBatch(
            self.name,
            self.horizon,
            timestamp,
            -np.tanh(z),
            np.where(missing, 0.0, np.minimum(1.0, np.abs(z) / 2.0)),
        )
