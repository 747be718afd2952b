"""Past one machine: what the measured scaling curve says about portfolios spread over several
engine processes (the scale path in ARCHITECTURE.md), written into docs/benchmarks.md by
``pcoord bench --suite``.

Each stage's time at one universe size is fitted as a line in the number of portfolios through
the two sizes measured (1 and 10 portfolios): ``shared + portfolios * per_portfolio``. The shared
part is work done once per cycle whatever the book (the market bar, the signals, the risk
model's estimate); the per-portfolio part is what a portfolio adds (its solve, its orders, its
fills and their events, its part of the snapshot). Several engine processes that share the
portfolios through a Key_Shared subscription keyed by portfolio id each repeat the shared part and
run the per-portfolio part for their own portfolios only, in parallel.

Two figures per layout:

- *independent*: each process has its own core and its own event-store partition, so the cycle
  is ``shared + ceil(P / K) * per_portfolio``;
- *one events table*: the processes append to one PostgreSQL ``events`` table, whose append lock
  (engine/events/store.py) lets one writer in at a time. If every process reaches its append at
  the same moment the last one waits for the others, so the events stage costs the whole
  ``P * events_per_portfolio`` for it: a bound, not an average.

What the model leaves out is said in the report: crossing between portfolios held by different
processes (netting only sees a process's own orders) and the Pulsar hop of the market bar.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from engine.bench.cycle_bench import CycleBenchResult

# The layouts the report projects: (portfolios, engine processes).
LAYOUTS = ((10, 1), (10, 2), (10, 5), (10, 10), (100, 10), (100, 20), (1000, 100))
EVENTS_STAGE = "events"


@dataclass(frozen=True, slots=True)
class ScaleModel:
    """One universe size's stage times as ``shared + portfolios * per_portfolio`` (ms)."""

    instruments: int
    quantile: str
    shared_ms: dict[str, float]
    per_portfolio_ms: dict[str, float]
    events_per_portfolio_cycle: float

    @classmethod
    def fit(
        cls, one: CycleBenchResult, many: CycleBenchResult, quantile: str = "p50_ms"
    ) -> ScaleModel:
        """The line through the stage figures of two runs at one universe size."""
        if one.instruments != many.instruments:
            raise ValueError(
                f"instruments: runs of {one.instruments} and {many.instruments} instruments "
                "cannot be fitted together (one universe size at a time)"
            )
        if many.portfolios <= one.portfolios:
            raise ValueError(
                f"portfolios: the second run must hold more portfolios than the first "
                f"({many.portfolios} <= {one.portfolios})"
            )
        gap = many.portfolios - one.portfolios
        shared, per = {}, {}
        for stage, figures in many.stages.items():
            low, high = one.stages[stage][quantile], figures[quantile]
            # A stage that measured faster with more portfolios is noise, not a negative cost.
            slope = max((high - low) / gap, 0.0)
            per[stage] = slope
            shared[stage] = max(low - slope * one.portfolios, 0.0)
        # Events per cycle on the same line: its slope is what a portfolio adds.
        per_cycle_one = one.measured_events / max(one.cycles, 1)
        per_cycle_many = many.measured_events / max(many.cycles, 1)
        events = (per_cycle_many - per_cycle_one) / gap
        return cls(many.instruments, quantile, shared, per, max(events, 0.0))

    @property
    def per_portfolio_total_ms(self) -> float:
        return sum(self.per_portfolio_ms.values())

    @property
    def shared_total_ms(self) -> float:
        return sum(self.shared_ms.values())

    def cycle_ms(self, portfolios: int, processes: int = 1) -> float:
        """The slowest process's cycle with ``portfolios`` spread evenly over ``processes``."""
        _check_layout(portfolios, processes)
        return self.shared_total_ms + math.ceil(portfolios / processes) * (
            self.per_portfolio_total_ms
        )

    def cycle_ms_one_events_table(self, portfolios: int, processes: int) -> float:
        """As ``cycle_ms``, with every process's append queued behind the others' (the bound)."""
        own = self.cycle_ms(portfolios, processes)
        per_event_stage = self.per_portfolio_ms.get(EVENTS_STAGE, 0.0)
        waiting = (portfolios - math.ceil(portfolios / processes)) * per_event_stage
        return own + max(waiting, 0.0)


def _check_layout(portfolios: int, processes: int) -> None:
    if portfolios < 1:
        raise ValueError(f"portfolios: {portfolios} (at least 1)")
    if processes < 1:
        raise ValueError(f"processes: {processes} (at least 1)")


def fit_curve(results: Sequence[CycleBenchResult], quantile: str = "p50_ms") -> list[ScaleModel]:
    """One model per universe size measured at two or more portfolio counts (fewest and most)."""
    by_size: dict[int, list[CycleBenchResult]] = {}
    for result in results:
        by_size.setdefault(result.instruments, []).append(result)
    models = []
    for size in sorted(by_size):
        runs = sorted(by_size[size], key=lambda r: r.portfolios)
        if len(runs) >= 2 and runs[-1].portfolios > runs[0].portfolios:
            models.append(ScaleModel.fit(runs[0], runs[-1], quantile))
    return models


def markdown(results: Sequence[CycleBenchResult], relay_events_per_second: float | None) -> str:
    """The report's section on spreading portfolios over several engine processes."""
    medians, tails = fit_curve(results, "p50_ms"), fit_curve(results, "p95_ms")
    if not medians:
        return ""
    lines = [
        "## Past one machine",
        "",
        "Each stage's time is fitted from the table above as *shared + portfolios x "
        "per-portfolio* (the line through the 1- and 10-portfolio runs of each size; "
        "engine/bench/scale.py). Portfolios spread over *K* engine processes by a Key_Shared "
        "Pulsar subscription keyed by portfolio id (ARCHITECTURE.md, scale path): each process "
        "repeats the shared work and runs its own portfolios. Each process is assumed to have "
        "what it had here: a machine of this one's cores, the engine thread and its solver "
        "processes (the solver workers column; BLAS held to one thread each). Measured on "
        "SQLite; PostgreSQL's append costs more per event.",
        "",
        "| instruments | shared ms (p50 / p95) | per portfolio ms (p50 / p95) | largest "
        "per-portfolio stages (p50 ms) | events per portfolio-cycle |",
        "| ---: | ---: | ---: | --- | ---: |",
    ]
    for median, tail in zip(medians, tails, strict=True):
        top = sorted(
            ((name, ms) for name, ms in median.per_portfolio_ms.items() if ms > 0),
            key=lambda kv: -kv[1],
        )[:3]
        lines.append(
            f"| {median.instruments:,} | {median.shared_total_ms:.1f} / {tail.shared_total_ms:.1f}"
            f" | {median.per_portfolio_total_ms:.1f} / {tail.per_portfolio_total_ms:.1f} | "
            + ", ".join(f"{name} {ms:.1f}" for name, ms in top)
            + f" | {median.events_per_portfolio_cycle:,.0f} |"
        )
    header = " | ".join(f"{p:,} on {k}" for p, k in LAYOUTS)
    lines += [
        "",
        "Projected cycle, ms: p50 / p95 (p95 figures add stage p95s, so they are an upper "
        "bound), for *portfolios on processes*; the second line of each size queues every "
        "process's append behind the others' on one PostgreSQL events table (its append lock "
        "admits one writer at a time).",
        "",
        f"| instruments | layout | {header} |",
        "| ---: | --- |" + " ---: |" * len(LAYOUTS),
    ]
    for median, tail in zip(medians, tails, strict=True):
        independent = " | ".join(
            f"{median.cycle_ms(p, k):,.0f} / {tail.cycle_ms(p, k):,.0f}" for p, k in LAYOUTS
        )
        shared_log = " | ".join(
            f"{median.cycle_ms_one_events_table(p, k):,.0f} / "
            f"{tail.cycle_ms_one_events_table(p, k):,.0f}"
            for p, k in LAYOUTS
        )
        lines.append(f"| {median.instruments:,} | own store | {independent} |")
        lines.append(f"| {median.instruments:,} | one events table | {shared_log} |")
    lines += ["", *_reading(medians, relay_events_per_second)]
    return "\n".join(lines) + "\n"


def _reading(models: Sequence[ScaleModel], relay_events_per_second: float | None) -> list[str]:
    largest = models[-1]
    ten = largest.cycle_ms(10, 1)
    spread = largest.cycle_ms(10, 5)
    lines = [
        f"How to read it: at {largest.instruments:,} instruments a portfolio costs "
        f"{largest.per_portfolio_total_ms:.0f} ms of a cycle at the median and the shared work "
        f"{largest.shared_total_ms:.0f} ms, so ten portfolios in one process take about "
        f"{ten:,.0f} ms and on five processes (five such machines) about "
        f"{spread:,.0f} ms. The shared part is the floor that more processes cannot lower; "
        "it is repeated in each process, which costs cores, not latency.",
        "",
        "- **The event log.** With one PostgreSQL events table the appends take turns, so at "
        "many processes the append becomes the serial part (the second line). The way past it "
        "is a store partition per group of processes, with Pulsar ordering events per portfolio "
        "(the per-portfolio sequence numbers are what readers rely on; the global sequence "
        "would become one per partition). Not built: one store is the system of record today.",
        "- **Crossing.** Netting and internal crossing see only the orders of one process's "
        "portfolios, so crossing between portfolios held by different processes is lost and "
        "those shares go to the market (keep portfolios that trade against each other on the "
        "same key, e.g. by tenant).",
        "- **The market bar and signals** reach every process through Pulsar; the hop "
        "(milliseconds on one network) is not in the figures, and every process computes the "
        "same risk-model estimate (the shared part) rather than receiving it.",
        "- **Limits** are per portfolio (engine/risk/limits.py), so the gate needs nothing from "
        "another process; a firm-wide limit over several processes' portfolios would need an "
        "aggregate read model and is not modelled.",
    ]
    if relay_events_per_second:
        rate = largest.events_per_portfolio_cycle * 10 / max(ten / 1000.0, 1e-9)
        lines.append(
            f"- **Pulsar relay.** Ten portfolios at {largest.instruments:,} instruments in one "
            "process write "
            f"about {rate:,.0f} events/s at one cycle after another; the outbox relay measured "
            f"{relay_events_per_second:,.0f} events/s, so one relay per process keeps up with "
            f"{relay_events_per_second / max(rate, 1e-9):,.1f}x headroom."
        )
    return lines
