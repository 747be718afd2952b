"""A portfolio mandate's allocation stage: coordinated signals and prices in, target weights out.

The mandate names its sizing model (``signal_proportional``, ``equal_weight``,
``inverse_volatility``, ``minimum_variance``, ``risk_parity`` or ``mean_variance``), its risk
model and its limits. The risk-based models size the instruments the portfolio has a positive view
on; mean-variance takes expected returns from the views (``SignalToReturn``) over every eligible
instrument. Only instruments with a full price history over the look-back take part.

Equal weight, inverse volatility and risk parity are capped at ``max_weight`` after sizing, the
excess staying in cash; a turnover limit counts the names being sized (selling out of names
without a view is not limited).

A ``signal_band`` (long-only models that size the names with a positive view) is a no-trade band
on the view: a name not held is bought only when its conviction (score x confidence) is above
``+signal_band``, and a held name is kept until its conviction is no longer above
``-signal_band``. A view wavering around zero then neither sells a holding nor buys a new name
each rebalance; only a view that changes by more than the band does. With the default 0 the book
holds exactly the names with a positive view.

A long/short mandate (``max_short_weight > 0``, with ``signal_proportional``, ``minimum_variance``
or ``mean_variance``) keeps its net exposure in ``net_range`` and its gross exposure at most
``gross``; the risk-based models then size every name with a view, either way.

When the limits cannot all hold, the outcome is ``infeasible`` with the reason and the targets are
the current weights (nothing trades). When a solver fails, the outcome is ``fallback`` with the
reason and the targets come from the signal-proportional model, which cannot fail.

The outcome also says which solver answered (``solver``: ``piqp`` or ``clarabel``, None for the
models that need none) and, when PIQP was chosen but Clarabel answered, why
(``solver_fallback``); see engine/allocation/qp.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from engine.allocation.expected_returns import SignalToReturn
from engine.allocation.impact import AllocationImpact, assess_allocation
from engine.allocation.optimisers import Bounds, InfeasibleAllocation, Limits, Sizer
from engine.allocation.qp import SolvedBy, SolverChoice
from engine.allocation.risk_models import RiskModel, cached_estimate, trailing_window
from engine.allocation.rounding import ShareLimits
from engine.allocation.sizing import SignalProportionalAllocator
from engine.model import CoordinatedSignals, TargetWeights
from engine.rebalancing.no_trade import trade_benefits

SIZING_MODELS = ("signal_proportional", *Sizer.MODELS)
LONG_SHORT_MODELS = ("signal_proportional", "minimum_variance", "mean_variance")
# The models that size (long-only) the names with a positive view, where a signal band applies.
SIGNAL_BAND_MODELS = ("equal_weight", "inverse_volatility", "risk_parity", "minimum_variance")


@dataclass(frozen=True, slots=True, eq=False)
class AllocationOutcome:
    target: TargetWeights
    model: str
    status: str  # "ok", "infeasible" or "fallback"
    reason: str | None = None
    sized: np.ndarray | None = None  # the instruments the model sized (a turnover limit counts)
    solver: str | None = None  # which solver answered ("piqp", "clarabel"); None: no solver
    solver_fallback: str | None = None  # why Clarabel answered when PIQP was chosen


# The models that size with an objective (mean-variance utility, variance); the no-trade
# region weighs the others' trades by the distance to their target.
OBJECTIVE_MODELS = frozenset({"mean_variance", "minimum_variance"})


class MandateAllocator:
    def __init__(
        self,
        portfolio_id: str,
        model: str,
        max_weight: float,
        cash_buffer: float,
        risk_model: RiskModel,
        lookback_days: int = 126,
        risk_aversion: float = 1.0,
        signal_to_return: SignalToReturn | None = None,
        sector_caps: tuple[tuple[str, float], ...] = (),
        max_turnover: float | None = None,
        min_trade_weight: float = 0.0,
        max_short_weight: float = 0.0,
        gross: float | None = None,
        net_range: tuple[float, float] | None = None,
        signal_band: float = 0.0,
        solver: SolverChoice | None = None,
    ) -> None:
        if model not in SIZING_MODELS:
            raise ValueError(f"model: {model!r} is not one of {', '.join(SIZING_MODELS)}")
        if not 0.0 <= signal_band < 1.0:
            raise ValueError(f"signal_band: {signal_band} must be in [0, 1)")
        if signal_band > 0 and (model not in SIGNAL_BAND_MODELS or max_short_weight > 0):
            raise ValueError(
                f"signal_band: applies to the long-only models that size the names with a "
                f"positive view ({', '.join(SIGNAL_BAND_MODELS)}), not to {model!r}"
                + (" with shorts" if max_short_weight > 0 else "")
            )
        if max_short_weight > 0 and model not in LONG_SHORT_MODELS:
            raise ValueError(
                f"model: {model!r} is long-only; a long/short mandate needs one of "
                f"{', '.join(LONG_SHORT_MODELS)}"
            )
        self.portfolio_id = portfolio_id
        self.model = model
        self.max_weight = max_weight
        self.invested = 1.0 - cash_buffer
        self.risk_model = risk_model
        self.lookback_days = lookback_days
        self.signal_to_return = signal_to_return or SignalToReturn()
        self.sector_caps = sector_caps
        self.max_turnover = max_turnover
        self.min_trade_weight = min_trade_weight
        self.max_short_weight = max_short_weight
        self.gross = gross
        self.net_range = net_range or (self.invested, self.invested)
        self.signal_band = signal_band
        self.fallback = SignalProportionalAllocator(
            portfolio_id,
            max_weight,
            cash_buffer,
            max_short_weight,
            gross,
            self.net_range[1] if max_short_weight > 0 else None,
        )
        self.risk_aversion = risk_aversion
        self._sizer = Sizer(model, risk_aversion, solver) if model in Sizer.MODELS else None

    @property
    def long_short(self) -> bool:
        return self.max_short_weight > 0

    @property
    def needs_prices(self) -> bool:
        return self.model != "signal_proportional"

    def allocate(
        self,
        signals: CoordinatedSignals,
        eligible: np.ndarray,
        timestamp: date,
        prices: np.ndarray | None = None,
        current_weights: np.ndarray | None = None,
        sectors: tuple[str, ...] = (),
        pins: np.ndarray | None = None,
    ) -> AllocationOutcome:
        """``prices``: closes, days x instruments, oldest first; ``current_weights``: of NAV.

        ``pins``: a manager's weight per instrument (NaN where none). Pinned instruments take
        their weight; the model sizes the others within the budget the pins leave."""
        n = len(signals.score)
        pinned = np.zeros(n, dtype=bool) if pins is None else np.isfinite(pins)
        reserve = float(np.sum(pins[pinned])) if pins is not None and pinned.any() else 0.0
        free = eligible & ~pinned

        def with_pins(weights: np.ndarray) -> TargetWeights:
            weights = weights.copy()
            if pins is not None:
                weights[pinned] = pins[pinned]
            return TargetWeights(self.portfolio_id, timestamp, weights, 1.0 - float(weights.sum()))

        if not self.needs_prices:
            target = self.fallback.allocate(signals, free, timestamp, reserve)
            return AllocationOutcome(with_pins(target.weights), self.model, "ok", sized=free)
        current = np.zeros(n) if current_weights is None else np.asarray(current_weights)
        try:
            weights, sized, solved_by = self._optimise(
                signals, free, prices, current, sectors, reserve
            )
        except InfeasibleAllocation as exc:
            held = TargetWeights(self.portfolio_id, timestamp, current, 1.0 - float(current.sum()))
            return AllocationOutcome(held, self.model, "infeasible", str(exc))
        except (ArithmeticError, ValueError, np.linalg.LinAlgError) as exc:
            target = self.fallback.allocate(signals, free, timestamp, reserve)
            return AllocationOutcome(
                with_pins(target.weights),
                "signal_proportional",
                "fallback",
                f"{self.model}: {exc}",
                free,
            )
        return AllocationOutcome(
            with_pins(weights),
            self.model,
            "ok",
            sized=sized,
            solver=solved_by.solver if solved_by is not None else None,
            solver_fallback=solved_by.fallback_reason if solved_by is not None else None,
        )

    def _optimise(
        self,
        signals: CoordinatedSignals,
        eligible: np.ndarray,
        prices: np.ndarray | None,
        current: np.ndarray,
        sectors: tuple[str, ...],
        reserve: float = 0.0,
    ) -> tuple[np.ndarray, np.ndarray, SolvedBy | None]:
        """The sized weights, which instruments were sized, and which solver answered (None
        when no solve was needed)."""
        n = len(signals.score)
        if prices is None or len(prices) < 3:
            raise InfeasibleAllocation(f"{self.model}: needs a price history")
        trailing = trailing_window(prices, self.lookback_days)
        full_history = trailing.complete
        conviction = signals.score * signals.confidence
        if self.model == "mean_variance" or self.long_short:
            members = eligible & full_history & (signals.confidence > 0)
        else:
            members = eligible & full_history & self.wanted(conviction, current)
        weights = np.zeros(n)
        chosen = np.flatnonzero(members)
        bounds = self.bounds(len(chosen), reserve)
        if len(chosen) == 0 or bounds is None:
            return weights, members, None  # no view, or pins take it all: the rest is cash
        estimate = cached_estimate(self.risk_model, trailing, chosen)
        limits = Limits(
            tuple(map(sectors.__getitem__, chosen.tolist())) if sectors else (),
            self.sector_caps if sectors else (),
            current[chosen] if self.max_turnover is not None else None,
            self.max_turnover,
        )
        mu = None
        if self.model == "mean_variance":
            mu = self.signal_to_return.expected_returns(
                signals.score[chosen], signals.confidence[chosen], estimate.volatility
            )
        assert self._sizer is not None  # every model but signal_proportional has one
        weights[chosen] = self._sizer.weights(estimate, bounds, mu, limits)
        return weights, members, self._sizer.solved_by

    def wanted(self, conviction: np.ndarray, current: np.ndarray) -> np.ndarray:
        """The names a long-only model sizes: a positive view, or, with a ``signal_band``, a
        view above the band for a name not held and above minus the band for a held one."""
        held = np.asarray(current) > 0
        return np.where(held, conviction > -self.signal_band, conviction > self.signal_band)

    def bounds(self, names: int, reserve: float = 0.0) -> Bounds | None:
        """The mandate's bounds over ``names`` sized instruments, less the ``reserve`` that
        pinned instruments take; None when nothing is left to size."""
        if self.long_short:
            low, high = self.net_range[0] - reserve, self.net_range[1] - reserve
            # Too few names to reach the net floor: the floor comes down rather than failing.
            low = max(min(low, names * self.max_weight), -1.0)
            high = min(max(high, names * -self.max_short_weight), 1.0)
            gross = None if self.gross is None else max(self.gross - abs(reserve), 0.0)
            if gross is not None and gross <= max(low, -high, 0.0):
                return None
            return Bounds(high, -self.max_short_weight, self.max_weight, gross, low)
        # A cap that cannot hold the whole budget leaves the rest in cash rather than failing.
        budget = min(self.invested - reserve, names * self.max_weight)
        return Bounds(budget, 0.0, self.max_weight) if budget > 1e-9 else None

    def share_limits(
        self, current: np.ndarray, sized: np.ndarray | None, sectors: tuple[str, ...]
    ) -> ShareLimits:
        """The limits whole-share rounding keeps, over the whole universe (see rounding.py)."""
        ceiling = self.net_range[1] if self.long_short else self.invested
        counted = sized if sized is not None else np.ones(len(current), dtype=bool)
        if self.max_turnover is not None:
            ceiling = max(ceiling, float(np.sum(current[counted])) - self.max_turnover / 2.0)
        codes, caps = None, None
        if self.sector_caps and sectors:
            names = [name for name, _ in self.sector_caps]
            codes = np.array([names.index(s) if s in names else -1 for s in sectors])
            caps = np.array([cap for _, cap in self.sector_caps], dtype=float)
        return ShareLimits(
            -self.max_short_weight,
            self.max_weight,
            ceiling,
            self.gross if self.long_short else None,
            codes,
            caps,
            self.max_turnover,
            counted,
            self.min_trade_weight,
            tuple(name for name, _ in self.sector_caps),
        )

    def assess(
        self,
        symbols: tuple[str, ...],
        signals: CoordinatedSignals,
        target: np.ndarray,
        current: np.ndarray,
        universe: np.ndarray,
        prices: np.ndarray,
        nav_usd: float,
        cost_bps: float | np.ndarray,
    ) -> tuple[AllocationImpact, float] | None:
        """The impact of moving from ``current`` to ``target``, over the instruments with a full
        price history in the look-back, against the universe equally weighted; and the weight
        (target or current) on instruments left out for lack of history. None without prices."""
        if len(prices) < 3:
            return None
        trailing = trailing_window(prices, self.lookback_days)
        full_history = trailing.complete
        involved = (universe | (target != 0) | (current != 0)) & full_history
        unassessed = float(
            np.abs(target[~full_history]).sum() + np.abs(current[~full_history]).sum()
        )
        chosen = np.flatnonzero(involved)
        if len(chosen) == 0:
            return None
        estimate = cached_estimate(self.risk_model, trailing, chosen)
        benchmark = (universe & full_history)[chosen].astype(float)
        benchmark = benchmark / benchmark.sum() if benchmark.sum() > 0 else benchmark
        mu = self.signal_to_return.expected_returns(
            signals.score[chosen], signals.confidence[chosen], estimate.volatility
        )
        impact = assess_allocation(
            tuple(map(symbols.__getitem__, chosen.tolist())),
            target[chosen],
            current[chosen],
            benchmark,
            estimate,
            mu,
            nav_usd,
            cost_bps if np.isscalar(cost_bps) else np.asarray(cost_bps)[chosen],
        )
        return impact, unassessed

    def trade_benefits(
        self,
        signals: CoordinatedSignals,
        target: np.ndarray,
        current: np.ndarray,
        universe: np.ndarray,
        prices: np.ndarray,
    ) -> np.ndarray:
        """Each name's benefit of trading from ``current`` to ``target``, in the allocation's
        objective per day (engine/rebalancing/no_trade.py), under the ``mu`` and risk model the
        impact assessment uses; NaN for names without a full price history (not measured)."""
        benefits = np.full(len(target), np.nan)
        if len(prices) < 3:
            return benefits
        trailing = trailing_window(prices, self.lookback_days)
        chosen = np.flatnonzero((universe | (target != 0) | (current != 0)) & trailing.complete)
        if len(chosen) == 0:
            return benefits
        estimate = cached_estimate(self.risk_model, trailing, chosen)
        volatility = estimate.volatility
        aimed = target[chosen]
        if self.model == "minimum_variance":
            mu, aversion = np.zeros(len(chosen)), 1.0  # its objective has no return term
        else:
            mu = self.signal_to_return.expected_returns(
                signals.score[chosen], signals.confidence[chosen], volatility
            )
            aversion = self.risk_aversion
        # A model without an objective of its own is anchored at its target: no risk offset.
        offset = aimed if self.model in OBJECTIVE_MODELS else np.zeros(len(chosen))
        benefits[chosen] = trade_benefits(
            mu, estimate.times(offset), volatility**2, aversion, aimed, current[chosen]
        )
        return benefits
