"""Performance metrics and return views against empyrical (a peer library, test-only), direct
numpy computations and worked examples."""

import math
from datetime import date
from pathlib import Path

import empyrical as ep
import numpy as np
import pandas as pd
import pytest

from engine.config import ConfigError, parse_config
from engine.market.data import PriceHistory
from engine.model import Instrument
from engine.performance.analytics import max_drawdown, performance_metrics
from engine.performance.measurement import PortfolioRun, run_metrics
from engine.performance.returns import (
    calendar_returns,
    cumulative_returns,
    daily_risk_free,
    index_returns,
    read_weight_file,
    rolling_statistics,
    time_weighted_returns,
    weighted_returns,
)

TOL = 1e-9


def _series(seed: int, days: int = 700) -> tuple[pd.Series, pd.Series]:
    rng = np.random.default_rng(seed)
    index = pd.bdate_range("2015-01-01", periods=days)
    benchmark = pd.Series(rng.normal(0.0004, 0.012, days), index)
    portfolio = pd.Series(0.8 * benchmark.to_numpy() + rng.normal(0.0001, 0.007, days), index)
    return portfolio, benchmark


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("risk_free_annual", [0.0, 0.03])
def test_every_metric_equals_empyrical_on_the_same_series(
    seed: int, risk_free_annual: float
) -> None:
    r, b = _series(seed)
    rf = daily_risk_free(risk_free_annual)
    m = performance_metrics(r, b, rf)
    reference = {
        "annualised_return": ep.annual_return(r),
        "annualised_volatility": ep.annual_volatility(r),
        "sharpe": ep.sharpe_ratio(r, rf),
        "sortino": ep.sortino_ratio(r, rf),
        "calmar": ep.calmar_ratio(r),
        "beta": ep.beta(r, b, rf),
        "alpha_annualised": ep.alpha(r, b, rf),
        "information_ratio": ep.excess_sharpe(r, b) * math.sqrt(252),
        "up_capture": ep.up_capture(r, b),
        "down_capture": ep.down_capture(r, b),
        "var_95_daily": ep.value_at_risk(r),
        "cvar_95_daily": ep.conditional_value_at_risk(r),
        "active_hit_rate": ep.batting_average(r, b)["batting average"],
        "total_return": ep.cum_returns_final(r),
        "benchmark_annualised_return": ep.annual_return(b),
    }
    for name, expected in reference.items():
        assert getattr(m, name) == pytest.approx(expected, rel=TOL, abs=TOL), name
    assert m.max_drawdown.depth == pytest.approx(ep.max_drawdown(r), rel=TOL, abs=TOL)


def test_metrics_equal_a_direct_numpy_computation() -> None:
    r, b = _series(7)
    rf = daily_risk_free(0.02)
    m = performance_metrics(r, b, rf)
    x, y = r.to_numpy(), b.to_numpy()
    active = x - y
    assert m.tracking_error == pytest.approx(active.std(ddof=1) * math.sqrt(252), rel=TOL)
    assert m.hit_rate == pytest.approx((x > 0).sum() / len(x), rel=TOL)
    assert m.annualised_volatility == pytest.approx(x.std(ddof=1) * math.sqrt(252), rel=TOL)
    beta = np.cov(x - rf, y - rf)[0, 1] / np.var(y - rf, ddof=1)
    assert m.beta == pytest.approx(beta, rel=TOL)
    assert m.active_annualised_return == pytest.approx(
        np.prod(1 + x) ** (252 / len(x)) - np.prod(1 + y) ** (252 / len(y)), rel=TOL
    )
    assert (m.days, m.first_day, m.last_day) == (700, r.index[0].date(), r.index[-1].date())


def test_days_missing_from_the_benchmark_are_left_out_of_the_relative_figures() -> None:
    r, b = _series(4)
    gappy = b.drop(b.index[100:150])
    m = performance_metrics(r, gappy)
    kept = r.drop(r.index[100:150])
    assert m.beta == pytest.approx(ep.beta(kept, gappy), rel=TOL)
    # The portfolio's own figures still use every day.
    assert m.annualised_return == pytest.approx(ep.annual_return(r), rel=TOL)


def test_maximum_drawdown_dates_on_a_worked_path() -> None:
    # Wealth 1 -> 1.2 -> 0.9 -> 1.3 -> 0.65 -> 0.7 -> 1.4: the peak 1.3 on day 3, the trough
    # 0.65 on day 4 (-50%), back above 1.3 on day 6.
    wealth = np.array([1.0, 1.2, 0.9, 1.3, 0.65, 0.7, 1.4])
    days = pd.bdate_range("2024-01-01", periods=6)
    drawdown = max_drawdown(pd.Series(wealth[1:] / wealth[:-1] - 1, days))
    assert drawdown.depth == pytest.approx(-0.5)
    assert (drawdown.peak, drawdown.trough, drawdown.recovery) == (
        days[2].date(),
        days[3].date(),
        days[5].date(),
    )
    assert drawdown.days_to_recover == 2
    under_water = max_drawdown(pd.Series(wealth[1:6] / wealth[:5] - 1, days[:5]))
    assert under_water.recovery is None and under_water.days_to_recover is None
    rising = max_drawdown(pd.Series([0.01, 0.02], days[:2]))
    assert rising.depth == 0.0 and rising.peak is None


def test_time_weighted_return_of_the_textbook_deposit_example() -> None:
    # 1,000 grows to 1,100; 500 is deposited (1,600), which grows to 1,800. The time-weighted
    # return is 1.1 x 1.125 - 1 = 23.75%, whatever the deposit's size.
    days = pd.bdate_range("2024-01-01", periods=2)
    nav = pd.Series([1600.0, 1800.0], days)
    returns = time_weighted_returns(nav, 1000.0, pd.Series([500.0], days[:1]))
    assert returns.tolist() == pytest.approx([0.1, 0.125])
    assert cumulative_returns(returns).iloc[-1] == pytest.approx(0.2375)
    without = time_weighted_returns(nav, 1000.0)
    assert without.iloc[0] == pytest.approx(0.6)


def test_time_weighted_returns_reject_bad_input() -> None:
    days = pd.bdate_range("2024-01-01", periods=3)
    nav = pd.Series([1.0, 2.0, 3.0], days)
    with pytest.raises(ValueError, match="opening_nav_usd"):
        time_weighted_returns(nav, 0.0)
    with pytest.raises(ValueError, match="increasing"):
        time_weighted_returns(nav[::-1], 1.0)
    with pytest.raises(ValueError, match="flows_usd: 1 flow dates"):
        time_weighted_returns(nav, 1.0, pd.Series([5.0], [pd.Timestamp("2030-01-01")]))
    wiped = time_weighted_returns(pd.Series([0.0, 1.0, 2.0], days), 1.0)
    assert wiped.iloc[0] == -1.0 and math.isnan(wiped.iloc[1]) and wiped.iloc[2] == 1.0


@pytest.mark.parametrize(("period", "convert"), [("month", ep.MONTHLY), ("year", ep.YEARLY)])
def test_calendar_returns_compound_as_empyrical(period: str, convert: str) -> None:
    r, _ = _series(5)
    ours = calendar_returns(r, period).to_numpy()
    theirs = ep.aggregate_returns(r, convert).to_numpy()
    assert ours == pytest.approx(theirs, rel=TOL, abs=TOL)


def test_rolling_figures_equal_empyrical() -> None:
    r, b = _series(6, 400)
    rolling = rolling_statistics(r, b, 63)
    assert rolling.iloc[:62].isna().all().all()
    assert rolling["volatility"].iloc[62:].to_numpy() == pytest.approx(
        ep.roll_annual_volatility(r, 63).to_numpy(), rel=TOL
    )
    assert rolling["sharpe"].iloc[62:].to_numpy() == pytest.approx(
        ep.roll_sharpe_ratio(r, 63).to_numpy(), rel=TOL
    )
    assert rolling["beta"].iloc[62:].to_numpy() == pytest.approx(
        ep.roll_beta(r, b, 63).to_numpy(), rel=TOL
    )


def test_index_returns_run_between_the_given_dates() -> None:
    level = pd.Series(
        [100.0, 110.0, 99.0, 108.9],
        pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"]),
    )
    # The first date's return is against the level before it; a skipped date spans two days.
    dates = pd.DatetimeIndex(["2024-01-02", "2024-01-04"])
    assert index_returns(level, dates).tolist() == pytest.approx([0.1, 108.9 / 110 - 1])
    assert math.isnan(index_returns(level, pd.DatetimeIndex(["2024-01-01"])).iloc[0])


def test_weighted_basket_rebalances_daily_and_skips_unpriced_names() -> None:
    days = pd.bdate_range("2024-01-01", periods=3)
    close = pd.DataFrame({"A": [10.0, 11.0, 12.1], "B": [20.0, np.nan, 22.0]}, days)
    basket = weighted_returns(close, {"A": 0.75, "B": 0.25}, days[1:])
    # Day 2: B has no price, so A alone (its weight scaled to one); day 3: B has no previous
    # close, so A alone again.
    assert basket.tolist() == pytest.approx([0.1, 0.1])
    both = pd.DataFrame({"A": [10.0, 11.0], "B": [20.0, 19.0]}, days[:2])
    assert weighted_returns(both, {"A": 0.5, "B": 0.5}, days[1:2]).iloc[0] == pytest.approx(
        0.5 * 0.1 + 0.5 * -0.05
    )
    with pytest.raises(ValueError, match="no prices for C"):
        weighted_returns(close, {"C": 1.0}, days)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ticker,weight\nA,1\n", "needs the columns symbol and weight"),
        ("symbol,weight\nA,0.5\nZZZ,0.5\n", "line 3: ZZZ is not in the market data"),
        ("symbol,weight\nA,1.5\nB,-0.5\n", "line 3: weight -0.5 of B"),
        ("symbol,weight\nA,0.5\nB,0.4\n", "sum to 0.9, not 1"),
        ("symbol,weight\nA,0.5\nA,0.5\n", "line 3: A appears twice"),
    ],
)
def test_a_bad_weight_file_names_the_line_and_the_reason(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "weights.csv"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        read_weight_file(path, ["A", "B"])


def test_a_good_weight_file_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "weights.csv"
    path.write_text(" Symbol , Weight \nA,0.25\nB,0.75\n")
    assert read_weight_file(path, ["A", "B"]) == {"A": 0.25, "B": 0.75}
    with pytest.raises(ConfigError, match="cannot be read"):
        read_weight_file(tmp_path / "missing.csv", ["A"])


_SIMULATED = """
[market]
source = "simulated"
{performance}
[[portfolios]]
id = "p"
name = "P"
sources = ["momentum"]
{portfolio}
"""


def test_benchmark_configuration_is_checked_and_resolved() -> None:
    config = parse_config(_SIMULATED.format(performance="", portfolio=""))
    # Left at its default on a market without the index: the universe equally weighted.
    assert config.benchmark_of(config.portfolios[0]).kind == "equal_weight"
    with pytest.raises(ConfigError, match=r'performance.benchmark.kind "sp500" needs the bundled'):
        parse_config(
            _SIMULATED.format(performance='[performance.benchmark]\nkind = "sp500"', portfolio="")
        )
    with pytest.raises(ConfigError, match="weights_file is needed"):
        parse_config(
            _SIMULATED.format(performance="", portfolio='[portfolios.benchmark]\nkind = "weights"')
        )
    own = parse_config(
        _SIMULATED.format(
            performance="[performance]\nrisk_free_rate_annual = 0.01",
            portfolio='[portfolios.benchmark]\nkind = "weights"\nweights_file = "w.csv"',
        )
    )
    chosen = own.benchmark_of(own.portfolios[0])
    assert chosen.kind == "weights" and chosen.weights_file == Path("w.csv")
    assert own.performance.risk_free_rate_annual == 0.01


def test_the_daily_risk_free_rate_compounds_to_the_annual_one() -> None:
    assert (1 + daily_risk_free(0.05)) ** 252 == pytest.approx(1.05, rel=1e-12)


def test_metrics_as_json_have_iso_dates_and_no_nan() -> None:
    r, b = _series(8)
    flat = pd.Series(0.0, b.index)  # a benchmark that never moves: no beta, no capture
    plain = performance_metrics(r, flat).to_dict()
    assert plain["beta"] is None and plain["up_capture"] is None
    drawdown = plain["max_drawdown"]
    assert isinstance(drawdown, dict)
    assert date.fromisoformat(drawdown["peak"]) <= date.fromisoformat(drawdown["trough"])
    with pytest.raises(ValueError, match="at least two"):
        performance_metrics(r.iloc[:1], b)


def test_run_metrics_measure_each_portfolio_against_its_own_benchmark(tmp_path: Path) -> None:
    days = pd.bdate_range("2024-01-01", periods=4)
    close = np.array([[10.0, 20.0], [11.0, 19.0], [12.1, 19.0], [12.1, 20.9]])
    history = PriceHistory(
        tuple(d.date() for d in days),
        (Instrument("A", "Tech"), Instrument("B", "Energy")),
        close,
        np.ones_like(close),
    )
    weights = tmp_path / "w.csv"
    weights.write_text("symbol,weight\nA,1\nB,0\n")
    config = parse_config(
        _SIMULATED.format(performance="", portfolio="")
        + '[[portfolios]]\nid = "q"\nname = "Q"\nsources = ["momentum"]\n'
        + f'[portfolios.benchmark]\nkind = "weights"\nweights_file = "{weights}"\n'
    )
    nav = pd.Series([105.0, 110.0, 99.0], days[1:])
    runs = {
        p.id: PortfolioRun(p, nav, 100.0, cost_usd=0.5, annual_turnover=2.0)
        for p in config.portfolios
    }
    result = run_metrics(config, runs, history)
    equal, own = result["portfolios"]["p"], result["portfolios"]["q"]
    assert equal["benchmark"] == "universe equally weighted (2 names)"
    assert own["benchmark"] == "weights of w.csv (2 names)"
    # Equal weights: (10% - 5%) / 2, (10% + 0%) / 2, (0% + 10%) / 2, compounded.
    assert equal["benchmark_yearly_returns"]["2024"] == pytest.approx(1.025 * 1.05 * 1.05 - 1)
    assert own["benchmark_yearly_returns"]["2024"] == pytest.approx(1.1 * 1.1 * 1.0 - 1)
    assert equal["metrics"]["total_return"] == pytest.approx(-0.01)
    # Three days fill neither rolling window.
    assert equal["rolling_at_end"]["63d"] == {"volatility": None, "sharpe": None, "beta": None}
    # Costs a year over the average NAV: 0.5 / 104.67 over 3/252 of a year.
    assert equal["cost_drag_annual"] == pytest.approx(0.5 / (314 / 3) / (3 / 252))
    assert result["risk_free_rate_annual"] == 0.0
    short = run_metrics(
        config, {"p": PortfolioRun(config.portfolios[0], nav[:1], 100.0, 0, None)}, history
    )
    assert short["portfolios"]["p"]["metrics"] is None
