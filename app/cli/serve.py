"""`pcoord serve` (engine + dashboard) and `pcoord dashboard` (a read-only follower)."""

from __future__ import annotations

import argparse
import logging
import signal
from collections.abc import Callable

from engine.config import load_config

log = logging.getLogger("pcoord")


def _serve_until_stopped(
    flask_app: object,
    host: str,
    port: int,
    banner: str,
    start: Callable[[], None],
    stop: Callable[[], None],
    threads: int,
) -> int:
    """Serve ``flask_app`` with waitress until Ctrl+C or SIGTERM; ``stop`` runs before the web
    server closes, so the engine (or follower) ends first. ``threads`` is waitress's worker count:
    the requests it answers at once (see docs/benchmarks.md, "Dashboard load")."""
    from waitress import create_server

    server = create_server(flask_app, host=host, port=port, threads=threads)
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


def serve(args: argparse.Namespace) -> int:
    from app.api import ApiSettings
    from app.dashboard import create_app
    from app.runtime import build_runtime
    from engine.performance.latency import low_latency_gc

    runtime = build_runtime(args.config, args.database_url, args.speed)
    dash_app = create_app(
        runtime.runner,
        runtime.dashboard_events(),
        api=ApiSettings.from_config(runtime.config),
        performance=runtime.performance(),
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
            args.threads,
        )


def dashboard(args: argparse.Namespace) -> int:
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
        args.threads,
    )
