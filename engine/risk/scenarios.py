"""Stress scenarios: what they are, the standard set, and the historical windows they come from.

Conventions as in ``engine/risk/metrics.py``: weights are fractions of NAV over an instrument
vector (negative = short), returns and P&L are fractions (``-0.05`` = a 5% loss of NAV), VaR is a
positive loss fraction of NAV over one trading day. USD figures are fractions times the NAV.

Two families of scenario:

- **Return scenarios** give each instrument a return ``r_i`` over the scenario; the P&L is
  ``sum_i w_i r_i`` (a short gains when the price falls), and ``w_i r_i`` is instrument ``i``'s
  contribution, so contributions and sector subtotals add up to the total exactly.

  * ``HistoricalScenario``: ``r_i = close[end, i] / close[start, i] - 1`` over a dated window of
    a price history: the named crises in ``DEFAULT_NAMED`` and the worst ``window_days`` windows of
    the equally weighted universe (``historical_scenarios``).
  * ``SectorShock``, ``InstrumentShock``, ``MarketShock``: every instrument of a sector, one
    instrument, or every instrument moves by ``shock``.

  An instrument without a return in a scenario (no price at the window's start or end, or not in
  the history) is given the **mean return of the other instruments of its sector** in that
  scenario; if none of its sector has one, the mean of every instrument that has one; if no
  instrument has one, zero. Its gross weight ``|w_i|`` is reported as the scenario's
  ``uncovered_weight`` (``sector_proxy_returns``).

- **Covariance scenarios** stress the daily covariance ``Sigma`` of returns and report the 1-day
  parametric VaR ``z_a sqrt(w' Sigma' w)`` under the stressed ``Sigma'`` against the unstressed one
  (Jorion, *Value at Risk*, ch. 5). The P&L is minus the stressed VaR, split over instruments by
  Euler allocation ``-z_a w_i (Sigma' w)_i / sigma'``, which sums to it exactly.

  * ``VolatilityShock``: ``Sigma' = k^2 Sigma`` (every volatility times ``k``, correlations kept),
    so the VaR is exactly ``k`` times the unstressed one.
  * ``CorrelationShock``: correlations pushed toward one, ``rho'_ij = (1 - lam) rho_ij + lam`` for
    ``i != j``, volatilities kept. ``Sigma'`` stays positive semi-definite (a convex combination
    of two correlation matrices); at ``lam = 1`` every pair is perfectly correlated and
    ``sigma' = |sum_i w_i sigma_i|``.

``engine/risk/stress.py`` runs them on portfolios.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np

DEFAULT_NAMED: Mapping[str, tuple[date, date]] = {
    "2008 financial crisis": (date(2008, 9, 12), date(2009, 3, 9)),
    "2020 COVID crash": (date(2020, 2, 19), date(2020, 3, 23)),
}
DEFAULT_LEVEL = 0.99
DEFAULT_TOP = 5


class StressError(ValueError):
    """A stress test could not run; the message names the input and the rule it broke."""


# -- scenarios ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True, eq=False)
class HistoricalScenario:
    """Returns of a dated window of history: ``returns[i] = close[end] / close[start] - 1``.

    ``returns`` (fractions) is aligned with ``symbols`` when they are given, else with the price
    columns the scenario was built from; NaN where the instrument has no price at either end.
    ``origin`` is ``"named"`` (a known episode) or ``"worst"`` (a worst window of the universe).
    """

    name: str
    start: date
    end: date
    returns: np.ndarray
    symbols: tuple[str, ...] | None = None
    origin: str = "named"
    kind: str = field(default="historical", init=False)

    @property
    def window(self) -> str:
        return f"{self.start.isoformat()}..{self.end.isoformat()}"

    def returns_for(self, symbols: Sequence[str], sectors: Sequence[str]) -> np.ndarray:
        """Returns (fractions) over ``symbols``; NaN where the window has no return."""
        if self.symbols is None:
            if len(self.returns) != len(symbols):
                raise StressError(
                    f"scenario {self.name!r}: {len(self.returns)} returns but {len(symbols)} "
                    "symbols; build it with symbols= to align by name"
                )
            return np.asarray(self.returns, dtype=float).copy()
        position = {symbol: i for i, symbol in enumerate(self.symbols)}
        return np.array(
            [self.returns[position[s]] if s in position else np.nan for s in symbols], dtype=float
        )


@dataclass(frozen=True, slots=True)
class SectorShock:
    """Every instrument of ``sector`` moves by ``shock`` (a fraction: -0.2 = down 20%)."""

    sector: str
    shock: float
    kind: str = field(default="sector", init=False)

    @property
    def name(self) -> str:
        return f"{self.sector} {self.shock:+.0%}"

    @property
    def window(self) -> None:
        return None

    def returns_for(self, symbols: Sequence[str], sectors: Sequence[str]) -> np.ndarray:
        return np.where(np.asarray(sectors, dtype=object) == self.sector, self.shock, 0.0)


@dataclass(frozen=True, slots=True)
class InstrumentShock:
    """One instrument moves by ``shock`` (a fraction)."""

    symbol: str
    shock: float
    kind: str = field(default="instrument", init=False)

    @property
    def name(self) -> str:
        return f"{self.symbol} {self.shock:+.0%}"

    @property
    def window(self) -> None:
        return None

    def returns_for(self, symbols: Sequence[str], sectors: Sequence[str]) -> np.ndarray:
        return np.where(np.asarray(symbols, dtype=object) == self.symbol, self.shock, 0.0)


@dataclass(frozen=True, slots=True)
class MarketShock:
    """Every instrument moves by ``shock`` (a fraction)."""

    shock: float
    kind: str = field(default="market", init=False)

    @property
    def name(self) -> str:
        return f"Market {self.shock:+.0%}"

    @property
    def window(self) -> None:
        return None

    def returns_for(self, symbols: Sequence[str], sectors: Sequence[str]) -> np.ndarray:
        return np.full(len(symbols), self.shock, dtype=float)


@dataclass(frozen=True, slots=True)
class VolatilityShock:
    """Every volatility times ``factor`` (``Sigma' = factor^2 Sigma``); 1-day VaR at ``level``."""

    factor: float
    level: float = DEFAULT_LEVEL
    kind: str = field(default="volatility", init=False)

    def __post_init__(self) -> None:
        if not (np.isfinite(self.factor) and self.factor > 0):
            raise StressError(f"volatility shock: factor {self.factor} must be positive")

    @property
    def name(self) -> str:
        return f"Volatility x{self.factor:g}"

    @property
    def window(self) -> str:
        return "1 day"

    def stressed_covariance(self, covariance: np.ndarray) -> np.ndarray:
        return self.factor**2 * covariance

    def stressed_product(
        self, covariance_times_weights: np.ndarray, volatility: np.ndarray, weights: np.ndarray
    ) -> np.ndarray:
        """``Sigma' w`` from ``Sigma w``: ``factor^2 Sigma w`` (rows are portfolios when 2-D)."""
        return self.factor**2 * covariance_times_weights


@dataclass(frozen=True, slots=True)
class CorrelationShock:
    """Correlations pushed toward one: ``rho' = (1 - lam) rho + lam`` off the diagonal,
    volatilities kept; 1-day VaR at ``level``."""

    lam: float
    level: float = DEFAULT_LEVEL
    kind: str = field(default="correlation", init=False)

    def __post_init__(self) -> None:
        if not 0 <= self.lam <= 1:
            raise StressError(f"correlation shock: lam {self.lam} must be in [0, 1]")

    @property
    def name(self) -> str:
        return f"Correlation lam={self.lam:g}"

    @property
    def window(self) -> str:
        return "1 day"

    def stressed_covariance(self, covariance: np.ndarray) -> np.ndarray:
        volatility = np.sqrt(np.clip(np.diag(covariance), 0.0, None))
        scale = np.outer(volatility, volatility)
        with np.errstate(divide="ignore", invalid="ignore"):
            correlation = np.where(scale > 0, covariance / scale, 0.0)
        stressed = (1.0 - self.lam) * correlation + self.lam
        np.fill_diagonal(stressed, 1.0)
        return stressed * scale

    def stressed_product(
        self, covariance_times_weights: np.ndarray, volatility: np.ndarray, weights: np.ndarray
    ) -> np.ndarray:
        """``Sigma' w = (1 - lam) Sigma w + lam sigma (sigma' w)`` from ``Sigma w`` and the
        volatilities ``sigma`` (``sqrt`` of the diagonal): O(N) per portfolio where forming
        ``Sigma'`` is O(N^2). Rows are portfolios when the arrays are 2-D.

        The same ``Sigma'`` as ``stressed_covariance``: off the diagonal ``rho'_ij sigma_i
        sigma_j = (1 - lam) Sigma_ij + lam sigma_i sigma_j``, on it ``(1 - lam) Sigma_ii + lam
        sigma_i^2 = sigma_i^2``; an instrument without volatility has no covariance either."""
        exposure = np.asarray(weights, dtype=float) @ volatility  # sigma' w, one per portfolio
        return (1.0 - self.lam) * covariance_times_weights + self.lam * np.multiply.outer(
            exposure, volatility
        )


ReturnScenario = HistoricalScenario | SectorShock | InstrumentShock | MarketShock
CovarianceScenario = VolatilityShock | CorrelationShock
Scenario = ReturnScenario | CovarianceScenario


def default_hypothetical(
    sectors: Iterable[str],
    *,
    instruments: Iterable[str] = (),
    sector_shock: float = -0.20,
    market_shock: float = -0.10,
    instrument_shock: float = -0.30,
    volatility_factor: float = 2.0,
    correlation_lam: float = 0.5,
    level: float = DEFAULT_LEVEL,
) -> tuple[Scenario, ...]:
    """The standard hypothetical set: the market down 10%, each sector (of the distinct names in
    ``sectors``, sorted) down 20%, each of ``instruments`` down 30% on its own, volatilities
    doubled, correlations half-way to one."""
    return (
        MarketShock(market_shock),
        *(SectorShock(sector, sector_shock) for sector in sorted(set(sectors))),
        *(InstrumentShock(symbol, instrument_shock) for symbol in dict.fromkeys(instruments)),
        VolatilityShock(volatility_factor, level),
        CorrelationShock(correlation_lam, level),
    )


def parse_shock(text: str, symbols: Sequence[str], sectors: Sequence[str]) -> Scenario:
    """A shock written ``NAME=RETURN``: NAME an instrument, a sector or ``market``; RETURN a
    fraction (``-0.25``) or a percentage (``-25%``)."""
    name, sep, amount = text.partition("=")
    name, amount = name.strip(), amount.strip()
    if not sep or not name or not amount:
        raise StressError(f"shock {text!r}: write NAME=RETURN, e.g. AAPL=-0.3 or Energy=-25%")
    try:
        shock = float(amount[:-1]) / 100 if amount.endswith("%") else float(amount)
    except ValueError:
        raise StressError(f"shock {text!r}: {amount!r} is not a return") from None
    if not -1 <= shock <= 10:
        raise StressError(f"shock {text!r}: a return of {shock:+.0%} is not a price move")
    if name.lower() == "market":
        return MarketShock(shock)
    if name.upper() in symbols:
        return InstrumentShock(name.upper(), shock)
    if name in set(sectors):
        return SectorShock(name, shock)
    known = ", ".join(sorted(set(sectors)))
    raise StressError(
        f"shock {text!r}: {name!r} is not an instrument, a sector ({known}) or market"
    )


# -- historical windows -------------------------------------------------------------------------
def window_returns(prices: np.ndarray, window_days: int) -> np.ndarray:
    """``prices[t + window_days] / prices[t] - 1`` for every start day ``t`` (rows) and
    instrument (columns); NaN where either price is missing or not positive."""
    prices = np.asarray(prices, dtype=float)
    start, end = prices[:-window_days], prices[window_days:]
    with np.errstate(divide="ignore", invalid="ignore"):
        returns = end / start - 1.0
    returns[~(start > 0) | ~np.isfinite(end)] = np.nan
    return returns


def worst_windows(universe_returns: np.ndarray, window_days: int, count: int) -> list[int]:
    """Start rows of the ``count`` worst non-overlapping windows, worst first.

    Greedy, which is what "the k worst non-overlapping windows" means here: the worst window of
    all, then the worst that shares no day with it, and so on. Windows starting at ``t`` and
    ``u`` overlap when ``|t - u| < window_days``. NaN windows are never picked.
    """
    values = np.asarray(universe_returns, dtype=float)
    order = np.argsort(np.where(np.isfinite(values), values, np.inf), kind="stable")
    chosen: list[int] = []
    for start in order:
        if len(chosen) == count or not np.isfinite(values[start]):
            break
        if all(abs(int(start) - other) >= window_days for other in chosen):
            chosen.append(int(start))
    return chosen


def historical_scenarios(
    prices: np.ndarray,
    dates: Sequence[date],
    window_days: int = 20,
    worst: int = 3,
    named: Mapping[str, tuple[date, date]] = DEFAULT_NAMED,
    *,
    symbols: Sequence[str] | None = None,
) -> tuple[HistoricalScenario, ...]:
    """Named episodes inside the data, then the ``worst`` non-overlapping ``window_days``-day
    windows of the equally weighted universe, worst first.

    ``prices`` is days x instruments in USD per share (NaN = no price), ``dates`` its trading days
    (ascending). A named window ``(first, last)`` runs from the first trading day on or after
    ``first`` to the last on or before ``last``, and is left out unless ``dates[0] <= first`` and
    ``last <= dates[-1]``. The equally weighted return of a window is the mean over the
    instruments priced at both ends. ``symbols`` (the price columns' names) lets the scenarios be
    applied to a differently ordered instrument vector. Missing returns stay NaN here; see
    ``sector_proxy_returns`` for how ``run_stress`` fills them.
    """
    prices = np.asarray(prices, dtype=float)
    if prices.ndim != 2 or prices.shape[0] != len(dates):
        raise StressError(
            f"prices: need a (days x instruments) array with one row per date; got shape "
            f"{prices.shape} and {len(dates)} dates"
        )
    if window_days < 1:
        raise StressError(f"window_days: {window_days} must be at least 1")
    if worst < 0:
        raise StressError(f"worst: {worst} must not be negative")
    if symbols is not None and len(symbols) != prices.shape[1]:
        raise StressError(f"symbols: {len(symbols)} names for {prices.shape[1]} price columns")
    names = tuple(symbols) if symbols is not None else None
    days = np.array(dates, dtype="datetime64[D]")
    scenarios: list[HistoricalScenario] = []
    for name, (first, last) in named.items():
        if len(days) == 0 or first < dates[0] or last > dates[-1]:
            continue
        start = int(np.searchsorted(days, np.datetime64(first), side="left"))
        end = int(np.searchsorted(days, np.datetime64(last), side="right")) - 1
        if end <= start:
            continue
        with np.errstate(divide="ignore", invalid="ignore"):
            returns = prices[end] / prices[start] - 1.0
        returns[~(prices[start] > 0) | ~np.isfinite(prices[end])] = np.nan
        scenarios.append(HistoricalScenario(name, dates[start], dates[end], returns, names))
    if worst and len(dates) > window_days:
        per_window = window_returns(prices, window_days)
        priced = np.isfinite(per_window)
        counts = priced.sum(axis=1)
        universe = np.where(
            counts > 0,
            np.where(priced, per_window, 0.0).sum(axis=1) / np.maximum(counts, 1),
            np.nan,
        )
        for rank, start in enumerate(worst_windows(universe, window_days, worst), 1):
            scenarios.append(
                HistoricalScenario(
                    f"Worst {window_days}-day window #{rank}",
                    dates[start],
                    dates[start + window_days],
                    per_window[start].copy(),
                    names,
                    origin="worst",
                )
            )
    return tuple(scenarios)


def sector_proxy_returns(
    returns: np.ndarray, sectors: Sequence[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Fill missing (NaN) returns: the mean of the instrument's sector, else of all instruments.

    Returns the filled returns and a mask of the instruments filled. The means are over the
    instruments of the vector that have a return; with none at all the fill is zero.
    """
    returns = np.asarray(returns, dtype=float)
    missing = ~np.isfinite(returns)
    if not missing.any():
        return returns.copy(), missing
    filled = returns.copy()
    sector_names = np.asarray(sectors, dtype=object)
    market = float(returns[~missing].mean()) if (~missing).any() else 0.0
    for sector in set(sector_names[missing]):
        in_sector = sector_names == sector
        priced = in_sector & ~missing
        filled[in_sector & missing] = float(returns[priced].mean()) if priced.any() else market
    return filled, missing


def applicable(scenarios: Sequence[Scenario], today: date) -> list[Scenario]:
    """The scenarios that can be run on ``today``: a historical window counts once it is
    history (it ended on or before today); the hypothetical ones always."""
    return [s for s in scenarios if not isinstance(s, HistoricalScenario) or s.end <= today]
