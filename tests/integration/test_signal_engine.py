"""External signals, vetoes and manual overrides through a real engine and event store.

The engine is driven cycle by cycle on its own (no thread), on a simulated market, so every
expectation is exact: see ``tests.support.SIGNALS_CONFIG`` for the two portfolios.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from engine.assembly import EngineParts, build_engine
from engine.commands import LiftOverride, SetOverride, SubmitSignals
from engine.coordinator import Coordinator
from engine.events.pulsar_bus import PulsarSettings
from engine.follower import PulsarFollower
from engine.model import Conflict
from engine.signals.horizons import age_days
from engine.state.repository import StateRepository
from tests.support import signals_config


def _engine(url: str, days: int = 120, snapshot_every: int = 20_000) -> EngineParts:
    parts = build_engine(signals_config(days, snapshot_every), url)
    parts.coordinator.start({"mode": "test"})
    return parts


def _drive(
    parts: EngineParts, until_cycle: int, between: Callable[[Coordinator], None] | None = None
) -> None:
    """Run cycles up to ``until_cycle``, calling ``between`` after each (as commands would be)."""
    coordinator = parts.coordinator
    for tick in coordinator.resume(parts.feed):
        if coordinator.cycles_completed >= until_cycle:
            return
        coordinator.run_cycle(tick)
        if between is not None:
            between(coordinator)


def _signal(coordinator: Coordinator, **fields: Any) -> dict[str, Any]:
    market_date = coordinator.market_date
    assert market_date is not None
    return {
        "id": fields.pop("id"),
        "source": "desk",
        "horizon": "1m",
        "timestamp": market_date.isoformat(),
        "confidence": 0.9,
        **fields,
    }


def _submit(coordinator: Coordinator, *signals: dict[str, Any]) -> list[str]:
    outcomes = coordinator.apply(SubmitSignals("test-feed", "test", signals, "test"))
    return [o.status for o in outcomes]


def _coordinated(coordinator: Coordinator, portfolio_id: str, symbol: str) -> tuple[float, float]:
    signals = coordinator.views.latest_coordinated[portfolio_id]
    i = coordinator.universe.symbol_index[symbol]
    return float(signals.score[i]), float(signals.confidence[i])


def test_a_desk_view_wins_by_priority_only_where_the_portfolio_subscribes(tmp_path: Path) -> None:
    parts = _engine(f"sqlite:///{tmp_path}/e.db")
    coordinator = parts.coordinator
    _drive(parts, 40)
    submitted_on = coordinator.market_date
    assert _submit(
        coordinator, _signal(coordinator, id="d1", instrument="SIM00007", score=-0.8)
    ) == ["accepted"]
    _drive(parts, 41)

    score, confidence = _coordinated(coordinator, "follow", "SIM00007")
    age = age_days(submitted_on, coordinator.market_date)
    # Priority 5 beats momentum's 1 (times at most 2 for quality); its confidence has decayed by
    # one business day at the 1m half-life of 10.5 days.
    assert score == pytest.approx(-0.8)
    assert confidence == pytest.approx(0.9 * 0.5 ** (age / 10.5))
    lineage = coordinator.views.latest_coordinated["follow"].lineage
    assert lineage["desk/1m"][coordinator.universe.symbol_index["SIM00007"]] == 1.0
    # "guarded" does not subscribe to the desk: the view never reaches it.
    assert "desk/1m" not in coordinator.views.latest_coordinated["guarded"].lineage
    rows = {(r.origin, r.symbol) for r in coordinator.build_snapshot("running", 1).raw_signals}  # type: ignore[arg-type]
    assert ("desk/1m", "SIM00007") in rows
    (received,) = parts.store.query(event_type="SignalReceived")
    assert received.actor == "test-feed" and received.payload["score"] == -0.8


def test_a_guard_veto_blocks_a_held_name_and_the_portfolio_sells_it(tmp_path: Path) -> None:
    parts = _engine(f"sqlite:///{tmp_path}/e.db")
    coordinator = parts.coordinator
    _drive(parts, 40)
    held = coordinator.ledger.holdings_of("guarded")
    symbol = max(held, key=lambda s: held[s])
    assert held[symbol] > 0
    # A flat view at full confidence: the guard will not have the name held either way.
    guard = {**_signal(coordinator, id="g1", instrument=symbol, score=0.0), "source": "guard"}
    guard["confidence"] = 1.0
    assert _submit(coordinator, guard) == ["accepted"]
    _drive(parts, 41)

    signals = coordinator.views.latest_coordinated["guarded"]
    i = coordinator.universe.symbol_index[symbol]
    assert signals.vetoed[i] and signals.score[i] == 0.0
    assert coordinator.state.targets["guarded"].get(symbol, 0.0) == 0.0
    sells = [
        e
        for e in parts.store.query(portfolio_id="guarded", event_type="OrderCreated", limit=50)
        if e.payload["symbol"] == symbol
        and e.payload["market_date"] == str(coordinator.market_date)
    ]
    assert [e.payload["side"] for e in sells] == ["SELL"]
    # Everything held when the order was decided (after this cycle's fills) is sold.
    assert sells[0].payload["quantity_shares"] == coordinator.ledger.shares("guarded", symbol)


def test_rejected_signals_are_recorded_and_change_nothing_else(tmp_path: Path) -> None:
    parts = _engine(f"sqlite:///{tmp_path}/e.db")
    coordinator = parts.coordinator
    _drive(parts, 35)
    before = coordinator.state.to_dict()
    statuses = _submit(
        coordinator,
        _signal(coordinator, id="b1", instrument="NOPE", score=0.1),
        _signal(coordinator, id="b2", instrument="SIM00001", score=7),
        {"id": "b3"},
        "not an object",
    )
    assert statuses == ["rejected"] * 4
    after = coordinator.state.to_dict()
    before.pop("events_applied"), after.pop("events_applied")
    assert after == before
    rejected = parts.store.query(event_type="SignalRejected")
    assert sorted(
        (e.payload["index"], e.payload["signal_id"], e.payload["field"]) for e in rejected
    ) == [
        (0, "b1", "instrument"),
        (1, "b2", "score"),
        (2, "b3", "source"),
        (3, None, "(signal)"),
    ]
    _drive(parts, 40)
    assert coordinator.cycle_errors == 0


def test_overrides_apply_expire_and_are_audited(tmp_path: Path) -> None:
    parts = _engine(f"sqlite:///{tmp_path}/e.db")
    coordinator = parts.coordinator
    _drive(parts, 40)
    today = coordinator.market_date
    assert today is not None
    tomorrow = np.busday_offset(today, 1, roll="forward").astype(date)
    pin = coordinator.apply(
        SetOverride(
            "pm-alice",
            "house view",
            kind="pin",
            portfolio_id="follow",
            symbol="SIM00003",
            score=0.7,
            confidence=0.8,
            expires_on=tomorrow,
        )
    )
    veto = coordinator.apply(
        SetOverride("pm-bob", "compliance", kind="veto", portfolio_id="*", symbol="SIM00004")
    )
    _drive(parts, 41)
    assert _coordinated(coordinator, "follow", "SIM00003") == (0.7, 0.8)
    assert _coordinated(coordinator, "follow", "SIM00004") == (0.0, 0.0)
    assert _coordinated(coordinator, "guarded", "SIM00004") == (0.0, 0.0)

    _drive(parts, 43)  # the pin's last day has passed
    assert set(coordinator.state.overrides) == {veto.override_id}
    coordinator.apply(LiftOverride("pm-bob", "cleared", override_id=veto.override_id))
    assert coordinator.state.overrides == {}
    with pytest.raises(ValueError, match="override_id: 'nope' is not active"):
        coordinator.apply(LiftOverride("pm-bob", "again", override_id="nope"))
    with pytest.raises(ValueError, match="instrument: 'ZZZ' is not in the market data"):
        coordinator.apply(SetOverride("pm", "why", kind="veto", symbol="ZZZ"))

    trail = [
        (e.type, e.actor, e.payload["override_id"], e.payload["reason"])
        for e in parts.store.read_from(1, event_types=frozenset({"OverrideSet", "OverrideExpired"}))
    ]
    assert trail == [
        ("OverrideSet", "pm-alice", pin.override_id, "house view"),
        ("OverrideSet", "pm-bob", veto.override_id, "compliance"),
        ("OverrideExpired", "engine", pin.override_id, f"expired after {tomorrow}"),
        ("OverrideExpired", "pm-bob", veto.override_id, "lifted: cleared"),
    ]


def _desk_views(coordinator: Coordinator) -> None:
    """From cycle 30 to 45 the desk calls every name each day (deterministic scores)."""
    cycle = coordinator.cycles_completed
    if 30 <= cycle <= 45:
        rng = np.random.default_rng(cycle)
        _submit(
            coordinator,
            *(
                _signal(
                    coordinator, id=f"q{cycle}-{s}", instrument=s, score=float(rng.uniform(-1, 1))
                )
                for s in coordinator.universe.symbols
            ),
        )


def test_signals_overrides_and_quality_carry_over_a_restart_exactly(
    database_url: str, tmp_path: Path
) -> None:
    straight = _engine(f"sqlite:///{tmp_path}/straight.db", snapshot_every=400)
    _drive(straight, 90, _desk_views)

    first = _engine(database_url, snapshot_every=400)
    _drive(first, 40, _desk_views)
    first.coordinator.apply(
        SetOverride("pm", "hold off", kind="veto", portfolio_id="follow", symbol="SIM00002")
    )
    first.bus.close()
    first.store.close()

    again = _engine(database_url, snapshot_every=400)
    repository = StateRepository(again.store)
    recovered, report = repository.recover()
    assert report.snapshot_id is not None
    from_snapshot = recovered.to_dict()
    from_scratch = repository.recover(use_snapshots=False)[0].to_dict()
    from_snapshot.pop("events_applied"), from_scratch.pop("events_applied")
    assert from_snapshot == from_scratch
    assert len(again.coordinator.state.signal_book) == len(first.coordinator.state.signal_book) > 0
    assert list(again.coordinator.state.overrides) == list(first.coordinator.state.overrides)

    # The restarted engine measures source quality exactly as one that never stopped (the
    # override changes trades, not views): the views still waiting for their horizon were
    # re-formed at start-up.
    _drive(again, 90, _desk_views)

    def quality(parts: EngineParts) -> list[dict[str, Any]]:
        return [
            e.payload
            for e in parts.store.read_from(1, event_types=frozenset({"SourceQualityMeasured"}))
        ]

    assert quality(again) == quality(straight)
    assert quality(again)[-1]["sources"]["desk"]["observations"] > 0


def test_a_follower_rebuilds_the_signal_records_from_the_events_alone(tmp_path: Path) -> None:
    parts = _engine(f"sqlite:///{tmp_path}/e.db")
    coordinator = parts.coordinator
    _drive(parts, 30)
    _submit(coordinator, _signal(coordinator, id="bad", instrument="SIM00001", score=3))
    coordinator.apply(SetOverride("pm", "why not", kind="veto", symbol="SIM00005"))
    _drive(parts, 45, _desk_views)
    engine_view = coordinator.build_snapshot("running", 1.0)  # type: ignore[arg-type]

    follower = PulsarFollower(PulsarSettings(), coordinator.universe.instruments)
    for event in parts.store.iter_from(1):
        follower.apply(event)
    followed = follower.build_snapshot()
    assert followed.rejected_signals == engine_view.rejected_signals
    assert followed.overrides == engine_view.overrides and len(followed.overrides) == 1
    # (repr: a not-yet-measured IC is NaN, which never equals itself)
    assert repr(followed.quality_history) == repr(engine_view.quality_history)
    assert len(followed.quality_history) > 0

    # The engine shows every portfolio's latest conflicts; the follower those recorded on the
    # last rebalance day, which here is every day.
    def by_name(conflicts: tuple[Conflict, ...]) -> list[Conflict]:
        return sorted(conflicts, key=lambda c: (c.portfolio_id, c.symbol))

    assert by_name(followed.conflicts) == by_name(engine_view.conflicts)
    assert len(followed.conflicts) > 0
