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
    store = SqlEventStore.from_url(args.database_url or default_database_url(), writable=False)
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
