"""The market stage: roll the price and volume windows to the new close and mark every position.

State it keeps: the rolling price window (seeded with the warm-up history) and the traded
volume window (from the first tick on).
"""

from __future__ import annotations

import numpy as np

from engine.cycle.context import MarketClose, Universe
from engine.market.feeds import RollingPrices
from engine.model import MarketTick
from engine.state.ledger import Ledger


class MarketStage:
    def __init__(self, universe: Universe, history_days: int, warmup_prices: np.ndarray) -> None:
        self.universe = universe
        self.prices = RollingPrices(history_days, len(universe))
        self.prices.extend(warmup_prices)
        # Traded volumes (shares) for liquidity estimates: only ticks carry them, so the window
        # starts with the first tick (a resumed engine rolls it through the ticks it skips).
        self.volumes = RollingPrices(history_days, len(universe))

    @property
    def days(self) -> int:
        """Closes in the price window."""
        return len(self.prices)

    def latest_close(self) -> np.ndarray | None:
        """The last close in the window (USD per share), None before any."""
        return self.prices.window()[-1] if len(self.prices) else None

    def run(self, tick: MarketTick, ledger: Ledger) -> MarketClose:
        self.prices.append(tick.close)
        self.volumes.append(tick.volume_shares)
        ledger.mark(self.universe.symbols, tick.close)
        return MarketClose(tick, self.prices.window(), self.volumes.window())
