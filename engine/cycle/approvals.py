"""The orders stage's side of rebalances that wait for approval (engine/rebalancing/
proposals.py): a proposal with its preview instead of orders, the target of an approved one at
the next close, and the expiry of those left undecided."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import numpy as np

from engine.allocation.impact import AllocationImpact
from engine.cycle.context import MarketClose, PortfolioMandate, Universe
from engine.cycle.recorder import Emitter
from engine.model import Order, Side
from engine.rebalancing.proposals import PENDING, Proposal
from engine.rebalancing.tax import LONG_TERM, SHORT_TERM, year_tax
from engine.state.engine_state import EngineState

# The allocation's assessment of the rebalance that a preview shows.
PREVIEW_FIELDS = (
    "expected_return_annual",
    "current_expected_return_annual",
    "volatility_annual",
    "current_volatility_annual",
    "tracking_error_annual",
    "turnover",
    "estimated_cost_usd",
    "estimated_cost_bps",
)


def propose(
    proposal_id: str,
    mandate: PortfolioMandate,
    expires_days: int,
    universe: Universe,
    target_shares: np.ndarray,
    orders: list[Order],
    state: EngineState,
    market: MarketClose,
    impact: AllocationImpact | None,
    emit: Emitter,
) -> None:
    """Record ``orders`` (made, not sent) toward ``target_shares`` as a proposal with its
    preview (``RebalanceProposed``), to be decided within ``expires_days`` days."""
    pid = mandate.portfolio_id
    gains = {SHORT_TERM: Decimal(0), LONG_TERM: Decimal(0)}
    for order in orders:
        if order.side is Side.SELL:
            for relief in state.ledger.trade_relief(
                pid, order.symbol, -order.quantity_shares, order.decision_price_usd, market.today
            ):
                gains[relief.term] += relief.gain_usd
    tax = year_tax(gains[SHORT_TERM], gains[LONG_TERM], mandate.tax)
    assessed = impact.payload() if impact is not None else {}
    replaced = state.rebalancing.proposals.by_portfolio.get(pid)
    held = np.flatnonzero(target_shares)
    emit(
        "RebalanceProposed",
        {
            "proposal_id": proposal_id,
            "market_date": market.today.isoformat(),
            "expires_after": (market.today + timedelta(days=expires_days)).isoformat(),
            "target_shares": {universe.symbols[i]: int(target_shares[i]) for i in held.tolist()},
            "trades": [
                {
                    "symbol": o.symbol,
                    "side": o.side.value,
                    "quantity_shares": o.quantity_shares,
                    "notional_usd": str(o.decision_price_usd * o.quantity_shares),
                }
                for o in orders
            ],
            "preview": {
                **{key: assessed[key] for key in PREVIEW_FIELDS if key in assessed},
                "realised_short_term_gain_usd": str(gains[SHORT_TERM]),
                "realised_long_term_gain_usd": str(gains[LONG_TERM]),
                "estimated_tax_usd": str(tax.tax_usd),
            },
            **({"replaces": replaced.proposal_id} if replaced is not None else {}),
        },
        pid,
    )


def approved_target(proposal: Proposal, universe: Universe, held_shares: np.ndarray) -> np.ndarray:
    """The shares an approved proposal trades toward: its target, the dropped names left at
    ``held_shares``."""
    target = universe.vector({s: float(n) for s, n in proposal.target_shares.items()})
    for symbol in proposal.dropped:
        i = universe.symbol_index[symbol]
        target[i] = held_shares[i]
    return np.rint(target).astype(np.int64)


def expire(
    mandates: tuple[PortfolioMandate, ...],
    state: EngineState,
    market: MarketClose,
    emit: Emitter,
) -> None:
    """Record the expiry of each pending proposal whose time ran out before this close."""
    for mandate in mandates:
        proposal = state.rebalancing.proposals.by_portfolio.get(mandate.portfolio_id)
        if proposal is None or proposal.status != PENDING:
            continue
        if market.today > proposal.expires_after:
            emit(
                "RebalanceProposalExpired",
                {
                    "proposal_id": proposal.proposal_id,
                    "market_date": market.today.isoformat(),
                    "expired_after": proposal.expires_after.isoformat(),
                },
                mandate.portfolio_id,
            )
