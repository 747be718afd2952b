"""The rebalance triggers stage: which portfolios rebalance at this close, and why.

Each portfolio's triggers (engine/rebalancing/triggers.py: calendar, drift bands, a risk breach
at this close, a signal change, a manager's request, a cash flow) are checked after the risk
stage has marked the close and the portfolios' views are coordinated. A portfolio due for any
reason is recorded with every trigger that fired (``RebalanceTriggered``, which also answers
the requests and flows pending, and carries the view the signal-change trigger measures from);
the coordination of its sleeves, the allocation and the orders follow for the portfolios due
only.

Keeps no state of its own: the last target, the alerts and the last rebalance's view are the
engine state's.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from engine.cycle.context import MarketClose, PortfolioMandate, Universe, current_weights
from engine.cycle.coordination import Coordinated
from engine.cycle.recorder import Emitter
from engine.model import CoordinatedSignals
from engine.rebalancing.triggers import (
    Firing,
    RebalancePolicy,
    calendar_firing,
    drift_firings,
    signal_firing,
    signal_scores,
)
from engine.state.engine_state import EngineState

# Due portfolios, each with the triggers that fired.
Due = Mapping[str, tuple[Firing, ...]]


class TriggerStage:
    def __init__(self, universe: Universe, mandates: tuple[PortfolioMandate, ...]) -> None:
        self.universe = universe
        self.mandates = mandates

    def run(
        self,
        cycle: int,
        market: MarketClose,
        state: EngineState,
        coordinated: Coordinated,
        emit: Emitter,
    ) -> Due:
        """The portfolios due at cycle number ``cycle`` (1 is the first), recorded;
        ``coordinated`` the portfolios' views at this close (for the signal-change trigger)."""
        today = market.today
        due: dict[str, tuple[Firing, ...]] = {}
        for mandate in self.mandates:
            pid = mandate.portfolio_id
            policy = state.rebalancing.policy(pid, mandate.rebalancing)
            view = coordinated.portfolios.get(pid)
            firings = self.firings(mandate, policy, cycle, market, state, view)
            if not firings:
                continue
            due[pid] = firings
            # The view this rebalance sees: what the next signal change is measured from.
            recorded = (
                {
                    "signal_scores": signal_scores(
                        view.score, self.universe.symbols, mandate.universe
                    )
                }
                if policy.signal_change is not None and view is not None
                else {}
            )
            emit(
                "RebalanceTriggered",
                {
                    "market_date": today.isoformat(),
                    "triggers": [firing.to_dict() for firing in firings],
                    **recorded,
                },
                pid,
            )
        return due

    def firings(
        self,
        mandate: PortfolioMandate,
        policy: RebalancePolicy,
        cycle: int,
        market: MarketClose,
        state: EngineState,
        view: CoordinatedSignals | None,
    ) -> tuple[Firing, ...]:
        """What fired for ``mandate``'s portfolio at this close under ``policy`` (nothing: not
        due); ``view`` its coordinated view at this close."""
        pid = mandate.portfolio_id
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
                    self.universe.asset_classes,
                )
            )
        if policy.on_risk_breach:
            fired.append(_breach(state, pid, market.today.isoformat()))
        baseline = state.rebalancing.signal_baselines.get(pid)
        if policy.signal_change is not None and view is not None and baseline is not None:
            fired.append(
                signal_firing(
                    policy.signal_change,
                    view.score,
                    baseline,
                    self.universe.symbols,
                    mandate.universe,
                )
            )
        for kind, info in state.rebalancing.requests.get(pid, {}).items():
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
