"""The signals stage: overrides past their expiry end (``OverrideExpired``); then every model
source some portfolio uses scores the universe at each of its horizons, and the live external
signals join them.

Keeps no state of its own: the sources are pure functions of the price window; the external
signals and overrides are in the ``EngineState``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import numpy as np

from engine.cycle.context import ENGINE_ACTOR, MarketClose, Universe
from engine.cycle.recorder import Emitter
from engine.model import SignalBatch
from engine.signals.book import ALL_PORTFOLIOS, Override
from engine.signals.sources import SignalSource
from engine.state.engine_state import EngineState


@dataclass(frozen=True, slots=True)
class SignalViews:
    """This close's views: the model sources' alone (whose quality the engine measures as it
    goes), and every view, models then external, that coordination blends. Empty while the
    price window is shorter than the sources need."""

    model: tuple[SignalBatch, ...] = ()
    all: tuple[SignalBatch, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.all)


def end_override(override: Override, reason: str, actor: str, emit: Emitter) -> None:
    """Record the end of an override (``OverrideExpired``), lifted or past its expiry."""
    emit(
        "OverrideExpired",
        {
            "override_id": override.override_id,
            "kind": override.kind,
            "instrument": override.symbol,
            "reason": reason,
        },
        None if override.portfolio_id == ALL_PORTFOLIOS else override.portfolio_id,
        actor=actor,
    )


class SignalsStage:
    def __init__(self, universe: Universe, sources: Mapping[str, SignalSource]) -> None:
        self.universe = universe
        self.sources = dict(sources)
        self.required_days = max(
            (source.required_days for source in self.sources.values()), default=2
        )

    def ready(self, days: int) -> bool:
        """Whether a price window of ``days`` closes is long enough for every source."""
        return days >= self.required_days

    def model_views(self, window: np.ndarray, today: date) -> tuple[SignalBatch, ...]:
        """Every model source's views of ``window`` (days x instruments, today last)."""
        return tuple(
            batch for source in self.sources.values() for batch in source.generate(window, today)
        )

    def run(self, market: MarketClose, state: EngineState, emit: Emitter) -> SignalViews:
        today = market.today
        for override in list(state.overrides.values()):
            if override.expires_on is not None and override.expires_on < today:
                end_override(override, f"expired after {override.expires_on}", ENGINE_ACTOR, emit)
        if not self.ready(len(market.window)):
            return SignalViews()
        model = self.model_views(market.window, today)
        return SignalViews(
            model, model + state.signal_book.batches(self.universe.symbol_index, today)
        )
