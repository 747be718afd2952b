"""The pre-trade risk gate: no order that breaks a limit passes, whatever the orders and limits.

The invariants are checked on the holdings after the approved orders, computed here directly
from shares and prices, not with the gate's own code.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.allocation.risk_models import ScenarioRisk
from engine.model import Order, Side
from engine.risk.gate import Book, RiskGate, RiskModel
from engine.risk.limits import make_limit

DAY = date(2024, 3, 1)
SLACK = 1e-9


def _book(shares, prices, sectors, cash: float) -> Book:
    shares = np.asarray(shares, dtype=np.int64)
    prices = np.asarray(prices, dtype=float)
    names = tuple(sorted(set(sectors)))
    codes = np.array([names.index(s) for s in sectors])
    symbols = tuple(f"S{i}" for i in range(len(shares)))
    nav = cash + float(shares @ prices)
    return Book(nav, shares, prices, codes, names, symbols, {s: i for i, s in enumerate(symbols)})


def _order(book: Book, i: int, signed: int, k: int = 0) -> Order:
    side = Side.BUY if signed > 0 else Side.SELL
    return Order(
        f"o{k}", "p", book.symbols[i], side, abs(signed), Decimal(str(book.prices[i])), DAY
    )


def _post(book: Book, decisions) -> np.ndarray:
    post = book.shares.copy()
    for d in decisions:
        i = book.symbol_index[d.order.symbol]
        post[i] += d.approved_shares if d.order.side is Side.BUY else -d.approved_shares
    return post


def _weights(book: Book, shares: np.ndarray) -> np.ndarray:
    return shares * book.prices / book.nav_usd


def _kept(after: float, before: float, threshold: float) -> bool:
    return after <= threshold * (1 + SLACK) + SLACK or after <= before * (1 + SLACK) + SLACK


@st.composite
def _cases(draw):
    n = draw(st.integers(2, 7))
    prices = draw(st.lists(st.floats(1.0, 400.0), min_size=n, max_size=n))
    shares = draw(st.lists(st.integers(-300, 600), min_size=n, max_size=n))
    sectors = draw(st.lists(st.sampled_from(["Tech", "Energy", "Health"]), min_size=n, max_size=n))
    # Enough cash that the NAV is positive whatever is short.
    cash = draw(st.floats(1_000.0, 200_000.0)) + 1.2 * max(0.0, -float(np.dot(shares, prices)))
    book = _book(shares, prices, sectors, cash)
    picked = draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=n, unique=True))
    orders = [
        _order(book, i, draw(st.integers(1, 900)) * draw(st.sampled_from([1, -1])), k)
        for k, i in enumerate(picked)
    ]
    mode = st.sampled_from(["hard", "soft"])
    limits = {}
    for name, values in (
        ("max_position_weight", st.floats(0.02, 0.6)),
        ("sector_cap", st.floats(0.05, 0.9)),
        ("gross_exposure", st.floats(0.2, 2.0)),
        ("net_exposure", st.floats(0.1, 1.5)),
        ("max_order_notional_usd", st.floats(100.0, 50_000.0)),
        ("max_orders_per_cycle", st.integers(1, 5)),
        ("volatility", st.floats(0.02, 0.5)),
        ("var_99_historical", st.floats(0.002, 0.05)),
    ):
        if draw(st.booleans()):
            limits[name] = make_limit(name, draw(values), draw(mode))
    if draw(st.booleans()):
        limits["restricted_instruments"] = make_limit(
            "restricted_instruments", None, draw(mode), symbols=[book.symbols[picked[0]]]
        )
    seed = draw(st.integers(0, 2**31))
    returns = np.random.default_rng(seed).normal(0, 0.02, size=(60, n))
    model = RiskModel(ScenarioRisk(np.arange(n), returns))
    state = draw(st.sampled_from(["ACTIVE", "ACTIVE", "ACTIVE", "REDUCING", "HALTED"]))
    return book, orders, limits, model, state


def _measures(book: Book, shares: np.ndarray, model: RiskModel):
    w = _weights(book, shares)
    sectors = {s: abs(w[book.sector_codes == k].sum()) for k, s in enumerate(book.sector_names)}
    daily = model.scenarios @ w
    tail = np.quantile(daily, 0.01)
    return {
        "weights": np.abs(w),
        "sectors": sectors,
        "gross_exposure": float(np.abs(w).sum()),
        "net_exposure": abs(float(w.sum())),
        "volatility": float(np.sqrt(w @ model.covariance @ w * 252)),
        "var_99_historical": -float(tail),
    }


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_cases())
def test_no_order_that_breaks_a_limit_passes(case) -> None:
    book, orders, limits, model, state = case
    decisions = RiskGate().check(orders, book, limits, state, model)
    assert [d.order.order_id for d in decisions] == [o.order_id for o in orders]
    post = _post(book, decisions)
    before, after = _measures(book, book.shares, model), _measures(book, post, model)
    moved = {book.symbol_index[o.symbol] for o in orders}
    for d, o in zip(decisions, orders, strict=True):
        # Never more than asked, never the other way.
        assert 0 <= d.approved_shares <= o.quantity_shares
        assert d.order.side is o.side
        if d.action != "passed":
            assert d.limit and d.reason
    if state == "HALTED":
        assert all(d.approved_shares == 0 for d in decisions)
    if state == "REDUCING":
        for d in decisions:
            i = book.symbol_index[d.order.symbol]
            assert abs(post[i]) <= abs(book.shares[i]) and post[i] * book.shares[i] >= 0
    for name, limit in limits.items():
        if name == "max_position_weight":
            for i in moved:
                assert _kept(after["weights"][i], before["weights"][i], limit.value)
        elif name == "sector_cap":
            for s in book.sector_names:
                assert _kept(after["sectors"][s], before["sectors"][s], limit.value)
        elif name == "max_order_notional_usd":
            for d in decisions:
                price = book.prices[book.symbol_index[d.order.symbol]]
                assert d.approved_shares * price <= limit.value * (1 + SLACK)
        elif name == "max_orders_per_cycle":
            assert sum(d.approved_shares > 0 for d in decisions) <= limit.value
        elif name == "restricted_instruments":
            i = book.symbol_index[limit.symbols[0]]
            assert abs(post[i]) <= abs(book.shares[i]) and post[i] * book.shares[i] >= 0
        else:
            assert _kept(after[name], before[name], limit.value), name
    if state == "ACTIVE" and all(limit.mode == "hard" for limit in limits.values()):
        # Hard limits never resize an order: it passes whole or not at all.
        for d, o in zip(decisions, orders, strict=True):
            assert d.approved_shares in (0, o.quantity_shares)


def test_soft_position_limit_scales_to_the_cap_and_hard_rejects() -> None:
    # NAV 100,000: 400 shares at 50 USD = 20% of NAV; the cap of 10% allows 200 shares.
    book = _book([0, 100], [50.0, 100.0], ["Tech", "Tech"], 90_000.0)
    order = _order(book, 0, 400)
    soft = RiskGate().check(
        [order], book, {"max_position_weight": make_limit("max_position_weight", 0.10, "soft")}
    )
    assert (soft[0].action, soft[0].approved_shares) == ("scaled", 200)
    assert soft[0].limit == "max_position_weight"
    assert soft[0].value == pytest.approx(0.20) and soft[0].threshold == 0.10
    hard = RiskGate().check(
        [order], book, {"max_position_weight": make_limit("max_position_weight", 0.10)}
    )
    assert (hard[0].action, hard[0].approved_shares) == ("rejected", 0)
    assert "above 10.00%" in hard[0].reason


def test_an_order_that_reduces_a_breach_passes() -> None:
    # 300 shares at 100 USD of NAV 100,000 = 30%, over a 10% cap: selling 100 brings it closer.
    book = _book([300], [100.0], ["Tech"], 70_000.0)
    limits = {"max_position_weight": make_limit("max_position_weight", 0.10)}
    sell, buy = _order(book, 0, -100), _order(book, 0, 10)
    assert RiskGate().check([sell], book, limits)[0].action == "passed"
    assert RiskGate().check([buy], book, limits)[0].action == "rejected"


def test_reducing_state_passes_only_what_reduces_and_trims_a_flip() -> None:
    book = _book([100, -50, 0], [10.0, 10.0, 10.0], ["A", "A", "B"], 10_000.0)
    orders = [_order(book, 0, -150, 0), _order(book, 1, 20, 1), _order(book, 2, 5, 2)]
    got = RiskGate().check(orders, book, {}, "REDUCING")
    assert [(d.action, d.approved_shares) for d in got] == [
        ("scaled", 100),  # the sell stops at flat instead of going 50 short
        ("passed", 20),  # covering part of a short reduces it
        ("rejected", 0),  # a new position does not
    ]
    assert all(d.limit == "trading_state" for d in (got[0], got[2]))


def test_soft_notional_limit_keeps_the_whole_shares_that_fit() -> None:
    book = _book([0], [33.0], ["A"], 1_000_000.0)
    got = RiskGate().check(
        [_order(book, 0, 1000)],
        book,
        {"max_order_notional_usd": make_limit("max_order_notional_usd", 10_000, "soft")},
    )
    assert got[0].approved_shares == 303  # floor(10,000 / 33)
    assert got[0].value == pytest.approx(33_000.0)


def test_soft_volatility_budget_scales_the_buys_by_one_fraction() -> None:
    # Two uncorrelated names with 1% daily vol; buying 50% of NAV in each gives an annual
    # volatility of sqrt(2 * 0.5^2 * 0.01^2 * 252) = 11.2%; a 5.6% budget allows half of it.
    returns = np.random.default_rng(3).normal(size=(400, 2))
    covariance = np.diag([1e-4, 1e-4])
    book = _book([0, 0], [100.0, 100.0], ["A", "B"], 100_000.0)
    model = RiskModel(ScenarioRisk(np.arange(2), returns * 0.01, given=covariance))
    budget = 0.5 * np.sqrt(2 * 0.25 * 1e-4 * 252)
    got = RiskGate().check(
        [_order(book, 0, 500, 0), _order(book, 1, 500, 1)],
        book,
        {"volatility": make_limit("volatility", budget, "soft")},
        model=model,
    )
    assert [d.approved_shares for d in got] == [249, 249] or [d.approved_shares for d in got] == [
        250,
        250,
    ]
    assert {d.limit for d in got} == {"volatility"}


def test_order_count_keeps_reducing_orders_then_the_largest() -> None:
    book = _book([100, 0, 0], [10.0, 10.0, 10.0], ["A", "A", "A"], 100_000.0)
    orders = [_order(book, 1, 10, 0), _order(book, 2, 500, 1), _order(book, 0, -50, 2)]
    got = RiskGate().check(
        orders, book, {"max_orders_per_cycle": make_limit("max_orders_per_cycle", 2)}
    )
    assert [d.action for d in got] == ["rejected", "passed", "passed"]
    assert "3 orders this cycle" in got[0].reason


def test_sector_cap_is_checked_per_sector_in_priority_order() -> None:
    # NAV 100,000. Tech at 0; two Tech buys of 30% each against a 40% soft cap: the larger is
    # looked at first and passes whole, the other is cut to the 10% left.
    book = _book([0, 0, 0], [100.0, 100.0, 100.0], ["Tech", "Tech", "Energy"], 100_000.0)
    orders = [_order(book, 0, 300, 0), _order(book, 1, 310, 1), _order(book, 2, 300, 2)]
    got = RiskGate().check(orders, book, {"sector_cap": make_limit("sector_cap", 0.40, "soft")})
    assert [d.approved_shares for d in got] == [90, 310, 300]
    assert got[0].limit == "sector_cap" and "(Tech)" in got[0].reason
