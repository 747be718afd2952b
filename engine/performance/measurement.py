"""A run's performance per portfolio against its benchmark: what ``metrics.json`` holds.

Reads plain inputs (each portfolio's end-of-day NAVs, its opening cash, its costs and turnover,
and the market's price history) so that a replay, a report or the dashboard can each call it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import numpy as np
import pandas as pd

from engine.config import AppConfig, BenchmarkConfig, PortfolioConfig
from engine.market.data import PriceHistory, load_sp500_index
from engine.performance.analytics import PerformanceMetrics, performance_metrics
from engine.performance.attribution import EFFECTS, brinson_fachler
from engine.performance.decisions import decision_attribution
from engine.performance.factors import ExposureCache, factor_attribution
from engine.performance.returns import (
    ROLLING_WINDOWS_DAYS,
    TRADING_DAYS_PER_YEAR,
    basket_weights,
    calendar_returns,
    daily_risk_free,
    index_returns,
    price_returns,
    read_weight_file,
    rolling_statistics,
    time_weighted_returns,
    weighted_returns,
)
from engine.performance.sectors import (
    align,
    basket_sectors,
    holding_weights,
    holdings_at_close,
    portfolio_sectors,
)
from engine.performance.sleeves import SleeveTargets, sleeve_attribution
from engine.performance.sources import source_attribution
from engine.performance.targets import RecordedTarget
from engine.performance.unconstrained import unconstrained_targets
from engine.rebalancing.tax import LONG_TERM, SHORT_TERM, TaxRules, year_tax

FILL_FIELDS = ("date", "symbol", "signed_shares")


@dataclass(frozen=True, slots=True)
class Benchmark:
    label: str
    returns: pd.Series
    weights: Mapping[str, float] | None  # a basket's names; None for an index


@dataclass(frozen=True, slots=True)
class PortfolioRun:
    """What a run left of one portfolio, for its metrics."""

    portfolio: PortfolioConfig
    nav_usd: pd.Series  # end of day, by date
    opening_nav_usd: float
    cost_usd: float  # spread, impact and commission of its completed orders
    annual_turnover: float | None
    # Its fills: date, symbol, signed_shares (buys positive).
    fills: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=FILL_FIELDS))
    # A multi-strategy portfolio's rebalances: what each sleeve wanted of each name.
    sleeve_targets: tuple[SleeveTargets, ...] = ()
    # Its rebalances: the allocator's weights, the target and its lineage.
    targets: tuple[RecordedTarget, ...] = ()
    # Each lot its fills closed: trade date, term ("short"/"long"), gain (USD).
    realised_gains: tuple[tuple[date, str, Decimal], ...] = ()
    # Deposits (positive) and withdrawals by the date of the NAV they are in (USD).
    flows_usd: pd.Series | None = None


def price_frame(history: PriceHistory) -> pd.DataFrame:
    """Closes by date and symbol."""
    return pd.DataFrame(
        history.close, index=pd.DatetimeIndex(history.dates), columns=list(history.symbols)
    )


def benchmark_returns(
    benchmark: BenchmarkConfig,
    universe: Sequence[str],
    close: pd.DataFrame,
    dates: pd.DatetimeIndex,
) -> Benchmark:
    """The benchmark's daily returns on ``dates`` (conventions in engine/performance/returns.py)."""
    if benchmark.kind == "sp500":
        return Benchmark("S&P 500 index (price)", index_returns(load_sp500_index(), dates), None)
    if benchmark.kind == "equal_weight":
        return _equal_weight(universe, close, dates)
    else:
        assert benchmark.weights_file is not None  # the config requires it with "weights"
        weights = read_weight_file(benchmark.weights_file, list(close.columns))
        label = f"weights of {benchmark.weights_file.name} ({len(weights)} names)"
    return Benchmark(label, weighted_returns(close, weights, dates), weights)


def _equal_weight(
    universe: Sequence[str], close: pd.DataFrame, dates: pd.DatetimeIndex
) -> Benchmark:
    weights = {symbol: 1.0 / len(universe) for symbol in universe}
    label = f"universe equally weighted ({len(universe)} names)"
    return Benchmark(label, weighted_returns(close, weights, dates), weights)


def sector_attribution(
    run: PortfolioRun,
    holdings: tuple[np.ndarray, np.ndarray],
    returns: pd.Series,
    benchmark: Benchmark,
    universe: Sequence[str],
    close: pd.DataFrame,
    sector_of: Mapping[str, str],
) -> dict[str, object]:
    """Brinson-Fachler by sector over the run, Carino-linked, against the benchmark's names (an
    index has none here: then the universe equally weighted), with what trading, costs and
    cash income added to the holdings' return as a line of its own. ``holdings`` is the book's
    start-of-day weights and day returns per name (``sectors.holding_weights``)."""
    dates = pd.DatetimeIndex(run.nav_usd.index)
    basket = benchmark if benchmark.weights is not None else _equal_weight(universe, close, dates)
    assert basket.weights is not None
    held = portfolio_sectors(*holdings, dates, list(close.columns), sector_of)
    names = list(basket.weights)
    weights, name_returns = basket_weights(price_returns(close[names], dates), basket.weights)
    held, bench = align(held, basket_sectors(weights, name_returns, sector_of))
    result = brinson_fachler(held.weights, held.returns, bench.weights, bench.returns.fillna(0.0))
    actual = float(np.prod(1.0 + returns.fillna(0.0).to_numpy()) - 1.0)
    linked = result.linked
    return {
        "against": basket.label,
        "sectors": {
            str(sector): {
                **{effect: float(linked.at[sector, effect]) for effect in EFFECTS},
                "total": float(linked.loc[sector].sum()),
            }
            for sector in linked.index
        },
        "effects": {effect: float(linked[effect].sum()) for effect in EFFECTS},
        "holdings_return": result.portfolio_return,
        "benchmark_return": result.benchmark_return,
        "trading_costs_and_income": actual - result.portfolio_return,
        "portfolio_return": actual,
        "active_return": actual - result.benchmark_return,
    }


@dataclass(frozen=True, slots=True)
class PortfolioAnalysis:
    """Everything measured of one portfolio's run: the series behind the charts and the
    figures of ``metrics.json``."""

    run: PortfolioRun
    returns: pd.Series  # time-weighted, daily
    benchmark: Benchmark
    metrics: PerformanceMetrics
    rolling: dict[int, pd.DataFrame]  # window (days) -> volatility, sharpe, beta per day
    attribution: dict[str, object]
    factor_attribution: dict[str, object] | None  # None: too little price history before
    sleeve_attribution: dict[str, object] | None  # None: a portfolio without sleeves
    source_attribution: dict[str, object]
    decision_attribution: dict[str, object]
    cost_drag_annual: float | None
    realised_tax: dict[str, dict[str, str]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        """The portfolio's entry in ``metrics.json``."""
        return {
            "name": self.run.portfolio.name,
            "benchmark": self.benchmark.label,
            "metrics": self.metrics.to_dict(),
            "cost_drag_annual": self.cost_drag_annual,
            "annual_turnover": self.run.annual_turnover,
            # As of the last day, over the last quarter and year of trading days.
            "rolling_at_end": {f"{w}d": _last_row(frame) for w, frame in self.rolling.items()},
            "sector_attribution": self.attribution,
            "factor_attribution": self.factor_attribution,
            "sleeve_attribution": self.sleeve_attribution,
            "source_attribution": self.source_attribution,
            "decision_attribution": self.decision_attribution,
            "realised_gains_and_tax": self.realised_tax,
            "yearly_returns": _rounded(calendar_returns(self.returns, "year")),
            "benchmark_yearly_returns": _rounded(calendar_returns(self.benchmark.returns, "year")),
            "monthly_returns": _rounded(calendar_returns(self.returns, "month")),
        }


def analyse(
    config: AppConfig,
    run: PortfolioRun,
    history: PriceHistory,
    close: pd.DataFrame,
    exposures: ExposureCache | None = None,
) -> PortfolioAnalysis | None:
    """One portfolio's analysis; None with fewer than two days (no return to measure).
    ``exposures`` carries the statistical factors from one portfolio to the next."""
    nav = run.nav_usd
    if len(nav) < 2:
        return None
    dates = pd.DatetimeIndex(nav.index)
    universe = list(history.symbols) if run.portfolio.universe == "all" else run.portfolio.universe
    sector_of = {i.symbol: i.sector for i in history.instruments}
    risk_free = daily_risk_free(config.performance.risk_free_rate_annual)
    benchmark = benchmark_returns(config.benchmark_of(run.portfolio), universe, close, dates)
    returns = time_weighted_returns(nav, run.opening_nav_usd, run.flows_usd)
    # The book's weights and returns per name: every attribution below splits the same ones.
    carried, shares = holdings_at_close(run.fills, dates, list(close.columns))
    holdings = holding_weights(carried, shares, close, nav, run.opening_nav_usd)
    years = len(returns) / TRADING_DAYS_PER_YEAR
    average_nav = float(np.mean(nav.to_numpy(dtype=float)))
    return PortfolioAnalysis(
        run,
        returns,
        benchmark,
        performance_metrics(returns, benchmark.returns, risk_free),
        {
            window: rolling_statistics(returns, benchmark.returns, window, risk_free)
            for window in ROLLING_WINDOWS_DAYS
        },
        sector_attribution(run, holdings, returns, benchmark, universe, close, sector_of),
        statistical_factor_attribution(run, holdings, close, exposures),
        sleeve_return_attribution(run, holdings, close),
        source_attribution(
            *holdings,
            np.concatenate(([run.opening_nav_usd], nav.to_numpy(dtype=float)[:-1])),
            returns.to_numpy(dtype=float),
            list(close.columns),
            list(dates.date),
            run.targets,
        ),
        decision_attribution(
            *holdings,
            returns.to_numpy(dtype=float),
            list(close.columns),
            list(dates.date),
            run.targets,
            unconstrained_targets(
                config,
                run.portfolio,
                run.targets,
                close,
                [sector_of.get(symbol, "") for symbol in close.columns],
            ),
        ),
        # Trading costs a year as a fraction of the average NAV: what trading took off return.
        run.cost_usd / average_nav / years if average_nav > 0 else None,
        realised_tax(run),
    )


def realised_tax(run: PortfolioRun) -> dict[str, dict[str, str]]:
    """By calendar year: the realised short- and long-term gains of the lots the fills closed,
    and the tax estimate at the portfolio's rates (engine/rebalancing/tax.py)."""
    tax = run.portfolio.tax
    rules = TaxRules(tax.lot_method, tax.short_term_rate, tax.long_term_rate)
    by_year: dict[int, dict[str, Decimal]] = {}
    for day, term, gain in run.realised_gains:
        year = by_year.setdefault(day.year, {SHORT_TERM: Decimal(0), LONG_TERM: Decimal(0)})
        year[term] += gain
    return {
        str(year): year_tax(gains[SHORT_TERM], gains[LONG_TERM], rules).to_dict()
        for year, gains in sorted(by_year.items())
    }


def statistical_factor_attribution(
    run: PortfolioRun,
    holdings: tuple[np.ndarray, np.ndarray],
    close: pd.DataFrame,
    cache: ExposureCache | None = None,
) -> dict[str, object] | None:
    """The holdings' return by PCA factor and specific (engine/performance/factors.py), with
    the factors of the portfolio's own allocation settings (``pca_factors`` over its
    ``lookback_days``); None when the prices do not reach that far back before the first day."""
    dates = pd.DatetimeIndex(run.nav_usd.index)
    window = run.portfolio.allocation.lookback_days
    factors = run.portfolio.allocation.pca_factors
    first_day = int(close.index.get_indexer(dates[:1])[0])
    if first_day < window + 1:
        return None
    weights, day_returns = holdings
    prices = close.to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        history = np.vstack([np.full((1, prices.shape[1]), np.nan), prices[1:] / prices[:-1] - 1])
    result = factor_attribution(weights, day_returns, history, first_day, window, factors, cache)
    return {"window_days": window, **result.to_dict()}


def sleeve_return_attribution(
    run: PortfolioRun, holdings: tuple[np.ndarray, np.ndarray], close: pd.DataFrame
) -> dict[str, object] | None:
    """A multi-strategy portfolio's holdings' return by sleeve (engine/performance/sleeves.py);
    None for a portfolio without sleeves."""
    if not run.portfolio.sleeves:
        return None
    days = list(pd.DatetimeIndex(run.nav_usd.index).date)
    return sleeve_attribution(*holdings, list(close.columns), days, run.sleeve_targets)


def run_metrics(
    config: AppConfig, runs: Mapping[str, PortfolioRun], history: PriceHistory
) -> dict[str, object]:
    """``metrics.json``: every metric per portfolio, its benchmark, yearly and monthly returns."""
    close = price_frame(history)
    exposures: ExposureCache = {}
    portfolios: dict[str, object] = {}
    for pid, run in runs.items():
        analysis = analyse(config, run, history, close, exposures)
        portfolios[pid] = (
            analysis.to_dict()
            if analysis is not None
            else {"name": run.portfolio.name, "metrics": None, "days": len(run.nav_usd)}
        )
    return metrics_document(config, portfolios)


def metrics_document(config: AppConfig, portfolios: dict[str, object]) -> dict[str, object]:
    return {
        "conventions": "docs/performance.md",
        "trading_days_per_year": TRADING_DAYS_PER_YEAR,
        "risk_free_rate_annual": config.performance.risk_free_rate_annual,
        "portfolios": portfolios,
    }


def _rounded(series: pd.Series) -> dict[str, float]:
    return {str(k): round(float(v), 10) for k, v in series.items()}


def _last_row(frame: pd.DataFrame) -> dict[str, float | None]:
    """The last row's figures; None where the window is not yet full."""
    last = frame.iloc[-1]
    return {str(k): None if pd.isna(v) else round(float(v), 10) for k, v in last.items()}
