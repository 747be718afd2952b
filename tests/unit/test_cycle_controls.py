"""The shared controls (cancelling orders, trading states), the command router, the pacing and
the event recorder. The recorder is the one piece that stores: a real SQLite store in tmp_path."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from engine.commands import CancelOrder, CommandRefused, JumpTo, Pause, Resume, SetSpeed, Step
from engine.cycle.controls import (
    cancel_order,
    change_trading_state,
    reduces_position,
    remaining_shares,
    working_orders,
)
from engine.cycle.pacing import Pacing, ReplayCalendar
from engine.cycle.recorder import EventRecorder, record_all
from engine.cycle.router import CommandRouter
from engine.events.bus import EmbeddedEventBus
from engine.events.store import SqlEventStore
from engine.model import Event
from engine.risk.manager import Emit
from engine.snapshot import EngineStatus
from engine.state.engine_state import EngineState
from engine.state.repository import StateRepository
from tests.unit.cycle_support import (
    TODAY,
    holding,
    opened_state,
    order_created,
    order_filled,
)

# -- controls -------------------------------------------------------------------------------


def test_cancelling_reports_what_was_filled_and_what_is_left() -> None:
    state, emit = opened_state()
    order_created(emit, "alpha-1", "alpha", "AAA", "BUY", 100, "50", 1, schedule=(50, 50))
    order_filled(emit, "alpha-1", "alpha", "AAA", "BUY", 30, "50")
    order = state.pending_orders["alpha-1"]
    assert remaining_shares(state, order) == 70
    emit.clear()

    payload = cancel_order(state, order, "changed my mind", emit)

    assert payload == {
        "order_id": "alpha-1",
        "symbol": "AAA",
        "side": "BUY",
        "filled_shares": 30,
        "remaining_shares": 70,
        "reason": "changed my mind",
    }
    assert emit.of("OrderCancelled")[0].portfolio_id == "alpha"
    assert state.pending_orders == {}


def test_halting_cancels_every_working_order_of_the_portfolio_first() -> None:
    state, emit = opened_state()
    order_created(emit, "alpha-1", "alpha", "AAA", "BUY", 100, "50", 1)
    order_created(emit, "alpha-2", "alpha", "BBB", "BUY", 100, "20", 1)
    order_created(emit, "beta-1", "beta", "BBB", "BUY", 100, "20", 1)
    emit.clear()

    payload = change_trading_state(state, "alpha", "HALTED", "drill", "officer", emit)

    assert emit.types == ["OrderCancelled", "OrderCancelled", "TradingStateChanged"]
    assert all(e.payload["reason"] == "trading state HALTED: drill" for e in emit.events[:2])
    assert payload == {
        "state": "HALTED",
        "previous": "ACTIVE",
        "reason": "drill",
        "automatic": False,
    }
    assert emit.events[-1].actor == "officer"
    assert state.trading_state("alpha") == "HALTED"
    assert [o.order_id for o in working_orders(state, "beta")] == ["beta-1"]
    assert working_orders(state, "alpha") == []


def test_reducing_keeps_only_the_orders_that_reduce_a_position() -> None:
    state, emit = opened_state(allow_short=frozenset({"alpha"}))
    holding(emit, "alpha", "AAA", 100, "50")
    holding(emit, "alpha", "BBB", -200, "20")
    order_created(emit, "sell-part", "alpha", "AAA", "SELL", 60, "50", 1)
    order_created(emit, "sell-through", "alpha", "AAA", "SELL", 150, "50", 1)
    order_created(emit, "cover", "alpha", "BBB", "BUY", 200, "20", 1)
    order_created(emit, "add", "alpha", "CCC", "BUY", 10, "80", 1)
    emit.clear()
    orders = state.pending_orders
    assert reduces_position(state, orders["sell-part"])
    assert not reduces_position(state, orders["sell-through"])  # would go short
    assert reduces_position(state, orders["cover"])  # buys back the short
    assert not reduces_position(state, orders["add"])

    change_trading_state(
        state, "alpha", "REDUCING", "VaR", "risk-monitor", emit, "var_99_historical", True
    )

    cancelled = [e.payload["order_id"] for e in emit.of("OrderCancelled")]
    assert cancelled == ["sell-through", "add"]
    assert set(state.pending_orders) == {"sell-part", "cover"}
    changed = emit.of("TradingStateChanged")[0].payload
    assert changed["limit"] == "var_99_historical" and changed["automatic"] is True


def test_record_all_records_a_domain_objects_events_in_order() -> None:
    state, emit = opened_state()
    record_all(
        emit,
        [
            Emit("TradingStateChanged", {"state": "REDUCING", "reason": "a"}, "alpha", "m"),
            Emit("TradingStateChanged", {"state": "ACTIVE", "reason": "b"}, "alpha", "n"),
        ],
    )
    assert [(e.payload["state"], e.actor) for e in emit.events] == [
        ("REDUCING", "m"),
        ("ACTIVE", "n"),
    ]
    assert state.trading_state("alpha") == "ACTIVE"


# -- router ---------------------------------------------------------------------------------


def test_the_router_sends_each_command_to_its_one_handler() -> None:
    router = CommandRouter()
    seen: list[object] = []
    router.register(Pause, lambda c: seen.append(c) or "paused")
    router.register(Resume, lambda c: "resumed")
    pause = Pause("pm", "lunch")

    assert router.route(pause) == "paused"
    assert seen == [pause]
    assert router.kinds == (Pause, Resume)


def test_the_router_refuses_a_command_no_handler_owns() -> None:
    router = CommandRouter()
    router.register(Pause, lambda c: None)
    with pytest.raises(CommandRefused, match=r"no handler for SetSpeed \(handled: Pause\)"):
        router.route(SetSpeed("pm", "faster", 5.0))


def test_a_command_has_one_handler_only() -> None:
    router = CommandRouter()
    router.register(CancelOrder, lambda c: None)
    with pytest.raises(ValueError, match="command CancelOrder already has a handler"):
        router.register(CancelOrder, lambda c: None)
    assert router.kinds == (CancelOrder,)


# -- pacing ---------------------------------------------------------------------------------


def test_pause_resume_and_speed() -> None:
    pacing = Pacing(EngineStatus.RUNNING, 2.0)
    pacing.resume(Resume("pm", "x"))
    assert pacing.status is EngineStatus.RUNNING  # resuming what runs changes nothing
    pacing.pause(Pause("pm", "x"))
    assert pacing.status is EngineStatus.PAUSED
    pacing.resume(Resume("pm", "x"))
    assert pacing.status is EngineStatus.RUNNING
    pacing.set_speed(SetSpeed("pm", "x", 25.0))
    assert pacing.speed_days_per_second == 25.0


def test_a_finished_engine_cannot_be_paused_or_resumed() -> None:
    pacing = Pacing(EngineStatus.FINISHED)
    pacing.pause(Pause("pm", "x"))
    pacing.resume(Resume("pm", "x"))
    assert pacing.status is EngineStatus.FINISHED


def test_a_starting_engine_is_not_resumed_before_it_runs() -> None:
    pacing = Pacing()
    assert pacing.status is EngineStatus.STARTING
    pacing.resume(Resume("pm", "x"))
    assert pacing.status is EngineStatus.STARTING


# -- recorder -------------------------------------------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlEventStore]:
    store = SqlEventStore.from_url(f"sqlite:///{tmp_path / 'events.db'}")
    yield store
    store.close()


def _recorder(
    store: SqlEventStore, snapshot_every: int = 20_000, bus: object | None = None
) -> tuple[EventRecorder, EmbeddedEventBus]:
    real = EmbeddedEventBus(store)
    recorder = EventRecorder(
        EngineState(),
        bus or real,
        StateRepository(store),
        "sess01",
        0,
        snapshot_every,  # type: ignore[arg-type]
    )
    return recorder, real


def _open(recorder: EventRecorder, pid: str = "alpha") -> Event:
    return recorder.emit(
        "PortfolioOpened", {"portfolio_id": pid, "name": pid, "initial_cash_usd": "1000.00"}, pid
    )


def test_events_inside_a_cycle_are_numbered_from_the_cycle_and_outside_by_session(
    store: SqlEventStore,
) -> None:
    recorder, bus = _recorder(store)

    recorder.begin_cycle(1)
    first, second = _open(recorder, "alpha"), _open(recorder, "beta")
    recorder.end_cycle()
    outside = recorder.emit("EngineFinished", {"cycles": 1})

    assert (first.event_id, second.event_id) == ("c000000001-00001", "c000000001-00002")
    assert first.correlation_id == second.correlation_id == "cycle-1"
    assert re.fullmatch(r"ssess01-[0-9a-f]{16}", outside.event_id)
    bus.close()


def test_a_cycle_numbers_its_events_by_the_cycle_begun_even_after_it_completes(
    store: SqlEventStore,
) -> None:
    recorder, bus = _recorder(store)
    recorder.begin_cycle(7)
    opened = _open(recorder)
    completed = recorder.emit("CycleCompleted", {"cycle": 7, "market_date": "2020-01-02"})
    late = recorder.emit("OrderCancelled", {"order_id": "x"}, "alpha")
    recorder.end_cycle()

    assert [e.event_id for e in (opened, completed, late)] == [
        "c000000007-00001",
        "c000000007-00002",
        "c000000007-00003",
    ]
    assert {e.correlation_id for e in (opened, completed, late)} == {"cycle-7"}
    bus.close()


def test_a_cycle_run_again_gets_the_same_ids_and_is_stored_once(store: SqlEventStore) -> None:
    recorder, bus = _recorder(store)
    recorder.begin_cycle(1)
    _open(recorder)
    recorder.end_cycle()
    recorder.flush()

    again, _ = _recorder(store)
    again.begin_cycle(1)
    repeated = _open(again)
    again.end_cycle()
    again.flush()

    assert repeated.event_id == "c000000001-00001"
    assert store.count() == 1
    bus.close()


def test_emit_applies_at_once_tells_the_listeners_and_waits_for_the_flush(
    store: SqlEventStore,
) -> None:
    recorder, bus = _recorder(store)
    heard: list[str] = []
    recorder.on_event(lambda event: heard.append(event.type))

    _open(recorder)

    assert recorder.state.ledger.cash_usd("alpha") == Decimal("1000.00")
    assert heard == ["PortfolioOpened"]
    assert recorder.pending == 1
    assert store.count() == 0

    recorder.flush()

    assert recorder.pending == 0
    (stored,) = store.query()
    assert stored.type == "PortfolioOpened" and stored.seq is not None
    # The stored events reach the shadow ledger at the check after the cycle, not at the flush.
    assert "alpha" not in recorder.shadow.ledger.portfolio_ids
    recorder.check_consistency()
    assert recorder.shadow.ledger.cash_usd("alpha") == Decimal("1000.00")
    assert StateRepository(store).read_projection()  # the projection was written with it
    bus.close()


def test_a_snapshot_is_written_every_snapshot_every_events(store: SqlEventStore) -> None:
    recorder, bus = _recorder(store, snapshot_every=3)
    repository = StateRepository(store)
    _open(recorder, "alpha")
    _open(recorder, "beta")
    recorder.flush()
    assert repository.snapshot_rows() == []

    assert not recorder.snapshot_due and not recorder.write_due_snapshot()

    _open(recorder, "gamma")
    recorder.flush()
    # Due, but written only when asked, between cycles: never inside the append.
    assert recorder.snapshot_due
    assert repository.snapshot_rows() == []
    _open(recorder, "delta")  # not stored yet: the state is ahead of the log, so no snapshot
    assert not recorder.write_due_snapshot()
    recorder.flush()
    assert recorder.write_due_snapshot()

    (row,) = repository.snapshot_rows()
    assert row.last_seq == 4
    assert not recorder.snapshot_due and not recorder.write_due_snapshot()
    bus.close()


class _FailingOnce:
    """A bus whose first publish fails (the store is down), then delegates."""

    def __init__(self, bus: EmbeddedEventBus) -> None:
        self.bus = bus
        self.failures = 1

    def publish(self, events: Sequence[Event], also: object = None) -> list[Event]:
        if self.failures:
            self.failures -= 1
            raise OSError("store unavailable")
        return self.bus.publish(events, also)  # type: ignore[arg-type]


def test_a_failed_flush_keeps_the_events_for_the_next(store: SqlEventStore) -> None:
    real = EmbeddedEventBus(store)
    recorder, _ = _recorder(store, bus=_FailingOnce(real))
    _open(recorder)

    with pytest.raises(OSError):
        recorder.flush()
    assert recorder.pending == 1
    assert store.count() == 0

    recorder.flush()
    assert recorder.pending == 0
    assert store.count() == 1
    real.close()


def test_consistency_halts_a_portfolio_whose_ledger_moved_without_an_event(
    store: SqlEventStore,
) -> None:
    recorder, bus = _recorder(store)
    _open(recorder, "alpha")
    _open(recorder, "beta")
    recorder.flush()
    recorder.check_consistency()
    assert store.count() == 2  # consistent: nothing recorded

    recorder.state.ledger.credit_interest("alpha", Decimal("5.00"), TODAY)  # no event
    recorder.check_consistency()

    alert, halted = store.query(limit=2)[::-1]
    assert alert.type == "ConsistencyAlert" and alert.portfolio_id == "alpha"
    assert alert.payload["differences"] == ["cash_usd live 1005.00 != events 1000.00"]
    assert halted.type == "TradingStateChanged" and halted.payload["state"] == "HALTED"
    assert set(recorder.state.halted) == {"alpha"}
    assert recorder.pending == 0
    bus.close()


def test_a_step_is_taken_only_while_paused_and_a_jump_replaces_it() -> None:
    days = (date(2008, 1, 2), date(2008, 1, 3), date(2008, 1, 4), date(2008, 1, 7))
    pacing = Pacing(EngineStatus.PAUSED, 5.0, ReplayCalendar.of(days), lambda: days[0])
    pacing.step(Step("pm", "one day"))
    assert pacing.steps_due == 1
    with pytest.raises(ValueError, match="Step: the previous step has not run yet"):
        pacing.step(Step("pm", "another"))
    pacing.jump(JumpTo("pm", "further", market_date=date(2008, 1, 5)))
    assert (pacing.status, pacing.run_until, pacing.steps_due) == (
        EngineStatus.RUNNING,
        date(2008, 1, 5),
        0,
    )
    pacing.after_cycle(days[2])
    assert pacing.status is EngineStatus.RUNNING  # 2008-01-05 not reached yet
    pacing.after_cycle(days[3])
    assert (pacing.status, pacing.run_until) == (EngineStatus.PAUSED, None)
    assert ReplayCalendar.of(days).first_on_or_after(date(2008, 1, 5)) == days[3]
