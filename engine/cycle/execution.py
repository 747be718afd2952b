"""The execution stage: the orders decided in earlier cycles are worked at this close (no
look-ahead): crossed internally, filled by their schedules on the venue, completed or expired.

Emits ``CrossExecuted``, ``OrderFilled`` (the fill that fills an order carries its shortfall),
``BlockExecuted`` and ``OrderCompleted`` (an order cancelled at its schedule's end). Keeps no state
of its own: the working orders are in the ``EngineState``; the desk (engine/trading/execution.py)
holds the venue model.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import numpy as np

from engine.cycle.context import MarketClose, PortfolioMandate, Universe
from engine.cycle.recorder import Emitter
from engine.model import Fill
from engine.snapshot import BlockView, CrossView
from engine.state.engine_state import QUALITY_FIELDS, EngineState, FilledOrder
from engine.trading.execution import Completion, ExecutionDesk
from engine.trading.shortfall import Shortfall


@dataclass(frozen=True, slots=True)
class ExecutionResult:
    """What traded at this close: fills, internal crosses and venue blocks, oldest first."""

    fills: tuple[Fill, ...] = ()
    crosses: tuple[CrossView, ...] = ()
    blocks: tuple[BlockView, ...] = ()


class ExecutionStage:
    def __init__(
        self, universe: Universe, mandates: tuple[PortfolioMandate, ...], desk: ExecutionDesk
    ) -> None:
        self.universe = universe
        self.mandates = mandates
        self.desk = desk
        self._long_short = frozenset(m.portfolio_id for m in mandates if m.long_short)

    def run(
        self, cycle: int, market: MarketClose, state: EngineState, emit: Emitter
    ) -> ExecutionResult:
        if not state.pending_orders:
            return ExecutionResult()
        tick, ledger = market.tick, state.ledger
        working = {
            order_id: (order, state.order_progress[order_id])
            for order_id, order in state.pending_orders.items()
        }
        window = market.window
        arrival = {}
        rows: dict[int, np.ndarray] = {}  # one row object per day back, shared by its orders
        for order_id, (_, progress) in working.items():
            back = cycle - (progress.created_cycle + 1)  # rows back from today's close
            if 0 <= back < len(window):
                if back not in rows:
                    rows[back] = window[len(window) - 1 - back]
                arrival[order_id] = rows[back]
        day = self.desk.execute(
            working,
            cycle,
            tick.close,
            tick.volume_shares,
            market.stats,
            self.universe.symbol_index,
            {pid: ledger.cash_usd(pid) for pid in ledger.portfolio_ids},
            ledger.holdings(),
            self._long_short,
            arrival,
            f"B{cycle:08d}",
        )
        market_date = tick.timestamp.isoformat()
        crosses = []
        for record in day.crosses:
            emit(
                "CrossExecuted",
                {
                    "market_date": market_date,
                    "symbol": record.symbol,
                    "quantity_shares": record.quantity_shares,
                    "price_usd": str(record.price_usd),
                    "orders": record.orders,
                    "unmatched": record.unmatched,
                    "savings_usd": {pid: str(v) for pid, v in record.savings_usd.items()},
                },
            )
            if record.quantity_shares:
                by_portfolio: dict[str, int] = {}
                for order_id, shares in record.orders.items():
                    pid = working[order_id][0].portfolio_id
                    by_portfolio[pid] = by_portfolio.get(pid, 0) + shares
                crosses.append(
                    CrossView(
                        tick.timestamp,
                        record.symbol,
                        record.quantity_shares,
                        record.price_usd,
                        tuple(sorted(by_portfolio.items())),
                        sum(record.savings_usd.values(), Decimal(0)),
                    )
                )
        settles = {
            m.portfolio_id: np.busday_offset(
                tick.timestamp, m.settlement_days, roll="forward"
            ).astype(date)
            for m in self.mandates
        }
        settle_dates = {pid: settled.isoformat() for pid, settled in settles.items()}
        day_index: dict[str, int] = {}
        filled_after = {oid: progress.filled_shares for oid, (_, progress) in working.items()}
        # An order filled today ends with the fill that fills it: that OrderFilled carries the
        # order's shortfall (as a FIX execution report's last fill carries its order's end),
        # instead of an OrderCompleted of its own, a quarter of a busy cycle's events. Orders
        # cancelled at the end of their schedule still get an OrderCompleted.
        ending = {c.order.order_id: c for c in day.completions if c.state == "FILLED"}
        fills = []
        for done in day.fills:
            order = done.order
            filled_after[order.order_id] += done.quantity_shares
            d = cycle - working[order.order_id][1].created_cycle - 1
            suffix = "X" if done.venue == "internal cross" else f"F{d:02d}"
            n = day_index[order.order_id] = day_index.get(order.order_id, 0) + 1
            fill = Fill(
                f"{order.order_id}-{suffix}{'' if n == 1 else n}",
                order.order_id,
                order.portfolio_id,
                order.symbol,
                order.side,
                done.quantity_shares,
                done.price_usd,
                done.commission_usd,
                tick.timestamp,
                settles[order.portfolio_id],
            )
            filled = filled_after[order.order_id] == order.quantity_shares
            payload = {
                "order_id": fill.order_id,
                "fill_id": fill.fill_id,
                "symbol": fill.symbol,
                "side": fill.side.value,
                "quantity_shares": fill.quantity_shares,
                "price_usd": str(fill.price_usd),
                "market_price_usd": str(done.market_price_usd),
                "commission_usd": str(fill.commission_usd),
                "cash_change_usd": str(fill.cash_change_usd),
                "venue": done.venue,
                "block_id": done.block_id,
                "state": "FILLED" if filled else "PARTIALLY_FILLED",
                "market_date": market_date,
                "settlement_date": settle_dates[order.portfolio_id],
            }
            # The lots it closes, with their gains and terms (the ledger books the same when
            # the event is folded, before the next fill is looked at).
            reliefs = ledger.relief(fill)
            if reliefs:
                payload["lots"] = [relief.to_dict() for relief in reliefs]
            quality = None
            if filled:
                quality = ending.pop(order.order_id).quality
                payload.update(_shortfall_fields(quality))
            emit(
                "OrderFilled",
                payload,
                fill.portfolio_id,
                record=FilledOrder(fill, done.market_price_usd, quality, reliefs),
            )
            fills.append(fill)
        assert not ending, f"orders filled without a filling fill today: {sorted(ending)}"
        blocks = []
        for block in day.blocks:
            emit(
                "BlockExecuted",
                {
                    "market_date": market_date,
                    "block_id": block.block_id,
                    "symbol": block.symbol,
                    "side": block.side.value,
                    "planned_shares": block.planned_shares,
                    "filled_shares": block.filled_shares,
                    "price_usd": None if block.price_usd is None else str(block.price_usd),
                    "children": block.children,
                },
            )
            blocks.append(
                BlockView(
                    block.block_id,
                    tick.timestamp,
                    block.symbol,
                    block.side.value,
                    block.planned_shares,
                    block.filled_shares,
                    len(block.children),
                )
            )
        for completion in day.completions:
            if completion.state != "FILLED":
                _complete(completion, market_date, emit)
        return ExecutionResult(tuple(fills), tuple(crosses), tuple(blocks))


def _shortfall_fields(quality: Shortfall) -> dict[str, object]:
    return {
        "shortfall": {name: str(getattr(quality, name)) for name in QUALITY_FIELDS},
        "shortfall_bps": round(quality.total_bps, 3),
    }


def _complete(completion: Completion, market_date: str, emit: Emitter) -> None:
    emit(
        "OrderCompleted",
        {
            "order_id": completion.order.order_id,
            "symbol": completion.order.symbol,
            "state": completion.state,
            "reason": completion.reason,
            "market_date": market_date,
            **_shortfall_fields(completion.quality),
        },
        completion.order.portfolio_id,
    )
