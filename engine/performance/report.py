"""Everything a tear sheet shows, read from an event store: each chosen portfolio's analysis over
a date range, execution quality, and the engine's figures against the seed's gates.

The log is read once, from the latest replay restart (as the replay's own report), and folded by
``RunLog``; the market's price history prices the benchmarks and the attribution.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

import pandas as pd

from engine.config import AppConfig
from engine.errors import ConfigError
from engine.events.store import SqlEventStore
from engine.market.data import PriceHistory
from engine.performance.effectiveness import Effectiveness, coordination_effectiveness
from engine.performance.execution_quality import GROUPS, quality_by
from engine.performance.factors import ExposureCache
from engine.performance.measurement import (
    PortfolioAnalysis,
    analyse,
    metrics_document,
    price_frame,
)
from engine.performance.run_log import EVENT_TYPES as LOG_EVENTS
from engine.performance.run_log import RunLog

Progress = Callable[[str, int, int], None]  # step, done, total


@dataclass(frozen=True, slots=True)
class Report:
    start: date | None
    end: date | None
    analyses: tuple[PortfolioAnalysis, ...]
    skipped: dict[str, str]  # portfolio id -> why it has no analysis
    execution: dict[str, pd.DataFrame]  # "by_algorithm" etc., the chosen portfolios only
    execution_by_portfolio: dict[str, pd.DataFrame]  # portfolio id -> by algorithm
    coordination: Effectiveness
    metrics: dict[str, object]  # as metrics.json

    @property
    def first_date(self) -> date | None:
        days = [a.returns.index[0] for a in self.analyses]
        return min(days).date() if days else None

    @property
    def last_date(self) -> date | None:
        days = [a.returns.index[-1] for a in self.analyses]
        return max(days).date() if days else None


def first_seq_of_run(store: SqlEventStore) -> int:
    """Where the run the portfolios now reflect begins: the latest ``ReplayRestarted`` (its
    opening cash is read from it), else the first event."""
    restart = store.query(event_type="ReplayRestarted", limit=1)
    return int(restart[0].seq or 1) if restart else 1


def build_report(
    config: AppConfig,
    store: SqlEventStore,
    history: PriceHistory,
    portfolio_ids: Sequence[str] | None = None,
    start: date | None = None,
    end: date | None = None,
    progress: Progress | None = None,
) -> Report:
    """The report of ``portfolio_ids`` (every configured one by default) between ``start`` and
    ``end`` (market dates, both included), read from ``store``."""
    check_request(config, portfolio_ids, start, end)
    log = RunLog()
    first = first_seq_of_run(store)
    total = max(store.last_seq() - first + 1, 0)
    for k, event in enumerate(store.iter_from(first, event_types=LOG_EVENTS)):
        log.observe(event)
        if progress is not None and k % 5_000 == 0:
            progress("reading the event log", int(event.seq or 0) - first + 1, total)
    return report_from_log(config, log, history, portfolio_ids, start, end, progress)


def check_request(
    config: AppConfig,
    portfolio_ids: Sequence[str] | None,
    start: date | None,
    end: date | None,
) -> None:
    """Refuse portfolios the configuration lacks and a range that ends before it starts."""
    known = [p.id for p in config.portfolios]
    unknown = [pid for pid in portfolio_ids or () if pid not in known]
    if unknown:
        raise ConfigError(
            f"--portfolio: {', '.join(unknown)} not in the configuration ({', '.join(known)})"
        )
    if start is not None and end is not None and start > end:
        raise ConfigError(f"--from {start} is after --to {end}")


def report_from_log(
    config: AppConfig,
    log: RunLog,
    history: PriceHistory,
    portfolio_ids: Sequence[str] | None = None,
    start: date | None = None,
    end: date | None = None,
    progress: Progress | None = None,
) -> Report:
    """The report from a folded log (see ``build_report``)."""
    check_request(config, portfolio_ids, start, end)
    known = {p.id: p for p in config.portfolios}
    chosen = list(portfolio_ids or known)
    close = price_frame(history)
    exposures: ExposureCache = {}
    analyses, skipped, entries = [], {}, {}
    for k, pid in enumerate(chosen):
        if progress is not None:
            progress("measuring the portfolios", k, len(chosen))
        run = log.portfolio_run(known[pid], start, end)
        analysis = analyse(config, run, history, close, exposures)
        if analysis is None:
            skipped[pid] = f"{len(run.nav_usd)} day(s) of NAV in the range: nothing to measure"
            entries[pid] = {"name": known[pid].name, "metrics": None, "days": len(run.nav_usd)}
            continue
        analyses.append(analysis)
        entries[pid] = analysis.to_dict()
    orders = log.execution.orders(start, end)
    orders = orders[orders["portfolio"].isin(chosen)]
    savings = log.execution.savings(start, end)
    savings = savings[savings["portfolio"].isin(chosen)]
    execution = {f"by_{group}": quality_by(orders, savings, group) for group in GROUPS}
    by_portfolio = {
        pid: quality_by(orders[orders["portfolio"] == pid], savings, "algorithm") for pid in chosen
    }
    gate_events = [
        e
        for e, day in zip(log.gate_events, log.gate_event_dates, strict=True)
        if _within(day, start, end)
    ]
    coordination = coordination_effectiveness(gate_events, len(known))
    metrics = metrics_document(config, entries)
    metrics["execution_quality"] = {name: t.to_dict("records") for name, t in execution.items()}
    metrics["coordination"] = coordination.to_dict()
    if progress is not None:
        progress("measuring the portfolios", len(chosen), len(chosen))
    return Report(
        start, end, tuple(analyses), skipped, execution, by_portfolio, coordination, metrics
    )


def _within(day: str | None, start: date | None, end: date | None) -> bool:
    if day is None:
        return True  # after the last cycle: counted whatever the range
    on = date.fromisoformat(day)
    return (start is None or on >= start) and (end is None or on <= end)
