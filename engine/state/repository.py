"""Persisted state beside the event log: the current-state projection and the snapshots.

Both are written inside the transaction that appends the events they reflect, so they can never be
ahead of or behind the log. The projection (cash and positions per portfolio) is what another
process reads for the live state; snapshots bound recovery time. Each snapshot carries the SHA-256
of its JSON, and a snapshot that fails the check or cannot be read is passed over for an older one
or for a full replay from the first event.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    DateTime,
    Integer,
    String,
    Table,
    Text,
    delete,
    select,
)

from engine.errors import RecoveryError
from engine.events.store import SqlEventStore, metadata, utc_now
from engine.state.engine_state import EngineState

log = logging.getLogger(__name__)

portfolio_cash_table = Table(
    "portfolio_cash",
    metadata,
    Column("portfolio_id", String(64), primary_key=True),
    Column("cash_usd", String(40), nullable=False),
    Column("realised_pnl_usd", String(40), nullable=False),
    Column("last_seq", BigInteger, nullable=False),
)

positions_table = Table(
    "positions",
    metadata,
    Column("portfolio_id", String(64), primary_key=True),
    Column("symbol", String(32), primary_key=True),
    Column("quantity_shares", BigInteger, nullable=False),
)

snapshots_table = Table(
    "state_snapshots",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("last_seq", BigInteger, nullable=False, index=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("state", Text, nullable=False),
    Column("sha256", String(64), nullable=False),
)


@dataclass(frozen=True, slots=True)
class LoadedSnapshot:
    snapshot_id: int
    last_seq: int
    state: EngineState


@dataclass(slots=True)
class RecoveryReport:
    snapshot_id: int | None = None
    snapshot_seq: int = 0
    events_replayed: int = 0
    rejected_snapshots: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def describe(self) -> str:
        start = (
            f"snapshot {self.snapshot_id} (seq {self.snapshot_seq})"
            if self.snapshot_id
            else "the first event"
        )
        text = f"recovered from {start} + {self.events_replayed} events in {self.seconds:.3f} s"
        if self.rejected_snapshots:
            text += f"; passed over: {'; '.join(self.rejected_snapshots)}"
        return text


def _upsert(
    connection: Connection, table: Table, rows: list[tuple[Any, ...]], keys: tuple[str, ...]
) -> None:
    """Insert ``rows`` (tuples in the table's column order) or update them on a key conflict.

    Through the driver's executemany, as the event rows are: SQLAlchemy's per-row processing of
    dictionaries cost more than SQLite's own work on a cycle's few hundred positions."""
    if not rows:
        return
    dialect = connection.dialect.name
    if dialect not in _MARKS:
        raise NotImplementedError(
            f"database dialect {dialect!r} is not supported (use SQLite or PostgreSQL)"
        )
    # The same text on both: SQLite (3.24+) and PostgreSQL share ON CONFLICT ... DO UPDATE.
    names = [column.name for column in table.columns]
    updates = ", ".join(f"{name} = excluded.{name}" for name in names if name not in keys)
    marks = ", ".join([_MARKS[dialect]] * len(names))
    connection.exec_driver_sql(
        f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({marks}) "
        f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}",
        rows,
    )


_MARKS = {"sqlite": "?", "postgresql": "%s"}


class StateRepository:
    def __init__(self, store: SqlEventStore) -> None:
        self.store = store
        if store.writable:
            metadata.create_all(store.engine)

    # -- written inside the cycle's transaction ------------------------------------------------
    def write_projection(
        self,
        connection: Connection,
        state: EngineState,
        touched: Iterable[tuple[str, str | None]],
        last_seq: int,
    ) -> None:
        """Upsert cash of every touched portfolio and each touched (portfolio, symbol) position."""
        ledger = state.ledger
        touched = set(touched)
        portfolios = sorted({pid for pid, _ in touched})
        _upsert(
            connection,
            portfolio_cash_table,
            [
                (pid, str(ledger.cash_usd(pid)), str(ledger.realised_pnl_usd(pid)), last_seq)
                for pid in portfolios
            ],
            ("portfolio_id",),
        )
        pairs = sorted((pid, symbol) for pid, symbol in touched if symbol is not None)
        held = [(pid, symbol, ledger.shares(pid, symbol)) for pid, symbol in pairs]
        _upsert(
            connection, positions_table, [row for row in held if row[2]], ("portfolio_id", "symbol")
        )
        closed = [(pid, symbol) for pid, symbol, shares in held if not shares]
        if closed:
            mark = _MARKS[connection.dialect.name]
            connection.exec_driver_sql(
                f"DELETE FROM {positions_table.name} "
                f"WHERE portfolio_id = {mark} AND symbol = {mark}",
                closed,
            )

    def clear_positions(self, connection: Connection) -> None:
        """Every position row goes (a replay restarted: the portfolios hold only cash)."""
        connection.execute(delete(positions_table))

    def write_snapshot(self, connection: Connection, state: EngineState, last_seq: int) -> None:
        text = json.dumps(state.to_dict(), sort_keys=True, separators=(",", ":"))
        connection.execute(
            snapshots_table.insert().values(
                last_seq=last_seq,
                created_at=utc_now(),
                state=text,
                sha256=hashlib.sha256(text.encode()).hexdigest(),
            )
        )

    # -- read side ----------------------------------------------------------------------------
    def read_projection(self, connection: Connection | None = None) -> dict[str, dict[str, Any]]:
        """portfolio -> {cash_usd, realised_pnl_usd, shares: {symbol: quantity}, last_seq}."""
        with self.store.reading(connection) as connection:
            result: dict[str, dict[str, Any]] = {
                row.portfolio_id: {
                    "cash_usd": Decimal(row.cash_usd),
                    "realised_pnl_usd": Decimal(row.realised_pnl_usd),
                    "shares": {},
                    "last_seq": row.last_seq,
                }
                for row in connection.execute(select(portfolio_cash_table))
            }
            for row in connection.execute(select(positions_table)):
                result.setdefault(
                    row.portfolio_id,
                    {"cash_usd": None, "realised_pnl_usd": None, "shares": {}, "last_seq": None},
                )["shares"][row.symbol] = int(row.quantity_shares)
        return result

    def snapshot_rows(self, connection: Connection | None = None) -> list[Any]:
        with self.store.reading(connection) as connection:
            return list(
                connection.execute(select(snapshots_table).order_by(snapshots_table.c.id.desc()))
            )

    def latest_snapshot(
        self, rejected: list[str] | None = None, connection: Connection | None = None
    ) -> LoadedSnapshot | None:
        """The newest snapshot that passes its checksum and loads; older ones if it does not."""
        for row in self.snapshot_rows(connection):
            reasons: list[str] = []
            state = self.load_snapshot(row, reasons)
            reason = reasons[0] if reasons else None
            if state is not None:
                return LoadedSnapshot(row.id, row.last_seq, state)
            log.warning("%s; trying an older one", reason)
            if rejected is not None:
                rejected.append(reason)
        return None

    @staticmethod
    def load_snapshot(row: Any, rejected: list[str] | None = None) -> EngineState | None:
        """The state a snapshot row holds, or None (and why, in ``rejected``) when its
        checksum fails or it cannot be read."""
        if hashlib.sha256(row.state.encode()).hexdigest() != row.sha256:
            reason = f"snapshot {row.id} (seq {row.last_seq}): checksum mismatch"
        else:
            try:
                return EngineState.from_dict(json.loads(row.state))
            except (ValueError, KeyError, TypeError) as exc:
                reason = f"snapshot {row.id} (seq {row.last_seq}): unreadable: {exc}"
        if rejected is not None:
            rejected.append(reason)
        return None

    def recover(self, use_snapshots: bool = True) -> tuple[EngineState, RecoveryReport]:
        """Latest valid snapshot plus every event after it; no snapshot: every event."""
        started = time.perf_counter()
        report = RecoveryReport()
        floor = self.store.archived_through()
        loaded = self.latest_snapshot(report.rejected_snapshots) if use_snapshots or floor else None
        if floor and (loaded is None or loaded.last_seq < floor):
            # Folding what is left would silently miss the archived events.
            raise RecoveryError(
                f"events up to #{floor:,} are archived and no valid state snapshot covers them "
                f"({'; '.join(report.rejected_snapshots) or 'none left'})"
            )
        state = loaded.state if loaded else EngineState()
        if loaded:
            report.snapshot_id, report.snapshot_seq = loaded.snapshot_id, loaded.last_seq
        for event in self.store.iter_from(report.snapshot_seq + 1):
            state.apply(event)
            report.events_replayed += 1
        report.seconds = time.perf_counter() - started
        return state, report
