"""Built-in model signal sources, vectorised over the whole universe.

Each source reads the rolling close-price window (days x instruments, oldest first) and returns
one ``SignalBatch`` per horizon it forecasts: a score in [-1, 1] and a confidence in [0, 1] per
instrument. An instrument without enough finite history gets score 0 and confidence 0: no view,
rather than a guess. Horizons are labelled in trading days (``1w``, ``1m``, ``3m``, ...), and the
coordinator blends them with each portfolio's horizon weights.
"""

from __future__ import annotations

from datetime import date
from typing import Protocol

import numpy as np

from engine.model import SignalBatch
from engine.signals.horizons import horizon_label


class SignalSource(Protocol):
    name: str
    required_days: int
    horizons: tuple[str, ...]

    def generate(self, prices: np.ndarray, timestamp: date) -> tuple[SignalBatch, ...]: ...


def _daily_log_returns(prices: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.diff(np.log(prices), axis=0)


def _no_view(values: np.ndarray) -> np.ndarray:
    return ~np.isfinite(values)


class MomentumSource:
    """Time-series momentum over several horizons (Moskowitz, Ooi and Pedersen, 2012).

    For each horizon ``h`` the trailing log return from ``t-h`` to ``t-skip`` (the most recent
    ``skip`` days are left out to avoid short-term reversal) is scaled by the return volatility
    expected over that window, ``z_h = r_h / (sigma_daily * sqrt(h - skip))``; the score is
    ``tanh(z_h)`` and the confidence ``min(1, |z_h| / 2)``: a two-sigma trend is a full-confidence
    view. One batch per horizon, labelled by its length (21 days is ``1m``).
    """

    name = "momentum"

    def __init__(self, horizons_days: tuple[int, ...], skip_days: int = 5) -> None:
        self.horizons_days = tuple(sorted(horizons_days))
        self.skip_days = skip_days
        self.required_days = self.horizons_days[-1] + 1
        self.horizons = tuple(horizon_label(h) for h in self.horizons_days)

    def generate(self, prices: np.ndarray, timestamp: date) -> tuple[SignalBatch, ...]:
        if len(prices) < self.required_days:
            raise ValueError(
                f"momentum: needs {self.required_days} days of prices, got {len(prices)}"
            )
        log_prices = np.log(prices)
        daily = _daily_log_returns(prices[-self.required_days :])
        sigma_daily = np.std(daily, axis=0, ddof=1)
        end = log_prices[-1 - self.skip_days]
        batches = []
        for horizon, label in zip(self.horizons_days, self.horizons, strict=True):
            with np.errstate(divide="ignore", invalid="ignore"):
                z = (end - log_prices[-1 - horizon]) / (
                    sigma_daily * np.sqrt(horizon - self.skip_days)
                )
            missing = _no_view(z)
            z = np.where(missing, 0.0, z)
            batches.append(
                SignalBatch(
                    self.name,
                    label,
                    timestamp,
                    np.tanh(z),
                    np.where(missing, 0.0, np.minimum(1.0, np.abs(z) / 2.0)),
                )
            )
        return tuple(batches)


class MeanReversionSource:
    """Short-term reversal (Jegadeesh, 1990; Lehmann, 1990), at one or more look-backs.

    For each look-back ``L`` the ``L``-day log return is standardised by the volatility expected
    over that many days (daily volatility from the last ``volatility_days`` returns times
    ``sqrt(L)``); the score is ``-tanh(z)`` (a sharp fall is a buy) and the confidence
    ``min(1, |z| / 2)``: a two-sigma move is a full-confidence view, a small wiggle is barely one.
    The view's horizon is its look-back (a 5-day reversal is a ``1w`` view).
    """

    name = "mean_reversion"

    def __init__(self, lookbacks_days: tuple[int, ...] = (5,), volatility_days: int = 63) -> None:
        self.lookbacks_days = tuple(sorted(lookbacks_days))
        self.volatility_days = volatility_days
        self.required_days = max(*self.lookbacks_days, volatility_days) + 1
        self.horizons = tuple(horizon_label(days) for days in self.lookbacks_days)

    def generate(self, prices: np.ndarray, timestamp: date) -> tuple[SignalBatch, ...]:
        if len(prices) < self.required_days:
            raise ValueError(
                f"mean_reversion: needs {self.required_days} days of prices, got {len(prices)}"
            )
        daily = _daily_log_returns(prices[-self.volatility_days - 1 :])
        sigma_daily = np.std(daily, axis=0, ddof=1)
        batches = []
        for lookback, label in zip(self.lookbacks_days, self.horizons, strict=True):
            with np.errstate(divide="ignore", invalid="ignore"):
                z = np.log(prices[-1] / prices[-1 - lookback]) / (sigma_daily * np.sqrt(lookback))
            missing = _no_view(z)
            z = np.where(missing, 0.0, z)
            batches.append(
                SignalBatch(
                    self.name,
                    label,
                    timestamp,
                    -np.tanh(z),
                    np.where(missing, 0.0, np.minimum(1.0, np.abs(z) / 2.0)),
                )
            )
        return tuple(batches)
