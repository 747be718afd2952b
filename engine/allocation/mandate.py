"""A portfolio mandate's allocation stage: coordinated signals and prices in, target weights out.

The mandate names its sizing model (``signal_proportional``, ``equal_weight``,
``inverse_volatility``, ``minimum_variance``, ``risk_parity`` or ``mean_variance``), its risk
model and its limits. The risk-based models size the instruments the portfolio has a positive view
on; mean-variance takes expected returns from the views (``SignalToReturn``) over every eligible
instrument. Only instruments with a full price history over the look-back take part.

Equal weight, inverse volatility and risk parity are capped at ``max_weight`` after sizing, the
excess staying in cash; a turnover limit counts the names being sized (selling out of names
without a view is not limited).

When the limits cannot all hold, the outcome is ``infeasible`` with the reason and the targets are
the current weights (nothing trades). When a solver fails, the outcome is ``fallback`` with the
reason and the targets come from the signal-proportional model, which cannot fail.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from engine.allocation.expected_returns import SignalToReturn
from engine.allocation.impact import AllocationImpact, assess_allocation
from engine.allocation.optimisers import Bounds, InfeasibleAllocation, Limits, Sizer
from engine.allocation.risk_models import RiskModel, trailing_returns
from engine.allocation.sizing import SignalProportionalAllocator
from engine.model import CoordinatedSignals, TargetWeights

SIZING_MODELS = ("signal_proportional", *Sizer.MODELS)


@dataclass(frozen=True, slots=True, eq=False)
class AllocationOutcome:
    target: TargetWeights
    model: str
    status: str  # "ok", "infeasible" or "fallback"
    reason: str | None = None


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
    ) -> None:
        if model not in SIZING_MODELS:
            raise ValueError(f"model: {model!r} is not one of {', '.join(SIZING_MODELS)}")
        self.portfolio_id = portfolio_id
        self.model = model
        self.max_weight = max_weight
        self.invested = 1.0 - cash_buffer
        self.risk_model = risk_model
        self.lookback_days = lookback_days
        self.signal_to_return = signal_to_return or SignalToReturn()
        self.sector_caps = sector_caps
        self.max_turnover = max_turnover
        self.fallback = SignalProportionalAllocator(portfolio_id, max_weight, cash_buffer)
        self._sizer = Sizer(model, risk_aversion) if model in Sizer.MODELS else None

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
    ) -> AllocationOutcome:
        """``prices``: closes, days x instruments, oldest first; ``current_weights``: of NAV."""
        if not self.needs_prices:
            target = self.fallback.allocate(signals, eligible, timestamp)
            return AllocationOutcome(target, self.model, "ok")
        n = len(signals.score)
        current = np.zeros(n) if current_weights is None else np.asarray(current_weights)
        try:
            weights = self._optimise(signals, eligible, prices, current, sectors)
        except InfeasibleAllocation as exc:
            held = TargetWeights(self.portfolio_id, timestamp, current, 1.0 - float(current.sum()))
            return AllocationOutcome(held, self.model, "infeasible", str(exc))
        except (ArithmeticError, ValueError, np.linalg.LinAlgError) as exc:
            target = self.fallback.allocate(signals, eligible, timestamp)
            return AllocationOutcome(
                target, "signal_proportional", "fallback", f"{self.model}: {exc}"
            )
        return AllocationOutcome(
            TargetWeights(self.portfolio_id, timestamp, weights, 1.0 - float(weights.sum())),
            self.model,
            "ok",
        )

    def _optimise(
        self,
        signals: CoordinatedSignals,
        eligible: np.ndarray,
        prices: np.ndarray | None,
        current: np.ndarray,
        sectors: tuple[str, ...],
    ) -> np.ndarray:
        n = len(signals.score)
        if prices is None or len(prices) < 3:
            raise InfeasibleAllocation(f"{self.model}: needs a price history")
        returns, full_history = trailing_returns(prices, self.lookback_days)
        conviction = signals.score * signals.confidence
        if self.model == "mean_variance":
            members = eligible & full_history & (signals.confidence > 0)
        else:
            members = eligible & full_history & (conviction > 0)
        weights = np.zeros(n)
        chosen = np.flatnonzero(members)
        if len(chosen) == 0:
            return weights  # no view to act on: all cash
        # A cap that cannot hold the whole budget leaves the rest in cash rather than failing.
        invested = min(self.invested, len(chosen) * self.max_weight)
        bounds = Bounds(invested, 0.0, self.max_weight)
        estimate = self.risk_model.estimate(returns[:, chosen])
        limits = Limits(
            tuple(sectors[i] for i in chosen) if sectors else (),
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
        return weights

    def assess(
        self,
        symbols: tuple[str, ...],
        signals: CoordinatedSignals,
        target: np.ndarray,
        current: np.ndarray,
        universe: np.ndarray,
        prices: np.ndarray,
        nav_usd: float,
        cost_bps: float,
    ) -> tuple[AllocationImpact, float] | None:
        """The impact of moving from ``current`` to ``target``, over the instruments with a full
        price history in the look-back, against the universe equally weighted; and the weight
        (target or current) on instruments left out for lack of history. None without prices."""
        if len(prices) < 3:
            return None
        returns, full_history = trailing_returns(prices, self.lookback_days)
        involved = (universe | (target > 0) | (current > 0)) & full_history
        unassessed = float(
            np.abs(target[~full_history]).sum() + np.abs(current[~full_history]).sum()
        )
        chosen = np.flatnonzero(involved)
        if len(chosen) == 0:
            return None
        estimate = self.risk_model.estimate(returns[:, chosen])
        benchmark = (universe & full_history)[chosen].astype(float)
        benchmark = benchmark / benchmark.sum() if benchmark.sum() > 0 else benchmark
        mu = self.signal_to_return.expected_returns(
            signals.score[chosen], signals.confidence[chosen], estimate.volatility
        )
        impact = assess_allocation(
            tuple(symbols[i] for i in chosen),
            target[chosen],
            current[chosen],
            benchmark,
            estimate.covariance,
            mu,
            nav_usd,
            cost_bps,
        )
        return impact, unassessed
