"""The coordination stage: each portfolio's sources are blended into one view per instrument by
its policy, with the source weights' quality multipliers, vetoes and manual overrides
(engine/signals/coordination.py); on a rebalance day each sleeve's sources too. Conflicts are
recorded (``SignalConflictsResolved``) on the portfolio's rebalance days, when they decide
something.

Keeps no state of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial

from engine.cycle.context import MarketClose, PortfolioMandate, Universe
from engine.cycle.recorder import Emitter
from engine.cycle.signals import SignalViews
from engine.model import CoordinatedSignals
from engine.signals.book import Override
from engine.signals.coordination import SignalCoordinator


@dataclass(frozen=True, slots=True)
class Coordinated:
    """Each portfolio's blended view; each sleeve's, by portfolio, on its rebalance days."""

    portfolios: Mapping[str, CoordinatedSignals] = field(default_factory=dict)
    sleeves: Mapping[str, Mapping[str, CoordinatedSignals]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.portfolios)


class CoordinationStage:
    def __init__(self, universe: Universe, mandates: tuple[PortfolioMandate, ...]) -> None:
        self.universe = universe
        self.mandates = mandates

    def run(
        self,
        market: MarketClose,
        views: SignalViews,
        multipliers: Mapping[str, float],
        overrides: tuple[Override, ...],
        due: Mapping[str, object],
        emit: Emitter,
    ) -> Coordinated:
        """Every portfolio's view; the sleeves' and the conflicts of the portfolios ``due``."""
        if not views:
            return Coordinated()
        portfolios: dict[str, CoordinatedSignals] = {}
        sleeves: dict[str, dict[str, CoordinatedSignals]] = {}
        for mandate in self.mandates:
            coordinate = partial(
                SignalCoordinator.coordinate,
                batches=views.all,
                symbols=self.universe.symbols,
                timestamp=market.today,
                universe=mandate.universe,
                multipliers=multipliers,
                overrides=overrides,
            )
            coordinated = portfolios[mandate.portfolio_id] = coordinate(mandate.coordinator)
            rebalancing = mandate.portfolio_id in due
            if mandate.sleeves and rebalancing:
                # Each sleeve reads its own sources; the portfolio's view above is what the
                # Signals page and the impact assessment show.
                sleeves[mandate.portfolio_id] = {
                    sleeve.sleeve_id: coordinate(sleeve.coordinator) for sleeve in mandate.sleeves
                }
            if rebalancing and coordinated.conflicts_total:
                _emit_conflicts(mandate.portfolio_id, market, coordinated, emit)
        return Coordinated(portfolios, sleeves)


def _emit_conflicts(
    portfolio_id: str, market: MarketClose, coordinated: CoordinatedSignals, emit: Emitter
) -> None:
    emit(
        "SignalConflictsResolved",
        {
            "market_date": market.today.isoformat(),
            "policy": coordinated.policy,
            "conflicts_total": coordinated.conflicts_total,
            "conflicts": [
                {
                    "instrument": c.symbol,
                    "sources": {
                        v.source: {
                            "score": v.score,
                            "confidence": v.confidence,
                            "weight": v.weight,
                            "priority": v.priority,
                        }
                        for v in c.views
                    },
                    "score": c.score,
                    "confidence": c.confidence,
                    "resolution": c.resolution,
                }
                for c in coordinated.conflicts
            ],
        },
        portfolio_id,
    )
