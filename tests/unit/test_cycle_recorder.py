"""``EventRecorder`` beyond numbering (real SQLite store in tmp_path): the projection written
with the events, the consistency check naming the instruments whose shares moved without an
event, a halted portfolio left alone, and a flush with nothing waiting."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from engine.cycle.recorder import EventRecorder
from engine.events.bus import EmbeddedEventBus
from engine.events.store import SqlEventStore
from engine.model import Fill, Side
from engine.state.engine_state import EngineState
from engine.state.repository import StateRepository
from tests.unit.cycle_support import TODAY


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlEventStore]:
    store = SqlEventStore.from_url(f"sqlite:///{tmp_path / 'events.db'}")
    yield store
    store.close()


@pytest.fixture
def bus(store: SqlEventStore) -> Iterator[EmbeddedEventBus]:
    bus = EmbeddedEventBus(store)
    yield bus
    bus.close()


def _recorder(store: SqlEventStore, bus: EmbeddedEventBus) -> EventRecorder:
    return EventRecorder(EngineState(), bus, StateRepository(store), "sess02", 0)


def _open(recorder: EventRecorder, pid: str, cash: str = "10000.00") -> None:
    recorder.emit(
        "PortfolioOpened", {"portfolio_id": pid, "name": pid, "initial_cash_usd": cash}, pid
    )


def _buy(recorder: EventRecorder, pid: str, symbol: str, shares: int, price: str) -> None:
    order_id = f"{pid}-{symbol}"
    recorder.emit(
        "OrderCreated",
        {
            "order_id": order_id,
            "symbol": symbol,
            "side": "BUY",
            "quantity_shares": shares,
            "decision_price_usd": price,
            "market_date": TODAY.isoformat(),
        },
        pid,
    )
    recorder.emit(
        "OrderFilled",
        {
            "order_id": order_id,
            "fill_id": f"{order_id}-F00",
            "symbol": symbol,
            "side": "BUY",
            "quantity_shares": shares,
            "price_usd": price,
            "commission_usd": "1.00",
            "market_date": TODAY.isoformat(),
        },
        pid,
    )


def test_a_flush_writes_the_projection_of_cash_and_positions_with_the_events(
    store: SqlEventStore, bus: EmbeddedEventBus
) -> None:
    recorder = _recorder(store, bus)
    _open(recorder, "alpha")
    _buy(recorder, "alpha", "AAA", 30, "50.00")

    recorder.flush()

    projection = StateRepository(store).read_projection()["alpha"]
    # 10,000 less 30 x 50 and the 1 USD commission, worked out here.
    assert projection["cash_usd"] == Decimal("10000.00") - 30 * Decimal("50.00") - 1
    assert projection["shares"] == {"AAA": 30}
    assert projection["last_seq"] == store.count() == 3


def _sell(recorder: EventRecorder, pid: str, symbol: str, shares: int, price: str) -> None:
    order_id = f"{pid}-{symbol}-sell"
    recorder.emit(
        "OrderFilled",
        {
            "order_id": order_id,
            "fill_id": f"{order_id}-F00",
            "symbol": symbol,
            "side": "SELL",
            "quantity_shares": shares,
            "price_usd": price,
            "commission_usd": "1.00",
            "market_date": TODAY.isoformat(),
        },
        pid,
    )


def test_positions_closed_in_a_flush_leave_the_projection_and_the_others_stay(
    store: SqlEventStore, bus: EmbeddedEventBus
) -> None:
    recorder = _recorder(store, bus)
    for pid in ("alpha", "beta"):
        _open(recorder, pid)
        _buy(recorder, pid, "AAA", 10, "50.00")
        _buy(recorder, pid, "BBB", 5, "20.00")
    recorder.flush()

    _sell(recorder, "alpha", "AAA", 10, "51.00")  # closed
    _sell(recorder, "beta", "BBB", 5, "21.00")  # closed
    _sell(recorder, "beta", "AAA", 4, "51.00")  # reduced, still held
    recorder.flush()

    projection = StateRepository(store).read_projection()
    assert projection["alpha"]["shares"] == {"BBB": 5}
    assert projection["beta"]["shares"] == {"AAA": 6}


def test_a_flush_with_nothing_waiting_stores_nothing(
    store: SqlEventStore, bus: EmbeddedEventBus
) -> None:
    recorder = _recorder(store, bus)
    recorder.flush()
    assert store.count() == 0
    assert StateRepository(store).read_projection() == {}


def test_shares_moved_without_an_event_are_named_and_the_portfolio_halted(
    store: SqlEventStore, bus: EmbeddedEventBus
) -> None:
    recorder = _recorder(store, bus)
    _open(recorder, "alpha")
    _buy(recorder, "alpha", "AAA", 10, "50.00")
    recorder.flush()
    # A fill booked straight into the live ledger: no event records it.
    recorder.state.ledger.apply(
        Fill(
            "ghost-F00",
            "ghost",
            "alpha",
            "BBB",
            Side.BUY,
            5,
            Decimal("20.00"),
            Decimal("0.00"),
            TODAY,
        )
    )

    recorder.check_consistency()

    alert = store.query(event_type="ConsistencyAlert")[0]
    assert alert.portfolio_id == "alpha"
    assert alert.payload["differences"] == [
        "cash_usd live 9399.00 != events 9499.00",
        "shares differ in ['BBB']",
    ]
    assert "alpha" in recorder.state.halted
    assert recorder.pending == 0  # the alert and the halt are stored at once


def test_a_halted_portfolio_is_not_checked_again(
    store: SqlEventStore, bus: EmbeddedEventBus
) -> None:
    recorder = _recorder(store, bus)
    _open(recorder, "alpha")
    _open(recorder, "beta")
    recorder.emit("TradingStateChanged", {"state": "HALTED", "reason": "drill"}, "beta")
    recorder.flush()
    for pid in ("alpha", "beta"):
        recorder.state.ledger.credit_interest(pid, Decimal("1.00"), TODAY)  # no event

    recorder.check_consistency()

    assert [e.portfolio_id for e in store.query(event_type="ConsistencyAlert")] == ["alpha"]
