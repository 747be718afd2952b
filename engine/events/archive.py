"""Archiving: old events move out of the live store into an archive store, and stay readable.

``archive_before(store, day, archive_url)`` moves the oldest part of the log, every event up to
the end of the last cycle whose market date is before ``day`` (a prefix by ``seq``: the log
stays a log, and a replay restarted to earlier dates later on keeps its cycles live), into an
archive: an event store of the same schema (by default a SQLite file beside the live one), with
the same ``seq``, ids and payloads, so ``pcoord events --archive PATH`` (or any reader of a
store) reads it back in order.

The engine still recovers: in the live store, in one transaction, a state snapshot as of the
last archived event is written, the events and the older snapshots are deleted, and
``archived_through_seq`` (with each portfolio's last archived ``portfolio_seq``, so numbering
goes on without a repeat) is recorded in ``store_meta``. Recovery and ``pcoord check`` start
from that snapshot, and refuse a store whose snapshots no longer cover its archived events.

Crash-safe by order: the copy is committed (and idempotent) before anything is deleted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import delete, func, insert, select

from engine.errors import StoreError
from engine.events.store import (
    ARCHIVED_THROUGH,
    PORTFOLIO_SEQ_PREFIX,
    SqlEventStore,
    events_table,
    last_portfolio_seq,
    store_meta_table,
)
from engine.state.engine_state import EngineState
from engine.state.repository import StateRepository, snapshots_table

log = logging.getLogger(__name__)

ARCHIVE_OF = "archive_of"
COPY_PAGE = 5_000


@dataclass(frozen=True, slots=True)
class ArchiveReport:
    archive_url: str
    before: date
    first_seq: int
    last_seq: int
    events_moved: int
    last_market_date: str | None

    def describe(self) -> str:
        if not self.events_moved:
            return f"nothing to archive before {self.before} (no cycle left before that date)"
        return (
            f"archived {self.events_moved:,} events (#{self.first_seq:,} to #{self.last_seq:,}, "
            f"market dates up to {self.last_market_date}) to {self.archive_url}"
        )


def cutoff_seq(store: SqlEventStore, before: date) -> tuple[int, str | None]:
    """The last event to archive: the ``CycleCompleted`` of the last cycle before the first
    cycle whose market date is ``before`` or later; and that cycle's market date."""
    last_seq, last_day = 0, None
    for event in store.iter_from(1, event_types=frozenset({"CycleCompleted"})):
        day = event.payload["market_date"]
        if date.fromisoformat(day) >= before:
            break
        last_seq, last_day = int(event.seq or 0), day
    return last_seq, last_day


def default_archive_path(store: SqlEventStore, before: date) -> Path:
    """Beside a SQLite store: ``<name>-archive-before-<date>.db``; else under var/archive/."""
    database = store.engine.url.database
    if store.engine.url.get_backend_name() == "sqlite" and database and database != ":memory:":
        live = Path(database)
        return live.with_name(f"{live.stem}-archive-before-{before.isoformat()}.db")
    return Path("var") / "archive" / f"events-before-{before.isoformat()}.db"


def state_at(store: SqlEventStore, repository: StateRepository, last_seq: int) -> EngineState:
    """The state as of event ``last_seq``: the newest valid snapshot at or before it, then the
    events up to it."""
    state, start = EngineState(), store.archived_through()
    for row in repository.snapshot_rows():
        if row.last_seq <= last_seq:
            loaded = repository.load_snapshot(row)
            if loaded is not None:
                state, start = loaded, int(row.last_seq)
                break
    for event in store.iter_from(start + 1):
        if int(event.seq or 0) > last_seq:
            break
        state.apply(event)
    return state


def archive_before(
    store: SqlEventStore,
    before: date,
    archive_url: str,
    progress: Callable[[str], None] = lambda _line: None,
) -> ArchiveReport:
    """Move every event up to the end of the last cycle before ``before`` to ``archive_url``."""
    floor = store.archived_through()
    last_seq, last_day = cutoff_seq(store, before)
    if last_seq <= floor:
        return ArchiveReport(archive_url, before, floor + 1, floor, 0, last_day)
    repository = StateRepository(store)
    progress(f"state as of event #{last_seq:,} (market date {last_day}) ...")
    state = state_at(store, repository, last_seq)

    archive = SqlEventStore.from_url(archive_url)
    try:
        _check_archive(archive, store.store_id, floor)
        copied = _copy(store, archive, floor, last_seq, progress)
    finally:
        archive.close()

    progress("removing the archived events from the live store ...")
    with store.engine.begin() as connection:
        counters = last_portfolio_seq(connection, last_seq)
        repository.write_snapshot(connection, state, last_seq)
        connection.execute(delete(snapshots_table).where(snapshots_table.c.last_seq < last_seq))
        connection.execute(delete(events_table).where(events_table.c.seq <= last_seq))
        _set_meta(connection, ARCHIVED_THROUGH, str(last_seq))
        for pid, seq in counters.items():
            _set_meta(connection, f"{PORTFOLIO_SEQ_PREFIX}{pid}", str(int(seq)))
    return ArchiveReport(archive_url, before, floor + 1, last_seq, copied, last_day)


def _check_archive(archive: SqlEventStore, store_id: str, floor: int) -> None:
    """An existing archive file must hold this store's events, and nothing past ``floor``
    from another run (its events continue where the live store's archive ends)."""
    with archive.engine.begin() as connection:
        owner = connection.execute(
            select(store_meta_table.c.value).where(store_meta_table.c.key == ARCHIVE_OF)
        ).scalar()
        if owner is None:
            connection.execute(insert(store_meta_table).values(key=ARCHIVE_OF, value=store_id))
        elif owner != store_id:
            raise StoreError(
                f"--archive: {shown(archive)} archives another event store ({owner}), "
                f"not this one ({store_id}); choose another path"
            )


def shown(store: SqlEventStore) -> str:
    return str(store.engine.url.database or store.engine.url)


def _copy(
    store: SqlEventStore,
    archive: SqlEventStore,
    floor: int,
    last_seq: int,
    progress: Callable[[str], None],
) -> int:
    """Copy events ``floor+1 .. last_seq`` with their own seq (skipping any copied already by
    an interrupted run); returns how many the archive holds in that range."""
    columns = [c.name for c in events_table.columns]
    total = last_seq - floor
    next_seq = floor + 1
    while next_seq <= last_seq:
        with store.engine.connect() as source:
            rows = source.execute(
                select(events_table)
                .where(events_table.c.seq >= next_seq)
                .where(events_table.c.seq <= last_seq)
                .order_by(events_table.c.seq)
                .limit(COPY_PAGE)
            ).all()
        if not rows:
            break
        with archive.engine.begin() as target:
            present = set(
                target.execute(
                    select(events_table.c.seq).where(
                        events_table.c.seq.between(rows[0].seq, rows[-1].seq)
                    )
                ).scalars()
            )
            fresh = [dict(zip(columns, row, strict=True)) for row in rows if row.seq not in present]
            if fresh:
                target.execute(insert(events_table), fresh)
        next_seq = int(rows[-1].seq) + 1
        progress(f"copied to #{rows[-1].seq:,} ({next_seq - floor - 1:,} of {total:,} seq)")
    with archive.engine.connect() as target:
        held = int(
            target.execute(
                select(func.count())
                .select_from(events_table)
                .where(events_table.c.seq.between(floor + 1, last_seq))
            ).scalar()
            or 0
        )
    with store.engine.connect() as source:
        expected = int(
            source.execute(
                select(func.count())
                .select_from(events_table)
                .where(events_table.c.seq.between(floor + 1, last_seq))
            ).scalar()
            or 0
        )
    if held != expected:
        raise StoreError(
            f"archive: {shown(archive)} holds {held:,} of the {expected:,} events to move; "
            "nothing was removed from the live store (run the command again)"
        )
    return held


def _set_meta(connection, key: str, value: str) -> None:  # type: ignore[no-untyped-def]
    updated = connection.execute(
        store_meta_table.update().where(store_meta_table.c.key == key).values(value=value)
    )
    if not updated.rowcount:
        connection.execute(insert(store_meta_table).values(key=key, value=value))


def archive_summary(archive: SqlEventStore) -> dict[str, object]:
    """What an archive file holds: its sequence range and count."""
    with archive.engine.connect() as connection:
        first, last, count = connection.execute(
            select(func.min(events_table.c.seq), func.max(events_table.c.seq), func.count())
        ).one()
    return {"first_seq": first, "last_seq": last, "events": count}
