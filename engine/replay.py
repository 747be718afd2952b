"""Replay: the live cycle code run over history as fast as it goes, with a written report."""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.assembly import EngineParts
from engine.coordinator import STAGES
from engine.model import CycleReport
from engine.performance.metrics import latency_percentiles, return_statistics


def run_replay(
    parts: EngineParts,
    out_dir: Path,
    on_cycle: Callable[[CycleReport], None] | None = None,
) -> dict[str, Any]:
    """Run every tick of ``parts.feed`` through the coordinator; write ``summary.json``,
    ``nav.csv`` (date, portfolio, nav_usd, cash_usd) and ``fills.csv`` to ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    coordinator = parts.coordinator
    coordinator.record_start({"mode": "replay", "out_dir": str(out_dir)})
    reports: list[CycleReport] = []
    fills_path = out_dir / "fills.csv"
    started = time.perf_counter()
    with fills_path.open("w", newline="", encoding="utf-8") as fills_file:
        fills = csv.writer(fills_file)
        fills.writerow(
            [
                "date",
                "portfolio",
                "order_id",
                "symbol",
                "side",
                "quantity_shares",
                "price_usd",
                "commission_usd",
            ]
        )
        for tick in parts.feed:
            report = coordinator.run_cycle(tick)
            reports.append(report)
            for fill in coordinator.last_cycle_fills:
                fills.writerow(
                    [
                        fill.timestamp.isoformat(),
                        fill.portfolio_id,
                        fill.order_id,
                        fill.symbol,
                        fill.side.value,
                        fill.quantity_shares,
                        fill.price_usd,
                        fill.commission_usd,
                    ]
                )
            if on_cycle:
                on_cycle(report)
    wall_s = time.perf_counter() - started
    coordinator.record_finish()

    with (out_dir / "nav.csv").open("w", newline="", encoding="utf-8") as nav_file:
        nav = csv.writer(nav_file)
        nav.writerow(["date", "portfolio", "nav_usd", "cash_usd"])
        for mandate in coordinator.mandates:
            for point in coordinator.nav_history(mandate.portfolio_id):
                nav.writerow(
                    [
                        point.timestamp.isoformat(),
                        mandate.portfolio_id,
                        f"{point.nav_usd:.2f}",
                        f"{point.cash_usd:.2f}",
                    ]
                )

    portfolios = {}
    for mandate in coordinator.mandates:
        pid = mandate.portfolio_id
        navs = [point.nav_usd for point in coordinator.nav_history(pid)]
        end_nav = coordinator.ledger.nav_usd(pid)
        portfolios[pid] = {
            "name": mandate.name,
            "start_nav_usd": str(mandate.initial_cash_usd),
            "end_nav_usd": str(end_nav),
            "total_return_pct": round(float(end_nav / mandate.initial_cash_usd - 1) * 100, 4),
            "statistics": {k: round(v, 6) for k, v in return_statistics(navs).items()},
            "orders": coordinator.orders_total[pid],
            "fills": coordinator.fills_total[pid],
            "cycles": len(reports),
        }
    summary = {
        "first_date": reports[0].timestamp.isoformat() if reports else None,
        "last_date": reports[-1].timestamp.isoformat() if reports else None,
        "cycles": len(reports),
        "failed_cycles": sum(1 for report in reports if report.error),
        "wall_time_s": round(wall_s, 3),
        "cycles_per_second": round(len(reports) / wall_s, 2) if wall_s > 0 else None,
        "events_stored": parts.store.count(),
        "portfolios": portfolios,
        "latency": {
            "cycle": latency_percentiles([report.total_ms for report in reports]),
            "stages": {
                stage: latency_percentiles(
                    [report.stage_ms[stage] for report in reports if stage in report.stage_ms]
                )
                for stage in STAGES
                if any(stage in report.stage_ms for report in reports)
            },
        },
    }
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary
