"""The allocation stage's side of the cost-aware no-trade region (engine/rebalancing/no_trade.py):
the target moved to the band edges before whole-share rounding (``to_band_edge``), and the
trades worth less than their cost and tax held back after it, recorded as
``NoTradeRegionApplied`` with each held-back trade's benefit, cost and tax in USD."""

from __future__ import annotations

from decimal import Decimal

import numpy as np

from engine.allocation.rounding import ShareLimits, hold_back
from engine.cycle.context import MarketClose, PortfolioMandate, Universe
from engine.cycle.recorder import Emitter
from engine.model import CoordinatedSignals, to_price
from engine.rebalancing.no_trade import band_edge_weights, held_back_order
from engine.rebalancing.tax import LONG_TERM, SHORT_TERM
from engine.rebalancing.triggers import RebalancePolicy, name_bands
from engine.state.engine_state import EngineState
from engine.trading.costs import CostModel


def trade_cost_bps(cost_model: CostModel, market: MarketClose, shares: np.ndarray) -> np.ndarray:
    """Each name's estimated cost (bps of notional) of trading ``shares`` at this close; a name
    of unknown liquidity at the spread and commission only (the venue will not trade it)."""
    stats = market.stats
    cost_bps = cost_model.estimate_bps(
        np.rint(shares), market.close, stats.daily_volatility, stats.adv_shares
    )
    floor_bps = float((cost_model.half_spread + cost_model.commission_rate) * 10_000)
    return np.where(np.isfinite(cost_bps), cost_bps, floor_bps)


def to_band_edges(policy: RebalancePolicy, target: np.ndarray, current: np.ndarray) -> np.ndarray:
    """``target`` as a trade to the band edges aims at it (the policy's ``to_band_edge``)."""
    if not policy.to_band_edge:
        return target
    return band_edge_weights(target, current, name_bands(policy, target))


class NoTradeRegion:
    def __init__(self, universe: Universe, cost_model: CostModel) -> None:
        self.universe = universe
        self.cost_model = cost_model

    def hold_back(
        self,
        mandate: PortfolioMandate,
        policy: RebalancePolicy,
        market: MarketClose,
        state: EngineState,
        signals: CoordinatedSignals,
        nav: float,
        shares: np.ndarray,
        held: np.ndarray,
        eligible: np.ndarray,
        limits: ShareLimits,
        emit: Emitter,
    ) -> np.ndarray:
        """``shares`` (the whole-share target) with the trades below their cost held back;
        ``held`` the shares the portfolio holds."""
        pid, close = mandate.portfolio_id, market.close
        traded = np.flatnonzero(shares != held)
        if not len(traded):
            return shares
        unit = np.where(market.tradable, close, 0.0) / nav
        current, target = held * unit, shares * unit
        benefit_usd = (
            mandate.allocator.trade_benefits(signals, target, current, eligible, market.window)
            * policy.horizon_days
            * nav
        )
        trade = (shares - held).astype(float)
        cost_usd = (
            np.abs(trade)
            * np.nan_to_num(close)
            * trade_cost_bps(self.cost_model, market, np.abs(trade))
            * 1e-4
        )
        tax_usd = np.zeros(len(shares))
        for i in traded.tolist():
            tax_usd[i] = self._tax(mandate, state, market, i, int(shares[i] - held[i]))
        kept, held_back = hold_back(
            shares, held, unit, limits, held_back_order(benefit_usd, cost_usd + tax_usd)
        )
        if held_back:
            symbols = self.universe.symbols
            emit(
                "NoTradeRegionApplied",
                {
                    "market_date": market.today.isoformat(),
                    "horizon_days": policy.horizon_days,
                    "trades": len(traded),
                    "held_back": [
                        {
                            "symbol": symbols[i],
                            "side": "BUY" if shares[i] > held[i] else "SELL",
                            "quantity_shares": abs(int(shares[i] - held[i])),
                            "benefit_usd": round(float(benefit_usd[i]), 2),
                            "cost_usd": round(float(cost_usd[i]), 2),
                            "tax_usd": round(float(tax_usd[i]), 2),
                        }
                        for i in held_back
                    ],
                },
                pid,
            )
        return kept

    def _tax(
        self,
        mandate: PortfolioMandate,
        state: EngineState,
        market: MarketClose,
        i: int,
        signed_shares: int,
    ) -> float:
        """The tax (negative: a saving) on the gains of the lots the trade would close."""
        price = to_price(float(market.close[i]))
        reliefs = state.ledger.trade_relief(
            mandate.portfolio_id, self.universe.symbols[i], signed_shares, price, market.today
        )
        rules = mandate.tax
        rate = {SHORT_TERM: rules.short_term_rate, LONG_TERM: rules.long_term_rate}
        return float(sum((r.gain_usd * Decimal(str(rate[r.term])) for r in reliefs), Decimal(0)))
