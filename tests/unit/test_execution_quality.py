"""Execution quality over a date range, from a hand-made event log."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from engine.model import Event
from engine.performance.execution_quality import ExecutionLog, quality_by


def _event(kind: str, portfolio: str | None, **payload: object) -> Event:
    return Event(
        f"{kind}-{len(payload)}",
        kind,
        datetime(2024, 1, 2, tzinfo=UTC),
        "engine",
        payload,
        portfolio,
    )


def _shortfall(
    notional: str, delay: str, spread: str, impact: str, commission: str, opportunity: str = "0"
) -> dict[str, str]:
    total = sum(Decimal(x) for x in (delay, spread, impact, commission, opportunity))
    return {
        "decision_notional_usd": notional,
        "delay_usd": delay,
        "timing_usd": "0",
        "spread_usd": spread,
        "impact_usd": impact,
        "commission_usd": commission,
        "opportunity_usd": opportunity,
        "total_usd": str(total),
    }


def _log() -> ExecutionLog:
    log = ExecutionLog()
    events = [
        _event(
            "OrderCreated",
            "p1",
            order_id="a",
            symbol="X",
            side="BUY",
            quantity_shares=1000,
            algorithm="TWAP",
        ),
        _event(
            "OrderCreated",
            "p2",
            order_id="b",
            symbol="X",
            side="SELL",
            quantity_shares=400,
            algorithm="IMMEDIATE",
        ),
        _event(
            "OrderCreated",
            "p1",
            order_id="c",
            symbol="Y",
            side="BUY",
            quantity_shares=100,
            algorithm="IMMEDIATE",
        ),
        _event(
            "CrossExecuted",
            None,
            market_date="2024-01-03",
            symbol="X",
            quantity_shares=300,
            savings_usd={"p1": "4.50", "p2": "4.50"},
        ),
        _event("OrderFilled", "p1", order_id="a", quantity_shares=600, market_date="2024-01-03"),
        _event(
            "OrderFilled",
            "p2",
            order_id="b",
            quantity_shares=400,
            market_date="2024-01-03",
            state="FILLED",
            shortfall=_shortfall("8000", "4", "2", "1", "1"),
        ),
        _event("OrderFilled", "p1", order_id="a", quantity_shares=300, market_date="2024-01-04"),
        # The TWAP order's last 100 shares found no volume: cancelled, with an opportunity cost.
        _event(
            "OrderCompleted",
            "p1",
            order_id="a",
            symbol="X",
            state="CANCELLED",
            market_date="2024-01-04",
            shortfall=_shortfall("20000", "10", "6", "3", "2", "5"),
        ),
        _event(
            "OrderFilled",
            "p1",
            order_id="c",
            quantity_shares=100,
            market_date="2024-01-05",
            state="FILLED",
            shortfall=_shortfall("2000", "-1", "1", "0", "1"),
        ),
    ]
    for event in events:
        log.observe(event)
    return log


def test_quality_by_algorithm_portfolio_and_instrument() -> None:
    log = _log()
    orders, savings = log.orders(), log.savings()
    assert list(orders["order_id"]) == ["b", "a", "c"]
    twap = quality_by(orders, savings, "algorithm").set_index("algorithm").loc["TWAP"]
    assert twap["orders"] == 1 and twap["cancelled"] == 1
    assert twap["fill_rate"] == pytest.approx(0.9)
    assert twap["total_usd"] == 26.0 and twap["total_bps"] == pytest.approx(13.0)
    assert twap["opportunity_bps"] == pytest.approx(2.5)
    by_portfolio = quality_by(orders, savings, "portfolio").set_index("portfolio")
    # p1: orders a and c, 22,000 of decision notional, 26 + 1 of shortfall.
    assert by_portfolio.loc["p1", "decision_notional_usd"] == 22000.0
    assert by_portfolio.loc["p1", "total_bps"] == pytest.approx(27 / 22000 * 10_000, abs=1e-3)
    assert by_portfolio.loc["p1", "fill_rate"] == pytest.approx(1000 / 1100)
    assert by_portfolio.loc["p2", "crossing_saving_usd"] == 4.5
    by_symbol = quality_by(orders, savings, "symbol").set_index("symbol")
    assert by_symbol.loc["X", "crossing_saving_usd"] == 9.0
    assert by_symbol.loc["Y", "spread_usd"] == 1.0
    with pytest.raises(ValueError, match="group: 'side' must be one of"):
        quality_by(orders, savings, "side")


def test_a_date_range_keeps_the_orders_completed_in_it() -> None:
    log = _log()
    assert list(log.orders(end=date(2024, 1, 3))["order_id"]) == ["b"]
    assert list(log.orders(start=date(2024, 1, 4))["order_id"]) == ["a", "c"]
    assert log.savings(start=date(2024, 1, 4)).empty
    assert quality_by(log.orders(start=date(2025, 1, 1)), log.savings(), "portfolio").empty


def test_a_restarted_replay_starts_the_figures_again() -> None:
    log = _log()
    log.observe(_event("ReplayRestarted", None, first_trading_date="2024-02-01", portfolios={}))
    assert log.orders().empty and log.savings().empty
