"""`pcoord signals import` (send or check a file of signals) and `pcoord signals quality`."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections import Counter

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
from engine.config import load_config


def signals(args: argparse.Namespace) -> int:
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


def _default_actor() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "cli"  # no login name (a container without a passwd entry)
