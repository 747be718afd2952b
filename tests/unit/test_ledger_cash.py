"""Cash in the ledger: trade-date cash with pending settlement, and interest on cash, exactly."""

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from engine.model import Event, Fill, Side
from engine.state.engine_state import (
    STATE_FORMAT_VERSION,
    EngineState,
    fill_from_event,
)
from engine.state.ledger import Ledger, LedgerError
from engine.state.ledger_fold import LedgerFold

MON, TUE, WED, THU = date(2024, 1, 1), date(2024, 1, 2), date(2024, 1, 3), date(2024, 1, 4)


def _fill(
    side: Side,
    quantity: int,
    price: str,
    settles: date | None,
    n: int = 0,
    traded: date = MON,
    pid: str = "p1",
) -> Fill:
    return Fill(
        f"f{n}",
        f"o{n}",
        pid,
        "AAA",
        side,
        quantity,
        Decimal(price),
        Decimal("1.00"),
        traded,
        settles,
    )


# -- settlement -------------------------------------------------------------------------------


def test_a_buy_moves_cash_on_trade_date_and_is_payable_until_it_settles() -> None:
    ledger = Ledger({"p1": Decimal("1000")})
    ledger.apply(_fill(Side.BUY, 10, "20.005", settles=TUE, n=1))
    # 10 x 20.005 = 200.05, plus 1.00 commission
    assert ledger.cash_usd("p1") == Decimal("798.95")
    assert ledger.pending_settlement_usd("p1") == Decimal("-201.05")
    assert ledger.settled_cash_usd("p1") == Decimal("1000.00")
    assert ledger.pending_settlements("p1") == [(TUE, Decimal("-201.05"))]

    ledger.settle(MON)
    assert ledger.pending_settlements("p1") == [(TUE, Decimal("-201.05"))]
    ledger.settle(TUE)
    assert ledger.pending_settlements("p1") == []
    assert ledger.pending_settlement_usd("p1") == Decimal("0.00")
    assert ledger.settled_cash_usd("p1") == ledger.cash_usd("p1") == Decimal("798.95")


def test_pending_movements_are_netted_per_settlement_date_and_released_in_date_order() -> None:
    ledger = Ledger({"p1": Decimal("1000")})
    ledger.apply(_fill(Side.BUY, 10, "20", settles=WED, n=1))  # -201.00 on Wed
    ledger.apply(_fill(Side.SELL, 4, "25", settles=WED, n=2, traded=TUE))  # +99.00 on Wed
    ledger.apply(_fill(Side.SELL, 2, "30", settles=TUE, n=3))  # +59.00 on Tue
    assert ledger.cash_usd("p1") == Decimal("1000") - 201 + 99 + 59
    assert ledger.pending_settlements("p1") == [(TUE, Decimal("59.00")), (WED, Decimal("-102.00"))]
    assert ledger.pending_settlement_usd("p1") == Decimal("-43.00")
    assert ledger.settled_cash_usd("p1") == Decimal("1000.00")

    ledger.settle(TUE)
    assert ledger.pending_settlements("p1") == [(WED, Decimal("-102.00"))]
    assert ledger.settled_cash_usd("p1") == Decimal("1059.00")
    ledger.settle(THU)  # anything due on or before the date settles
    assert ledger.settled_cash_usd("p1") == ledger.cash_usd("p1") == Decimal("957.00")


def test_a_fill_without_a_settlement_date_settles_at_once() -> None:
    ledger = Ledger({"p1": Decimal("1000")})
    ledger.apply(_fill(Side.BUY, 10, "20", settles=None, n=1))
    assert ledger.cash_usd("p1") == ledger.settled_cash_usd("p1") == Decimal("799.00")
    assert ledger.pending_settlements("p1") == []


def test_a_buy_and_a_sale_that_offset_on_one_date_leave_nothing_pending() -> None:
    ledger = Ledger({"p1": Decimal("1000")})
    ledger.apply(_fill(Side.BUY, 1, "99", settles=WED, n=1))  # -100.00
    ledger.apply(_fill(Side.SELL, 1, "101", settles=WED, n=2))  # +100.00
    assert ledger.pending_settlements("p1") == []
    assert ledger.to_dict()["p1"]["pending_settlements"] == []


def test_settle_releases_every_portfolio() -> None:
    ledger = Ledger({"p1": Decimal("1000"), "p2": Decimal("1000")})
    ledger.apply(_fill(Side.BUY, 1, "9", settles=TUE, n=1, pid="p1"))
    ledger.apply(_fill(Side.BUY, 1, "19", settles=WED, n=2, pid="p2"))
    ledger.settle(WED)
    assert ledger.pending_settlement_usd("p1") == ledger.pending_settlement_usd("p2") == 0
    assert ledger.settled_cash_usd("p1") == Decimal("990.00")
    assert ledger.settled_cash_usd("p2") == Decimal("980.00")


def test_a_settlement_date_before_the_trade_date_is_refused_and_nothing_changes() -> None:
    ledger = Ledger({"p1": Decimal("1000")})
    before = ledger.to_dict()
    with pytest.raises(LedgerError, match="settlement_date 2024-01-01 is before its trade date"):
        ledger.apply(_fill(Side.BUY, 1, "10", settles=MON, n=1, traded=TUE))
    assert ledger.to_dict() == before


def test_a_refused_fill_adds_nothing_pending() -> None:
    ledger = Ledger({"p1": Decimal("10")})
    with pytest.raises(LedgerError, match="must not go negative"):
        ledger.apply(_fill(Side.BUY, 1, "10", settles=TUE, n=1))
    assert ledger.pending_settlements("p1") == []
    assert ledger.settled_cash_usd("p1") == Decimal("10.00")


def test_short_sale_proceeds_are_receivable_until_settled() -> None:
    ledger = Ledger({"p1": Decimal("0")}, allow_short=True)
    ledger.apply(_fill(Side.SELL, 10, "50", settles=WED, n=1))
    assert ledger.cash_usd("p1") == Decimal("499.00")
    assert ledger.settled_cash_usd("p1") == Decimal("0.00")
    assert ledger.pending_settlements("p1") == [(WED, Decimal("499.00"))]


def test_pending_settlements_survive_a_json_round_trip_exactly() -> None:
    ledger = Ledger({"p1": Decimal("1000")})
    ledger.apply(_fill(Side.BUY, 10, "20.005", settles=WED, n=1))
    ledger.apply(_fill(Side.SELL, 3, "7", settles=TUE, n=2))
    data = ledger.to_dict()
    assert data["p1"]["pending_settlements"] == [["2024-01-02", "20.00"], ["2024-01-03", "-201.05"]]
    restored = Ledger.from_dict(json.loads(json.dumps(data)))
    assert restored.to_dict() == data
    assert restored.pending_settlements("p1") == ledger.pending_settlements("p1")
    assert restored.settled_cash_usd("p1") == Decimal("1000.00")


# -- interest ---------------------------------------------------------------------------------


def test_interest_is_credited_to_cash_and_settled_cash_and_totalled() -> None:
    ledger = Ledger({"p1": Decimal("1000")})
    ledger.apply(_fill(Side.BUY, 1, "9", settles=WED, n=1))  # cash 990.00, pending -10.00
    ledger.credit_interest("p1", Decimal("12.34"), TUE)
    ledger.credit_interest("p1", Decimal("0.66"), WED)
    assert ledger.cash_usd("p1") == Decimal("1003.00")
    assert ledger.settled_cash_usd("p1") == Decimal("1013.00")
    assert ledger.pending_settlement_usd("p1") == Decimal("-10.00")
    assert ledger.interest_income_usd("p1") == Decimal("13.00")


def test_negative_interest_debits_cash_and_interest_income() -> None:
    ledger = Ledger({"p1": Decimal("100")})
    ledger.credit_interest("p1", Decimal("-0.07"), TUE)
    assert ledger.cash_usd("p1") == Decimal("99.93")
    assert ledger.interest_income_usd("p1") == Decimal("-0.07")


def test_negative_interest_that_would_overdraw_cash_is_refused_and_nothing_changes() -> None:
    ledger = Ledger({"p1": Decimal("0.05")})
    before = ledger.to_dict()
    with pytest.raises(LedgerError, match=r"would make cash USD -0\.01 \(must not go negative\)"):
        ledger.credit_interest("p1", Decimal("-0.06"), TUE)
    assert ledger.to_dict() == before


@pytest.mark.parametrize("amount", ["0.001", "12.345", "NaN", "Infinity"])
def test_interest_that_is_not_whole_cents_is_refused(amount: str) -> None:
    ledger = Ledger({"p1": Decimal("100")})
    with pytest.raises(LedgerError, match="not a whole number of cents"):
        ledger.credit_interest("p1", Decimal(amount), TUE)
    assert ledger.cash_usd("p1") == Decimal("100.00")
    assert ledger.interest_income_usd("p1") == Decimal("0.00")


def test_interest_for_an_unknown_portfolio_is_refused() -> None:
    with pytest.raises(LedgerError, match="unknown portfolio_id 'p9'"):
        Ledger({"p1": Decimal("100")}).credit_interest("p9", Decimal("1.00"), TUE)


def test_interest_income_survives_a_json_round_trip() -> None:
    ledger = Ledger({"p1": Decimal("100")})
    ledger.credit_interest("p1", Decimal("1.5"), TUE)
    data = ledger.to_dict()
    assert data["p1"]["interest_income_usd"] == "1.50"
    assert data["p1"]["cash_usd"] == "101.50"
    assert Ledger.from_dict(json.loads(json.dumps(data))).interest_income_usd("p1") == Decimal(
        "1.50"
    )


# -- the fold: OrderFilled.settlement_date, CycleCompleted, CashInterestCredited ---------------

# USD 1,000,000 at 5% a year on an actual/360 basis, one day, unrounded (28 digits)
DAILY_ACCRUAL = "138.8888888888888888888888889"


def _event(n: int, kind: str, payload: dict[str, Any], pid: str | None = "p1") -> Event:
    return Event(f"e{n}", kind, datetime(2024, 1, 1, 12, 0, n, tzinfo=UTC), "engine", payload, pid)


def _opened(n: int = 1, cash: str = "1000000") -> Event:
    return _event(n, "PortfolioOpened", {"portfolio_id": "p1", "initial_cash_usd": cash})


def _filled(n: int, settlement_date: str | None) -> Event:
    payload: dict[str, Any] = {
        "fill_id": f"f{n}",
        "order_id": f"o{n}",
        "symbol": "AAA",
        "side": "BUY",
        "quantity_shares": 100,
        "price_usd": "10",
        "commission_usd": "1.00",
        "market_date": "2024-01-01",
    }
    if settlement_date is not None:
        payload["settlement_date"] = settlement_date
    return _event(n, "OrderFilled", payload)


def _cycle(n: int, cycle: int, market_date: date, accrued: str | None = None) -> Event:
    payload: dict[str, Any] = {"cycle": cycle, "market_date": market_date.isoformat()}
    if accrued is not None:
        payload["interest_accrued_usd"] = {"p1": accrued}
    return _event(n, "CycleCompleted", payload, None)


def _credited(n: int, amount: str, market_date: date) -> Event:
    return _event(
        n, "CashInterestCredited", {"amount_usd": amount, "market_date": market_date.isoformat()}
    )


def test_fill_from_event_reads_an_optional_settlement_date() -> None:
    assert fill_from_event(_filled(2, "2024-01-02")).settlement_date == TUE
    assert fill_from_event(_filled(2, None)).settlement_date is None


def test_a_cycle_settles_the_fills_due_on_or_before_its_market_date() -> None:
    state = EngineState()
    for event in (_opened(), _filled(2, "2024-01-02"), _filled(3, None)):
        state.apply(event)
    assert state.ledger.pending_settlements("p1") == [(TUE, Decimal("-1001.00"))]
    assert state.ledger.settled_cash_usd("p1") == Decimal("998999.00")
    state.apply(_cycle(4, 1, MON))
    assert state.ledger.pending_settlement_usd("p1") == Decimal("-1001.00")
    state.apply(_cycle(5, 2, TUE))
    assert state.ledger.pending_settlements("p1") == []
    assert state.ledger.settled_cash_usd("p1") == Decimal("997998.00")


def test_accrued_interest_carries_its_fraction_of_a_cent_past_each_credit() -> None:
    state = EngineState()
    state.apply(_opened())
    for n, day in enumerate((MON, TUE, WED), start=2):
        state.apply(_cycle(n, n - 1, day, DAILY_ACCRUAL))
    assert state.interest_accrual_usd == {"p1": Decimal("416.6666666666666666666666667")}
    state.apply(_credited(5, "416.66", WED))
    assert state.ledger.cash_usd("p1") == Decimal("1000416.66")
    assert state.ledger.interest_income_usd("p1") == Decimal("416.66")
    assert state.interest_accrual_usd == {"p1": Decimal("0.0066666666666666666666667")}
    state.apply(_cycle(6, 4, THU, DAILY_ACCRUAL))
    assert state.interest_accrual_usd == {"p1": Decimal("138.8955555555555555555555556")}


def test_a_credit_that_would_overdraw_cash_leaves_the_accrual_unchanged() -> None:
    state = EngineState()
    state.apply(_opened(cash="0.05"))
    state.apply(_cycle(2, 1, MON, "-0.0612"))
    with pytest.raises(LedgerError, match="must not go negative"):
        state.apply(_credited(3, "-0.06", MON))
    assert state.interest_accrual_usd == {"p1": Decimal("-0.0612")}
    assert state.ledger.cash_usd("p1") == Decimal("0.05")


def test_events_without_the_new_fields_fold_as_before() -> None:
    state = EngineState()
    for event in (_opened(), _filled(2, None), _cycle(3, 1, MON)):
        state.apply(event)
    assert state.interest_accrual_usd == {}
    assert not state.ledger.allows_short("p1")
    assert state.ledger.settled_cash_usd("p1") == state.ledger.cash_usd("p1")
    assert state.ledger.cash_usd("p1") == Decimal("998999.00")


def test_settlements_interest_and_accrual_survive_a_state_round_trip() -> None:
    state = EngineState()
    for event in (
        _opened(),
        _filled(2, "2024-01-03"),
        _cycle(3, 1, MON, DAILY_ACCRUAL),
        _credited(4, "138.88", MON),
    ):
        state.apply(event)
    data = json.loads(json.dumps(state.to_dict()))
    assert data["format"] == STATE_FORMAT_VERSION
    assert data["interest_accrual_usd"] == {"p1": "0.0088888888888888888888889"}
    restored = EngineState.from_dict(data)
    assert restored.to_dict() == state.to_dict()
    assert restored.ledger_digest() == state.ledger_digest()
    with pytest.raises(ValueError, match=f"state format 2 is not {STATE_FORMAT_VERSION}"):
        EngineState.from_dict({**data, "format": 2})


def test_the_ledger_digest_sees_settlement_and_accrual() -> None:
    state = EngineState()
    for event in (_opened(), _filled(2, "2024-01-03"), _cycle(3, 1, MON)):
        state.apply(event)
    digest = state.ledger_digest()
    state.apply(_cycle(4, 2, WED))  # settles: cash and positions are unchanged
    settled = state.ledger_digest()
    assert settled != digest
    state.apply(_cycle(5, 3, THU, "0.004"))
    assert state.ledger_digest() != settled


def _restarted(n: int, cash: str) -> Event:
    return _event(
        n,
        "ReplayRestarted",
        {
            "first_trading_date": "2024-01-01",
            "portfolios": {"p1": {"initial_cash_usd": cash, "allow_short": False}},
        },
        None,
    )


def test_the_ledger_fold_alone_ends_where_the_whole_state_fold_does() -> None:
    """The recorder's shadow folds only the ledger's events; over opening, fills settling later,
    cycles, interest and a replay restart it must end on the very ledger the state's fold does."""
    history = [
        _opened(),
        _filled(2, "2024-01-03"),
        _cycle(3, 1, MON, DAILY_ACCRUAL),
        _credited(4, "138.88", MON),
        _filled(5, None),
        _cycle(6, 2, WED),
        _restarted(7, "5000"),
        _filled(8, "2024-01-04"),
        _cycle(9, 1, TUE),
    ]
    state = EngineState()
    fold = LedgerFold.of(state)
    for event in history:
        state.apply(event)
        fold.apply(event)
        assert fold.ledger.to_dict() == state.ledger.to_dict(), event.type

    # After the restart: 5,000 less 100 shares at USD 10 and USD 1 of commission, still pending.
    assert fold.ledger.cash_usd("p1") == Decimal("3999.00")
    assert fold.ledger.pending_settlements("p1") == [(THU, Decimal("-1001.00"))]
    assert fold.ledger.holdings_of("p1") == {"AAA": 100}


def test_a_ledger_fold_started_from_a_state_goes_on_from_its_ledger() -> None:
    state = EngineState()
    for event in (_opened(), _filled(2, None)):
        state.apply(event)
    fold = LedgerFold.of(state)
    state.apply(_filled(3, None))
    fold.apply(_filled(3, None))
    assert fold.ledger.holdings_of("p1") == {"AAA": 200}
    assert fold.ledger.cash_usd("p1") == state.ledger.cash_usd("p1") == Decimal("997998.00")


# -- deposits and withdrawals ---------------------------------------------------------------


def test_a_deposit_or_withdrawal_moves_cash_in_whole_cents_and_never_below_zero() -> None:
    ledger = Ledger({"p": Decimal("1000.00")})
    ledger.external_flow("p", Decimal("250.50"))
    ledger.external_flow("p", Decimal("-1250.50"))
    assert ledger.cash_usd("p") == Decimal("0.00")
    assert ledger.settled_cash_usd("p") == Decimal("0.00")  # settled at once
    for amount, why in (
        (Decimal("-0.01"), "more than its cash"),
        (Decimal("1.005"), "whole cents"),
        (Decimal("0"), "non-zero"),
    ):
        with pytest.raises(LedgerError, match=why):
            ledger.external_flow("p", amount)
    assert ledger.cash_usd("p") == Decimal("0.00")


def test_the_command_refuses_a_bad_amount_naming_the_field() -> None:
    from engine.commands import RecordCashFlow

    with pytest.raises(ValueError, match=r"RecordCashFlow.amount_usd: 10.001 must be"):
        RecordCashFlow("pm", "top-up", portfolio_id="p", amount_usd=Decimal("10.001"))
    with pytest.raises(ValueError, match=r"RecordCashFlow.reason: say why"):
        RecordCashFlow("pm", "", portfolio_id="p", amount_usd=Decimal("10"))
