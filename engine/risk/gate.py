"""The pre-trade risk gate: every order passes it before it can reach the venue.

For one portfolio's orders of a cycle, the gate applies, in this order:

1. the trading state: HALTED passes nothing; REDUCING passes only the part of an order that
   reduces a position (a sell of at most what is held long, a buy of at most what is short);
2. ``restricted_instruments``: no new exposure (soft: the closing part of an order passes;
   hard: an order adding exposure is rejected whole);
3. ``max_order_notional_usd`` on each order;
4. ``max_position_weight`` on each instrument after its order;
5. ``max_orders_per_cycle``;
6. ``sector_cap``, ``gross_exposure`` and ``net_exposure`` on the holdings after the orders, then
   the portfolio risk budgets (volatility, tracking error, VaR, CVaR), again until no order
   changes (cutting one order can break a limit another kept).

The rule for a limit on a measure of the holdings: after the orders, the measure is within the
threshold, or no higher than before them. So a portfolio already over a limit (after a market
move or a lowered limit) may still trade toward it, never further away. A ``hard`` limit rejects
an order that breaks the rule; a ``soft`` one scales it down to the most that keeps it (whole
shares; an order scaled to nothing is rejected). Orders that reduce a position are looked at first,
then the rest by notional, largest first, so that the gate keeps the trades that matter most.

The measures are those of the holdings after every order passed is filled whole at the decision
price; fills at other prices and partial fills are checked after the trade by monitoring.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple

import numpy as np

from engine.allocation.risk_models import ScenarioRisk
from engine.model import Order, Side
from engine.risk.limits import BUDGET_LIMITS, RiskLimit
from engine.risk.metrics import TRADING_DAYS_PER_YEAR, historical_var_cvar, parametric_var_cvar

# Relative slack for float comparisons of measures (weights are floats; shares are exact).
EPS = 1e-9
SEARCH_STEPS = 30
MAX_PASSES = 8


@dataclass(frozen=True, slots=True, eq=False)
class Book:
    """A portfolio at the decision: ``shares`` held per instrument, ``prices`` (USD per share,
    NaN where there is none), ``nav_usd``, and each instrument's sector as an integer code."""

    nav_usd: float
    shares: np.ndarray
    prices: np.ndarray
    sector_codes: np.ndarray
    sector_names: tuple[str, ...]
    symbols: tuple[str, ...]
    symbol_index: Mapping[str, int]


@dataclass(frozen=True, slots=True, eq=False)
class RiskModel:
    """What the portfolio risk budgets are measured with: the close's ``risk`` view (historical
    daily ``scenarios`` of the instruments in ``columns`` and their covariance);
    ``benchmark`` weights over all instruments for the tracking error."""

    risk: ScenarioRisk
    benchmark: np.ndarray | None = None

    @property
    def columns(self) -> np.ndarray:
        return self.risk.columns

    @property
    def scenarios(self) -> np.ndarray:
        return self.risk.scenarios

    @property
    def covariance(self) -> np.ndarray:
        return self.risk.covariance


def budget_measure(name: str, weights: np.ndarray, model: RiskModel) -> float:
    """The portfolio risk measure ``name`` (engine/risk/limits.py) of ``weights`` (fractions of
    NAV over every instrument)."""
    w = weights[model.columns]
    if name == "tracking_error":
        if model.benchmark is None:
            return float("nan")
        w = w - model.benchmark[model.columns]
    if name in ("volatility", "tracking_error"):
        return float(np.sqrt(max(model.risk.variance(w), 0.0) * TRADING_DAYS_PER_YEAR))
    measure, level, method = name.split("_")
    alpha = int(level) / 100
    if method == "parametric":
        var, cvar = parametric_var_cvar(float(np.sqrt(max(model.risk.variance(w), 0.0))), alpha)
    else:
        var, cvar = historical_var_cvar(model.scenarios @ w, alpha)
    return var if measure == "var" else cvar


class GateDecision(NamedTuple):
    """What the gate did with one order: ``order`` carries the approved quantity (the requested
    one when passed; unchanged when rejected, with ``approved_shares`` 0)."""

    order: Order
    requested_shares: int
    approved_shares: int
    action: Literal["passed", "scaled", "rejected"]
    limit: str | None = None
    value: float | None = None
    threshold: float | None = None
    reason: str = ""

    @property
    def approved(self) -> bool:
        return self.approved_shares > 0


@dataclass(slots=True)
class _Work:
    """The orders being checked, as signed share changes per order (buy +, sell -)."""

    orders: Sequence[Order]
    index: np.ndarray
    requested: np.ndarray
    approved: np.ndarray
    pre: np.ndarray
    price: np.ndarray
    limit: list[str | None]
    value: list[float | None]
    threshold: list[float | None]
    reason: list[str]

    def cut(
        self, k: int, shares: int, limit: str, value: float, threshold: float, why: str
    ) -> None:
        """Lower order ``k`` to ``shares`` (signed, toward zero) because of ``limit``."""
        if abs(shares) >= abs(self.approved[k]):
            return
        self.approved[k] = shares
        if self.limit[k] is None or shares == 0:
            self.limit[k], self.value[k], self.threshold[k], self.reason[k] = (
                limit,
                value,
                threshold,
                why,
            )

    def reducing(self) -> np.ndarray:
        """Orders that only reduce a position (toward, at most to, zero)."""
        return (self.approved * self.pre < 0) & (np.abs(self.approved) <= np.abs(self.pre))


def _toward_zero(x: np.ndarray | float) -> np.ndarray:
    return np.trunc(x).astype(np.int64)


class RiskGate:
    """Checks one portfolio's orders against its limits and trading state."""

    def check(
        self,
        orders: Sequence[Order],
        book: Book,
        limits: Mapping[str, RiskLimit],
        trading_state: str = "ACTIVE",
        model: RiskModel | None = None,
    ) -> list[GateDecision]:
        if not orders:
            return []
        index = np.array([book.symbol_index[o.symbol] for o in orders], dtype=np.int64)
        sign = np.array([1 if o.side is Side.BUY else -1 for o in orders], dtype=np.int64)
        requested = sign * np.array([o.quantity_shares for o in orders], dtype=np.int64)
        n = len(orders)
        work = _Work(
            orders,
            index,
            requested,
            requested.copy(),
            book.shares[index].astype(np.int64),
            np.nan_to_num(book.prices[index].astype(float)),
            [None] * n,
            [None] * n,
            [None] * n,
            [""] * n,
        )
        self._trading_state(work, trading_state)
        self._restricted(work, limits.get("restricted_instruments"))
        self._order_notional(work, limits.get("max_order_notional_usd"))
        self._position_weight(work, book, limits.get("max_position_weight"))
        self._order_count(work, limits.get("max_orders_per_cycle"))
        # Cutting an order can break a limit another order kept (dropping a hedge raises the
        # volatility; dropping a short raises the net): the holdings checks run again until
        # no order changes. Each pass only cuts, so this ends; the last resort is no trade.
        budgets = [limits[name] for name in BUDGET_LIMITS if name in limits] if model else []
        for _ in range(MAX_PASSES):
            before = work.approved.copy()
            self._aggregates(work, book, limits)
            for limit in budgets:
                self._budget(work, book, limit, model)
            if np.array_equal(before, work.approved):
                break
        else:
            for k in np.flatnonzero(work.approved):
                work.cut(k, 0, "gate", 0.0, 0.0, "the limits could not all be kept together")
        requested = np.abs(work.requested).tolist()
        approved = np.abs(work.approved).tolist()
        return [
            GateDecision(order, q, q, "passed") if q == a else self._decision(work, k, q, a)
            for k, (order, q, a) in enumerate(zip(orders, requested, approved, strict=True))
        ]

    # -- the checks ---------------------------------------------------------------------------
    def _trading_state(self, work: _Work, state: str) -> None:
        if state == "HALTED":
            for k in range(len(work.orders)):
                work.cut(k, 0, "trading_state", 0.0, 0.0, "trading is HALTED: no order passes")
        elif state == "REDUCING":
            for k in range(len(work.orders)):
                pre, move = int(work.pre[k]), int(work.approved[k])
                closing = -pre if pre * move < 0 else 0
                if abs(move) > abs(closing):
                    work.cut(
                        k,
                        closing,
                        "trading_state",
                        0.0,
                        0.0,
                        "trading is REDUCING: only the part that reduces the position passes",
                    )

    def _restricted(self, work: _Work, limit: RiskLimit | None) -> None:
        if limit is None:
            return
        restricted = set(limit.symbols)
        for k, order in enumerate(work.orders):
            if order.symbol not in restricted:
                continue
            pre, move = int(work.pre[k]), int(work.approved[k])
            closing = -pre if pre * move < 0 else 0
            if abs(move) > abs(closing):
                keep = closing if limit.mode == "soft" else 0
                work.cut(
                    k,
                    keep,
                    limit.name,
                    1.0,
                    0.0,
                    f"{order.symbol} is restricted: no new exposure",
                )

    def _order_notional(self, work: _Work, limit: RiskLimit | None) -> None:
        if limit is None:
            return
        notional = np.abs(work.approved) * work.price
        for k in np.flatnonzero(notional > limit.value * (1 + EPS)):
            fits = int(limit.value // work.price[k]) if work.price[k] > 0 else 0
            keep = int(np.sign(work.approved[k])) * fits if limit.mode == "soft" else 0
            work.cut(
                k,
                keep,
                limit.name,
                float(notional[k]),
                limit.value,
                f"order notional {notional[k]:,.0f} USD is above {limit.value:,.0f} USD",
            )

    def _position_weight(self, work: _Work, book: Book, limit: RiskLimit | None) -> None:
        if limit is None or book.nav_usd <= 0:
            return
        post = work.pre + work.approved
        weight = np.abs(post) * work.price / book.nav_usd
        worse = np.abs(post) > np.abs(work.pre)
        with np.errstate(divide="ignore", invalid="ignore"):
            cap = np.where(work.price > 0, limit.value * book.nav_usd / work.price, 0.0)
        bound = np.maximum(np.floor(cap * (1 + EPS)), np.abs(work.pre)).astype(np.int64)
        over = np.flatnonzero(worse & (weight > limit.value * (1 + EPS)))
        if limit.mode == "soft":
            keeps = (np.clip(post[over], -bound[over], bound[over]) - work.pre[over]).tolist()
        else:
            keeps = [0] * len(over)
        for k, keep in zip(over.tolist(), keeps, strict=True):
            work.cut(
                k,
                keep,
                limit.name,
                float(weight[k]),
                limit.value,
                f"{work.orders[k].symbol} would be {weight[k]:.2%} of NAV, above {limit.value:.2%}",
            )

    def _aggregates(self, work: _Work, book: Book, limits: Mapping[str, RiskLimit]) -> None:
        """Sector, gross and net limits: orders one by one against the running holdings."""
        active = [
            limits[n] for n in ("sector_cap", "gross_exposure", "net_exposure") if n in limits
        ]
        if not active or book.nav_usd <= 0:
            return
        nav = book.nav_usd
        prices = np.nan_to_num(book.prices.astype(float))
        held = book.shares.astype(float) * prices / nav
        codes = book.sector_codes
        sector = np.bincount(codes, weights=held, minlength=len(book.sector_names))
        gross, net = float(np.abs(held).sum()), float(held.sum())
        order_sector = codes[work.index]
        if self._aggregates_hold(work, active, sector, gross, net, order_sector, nav):
            return
        running = {int(i): float(p) for i, p in zip(work.index, work.pre, strict=True)}
        for k in self._priority(work):
            move = int(work.approved[k])
            if move == 0:
                continue
            i, s = int(work.index[k]), int(order_sector[k])
            state = _Aggregates(sector[s], gross, net, running[i], float(work.price[k]) / nav)
            failed = self._first_failure(active, state.after(move), state.now)
            if failed is not None:
                limit, value = failed
                keep = 0
                if limit.mode == "soft":
                    keep = self._largest(
                        move,
                        lambda q, state=state: (
                            self._first_failure(active, state.after(q), state.now) is None
                        ),
                    )
                work.cut(
                    k,
                    keep,
                    limit.name,
                    value,
                    limit.value,
                    f"{limit.kind.description} would be {value:.2%} of NAV, "
                    f"above {limit.value:.2%}"
                    + (f" ({book.sector_names[s]})" if limit.name == "sector_cap" else ""),
                )
            q = int(work.approved[k])
            sector[s], gross, net = state.after(q)
            running[i] += q

    @staticmethod
    def _aggregates_hold(
        work: _Work,
        active: list[RiskLimit],
        sector: np.ndarray,
        gross: float,
        net: float,
        order_sector: np.ndarray,
        nav: float,
    ) -> bool:
        """Whether every order can pass as it is: the holdings after all of them keep the rule
        for each sector, gross and net (the common case, checked without a loop)."""
        dw = work.approved * work.price / nav
        sector_after = sector + np.bincount(order_sector, weights=dw, minlength=len(sector))
        gross_after = gross + float(
            ((np.abs(work.pre + work.approved) - np.abs(work.pre)) * work.price).sum() / nav
        )
        net_after = net + float(dw.sum())
        for limit in active:
            if limit.name == "sector_cap":
                moved = np.unique(order_sector)
                bad = _breaks(np.abs(sector_after[moved]), np.abs(sector[moved]), limit.value)
                if bad.any():
                    return False
            elif limit.name == "gross_exposure":
                if _breaks(np.array([gross_after]), np.array([gross]), limit.value).any():
                    return False
            elif _breaks(np.array([abs(net_after)]), np.array([abs(net)]), limit.value).any():
                return False
        return True

    @staticmethod
    def _first_failure(
        active: list[RiskLimit],
        after: tuple[float, float, float],
        before: tuple[float, float, float],
    ) -> tuple[RiskLimit, float] | None:
        for limit in active:
            slot = {"sector_cap": 0, "gross_exposure": 1, "net_exposure": 2}[limit.name]
            new, old = abs(after[slot]), abs(before[slot])
            if new > limit.value * (1 + EPS) and new > old * (1 + EPS) + EPS:
                return limit, new
        return None

    def _budget(self, work: _Work, book: Book, limit: RiskLimit, model: RiskModel) -> None:
        """A portfolio risk budget: the increasing orders scaled by one common fraction (soft)
        or rejected (hard) until the measure keeps the rule; if even without them it does not
        (a hedge being closed), the reducing orders are scaled the same way."""
        if book.nav_usd <= 0:
            return
        prices = np.nan_to_num(book.prices.astype(float))
        base = book.shares.astype(float) * prices / book.nav_usd

        def measure(moves: np.ndarray) -> float:
            weights = base.copy()
            weights[work.index] += moves * work.price / book.nav_usd
            return budget_measure(limit.name, weights, model)

        before = budget_measure(limit.name, base, model)
        if not np.isfinite(before):
            return
        bound = max(limit.value, before) * (1 + EPS) + EPS

        def keeps(moves: np.ndarray) -> bool:
            return measure(moves) <= bound

        value = measure(work.approved)
        if value <= bound:
            return
        reducing = work.reducing()
        for scaled in (~reducing, np.ones(len(reducing), dtype=bool)):
            fixed = np.where(scaled, 0, work.approved)
            if not keeps(fixed):
                continue
            t = 0.0
            if limit.mode == "soft":
                t = _largest_fraction(
                    lambda f, fixed=fixed, scaled=scaled: keeps(
                        fixed + np.where(scaled, _toward_zero(work.approved * f), 0)
                    )
                )
            target = fixed + np.where(scaled, _toward_zero(work.approved * t), 0)
            for k in np.flatnonzero(target != work.approved):
                work.cut(
                    k,
                    int(target[k]),
                    limit.name,
                    value,
                    limit.value,
                    f"{limit.kind.description} would be {value:.2%}, above {limit.value:.2%}",
                )
            return

    def _order_count(self, work: _Work, limit: RiskLimit | None) -> None:
        if limit is None:
            return
        allowed = int(limit.value)
        moving = (work.approved != 0).tolist()
        live = [k for k in self._priority(work) if moving[k]]
        for k in live[allowed:]:
            work.cut(
                k,
                0,
                limit.name,
                float(len(live)),
                limit.value,
                f"{len(live)} orders this cycle, at most {allowed} may be sent",
            )

    # -- helpers ------------------------------------------------------------------------------
    @staticmethod
    def _priority(work: _Work) -> list[int]:
        """Reducing orders first, then by notional, largest first (ties: as given)."""
        order = np.lexsort((-np.abs(work.approved) * work.price, ~work.reducing()))
        return order.tolist()

    @staticmethod
    def _largest(move: int, fits) -> int:
        """The largest ``q`` between 0 and ``move`` (same sign) with ``fits(q)``; 0 fits."""
        lo, hi = 0, abs(move)
        step = 1 if move > 0 else -1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if fits(step * mid):
                lo = mid
            else:
                hi = mid - 1
        return step * lo

    @staticmethod
    def _decision(work: _Work, k: int, requested: int, approved: int) -> GateDecision:
        order = work.orders[k]
        action: Literal["scaled", "rejected"] = "scaled" if approved else "rejected"
        return GateDecision(
            order._replace(quantity_shares=approved) if approved else order,
            requested,
            approved,
            action,
            work.limit[k],
            work.value[k],
            work.threshold[k],
            work.reason[k],
        )


@dataclass(frozen=True, slots=True)
class _Aggregates:
    """The order's sector, gross and net exposure before it, its instrument's position (shares)
    and the weight of one share."""

    sector: float
    gross: float
    net: float
    position: float
    share_weight: float

    @property
    def now(self) -> tuple[float, float, float]:
        return self.sector, self.gross, self.net

    def after(self, q: int) -> tuple[float, float, float]:
        dw = q * self.share_weight
        dg = (abs(self.position + q) - abs(self.position)) * self.share_weight
        return self.sector + dw, self.gross + dg, self.net + dw


def _breaks(after: np.ndarray, before: np.ndarray, threshold: float) -> np.ndarray:
    return (after > threshold * (1 + EPS)) & (after > before * (1 + EPS) + EPS)


def _largest_fraction(fits) -> float:
    """The largest ``f`` in [0, 1] with ``fits(f)`` by bisection; ``fits(0)`` holds."""
    if fits(1.0):
        return 1.0
    lo, hi = 0.0, 1.0
    for _ in range(SEARCH_STEPS):
        mid = (lo + hi) / 2
        if fits(mid):
            lo = mid
        else:
            hi = mid
    return lo
