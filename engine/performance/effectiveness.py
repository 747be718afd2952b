"""Coordination effectiveness: the engine measured on itself against the seed's quality gates.

Read from the event log (what every cycle recorded) and, for latency, either the cycle reports
of the run that measured them (a replay's summary: the whole cycle, its events' append
included) or the wall time each ``CycleCompleted`` recorded (to the event, before the append: a
report over any range of the log). Each figure has its gate and whether it is met:

- cycles completed without error: ``CycleCompleted.failed`` false (gate 95%);
- cycles within 200 ms (gate 95%);
- availability: the run's time not spent in failed cycles (gate 99.99%);
- state-consistency checks passed: one per portfolio and cycle, failed when a
  ``ConsistencyAlert`` was recorded (gate 100%);

and, without a gate, what the coordination did: signals rejected, conflicts resolved, orders
crossed internally, orders rejected by the risk gate, risk limits breached.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

from engine.model import Event
from engine.performance.latency import GATE_SHARE, SEED_GATE_P95_MS

ERROR_FREE_GATE = 0.95
AVAILABILITY_GATE = 0.9999
CONSISTENCY_GATE = 1.0
# The event types the figures are read from.
EVENT_TYPES = frozenset(
    {
        "CycleCompleted",
        "ConsistencyAlert",
        "SignalRejected",
        "SignalConflictsResolved",
        "CrossExecuted",
        "OrderRejected",
        "RiskAlertRaised",
    }
)


@dataclass(frozen=True, slots=True)
class GateFigure:
    name: str
    value: float | None  # a share in [0, 1]; None when nothing was measured
    gate: float
    met: bool | None
    basis: str  # what the share is of


@dataclass(frozen=True, slots=True)
class Effectiveness:
    gates: tuple[GateFigure, ...]
    signals_rejected: int
    conflicts_resolved: int
    orders_crossed: int
    shares_crossed: int
    orders_rejected: int
    limit_breaches: int

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def _figure(name: str, good: float, total: float, gate: float, basis: str) -> GateFigure:
    if total <= 0:
        return GateFigure(name, None, gate, None, basis)
    share = good / total
    return GateFigure(name, share, gate, share >= gate, basis)


def timed_gates(
    cycle_ms: Sequence[float], failed_ms: float, timed: str = "timed in this run"
) -> tuple[GateFigure, GateFigure]:
    """The gates read from cycle durations: within 200 ms, and availability. ``timed`` says
    how the durations were measured."""
    within = sum(1 for ms in cycle_ms if ms <= SEED_GATE_P95_MS)
    run_ms = float(sum(cycle_ms))
    return (
        _figure(
            f"cycles within {SEED_GATE_P95_MS:.0f} ms",
            within,
            len(cycle_ms),
            GATE_SHARE,
            f"{len(cycle_ms)} cycles {timed}",
        ),
        _figure(
            "availability",
            run_ms - failed_ms,
            run_ms,
            AVAILABILITY_GATE,
            "the run's cycle time not spent in failed cycles",
        ),
    )


def coordination_effectiveness(
    events: Iterable[Event],
    portfolios: int,
    cycle_ms: Sequence[float] | None = None,
    failed_ms: float = 0.0,
) -> Effectiveness:
    """The figures from ``events`` (a log's, or a part of it; other types are skipped), the
    ``cycle_ms`` wall times of the cycles a run measured and the time ``failed_ms`` of those
    that failed. Without ``cycle_ms`` the cycles' times are the ones their ``CycleCompleted``
    recorded (to the event, before its append; a log from before they were recorded has none)."""
    cycles = failed = inconsistent = rejected_signals = conflicts = 0
    crossed_orders = crossed_shares = rejected_orders = breaches = 0
    recorded_ms: list[float] = []
    recorded_failed_ms = 0.0
    for event in events:
        kind, payload = event.type, event.payload
        if kind == "CycleCompleted":
            cycles += 1
            failed += bool(payload.get("failed"))
            if "duration_ms" in payload:
                recorded_ms.append(float(payload["duration_ms"]))  # type: ignore[arg-type]
                recorded_failed_ms += recorded_ms[-1] if payload.get("failed") else 0.0
        elif kind == "ConsistencyAlert":
            inconsistent += 1
        elif kind == "SignalRejected":
            rejected_signals += 1
        elif kind == "SignalConflictsResolved":
            conflicts += int(payload.get("conflicts_total", 0))  # type: ignore[call-overload]
        elif kind == "CrossExecuted":
            crossed_orders += len(payload.get("orders", {}))  # type: ignore[arg-type]
            crossed_shares += int(payload.get("quantity_shares", 0))  # type: ignore[call-overload]
        elif kind == "OrderRejected":
            rejected_orders += 1
        elif kind == "RiskAlertRaised" and payload.get("level") == "breach":
            breaches += 1
    checks = cycles * portfolios
    if cycle_ms is None:
        latency, availability = timed_gates(
            recorded_ms, recorded_failed_ms, "as their events recorded (before the append)"
        )
    else:
        latency, availability = timed_gates(cycle_ms, failed_ms)
    gates = (
        _figure(
            "cycles without error", cycles - failed, cycles, ERROR_FREE_GATE, f"{cycles} cycles"
        ),
        latency,
        availability,
        _figure(
            "state-consistency checks passed",
            checks - inconsistent,
            checks,
            CONSISTENCY_GATE,
            f"{checks} checks: each portfolio after each cycle",
        ),
    )
    return Effectiveness(
        gates,
        rejected_signals,
        conflicts,
        crossed_orders,
        crossed_shares,
        rejected_orders,
        breaches,
    )
