"""The allocation stage: target weights for each portfolio due to rebalance.

For each due portfolio: its eligible instruments (tradable today, in its universe, not excluded
by a weight override or a restricted-instruments limit), the mandate's allocator (or its sleeves,
combined with risk budgets), scaled toward cash when over a risk budget, then rounded to whole
shares within the mandate's limits (aiming at the band edges, and holding back the trades worth
less than their cost, when its rebalance policy says so: engine/cycle/no_trade.py); the
proposal's impact is assessed before any order is made.

Emits ``AllocationScaled``, ``AllocationInfeasible``/``AllocationFallback``,
``NoTradeRegionApplied`` (engine/cycle/no_trade.py), ``AllocationProposed``
and ``TargetWeightsSet`` (with the solver that sized it, and why the fallback solver did when it
did). Keeps no state of its own: what the next cycle's risk view reports of
this allocation (budget scaling, sleeve risk shares) is returned as a ``RiskCarry``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from functools import partial

import numpy as np

from engine.allocation.asset_classes import keep_class_mix
from engine.allocation.impact import AllocationImpact
from engine.allocation.mandate import AllocationOutcome
from engine.allocation.rounding import binding_limits, round_to_shares
from engine.allocation.sleeves import CombinedAllocation, SleeveOutcome, allocate_sleeves, recombine
from engine.allocation.solver_pool import SolverPool
from engine.cycle.context import (
    MarketClose,
    PortfolioMandate,
    RiskCarry,
    Universe,
    current_weights,
    json_float,
)
from engine.cycle.coordination import Coordinated
from engine.cycle.lineage import attribution_fields
from engine.cycle.no_trade import NoTradeRegion, to_band_edges, trade_cost_bps
from engine.cycle.recorder import Emitter
from engine.model import TargetWeights
from engine.risk.attribution import by_sleeve, parametric_var_attribution
from engine.risk.gate import RiskModel
from engine.risk.manager import RiskManager
from engine.snapshot import AllocationView, SleeveView
from engine.state.engine_state import EngineState
from engine.trading.costs import CostModel


@dataclass(frozen=True, slots=True)
class Target:
    """A portfolio's rebalance target: weights (whole shares at today's close) and shares."""

    weights: TargetWeights
    shares: np.ndarray


@dataclass(frozen=True, slots=True)
class AllocationResult:
    """The due portfolios' targets (those that can trade), the view of every due portfolio,
    the impacts assessed, and what the next cycle's risk view carries."""

    targets: Mapping[str, Target] = field(default_factory=dict)
    views: Mapping[str, AllocationView] = field(default_factory=dict)
    impacts: Mapping[str, AllocationImpact] = field(default_factory=dict)
    carry: RiskCarry = field(default_factory=RiskCarry)


@dataclass(frozen=True, slots=True, eq=False)
class _Sized:
    """A portfolio sized, before scaling and rounding (``AllocationStage._size``)."""

    mandate: PortfolioMandate
    outcome: AllocationOutcome
    eligible: np.ndarray
    nav: float
    current: np.ndarray
    sleeves: tuple[SleeveOutcome, ...] = ()
    budgeting: Mapping[str, object] = field(default_factory=dict)
    sleeve_risk: tuple[tuple[str, float], ...] | None = None  # sleeved portfolios only
    pins: np.ndarray | None = None  # the tradable names' pinned weights (NaN where none)
    sleeve_before: Mapping[str, np.ndarray] | None = None  # each sleeve's last weights


@dataclass(slots=True)
class _Settled:
    """What settling the due portfolios builds up, one portfolio at a time."""

    scaling: dict[str, tuple[str, float]]
    sleeve_risk: dict[str, tuple[tuple[str, float], ...]]
    targets: dict[str, Target] = field(default_factory=dict)
    views: dict[str, AllocationView] = field(default_factory=dict)
    impacts: dict[str, AllocationImpact] = field(default_factory=dict)


class AllocationStage:
    """``solver_pool``: worker processes that solve the portfolios' QPs side by side
    (``[allocation] workers``, engine/allocation/solver_pool.py); None solves them here."""

    def __init__(
        self,
        universe: Universe,
        mandates: tuple[PortfolioMandate, ...],
        risk_manager: RiskManager,
        cost_model: CostModel,
        solver_pool: SolverPool | None = None,
    ) -> None:
        self.universe = universe
        self.mandates = mandates
        self.risk_manager = risk_manager
        self.cost_model = cost_model
        self.solver_pool = solver_pool
        self.no_trade = NoTradeRegion(universe, cost_model)

    def run(
        self,
        due: Mapping[str, object],
        market: MarketClose,
        state: EngineState,
        coordinated: Coordinated,
        model: RiskModel | None,
        carry: RiskCarry,
        emit: Emitter,
    ) -> AllocationResult:
        # ``due``: the portfolios the triggers stage found due at this close, as (position in
        # the mandates, mandate): the position pins a portfolio to a solver worker.
        sizing = [(k, m) for k, m in enumerate(self.mandates) if m.portfolio_id in due]
        if not sizing or not coordinated:
            return AllocationResult(carry=carry)
        settled = _Settled(dict(carry.budget_scaling), dict(carry.sleeve_risk))
        # Each due portfolio sized, then settled (scaled, rounded, recorded), in mandate order.
        # Sizing reads only its own portfolio's state (overrides, limits, holdings, sleeve
        # targets), which settling another portfolio does not change; so with a solver pool the
        # later portfolios' QPs are solved while the earlier ones settle, with the one-by-one
        # result.
        calls = [(k, partial(self._size, m, market, state, coordinated, model)) for k, m in sizing]
        settle = partial(self._settle, settled, market, state, coordinated, model, emit)
        if self.solver_pool is None:
            for _, size in calls:
                settle(size())
        else:
            pool = self.solver_pool

            def settle_after_losses(sized: _Sized) -> None:
                self._record_losses(pool, market, emit)  # found while waiting for this one
                settle(sized)

            pool.run(calls, then=settle_after_losses)
            self._record_losses(pool, market, emit)
        return AllocationResult(
            settled.targets,
            settled.views,
            settled.impacts,
            RiskCarry(settled.scaling, settled.sleeve_risk),
        )

    def _record_losses(self, pool: SolverPool, market: MarketClose, emit: Emitter) -> None:
        for loss in pool.take_losses():
            emit(
                "SolverWorkerLost",
                {
                    "market_date": market.tick.timestamp.isoformat(),
                    "worker": loss.worker,
                    "reason": loss.reason,
                    "portfolios": [
                        m.portfolio_id
                        for k, m in enumerate(self.mandates)
                        if k % pool.workers == loss.worker
                    ],
                    "action": "its portfolios are sized in the engine's process from now on",
                },
            )

    def _settle(
        self,
        settled: _Settled,
        market: MarketClose,
        state: EngineState,
        coordinated: Coordinated,
        model: RiskModel | None,
        emit: Emitter,
        sized: _Sized,
    ) -> None:
        """One sized portfolio scaled to its risk budget, rounded to whole shares within its
        limits, its impact assessed and all of it recorded, into ``settled``."""
        tick, ledger, symbols = market.tick, state.ledger, self.universe.symbols
        tradable = market.tradable
        mandate = sized.mandate
        pid = mandate.portfolio_id
        allocator = mandate.allocator
        outcome, sleeve_outcomes, budgeting = sized.outcome, sized.sleeves, sized.budgeting
        nav, current, eligible = sized.nav, sized.current, sized.eligible
        if sized.sleeve_risk is not None:
            settled.sleeve_risk[pid] = sized.sleeve_risk
        if mandate.class_targets and outcome.status != "infeasible":
            mixed = keep_class_mix(
                outcome.target.weights,
                self.universe.asset_classes,
                dict(mandate.class_targets),
                eligible,
                allocator.max_weight,
            )
            outcome = replace(
                outcome,
                target=TargetWeights(pid, tick.timestamp, mixed, 1.0 - float(mixed.sum())),
            )
        optimised = outcome.target.weights  # before the risk budget's scaling and rounding
        if outcome.status != "infeasible":
            settled.scaling.pop(pid, None)
            outcome = self._within_budget(
                state, pid, outcome, model, settled.scaling, tick.timestamp, emit
            )
        shares = None
        binding: tuple[str, ...] = ()
        if outcome.status != "infeasible" and nav > 0:
            # Whole shares, keeping the mandate's limits: what the orders will aim at.
            limits = allocator.share_limits(current, outcome.sized, self.universe.sectors)
            held = ledger.shares_vector(pid, symbols)
            policy = state.rebalancing.policy(pid, mandate.rebalancing)
            aimed = to_band_edges(policy, outcome.target.weights, current)
            rounded = round_to_shares(aimed, nav, tick.close, held, limits)
            if rounded.breaches:
                outcome = AllocationOutcome(
                    outcome.target,
                    outcome.model,
                    "infeasible",
                    "whole shares cannot keep "
                    + ", ".join(sorted(rounded.breaches))
                    + " at these prices",
                )
            else:
                shares = rounded.shares
                if policy.cost_aware:
                    shares = self.no_trade.hold_back(
                        mandate,
                        policy,
                        market,
                        state,
                        coordinated.portfolios[pid],
                        nav,
                        shares,
                        held,
                        eligible,
                        limits,
                        emit,
                    )
                unit = np.where(tradable, tick.close, 0.0) / nav
                weights = shares * unit if policy.cost_aware else rounded.weights
                binding = binding_limits(weights, unit, current, limits, symbols)
                outcome = replace(
                    outcome,
                    target=TargetWeights(pid, tick.timestamp, weights, 1.0 - float(weights.sum())),
                )
        # Recorded as events: a portfolio (or sleeve) that did not get the model it asked for.
        for sleeve_result in sleeve_outcomes:
            if sleeve_result.outcome.status != "ok":
                _allocation_problem(
                    pid,
                    tick.timestamp,
                    sleeve_result.outcome,
                    emit,
                    sleeve_result.sleeve.sleeve_id,
                )
        if outcome.status != "ok" and (not sleeve_outcomes or outcome.status == "infeasible"):
            _allocation_problem(pid, tick.timestamp, outcome, emit)
        if outcome.status == "infeasible" or shares is None:
            settled.views[pid] = AllocationView(
                tick.timestamp, outcome.model, outcome.status, outcome.reason, (), ()
            )
            return  # nothing to trade: the targets stay where the holdings are
        target = outcome.target
        settled.targets[pid] = Target(target, shares)
        impact = self._propose(
            mandate, market, coordinated, target.weights, current, eligible, nav, emit
        )
        if impact is not None:
            settled.impacts[pid] = impact
        settled.views[pid] = AllocationView(
            tick.timestamp,
            outcome.model,
            outcome.status,
            outcome.reason,
            binding,
            impact.risk_contributions if impact is not None else (),
            tuple(self._sleeve_view(result) for result in sleeve_outcomes),
            *_solver_shown(outcome, sleeve_outcomes),
        )
        emit(
            "TargetWeightsSet",
            {
                "market_date": tick.timestamp.isoformat(),
                "weights": self.universe.by_symbol(target.weights, 6),
                "cash_weight": round(target.cash_weight, 6),
                "model": outcome.model,
                "binding": list(binding),
                **_solver_fields(outcome, sleeve_outcomes),
                # What the attribution to sources and to decisions reads (lineage.py).
                **attribution_fields(
                    allocator,
                    symbols,
                    target.weights,
                    optimised,
                    sized.pins,
                    eligible,
                    current,
                    coordinated.portfolios.get(pid),
                    sleeve_outcomes,
                    coordinated.sleeves.get(pid),
                    sized.sleeve_before,
                ),
                **(
                    {
                        "sleeves": {
                            r.sleeve.sleeve_id: self.universe.by_symbol(r.weights, 8)
                            for r in sleeve_outcomes
                        },
                        "sleeve_capital": {
                            r.sleeve.sleeve_id: round(r.sleeve.capital, 8) for r in sleeve_outcomes
                        },
                        "sleeve_var_99_shares": {
                            sleeve: round(share, 8)
                            for sleeve, share in settled.sleeve_risk.get(pid, ())
                        },
                        **budgeting,
                    }
                    if sleeve_outcomes
                    else {}
                ),
            },
            pid,
        )

    def close(self) -> None:
        """End the solver pool's workers, if there is a pool."""
        if self.solver_pool is not None:
            self.solver_pool.close()

    def _size(
        self,
        mandate: PortfolioMandate,
        market: MarketClose,
        state: EngineState,
        coordinated: Coordinated,
        model: RiskModel | None,
    ) -> _Sized:
        """One portfolio's allocation before scaling and rounding: what its allocator (or its
        sleeves, combined with their risk budgets) asks for. Emits nothing."""
        pid = mandate.portfolio_id
        tick, tradable = market.tick, market.tradable
        pins, excluded = self._weight_pins(state, pid)
        if pins is not None:
            pins = np.where(tradable, pins, np.nan)
        eligible = mandate.universe & tradable & ~excluded & ~self._restricted(state, pid)
        nav = float(state.ledger.nav_usd(pid))
        current = current_weights(state.ledger, pid, self.universe, tick.close, nav)
        if not mandate.sleeves:
            outcome = mandate.allocator.allocate(
                coordinated.portfolios[pid],
                eligible,
                tick.timestamp,
                market.window,
                current,
                self.universe.sectors,
                pins,
            )
            return _Sized(mandate, outcome, eligible, nav, current, pins=pins)
        sleeve_before = self._sleeve_weights(state, pid)
        combined = allocate_sleeves(
            pid,
            mandate.sleeves,
            coordinated.sleeves[pid],
            sleeve_before,
            eligible,
            tick.timestamp,
            market.window,
            self.universe.sectors,
            pins,
        )
        combined, budgeting = _budget_sleeves(mandate, combined, model, tick.timestamp)
        return _Sized(
            mandate,
            combined.outcome,
            eligible,
            nav,
            current,
            combined.sleeves,
            budgeting,
            _sleeve_attribution(combined.sleeves, model),
            pins,
            sleeve_before,
        )

    def _weight_pins(self, state: EngineState, pid: str) -> tuple[np.ndarray | None, np.ndarray]:
        """A manager's weight overrides: pinned weights (NaN where none) and excluded names."""
        overrides = state.weight_overrides.get(pid, {})
        n = len(self.universe)
        excluded = np.zeros(n, dtype=bool)
        if not overrides:
            return None, excluded
        pins = np.full(n, np.nan)
        for symbol, override in overrides.items():
            i = self.universe.symbol_index[symbol]
            if override["weight"] is None:
                excluded[i] = True
            else:
                pins[i] = float(override["weight"])
        return pins, excluded

    def _restricted(self, state: EngineState, pid: str) -> np.ndarray:
        """Instruments the portfolio may hold no new exposure to: the allocation leaves them
        out (so a rebalance sells what is held), and the gate blocks any order adding to them."""
        limit = self.risk_manager.limits(state, pid).get("restricted_instruments")
        mask = np.zeros(len(self.universe), dtype=bool)
        if limit is not None:
            mask[[self.universe.symbol_index[s] for s in limit.symbols]] = True
        return mask

    def _sleeve_weights(self, state: EngineState, pid: str) -> dict[str, np.ndarray]:
        """Each sleeve's last weights (of its own capital), from the last ``TargetWeightsSet``."""
        recorded = state.sleeve_targets.get(pid, {})
        return {
            sleeve_id: self.universe.vector(by_symbol) for sleeve_id, by_symbol in recorded.items()
        }

    def _within_budget(
        self,
        state: EngineState,
        pid: str,
        outcome: AllocationOutcome,
        model: RiskModel | None,
        scaling: dict[str, tuple[str, float]],
        today: date,
        emit: Emitter,
    ) -> AllocationOutcome:
        """The allocation scaled toward cash when its volatility, VaR or CVaR is over the
        portfolio's budget (risk-adjusted coordination: before orders, not only at the gate)."""
        if model is None:
            return outcome
        limits = self.risk_manager.limits(state, pid)
        scaled = self.risk_manager.budget_scaling(limits, outcome.target.weights, model)
        if scaled is None:
            return outcome
        weights = outcome.target.weights * scaled.factor
        scaling[pid] = (scaled.limit, scaled.factor)
        emit(
            "AllocationScaled",
            {
                "market_date": today.isoformat(),
                "limit": scaled.limit,
                "value": round(scaled.value, 8),
                "threshold": scaled.threshold,
                "factor": round(scaled.factor, 8),
            },
            pid,
        )
        target = TargetWeights(pid, today, weights, 1.0 - float(weights.sum()))
        return replace(outcome, target=target)

    def _propose(
        self,
        mandate: PortfolioMandate,
        market: MarketClose,
        coordinated: Coordinated,
        target: np.ndarray,
        current: np.ndarray,
        eligible: np.ndarray,
        nav: float,
        emit: Emitter,
    ) -> AllocationImpact | None:
        """The proposal's impact, recorded before any order is made (``AllocationProposed``)."""
        pid, close = mandate.portfolio_id, market.close
        priced = market.tradable
        shares = np.where(priced, np.abs(target - current) * nav / np.where(priced, close, 1), 0)
        cost_bps = trade_cost_bps(self.cost_model, market, shares)
        assessed = mandate.allocator.assess(
            self.universe.symbols,
            coordinated.portfolios[pid],
            target,
            current,
            eligible,
            market.window,
            nav,
            cost_bps,
        )
        if assessed is None:
            return None
        impact, unassessed = assessed
        emit(
            "AllocationProposed",
            {
                "market_date": market.today.isoformat(),
                "model": mandate.allocator.model,
                **impact.payload(),
                "unassessed_weight": round(unassessed, 6),
                "benchmark": "universe equally weighted",
            },
            pid,
        )
        return impact

    def _sleeve_view(self, result: SleeveOutcome) -> SleeveView:
        contribution = result.contribution
        order = np.argsort(-np.abs(contribution), kind="stable")
        return SleeveView(
            result.sleeve.sleeve_id,
            result.sleeve.capital,
            result.outcome.model,
            result.sleeve.sources,
            tuple(
                (self.universe.symbols[i], float(contribution[i]))
                for i in order
                if contribution[i] != 0
            ),
        )


def _solver_shown(
    outcome: AllocationOutcome, sleeve_outcomes: tuple[SleeveOutcome, ...]
) -> tuple[str | None, str | None]:
    """The solver and the fallback's reason as the Allocation page shows them (by sleeve for a
    sleeved portfolio, as ``_solver_fields`` records them)."""
    if not sleeve_outcomes:
        return outcome.solver, outcome.solver_fallback
    solvers = [(r.sleeve.sleeve_id, r.outcome.solver) for r in sleeve_outcomes]
    fallbacks = [(r.sleeve.sleeve_id, r.outcome.solver_fallback) for r in sleeve_outcomes]
    shown = ", ".join(f"{sleeve}: {name}" for sleeve, name in solvers if name)
    why = "; ".join(f"{sleeve}: {reason}" for sleeve, reason in fallbacks if reason)
    return shown or None, why or None


def _solver_fields(
    outcome: AllocationOutcome, sleeve_outcomes: tuple[SleeveOutcome, ...]
) -> dict[str, object]:
    """Which solver sized the target (by sleeve for a sleeved portfolio), and why Clarabel did
    when PIQP was chosen; nothing for the models that need no solver."""
    if sleeve_outcomes:
        solvers = {r.sleeve.sleeve_id: r.outcome.solver for r in sleeve_outcomes}
        fallbacks = {r.sleeve.sleeve_id: r.outcome.solver_fallback for r in sleeve_outcomes}
        fields: dict[str, object] = {
            "sleeve_solvers": {k: v for k, v in solvers.items() if v is not None},
            "sleeve_solver_fallbacks": {k: v for k, v in fallbacks.items() if v is not None},
        }
    else:
        fields = {"solver": outcome.solver, "solver_fallback": outcome.solver_fallback}
    return {key: value for key, value in fields.items() if value}


def _allocation_problem(
    pid: str, today: date, outcome: AllocationOutcome, emit: Emitter, sleeve: str = ""
) -> None:
    infeasible = outcome.status == "infeasible"
    if sleeve:
        action = "sleeve kept its weights" if infeasible else "sleeve used signal_proportional"
    else:
        action = "kept current holdings" if infeasible else "used signal_proportional"
    emit(
        "AllocationInfeasible" if infeasible else "AllocationFallback",
        {
            "market_date": today.isoformat(),
            "model": outcome.model,
            "reason": outcome.reason,
            "action": action,
            **({"sleeve": sleeve} if sleeve else {}),
        },
        pid,
    )


def _budget_sleeves(
    mandate: PortfolioMandate, combined: CombinedAllocation, model: RiskModel | None, today: date
) -> tuple[CombinedAllocation, dict[str, object]]:
    """The sleeves recombined with the capital their risk budgets call for
    (engine/risk/budgets.py), from the weights just sized; the configured capital while a
    sleeve holds nothing."""
    budgeting = mandate.sleeve_budgeting
    if budgeting is None or model is None:
        return combined, {}
    weights = np.array([r.weights[model.columns] for r in combined.sleeves])
    decided = budgeting.allocate(weights, model.covariance, model.scenarios)
    if decided is None:
        return combined, {}
    ids = [r.sleeve.sleeve_id for r in combined.sleeves]
    return recombine(mandate.portfolio_id, today, combined, decided.capital), {
        "sleeve_risk_budgets": {
            i: round(float(b), 8) for i, b in zip(ids, decided.budgets, strict=True)
        },
        "sleeve_volatility_daily": {
            i: [json_float(float(a)), json_float(float(b))]
            for i, a, b in zip(ids, decided.short_vol, decided.long_vol, strict=True)
        },
    }


def _sleeve_attribution(
    outcomes: tuple[SleeveOutcome, ...], model: RiskModel | None
) -> tuple[tuple[str, float], ...]:
    """Each sleeve's Euler share of the combined target's parametric 99% VaR."""
    if model is None or not outcomes:
        return ()
    contributions = np.array([r.contribution[model.columns] for r in outcomes])
    attribution = parametric_var_attribution(contributions.sum(axis=0), model.covariance, 0.99)
    if attribution.total <= 0:
        return ()
    shares = by_sleeve(contributions, attribution.marginal) / attribution.total
    return tuple(
        (r.sleeve.sleeve_id, float(share)) for r, share in zip(outcomes, shares, strict=True)
    )
