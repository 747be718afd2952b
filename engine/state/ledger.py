"""The ledger: what each portfolio owns and owes, exactly.

Shares are ``int`` (negative for a short position); cash, prices and P&L are ``Decimal`` US
dollars. The ledger changes only through ``open_portfolio``, ``apply``, ``settle``,
``credit_interest`` and ``external_flow`` (a deposit or withdrawal): the engine state calls them
while folding events, so the live ledger and one rebuilt from the event log are the same
computation.

**Tax lots.** A fill that adds to a position opens a tax lot keyed by its fill id; a fill that
reduces one relieves lots in the order of the portfolio's lot method (first-in, first-out by
default; engine/rebalancing/tax.py) and books the realised P&L, gross of commissions
(commissions are charged to cash when paid):

- selling long lots: ``sum((sell price - lot price) * shares)``;
- covering short lots: ``sum((lot price - cover price) * shares)``.

Lot quantities are positive; ``TaxLot.short`` says which side the lot is on. A symbol's lots are
all on the side of its position: a fill that crosses zero (long 10, sell 15) first relieves every
lot of the old side and then opens one lot of the new side for the rest (short 5).

**Shorts.** Only a portfolio opened with ``allow_short=True`` may sell beyond its long holding; a
long-only portfolio refuses such a fill. Short-sale proceeds are credited to cash. Cash never goes
negative: a fill or interest debit that would make it so is refused and nothing changes. No margin
requirement is modelled here; limiting short exposure is the risk engine's job.

**Settlement.** Cash is booked on the trade date (``cash_usd`` moves when the fill applies). A
fill with a ``settlement_date`` also leaves its cash movement *pending* until ``settle(as_of)``
is called with ``as_of`` on or after that date, so ``cash_usd == settled_cash_usd +
pending_settlement_usd`` exactly (pending is signed: a receivable is positive, a payable
negative). Settled cash is reported, not enforced: buying with unsettled sale proceeds is allowed.

**Interest.** ``credit_interest`` adds whole cents to cash at once (interest settles immediately)
and to the portfolio's interest income; a negative amount (negative rates) is a debit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from types import MappingProxyType
from typing import Any

import numpy as np

from engine.model import CENT, Fill, Position, Side, to_cash, to_price
from engine.rebalancing.tax import OpenLot, TaxRules, relief_order

_LONG, _SHORT = "LONG", "SHORT"


class LedgerError(ValueError):
    """A change that would break a ledger invariant; it is refused and the ledger is unchanged."""


@dataclass
class TaxLot:
    """Shares opened by one fill and not yet closed: ``quantity_shares`` is always positive."""

    lot_id: str
    quantity_shares: int
    price_usd: Decimal
    acquired: date
    short: bool = False

    @property
    def signed_quantity_shares(self) -> int:
        """The lot's contribution to the position: negative for a short lot."""
        return -self.quantity_shares if self.short else self.quantity_shares


@dataclass(frozen=True, slots=True)
class LotRelief:
    """Shares of one lot a fill closed: the gain (exact, USD; negative a loss) and its term
    (``short`` or ``long``, engine/rebalancing/tax.py)."""

    lot_id: str
    quantity_shares: int
    price_usd: Decimal  # the lot's, per share
    acquired: date
    gain_usd: Decimal
    term: str

    def to_dict(self) -> dict[str, object]:
        return {
            "lot_id": self.lot_id,
            "quantity_shares": self.quantity_shares,
            "price_usd": str(self.price_usd),
            "acquired": self.acquired.isoformat(),
            "gain_usd": str(self.gain_usd),
            "term": self.term,
        }


@dataclass
class PortfolioBook:
    portfolio_id: str
    cash_usd: Decimal
    shares: dict[str, int] = field(default_factory=dict)
    lots: dict[str, list[TaxLot]] = field(default_factory=dict)
    realised_pnl_usd: Decimal = Decimal("0.00")
    allow_short: bool = False
    interest_income_usd: Decimal = Decimal("0.00")
    # settlement date -> net cash movement (USD) booked on the trade date but not yet settled
    pending_settlement_usd: dict[date, Decimal] = field(default_factory=dict)
    tax: TaxRules = field(default_factory=TaxRules)
    # symbol -> the last trade date a long lot of it was sold at a loss (the wash-sale rule).
    loss_sales: dict[str, date] = field(default_factory=dict)


class Ledger:
    def __init__(
        self, initial_cash_usd: dict[str, Decimal] | None = None, *, allow_short: bool = False
    ) -> None:
        """Open one book per ``initial_cash_usd`` entry; ``allow_short`` applies to all of them."""
        self._books: dict[str, PortfolioBook] = {}
        self._marks: dict[str, Decimal] = {}
        # Each portfolio's NAV since the last change to its book or to the marks: a cycle asks
        # for it several times (risk, allocation, gate, views), each a sum over every position.
        self._nav: dict[str, Decimal] = {}
        self._index: tuple[tuple[str, ...], dict[str, int] | None] | None = None
        for pid, cash in (initial_cash_usd or {}).items():
            self.open_portfolio(pid, cash, allow_short=allow_short)

    def open_portfolio(
        self,
        portfolio_id: str,
        cash_usd: Decimal,
        *,
        allow_short: bool = False,
        tax: TaxRules | None = None,
    ) -> None:
        """``tax``: its lot method and tax rates (first-in, first-out by default)."""
        if portfolio_id in self._books:
            raise LedgerError(f"portfolio_id {portfolio_id!r} is already open")
        if cash_usd < 0:
            raise LedgerError(f"portfolio {portfolio_id}: opening cash USD {cash_usd} is negative")
        self._books[portfolio_id] = PortfolioBook(
            portfolio_id, to_cash(cash_usd), allow_short=allow_short, tax=tax or TaxRules()
        )

    @property
    def portfolio_ids(self) -> tuple[str, ...]:
        return tuple(self._books)

    def allows_short(self, portfolio_id: str) -> bool:
        return self._books[portfolio_id].allow_short

    def tax_rules(self, portfolio_id: str) -> TaxRules:
        return self._books[portfolio_id].tax

    def last_loss_sale(self, portfolio_id: str, symbol: str) -> date | None:
        """The last trade date a long lot of ``symbol`` was sold at a loss, if ever."""
        return self._books[portfolio_id].loss_sales.get(symbol)

    def cash_usd(self, portfolio_id: str) -> Decimal:
        """Trade-date cash: every applied fill has moved it, settled or not."""
        return self._books[portfolio_id].cash_usd

    def settled_cash_usd(self, portfolio_id: str) -> Decimal:
        """Cash that has changed hands: ``cash_usd`` less what is pending settlement."""
        return self.cash_usd(portfolio_id) - self.pending_settlement_usd(portfolio_id)

    def pending_settlement_usd(self, portfolio_id: str) -> Decimal:
        """Net cash booked but not settled: positive is receivable, negative is payable."""
        return sum(self._books[portfolio_id].pending_settlement_usd.values(), Decimal("0.00"))

    def pending_settlements(self, portfolio_id: str) -> list[tuple[date, Decimal]]:
        """(settlement date, net USD) per date still to settle, earliest first."""
        return sorted(self._books[portfolio_id].pending_settlement_usd.items())

    def interest_income_usd(self, portfolio_id: str) -> Decimal:
        """Interest credited on cash since the portfolio opened (net of negative-rate debits)."""
        return self._books[portfolio_id].interest_income_usd

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
        index = self._symbol_index(symbols)
        if index is None:  # a symbol named twice: each place gets the holding
            return np.array([held.get(symbol, 0) for symbol in symbols], dtype=np.int64)
        vector = np.zeros(len(symbols), dtype=np.int64)
        # A book holds a fraction of the universe: fill in its names, not every symbol.
        for symbol, quantity in held.items():
            k = index.get(symbol)
            if k is not None:
                vector[k] = quantity
        return vector

    def _symbol_index(self, symbols: tuple[str, ...]) -> dict[str, int] | None:
        """Each symbol's place in ``symbols`` (kept for the universe asked last)."""
        if self._index is None or self._index[0] is not symbols:
            index = {symbol: k for k, symbol in enumerate(symbols)}
            self._index = (symbols, index if len(index) == len(symbols) else None)
        return self._index[1]

    # -- changes ------------------------------------------------------------------------------
    def apply(self, fill: Fill, reliefs: list[LotRelief] | None = None) -> None:
        """Book one fill: cash, position, tax lots, realised P&L and pending settlement.
        ``reliefs``: the lots it closes as ``relief(fill)`` gave them just before (worked out
        here when not given)."""
        book = self._books.get(fill.portfolio_id)
        if book is None:
            raise LedgerError(f"fill {fill.fill_id}: unknown portfolio_id {fill.portfolio_id!r}")
        held = book.shares.get(fill.symbol, 0)
        signed = fill.quantity_shares if fill.side is Side.BUY else -fill.quantity_shares
        cash_change = fill.cash_change_usd
        new_cash = book.cash_usd + cash_change
        if held + signed < 0 and not book.allow_short:
            raise LedgerError(
                f"fill {fill.fill_id}: selling {fill.quantity_shares} {fill.symbol} but only "
                f"{held} held (short positions are not allowed in portfolio "
                f"{fill.portfolio_id})"
            )
        if new_cash < 0:
            raise LedgerError(
                f"fill {fill.fill_id}: cash would become USD {new_cash} (must not go negative)"
            )
        if fill.settlement_date is not None and fill.settlement_date < fill.timestamp:
            raise LedgerError(
                f"fill {fill.fill_id}: settlement_date {fill.settlement_date} is before its "
                f"trade date {fill.timestamp}"
            )
        book.cash_usd = new_cash
        self._nav.pop(fill.portfolio_id, None)
        if fill.settlement_date is not None:
            self._add_pending(book, fill.settlement_date, cash_change)
        if held + signed:
            book.shares[fill.symbol] = held + signed
        else:
            book.shares.pop(fill.symbol, None)
        # Shares that reduce the existing position close lots; the rest open a lot of their side.
        closing = _closing(held, signed)
        opening = fill.quantity_shares - closing
        if closing:
            if reliefs is None:
                reliefs = self._relief(book, fill, closing)
            book.realised_pnl_usd += to_cash(sum((r.gain_usd for r in reliefs), Decimal(0)))
            self._close(book, fill.symbol, reliefs)
            if fill.side is Side.SELL and any(r.gain_usd < 0 for r in reliefs):
                book.loss_sales[fill.symbol] = fill.timestamp
        if opening:
            book.lots.setdefault(fill.symbol, []).append(
                TaxLot(
                    fill.fill_id, opening, fill.price_usd, fill.timestamp, fill.side is Side.SELL
                )
            )

    def relief(self, fill: Fill) -> list[LotRelief]:
        """The lots ``fill`` would close, in the order the portfolio's lot method relieves them,
        with each one's gain and term; nothing changes (the engine records it with the fill)."""
        book = self._books.get(fill.portfolio_id)
        if book is None:
            return []
        signed = fill.quantity_shares if fill.side is Side.BUY else -fill.quantity_shares
        closing = _closing(book.shares.get(fill.symbol, 0), signed)
        return self._relief(book, fill, closing) if closing else []

    def trade_relief(
        self, portfolio_id: str, symbol: str, signed_shares: int, price_usd: Decimal, day: date
    ) -> list[LotRelief]:
        """The lots a trade of ``signed_shares`` (sells negative) at ``price_usd`` on ``day``
        would close (``relief``, for a trade not made yet)."""
        side = Side.BUY if signed_shares > 0 else Side.SELL
        trade = Fill(
            "preview",
            "preview",
            portfolio_id,
            symbol,
            side,
            abs(signed_shares),
            price_usd,
            Decimal(0),
            day,
        )
        return self.relief(trade)

    @staticmethod
    def _relief(book: PortfolioBook, fill: Fill, quantity_shares: int) -> list[LotRelief]:
        """Which ``quantity_shares`` of the symbol's lots ``fill`` closes, and their gains."""
        lots = book.lots[fill.symbol]
        order: Iterable[int] = (
            range(len(lots))  # first in, first out: the lots are kept oldest first
            if book.tax.lot_method == "fifo"
            else relief_order(
                [OpenLot(lot.price_usd, lot.acquired, lot.short) for lot in lots],
                fill.price_usd,
                fill.timestamp,
                book.tax,
            )
        )
        reliefs, remaining = [], quantity_shares
        for k in order:
            if not remaining:
                break
            lot = lots[k]
            taken = min(remaining, lot.quantity_shares)
            per_share = fill.price_usd - lot.price_usd
            reliefs.append(
                LotRelief(
                    lot.lot_id,
                    taken,
                    lot.price_usd,
                    lot.acquired,
                    (-per_share if lot.short else per_share) * taken,
                    book.tax.term(lot.acquired, fill.timestamp),
                )
            )
            remaining -= taken
        return reliefs

    @staticmethod
    def _close(book: PortfolioBook, symbol: str, reliefs: list[LotRelief]) -> None:
        taken = {r.lot_id: r.quantity_shares for r in reliefs}
        kept = []
        for lot in book.lots[symbol]:
            lot.quantity_shares -= taken.get(lot.lot_id, 0)
            if lot.quantity_shares:
                kept.append(lot)
        if kept:
            book.lots[symbol] = kept
        else:
            del book.lots[symbol]

    @staticmethod
    def _add_pending(book: PortfolioBook, settlement_date: date, amount_usd: Decimal) -> None:
        net = book.pending_settlement_usd.get(settlement_date, Decimal("0.00")) + amount_usd
        if net:
            book.pending_settlement_usd[settlement_date] = net
        else:  # a buy and a sell that offset each other leave nothing to settle that day
            book.pending_settlement_usd.pop(settlement_date, None)

    def settle(self, as_of: date) -> None:
        """Release, in every portfolio, each pending movement due on or before ``as_of``."""
        for book in self._books.values():
            for settlement_date in [d for d in book.pending_settlement_usd if d <= as_of]:
                del book.pending_settlement_usd[settlement_date]

    def external_flow(self, portfolio_id: str, amount_usd: Decimal) -> None:
        """A deposit (positive) or withdrawal (negative) of whole cents, settled at once; a
        withdrawal beyond the cash is refused and nothing changes."""
        book = self._books.get(portfolio_id)
        if book is None:
            raise LedgerError(f"cash flow: unknown portfolio_id {portfolio_id!r}")
        amount = Decimal(amount_usd)
        if not amount.is_finite() or amount != to_cash(amount) or amount == 0:
            raise LedgerError(
                f"portfolio {portfolio_id}: cash flow amount_usd {amount_usd} must be a non-zero "
                "amount in whole cents"
            )
        if book.cash_usd + amount < 0:
            raise LedgerError(
                f"portfolio {portfolio_id}: a withdrawal of USD {-amount} is more than its cash "
                f"USD {book.cash_usd}"
            )
        book.cash_usd += amount
        self._nav.pop(portfolio_id, None)

    def credit_interest(self, portfolio_id: str, amount_usd: Decimal, as_of: date) -> None:
        """Credit (or, if negative, debit) whole cents of interest on cash, settled at once."""
        book = self._books.get(portfolio_id)
        if book is None:
            raise LedgerError(f"interest on {as_of}: unknown portfolio_id {portfolio_id!r}")
        amount = Decimal(amount_usd)
        if not amount.is_finite() or amount != to_cash(amount):
            raise LedgerError(
                f"portfolio {portfolio_id}: interest amount_usd {amount_usd} on {as_of} is not a "
                "whole number of cents"
            )
        amount = to_cash(amount)
        new_cash = book.cash_usd + amount
        if new_cash < 0:
            raise LedgerError(
                f"portfolio {portfolio_id}: interest of USD {amount} on {as_of} would make cash "
                f"USD {new_cash} (must not go negative)"
            )
        book.cash_usd = new_cash
        self._nav.pop(portfolio_id, None)
        book.interest_income_usd += amount

    # -- valuation ----------------------------------------------------------------------------
    def mark(self, symbols: Iterable[str], prices: np.ndarray) -> None:
        """Record the latest valuation prices (USD/share); a missing price keeps the last."""
        self._nav.clear()
        for symbol, price in zip(symbols, prices, strict=True):
            if np.isfinite(price) and price > 0:
                self._marks[symbol] = to_price(float(price))

    @property
    def marks(self) -> Mapping[str, Decimal]:
        """The latest valuation price (USD/share) of every symbol marked so far, read-only."""
        return MappingProxyType(self._marks)

    def mark_of(self, symbol: str) -> Decimal | None:
        """The latest valuation price of ``symbol`` (USD/share), held or not; None before any."""
        return self._marks.get(symbol)

    def positions(self, portfolio_id: str) -> list[Position]:
        return [
            Position(symbol, quantity, self._marks[symbol])
            for symbol, quantity in sorted(self._books[portfolio_id].shares.items())
        ]

    def nav_usd(self, portfolio_id: str) -> Decimal:
        """Net asset value: cash plus every position (shorts negative) at its latest mark."""
        known = self._nav.get(portfolio_id)
        if known is not None:
            return known
        book = self._books[portfolio_id]
        marks = self._marks
        # Each position rounded to the cent as Position.market_value_usd does; the sum of exact
        # decimals does not depend on the order.
        nav = book.cash_usd + sum(
            (
                (marks[symbol] * quantity).quantize(CENT, rounding=ROUND_HALF_EVEN)
                for symbol, quantity in book.shares.items()
            ),
            Decimal(0),
        )
        self._nav[portfolio_id] = nav
        return nav

    # -- persistence: the exact state as JSON-ready data (Decimal as strings) -----------------
    def to_dict(self) -> dict[str, Any]:
        return {
            pid: {
                "allow_short": book.allow_short,
                "tax": book.tax.to_dict(),
                "loss_sales": {s: d.isoformat() for s, d in sorted(book.loss_sales.items())},
                "cash_usd": str(book.cash_usd),
                "realised_pnl_usd": str(book.realised_pnl_usd),
                "interest_income_usd": str(book.interest_income_usd),
                "shares": dict(sorted(book.shares.items())),
                "lots": {
                    symbol: [
                        [
                            lot.lot_id,
                            lot.quantity_shares,
                            str(lot.price_usd),
                            str(lot.acquired),
                            _SHORT if lot.short else _LONG,
                        ]
                        for lot in lots
                    ]
                    for symbol, lots in sorted(book.lots.items())
                },
                "pending_settlements": [
                    [settlement_date.isoformat(), str(amount)]
                    for settlement_date, amount in sorted(book.pending_settlement_usd.items())
                ],
            }
            for pid, book in sorted(self._books.items())
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Ledger:
        """The inverse of ``to_dict``; fields it lacks (older data) take their defaults."""
        ledger = cls()
        for pid, book in data.items():
            ledger._books[pid] = PortfolioBook(
                pid,
                Decimal(book["cash_usd"]),
                {symbol: int(quantity) for symbol, quantity in book["shares"].items()},
                {
                    symbol: [_lot_from_list(lot) for lot in lots]
                    for symbol, lots in book["lots"].items()
                },
                Decimal(book["realised_pnl_usd"]),
                bool(book.get("allow_short", False)),
                Decimal(book.get("interest_income_usd", "0.00")),
                {
                    date.fromisoformat(settlement_date): Decimal(amount)
                    for settlement_date, amount in book.get("pending_settlements", ())
                },
                TaxRules.from_dict(book.get("tax")),
                {s: date.fromisoformat(d) for s, d in book.get("loss_sales", {}).items()},
            )
        return ledger


def _closing(held: int, signed: int) -> int:
    """The shares of a fill of ``signed`` shares (sells negative) that reduce a ``held``
    position: they close lots."""
    return min(abs(signed), abs(held)) if held * signed < 0 else 0


def _lot_from_list(lot: list[Any]) -> TaxLot:
    lot_id, quantity, price, acquired, *side = lot
    if side and side[0] not in (_LONG, _SHORT):
        raise ValueError(f"tax lot {lot_id}: side {side[0]!r} is not {_LONG} or {_SHORT}")
    return TaxLot(
        lot_id,
        int(quantity),
        Decimal(price),
        date.fromisoformat(acquired),
        bool(side) and side[0] == _SHORT,
    )
