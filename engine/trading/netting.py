"""Trade coordination: net, cross and batch the orders of many portfolios in whole shares.

Three ways to send fewer shares to the venue, each pure and exact in ``int`` shares:

1. **Netting** (:func:`net_within`): one portfolio buying and selling the same instrument in one
   cycle trades only the difference; paying the spread twice for a round trip is waste.
2. **Crossing** (:func:`cross`): when some portfolios buy an instrument that others sell, the
   overlap ``min(total bought, total sold)`` changes hands internally (the caller prices it at
   the mid, so neither side pays the spread or commission); only the residual goes to the venue.
   The side with more interest is crossed pro rata, so no portfolio is favoured by its name or
   by the order it arrived in.
3. **Batching** (:func:`make_blocks`, :func:`allocate_fill`, :func:`allocate_fills`): the orders
   on one symbol and side collected in a batch window go out as one block, and every (partial)
   block fill is split back to the child orders pro rata, to their *remaining* quantities, so
   that each child gets the same fill rate and none is ever filled beyond what it ordered.

Every split uses :func:`allocate_pro_rata`, the largest remainder (Hamilton) method computed with
integer arithmetic: a share is never lost or created, and no float rounding drifts on large
quantities. Quantities are ``int`` shares throughout; a float quantity is rejected, not rounded.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from engine.model import Order, Side

K = TypeVar("K", bound=Hashable)

__all__ = [
    "Block",
    "Cross",
    "CrossResult",
    "Intent",
    "allocate_fill",
    "allocate_fills",
    "allocate_pro_rata",
    "cross",
    "make_blocks",
    "net_within",
]


def _require_shares(field: str, value: object) -> int:
    """Return ``value`` if it is a whole number of shares (an ``int``), else raise TypeError.

    ``bool`` is an ``int`` in Python but never a quantity; floats (and numpy scalars) are refused
    rather than rounded, because a silently rounded quantity is a share created or lost.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{field}: {value!r} must be a whole number of shares (int)")
    return value


# Pro-rata allocation ------------------------------------------------------------------------------


def allocate_pro_rata(total: int, wants: Sequence[tuple[K, int]]) -> dict[K, int]:
    """Split ``total`` whole shares among claimants in proportion to what each wants.

    Largest remainder (Hamilton) method: claimant ``i`` first gets the floor of its exact quota
    ``total * want_i / sum(wants)``; the shares left over (fewer than the number of claimants) go
    one each to the largest fractional remainders, ties to the claimant listed first in
    ``wants``. Quotas are compared as integer numerators over the common denominator
    ``sum(wants)``, so the result is exact for any size of number.

    Guarantees: the allocations sum to exactly ``total``; each is within one share of the exact
    quota (strictly less than one away); none exceeds its claimant's want (since ``total <=
    sum(wants)``, a quota below the want has floor + 1 <= want, and a quota equal to it has no
    remainder). A want of zero receives zero.

    Raises ``ValueError`` naming the field if a want is negative, a claimant appears twice, or
    ``total`` is outside ``0 <= total <= sum(wants)``; ``TypeError`` for a non-``int`` quantity.
    """
    _require_shares("allocate_pro_rata total", total)
    seen: set[K] = set()
    for claimant, want in wants:
        _require_shares(f"allocate_pro_rata wants[{claimant!r}]", want)
        if want < 0:
            raise ValueError(
                f"allocate_pro_rata wants[{claimant!r}]: {want} shares must not be negative"
            )
        if claimant in seen:
            raise ValueError(
                f"allocate_pro_rata wants: claimant {claimant!r} is listed more than once"
            )
        seen.add(claimant)
    wanted = sum(want for _, want in wants)
    if not 0 <= total <= wanted:
        raise ValueError(
            f"allocate_pro_rata total: {total} shares must be between 0 and the sum of wants "
            f"({wanted} shares)"
        )
    if total == wanted:
        # Everyone gets exactly what they want (also covers empty ``wants`` with total 0).
        return {claimant: want for claimant, want in wants}

    allocation: dict[K, int] = {}
    remainders: list[tuple[int, int, K]] = []  # (-remainder numerator, position, claimant)
    for position, (claimant, want) in enumerate(wants):
        whole, remainder = divmod(total * want, wanted)
        allocation[claimant] = whole
        remainders.append((-remainder, position, claimant))
    left_over = total - sum(allocation.values())
    for _, _, claimant in sorted(remainders)[:left_over]:
        allocation[claimant] += 1
    return allocation


# Netting and crossing -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Intent:
    """What one portfolio wants to trade in one instrument: ``quantity`` shares, + buy, - sell."""

    portfolio_id: str
    symbol: str
    quantity: int

    def __post_init__(self) -> None:
        _require_shares(f"Intent({self.portfolio_id}, {self.symbol}).quantity", self.quantity)

    @classmethod
    def from_order(cls, order: Order) -> Intent:
        """The signed intent of an order (a sell is a negative quantity)."""
        sign = 1 if order.side is Side.BUY else -1
        return cls(order.portfolio_id, order.symbol, sign * order.quantity_shares)


@dataclass(frozen=True, slots=True)
class Cross:
    """Shares of ``symbol`` one portfolio trades internally: ``quantity`` + bought, - sold."""

    symbol: str
    portfolio_id: str
    quantity: int


@dataclass(frozen=True, slots=True)
class CrossResult:
    """The outcome of crossing a book of intents.

    ``crosses`` lists each portfolio's crossed quantity (by symbol, then portfolio);
    ``crossed_shares`` maps each symbol with a cross to the shares that changed hands (bought
    by the buyers and, equally, sold by the sellers); ``residual`` is what still goes to the
    venue, per portfolio and symbol, zero residuals dropped.
    """

    crosses: list[Cross]
    crossed_shares: dict[str, int]
    residual: list[Intent]


def net_within(intents: Iterable[Intent]) -> list[Intent]:
    """Net each portfolio's intents per instrument into one, sorted by (portfolio, symbol).

    A portfolio that buys 300 and sells 100 of a symbol trades 200; intents that cancel out
    disappear. Netting happens before crossing so that a portfolio never crosses with itself.
    """
    net_shares: dict[tuple[str, str], int] = defaultdict(int)
    for intent in intents:
        net_shares[intent.portfolio_id, intent.symbol] += intent.quantity
    return [
        Intent(portfolio_id, symbol, quantity)
        for (portfolio_id, symbol), quantity in sorted(net_shares.items())
        if quantity != 0
    ]


def cross(intents: Sequence[Intent]) -> CrossResult:
    """Cross opposite interest in each symbol across portfolios; return crosses and residual.

    Intents are first netted within each portfolio (:func:`net_within`). Per symbol, the crossed
    quantity is ``min(total bought, total sold)``; the side with less interest is crossed in
    full and the other side's crossed shares are allocated pro rata to its portfolios' intents
    (:func:`allocate_pro_rata`, ties to the portfolio id that sorts first). Each portfolio's
    residual is its net intent minus its crossed part: it keeps the intent's side and is never
    larger, and in each symbol only one side is left for the venue.

    Example: A buys 300, B sells 200, C sells 100 of XYZ: all 300 cross, nothing goes to the
    venue. A buys 300, B sells 100: 100 cross and A's residual is a buy of 200.
    """
    by_symbol: dict[str, list[Intent]] = defaultdict(list)
    for intent in net_within(intents):  # sorted by (portfolio, symbol)
        by_symbol[intent.symbol].append(intent)

    crosses: list[Cross] = []
    crossed_shares: dict[str, int] = {}
    residual: list[Intent] = []
    for symbol in sorted(by_symbol):
        buys = [(i.portfolio_id, i.quantity) for i in by_symbol[symbol] if i.quantity > 0]
        sells = [(i.portfolio_id, -i.quantity) for i in by_symbol[symbol] if i.quantity < 0]
        crossed = min(sum(q for _, q in buys), sum(q for _, q in sells))
        crossed_by_portfolio: dict[str, int] = {}
        if crossed > 0:
            crossed_shares[symbol] = crossed
            for sign, side in ((1, buys), (-1, sells)):
                for portfolio_id, shares in allocate_pro_rata(crossed, side).items():
                    if shares:
                        crossed_by_portfolio[portfolio_id] = sign * shares
            crosses += [
                Cross(symbol, portfolio_id, quantity)
                for portfolio_id, quantity in sorted(crossed_by_portfolio.items())
            ]
        for intent in by_symbol[symbol]:
            left = intent.quantity - crossed_by_portfolio.get(intent.portfolio_id, 0)
            if left != 0:
                residual.append(Intent(intent.portfolio_id, symbol, left))
    residual.sort(key=lambda i: (i.portfolio_id, i.symbol))
    return CrossResult(crosses, crossed_shares, residual)


# Batching into blocks -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Block:
    """One order to the venue standing for several child orders on one symbol and side.

    ``children`` are ``(order_id, quantity)`` pairs, sorted by order id, whose quantities sum to
    ``quantity`` (shares). The order of the children breaks pro-rata ties in fill allocation.
    """

    block_id: str
    symbol: str
    side: Side
    quantity: int
    children: tuple[tuple[str, int], ...]

    def __post_init__(self) -> None:
        _require_shares(f"Block({self.block_id}).quantity", self.quantity)
        order_ids = [order_id for order_id, _ in self.children]
        if len(set(order_ids)) != len(order_ids):
            raise ValueError(f"Block({self.block_id}).children: an order id is listed twice")
        for order_id, child_quantity in self.children:
            _require_shares(f"Block({self.block_id}).children[{order_id}]", child_quantity)
            if child_quantity <= 0:
                raise ValueError(
                    f"Block({self.block_id}).children[{order_id}]: {child_quantity} shares "
                    "must be positive"
                )
        children_total = sum(child_quantity for _, child_quantity in self.children)
        if self.quantity <= 0 or self.quantity != children_total:
            raise ValueError(
                f"Block({self.block_id}).quantity: {self.quantity} shares must be positive and "
                f"equal the children's total ({children_total} shares)"
            )


def make_blocks(orders: Sequence[Order], block_id_prefix: str) -> list[Block]:
    """Collect the orders of one batch window into one block per (symbol, side).

    Blocks come sorted by (symbol, side) and are numbered ``{prefix}-0000``, ``{prefix}-0001``...;
    children are sorted by order id, so the result does not depend on the order the orders
    arrived in. The same symbol bought and sold makes two blocks: netting and crossing are
    separate steps (:func:`cross`) that belong before batching.
    """
    grouped: dict[tuple[str, Side], list[Order]] = defaultdict(list)
    seen: set[str] = set()
    for order in orders:
        if order.order_id in seen:
            raise ValueError(f"make_blocks orders: order id {order.order_id!r} is listed twice")
        seen.add(order.order_id)
        grouped[order.symbol, order.side].append(order)
    blocks = []
    for number, (symbol, side) in enumerate(sorted(grouped)):
        children = tuple(
            sorted((order.order_id, order.quantity_shares) for order in grouped[symbol, side])
        )
        blocks.append(
            Block(
                f"{block_id_prefix}-{number:04d}",
                symbol,
                side,
                sum(quantity for _, quantity in children),
                children,
            )
        )
    return blocks


def allocate_fill(block: Block, filled: int) -> dict[str, int]:
    """Split the first (possibly partial) fill of ``block`` to its children pro rata.

    Returns shares per child order id, summing exactly to ``filled``. For later fills of the
    same block use :func:`allocate_fills`, which allocates to what each child still needs.
    """
    _require_shares(f"allocate_fill filled (block {block.block_id})", filled)
    if not 0 <= filled <= block.quantity:
        raise ValueError(
            f"allocate_fill filled: {filled} shares must be between 0 and the quantity of block "
            f"{block.block_id} ({block.quantity} shares)"
        )
    return allocate_pro_rata(filled, block.children)


def allocate_fills(
    block: Block, filled_so_far_by_child: Mapping[str, int], filled_now: int
) -> dict[str, int]:
    """Split a new fill of ``block`` pro rata to each child's remaining (unfilled) quantity.

    ``filled_so_far_by_child`` holds the shares each child has already received (a missing
    child has received none). Allocating to the remainders, not to the original quantities,
    is what keeps cumulative fills over many days from giving a child more than it ordered,
    and it pulls every child towards the same fill rate. Returns the new shares per child (not
    the cumulative), summing exactly to ``filled_now``.
    """
    _require_shares(f"allocate_fills filled_now (block {block.block_id})", filled_now)
    ordered = dict(block.children)
    for order_id, so_far in filled_so_far_by_child.items():
        field = f"allocate_fills filled_so_far_by_child[{order_id!r}]"
        if order_id not in ordered:
            raise ValueError(f"{field}: not a child order of block {block.block_id}")
        _require_shares(field, so_far)
        if not 0 <= so_far <= ordered[order_id]:
            raise ValueError(
                f"{field}: {so_far} shares must be between 0 and the child's quantity "
                f"({ordered[order_id]} shares)"
            )
    remaining = [
        (order_id, quantity - filled_so_far_by_child.get(order_id, 0))
        for order_id, quantity in block.children
    ]
    still_open = sum(quantity for _, quantity in remaining)
    if not 0 <= filled_now <= still_open:
        raise ValueError(
            f"allocate_fills filled_now: {filled_now} shares must be between 0 and the "
            f"unfilled quantity of block {block.block_id} ({still_open} shares)"
        )
    return allocate_pro_rata(filled_now, remaining)
