"""How numbers read on screen: money to the cent, shares whole, weights and returns in percent."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

EMPTY = "—"


def usd(amount: Decimal | float | None) -> str:
    """``$1,234,567.89``; a negative amount reads ``-$1,234.00``."""
    if amount is None:
        return EMPTY
    sign = "-" if amount < 0 else ""
    return f"{sign}${abs(amount):,.2f}"


def price(amount: Decimal | None) -> str:
    """A share price to 1/10,000 of a dollar, the ledger's precision, so a column lines up."""
    if amount is None:
        return EMPTY
    return f"${amount:,.4f}"


def shares(quantity: int) -> str:
    return f"{quantity:,}"


def pct(fraction: float | None, decimals: int = 1) -> str:
    """A fraction (0.25) as a percentage (``25.0%``)."""
    if fraction is None:
        return EMPTY
    return f"{fraction * 100:.{decimals}f}%"


def signed_pct(percent: float) -> str:
    """A value already in percent (``total_return_pct``) with its sign: ``+3.20%``."""
    return f"{percent:+.2f}%"


def ms(duration_ms: float | None) -> str:
    if duration_ms is None:
        return EMPTY
    return f"{duration_ms:,.1f} ms"


def day(value: date | None) -> str:
    return value.isoformat() if value is not None else EMPTY


def moment(value: datetime) -> str:
    """An event time to the second, without microseconds or the UTC offset clutter."""
    return value.strftime("%Y-%m-%d %H:%M:%S")
