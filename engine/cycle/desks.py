"""A person's commands on a portfolio, each owned by the service it concerns:

- ``WeightDesk``: ``SetWeightOverride`` / ``LiftWeightOverride`` (what the allocation pins or
  leaves out);
- ``RebalanceDesk``: ``RequestRebalance`` (the manual rebalance trigger), ``RecordCashFlow`` (a
  deposit or withdrawal, which triggers one), ``ApproveRebalance`` / ``RejectRebalance`` (a
  proposal waiting for approval);
- ``TradingDesk``: ``CancelOrder`` / ``SetTradingState`` (working orders and trading states);
- ``RiskDesk``: ``SetRiskLimit`` / ``AcknowledgeAlert`` (limits, re-checking the working orders
  under a changed limit, and alerts).

Each validates first and names the field and the reason in a ValueError, then records events;
nothing is recorded for a refused command.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import numpy as np

from engine.commands import (
    AcknowledgeAlert,
    ApproveRebalance,
    CancelOrder,
    LiftWeightOverride,
    RecordCashFlow,
    RejectRebalance,
    RequestRebalance,
    SetRebalancePolicy,
    SetRiskLimit,
    SetTradingState,
    SetWeightOverride,
)
from engine.cycle.context import PortfolioMandate, Universe, mandate_of
from engine.cycle.controls import cancel_order, change_trading_state, remaining_shares
from engine.cycle.gate import GateStage
from engine.cycle.recorder import Emitter, record_all
from engine.cycle.risk import RiskStage
from engine.rebalancing.proposals import PENDING, Proposal
from engine.state.engine_state import EngineState


class WeightDesk:
    def __init__(
        self,
        universe: Universe,
        mandates: tuple[PortfolioMandate, ...],
        state: EngineState,
        emit: Emitter,
    ) -> None:
        self.universe = universe
        self.mandates = mandates
        self.state = state
        self.emit = emit

    def set_override(self, command: SetWeightOverride) -> dict[str, object]:
        """Pin an instrument's target weight or exclude it, within the mandate's limits."""
        mandate = mandate_of(self.mandates, command.portfolio_id)
        allocator = mandate.allocator
        if command.symbol not in self.universe.symbol_index:
            raise ValueError(f"instrument: {command.symbol!r} is not in the market data")
        weight = command.weight
        if weight is not None:
            low = -allocator.max_short_weight
            if not low <= weight <= allocator.max_weight:
                kind = "long/short" if mandate.long_short else "long-only"
                raise ValueError(
                    f"weight: {weight:.4%} is outside this {kind} mandate's bounds "
                    f"[{low:.2%}, {allocator.max_weight:.2%}] of NAV"
                )
            others = self.state.weight_overrides.get(command.portfolio_id, {})
            pinned = weight + sum(
                float(o["weight"])
                for symbol, o in others.items()
                if symbol != command.symbol and o["weight"] is not None
            )
            ceiling = allocator.net_range[1] if mandate.long_short else allocator.invested
            if pinned > ceiling + 1e-12:
                raise ValueError(
                    f"weight: pins would total {pinned:.2%} of NAV, above the {ceiling:.2%} "
                    "the mandate may invest"
                )
        market_date = self.state.market_date
        payload: dict[str, object] = {
            "instrument": command.symbol,
            "weight": weight,
            "action": "exclude" if weight is None else "pin",
            "reason": command.reason,
            "market_date": market_date.isoformat() if market_date else None,
        }
        self.emit("WeightOverrideSet", payload, command.portfolio_id, actor=command.actor)
        return payload

    def lift_override(self, command: LiftWeightOverride) -> dict[str, object]:
        mandate_of(self.mandates, command.portfolio_id)
        active = self.state.weight_overrides.get(command.portfolio_id, {})
        if command.symbol not in active:
            raise ValueError(
                f"instrument: {command.symbol!r} has no weight override in "
                f"{command.portfolio_id} (overridden: {', '.join(sorted(active)) or 'none'})"
            )
        payload: dict[str, object] = {"instrument": command.symbol, "reason": command.reason}
        self.emit("WeightOverrideLifted", payload, command.portfolio_id, actor=command.actor)
        return payload


class _PortfolioDesk:
    def __init__(
        self, mandates: tuple[PortfolioMandate, ...], state: EngineState, emit: Emitter
    ) -> None:
        self.mandates = mandates
        self.state = state
        self.emit = emit


class RebalanceDesk(_PortfolioDesk):
    """``RequestRebalance``: the manual trigger, fired at the next close (``RebalanceRequested``;
    the triggers stage's ``RebalanceTriggered`` answers it). ``ApproveRebalance`` and
    ``RejectRebalance``: a manager's decision on the proposal waiting for one
    (engine/rebalancing/proposals.py). ``SetRebalancePolicy``: the portfolio's triggers and
    approval from the next close on (``RebalancePolicySet``)."""

    def request(self, command: RequestRebalance) -> dict[str, object]:
        mandate_of(self.mandates, command.portfolio_id)
        market_date = self.state.market_date
        payload: dict[str, object] = {
            "reason": command.reason,
            "market_date": market_date.isoformat() if market_date else None,
            **({"preview": True} if command.preview else {}),
        }
        self.emit("RebalanceRequested", payload, command.portfolio_id, actor=command.actor)
        return payload

    def set_policy(self, command: SetRebalancePolicy) -> dict[str, object]:
        mandate = mandate_of(self.mandates, command.portfolio_id)
        previous = self.state.rebalancing.policy(command.portfolio_id, mandate.rebalancing)
        if command.policy == previous:
            raise ValueError(
                f"policy: {command.portfolio_id}'s rebalance policy is already that; "
                "change a setting first"
            )
        market_date = self.state.market_date
        payload: dict[str, object] = {
            "policy": command.policy.to_dict(),
            "previous": previous.to_dict(),
            "reason": command.reason,
            "market_date": market_date.isoformat() if market_date else None,
        }
        self.emit("RebalancePolicySet", payload, command.portfolio_id, actor=command.actor)
        return payload

    def record_cash_flow(self, command: RecordCashFlow) -> dict[str, object]:
        mandate_of(self.mandates, command.portfolio_id)
        amount = Decimal(command.amount_usd).quantize(Decimal("0.01"))
        cash = self.state.ledger.cash_usd(command.portfolio_id)
        if cash + amount < 0:
            raise ValueError(
                f"amount_usd: a withdrawal of {-amount:,.2f} USD is more than the "
                f"{cash:,.2f} USD of cash in {command.portfolio_id}"
            )
        market_date = self.state.market_date
        payload: dict[str, object] = {
            "amount_usd": str(amount),
            "reason": command.reason,
            "market_date": market_date.isoformat() if market_date else None,
        }
        self.emit("CashFlowRecorded", payload, command.portfolio_id, actor=command.actor)
        return payload

    def approve(self, command: ApproveRebalance) -> dict[str, object]:
        proposal = self._pending(command.portfolio_id)
        unknown = sorted(set(command.drop) - set(proposal.trades))
        if unknown:
            raise ValueError(
                f"drop: {', '.join(unknown)} not traded by proposal {proposal.proposal_id} "
                f"(it trades {', '.join(sorted(proposal.trades)) or 'nothing'})"
            )
        payload: dict[str, object] = {
            "proposal_id": proposal.proposal_id,
            "dropped": sorted(set(command.drop)),
            "reason": command.reason,
        }
        self.emit("RebalanceApproved", payload, command.portfolio_id, actor=command.actor)
        return payload

    def reject(self, command: RejectRebalance) -> dict[str, object]:
        proposal = self._pending(command.portfolio_id)
        payload: dict[str, object] = {
            "proposal_id": proposal.proposal_id,
            "reason": command.reason,
        }
        self.emit("RebalanceRejected", payload, command.portfolio_id, actor=command.actor)
        return payload

    def _pending(self, portfolio_id: str) -> Proposal:
        mandate_of(self.mandates, portfolio_id)
        proposal = self.state.rebalancing.proposals.by_portfolio.get(portfolio_id)
        if proposal is None or proposal.status != PENDING:
            raise ValueError(f"portfolio: {portfolio_id} has no rebalance proposal waiting")
        return proposal


class TradingDesk(_PortfolioDesk):
    def cancel(self, command: CancelOrder) -> dict[str, object]:
        """Cancels an order not yet filled: it never reaches the venue."""
        order = self.state.pending_orders.get(command.order_id)
        if order is None:
            # Usually a page that showed the order before it filled, expired or was cancelled.
            raise ValueError(
                f"order: {command.order_id} is no longer working (it filled, expired or was "
                f"cancelled); {len(self.state.pending_orders):,} orders are working now"
            )
        reason = f"cancelled by {command.actor}: {command.reason}"
        return cancel_order(self.state, order, reason, self.emit)

    def set_state(self, command: SetTradingState) -> dict[str, object]:
        """A person sets a portfolio's trading state. HALTED cancels its working orders;
        REDUCING those that would not reduce a position."""
        pid = mandate_of(self.mandates, command.portfolio_id).portfolio_id
        now = self.state.trading_state(pid)
        if command.state == now:
            raise ValueError(f"state: {pid} is already {now}")
        reason = f"set by {command.actor}: {command.reason}"
        return change_trading_state(
            self.state, pid, command.state, reason, command.actor, self.emit
        )


class RiskDesk:
    def __init__(
        self,
        mandates: tuple[PortfolioMandate, ...],
        state: EngineState,
        emit: Emitter,
        risk: RiskStage,
        gate: GateStage,
        latest_close: Callable[[], np.ndarray | None],
    ) -> None:
        self.mandates = mandates
        self.state = state
        self.emit = emit
        self.risk = risk
        self.gate = gate
        self.latest_close = latest_close

    def set_limit(self, command: SetRiskLimit) -> dict[str, object]:
        """Sets or removes a risk limit of one portfolio or of every portfolio of a tenant."""
        manager = self.risk.risk_manager
        if command.portfolio_id:
            mandate_of(self.mandates, command.portfolio_id)
            portfolio_ids, scope = [command.portfolio_id], "portfolio"
        else:
            tenants = manager.tenants
            portfolio_ids = [p for p, t in tenants.items() if t == command.tenant]
            if not portfolio_ids:
                raise ValueError(
                    f"tenant: {command.tenant!r} has no portfolio "
                    f"(tenants: {', '.join(sorted(set(tenants.values())))})"
                )
            scope = f"tenant {command.tenant}"
        changes = manager.command_changes(
            self.state,
            portfolio_ids,
            command.limit,
            command.value,
            command.mode,
            command.warn_at,
            command.on_breach,
            command.symbols,
            command.remove,
            command.actor,
            command.reason,
            scope,
        )
        record_all(self.emit, changes)
        cancelled = {pid: self._recheck_working_orders(pid, command.limit) for pid in portfolio_ids}
        for pid in portfolio_ids:
            self.risk.refresh_limits(self.state, pid)
        return {
            "limit": command.limit,
            "versions": {c.portfolio_id: c.payload["version"] for c in changes},
            "cancelled_orders": {pid: ids for pid, ids in cancelled.items() if ids},
        }

    def _recheck_working_orders(self, portfolio_id: str, limit: str) -> list[str]:
        """What is left of the portfolio's working orders goes through the gate again under the
        changed limits, at the latest close; an order that would no longer pass whole is
        cancelled (the next rebalance makes what fits). Returns the cancelled order ids."""
        state = self.state
        working = [o for o in state.pending_orders.values() if o.portfolio_id == portfolio_id]
        close = self.latest_close()
        if not working or close is None:
            return []
        left = [
            order._replace(quantity_shares=remaining)
            for order in working
            if (remaining := remaining_shares(state, order)) > 0
        ]
        # Measured with the risk model of the last close, without a tracking-error benchmark,
        # as when the limit was first set.
        decisions = self.gate.gate.check(
            left,
            self.gate.book(state, portfolio_id, close),
            self.risk.risk_manager.limits(state, portfolio_id),
            state.trading_state(portfolio_id),
            self.risk.model,
        )
        cancelled = []
        for decision in decisions:
            if decision.action != "passed":
                order = state.pending_orders[decision.order.order_id]
                cancel_order(state, order, f"{limit} changed: {decision.reason}", self.emit)
                cancelled.append(order.order_id)
        return cancelled

    def acknowledge(self, command: AcknowledgeAlert) -> dict[str, object]:
        alert = self.state.risk_alerts.get(command.alert_id)
        if alert is None:
            open_ids = ", ".join(sorted(self.state.risk_alerts)[:10]) or "none"
            raise ValueError(f"alert_id: {command.alert_id!r} is not open (open: {open_ids})")
        payload: dict[str, object] = {"alert_id": command.alert_id, "note": command.reason}
        self.emit("RiskAlertAcknowledged", payload, alert["portfolio_id"], actor=command.actor)
        return payload
