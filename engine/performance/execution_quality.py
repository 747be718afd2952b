"""Execution quality over any date range, read from the event log.

One row per order completed in the range (filled, or cancelled at the end of its schedule):
its portfolio, instrument, algorithm and side (from ``OrderCreated``), its implementation
shortfall by component in USD (from the filling ``OrderFilled`` or the ``OrderCompleted``; see
engine/trading/shortfall.py), and its ordered and filled shares. Grouped by algorithm,
portfolio or instrument, each component is also given in basis points of the group's decision
notional (so an aggregate's basis points weigh each order by its size), with the fill rate
(filled over ordered shares) and what internal crossing saved (``CrossExecuted``).

Amounts are summed as ``Decimal`` and given as floats rounded to the cent: analytics, not the
books.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pandas as pd

from engine.model import Event
from engine.state.engine_state import QUALITY_FIELDS

# The shortfall's components, as the engine records them on an order's completion.
COMPONENTS = tuple(name for name in QUALITY_FIELDS if name != "decision_notional_usd")
EVENT_TYPES = frozenset(
    {"OrderCreated", "OrderFilled", "OrderCompleted", "CrossExecuted", "ReplayRestarted"}
)
GROUPS = ("algorithm", "portfolio", "symbol")
ORDER_COLUMNS = (
    "order_id",
    "portfolio",
    "symbol",
    "algorithm",
    "side",
    "completed",
    "state",
    "ordered_shares",
    "filled_shares",
    "decision_notional_usd",
    *COMPONENTS,
)


class ExecutionLog:
    """The completed orders and the crossing savings, folded from events one at a time (a
    replay's log, a report's, or the live stream); the date range is chosen when reading."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._created: dict[str, dict[str, object]] = {}
        self._filled: dict[str, int] = {}
        self._orders: list[dict[str, object]] = []
        self._crosses: list[dict[str, object]] = []

    def observe(self, event: Event) -> None:
        p = event.payload
        if event.type == "OrderCreated":
            self._created[p["order_id"]] = {
                "portfolio": event.portfolio_id,
                "symbol": p["symbol"],
                "algorithm": p.get("algorithm", "IMMEDIATE"),
                "side": p["side"],
                "ordered_shares": int(p["quantity_shares"]),
            }
        elif event.type == "CrossExecuted":
            for pid, saving in p.get("savings_usd", {}).items():
                self._crosses.append(
                    {
                        "date": p["market_date"],
                        "portfolio": pid,
                        "symbol": p["symbol"],
                        "saving_usd": Decimal(saving),
                    }
                )
        elif event.type == "ReplayRestarted":
            self._reset()  # a restarted replay's orders start again
        if event.type == "OrderFilled":
            self._filled[p["order_id"]] = self._filled.get(p["order_id"], 0) + int(
                p["quantity_shares"]
            )
        if event.type in {"OrderFilled", "OrderCompleted"} and "shortfall" in p:
            order = self._created.pop(p["order_id"], None)
            if order is None:
                return  # created before the part of the log that was read
            shortfall = p["shortfall"]
            self._orders.append(
                {
                    "order_id": p["order_id"],
                    **order,
                    "completed": p["market_date"],
                    "state": p.get("state", "FILLED"),
                    "filled_shares": self._filled.pop(p["order_id"], 0),
                    "decision_notional_usd": Decimal(shortfall["decision_notional_usd"]),
                    **{name: Decimal(shortfall[name]) for name in COMPONENTS},
                }
            )

    def orders(self, start: date | None = None, end: date | None = None) -> pd.DataFrame:
        """The orders completed between ``start`` and ``end`` (market dates, both included)."""
        rows = [r for r in self._orders if _within(str(r["completed"]), start, end)]
        return pd.DataFrame(rows, columns=list(ORDER_COLUMNS))

    def savings(self, start: date | None = None, end: date | None = None) -> pd.DataFrame:
        """What crossing saved (date, portfolio, symbol, saving_usd) in the range."""
        rows = [r for r in self._crosses if _within(str(r["date"]), start, end)]
        return pd.DataFrame(rows, columns=["date", "portfolio", "symbol", "saving_usd"])


def _within(day: str, start: date | None, end: date | None) -> bool:
    on = date.fromisoformat(day)
    return (start is None or on >= start) and (end is None or on <= end)


def quality_by(orders: pd.DataFrame, savings: pd.DataFrame, group: str) -> pd.DataFrame:
    """Execution quality per ``group`` (``algorithm``, ``portfolio`` or ``symbol``): orders,
    decision notional, each shortfall component in USD and basis points, the fill rate and
    the crossing saving (not by algorithm: a cross is no algorithm's)."""
    if group not in GROUPS:
        raise ValueError(f"group: {group!r} must be one of {', '.join(GROUPS)}")
    table = []
    for key, part in orders.groupby(group, sort=True):
        notional = sum(part["decision_notional_usd"], Decimal(0))
        row: dict[str, object] = {
            group: key,
            "orders": len(part),
            "cancelled": int((part["state"] == "CANCELLED").sum()),
            "decision_notional_usd": round(float(notional), 2),
        }
        for name in COMPONENTS:
            amount = sum(part[name], Decimal(0))
            row[name] = round(float(amount), 2)
            row[name.replace("_usd", "_bps")] = (
                round(float(amount / notional * 10_000), 3) if notional else None
            )
        ordered = int(part["ordered_shares"].sum())
        row["fill_rate"] = round(int(part["filled_shares"].sum()) / ordered, 6) if ordered else None
        if group != "algorithm":
            saved = savings.loc[savings[group] == key, "saving_usd"]
            row["crossing_saving_usd"] = round(float(sum(saved, Decimal(0))), 2)
        table.append(row)
    return pd.DataFrame(table)
