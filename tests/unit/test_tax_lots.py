"""Lot methods against hand-made lot books, the holding period's boundary and the tax estimate's
netting (engine/rebalancing/tax.py; the same examples are worked in docs/rebalancing.md)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from engine.model import Fill, Side
from engine.rebalancing.tax import TaxRules, year_tax
from engine.state.ledger import Ledger

SOLD = date(2024, 1, 15)
# L1: held over a year (long-term); L2 and L3: short-term.
LOTS = (("L1", 62, date(2022, 1, 3)), ("L2", 80, date(2023, 3, 1)), ("L3", 65, date(2023, 11, 1)))


def _fill(fill_id: str, side: Side, shares: int, price: str, day: date) -> Fill:
    return Fill(fill_id, fill_id, "p", "AAA", side, shares, Decimal(price), Decimal(0), day)


def _book(method: str, short: bool = False) -> Ledger:
    ledger = Ledger()
    ledger.open_portfolio(
        "p", Decimal("100000"), allow_short=short, tax=TaxRules(lot_method=method)
    )
    return ledger


def _long_book(method: str) -> Ledger:
    ledger = _book(method)
    for lot_id, price, day in LOTS:
        ledger.apply(_fill(lot_id, Side.BUY, 100, str(price), day))
    return ledger


@pytest.mark.parametrize(
    ("method", "relieved", "realised", "left"),
    [
        # Sell 150 at 70. FIFO: all of L1 (+8 a share, long-term), half of L2 (-10).
        ("fifo", [("L1", 100, "800", "long"), ("L2", 50, "-500", "short")], "300", ["L2", "L3"]),
        # LIFO: all of L3 (+5), half of L2.
        ("lifo", [("L3", 100, "500", "short"), ("L2", 50, "-500", "short")], "0", ["L1", "L2"]),
        # HIFO: the highest cost first: L2 (80), then L3 (65).
        ("hifo", [("L2", 100, "-1000", "short"), ("L3", 50, "250", "short")], "-750", ["L1", "L3"]),
        # Minimum tax: L2's loss saves 10 x 37% a share; L1's +8 at 20% costs 1.60 a share,
        # less than L3's +5 at 37% (1.85): L1 before L3, though its gain is larger.
        (
            "min_tax",
            [("L2", 100, "-1000", "short"), ("L1", 50, "400", "long")],
            "-600",
            ["L1", "L3"],
        ),
    ],
)
def test_each_lot_method_relieves_its_lots_in_order(
    method: str, relieved: list[tuple[str, int, str, str]], realised: str, left: list[str]
) -> None:
    ledger = _long_book(method)
    sale = _fill("S", Side.SELL, 150, "70", SOLD)
    reliefs = ledger.relief(sale)
    assert [(r.lot_id, r.quantity_shares, r.gain_usd, r.term) for r in reliefs] == [
        (lot_id, shares, Decimal(gain), term) for lot_id, shares, gain, term in relieved
    ]
    ledger.apply(sale)
    assert ledger.realised_pnl_usd("p") == Decimal(realised)
    assert [lot.lot_id for lot in ledger.lots("p", "AAA")] == left
    assert sum(lot.quantity_shares for lot in ledger.lots("p", "AAA")) == 150


def test_hifo_covers_the_short_lot_sold_lowest_first() -> None:
    ledger = _book("hifo", short=True)
    ledger.apply(_fill("S1", Side.SELL, 100, "50", date(2023, 6, 1)))
    ledger.apply(_fill("S2", Side.SELL, 100, "40", date(2023, 7, 1)))
    cover = _fill("C", Side.BUY, 100, "45", SOLD)
    (relief,) = ledger.relief(cover)
    # Sold at 40, bought back at 45: a loss of 5 a share, the least gain of the two.
    assert (relief.lot_id, relief.gain_usd) == ("S2", Decimal("-500"))


def test_a_lot_is_long_term_after_more_than_the_holding_period() -> None:
    rules = TaxRules()
    assert rules.term(date(2023, 1, 15), date(2024, 1, 15)) == "short"  # 365 days
    assert rules.term(date(2023, 1, 15), date(2024, 1, 16)) == "long"  # 366 days
    assert TaxRules(long_term_after_days=30).term(date(2024, 1, 1), date(2024, 2, 1)) == "long"


@pytest.mark.parametrize(
    ("short_term", "long_term", "tax"),
    [
        ("1000", "2000", "770.00"),  # 1,000 x 37% + 2,000 x 20%
        ("1000", "-400", "222.00"),  # the long-term loss offsets short-term gains: 600 x 37%
        ("-1000", "3000", "400.00"),  # the short-term loss offsets long-term gains: 2,000 x 20%
        ("-1000", "500", "0.00"),  # a net loss: no tax (not carried to another year here)
    ],
)
def test_a_years_tax_nets_the_terms(short_term: str, long_term: str, tax: str) -> None:
    result = year_tax(Decimal(short_term), Decimal(long_term), TaxRules())
    assert result.tax_usd == Decimal(tax)
    assert result.short_term_gain_usd == Decimal(short_term)


def test_bad_rules_are_refused_naming_the_field() -> None:
    with pytest.raises(ValueError, match="lot_method: 'random' is not one of"):
        TaxRules(lot_method="random")
    with pytest.raises(ValueError, match=r"short_term_rate: 1\.5 must be in"):
        TaxRules(short_term_rate=1.5)


def test_the_lot_method_survives_the_ledgers_snapshot() -> None:
    ledger = _long_book("min_tax")
    restored = Ledger.from_dict(ledger.to_dict())
    assert restored.tax_rules("p") == TaxRules(lot_method="min_tax")
    sale = _fill("S", Side.SELL, 150, "70", SOLD)
    assert restored.relief(sale) == ledger.relief(sale)


def test_the_wash_sale_window_and_the_last_loss_sale_survive_a_snapshot() -> None:
    rules = TaxRules(wash_sale_days=30)
    sold = date(2024, 3, 1)
    assert rules.wash_sale_until(sold, date(2024, 3, 31)) == date(2024, 3, 31)
    assert rules.wash_sale_until(sold, date(2024, 4, 1)) is None
    assert TaxRules().wash_sale_until(sold, date(2024, 3, 2)) is None  # no rule by default
    ledger = _long_book("fifo")
    ledger.apply(_fill("S", Side.SELL, 300, "70", SOLD))  # L2 (cost 80) is sold at a loss
    assert ledger.last_loss_sale("p", "AAA") == SOLD
    assert Ledger.from_dict(ledger.to_dict()).last_loss_sale("p", "AAA") == SOLD
