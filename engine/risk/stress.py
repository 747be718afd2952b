"""Stress tests: what a portfolio would lose in a historical episode or a hypothetical shock.

Conventions as in ``engine/risk/metrics.py``: weights are fractions of NAV over an instrument
vector (negative = short), returns and P&L are fractions (``-0.05`` = a 5% loss of NAV), VaR is a
positive loss fraction of NAV over one trading day. USD figures are fractions times the NAV.

The scenarios (return scenarios and covariance scenarios, the standard set, the historical windows)
are defined in ``engine/risk/scenarios.py``; this module runs them: ``run_stress`` on one
portfolio with every breakdown, ``stress_pnl`` and ``portfolio_stress`` on many portfolios' totals
(the engine's risk stage), and ``standard_stress`` for ``pcoord stress``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from statistics import NormalDist
from typing import Any

import numpy as np

from engine.allocation.risk_models import ScenarioRisk, scenario_risk
from engine.risk.metrics import parametric_var_cvar
from engine.risk.scenarios import (
    DEFAULT_TOP,
    CorrelationShock,
    Scenario,
    StressError,
    VolatilityShock,
    default_hypothetical,
    historical_scenarios,
    sector_proxy_returns,
)


# -- running ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True, eq=False)
class StressResult:
    """One scenario's outcome. Fractions are of NAV; P&L negative = loss.

    ``pnl_by_instrument`` (aligned with the run's symbols) and ``pnl_by_sector`` each sum to
    ``pnl_fraction``; ``top_contributors`` are the largest losses, worst first, as (symbol,
    fraction). ``uncovered_weight`` is the gross weight whose return is a proxy (return
    scenarios). ``var_base`` and ``var_stressed`` are the 1-day VaR (positive loss fractions)
    without and with the stress (covariance scenarios only).
    """

    scenario: str
    kind: str
    window: str | None
    pnl_fraction: float
    pnl_usd: float | None
    pnl_by_instrument: np.ndarray
    pnl_by_sector: dict[str, float]
    top_contributors: tuple[tuple[str, float], ...]
    uncovered_weight: float = 0.0
    uncovered_symbols: tuple[str, ...] = ()
    var_base: float | None = None
    var_stressed: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "kind": self.kind,
            "window": self.window,
            "pnl_fraction": self.pnl_fraction,
            "pnl_usd": self.pnl_usd,
            "pnl_by_sector": self.pnl_by_sector,
            "top_contributors": [
                {"symbol": symbol, "pnl_fraction": pnl} for symbol, pnl in self.top_contributors
            ],
            "uncovered_weight": self.uncovered_weight,
            "uncovered_symbols": list(self.uncovered_symbols),
            "var_base": self.var_base,
            "var_stressed": self.var_stressed,
        }


Covariance = np.ndarray | ScenarioRisk


def covariance_products(
    weights: np.ndarray, covariance: Covariance, instruments: int
) -> tuple[np.ndarray, np.ndarray]:
    """``Sigma w`` (a row per row of ``weights``) and the volatilities ``sigma_i = sqrt(Sigma_ii)``
    over ``instruments``: everything the covariance scenarios need of ``Sigma``.

    ``covariance`` is the daily covariance over the instruments (``instruments`` x
    ``instruments``), or the ``ScenarioRisk`` it is estimated from. From the latter the product
    is taken with the centred scenarios ``X`` (``Sigma w = X' (X w) / (T - 1)``), O(T N) per
    portfolio where ``Sigma w`` is O(N^2), and no N x N matrix is formed: at 2,000 instruments
    that is what made the stress run every fifth close cost seconds. Instruments outside its
    ``columns`` carry no estimated risk (zero), as in ``ScenarioRisk.universe_covariance``.
    """
    weights = np.asarray(weights, dtype=float)
    if isinstance(covariance, ScenarioRisk):
        columns = covariance.columns
        product = np.zeros(weights.shape)
        product[..., columns] = covariance.covariance_times(weights[..., columns])
        volatility = np.zeros(instruments)
        volatility[columns] = covariance.volatility
        return product, volatility
    matrix = np.asarray(covariance, dtype=float)
    if matrix.shape != (instruments, instruments):
        raise StressError(f"covariance: shape {matrix.shape}, need ({instruments}, {instruments})")
    return weights @ matrix, np.sqrt(np.clip(np.diag(matrix), 0.0, None))


def run_stress(
    weights: np.ndarray,
    scenarios: Iterable[Scenario],
    *,
    symbols: Sequence[str],
    sectors: Sequence[str],
    covariance: Covariance | None = None,
    nav_usd: float | None = None,
    top: int = DEFAULT_TOP,
) -> tuple[StressResult, ...]:
    """Stress ``weights`` (fractions of NAV over ``symbols``; ``sectors`` aligned with them).

    ``covariance`` is of daily returns (fractions squared), needed by the covariance scenarios:
    the matrix over ``symbols`` or the ``ScenarioRisk`` it comes from (``covariance_products``).
    With ``nav_usd`` the P&L is also given in USD. ``top`` contributors are kept per scenario.
    """
    weights = np.asarray(weights, dtype=float)
    count = len(symbols)
    if weights.shape != (count,) or len(sectors) != count:
        raise StressError(
            f"weights {weights.shape}, symbols {count} and sectors {len(sectors)} must all be one "
            "per instrument"
        )
    if not np.all(np.isfinite(weights)):
        raise StressError("weights: every weight must be a finite number")
    sector_names = np.asarray(sectors, dtype=object)
    products: tuple[np.ndarray, np.ndarray] | None = None  # Sigma w and sigma, once
    results: list[StressResult] = []
    for scenario in scenarios:
        uncovered: np.ndarray = np.zeros(count, dtype=bool)
        var_base = var_stressed = None
        if isinstance(scenario, VolatilityShock | CorrelationShock):
            if covariance is None:
                raise StressError(f"scenario {scenario.name!r}: needs a covariance of returns")
            if products is None:
                products = covariance_products(weights, covariance, count)
            base, volatility = products
            stressed = scenario.stressed_product(base, volatility, weights)
            z = NormalDist().inv_cdf(scenario.level)
            var_base = parametric_var_cvar(_sigma(weights, base), scenario.level)[0]
            sigma = _sigma(weights, stressed)
            var_stressed = parametric_var_cvar(sigma, scenario.level)[0]
            # Euler allocation of the stressed VaR: z w_i (Sigma' w)_i / sigma'.
            contributions = -z * weights * stressed / sigma if sigma > 0 else np.zeros(count)
            pnl = -var_stressed
        else:
            raw = scenario.returns_for(symbols, sectors)
            returns, uncovered = sector_proxy_returns(raw, sectors)
            contributions = weights * returns
            pnl = float(contributions.sum())
        by_sector = {
            sector: float(contributions[sector_names == sector].sum())
            for sector in sorted(set(sector_names))
        }
        losers = [i for i in np.argsort(contributions, kind="stable") if contributions[i] < 0]
        results.append(
            StressResult(
                scenario.name,
                scenario.kind,
                scenario.window,
                pnl,
                pnl * nav_usd if nav_usd is not None else None,
                contributions,
                by_sector,
                tuple((symbols[i], float(contributions[i])) for i in losers[:top]),
                float(np.abs(weights[uncovered]).sum()),
                tuple(symbols[i] for i in np.flatnonzero(uncovered & (weights != 0))),
                var_base,
                var_stressed,
            )
        )
    return tuple(results)


def _sigma(weights: np.ndarray, covariance_times_weights: np.ndarray) -> float:
    """``sqrt(w' Sigma w)`` of one portfolio; a rounding-negative variance is zero."""
    return float(np.sqrt(max(float(weights @ covariance_times_weights), 0.0)))


def stress_pnl(
    weights: np.ndarray,
    scenarios: Sequence[Scenario],
    *,
    symbols: Sequence[str],
    sectors: Sequence[str],
    covariance: Covariance,
) -> np.ndarray:
    """The total P&L (fractions of NAV) of several portfolios under each scenario, as
    ``run_stress`` gives it, without the breakdowns: ``weights`` is portfolios x instruments and
    the result scenarios x portfolios. Each scenario's returns (with the sector proxy) are worked
    out once for all the portfolios, and ``Sigma w`` once for all the covariance scenarios
    (``covariance_products``: with a ``ScenarioRisk``, O(T N) per portfolio)."""
    weights = np.atleast_2d(np.asarray(weights, dtype=float))
    out = np.empty((len(scenarios), len(weights)))
    products: tuple[np.ndarray, np.ndarray] | None = None
    for k, scenario in enumerate(scenarios):
        if isinstance(scenario, VolatilityShock | CorrelationShock):
            if products is None:
                products = covariance_products(weights, covariance, len(symbols))
            stressed = scenario.stressed_product(*products, weights)
            variance = np.einsum("pi,pi->p", weights, stressed)
            z = NormalDist().inv_cdf(scenario.level)
            out[k] = -z * np.sqrt(np.maximum(variance, 0.0))
        else:
            returns, _ = sector_proxy_returns(scenario.returns_for(symbols, sectors), sectors)
            out[k] = weights @ returns
    return out


def portfolio_stress(
    holdings: Mapping[str, np.ndarray],
    proposed: Mapping[str, np.ndarray],
    scenarios: Sequence[Scenario],
    *,
    symbols: Sequence[str],
    sectors: Sequence[str],
    covariance: Covariance,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Each scenario's P&L (fractions of NAV) on every portfolio's holdings and on its proposed
    allocation, where it has one, in one ``stress_pnl`` pass: (by portfolio, P&L per scenario)
    for the holdings, and the same for the proposals. Weights are over ``symbols``; the engine
    passes the close's ``ScenarioRisk`` as ``covariance``."""
    if not scenarios or not holdings:
        return {}, {}
    rows = [*holdings.values(), *proposed.values()]
    pnl = stress_pnl(
        np.array(rows), scenarios, symbols=symbols, sectors=sectors, covariance=covariance
    )
    on_holdings = {pid: pnl[:, p] for p, pid in enumerate(holdings)}
    on_proposed = {pid: pnl[:, len(holdings) + p] for p, pid in enumerate(proposed)}
    return on_holdings, on_proposed


# -- one portfolio's standard set, as of a date (pcoord stress) ---------------------------------
def closes_through(closes: np.ndarray, dates: Sequence[date], as_of: date) -> np.ndarray:
    """The rows of ``closes`` (days x instruments, one per trading day of ``dates``, ascending)
    on or before ``as_of``; a StressError when that leaves fewer than two (no return to use)."""
    days = np.array(dates, dtype="datetime64[D]")
    count = int(np.searchsorted(days, np.datetime64(as_of), side="right"))
    if count < 2:
        raise StressError(f"the price history starts after the engine's date {as_of}")
    return np.asarray(closes, dtype=float)[:count]


@dataclass(frozen=True, slots=True, eq=False)
class StressReport:
    """The standard stress set run on one portfolio's weights: the results in the order run,
    the weights' gross (``sum |w|``) and net (``sum w``) exposure as fractions of NAV, and the
    number of daily returns behind the covariance scenarios."""

    results: tuple[StressResult, ...]
    gross_exposure: float
    net_exposure: float
    covariance_days: int


def standard_stress(
    weights: np.ndarray,
    closes: np.ndarray,
    dates: Sequence[date],
    as_of: date,
    *,
    symbols: Sequence[str],
    sectors: Sequence[str],
    lookback_days: int,
    window_days: int = 20,
    own: Sequence[Scenario] = (),
    nav_usd: float | None = None,
) -> StressReport:
    """The standard set on ``weights`` (fractions of NAV over ``symbols``) as of ``as_of``.

    Scenarios, in order: ``historical_scenarios`` of the whole price history (``closes``, days x
    instruments over ``dates``) with ``window_days`` windows; ``default_hypothetical`` with each
    instrument the weights hold shocked on its own; then ``own``. The covariance scenarios use
    the engine's one estimate (``scenario_risk``) from the closes up to ``as_of``, over
    ``lookback_days`` returns or as many as there are: an instrument without a full history
    over them carries no estimated risk, as in the engine's risk stage.
    """
    known = closes_through(closes, dates, as_of)
    risk = scenario_risk(known, min(lookback_days, len(known) - 1))
    if risk is None:
        raise StressError(f"too little price history before {as_of} to estimate risk")
    weights = np.asarray(weights, dtype=float)
    held = [symbols[i] for i in np.flatnonzero(weights)]
    scenarios = (
        *historical_scenarios(closes, dates, window_days, symbols=symbols),
        *default_hypothetical(sectors, instruments=held),
        *own,
    )
    results = run_stress(
        weights,
        scenarios,
        symbols=symbols,
        sectors=sectors,
        covariance=risk,
        nav_usd=nav_usd,
    )
    return StressReport(
        results, float(np.abs(weights).sum()), float(weights.sum()), len(risk.scenarios)
    )
