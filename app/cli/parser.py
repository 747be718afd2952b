"""The ``pcoord`` argument parser: every command and its options, nothing else.

Only the standard library is imported here, so that ``pcoord --help`` is instant; each command's
handler lives in its own module of this package and is imported when that command runs."""

from __future__ import annotations

import argparse
from datetime import UTC, date, datetime
from pathlib import Path

# Where `pcoord serve` listens unless told otherwise, and so where `signals import` sends.
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8050
DEFAULT_IMPORT_BATCH = 5000
# waitress worker threads of `pcoord serve`: the dashboard requests answered at once (see
# docs/benchmarks.md, "Dashboard load", for how it was chosen).
DEFAULT_SERVER_THREADS = 24


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (use YYYY-MM-DD)") from exc


def _timestamp(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a time (use ISO 8601, e.g. 2026-11-25T09:30:00)"
        ) from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _positive_speed(text: str) -> float:
    try:
        value = float(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from exc
    if not 0 < value <= 1000:
        raise argparse.ArgumentTypeError(f"{value} must be in (0, 1000] trading days per second")
    return value


def _batch_size(text: str) -> int:
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from exc
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1 signal per request")
    return value


def _server_threads(text: str) -> int:
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from exc
    if not 1 <= value <= 256:
        raise argparse.ArgumentTypeError(f"{value} must be from 1 to 256 server threads")
    return value


def _add_threads_option(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--threads",
        type=_server_threads,
        default=DEFAULT_SERVER_THREADS,
        help=f"web server worker threads, requests answered at once ({DEFAULT_SERVER_THREADS})",
    )


def _server_url(text: str) -> str:
    if not text.startswith(("http://", "https://")):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an http:// or https:// URL (e.g. http://{DEFAULT_HOST}:{DEFAULT_PORT})"
        )
    return text


def _add_signals_commands(commands: argparse._SubParsersAction) -> None:
    signals = commands.add_parser(
        "signals", help="external signals: import a file of them; measure source quality"
    )
    actions = signals.add_subparsers(dest="signals_action", required=True, metavar="ACTION")
    load = actions.add_parser(
        "import",
        help="send a CSV or JSON file of signals to a running engine (or check it: --dry-run)",
        description="Send the signals in FILE to a running `pcoord serve`, which validates each "
        "one. A .csv file has a header row naming the fields (id, source, instrument, "
        "timestamp, horizon, score, confidence, optional ttl_days); a .json file holds a list "
        "of signal objects. Exit status: 0 all taken, 1 some rejected, 2 the file or the "
        "server failed. Importing a file again is safe: ids already taken are duplicates.",
    )
    load.add_argument("file", type=Path, help="the .csv or .json file of signals")
    load.add_argument(
        "--url",
        type=_server_url,
        default=f"http://{DEFAULT_HOST}:{DEFAULT_PORT}",
        help=f"the running server (http://{DEFAULT_HOST}:{DEFAULT_PORT}, as `pcoord serve`)",
    )
    load.add_argument(
        "--batch-size",
        type=_batch_size,
        default=DEFAULT_IMPORT_BATCH,
        help=f"signals per request ({DEFAULT_IMPORT_BATCH}; the server's limit is "
        "signals.max_signals_per_request)",
    )
    load.add_argument(
        "--actor", default=None, help="who imports, for the audit trail (your login name)"
    )
    load.add_argument(
        "--dry-run",
        action="store_true",
        help="check the file against the config's sources and instruments; send nothing",
    )
    load.add_argument(
        "--as-of",
        type=_date,
        help="--dry-run: the engine's market date for the date checks "
        "(default: the file's latest timestamp)",
    )
    load.add_argument("--config", type=Path, help="--dry-run: the engine's TOML config")
    load.add_argument("--no-progress", action="store_true", help="no progress bar")

    quality = actions.add_parser(
        "quality",
        help="how well each built-in source predicted over a stretch of history (IC per horizon)",
        description="Run the built-in sources over the market history without trading and score "
        "every view once its horizon has passed: mean information coefficient (Spearman rank "
        "correlation of score with forward return), its standard deviation and IR, hit rate, "
        "coverage.",
    )
    quality.add_argument("--config", type=Path, help="TOML config replacing the default")
    quality.add_argument("--start", type=_date, help="first market date (config's by default)")
    quality.add_argument("--end", type=_date, help="last market date")
    quality.add_argument("--json", action="store_true", help="print one JSON object")
    quality.add_argument("--no-progress", action="store_true", help="no progress bar")


def _at_least_one(text: str) -> int:
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from exc
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from exc
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{value} must be more than 0 seconds")
    return value


def _add_bench_dashboard_command(commands: argparse._SubParsersAction) -> None:
    load = commands.add_parser(
        "bench-dashboard",
        help="dashboard load test: N simulated browser sessions on every page at the refresh",
        description="Serve the dashboard as `pcoord serve` does, in a subprocess on a free local "
        "port with a fresh temporary event store and the engine at full speed (1000 days/s), "
        "and drive it with simulated browser sessions speaking Dash's HTTP protocol: each "
        "loads the app, opens a page, fires its callbacks and their chains, then refreshes "
        "every second and moves to the next page every --dwell ticks. Prints callback latency "
        "(p50/p95/max), response sizes, errors, time to settle and KiB per refresh per page, "
        "the server's queue warnings, and a verdict against the targets (p95 < 100 ms, no "
        "queue warnings, no response over 100 KiB); missing them does not fail the command.",
    )
    load.add_argument(
        "--sessions", type=_at_least_one, default=10, help="simulated browser sessions (10)"
    )
    load.add_argument(
        "--seconds", type=_positive_seconds, default=60.0, help="how long the load runs (60)"
    )
    load.add_argument(
        "--dwell",
        type=_at_least_one,
        default=10,
        help="refresh ticks a session stays on a page before the next one (10)",
    )
    load.add_argument(
        "--laps",
        type=_at_least_one,
        help="stop once every session has been on every page this many times (or at --seconds)",
    )
    load.add_argument(
        "--page",
        dest="pages",
        action="append",
        default=[],
        metavar="PATH",
        help="a page to visit, e.g. /trades; repeatable (default: every page in the navigation)",
    )
    load.add_argument(
        "--warmup",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="let the engine run alone this long first, for a longer history on the pages (0)",
    )
    _add_threads_option(load)
    load.add_argument("--config", type=Path, help="TOML config replacing the default")
    load.add_argument("--json", type=Path, metavar="PATH", help="also write the figures here")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pcoord",
        description="Portfolio Coordinator: signals -> allocation -> risk-checked trades, live.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the engine and the dashboard")
    serve.add_argument(
        "--host", default=DEFAULT_HOST, help=f"address to listen on ({DEFAULT_HOST})"
    )
    serve.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port to listen on ({DEFAULT_PORT})"
    )
    serve.add_argument("--config", type=Path, help="TOML config replacing the default")
    serve.add_argument(
        "--speed", type=_positive_speed, help="replay speed, trading days per second"
    )
    serve.add_argument(
        "--database-url",
        help="SQLAlchemy URL of the event store (default: $PCOORD_DATABASE_URL or var/pcoord.db)",
    )
    _add_threads_option(serve)

    dashboard = commands.add_parser(
        "dashboard",
        help="a read-only dashboard in its own process, following the engine through Pulsar",
    )
    dashboard.add_argument("--bus", choices=["pulsar"], required=True, help="what to follow")
    dashboard.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    dashboard.add_argument("--port", type=int, default=8051, help="port to listen on (8051)")
    dashboard.add_argument("--config", type=Path, help="the engine's TOML config")
    _add_threads_option(dashboard)

    replay = commands.add_parser("replay", help="run the cycle over history as fast as it goes")
    replay.add_argument("--config", type=Path, help="TOML config replacing the default")
    replay.add_argument("--start", type=_date, help="first trading day (YYYY-MM-DD)")
    replay.add_argument("--end", type=_date, help="last trading day (YYYY-MM-DD)")
    replay.add_argument("--out", type=Path, required=True, help="directory for the report")
    replay.add_argument(
        "--database-url", help="SQLAlchemy URL of the event store (default: OUT/events.db)"
    )
    replay.add_argument("--no-progress", action="store_true", help="no progress bar")
    replay.add_argument(
        "--fresh",
        action="store_true",
        help="start over: delete OUT/events.db instead of resuming an interrupted replay",
    )
    replay.add_argument(
        "--policy",
        action="append",
        default=[],
        metavar="PORTFOLIO=POLICY",
        help="replay a portfolio under a rebalancing policy (calendar, bands, cost_aware, each "
        "with or without +harvest; docs/rebalancing.md); repeat for several portfolios",
    )
    replay.add_argument(
        "--band", type=float, default=0.05, help="the bands policy's drift band, of NAV (0.05)"
    )

    database_help = (
        "SQLAlchemy URL of the event store (default: $PCOORD_DATABASE_URL or var/pcoord.db)"
    )
    report = commands.add_parser(
        "report",
        help="a self-contained HTML tear sheet (and its tables as CSV) from an event store",
        description="Reads a run's event log (a serve's store, or a replay's OUT/events.db) and "
        "writes FILE.html with every performance figure, attribution, execution quality and "
        "the engine against the seed's gates; every table also as CSV in FILE-csv/.",
    )
    chosen = report.add_mutually_exclusive_group(required=True)
    chosen.add_argument("--portfolio", nargs="+", metavar="ID", help="the portfolios to report")
    chosen.add_argument("--all", action="store_true", help="every configured portfolio")
    report.add_argument("--from", dest="start", type=_date, help="first market date (YYYY-MM-DD)")
    report.add_argument("--to", dest="end", type=_date, help="last market date (YYYY-MM-DD)")
    report.add_argument("--out", type=Path, required=True, help="the HTML file to write")
    report.add_argument("--config", type=Path, help="TOML config the run used (default config)")
    report.add_argument("--database-url", help=database_help)
    report.add_argument("--no-progress", action="store_true", help="no progress bar")
    rebalance = commands.add_parser(
        "rebalance",
        help="rebalancing policies compared over history for one portfolio",
        description="Replays one portfolio under each policy (calendar, bands, cost_aware, each "
        "with or without +harvest) and prints its rebalances, turnover, trading cost, realised "
        "gains and tax, tracking error and return side by side; writes compare.json and "
        "compare.csv and each replay to OUT/<policy>/. See docs/rebalancing.md.",
    )
    rebalance.add_argument("action", choices=["compare"], help="compare: replay each policy")
    rebalance.add_argument("--portfolio", required=True, metavar="ID", help="the portfolio")
    rebalance.add_argument(
        "--policies",
        default="calendar,bands,cost_aware",
        help="comma-separated: calendar, bands, cost_aware, and each with +harvest, e.g. "
        "bands+harvest (default calendar,bands,cost_aware)",
    )
    rebalance.add_argument(
        "--band", type=float, default=0.05, help="the bands policy's drift band, of NAV (0.05)"
    )
    rebalance.add_argument("--from", dest="start", type=_date, help="first market date")
    rebalance.add_argument("--to", dest="end", type=_date, help="last market date")
    rebalance.add_argument(
        "--out", type=Path, default=Path("var/rebalance-compare"), help="where the runs go"
    )
    rebalance.add_argument("--config", type=Path, help="TOML config replacing the default")
    rebalance.add_argument("--no-progress", action="store_true", help="no progress lines")
    check = commands.add_parser(
        "check", help="rebuild the state from the event log and compare it with what is stored"
    )
    check.add_argument("--database-url", help=database_help)

    events = commands.add_parser(
        "events", help="print the event log ('events tail --bus pulsar' follows the live stream)"
    )
    events.add_argument(
        "action", nargs="?", choices=["tail"], help="tail: follow new events as they are published"
    )
    events.add_argument(
        "--bus",
        choices=["store", "pulsar"],
        default="store",
        help="read the SQL event store (default) or Apache Pulsar ($PCOORD_PULSAR_URL or config)",
    )
    events.add_argument("--config", type=Path, help="TOML config (for the Pulsar settings)")
    events.add_argument("--portfolio", help="only this portfolio's events")
    events.add_argument("--type", dest="event_type", help="only events of this type")
    events.add_argument(
        "--from-seq", type=int, help="oldest first from this sequence number (default: the latest)"
    )
    events.add_argument(
        "--since",
        type=_timestamp,
        help="oldest first from this time (ISO 8601, UTC unless it has an offset)",
    )
    events.add_argument("--limit", type=int, default=50, help="at most this many events (50)")
    events.add_argument("--json", action="store_true", help="one JSON object per line")
    events.add_argument("--database-url", help=database_help)
    events.add_argument(
        "--archive",
        type=Path,
        help="read an archive file written by 'pcoord archive' instead of the live store",
    )

    archive = commands.add_parser(
        "archive",
        help="move events of market dates before DATE out of the live store into an archive file",
    )
    archive.add_argument(
        "--before",
        type=_date,
        required=True,
        help="archive every cycle whose market date is before this day (YYYY-MM-DD)",
    )
    archive.add_argument(
        "--archive",
        type=Path,
        help="archive SQLite file (default: beside the store, <name>-archive-before-DATE.db)",
    )
    archive.add_argument("--database-url", help=database_help)
    archive.add_argument(
        "--no-vacuum",
        action="store_true",
        help="leave the SQLite file its size (VACUUM gives the freed pages back to the disk)",
    )

    store_stats = commands.add_parser(
        "store-stats", help="size of the event store: events and bytes per cycle and per type"
    )
    store_stats.add_argument("--database-url", help=database_help)
    store_stats.add_argument("--json", action="store_true", help="print one JSON object")

    bench_store = commands.add_parser(
        "bench-store",
        help="event store benchmark: durable appends/s and recovery time with/without snapshots",
    )
    bench_store.add_argument("--events", type=int, default=100_000, help="events to write")
    bench_store.add_argument("--portfolios", type=int, default=10, help="portfolios (10)")
    bench_store.add_argument(
        "--snapshot-every", type=int, default=20_000, help="events between snapshots (20000)"
    )
    bench_store.add_argument(
        "--database-url", help="an EMPTY database (default: a temporary SQLite file)"
    )
    bench_store.add_argument("--json", action="store_true", help="print one JSON object")

    bench_pulsar = commands.add_parser(
        "bench-pulsar",
        help="Pulsar benchmark: relay throughput, end-to-end latency, catch-up after an outage",
    )
    bench_pulsar.add_argument("--events", type=int, default=200_000, help="backlog to relay")
    bench_pulsar.add_argument(
        "--outage-seconds",
        type=float,
        default=60.0,
        help="stop the broker (scripts/pulsar.sh) this long while cycles go on; 0 skips it",
    )
    bench_pulsar.add_argument(
        "--cycles-per-second",
        type=float,
        default=5.0,
        help="live rate for the latency and outage phases, 141-event cycles (5, the live default)",
    )
    bench_pulsar.add_argument("--json", action="store_true", help="print one JSON object")
    bench_signals = commands.add_parser(
        "bench-signals",
        help="signal benchmark: external signals validated and coordinated per second",
    )
    bench_signals.add_argument("--instruments", type=int, default=1000, help="universe (1000)")
    bench_signals.add_argument("--sources", type=int, default=5, help="external sources (5)")
    bench_signals.add_argument("--rounds", type=int, default=10, help="rounds, one per day (10)")
    bench_signals.add_argument(
        "--database-url", help="an empty database for the engine part (default: a temp SQLite)"
    )
    bench_signals.add_argument("--json", action="store_true", help="print one JSON object")
    bench = commands.add_parser(
        "bench",
        help="latency of the whole coordination cycle, per stage (real engine, simulated feed)",
        description="Runs the real engine on the simulated market and prints p50/p95/p99/max "
        "latency of the cycle and of each stage, cycles per second and peak memory. --suite runs "
        "the scaling curve (100/500/2,000 instruments x 1/10 portfolios) and the event "
        "throughput, and writes docs/benchmarks.md and docs/benchmarks.png.",
    )
    bench.add_argument("--instruments", type=int, default=500, help="universe (500)")
    bench.add_argument("--portfolios", type=int, default=10, help="portfolios (10)")
    bench.add_argument("--cycles", type=int, default=50, help="measured cycles (50; suite 20)")
    bench.add_argument("--warmup", type=int, default=5, help="cycles left out first (5; suite 3)")
    bench.add_argument(
        "--workers",
        type=int,
        default=None,
        help="allocation solver processes, as [allocation] workers (1: in-process; default one "
        "per core, at most one per portfolio)",
    )
    bench.add_argument("--json", action="store_true", help="print one JSON object")
    bench.add_argument("--suite", action="store_true", help="scaling curve + event throughput")
    bench.add_argument("--out", type=Path, default=Path("docs"), help="where --suite writes (docs)")
    bench.add_argument(
        "--pulsar-url", help="with --suite: also measure the Pulsar relay on this broker"
    )
    bench.add_argument(
        "--events", type=int, default=50_000, help="with --suite: events appended (50,000)"
    )
    bench_trades = commands.add_parser(
        "bench-trades",
        help="trade coordination benchmark: orders coordinated per second, 10 x 500",
    )
    bench_trades.add_argument("--instruments", type=int, default=500, help="universe (500)")
    bench_trades.add_argument("--portfolios", type=int, default=10, help="portfolios (10)")
    bench_trades.add_argument("--cycles", type=int, default=30, help="measured cycles (30)")
    bench_trades.add_argument("--json", action="store_true", help="print one JSON object")
    bench_allocation = commands.add_parser(
        "bench-allocation",
        help="the allocation's candidate solvers at 100, 500 and 2,000 names: time per solve and "
        "weight difference to Clarabel at 1e-12 (and optionally PyPortfolioOpt)",
    )
    bench_allocation.add_argument(
        "--sizes", type=int, nargs="+", default=[100, 500, 2000], help="universe sizes"
    )
    bench_allocation.add_argument("--cycles", type=int, default=20, help="solves per size (20)")
    bench_allocation.add_argument(
        "--risk-model",
        choices=("pca", "ledoit_wolf"),
        default="pca",
        help="pca: 10 factors, the factor form (default); ledoit_wolf: a dense covariance",
    )
    bench_allocation.add_argument(
        "--solvers",
        nargs="+",
        metavar="NAME",
        help="the solvers to compare with the reference (default: all of 'piqp direct', "
        "'clarabel default', 'piqp cvxpy', 'osqp cvxpy')",
    )
    bench_allocation.add_argument(
        "--reference-cycles",
        type=int,
        default=0,
        help="also compare with PyPortfolioOpt on this many solves per size (0: not)",
    )
    bench_allocation.add_argument("--json", action="store_true", help="print one JSON object")
    _add_bench_dashboard_command(commands)
    allocate = commands.add_parser(
        "allocate",
        help="weights from a price history with the engine's sizing models (one shot)",
        description="Estimate a risk model from the last --lookback-days daily returns of FILE "
        "(CSV or Parquet, wide or long, as [market] path) and size a long-only portfolio. "
        "mean_variance uses the window's mean daily returns as expected returns.",
    )
    allocate.add_argument("--prices", type=Path, required=True, help="CSV or Parquet of prices")
    allocate.add_argument(
        "--method",
        required=True,
        help="equal_weight, inverse_volatility, minimum_variance, mean_variance or risk_parity",
    )
    allocate.add_argument(
        "--risk-model", default="ledoit_wolf", choices=("sample", "ledoit_wolf", "ewma", "pca")
    )
    allocate.add_argument("--lookback-days", type=int, default=252, help="returns used (252)")
    allocate.add_argument("--risk-aversion", type=float, default=1.0, help="mean_variance (1)")
    allocate.add_argument("--max-weight", type=float, default=1.0, help="per instrument (1)")
    allocate.add_argument(
        "--min-weight",
        type=float,
        default=0.0,
        help="per instrument (0); negative allows shorts (minimum_variance, mean_variance)",
    )
    allocate.add_argument(
        "--invested",
        type=float,
        default=1.0,
        help="sum of weights, the rest is cash (1); with shorts, the most net exposure",
    )
    allocate.add_argument(
        "--net-floor", type=float, default=None, help="with shorts: the least net exposure"
    )
    allocate.add_argument(
        "--gross", type=float, default=None, help="with shorts: the most sum of |weights|"
    )
    allocate.add_argument("--out", type=Path, required=True, help="weights CSV to write")
    stress = commands.add_parser(
        "stress",
        help="stress a portfolio: historical crises, worst windows, sector/market/vol shocks",
        description="Value the portfolio's current holdings (or, with --proposed, its latest "
        "target weights) from the event store and apply the standard stress set: named "
        "historical episodes and the worst --window-days windows of the price history, each "
        "sector -20%, the market -10%, each instrument held -30% on its own, volatilities x2 "
        "and correlations half-way to one (1-day 99% parametric VaR), then any --shock. P&L is "
        "a fraction of NAV, negative = loss; USD figures use the current NAV, also with "
        "--proposed.",
    )
    stress.add_argument("--portfolio", required=True, help="portfolio id, e.g. growth")
    stress.add_argument(
        "--proposed", action="store_true", help="stress the latest target weights, not holdings"
    )
    stress.add_argument("--config", type=Path, help="TOML config (for the price history)")
    stress.add_argument("--database-url", help=database_help)
    stress.add_argument(
        "--window-days", type=int, default=20, help="trading days per worst window (20)"
    )
    stress.add_argument(
        "--shock",
        action="append",
        default=[],
        metavar="NAME=RETURN",
        help="a scenario of your own: an instrument, a sector or 'market' moving by RETURN "
        "(-0.3 or -30%%); repeatable",
    )
    stress.add_argument("--json", action="store_true", help="print one JSON object")
    _add_signals_commands(commands)
    return parser
