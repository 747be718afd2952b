"""Replay: the live cycle code run over history as fast as it goes, with a written report.

A replay whose event store already holds cycles (an earlier run that was stopped or crashed)
resumes after the last committed cycle. The report's NAV and fills are read back from the event
log, so they cover the whole replay, however many runs it took.
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd

from engine.assembly import EngineParts
from engine.coordinator import STAGES
from engine.market.feeds import HistoricalFeed
from engine.model import CycleReport, to_cash
from engine.performance.effectiveness import coordination_effectiveness
from engine.performance.execution_quality import GROUPS, quality_by
from engine.performance.measurement import run_metrics
from engine.performance.metrics import latency_percentiles, return_statistics
from engine.performance.report import first_seq_of_run
from engine.performance.run_log import COST_FIELDS, FILL_COLUMNS, RunLog
from engine.performance.run_log import EVENT_TYPES as LOG_EVENTS
from engine.performance.turnover import turnover_report


def run_replay(
    parts: EngineParts,
    out_dir: Path,
    on_cycle: Callable[[CycleReport], None] | None = None,
    command_started: float | None = None,
) -> dict[str, Any]:
    """Run every remaining tick of ``parts.feed`` through the coordinator; write ``summary.json``,
    ``metrics.json`` (every performance metric per portfolio against its benchmark, see
    docs/performance.md), ``nav.csv`` (date, portfolio, nav_usd, cash_usd) and ``fills.csv`` to
    ``out_dir``.

    ``command_started`` is the ``time.perf_counter()`` reading when the command began; the summary
    then reports ``startup_s``, the time from then to the first cycle (imports, market data,
    recovery): what a person waits before anything happens."""
    out_dir.mkdir(parents=True, exist_ok=True)
    coordinator = parts.coordinator
    resumed_after = coordinator.cycles_completed
    coordinator.start({"mode": "replay", "out_dir": str(out_dir)})
    reports: list[CycleReport] = []
    started = time.perf_counter()
    first_cycle_at = None
    for tick in coordinator.resume(parts.feed):
        first_cycle_at = first_cycle_at or time.perf_counter()
        report = coordinator.run_cycle(tick)
        reports.append(report)
        if on_cycle:
            on_cycle(report)
    wall_s = time.perf_counter() - started
    coordinator.record_finish()

    # From the latest restart's own event (its opening cash), else the first event.
    log = RunLog()
    for event in parts.store.iter_from(first_seq_of_run(parts.store), event_types=LOG_EVENTS):
        log.observe(event)
    with (out_dir / "nav.csv").open("w", newline="", encoding="utf-8") as nav_file:
        nav = csv.writer(nav_file)
        nav.writerow(["date", "portfolio", "nav_usd", "cash_usd"])
        nav.writerows(log.nav_rows)
    with (out_dir / "fills.csv").open("w", newline="", encoding="utf-8") as fills_file:
        fills = csv.writer(fills_file)
        fills.writerow(FILL_COLUMNS)
        fills.writerows(log.fill_rows)

    state = coordinator.state
    _write_metrics(parts, out_dir, log)
    portfolios = {}
    for mandate in coordinator.mandates:
        pid = mandate.portfolio_id
        nav_usd = log.nav_usd(pid)
        start_nav = state.initial_cash_usd[pid]
        end_nav = coordinator.ledger.nav_usd(pid)
        portfolios[pid] = {
            "name": mandate.name,
            "start_nav_usd": str(start_nav),
            "end_nav_usd": str(end_nav),
            "total_return_pct": round(float(end_nav / start_nav - 1) * 100, 4),
            "realised_pnl_usd": str(coordinator.ledger.realised_pnl_usd(pid)),
            "statistics": {
                k: round(v, 6) for k, v in return_statistics([float(start_nav), *nav_usd]).items()
            },
            "orders": state.orders_total[pid],
            "fills": state.fills_total[pid],
            "cycles": state.cycles_completed,
            "trading_state": state.trading_state(pid),
            "execution": execution_summary([state.execution_quality.get(pid, {})]),
            # Traded notional over average NAV per year, and names reversed within 5 days.
            "turnover": turnover_report(
                log.trades(pid), _days(nav_usd), nav_usd.tolist()
            ).summary(),
        }
    summary = {
        "first_date": log.first_date,
        "last_date": log.last_date,
        "cycles": state.cycles_completed,
        "resumed_after_cycle": resumed_after,
        "cycles_this_run": len(reports),
        "failed_cycles": log.failed_cycles,
        "wall_time_s": round(wall_s, 3),
        "startup_s": (
            round(first_cycle_at - command_started, 3)
            if first_cycle_at is not None and command_started is not None
            else None
        ),
        "cycles_per_second": round(len(reports) / wall_s, 2) if wall_s > 0 else None,
        "events_stored": parts.store.count(),
        "recovery": coordinator.recovery.describe(),
        "portfolios": portfolios,
        # Implementation shortfall of every completed order, and what crossing saved (USD).
        "execution": execution_summary(list(state.execution_quality.values())),
        # The engine against the seed's gates (engine/performance/effectiveness.py).
        "coordination": coordination_effectiveness(
            log.gate_events,
            len(coordinator.mandates),
            [report.total_ms for report in reports],
            sum(report.total_ms for report in reports if report.error is not None),
        ).to_dict(),
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
    (out_dir / "summary.json").write_text(
        json.dumps(summary, indent=2, default=_exact) + "\n", encoding="utf-8"
    )
    return summary


def _write_metrics(parts: EngineParts, out_dir: Path, log: RunLog) -> None:
    """``metrics.json``, when the market keeps its price history (the bundled one and a file:
    the benchmark's constituents are priced from it); the simulated market keeps none."""
    path = out_dir / "metrics.json"
    if not isinstance(parts.feed, HistoricalFeed):
        path.unlink(missing_ok=True)
        return
    runs = {portfolio.id: log.portfolio_run(portfolio) for portfolio in parts.config.portfolios}
    metrics = run_metrics(parts.config, runs, parts.feed.history)
    orders, savings = log.execution.orders(), log.execution.savings()
    metrics["execution_quality"] = {
        f"by_{group}": quality_by(orders, savings, group).to_dict("records") for group in GROUPS
    }
    path.write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")


def _days(nav: pd.Series) -> list[str]:
    return [str(day) for day in nav.index.strftime("%Y-%m-%d")]


def execution_summary(totals: list[dict[str, Any]]) -> dict[str, object]:
    """Orders completed, their decision notional, trading cost (spread + impact + commission)
    and the crossing saving, in USD and basis points of the decision notional."""

    def total(name: str) -> Decimal:
        return sum((Decimal(t.get(name, 0)) for t in totals), Decimal(0))

    notional = total("decision_notional_usd")
    cost = sum((total(name) for name in COST_FIELDS), Decimal(0))
    saving = total("crossing_saving_usd")

    def bps(amount: Decimal) -> float | None:
        return round(float(amount / notional * 10_000), 3) if notional else None

    return {
        "orders_completed": int(sum(int(t.get("orders", 0)) for t in totals)),
        "decision_notional_usd": str(to_cash(notional)),
        "cost_usd": str(to_cash(cost)),
        "cost_bps": bps(cost),
        "shortfall_usd": str(to_cash(total("total_usd"))),
        "shortfall_bps": bps(total("total_usd")),
        "crossing_saving_usd": str(to_cash(saving)),
        "crossing_saving_bps": bps(saving),
    }


def _exact(value: object) -> str:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{value!r} is not JSON")
