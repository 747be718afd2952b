"""The Rebalancing page's read model: each portfolio's drift against its bands, its policy and
who set it, the proposal waiting for a decision, and the history of its rebalances.

``RebalanceHistory`` follows the events (``observe``) and, after a restart, reads the recent
ones back from the log. A rebalance is a ``RebalanceTriggered``; what came of it is read from
the events of its cycle and of its orders:

- ``turnover`` and the estimated cost: the allocation's assessment (``AllocationProposed``);
- ``outcome``: traded, or proposed and then approved, rejected or left to expire;
- ``orders``: those created for it, in its cycle or, once approved, at its release;
- ``held_back``: its trades the no-trade region left out (``NoTradeRegionApplied``);
- ``cost_usd``: spread, market impact and commission of its orders completed so far (their
  implementation shortfall, engine/trading/execution.py), the delay and timing left out;
- ``realised_gain_usd`` and ``tax_usd``: the gains its sales realised, lot by lot, and the tax
  they would owe on their own at the portfolio's rates (terms netted; losses owe nothing).

``rebalancing_views`` builds the snapshot's part from the state, the positions already valued
for the snapshot, and the history.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import cached_property

import numpy as np

from engine.cycle.context import PortfolioMandate
from engine.events.store import SqlEventStore
from engine.model import Event
from engine.rebalancing.tax import LONG_TERM, SHORT_TERM, TaxRules, year_tax
from engine.rebalancing.triggers import EDGE_TOLERANCE, RebalancePolicy, name_bands
from engine.snapshot import PositionView
from engine.state.engine_state import EngineState
from engine.views.queries import cycle_of

# Rebalances kept per portfolio, newest last.
HISTORY_PER_PORTFOLIO = 60
HISTORY_EVENTS = frozenset(
    {
        "RebalanceTriggered",
        "AllocationProposed",
        "RebalanceProposed",
        "RebalanceApproved",
        "RebalanceRejected",
        "RebalanceProposalExpired",
        "RebalanceReleased",
        "RebalancePolicySet",
        "OrderCreated",
        "OrderFilled",
        "NoTradeRegionApplied",
    }
)
INF = float("inf")
# The parts of an order's shortfall that are the cost of trading it.
COST_PARTS = ("spread_usd", "impact_usd", "commission_usd")


class _Banded:
    """A weight against its target and band: the drift, and whether it is at or past the band
    (which fires the trigger)."""

    __slots__ = ()
    weight: float
    target_weight: float
    band: float | None

    @property
    def drift(self) -> float:
        return self.weight - self.target_weight

    @property
    def beyond(self) -> bool:
        return self.band is not None and abs(self.drift) >= self.band - EDGE_TOLERANCE


@dataclass(frozen=True, slots=True)
class DriftRow(_Banded):
    """One name's weight of NAV against its last target; ``band``: the narrowest drift band
    that applies to it (None: no band)."""

    symbol: str
    sector: str
    weight: float
    target_weight: float
    band: float | None


@dataclass(frozen=True, slots=True)
class GroupDriftRow(_Banded):
    """A sector's or an asset class's total weight against its target's, and its band."""

    group: str
    weight: float
    target_weight: float
    band: float | None


@dataclass(frozen=True, slots=True)
class ProposedTrade:
    symbol: str
    side: str
    quantity_shares: int
    notional_usd: Decimal


@dataclass(frozen=True, slots=True)
class ProposalView:
    """The rebalance waiting for (``pending``) or approved and not yet traded (``approved``):
    its trades and the preview recorded with it (``RebalanceProposed``)."""

    proposal_id: str
    market_date: date
    expires_after: date
    status: str
    trades: tuple[ProposedTrade, ...]
    preview: Mapping[str, float | str]
    dropped: tuple[str, ...] = ()
    triggers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RebalanceRecord:
    market_date: date
    triggers: tuple[str, ...]
    outcome: str
    orders: int
    held_back: int
    turnover: float | None
    estimated_cost_usd: float | None
    cost_usd: Decimal
    realised_gain_usd: Decimal
    tax_usd: Decimal


@dataclass(frozen=True, slots=True)
class PolicyChange:
    recorded_at: datetime
    market_date: date | None
    actor: str
    reason: str
    policy: RebalancePolicy
    previous: RebalancePolicy


# No slots: the drift rows are cached properties, kept in the instance's dict.
@dataclass(frozen=True, eq=False)
class RebalancingView:
    """One portfolio's rebalancing as the page shows it. The drift rows are made from the
    positions the first time a reader asks (the page, off the engine's thread): the snapshot
    is published every cycle, and thousands of rows a cycle would slow it for no reader."""

    portfolio_id: str
    name: str
    policy: RebalancePolicy
    configured: RebalancePolicy
    positions: tuple[PositionView, ...]
    asset_classes: Mapping[str, str]  # symbol -> asset class, shared by every view
    proposal: ProposalView | None
    history: tuple[RebalanceRecord, ...]
    policy_changes: tuple[PolicyChange, ...]
    # A manager's request or a cash flow waiting for the next close, as its trigger says.
    requested: tuple[str, ...] = ()

    @cached_property
    def drift(self) -> tuple[DriftRow, ...]:
        held = self.positions
        bands = name_bands(self.policy, np.array([v.target_weight for v in held])).tolist()
        return tuple(
            DriftRow(v.symbol, v.sector, v.weight, v.target_weight, band if band < INF else None)
            for v, band in zip(held, bands, strict=True)
        )

    @cached_property
    def sectors(self) -> tuple[GroupDriftRow, ...]:
        sector_of = {v.symbol: v.sector for v in self.positions}
        return _group_rows(self.drift, sector_of, self.policy.sector_drift_absolute)

    @cached_property
    def classes(self) -> tuple[GroupDriftRow, ...]:
        return _group_rows(self.drift, self.asset_classes, self.policy.class_drift_absolute)

    @property
    def beyond_bands(self) -> int:
        groups = (*self.sectors, *self.classes)
        return sum(row.beyond for row in self.drift) + sum(row.beyond for row in groups)


@dataclass
class _Record:
    market_date: date
    triggers: tuple[str, ...]
    outcome: str = "traded"
    orders: int = 0
    held_back: int = 0
    turnover: float | None = None
    estimated_cost_usd: float | None = None
    cost_usd: Decimal = Decimal(0)
    gains: dict[str, Decimal] = field(
        default_factory=lambda: {SHORT_TERM: Decimal(0), LONG_TERM: Decimal(0)}
    )
    order_ids: list[str] = field(default_factory=list)
    # Its keys in the history's look-ups, dropped with it: its cycles and its proposal.
    cycles: list[int] = field(default_factory=list)
    proposal_id: str | None = None
    # Its view, kept until it changes: most of a history is settled, and a fill of one
    # rebalance's order would otherwise rebuild all of them.
    shown: RebalanceRecord | None = None

    def view(self, rules: TaxRules) -> RebalanceRecord:
        if self.shown is None:
            self.shown = self._view(rules)
        return self.shown

    def _view(self, rules: TaxRules) -> RebalanceRecord:
        gains = self.gains
        return RebalanceRecord(
            self.market_date,
            self.triggers,
            self.outcome,
            self.orders,
            self.held_back,
            self.turnover,
            self.estimated_cost_usd,
            self.cost_usd,
            gains[SHORT_TERM] + gains[LONG_TERM],
            year_tax(gains[SHORT_TERM], gains[LONG_TERM], rules).tax_usd,
        )


class RebalanceHistory:
    def __init__(
        self,
        mandates: tuple[PortfolioMandate, ...],
        store: SqlEventStore | None = None,
        kept: int = HISTORY_PER_PORTFOLIO,
    ) -> None:
        self._rules = {m.portfolio_id: m.tax for m in mandates}
        self._records: dict[str, deque[_Record]] = {pid: deque() for pid in self._rules}
        self._kept = kept
        self._by_cycle: dict[tuple[str, int], _Record] = {}
        self._by_order: dict[str, _Record] = {}
        self._by_proposal: dict[str, _Record] = {}
        self._proposed: dict[str, dict] = {}
        self._changes: dict[str, deque[PolicyChange]] = {
            pid: deque(maxlen=kept) for pid in self._rules
        }
        self._views: dict[str, tuple[RebalanceRecord, ...]] = {}
        if store is not None:
            self._restore(store)

    def _restore(self, store: SqlEventStore) -> None:
        """Read back the events of the portfolios' last ``kept`` rebalances (and policy
        changes) from the log."""
        newest = store.query(event_type="RebalanceTriggered", limit=self._kept * len(self._rules))
        changes = store.query(event_type="RebalancePolicySet", limit=self._kept)
        firsts = [e.seq for e in (*newest, *changes) if e.seq is not None]
        if firsts:
            for event in store.read_from(min(firsts), event_types=HISTORY_EVENTS):
                self.observe(event)

    def observe(self, event: Event) -> None:
        pid = event.portfolio_id
        if pid not in self._records or event.type not in HISTORY_EVENTS:
            return
        p = event.payload
        if event.type == "RebalanceTriggered":
            self._triggered(pid, event)
            return
        if event.type == "RebalancePolicySet":
            self._changes[pid].append(
                PolicyChange(
                    event.timestamp,
                    date.fromisoformat(p["market_date"]) if p.get("market_date") else None,
                    event.actor,
                    p["reason"],
                    RebalancePolicy.from_dict(p["policy"]),
                    RebalancePolicy.from_dict(p["previous"]),
                )
            )
            return
        if event.type == "OrderFilled":
            record = self._by_order.get(p["order_id"])
            if record is not None:
                shortfall = p.get("shortfall") or {}
                record.cost_usd += sum(
                    (Decimal(shortfall.get(k, "0")) for k in COST_PARTS), Decimal(0)
                )
                for lot in p.get("lots", ()):
                    record.gains[lot["term"]] += Decimal(lot["gain_usd"])
                self._changed(pid, record)
            return
        if event.type == "OrderCreated":
            record = self._by_cycle.get((pid, int(p["cycle"])))
            if record is not None:
                record.orders += 1
                record.order_ids.append(p["order_id"])
                self._by_order[p["order_id"]] = record
                self._changed(pid, record)
            return
        self._proposal_event(pid, event)

    def _triggered(self, pid: str, event: Event) -> None:
        records = self._records[pid]
        if len(records) == self._kept:
            self._forget(pid, records.popleft())
        triggers = tuple(f"{t['trigger']}: {t['detail']}" for t in event.payload["triggers"])
        record = _Record(date.fromisoformat(event.payload["market_date"]), triggers)
        cycle = cycle_of(event)
        if cycle is not None:
            record.cycles.append(cycle)
            self._by_cycle[(pid, cycle)] = record
        records.append(record)
        self._views.pop(pid, None)

    def _changed(self, pid: str, record: _Record | None) -> None:
        """``record`` changed: it, and the portfolio's history, are shown anew."""
        if record is not None:
            record.shown = None
        self._views.pop(pid, None)

    def _forget(self, pid: str, record: _Record) -> None:
        for order_id in record.order_ids:
            self._by_order.pop(order_id, None)
        for cycle in record.cycles:
            if self._by_cycle.get((pid, cycle)) is record:
                del self._by_cycle[(pid, cycle)]
        if record.proposal_id is not None:
            self._by_proposal.pop(record.proposal_id, None)

    def _proposal_event(self, pid: str, event: Event) -> None:
        p, kind = event.payload, event.type
        if kind == "AllocationProposed":
            record = self._by_cycle.get((pid, cycle_of(event) or 0))
            if record is not None:
                record.turnover = float(p["turnover"])
                record.estimated_cost_usd = float(p["estimated_cost_usd"])
        elif kind == "NoTradeRegionApplied":
            record = self._by_cycle.get((pid, cycle_of(event) or 0))
            if record is not None:
                record.held_back += len(p["held_back"])
        elif kind == "RebalanceProposed":
            record = self._by_cycle.get((pid, cycle_of(event) or 0))
            self._proposed[pid] = {**p, "triggers": record.triggers if record else ()}
            if record is not None:
                record.outcome = "proposed, waiting for a decision"
                record.proposal_id = p["proposal_id"]
                self._by_proposal[p["proposal_id"]] = record
        else:
            record = self._by_proposal.get(p["proposal_id"])
            if record is None:
                return
            if kind == "RebalanceApproved":
                dropped = f", without {', '.join(p['dropped'])}" if p.get("dropped") else ""
                record.outcome = f"approved by {event.actor}{dropped}: {p['reason']}"
            elif kind == "RebalanceRejected":
                record.outcome = f"rejected by {event.actor}: {p['reason']}"
            elif kind == "RebalanceProposalExpired":
                record.outcome = f"expired undecided after {p['expired_after']}"
            elif kind == "RebalanceReleased":
                record.outcome += f"; traded on {p['market_date']}"
                cycle = cycle_of(event)
                if cycle is not None:
                    record.cycles.append(cycle)
                    self._by_cycle[(pid, cycle)] = record
        self._changed(pid, record)

    # -- what the snapshot reads -----------------------------------------------------------
    def records(self, portfolio_id: str) -> tuple[RebalanceRecord, ...]:
        """The portfolio's rebalances, newest first."""
        views = self._views.get(portfolio_id)
        if views is None:
            rules = self._rules[portfolio_id]
            views = tuple(r.view(rules) for r in reversed(self._records[portfolio_id]))
            self._views[portfolio_id] = views
        return views

    def policy_changes(self, portfolio_id: str) -> tuple[PolicyChange, ...]:
        """The portfolio's policy changes, newest first."""
        return tuple(reversed(self._changes[portfolio_id]))

    def proposed(self, portfolio_id: str) -> Mapping | None:
        """The payload of the portfolio's latest ``RebalanceProposed``, with its triggers."""
        return self._proposed.get(portfolio_id)


def rebalancing_views(
    state: EngineState,
    mandates: Iterable[PortfolioMandate],
    positions: Mapping[str, tuple[PositionView, ...]],
    history: RebalanceHistory,
    classes: Mapping[str, str],
) -> tuple[RebalancingView, ...]:
    """Each portfolio's view; ``classes``: each instrument's asset class."""
    views = []
    for mandate in mandates:
        pid = mandate.portfolio_id
        policy = state.rebalancing.policy(pid, mandate.rebalancing)
        views.append(
            RebalancingView(
                pid,
                mandate.name,
                policy,
                mandate.rebalancing,
                positions.get(pid, ()),
                classes,
                _proposal_view(state, pid, history),
                history.records(pid),
                history.policy_changes(pid),
                tuple(sorted(state.rebalancing.requests.get(pid, {}))),
            )
        )
    return tuple(views)


def _group_rows(
    drift: tuple[DriftRow, ...], group_of: Mapping[str, str], band: float | None
) -> tuple[GroupDriftRow, ...]:
    weights: dict[str, list[float]] = {}
    for row in drift:
        total = weights.setdefault(group_of.get(row.symbol, "unknown"), [0.0, 0.0])
        total[0] += row.weight
        total[1] += row.target_weight
    return tuple(GroupDriftRow(group, w, t, band) for group, (w, t) in sorted(weights.items()))


def _proposal_view(state: EngineState, pid: str, history: RebalanceHistory) -> ProposalView | None:
    proposal = state.rebalancing.proposals.by_portfolio.get(pid)
    if proposal is None:
        return None
    recorded = history.proposed(pid)
    same = recorded is not None and recorded["proposal_id"] == proposal.proposal_id
    trades = (
        tuple(
            ProposedTrade(
                t["symbol"], t["side"], int(t["quantity_shares"]), Decimal(t["notional_usd"])
            )
            for t in recorded["trades"]
        )
        if same
        else tuple(
            # Read back without its event (older than the history): shares only.
            ProposedTrade(s, "BUY" if n > 0 else "SELL", abs(n), Decimal(0))
            for s, n in sorted(proposal.trades.items())
        )
    )
    return ProposalView(
        proposal.proposal_id,
        proposal.market_date,
        proposal.expires_after,
        proposal.status,
        trades,
        dict(recorded["preview"]) if same else {},
        proposal.dropped,
        tuple(recorded["triggers"]) if same else (),
    )
