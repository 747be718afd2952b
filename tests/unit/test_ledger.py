"""The ledger is exact and refuses any fill that would break an invariant."""

import hashlib
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from engine.events.store import SqlEventStore
from engine.model import Event, Fill, Position, Side
from engine.state.consistency import _invariants, check_consistency
from engine.state.engine_state import STATE_FORMAT_VERSION, EngineState
from engine.state.ledger import Ledger, LedgerError, TaxLot
from engine.state.repository import StateRepository, snapshots_table

DAY = date(2024, 1, 2)


def _fill(side: Side, quantity: int, price: str, commission: str = "1.00", n: int = 0) -> Fill:
    return Fill(
        f"f{n}", f"o{n}", "p1", "AAA", side, quantity, Decimal(price), Decimal(commission), DAY
    )


def test_buy_then_sell_moves_cash_and_shares_exactly() -> None:
    ledger = Ledger({"p1": Decimal("1000")})
    ledger.apply(_fill(Side.BUY, 3, "33.3333", n=1))
    assert ledger.cash_usd("p1") == Decimal("1000") - Decimal("100.00") - Decimal("1.00")
    ledger.apply(_fill(Side.SELL, 3, "40.0050", n=2))
    assert ledger.cash_usd("p1") == Decimal("899.00") + Decimal("120.02") - Decimal("1.00")
    assert ledger.shares("p1", "AAA") == 0
    assert ledger.positions("p1") == []


def test_nav_is_cash_plus_marked_positions() -> None:
    ledger = Ledger({"p1": Decimal("1000")})
    ledger.apply(_fill(Side.BUY, 10, "50", n=1))
    ledger.mark(["AAA"], np.array([55.125]))
    assert ledger.nav_usd("p1") == Decimal("499.00") + Decimal("551.25")


def test_nav_follows_every_change_of_marks_fills_and_interest() -> None:
    # NAV is kept between changes; each kind of change must show in the next answer.
    ledger = Ledger({"p1": Decimal("1000"), "p2": Decimal("500")})
    ledger.apply(_fill(Side.BUY, 10, "50", n=1))
    ledger.mark(["AAA"], np.array([55.125]))
    assert ledger.nav_usd("p1") == Decimal("1050.25") and ledger.nav_usd("p2") == 500
    ledger.mark(["AAA"], np.array([60.0]))
    assert ledger.nav_usd("p1") == Decimal("499.00") + Decimal("600.00")
    ledger.apply(_fill(Side.SELL, 4, "60", n=2))
    assert ledger.nav_usd("p1") == Decimal("499.00") + Decimal("239.00") + Decimal("360.00")
    ledger.credit_interest("p1", Decimal("0.07"), DAY)
    assert ledger.nav_usd("p1") == Decimal("1098.07")
    assert ledger.nav_usd("p2") == 500


def test_shares_vector_places_each_holding_at_its_symbol() -> None:
    ledger = Ledger({"p1": Decimal("10000")})
    ledger.apply(_fill(Side.BUY, 7, "50", n=1))
    universe = ("ZZZ", "AAA", "BBB")
    assert ledger.shares_vector("p1", universe).tolist() == [0, 7, 0]
    assert ledger.shares_vector("p1", ("AAA", "AAA")).tolist() == [7, 7]
    assert ledger.shares_vector("p1", ("BBB",)).tolist() == [0]


def test_fill_that_would_overdraw_cash_is_refused_and_nothing_changes() -> None:
    ledger = Ledger({"p1": Decimal("100")})
    with pytest.raises(LedgerError, match=r"cash would become USD -1\.00"):
        ledger.apply(_fill(Side.BUY, 1, "100"))
    assert ledger.cash_usd("p1") == Decimal("100.00")
    assert ledger.shares("p1", "AAA") == 0


def test_selling_more_than_held_is_refused() -> None:
    ledger = Ledger({"p1": Decimal("100")})
    with pytest.raises(LedgerError, match="only 0 held"):
        ledger.apply(_fill(Side.SELL, 1, "10"))


def test_fill_for_an_unknown_portfolio_is_refused() -> None:
    ledger = Ledger({"p2": Decimal("100")})
    with pytest.raises(LedgerError, match="unknown portfolio_id 'p1'"):
        ledger.apply(_fill(Side.BUY, 1, "1"))


# -- short positions --------------------------------------------------------------------------


def _short_ledger(cash: str = "1000") -> Ledger:
    return Ledger({"p1": Decimal(cash)}, allow_short=True)


def test_a_long_only_portfolio_refuses_a_sell_beyond_holdings_and_changes_nothing() -> None:
    ledger = Ledger({"p1": Decimal("1000")})
    assert not ledger.allows_short("p1")
    ledger.apply(_fill(Side.BUY, 10, "10", n=1))
    before = ledger.to_dict()
    with pytest.raises(
        LedgerError, match=r"fill f2: selling 15 AAA but only 10 held .*not allowed in portfolio p1"
    ):
        ledger.apply(_fill(Side.SELL, 15, "12", n=2))
    assert ledger.to_dict() == before


def test_short_sale_credits_proceeds_and_opens_a_short_lot() -> None:
    ledger = _short_ledger()
    ledger.apply(_fill(Side.SELL, 10, "50", n=1))
    assert ledger.cash_usd("p1") == Decimal("1499.00")  # 1000 + 10 x 50 - 1 commission
    assert ledger.shares("p1", "AAA") == -10
    assert ledger.holdings() == {("p1", "AAA"): -10}
    assert ledger.shares_vector("p1", ("BBB", "AAA")).tolist() == [0, -10]
    assert ledger.lots("p1", "AAA") == [TaxLot("f1", 10, Decimal("50"), DAY, short=True)]
    assert ledger.lots("p1", "AAA")[0].signed_quantity_shares == -10
    assert ledger.realised_pnl_usd("p1") == Decimal("0.00")


def test_covering_a_short_books_open_price_minus_cover_price_times_shares() -> None:
    ledger = _short_ledger()
    ledger.apply(_fill(Side.SELL, 10, "50", n=1))
    ledger.apply(_fill(Side.BUY, 4, "45", n=2))
    # (50 - 45) x 4 = 20 gained; cash 1499 - 180 - 1
    assert ledger.realised_pnl_usd("p1") == Decimal("20.00")
    assert ledger.cash_usd("p1") == Decimal("1318.00")
    assert ledger.shares("p1", "AAA") == -6
    assert ledger.lots("p1", "AAA") == [TaxLot("f1", 6, Decimal("50"), DAY, short=True)]
    ledger.apply(_fill(Side.BUY, 6, "52", n=3))
    # (50 - 52) x 6 = -12 lost; cash 1318 - 312 - 1
    assert ledger.realised_pnl_usd("p1") == Decimal("8.00")
    assert ledger.cash_usd("p1") == Decimal("1005.00")
    assert ledger.holdings_of("p1") == {}
    assert ledger.lots("p1", "AAA") == []
    # Over the round trip cash moved by the gross P&L less three commissions.
    assert ledger.cash_usd("p1") - Decimal("1000") == Decimal("8.00") - 3 * Decimal("1.00")


def test_covers_relieve_short_lots_first_in_first_out() -> None:
    ledger = _short_ledger()
    ledger.apply(_fill(Side.SELL, 5, "20", n=1))
    ledger.apply(_fill(Side.SELL, 5, "30", n=2))
    ledger.apply(_fill(Side.BUY, 7, "25", n=3))
    # 5 of f1: (20 - 25) x 5 = -25; 2 of f2: (30 - 25) x 2 = 10
    assert ledger.realised_pnl_usd("p1") == Decimal("-15.00")
    assert ledger.lots("p1", "AAA") == [TaxLot("f2", 3, Decimal("30"), DAY, short=True)]
    assert ledger.shares("p1", "AAA") == -3


def test_a_sell_through_zero_closes_the_long_lots_then_opens_a_short_lot() -> None:
    ledger = _short_ledger()
    ledger.apply(_fill(Side.BUY, 10, "10", n=1))
    ledger.apply(_fill(Side.SELL, 15, "12", n=2))
    assert ledger.realised_pnl_usd("p1") == Decimal("20.00")  # (12 - 10) x 10
    assert ledger.cash_usd("p1") == Decimal("1078.00")  # 1000 - 101 + 180 - 1
    assert ledger.shares("p1", "AAA") == -5
    assert ledger.lots("p1", "AAA") == [TaxLot("f2", 5, Decimal("12"), DAY, short=True)]


def test_a_buy_through_zero_covers_the_short_lots_then_opens_a_long_lot() -> None:
    ledger = _short_ledger()
    ledger.apply(_fill(Side.SELL, 5, "12", n=1))
    ledger.apply(_fill(Side.BUY, 8, "11", n=2))
    assert ledger.realised_pnl_usd("p1") == Decimal("5.00")  # (12 - 11) x 5
    assert ledger.cash_usd("p1") == Decimal("970.00")  # 1000 + 59 - 89
    assert ledger.shares("p1", "AAA") == 3
    assert ledger.lots("p1", "AAA") == [TaxLot("f2", 3, Decimal("11"), DAY, short=False)]


def test_a_cover_that_would_overdraw_cash_is_refused_and_the_short_stays() -> None:
    ledger = _short_ledger("0")
    ledger.apply(_fill(Side.SELL, 10, "10", n=1))
    assert ledger.cash_usd("p1") == Decimal("99.00")
    before = ledger.to_dict()
    with pytest.raises(LedgerError, match=r"cash would become USD -22\.00"):
        ledger.apply(_fill(Side.BUY, 10, "12", n=2))  # 99 - 120 - 1
    assert ledger.to_dict() == before
    assert ledger.shares("p1", "AAA") == -10


def test_a_short_sale_whose_commission_overdraws_cash_is_refused() -> None:
    ledger = _short_ledger("0")
    with pytest.raises(LedgerError, match=r"cash would become USD -0\.50"):
        ledger.apply(_fill(Side.SELL, 1, "0.50", n=1))
    assert ledger.holdings_of("p1") == {}
    assert ledger.lots("p1", "AAA") == []


def test_nav_counts_a_short_position_at_minus_its_marked_value() -> None:
    ledger = _short_ledger()
    ledger.apply(_fill(Side.SELL, 10, "50", n=1))
    ledger.mark(["AAA"], np.array([55.125]))
    assert ledger.positions("p1") == [Position("AAA", -10, Decimal("55.125"))]
    assert ledger.nav_usd("p1") == Decimal("1499.00") - Decimal("551.25")


def test_shorts_and_the_short_flag_survive_a_json_round_trip_exactly() -> None:
    ledger = Ledger({"long": Decimal("500")})
    ledger.open_portfolio("p1", Decimal("1000"), allow_short=True)
    ledger.apply(_fill(Side.SELL, 5, "20.0001", n=1))
    ledger.apply(_fill(Side.SELL, 5, "30", n=2))
    data = ledger.to_dict()
    assert data["p1"]["allow_short"] is True and data["long"]["allow_short"] is False
    assert data["p1"]["shares"] == {"AAA": -10}
    assert data["p1"]["lots"]["AAA"][0] == ["f1", 5, "20.0001", "2024-01-02", "SHORT"]
    restored = Ledger.from_dict(json.loads(json.dumps(data)))
    assert restored.to_dict() == data
    assert restored.allows_short("p1") and not restored.allows_short("long")
    # The restored books behave as the originals: the same cover books the same P&L.
    for books in (ledger, restored):
        books.apply(_fill(Side.BUY, 6, "25", n=3))
    # (20.0001 - 25) x 5 + (30 - 25) x 1 = -19.9995, to the cent -20.00
    assert restored.realised_pnl_usd("p1") == ledger.realised_pnl_usd("p1") == Decimal("-20.00")
    assert restored.to_dict() == ledger.to_dict()
    with pytest.raises(LedgerError, match="only 0 held"):
        restored.apply(
            Fill("f4", "o4", "long", "AAA", Side.SELL, 1, Decimal("1"), Decimal("0"), DAY)
        )


def test_lots_written_before_shorts_existed_load_as_long_lots() -> None:
    old = {
        "p1": {
            "cash_usd": "899.00",
            "realised_pnl_usd": "0.00",
            "shares": {"AAA": 10},
            "lots": {"AAA": [["f1", 10, "10", "2024-01-02"]]},
        }
    }
    ledger = Ledger.from_dict(old)
    assert ledger.lots("p1", "AAA") == [TaxLot("f1", 10, Decimal("10"), DAY, short=False)]
    assert not ledger.allows_short("p1")
    assert ledger.pending_settlements("p1") == []
    assert ledger.interest_income_usd("p1") == Decimal("0.00")


# -- engine state and consistency with shorts -------------------------------------------------


def _event(n: int, kind: str, payload: dict[str, Any], pid: str | None = "s") -> Event:
    return Event(f"e{n}", kind, datetime(2024, 1, 2, 12, 0, n, tzinfo=UTC), "engine", payload, pid)


def _opened(n: int, pid: str, cash: str, **extra: Any) -> Event:
    return _event(
        n, "PortfolioOpened", {"portfolio_id": pid, "initial_cash_usd": cash, **extra}, pid
    )


def _filled(n: int, pid: str, side: str, quantity: int, price: str) -> Event:
    payload = {
        "fill_id": f"f{n}",
        "order_id": f"o{n}",
        "symbol": "AAA",
        "side": side,
        "quantity_shares": quantity,
        "price_usd": price,
        "commission_usd": "1.00",
        "market_date": "2024-01-02",
    }
    return _event(n, "OrderFilled", payload, pid)


def test_the_fold_opens_a_short_position_only_where_the_opening_event_allows_it() -> None:
    state = EngineState()
    state.apply(_opened(1, "s", "1000", allow_short=True))
    state.apply(_opened(2, "old", "1000"))  # written before allow_short existed
    state.apply(_filled(3, "s", "SELL", 10, "50"))
    assert state.ledger.shares("s", "AAA") == -10
    assert state.ledger.cash_usd("s") == Decimal("1499.00")
    with pytest.raises(LedgerError, match="short positions are not allowed in portfolio old"):
        state.apply(_filled(4, "old", "SELL", 1, "50"))
    restored = EngineState.from_dict(json.loads(json.dumps(state.to_dict())))
    assert restored.ledger_digest() == state.ledger_digest()
    assert restored.ledger.allows_short("s") and not restored.ledger.allows_short("old")


def test_an_allow_short_that_is_not_a_json_boolean_is_refused() -> None:
    with pytest.raises(ValueError, match="allow_short 'yes' must be true or false"):
        EngineState().apply(_opened(1, "s", "1000", allow_short="yes"))


def test_a_short_is_an_invariant_violation_only_in_a_long_only_portfolio() -> None:
    state = EngineState()
    state.ledger = Ledger.from_dict(
        {
            pid: {
                "allow_short": allow,
                "cash_usd": "1499.00",
                "realised_pnl_usd": "0.00",
                "shares": {"AAA": -10},
                "lots": {"AAA": [["f1", 10, "50", "2024-01-02", "SHORT"]]},
            }
            for pid, allow in (("s", True), ("long", False))
        }
    )
    assert [(d.portfolio_id, d.field, d.found) for d in _invariants(state)] == [
        ("long", "shares[AAA]", "-10")
    ]


def test_lot_totals_are_checked_with_their_sign() -> None:
    state = EngineState()
    state.ledger = Ledger.from_dict(
        {
            "s": {
                "allow_short": True,
                "cash_usd": "1499.00",
                "realised_pnl_usd": "0.00",
                "shares": {"AAA": -10, "BBB": 4},
                # a long lot where a short one belongs: +10 shares in lots against -10 held
                "lots": {
                    "AAA": [["f1", 10, "50", "2024-01-02", "LONG"]],
                    "BBB": [
                        ["f2", 6, "5", "2024-01-02", "LONG"],
                        ["f3", 2, "5", "2024-01-02", "SHORT"],
                    ],
                },
            }
        }
    )
    assert [(d.field, d.from_events, d.found) for d in _invariants(state)] == [
        ("lots[AAA]", "-10 shares", "10"),
        ("lots[BBB]", "one side", "long and short"),
    ]


def _store_with_a_short_book(tmp_path: Path) -> tuple[StateRepository, EngineState]:
    store = SqlEventStore.from_url(f"sqlite:///{tmp_path / 'events.db'}")
    repository = StateRepository(store)
    events = [_opened(1, "s", "1000", allow_short=True), _filled(2, "s", "SELL", 10, "50")]
    state = EngineState()
    stored = store.append(events)
    for event in stored:
        state.apply(event)
    with store.engine.begin() as connection:
        repository.write_projection(connection, state, {("s", None), ("s", "AAA")}, 2)
        repository.write_snapshot(connection, state, 2)
    return repository, state


def test_the_consistency_check_accepts_a_short_where_shorts_are_allowed(tmp_path: Path) -> None:
    repository, _ = _store_with_a_short_book(tmp_path)
    assert repository.read_projection()["s"]["shares"] == {"AAA": -10}
    report = check_consistency(repository)
    assert report.differences == []
    assert report.snapshot_seq == 2


def test_a_snapshot_of_an_older_state_format_is_passed_over_and_is_not_a_difference(
    tmp_path: Path,
) -> None:
    repository, state = _store_with_a_short_book(tmp_path)
    old = {**state.to_dict(), "format": STATE_FORMAT_VERSION - 1}
    text = json.dumps(old, sort_keys=True, separators=(",", ":"))
    with repository.store.engine.begin() as connection:
        connection.execute(
            snapshots_table.insert().values(
                last_seq=2,
                created_at=datetime(2024, 1, 3, tzinfo=UTC),
                state=text,
                sha256=hashlib.sha256(text.encode()).hexdigest(),
            )
        )
    recovered, recovery = repository.recover()
    assert recovery.snapshot_id == 1 and "state format" in recovery.rejected_snapshots[0]
    assert recovered.to_dict() == state.to_dict()
    report = check_consistency(repository)
    assert report.consistent and report.snapshot_id == 1
    assert len(report.outdated_snapshots) == 1
    assert "1 older-format snapshot(s) passed over" in report.describe()


def test_a_damaged_snapshot_is_still_a_difference(tmp_path: Path) -> None:
    repository, _ = _store_with_a_short_book(tmp_path)
    with repository.store.engine.begin() as connection:
        connection.execute(
            snapshots_table.insert().values(
                last_seq=2,
                created_at=datetime(2024, 1, 3, tzinfo=UTC),
                state='{"format": 1}',
                sha256="0" * 64,
            )
        )
    report = check_consistency(repository)
    assert report.outdated_snapshots == []
    ((where, field),) = [(d.where, d.field) for d in report.differences]
    assert (where, field) == ("snapshot", "checksum")
