"""The interest stage: interest on each portfolio's settled cash since the last market date
(ACT/360, exact Decimal, not rounded). What accrued over a month is credited, to the cent, on the
first cycle of the next (``CashInterestCredited``); the fraction of a cent carries over.

Returns the accrual of this close by portfolio (recorded with ``CycleCompleted``, whose fold
adds it to the running accrual). Keeps no state of its own.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from engine.cycle.context import PortfolioMandate
from engine.cycle.recorder import Emitter
from engine.model import to_cash
from engine.state.engine_state import EngineState


class InterestStage:
    def __init__(self, mandates: tuple[PortfolioMandate, ...]) -> None:
        self.mandates = mandates

    def run(self, today: date, state: EngineState, emit: Emitter) -> dict[str, str]:
        last = state.market_date
        accrued: dict[str, str] = {}
        if last is None or today <= last:
            return accrued
        days = (today - last).days
        ledger = state.ledger
        for mandate in self.mandates:
            pid = mandate.portfolio_id
            if mandate.interest_rate_annual == 0:
                continue
            if today.month != last.month:
                owed = to_cash(state.interest_accrual_usd.get(pid, Decimal(0)))
                if owed and ledger.cash_usd(pid) + owed >= 0:
                    emit(
                        "CashInterestCredited",
                        {
                            "amount_usd": str(owed),
                            "market_date": today.isoformat(),
                            "period": f"{last.year:04d}-{last.month:02d}",
                            "rate_annual": mandate.interest_rate_annual,
                            "day_count": "ACT/360",
                        },
                        pid,
                    )
            settled = ledger.settled_cash_usd(pid)
            rate = Decimal(str(mandate.interest_rate_annual))
            accrued[pid] = str(settled * rate * days / Decimal(360))
        return accrued
