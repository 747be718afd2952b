"""``pcoord``: the command line of Portfolio Coordinator.

``main`` parses the arguments (``parser.py``) and runs the command's handler, one module per
command group in this package (``serve``, ``replay``, ``report``, ``rebalance``, ``store``,
``stress``, ``allocate``, ``signals``, ``bench``), each imported only when its command runs:
every handler's module (and with it cvxpy, pandas, SQLAlchemy, Dash) stays unloaded for
``pcoord --help``.
Handlers call the engine; they compute nothing of their own.
"""

from __future__ import annotations

import importlib
import logging
import sys
import time
import traceback
from collections.abc import Sequence

from app.cli.parser import build_parser
from engine.errors import ConfigError, MarketDataError, RecoveryError, StoreError

# The module and function that handle each command.
HANDLERS = {
    "serve": "app.cli.serve:serve",
    "dashboard": "app.cli.serve:dashboard",
    "replay": "app.cli.replay:replay",
    "report": "app.cli.report:report",
    "rebalance": "app.cli.rebalance:rebalance",
    "check": "app.cli.store:check",
    "events": "app.cli.store:events",
    "archive": "app.cli.store:archive",
    "store-stats": "app.cli.store:store_stats",
    "stress": "app.cli.stress:stress",
    "allocate": "app.cli.allocate:allocate",
    "signals": "app.cli.signals:signals",
    "bench": "app.cli.bench:bench",
    "bench-store": "app.cli.bench:bench_store",
    "bench-pulsar": "app.cli.bench:bench_pulsar",
    "bench-signals": "app.cli.bench:bench_signals",
    "bench-trades": "app.cli.bench:bench_trades",
    "bench-allocation": "app.cli.bench:bench_allocation",
    "bench-dashboard": "app.cli.bench:bench_dashboard",
}


def main(argv: Sequence[str] | None = None) -> int:
    started = time.perf_counter()
    args = build_parser().parse_args(argv)
    # When the command began, for what it reports of its own start-up (replay's startup_s).
    args.command_started = started
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    module_name, function_name = HANDLERS[args.command].split(":")
    handler = getattr(importlib.import_module(module_name), function_name)
    try:
        return int(handler(args))
    except (ConfigError, MarketDataError, RecoveryError, StoreError) as exc:
        # A person's mistake or the environment's, not a bug: one line, the traceback on -v.
        if args.verbose:
            traceback.print_exc()
        print(f"pcoord: {exc}", file=sys.stderr)
        return 2
