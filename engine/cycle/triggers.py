"""The rebalance triggers stage: which portfolios rebalance at this close, and why.

Each portfolio's triggers (engine/rebalancing/triggers.py: calendar, drift bands, a risk breach
at this close, a manager's request, a cash flow) are checked after the risk stage has marked
the close. A portfolio due for any reason is recorded with every trigger that fired
(``RebalanceTriggered``, which also answers the requests and flows pending); the coordination
of its sleeves, the allocation and the orders follow for the portfolios due only.

Keeps no state of its own: the last target and the alerts are the engine state's.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from engine.cycle.context import MarketClose, PortfolioMandate, Universe, current_weights
from engine.cycle.recorder import Emitter
from engine.rebalancing.triggers import Firing, calendar_firing, drift_firings
from engine.state.engine_state import EngineState

# Due portfolios, each with the triggers that fired.
Due = Mapping[str, tuple[Firing, ...]]


class TriggerStage:
    def __init__(self, universe: Universe, mandates: tuple[PortfolioMandate, ...]) -> None:
        self.universe = universe
        self.mandates = mandates

    def run(self, cycle: int, market: MarketClose, state: EngineState, emit: Emitter) -> Due:
        """The portfolios due at cycle number ``cycle`` (1 is the first), recorded."""
        today = market.today
        due: dict[str, tuple[Firing, ...]] = {}
        for mandate in self.mandates:
            pid = mandate.portfolio_id
            firings = self.firings(mandate, cycle, market, state)
            if not firings:
                continue
            due[pid] = firings
            emit(
                "RebalanceTriggered",
                {
                    "market_date": today.isoformat(),
                    "triggers": [firing.to_dict() for firing in firings],
                },
                pid,
            )
        return due

    def firings(
        self, mandate: PortfolioMandate, cycle: int, market: MarketClose, state: EngineState
    ) -> tuple[Firing, ...]:
        """What fired for ``mandate``'s portfolio at this close (nothing: not due)."""
        pid = mandate.portfolio_id
        policy = state.rebalance_policy(pid, mandate.rebalancing)
        # The engine state's market date is the last completed cycle's until this one ends.
        previous = state.market_date if state.market_date != market.today else None
        fired = [calendar_firing(policy, cycle, market.today, previous)]
        target = state.targets.get(pid)
        if policy.watches_drift and target:
            nav = float(state.ledger.nav_usd(pid))
            current = current_weights(state.ledger, pid, self.universe, market.close, nav)
            fired.extend(
                drift_firings(
                    policy,
                    current,
                    self.universe.vector(target),
                    self.universe.symbols,
                    self.universe.sectors,
                )
            )
        if policy.on_risk_breach:
            fired.append(_breach(state, pid, market.today.isoformat()))
        for kind, info in state.rebalance_requests.get(pid, {}).items():
            fired.append(_requested(kind, info))
        return tuple(f for f in fired if f is not None)


def _requested(kind: str, info: Mapping[str, str]) -> Firing:
    """The firing of a manager's request or of the cash flows since the last rebalance."""
    if kind == "manual":
        preview = "preview" in info
        asked = f"asked for by {info['actor']}: {info['reason']}"
        return Firing("manual", f"a preview {asked}" if preview else asked, preview)
    amount = Decimal(info["amount_usd"])
    flow = "net deposit" if amount > 0 else "net withdrawal"
    return Firing(
        "cash_flow", f"{flow} of {abs(amount):,.2f} USD ({info['actor']}: {info['reason']})"
    )


def _breach(state: EngineState, pid: str, today: str) -> Firing | None:
    """A risk limit of ``pid`` breached at this close (its alert raised today)."""
    limits = sorted(
        str(alert["limit"])
        for alert in state.risk_alerts.values()
        if alert.get("portfolio_id") == pid
        and alert.get("level") == "breach"
        and alert.get("market_date") == today
    )
    if not limits:
        return None
    return Firing("risk_breach", "limit(s) breached at this close: " + ", ".join(limits))
