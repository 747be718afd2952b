"""A manager's rebalance controls in the running engine: a preview asked for on a portfolio
that trades without approval, and a policy replaced while the engine runs (audited, folded
into the state, kept across a restart)."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import pytest

from engine.assembly import build_engine
from engine.commands import ApproveRebalance, RequestRebalance, SetRebalancePolicy
from engine.config import parse_config
from engine.rebalancing.triggers import RebalancePolicy
from engine.state.engine_state import EngineState
from tests.support import SIGNALS_CONFIG

EVERY_20 = "rebalance_every_days = 20\n"


def _engine(tmp_path: Path) -> tuple[object, object, object]:
    text = SIGNALS_CONFIG.format(days=80, snapshot_every=20_000)
    text = text.replace('id = "guarded"\n', 'id = "guarded"\n' + EVERY_20).replace(
        'id = "follow"\n', 'id = "follow"\n' + EVERY_20
    )
    parts = build_engine(parse_config(text, "test"), f"sqlite:///{tmp_path / 'e.db'}")
    parts.coordinator.start({"mode": "test"})
    return parts, parts.coordinator, iter(parts.coordinator.resume(parts.feed))


def _of(parts: object, kind: str) -> list:
    return parts.store.query(portfolio_id="guarded", event_type=kind, limit=1_000)  # type: ignore[attr-defined]


def test_a_preview_is_proposed_and_trades_only_once_approved(tmp_path: Path) -> None:
    parts, coordinator, ticks = _engine(tmp_path)
    for _ in range(25):  # past the calendar's rebalance at cycle 21
        coordinator.run_cycle(next(ticks))
    orders_before = len(_of(parts, "OrderCreated"))
    answer = coordinator.apply(
        RequestRebalance("pm", "see it first", portfolio_id="guarded", preview=True)
    )
    assert answer["preview"] is True
    coordinator.run_cycle(next(ticks))  # cycle 26: not a calendar day
    (triggered,) = _of(parts, "RebalanceTriggered")[:1]
    assert triggered.payload["triggers"] == [
        {"trigger": "manual", "detail": "a preview asked for by pm: see it first", "preview": True}
    ]
    (proposed,) = _of(parts, "RebalanceProposed")
    assert proposed.payload["market_date"] == triggered.payload["market_date"]
    assert len(_of(parts, "OrderCreated")) == orders_before  # nothing sent
    coordinator.apply(ApproveRebalance("pm", "looks right", portfolio_id="guarded"))
    coordinator.run_cycle(next(ticks))
    (released,) = _of(parts, "RebalanceReleased")
    assert released.payload["orders"] == len(proposed.payload["trades"]) > 0
    assert len(_of(parts, "OrderCreated")) == orders_before + released.payload["orders"]


def test_a_policy_set_while_running_replaces_the_configured_one(tmp_path: Path) -> None:
    parts, coordinator, ticks = _engine(tmp_path)
    for _ in range(5):
        coordinator.run_cycle(next(ticks))
    configured = RebalancePolicy(every_days=20)
    with pytest.raises(ValueError, match="policy: guarded's rebalance policy is already that"):
        coordinator.apply(
            SetRebalancePolicy("pm", "same", portfolio_id="guarded", policy=configured)
        )
    with pytest.raises(ValueError, match="calendar: 'hourly' is not one of"):
        RebalancePolicy(calendar="hourly")
    with pytest.raises(ValueError, match=r"drift_absolute: 1\.5 is a weight of NAV"):
        RebalancePolicy(drift_absolute=1.5)
    # From the next close: no calendar, approval needed.
    quiet = RebalancePolicy(calendar="none", approval=True, proposal_expires_days=3)
    answer = coordinator.apply(
        SetRebalancePolicy("risk", "hold still", portfolio_id="guarded", policy=quiet)
    )
    assert answer["previous"] == configured.to_dict()
    (recorded,) = _of(parts, "RebalancePolicySet")
    assert recorded.actor == "risk" and recorded.payload["policy"] == quiet.to_dict()
    triggered_before = len(_of(parts, "RebalanceTriggered"))
    for _ in range(20):  # past the configured calendar day (cycle 21)
        coordinator.run_cycle(next(ticks))
    assert len(_of(parts, "RebalanceTriggered")) == triggered_before
    # The other portfolio keeps its configured calendar.
    follow = parts.store.query(portfolio_id="follow", event_type="RebalanceTriggered", limit=9)
    assert len(follow) == 2
    # A manual request is now proposed (the policy asks for approval), not traded.
    orders = len(_of(parts, "OrderCreated"))
    coordinator.apply(RequestRebalance("pm", "now", portfolio_id="guarded"))
    coordinator.run_cycle(next(ticks))
    (proposed,) = _of(parts, "RebalanceProposed")
    assert proposed.payload["expires_after"] > proposed.payload["market_date"]
    assert len(_of(parts, "OrderCreated")) == orders
    # Kept in the state and its snapshot.
    restored = EngineState.from_dict(coordinator.state.to_dict())
    assert restored.rebalancing.policy("guarded", configured) == quiet
    assert restored.rebalancing.policy("follow", configured) == configured


def test_a_signal_change_rebalances_from_the_view_of_the_last_rebalance(tmp_path: Path) -> None:
    text = SIGNALS_CONFIG.format(days=80, snapshot_every=20_000)
    rules = '\n[portfolios.rebalancing]\ncalendar = "quarterly"\nsignal_change = 0.5\n'
    parts = build_engine(parse_config(text + rules, "test"), f"sqlite:///{tmp_path / 'e.db'}")
    coordinator = parts.coordinator
    coordinator.start({"mode": "test"})
    for tick in coordinator.resume(parts.feed):
        coordinator.run_cycle(tick)
    triggered = list(reversed(_of(parts, "RebalanceTriggered")))  # oldest first
    assert all("signal_scores" in e.payload for e in triggered)
    changed = [
        (before, after)
        for before, after in pairwise(triggered)
        if "signal_change" in {t["trigger"] for t in after.payload["triggers"]}
    ]
    assert changed, "the signal-change trigger never fired"
    for before, after in changed:
        (detail,) = [
            t["detail"] for t in after.payload["triggers"] if t["trigger"] == "signal_change"
        ]
        then, now = before.payload["signal_scores"], after.payload["signal_scores"]
        # Each name shown moved at least 0.5 from the last rebalance's view to this one's.
        for shown in detail.split(": ", 1)[1].split(", "):
            symbol = shown.split()[0]
            assert abs(now.get(symbol, 0.0) - then.get(symbol, 0.0)) >= 0.5 - 1e-9
    # The baseline is the last rebalance's view, kept in the state and its snapshot.
    restored = EngineState.from_dict(coordinator.state.to_dict())
    assert (
        restored.rebalancing.signal_baselines["guarded"] == triggered[-1].payload["signal_scores"]
    )
