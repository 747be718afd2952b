"""Replays over the bundled real history, checking the ledger invariants after every cycle.

The invariants are recomputed here from the fills and prices, independently of the ledger:
NAV = cash + sum of position values; positions = sum of signed fills; cash = initial cash plus
every fill's cash flow; cash never negative; every fill has an order and a stored event.
"""

import csv
import json
import time
from collections import Counter, defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path

import empyrical as ep
import numpy as np
import pytest

from app.cli import main
from engine.assembly import build_engine
from engine.config import load_config
from engine.model import Side, to_cash, to_price


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Run 300 trading days of 2008-2009 (a crash and a rebound) cycle by cycle."""
    database = tmp_path_factory.mktemp("replay") / "events.db"
    parts = build_engine(load_config(), f"sqlite:///{database}", date(2008, 6, 2), date(2009, 8, 7))
    coordinator = parts.coordinator
    initial = {m.portfolio_id: m.initial_cash_usd for m in coordinator.mandates}
    shares: dict[tuple[str, str], int] = defaultdict(int)
    cash = {pid: Decimal(value) for pid, value in initial.items()}
    orders_seen: set[str] = set()
    fills = []
    cycles = 0
    violations: list[str] = []
    for tick in parts.feed:
        report = coordinator.run_cycle(tick)
        cycles += 1
        assert report.error is None, report.error
        for fill in coordinator.views.last_cycle_fills:
            fills.append(fill)
            signed = fill.quantity_shares if fill.side is Side.BUY else -fill.quantity_shares
            shares[(fill.portfolio_id, fill.symbol)] += signed
            notional = to_cash(fill.price_usd * fill.quantity_shares)
            flow = (
                -(notional + fill.commission_usd)
                if fill.side is Side.BUY
                else notional - fill.commission_usd
            )
            cash[fill.portfolio_id] += flow
            if fill.order_id not in orders_seen:
                violations.append(f"fill {fill.fill_id} has no earlier order")
        orders_seen.update(order.order_id for order in coordinator.views.recent_orders)
        marks = {
            s: to_price(float(p))
            for s, p in zip(coordinator.universe.symbols, tick.close, strict=True)
        }
        for pid in initial:
            # Cash moves by fills and by the interest credited on it (tested in test_ledger_cash).
            ledger_cash = coordinator.ledger.cash_usd(pid)
            if ledger_cash != cash[pid] + coordinator.ledger.interest_income_usd(pid):
                violations.append(f"{tick.timestamp} {pid}: cash {ledger_cash} != {cash[pid]}")
            if ledger_cash < 0:
                violations.append(f"{tick.timestamp} {pid}: negative cash {ledger_cash}")
            held = {s: q for (p, s), q in shares.items() if p == pid and q}
            ledger_held = {
                s: coordinator.ledger.shares(pid, s) for s in coordinator.universe.symbols
            }
            if held != {s: q for s, q in ledger_held.items() if q}:
                violations.append(f"{tick.timestamp} {pid}: positions differ from fills")
            if any(q < 0 for q in held.values()) and not coordinator.ledger.allows_short(pid):
                violations.append(f"{tick.timestamp} {pid}: short position")
            nav = ledger_cash + sum((to_cash(marks[s] * q) for s, q in held.items()), Decimal(0))
            if coordinator.ledger.nav_usd(pid) != nav:
                violations.append(
                    f"{tick.timestamp} {pid}: NAV {coordinator.ledger.nav_usd(pid)} != {nav}"
                )
    return {"parts": parts, "cycles": cycles, "fills": fills, "violations": violations}


def test_replays_at_least_250_trading_days_and_trades(replayed: dict) -> None:
    assert replayed["cycles"] >= 250
    traded = Counter(fill.portfolio_id for fill in replayed["fills"])
    assert set(traded) == {"growth", "balanced", "defensive", "market_neutral"}


def test_ledger_invariants_hold_after_every_cycle(replayed: dict) -> None:
    assert replayed["violations"] == []


def test_every_fill_has_its_order_and_filled_events_in_the_store(replayed: dict) -> None:
    store = replayed["parts"].store
    events = store.read_from(1)
    created = {e.payload["order_id"] for e in events if e.type == "OrderCreated"}
    filled = {e.payload["fill_id"]: e for e in events if e.type == "OrderFilled"}
    for fill in replayed["fills"]:
        assert fill.order_id in created
        event = filled[fill.fill_id]
        assert event.portfolio_id == fill.portfolio_id
        assert Decimal(event.payload["price_usd"]) == fill.price_usd
        assert event.payload["quantity_shares"] == fill.quantity_shares
    assert len(filled) == len(replayed["fills"])


def test_events_are_ordered_globally_and_per_portfolio_without_gaps(replayed: dict) -> None:
    events = replayed["parts"].store.read_from(1)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    per_portfolio: dict[str, list[int]] = defaultdict(list)
    for event in events:
        if event.portfolio_id:
            per_portfolio[event.portfolio_id].append(event.portfolio_seq)
    for sequence in per_portfolio.values():
        assert sequence == list(range(1, len(sequence) + 1))


def test_fills_happen_at_the_next_days_price_never_the_decision_price(replayed: dict) -> None:
    parts = replayed["parts"]
    created = {
        e.payload["order_id"]: e.payload["market_date"]
        for e in parts.store.read_from(1)
        if e.type == "OrderCreated"
    }
    assert all(date.fromisoformat(created[f.order_id]) < f.timestamp for f in replayed["fills"])


def test_cli_replay_writes_a_consistent_report(tmp_path: Path) -> None:
    out = tmp_path / "report"
    started = time.perf_counter()
    code = main(
        [
            "replay",
            "--start",
            "2019-01-02",
            "--end",
            "2019-12-31",
            "--out",
            str(out),
            "--no-progress",
        ]
    )
    elapsed_s = time.perf_counter() - started
    assert code == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["cycles"] == 252 and summary["failed_cycles"] == 0
    with (out / "fills.csv").open() as handle:
        fills = list(csv.DictReader(handle))
    with (out / "nav.csv").open() as handle:
        nav = list(csv.DictReader(handle))
    for pid, result in summary["portfolios"].items():
        assert result["fills"] == sum(1 for row in fills if row["portfolio"] == pid)
        rows = [row for row in nav if row["portfolio"] == pid]
        assert len(rows) == 252
        assert rows[-1]["nav_usd"] == f"{Decimal(result['end_nav_usd']):.2f}"
        end = float(result["end_nav_usd"])
        start = float(result["start_nav_usd"])
        assert result["total_return_pct"] == pytest.approx((end / start - 1) * 100, abs=1e-4)
    stages = summary["latency"]["stages"]
    assert {"signals", "allocation", "orders", "execution", "events"} <= set(stages)
    assert summary["latency"]["cycle"]["p50_ms"] <= summary["latency"]["cycle"]["p95_ms"]
    assert np.isfinite(summary["cycles_per_second"])
    # Start-up (imports, market data, recovery) is reported apart from the cycles' own time;
    # both lie within the command's run.
    assert summary["startup_s"] > 0
    assert summary["startup_s"] + summary["wall_time_s"] <= elapsed_s
    _check_metrics(json.loads((out / "metrics.json").read_text()), summary, nav)
    gates = {gate["name"]: gate for gate in summary["coordination"]["gates"]}
    assert gates["cycles without error"]["value"] == 1.0
    assert gates["cycles without error"]["basis"] == "252 cycles"
    assert gates["state-consistency checks passed"]["basis"].startswith("1008 checks")
    assert gates["state-consistency checks passed"]["met"] is True
    assert gates["cycles within 200 ms"]["basis"] == "252 cycles timed in this run"
    assert 0.0 <= gates["cycles within 200 ms"]["value"] <= 1.0


def _check_sources_and_decisions(entry: dict, pnl_usd: float, total_return: float) -> None:
    """The profit and loss by signal view adds up to the NAV's change, and the decisions to the
    return; both put what trading, costs and cash income added in the same line."""
    sources = entry["source_attribution"]
    views = sources["views"]
    assert sources["total_pnl_usd"] == pytest.approx(pnl_usd, abs=1e-6)
    assert sum(v["pnl_usd"] for v in views.values()) == pytest.approx(pnl_usd, abs=1e-6)
    assert sum(v["contribution"] for v in views.values()) == pytest.approx(total_return, abs=1e-12)
    # The views are the default sources' (growth follows momentum alone).
    named = {key.split("/")[0] for key in views if "/" in key}
    assert "momentum" in named and named <= {"momentum", "mean_reversion"}
    # The 6-decimal shares leave almost nothing; a name held without a view, a small part.
    held = sum(abs(v["pnl_usd"]) for key, v in views.items() if "/" in key)
    assert abs(views["held without a view"]["pnl_usd"]) <= 0.1 * held
    decisions = entry["decision_attribution"]
    assert sum(decisions["decisions"].values()) == pytest.approx(total_return, abs=1e-12)
    assert decisions["returns"]["portfolio"] == pytest.approx(total_return, rel=1e-12)
    trading = views["trading, costs and cash income"]["contribution"]
    assert decisions["decisions"]["trading, costs and cash income"] == pytest.approx(
        trading, abs=1e-12
    )


def _check_metrics(metrics: dict, summary: dict, nav: list[dict]) -> None:
    """metrics.json against the same figures worked out here from nav.csv with empyrical, and
    the S&P 500's published 2019 price return (+28.88%: 2,506.85 to 3,230.78)."""
    rf = (1 + metrics["risk_free_rate_annual"]) ** (1 / 252) - 1
    assert set(metrics["portfolios"]) == set(summary["portfolios"])
    # Execution quality read from the log equals the engine's own running totals.
    quality = {row["portfolio"]: row for row in metrics["execution_quality"]["by_portfolio"]}
    for pid, result in summary["portfolios"].items():
        execution = result["execution"]
        assert quality[pid]["orders"] == execution["orders_completed"]
        assert quality[pid]["total_usd"] == pytest.approx(float(execution["shortfall_usd"]))
        assert quality[pid]["crossing_saving_usd"] == pytest.approx(
            float(execution["crossing_saving_usd"])
        )
    for pid, entry in metrics["portfolios"].items():
        assert entry["benchmark"] == "S&P 500 index (price)"
        assert entry["benchmark_yearly_returns"]["2019"] == pytest.approx(0.28878, abs=1e-4)
        values = [float(row["nav_usd"]) for row in nav if row["portfolio"] == pid]
        start = float(summary["portfolios"][pid]["start_nav_usd"])
        daily = np.array(values) / np.array([start, *values[:-1]]) - 1
        m = entry["metrics"]
        assert m["days"] == 252
        assert m["total_return"] == pytest.approx(values[-1] / start - 1, rel=1e-9)
        assert m["annualised_volatility"] == pytest.approx(ep.annual_volatility(daily), rel=1e-9)
        assert m["sharpe"] == pytest.approx(ep.sharpe_ratio(daily, rf), rel=1e-9)
        assert m["max_drawdown"]["depth"] == pytest.approx(ep.max_drawdown(daily), rel=1e-9)
        assert entry["yearly_returns"]["2019"] == pytest.approx(values[-1] / start - 1, rel=1e-9)
        assert len(entry["monthly_returns"]) == 12
        sectors = entry["sector_attribution"]
        assert sectors["against"].startswith("universe equally weighted")
        assert sectors["portfolio_return"] == pytest.approx(m["total_return"], rel=1e-9)
        parts = sum(sectors["effects"].values()) + sectors["trading_costs_and_income"]
        assert parts == pytest.approx(sectors["active_return"], abs=1e-12)
        by_sector = sum(row["total"] for row in sectors["sectors"].values())
        assert by_sector == pytest.approx(sum(sectors["effects"].values()), abs=1e-12)
        # The statistical factors and the specific part add up to the same holdings' return.
        factors = entry["factor_attribution"]
        assert factors["holdings_return"] == pytest.approx(sectors["holdings_return"], rel=1e-12)
        assert factors["factor_total"] + factors["specific"] == pytest.approx(
            factors["holdings_return"], abs=1e-12
        )
        assert len(factors["factors"]) == 5 and factors["window_days"] == 126
        sleeves = entry["sleeve_attribution"]
        if pid == "balanced":  # the default multi-strategy portfolio
            parts = sum(row["contribution"] for row in sleeves["sleeves"].values())
            assert parts == pytest.approx(sectors["holdings_return"], abs=1e-12)
            assert set(sleeves["sleeves"]) == {"trend", "reversion", "unassigned"}
        else:
            assert sleeves is None
        _check_sources_and_decisions(entry, values[-1] - start, m["total_return"])
        rolling = entry["rolling_at_end"]
        assert rolling["63d"]["volatility"] == pytest.approx(
            ep.annual_volatility(daily[-63:]), rel=1e-8
        )
        assert rolling["252d"]["sharpe"] == pytest.approx(ep.sharpe_ratio(daily, rf), rel=1e-8)
        turnover = summary["portfolios"][pid]["turnover"]["annual_turnover"]
        assert entry["annual_turnover"] == pytest.approx(turnover, abs=1e-4)
        assert entry["cost_drag_annual"] >= 0
