"""The ledger: what each portfolio owns, exactly. Shares are ``int``; cash is ``Decimal`` USD."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np

from engine.model import Fill, Position, Side, to_cash, to_price


class LedgerError(ValueError):
    """A fill that would break a ledger invariant; it is refused and the ledger is unchanged."""


@dataclass
class PortfolioBook:
    portfolio_id: str
    cash_usd: Decimal
    shares: dict[str, int] = field(default_factory=dict)


class Ledger:
    def __init__(self, initial_cash_usd: dict[str, Decimal]) -> None:
        self._books = {
            pid: PortfolioBook(pid, to_cash(cash)) for pid, cash in initial_cash_usd.items()
        }
        self._marks: dict[str, Decimal] = {}

    @property
    def portfolio_ids(self) -> tuple[str, ...]:
        return tuple(self._books)

    def cash_usd(self, portfolio_id: str) -> Decimal:
        return self._books[portfolio_id].cash_usd

    def shares(self, portfolio_id: str, symbol: str) -> int:
        return self._books[portfolio_id].shares.get(symbol, 0)

    def holdings(self) -> dict[tuple[str, str], int]:
        return {
            (pid, symbol): quantity
            for pid, book in self._books.items()
            for symbol, quantity in book.shares.items()
        }

    def shares_vector(self, portfolio_id: str, symbols: tuple[str, ...]) -> np.ndarray:
        held = self._books[portfolio_id].shares
        return np.array([held.get(symbol, 0) for symbol in symbols], dtype=np.int64)

    def apply(self, fill: Fill) -> None:
        book = self._books.get(fill.portfolio_id)
        if book is None:
            raise LedgerError(f"fill {fill.fill_id}: unknown portfolio_id {fill.portfolio_id!r}")
        held = book.shares.get(fill.symbol, 0)
        signed = fill.quantity_shares if fill.side is Side.BUY else -fill.quantity_shares
        new_cash = book.cash_usd + fill.cash_change_usd
        if held + signed < 0:
            raise LedgerError(
                f"fill {fill.fill_id}: selling {fill.quantity_shares} {fill.symbol} but only "
                f"{held} held (short positions are not allowed)"
            )
        if new_cash < 0:
            raise LedgerError(
                f"fill {fill.fill_id}: cash would become USD {new_cash} (must not go negative)"
            )
        book.cash_usd = new_cash
        if held + signed:
            book.shares[fill.symbol] = held + signed
        else:
            book.shares.pop(fill.symbol, None)

    def mark(self, symbols: Iterable[str], prices: np.ndarray) -> None:
        """Record the latest valuation prices (USD/share); a missing price keeps the last."""
        for symbol, price in zip(symbols, prices, strict=True):
            if np.isfinite(price) and price > 0:
                self._marks[symbol] = to_price(float(price))

    def positions(self, portfolio_id: str) -> list[Position]:
        return [
            Position(symbol, quantity, self._marks[symbol])
            for symbol, quantity in sorted(self._books[portfolio_id].shares.items())
        ]

    def nav_usd(self, portfolio_id: str) -> Decimal:
        """Net asset value: cash plus every position at its latest mark, to the cent."""
        book = self._books[portfolio_id]
        return book.cash_usd + sum(
            (position.market_value_usd for position in self.positions(portfolio_id)), Decimal(0)
        )
