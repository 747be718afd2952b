"""The SQL event store: the append-only system of record, through SQLAlchemy.

SQLite (in WAL mode) by default, PostgreSQL when the URL names one. ``seq`` is the global order,
assigned by the database; ``portfolio_seq`` numbers each portfolio's events without gaps; the
``event_id`` is unique, so appending the same event twice stores it once. One ``append`` call is one
transaction: a cycle's events are all stored or none are.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Connection,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    event,
    func,
    select,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import StatementError

from engine.model import Event

metadata = MetaData()
# SQLite only auto-increments an INTEGER PRIMARY KEY; elsewhere sequences are 64-bit.
SEQUENCE_TYPE = BigInteger().with_variant(Integer, "sqlite")

events_table = Table(
    "events",
    metadata,
    Column(
        "seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("event_id", String(128), nullable=False, unique=True),
    Column("type", String(64), nullable=False, index=True),
    Column("ts", DateTime(timezone=True), nullable=False),
    Column("actor", String(128), nullable=False),
    Column("portfolio_id", String(64), index=True),
    Column("portfolio_seq", BigInteger),
    Column("correlation_id", String(128)),
    Column("version", Integer, nullable=False),
    Column("payload", JSON, nullable=False),
)


def _not_json(value: Any) -> Any:
    hint = " (write money as str(amount), exact)" if isinstance(value, Decimal) else ""
    raise TypeError(
        f"event payload value {value!r} of type {type(value).__name__} is not JSON{hint}; "
        "payloads hold JSON values only, so live subscribers and readers of the log agree"
    )


def _dumps(payload: Any) -> str:
    return json.dumps(payload, default=_not_json, separators=(",", ":"))


def _enable_sqlite_wal(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()


def create_db_engine(database_url: str) -> Engine:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"check_same_thread": False}, json_serializer=_dumps
        )
        _enable_sqlite_wal(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, json_serializer=_dumps)


class SqlEventStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        metadata.create_all(engine)
        self._lock = threading.Lock()
        with engine.connect() as connection:
            rows = connection.execute(
                select(events_table.c.portfolio_id, func.max(events_table.c.portfolio_seq))
                .where(events_table.c.portfolio_id.is_not(None))
                .group_by(events_table.c.portfolio_id)
            )
            self._portfolio_seq: dict[str, int] = {pid: int(seq) for pid, seq in rows}
        self.store_id = self._identity()

    def _identity(self) -> str:
        """A random id given to this event store when it was created, kept in it for ever.

        Sequence numbers restart in a new store; whatever keys on them outside the database
        (the broker's deduplication) must also key on this id.
        """
        with self.engine.begin() as connection:
            found = connection.execute(
                select(store_meta_table.c.value).where(store_meta_table.c.key == "store_id")
            ).scalar()
            if found is None:
                found = uuid.uuid4().hex[:16]
                connection.execute(store_meta_table.insert().values(key="store_id", value=found))
        return str(found)

    @classmethod
    def from_url(cls, database_url: str) -> SqlEventStore:
        return cls(create_db_engine(database_url))

    def append(
        self,
        events: Sequence[Event],
        also: Callable[[Connection, list[Event]], None] | None = None,
    ) -> list[Event]:
        """Store ``events`` in one transaction; returns them with ``seq`` and ``portfolio_seq``.

        Events whose ``event_id`` is already stored are skipped (idempotent re-delivery) and are
        not in the result. ``also(connection, stored)`` runs inside the same transaction, so the
        state that the events change (projections, snapshots) commits with them or not at all.
        """
        if not events:
            return []
        with self._lock, self.engine.begin() as connection:
            ids = [item.event_id for item in events]
            existing = set(
                connection.execute(
                    select(events_table.c.event_id).where(events_table.c.event_id.in_(ids))
                ).scalars()
            )
            counters = dict(self._portfolio_seq)
            rows: list[dict[str, Any]] = []
            fresh: list[Event] = []
            for item in events:
                if item.event_id in existing:
                    continue
                _check_widths(item)
                existing.add(item.event_id)
                portfolio_seq = None
                if item.portfolio_id is not None:
                    portfolio_seq = counters.get(item.portfolio_id, 0) + 1
                    counters[item.portfolio_id] = portfolio_seq
                fresh.append(item)
                rows.append(
                    {
                        "event_id": item.event_id,
                        "type": item.type,
                        "ts": _as_utc(item.timestamp, item.event_id),
                        "actor": item.actor,
                        "portfolio_id": item.portfolio_id,
                        "portfolio_seq": portfolio_seq,
                        "correlation_id": item.correlation_id,
                        "version": item.version,
                        "payload": item.payload,
                    }
                )
            if not rows:
                return []
            # One executemany, then one read of the numbers the database gave: far cheaper than
            # INSERT .. RETURNING in parameter order, which SQLite runs a row at a time.
            try:
                connection.execute(events_table.insert(), rows)
            except StatementError as exc:
                if isinstance(exc.orig, TypeError):  # a payload value that is not JSON (SQLite)
                    raise ValueError(str(exc.orig)) from exc
                raise
            except TypeError as exc:  # the same, raised unwrapped by the PostgreSQL driver path
                raise ValueError(str(exc)) from exc
            seq_of = dict(
                connection.execute(
                    select(events_table.c.event_id, events_table.c.seq).where(
                        events_table.c.event_id.in_([row["event_id"] for row in rows])
                    )
                ).all()
            )
            stored = [
                replace(item, seq=int(seq_of[item.event_id]), portfolio_seq=row["portfolio_seq"])
                for item, row in zip(fresh, rows, strict=True)
            ]
            if also is not None:
                also(connection, stored)
        self._portfolio_seq = counters
        return stored

    def query(
        self,
        portfolio_id: str | None = None,
        event_type: str | None = None,
        before_seq: int | None = None,
        limit: int = 100,
    ) -> list[Event]:
        """Events newest first, filtered by portfolio and type, older than ``before_seq``."""
        statement = select(events_table).order_by(events_table.c.seq.desc()).limit(limit)
        if portfolio_id is not None:
            statement = statement.where(events_table.c.portfolio_id == portfolio_id)
        if event_type is not None:
            statement = statement.where(events_table.c.type == event_type)
        if before_seq is not None:
            statement = statement.where(events_table.c.seq < before_seq)
        with self.engine.connect() as connection:
            return [self._row_to_event(row) for row in connection.execute(statement)]

    def read_from(
        self,
        from_seq: int = 1,
        limit: int | None = None,
        portfolio_id: str | None = None,
        event_types: frozenset[str] | None = None,
    ) -> list[Event]:
        """Events in global order starting at ``from_seq``, optionally filtered."""
        statement = (
            select(events_table)
            .where(events_table.c.seq >= from_seq)
            .order_by(events_table.c.seq)
            .limit(limit)
        )
        if portfolio_id is not None:
            statement = statement.where(events_table.c.portfolio_id == portfolio_id)
        if event_types is not None:
            statement = statement.where(events_table.c.type.in_(sorted(event_types)))
        with self.engine.connect() as connection:
            return [self._row_to_event(row) for row in connection.execute(statement)]

    def iter_from(
        self,
        from_seq: int = 1,
        page_size: int = 10_000,
        portfolio_id: str | None = None,
        event_types: frozenset[str] | None = None,
    ) -> Iterator[Event]:
        """Every event from ``from_seq`` on, in order, read in pages (bounded memory)."""
        next_seq = from_seq
        while True:
            page = self.read_from(next_seq, page_size, portfolio_id, event_types)
            yield from page
            if len(page) < page_size:
                return
            next_seq = int(page[-1].seq or 0) + 1

    def first_seq_at(self, moment: datetime) -> int:
        """The seq of the first event stored at or after ``moment`` (for replay from a time)."""
        with self.engine.connect() as connection:
            seq = connection.execute(
                select(func.min(events_table.c.seq)).where(
                    events_table.c.ts >= _as_utc(moment, "first_seq_at")
                )
            ).scalar()
        return int(seq) if seq is not None else self.last_seq() + 1

    def last_seq(self) -> int:
        with self.engine.connect() as connection:
            return int(connection.execute(select(func.max(events_table.c.seq))).scalar() or 0)

    def event_types(self) -> list[str]:
        with self.engine.connect() as connection:
            return sorted(
                connection.execute(select(events_table.c.type).distinct()).scalars().all()
            )

    def count(self) -> int:
        with self.engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(events_table)).scalar())

    @staticmethod
    def _row_to_event(row: Any) -> Event:
        # SQLite keeps no offset (we write UTC); PostgreSQL answers in the session's time zone.
        timestamp = row.ts.astimezone(UTC) if row.ts.tzinfo else row.ts.replace(tzinfo=UTC)
        return Event(
            event_id=row.event_id,
            type=row.type,
            timestamp=timestamp,
            actor=row.actor,
            payload=row.payload,
            portfolio_id=row.portfolio_id,
            correlation_id=row.correlation_id,
            version=row.version,
            seq=row.seq,
            portfolio_seq=row.portfolio_seq,
        )

    def close(self) -> None:
        self.engine.dispose()


# Column widths of the events table: checked before writing, since SQLite would not enforce them.
FIELD_LIMITS = {
    "event_id": 128,
    "type": 64,
    "actor": 128,
    "portfolio_id": 64,
    "correlation_id": 128,
}


store_meta_table = Table(
    "store_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", String(256), nullable=False),
)


def _check_widths(item: Event) -> None:
    for name, limit in FIELD_LIMITS.items():
        value = getattr(item, name)
        if value is not None and len(value) > limit:
            raise ValueError(
                f"event {item.event_id[:40]}: {name} has {len(value)} characters (at most {limit})"
            )


def _as_utc(moment: datetime, event_id: str) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"event {event_id}: timestamp {moment} has no time zone (use UTC)")
    return moment.astimezone(UTC)


def utc_now() -> datetime:
    return datetime.now(UTC)
