"""`pcoord check` and `pcoord events`: the event store as a person reads it."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from engine.errors import ConfigError

if TYPE_CHECKING:
    from engine.model import Event


def check(args: argparse.Namespace) -> int:
    from engine.events.store import SqlEventStore, default_database_url
    from engine.state.consistency import check_consistency
    from engine.state.repository import StateRepository

    store = SqlEventStore.from_url(args.database_url or default_database_url(), writable=False)
    report = check_consistency(StateRepository(store))
    store.close()
    print(report.describe())
    return 0 if report.consistent else 1


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
    from engine.config import load_config
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


def events(args: argparse.Namespace) -> int:
    from engine.events.store import SqlEventStore, default_database_url
    from engine.views.queries import StoredEventQueries

    if args.action == "tail":
        if args.bus != "pulsar":
            raise ConfigError("events tail: use --bus pulsar (the store is read with --from-seq)")
        return _tail_pulsar(args)
    if args.bus == "pulsar":
        raise ConfigError("events --bus pulsar: only 'events tail' reads Pulsar")
    if args.limit < 1:
        raise ConfigError(f"--limit: {args.limit} must be at least 1")
    if args.archive is not None:
        if args.database_url:
            raise ConfigError("events: give --archive or --database-url, not both")
        if not args.archive.is_file():
            raise ConfigError(f"--archive: {args.archive} is not a file")
    url = f"sqlite:///{args.archive}" if args.archive else args.database_url
    store = SqlEventStore.from_url(url or default_database_url(), writable=False)
    queries = StoredEventQueries(store)
    try:
        if args.from_seq is None and args.since is None:
            selected = queries.export(args.portfolio, args.event_type, limit=args.limit)
        else:
            selected = queries.oldest_first(
                args.from_seq, args.since, args.portfolio, args.event_type, args.limit
            )
    finally:
        store.close()
    for event in selected:
        _print_event(event, args.json)
    if not selected and not args.json:
        print("no events match", file=sys.stderr)
    return 0


def archive(args: argparse.Namespace) -> int:
    from engine.events.archive import archive_before, default_archive_path
    from engine.events.store import SqlEventStore, default_database_url

    store = SqlEventStore.from_url(args.database_url or default_database_url())
    try:
        path = args.archive or default_archive_path(store, args.before)
        path.parent.mkdir(parents=True, exist_ok=True)
        size_before = _sqlite_bytes(store)
        print(f"archiving events of market dates before {args.before} to {path}", flush=True)
        report = archive_before(
            store, args.before, f"sqlite:///{path}", lambda line: print(f"  {line}", flush=True)
        )
        print(report.describe())
        if report.events_moved and size_before is not None and not args.no_vacuum:
            print("  giving the freed space back to the disk (VACUUM) ...", flush=True)
            with store.engine.connect() as connection:
                connection.exec_driver_sql("VACUUM")
                # In WAL mode the compacted pages sit in the log until a checkpoint.
                connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            size_after = _sqlite_bytes(store) or 0
            print(f"live store: {size_before / 1e6:,.1f} MB -> {size_after / 1e6:,.1f} MB")
        if report.events_moved:
            print(f"read the archived events with: pcoord events --archive {path} --from-seq 1")
    finally:
        store.close()
    return 0


def _sqlite_bytes(store: object) -> int | None:
    """The size of a SQLite store's file (with its write-ahead log); None for other databases."""
    from pathlib import Path

    url = store.engine.url  # type: ignore[attr-defined]
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    path = Path(url.database)
    wal = path.with_name(path.name + "-wal")
    return path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


def store_stats(args: argparse.Namespace) -> int:
    from engine.events.growth import store_growth
    from engine.events.store import SqlEventStore, default_database_url

    store = SqlEventStore.from_url(args.database_url or default_database_url(), writable=False)
    try:
        stats = store_growth(store, _sqlite_bytes(store))
    finally:
        store.close()
    if args.json:
        print(json.dumps(stats, indent=2))
        return 0
    print(
        f"cycles {stats['cycles']:,}, events {stats['events']:,} "
        f"({stats['events_per_cycle']:.1f} per cycle)"
    )
    if stats["file_bytes"] is not None:
        print(
            f"file {stats['file_bytes'] / 1e6:,.1f} MB: "
            f"{stats['file_mb_per_1000_cycles']:,.1f} MB per 1,000 cycles"
        )
    print(f"payloads {stats['payload_bytes'] / 1e6:,.1f} MB; by event type (payload bytes):")
    for row in stats["by_type"]:
        print(f"  {row['type']:<26} {row['events']:>9,} events {row['payload_bytes']:>13,} bytes")
    return 0
