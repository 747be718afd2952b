"""Risk coordination: the limits in force, their utilisation, alerts and trading states.

The cycle records the events (engine/cycle/recorder.py); this module decides what they are.
Everything here reads the engine state (the fold of the events) and returns the events to
record, so a restarted engine decides exactly as the one before it.

- **Limits in force** are the fold of ``RiskLimitSet`` / ``RiskLimitRemoved``. At start-up the
  configured limits are compared with those: a limit the config adds or changes is recorded
  (actor ``config``); one a risk officer set by command stays until the config's own setting
  for it changes, so editing the config file is never silently ignored and a restart never
  undoes an officer's decision.
- **Monitoring** measures every limit on the holdings after each close's fills (the post-trade
  check) and on the last cycle's orders; each limit is ``ok``, ``warning`` (utilisation at or
  above its ``warn_at``) or ``breach`` (above 1). A change of level raises a ``RiskAlertRaised``
  (and clears the alert it replaces); back to ``ok`` clears it (``RiskAlertCleared``). Levels
  are left only ``hysteresis`` below where they start, so a measure hovering at a threshold
  does not alert every cycle.
- **Trading states**: a breach of a limit with ``on_breach = reduce`` (``halt``) moves an ACTIVE
  (or REDUCING) portfolio to REDUCING (HALTED), automatically, naming the limit; when that
  limit's alert clears the engine returns it to ACTIVE. A state a person set is left to people.
- **Risk-adjusted allocation**: a proposed allocation whose volatility, VaR or CVaR is over its
  budget is scaled toward cash by ``threshold / value`` (these measures are homogeneous of
  degree one) before whole shares and orders are made.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np

from engine.risk.gate import RiskModel, budget_measure
from engine.risk.limits import (
    KINDS,
    LimitScope,
    LimitUsage,
    RiskLimit,
    level_of,
    make_limit,
    resolve_limits,
)
from engine.risk.metrics import RiskFigures

CONFIG_ACTOR = "config"
MONITOR_ACTOR = "risk-monitor"
# Budgets the allocation is scaled toward: measures with R(t w) = t R(w), t > 0.
SCALABLE = tuple(
    name
    for name in KINDS
    if name == "volatility" or name.startswith("var_") or name.startswith("cvar_")
)


@dataclass(frozen=True, slots=True)
class Emit:
    """An event the risk stage or a risk command is to record."""

    type: str
    payload: dict[str, Any]
    portfolio_id: str | None
    actor: str = "engine"


@dataclass(slots=True)
class Measures:
    """A portfolio's measures at a close, for the utilisation of its limits. ``weights`` are
    fractions of NAV per instrument; the rest as in engine/risk/limits.py (NaN: not known)."""

    weights: np.ndarray
    budget: dict[str, float] = field(default_factory=dict)
    drawdown: float = float("nan")
    max_order_notional_usd: float = 0.0
    orders_last_cycle: int = 0


@dataclass(frozen=True, slots=True)
class BudgetScaling:
    limit: str
    value: float
    threshold: float
    factor: float


def portfolio_measures(
    weights: np.ndarray,
    figures: RiskFigures,
    drawdown: float,
    last_orders: tuple[int, float, int],
    tracking_error: float | None = None,
) -> Measures:
    """The measures a portfolio's limits are checked against at a close: its risk ``figures``
    by budget name (volatility, VaR and CVaR at 95/99%, parametric and historical), the
    tracking error when the portfolio has such a limit, its drawdown over the monitoring
    window and the size of its last rebalance's orders (cycle, largest notional USD, count)."""
    budget = {
        "volatility": figures.volatility_annual,
        **{
            f"{measure}_{int(level * 100)}_{method}": getattr(figures, f"{measure}_{method}")[level]
            for measure in ("var", "cvar")
            for method in ("parametric", "historical")
            for level in (0.95, 0.99)
        },
    }
    if tracking_error is not None:
        budget["tracking_error"] = tracking_error
    _, notional, count = last_orders
    return Measures(weights, budget, drawdown, notional, count)


class RiskManager:
    def __init__(
        self,
        configured: tuple[LimitScope, ...],
        tenants: Mapping[str, str],
        symbols: tuple[str, ...],
        sectors: tuple[str, ...],
        hysteresis: float = 0.05,
    ) -> None:
        self.configured = configured
        self.tenants = dict(tenants)
        self.symbols = symbols
        self.known_symbols = frozenset(symbols)
        self.sector_names = tuple(sorted(set(sectors)))
        self.sector_codes = np.array([self.sector_names.index(s) for s in sectors])
        self.hysteresis = hysteresis

    # -- limits as data -----------------------------------------------------------------------
    @staticmethod
    def limits(state: Any, portfolio_id: str) -> dict[str, RiskLimit]:
        return {
            name: RiskLimit.from_payload(payload, payload.get("actor", ""))
            for name, payload in state.risk_limits.get(portfolio_id, {}).items()
        }

    def config_changes(self, state: Any) -> list[Emit]:
        """What the configured limits add, change or drop against those in force."""
        changes = []
        for pid, tenant in self.tenants.items():
            wanted = resolve_limits(self.configured, pid, tenant)
            current = state.risk_limits.get(pid, {})
            for name, limit in wanted.items():
                held = current.get(name)
                if held is not None and held.get("config_setting") == limit.setting():
                    continue  # unchanged in the config: whatever is in force stays
                changes.append(
                    self._set(pid, limit, held, CONFIG_ACTOR, "configuration", limit.setting())
                )
            for name, held in current.items():
                if name not in wanted and held.get("config_setting") is not None:
                    changes.append(
                        Emit(
                            "RiskLimitRemoved",
                            {
                                "name": name,
                                "version": int(held["version"]) + 1,
                                "reason": "no longer in the configuration",
                            },
                            pid,
                            CONFIG_ACTOR,
                        )
                    )
        return changes

    def command_changes(
        self,
        state: Any,
        portfolio_ids: list[str],
        name: str,
        value: float | None,
        mode: str,
        warn_at: float | None,
        on_breach: str,
        symbols: tuple[str, ...],
        remove: bool,
        actor: str,
        reason: str,
        scope: str,
    ) -> list[Emit]:
        changes = []
        for pid in portfolio_ids:
            held = state.risk_limits.get(pid, {}).get(name)
            if remove:
                if held is None:
                    raise ValueError(f"limit: {pid} has no {name} limit to remove")
                changes.append(
                    Emit(
                        "RiskLimitRemoved",
                        {"name": name, "version": int(held["version"]) + 1, "reason": reason},
                        pid,
                        actor,
                    )
                )
                continue
            limit = make_limit(
                name, value, mode, warn_at, on_breach, symbols, self.known_symbols, scope
            )
            config_setting = held.get("config_setting") if held else None
            changes.append(self._set(pid, limit, held, actor, reason, config_setting))
        return changes

    @staticmethod
    def _set(
        pid: str,
        limit: RiskLimit,
        held: dict[str, Any] | None,
        actor: str,
        reason: str,
        config_setting: dict[str, Any] | None,
    ) -> Emit:
        previous = None
        if held is not None:
            previous = {k: held[k] for k in ("value", "mode", "warn_at", "on_breach", "symbols")}
        return Emit(
            "RiskLimitSet",
            {
                **limit.setting(),
                "unit": limit.kind.unit,
                "scope": limit.scope,
                "version": int(held["version"]) + 1 if held else 1,
                "previous": previous,
                "reason": reason,
                "config_setting": config_setting,
            },
            pid,
            actor,
        )

    # -- monitoring ---------------------------------------------------------------------------
    def usage(self, limits: Mapping[str, RiskLimit], measures: Measures) -> list[LimitUsage]:
        """Each limit's measure and utilisation (measure / threshold)."""
        w = measures.weights
        out = []
        for name, limit in limits.items():
            detail = ""
            if name == "max_position_weight":
                i = int(np.argmax(np.abs(w))) if len(w) else 0
                value = float(abs(w[i])) if len(w) else 0.0
                detail = self.symbols[i] if value else ""
            elif name == "sector_cap":
                net = np.abs(
                    np.bincount(self.sector_codes, weights=w, minlength=len(self.sector_names))
                )
                k = int(np.argmax(net))
                value, detail = float(net[k]), self.sector_names[k] if net[k] else ""
            elif name == "gross_exposure":
                value = float(np.abs(w).sum())
            elif name == "net_exposure":
                value = abs(float(w.sum()))
            elif name == "max_order_notional_usd":
                value = measures.max_order_notional_usd
                detail = "largest order of the last cycle"
            elif name == "max_orders_per_cycle":
                value = float(measures.orders_last_cycle)
                detail = "orders of the last cycle"
            elif name == "restricted_instruments":
                held = [s for s in limit.symbols if w[self.symbols.index(s)] != 0]
                out.append(
                    LimitUsage(
                        limit,
                        float(len(held)),
                        2.0 if held else 0.0,  # any holding is a breach
                        "breach" if held else "ok",
                        ", ".join(held),
                    )
                )
                continue
            elif name == "max_drawdown":
                value = measures.drawdown
            else:
                value = measures.budget.get(name, float("nan"))
            utilisation = value / limit.value if np.isfinite(value) else float("nan")
            out.append(LimitUsage(limit, value, utilisation, "ok", detail))
        return out

    def alerts(
        self,
        state: Any,
        portfolio_id: str,
        usages: list[LimitUsage],
        market_date: date,
    ) -> list[Emit]:
        """Alerts raised and cleared by this close's utilisation; sets each usage's level."""
        open_alerts = {
            a["limit"]: (alert_id, a)
            for alert_id, a in state.risk_alerts.items()
            if a["portfolio_id"] == portfolio_id
        }
        emits = []
        for usage in usages:
            name = usage.limit.name
            alert_id, alert = open_alerts.pop(name, (None, None))
            previous = alert["level"] if alert else "ok"
            if name == "restricted_instruments":
                level = usage.level
            else:
                level = level_of(usage.utilisation, usage.limit.warn_at, previous, self.hysteresis)
            usage.level = level
            if level == previous:
                continue
            if alert_id is not None:
                emits.append(self._cleared(portfolio_id, alert_id, name, usage))
            if level != "ok":
                emits.append(self._raised(portfolio_id, usage, market_date))
        for name, (alert_id, _) in open_alerts.items():  # the limit itself was removed
            emits.append(
                Emit(
                    "RiskAlertCleared",
                    {"alert_id": alert_id, "limit": name, "reason": "limit removed"},
                    portfolio_id,
                    MONITOR_ACTOR,
                )
            )
        return emits

    @staticmethod
    def _cleared(pid: str, alert_id: str, name: str, usage: LimitUsage) -> Emit:
        return Emit(
            "RiskAlertCleared",
            {
                "alert_id": alert_id,
                "limit": name,
                "value": _finite(usage.value),
                "utilisation": _finite(usage.utilisation),
                "reason": f"now {usage.level}",
            },
            pid,
            MONITOR_ACTOR,
        )

    @staticmethod
    def _raised(pid: str, usage: LimitUsage, market_date: date) -> Emit:
        limit = usage.limit
        where = f" ({usage.detail})" if usage.detail else ""
        if limit.name == "restricted_instruments":
            message = f"restricted instruments held: {usage.detail}"
        else:
            message = (
                f"{limit.kind.description}{where} at {usage.utilisation:.0%} of its limit "
                f"({_show(usage.value, limit)} vs {_show(limit.value, limit)})"
            )
        return Emit(
            "RiskAlertRaised",
            {
                # Deterministic: a cycle run again after a crash raises the same alert.
                "alert_id": f"{pid}:{limit.name}:{usage.level}:{market_date.isoformat()}",
                "limit": limit.name,
                "level": usage.level,
                "value": _finite(usage.value),
                "threshold": limit.value,
                "utilisation": _finite(usage.utilisation),
                "market_date": market_date.isoformat(),
                "message": message,
                "on_breach": limit.on_breach,
            },
            pid,
            MONITOR_ACTOR,
        )

    @staticmethod
    def automatic_state(
        state: Any, portfolio_id: str, usages: list[LimitUsage]
    ) -> tuple[str, str, str | None] | None:
        """The trading state monitoring moves the portfolio to, if any: (state, reason,
        limit). Only states the monitor set itself are lifted by it."""
        current = state.trading_states.get(portfolio_id)
        now = current["state"] if current else "ACTIVE"
        wanted, why, culprit = "ACTIVE", "", None
        for usage in usages:
            action = usage.limit.on_breach
            if usage.level != "breach" or action == "alert":
                continue
            target = "HALTED" if action == "halt" else "REDUCING"
            if target == "HALTED" or wanted == "ACTIVE":
                wanted, culprit = target, usage.limit.name
                shown = _show(usage.value, usage.limit), _show(usage.limit.value, usage.limit)
                why = f"{usage.limit.kind.description} breached ({shown[0]} vs {shown[1]})"
        if current is not None and not current.get("automatic"):
            return None  # a person decided: only a person changes it
        if wanted == now:
            return None
        if wanted == "ACTIVE":
            limit = current.get("limit") if current else None
            return "ACTIVE", f"{limit} back within its limit", limit
        return wanted, why, culprit

    # -- risk-adjusted allocation -------------------------------------------------------------
    @staticmethod
    def budget_scaling(
        limits: Mapping[str, RiskLimit], weights: np.ndarray, model: RiskModel
    ) -> BudgetScaling | None:
        """The factor that brings the allocation within every volatility / VaR / CVaR budget
        (the tightest one binds), or None when it is within all of them."""
        worst: BudgetScaling | None = None
        for name in SCALABLE:
            limit = limits.get(name)
            if limit is None:
                continue
            value = budget_measure(name, weights, model)
            if not np.isfinite(value) or value <= limit.value:
                continue
            factor = limit.value / value
            if worst is None or factor < worst.factor:
                worst = BudgetScaling(name, value, limit.value, factor)
        return worst


def _finite(value: float) -> float | None:
    return round(float(value), 8) if np.isfinite(value) else None


def _show(value: float, limit: RiskLimit) -> str:
    unit = limit.kind.unit
    if unit == "USD":
        return f"{value:,.0f} USD"
    if unit == "orders":
        return f"{value:.0f}"
    return f"{value:.2%}"
