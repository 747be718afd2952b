"""The ledger alone, folded from the events that move it: what the recorder checks the live
ledger against after each cycle (engine/cycle/recorder.py)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from engine.model import Event
from engine.state.engine_state import (
    EngineState,
    credit_interest_in_ledger,
    fill_from_event,
    open_in_ledger,
)
from engine.state.ledger import Ledger


class LedgerFold:
    """The ledger alone, folded from the only events that move it (opening, fills, settlement
    at each cycle's end, interest, a replay restart), through the same code as
    ``EngineState``'s fold.

    The recorder feeds one with committed events, so that comparing it with the live ledger
    proves that nothing moved cash or shares without a stored event. It skips the other
    event types (three in four of a cycle's events: orders created, targets, signals, ...),
    which cannot change cash or shares, at the cost of one dictionary look-up each.
    """

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    @classmethod
    def of(cls, state: EngineState) -> LedgerFold:
        """A fold starting from a copy of ``state``'s ledger."""
        return cls(Ledger.from_dict(state.ledger.to_dict()))

    def apply(self, event: Event) -> None:
        handler = _LEDGER_HANDLERS.get(event.type)
        if handler is not None:
            handler(self, event)

    def _opened(self, event: Event) -> None:
        open_in_ledger(self.ledger, event.payload)

    def _filled(self, event: Event) -> None:
        self.ledger.apply(fill_from_event(event))

    def _cycle_completed(self, event: Event) -> None:
        self.ledger.settle(date.fromisoformat(event.payload["market_date"]))

    def _interest_credited(self, event: Event) -> None:
        credit_interest_in_ledger(self.ledger, event)

    def _cash_flow(self, event: Event) -> None:
        self.ledger.external_flow(event.portfolio_id or "", Decimal(event.payload["amount_usd"]))

    def _replay_restarted(self, event: Event) -> None:
        # As EngineState: a new ledger holding only each portfolio's opening cash.
        self.ledger = Ledger()
        for pid, opening in sorted(event.payload["portfolios"].items()):
            open_in_ledger(self.ledger, {"portfolio_id": pid, **opening})


_LEDGER_HANDLERS = {
    "PortfolioOpened": LedgerFold._opened,
    "OrderFilled": LedgerFold._filled,
    "CycleCompleted": LedgerFold._cycle_completed,
    "CashInterestCredited": LedgerFold._interest_credited,
    "CashFlowRecorded": LedgerFold._cash_flow,
    "ReplayRestarted": LedgerFold._replay_restarted,
}
