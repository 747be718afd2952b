"""The market and execution stages, built with plain data and called directly."""

from __future__ import annotations

from decimal import Decimal

import numpy as np

from engine.cycle.execution import ExecutionStage
from engine.cycle.market import MarketStage
from engine.model import Event, MarketTick
from engine.state.engine_state import QUALITY_FIELDS
from tests.unit.cycle_support import (
    SYMBOLS,
    TODAY,
    UNIVERSE,
    desk,
    flat_close,
    holding,
    mandates,
    market_close,
    opened_state,
    order_created,
    volume_window,
)

PRICES = (50.0, 20.0, 80.0, 10.0)
HALF_SPREAD = Decimal("0.0005")
COMMISSION_RATE = Decimal("0.0001")
VOLATILITY_FLOOR = Decimal("0.005")  # a flat window's volatility is floored at 0.5% a day


def _cash(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"))


def _fill_price(market: str, side: str, impact: str) -> Decimal:
    sign = 1 if side == "BUY" else -1
    concession = HALF_SPREAD + Decimal(impact)
    return (Decimal(market) * (1 + sign * concession)).quantize(Decimal("0.0001"))


# -- market ---------------------------------------------------------------------------------


def test_market_stage_rolls_the_windows_and_keeps_the_last_days() -> None:
    warmup = np.array([[10.0, 20.0, 30.0, 40.0], [11.0, 21.0, 31.0, 41.0], [12.0, 22, 32, 42]])
    stage = MarketStage(UNIVERSE, history_days=3, warmup_prices=warmup)
    state, _ = opened_state()
    assert stage.days == 3
    assert np.array_equal(stage.latest_close(), warmup[-1])

    tick_close = np.array([13.0, 23.0, 33.0, 43.0])
    close = stage.run(MarketTick(TODAY, tick_close, np.full(4, 500.0)), state.ledger)

    assert close.window.shape == (3, 4)
    assert np.array_equal(close.window[0], warmup[1])  # the oldest day rolled out
    assert np.array_equal(close.window[-1], tick_close)
    assert close.volumes.shape == (1, 4)  # volumes start with the first tick
    assert close.today == TODAY
    assert np.array_equal(stage.latest_close(), tick_close)


def test_market_stage_has_no_close_before_any_price() -> None:
    stage = MarketStage(UNIVERSE, history_days=5, warmup_prices=np.empty((0, 4)))
    assert stage.days == 0
    assert stage.latest_close() is None


def test_market_stage_marks_every_position_at_the_new_close() -> None:
    state, emit = opened_state()
    holding(emit, "alpha", "AAA", 100, "50.00")  # 5,000 USD of AAA, 95,000 cash
    stage = MarketStage(UNIVERSE, history_days=5, warmup_prices=np.array([PRICES]))

    stage.run(MarketTick(TODAY, np.array([55.0, 20.0, 80.0, 10.0]), np.ones(4)), state.ledger)

    assert state.ledger.nav_usd("alpha") == Decimal("95000.00") + 100 * Decimal("55")


def test_market_close_flags_untradable_instruments() -> None:
    window = np.tile(np.array(PRICES), (5, 1))
    window[-1, 1] = np.nan
    window[-1, 3] = 0.0
    close = market_close(window)
    assert close.tradable.tolist() == [True, False, True, False]


# -- execution ------------------------------------------------------------------------------


def test_execution_without_working_orders_does_nothing() -> None:
    state, emit = opened_state()
    result = ExecutionStage(UNIVERSE, mandates(), desk()).run(2, flat_close(PRICES), state, emit)
    assert result.fills == () and result.crosses == () and result.blocks == ()
    assert emit.events == []


def test_a_buy_fills_at_the_cost_models_price_and_pays_notional_plus_commission() -> None:
    state, emit = opened_state()
    order_created(emit, "alpha-00000001-0000", "alpha", "DDD", "BUY", 2500, "10.00", cycle=1)
    emit.clear()
    stage = ExecutionStage(UNIVERSE, mandates(), desk())

    result = stage.run(2, flat_close(PRICES), state, emit)

    # Impact = sigma * sqrt(q / ADV) = 0.005 * sqrt(2,500 / 1,000,000) = 0.00025.
    price = _fill_price("10", "BUY", "0.00025")
    assert price == Decimal("10.0075")
    notional = _cash(price * 2500)
    commission = max(Decimal("1.00"), _cash(notional * COMMISSION_RATE))
    assert commission == Decimal("2.50")
    (fill,) = result.fills
    assert fill.price_usd == price and fill.quantity_shares == 2500
    assert fill.commission_usd == commission
    filled = emit.of("OrderFilled")[0].payload
    assert Decimal(filled["cash_change_usd"]) == -(notional + commission)
    assert filled["state"] == "FILLED"
    assert filled["fill_id"] == "alpha-00000001-0000-F00"
    # T+1 from a Friday is the Monday.
    assert filled["settlement_date"] == "2024-03-04"
    assert state.ledger.cash_usd("alpha") == Decimal("100000.00") - notional - commission
    assert state.ledger.shares("alpha", "DDD") == 2500
    # The fill that filled the order ends it, with the order's shortfall: no OrderCompleted.
    assert Decimal(filled["shortfall"]["commission_usd"]) == commission
    assert set(filled["shortfall"]) == set(QUALITY_FIELDS)
    assert "alpha-00000001-0000" not in state.pending_orders
    assert state.execution_quality["alpha"]["orders"] == 1
    assert state.execution_quality["alpha"]["commission_usd"] == commission
    assert emit.types == ["OrderFilled", "BlockExecuted"]


def test_a_log_with_the_completion_after_the_filling_fill_folds_to_the_same_state() -> None:
    # Logs written before fills carried their order's end hold an OrderCompleted after it.
    state, emit = opened_state()
    order_created(emit, "alpha-00000001-0000", "alpha", "DDD", "BUY", 2500, "10.00", cycle=1)
    order_created(emit, "beta-00000001-0000", "beta", "BBB", "BUY", 100, "20.00", cycle=1)
    before = list(emit.events)
    ExecutionStage(UNIVERSE, mandates(), desk()).run(2, flat_close(PRICES), state, emit)
    new = emit.events[len(before) :]
    older: list[Event] = []
    for event in new:
        if "shortfall" not in event.payload or event.type != "OrderFilled":
            older.append(event)
            continue
        fill = {k: v for k, v in event.payload.items() if k not in ("shortfall", "shortfall_bps")}
        older.append(event._replace(payload=fill))
        ending = {
            "order_id": fill["order_id"],
            "symbol": fill["symbol"],
            "state": "FILLED",
            "reason": "filled",
            "market_date": fill["market_date"],
            "shortfall": event.payload["shortfall"],
            "shortfall_bps": event.payload["shortfall_bps"],
        }
        older.append(event._replace(type="OrderCompleted", payload=ending))
    assert [e.type for e in older].count("OrderCompleted") == 2

    again, _ = opened_state()
    for event in [*before, *older]:
        again.apply(event)
    for pid in ("alpha", "beta"):
        assert again.ledger.cash_usd(pid) == state.ledger.cash_usd(pid)
        assert again.execution_quality[pid] == state.execution_quality[pid]
    assert again.pending_orders == state.pending_orders == {}


def test_a_sell_receives_notional_less_commission() -> None:
    state, emit = opened_state()
    holding(emit, "alpha", "DDD", 10_000, "10.00")
    order_created(emit, "alpha-00000001-0000", "alpha", "DDD", "SELL", 10_000, "10.00", cycle=1)
    cash_before = state.ledger.cash_usd("alpha")
    emit.clear()

    ExecutionStage(UNIVERSE, mandates(), desk()).run(2, flat_close(PRICES), state, emit)

    # Impact = 0.005 * sqrt(10,000 / 1,000,000) = 0.0005; price 10 * (1 - 0.001).
    price = _fill_price("10", "SELL", "0.0005")
    assert price == Decimal("9.99")
    notional = _cash(price * 10_000)
    commission = _cash(notional * COMMISSION_RATE)
    payload = emit.of("OrderFilled")[0].payload
    assert Decimal(payload["price_usd"]) == price
    assert Decimal(payload["cash_change_usd"]) == notional - commission
    assert state.ledger.cash_usd("alpha") == cash_before + notional - commission
    assert state.ledger.shares("alpha", "DDD") == 0


def test_sells_are_worked_before_buys_so_they_fund_them() -> None:
    state, emit = opened_state({"alpha": "100000"})
    holding(emit, "alpha", "DDD", 10_000, "10.00")  # all the cash is in DDD
    assert state.ledger.cash_usd("alpha") == 0
    # The buy was made first; the sell still goes to the venue first.
    order_created(emit, "alpha-00000001-0000", "alpha", "AAA", "BUY", 1000, "50.00", cycle=1)
    order_created(emit, "alpha-00000001-0001", "alpha", "DDD", "SELL", 10_000, "10.00", cycle=1)
    emit.clear()

    ExecutionStage(UNIVERSE, mandates()[:1], desk()).run(2, flat_close(PRICES), state, emit)

    blocks = [e.payload for e in emit.of("BlockExecuted")]
    assert [b["side"] for b in blocks] == ["SELL", "BUY"]
    fills = {e.payload["symbol"]: e.payload for e in emit.of("OrderFilled")}
    assert fills["AAA"]["quantity_shares"] == 1000  # paid for by the sale
    assert state.ledger.cash_usd("alpha") >= 0


def test_a_buy_is_cut_to_what_the_cash_pays() -> None:
    state, emit = opened_state({"alpha": "10000"})
    order_created(emit, "alpha-00000001-0000", "alpha", "DDD", "BUY", 2500, "10.00", cycle=1)
    emit.clear()

    ExecutionStage(UNIVERSE, mandates()[:1], desk()).run(2, flat_close(PRICES), state, emit)

    payload = emit.of("OrderFilled")[0].payload
    quantity, price = payload["quantity_shares"], Decimal(payload["price_usd"])
    commission = Decimal(payload["commission_usd"])
    assert 0 < quantity < 2500
    assert _cash(price * quantity) + commission <= Decimal("10000")
    # One more share would not have been affordable.
    more = _cash(price * (quantity + 1))
    assert more + max(Decimal("1.00"), _cash(more * COMMISSION_RATE)) > Decimal("10000")
    assert payload["state"] == "PARTIALLY_FILLED"
    assert state.ledger.cash_usd("alpha") >= 0


def test_the_participation_cap_leaves_the_rest_working() -> None:
    state, emit = opened_state()
    order_created(
        emit, "alpha-00000001-0000", "alpha", "DDD", "BUY", 2500, "10.00", 1, schedule=(1250, 1250)
    )
    emit.clear()
    volumes = volume_window(25)
    volumes[-1, 3] = 10_000  # a quiet day: 10% of it is 1,000 shares
    close = market_close(np.tile(np.array(PRICES), (25, 1)), volumes)

    ExecutionStage(UNIVERSE, mandates(), desk(participation_cap=0.1)).run(2, close, state, emit)

    payload = emit.of("OrderFilled")[0].payload
    assert payload["quantity_shares"] == 1000
    assert payload["state"] == "PARTIALLY_FILLED"
    assert "shortfall" not in payload  # the order works on
    assert emit.of("OrderCompleted") == []
    assert state.order_progress["alpha-00000001-0000"].filled_shares == 1000


def test_the_state_folded_from_the_fills_records_is_the_fold_of_their_payloads() -> None:
    # The engine folds its own fills from the records it made them from (not their payloads'
    # text); a replay folds the payloads. Two days: a cross, a partial fill, then the fills
    # that fill both orders and end them with their shortfall.
    state, emit = opened_state()
    order_created(
        emit, "alpha-00000001-0000", "alpha", "DDD", "BUY", 2500, "10.00", 1, schedule=(1250, 1250)
    )
    order_created(
        emit, "alpha-00000001-0001", "alpha", "BBB", "BUY", 300, "20.00", 1, (), cross_shares=300
    )
    order_created(
        emit, "beta-00000001-0000", "beta", "BBB", "SELL", 300, "20.00", 1, (), cross_shares=300
    )
    holding(emit, "beta", "BBB", 300, "20.00")
    volumes = volume_window(25)
    volumes[-1, 3] = 10_000  # a quiet day: 10% of it is 1,000 shares
    stage = ExecutionStage(UNIVERSE, mandates(), desk(participation_cap=0.1))

    def refolded() -> dict[str, object]:
        again, _ = opened_state()
        for event in emit.events:  # all but the PortfolioOpened, which opened_state applied
            again.apply(event)
        return again.to_dict()

    stage.run(2, market_close(np.tile(np.array(PRICES), (25, 1)), volumes), state, emit)
    assert state.order_progress["alpha-00000001-0000"].fills  # a partial fill, working on
    assert refolded() == state.to_dict()
    stage.run(3, flat_close(PRICES), state, emit)
    worked = [e.payload.get("state") for e in emit.of("OrderFilled") if "venue" in e.payload]
    assert set(worked) == {"FILLED", "PARTIALLY_FILLED"}
    assert emit.of("CrossExecuted") and state.pending_orders == {}
    assert state.execution_quality["alpha"]["orders"] == 2
    assert refolded() == state.to_dict()


def test_an_order_past_its_schedule_is_cancelled_naming_the_schedule() -> None:
    state, emit = opened_state()
    order_created(emit, "alpha-00000001-0000", "alpha", "DDD", "BUY", 100, "10.00", cycle=1)
    emit.clear()
    volumes = volume_window(25)
    volumes[-1, 3] = 0.0  # nothing traded in DDD today

    ExecutionStage(UNIVERSE, mandates(), desk()).run(
        2, market_close(np.tile(np.array(PRICES), (25, 1)), volumes), state, emit
    )

    assert emit.of("OrderFilled") == []
    completed = emit.of("OrderCompleted")[0].payload
    assert completed["state"] == "CANCELLED"
    assert "100 shares not filled within the 1-day schedule" in completed["reason"]
    assert state.pending_orders == {}


def test_opposite_orders_cross_internally_at_the_close_without_costs() -> None:
    state, emit = opened_state()
    holding(emit, "beta", "AAA", 300, "50.00")
    order_created(
        emit, "alpha-00000001-0000", "alpha", "AAA", "BUY", 300, "50", 1, (), cross_shares=300
    )
    order_created(
        emit, "beta-00000001-0000", "beta", "AAA", "SELL", 300, "50", 1, (), cross_shares=300
    )
    alpha_cash, beta_cash = state.ledger.cash_usd("alpha"), state.ledger.cash_usd("beta")
    emit.clear()

    result = ExecutionStage(UNIVERSE, mandates(), desk()).run(2, flat_close(PRICES), state, emit)

    (cross,) = emit.of("CrossExecuted")
    assert cross.payload["quantity_shares"] == 300
    assert Decimal(cross.payload["price_usd"]) == Decimal("50")
    fills = emit.of("OrderFilled")
    assert {f.payload["venue"] for f in fills} == {"internal cross"}
    assert {f.payload["commission_usd"] for f in fills} == {"0.00"}
    assert state.ledger.cash_usd("alpha") == alpha_cash - 300 * Decimal("50")
    assert state.ledger.cash_usd("beta") == beta_cash + 300 * Decimal("50")
    assert state.ledger.shares("alpha", "AAA") == 300
    assert state.ledger.shares("beta", "AAA") == 0
    assert [f.fill_id for f in result.fills] == ["alpha-00000001-0000-X", "beta-00000001-0000-X"]
    assert result.crosses[0].portfolios == (("alpha", 300), ("beta", -300))
    assert {f.payload["state"] for f in fills} == {"FILLED"}
    assert all("shortfall" in f.payload for f in fills) and emit.of("OrderCompleted") == []
    assert state.pending_orders == {}


def test_an_order_with_no_price_today_is_not_worked() -> None:
    state, emit = opened_state()
    order_created(
        emit, "alpha-00000001-0000", "alpha", "DDD", "BUY", 100, "10.00", 1, schedule=(50, 50)
    )
    emit.clear()
    window = np.tile(np.array(PRICES), (25, 1))
    window[-1, 3] = np.nan

    result = ExecutionStage(UNIVERSE, mandates(), desk()).run(2, market_close(window), state, emit)

    assert result.fills == () and result.blocks == ()
    assert emit.events == []
    assert "alpha-00000001-0000" in state.pending_orders


def test_the_universe_orders_every_vector_by_symbol() -> None:
    assert UNIVERSE.symbols == SYMBOLS
    assert UNIVERSE.vector({"CCC": 0.5}).tolist() == [0.0, 0.0, 0.5, 0.0]
