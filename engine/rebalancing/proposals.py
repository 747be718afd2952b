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
approved and not yet traded. A rejected or expired proposal puts the target traded before it
back in force (the drift bands measure from it); an approved one traded without some names
keeps those names' weights at the release as their target (``kept_weights``).

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
    # The target traded before this one's, (weights, cash weight) or None (none), in force
    # again if it is rejected or expires; unknown (False) in proposals from older snapshots.
    in_force: tuple[dict[str, float], float] | bool | None = False

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
            **(
                {}
                if self.in_force is False
                else {"in_force": None if self.in_force is None else list(self.in_force)}
            ),
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
            (
                (dict(data["in_force"][0]), float(data["in_force"][1]))
                if data.get("in_force")
                else (None if "in_force" in data else False)
            ),
        )


@dataclass
class ProposalBook:
    """Each portfolio's proposal, pending or approved and not yet traded."""

    by_portfolio: dict[str, Proposal] = field(default_factory=dict)

    def apply(
        self,
        kind: str,
        portfolio_id: str,
        payload: dict[str, Any],
        superseded: tuple[dict[str, float], float] | bool | None = False,
    ) -> tuple[dict[str, float], float] | bool | None:
        """Fold one proposal event; ``superseded``: the target the proposal's own replaced.
        For a rejection or an expiry, the target in force again (None: none); else False."""
        replaced = self.by_portfolio.get(portfolio_id)
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
                # A proposal replacing one never traded keeps the target in force before both.
                in_force=replaced.in_force if replaced is not None else superseded,
            )
            return False
        if replaced is None or replaced.proposal_id != payload["proposal_id"]:
            return False
        if kind == "RebalanceApproved":
            replaced.status = APPROVED
            replaced.dropped = tuple(payload.get("dropped", ()))
            return False
        del self.by_portfolio[portfolio_id]  # rejected, expired or released: it is over
        if kind in ("RebalanceRejected", "RebalanceProposalExpired"):
            return replaced.in_force
        return False

    def to_dict(self) -> dict[str, Any]:
        return {pid: p.to_dict() for pid, p in sorted(self.by_portfolio.items())}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> ProposalBook:
        return cls({pid: Proposal.from_dict(p) for pid, p in (data or {}).items()})
