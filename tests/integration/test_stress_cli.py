"""`pcoord stress` stresses a replayed portfolio's holdings or targets, as a table or JSON."""

import json
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from app.cli import main
from engine.config import load_config
from engine.events.store import SqlEventStore
from engine.market.data import load_bundled, load_sectors
from engine.state.repository import StateRepository

Z_99 = 2.3263478740408408  # standard normal 99% quantile, from tables


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict]:
    """Three months of the bundled history (the COVID crash), the default portfolios."""
    out = tmp_path_factory.mktemp("stress")
    args = ["replay", "--start", "2020-01-02", "--end", "2020-03-31", "--out", str(out)]
    assert main([*args, "--no-progress"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    return f"sqlite:///{out / 'events.db'}", summary


def _stress_json(url: str, capsys: pytest.CaptureFixture[str], *extra: str) -> dict:
    capsys.readouterr()
    assert main(["stress", "--portfolio", "growth", "--database-url", url, "--json", *extra]) == 0
    return json.loads(capsys.readouterr().out)


def test_table_lists_historical_and_hypothetical_scenarios(
    replayed: tuple[str, dict], capsys: pytest.CaptureFixture[str]
) -> None:
    url, _ = replayed
    capsys.readouterr()
    assert main(["stress", "--portfolio", "growth", "--database-url", url]) == 0
    out = capsys.readouterr().out
    assert out.startswith("growth: stress of holdings as of 2020-03-31")
    for name in (
        "2008 financial crisis",
        "2020 COVID crash",
        "Worst 20-day window #1",
        "Worst 20-day window #3",
        "Market -10%",
        "Information Technology -20%",
        "Volatility x2",
        "Correlation lam=0.5",
    ):
        assert name in out, name
    assert "2020-02-19..2020-03-23" in out
    assert "P&L %NAV" in out and "P&L USD" in out


def test_json_figures_are_consistent_with_the_replay(
    replayed: tuple[str, dict], capsys: pytest.CaptureFixture[str]
) -> None:
    url, summary = replayed
    report = _stress_json(url, capsys)
    assert report["portfolio"] == "growth" and report["basis"] == "holdings"
    # The NAV valued from the recovered holdings is the replay's closing NAV.
    end_nav = float(summary["portfolios"]["growth"]["end_nav_usd"])
    assert report["nav_usd"] == pytest.approx(end_nav, abs=0.01)
    scenarios = {s["scenario"]: s for s in report["scenarios"]}
    market = scenarios["Market -10%"]
    assert market["pnl_fraction"] == pytest.approx(-0.1 * report["net_exposure"])
    # Growth holds only names of its universe, none of them Energy: an Energy shock cannot touch it.
    growth = next(p for p in load_config().portfolios if p.id == "growth")
    sectors = {symbol: sector for symbol, (_, sector) in load_sectors().items()}
    assert all(sectors[symbol] != "Energy" for symbol in growth.universe)
    contributors = {c["symbol"] for s in report["scenarios"] for c in s["top_contributors"]}
    assert contributors and contributors <= set(growth.universe)
    assert scenarios["Energy -20%"]["pnl_fraction"] == 0.0
    for scenario in report["scenarios"]:
        assert scenario["pnl_usd"] == pytest.approx(scenario["pnl_fraction"] * report["nav_usd"])
        assert sum(scenario["pnl_by_sector"].values()) == pytest.approx(scenario["pnl_fraction"])
    vol = scenarios["Volatility x2"]
    assert vol["var_stressed"] == pytest.approx(2 * vol["var_base"])
    assert scenarios["2020 COVID crash"]["pnl_fraction"] < 0


def test_the_var_is_that_of_the_holdings_over_the_instruments_with_a_full_history(
    replayed: tuple[str, dict], capsys: pytest.CaptureFixture[str]
) -> None:
    """The covariance scenarios' base VaR, computed again with pandas from the bundled closes:
    the trailing returns up to the engine's date, only the instruments priced on every day of
    them (as the engine's risk stage estimates it), sample covariance."""
    url, _ = replayed
    report = _stress_json(url, capsys)
    config = load_config()
    history = load_bundled(config.market.adv_usd)
    as_of = date.fromisoformat(report["as_of"])
    closes = pd.DataFrame(history.close, index=history.dates, columns=history.symbols)
    closes = closes[closes.index <= as_of]
    store = SqlEventStore.from_url(url, writable=False)
    state, _ = StateRepository(store).recover()
    store.close()
    shares = pd.Series(state.ledger.shares_vector("growth", history.symbols), closes.columns)
    held = shares[shares != 0]
    weights = held * closes[held.index].ffill().iloc[-1] / report["nav_usd"]
    lookback = min(config.risk.lookback_days or config.history_days - 1, len(closes) - 1)
    window = closes.iloc[-(lookback + 1) :]
    returns = (window / window.shift(1) - 1.0).iloc[1:]
    full = returns.columns[returns.notna().all() & (window > 0).all()]
    covered = weights[weights.index.isin(full)]
    sigma = np.sqrt(covered @ returns[covered.index].cov() @ covered)
    vol = next(s for s in report["scenarios"] if s["scenario"] == "Volatility x2")
    assert report["covariance_days"] == lookback
    assert vol["var_base"] == pytest.approx(Z_99 * sigma, rel=1e-9)


def test_proposed_targets_are_stressed_too(
    replayed: tuple[str, dict], capsys: pytest.CaptureFixture[str]
) -> None:
    url, _ = replayed
    report = _stress_json(url, capsys, "--proposed", "--window-days", "10")
    assert report["basis"] == "proposed targets"
    assert 0 < report["net_exposure"] <= 1.0
    assert any(s["scenario"] == "Worst 10-day window #1" for s in report["scenarios"])


def test_unknown_portfolio_is_a_clear_error(
    replayed: tuple[str, dict], capsys: pytest.CaptureFixture[str]
) -> None:
    url, _ = replayed
    capsys.readouterr()
    assert main(["stress", "--portfolio", "nope", "--database-url", url]) == 2
    err = capsys.readouterr().err
    assert "unknown portfolio 'nope'" in err
    assert "growth" in err and "market_neutral" in err


def test_an_empty_database_says_to_run_the_engine_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    SqlEventStore.from_url(url).close()  # a store no engine has written to yet
    assert main(["stress", "--portfolio", "growth", "--database-url", url]) == 2
    err = capsys.readouterr().err
    assert "no engine state" in err and "pcoord replay" in err


def test_each_holding_is_shocked_and_own_shocks_are_added(
    replayed: tuple[str, dict], capsys: pytest.CaptureFixture[str]
) -> None:
    url, _ = replayed
    report = _stress_json(url, capsys, "--shock", "JPM=-50%", "--shock", "Energy=-0.4")
    by_name = {r["scenario"]: r for r in report["scenarios"]}
    held = {r["scenario"].split()[0] for r in report["scenarios"] if r["kind"] == "instrument"} - {
        "JPM"
    }
    assert held, "growth holds something at the end of March 2020"
    for symbol in held:
        shock = by_name[f"{symbol} -30%"]
        # One instrument -30% costs its weight times 30%: the sector P&L is that alone.
        (only,) = [v for v in shock["pnl_by_sector"].values() if v != 0]
        assert shock["pnl_fraction"] == pytest.approx(only)
    assert "JPM -50%" in by_name and "Energy -40%" in by_name
    capsys.readouterr()
    assert main(["stress", "--portfolio", "growth", "--database-url", url, "--shock", "ZZZ=1"]) == 2
    assert "'ZZZ' is not an instrument, a sector" in capsys.readouterr().err
