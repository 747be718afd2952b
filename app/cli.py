"""``pcoord``: the command line of Portfolio Coordinator."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from engine.config import ConfigError, load_config
from engine.market.data import MarketDataError

log = logging.getLogger("pcoord")


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (use YYYY-MM-DD)") from exc


def _positive_speed(text: str) -> float:
    try:
        value = float(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from exc
    if not 0 < value <= 1000:
        raise argparse.ArgumentTypeError(f"{value} must be in (0, 1000] trading days per second")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pcoord",
        description="Portfolio Coordinator: signals -> allocation -> risk-checked trades, live.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the engine and the dashboard")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    serve.add_argument("--port", type=int, default=8050, help="port to listen on (8050)")
    serve.add_argument("--config", type=Path, help="TOML config replacing the default")
    serve.add_argument(
        "--speed", type=_positive_speed, help="replay speed, trading days per second"
    )
    serve.add_argument(
        "--database-url",
        help="SQLAlchemy URL of the event store (default: $PCOORD_DATABASE_URL or var/pcoord.db)",
    )

    replay = commands.add_parser("replay", help="run the cycle over history as fast as it goes")
    replay.add_argument("--config", type=Path, help="TOML config replacing the default")
    replay.add_argument("--start", type=_date, help="first trading day (YYYY-MM-DD)")
    replay.add_argument("--end", type=_date, help="last trading day (YYYY-MM-DD)")
    replay.add_argument("--out", type=Path, required=True, help="directory for the report")
    replay.add_argument(
        "--database-url", help="SQLAlchemy URL of the event store (default: OUT/events.db)"
    )
    replay.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def _serve(args: argparse.Namespace) -> int:
    from waitress import create_server

    from app.dashboard import create_app
    from app.runtime import build_runtime

    runtime = build_runtime(args.config, args.database_url, args.speed)
    dash_app = create_app(runtime.runner, runtime.store)
    server = create_server(dash_app.server, host=args.host, port=args.port, threads=8)
    runtime.runner.start()

    def _shutdown(signum: int, _frame: object) -> None:
        log.info("signal %s: stopping", signum)
        server.close()

    signal.signal(signal.SIGTERM, _shutdown)
    print(
        f"Portfolio Coordinator: dashboard on http://{args.host}:{args.port}/ "
        f"({len(runtime.config.portfolios)} portfolios, "
        f"{runtime.runner.snapshot().speed_days_per_second:g} days/s); Ctrl+C stops",
        flush=True,
    )
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        runtime.runner.stop()
        runtime.store.close()
    return 0


def _replay(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from engine.assembly import build_engine
    from engine.replay import run_replay

    config = load_config(args.config)
    out_dir: Path = args.out
    out_dir.mkdir(parents=True, exist_ok=True)
    database_url = args.database_url or f"sqlite:///{(out_dir / 'events.db').resolve()}"
    parts = build_engine(config, database_url, args.start, args.end)
    with tqdm(
        total=len(parts.feed), unit="day", disable=args.no_progress, desc="replay", file=sys.stderr
    ) as bar:

        def _progress(report: object) -> None:
            bar.update(1)

        summary = run_replay(parts, out_dir, _progress)
    parts.store.close()
    cycle = summary["latency"]["cycle"]
    print(
        f"{summary['cycles']} cycles {summary['first_date']}..{summary['last_date']} in "
        f"{summary['wall_time_s']} s: {summary['cycles_per_second']} cycles/s; cycle latency "
        f"p50 {cycle['p50_ms']} ms, p95 {cycle['p95_ms']} ms, p99 {cycle['p99_ms']} ms"
    )
    for pid, result in summary["portfolios"].items():
        print(
            f"  {pid:<12} NAV {result['start_nav_usd']} -> {result['end_nav_usd']} USD "
            f"({result['total_return_pct']:+.2f}%), {result['orders']} orders, "
            f"{result['fills']} fills"
        )
    print(f"report: {out_dir / 'summary.json'}, nav.csv, fills.csv")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    handlers = {"serve": _serve, "replay": _replay}
    try:
        return handlers[args.command](args)
    except (ConfigError, MarketDataError) as exc:
        print(f"pcoord: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
