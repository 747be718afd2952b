"""Tax-loss harvesting: selling the lots whose loss has gone beyond a threshold, to realise it,
and buying a configured substitute with the proceeds (or keeping them in cash).

A long lot is a candidate when its price at the close is at least ``harvest_loss_threshold``
below its cost (``(cost - close) / cost >= threshold``; exactly at the threshold counts). A
name with candidates is harvested whole-lot: its candidate lots' shares are sold. Which lots
the sale relieves is the lot method's choice, so harvesting is meant for ``hifo`` or
``min_tax`` (both relieve the loss lots first; ``fifo`` may relieve an older lot at a gain).
The substitute (``substitutes``, name -> name) is bought with the sale's proceeds at the close,
in whole shares, when it is in the universe and priced; it is not bought when the portfolio's
wash-sale window blocks it.

Harvests are checked at each close of a portfolio that is not rebalancing and has no working
order in the name (a rebalance decides its own trades).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from engine.state.ledger import TaxLot


@dataclass(frozen=True, slots=True)
class HarvestPolicy:
    """``[portfolios.tax] harvest_loss_threshold`` (a fraction of a lot's cost) and
    ``substitutes`` (name -> the name bought in its place)."""

    threshold: float
    substitutes: Mapping[str, str]

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold < 1.0:
            raise ValueError(f"harvest_loss_threshold: {self.threshold} must be in (0, 1)")
        same = sorted(s for s, sub in self.substitutes.items() if s == sub)
        if same:
            raise ValueError(f"substitutes: {', '.join(same)} would replace itself")


@dataclass(frozen=True, slots=True)
class Harvest:
    """One name to harvest: the shares of its lots at a loss beyond the threshold, their
    unrealised loss at the close (USD, negative) and the substitute to buy, if any."""

    symbol: str
    quantity_shares: int
    loss_usd: Decimal
    substitute: str | None


def harvests(
    lots_by_symbol: Mapping[str, Sequence[TaxLot]],
    close_usd: Mapping[str, Decimal],
    threshold: float,
    substitutes: Mapping[str, str],
) -> list[Harvest]:
    """The names to harvest (module docstring), in symbol order. ``close_usd``: the close per
    symbol (a name without one is not harvested)."""
    found = []
    limit = Decimal(str(threshold))
    for symbol in sorted(lots_by_symbol):
        close = close_usd.get(symbol)
        if close is None or close <= 0:
            continue
        losing = [
            lot
            for lot in lots_by_symbol[symbol]
            if not lot.short and (lot.price_usd - close) >= limit * lot.price_usd
        ]
        if not losing:
            continue
        shares = sum(lot.quantity_shares for lot in losing)
        loss = sum(((close - lot.price_usd) * lot.quantity_shares for lot in losing), Decimal(0))
        found.append(Harvest(symbol, shares, loss, substitutes.get(symbol)))
    return found
