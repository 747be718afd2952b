"""What a run's event log says of each portfolio, folded one event at a time: its opening cash,
its end-of-day NAV and cash, its fills and its completed orders' execution quality. The replay's
report and ``pcoord report`` read it; both get the same figures from the same log.

A ``ReplayRestarted`` starts the run again (the portfolios are opened anew with its cash), as the
engine state does.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

import pandas as pd

from engine.config import PortfolioConfig
from engine.model import Event
from engine.performance.effectiveness import EVENT_TYPES as EFFECTIVENESS_EVENTS
from engine.performance.execution_quality import EVENT_TYPES as EXECUTION_EVENTS
from engine.performance.execution_quality import ExecutionLog
from engine.performance.measurement import FILL_FIELDS, PortfolioRun
from engine.performance.sleeves import SleeveTargets
from engine.performance.targets import RecordedTarget, in_force, recorded_target
from engine.performance.turnover import TradeRecord, turnover_report

# The parts of an order's implementation shortfall that are trading costs.
COST_FIELDS = ("spread_usd", "impact_usd", "commission_usd")
FILL_COLUMNS = (
    "date",
    "portfolio",
    "order_id",
    "symbol",
    "side",
    "quantity_shares",
    "price_usd",
    "commission_usd",
)
EVENT_TYPES = (
    EXECUTION_EVENTS
    | EFFECTIVENESS_EVENTS
    | {
        "PortfolioOpened",
        "CycleCompleted",
        "TargetWeightsSet",
        "AllocationScaled",
        "CashFlowRecorded",
    }
)


class RunLog:
    def __init__(self) -> None:
        self.execution = ExecutionLog()
        self._reset()

    def _reset(self) -> None:
        self.opening_usd: dict[str, Decimal] = {}
        # date, portfolio, nav_usd, cash_usd: as recorded, text.
        self.nav_rows: list[tuple[str, str, str, str]] = []
        self.fill_rows: list[tuple[object, ...]] = []  # FILL_COLUMNS
        # Deposits (positive) and withdrawals: market date, portfolio, USD. A flow between two
        # closes is in the next close's NAV, so it is dated by the next CycleCompleted.
        self.flow_rows: list[tuple[str, str, float]] = []
        self._pending_flows: list[tuple[str, float]] = []
        # Each lot a fill closed: market date, portfolio, term, gain (USD).
        self.realised_rows: list[tuple[str, str, str, Decimal]] = []
        self.cycles = 0
        self.failed_cycles = 0
        self.first_date: str | None = None
        self.last_date: str | None = None
        # What the engine's figures against the seed's gates are read from, each with the
        # market date of its cycle (some, such as the risk gate's rejections, carry none).
        self.gate_events: list[Event] = []
        self.gate_event_dates: list[str | None] = []
        self._undated: list[int] = []  # gate events waiting for their cycle's date
        # Each multi-strategy portfolio's rebalances, sleeve by sleeve.
        self.sleeve_targets: dict[str, list[SleeveTargets]] = defaultdict(list)
        # Each portfolio's rebalances, for the source and decision attributions.
        self.targets: dict[str, list[RecordedTarget]] = defaultdict(list)
        # The risk budget's factor of the day's allocation, until its target is recorded.
        self._scaled: dict[str, tuple[str, float]] = {}
        # What the risk gate withheld of the day's orders (USD, buys positive), until the
        # cycle's NAV turns it into weights of the day's target.
        self._withheld_usd: dict[str, dict[str, float]] = defaultdict(dict)
        self.last_seq = 0

    def observe(self, event: Event) -> None:
        p = event.payload
        self.last_seq = max(self.last_seq, event.seq or 0)
        self.execution.observe(event)
        if event.type in EFFECTIVENESS_EVENTS:
            self.gate_events.append(event)
            day = p.get("market_date")
            if not isinstance(day, str):
                day = None
                self._undated.append(len(self.gate_events) - 1)
            self.gate_event_dates.append(day)
        if event.type == "CycleCompleted":
            self.cycles += 1
            self.failed_cycles += bool(p["failed"])
            self.first_date = self.first_date or p["market_date"]
            self.last_date = p["market_date"]
            for pid, (nav_usd, cash_usd) in p["valuation_usd"].items():
                self.nav_rows.append((p["market_date"], pid, nav_usd, cash_usd))
            self._gate_settled(p["market_date"], p["valuation_usd"])
            self.flow_rows.extend((p["market_date"], pid, usd) for pid, usd in self._pending_flows)
            self._pending_flows.clear()
            # A cycle's events come before its CycleCompleted: the undated ones are its.
            for k in self._undated:
                self.gate_event_dates[k] = p["market_date"]
            self._undated.clear()
        elif event.type == "OrderFilled":
            self.fill_rows.append(
                (
                    p["market_date"],
                    event.portfolio_id,
                    p["order_id"],
                    p["symbol"],
                    p["side"],
                    int(p["quantity_shares"]),
                    p["price_usd"],
                    p["commission_usd"],
                )
            )
            for lot in p.get("lots", ()):
                self.realised_rows.append(
                    (
                        p["market_date"],
                        str(event.portfolio_id),
                        lot["term"],
                        Decimal(lot["gain_usd"]),
                    )
                )
        elif (event.type == "OrderRejected" and p.get("check") == "pre-trade") or (
            event.type == "OrderCreated" and "risk_check" in p
        ):
            check = p.get("risk_check", p)
            withheld = int(check["requested_shares"]) - int(check["approved_shares"])
            sign = 1.0 if p["side"] == "BUY" else -1.0
            usd = self._withheld_usd[str(event.portfolio_id)]
            usd[p["symbol"]] = usd.get(p["symbol"], 0.0) + sign * withheld * float(
                p["decision_price_usd"]
            )
        elif event.type == "CashFlowRecorded":
            self._pending_flows.append((str(event.portfolio_id), float(p["amount_usd"])))
        elif event.type == "AllocationScaled":
            self._scaled[str(event.portfolio_id)] = (p["market_date"], float(p["factor"]))
        elif event.type == "TargetWeightsSet":
            self._target(str(event.portfolio_id), p)
        elif event.type in ("PortfolioOpened", "ReplayRestarted"):
            self._opened(event.type, p)

    def _target(self, pid: str, p: dict[str, Any]) -> None:
        day = str(p["market_date"])
        scaled_on, factor = self._scaled.pop(pid, (day, 1.0))
        self.targets[pid].append(recorded_target(day, p, factor if scaled_on == day else 1.0))
        if "sleeves" in p:
            capital = p.get("sleeve_capital", {})
            self.sleeve_targets[pid].append(
                (
                    date.fromisoformat(day),
                    {
                        sleeve: {s: float(capital.get(sleeve, 0.0)) * w for s, w in wanted.items()}
                        for sleeve, wanted in p["sleeves"].items()
                    },
                )
            )

    def _gate_settled(self, day: str, valuation: dict[str, list[str]]) -> None:
        """What the gate withheld today, as weights of NAV on today's targets."""
        for pid, usd in self._withheld_usd.items():
            targets = self.targets.get(pid)
            nav = float(valuation.get(pid, ["0"])[0])
            if usd and targets and targets[-1].market_date.isoformat() == day and nav > 0:
                withheld = {symbol: amount / nav for symbol, amount in usd.items()}
                targets[-1] = replace(targets[-1], gate_withheld=withheld)
        self._withheld_usd.clear()

    def _opened(self, kind: str, p: dict[str, Any]) -> None:
        if kind == "PortfolioOpened":
            self.opening_usd[p["portfolio_id"]] = Decimal(p["initial_cash_usd"])
        else:  # ReplayRestarted
            self._reset()
            for pid, opening in p["portfolios"].items():
                self.opening_usd[pid] = Decimal(opening["initial_cash_usd"])

    def nav_usd(self, portfolio_id: str) -> pd.Series:
        """End-of-day NAV by date."""
        rows = [(day, float(nav)) for day, pid, nav, _ in self.nav_rows if pid == portfolio_id]
        return pd.Series(
            [nav for _, nav in rows],
            index=pd.DatetimeIndex([day for day, _ in rows]),
            dtype=float,
            name=portfolio_id,
        )

    def trades(self, portfolio_id: str) -> list[TradeRecord]:
        """The portfolio's fills as turnover records (notional in USD)."""
        return [
            TradeRecord(day, order_id, symbol, side, float(Decimal(shares) * Decimal(str(price))))  # type: ignore[arg-type]
            for day, pid, order_id, symbol, side, shares, price, _ in self.fill_rows
            if pid == portfolio_id
        ]

    def portfolio_run(
        self, portfolio: PortfolioConfig, start: date | None = None, end: date | None = None
    ) -> PortfolioRun:
        """The portfolio's figures for its metrics (engine/performance/measurement.py), between
        ``start`` and ``end`` (market dates, both included; the whole run by default). A range
        opens at the NAV of the close before it, with the shares held then."""
        pid = portfolio.id
        whole = self.nav_usd(pid)
        days = whole.index.date
        inside = (days >= (start or date.min)) & (days <= (end or date.max))
        nav = whole[inside]
        earlier = whole[days < start] if start is not None else whole.iloc[:0]
        opening = (
            float(earlier.iloc[-1])
            if len(earlier)
            else float(self.opening_usd.get(pid, Decimal(portfolio.initial_cash_usd)))
        )
        orders = self.execution.orders(start, end)
        mine = orders[orders["portfolio"] == pid]
        cost = sum((sum(mine[name], Decimal(0)) for name in COST_FIELDS), Decimal(0))
        last = (end or date.max).isoformat()
        fills = pd.DataFrame(
            [
                (day, symbol, shares if side == "BUY" else -shares)  # type: ignore[operator]
                for day, fill_pid, _, symbol, side, shares, _, _ in self.fill_rows
                if fill_pid == pid and str(day) <= last
            ],
            columns=list(FILL_FIELDS),
        )
        nav_days = [str(day) for day in nav.index.strftime("%Y-%m-%d")]
        trades = [t for t in self.trades(pid) if nav_days and nav_days[0] <= str(t.day) <= last]
        turnover = turnover_report(trades, nav_days, nav.tolist())
        last_day = end or date.max
        sleeves = tuple(t for t in self.sleeve_targets.get(pid, ()) if t[0] <= last_day)
        targets = in_force(self.targets.get(pid, ()), nav.index[0].date() if len(nav) else None)
        targets = tuple(t for t in targets if t.market_date <= last_day)
        first = str(nav.index[0].date()) if len(nav) else last
        flows = [
            (day, usd)
            for day, flow_pid, usd in self.flow_rows
            if flow_pid == pid and first <= day <= last
        ]
        flows_usd = (
            pd.Series([usd for _, usd in flows], index=pd.DatetimeIndex([d for d, _ in flows]))
            .groupby(level=0)
            .sum()
        )
        realised = tuple(
            (date.fromisoformat(day), term, gain)
            for day, gain_pid, term, gain in self.realised_rows
            if gain_pid == pid and first <= day <= last
        )
        return PortfolioRun(
            portfolio,
            nav,
            opening,
            float(cost),
            turnover.annual_turnover,
            fills,
            sleeves,
            targets,
            realised,
            flows_usd,
        )
