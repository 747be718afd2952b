"""The follower's read side, fed events directly (the Pulsar path is in tests/integration)."""

from datetime import UTC, datetime

import pytest

from engine.commands import CommandRefused, Pause
from engine.events.pulsar_bus import PulsarSettings
from engine.follower import FollowedEventLog, PulsarFollower
from engine.model import Event, Instrument
from engine.snapshot import EngineStatus

T = datetime(2024, 1, 2, tzinfo=UTC)


def _event(seq: int, kind: str, payload: dict, portfolio: str | None = None) -> Event:
    return Event(f"e{seq}", kind, T, "engine", payload, portfolio, seq=seq)


def test_the_followed_log_answers_queries_like_the_store() -> None:
    log = FollowedEventLog()
    for seq in (3, 1, 2, 4):
        log.add(_event(seq, "A" if seq < 3 else "B", {}, "p1" if seq % 2 else "p2"))
    assert [e.seq for e in log.query()] == [4, 3, 2, 1]
    assert [e.seq for e in log.query(portfolio_id="p1")] == [3, 1]
    assert [e.seq for e in log.query(event_type="B", before_seq=4)] == [3]
    assert log.event_types() == ["A", "B"]


def test_a_follower_folds_the_books_and_refuses_commands() -> None:
    follower = PulsarFollower(PulsarSettings(), (Instrument("AAA", "Energy"),))
    events = [
        _event(
            1,
            "PortfolioOpened",
            {"portfolio_id": "p1", "name": "One", "initial_cash_usd": "1000.00"},
            "p1",
        ),
        _event(2, "EngineStarted", {"speed_days_per_second": 5.0}),
        _event(
            3,
            "OrderCreated",
            {
                "order_id": "o1",
                "symbol": "AAA",
                "side": "BUY",
                "quantity_shares": 10,
                "decision_price_usd": "9.0000",
                "market_date": "2024-01-02",
            },
            "p1",
        ),
        _event(
            4,
            "OrderFilled",
            {
                "order_id": "o1",
                "fill_id": "f1",
                "symbol": "AAA",
                "side": "BUY",
                "quantity_shares": 10,
                "price_usd": "10.0000",
                "commission_usd": "1.00",
                "cash_change_usd": "-101.00",
                "market_date": "2024-01-03",
            },
            "p1",
        ),
        _event(
            5,
            "CycleCompleted",
            {
                "cycle": 2,
                "market_date": "2024-01-03",
                "orders": 0,
                "fills": 1,
                "failed": False,
                "valuation_usd": {"p1": ["999.00", "899.00"]},
            },
        ),
    ]
    for event in events:
        follower.apply(event)
    snapshot = follower.build_snapshot()
    (view,) = snapshot.portfolios
    assert (view.name, str(view.nav_usd), str(view.cash_usd)) == ("One", "999.00", "899.00")
    assert [(p.symbol, p.quantity_shares, str(p.price_usd)) for p in view.positions] == [
        ("AAA", 10, "10.0000")
    ]
    assert snapshot.status is EngineStatus.RUNNING and snapshot.cycles_completed == 2
    # The Overview's figures, from the followed events alone: $100 traded on one day of a
    # $999 book is 100 / 999 x 252 times NAV a year; 999 - 1,000 lost since the start.
    (book,) = snapshot.overview.books
    assert book.annual_turnover == pytest.approx(100 / 999 * 252)
    assert (str(book.pnl_today_usd), str(book.pnl_period_usd)) == ("-1.00", "-1.00")
    with pytest.raises(CommandRefused, match="read-only"):
        follower.submit(Pause("alice", "from the follower"))
