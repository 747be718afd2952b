"""Stress scenarios: P&L of return scenarios by hand, VaR under stressed covariances against
closed forms, the sector proxy for missing prices, and the worst windows against brute force."""

from datetime import date, timedelta
from itertools import pairwise

import numpy as np
import pytest

from engine.allocation.risk_models import scenario_risk
from engine.market.data import load_bundled
from engine.risk.scenarios import (
    DEFAULT_NAMED,
    CorrelationShock,
    HistoricalScenario,
    InstrumentShock,
    MarketShock,
    SectorShock,
    StressError,
    VolatilityShock,
    default_hypothetical,
    historical_scenarios,
)
from engine.risk.stress import closes_through, run_stress, standard_stress, stress_pnl
from engine.risk.stress_report import last_prices, weights_from_holdings, weights_from_targets

Z_99 = 2.3263478740408408  # standard normal 99% quantile, from tables
SYMBOLS = ("AAA", "BBB", "CCC", "DDD")
SECTORS = ("Tech", "Tech", "Financials", "Energy")
WEIGHTS = np.array([0.4, 0.2, 0.3, -0.1])  # DDD is a 10% short


def _days(count: int, first: date = date(2021, 1, 4)) -> list[date]:
    return [first + timedelta(days=i) for i in range(count)]


def test_historical_window_pnl_matches_a_hand_computation() -> None:
    prices = np.array(
        [
            [100.0, 50.0, 20.0, 10.0],
            [90.0, 48.0, 18.0, 11.0],
            [80.0, 45.0, 15.0, 12.0],
        ]
    )
    dates = _days(3)
    (scenario,) = historical_scenarios(
        prices, dates, window_days=2, worst=0, named={"slide": (dates[0], dates[2])}
    )
    assert (scenario.start, scenario.end) == (dates[0], dates[2])
    # Returns: AAA 80/100-1 = -20%, BBB 45/50-1 = -10%, CCC 15/20-1 = -25%, DDD 12/10-1 = +20%.
    # P&L = 0.4*-0.20 + 0.2*-0.10 + 0.3*-0.25 + -0.1*0.20 = -0.08 - 0.02 - 0.075 - 0.02 = -0.195
    (result,) = run_stress(
        WEIGHTS, [scenario], symbols=SYMBOLS, sectors=SECTORS, nav_usd=1_000_000.0
    )
    assert result.pnl_fraction == pytest.approx(-0.195)
    assert result.pnl_usd == pytest.approx(-195_000.0)
    assert result.pnl_by_sector == pytest.approx(
        {"Tech": -0.10, "Financials": -0.075, "Energy": -0.02}
    )
    assert [s for s, _ in result.top_contributors] == ["AAA", "CCC", "BBB", "DDD"]
    assert [p for _, p in result.top_contributors] == pytest.approx([-0.08, -0.075, -0.02, -0.02])
    assert result.uncovered_weight == 0.0


def test_hypothetical_return_shocks_by_hand() -> None:
    results = run_stress(
        WEIGHTS,
        [SectorShock("Tech", -0.2), InstrumentShock("CCC", -0.5), MarketShock(-0.1)],
        symbols=SYMBOLS,
        sectors=SECTORS,
    )
    sector, instrument, market = (r.pnl_fraction for r in results)
    assert sector == pytest.approx((0.4 + 0.2) * -0.2)  # -0.12
    assert instrument == pytest.approx(0.3 * -0.5)  # -0.15
    assert market == pytest.approx((0.4 + 0.2 + 0.3 - 0.1) * -0.1)  # -0.08
    assert all(r.pnl_usd is None for r in results)


def test_sector_pnl_and_instrument_pnl_sum_to_the_total() -> None:
    history = load_bundled()
    sectors = tuple(i.sector for i in history.instruments)
    rng = np.random.default_rng(7)
    weights = rng.normal(0.0, 0.1, len(history.symbols))
    returns = np.diff(history.close[-300:], axis=0) / history.close[-300:-1]
    scenarios = (
        *historical_scenarios(history.close, history.dates, symbols=history.symbols),
        *default_hypothetical(sectors),
    )
    results = run_stress(
        weights,
        scenarios,
        symbols=history.symbols,
        sectors=sectors,
        covariance=np.cov(returns, rowvar=False),
    )
    assert len(results) == len(scenarios) == 2 + 3 + 1 + len(set(sectors)) + 2
    for result in results:
        assert sum(result.pnl_by_sector.values()) == pytest.approx(result.pnl_fraction, abs=1e-12)
        assert result.pnl_by_instrument.sum() == pytest.approx(result.pnl_fraction, abs=1e-12)


def test_shorts_gain_in_a_crash() -> None:
    history = load_bundled()
    sectors = tuple(i.sector for i in history.instruments)
    covid = next(
        s
        for s in historical_scenarios(history.close, history.dates, symbols=history.symbols)
        if s.name == "2020 COVID crash"
    )
    equal = np.full(len(history.symbols), 1.0 / len(history.symbols))
    long_result, short_result = (
        run_stress(w, [covid, MarketShock(-0.3)], symbols=history.symbols, sectors=sectors)
        for w in (equal, -equal)
    )
    assert long_result[0].pnl_fraction < -0.2  # the crash cost an equally weighted book > 20%
    assert short_result[0].pnl_fraction == pytest.approx(-long_result[0].pnl_fraction)
    assert short_result[1].pnl_fraction == pytest.approx(0.3)
    assert short_result[0].top_contributors == ()  # no short lost money


def test_covid_window_returns_are_the_closes_at_its_ends() -> None:
    history = load_bundled()
    scenarios = {
        s.name: s
        for s in historical_scenarios(history.close, history.dates, symbols=history.symbols)
    }
    covid = scenarios["2020 COVID crash"]
    crisis = scenarios["2008 financial crisis"]
    assert (covid.start, covid.end) == (date(2020, 2, 19), date(2020, 3, 23))
    assert (crisis.start, crisis.end) == (date(2008, 9, 12), date(2009, 3, 9))
    first, last = history.dates.index(covid.start), history.dates.index(covid.end)
    aapl = history.symbols.index("AAPL")
    expected = history.close[last, aapl] / history.close[first, aapl] - 1
    assert covid.returns[aapl] == pytest.approx(expected)


def test_named_windows_outside_the_data_are_left_out() -> None:
    dates = _days(30, date(2020, 2, 10))  # 2020-02-10 .. 2020-03-10: COVID crash ends later
    prices = np.linspace(100, 70, 30)[:, None] * np.ones((1, 2))
    named = {"inside": (date(2020, 2, 12), date(2020, 3, 1)), **DEFAULT_NAMED}
    scenarios = historical_scenarios(prices, dates, window_days=5, worst=0, named=named)
    assert [s.name for s in scenarios] == ["inside"]


def test_missing_prices_take_their_sector_mean_and_are_reported() -> None:
    symbols = ("T1", "T2", "T3", "F1", "E1")
    sectors = ("Tech", "Tech", "Tech", "Financials", "Energy")
    nan = np.nan
    prices = np.array(
        [
            [100.0, nan, 10.0, 50.0, nan],  # T2 and E1 not priced at the start
            [80.0, 30.0, 9.0, 40.0, 20.0],
        ]
    )
    dates = _days(2)
    (scenario,) = historical_scenarios(
        prices, dates, window_days=1, worst=0, named={"w": (dates[0], dates[1])}
    )
    assert np.isnan(scenario.returns[1]) and np.isnan(scenario.returns[4])
    weights = np.array([0.2, 0.3, 0.1, 0.2, -0.1])
    (result,) = run_stress(weights, [scenario], symbols=symbols, sectors=sectors)
    # T1 -20%, T3 -10%: T2 gets the Tech mean -15%. Energy has no priced instrument: E1 gets the
    # mean of all priced ones, (-0.20 - 0.10 - 0.20) / 3 = -1/6.
    # P&L = 0.2*-0.2 + 0.3*-0.15 + 0.1*-0.1 + 0.2*-0.2 + -0.1*(-1/6)
    expected = -0.04 - 0.045 - 0.01 - 0.04 + 0.1 / 6
    assert result.pnl_fraction == pytest.approx(expected)
    assert result.uncovered_weight == pytest.approx(0.3 + 0.1)
    assert result.uncovered_symbols == ("T2", "E1")


def test_historical_scenario_aligns_by_symbol() -> None:
    scenario = HistoricalScenario(
        "x", date(2020, 1, 1), date(2020, 2, 1), np.array([-0.1, 0.2]), ("AAA", "BBB")
    )
    (result,) = run_stress(
        np.array([1.0, 0.5]), [scenario], symbols=("BBB", "AAA"), sectors=("S", "S")
    )
    assert result.pnl_fraction == pytest.approx(1.0 * 0.2 + 0.5 * -0.1)


COVARIANCE = np.array(
    [
        [0.01**2, 0.3 * 0.01 * 0.02, -0.2 * 0.01 * 0.03],
        [0.3 * 0.01 * 0.02, 0.02**2, 0.5 * 0.02 * 0.03],
        [-0.2 * 0.01 * 0.03, 0.5 * 0.02 * 0.03, 0.03**2],
    ]
)
THREE = ("X", "Y", "Z")


def test_volatility_shock_k2_doubles_parametric_var_exactly() -> None:
    weights = np.array([0.5, -0.2, 0.4])
    (result,) = run_stress(
        weights,
        [VolatilityShock(2.0)],
        symbols=THREE,
        sectors=("A", "A", "B"),
        covariance=COVARIANCE,
    )
    sigma = np.sqrt(weights @ COVARIANCE @ weights)
    assert result.var_base == pytest.approx(Z_99 * sigma, rel=1e-12)
    assert result.var_stressed == pytest.approx(2 * result.var_base, rel=1e-14)
    assert result.pnl_fraction == pytest.approx(-result.var_stressed)
    assert result.pnl_by_instrument.sum() == pytest.approx(result.pnl_fraction, rel=1e-12)


def test_full_correlation_shock_gives_the_var_of_perfectly_correlated_assets() -> None:
    weights = np.array([0.3, 0.5, 0.2])
    (full, none) = run_stress(
        weights,
        [CorrelationShock(1.0), CorrelationShock(0.0)],
        symbols=THREE,
        sectors=("A", "B", "C"),
        covariance=COVARIANCE,
    )
    # Perfectly correlated: sigma = 0.3*0.01 + 0.5*0.02 + 0.2*0.03 = 0.019
    assert full.var_stressed == pytest.approx(Z_99 * 0.019, rel=1e-12)
    assert none.var_stressed == pytest.approx(none.var_base, rel=1e-12)
    assert full.var_stressed > full.var_base


def test_worst_windows_are_non_overlapping_and_really_the_worst() -> None:
    rng = np.random.default_rng(11)
    days, instruments, window = 400, 6, 10
    prices = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, (days, instruments)), axis=0))
    prices[:50, 2] = np.nan  # a late listing
    prices[300:, 4] = np.nan  # a delisting
    dates = _days(days)
    scenarios = historical_scenarios(prices, dates, window_days=window, worst=4, named={})
    assert [s.name for s in scenarios] == [f"Worst {window}-day window #{k}" for k in range(1, 5)]

    # Brute force: the equally weighted return of every window, in plain loops.
    universe = []
    for t in range(days - window):
        priced = [
            prices[t + window, i] / prices[t, i] - 1
            for i in range(instruments)
            if np.isfinite(prices[t, i]) and np.isfinite(prices[t + window, i])
        ]
        universe.append(sum(priced) / len(priced))
    picked: list[int] = []
    for _ in range(4):
        free = [t for t in range(len(universe)) if all(abs(t - p) >= window for p in picked)]
        picked.append(min(free, key=lambda t: universe[t]))

    assert [(s.start, s.end) for s in scenarios] == [(dates[t], dates[t + window]) for t in picked]
    assert scenarios[0].start == dates[int(np.argmin(universe))]
    spans = sorted((s.start, s.end) for s in scenarios)
    assert all(earlier[1] <= later[0] for earlier, later in pairwise(spans))
    for scenario, t in zip(scenarios, picked, strict=True):
        assert np.nanmean(scenario.returns) == pytest.approx(universe[t])


def test_default_hypothetical_has_each_sector_instrument_market_vol_and_correlation() -> None:
    scenarios = default_hypothetical(["Tech", "Energy", "Tech"], instruments=["AAA", "BBB"])
    names = [s.name for s in scenarios]
    assert names == [
        "Market -10%",
        "Energy -20%",
        "Tech -20%",
        "AAA -30%",
        "BBB -30%",
        "Volatility x2",
        "Correlation lam=0.5",
    ]


def test_a_written_shock_names_an_instrument_a_sector_or_the_market() -> None:
    from engine.risk.scenarios import parse_shock

    assert parse_shock("aaa=-30%", SYMBOLS, SECTORS) == InstrumentShock("AAA", -0.3)
    assert parse_shock("Energy = -0.25", SYMBOLS, SECTORS) == SectorShock("Energy", -0.25)
    assert parse_shock("market=-5%", SYMBOLS, SECTORS) == MarketShock(-0.05)
    (result,) = run_stress(
        WEIGHTS,
        [parse_shock("DDD=-50%", SYMBOLS, SECTORS)],
        symbols=SYMBOLS,
        sectors=SECTORS,
    )
    assert result.pnl_fraction == pytest.approx(-0.1 * -0.5)  # the short gains 5% of NAV
    for bad, reason in (
        ("AAA", "write NAME=RETURN"),
        ("AAA=x", "is not a return"),
        ("AAA=-200%", "is not a price move"),
        ("Utilities=-0.2", "is not an instrument, a sector"),
    ):
        with pytest.raises(StressError, match=reason):
            parse_shock(bad, SYMBOLS, SECTORS)


def test_weights_from_holdings_value_shorts_negative() -> None:
    weights, nav_usd = weights_from_holdings(
        np.array([100, -50, 0]), np.array([10.0, 20.0, np.nan]), 1_000.0
    )
    # NAV = 1000 + 100*10 - 50*20 = 1000
    assert nav_usd == pytest.approx(1_000.0)
    assert weights == pytest.approx([1.0, -1.0, 0.0])


def test_bad_inputs_are_refused_with_the_reason() -> None:
    with pytest.raises(StressError, match="one per instrument"):
        run_stress(np.ones(2), [MarketShock(-0.1)], symbols=THREE, sectors=("A", "A", "B"))
    with pytest.raises(StressError, match="needs a covariance"):
        run_stress(np.ones(3), [VolatilityShock(2.0)], symbols=THREE, sectors=("A", "A", "B"))
    with pytest.raises(StressError, match="lam"):
        CorrelationShock(1.5)


def test_stress_pnl_of_many_portfolios_equals_each_run_alone() -> None:
    nan = np.nan
    prices = np.array([[100.0, 50.0, nan, 20.0], [90.0, 55.0, 12.0, 15.0]])
    dates = _days(2)
    (window,) = historical_scenarios(
        prices, dates, window_days=1, worst=0, named={"w": (dates[0], dates[1])}
    )
    scenarios = (window, *default_hypothetical(SECTORS))
    rng = np.random.default_rng(5)
    returns = rng.normal(0, 0.01, size=(80, 4))
    covariance = np.cov(returns, rowvar=False)
    books = np.vstack([WEIGHTS, rng.normal(0, 0.3, size=4), np.zeros(4)])
    many = stress_pnl(books, scenarios, symbols=SYMBOLS, sectors=SECTORS, covariance=covariance)
    assert many.shape == (len(scenarios), 3)
    for p, weights in enumerate(books):
        alone = run_stress(
            weights, scenarios, symbols=SYMBOLS, sectors=SECTORS, covariance=covariance
        )
        assert many[:, p] == pytest.approx([r.pnl_fraction for r in alone], abs=1e-15)


def _stressed_var(weights: np.ndarray, stressed: np.ndarray) -> float:
    return Z_99 * float(np.sqrt(weights @ stressed @ weights))


def test_covariance_shocks_from_the_scenarios_equal_the_stressed_matrix_written_out() -> None:
    # The engine passes the close's ScenarioRisk and never forms an N x N matrix; the answer must
    # be the VaR under the stressed covariance written out element by element, with the
    # instruments lacking a full history (here CCC) carrying no risk.
    rng = np.random.default_rng(7)
    prices = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, (40, 4)), axis=0))
    prices[20, 2] = np.nan  # a gap inside the 30-day look-back
    risk = scenario_risk(prices, 30)
    assert risk is not None and list(risk.columns) == [0, 1, 3]
    full = np.zeros((4, 4))
    full[np.ix_(risk.columns, risk.columns)] = np.cov(risk.scenarios, rowvar=False)
    sigma = np.sqrt(np.diag(full))
    lam = 0.4
    written_out = np.array(
        [
            [
                full[i, j] if i == j else (1 - lam) * full[i, j] + lam * sigma[i] * sigma[j]
                for j in range(4)
            ]
            for i in range(4)
        ]
    )
    books = np.vstack([WEIGHTS, rng.normal(0, 0.3, size=4)])
    shocks = [VolatilityShock(3.0), CorrelationShock(lam)]
    many = stress_pnl(books, shocks, symbols=SYMBOLS, sectors=SECTORS, covariance=risk)
    for p, weights in enumerate(books):
        expected = [-_stressed_var(weights, 9.0 * full), -_stressed_var(weights, written_out)]
        assert many[:, p] == pytest.approx(expected, rel=1e-12)
        (vol, corr) = run_stress(weights, shocks, symbols=SYMBOLS, sectors=SECTORS, covariance=risk)
        assert corr.var_base == pytest.approx(_stressed_var(weights, full), rel=1e-12)
        assert corr.var_stressed == pytest.approx(-expected[1], rel=1e-12)
        euler = -Z_99 * weights * (written_out @ weights) / np.sqrt(weights @ written_out @ weights)
        np.testing.assert_allclose(corr.pnl_by_instrument, euler, rtol=1e-10, atol=1e-15)
        assert corr.pnl_by_instrument[2] == 0.0  # CCC: no estimated risk
        assert vol.pnl_by_instrument.sum() == pytest.approx(vol.pnl_fraction, rel=1e-12)


def test_last_prices_keep_the_previous_close_over_a_gap_and_nan_for_never_priced() -> None:
    closes = np.array(
        [
            [10.0, np.nan, 5.0, np.nan],
            [11.0, 20.0, np.nan, np.nan],
            [np.nan, 21.0, np.nan, np.nan],
        ]
    )
    prices = last_prices(closes)
    np.testing.assert_array_equal(prices[:3], [11.0, 21.0, 5.0])
    assert np.isnan(prices[3])


def test_target_weights_line_up_with_the_symbols_and_unknown_ones_are_named() -> None:
    weights = weights_from_targets({"CCC": 0.3, "AAA": 0.5}, SYMBOLS)
    np.testing.assert_array_equal(weights, [0.5, 0.0, 0.3, 0.0])
    with pytest.raises(StressError, match=r"target instruments \['ZZZ'\] are not in the price"):
        weights_from_targets({"ZZZ": 0.1}, SYMBOLS)


# Seven trading days of four instruments; DDD has no close on the third, so no full history.
CLOSES = np.array(
    [
        [100.0, 50.0, 20.0, 10.0],
        [102.0, 49.0, 20.5, 10.5],
        [101.0, 51.0, 19.5, np.nan],
        [104.0, 50.5, 20.0, 10.2],
        [103.0, 52.0, 21.0, 10.4],
        [60.0, 30.0, 12.0, 6.0],  # after the as-of date: a crash the covariance must not see
        [61.0, 31.0, 12.5, 6.1],
    ]
)
CLOSE_DATES = _days(7)
AS_OF = CLOSE_DATES[4]


def test_closes_through_a_date_keep_the_days_on_or_before_it() -> None:
    assert closes_through(CLOSES, CLOSE_DATES, AS_OF).shape == (5, 4)
    assert len(closes_through(CLOSES, CLOSE_DATES, AS_OF + timedelta(hours=30))) == 6
    with pytest.raises(StressError, match="starts after the engine's date 2021-01-04"):
        closes_through(CLOSES, CLOSE_DATES, CLOSE_DATES[0])  # one close: no return yet


def test_standard_stress_takes_risk_only_from_full_histories_up_to_the_date() -> None:
    report = standard_stress(
        WEIGHTS, CLOSES, CLOSE_DATES, AS_OF, symbols=SYMBOLS, sectors=SECTORS, lookback_days=10
    )
    # By hand: the four returns up to the as-of date (the lookback is cut to the history there)
    # of AAA, BBB and CCC; DDD's gap leaves it without estimated risk, so its short adds none.
    window = CLOSES[:5, :3]
    returns = window[1:] / window[:-1] - 1.0
    covariance = np.cov(returns, rowvar=False, ddof=1)
    sigma = np.sqrt(WEIGHTS[:3] @ covariance @ WEIGHTS[:3])
    by_name = {result.scenario: result for result in report.results}
    assert by_name["Volatility x2"].var_base == pytest.approx(Z_99 * sigma, rel=1e-12)
    assert report.covariance_days == 4
    # Reading DDD's gap as a zero return (np.nan_to_num) would have given it risk of its own.
    gaps_as_zero = np.cov(np.nan_to_num(CLOSES[1:5] / CLOSES[:4] - 1.0), rowvar=False, ddof=1)
    assert Z_99 * np.sqrt(WEIGHTS @ gaps_as_zero @ WEIGHTS) != pytest.approx(Z_99 * sigma)


def test_standard_stress_runs_history_then_the_hypothetical_set_then_ones_own() -> None:
    weights = np.array([0.5, 0.0, 0.3, 0.0])  # holds AAA and CCC only
    own = [MarketShock(-0.5)]
    report = standard_stress(
        weights,
        CLOSES,
        CLOSE_DATES,
        AS_OF,
        symbols=SYMBOLS,
        sectors=SECTORS,
        lookback_days=3,
        window_days=2,
        own=own,
        nav_usd=2_000_000.0,
    )
    names = [result.scenario for result in report.results]
    # No named crisis falls inside these days; the worst windows come from the whole history.
    assert names[:-9] == ["Worst 2-day window #1", "Worst 2-day window #2"]
    assert names[-9:] == [
        "Market -10%",
        "Energy -20%",
        "Financials -20%",
        "Tech -20%",
        "AAA -30%",
        "CCC -30%",
        "Volatility x2",
        "Correlation lam=0.5",
        "Market -50%",
    ]
    assert (report.gross_exposure, report.net_exposure) == pytest.approx((0.8, 0.8))
    assert report.covariance_days == 3
    assert report.results[-1].pnl_usd == pytest.approx(-0.5 * 0.8 * 2_000_000.0)


def test_standard_stress_needs_a_full_history_to_estimate_risk() -> None:
    gappy = CLOSES.copy()
    gappy[1, :] = np.nan  # every instrument misses a close inside the lookback
    with pytest.raises(StressError, match="too little price history before 2021-01-08"):
        standard_stress(
            WEIGHTS, gappy, CLOSE_DATES, AS_OF, symbols=SYMBOLS, sectors=SECTORS, lookback_days=4
        )
