"""The engine state's rebalancing part, folded from the rebalancing events:

- the rebalances asked for and not yet made (a manager's request, the cash flows since the
  last rebalance), by portfolio and trigger;
- the proposals waiting for (or approved and not yet traded after) approval
  (engine/rebalancing/proposals.py);
- the policies a manager set while the engine ran, in place of the configured ones;
- each portfolio's view at its last rebalance, for the signal-change trigger;
- the target in force before a proposal's: a proposal's target is recorded when it is sized
  (``TargetWeightsSet``), so when it is rejected or expires the one traded before it is in
  force again, and the drift bands measure from it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from engine.model import Event
from engine.rebalancing.proposals import ProposalBook
from engine.rebalancing.triggers import RebalancePolicy

# The events folded here besides the proposals' (engine/rebalancing/proposals.py).
REBALANCING_EVENTS = frozenset(
    {"RebalanceRequested", "CashFlowRecorded", "RebalanceTriggered", "RebalancePolicySet"}
)
# A target as the state keeps it: weights by symbol, and the cash weight.
Target = tuple[dict[str, float], float]


class RebalancingState:
    def __init__(self) -> None:
        self.requests: dict[str, dict[str, dict[str, str]]] = {}
        self.proposals = ProposalBook()
        self.policies: dict[str, RebalancePolicy] = {}
        self.signal_baselines: dict[str, dict[str, float]] = {}
        # The target each portfolio's latest TargetWeightsSet replaced (within its cycle: a
        # proposal made in it keeps it; a snapshot is only written between cycles).
        self._superseded: dict[str, Target | None] = {}

    def policy(self, portfolio_id: str, configured: RebalancePolicy) -> RebalancePolicy:
        """The portfolio's rebalance policy: the last a manager set, else ``configured``."""
        return self.policies.get(portfolio_id, configured)

    def target_replaced(self, portfolio_id: str, previous: Target | None) -> None:
        self._superseded[portfolio_id] = previous

    def apply(self, event: Event) -> Target | bool | None:
        """Fold one rebalancing event. For a rejected or expired proposal, the target to put
        back in force (None: there was none); else False."""
        pid, p = event.portfolio_id or "", event.payload
        if event.type in ("RebalanceRequested", "CashFlowRecorded"):
            requests = self.requests.setdefault(pid, {})
            info = {"actor": event.actor, "reason": p["reason"]}
            if p.get("preview"):
                info["preview"] = "yes"
            if event.type == "CashFlowRecorded":
                earlier = Decimal(requests.get("cash_flow", {}).get("amount_usd", "0"))
                info["amount_usd"] = str(earlier + Decimal(p["amount_usd"]))
            requests["manual" if event.type == "RebalanceRequested" else "cash_flow"] = info
        elif event.type == "RebalanceTriggered":
            self.requests.pop(pid, None)
            if "signal_scores" in p:
                self.signal_baselines[pid] = dict(p["signal_scores"])
        elif event.type == "RebalancePolicySet":
            self.policies[pid] = RebalancePolicy.from_dict(p["policy"])
        else:
            # Not known (False) without this cycle's TargetWeightsSet: nothing is put back.
            return self.proposals.apply(event.type, pid, p, self._superseded.get(pid, False))
        return False

    def to_dict(self) -> dict[str, Any]:
        return {
            "rebalance_requests": dict(sorted(self.requests.items())),
            "proposals": self.proposals.to_dict(),
            # Only when set, so snapshots of runs without one read as they always did.
            **(
                {
                    "rebalance_policies": {
                        pid: policy.to_dict() for pid, policy in sorted(self.policies.items())
                    }
                }
                if self.policies
                else {}
            ),
            **(
                {"signal_baselines": dict(sorted(self.signal_baselines.items()))}
                if self.signal_baselines
                else {}
            ),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RebalancingState:
        state = cls()
        # Each absent from snapshots written before it existed: none was set.
        state.requests = {
            pid: {kind: dict(info) for kind, info in r.items()}
            for pid, r in data.get("rebalance_requests", {}).items()
        }
        state.proposals = ProposalBook.from_dict(data.get("proposals"))
        state.policies = {
            pid: RebalancePolicy.from_dict(policy)
            for pid, policy in data.get("rebalance_policies", {}).items()
        }
        state.signal_baselines = {
            pid: dict(scores) for pid, scores in data.get("signal_baselines", {}).items()
        }
        return state
