"""Signal commands: external signals submitted through the API or ``pcoord signals import``,
and a person's overrides of the coordinated views.

``SignalDesk`` owns the commands ``SubmitSignals``, ``SetOverride`` and ``LiftOverride``. An
accepted signal is recorded as ``SignalReceived`` (and joins the quality measurement of its
source), a rejected one as ``SignalRejected`` naming the field and the reason.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

import numpy as np

from engine.commands import LiftOverride, SetOverride, SubmitSignals
from engine.cycle.context import PortfolioMandate, Universe
from engine.cycle.quality import QualityStage
from engine.cycle.recorder import Emitter
from engine.cycle.signals import end_override
from engine.signals.book import ALL_PORTFOLIOS, Override, signal_payload
from engine.signals.intake import SignalIntake, SignalOutcome
from engine.state.engine_state import EngineState


class SignalDesk:
    def __init__(
        self,
        universe: Universe,
        mandates: tuple[PortfolioMandate, ...],
        intake: SignalIntake,
        quality: QualityStage,
        state: EngineState,
        emit: Emitter,
        latest_close: Callable[[], np.ndarray | None],
    ) -> None:
        self.universe = universe
        self.portfolio_ids = frozenset(m.portfolio_id for m in mandates)
        self.intake = intake
        self.quality = quality
        self.state = state
        self.emit = emit
        self.latest_close = latest_close

    def _market_date_text(self) -> str | None:
        return self.state.market_date.isoformat() if self.state.market_date else None

    def submit(self, command: SubmitSignals) -> list[SignalOutcome]:
        """Validate external signals; record each as ``SignalReceived`` or ``SignalRejected``."""
        state = self.state
        outcomes = self.intake.review(command.signals, state.market_date, state.signal_book.seen)
        cycle = state.cycles_completed
        views: dict[tuple[str, str], tuple[list[int], list[float]]] = {}
        for outcome in outcomes:
            if outcome.status == "accepted" and outcome.signal is not None:
                signal = outcome.signal
                self.emit(
                    "SignalReceived",
                    {
                        **signal_payload(signal),
                        "cycle": cycle,
                        "market_date": self._market_date_text(),
                        "channel": command.channel,
                    },
                    actor=command.actor,
                )
                index, scores = views.setdefault((signal.source, signal.horizon), ([], []))
                index.append(self.universe.symbol_index[signal.symbol])
                scores.append(signal.score)
            elif outcome.status == "rejected":
                self.emit(
                    "SignalRejected",
                    {
                        "index": outcome.index,
                        "signal_id": outcome.signal_id,
                        "source": outcome.source,
                        "instrument": outcome.instrument,
                        "field": outcome.field,
                        "reason": outcome.reason,
                        "value": outcome.value,
                        "channel": command.channel,
                        "market_date": self._market_date_text(),
                    },
                    actor=command.actor,
                )
        close = self.latest_close()
        if close is not None:
            for (source, horizon), (index, scores) in views.items():
                self.quality.record_external(cycle, source, horizon, index, scores, close)
        return outcomes

    def set_override(self, command: SetOverride) -> Override:
        if (
            command.portfolio_id != ALL_PORTFOLIOS
            and command.portfolio_id not in self.portfolio_ids
        ):
            raise ValueError(
                f"portfolio_id: {command.portfolio_id!r} is not a portfolio "
                f"({', '.join(sorted(self.portfolio_ids))}, or * for all)"
            )
        if command.symbol not in self.universe.symbol_index:
            raise ValueError(f"instrument: {command.symbol!r} is not in the market data")
        market_date = self.state.market_date
        if command.expires_on is not None and market_date and command.expires_on < market_date:
            raise ValueError(
                f"expires_on: {command.expires_on} is before the market date {market_date}"
            )
        override = Override(
            f"ovr-{uuid.uuid4().hex[:10]}",
            command.kind,
            command.portfolio_id,
            command.symbol,
            command.score if command.kind == "pin" else 0.0,
            command.confidence if command.kind == "pin" else 0.0,
            command.expires_on,
            command.actor,
            command.reason,
            market_date,
        )
        self.emit(
            "OverrideSet",
            override.payload(),
            None if override.portfolio_id == ALL_PORTFOLIOS else override.portfolio_id,
            actor=command.actor,
        )
        return override

    def lift_override(self, command: LiftOverride) -> Override:
        override = self.state.overrides.get(command.override_id)
        if override is None:
            active = ", ".join(sorted(self.state.overrides)) or "none"
            raise ValueError(
                f"override_id: {command.override_id!r} is not active (active: {active})"
            )
        end_override(override, f"lifted: {command.reason}", command.actor, self.emit)
        return override
