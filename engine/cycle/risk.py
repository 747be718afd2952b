"""The risk stage: each portfolio's risk at this close from what it now holds, after the fills
(the post-trade check; engine/risk/metrics.py): risk figures, Euler attribution, stress tests,
limit utilisation, alerts and the automatic trading states a breach calls for.

Emits the alerts and trading-state changes the monitor decides, and ``RiskMeasured`` every
``record_every`` cycles. Returns the close's risk model (the scenarios and covariance the cycle's
allocation and pre-trade gate measure with) and each portfolio's ``RiskView``.

State it keeps between cycles: each portfolio's recent 99% VaR history, its latest view (the
stress results carry over between the cycles that run them), the measures its limits were last
checked against (a changed limit is shown against them at once) and the last close's risk model
(a changed limit re-checks the working orders with it).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date

import numpy as np

from engine.allocation.risk_models import ScenarioRisk, scenario_risk
from engine.cycle.context import (
    MarketClose,
    PortfolioMandate,
    RiskCarry,
    Universe,
    current_weights,
    json_float,
)
from engine.cycle.controls import change_trading_state
from engine.cycle.recorder import Emitter, record_all
from engine.risk.attribution import holding_attribution
from engine.risk.gate import RiskModel, budget_measure
from engine.risk.limits import LimitUsage, level_of
from engine.risk.manager import MONITOR_ACTOR, Measures, RiskManager, portfolio_measures
from engine.risk.metrics import Drawdowns, RiskFigures, risk_figures, trailing_drawdowns
from engine.risk.scenarios import HistoricalScenario, Scenario, applicable
from engine.risk.stress import portfolio_stress
from engine.snapshot import InstrumentRiskView, LimitView, RiskView, StressView
from engine.state.engine_state import EngineState

RISK_HISTORY_POINTS = 250
RISK_FIELDS = (
    "gross_exposure",
    "net_exposure",
    "volatility_annual",
    "var_95_parametric",
    "var_99_parametric",
    "cvar_95_parametric",
    "cvar_99_parametric",
    "var_95_historical",
    "var_99_historical",
    "cvar_95_historical",
    "cvar_99_historical",
    "drawdown",
    "max_drawdown",
)


@dataclass(frozen=True, slots=True)
class RiskResult:
    """The close's risk model (None until there are two days of returns) and the views made."""

    model: RiskModel | None = None
    views: Mapping[str, RiskView] = field(default_factory=dict)


def limit_view(usage: LimitUsage) -> LimitView:
    limit = usage.limit
    return LimitView(
        limit.name,
        limit.kind.unit,
        limit.value,
        limit.mode,
        limit.warn_at,
        limit.on_breach,
        limit.version,
        limit.scope,
        limit.actor,
        usage.value if np.isfinite(usage.value) else None,
        usage.utilisation if np.isfinite(usage.utilisation) else None,
        usage.level,
        usage.detail,
        limit.symbols,
    )


class RiskStage:
    def __init__(
        self,
        universe: Universe,
        mandates: tuple[PortfolioMandate, ...],
        risk_manager: RiskManager,
        stress_scenarios: tuple[Scenario, ...] = (),
        lookback_days: int = 250,
        record_every: int = 5,
        stress_every: int = 5,
        drawdown_window_days: int = 252,
    ) -> None:
        self.universe = universe
        self.mandates = mandates
        self.risk_manager = risk_manager
        # Historical windows aligned with this universe once, so each run is a dot product.
        self.stress_scenarios = tuple(
            HistoricalScenario(
                s.name,
                s.start,
                s.end,
                s.returns_for(universe.symbols, universe.sectors),
                origin=s.origin,
            )
            if isinstance(s, HistoricalScenario)
            else s
            for s in stress_scenarios
        )
        self.lookback_days = lookback_days
        self.record_every = record_every
        self.stress_every = stress_every
        self.drawdown_window_days = drawdown_window_days
        self.history: dict[str, deque[tuple[date, float]]] = {}
        self.latest: dict[str, RiskView] = {}
        self.measures: dict[str, Measures] = {}
        self.model: RiskModel | None = None

    def run(
        self,
        cycle: int,
        market: MarketClose,
        state: EngineState,
        carry: RiskCarry,
        emit: Emitter,
    ) -> RiskResult:
        self.model = None
        found = scenario_risk(market.window, self.lookback_days)
        if found is None:
            return RiskResult()
        columns, scenarios = found.columns, found.scenarios
        model = self.model = RiskModel(found)
        tick, ledger, symbols = market.tick, state.ledger, self.universe.symbols
        # Each NAV once: valuing a book sums every position exactly (Decimal).
        nav_now = {m.portfolio_id: float(ledger.nav_usd(m.portfolio_id)) for m in self.mandates}
        holdings = {
            pid: current_weights(ledger, pid, self.universe, tick.close, nav)
            for pid, nav in nav_now.items()
        }
        stress: dict[str, tuple[StressView, ...]] | None = None
        if cycle % self.stress_every == 0:  # by the cycle alone: the same after a restart
            stress = self._stress(holdings, state, found, tick.timestamp)
        sectors = np.array(self.universe.sectors)
        views = {}
        for mandate in self.mandates:
            pid = mandate.portfolio_id
            weights = holdings[pid]
            # Sigma w from the scenarios, once for the figures and the attribution: O(T N) where
            # the product with the covariance matrix is O(N^2) (most of this stage at 2,000).
            marginal = found.covariance_times(weights[columns])
            figures = risk_figures(
                weights[columns], scenarios, None, covariance_times_weights=marginal
            )
            navs = [point.nav_usd for point in state.nav_history.get(pid, ())]
            nav_series = np.array([*navs, nav_now[pid]])
            # Measured once: the max_drawdown limit and the figures read the same numbers.
            drawdown = trailing_drawdowns(nav_series, self.drawdown_window_days)
            held = weights != 0
            share = np.zeros(len(weights))
            share[columns] = figures.contributions
            order = np.argsort(-np.abs(share), kind="stable")
            order = order[share[order] != 0]
            by_symbol = tuple(
                zip([symbols[i] for i in order.tolist()], share[order].tolist(), strict=True)
            )
            exposure = tuple(
                (name, float(weights[held & (sectors == name)].sum()))
                for name in sorted(set(sectors[held]))
            )
            by_sector = tuple(
                sorted(
                    ((name, float(share[sectors == name].sum())) for name in set(sectors[held])),
                    key=lambda item: -abs(item[1]),
                )
            )
            history = self.history.setdefault(pid, deque(maxlen=RISK_HISTORY_POINTS))
            history.append((tick.timestamp, figures.var_historical[0.99]))
            usages = self._monitor(
                mandate, state, model, weights, figures, drawdown, tick.timestamp, emit
            )
            previous = self.latest.get(pid)
            if stress is not None:
                stressed = stress.get(pid, ())
            else:
                stressed = previous.stress if previous is not None else ()
            view = RiskView(
                pid,
                tick.timestamp,
                figures.gross_exposure,
                figures.net_exposure,
                figures.volatility_annual,
                figures.var_parametric[0.95],
                figures.var_parametric[0.99],
                figures.cvar_parametric[0.95],
                figures.cvar_parametric[0.99],
                figures.var_historical[0.95],
                figures.var_historical[0.99],
                figures.cvar_historical[0.95],
                figures.cvar_historical[0.99],
                drawdown.current,
                drawdown.maximum,
                exposure,
                by_symbol,
                by_sector,
                tuple(history),
                state.trading_state(pid),
                tuple(limit_view(u) for u in usages),
                sleeve_contributions=carry.sleeve_risk.get(pid, ()),
                stress=stressed,
                budget_scaling=carry.budget_scaling.get(pid),
                attribution=self._attribution(weights, found, marginal),
                drawdown_window_days=drawdown.window_days,
            )
            self.latest[pid] = views[pid] = view
            if cycle % self.record_every == 0:
                emit(
                    "RiskMeasured",
                    {
                        "market_date": tick.timestamp.isoformat(),
                        **{name: json_float(getattr(view, name)) for name in RISK_FIELDS},
                        "var_99_contributions": {s: round(v, 6) for s, v in by_symbol[:25]},
                        "utilisation": {u.limit.name: json_float(u.utilisation) for u in usages},
                        **(
                            {"stress": {v.scenario: json_float(v.pnl_holdings) for v in stressed}}
                            if stress is not None
                            else {}
                        ),
                    },
                    pid,
                )
        return RiskResult(model, views)

    def refresh_limits(self, state: EngineState, portfolio_id: str) -> None:
        """Show a changed limit at once, against the last close's measures; alerts follow at
        the next close, when the limit is monitored."""
        view, measures = self.latest.get(portfolio_id), self.measures.get(portfolio_id)
        if view is None or measures is None:
            return
        manager = self.risk_manager
        usages = manager.usage(manager.limits(state, portfolio_id), measures)
        for usage in usages:
            if usage.limit.name != "restricted_instruments":
                usage.level = level_of(usage.utilisation, usage.limit.warn_at)
        self.latest[portfolio_id] = replace(view, limits=tuple(limit_view(u) for u in usages))

    def _stress(
        self,
        holdings: dict[str, np.ndarray],
        state: EngineState,
        risk: ScenarioRisk,
        today: date,
    ) -> dict[str, tuple[StressView, ...]]:
        """The stress scenarios (engine/risk/scenarios.py, run by engine/risk/stress.py) on
        every portfolio's holdings and latest proposed allocation."""
        scenarios = applicable(self.stress_scenarios, today)
        proposed = {
            pid: self.universe.vector(targets)
            for pid in holdings
            if (targets := state.targets.get(pid))
        }
        on_holdings, on_proposed = portfolio_stress(
            holdings,
            proposed,
            scenarios,
            symbols=self.universe.symbols,
            sectors=self.universe.sectors,
            covariance=risk,
        )
        return {
            pid: tuple(
                StressView(
                    scenario.name,
                    scenario.kind,
                    scenario.window or "",
                    float(pnl[k]),
                    float(on_proposed[pid][k]) if pid in on_proposed else None,
                )
                for k, scenario in enumerate(scenarios)
            )
            for pid, pnl in on_holdings.items()
        }

    def _attribution(
        self, weights: np.ndarray, risk: ScenarioRisk, marginal: np.ndarray
    ) -> tuple[InstrumentRiskView, ...]:
        symbols, sectors = self.universe.symbols, self.universe.sectors
        columns = risk.columns.tolist()
        return tuple(
            InstrumentRiskView(
                symbols[columns[h.index]],
                sectors[columns[h.index]],
                h.weight,
                h.marginal_volatility,
                h.component_volatility,
                h.marginal_var_99,
                h.component_var_99,
                h.component_cvar_99_historical,
            )
            for h in holding_attribution(
                weights[columns], None, risk.scenarios, covariance_times_weights=marginal
            )
        )

    def _monitor(
        self,
        mandate: PortfolioMandate,
        state: EngineState,
        model: RiskModel,
        weights: np.ndarray,
        figures: RiskFigures,
        drawdown: Drawdowns,
        today: date,
        emit: Emitter,
    ) -> list[LimitUsage]:
        """Utilisation of the portfolio's limits, the alerts it raises or clears, and the
        trading state a breach calls for."""
        pid, manager = mandate.portfolio_id, self.risk_manager
        limits = manager.limits(state, pid)
        tracking = None
        if "tracking_error" in limits:
            benchmarked = replace(model, benchmark=mandate.benchmark)
            tracking = budget_measure("tracking_error", weights, benchmarked)
        measures = portfolio_measures(
            weights,
            figures,
            drawdown.current,
            state.last_orders.get(pid, (0, 0.0, 0)),
            tracking,
        )
        self.measures[pid] = measures
        usages = manager.usage(limits, measures)
        record_all(emit, manager.alerts(state, pid, usages, today))
        decided = manager.automatic_state(state, pid, usages)
        if decided is not None:
            new_state, reason, limit = decided
            change_trading_state(
                state, pid, new_state, reason, MONITOR_ACTOR, emit, limit, automatic=True
            )
        return usages
