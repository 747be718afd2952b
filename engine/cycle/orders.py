"""The orders stage: each rebalancing portfolio's orders, whole-share targets minus holdings,
sells first and cash-feasible (engine/trading/orders.py). A rebalance replaces what the last one
left working (``OrderCancelled``); a HALTED portfolio makes none. A buy of a name sold at a loss
inside the portfolio's wash-sale window is dropped (``WashSaleBlocked``). A portfolio not
rebalancing harvests its tax losses beyond its threshold (``TaxLossHarvested``). A portfolio
whose rebalances wait for approval records a proposal instead of sending orders, and trades an
approved one at the next close (engine/cycle/approvals.py).

Keeps no state of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

import numpy as np

from engine.allocation.impact import AllocationImpact
from engine.cycle.allocation import Target
from engine.cycle.approvals import approved_target, expire, propose
from engine.cycle.context import MarketClose, PortfolioMandate, Universe, current_weights
from engine.cycle.controls import cancel_order, working_orders
from engine.cycle.recorder import Emitter
from engine.cycle.triggers import Due
from engine.model import Order, Side, to_price
from engine.rebalancing.harvest import harvests
from engine.rebalancing.proposals import APPROVED
from engine.state.engine_state import EngineState
from engine.state.ledger import Ledger


class OrdersStage:
    def __init__(self, universe: Universe, mandates: tuple[PortfolioMandate, ...]) -> None:
        self.universe = universe
        self.mandates = mandates

    def run(
        self,
        cycle: int,
        market: MarketClose,
        state: EngineState,
        targets: Mapping[str, Target],
        emit: Emitter,
        impacts: Mapping[str, AllocationImpact] | None = None,
        due: Due | None = None,
    ) -> dict[str, list[Order]]:
        """The orders made, by portfolio (not yet checked by the risk gate). ``impacts``: the
        allocation's assessment of each target, for the preview of a proposal; ``due``: the
        triggers that fired (a manual request for a preview makes a proposal too)."""
        made: dict[str, list[Order]] = {}
        ledger, symbols = state.ledger, self.universe.symbols
        expire(self.mandates, state, market, emit)
        for mandate in self.mandates:
            pid = mandate.portfolio_id
            if state.trading_state(pid) == "HALTED":
                continue
            target = targets.get(pid)
            proposal = (
                None if target is not None else state.rebalancing.proposals.by_portfolio.get(pid)
            )
            if target is None and (proposal is None or proposal.status != APPROVED):
                continue  # not due, or nothing to trade
            held = ledger.shares_vector(pid, symbols)
            if target is not None:
                shares = target.shares
            else:
                assert proposal is not None
                shares = approved_target(proposal, self.universe, held)
            orders = mandate.order_generator.generate(
                pid,
                shares,
                symbols,
                held,
                ledger.cash_usd(pid),
                market.close,
                market.today,
                f"{pid}-{cycle:08d}",
            )
            policy = state.rebalancing.policy(pid, mandate.rebalancing)
            previewed = any(firing.preview for firing in (due or {}).get(pid, ()))
            if target is not None and (policy.approval or previewed):
                if not orders:
                    continue  # nothing to trade: nothing to approve
                propose(
                    f"{pid}-{cycle:08d}-P",
                    mandate,
                    policy.proposal_expires_days,
                    self.universe,
                    shares,
                    orders,
                    state,
                    market,
                    (impacts or {}).get(pid),
                    emit,
                )
                continue  # nothing is sent before a manager approves it
            if proposal is not None:
                emit(
                    "RebalanceReleased",
                    {
                        "proposal_id": proposal.proposal_id,
                        "market_date": market.today.isoformat(),
                        "orders": len(orders),
                        "dropped": list(proposal.dropped),
                        **_kept_weights(proposal.dropped, self.universe, market, ledger, pid),
                    },
                    pid,
                )
            for order in working_orders(state, pid):
                cancel_order(state, order, "replaced by the rebalance", emit)
            made[pid] = self._wash_sales_out(mandate, orders, state, market, emit)
        for mandate in self.mandates:
            pid = mandate.portfolio_id
            if mandate.harvest is None or pid in made or state.trading_state(pid) == "HALTED":
                continue
            harvested = self._harvest(cycle, mandate, state, market, emit)
            if harvested:
                made[pid] = harvested
        return made

    def _harvest(
        self,
        cycle: int,
        mandate: PortfolioMandate,
        state: EngineState,
        market: MarketClose,
        emit: Emitter,
    ) -> list[Order]:
        """A portfolio's tax-loss harvest at this close (engine/rebalancing/harvest.py): the
        sales, each with its substitute's purchase, each recorded as ``TaxLossHarvested``."""
        assert mandate.harvest is not None
        pid, ledger, index = mandate.portfolio_id, state.ledger, self.universe.symbol_index
        working = {o.symbol for o in working_orders(state, pid)}
        close = {
            s: to_price(float(market.close[i]))
            for s, i in index.items()
            if np.isfinite(market.close[i]) and market.close[i] > 0
        }
        lots = {s: ledger.lots(pid, s) for s in ledger.holdings_of(pid) if s not in working}
        orders: list[Order] = []
        for found in harvests(lots, close, mandate.harvest.threshold, mandate.harvest.substitutes):
            price = close[found.symbol]
            orders.append(
                Order(
                    f"{pid}-{cycle:08d}-H{len(orders):03d}",
                    pid,
                    found.symbol,
                    Side.SELL,
                    found.quantity_shares,
                    price,
                    market.today,
                )
            )
            bought = self._substitute(
                mandate, found.substitute, found.quantity_shares * price, close, state, market
            )
            if bought:
                orders.append(
                    Order(
                        f"{pid}-{cycle:08d}-H{len(orders):03d}",
                        pid,
                        str(found.substitute),
                        Side.BUY,
                        bought,
                        close[str(found.substitute)],
                        market.today,
                    )
                )
            emit(
                "TaxLossHarvested",
                {
                    "market_date": market.today.isoformat(),
                    "symbol": found.symbol,
                    "quantity_shares": found.quantity_shares,
                    "unrealised_loss_usd": str(found.loss_usd),
                    "substitute": found.substitute if bought else None,
                    "substitute_shares": bought,
                },
                pid,
            )
        return orders

    def _substitute(
        self,
        mandate: PortfolioMandate,
        substitute: str | None,
        proceeds_usd: Decimal,
        close: dict[str, Decimal],
        state: EngineState,
        market: MarketClose,
    ) -> int:
        """Whole shares of ``substitute`` the sale's proceeds buy at the close: none without a
        substitute in the mandate's universe and priced, or inside its wash-sale window."""
        if substitute is None or substitute not in close:
            return 0
        if not mandate.universe[self.universe.symbol_index[substitute]]:
            return 0
        sold = state.ledger.last_loss_sale(mandate.portfolio_id, substitute)
        if mandate.tax.wash_sale_until(sold, market.today) is not None:
            return 0
        return int(proceeds_usd // close[substitute])

    @staticmethod
    def _wash_sales_out(
        mandate: PortfolioMandate,
        orders: list[Order],
        state: EngineState,
        market: MarketClose,
        emit: Emitter,
    ) -> list[Order]:
        """``orders`` less the buys of names sold at a loss inside the wash-sale window
        (engine/rebalancing/tax.py), each recorded as ``WashSaleBlocked``."""
        rules, pid = mandate.tax, mandate.portfolio_id
        if not rules.wash_sale_days:
            return orders
        kept = []
        for order in orders:
            sold = state.ledger.last_loss_sale(pid, order.symbol)
            until = rules.wash_sale_until(sold, market.today) if order.side is Side.BUY else None
            if until is None:
                kept.append(order)
                continue
            emit(
                "WashSaleBlocked",
                {
                    "market_date": market.today.isoformat(),
                    "symbol": order.symbol,
                    "quantity_shares": order.quantity_shares,
                    "sold_at_a_loss_on": sold.isoformat() if sold else None,
                    "blocked_until": until.isoformat(),
                },
                pid,
            )
        return kept


def _kept_weights(
    dropped: tuple[str, ...], universe: Universe, market: MarketClose, ledger: Ledger, pid: str
) -> dict[str, dict[str, float]]:
    """The dropped names' weights of NAV at this close, their target from now on (the drift
    bands then measure them from where the manager chose to keep them)."""
    if not dropped:
        return {}
    weights = current_weights(ledger, pid, universe, market.close, float(ledger.nav_usd(pid)))
    index = universe.symbol_index
    return {"kept_weights": {s: round(float(weights[index[s]]), 6) for s in dropped}}
