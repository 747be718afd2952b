"""``pcoord``: the command line of Portfolio Coordinator."""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import signal
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path

from app.signal_import import (
    ImportResult,
    ServerError,
    SignalFile,
    SignalFileError,
    check_signals,
    import_signals,
    latest_timestamp,
    read_signal_file,
)
from engine.config import ConfigError, load_config
from engine.coordinator import RecoveryError
from engine.market.data import MarketDataError
from engine.model import Event

log = logging.getLogger("pcoord")

# Where `pcoord serve` listens unless told otherwise, and so where `signals import` sends.
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8050
DEFAULT_IMPORT_BATCH = 5000


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


def _server_url(text: str) -> str:
    if not text.startswith(("http://", "https://")):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an http:// or https:// URL (e.g. http://{DEFAULT_HOST}:{DEFAULT_PORT})"
        )
    return text


def _default_actor() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "cli"  # no login name (a container without a passwd entry)


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


def _parser() -> argparse.ArgumentParser:
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

    dashboard = commands.add_parser(
        "dashboard",
        help="a read-only dashboard in its own process, following the engine through Pulsar",
    )
    dashboard.add_argument("--bus", choices=["pulsar"], required=True, help="what to follow")
    dashboard.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    dashboard.add_argument("--port", type=int, default=8051, help="port to listen on (8051)")
    dashboard.add_argument("--config", type=Path, help="the engine's TOML config")

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

    database_help = (
        "SQLAlchemy URL of the event store (default: $PCOORD_DATABASE_URL or var/pcoord.db)"
    )
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
        help="mean-variance solve time per cycle at 100, 500 and 2,000 names, vs PyPortfolioOpt",
    )
    bench_allocation.add_argument(
        "--sizes", type=int, nargs="+", default=[100, 500, 2000], help="universe sizes"
    )
    bench_allocation.add_argument("--cycles", type=int, default=20, help="re-solves per size")
    bench_allocation.add_argument(
        "--reference-cycles", type=int, default=5, help="PyPortfolioOpt solves per size (5)"
    )
    bench_allocation.add_argument("--json", action="store_true", help="print one JSON object")
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


def _serve_until_stopped(
    flask_app: object,
    host: str,
    port: int,
    banner: str,
    start: Callable[[], None],
    stop: Callable[[], None],
) -> int:
    """Serve ``flask_app`` with waitress until Ctrl+C or SIGTERM; ``stop`` runs before the web
    server closes, so the engine (or follower) ends first."""
    from waitress import create_server

    server = create_server(flask_app, host=host, port=port, threads=8)
    start()
    # SIGTERM (a service manager stopping us) ends the server as Ctrl+C does.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    print(f"{banner}; Ctrl+C stops", flush=True)
    try:
        server.run()
    except KeyboardInterrupt:
        log.info("stopping")
    finally:
        stop()
        server.close()
    return 0


def _serve(args: argparse.Namespace) -> int:
    from app.api import ApiSettings
    from app.dashboard import create_app
    from app.runtime import build_runtime
    from engine.performance.latency import low_latency_gc

    runtime = build_runtime(args.config, args.database_url, args.speed)
    dash_app = create_app(
        runtime.runner, runtime.store, api=ApiSettings.from_config(runtime.config)
    )
    with low_latency_gc():
        return _serve_until_stopped(
            dash_app.server,
            args.host,
            args.port,
            f"Portfolio Coordinator: dashboard on http://{args.host}:{args.port}/ "
            f"({len(runtime.config.portfolios)} portfolios, "
            f"{runtime.runner.snapshot().speed_days_per_second:g} days/s)",
            runtime.runner.start,
            runtime.close,
        )


def _dashboard(args: argparse.Namespace) -> int:
    from app.dashboard import create_app
    from engine.assembly import build_feed, pulsar_settings
    from engine.follower import PulsarFollower
    from engine.market.feeds import HistoricalFeed

    config = load_config(args.config)
    feed = build_feed(config)
    history = feed.history if isinstance(feed, HistoricalFeed) else None
    settings = pulsar_settings(config)
    follower = PulsarFollower(settings, feed.instruments, history)
    dash_app = create_app(follower, follower.log, title="Portfolio Coordinator (following)")
    return _serve_until_stopped(
        dash_app.server,
        args.host,
        args.port,
        f"following {settings.service_url} ({settings.deployment}); read-only dashboard on "
        f"http://{args.host}:{args.port}/",
        follower.start,
        follower.stop,
    )


def _replay(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from engine.assembly import build_engine
    from engine.performance.latency import low_latency_gc
    from engine.replay import run_replay

    config = load_config(args.config)
    out_dir: Path = args.out
    out_dir.mkdir(parents=True, exist_ok=True)
    if args.fresh and args.database_url is None:
        for leftover in out_dir.glob("events.db*"):
            leftover.unlink()
    database_url = args.database_url or f"sqlite:///{(out_dir / 'events.db').resolve()}"
    parts = build_engine(config, database_url, args.start, args.end)
    if parts.coordinator.cycles_completed:
        print(
            f"resuming after cycle {parts.coordinator.cycles_completed} "
            f"({parts.coordinator.market_date}): {parts.coordinator.recovery.describe()}",
            file=sys.stderr,
        )
    with tqdm(
        total=len(parts.feed),
        initial=parts.coordinator.cycles_completed,
        unit="day",
        disable=args.no_progress,
        desc="replay",
        file=sys.stderr,
    ) as bar:

        def _progress(report: object) -> None:
            bar.update(1)

        with low_latency_gc():
            summary = run_replay(parts, out_dir, _progress)
    transport = parts.bus.health()
    if transport.bus != "embedded":
        print(
            f"waiting for the {transport.bus} relay to publish the last events...", file=sys.stderr
        )
        if not parts.bus.flush(timeout_s=120):
            lag = parts.bus.health().relay_lag_events
            print(
                f"pcoord: the {transport.bus} relay is {lag} events behind after 120 s; "
                "they stay in the store and go out on the next start",
                file=sys.stderr,
            )
    parts.bus.close()
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
    execution = summary["execution"]
    print(
        f"execution: {execution['orders_completed']} orders, USD "
        f"{execution['decision_notional_usd']} traded; cost USD {execution['cost_usd']} "
        f"({execution['cost_bps']} bps: spread, impact, commission); internal crossing saved USD "
        f"{execution['crossing_saving_usd']} ({execution['crossing_saving_bps']} bps)"
    )
    print(f"report: {out_dir / 'summary.json'}, nav.csv, fills.csv")
    return 0


def _check(args: argparse.Namespace) -> int:
    from engine.assembly import default_database_url
    from engine.events.store import SqlEventStore
    from engine.state.consistency import check_consistency
    from engine.state.repository import StateRepository

    store = SqlEventStore.from_url(args.database_url or default_database_url())
    report = check_consistency(StateRepository(store))
    store.close()
    print(report.describe())
    return 0 if report.consistent else 1


def _stress(args: argparse.Namespace) -> int:
    """Stress the portfolio's holdings (or proposed targets) with the standard scenario set."""
    from datetime import timedelta

    import numpy as np

    from engine.allocation.risk_models import trailing_returns
    from engine.assembly import default_database_url
    from engine.events.store import SqlEventStore
    from engine.market.data import load_bundled, load_price_file
    from engine.risk.stress import (
        StressError,
        default_hypothetical,
        format_table,
        historical_scenarios,
        parse_shock,
        results_json,
        run_stress,
        weights_from_holdings,
    )
    from engine.state.repository import StateRepository

    if args.window_days < 1:
        raise ConfigError(f"--window-days: {args.window_days} must be at least 1")
    config = load_config(args.config)
    if config.market.source == "simulated":
        raise ConfigError(
            "stress: [market] source 'simulated' has no price history to stress with; "
            "use 'bundled' or 'file'"
        )
    history = (
        load_price_file(config.market.path, config.market.adv_usd)  # type: ignore[arg-type]
        if config.market.source == "file"
        else load_bundled(config.market.adv_usd)
    )
    database_url = args.database_url or default_database_url()
    store = SqlEventStore.from_url(database_url)
    try:
        state, _ = StateRepository(store).recover()
    finally:
        store.close()
    known = state.ledger.portfolio_ids
    if not known:
        raise ConfigError(
            f"stress: no engine state in {database_url}: run `pcoord serve` or `pcoord replay` "
            "first (or pass --database-url)"
        )
    if args.portfolio not in known:
        raise ConfigError(
            f"stress: unknown portfolio {args.portfolio!r}; known: {', '.join(sorted(known))}"
        )
    symbols = history.symbols
    sectors = tuple(instrument.sector for instrument in history.instruments)
    as_of = state.market_date or history.dates[-1]
    day = history.index_of(as_of + timedelta(days=1)) - 1  # the last trading day <= as_of
    if day < 1:
        raise ConfigError(f"stress: the price history starts after the engine's date {as_of}")
    held = state.ledger.holdings_of(args.portfolio)
    foreign = sorted(set(held) - set(symbols))
    if foreign:
        raise ConfigError(f"stress: held instruments {foreign} are not in the price history")
    # Last price on or before the engine's date (a gap keeps the previous close).
    closes = history.close[: day + 1]
    last_priced = np.where(np.isfinite(closes), np.arange(day + 1)[:, None], -1).max(axis=0)
    prices_usd = np.where(
        last_priced >= 0, closes[np.maximum(last_priced, 0), np.arange(len(symbols))], np.nan
    )
    try:
        weights, nav_usd = weights_from_holdings(
            state.ledger.shares_vector(args.portfolio, symbols),
            prices_usd,
            float(state.ledger.cash_usd(args.portfolio)),
        )
    except StressError as exc:
        raise ConfigError(f"stress: {args.portfolio}: {exc}") from exc
    basis = "holdings"
    if args.proposed:
        targets = state.targets.get(args.portfolio)
        if not targets:
            raise ConfigError(
                f"stress: {args.portfolio} has no proposed allocation yet (no TargetWeightsSet)"
            )
        unknown = sorted(set(targets) - set(symbols))
        if unknown:
            raise ConfigError(f"stress: target instruments {unknown} are not in the price history")
        weights = np.array([targets.get(symbol, 0.0) for symbol in symbols], dtype=float)
        basis = "proposed targets"
    lookback_days = min(config.risk.lookback_days or config.history_days - 1, day)
    returns, _ = trailing_returns(history.close[: day + 1], lookback_days)
    covariance = np.atleast_2d(np.cov(np.nan_to_num(returns), rowvar=False, ddof=1))
    try:
        own = [parse_shock(text, symbols, sectors) for text in args.shock]
    except StressError as exc:
        raise ConfigError(f"stress: {exc}") from exc
    held_symbols = [symbols[i] for i in np.flatnonzero(weights)]
    scenarios = (
        *historical_scenarios(history.close, history.dates, args.window_days, symbols=symbols),
        *default_hypothetical(sectors, instruments=held_symbols),
        *own,
    )
    results = run_stress(
        weights, scenarios, symbols=symbols, sectors=sectors, covariance=covariance, nav_usd=nav_usd
    )
    if args.json:
        print(
            results_json(
                results,
                portfolio=args.portfolio,
                basis=basis,
                as_of=as_of.isoformat(),
                nav_usd=nav_usd,
                gross_exposure=float(np.abs(weights).sum()),
                net_exposure=float(weights.sum()),
                covariance_days=len(returns),
            )
        )
        return 0
    print(
        f"{args.portfolio}: stress of {basis} as of {as_of}, NAV USD {nav_usd:,.2f}, gross "
        f"{np.abs(weights).sum():.1%}, net {weights.sum():.1%} of NAV; VaR from {len(returns)} "
        "daily returns"
    )
    print(format_table(results))
    return 0


def _event_json(event: Event) -> dict[str, object]:
    return {
        "seq": event.seq,
        "portfolio_seq": event.portfolio_seq,
        "event_id": event.event_id,
        "type": event.type,
        "timestamp": event.timestamp.isoformat(),
        "actor": event.actor,
        "portfolio_id": event.portfolio_id,
        "correlation_id": event.correlation_id,
        "version": event.version,
        "payload": event.payload,
    }


def _print_event(event: Event, as_json: bool) -> None:
    if as_json:
        print(json.dumps(_event_json(event), separators=(",", ":")), flush=True)
        return
    where = f"{event.portfolio_id}#{event.portfolio_seq}" if event.portfolio_id else "-"
    payload = json.dumps(event.payload, separators=(",", ":"))
    print(
        f"{event.seq:>8} {event.timestamp:%Y-%m-%d %H:%M:%S} {where:<16} "
        f"{event.type:<20} {event.actor:<14} {payload}",
        flush=True,
    )


def _tail_pulsar(args: argparse.Namespace) -> int:
    from engine.assembly import pulsar_settings
    from engine.events.pulsar_bus import tail_events

    settings = pulsar_settings(load_config(args.config))
    print(
        f"following {settings.topic('*')} on {settings.service_url}; Ctrl+C stops", file=sys.stderr
    )
    try:
        for event in tail_events(settings, args.portfolio):
            if args.event_type is None or event.type == args.event_type:
                _print_event(event, args.json)
    except KeyboardInterrupt:
        pass
    return 0


def _events(args: argparse.Namespace) -> int:
    from engine.assembly import default_database_url
    from engine.events.store import SqlEventStore

    if args.action == "tail":
        if args.bus != "pulsar":
            raise ConfigError("events tail: use --bus pulsar (the store is read with --from-seq)")
        return _tail_pulsar(args)
    if args.bus == "pulsar":
        raise ConfigError("events --bus pulsar: only 'events tail' reads Pulsar")
    if args.limit < 1:
        raise ConfigError(f"--limit: {args.limit} must be at least 1")
    store = SqlEventStore.from_url(args.database_url or default_database_url())
    from_seq = args.from_seq
    if args.since is not None:
        from_seq = max(from_seq or 1, store.first_seq_at(args.since))
    if from_seq is not None:
        selected = store.read_from(
            from_seq,
            args.limit,
            args.portfolio,
            frozenset({args.event_type}) if args.event_type else None,
        )
    else:
        selected = store.query(args.portfolio, args.event_type, limit=args.limit)[::-1]
    store.close()
    for event in selected:
        _print_event(event, args.json)
    if not selected and not args.json:
        print("no events match", file=sys.stderr)
    return 0


def _bench_store(args: argparse.Namespace) -> int:
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


def _bench_pulsar(args: argparse.Namespace) -> int:
    import tempfile

    from engine.assembly import pulsar_settings
    from engine.bench.pulsar_bench import run_pulsar_bench

    settings = pulsar_settings(load_config(None))
    script = Path(__file__).resolve().parent.parent / "scripts" / "pulsar.sh"
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


def _print_import_result(result: ImportResult) -> None:
    print(f"accepted {result.accepted}, rejected {result.rejected}, duplicates {result.duplicates}")
    if not result.rejections:
        return
    by_field = Counter(_printable(rejection.field) for rejection in result.rejections)
    print("rejected by field: " + ", ".join(f"{f} {n}" for f, n in by_field.most_common()))
    print("rejected:")
    ids = [_printable(r.signal_id) for r in result.rejections]
    row_width = max(len(r.row) for r in result.rejections)
    id_width = min(40, max(map(len, ids)))
    for rejection, signal_id in zip(result.rejections, ids, strict=True):
        print(
            f"  {rejection.row:<{row_width}}  {signal_id:<{id_width}}  "
            f"{_printable(rejection.field)}: {rejection.reason}"
        )


def _printable(text: str | None) -> str:
    """An id or field name as one table cell: empty or with a control character (a newline,
    say) it is shown quoted and escaped."""
    if text is None:
        return "-"
    return text if text and text.isprintable() else repr(text)


def _signals_dry_run(args: argparse.Namespace, signal_file: SignalFile) -> ImportResult:
    from tqdm import tqdm

    from engine.assembly import build_external_sources, build_feed

    config = load_config(args.config)
    symbols = [instrument.symbol for instrument in build_feed(config).instruments]
    sources = build_external_sources(config)
    as_of = args.as_of
    if as_of is not None:
        dates = f"dates checked as of {as_of} (--as-of)"
    else:
        as_of = latest_timestamp(signal_file)
        dates = (
            f"dates checked as of {as_of}, the file's latest timestamp; pass --as-of DATE "
            "to check them against the engine's market date"
            if as_of
            else "no timestamp in the file is a date"
        )
    print(
        f"dry run: {len(signal_file)} signals in {signal_file.path} checked against "
        f"{len(symbols)} instruments and sources {', '.join(sorted(sources)) or '(none)'}; "
        f"{dates}; nothing sent"
    )
    with tqdm(
        total=len(signal_file),
        unit="signal",
        desc="check",
        disable=args.no_progress or len(signal_file) <= args.batch_size,
        file=sys.stderr,
    ) as bar:
        return check_signals(signal_file, symbols, sources, as_of, args.batch_size, bar.update)


def _signals_import(args: argparse.Namespace, signal_file: SignalFile) -> ImportResult:
    from tqdm import tqdm

    with tqdm(
        total=len(signal_file),
        unit="signal",
        desc="import",
        disable=args.no_progress or len(signal_file) <= args.batch_size,
        file=sys.stderr,
    ) as bar:
        result = import_signals(
            signal_file, args.url, args.actor or _default_actor(), args.batch_size, bar.update
        )
    print(
        f"{len(signal_file)} signals from {signal_file.path} sent to {args.url} in "
        f"{result.requests} requests (engine market date {result.market_date})"
    )
    return result


def _bench(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    if args.instruments < 20 or args.portfolios < 1 or args.cycles < 2 or args.warmup < 0:
        raise ConfigError("--instruments at least 20, --portfolios 1, --cycles 2, --warmup 0")
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
            args.instruments, args.portfolios, args.cycles, args.warmup, lambda _: bar.update()
        )
    print(json.dumps(result.as_dict()) if args.json else result.format())
    return 0


def _bench_trades(args: argparse.Namespace) -> int:
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


def _bench_allocation(args: argparse.Namespace) -> int:
    from engine.bench.allocation_bench import format_results, run_allocation_bench

    if min(args.sizes) < 2 or args.cycles < 2 or args.reference_cycles < 0:
        raise ConfigError("--sizes must be at least 2, --cycles at least 2")
    results = run_allocation_bench(
        tuple(args.sizes),
        args.cycles,
        args.reference_cycles,
        on_cycle=lambda n, k: print(f"N={n}: cycle {k}", file=sys.stderr),
    )
    if args.json:
        print(json.dumps([r.as_dict() for r in results]))
    else:
        print(format_results(results))
    return 0


def _allocate(args: argparse.Namespace) -> int:
    import csv

    from engine.allocation.one_shot import allocate_from_prices
    from engine.allocation.optimisers import Bounds, InfeasibleAllocation
    from engine.market.data import load_price_file

    history = load_price_file(args.prices)
    try:
        result = allocate_from_prices(
            history.symbols,
            history.close,
            args.method,
            args.risk_model,
            args.lookback_days,
            Bounds(args.invested, args.min_weight, args.max_weight, args.gross, args.net_floor),
            args.risk_aversion,
        )
    except (InfeasibleAllocation, ValueError) as exc:
        print(f"pcoord: allocate: {exc}", file=sys.stderr)
        return 2
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["symbol", "weight", "risk_contribution"])
        for symbol, weight, risk in zip(
            result.symbols, result.weights, result.risk_contributions, strict=True
        ):
            writer.writerow([symbol, f"{weight:.8f}", f"{risk:.8f}"])
        writer.writerow(["CASH", f"{result.cash_weight:.8f}", "0"])
    print(
        f"{result.method} on {len(result.symbols)} instruments ({result.observations} daily "
        f"returns, {result.risk_model} covariance): ex-ante volatility "
        f"{result.annual_volatility:.2%} a year, cash {result.cash_weight:.2%}; wrote {args.out}"
    )
    if result.left_out:
        print(f"left out, no full history in the window: {', '.join(result.left_out)}")
    return 0


def _signals_quality(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from engine.assembly import build_feed, build_sources
    from engine.signals.quality_report import measure_source_quality

    config = load_config(args.config)
    feed = build_feed(config, args.start, args.end)
    with tqdm(
        total=len(feed), unit="day", desc="quality", file=sys.stderr, disable=args.no_progress
    ) as bar:
        report = measure_source_quality(config, feed, build_sources(config), lambda _: bar.update())
    print(json.dumps(report.to_json()) if args.json else report.format_table())
    return 0


def _bench_signals(args: argparse.Namespace) -> int:
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


def _signals(args: argparse.Namespace) -> int:
    """``signals import``: 0 if every signal was taken, 1 if some were rejected, 2 on failure.
    ``signals quality``: the built-in sources' information coefficients."""
    if args.signals_action == "quality":
        return _signals_quality(args)
    try:
        signal_file = read_signal_file(args.file)
        if args.dry_run:
            result = _signals_dry_run(args, signal_file)
        else:
            result = _signals_import(args, signal_file)
    except SignalFileError as exc:
        print(f"pcoord: {exc}", file=sys.stderr)
        return 2
    except ServerError as exc:
        if exc.partial is not None:
            print(f"before the failure, {exc.partial.requests} requests went through:")
            _print_import_result(exc.partial)
        print(f"pcoord: {exc.message}", file=sys.stderr)
        if exc.partial is not None or exc.reached:
            print(
                "pcoord: importing the file again is safe: signals the engine already took "
                "come back as duplicates",
                file=sys.stderr,
            )
        return 2
    _print_import_result(result)
    return 1 if result.rejected else 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    handlers = {
        "serve": _serve,
        "dashboard": _dashboard,
        "replay": _replay,
        "check": _check,
        "events": _events,
        "bench-store": _bench_store,
        "bench-pulsar": _bench_pulsar,
        "bench-signals": _bench_signals,
        "allocate": _allocate,
        "bench-allocation": _bench_allocation,
        "bench-trades": _bench_trades,
        "bench": _bench,
        "signals": _signals,
        "stress": _stress,
    }
    try:
        return handlers[args.command](args)
    except (ConfigError, MarketDataError, RecoveryError) as exc:
        print(f"pcoord: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
