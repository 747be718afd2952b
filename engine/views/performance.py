"""The Performance page's read model: a run log kept up to date from the event store, and the
report (engine/performance/report.py) for the portfolios and dates a person picks.

The log is read forward from where it stopped, so each refresh costs only the new events; a
report is worked out again only when the log has grown or the choice changed, and the last few
are kept (a page's panels and a download ask for the same one).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from datetime import date

from engine.config import AppConfig
from engine.events.store import SqlEventStore
from engine.market.data import PriceHistory
from engine.performance.report import Report, first_seq_of_run, report_from_log
from engine.performance.run_log import EVENT_TYPES, RunLog

# Events read per query while catching up: a whole history is read in a few.
READ_BATCH = 20_000
REPORTS_KEPT = 4

ReportKey = tuple[tuple[str, ...], date | None, date | None, int]


class PerformanceReadModel:
    def __init__(self, store: SqlEventStore, config: AppConfig, history: PriceHistory | None):
        self.config = config
        self._store = store
        self._history = history
        self._lock = threading.Lock()
        self._log = RunLog()
        self._next_seq = first_seq_of_run(store)
        self._reports: OrderedDict[ReportKey, Report] = OrderedDict()

    @property
    def available(self) -> bool:
        """Whether the market keeps a price history to measure benchmarks against."""
        return self._history is not None

    def catch_up(self) -> int:
        """Fold the events stored since the last call; the last sequence number folded."""
        with self._lock:
            return self._catch_up()

    def _catch_up(self) -> int:
        while True:
            batch = self._store.read_from(self._next_seq, READ_BATCH, event_types=EVENT_TYPES)
            for event in batch:
                self._log.observe(event)
            if batch:
                self._next_seq = int(batch[-1].seq or 0) + 1
            if len(batch) < READ_BATCH:
                return self._log.last_seq

    def date_range(self) -> tuple[date | None, date | None]:
        """The first and last market dates of the run so far."""
        with self._lock:
            self._catch_up()
            first, last = self._log.first_date, self._log.last_date
        return (
            date.fromisoformat(first) if first else None,
            date.fromisoformat(last) if last else None,
        )

    def report(
        self,
        portfolio_ids: Sequence[str],
        start: date | None,
        end: date | None,
        *,
        refresh: bool = True,
    ) -> Report | None:
        """The report of ``portfolio_ids`` between ``start`` and ``end``; None when the market
        keeps no price history (see ``available``) or nothing has been recorded yet. Without
        ``refresh`` the log is taken as it stands (a chart option changed: no new events are
        read, so a running engine does not make every click measure everything again)."""
        if self._history is None:
            return None
        with self._lock:
            last = self._catch_up() if refresh or not self._log.cycles else self._log.last_seq
            if not self._log.cycles:
                return None
            key = (tuple(portfolio_ids), start, end, last)
            if key in self._reports:
                self._reports.move_to_end(key)
                return self._reports[key]
            # Under the lock: the log must not move while it is measured.
            report = report_from_log(
                self.config, self._log, self._history, list(portfolio_ids), start, end
            )
            self._reports[key] = report
            while len(self._reports) > REPORTS_KEPT:
                self._reports.popitem(last=False)
            return report
