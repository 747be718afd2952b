"""The ledger: what each portfolio owns, exactly.

Shares are ``int``; cash, prices and P&L are ``Decimal`` US dollars. Each buy opens a tax lot; each
sell relieves lots first-in, first-out and books the realised P&L, ``sum((sell price - lot price) *
shares)``, gross of commissions (commissions are charged to cash when paid). The ledger changes
only through ``open_portfolio`` and ``apply``: the engine state calls them while folding events,
so the live ledger and one rebuilt from the event log are the same computation.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import numpy as np

from engine.model import Fill, Position, Side, to_cash, to_price


class LedgerError(ValueError):
    """A fill that would break a ledger invariant; it is refused and the ledger is unchanged."""


@dataclass
class TaxLot:
    lot_id: str
    quantity_shares: int
    price_usd: Decimal
    acquired: date


@dataclass
class PortfolioBook:
    portfolio_id: str
    cash_usd: Decimal
    shares: dict[str, int] = field(default_factory=dict)
    lots: dict[str, list[TaxLot]] = field(default_factory=dict)
    realised_pnl_usd: Decimal = Decimal("0.00")


class Ledger:
    def __init__(self, initial_cash_usd: dict[str, Decimal] | None = None) -> None:
        self._books: dict[str, PortfolioBook] = {}
        self._marks: dict[str, Decimal] = {}
        for pid, cash in (initial_cash_usd or {}).items():
            self.open_portfolio(pid, cash)

    def open_portfolio(self, portfolio_id: str, cash_usd: Decimal) -> None:
        if portfolio_id in self._books:
            raise LedgerError(f"portfolio_id {portfolio_id!r} is already open")
        if cash_usd < 0:
            raise LedgerError(f"portfolio {portfolio_id}: opening cash USD {cash_usd} is negative")
        self._books[portfolio_id] = PortfolioBook(portfolio_id, to_cash(cash_usd))

    @property
    def portfolio_ids(self) -> tuple[str, ...]:
        return tuple(self._books)

    def cash_usd(self, portfolio_id: str) -> Decimal:
        return self._books[portfolio_id].cash_usd

    def shares(self, portfolio_id: str, symbol: str) -> int:
        return self._books[portfolio_id].shares.get(symbol, 0)

    def holdings_of(self, portfolio_id: str) -> dict[str, int]:
        return dict(self._books[portfolio_id].shares)

    def lots(self, portfolio_id: str, symbol: str) -> list[TaxLot]:
        return list(self._books[portfolio_id].lots.get(symbol, ()))

    def realised_pnl_usd(self, portfolio_id: str) -> Decimal:
        return self._books[portfolio_id].realised_pnl_usd

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
        if fill.side is Side.BUY:
            book.lots.setdefault(fill.symbol, []).append(
                TaxLot(fill.fill_id, fill.quantity_shares, fill.price_usd, fill.timestamp)
            )
        else:
            book.realised_pnl_usd += self._relieve_fifo(book, fill)

    @staticmethod
    def _relieve_fifo(book: PortfolioBook, fill: Fill) -> Decimal:
        lots = book.lots[fill.symbol]
        remaining = fill.quantity_shares
        pnl = Decimal(0)
        while remaining:
            lot = lots[0]
            taken = min(remaining, lot.quantity_shares)
            pnl += (fill.price_usd - lot.price_usd) * taken
            lot.quantity_shares -= taken
            remaining -= taken
            if lot.quantity_shares == 0:
                lots.pop(0)
        if not lots:
            del book.lots[fill.symbol]
        return to_cash(pnl)

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

    # -- persistence: the exact state as JSON-ready data (Decimal as strings) -----------------
    def to_dict(self) -> dict[str, Any]:
        return {
            pid: {
                "cash_usd": str(book.cash_usd),
                "realised_pnl_usd": str(book.realised_pnl_usd),
                "shares": dict(sorted(book.shares.items())),
                "lots": {
                    symbol: [
                        [lot.lot_id, lot.quantity_shares, str(lot.price_usd), str(lot.acquired)]
                        for lot in lots
                    ]
                    for symbol, lots in sorted(book.lots.items())
                },
            }
            for pid, book in sorted(self._books.items())
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Ledger:
        ledger = cls()
        for pid, book in data.items():
            ledger._books[pid] = PortfolioBook(
                pid,
                Decimal(book["cash_usd"]),
                {symbol: int(quantity) for symbol, quantity in book["shares"].items()},
                {
                    symbol: [
                        TaxLot(lot_id, int(quantity), Decimal(price), date.fromisoformat(acquired))
                        for lot_id, quantity, price, acquired in lots
                    ]
                    for symbol, lots in book["lots"].items()
                },
                Decimal(book["realised_pnl_usd"]),
            )
        return ledger
