"""Rebalances that wait for a portfolio manager's approval (``[portfolios.rebalancing]
approval = true``; docs/rebalancing.md).

A due rebalance of such a portfolio sends no order: it is recorded as a proposal
(``RebalanceProposed``) with its trades and a preview: the trades' cost estimate, risk before
and after, tracking error, turnover (the allocation's own assessment) and the gains and tax the
sales would realise. Then, as audited commands with who and why:

- ``ApproveRebalance`` (``RebalanceApproved``, optionally dropping some names' trades): at the
  next close the orders are made toward the proposal's target, at that close's prices, the
  dropped names left as they are (``RebalanceReleased``);
- ``RejectRebalance`` (``RebalanceRejected``): nothing is traded.

A proposal not decided within ``proposal_expires_days`` closes expires
(``RebalanceProposalExpired``); a new rebalance of the portfolio replaces one still waiting, or
approved and not yet traded.

``ProposalBook`` is the engine state's part: folded from those events, kept in snapshots.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

PENDING, APPROVED = "pending", "approved"
EVENT_TYPES = frozenset(
    {
        "RebalanceProposed",
        "RebalanceApproved",
        "RebalanceRejected",
        "RebalanceProposalExpired",
        "RebalanceReleased",
    }
)


@dataclass
class Proposal:
    proposal_id: str
    portfolio_id: str
    market_date: date
    expires_after: date
    target_shares: dict[str, int]
    trades: dict[str, int] = field(default_factory=dict)  # symbol -> shares, sells negative
    status: str = PENDING
    dropped: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "proposal_id": self.proposal_id,
            "portfolio_id": self.portfolio_id,
            "market_date": self.market_date.isoformat(),
            "expires_after": self.expires_after.isoformat(),
            "target_shares": dict(sorted(self.target_shares.items())),
            "trades": dict(sorted(self.trades.items())),
            "status": self.status,
            "dropped": list(self.dropped),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Proposal:
        return cls(
            data["proposal_id"],
            data["portfolio_id"],
            date.fromisoformat(data["market_date"]),
            date.fromisoformat(data["expires_after"]),
            {s: int(n) for s, n in data["target_shares"].items()},
            {s: int(n) for s, n in data["trades"].items()},
            data["status"],
            tuple(data["dropped"]),
        )


@dataclass
class ProposalBook:
    """Each portfolio's proposal, pending or approved and not yet traded."""

    by_portfolio: dict[str, Proposal] = field(default_factory=dict)

    def apply(self, kind: str, portfolio_id: str, payload: dict[str, Any]) -> None:
        if kind == "RebalanceProposed":
            self.by_portfolio[portfolio_id] = Proposal(
                payload["proposal_id"],
                portfolio_id,
                date.fromisoformat(payload["market_date"]),
                date.fromisoformat(payload["expires_after"]),
                {s: int(n) for s, n in payload["target_shares"].items()},
                {
                    t["symbol"]: int(t["quantity_shares"]) * (1 if t["side"] == "BUY" else -1)
                    for t in payload["trades"]
                },
            )
        elif kind == "RebalanceApproved":
            proposal = self.by_portfolio.get(portfolio_id)
            if proposal is not None and proposal.proposal_id == payload["proposal_id"]:
                proposal.status = APPROVED
                proposal.dropped = tuple(payload.get("dropped", ()))
        else:  # rejected, expired or released: it is over
            proposal = self.by_portfolio.get(portfolio_id)
            if proposal is not None and proposal.proposal_id == payload["proposal_id"]:
                del self.by_portfolio[portfolio_id]

    def to_dict(self) -> dict[str, Any]:
        return {pid: p.to_dict() for pid, p in sorted(self.by_portfolio.items())}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> ProposalBook:
        return cls({pid: Proposal.from_dict(p) for pid, p in (data or {}).items()})
