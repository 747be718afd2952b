"""The orders, gate and trades stages, built with plain data and called directly."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import numpy as np
import pytest

from engine.cycle.allocation import Target
from engine.cycle.coordination import Coordinated, CoordinationStage
from engine.cycle.gate import GateStage
from engine.cycle.orders import OrdersStage
from engine.cycle.signals import SignalViews
from engine.cycle.trades import TradesStage
from engine.model import Order, Side, SignalBatch, TargetWeights
from engine.rebalancing.harvest import harvests
from engine.risk.gate import GateDecision
from engine.state.engine_state import EngineState
from engine.state.ledger import TaxLot
from tests.unit.cycle_support import (
    SYMBOLS,
    TODAY,
    UNIVERSE,
    Recorder,
    coordinate,
    desk,
    due_at,
    flat_close,
    holding,
    mandates,
    market_close,
    opened_state,
    order_created,
    order_filled,
    risk_manager,
    set_limit,
    volume_window,
)

PRICES = (50.0, 20.0, 80.0, 10.0)


def _target(pid: str, shares: list[int]) -> Target:
    vector = np.array(shares, dtype=np.int64)
    weights = vector * np.array(PRICES) / 100_000
    return Target(TargetWeights(pid, TODAY, weights, 1 - weights.sum()), vector)


def _order(pid: str, symbol: str, side: Side, quantity: int, k: int = 0) -> Order:
    price = Decimal(str(PRICES[SYMBOLS.index(symbol)]))
    return Order(f"{pid}-00000003-{k:04d}", pid, symbol, side, quantity, price, TODAY)


def _coordinated() -> Coordinated:
    score = np.array([0.5, 0.2, 0.4, 0.9])
    batch = SignalBatch("momentum", "1w", TODAY, score, np.ones(4))
    _, emit = opened_state()
    return coordinate(
        CoordinationStage(UNIVERSE, mandates()),
        flat_close(PRICES),
        SignalViews((batch,), (batch,)),
        {},
        (),
        due_at(1),
        emit,
    )


# -- orders ---------------------------------------------------------------------------------


def test_a_rebalance_cancels_what_is_working_and_sells_before_it_buys() -> None:
    state, emit = opened_state()
    holding(emit, "alpha", "AAA", 400, "50")
    order_created(emit, "alpha-00000000-0000", "alpha", "BBB", "BUY", 10, "20", cycle=0)
    order_created(emit, "beta-00000000-0000", "beta", "BBB", "BUY", 10, "20", cycle=0)
    emit.clear()

    made = OrdersStage(UNIVERSE, mandates()).run(
        1, flat_close(PRICES), state, {"alpha": _target("alpha", [100, 0, 100, 500])}, emit
    )

    (cancelled,) = emit.of("OrderCancelled")
    assert cancelled.payload["order_id"] == "alpha-00000000-0000"
    assert cancelled.payload["reason"] == "replaced by the rebalance"
    assert cancelled.payload["remaining_shares"] == 10
    assert set(state.pending_orders) == {"beta-00000000-0000"}  # beta has no new target
    orders = made["alpha"]
    assert [(o.side, o.symbol, o.quantity_shares) for o in orders] == [
        (Side.SELL, "AAA", 300),
        (Side.BUY, "CCC", 100),
        (Side.BUY, "DDD", 500),
    ]
    assert [o.order_id for o in orders] == [f"alpha-00000001-{k:04d}" for k in range(3)]
    assert orders[1].decision_price_usd == Decimal("80")
    assert set(made) == {"alpha"}


def test_buys_are_cut_to_the_cash_the_sells_leave() -> None:
    state, emit = opened_state({"alpha": "10000", "beta": "10000"})
    holding(emit, "alpha", "AAA", 200, "50")  # all the cash in AAA
    assert state.ledger.cash_usd("alpha") == 0

    made = OrdersStage(UNIVERSE, mandates()).run(
        1, flat_close(PRICES), state, {"alpha": _target("alpha", [0, 0, 0, 2000])}, emit
    )

    sell, buy = made["alpha"]
    assert (sell.side, sell.quantity_shares) == (Side.SELL, 200)
    assert buy.side is Side.BUY
    assert 900 < buy.quantity_shares < 1000  # 10,000 USD of sales less the cost allowance
    proceeds = Decimal(200 * 50)
    assert buy.quantity_shares * buy.decision_price_usd <= proceeds


def test_a_halted_portfolio_makes_no_orders_and_keeps_what_is_working() -> None:
    state, emit = opened_state()
    order_created(emit, "alpha-00000000-0000", "alpha", "BBB", "BUY", 10, "20", cycle=0)
    emit("TradingStateChanged", {"state": "HALTED", "reason": "x"}, "alpha", actor="pm")
    emit.clear()

    made = OrdersStage(UNIVERSE, mandates()).run(
        1, flat_close(PRICES), state, {"alpha": _target("alpha", [100, 0, 0, 0])}, emit
    )

    assert made == {}
    assert emit.events == []


def test_the_gate_rejects_an_order_breaching_a_position_limit_and_names_it() -> None:
    state, emit = opened_state()
    set_limit(emit, "alpha", "max_position_weight", 0.3)
    emit.clear()
    orders = {
        "alpha": [
            _order("alpha", "AAA", Side.BUY, 1000, 0),
            _order("alpha", "DDD", Side.BUY, 100, 1),
        ]
    }

    result = GateStage(UNIVERSE, mandates(), risk_manager()).run(
        3, flat_close(PRICES), state, orders, None, emit
    )

    assert [o.symbol for o in result.approved] == ["DDD"]
    (rejected,) = emit.of("OrderRejected")
    payload = rejected.payload
    assert payload["limit"] == "max_position_weight"
    assert payload["value"] == pytest.approx(1000 * 50 / 100_000)
    assert payload["threshold"] == 0.3
    assert payload["approved_shares"] == 0 and payload["requested_shares"] == 1000
    assert payload["check"] == "pre-trade"
    assert payload["order_id"] == "alpha-00000003-G0000"
    assert "AAA would be 50.00% of NAV" in payload["reason"]
    (view,) = result.decisions
    assert (view.action, view.limit, view.symbol) == ("rejected", "max_position_weight", "AAA")
    assert result.scaled == {}


def test_a_soft_limit_scales_the_order_to_what_fits() -> None:
    state, emit = opened_state()
    set_limit(emit, "alpha", "max_position_weight", 0.3, mode="soft")
    emit.clear()

    result = GateStage(UNIVERSE, mandates(), risk_manager()).run(
        3,
        flat_close(PRICES),
        state,
        {"alpha": [_order("alpha", "AAA", Side.BUY, 1000)]},
        None,
        emit,
    )

    (approved,) = result.approved
    assert approved.quantity_shares == int(0.3 * 100_000 / 50)
    decision = result.scaled[("alpha", "AAA")]
    assert (decision.action, decision.limit) == ("scaled", "max_position_weight")
    assert emit.events == []
    assert result.decisions[0].approved_shares == 600


def test_a_halted_portfolio_passes_no_order() -> None:
    state, emit = opened_state()
    emit("TradingStateChanged", {"state": "HALTED", "reason": "x"}, "alpha", actor="pm")
    emit.clear()

    result = GateStage(UNIVERSE, mandates(), risk_manager()).run(
        3, flat_close(PRICES), state, {"alpha": [_order("alpha", "DDD", Side.BUY, 10)]}, None, emit
    )

    assert result.approved == ()
    assert emit.of("OrderRejected")[0].payload["limit"] == "trading_state"


def test_orders_within_every_limit_pass_without_a_record() -> None:
    state, emit = opened_state()
    set_limit(emit, "alpha", "max_order_notional_usd", 10_000)
    emit.clear()
    orders = [_order("alpha", "DDD", Side.BUY, 100), _order("alpha", "BBB", Side.BUY, 100, 1)]

    result = GateStage(UNIVERSE, mandates(), risk_manager()).run(
        3, flat_close(PRICES), state, {"alpha": orders, "beta": []}, None, emit
    )

    assert result.approved == tuple(orders)
    assert result.decisions == ()
    assert emit.events == []


def test_the_gates_book_is_the_portfolio_at_the_close() -> None:
    state, emit = opened_state()
    holding(emit, "alpha", "CCC", 100, "80")
    close = np.array([50.0, 20.0, 90.0, 10.0])
    state.ledger.mark(SYMBOLS, close)

    book = GateStage(UNIVERSE, mandates(), risk_manager()).book(state, "alpha", close)

    assert book.nav_usd == pytest.approx(100_000 - 8_000 + 9_000)
    assert book.shares.tolist() == [0, 0, 100, 0]
    assert book.sector_names == ("Energy", "Health", "Tech")


# -- trades ---------------------------------------------------------------------------------


def test_approved_orders_are_recorded_numbered_in_priority_risk_reducing_first() -> None:
    state, emit = opened_state()
    holding(emit, "alpha", "AAA", 400, "50")
    emit.clear()
    approved = (
        _order("alpha", "DDD", Side.BUY, 1000, 0),
        _order("alpha", "AAA", Side.SELL, 100, 1),
    )

    created = TradesStage(UNIVERSE, desk()).run(
        3, flat_close(PRICES), state, approved, {}, _coordinated(), emit
    )

    assert [(o.symbol, o.order_id) for o in created] == [
        ("AAA", "alpha-00000003-0000"),
        ("DDD", "alpha-00000003-0001"),
    ]
    events = emit.of("OrderCreated")
    assert [e.payload["risk_reducing"] for e in events] == [True, False]
    assert events[0].payload["cycle"] == 3
    assert events[0].payload["schedule"] == [100]  # 100 shares of a 1,000,000 ADV: at once
    assert set(state.pending_orders) == {"alpha-00000003-0000", "alpha-00000003-0001"}
    assert state.order_progress["alpha-00000003-0001"].created_cycle == 3
    assert state.orders_total["alpha"] == 3  # the seeded holding's order and these two


def test_a_scaled_order_carries_the_gates_note() -> None:
    state, emit = opened_state()
    order = _order("alpha", "AAA", Side.BUY, 600)
    note = GateDecision(order, 1000, 600, "scaled", "max_position_weight", 0.5, 0.3, "too big")

    TradesStage(UNIVERSE, desk()).run(
        3, flat_close(PRICES), state, (order,), {("alpha", "AAA"): note}, _coordinated(), emit
    )

    check = emit.of("OrderCreated")[0].payload["risk_check"]
    assert check["limit"] == "max_position_weight"
    assert (check["requested_shares"], check["approved_shares"]) == (1000, 600)


def test_an_order_with_no_traded_volume_known_is_rejected() -> None:
    state, emit = opened_state()
    volumes = volume_window(25)
    volumes[:, 3] = np.nan  # DDD has never traded
    close = market_close(np.tile(np.array(PRICES), (25, 1)), volumes)
    approved = (_order("alpha", "DDD", Side.BUY, 100), _order("alpha", "AAA", Side.BUY, 10, 1))

    TradesStage(UNIVERSE, desk()).run(3, close, state, approved, {}, _coordinated(), emit)

    (rejected,) = emit.of("OrderRejected")
    assert rejected.payload["symbol"] == "DDD"
    assert "no traded volume known for DDD" in rejected.payload["reason"]
    assert [o.symbol for o in state.pending_orders.values()] == ["AAA"]


def test_opposite_orders_of_two_portfolios_are_planned_to_cross() -> None:
    state, emit = opened_state()
    holding(emit, "beta", "AAA", 100, "50")
    emit.clear()
    before = state.to_dict()
    approved = (_order("alpha", "AAA", Side.BUY, 100), _order("beta", "AAA", Side.SELL, 100))

    TradesStage(UNIVERSE, desk(crossing=True)).run(
        3, flat_close(PRICES), state, approved, {}, _coordinated(), emit
    )

    payloads = {e.portfolio_id: e.payload for e in emit.of("OrderCreated")}
    assert payloads["alpha"]["cross_shares"] == payloads["beta"]["cross_shares"] == 100
    assert payloads["alpha"]["algorithm"] == "CROSS"
    assert payloads["alpha"]["schedule"] == []
    # Crossed whole: no market cost, an estimate of zero (not unknown), in the state the engine
    # keeps and in the fold of the payloads alike.
    assert payloads["alpha"]["estimated_cost_bps"] == 0.0
    again = EngineState.from_dict(before)
    for event in emit.events:
        again.apply(event)
    assert again.to_dict() == state.to_dict()
    assert again.order_progress[payloads["alpha"]["order_id"]].estimated_cost_bps == 0.0


def test_nothing_approved_creates_nothing() -> None:
    state, emit = opened_state()
    created = TradesStage(UNIVERSE, desk()).run(
        3, flat_close(PRICES), state, (), {}, Coordinated(), emit
    )
    assert created == ()
    assert emit.events == []


# -- the wash-sale rule ---------------------------------------------------------------------


@pytest.mark.parametrize(("days_after", "blocked"), [(10, True), (30, True), (31, False)])
def test_a_name_sold_at_a_loss_is_not_bought_back_inside_the_window(
    days_after: int, blocked: bool
) -> None:
    the_mandates = mandates("[portfolios.tax]\nwash_sale_days = 30\n")
    state, emit = opened_state()
    sold_on = TODAY - timedelta(days=days_after)
    order_created(emit, "alpha-buy", "alpha", "AAA", "BUY", 100, "60", cycle=0)
    order_filled(emit, "alpha-buy", "alpha", "AAA", "BUY", 100, "60", "0.00", sold_on, None)
    order_created(emit, "alpha-sell", "alpha", "AAA", "SELL", 100, "50", cycle=0)
    order_filled(emit, "alpha-sell", "alpha", "AAA", "SELL", 100, "50", "0.00", sold_on, None)
    assert state.ledger.last_loss_sale("alpha", "AAA") == sold_on
    emit.clear()

    made = OrdersStage(UNIVERSE, the_mandates).run(
        1, flat_close(PRICES), state, {"alpha": _target("alpha", [100, 0, 100, 0])}, emit
    )

    bought = {o.symbol for o in made["alpha"] if o.side is Side.BUY}
    assert ("AAA" not in bought) is blocked and "CCC" in bought
    if blocked:
        (event,) = emit.of("WashSaleBlocked")
        assert event.payload["symbol"] == "AAA"
        assert event.payload["sold_at_a_loss_on"] == sold_on.isoformat()
        assert event.payload["blocked_until"] == (sold_on + timedelta(days=30)).isoformat()
    else:
        assert emit.of("WashSaleBlocked") == []


def test_a_sale_at_a_gain_opens_no_window() -> None:
    the_mandates = mandates("[portfolios.tax]\nwash_sale_days = 30\n")
    state, emit = opened_state()
    order_created(emit, "alpha-buy", "alpha", "AAA", "BUY", 100, "40", cycle=0)
    order_filled(emit, "alpha-buy", "alpha", "AAA", "BUY", 100, "40", "0.00", TODAY, None)
    order_created(emit, "alpha-sell", "alpha", "AAA", "SELL", 100, "50", cycle=0)
    order_filled(emit, "alpha-sell", "alpha", "AAA", "SELL", 100, "50", "0.00", TODAY, None)
    assert state.ledger.last_loss_sale("alpha", "AAA") is None
    made = OrdersStage(UNIVERSE, the_mandates).run(
        1, flat_close(PRICES), state, {"alpha": _target("alpha", [100, 0, 0, 0])}, emit
    )
    assert [o.symbol for o in made["alpha"]] == ["AAA"]


# -- tax-loss harvesting --------------------------------------------------------------------

HARVEST = (
    '[portfolios.tax]\nlot_method = "hifo"\nharvest_loss_threshold = 0.1\n'
    'substitutes = { AAA = "BBB" }\n'
)


def _bought(emit: Recorder, n: int, symbol: str, shares: int, price: str) -> None:
    order_created(emit, f"alpha-b{n}", "alpha", symbol, "BUY", shares, price, cycle=0)
    order_filled(emit, f"alpha-b{n}", "alpha", symbol, "BUY", shares, price, "0.00", TODAY, None)


def test_a_portfolio_not_rebalancing_harvests_its_losses_into_the_substitute() -> None:
    state, emit = opened_state()
    _bought(emit, 1, "AAA", 100, "60")  # 16.7% under water at the close of 50: harvested
    _bought(emit, 2, "AAA", 100, "52")  # 3.8%: kept
    _bought(emit, 3, "CCC", 10, "81")  # 1.2%: kept
    emit.clear()

    made = OrdersStage(UNIVERSE, mandates(HARVEST)).run(3, flat_close(PRICES), state, {}, emit)

    orders = made["alpha"]
    assert [(o.side, o.symbol, o.quantity_shares) for o in orders] == [
        (Side.SELL, "AAA", 100),
        (Side.BUY, "BBB", 250),  # the 5,000 USD of proceeds at 20
    ]
    assert [o.order_id for o in orders] == ["alpha-00000003-H000", "alpha-00000003-H001"]
    (event,) = emit.of("TaxLossHarvested")
    assert event.payload["unrealised_loss_usd"] == "-1000.0000"
    assert (event.payload["substitute"], event.payload["substitute_shares"]) == ("BBB", 250)


def test_a_rebalancing_portfolio_or_one_without_a_threshold_harvests_nothing() -> None:
    state, emit = opened_state()
    _bought(emit, 1, "AAA", 100, "60")
    emit.clear()
    plain = OrdersStage(UNIVERSE, mandates()).run(3, flat_close(PRICES), state, {}, emit)
    assert plain == {}
    rebalancing = OrdersStage(UNIVERSE, mandates(HARVEST)).run(
        3, flat_close(PRICES), state, {"alpha": _target("alpha", [100, 0, 0, 0])}, emit
    )
    assert emit.of("TaxLossHarvested") == []
    assert all(o.order_id.split("-")[-1][0] != "H" for o in rebalancing["alpha"])


def test_a_lot_exactly_at_the_threshold_is_harvested() -> None:
    lots = {
        "AAA": [TaxLot("a", 10, Decimal("62.5"), TODAY), TaxLot("b", 5, Decimal("62.49"), TODAY)]
    }
    (found,) = harvests(lots, {"AAA": Decimal("50")}, 0.2, {})
    # 62.50 -> 50 is exactly 20% down; 62.49 -> 50 is a little less.
    assert (found.symbol, found.quantity_shares, found.substitute) == ("AAA", 10, None)
    assert found.loss_usd == Decimal("-125.0")
