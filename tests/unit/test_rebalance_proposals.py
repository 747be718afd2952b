"""A proposal's life in the engine state: proposed, approved with names dropped, released; a
newer one replaces a pending one; rejected or expired, it is gone; a snapshot keeps it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from engine.model import Event
from engine.rebalancing.proposals import APPROVED, PENDING
from engine.state.engine_state import EngineState


def _event(kind: str, **payload: object) -> Event:
    return Event(kind, kind, datetime(2024, 1, 2, tzinfo=UTC), "pm", payload, "p")


def _proposed(proposal_id: str) -> Event:
    return _event(
        "RebalanceProposed",
        proposal_id=proposal_id,
        market_date="2024-01-02",
        expires_after="2024-01-07",
        target_shares={"AAA": 100, "BBB": 50},
        trades=[
            {"symbol": "AAA", "side": "BUY", "quantity_shares": 60},
            {"symbol": "CCC", "side": "SELL", "quantity_shares": 10},
        ],
    )


def test_a_proposal_is_approved_released_and_kept_by_snapshots() -> None:
    state = EngineState()
    state.apply(_proposed("p-1"))
    proposal = state.rebalancing.proposals.by_portfolio["p"]
    assert proposal.status == PENDING and proposal.trades == {"AAA": 60, "CCC": -10}
    state.apply(_event("RebalanceApproved", proposal_id="p-1", dropped=["CCC"]))
    restored = EngineState.from_dict(state.to_dict())
    kept = restored.rebalancing.proposals.by_portfolio["p"]
    assert (kept.status, kept.dropped, kept.target_shares) == (
        APPROVED,
        ("CCC",),
        {"AAA": 100, "BBB": 50},
    )
    restored.apply(_event("RebalanceReleased", proposal_id="p-1", orders=1))
    assert restored.rebalancing.proposals.by_portfolio == {}


def test_a_newer_proposal_replaces_a_pending_one_and_only_its_own_decision_counts() -> None:
    state = EngineState()
    state.apply(_proposed("p-1"))
    state.apply(_proposed("p-2"))
    state.apply(_event("RebalanceRejected", proposal_id="p-1"))  # the old one: no effect
    assert state.rebalancing.proposals.by_portfolio["p"].proposal_id == "p-2"
    state.apply(_event("RebalanceProposalExpired", proposal_id="p-2"))
    assert state.rebalancing.proposals.by_portfolio == {}


def _targets(weights: dict[str, float]) -> Event:
    cash = round(1 - sum(weights.values()), 6)
    return _event("TargetWeightsSet", market_date="2024-01-02", weights=weights, cash_weight=cash)


def test_a_rejected_or_expired_proposal_puts_the_traded_target_back_in_force() -> None:
    state = EngineState()
    state.apply(_targets({"AAA": 0.5}))  # traded
    state.apply(_targets({"AAA": 0.3, "BBB": 0.4}))  # sized for the proposal
    state.apply(_proposed("p-1"))
    assert state.targets["p"] == {"AAA": 0.3, "BBB": 0.4}
    # A newer proposal replaces it, and keeps the target traded before both.
    state.apply(_targets({"BBB": 0.9}))
    state.apply(_proposed("p-2"))
    restored = EngineState.from_dict(state.to_dict())  # kept across a snapshot too
    for kept in (state, restored):
        kept.apply(_event("RebalanceRejected", proposal_id="p-2", reason="no"))
        assert kept.targets["p"] == {"AAA": 0.5}
        assert kept.target_cash_weight["p"] == 0.5
    # A first proposal (no target before it) that expires leaves no target.
    fresh = EngineState()
    fresh.apply(_targets({"AAA": 0.3}))
    fresh.apply(_proposed("p-1"))
    fresh.apply(_event("RebalanceProposalExpired", proposal_id="p-1"))
    assert "p" not in fresh.targets


def test_the_names_an_approval_dropped_keep_their_weight_as_target() -> None:
    state = EngineState()
    state.apply(_targets({"AAA": 0.3, "CCC": 0.0}))
    state.apply(_proposed("p-1"))
    state.apply(_event("RebalanceApproved", proposal_id="p-1", dropped=["CCC"]))
    state.apply(
        _event(
            "RebalanceReleased",
            proposal_id="p-1",
            orders=1,
            dropped=["CCC"],
            kept_weights={"CCC": 0.12},
        )
    )
    assert state.targets["p"] == {"AAA": 0.3, "CCC": 0.12}
    assert state.target_cash_weight["p"] == pytest.approx(0.58)
