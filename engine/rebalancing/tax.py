"""Tax lots: which lots a sale relieves, each relief's gain and its term, and the tax a year's
gains come to. The worked examples are in docs/rebalancing.md.

**Lot methods** (``[portfolios.tax] lot_method``), the order in which a fill that reduces a
position relieves its lots:

- ``fifo``: oldest first (the default);
- ``lifo``: newest first;
- ``hifo``: the lot with the least gain per share first: for a long position the highest cost,
  for a short one the lowest price it was sold at;
- ``min_tax``: the lot whose relief costs the least tax per share first: the gain per share
  times its term's rate (a loss is a negative tax, so the largest saving goes first; a
  short-term loss saves more than a long-term one of the same size).

Ties keep the lots' age order (oldest first).

**The wash-sale rule** (``wash_sale_days``, 0 by default: off): for that many calendar days
after a long lot of a name was sold at a loss, the portfolio does not buy the name back (the
orders stage drops the buy and records ``WashSaleBlocked``); from the day after, it may.

A lot is **long-term** when it was held more than ``long_term_after_days`` calendar days by the
fill's trade date (365: a year and a day), else short-term.

**The tax estimate** of a year nets the short-term and the long-term gains apart, then a net loss
of one term offsets a net gain of the other; what is left is taxed at its term's rate. A net
loss is not carried to another year here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

LOT_METHODS = ("fifo", "lifo", "hifo", "min_tax")
SHORT_TERM, LONG_TERM = "short", "long"


@dataclass(frozen=True, slots=True)
class TaxRules:
    lot_method: str = "fifo"
    short_term_rate: float = 0.37
    long_term_rate: float = 0.20
    long_term_after_days: int = 365
    # Days after a sale at a loss in which the name may not be bought back (0: no rule).
    wash_sale_days: int = 0

    def __post_init__(self) -> None:
        if self.lot_method not in LOT_METHODS:
            raise ValueError(
                f"lot_method: {self.lot_method!r} is not one of {', '.join(LOT_METHODS)}"
            )
        for name in ("short_term_rate", "long_term_rate"):
            rate = getattr(self, name)
            if not 0.0 <= rate < 1.0:
                raise ValueError(f"{name}: {rate} must be in [0, 1)")
        if self.long_term_after_days < 0:
            raise ValueError(f"long_term_after_days: {self.long_term_after_days} is negative")
        if self.wash_sale_days < 0:
            raise ValueError(f"wash_sale_days: {self.wash_sale_days} is negative")

    def wash_sale_until(self, loss_sold: date | None, today: date) -> date | None:
        """The last day of the wash-sale window a loss sale on ``loss_sold`` opened, if
        ``today`` is inside it (None: a purchase today is allowed)."""
        if loss_sold is None or not self.wash_sale_days:
            return None
        until = date.fromordinal(loss_sold.toordinal() + self.wash_sale_days)
        return until if today <= until else None

    def term(self, acquired: date, sold: date) -> str:
        return LONG_TERM if (sold - acquired).days > self.long_term_after_days else SHORT_TERM

    def rate(self, term: str) -> float:
        return self.long_term_rate if term == LONG_TERM else self.short_term_rate

    def to_dict(self) -> dict[str, object]:
        return {
            "lot_method": self.lot_method,
            "short_term_rate": self.short_term_rate,
            "long_term_rate": self.long_term_rate,
            "long_term_after_days": self.long_term_after_days,
            "wash_sale_days": self.wash_sale_days,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object] | None) -> TaxRules:
        """The rules a ``PortfolioOpened`` recorded; FIFO and the defaults for one without."""
        if not data:
            return cls()
        return cls(
            str(data["lot_method"]),
            float(data["short_term_rate"]),  # type: ignore[arg-type]
            float(data["long_term_rate"]),  # type: ignore[arg-type]
            int(data["long_term_after_days"]),  # type: ignore[call-overload]
            int(data.get("wash_sale_days", 0)),  # type: ignore[call-overload]
        )


@dataclass(frozen=True, slots=True)
class OpenLot:
    """What the relief order reads of a lot: its price, when it was opened and its side."""

    price_usd: Decimal
    acquired: date
    short: bool


def relief_order(
    lots: Sequence[OpenLot], price_usd: Decimal, sold: date, rules: TaxRules
) -> list[int]:
    """The positions of ``lots`` (oldest first) in the order a fill at ``price_usd`` on
    ``sold`` relieves them."""
    ages = range(len(lots))
    method = rules.lot_method
    if method == "fifo":
        return list(ages)
    if method == "lifo":
        return list(reversed(ages))

    def gain(k: int) -> Decimal:
        lot = lots[k]
        return lot.price_usd - price_usd if lot.short else price_usd - lot.price_usd

    if method == "hifo":
        return sorted(ages, key=lambda k: (gain(k), k))
    return sorted(
        ages,
        key=lambda k: (
            gain(k) * Decimal(str(rules.rate(rules.term(lots[k].acquired, sold)))),
            k,
        ),
    )


@dataclass(frozen=True, slots=True)
class YearTax:
    short_term_gain_usd: Decimal
    long_term_gain_usd: Decimal
    tax_usd: Decimal

    def to_dict(self) -> dict[str, str]:
        return {
            "short_term_gain_usd": str(self.short_term_gain_usd),
            "long_term_gain_usd": str(self.long_term_gain_usd),
            "tax_usd": str(self.tax_usd),
        }


def year_tax(short_term: Decimal, long_term: Decimal, rules: TaxRules) -> YearTax:
    """A year's tax estimate from its net short- and long-term gains (module docstring)."""
    st, lt = short_term, long_term
    if st < 0 < lt:
        st, lt = Decimal(0), max(lt + st, Decimal(0))
    elif lt < 0 < st:
        st, lt = max(st + lt, Decimal(0)), Decimal(0)
    tax = max(st, Decimal(0)) * Decimal(str(rules.short_term_rate)) + max(lt, Decimal(0)) * Decimal(
        str(rules.long_term_rate)
    )
    return YearTax(short_term, long_term, tax.quantize(Decimal("0.01")))
