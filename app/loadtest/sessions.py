"""Simulated desks: N browser tabs, each cycling over every page at the dashboard's refresh.

Session ``i`` opens page ``i`` (modulo the number of pages), stays ``dwell_ticks`` refresh ticks
and moves to the next page, so a few sessions cover every page. Each tab runs its chain of
callbacks to the end before the next tick: a tab whose chain outlasts the refresh interval counts
the ticks it could not send as *missed* (a browser would have sent them anyway, so under
saturation the real load is higher than this tool's).
"""

from __future__ import annotations

import http.client
import json
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from app.loadtest.dash_client import CallbackAnswer, DashTab
from app.loadtest.report import LoadReport, Recorder
from app.loadtest.server import HOST, ServerProcess

DEFAULT_INTERVAL_MS = 1000  # dcc.Interval's own default
JOIN_TIMEOUT_S = 180.0


class LoadToolError(RuntimeError):
    """The load test itself failed (not the server being slow)."""


@dataclass(frozen=True, slots=True)
class LoadSettings:
    sessions: int = 10
    seconds: float = 60.0
    threads: int = 8
    dwell_ticks: int = 10
    # Stop once every session has spent dwell_ticks on every page this many times (or at
    # ``seconds``, whichever comes first): tests wait on ticks, not on the clock.
    laps: int | None = None
    pages: tuple[str, ...] = ()  # empty: every page the layout links to
    config: Path | None = None
    progress_every_s: float = 10.0
    # The engine runs alone this long first, so that the pages show a longer history (the
    # Trades page's tables grow with it).
    warmup_s: float = 0.0


class Session(threading.Thread):
    """One simulated browser tab."""

    def __init__(
        self,
        index: int,
        port: int,
        pages: list[str],
        settings: LoadSettings,
        recorder: Recorder,
        stop: threading.Event,
    ) -> None:
        super().__init__(name=f"session-{index}", daemon=True)
        self._port = port
        self._pages = pages
        self._position = index % len(pages)
        self._settings = settings
        self._recorder = recorder
        self._stop_event = stop
        self.page = pages[self._position]
        self.failure: str | None = None
        self.finished_laps = False

    def run(self) -> None:
        tab = DashTab(HOST, self._port, on_answer=self._record)
        try:
            self._browse(tab)
        except Exception:  # a bug of the tool, reported by the runner as such
            self.failure = traceback.format_exc()
        finally:
            tab.close()

    def _record(self, answer: CallbackAnswer) -> None:
        self._recorder.answer(
            self.page,
            answer.output,
            answer.status,
            answer.latency_ms,
            answer.wire_bytes,
            answer.error,
        )

    def _browse(self, tab: DashTab) -> None:
        opened = time.perf_counter()
        first = tab.load()
        self._navigate(tab, self.page, opened, first.cut)
        due: dict[str, float] = {}
        ticks_on_page, pages_done = 0, 0
        laps = self._settings.laps
        while not self._stop_event.is_set():
            self._schedule(tab, due)
            if not due:  # a page without a timer: nothing refreshes, just stay
                if self._stop_event.wait(1.0):
                    return
                continue
            if self._stop_event.wait(max(0.0, min(due.values()) - time.monotonic())):
                return
            refresh = min(due, key=lambda key: self._interval_s(tab, key))
            fired = [key for key, at in due.items() if at <= time.monotonic()]
            chain = tab.set_props(self._ticks(tab, fired))
            missed = self._advance(tab, due, fired, refresh)
            if refresh not in fired:
                continue
            self._recorder.tick(self.page, chain.wire_bytes, len(chain.answers), missed, chain.cut)
            ticks_on_page += 1
            if ticks_on_page < self._settings.dwell_ticks:
                continue
            ticks_on_page, pages_done = 0, pages_done + 1
            if laps is not None and pages_done >= laps * len(self._pages):
                self.finished_laps = True
                return
            self._position = (self._position + 1) % len(self._pages)
            self.page = self._pages[self._position]
            self._navigate(tab, self.page, time.perf_counter(), False)
            due.clear()  # the new page's timers start with it

    def _navigate(self, tab: DashTab, path: str, started: float, cut: bool) -> None:
        """Follow a link: the app's dcc.Location takes the new path, its callbacks do the rest;
        settled when the whole chain has answered."""
        href = f"http://{HOST}:{self._port}{path}"
        locations = {
            key: {"pathname": path, "search": "", "hash": "", "href": href}
            for key in tab.components_of_type("Location")
        }
        chain = tab.set_props(locations)
        self._recorder.visit(path, time.perf_counter() - started, cut or chain.cut)

    def _interval_s(self, tab: DashTab, key: str) -> float:
        return float(tab.props.get(key, {}).get("interval") or DEFAULT_INTERVAL_MS) / 1000

    def _schedule(self, tab: DashTab, due: dict[str, float]) -> None:
        """Start the timers of the page's dcc.Interval components; forget those gone."""
        present = set(tab.components_of_type("Interval"))
        for key in list(due):
            if key not in present:
                del due[key]
        for key in present - set(due):
            due[key] = time.monotonic() + self._interval_s(tab, key)

    def _ticks(self, tab: DashTab, fired: list[str]) -> dict[str, dict[str, Any]]:
        updates = {}
        for key in fired:
            props = tab.props.get(key, {})
            count = props.get("n_intervals") or 0
            limit = props.get("max_intervals", -1)
            if props.get("disabled") or (limit not in (None, -1) and count >= limit):
                continue
            updates[key] = {"n_intervals": count + 1}
        return updates

    def _advance(self, tab: DashTab, due: dict[str, float], fired: list[str], refresh: str) -> int:
        """Move the fired timers to their next tick after now; the refresh ticks skipped."""
        now, missed = time.monotonic(), 0
        for key in fired:
            step = self._interval_s(tab, key)
            due[key] += step
            while due[key] <= now:
                due[key] += step
                missed += key == refresh
        return missed


def _health(port: int) -> dict[str, Any]:
    connection = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        connection.request("GET", "/api/health")
        return json.loads(connection.getresponse().read())
    finally:
        connection.close()


def discover_pages(port: int) -> list[str]:
    """The pages the layout's navigation links to, as a visitor would find them."""
    tab = DashTab(HOST, port)
    try:
        tab.load()
        return tab.links() or ["/"]
    finally:
        tab.close()


def run_dashboard_load(
    settings: LoadSettings, progress: Callable[[str], None], command: str
) -> LoadReport:
    """Serve the dashboard in a subprocess, drive it with ``settings.sessions`` tabs, report."""
    with (
        TemporaryDirectory(prefix="pcoord-bench-dashboard-") as scratch,
        ServerProcess(Path(scratch), settings.threads, settings.config) as server,
    ):
        progress(f"server up on {HOST}:{server.port} ({settings.threads} threads)")
        _warm_up(settings, server, progress)
        before = _health(server.port)
        pages = list(settings.pages) or discover_pages(server.port)
        progress(f"{settings.sessions} sessions over {len(pages)} pages: {' '.join(pages)}")
        recorder = Recorder()
        stop = threading.Event()
        sessions = [
            Session(index, server.port, pages, settings, recorder, stop)
            for index in range(settings.sessions)
        ]
        started, cpu_started = time.monotonic(), time.process_time()
        for session in sessions:
            session.start()
        try:
            _watch(settings, server, recorder, sessions, started, progress)
        finally:
            stop.set()
            for session in sessions:
                session.join(JOIN_TIMEOUT_S)
        elapsed = time.monotonic() - started
        client_cpu_s = time.process_time() - cpu_started
        server.check_alive()
        after = _health(server.port)
        warnings = server.queue_warnings()
    failures = [s.failure for s in sessions if s.failure]
    if failures:
        raise LoadToolError(f"{len(failures)} session(s) failed; the first:\n{failures[0]}")
    stuck = [s.name for s in sessions if s.is_alive()]
    if stuck:
        raise LoadToolError(f"sessions still running after {JOIN_TIMEOUT_S:.0f} s: {stuck}")
    return LoadReport(
        command=command,
        sessions=settings.sessions,
        seconds=elapsed,
        threads=settings.threads,
        dwell_ticks=settings.dwell_ticks,
        pages=recorder.summary(pages),
        queue_warnings=warnings.count,
        max_queue_depth=warnings.max_depth,
        engine_cycles=int(after["cycles_completed"]) - int(before["cycles_completed"]),
        market_dates=(str(before["market_date"] or "start"), str(after["market_date"])),
        chains_cut=recorder.chains_cut,
        client_cpu_s=client_cpu_s,
        error_examples=recorder.error_examples,
    )


def _warm_up(
    settings: LoadSettings, server: ServerProcess, progress: Callable[[str], None]
) -> None:
    """Let the engine run with no session for ``settings.warmup_s``."""
    started = time.monotonic()
    next_report = started + settings.progress_every_s
    while (left := started + settings.warmup_s - time.monotonic()) > 0:
        time.sleep(min(left, max(0.0, next_report - time.monotonic()), 1.0))
        server.check_alive()
        if time.monotonic() >= next_report:
            next_report += settings.progress_every_s
            elapsed = time.monotonic() - started
            progress(f"warm-up {elapsed:4.0f} s: market {_market_date(server.port)}")


def _watch(
    settings: LoadSettings,
    server: ServerProcess,
    recorder: Recorder,
    sessions: list[Session],
    started: float,
    progress: Callable[[str], None],
) -> None:
    """Until the time is up (or every session did its laps): a progress line now and then."""
    next_report = started + settings.progress_every_s
    while True:
        now = time.monotonic()
        if now - started >= settings.seconds or not any(s.is_alive() for s in sessions):
            return
        time.sleep(min(0.25, max(0.0, started + settings.seconds - now)))
        server.check_alive()
        if time.monotonic() >= next_report:
            next_report += settings.progress_every_s
            requests, p95_ms, errors = recorder.progress()
            warnings = server.queue_warnings()
            progress(
                f"{time.monotonic() - started:4.0f} s: {requests} callbacks, p95 {p95_ms:.0f} ms, "
                f"{errors} errors, {warnings.count} queue warnings, "
                f"market {_market_date(server.port)}"
            )


def _market_date(port: int) -> str:
    """The engine's market date for a progress line; '?' when the server is too busy to say."""
    try:
        return str(_health(port)["market_date"])
    except (OSError, ValueError, KeyError):
        return "?"
