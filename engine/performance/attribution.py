"""Brinson-Fachler attribution by sector, linked over time with Carino's method.

Each day, with portfolio and benchmark weights ``wp``, ``wb`` (start of day, summing to one
each) and sector returns ``rp``, ``rb``, and ``Rb = sum(wb rb)`` the benchmark's return:

- allocation ``(wp - wb)(rb - Rb)``: being over- or underweight in sectors that beat or lagged
  the benchmark;
- selection ``wb (rp - rb)``: picking names that beat their sector, at the benchmark's weight;
- interaction ``(wp - wb)(rp - rb)``: the two together.

Over the sectors they add up to ``sum(wp rp) - Rb``, the day's active return, exactly. A sector
the portfolio does not hold has no return of its own: it is given the benchmark's (its
selection and interaction are zero, its allocation is the underweight's effect).

Daily effects do not add up to the period's active return, since returns compound. Carino's
method scales each day's effects by ``k_t / k``, with ``k_t = (ln(1 + R_t) - ln(1 + B_t)) / (R_t
- B_t)`` (``1 / (1 + R_t)`` when the two are equal) and ``k`` the same for the whole period's
``R`` and ``B``; the scaled effects then add up to ``R - B`` exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

EFFECTS = ("allocation", "selection", "interaction")


@dataclass(frozen=True, slots=True)
class BrinsonResult:
    """Daily effects (days x sectors, one frame per effect) and the period's linked ones."""

    daily: dict[str, pd.DataFrame]
    linked: pd.DataFrame  # sectors x effects
    portfolio_return: float  # the period's, compounded from the daily sum(wp rp)
    benchmark_return: float

    @property
    def active_return(self) -> float:
        return self.portfolio_return - self.benchmark_return

    def daily_active(self) -> pd.Series:
        """Each day's active return, the sum of that day's effects."""
        return sum(frame.sum(axis=1) for frame in self.daily.values())  # type: ignore[return-value]


def brinson_fachler(
    portfolio_weights: pd.DataFrame,
    portfolio_returns: pd.DataFrame,
    benchmark_weights: pd.DataFrame,
    benchmark_returns: pd.DataFrame,
) -> BrinsonResult:
    """Daily Brinson-Fachler effects and their Carino-linked totals (see the module docstring).

    The four frames are days x sectors with the same index and columns; a weight is the start of
    the day's, a return that day's. NaN returns where the weight is zero are allowed."""
    frames = (portfolio_weights, portfolio_returns, benchmark_weights, benchmark_returns)
    for name, frame in zip(
        ("portfolio_returns", "benchmark_weights", "benchmark_returns"), frames[1:], strict=True
    ):
        if not frame.index.equals(frames[0].index) or list(frame.columns) != list(
            frames[0].columns
        ):
            raise ValueError(f"{name}: must have the portfolio weights' days and sectors")
    wp = portfolio_weights.to_numpy(dtype=float)
    wb = benchmark_weights.to_numpy(dtype=float)
    rb = np.nan_to_num(benchmark_returns.to_numpy(dtype=float))
    rp = portfolio_returns.to_numpy(dtype=float)
    rp = np.where(np.isfinite(rp) & (wp != 0), rp, rb)
    for name, weights in (("portfolio_weights", wp), ("benchmark_weights", wb)):
        sums = weights.sum(axis=1)
        if not np.allclose(sums, 1.0, atol=1e-9):
            day = portfolio_weights.index[int(np.argmax(np.abs(sums - 1.0)))]
            raise ValueError(f"{name}: the weights on {day} sum to {sums.max():.12g}, not 1")
    bench_total = (wb * rb).sum(axis=1, keepdims=True)
    effects = {
        "allocation": (wp - wb) * (rb - bench_total),
        "selection": wb * (rp - rb),
        "interaction": (wp - wb) * (rp - rb),
    }
    r_day = (wp * rp).sum(axis=1)
    b_day = bench_total[:, 0]
    r_period = float(np.prod(1.0 + r_day) - 1.0)
    b_period = float(np.prod(1.0 + b_day) - 1.0)
    scale = carino_factors(r_day, b_day) / carino_factor(r_period, b_period)
    index, columns = portfolio_weights.index, portfolio_weights.columns
    daily = {name: pd.DataFrame(value, index, columns) for name, value in effects.items()}
    linked = pd.DataFrame(
        {name: (value * scale[:, None]).sum(axis=0) for name, value in effects.items()},
        index=columns,
    )
    return BrinsonResult(daily, linked, r_period, b_period)


def carino_factor(portfolio: float, benchmark: float) -> float:
    """``(ln(1 + R) - ln(1 + B)) / (R - B)``, or ``1 / (1 + R)`` when ``R == B``."""
    return float(carino_factors(np.array([portfolio]), np.array([benchmark]))[0])


def carino_factors(portfolio: np.ndarray, benchmark: np.ndarray) -> np.ndarray:
    difference = portfolio - benchmark
    same = np.isclose(difference, 0.0, rtol=0.0, atol=1e-15)
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = (np.log1p(portfolio) - np.log1p(benchmark)) / difference
    return np.where(same, 1.0 / (1.0 + portfolio), logs)
