"""The ledger is exact and refuses any fill that would break an invariant."""

from datetime import date
from decimal import Decimal

import numpy as np
import pytest

from engine.model import Fill, Side
from engine.state.ledger import Ledger, LedgerError

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
