"""A run's figures folded from its event log, a restart included."""

from datetime import UTC, date, datetime

import pytest

from engine.config import load_config
from engine.model import Event
from engine.performance.run_log import RunLog


def _event(kind: str, portfolio: str | None = None, **payload: object) -> Event:
    return Event(f"{kind}", kind, datetime(2024, 1, 2, tzinfo=UTC), "engine", payload, portfolio)


def _cycle(day: str, nav: str, failed: bool = False) -> Event:
    return _event(
        "CycleCompleted", market_date=day, failed=failed, valuation_usd={"growth": [nav, "0.00"]}
    )


def _fill(day: str, side: str, shares: int) -> Event:
    return _event(
        "OrderFilled",
        "growth",
        order_id="o1",
        symbol="AAPL",
        side=side,
        quantity_shares=shares,
        price_usd="5.0000",
        commission_usd="1.00",
        market_date=day,
    )


def _opened(cash: str) -> Event:
    return _event("PortfolioOpened", "growth", portfolio_id="growth", initial_cash_usd=cash)


def test_nav_fills_and_opening_cash_after_a_restart() -> None:
    log = RunLog()
    growth = load_config().portfolios[0]
    for event in (
        _opened("100.00"),
        _cycle("2024-01-02", "101.00"),
        _event(
            "ReplayRestarted",
            first_trading_date="2024-01-03",
            portfolios={"growth": {"initial_cash_usd": "200.00", "allow_short": False}},
        ),
        _cycle("2024-01-03", "210.00"),
        _fill("2024-01-04", "SELL", 2),
        _cycle("2024-01-04", "205.00", failed=True),
    ):
        log.observe(event)
    assert (log.cycles, log.failed_cycles) == (2, 1)
    assert (log.first_date, log.last_date) == ("2024-01-03", "2024-01-04")
    assert log.nav_rows == [
        ("2024-01-03", "growth", "210.00", "0.00"),
        ("2024-01-04", "growth", "205.00", "0.00"),
    ]
    run = log.portfolio_run(growth)
    assert run.opening_nav_usd == 200.0
    assert run.nav_usd.tolist() == [210.0, 205.0]
    assert run.fills.to_dict("records") == [
        {"date": "2024-01-04", "symbol": "AAPL", "signed_shares": -2}
    ]
    assert log.trades("growth")[0].notional_usd == pytest.approx(10.0)


def test_a_date_range_opens_at_the_close_before_it() -> None:
    log = RunLog()
    growth = load_config().portfolios[0]
    for event in (
        _opened("100.00"),
        _cycle("2024-01-02", "101.00"),
        _fill("2024-01-02", "BUY", 3),
        _cycle("2024-01-03", "102.00"),
        _cycle("2024-01-04", "99.00"),
    ):
        log.observe(event)
    run = log.portfolio_run(growth, date(2024, 1, 3), date(2024, 1, 3))
    assert run.opening_nav_usd == 101.0
    assert run.nav_usd.tolist() == [102.0]
    # The fill before the range stays: it is what the range starts holding.
    assert run.fills["signed_shares"].tolist() == [3]
    assert log.portfolio_run(growth, end=date(2024, 1, 2)).nav_usd.tolist() == [101.0]


def test_a_target_carries_its_scaling_lineage_and_what_the_gate_withheld() -> None:
    log = RunLog()
    log.observe(_opened("1000000"))
    log.observe(_event("AllocationScaled", "growth", market_date="2024-01-02", factor=0.8))
    log.observe(
        _event(
            "TargetWeightsSet",
            "growth",
            market_date="2024-01-02",
            weights={"AAPL": 0.4, "MSFT": 0.3},
            optimised={"AAPL": 0.5, "MSFT": 0.375},
            lineage={"momentum/1m": [0.25, 1.0], "mean_reversion/1w": [0.75, 0.0]},
        )
    )
    # The gate rejected a 1,000-share buy of AAPL at 100 and scaled a sale of MSFT from 500 to
    # 300 shares at 200: 100,000 and -40,000 USD withheld, of a NAV of 2,000,000.
    log.observe(
        _event(
            "OrderRejected",
            "growth",
            symbol="AAPL",
            side="BUY",
            decision_price_usd="100.00",
            check="pre-trade",
            requested_shares=1000,
            approved_shares=0,
        )
    )
    log.observe(
        _event(
            "OrderCreated",
            "growth",
            order_id="growth-00000001-0001",
            symbol="MSFT",
            side="SELL",
            decision_price_usd="200.00",
            quantity_shares=300,
            risk_check={"requested_shares": 500, "approved_shares": 300},
        )
    )
    log.observe(_cycle("2024-01-02", "2000000.00"))
    (target,) = log.targets["growth"]
    assert target.scale == 0.8
    assert target.optimised == {"AAPL": 0.5, "MSFT": 0.375}
    assert target.lineage == {
        "AAPL": {"momentum/1m": 0.25, "mean_reversion/1w": 0.75},
        "MSFT": {"momentum/1m": 1.0},
    }
    assert target.gate_withheld == pytest.approx({"AAPL": 0.05, "MSFT": -0.02})


def test_an_undated_gate_event_takes_its_cycles_date() -> None:
    log = RunLog()
    log.observe(_cycle("2024-01-02", "100.00"))
    rejected = _event("OrderRejected", "growth", symbol="AAPL", side="BUY", reason="limit")
    log.observe(rejected)
    log.observe(_cycle("2024-01-03", "101.00"))
    dated = dict(zip((e.type for e in log.gate_events), log.gate_event_dates, strict=True))
    assert dated["OrderRejected"] == "2024-01-03"
    assert log.gate_event_dates == ["2024-01-02", "2024-01-03", "2024-01-03"]
