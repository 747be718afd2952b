"""Sleeve risk budgets: capital that gives each sleeve its share of the portfolio's variance, and
budgets that lean against a sleeve whose volatility has just jumped.

**Risk-budget capital.** With sleeve capital ``c`` (``c >= 0``, ``sum c = 1``) and ``C = W S W'``
the covariance of the sleeves' returns (rows of ``W``: each sleeve's own weights), sleeve ``s``
carries the share ``c_s (C c)_s / c' C c`` of the portfolio's variance (its Euler component, see
engine/risk/attribution.py). The capital whose shares equal the budgets ``b`` (``b >= 0``,
normalised to sum one) is found by Spinu's convex formulation (*An algorithm for computing
risk parity weights*, 2013):

    minimise  f(y) = 1/2 y' C y - sum_s b_s log y_s   over y > 0,

whose optimality condition ``(C y)_s = b_s / y_s`` gives ``y_s (C y)_s = b_s`` and hence, with
``c = y / sum y``, shares ``b_s / sum b = b_s``. ``f`` is strictly convex for a positive-definite
``C`` (and whenever no non-negative combination of the budgeted sleeves is riskless), so Newton's
method with a backtracking line search converges in a handful of steps for S <= 10 sleeves.
For uncorrelated sleeves the answer is closed form: ``c_s`` proportional to
``sqrt(b_s) / sigma_s``. A sleeve with a zero budget gets no capital from the solve.

**Bounds.** The capital is then kept inside ``[min_capital, max_capital]`` by clipping and
renormalising the free sleeves in proportion to their capital, repeated until every sleeve is
inside its bounds and the capital sums to one. A sleeve held at a bound breaks the budgets: they
then hold only approximately (the clipped sleeve's share moves, and the others' with it).

**Regime-adjusted budgets.** A sleeve whose short-window realised volatility runs above its
long-window one gets proportionally less budget, ``b_s * long_vol_s / short_vol_s`` (and
proportionally more when it calms down); the budgets are then bounded to ``[floor, cap]`` per
sleeve and renormalised to sum one by the same clipping. A sleeve whose volatilities are missing
(NaN) or zero keeps its base budget before the renormalisation. Budgets are relative: when every
sleeve's volatility doubles the budgets do not move (the portfolio's overall risk level is a
volatility limit's job, engine/risk/limits.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_NEWTON_TOLERANCE = 1e-22  # on the squared Newton decrement: y to ~1e-11, relative
_NEWTON_MAX_STEPS = 100
_BOUNDS_TOLERANCE = 1e-12
_FULL_STEP_DECREMENT = 1e-4


def _vector(name: str, values: np.ndarray | float, size: int) -> np.ndarray:
    values = np.broadcast_to(np.asarray(values, dtype=float), (size,)).copy()
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{name}: {values.tolist()} must be finite")
    return values


def _budgets(budgets: np.ndarray) -> np.ndarray:
    budgets = np.asarray(budgets, dtype=float)
    if budgets.ndim != 1 or len(budgets) == 0:
        raise ValueError(f"budgets: shape {budgets.shape} must be one-dimensional (sleeves)")
    if not np.all(np.isfinite(budgets)) or np.any(budgets < 0) or budgets.sum() <= 0:
        raise ValueError(
            f"budgets: {budgets.tolist()} must be finite, non-negative and not all zero"
        )
    return budgets / budgets.sum()


def _check_bounds(name: str, lower: np.ndarray, upper: np.ndarray) -> None:
    if np.any(lower < 0) or np.any(lower > upper):
        raise ValueError(
            f"{name}: bounds [{lower.tolist()}, {upper.tolist()}] must satisfy 0 <= min <= max"
        )
    if lower.sum() > 1 + _BOUNDS_TOLERANCE or upper.sum() < 1 - _BOUNDS_TOLERANCE:
        raise ValueError(
            f"{name}: bounds [{lower.tolist()}, {upper.tolist()}] cannot hold a total of one "
            f"(sum of minimums {lower.sum():g} must be <= 1 <= sum of maximums {upper.sum():g})"
        )


def clip_to_simplex(values: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Shares inside ``[lower, upper]`` summing to one, as close in proportion to ``values`` as
    clipping allows: clip, then rescale the sleeves not held at a bound to absorb the gap, and
    repeat (each round holds at least one more sleeve at a bound, so at most S rounds)."""
    shares = np.clip(np.asarray(values, dtype=float), lower, upper)
    for _ in range(2 * len(shares) + 2):
        gap = 1.0 - shares.sum()
        if abs(gap) <= _BOUNDS_TOLERANCE:
            return shares
        free = shares < upper - _BOUNDS_TOLERANCE if gap > 0 else shares > lower + _BOUNDS_TOLERANCE
        base = np.where(free, shares, 0.0)
        if base.sum() <= 0:  # the free sleeves hold nothing: share the gap out equally
            base = free.astype(float)
        shares = np.clip(shares + gap * base / base.sum(), lower, upper)
    if abs(1.0 - shares.sum()) > 1e-9:
        raise ValueError(f"bounds: could not fit shares {shares.tolist()} to sum to one")
    return shares


def _spinu_newton(budgets: np.ndarray, covariance: np.ndarray) -> np.ndarray:
    """``y > 0`` with ``y_s (C y)_s = b_s`` for every ``s`` (all budgets positive)."""
    scale = float(np.mean(np.diag(covariance)))
    scaled = covariance / scale  # unit-scale covariance: the same c, better-conditioned steps

    def objective(y: np.ndarray) -> float:
        return 0.5 * float(y @ scaled @ y) - float(budgets @ np.log(y))

    y = np.sqrt(budgets / np.diag(scaled))  # the diagonal solution, up to scale
    y /= np.sqrt(float(y @ scaled @ y))
    for _ in range(_NEWTON_MAX_STEPS):
        gradient = scaled @ y - budgets / y
        hessian = scaled + np.diag(budgets / y**2)
        step = -np.linalg.solve(hessian, gradient)
        decrement = float(-gradient @ step)  # the squared Newton decrement
        if decrement <= _NEWTON_TOLERANCE:
            break
        t = 1.0
        while np.any(y + t * step <= 0):  # stay inside the domain y > 0
            t *= 0.5
        if decrement > _FULL_STEP_DECREMENT:  # far away: backtrack until f falls enough
            current = objective(y)
            while objective(y + t * step) > current - 0.25 * t * decrement and t > 1e-12:
                t *= 0.5
        # Near the optimum Newton's full step converges quadratically, and f's decrease there is
        # below its rounding error, so a line search would only stall.
        y = y + t * step
    return y


def risk_budget_capital(
    budgets: np.ndarray,
    sleeve_covariance: np.ndarray,
    min_capital: np.ndarray | float = 0.0,
    max_capital: np.ndarray | float = 1.0,
) -> np.ndarray:
    """Sleeve capital (``>= 0``, sums to one) whose variance shares equal ``budgets``, then kept
    inside ``[min_capital, max_capital]`` (where the budgets hold only approximately)."""
    budgets = _budgets(budgets)
    n = len(budgets)
    covariance = np.asarray(sleeve_covariance, dtype=float)
    if covariance.shape != (n, n):
        raise ValueError(
            f"sleeve_covariance: shape {covariance.shape} must be ({n}, {n}) for the budgets"
        )
    if not np.all(np.isfinite(covariance)) or not np.allclose(covariance, covariance.T):
        raise ValueError("sleeve_covariance: must be finite and symmetric")
    lower = _vector("min_capital", min_capital, n)
    upper = _vector("max_capital", max_capital, n)
    _check_bounds("min_capital/max_capital", lower, upper)
    budgeted = budgets > 0
    riskless = budgeted & ~(np.diag(covariance) > 0)
    if np.any(riskless):
        raise ValueError(
            f"sleeve_covariance: sleeves {np.flatnonzero(riskless).tolist()} have no variance and "
            f"cannot carry a risk budget; give them a zero budget and fixed capital bounds"
        )
    sub = covariance[np.ix_(budgeted, budgeted)]
    if np.linalg.eigvalsh(sub).min() <= -1e-12 * np.abs(np.diag(sub)).max():
        raise ValueError("sleeve_covariance: must be positive semi-definite")
    capital = np.zeros(n)
    y = _spinu_newton(budgets[budgeted], sub)
    capital[budgeted] = y / y.sum()
    return clip_to_simplex(capital, lower, upper)


def regime_adjusted_budgets(
    base_budgets: np.ndarray,
    short_vol: np.ndarray,
    long_vol: np.ndarray,
    floor: np.ndarray | float,
    cap: np.ndarray | float,
) -> np.ndarray:
    """``base_budgets`` scaled by ``long_vol / short_vol`` per sleeve, kept in ``[floor, cap]``
    and renormalised to sum one; NaN or zero volatilities leave a sleeve's base budget."""
    budgets = _budgets(base_budgets)
    n = len(budgets)
    short_vol = np.broadcast_to(np.asarray(short_vol, dtype=float), (n,))
    long_vol = np.broadcast_to(np.asarray(long_vol, dtype=float), (n,))
    lower = _vector("floor", floor, n)
    upper = _vector("cap", cap, n)
    _check_bounds("floor/cap", lower, upper)
    usable = np.isfinite(short_vol) & np.isfinite(long_vol) & (short_vol > 0) & (long_vol > 0)
    ratio = np.ones(n)
    np.divide(long_vol, short_vol, out=ratio, where=usable)
    adjusted = budgets * ratio
    return clip_to_simplex(adjusted / adjusted.sum(), lower, upper)


def sleeve_volatility(
    returns: np.ndarray,
    weights: np.ndarray,
    short_window_days: int = 21,
    long_window_days: int = 252,
) -> tuple[float, float]:
    """A sleeve's daily realised volatility (sample standard deviation) over the last
    ``short_window_days`` and ``long_window_days`` of ``returns`` (days x instruments, oldest
    first; missing returns count as zero) held at its own ``weights``. NaN with fewer than two
    days in a window."""
    if not 2 <= short_window_days <= long_window_days:
        raise ValueError(
            f"short_window_days/long_window_days: {short_window_days}/{long_window_days} must "
            f"satisfy 2 <= short <= long"
        )
    returns = np.nan_to_num(np.asarray(returns, dtype=float))
    weights = np.asarray(weights, dtype=float)
    if returns.ndim != 2 or returns.shape[1] != len(weights):
        raise ValueError(
            f"returns: shape {returns.shape} must be (days, {len(weights)}) for the weights"
        )
    sleeve_returns = returns @ weights

    def window_volatility(days: int) -> float:
        window = sleeve_returns[-days:]
        return float(np.std(window, ddof=1)) if len(window) >= 2 else float("nan")

    return window_volatility(short_window_days), window_volatility(long_window_days)


def sleeve_covariance(covariance: np.ndarray, sleeve_weights: np.ndarray) -> np.ndarray:
    """The covariance of the sleeves' returns, ``W S W'`` (rows of ``W``: each sleeve's own
    weights over the instruments)."""
    sleeve_weights = np.atleast_2d(np.asarray(sleeve_weights, dtype=float))
    covariance = np.asarray(covariance, dtype=float)
    n = sleeve_weights.shape[1]
    if covariance.shape != (n, n):
        raise ValueError(f"covariance: shape {covariance.shape} must be ({n}, {n}) for the weights")
    result = sleeve_weights @ covariance @ sleeve_weights.T
    return (result + result.T) / 2


@dataclass(frozen=True, slots=True)
class SleeveBudgeting:
    """A multi-strategy portfolio's risk budgets per sleeve and how far they and the capital may
    move (see ``[portfolios.risk_budgeting]`` in the config)."""

    budgets: tuple[float, ...]
    capital_bounds: tuple[float, float] = (0.05, 0.95)
    adapt_to_regime: bool = True
    short_window_days: int = 21
    long_window_days: int = 126
    budget_bounds: tuple[float, float] = (0.1, 0.9)

    def allocate(
        self, sleeve_weights: np.ndarray, covariance: np.ndarray, returns: np.ndarray
    ) -> SleeveCapital | None:
        """Capital per sleeve from the sleeves' latest own weights (sleeves x instruments, over
        the instruments of ``covariance`` and ``returns``, daily, days x instruments); None when
        a sleeve holds nothing yet or carries no risk (the configured capital then stands)."""
        sleeve_cov = sleeve_covariance(covariance, sleeve_weights)
        if not np.all(np.diag(sleeve_cov) > 0):
            return None
        budgets = np.array(self.budgets)
        short = np.full(len(budgets), np.nan)
        long = np.full(len(budgets), np.nan)
        if self.adapt_to_regime:
            for s, weights in enumerate(sleeve_weights):
                short[s], long[s] = sleeve_volatility(
                    returns, weights, self.short_window_days, self.long_window_days
                )
            budgets = regime_adjusted_budgets(budgets, short, long, *self.budget_bounds)
        capital = risk_budget_capital(budgets, sleeve_cov, *self.capital_bounds)
        return SleeveCapital(capital, budgets, short, long)


@dataclass(frozen=True, slots=True, eq=False)
class SleeveCapital:
    """What the budgeting decided: capital and the (regime-adjusted) budgets per sleeve, and
    each sleeve's short- and long-window daily volatility."""

    capital: np.ndarray
    budgets: np.ndarray
    short_vol: np.ndarray
    long_vol: np.ndarray
