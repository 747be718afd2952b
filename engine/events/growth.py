"""How big the event store grows: events and bytes per cycle, and which event types weigh most
(``pcoord store-stats``; figures in docs/benchmarks.md)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Text, cast, func, select

from engine.events.store import SqlEventStore, events_table


def store_growth(store: SqlEventStore, file_bytes: int | None = None) -> dict[str, Any]:
    """Cycles (``CycleCompleted`` events), events, payload bytes in all and per type; per 1,000
    cycles when the store's file size (``file_bytes``, SQLite) is given."""
    # The payload as its JSON text: what the store keeps of it, in any database.
    payload_bytes = func.sum(func.length(cast(events_table.c.payload, Text)))
    with store.engine.connect() as connection:
        rows = connection.execute(
            select(events_table.c.type, func.count(), payload_bytes)
            .group_by(events_table.c.type)
            .order_by(payload_bytes.desc())
        ).all()
    by_type = [
        {"type": kind, "events": int(count), "payload_bytes": int(size or 0)}
        for kind, count, size in rows
    ]
    cycles = next((row["events"] for row in by_type if row["type"] == "CycleCompleted"), 0)
    events = sum(row["events"] for row in by_type)
    return {
        "cycles": cycles,
        "events": events,
        "events_per_cycle": events / cycles if cycles else 0.0,
        "payload_bytes": sum(row["payload_bytes"] for row in by_type),
        "file_bytes": file_bytes,
        "file_mb_per_1000_cycles": (file_bytes / 1e6 / cycles * 1000)
        if file_bytes is not None and cycles
        else None,
        "by_type": by_type,
    }
