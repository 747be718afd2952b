"""The SQL event store: the append-only system of record, through SQLAlchemy.

SQLite (in WAL mode) by default, PostgreSQL when the URL names one. ``seq`` is the global order,
numbered by the store under the database's write lock (so without gaps, whatever the writers);
``portfolio_seq`` numbers each portfolio's events without gaps; the ``event_id`` is unique, so
appending the same event twice stores it once. One ``append`` call is one transaction: a cycle's
events are all stored or none are.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Connection,
    DateTime,
    Engine,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    event,
    func,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from engine.errors import StoreError
from engine.model import Event

log = logging.getLogger(__name__)

DATABASE_URL_ENV = "PCOORD_DATABASE_URL"

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
    Column("type", String(64), nullable=False),
    Column("ts", DateTime(timezone=True), nullable=False),
    Column("actor", String(128), nullable=False),
    Column("portfolio_id", String(64)),
    Column("portfolio_seq", BigInteger),
    Column("correlation_id", String(128)),
    Column("version", Integer, nullable=False),
    Column("payload", JSON, nullable=False),
    # What readers filter on, newest first: by type and by portfolio (the second also gives
    # each portfolio's last number when a writer opens the store: last_portfolio_seq).
    Index("ix_events_type_seq", "type", "seq"),
    Index("ix_events_portfolio_seq", "portfolio_id", "seq"),
)


def _not_json(value: Any) -> Any:
    hint = " (write money as str(amount), exact)" if isinstance(value, Decimal) else ""
    raise TypeError(
        f"event payload value {value!r} of type {type(value).__name__} is not JSON{hint}; "
        "payloads hold JSON values only, so live subscribers and readers of the log agree"
    )


# Types orjson would write natively but the stdlib refuses go to ``_plain_float`` (and on to
# the stdlib): a payload it refuses today is still refused, with the same message.
_ORJSON_OPTIONS = (
    orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)


def _plain_float(value: Any) -> Any:
    if isinstance(value, float):  # numpy.float64: the stdlib writes it as a float
        return float(value)
    raise TypeError(type(value).__name__)


def _dumps(payload: Any) -> str:
    """A payload's JSON text: orjson (about 5x faster on a cycle's events), else the stdlib.

    The stdlib writes the payloads orjson would write differently in value: those holding NaN or
    infinity (orjson makes them null, so a replay would fold another value than the live state
    applied: any payload whose text holds a null is written again by the stdlib, 5% of a cycle's),
    and those orjson refuses (keys that are not strings, integers beyond 64 bits, subclasses).
    What still differs is only the spelling of the same values: floats in shortest form
    (2.6e-05 becomes 0.000026) and non-ASCII characters in UTF-8 rather than \\u escapes.
    """
    try:
        text = orjson.dumps(payload, default=_plain_float, option=_ORJSON_OPTIONS)
    except TypeError:  # orjson.JSONEncodeError is one
        text = None
    if text is None or b"null" in text:
        return json.dumps(payload, default=_not_json, separators=(",", ":"))
    return text.decode()


def _enable_sqlite_wal(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        # No checkpoint inside a commit (every few cycles one landed in the events stage, with
        # its fsync): the engine calls checkpoint() after each cycle instead.
        cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.close()


def default_database_url(var_dir: Path = Path("var")) -> str:
    """``PCOORD_DATABASE_URL`` if set, else the SQLite file ``var/pcoord.db`` (working dir)."""
    return os.environ.get(DATABASE_URL_ENV) or f"sqlite:///{(var_dir / 'pcoord.db').resolve()}"


def shown_url(url: str | URL) -> str:
    """A database URL fit to print: its password hidden."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return str(url)


def _parse_url(database_url: str) -> URL:
    try:
        return make_url(database_url)
    except ArgumentError as exc:
        raise StoreError(
            f"{database_url!r} is not a database URL (for example sqlite:///var/pcoord.db or "
            "postgresql+psycopg://user@host:5432/pcoord)"
        ) from exc


def create_db_engine(database_url: str, create: bool = True) -> Engine:
    """An engine for ``database_url``. With ``create`` false, a SQLite file that does not exist
    is an error (a reader must not leave an empty database behind a mistyped path)."""
    url = _parse_url(database_url)
    try:
        if url.get_backend_name() == "sqlite":
            if url.database and url.database != ":memory:":
                path = Path(url.database)
                if not create and not path.is_file():
                    raise StoreError(
                        f"no event store at {path}: there is no such database file (run `pcoord "
                        "serve` or `pcoord replay` first, or pass --database-url)"
                    )
                path.parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(
                url, connect_args={"check_same_thread": False}, json_serializer=_dumps
            )
            _enable_sqlite_wal(engine)
            return engine
        return create_engine(url, pool_pre_ping=True, json_serializer=_dumps)
    except ArgumentError as exc:  # an unknown dialect or driver
        raise StoreError(f"cannot use {shown_url(url)}: {exc}") from exc


def _reason(exc: DBAPIError) -> str:
    """The database's own words, first line, without SQLAlchemy's statement and links."""
    return str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)


class SqlEventStore:
    """The event log. ``writable`` stores create their tables and indexes (a new database, or one
    written by an older version); read-only ones (``pcoord check``, ``events``, ``stress``) create
    nothing and refuse a database that holds no event log."""

    def __init__(self, engine: Engine, writable: bool = True) -> None:
        self.engine = engine
        self.writable = writable
        self._lock = threading.Lock()
        # Each portfolio's last portfolio_seq, read on the first append (readers never need it).
        self._portfolio_seq: dict[str, int] | None = None
        # The last seq those counters include; another writer moved it if max(seq) differs.
        self._counted_through: int | None = None
        try:
            if writable:
                metadata.create_all(engine)
                _create_missing_indexes(engine)
            elif not inspect(engine).has_table(events_table.name):
                raise StoreError(
                    f"{shown_url(engine.url)} holds no event log (no table "
                    f"{events_table.name!r}): run `pcoord serve` or `pcoord replay` on it first"
                )
        except DBAPIError as exc:
            raise StoreError(
                f"cannot open the event store at {shown_url(engine.url)}: {_reason(exc)}"
            ) from exc

    @cached_property
    def store_id(self) -> str:
        """A random id given to this event store when it was created, kept in it for ever.

        Sequence numbers restart in a new store; whatever keys on them outside the database
        (the broker's deduplication) must also key on this id.
        """
        with self.engine.begin() as connection:
            found = connection.execute(
                select(store_meta_table.c.value).where(store_meta_table.c.key == "store_id")
            ).scalar()
            if found is None and self.writable:
                found = uuid.uuid4().hex[:16]
                connection.execute(store_meta_table.insert().values(key="store_id", value=found))
        return str(found or "")

    @classmethod
    def from_url(cls, database_url: str, writable: bool = True) -> SqlEventStore:
        """The store at ``database_url``; ``writable=False`` opens an existing one to read."""
        return cls(create_db_engine(database_url, create=writable), writable)

    @contextmanager
    def consistent_read(self) -> Iterator[Connection]:
        """One connection whose reads all see the store as of one moment, while a running
        engine goes on appending: SQLite's WAL keeps a read transaction's snapshot, PostgreSQL
        gives one at REPEATABLE READ. Pass it to the read methods' ``connection``."""
        with self.engine.connect() as connection:
            if connection.dialect.name == "postgresql":
                connection.execution_options(isolation_level="REPEATABLE READ")
            elif connection.dialect.name == "sqlite":
                # pysqlite begins no transaction for a SELECT; without this each statement
                # would see the store as of its own moment.
                connection.exec_driver_sql("BEGIN")
            try:
                yield connection
            finally:
                connection.rollback()

    @contextmanager
    def reading(self, connection: Connection | None = None) -> Iterator[Connection]:
        """``connection`` if given (a ``consistent_read``), else a connection of its own."""
        if connection is not None:
            yield connection
            return
        with self.engine.connect() as own:
            yield own

    def _portfolio_counters(self, connection: Connection) -> dict[str, int]:
        if self._portfolio_seq is None:
            # Numbering goes on after events moved to an archive (engine/events/archive.py).
            counters = self.archived_portfolio_seq(connection)
            for pid, seq in last_portfolio_seq(connection).items():
                counters[pid] = max(counters.get(pid, 0), seq)
            self._portfolio_seq = counters
        return self._portfolio_seq

    def archived_through(self, connection: Connection | None = None) -> int:
        """The last event sequence moved to an archive (0: nothing archived)."""
        with self.reading(connection) as reading:
            value = reading.execute(
                select(store_meta_table.c.value).where(store_meta_table.c.key == ARCHIVED_THROUGH)
            ).scalar()
        return int(value or 0)

    def archived_portfolio_seq(self, connection: Connection | None = None) -> dict[str, int]:
        """Each portfolio's last archived ``portfolio_seq``."""
        with self.reading(connection) as reading:
            rows = reading.execute(
                select(store_meta_table.c.key, store_meta_table.c.value).where(
                    store_meta_table.c.key.startswith(PORTFOLIO_SEQ_PREFIX)
                )
            )
            return {key[len(PORTFOLIO_SEQ_PREFIX) :]: int(value) for key, value in rows}

    def append(
        self,
        events: Sequence[Event],
        also: Callable[[Connection, list[Event]], None] | None = None,
    ) -> list[Event]:
        """Store ``events`` in one transaction; returns them with ``seq`` and ``portfolio_seq``.

        Events whose ``event_id`` is already stored are skipped (idempotent re-delivery) and are
        not in the result. ``also(connection, stored)`` runs inside the same transaction, so the
        state that the events change (projections, snapshots) commits with them or not at all.

        The rows go to the driver's own ``executemany`` (SQLAlchemy's per-row processing cost
        more than SQLite itself), with ``seq`` numbered here, under the database's write lock,
        rather than read back after the insert.
        """
        if not events:
            return []
        with self._lock:
            with self.engine.begin() as connection:
                dialect = connection.dialect.name
                last_seq = self._lock_for_append(connection)
                existing = self._stored_ids(connection, [item.event_id for item in events])
                if self._counted_through != last_seq:
                    # Another store object or process appended since our counters were read.
                    self._portfolio_seq = None
                counters = dict(self._portfolio_counters(connection))
                timestamp_to_db = self._timestamp_to_db(connection)
                rows: list[tuple[Any, ...]] = []
                stored: list[Event] = []
                seq = last_seq
                for item in events:
                    if item.event_id in existing:
                        continue
                    _check_widths(item)
                    existing.add(item.event_id)
                    portfolio_seq = None
                    if item.portfolio_id is not None:
                        portfolio_seq = counters.get(item.portfolio_id, 0) + 1
                        counters[item.portfolio_id] = portfolio_seq
                    seq += 1
                    try:
                        payload = _dumps(item.payload)
                    except TypeError as exc:  # a payload value that is not JSON
                        raise ValueError(str(exc)) from exc
                    timestamp = _as_utc(item.timestamp, item.event_id)
                    rows.append(
                        (
                            seq,
                            item.event_id,
                            item.type,
                            timestamp_to_db(timestamp) if timestamp_to_db else timestamp,
                            item.actor,
                            item.portfolio_id,
                            portfolio_seq,
                            item.correlation_id,
                            item.version,
                            payload,
                        )
                    )
                    # The constructor with every field in order, not _replace: a third of the
                    # cost, per event.
                    stored.append(
                        Event(
                            item.event_id,
                            item.type,
                            item.timestamp,
                            item.actor,
                            item.payload,
                            item.portfolio_id,
                            item.correlation_id,
                            item.version,
                            seq,
                            portfolio_seq,
                        )
                    )
                if not rows:
                    return []
                connection.exec_driver_sql(_INSERT_EVENT[dialect], rows)
                if dialect == "postgresql":
                    # Keep the column's own sequence in step with the numbers given here, so a
                    # row inserted without a seq (by hand, or by an older version) cannot take
                    # one of them. setval is not undone by a rollback: then the sequence is
                    # only ahead, which leaves a gap for such a row and never a duplicate.
                    connection.exec_driver_sql(
                        "SELECT setval(pg_get_serial_sequence('events', 'seq'), %s)", (seq,)
                    )
                if also is not None:
                    also(connection, stored)
            # Still under the lock, and only once committed: the next append (another
            # thread's) numbers on from here, never from the counters before this one.
            self._portfolio_seq = counters
            self._counted_through = seq
        return stored

    def _lock_for_append(self, connection: Connection) -> int:
        """Take the database's write lock for this transaction; returns the last seq given.

        The numbers are read under that lock, so two writers (threads with store objects of
        their own, or processes on the same file or server) can never number from the same
        last seq: the second waits until the first has committed, then reads its numbers.
        """
        dialect = connection.dialect.name
        if dialect == "sqlite":
            # pysqlite would begin a deferred transaction at the first INSERT: a read of
            # max(seq) before it would take no lock at all. IMMEDIATE takes the write lock now
            # (waiting up to busy_timeout for another writer).
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        elif dialect == "postgresql":
            # A lock rather than the table's sequence: nextval hands out numbers that commit
            # in any order and leaves gaps at every rollback, and readers that page by seq
            # (subscriptions catching up, the dashboard's tail) would skip an event committed
            # later under a lower number. SHARE ROW EXCLUSIVE conflicts with itself and with
            # every write, not with reads: appends take turns, readers never wait.
            connection.exec_driver_sql("LOCK TABLE events IN SHARE ROW EXCLUSIVE MODE")
        else:
            raise StoreError(
                f"database dialect {dialect!r} is not supported (use SQLite or PostgreSQL)"
            )
        found = connection.execute(select(func.max(events_table.c.seq))).scalar()
        if found is None:  # an empty table: numbering goes on after any archived events
            return self.archived_through(connection)
        return int(found)

    @staticmethod
    def _stored_ids(connection: Connection, ids: list[str]) -> set[str]:
        """Which of ``ids`` are stored already (one query per 5,000, under the variable limit)."""
        mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
        found: set[str] = set()
        for start in range(0, len(ids), _IDS_PER_QUERY):
            chunk = tuple(ids[start : start + _IDS_PER_QUERY])
            marks = ", ".join([mark] * len(chunk))
            found.update(
                connection.exec_driver_sql(
                    f"SELECT event_id FROM events WHERE event_id IN ({marks})", chunk
                ).scalars()
            )
        return found

    def _timestamp_to_db(self, connection: Connection) -> Callable[[datetime], Any] | None:
        """How SQLAlchemy writes a timestamp for this database (SQLite: its own text form), so
        rows written by the driver read back, and compare in ``first_seq_at``, exactly as rows
        written through SQLAlchemy did."""
        ts_type = events_table.c.ts.type
        processor = ts_type.dialect_impl(connection.dialect).bind_processor(connection.dialect)
        # The same text from datetime.isoformat, at half the cost, when it is the same text.
        probe = datetime(1999, 2, 3, 4, 5, 6, 7, tzinfo=UTC)
        if processor is not None and processor(probe) == _sqlite_text(probe):
            return _sqlite_text
        return processor

    def query(
        self,
        portfolio_id: str | None = None,
        event_type: str | None = None,
        before_seq: int | None = None,
        limit: int = 100,
        connection: Connection | None = None,
    ) -> list[Event]:
        """Events newest first, filtered by portfolio and type, older than ``before_seq``."""
        statement = select(events_table).order_by(events_table.c.seq.desc()).limit(limit)
        if portfolio_id is not None:
            statement = statement.where(events_table.c.portfolio_id == portfolio_id)
        if event_type is not None:
            statement = statement.where(events_table.c.type == event_type)
        if before_seq is not None:
            statement = statement.where(events_table.c.seq < before_seq)
        with self.reading(connection) as reading:
            return [self._row_to_event(row) for row in reading.execute(statement)]

    def read_from(
        self,
        from_seq: int = 1,
        limit: int | None = None,
        portfolio_id: str | None = None,
        event_types: frozenset[str] | None = None,
        connection: Connection | None = None,
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
        with self.reading(connection) as reading:
            return [self._row_to_event(row) for row in reading.execute(statement)]

    def iter_from(
        self,
        from_seq: int = 1,
        page_size: int = 10_000,
        portfolio_id: str | None = None,
        event_types: frozenset[str] | None = None,
        connection: Connection | None = None,
    ) -> Iterator[Event]:
        """Every event from ``from_seq`` on, in order, read in pages (bounded memory)."""
        next_seq = from_seq
        while True:
            page = self.read_from(next_seq, page_size, portfolio_id, event_types, connection)
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

    def checkpoint(self) -> int:
        """Copy SQLite's write-ahead log into the database file (PASSIVE: readers are never
        waited for; what they still read stays for the next one); the log's frames copied.
        Connections do not do it by themselves inside a commit, so the engine calls this
        between cycles. 0 (nothing to do) on PostgreSQL."""
        if self.engine.dialect.name != "sqlite":
            return 0
        with self.engine.connect() as connection:
            row = connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").one()
        return max(int(row[2]), 0)

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


# The driver's own INSERT (seq given) per dialect, in each driver's parameter style; the
# payload is JSON text already (PostgreSQL casts it to its json column).
_EVENT_COLUMNS = (
    "seq, event_id, type, ts, actor, portfolio_id, portfolio_seq, correlation_id, version, payload"
)
_INSERT_EVENT = {
    "sqlite": f"INSERT INTO events ({_EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "postgresql": f"INSERT INTO events ({_EVENT_COLUMNS}) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, CAST(%s AS JSON))",
}
_IDS_PER_QUERY = 5_000

# Column widths of the events table: checked before writing, since SQLite would not enforce them.
FIELD_LIMITS = {
    "event_id": 128,
    "type": 64,
    "actor": 128,
    "portfolio_id": 64,
    "correlation_id": 128,
}


# store_meta keys written when events move to an archive (engine/events/archive.py).
ARCHIVED_THROUGH = "archived_through_seq"
PORTFOLIO_SEQ_PREFIX = "portfolio_seq:"

store_meta_table = Table(
    "store_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", String(256), nullable=False),
)


# Indexes older stores have and this version no longer keeps. (portfolio_id, portfolio_seq)
# answered only the numbering's start-up query, which (portfolio_id, seq) answers as well,
# and it cost every append an index insert per event (about 1.5 ms of a 1,560-event cycle).
_RETIRED_INDEXES = ("ix_events_portfolio_numbering",)


def _create_missing_indexes(engine: Engine) -> None:
    """Indexes added since a store was created (``create_all`` makes them only with a new
    table), and retired ones dropped, once, on an older store."""
    present = {index["name"] for index in inspect(engine).get_indexes(events_table.name)}
    for index in events_table.indexes:
        if index.name not in present:
            log.info("event store: creating index %s (once, on an older store)", index.name)
            index.create(engine, checkfirst=True)
    retired = [name for name in _RETIRED_INDEXES if name in present]
    if retired:
        with engine.begin() as connection:
            for name in retired:
                log.info("event store: dropping index %s (once, on an older store)", name)
                connection.exec_driver_sql(f"DROP INDEX IF EXISTS {name}")


def last_portfolio_seq(connection: Connection, through_seq: int | None = None) -> dict[str, int]:
    """Each portfolio's last ``portfolio_seq`` among the stored events (up to ``through_seq``).

    Numbers are given in ``seq`` order, so it is the one on each portfolio's latest event:
    one look-up per portfolio on the (portfolio_id, seq) index, with the portfolios found by
    skipping through that index (a recursive query), not a scan of the log."""
    bound = "" if through_seq is None else " AND seq <= :through"
    rows = connection.execute(
        text(
            "WITH RECURSIVE p(id) AS ("
            f" SELECT min(portfolio_id) FROM events WHERE portfolio_id IS NOT NULL{bound}"
            " UNION ALL"
            " SELECT (SELECT min(portfolio_id) FROM events"
            f" WHERE portfolio_id > p.id{bound}) FROM p WHERE p.id IS NOT NULL)"
            " SELECT id, (SELECT portfolio_seq FROM events"
            f" WHERE portfolio_id = p.id{bound} ORDER BY seq DESC LIMIT 1)"
            " FROM p WHERE id IS NOT NULL"
        ),
        {} if through_seq is None else {"through": through_seq},
    )
    return {pid: int(seq) for pid, seq in rows if seq is not None}


_EVENT_ID_MAX, _TYPE_MAX, _ACTOR_MAX = (FIELD_LIMITS[k] for k in ("event_id", "type", "actor"))
_PORTFOLIO_MAX, _CORRELATION_MAX = FIELD_LIMITS["portfolio_id"], FIELD_LIMITS["correlation_id"]


def _check_widths(item: Event) -> None:
    # The common case in one expression (a cycle checks thousands); the loop names the field.
    if (
        len(item.event_id) <= _EVENT_ID_MAX
        and len(item.type) <= _TYPE_MAX
        and len(item.actor) <= _ACTOR_MAX
        and (item.portfolio_id is None or len(item.portfolio_id) <= _PORTFOLIO_MAX)
        and (item.correlation_id is None or len(item.correlation_id) <= _CORRELATION_MAX)
    ):
        return
    for name, limit in FIELD_LIMITS.items():
        value = getattr(item, name)
        if value is not None and len(value) > limit:
            raise ValueError(
                f"event {item.event_id[:40]}: {name} has {len(value)} characters (at most {limit})"
            )


def _as_utc(moment: datetime, event_id: str) -> datetime:
    if moment.tzinfo is UTC:  # the engine's own timestamps (utc_now): nothing to convert
        return moment
    if moment.tzinfo is None:
        raise ValueError(f"event {event_id}: timestamp {moment} has no time zone (use UTC)")
    return moment.astimezone(UTC)


def _sqlite_text(moment: datetime) -> str:
    """A UTC timestamp as SQLAlchemy's SQLite DATETIME stores it: 2024-01-02 12:00:00.000001.

    ``moment`` is in UTC (``_as_utc``): its text ends in +00:00, cut off here, which costs a
    quarter less than a copy of it without a time zone."""
    return moment.isoformat(" ", "microseconds")[:-6]


def utc_now() -> datetime:
    return datetime.now(UTC)
