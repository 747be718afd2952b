"""A proposal's life in the engine state: proposed, approved with names dropped, released; a
newer one replaces a pending one; rejected or expired, it is gone; a snapshot keeps it."""

from __future__ import annotations

from datetime import UTC, datetime

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
    proposal = state.proposals.by_portfolio["p"]
    assert proposal.status == PENDING and proposal.trades == {"AAA": 60, "CCC": -10}
    state.apply(_event("RebalanceApproved", proposal_id="p-1", dropped=["CCC"]))
    restored = EngineState.from_dict(state.to_dict())
    kept = restored.proposals.by_portfolio["p"]
    assert (kept.status, kept.dropped, kept.target_shares) == (
        APPROVED,
        ("CCC",),
        {"AAA": 100, "BBB": 50},
    )
    restored.apply(_event("RebalanceReleased", proposal_id="p-1", orders=1))
    assert restored.proposals.by_portfolio == {}


def test_a_newer_proposal_replaces_a_pending_one_and_only_its_own_decision_counts() -> None:
    state = EngineState()
    state.apply(_proposed("p-1"))
    state.apply(_proposed("p-2"))
    state.apply(_event("RebalanceRejected", proposal_id="p-1"))  # the old one: no effect
    assert state.proposals.by_portfolio["p"].proposal_id == "p-2"
    state.apply(_event("RebalanceProposalExpired", proposal_id="p-2"))
    assert state.proposals.by_portfolio == {}
