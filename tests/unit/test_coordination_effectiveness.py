"""The engine's figures against the seed's gates, from a hand-made event log."""

from datetime import UTC, datetime

import pytest

from engine.model import Event
from engine.performance.effectiveness import coordination_effectiveness


def _event(kind: str, **payload: object) -> Event:
    return Event(
        f"e-{kind}-{id(payload)}", kind, datetime(2024, 1, 2, tzinfo=UTC), "engine", payload
    )


def _log(failed_cycles: int, cycles: int = 40) -> list[Event]:
    events = [_event("CycleCompleted", failed=k < failed_cycles) for k in range(cycles)]
    events += [
        _event("SignalRejected", reason="stale"),
        _event("SignalRejected", reason="out of range"),
        _event("SignalConflictsResolved", conflicts_total=5),
        _event("SignalConflictsResolved", conflicts_total=7),
        _event("CrossExecuted", quantity_shares=300, orders={"a": 300, "b": -300}),
        _event("OrderRejected", reason="limit"),
        _event("RiskAlertRaised", level="warning"),
        _event("RiskAlertRaised", level="breach"),
        _event("OrderFilled", quantity_shares=10),  # not a figure here: skipped
    ]
    return events


def test_figures_and_gates_from_the_log_and_the_timed_cycles() -> None:
    times = [10.0] * 38 + [250.0, 400.0]  # 38 of 40 within 200 ms: exactly 95%
    result = coordination_effectiveness(_log(failed_cycles=0), 2, times, failed_ms=0.0)
    gates = {g.name: g for g in result.gates}
    assert gates["cycles without error"].value == 1.0 and gates["cycles without error"].met
    assert gates["cycles within 200 ms"].value == pytest.approx(0.95)
    assert gates["cycles within 200 ms"].met is True
    assert gates["availability"].value == 1.0
    assert gates["state-consistency checks passed"].value == 1.0
    assert gates["state-consistency checks passed"].basis.startswith("80 checks")
    assert (
        result.signals_rejected,
        result.conflicts_resolved,
        result.orders_crossed,
        result.shares_crossed,
        result.orders_rejected,
        result.limit_breaches,
    ) == (2, 12, 2, 300, 1, 1)


def test_failures_and_inconsistencies_miss_their_gates() -> None:
    events = [*_log(failed_cycles=3), _event("ConsistencyAlert", differences=["cash"])]
    times = [10.0] * 37 + [300.0] * 3
    result = coordination_effectiveness(events, 2, times, failed_ms=30.0)
    gates = {g.name: g for g in result.gates}
    assert gates["cycles without error"].value == pytest.approx(37 / 40)
    assert gates["cycles without error"].met is False
    assert gates["cycles within 200 ms"].met is False
    assert gates["availability"].value == pytest.approx(1 - 30 / 1270)
    assert gates["availability"].met is False
    assert gates["state-consistency checks passed"].value == pytest.approx(79 / 80)
    assert gates["state-consistency checks passed"].met is False


def test_nothing_measured_is_said_so_not_counted_as_met() -> None:
    result = coordination_effectiveness([], 4, [], failed_ms=0.0)
    assert all(g.value is None and g.met is None for g in result.gates)
    plain = result.to_dict()
    assert plain["gates"][0]["name"] == "cycles without error"
