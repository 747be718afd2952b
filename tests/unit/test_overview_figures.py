"""The Overview's figures for a portfolio manager (engine/views/overview.py), against numbers
worked out by hand from a small book."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from engine.model import Event
from engine.performance.turnover import TradeRecord, turnover_report
from engine.snapshot import (
    LimitView,
    NavPoint,
    PortfolioView,
    PositionView,
    RiskAlertView,
    RiskView,
)
from engine.views.overview import (
    TurnoverTracker,
    cash_to_invest_usd,
    drift_from_target,
    overview_view,
    pnl_period,
    pnl_today,
    rebased,
)

DAY = date(2020, 3, 13)
AT = datetime(2026, 1, 1, tzinfo=UTC)


def _book(
    portfolio_id: str = "balanced",
    *,
    nav_usd: str = "1050000.00",
    cash_usd: str = "250000.00",
    initial_nav_usd: str = "1000000.00",
    navs: tuple[float, ...] = (1_000_000.0, 1_040_000.0, 1_050_000.0),
) -> PortfolioView:
    """AAPL $500,000 (target 50%), MSFT $300,000 (target 40%), XOM not held (target 5%), cash
    $250,000 (target 5%), NAV $1,050,000."""
    nav = Decimal(nav_usd)
    positions = (
        PositionView("AAPL", "IT", 2500, Decimal(200), Decimal(500_000), 500_000 / 1_050_000, 0.50),
        PositionView("MSFT", "IT", 1000, Decimal(300), Decimal(300_000), 300_000 / 1_050_000, 0.40),
        PositionView("XOM", "Energy", 0, Decimal(80), Decimal(0), 0.0, 0.05),
    )
    history = tuple(
        NavPoint(DAY - timedelta(days=len(navs) - 1 - k), value, 0.0)
        for k, value in enumerate(navs)
    )
    return PortfolioView(
        portfolio_id,
        portfolio_id.title(),
        (),
        nav,
        Decimal(cash_usd),
        Decimal(initial_nav_usd),
        positions,
        0.05,
        history,
        0,
        0,
    )


def test_todays_pnl_is_the_nav_change_on_the_latest_market_date() -> None:
    market_date, usd, fraction = pnl_today(_book())
    assert market_date == DAY
    assert usd == Decimal("10000.00")  # 1,050,000 - 1,040,000
    assert fraction == pytest.approx(10_000 / 1_040_000)


def test_on_the_first_day_todays_pnl_is_against_the_starting_capital() -> None:
    _, usd, fraction = pnl_today(_book(navs=(990_000.0,), nav_usd="990000.00"))
    assert usd == Decimal("-10000.00")
    assert fraction == pytest.approx(-0.01)


def test_no_pnl_today_before_the_first_cycle() -> None:
    assert pnl_today(_book(navs=())) == (None, None, None)


def test_the_periods_pnl_is_nav_less_the_starting_capital() -> None:
    usd, fraction = pnl_period(_book())
    assert usd == Decimal("50000.00")
    assert fraction == pytest.approx(0.05)


def test_drift_is_half_the_absolute_weight_gaps_including_cash() -> None:
    # Weights: AAPL 0.476190, MSFT 0.285714, XOM 0, cash 0.238095; targets .50 .40 .05 .05.
    gaps = abs(500 / 1050 - 0.50) + abs(300 / 1050 - 0.40) + abs(0 - 0.05) + abs(250 / 1050 - 0.05)
    assert drift_from_target(_book()) == pytest.approx(gaps / 2)
    assert drift_from_target(_book()) == pytest.approx(0.188095, abs=1e-6)


def test_cash_to_invest_is_the_cash_above_its_target_weight() -> None:
    # 250,000 - 5% of 1,050,000 = 197,500.
    assert cash_to_invest_usd(_book()) == Decimal("197500.00")
    # Cash below target: nothing to invest, never a negative amount.
    assert cash_to_invest_usd(_book(cash_usd="40000.00")) == Decimal("0")


def test_nav_rebased_to_100_at_the_start_compares_books_of_any_size() -> None:
    big = [NavPoint(DAY, nav, 0.0) for nav in (2_500_000.0, 2_750_000.0, 2_250_000.0)]
    small = [NavPoint(DAY, nav, 0.0) for nav in (500_000.0, 550_000.0, 450_000.0)]
    assert rebased(big, Decimal("2500000")) == [100.0, 110.0, 90.0]
    assert rebased(small, Decimal("500000")) == [100.0, 110.0, 90.0]
    with pytest.raises(ValueError, match="start_nav_usd"):
        rebased(big, 0)


def _filled(pid: str, day: date, shares: int, price: str, seq: int) -> Event:
    return Event(
        f"f{seq}",
        "OrderFilled",
        AT,
        "engine",
        {"quantity_shares": shares, "price_usd": price, "market_date": day.isoformat()},
        pid,
    )


def _closed(day: date, navs: dict[str, str]) -> Event:
    return Event(
        f"c{day}",
        "CycleCompleted",
        AT,
        "engine",
        {"market_date": day.isoformat(), "valuation_usd": {p: [n, "0"] for p, n in navs.items()}},
    )


def test_running_turnover_is_traded_over_average_nav_per_year() -> None:
    tracker = TurnoverTracker()
    # Two days: $60,000 bought then $40,000 sold on a book worth $1.0M and $1.2M.
    tracker.observe(_filled("b", DAY, 300, "200.00", 1))
    tracker.observe(_closed(DAY, {"b": "1000000"}))
    tracker.observe(_filled("b", DAY + timedelta(days=1), 200, "200.00", 2))
    tracker.observe(_closed(DAY + timedelta(days=1), {"b": "1200000"}))
    figures = tracker.figures("b")
    assert figures.traded_usd == Decimal("100000.00")
    assert figures.average_nav_usd == Decimal("1100000")
    # 100,000 / 1,100,000 per 2/252 of a year = 11.4545... times NAV a year.
    assert figures.annual_turnover == pytest.approx(100_000 / 1_100_000 / (2 / 252))
    assert figures.since == DAY
    assert tracker.figures("unknown").annual_turnover is None


def test_running_turnover_agrees_with_the_turnover_report_over_all_fills() -> None:
    rng = random.Random(7)
    tracker = TurnoverTracker()
    trades, days, navs = [], [], []
    for k in range(40):
        day = DAY + timedelta(days=k)
        for j in range(rng.randrange(4)):
            shares, price = rng.randrange(1, 500), f"{rng.uniform(10, 400):.4f}"
            tracker.observe(_filled("g", day, shares, price, k * 10 + j))
            notional = float(Decimal(shares) * Decimal(price))
            trades.append(TradeRecord(day, f"o{k}-{j}", "AAPL", "BUY", notional))
        nav = f"{rng.uniform(0.9e6, 1.1e6):.2f}"
        tracker.observe(_closed(day, {"g": nav}))
        days.append(day)
        navs.append(float(nav))
    report = turnover_report(trades, days, navs)
    assert tracker.figures("g").annual_turnover == pytest.approx(report.annual_turnover, rel=1e-9)


def _limit(name: str, level: str) -> LimitView:
    return LimitView(name, "fraction", 0.1, "max", 0.8, "halt", 1, "portfolio", "risk", level=level)


def _risk(pid: str, *levels: str) -> RiskView:
    zero = 0.0
    return RiskView(
        pid, DAY, *(zero,) * 13, (), (), (),
        limits=tuple(_limit(f"limit{k}", level) for k, level in enumerate(levels)),
    )  # fmt: skip


def _alert(pid: str, level: str) -> RiskAlertView:
    return RiskAlertView(f"{pid}-{level}", pid, "max_drawdown", level, 0.3, 0.25, 1.2, DAY, "")


def test_the_overview_totals_aum_pnl_cash_and_alerts_over_every_book() -> None:
    small = replace(
        _book("income", nav_usd="495000.00", cash_usd="20000.00", initial_nav_usd="500000.00"),
        nav_history=(
            NavPoint(DAY - timedelta(days=1), 500_000.0, 0.0),
            NavPoint(DAY, 495_000.0, 0.0),
        ),
    )
    view = overview_view(
        (_book(), small),
        (_alert("balanced", "breach"), _alert("balanced", "warning"), _alert("income", "warning")),
        (_risk("balanced", "breach", "ok"), _risk("income", "warning")),
        TurnoverTracker(),
        DAY,
    )
    assert view.aum_usd == Decimal("1545000.00")
    assert view.pnl_today_usd == Decimal("5000.00")  # +10,000 and -5,000
    assert view.pnl_today_pct == pytest.approx(5_000 / 1_540_000)
    assert view.pnl_period_usd == Decimal("45000.00")  # +50,000 and -5,000
    assert view.pnl_period_pct == pytest.approx(45_000 / 1_500_000)
    # 197,500 and nothing (20,000 is below 5% of 495,000 = 24,750).
    assert view.cash_to_invest_usd == Decimal("197500.00")
    assert (view.alerts, view.breaches) == (3, 1)
    assert [(b.portfolio_id, b.alerts, b.breaches) for b in view.books] == [
        ("balanced", 2, 1),
        ("income", 1, 0),
    ]


def test_a_follower_counts_breaches_from_its_open_breach_alerts() -> None:
    # A Pulsar follower has no limit levels, only the alerts the engine raised and cleared.
    alerts = (
        _alert("balanced", "breach"),
        _alert("balanced", "warning"),
        _alert("income", "breach"),
    )
    income = _book("income", nav_usd="495000.00", cash_usd="20000.00")
    view = overview_view(
        (_book(), income), alerts, (), TurnoverTracker(), DAY, breaches_from_alerts=True
    )
    assert [(b.portfolio_id, b.alerts, b.breaches) for b in view.books] == [
        ("balanced", 2, 1),
        ("income", 1, 1),
    ]
    assert (view.alerts, view.breaches) == (3, 2)
    # Without limit levels and without the follower's rule, no breach would show at all.
    assert overview_view((_book(), income), alerts, (), TurnoverTracker(), DAY).breaches == 0
