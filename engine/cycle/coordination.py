"""The coordination stage: each portfolio's sources are blended into one view per instrument by
its policy, with the source weights' quality multipliers, vetoes and manual overrides
(engine/signals/coordination.py), before the triggers (which may watch the views); then, for
the portfolios due, each sleeve's sources too, and the conflicts recorded
(``SignalConflictsResolved``) when they decide something.

Keeps no state of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

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
    ) -> Coordinated:
        """Every portfolio's view (before the triggers, which may watch it)."""
        if not views:
            return Coordinated()
        return Coordinated(
            {
                mandate.portfolio_id: self._coordinate(
                    mandate.coordinator, mandate, market, views, multipliers, overrides
                )
                for mandate in self.mandates
            }
        )

    def rebalancing(
        self,
        coordinated: Coordinated,
        market: MarketClose,
        views: SignalViews,
        multipliers: Mapping[str, float],
        overrides: tuple[Override, ...],
        due: Mapping[str, object],
        emit: Emitter,
    ) -> Coordinated:
        """``coordinated`` with the sleeves' views of the portfolios ``due``; their conflicts
        recorded."""
        if not coordinated:
            return coordinated
        sleeves: dict[str, dict[str, CoordinatedSignals]] = {}
        for mandate in self.mandates:
            pid = mandate.portfolio_id
            if pid not in due:
                continue
            if mandate.sleeves:
                # Each sleeve reads its own sources; the portfolio's view is what the Signals
                # page and the impact assessment show.
                sleeves[pid] = {
                    sleeve.sleeve_id: self._coordinate(
                        sleeve.coordinator, mandate, market, views, multipliers, overrides
                    )
                    for sleeve in mandate.sleeves
                }
            if coordinated.portfolios[pid].conflicts_total:
                _emit_conflicts(pid, market, coordinated.portfolios[pid], emit)
        return Coordinated(coordinated.portfolios, sleeves)

    def _coordinate(
        self,
        coordinator: SignalCoordinator,
        mandate: PortfolioMandate,
        market: MarketClose,
        views: SignalViews,
        multipliers: Mapping[str, float],
        overrides: tuple[Override, ...],
    ) -> CoordinatedSignals:
        return coordinator.coordinate(
            batches=views.all,
            symbols=self.universe.symbols,
            timestamp=market.today,
            universe=mandate.universe,
            multipliers=multipliers,
            overrides=overrides,
        )


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
