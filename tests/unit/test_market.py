"""Market data: the bundled real history, users' files, the simulated feed, the price window."""

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.market.data import (
    UNKNOWN_SECTOR,
    MarketDataError,
    estimate_adv_usd,
    load_bundled,
    load_price_file,
)
from engine.market.feeds import HistoricalFeed, RollingPrices, SimulatedFeed


def test_bundled_history_is_20_real_stocks_with_sectors_over_33_years() -> None:
    history = load_bundled()
    assert len(history.instruments) == 20
    assert {"AAPL", "MSFT", "JPM", "XOM"} <= set(history.symbols)
    assert all(instrument.sector != UNKNOWN_SECTOR for instrument in history.instruments)
    assert history.dates[0] == date(1990, 1, 2)
    assert history.dates[-1] == date(2022, 12, 28)
    assert len(history.dates) == 8313
    assert np.isfinite(history.close).all() and (history.close > 0).all()


def test_estimated_volume_is_the_configured_dollar_adv_at_the_end() -> None:
    history = load_bundled(adv_usd=1e9)
    dollar_volume = history.volume_shares * history.close
    np.testing.assert_allclose(dollar_volume[-1], 1e9)
    # Scaled back by the index level: the S&P 500 was roughly 10x lower in 1990 than in 2022.
    assert 0.05 < dollar_volume[0, 0] / 1e9 < 0.15


def test_adv_estimate_scales_with_the_index_level() -> None:
    np.testing.assert_allclose(estimate_adv_usd(np.array([50.0, 100.0]), 2e8), [1e8, 2e8])


def test_historical_feed_warms_up_on_the_days_before_the_first_tick() -> None:
    history = load_bundled()
    feed = HistoricalFeed(history, warmup_days=260, start=date(2010, 1, 1), end=date(2010, 12, 31))
    ticks = list(feed)
    assert ticks[0].timestamp == date(2010, 1, 4)
    assert ticks[-1].timestamp == date(2010, 12, 31)
    assert len(ticks) == len(feed) == 252
    first = history.index_of(date(2010, 1, 4))
    np.testing.assert_array_equal(feed.warmup(), history.close[first - 260 : first])


def test_feed_with_no_days_in_range_is_a_clear_error() -> None:
    with pytest.raises(MarketDataError, match="no trading days to replay"):
        HistoricalFeed(load_bundled(), 260, start=date(2030, 1, 1))


def test_simulated_feed_is_deterministic_correlated_and_has_volumes() -> None:
    first = list(SimulatedFeed(200, 300, warmup_days=20, seed=3))
    again = list(SimulatedFeed(200, 300, warmup_days=20, seed=3))
    np.testing.assert_array_equal(first[-1].close, again[-1].close)
    closes = np.array([tick.close for tick in first])
    returns = np.diff(np.log(closes), axis=0)
    correlation = np.corrcoef(returns.T)
    mean_pairwise = (correlation.sum() - 200) / (200 * 199)
    assert 0.1 < mean_pairwise < 0.7
    assert all((tick.volume_shares > 0).all() for tick in first)
    assert all(tick.timestamp.weekday() < 5 for tick in first)


def test_wide_csv_is_read_and_gaps_forward_filled(tmp_path: Path) -> None:
    path = tmp_path / "prices.csv"
    path.write_text("date,AAA,BBB\n2024-01-02,10,20\n2024-01-03,,21\n2024-01-04,11,22\n")
    history = load_price_file(path, adv_usd=1e6)
    assert history.symbols == ("AAA", "BBB")
    np.testing.assert_array_equal(history.close[:, 0], [10, 10, 11])
    np.testing.assert_allclose(history.volume_shares[0], [1e5, 5e4])


def test_long_parquet_with_volumes_and_sectors_is_read(tmp_path: Path) -> None:
    path = tmp_path / "prices.parquet"
    pd.DataFrame(
        {
            "Date": ["2024-01-02", "2024-01-02", "2024-01-03", "2024-01-03"],
            "symbol": ["AAA", "BBB", "AAA", "BBB"],
            "close": [10.0, 20.0, 10.5, 19.0],
            "volume": [1000, 2000, 1100, 2100],
            "sector": ["Energy", "Utilities", "Energy", "Utilities"],
        }
    ).to_parquet(path)
    history = load_price_file(path)
    assert [(i.symbol, i.sector) for i in history.instruments] == [
        ("AAA", "Energy"),
        ("BBB", "Utilities"),
    ]
    np.testing.assert_array_equal(history.volume_shares[:, 1], [2000, 2100])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("day,AAA\n2024-01-02,10\n", "no 'date' column"),
        ("date,AAA\n2024-01-02,-3\n", r"columns \['AAA'\] have values <= 0"),
        ("date,AAA\nyesterday,3\n", "column 'date' has a value that is not a date"),
        ("date,AAA\n2024-01-02,abc\n", r"price columns \['AAA'\] are not numeric"),
    ],
)
def test_bad_price_files_name_the_problem(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(MarketDataError, match=message):
        load_price_file(path)


def test_unsupported_file_type_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "prices.xlsx"
    path.write_text("x")
    with pytest.raises(MarketDataError, match="unsupported file type"):
        load_price_file(path)


def test_rolling_window_keeps_the_last_rows_in_order_across_compactions() -> None:
    rows = np.arange(50 * 3, dtype=float).reshape(50, 3)
    window = RollingPrices(capacity=7, n_instruments=3)
    for k, row in enumerate(rows, start=1):
        window.append(row)
        np.testing.assert_array_equal(window.window(), rows[max(0, k - 7) : k])
    assert len(window) == 7
