"""`pcoord replay`: the cycle over history as fast as it goes, with a written report."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from engine.config import load_config


def replay(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from engine.assembly import build_engine
    from engine.performance.latency import low_latency_gc
    from engine.replay import run_replay

    config = load_config(args.config)
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
    print(f"report: {out_dir / 'summary.json'}, nav.csv, fills.csv")
    return 0
