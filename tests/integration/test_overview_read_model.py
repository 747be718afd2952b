"""The Overview's figures on a real engine agree with the same figures computed afresh from the
stored events: annual turnover with the replay report's (engine/performance/turnover.py) over
every fill, today's and the period's P&L with the stored valuations, AUM with the NAVs."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from engine.assembly import build_engine
from engine.config import load_config
from engine.performance.turnover import TradeRecord, turnover_report
from engine.snapshot import EngineStatus

START, END = date(2006, 1, 3), date(2006, 3, 31)


def test_the_overview_agrees_with_the_stored_events(tmp_path: Path) -> None:
    parts = build_engine(load_config(), f"sqlite:///{tmp_path}/events.db", START, END)
    coordinator = parts.coordinator
    for tick in parts.feed:
        assert coordinator.run_cycle(tick).error is None
    overview = coordinator.build_snapshot(EngineStatus.FINISHED, 0.0).overview
    assert overview is not None

    trades: dict[str, list[TradeRecord]] = defaultdict(list)
    for event in parts.store.query(event_type="OrderFilled", limit=1_000_000):
        p = event.payload
        notional = float(Decimal(p["quantity_shares"]) * Decimal(p["price_usd"]))
        trades[event.portfolio_id or ""].append(
            TradeRecord(p["market_date"], p["order_id"], p["symbol"], p["side"], notional)
        )
    closes = parts.store.query(event_type="CycleCompleted", limit=1_000_000)[::-1]
    days = [event.payload["market_date"] for event in closes]
    assert len(days) > 40
    assert overview.market_date == date.fromisoformat(days[-1])

    for book in overview.books:
        navs = [Decimal(event.payload["valuation_usd"][book.portfolio_id][0]) for event in closes]
        report = turnover_report(trades[book.portfolio_id], days, [float(n) for n in navs])
        assert report.annual_turnover > 0
        assert book.annual_turnover == pytest.approx(report.annual_turnover, rel=1e-9)
        assert book.turnover_since == START
        assert book.pnl_date == overview.market_date
        assert book.pnl_today_usd == (navs[-1] - navs[-2]).quantize(Decimal("0.01"))
        start = coordinator.state.initial_cash_usd[book.portfolio_id]
        assert book.pnl_period_usd == (navs[-1] - start).quantize(Decimal("0.01"))
        assert 0 <= book.drift <= 1
    assert overview.aum_usd == sum(
        (
            Decimal(nav).quantize(Decimal("0.01"))
            for nav, _ in closes[-1].payload["valuation_usd"].values()
        ),
        Decimal(0),
    )
