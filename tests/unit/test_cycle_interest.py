"""The interest stage, built with plain data and called directly: ACT/360 on settled cash,
exact Decimal, credited to the cent on the first cycle of a new month."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from engine.cycle.context import PortfolioMandate
from engine.cycle.interest import InterestStage
from tests.unit.cycle_support import cycle_completed, holding, mandates, opened_state

FRIDAY, MONDAY = date(2024, 3, 1), date(2024, 3, 4)
RATE = Decimal("0.05")


def _mandates() -> tuple[PortfolioMandate, ...]:
    """alpha earns 5% a year on its cash; beta nothing."""
    return mandates(alpha_extra="[portfolios.cash]\ninterest_rate_annual = 0.05")


def test_nothing_accrues_before_the_first_market_date() -> None:
    state, emit = opened_state()
    assert InterestStage(_mandates()).run(FRIDAY, state, emit) == {}
    assert emit.events == []


def test_settled_cash_accrues_act_360_over_the_calendar_days_since_the_last_close() -> None:
    state, emit = opened_state()
    cycle_completed(emit, 1, FRIDAY)
    emit.clear()

    accrued = InterestStage(_mandates()).run(MONDAY, state, emit)

    # 100,000 USD at 5% for 3 calendar days (Friday to Monday) over a 360-day year.
    assert Decimal(accrued["alpha"]) == Decimal("100000.00") * RATE * 3 / Decimal(360)
    assert Decimal(accrued["alpha"]) == Decimal("41.66666666666666666666666667")
    assert "beta" not in accrued  # no rate, no accrual
    assert emit.events == []  # accrual goes into CycleCompleted, not its own event


def test_cash_pending_settlement_earns_nothing_yet() -> None:
    state, emit = opened_state()
    holding(emit, "alpha", "AAA", 200, "50")  # 10,000 USD paid at once
    emit(
        "OrderFilled",
        {
            "order_id": "alpha-x",
            "fill_id": "alpha-x-F00",
            "symbol": "AAA",
            "side": "SELL",
            "quantity_shares": 100,
            "price_usd": "50",
            "commission_usd": "0.00",
            "market_date": FRIDAY.isoformat(),
            "settlement_date": MONDAY.isoformat(),
        },
        "alpha",
    )
    cycle_completed(emit, 1, FRIDAY)
    assert state.ledger.settled_cash_usd("alpha") == Decimal("90000.00")

    accrued = InterestStage(_mandates()).run(MONDAY, state, emit)

    assert Decimal(accrued["alpha"]) == Decimal("90000.00") * RATE * 3 / Decimal(360)


def test_the_months_accrual_is_credited_to_the_cent_on_the_first_cycle_of_the_next() -> None:
    state, emit = opened_state()
    cycle_completed(emit, 1, date(2024, 2, 28), interest_accrued_usd={"alpha": "100.001"})
    cycle_completed(emit, 2, date(2024, 2, 29), interest_accrued_usd={"alpha": "23.4545"})
    emit.clear()

    accrued = InterestStage(_mandates()).run(FRIDAY, state, emit)

    (credited,) = emit.of("CashInterestCredited")
    assert credited.portfolio_id == "alpha"
    assert credited.payload == {
        "amount_usd": "123.46",  # 123.4555 to the cent
        "market_date": "2024-03-01",
        "period": "2024-02",
        "rate_annual": 0.05,
        "day_count": "ACT/360",
    }
    assert state.ledger.cash_usd("alpha") == Decimal("100123.46")
    # What is below the cent carries over to the next credit.
    assert state.interest_accrual_usd["alpha"] == Decimal("123.4555") - Decimal("123.46")
    # Today's accrual (one day) is on the settled cash read after the credit.
    assert Decimal(accrued["alpha"]) == Decimal("100123.46") * RATE / Decimal(360)


def test_no_credit_within_a_month_and_none_for_a_close_already_run() -> None:
    state, emit = opened_state()
    cycle_completed(emit, 1, FRIDAY, interest_accrued_usd={"alpha": "50"})
    emit.clear()
    stage = InterestStage(_mandates())

    assert stage.run(FRIDAY, state, emit) == {}  # the same close again
    assert stage.run(date(2024, 2, 29), state, emit) == {}  # an earlier one
    assert "alpha" in stage.run(MONDAY, state, emit)
    assert emit.of("CashInterestCredited") == []
