"""Event store benchmark: durable appends per second, and recovery time with and without snapshots.

It writes a synthetic but valid ledger history (portfolios opened, orders created and filled,
cycles completed, cash never negative) through the real store, projection and snapshot code, in
batches the size of a coordination cycle, then recovers the state from it both ways. Figures are
wall-clock on this machine; SQLite runs in WAL mode with ``synchronous=NORMAL`` (the engine's
setting: a commit survives a process crash; the last commits can be lost on power failure).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from engine.events.store import SqlEventStore
from engine.model import Event
from engine.state.engine_state import EngineState
from engine.state.repository import StateRepository

SYMBOLS = tuple(f"SYM{i:04d}" for i in range(200))


@dataclass(frozen=True, slots=True)
class StoreBenchResult:
    database: str
    events: int
    batch_size: int
    append_seconds: float
    snapshots: int
    recovery_with_snapshots_s: float
    events_replayed_with_snapshots: int
    recovery_without_snapshots_s: float

    @property
    def appends_per_second(self) -> float:
        return self.events / self.append_seconds

    def as_dict(self) -> dict[str, object]:
        return {
            "database": self.database,
            "events": self.events,
            "batch_size": self.batch_size,
            "append_seconds": round(self.append_seconds, 3),
            "appends_per_second": round(self.appends_per_second, 1),
            "batches_per_second": round(self.events / self.batch_size / self.append_seconds, 1),
            "snapshots": self.snapshots,
            "recovery_with_snapshots_s": round(self.recovery_with_snapshots_s, 3),
            "events_replayed_with_snapshots": self.events_replayed_with_snapshots,
            "recovery_without_snapshots_s": round(self.recovery_without_snapshots_s, 3),
        }


def synthetic_cycles(portfolios: int, seed: int = 1) -> Iterator[list[Event]]:
    """Endless cycles of ledger events: each portfolio buys or sells one of 200 symbols."""
    rng = random.Random(seed)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    holdings = {f"p{k:02d}": dict.fromkeys(SYMBOLS, 0) for k in range(portfolios)}
    cash = dict.fromkeys(holdings, Decimal("1000000000000.00"))
    opened = [
        Event(
            f"open-{pid}",
            "PortfolioOpened",
            start,
            "bench",
            {"portfolio_id": pid, "name": pid, "initial_cash_usd": str(cash[pid])},
            pid,
        )
        for pid in holdings
    ]
    yield opened
    cycle = 0
    while True:
        cycle += 1
        moment = start + timedelta(seconds=cycle)
        day = (date(2000, 1, 3) + timedelta(days=cycle)).isoformat()
        events: list[Event] = []
        for pid, held in holdings.items():
            for k in range(7):
                symbol = rng.choice(SYMBOLS)
                sell = held[symbol] > 0 and rng.random() < 0.5
                quantity = rng.randint(1, held[symbol]) if sell else rng.randint(1, 500)
                price = Decimal(rng.randint(1_000_000, 5_000_000)) / 10_000
                notional = (price * quantity).quantize(Decimal("0.01"))
                commission = Decimal("1.00")
                change = notional - commission if sell else -(notional + commission)
                cash[pid] += change
                held[symbol] += -quantity if sell else quantity
                order_id = f"{pid}-{cycle}-{k}"
                common = {"order_id": order_id, "symbol": symbol, "side": "SELL" if sell else "BUY"}
                events.append(
                    Event(
                        f"c{cycle}-{pid}-{k}-o",
                        "OrderCreated",
                        moment,
                        "bench",
                        {
                            **common,
                            "quantity_shares": quantity,
                            "decision_price_usd": str(price),
                            "market_date": day,
                        },
                        pid,
                    )
                )
                events.append(
                    Event(
                        f"c{cycle}-{pid}-{k}-f",
                        "OrderFilled",
                        moment,
                        "bench",
                        {
                            **common,
                            "fill_id": f"{order_id}-F",
                            "quantity_shares": quantity,
                            "price_usd": str(price),
                            "commission_usd": str(commission),
                            "cash_change_usd": str(change),
                            "market_date": day,
                        },
                        pid,
                    )
                )
        events.append(
            Event(
                f"c{cycle}-done",
                "CycleCompleted",
                moment,
                "bench",
                {
                    "cycle": cycle,
                    "market_date": day,
                    "orders": len(events) // 2,
                    "fills": len(events) // 2,
                    "failed": False,
                    "valuation_usd": {pid: [str(cash[pid]), str(cash[pid])] for pid in cash},
                },
            )
        )
        yield events


def run_store_bench(
    database_url: str,
    events: int = 100_000,
    portfolios: int = 10,
    snapshot_every_events: int = 20_000,
    progress: Callable[[int], None] | None = None,
) -> StoreBenchResult:
    store = SqlEventStore.from_url(database_url)
    if store.count():
        raise ValueError(f"{database_url}: the benchmark needs an empty event store")
    repository = StateRepository(store)
    state = EngineState()
    written = snapshots = 0
    since_snapshot = 0
    batch_size = 0
    started = time.perf_counter()
    for batch in synthetic_cycles(portfolios):
        if written >= events:
            break
        for event in batch:
            state.apply(event)
        touched = {(e.portfolio_id or "", e.payload.get("symbol")) for e in batch if e.portfolio_id}
        snapshot_due = since_snapshot + len(batch) >= snapshot_every_events

        def persist(connection, stored, touched=touched, snapshot_due=snapshot_due) -> None:
            last_seq = int(stored[-1].seq or 0)
            repository.write_projection(connection, state, touched, last_seq)
            if snapshot_due:
                repository.write_snapshot(connection, state, last_seq)

        store.append(batch, persist)
        written += len(batch)
        batch_size = max(batch_size, len(batch))
        since_snapshot = 0 if snapshot_due else since_snapshot + len(batch)
        snapshots += snapshot_due
        if progress:
            progress(len(batch))
    append_seconds = time.perf_counter() - started

    recovered, report = repository.recover(use_snapshots=True)
    scratch, full = repository.recover(use_snapshots=False)
    if len({recovered.ledger_digest(), scratch.ledger_digest(), state.ledger_digest()}) != 1:
        raise AssertionError("recovered states differ: the benchmark found a consistency bug")
    store.close()
    return StoreBenchResult(
        store.engine.dialect.name,
        written,
        batch_size,
        append_seconds,
        snapshots,
        report.seconds,
        report.events_replayed,
        full.seconds,
    )
