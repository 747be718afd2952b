"""What the simulated sessions measured, per page and overall, and how it reads against the
targets of issue 19: callback p95 under 100 ms, no queue warnings, no response over 100 KiB."""

from __future__ import annotations

import math
import threading
from dataclasses import asdict, dataclass, field
from typing import Any

TARGET_P95_MS = 100.0
TARGET_MAX_RESPONSE_KIB = 100.0
KIB = 1024
ALL_PAGES = "all pages"


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile (0 for no values): the value ``fraction`` of them are at or
    under."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(fraction * len(ordered))))
    return ordered[rank - 1]


@dataclass(slots=True)
class _PageSamples:
    latencies_ms: list[float] = field(default_factory=list)
    sizes_bytes: list[int] = field(default_factory=list)
    errors: int = 0
    settle_s: list[float] = field(default_factory=list)
    tick_bytes: list[int] = field(default_factory=list)
    tick_requests: list[int] = field(default_factory=list)
    missed_ticks: int = 0
    visits: int = 0
    by_callback: dict[str, list[float]] = field(default_factory=dict)
    size_by_callback: dict[str, int] = field(default_factory=dict)


class Recorder:
    """Collects samples from every session's threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pages: dict[str, _PageSamples] = {}
        self.error_examples: list[str] = []
        self.chains_cut = 0

    def answer(
        self, page: str, output: str, status: int, latency_ms: float, size: int, error: str
    ) -> None:
        with self._lock:
            samples = self._page(page)
            samples.latencies_ms.append(latency_ms)
            samples.sizes_bytes.append(size)
            samples.by_callback.setdefault(output, []).append(latency_ms)
            samples.size_by_callback[output] = max(samples.size_by_callback.get(output, 0), size)
            if status not in (200, 204):
                samples.errors += 1
                if len(self.error_examples) < 5:
                    self.error_examples.append(f"{page} {output[:60]}: HTTP {status} {error}")

    def visit(self, page: str, settle_s: float, cut: bool) -> None:
        with self._lock:
            samples = self._page(page)
            samples.visits += 1
            samples.settle_s.append(settle_s)
            self.chains_cut += cut

    def tick(self, page: str, wire_bytes: int, requests: int, missed: int, cut: bool) -> None:
        with self._lock:
            samples = self._page(page)
            samples.tick_bytes.append(wire_bytes)
            samples.tick_requests.append(requests)
            samples.missed_ticks += missed
            self.chains_cut += cut

    def progress(self) -> tuple[int, float, int]:
        """(callback requests, their p95 latency in ms, errors) so far."""
        with self._lock:
            latencies = [v for s in self._pages.values() for v in s.latencies_ms]
            errors = sum(s.errors for s in self._pages.values())
        return len(latencies), percentile(latencies, 0.95), errors

    def summary(self, pages: list[str]) -> list[PageFigures]:
        """Figures per page in ``pages`` order, then all pages together."""
        with self._lock:
            rows = [_figures(page, self._pages.get(page, _PageSamples())) for page in pages]
            merged = _PageSamples()
            for samples in self._pages.values():
                merged.latencies_ms += samples.latencies_ms
                merged.sizes_bytes += samples.sizes_bytes
                merged.errors += samples.errors
                merged.settle_s += samples.settle_s
                merged.tick_bytes += samples.tick_bytes
                merged.tick_requests += samples.tick_requests
                merged.missed_ticks += samples.missed_ticks
                merged.visits += samples.visits
                for output, values in samples.by_callback.items():
                    merged.by_callback.setdefault(output, []).extend(values)
                    merged.size_by_callback[output] = max(
                        merged.size_by_callback.get(output, 0), samples.size_by_callback[output]
                    )
        return [*rows, _figures(ALL_PAGES, merged)]

    def _page(self, page: str) -> _PageSamples:
        return self._pages.setdefault(page, _PageSamples())


@dataclass(frozen=True, slots=True)
class PageFigures:
    page: str
    visits: int
    requests: int
    p50_ms: float
    p95_ms: float
    max_ms: float
    mean_kib: float
    max_kib: float
    errors: int
    settle_mean_s: float
    settle_max_s: float
    ticks: int
    kib_per_tick: float
    requests_per_tick: float
    missed_ticks: int
    slowest_callback: str
    slowest_callback_p95_ms: float
    largest_callback: str
    largest_callback_kib: float


def _figures(page: str, samples: _PageSamples) -> PageFigures:
    latencies, sizes = samples.latencies_ms, samples.sizes_bytes
    slowest = max(
        samples.by_callback.items(), key=lambda item: percentile(item[1], 0.95), default=("", [])
    )
    largest = max(samples.size_by_callback.items(), key=lambda item: item[1], default=("", 0))
    ticks = len(samples.tick_bytes)
    return PageFigures(
        page=page,
        visits=samples.visits,
        requests=len(latencies),
        p50_ms=percentile(latencies, 0.50),
        p95_ms=percentile(latencies, 0.95),
        max_ms=max(latencies, default=0.0),
        mean_kib=sum(sizes) / len(sizes) / KIB if sizes else 0.0,
        max_kib=max(sizes, default=0) / KIB,
        errors=samples.errors,
        settle_mean_s=sum(samples.settle_s) / len(samples.settle_s) if samples.settle_s else 0.0,
        settle_max_s=max(samples.settle_s, default=0.0),
        ticks=ticks,
        kib_per_tick=sum(samples.tick_bytes) / ticks / KIB if ticks else 0.0,
        requests_per_tick=sum(samples.tick_requests) / ticks if ticks else 0.0,
        missed_ticks=samples.missed_ticks,
        slowest_callback=_short(slowest[0]),
        slowest_callback_p95_ms=percentile(slowest[1], 0.95),
        largest_callback=_short(largest[0]),
        largest_callback_kib=largest[1] / KIB,
    )


def _short(output: str) -> str:
    """A callback's first output, for a table: '..a.children...b.figure..' -> 'a.children+1'."""
    parts = [part for part in output.strip(".").split("...") if part]
    if not parts:
        return ""
    return parts[0] + (f"+{len(parts) - 1}" if len(parts) > 1 else "")


@dataclass(frozen=True, slots=True)
class LoadReport:
    """The whole run: settings, per-page figures, the server's queue warnings, the verdict."""

    command: str
    sessions: int
    seconds: float
    threads: int
    dwell_ticks: int
    pages: list[PageFigures]
    queue_warnings: int
    max_queue_depth: int
    engine_cycles: int
    market_dates: tuple[str, str]
    chains_cut: int
    error_examples: list[str]
    # CPU the simulated sessions took (all their threads): the server had the rest of the cores.
    client_cpu_s: float

    @property
    def overall(self) -> PageFigures:
        return self.pages[-1]

    def verdict(self) -> str:
        overall = self.overall
        checks = [
            (overall.p95_ms < TARGET_P95_MS, f"callback p95 {overall.p95_ms:.0f} ms (< 100)"),
            (self.queue_warnings == 0, f"queue warnings {self.queue_warnings} (0)"),
            (
                overall.max_kib <= TARGET_MAX_RESPONSE_KIB,
                f"largest response {overall.max_kib:.0f} KiB (<= 100)",
            ),
        ]
        met = all(ok for ok, _text in checks)
        return ("targets MET: " if met else "targets NOT met: ") + "; ".join(
            f"{text} {'ok' if ok else 'MISSED'}" for ok, text in checks
        )

    def as_dict(self) -> dict[str, Any]:
        figures = asdict(self)
        figures["verdict"] = self.verdict()
        return figures

    def format(self) -> str:
        header = (
            f"{'page':<12} {'visits':>6} {'reqs':>6} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7} "
            f"{'mean KiB':>8} {'max KiB':>8} {'errs':>5} {'settle s':>8} {'settle max':>10} "
            f"{'KiB/tick':>8} {'reqs/tick':>9} {'missed':>6}"
        )
        lines = [
            f"{self.command}",
            f"{self.sessions} sessions x {self.seconds:.0f} s, {self.threads} server threads, "
            f"page changes every {self.dwell_ticks} refresh ticks; engine ran "
            f"{self.engine_cycles} cycles ({self.market_dates[0]} -> {self.market_dates[1]})",
            header,
            "-" * len(header),
        ]
        for row in self.pages:
            lines.append(
                f"{row.page:<12} {row.visits:>6} {row.requests:>6} {row.p50_ms:>7.0f} "
                f"{row.p95_ms:>7.0f} {row.max_ms:>7.0f} {row.mean_kib:>8.1f} {row.max_kib:>8.1f} "
                f"{row.errors:>5} {row.settle_mean_s:>8.2f} {row.settle_max_s:>10.2f} "
                f"{row.kib_per_tick:>8.1f} {row.requests_per_tick:>9.1f} {row.missed_ticks:>6}"
            )
        lines.append("")
        lines.append("slowest and largest callback per page:")
        for row in self.pages[:-1]:
            lines.append(
                f"  {row.page:<12} p95 {row.slowest_callback_p95_ms:>6.0f} ms "
                f"{row.slowest_callback:<40} largest {row.largest_callback_kib:>6.1f} KiB "
                f"{row.largest_callback}"
            )
        lines.append(
            f"waitress queue warnings: {self.queue_warnings} (deepest queue "
            f"{self.max_queue_depth}); chains cut at the wave limit: {self.chains_cut}"
        )
        lines.append(
            f"the simulated sessions used {self.client_cpu_s:.1f} s of CPU in "
            f"{self.seconds:.0f} s ({self.client_cpu_s / max(self.seconds, 1e-9):.0%} of one core)"
        )
        lines += [f"error: {example}" for example in self.error_examples]
        lines.append(self.verdict())
        return "\n".join(lines)
