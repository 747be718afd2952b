"""``pcoord bench --suite``: the scaling curve and the event throughput, written to
``docs/benchmarks.md`` with a plot (``docs/benchmarks.png``).

Each size of the curve (instruments x portfolios) runs in a fresh process, so that its peak
memory is its own and no compiled problem or cache carries over from a smaller size.
"""

from __future__ import annotations

import multiprocessing
import platform
import tempfile
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from engine.bench import scale
from engine.bench.cycle_bench import (
    P95_TARGET_BY_SIZE,
    P99_TARGET_BY_SIZE,
    CycleBenchResult,
    run_cycle_bench,
)
from engine.performance.latency import (
    SEED_GATE_P95_MS,
    TARGET_INSTRUMENTS,
    TARGET_P95_MS,
    TARGET_PORTFOLIOS,
)

INSTRUMENTS = (100, 500, 2000)
PORTFOLIOS = (1, 10)


def _run_one(args: tuple[int, int, int, int]) -> CycleBenchResult:
    return run_cycle_bench(*args)


def run_scaling(
    cycles: int,
    warmup: int,
    instruments: Sequence[int] = INSTRUMENTS,
    portfolios: Sequence[int] = PORTFOLIOS,
    progress: Callable[[str], None] = print,
) -> list[CycleBenchResult]:
    results = []
    context = multiprocessing.get_context("spawn")
    for n in instruments:
        for p in portfolios:
            progress(f"bench: {n} instruments x {p} portfolios, {cycles} cycles ...")
            with context.Pool(1) as pool:
                result = pool.apply(_run_one, ((n, p, cycles, warmup),))
            progress(
                f"  cycle p50 {result.cycle['p50_ms']:.1f} ms, p95 {result.cycle['p95_ms']:.1f} "
                f"ms; slowest stage {result.slowest_stage}"
            )
            results.append(result)
    return results


def run_event_throughput(events: int, pulsar_url: str | None) -> dict[str, object]:
    from engine.bench.store_bench import run_store_bench

    with tempfile.TemporaryDirectory(prefix="pcoord-suite-") as scratch:
        store = run_store_bench(f"sqlite:///{scratch}/store.db", events).as_dict()
        throughput: dict[str, object] = {"embedded": store}
        if pulsar_url:
            from engine.bench.pulsar_bench import run_pulsar_bench

            throughput["pulsar"] = run_pulsar_bench(
                pulsar_url, Path(scratch), events=events, outage_seconds=0, progress=lambda _: None
            )
    return throughput


def plot(results: Sequence[CycleBenchResult], path: Path) -> None:
    """Cycle latency (p50 and p95) against instruments, one line per portfolio count, with the
    seed gate and our targets."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(7.5, 4.5), dpi=120)
    for count in sorted({r.portfolios for r in results}):
        rows = sorted((r for r in results if r.portfolios == count), key=lambda r: r.instruments)
        x = [r.instruments for r in rows]
        axis.plot(x, [r.cycle["p95_ms"] for r in rows], "o-", label=f"{count} portfolio(s), p95")
        axis.plot(x, [r.cycle["p50_ms"] for r in rows], "o--", alpha=0.6, label=f"{count}, p50")
    axis.axhline(SEED_GATE_P95_MS, color="grey", linestyle=":", label="seed gate p95 200 ms")
    axis.axhline(
        TARGET_P95_MS, color="red", linestyle=":", label=f"target p95 {TARGET_P95_MS:.0f} ms"
    )
    axis.set_xscale("log")
    axis.set_yscale("log")
    axis.set_xlabel("instruments")
    axis.set_ylabel("cycle latency (ms)")
    axis.set_title("Full coordination cycle latency (2 cores)")
    axis.grid(True, which="both", alpha=0.3)
    axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def _verdict(result: CycleBenchResult) -> str:
    if result.portfolios != TARGET_PORTFOLIOS:
        return ""
    parts = []
    target = P95_TARGET_BY_SIZE.get(result.instruments)
    if target is not None:
        parts.append(f"p95 <= {target:.0f}: {'yes' if result.cycle['p95_ms'] <= target else 'no'}")
    target99 = P99_TARGET_BY_SIZE.get(result.instruments)
    if target99 is not None:
        met = result.cycle["p99_ms"] <= target99
        parts.append(f"p99 <= {target99:.0f}: {'yes' if met else 'no'}")
    return "; ".join(parts)


def markdown(
    results: Sequence[CycleBenchResult],
    throughput: dict[str, object],
    command: str,
    image: str = "benchmarks.png",
) -> str:
    stage_names = list(results[0].stages) if results else []
    lines = [
        "# Benchmarks",
        "",
        f"Written by `{command}` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC "
        f"({platform.machine()}, {multiprocessing.cpu_count()} cores, Python "
        f"{platform.python_version()}).",
        "",
        "The real engine on the simulated market (engine/bench/cycle_bench.py): every portfolio "
        "rebalances every day with constrained mean-variance (10-factor PCA risk model, sector "
        "caps, turnover limit; every other pair long/short), a binding risk limit set is checked "
        "by the gate and monitored at each close, orders are netted, crossed and filled, the "
        "ledger updated, the events appended to SQLite in one transaction and the dashboard "
        "snapshot built. Warm-up cycles are left out. The portfolios' problems are solved in "
        "one solver process per core, at most one per portfolio ([allocation] workers; the "
        "product's default is 1, see optimisation.md).",
        "",
        "## Cycle latency",
        "",
        f"Targets (at {TARGET_PORTFOLIOS} portfolios): p95 <= {TARGET_P95_MS:.0f} ms and p99 <= "
        f"100 ms at {TARGET_INSTRUMENTS} instruments, p95 <= 200 ms at 2,000; the seed gate: "
        f"p95 <= {SEED_GATE_P95_MS:.0f} ms. What changed between rounds of optimisation, with "
        "the figures before and after: [optimisation.md](optimisation.md).",
        "",
        "| instruments | portfolios | solver workers | cycles | p50 ms | p95 ms | p99 ms | max ms "
        "| cycles/s | peak RSS MB | slowest stage (p95) | targets |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for r in results:
        c = r.cycle
        slow = r.slowest_stage
        lines.append(
            f"| {r.instruments:,} | {r.portfolios} | {r.workers} | {r.cycles} | "
            f"{c['p50_ms']:.1f} | {c['p95_ms']:.1f} | {c['p99_ms']:.1f} | {c['max_ms']:.1f} | "
            f"{r.cycles_per_second:.2f} | {r.peak_rss_mb:.0f} | {slow} "
            f"({r.stages[slow]['p95_ms']:.1f} ms) | {_verdict(r)} |"
        )
    lines += [
        "",
        f"![cycle latency against instruments]({image})",
        "",
        "## Stage p95 (ms)",
        "",
        "| instruments x portfolios | " + " | ".join(stage_names) + " |",
        "| --- |" + " ---: |" * len(stage_names),
    ]
    for r in results:
        lines.append(
            f"| {r.instruments:,} x {r.portfolios} | "
            + " | ".join(f"{r.stages[s]['p95_ms']:.1f}" for s in stage_names)
            + " |"
        )
    lines += ["", "## Event throughput", ""]
    embedded = throughput.get("embedded")
    if isinstance(embedded, dict):
        lines.append(
            f"- Embedded SQLite store: {embedded['events']:,} events appended in batches of "
            f"{embedded['batch_size']} at **{embedded['appends_per_second']:,.0f} events/s**; "
            f"recovery {embedded['recovery_with_snapshots_s']} s with snapshots, "
            f"{embedded['recovery_without_snapshots_s']} s replaying every event."
        )
    pulsar = throughput.get("pulsar")
    if isinstance(pulsar, dict):
        publish = pulsar.get("publish", {})
        if isinstance(publish, dict) and "events_per_second" in publish:
            lines.append(
                f"- Apache Pulsar outbox relay (standalone broker on 127.0.0.1): "
                f"{publish['events']:,} stored events published in {publish['seconds']} s, "
                f"**{publish['events_per_second']:,.0f} events/s**."
            )
    else:
        lines.append("- Apache Pulsar: not measured in this run (give `--pulsar-url`).")
    relay = _relay_events_per_second(throughput)
    past_one_machine = scale.markdown(results, relay)
    if past_one_machine:
        lines += ["", past_one_machine.rstrip("\n")]
    return "\n".join(lines) + "\n"


def _relay_events_per_second(throughput: dict[str, object]) -> float | None:
    pulsar = throughput.get("pulsar")
    publish = pulsar.get("publish") if isinstance(pulsar, dict) else None
    if isinstance(publish, dict) and "events_per_second" in publish:
        return float(publish["events_per_second"])
    return None


# Sections of benchmarks.md below this line come from other commands (`pcoord bench-dashboard`)
# or are written by hand: the suite rewrites what is above it and keeps them.
KEPT_SECTIONS_MARKER = "<!-- kept by pcoord bench --suite: sections below are not regenerated -->"


def _kept_sections(report: Path) -> str:
    """What the existing report holds from the marker on ('' when there is no such part)."""
    if not report.exists():
        return ""
    text = report.read_text("utf-8")
    start = text.find(KEPT_SECTIONS_MARKER)
    return "" if start < 0 else "\n" + text[start:]


def run_suite(
    out_dir: Path,
    cycles: int = 20,
    warmup: int = 3,
    events: int = 50_000,
    pulsar_url: str | None = None,
    progress: Callable[[str], None] = print,
    command: str = "pcoord bench --suite",
    instruments: Sequence[int] = INSTRUMENTS,
    portfolios: Sequence[int] = PORTFOLIOS,
) -> list[CycleBenchResult]:
    results = run_scaling(cycles, warmup, instruments, portfolios, progress)
    progress("bench: event throughput ...")
    throughput = run_event_throughput(events, pulsar_url)
    out_dir.mkdir(parents=True, exist_ok=True)
    plot(results, out_dir / "benchmarks.png")
    report = out_dir / "benchmarks.md"
    kept = _kept_sections(report)
    report.write_text(markdown(results, throughput, command) + kept, "utf-8")
    return results
