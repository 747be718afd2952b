"""The benchmark commands: `pcoord bench` and `bench-store/-pulsar/-signals/-trades/-allocation/
-dashboard`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from engine.config import load_config
from engine.errors import ConfigError


def bench(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    if args.instruments < 20 or args.portfolios < 1 or args.cycles < 2 or args.warmup < 0:
        raise ConfigError("--instruments at least 20, --portfolios 1, --cycles 2, --warmup 0")
    if args.workers is not None and not 1 <= args.workers <= 64:
        raise ConfigError(f"--workers: {args.workers}; between 1 (in-process) and 64")
    if args.suite:
        from engine.bench.suite import run_suite

        cycles = args.cycles if args.cycles != 50 else 20
        warmup = args.warmup if args.warmup != 5 else 3
        results = run_suite(
            args.out,
            cycles,
            warmup,
            args.events,
            args.pulsar_url,
            progress=lambda line: print(line, file=sys.stderr),
            command=f"pcoord bench --suite --cycles {cycles} --warmup {warmup}",
        )
        if args.json:
            print(json.dumps([r.as_dict() for r in results]))
        print(f"wrote {args.out / 'benchmarks.md'} and {args.out / 'benchmarks.png'}")
        return 0
    from engine.bench.cycle_bench import run_cycle_bench

    total = args.cycles + args.warmup
    with tqdm(total=total, unit="cycle", desc="bench", file=sys.stderr) as bar:
        result = run_cycle_bench(
            args.instruments,
            args.portfolios,
            args.cycles,
            args.warmup,
            lambda _: bar.update(),
            workers=args.workers,
        )
    print(json.dumps(result.as_dict()) if args.json else result.format())
    return 0


def bench_store(args: argparse.Namespace) -> int:
    import tempfile

    from tqdm import tqdm

    from engine.bench.store_bench import run_store_bench

    if args.events < 1 or args.portfolios < 1:
        raise ConfigError("--events and --portfolios must be at least 1")
    with tempfile.TemporaryDirectory(prefix="pcoord-bench-") as scratch:
        url = args.database_url or f"sqlite:///{scratch}/bench.db"
        with tqdm(total=args.events, unit="event", desc="append", file=sys.stderr) as bar:
            result = run_store_bench(
                url, args.events, args.portfolios, args.snapshot_every, bar.update
            )
    figures = result.as_dict()
    if args.json:
        print(json.dumps(figures))
    else:
        for key, value in figures.items():
            print(f"{key:<32} {value}")
    return 0


def bench_pulsar(args: argparse.Namespace) -> int:
    import tempfile

    from engine.assembly import pulsar_settings
    from engine.bench.pulsar_bench import run_pulsar_bench

    settings = pulsar_settings(load_config(None))
    script = Path(__file__).resolve().parents[2] / "scripts" / "pulsar.sh"
    with tempfile.TemporaryDirectory(prefix="pcoord-bench-") as scratch:
        figures = run_pulsar_bench(
            settings.service_url,
            Path(scratch),
            events=args.events,
            cycles_per_second=args.cycles_per_second,
            outage_seconds=args.outage_seconds,
            broker_script=script if args.outage_seconds > 0 else None,
            progress=lambda line: print(line, file=sys.stderr),
        )
    print(json.dumps(figures) if args.json else json.dumps(figures, indent=2))
    return 0


def bench_signals(args: argparse.Namespace) -> int:
    import tempfile

    from tqdm import tqdm

    from engine.bench.signal_bench import run_signal_bench

    if args.instruments < 20 or args.sources < 1 or args.rounds < 1:
        raise ConfigError("--instruments must be at least 20, --sources and --rounds at least 1")
    with tempfile.TemporaryDirectory(prefix="pcoord-bench-") as scratch:
        url = args.database_url or f"sqlite:///{scratch}/bench.db"
        with tqdm(total=args.rounds, unit="round", desc="signals", file=sys.stderr) as bar:
            result = run_signal_bench(
                url, args.instruments, args.sources, args.rounds, on_round=lambda _: bar.update()
            )
    print(json.dumps(result.as_dict()) if args.json else result.format())
    return 0


def bench_trades(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from engine.bench.trade_bench import run_trade_bench

    if args.instruments < 20 or args.portfolios < 2 or args.cycles < 2:
        raise ConfigError("--instruments at least 20, --portfolios and --cycles at least 2")
    warmup = 5
    with tqdm(total=args.cycles + warmup, unit="cycle", desc="trades", file=sys.stderr) as bar:
        result = run_trade_bench(
            args.instruments, args.portfolios, args.cycles, warmup, lambda _: bar.update()
        )
    print(json.dumps(result.as_dict()) if args.json else result.format())
    return 0


def bench_allocation(args: argparse.Namespace) -> int:
    from engine.bench.allocation_bench import format_results, run_allocation_bench
    from engine.bench.solver_bench import SOLVER_NAMES, format_solver_results, run_solver_bench

    if min(args.sizes) < 20 or args.cycles < 2 or args.reference_cycles < 0:
        raise ConfigError(
            "--sizes at least 20 (ten sector caps of 0.15 must hold the budget), --cycles at "
            "least 2, --reference-cycles at least 0"
        )
    sizes = tuple(args.sizes)
    chosen = tuple(args.solvers or SOLVER_NAMES)
    unknown = sorted(set(chosen) - set(SOLVER_NAMES))
    if unknown:
        raise ConfigError(f"--solvers: {unknown} unknown; choose from {', '.join(SOLVER_NAMES)}")
    solvers = run_solver_bench(
        sizes,
        args.cycles,
        args.risk_model,
        on_cycle=lambda n, k: print(f"solvers N={n}: cycle {k}/{args.cycles}", file=sys.stderr),
        solvers=chosen,
    )
    pypfopt = []
    if args.reference_cycles > 0:
        pypfopt = run_allocation_bench(
            sizes,
            args.cycles,
            args.reference_cycles,
            on_cycle=lambda n, k: print(f"PyPortfolioOpt N={n}: cycle {k}", file=sys.stderr),
        )
    if args.json:
        print(
            json.dumps(
                {
                    "solvers": [r.as_dict() for r in solvers],
                    "pypfopt": [r.as_dict() for r in pypfopt],
                }
            )
        )
        return 0
    print(format_solver_results(solvers, args.risk_model))
    if pypfopt:
        print()
        print(format_results(pypfopt))
    return 0


def bench_dashboard(args: argparse.Namespace) -> int:
    from app.loadtest.server import ServerFailed
    from app.loadtest.sessions import LoadSettings, LoadToolError, run_dashboard_load

    settings = LoadSettings(
        sessions=args.sessions,
        seconds=args.seconds,
        threads=args.threads,
        dwell_ticks=args.dwell,
        laps=args.laps,
        pages=tuple(args.pages),
        config=args.config,
        warmup_s=max(0.0, args.warmup),
    )
    command = (
        f"pcoord bench-dashboard --sessions {args.sessions} --seconds {args.seconds:g} "
        f"--dwell {args.dwell} --threads {args.threads}"
        + (f" --laps {args.laps}" if args.laps else "")
        + (f" --warmup {args.warmup:g}" if args.warmup > 0 else "")
        + "".join(f" --page {page}" for page in args.pages)
    )
    try:
        report = run_dashboard_load(
            settings, lambda line: print(line, file=sys.stderr, flush=True), command
        )
    except (LoadToolError, ServerFailed) as exc:
        print(f"pcoord bench-dashboard: {exc}", file=sys.stderr)
        return 1
    print(report.format())
    if args.json:
        args.json.write_text(json.dumps(report.as_dict(), indent=2) + "\n")
    return 0
