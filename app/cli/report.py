"""`pcoord report`: the tear sheet of a run, read from its event store."""

from __future__ import annotations

import argparse
import time


def report(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from app.tearsheet import write_tearsheet
    from engine.assembly import build_feed
    from engine.config import load_config
    from engine.errors import ConfigError
    from engine.events.store import SqlEventStore, default_database_url
    from engine.market.feeds import HistoricalFeed
    from engine.performance.report import build_report

    started = time.perf_counter()
    config = load_config(args.config)
    feed = build_feed(config)
    if not isinstance(feed, HistoricalFeed):
        raise ConfigError(
            f'market.source "{config.market.source}" keeps no price history to measure '
            "benchmarks against: report on a run of the bundled market or a price file"
        )
    store = SqlEventStore.from_url(args.database_url or default_database_url(), writable=False)
    bar = tqdm(total=1, unit="step", disable=args.no_progress, leave=False)

    def progress(step: str, done: int, total: int) -> None:
        bar.set_description(step)
        bar.total = max(total, 1)
        bar.n = done
        bar.refresh()

    try:
        result = build_report(
            config,
            store,
            feed.history,
            None if args.all else args.portfolio,
            args.start,
            args.end,
            progress,
        )
    finally:
        store.close()
        bar.close()
    if not result.analyses:
        raise ConfigError(
            "no portfolio has two days of NAV in the range: nothing to report "
            f"({'; '.join(f'{pid}: {why}' for pid, why in result.skipped.items())})"
        )
    written = write_tearsheet(result, args.out, [p.id for p in config.portfolios])
    print(
        f"tear sheet of {len(result.analyses)} portfolio(s), {result.first_date} to "
        f"{result.last_date}, in {time.perf_counter() - started:.1f} s: {written[0]} "
        f"({written[0].stat().st_size / 1e6:.1f} MB); {len(written) - 1} tables as CSV in "
        f"{written[0].with_name(written[0].stem + '-csv')}"
    )
    return 0
