"""Risk limits: what each kind measures, in which unit, and how a breach is handled.

A limit is data. Config seeds it (``[[risk.limits]]``, for every portfolio, a tenant's portfolios
or one portfolio; the most specific wins); a risk officer changes it with ``SetRiskLimit``. Each
change is a ``RiskLimitSet`` (or ``RiskLimitRemoved``) event on the portfolio's stream, numbered
by ``version`` per portfolio and limit, naming the actor, the reason and the previous setting.

Kinds and units (``value`` is the threshold; the measure breaches when it exceeds it):

- order limits, checked on each order before it is sent (engine/risk/gate.py):
  ``max_order_notional_usd`` (USD of one order at the decision price), ``max_orders_per_cycle``
  (orders one portfolio may send per cycle), ``restricted_instruments`` (``symbols`` may not be
  bought or shorted further; reducing a position in them is allowed);
- position limits, on the holdings after the orders: ``max_position_weight`` (largest |weight|,
  fraction of NAV), ``sector_cap`` (largest |net sector weight|), ``gross_exposure`` (sum |w|),
  ``net_exposure`` (|sum w|);
- portfolio risk budgets, on the holdings after the orders and on each new allocation, which is
  scaled toward them before orders are made: ``volatility`` (ex-ante, annualised),
  ``tracking_error`` (ex-ante, annualised, against the equally weighted universe), and 1-day
  ``var_95_parametric`` ... ``cvar_99_historical`` (fractions of NAV, see engine/risk/metrics.py);
- ``max_drawdown``: the fall below the highest NAV of the last ``[risk] drawdown_window_days``;
  monitored each cycle (an order cannot change it).

``mode``: a ``hard`` limit rejects an order that would breach it; a ``soft`` one scales the order
down to what fits. Either way the decision names the limit, the value and the threshold.
``warn_at``: the utilisation (measure / threshold) from which a warning alert is raised.
``on_breach``: what a breach found by monitoring does besides alerting: ``reduce`` puts the
portfolio in REDUCING (only risk-reducing orders pass), ``halt`` in HALTED (no order passes).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

Mode = Literal["hard", "soft"]
OnBreach = Literal["alert", "reduce", "halt"]
MODES = ("hard", "soft")
ON_BREACH = ("alert", "reduce", "halt")
TRADING_STATES = ("ACTIVE", "REDUCING", "HALTED")
DEFAULT_WARN_AT = 0.8


@dataclass(frozen=True, slots=True)
class LimitKind:
    name: str
    unit: str
    scope: Literal["order", "position", "portfolio"]
    description: str
    integer: bool = False


_KINDS = (
    LimitKind("max_position_weight", "fraction of NAV", "position", "largest |position weight|"),
    LimitKind("sector_cap", "fraction of NAV", "position", "largest |net sector exposure|"),
    LimitKind("gross_exposure", "fraction of NAV", "position", "sum of |weights|"),
    LimitKind("net_exposure", "fraction of NAV", "position", "|sum of weights|"),
    LimitKind("max_order_notional_usd", "USD", "order", "one order's notional"),
    LimitKind("max_orders_per_cycle", "orders", "order", "orders sent per cycle", integer=True),
    LimitKind("restricted_instruments", "instruments", "order", "no new exposure to these"),
    LimitKind("volatility", "annualised fraction of NAV", "portfolio", "ex-ante volatility"),
    LimitKind("tracking_error", "annualised fraction of NAV", "portfolio", "ex-ante TE"),
    *(
        LimitKind(
            f"{measure}_{level}_{method}",
            "1-day fraction of NAV",
            "portfolio",
            f"1-day {measure.upper()} {level}% ({method})",
        )
        for method in ("parametric", "historical")
        for measure in ("var", "cvar")
        for level in ("95", "99")
    ),
    LimitKind("max_drawdown", "fraction of peak NAV", "portfolio", "fall below the peak NAV"),
)
KINDS: dict[str, LimitKind] = {kind.name: kind for kind in _KINDS}
# Measures of the portfolio as a whole that scale with the weights (degree-one homogeneous).
BUDGET_LIMITS = tuple(
    k.name for k in _KINDS if k.scope == "portfolio" and k.name not in {"max_drawdown"}
)


@dataclass(frozen=True, slots=True)
class RiskLimit:
    """One limit as in force. ``value`` is the threshold in the kind's unit (unused, 0, for
    ``restricted_instruments``, whose list is ``symbols``)."""

    name: str
    value: float
    mode: Mode = "hard"
    warn_at: float = DEFAULT_WARN_AT
    on_breach: OnBreach = "alert"
    symbols: tuple[str, ...] = ()
    version: int = 0
    scope: str = "portfolio"
    actor: str = ""
    reason: str = ""

    @property
    def kind(self) -> LimitKind:
        return KINDS[self.name]

    def setting(self) -> dict[str, Any]:
        """What defines the limit (without its history): equal settings are the same limit."""
        return {
            "name": self.name,
            "value": self.value,
            "mode": self.mode,
            "warn_at": self.warn_at,
            "on_breach": self.on_breach,
            "symbols": list(self.symbols),
        }

    @classmethod
    def from_payload(cls, payload: dict[str, Any], actor: str = "") -> RiskLimit:
        return cls(
            payload["name"],
            float(payload["value"]),
            payload["mode"],
            float(payload["warn_at"]),
            payload["on_breach"],
            tuple(payload.get("symbols", ())),
            int(payload.get("version", 0)),
            payload.get("scope", "portfolio"),
            actor,
            payload.get("reason", ""),
        )


def make_limit(
    name: str,
    value: float | None,
    mode: str = "hard",
    warn_at: float | None = None,
    on_breach: str = "alert",
    symbols: tuple[str, ...] | list[str] = (),
    known_symbols: frozenset[str] | None = None,
    scope: str = "portfolio",
) -> RiskLimit:
    """A checked limit; a ``ValueError`` names the field and why it is refused."""
    if name not in KINDS:
        raise ValueError(f"limit: {name!r} is not a risk limit (known: {', '.join(KINDS)})")
    kind = KINDS[name]
    if mode not in MODES:
        raise ValueError(f"mode: {mode!r} must be 'hard' (reject) or 'soft' (scale down)")
    if on_breach not in ON_BREACH:
        raise ValueError(f"on_breach: {on_breach!r} must be one of {', '.join(ON_BREACH)}")
    warn = DEFAULT_WARN_AT if warn_at is None else float(warn_at)
    if not 0 < warn <= 1:
        raise ValueError(f"warn_at: {warn!r} must be a utilisation in (0, 1]")
    symbols = tuple(dict.fromkeys(s.strip().upper() for s in symbols if s.strip()))
    if name == "restricted_instruments":
        if not symbols:
            raise ValueError("symbols: name at least one restricted instrument")
        unknown = sorted(set(symbols) - known_symbols) if known_symbols is not None else []
        if unknown:
            raise ValueError(f"symbols: {unknown} are not in the market data")
        return RiskLimit(name, 0.0, mode, warn, on_breach, symbols, scope=scope)  # type: ignore[arg-type]
    if symbols:
        raise ValueError(f"symbols: only restricted_instruments takes symbols, not {name}")
    if value is None or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"value: {name} needs a finite threshold in {kind.unit}")
    if value <= 0:
        raise ValueError(f"value: {value!r} must be above 0 ({kind.unit})")
    if kind.integer and value != int(value):
        raise ValueError(f"value: {name} counts {kind.unit}, a whole number (got {value!r})")
    if kind.unit.endswith("fraction of NAV") and kind.scope == "position" and value > 10:
        raise ValueError(f"value: {value!r} is a fraction of NAV (0.10 = 10%); above 10x NAV")
    if name == "max_drawdown" and value >= 1:
        raise ValueError(f"value: {value!r} is a fraction of the peak NAV, below 1")
    return RiskLimit(name, float(value), mode, warn, on_breach, scope=scope)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class LimitScope:
    """A configured limit and whom it applies to: every portfolio, a tenant's, or one."""

    limit: RiskLimit
    portfolio: str | None = None
    tenant: str | None = None

    @property
    def rank(self) -> int:
        return 2 if self.portfolio else 1 if self.tenant else 0


def resolve_limits(
    scoped: tuple[LimitScope, ...], portfolio_id: str, tenant: str
) -> dict[str, RiskLimit]:
    """The limits in force for one portfolio: per limit name, the most specific setting."""
    chosen: dict[str, LimitScope] = {}
    for entry in scoped:
        if entry.portfolio not in (None, portfolio_id) or entry.tenant not in (None, tenant):
            continue
        held = chosen.get(entry.limit.name)
        if held is None or entry.rank >= held.rank:
            chosen[entry.limit.name] = entry
    return {name: entry.limit for name, entry in sorted(chosen.items())}


@dataclass(slots=True)
class LimitUsage:
    """One limit's utilisation at a close: ``value`` of the measure, ``value / threshold``."""

    limit: RiskLimit
    value: float
    utilisation: float
    level: Literal["ok", "warning", "breach"]
    detail: str = ""


def level_of(
    utilisation: float, warn_at: float, previous: str = "ok", hysteresis: float = 0.0
) -> Literal["ok", "warning", "breach"]:
    """``breach`` above 1, ``warning`` from ``warn_at``; a level is left only once the
    utilisation is ``hysteresis`` below where it starts, so a measure hovering at a threshold
    does not raise an alert every cycle."""
    if not math.isfinite(utilisation):
        return "ok"
    breach_at = 1.0 - (hysteresis if previous == "breach" else 0.0)
    warn_from = warn_at - (hysteresis if previous in ("warning", "breach") else 0.0)
    if utilisation > breach_at:
        return "breach"
    if utilisation >= warn_from:
        return "warning"
    return "ok"
