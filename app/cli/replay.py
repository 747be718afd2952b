"""`pcoord replay`: the cycle over history as fast as it goes, with a written report."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from engine.config import load_config
from engine.errors import ConfigError


def replay(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from engine.assembly import build_engine
    from engine.performance.latency import low_latency_gc
    from engine.replay import run_replay

    config = load_config(args.config)
    policies = _policies(args.policy)
    if policies:
        from engine.rebalancing.compare import policies_config

        config = policies_config(config, policies, args.band)
        shown = ", ".join(f"{pid} {policy}" for pid, policy in policies.items())
        print(f"rebalancing policies: {shown}; the others as configured", file=sys.stderr)
    out_dir: Path = args.out
    out_dir.mkdir(parents=True, exist_ok=True)
    if args.fresh and args.database_url is None:
        for leftover in out_dir.glob("events.db*"):
            leftover.unlink()
    database_url = args.database_url or f"sqlite:///{(out_dir / 'events.db').resolve()}"
    parts = build_engine(config, database_url, args.start, args.end)
    if parts.coordinator.cycles_completed:
        print(
            f"resuming after cycle {parts.coordinator.cycles_completed} "
            f"({parts.coordinator.market_date}): {parts.coordinator.recovery.describe()}",
            file=sys.stderr,
        )
    with tqdm(
        total=len(parts.feed),
        initial=parts.coordinator.cycles_completed,
        unit="day",
        disable=args.no_progress,
        desc="replay",
        file=sys.stderr,
    ) as bar:

        def _progress(report: object) -> None:
            bar.update(1)

        with low_latency_gc():
            summary = run_replay(parts, out_dir, _progress, args.command_started)
    transport = parts.bus.health()
    if transport.bus != "embedded":
        print(
            f"waiting for the {transport.bus} relay to publish the last events...", file=sys.stderr
        )
        if not parts.bus.flush(timeout_s=120):
            lag = parts.bus.health().relay_lag_events
            print(
                f"pcoord: the {transport.bus} relay is {lag} events behind after 120 s; "
                "they stay in the store and go out on the next start",
                file=sys.stderr,
            )
    parts.coordinator.close()
    parts.bus.close()
    parts.store.close()
    cycle = summary["latency"]["cycle"]
    print(
        f"{summary['cycles']} cycles {summary['first_date']}..{summary['last_date']} in "
        f"{summary['wall_time_s']} s (start-up to the first cycle {summary['startup_s']} s): "
        f"{summary['cycles_per_second']} cycles/s; cycle latency "
        f"p50 {cycle['p50_ms']} ms, p95 {cycle['p95_ms']} ms, p99 {cycle['p99_ms']} ms"
    )
    for pid, result in summary["portfolios"].items():
        print(
            f"  {pid:<12} NAV {result['start_nav_usd']} -> {result['end_nav_usd']} USD "
            f"({result['total_return_pct']:+.2f}%), {result['orders']} orders, "
            f"{result['fills']} fills"
        )
    execution = summary["execution"]
    print(
        f"execution: {execution['orders_completed']} orders, USD "
        f"{execution['decision_notional_usd']} traded; cost USD {execution['cost_usd']} "
        f"({execution['cost_bps']} bps: spread, impact, commission); internal crossing saved USD "
        f"{execution['crossing_saving_usd']} ({execution['crossing_saving_bps']} bps)"
    )
    _print_coordination(summary["coordination"])
    metrics_path = out_dir / "metrics.json"
    if metrics_path.exists():
        _print_metrics(json.loads(metrics_path.read_text(encoding="utf-8")))
    written = "metrics.json, " if metrics_path.exists() else ""
    print(f"report: {out_dir / 'summary.json'}, {written}nav.csv, fills.csv")
    return 0


def _policies(given: list[str]) -> dict[str, str]:
    """``--policy PORTFOLIO=POLICY`` options, by portfolio."""
    policies: dict[str, str] = {}
    for option in given:
        portfolio_id, sep, policy = option.partition("=")
        if not sep or not portfolio_id.strip() or not policy.strip():
            raise ConfigError(f"--policy: {option!r} is not PORTFOLIO=POLICY (e.g. growth=bands)")
        if portfolio_id.strip() in policies:
            raise ConfigError(f"--policy: {portfolio_id.strip()} is given twice")
        policies[portfolio_id.strip()] = policy.strip()
    return policies


def _print_metrics(metrics: dict[str, Any]) -> None:
    """One line per portfolio: the headline figures against its benchmark."""
    rf = metrics["risk_free_rate_annual"]
    print(f"performance (annualised; risk-free {rf:.2%}; every metric in metrics.json):")
    for pid, entry in metrics["portfolios"].items():
        m = entry["metrics"]
        if m is None:
            print(f"  {pid:<12} fewer than two days: no metrics")
            continue
        print(
            f"  {pid:<12} return {_pct(m['annualised_return'])} vol "
            f"{_pct(m['annualised_volatility'], signed=False)} Sharpe {_num(m['sharpe'])} "
            f"max drawdown {_pct(m['max_drawdown']['depth'])}; vs {entry['benchmark']} "
            f"{_pct(m['benchmark_annualised_return'])}: beta {_num(m['beta'])} alpha "
            f"{_pct(m['alpha_annualised'])} IR {_num(m['information_ratio'])}"
        )


def _print_coordination(coordination: dict[str, Any]) -> None:
    """Each seed gate, met or not, and what the coordination did."""
    gates = []
    for gate in coordination["gates"]:
        if gate["value"] is None:
            gates.append(f"{gate['name']} not measured")
            continue
        verdict = "met" if gate["met"] else "MISSED"
        gates.append(f"{gate['name']} {gate['value']:.2%} (gate {gate['gate']:.2%}: {verdict})")
    print("seed gates: " + "; ".join(gates))
    print(
        f"coordination: {coordination['conflicts_resolved']} signal conflicts resolved, "
        f"{coordination['signals_rejected']} signals rejected, {coordination['orders_crossed']} "
        f"orders crossed ({coordination['shares_crossed']:,} shares), "
        f"{coordination['orders_rejected']} orders rejected by the risk gate, "
        f"{coordination['limit_breaches']} limit breaches"
    )


def _pct(value: float | None, signed: bool = True) -> str:
    if value is None:
        return "n/a"
    return f"{value:+.2%}" if signed else f"{value:.2%}"


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"
