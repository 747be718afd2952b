"""The engine's state as a fold over its events.

Everything the engine must know to carry on after a restart (cash, positions, tax lots, cash
pending settlement, interest income and accrual, orders waiting for the next tick, how many cycles
ran, each portfolio's trading state, risk limits and open risk alerts, recent NAVs, the live
external signals and manual overrides)
changes only by ``EngineState.apply(event)``. The ``EventRecorder`` applies each event the moment it
emits it; start-up applies the stored events after the latest snapshot. Same code, same result: the
live state is the fold of its events. The engine's own orders and fills are folded from the
records their payloads were written from (``CreatedOrder``, ``FilledOrder``) rather than parsed
back, through the same bookkeeping; tests fold both ways and compare the whole state.

Payload fields read beyond the basics (all optional, so older event logs fold unchanged):

- ``PortfolioOpened.allow_short`` (JSON bool, absent = false): the portfolio may hold shorts;
- ``OrderFilled.settlement_date`` (ISO date, absent = settles at once): cash stays pending in the
  ledger until the first ``CycleCompleted`` whose ``market_date`` is on or after it;
- ``CycleCompleted.interest_accrued_usd`` (``{portfolio_id: decimal string}``, unrounded USD):
  added to ``interest_accrual_usd``;
- ``CashInterestCredited`` (``amount_usd`` whole cents, ``market_date``; ``portfolio_id`` on the
  event): credited to the ledger's cash and subtracted from ``interest_accrual_usd``, so the part
  of the accrual below a cent carries over to the next credit.
- ``ReplayRestarted`` (``first_trading_date``, ISO; ``portfolios``: ``{portfolio_id:
  {initial_cash_usd, allow_short}}``): the replay starts again. The state becomes that of a new
  store whose portfolios were just opened with that cash: positions, orders, cycles, NAV
  history, signals, overrides, alerts and trading states are cleared; the risk limits in force
  are kept (they are the desk's settings, not the market's). ``restarts`` counts them and
  ``replay_start`` is the day the feed starts on.

Accruals are summed exactly in ``Decimal`` (at the default 28 significant digits), so live and
replayed states agree to the last digit.
"""

from __future__ import annotations

import hashlib
import json
from collections import deque
from datetime import date
from decimal import Decimal
from typing import Any, NamedTuple

from engine.model import Event, Fill, Order, Side
from engine.rebalancing.proposals import EVENT_TYPES as PROPOSAL_EVENTS
from engine.rebalancing.tax import TaxRules
from engine.signals.book import Override, SignalBook, signal_from_payload
from engine.snapshot import NavPoint
from engine.state.ledger import Ledger, LotRelief
from engine.state.rebalancing_state import REBALANCING_EVENTS, RebalancingState
from engine.trading.execution import OrderProgress
from engine.trading.shortfall import ExecutedFill, Shortfall

STATE_FORMAT_VERSION = 5
NAV_HISTORY_POINTS = 2520


class CreatedOrder(NamedTuple):
    """What an ``OrderCreated`` was made from, for ``EngineState.apply``: the order and its plan.
    The state keeps ``progress`` (and counts fills on it) from then on."""

    order: Order
    progress: OrderProgress


class FilledOrder(NamedTuple):
    """What an ``OrderFilled`` was made from, for ``EngineState.apply``: the fill, the market
    price at it, the order's shortfall when this fill filled it (else None), and the lots it
    closes as the event lists them (worked out once; a replay of the event works them out
    again, the same)."""

    fill: Fill
    market_price_usd: Decimal
    quality: Shortfall | None
    reliefs: list[LotRelief] | None = None


class EngineState:
    def __init__(self, nav_history_points: int = NAV_HISTORY_POINTS) -> None:
        self.ledger = Ledger()
        self.pending_orders: dict[str, Order] = {}
        # Each working order's plan and progress (engine/trading/execution.py).
        self.order_progress: dict[str, OrderProgress] = {}
        # Implementation shortfall of completed orders and crossing savings, per portfolio (USD).
        self.execution_quality: dict[str, dict[str, Any]] = {}
        self.cycles_completed = 0
        self.market_date: date | None = None
        # Portfolios not ACTIVE: {state, reason, automatic, limit}; the risk limits in force
        # (the payload of their latest RiskLimitSet, with its actor) and the open risk alerts.
        self.trading_states: dict[str, dict[str, Any]] = {}
        self.risk_limits: dict[str, dict[str, dict[str, Any]]] = {}
        self.risk_alerts: dict[str, dict[str, Any]] = {}
        # Each portfolio's latest rebalance: [cycle, largest order notional (USD), orders].
        self.last_orders: dict[str, list[Any]] = {}
        self.initial_cash_usd: dict[str, Decimal] = {}
        self.orders_total: dict[str, int] = {}
        self.fills_total: dict[str, int] = {}
        self.targets: dict[str, dict[str, float]] = {}
        self.target_cash_weight: dict[str, float] = {}
        self._nav_history_points = nav_history_points
        self.nav_history: dict[str, deque[NavPoint]] = {}
        self.signal_book = SignalBook()
        self.overrides: dict[str, Override] = {}
        # Interest earned on cash (USD, unrounded) but not yet credited, per portfolio.
        self.interest_accrual_usd: dict[str, Decimal] = {}
        # A manager's weight pins/exclusions and each sleeve's last weights, per portfolio.
        self.weight_overrides: dict[str, dict[str, dict[str, Any]]] = {}
        self.sleeve_targets: dict[str, dict[str, dict[str, float]]] = {}
        # Requests, proposals, policies set by a manager (engine/state/rebalancing_state.py).
        self.rebalancing = RebalancingState()
        self.events_applied = 0
        # Replay restarts so far, and the trading day the latest one started the feed on.
        self.restarts = 0
        self.replay_start: date | None = None

    # -- the fold -----------------------------------------------------------------------------
    def apply(self, event: Event, record: CreatedOrder | FilledOrder | None = None) -> None:
        """Fold ``event``. ``record``: what the engine made the event's payload from, folded as
        is rather than parsed back from the payload's text (the recorder passes it for the
        engine's own orders and fills, two in three of a busy cycle's events). It holds the
        same values the payload does: a replay folds the payload to the same state, which the
        crash-recovery and golden replay tests prove."""
        if record is None:
            handler = _HANDLERS.get(event.type)
            if handler is not None:
                handler(self, event)
        elif type(record) is CreatedOrder:
            self._add_order(record.order, record.progress)
        else:
            venue = event.payload["venue"]
            self._book_fill(
                record.fill, venue, record.market_price_usd, record.quality, record.reliefs
            )
        self.events_applied += 1

    def _opened(self, event: Event) -> None:
        self._open(event.payload)

    def _open(self, opening: dict[str, Any]) -> None:
        pid = open_in_ledger(self.ledger, opening)
        self.initial_cash_usd[pid] = self.ledger.cash_usd(pid)
        self.orders_total[pid] = 0
        self.fills_total[pid] = 0
        self.nav_history[pid] = deque(maxlen=self._nav_history_points)

    def _order_created(self, event: Event) -> None:
        progress = OrderProgress.from_payload(event.payload)
        order = order_from_event(event)
        if "schedule" not in event.payload:  # made before multi-day schedules: all at once
            progress.schedule = (order.quantity_shares,)
        self._add_order(order, progress)

    def _add_order(self, order: Order, progress: OrderProgress) -> None:
        self.pending_orders[order.order_id] = order
        self.order_progress[order.order_id] = progress
        self.orders_total[order.portfolio_id] += 1
        cycle = progress.created_cycle
        notional = order.quantity_shares * float(order.decision_price_usd)
        last = self.last_orders.get(order.portfolio_id)
        if last is None or last[0] != cycle:
            self.last_orders[order.portfolio_id] = [cycle, notional, 1]
        else:
            last[1], last[2] = max(last[1], notional), last[2] + 1

    def _order_filled(self, event: Event) -> None:
        p = event.payload
        if "venue" not in p or p["order_id"] not in self.order_progress:
            # An order filled before orders could work over days: the fill ended it.
            fill = fill_from_event(event)
            self.ledger.apply(fill)
            self.fills_total[fill.portfolio_id] += 1
            self._end_order(fill.order_id)
            return
        quality = _shortfall_of(p["shortfall"]) if "shortfall" in p else None
        market_price = Decimal(p.get("market_price_usd", p["price_usd"]))
        self._book_fill(fill_from_event(event), p["venue"], market_price, quality)

    def _book_fill(
        self,
        fill: Fill,
        venue: str,
        market_price_usd: Decimal,
        quality: Shortfall | None,
        reliefs: list[LotRelief] | None = None,
    ) -> None:
        """A fill of a working order at ``venue`` ("market" or "internal cross"): booked,
        counted on the order; ``quality``, the order's shortfall when this fill filled it, ends
        the order. ``reliefs``: the lots it closes, when already worked out."""
        self.ledger.apply(fill, reliefs)
        self.fills_total[fill.portfolio_id] += 1
        progress = self.order_progress[fill.order_id]
        progress.filled_shares += fill.quantity_shares
        if venue == "market":
            progress.market_filled_shares += fill.quantity_shares
        if quality is not None:  # the fill that filled the order: it ends with it
            self._complete_order(fill.portfolio_id, fill.order_id, quality)
            return
        progress.fills.append(
            ExecutedFill(
                fill.quantity_shares, fill.price_usd, market_price_usd, venue == "internal cross"
            )
        )

    def _cross_executed(self, event: Event) -> None:
        for order_id, shares in event.payload.get("unmatched", {}).items():
            if order_id in self.order_progress:
                self.order_progress[order_id].cross_unmatched += int(shares)
        for pid, saving in event.payload.get("savings_usd", {}).items():
            totals = self.execution_quality.setdefault(pid, _quality_totals())
            totals["crossing_saving_usd"] += Decimal(saving)

    def _order_completed(self, event: Event) -> None:
        """An order's end and its shortfall: an ``OrderCompleted``, or the ``OrderFilled`` that
        filled it (logs written before those carried it have an ``OrderCompleted`` after it)."""
        p = event.payload
        self._complete_order(event.portfolio_id or "", p["order_id"], _shortfall_of(p["shortfall"]))

    def _complete_order(self, pid: str, order_id: str, quality: Shortfall) -> None:
        totals = self.execution_quality.get(pid)
        if totals is None:  # not setdefault: that builds the dict for every completion
            totals = self.execution_quality[pid] = _quality_totals()
        totals["orders"] += 1
        for name in QUALITY_FIELDS:
            totals[name] += getattr(quality, name)
        self._end_order(order_id)

    def _order_ended(self, event: Event) -> None:
        """A filled, rejected or cancelled order leaves the book of working orders."""
        self._end_order(event.payload["order_id"])

    def _end_order(self, order_id: str) -> None:
        self.pending_orders.pop(order_id, None)
        self.order_progress.pop(order_id, None)

    def _cycle_completed(self, event: Event) -> None:
        p = event.payload
        self.cycles_completed = int(p["cycle"])
        self.market_date = _as_date(p["market_date"])
        self.ledger.settle(self.market_date)
        accrual = self.interest_accrual_usd
        for pid, accrued in p.get("interest_accrued_usd", {}).items():
            accrual[pid] = accrual.get(pid, Decimal(0)) + Decimal(accrued)
        for pid, (nav, cash) in p.get("valuation_usd", {}).items():
            # setdefault: a follower may see a cycle before the portfolio's opening event, since
            # they travel on different Pulsar topics.
            self.nav_history.setdefault(pid, deque(maxlen=self._nav_history_points)).append(
                NavPoint(self.market_date, float(nav), float(cash))
            )
        self.signal_book.prune(self.market_date)

    def _interest_credited(self, event: Event) -> None:
        pid = event.portfolio_id or ""
        amount_usd = credit_interest_in_ledger(self.ledger, event)
        self.interest_accrual_usd[pid] = self.interest_accrual_usd.get(pid, Decimal(0)) - amount_usd

    def _signal_received(self, event: Event) -> None:
        self.signal_book.add(signal_from_payload(event.payload))

    def _override_set(self, event: Event) -> None:
        override = Override.from_payload(event.payload, event.actor)
        self.overrides[override.override_id] = override

    def _override_expired(self, event: Event) -> None:
        self.overrides.pop(event.payload["override_id"], None)

    def _targets_set(self, event: Event) -> None:
        pid = event.portfolio_id or ""
        previous = self.targets.get(pid)
        self.rebalancing.target_replaced(
            pid, None if previous is None else (previous, self.target_cash_weight[pid])
        )
        self.targets[pid] = {k: float(v) for k, v in event.payload["weights"].items()}
        self.target_cash_weight[pid] = float(event.payload["cash_weight"])
        if "sleeves" in event.payload:
            self.sleeve_targets[pid] = {
                sleeve: {k: float(v) for k, v in weights.items()}
                for sleeve, weights in event.payload["sleeves"].items()
            }

    def _weight_override_set(self, event: Event) -> None:
        p = event.payload
        self.weight_overrides.setdefault(event.portfolio_id or "", {})[p["instrument"]] = {
            "weight": p["weight"],
            "reason": p["reason"],
            "actor": event.actor,
            "set_on": p.get("market_date"),
        }

    def _rebalancing(self, event: Event) -> None:
        pid = event.portfolio_id or ""
        restored = self.rebalancing.apply(event)
        if event.type == "CashFlowRecorded":
            self.ledger.external_flow(pid, Decimal(event.payload["amount_usd"]))
        elif restored is None:  # a proposal rejected or expired, and no target before it
            self.targets.pop(pid, None)
            self.target_cash_weight.pop(pid, None)
        elif restored is not False:  # ... and the target traded before it is in force again
            self.targets[pid], self.target_cash_weight[pid] = restored
        elif "kept_weights" in event.payload:  # released without some names: they stay held
            kept = {s: float(w) for s, w in event.payload["kept_weights"].items()}
            # A new dict: a proposal may hold the one replaced as the target to restore.
            self.targets[pid] = {**self.targets.get(pid, {}), **kept}
            self.target_cash_weight[pid] = 1.0 - sum(self.targets[pid].values())

    def _weight_override_lifted(self, event: Event) -> None:
        self.weight_overrides.get(event.portfolio_id or "", {}).pop(
            event.payload["instrument"], None
        )

    def _replay_restarted(self, event: Event) -> None:
        p = event.payload
        fresh = EngineState(self._nav_history_points)
        fresh.risk_limits = self.risk_limits
        fresh.events_applied = self.events_applied
        fresh.restarts = self.restarts + 1
        fresh.replay_start = _as_date(p["first_trading_date"])
        # In place: the recorder and the read models hold this object.
        self.__dict__.clear()
        self.__dict__.update(vars(fresh))
        for pid, opening in sorted(p["portfolios"].items()):
            self._open({"portfolio_id": pid, **opening})

    @property
    def halted(self) -> dict[str, str]:
        """Portfolios in HALTED, with the reason."""
        return {
            pid: s["reason"] for pid, s in self.trading_states.items() if s["state"] == "HALTED"
        }

    def trading_state(self, portfolio_id: str) -> str:
        return self.trading_states.get(portfolio_id, {}).get("state", "ACTIVE")

    def _trading_state(self, event: Event) -> None:
        pid = event.portfolio_id or ""
        p = event.payload
        if p["state"] == "ACTIVE":
            self.trading_states.pop(pid, None)
        else:
            self.trading_states[pid] = {
                "state": p["state"],
                "reason": p["reason"],
                "automatic": bool(p.get("automatic", False)),
                "limit": p.get("limit"),
                "actor": event.actor,
            }

    def _risk_limit_set(self, event: Event) -> None:
        limits = self.risk_limits.setdefault(event.portfolio_id or "", {})
        limits[event.payload["name"]] = {**event.payload, "actor": event.actor}

    def _risk_limit_removed(self, event: Event) -> None:
        self.risk_limits.get(event.portfolio_id or "", {}).pop(event.payload["name"], None)

    def _risk_alert_raised(self, event: Event) -> None:
        self.risk_alerts[event.payload["alert_id"]] = {
            **event.payload,
            "portfolio_id": event.portfolio_id,
            "acknowledged_by": None,
            "acknowledged_note": "",
        }

    def _risk_alert_cleared(self, event: Event) -> None:
        self.risk_alerts.pop(event.payload["alert_id"], None)

    def _risk_alert_acknowledged(self, event: Event) -> None:
        alert = self.risk_alerts.get(event.payload["alert_id"])
        if alert is not None:
            alert["acknowledged_by"] = event.actor
            alert["acknowledged_note"] = event.payload.get("note", "")

    # -- persistence --------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The exact state as JSON-ready data (money as decimal strings)."""
        return {
            "format": STATE_FORMAT_VERSION,
            "ledger": self.ledger.to_dict(),
            "pending_orders": [
                [
                    o.order_id,
                    o.portfolio_id,
                    o.symbol,
                    o.side.value,
                    o.quantity_shares,
                    str(o.decision_price_usd),
                    o.created.isoformat(),
                    _progress_to_dict(self.order_progress.get(o.order_id)),
                ]
                for o in self.pending_orders.values()
            ],
            "execution_quality": {
                pid: {k: str(v) if isinstance(v, Decimal) else v for k, v in totals.items()}
                for pid, totals in sorted(self.execution_quality.items())
            },
            "cycles_completed": self.cycles_completed,
            "market_date": self.market_date.isoformat() if self.market_date else None,
            "trading_states": dict(sorted(self.trading_states.items())),
            "risk_limits": {
                pid: dict(sorted(limits.items()))
                for pid, limits in sorted(self.risk_limits.items())
            },
            "risk_alerts": dict(sorted(self.risk_alerts.items())),
            "last_orders": dict(sorted(self.last_orders.items())),
            "initial_cash_usd": {k: str(v) for k, v in sorted(self.initial_cash_usd.items())},
            "orders_total": dict(sorted(self.orders_total.items())),
            "fills_total": dict(sorted(self.fills_total.items())),
            "targets": {pid: self.targets[pid] for pid in sorted(self.targets)},
            "target_cash_weight": dict(sorted(self.target_cash_weight.items())),
            "nav_history": {
                pid: [[p.timestamp.isoformat(), p.nav_usd, p.cash_usd] for p in points]
                for pid, points in sorted(self.nav_history.items())
            },
            "signal_book": self.signal_book.to_dict(),
            "overrides": [
                {**o.payload(), "actor": o.actor}
                for o in sorted(self.overrides.values(), key=lambda o: o.override_id)
            ],
            "interest_accrual_usd": {
                pid: str(accrued) for pid, accrued in sorted(self.interest_accrual_usd.items())
            },
            "weight_overrides": {
                pid: dict(sorted(by_symbol.items()))
                for pid, by_symbol in sorted(self.weight_overrides.items())
            },
            "sleeve_targets": {
                pid: self.sleeve_targets[pid] for pid in sorted(self.sleeve_targets)
            },
            **self.rebalancing.to_dict(),
            "events_applied": self.events_applied,
            "restarts": self.restarts,
            "replay_start": self.replay_start.isoformat() if self.replay_start else None,
        }

    @classmethod
    def from_dict(
        cls, data: dict[str, Any], nav_history_points: int = NAV_HISTORY_POINTS
    ) -> EngineState:
        if data.get("format") != STATE_FORMAT_VERSION:
            raise ValueError(
                f"state format {data.get('format')!r} is not {STATE_FORMAT_VERSION}: cannot load"
            )
        state = cls(nav_history_points)
        state.ledger = Ledger.from_dict(data["ledger"])
        for order_id, pid, symbol, side, quantity, price, created, progress in data[
            "pending_orders"
        ]:
            state.pending_orders[order_id] = Order(
                order_id, pid, symbol, Side(side), int(quantity), Decimal(price), _as_date(created)
            )
            if progress is not None:
                state.order_progress[order_id] = _progress_from_dict(progress)
        state.execution_quality = {
            pid: {k: int(v) if k == "orders" else Decimal(v) for k, v in totals.items()}
            for pid, totals in data["execution_quality"].items()
        }
        state.cycles_completed = int(data["cycles_completed"])
        state.market_date = _as_date(data["market_date"]) if data["market_date"] else None
        state.trading_states = {pid: dict(v) for pid, v in data["trading_states"].items()}
        state.risk_limits = {
            pid: {name: dict(v) for name, v in limits.items()}
            for pid, limits in data["risk_limits"].items()
        }
        state.risk_alerts = {alert_id: dict(v) for alert_id, v in data["risk_alerts"].items()}
        state.last_orders = {pid: list(v) for pid, v in data["last_orders"].items()}
        state.initial_cash_usd = {k: Decimal(v) for k, v in data["initial_cash_usd"].items()}
        state.orders_total = {k: int(v) for k, v in data["orders_total"].items()}
        state.fills_total = {k: int(v) for k, v in data["fills_total"].items()}
        state.targets = {pid: dict(w) for pid, w in data["targets"].items()}
        state.target_cash_weight = dict(data["target_cash_weight"])
        state.nav_history = {
            pid: deque(
                (NavPoint(_as_date(d), float(nav), float(cash)) for d, nav, cash in points),
                maxlen=nav_history_points,
            )
            for pid, points in data["nav_history"].items()
        }
        state.signal_book = SignalBook.from_dict(data["signal_book"])
        state.overrides = {
            o["override_id"]: Override.from_payload(o, o["actor"]) for o in data["overrides"]
        }
        state.interest_accrual_usd = {
            pid: Decimal(accrued) for pid, accrued in data["interest_accrual_usd"].items()
        }
        state.weight_overrides = {
            pid: {symbol: dict(o) for symbol, o in by_symbol.items()}
            for pid, by_symbol in data["weight_overrides"].items()
        }
        state.sleeve_targets = {
            pid: {sleeve: dict(w) for sleeve, w in by_sleeve.items()}
            for pid, by_sleeve in data["sleeve_targets"].items()
        }
        state.rebalancing = RebalancingState.from_dict(data)
        state.events_applied = int(data["events_applied"])
        # Absent from snapshots written before replays could restart: none had restarted.
        state.restarts = int(data.get("restarts", 0))
        replay_start = data.get("replay_start")
        state.replay_start = _as_date(replay_start) if replay_start else None
        return state

    def ledger_digest(self) -> str:
        """SHA-256 of what the portfolios own and owe, for comparisons: the ledger (positions,
        lots, cash and its pending settlements, interest income), open orders and the interest
        accrued but not yet credited."""
        data = self.to_dict()
        canonical = {
            "ledger": data["ledger"],
            "pending": data["pending_orders"],
            "interest_accrual_usd": data["interest_accrual_usd"],
        }
        return hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()


def order_from_event(event: Event) -> Order:
    p = event.payload
    return Order(
        p["order_id"],
        event.portfolio_id or "",
        p["symbol"],
        Side(p["side"]),
        int(p["quantity_shares"]),
        Decimal(p["decision_price_usd"]),
        _as_date(p["market_date"]),
    )


def fill_from_event(event: Event) -> Fill:
    p = event.payload
    return Fill(
        p["fill_id"],
        p["order_id"],
        event.portfolio_id or "",
        p["symbol"],
        Side(p["side"]),
        int(p["quantity_shares"]),
        Decimal(p["price_usd"]),
        Decimal(p["commission_usd"]),
        _as_date(p["market_date"]),
        _as_date(p["settlement_date"]) if p.get("settlement_date") else None,
    )


QUALITY_FIELDS = (
    "decision_notional_usd",
    "delay_usd",
    "timing_usd",
    "spread_usd",
    "impact_usd",
    "commission_usd",
    "opportunity_usd",
    "total_usd",
)


def _shortfall_of(payload: dict[str, str]) -> Shortfall:
    """A ``shortfall`` payload (decimal strings, USD) as the ``Shortfall`` it was written from."""
    return Shortfall(*(Decimal(payload[name]) for name in QUALITY_FIELDS))


def _quality_totals() -> dict[str, Any]:
    return {"orders": 0, **{name: Decimal(0) for name in QUALITY_FIELDS}} | {
        "crossing_saving_usd": Decimal(0)
    }


def _progress_to_dict(progress: OrderProgress | None) -> dict[str, Any] | None:
    if progress is None:
        return None
    return {
        **progress.payload(),
        "filled_shares": progress.filled_shares,
        "market_filled_shares": progress.market_filled_shares,
        "cross_unmatched": progress.cross_unmatched,
        "fills": [
            [f.quantity_shares, str(f.fill_price_usd), str(f.market_price_usd), f.internal]
            for f in progress.fills
        ],
    }


def _progress_from_dict(data: dict[str, Any]) -> OrderProgress:
    progress = OrderProgress.from_payload(data)
    progress.filled_shares = int(data["filled_shares"])
    progress.market_filled_shares = int(data["market_filled_shares"])
    progress.cross_unmatched = int(data["cross_unmatched"])
    progress.fills = [
        ExecutedFill(int(q), Decimal(p), Decimal(m), bool(internal))
        for q, p, m, internal in data["fills"]
    ]
    return progress


def open_in_ledger(ledger: Ledger, opening: dict[str, Any]) -> str:
    """Open the book a ``PortfolioOpened`` payload (or a restart's portfolio) describes."""
    pid = str(opening["portfolio_id"])
    allow_short = opening.get("allow_short", False)
    if not isinstance(allow_short, bool):
        raise ValueError(
            f"PortfolioOpened {pid}: allow_short {allow_short!r} must be true or false"
        )
    ledger.open_portfolio(
        pid,
        Decimal(opening["initial_cash_usd"]),
        allow_short=allow_short,
        tax=TaxRules.from_dict(opening.get("tax")),
    )
    return pid


def credit_interest_in_ledger(ledger: Ledger, event: Event) -> Decimal:
    """Book a ``CashInterestCredited`` in ``ledger``; returns the amount (USD)."""
    amount_usd = Decimal(event.payload["amount_usd"])
    ledger.credit_interest(
        event.portfolio_id or "", amount_usd, _as_date(event.payload["market_date"])
    )
    return amount_usd


def _as_date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


_HANDLERS = {
    "PortfolioOpened": EngineState._opened,
    "OrderCreated": EngineState._order_created,
    "OrderFilled": EngineState._order_filled,
    "OrderRejected": EngineState._order_ended,
    "OrderCancelled": EngineState._order_ended,
    "OrderCompleted": EngineState._order_completed,
    "CrossExecuted": EngineState._cross_executed,
    "CycleCompleted": EngineState._cycle_completed,
    "CashInterestCredited": EngineState._interest_credited,
    "TargetWeightsSet": EngineState._targets_set,
    "TradingStateChanged": EngineState._trading_state,
    "RiskLimitSet": EngineState._risk_limit_set,
    "RiskLimitRemoved": EngineState._risk_limit_removed,
    "RiskAlertRaised": EngineState._risk_alert_raised,
    "RiskAlertCleared": EngineState._risk_alert_cleared,
    "RiskAlertAcknowledged": EngineState._risk_alert_acknowledged,
    "SignalReceived": EngineState._signal_received,
    "OverrideSet": EngineState._override_set,
    "OverrideExpired": EngineState._override_expired,
    "WeightOverrideSet": EngineState._weight_override_set,
    "WeightOverrideLifted": EngineState._weight_override_lifted,
    **dict.fromkeys(REBALANCING_EVENTS | PROPOSAL_EVENTS, EngineState._rebalancing),
    "ReplayRestarted": EngineState._replay_restarted,
}
