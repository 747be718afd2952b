"""Whole-share rounding of target weights that keeps the mandate's limits.

An optimiser's weights are fractions of NAV; orders are whole shares. Flooring every name keeps a
long-only book's caps but can break others (a short rounded toward zero raises the net exposure;
a sale rounded down leaves more turnover than allowed), and it leaves cash idle. ``round_to_shares``
works in three steps, each name between the two whole-share neighbours of its exact target:

1. **Start** at each exact share count truncated toward zero. Names whose trade is smaller than
   the minimum trade size stay where they are (no churn on rounding noise), unless the holding
   breaks a per-name bound or the target closes the position.
2. **Repair**: while an upper limit is broken (per-name bounds, net exposure ceiling, sector caps,
   gross exposure, turnover), pick the one-share move (any name, either way) that reduces the total
   breach the most without worsening any limit, and take it as many shares at once as keep
   helping (a skipped small trade can leave a breach many shares deep). When no such move is left,
   HiGHS's integer program finds the nearest whole-share book that keeps every limit, or says
   that none exists.
3. **Fill**: names still short of their target move toward it (as far as its far whole-share
   neighbour), largest remainder first, as many shares as keep every limit; this takes up the
   cash the truncation left.

The result keeps every upper limit that the fractional weights kept (tests check this on random
problems); lower limits (a positive net floor, the budget) are met as far as whole shares allow:
no name can take one more share toward its target without breaking a limit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

_TOLERANCE = 1e-12
# The integer program is a last resort; past this it answers with the best book it has found.
MILP_SECONDS = 2.0
MILP_MARGIN = 0.005


@dataclass(frozen=True, slots=True, eq=False)
class ShareLimits:
    """The limits rounding must keep, over every instrument of the universe (weights of NAV).

    ``sector_codes`` gives each instrument's capped-sector index (``-1``: no cap) into
    ``sector_caps`` (the most net weight per sector); ``turnover_counted`` marks the instruments a
    ``max_turnover`` counts (``sum |w - current|`` over them).
    """

    min_weight: float = 0.0
    max_weight: float = 1.0
    max_net: float = 1.0
    max_gross: float | None = None
    sector_codes: np.ndarray | None = None
    sector_caps: np.ndarray | None = None
    max_turnover: float | None = None
    turnover_counted: np.ndarray | None = None
    min_trade_weight: float = 0.0
    sector_names: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, eq=False)
class RoundedTarget:
    shares: np.ndarray  # int64, per instrument
    weights: np.ndarray  # shares x price / NAV
    cash_weight: float  # 1 - sum(weights)
    breaches: dict[str, float]  # any upper limit still broken (empty unless infeasible)


class _Book:
    """The aggregates the limits look at, updated one share at a time."""

    def __init__(
        self, weights: np.ndarray, current: np.ndarray, limits: ShareLimits, n: int
    ) -> None:
        self.limits = limits
        self.current = current
        self.codes = (
            limits.sector_codes
            if limits.sector_codes is not None and limits.sector_caps is not None
            else np.full(n, -1)
        )
        self.caps = limits.sector_caps if limits.sector_caps is not None else np.zeros(0)
        self.counted = (
            limits.turnover_counted
            if limits.turnover_counted is not None
            else np.ones(n, dtype=bool)
        )
        self.weights = weights.copy()
        self.net = float(weights.sum())
        self.gross = float(np.abs(weights).sum())
        self.sectors = np.array(
            [weights[self.codes == k].sum() for k in range(len(self.caps))], dtype=float
        )
        self.turnover = float(np.abs(weights - current)[self.counted].sum())

    def breaches(self) -> dict[str, float]:
        limits, w = self.limits, self.weights
        found = {
            "max_weight": float(np.clip(w - limits.max_weight, 0, None).sum()),
            "min_weight": float(np.clip(min(limits.min_weight, 0.0) - w, 0, None).sum()),
            "net_exposure": max(self.net - limits.max_net, 0.0),
            "sector_caps": float(np.clip(self.sectors - self.caps, 0, None).sum()),
        }
        if limits.max_gross is not None:
            found["gross_exposure"] = max(self.gross - limits.max_gross, 0.0)
        if limits.max_turnover is not None:
            found["max_turnover"] = max(self.turnover - limits.max_turnover, 0.0)
        return {name: value for name, value in found.items() if value > _TOLERANCE}

    def breach_after(self, step: np.ndarray) -> dict[str, np.ndarray]:
        """Each limit's breach after moving each instrument ``i`` alone by ``step[i]`` (weight)."""
        limits, w = self.limits, self.weights
        moved = w + step
        low = min(limits.min_weight, 0.0)
        n = len(w)
        after: dict[str, np.ndarray] = {}
        for name, before_i, after_i in (
            ("max_weight", w - limits.max_weight, moved - limits.max_weight),
            ("min_weight", low - w, low - moved),
        ):
            before_i, after_i = np.clip(before_i, 0, None), np.clip(after_i, 0, None)
            after[name] = float(before_i.sum()) - before_i + after_i
        after["net_exposure"] = np.clip(self.net + step - limits.max_net, 0, None)
        sector_over = np.clip(self.sectors - self.caps, 0, None)
        sector = np.full(n, float(sector_over.sum()))
        capped = self.codes >= 0
        if capped.any():
            code = self.codes[capped]
            moved_sector = np.clip(self.sectors[code] + step[capped] - self.caps[code], 0, None)
            sector[capped] += moved_sector - sector_over[code]
        after["sector_caps"] = sector
        if limits.max_gross is not None:
            gross = self.gross - np.abs(w) + np.abs(moved)
            after["gross_exposure"] = np.clip(gross - limits.max_gross, 0, None)
        if limits.max_turnover is not None:
            change = np.abs(moved - self.current) - np.abs(w - self.current)
            turnover = self.turnover + np.where(self.counted, change, 0.0)
            after["max_turnover"] = np.clip(turnover - limits.max_turnover, 0, None)
        return after

    def fits(self, i: int, step: float) -> bool:
        """Whether moving instrument ``i`` alone by ``step`` keeps every upper limit."""
        limits = self.limits
        new = self.weights[i] + step
        if new > limits.max_weight + _TOLERANCE or new < min(limits.min_weight, 0.0) - _TOLERANCE:
            return False
        if self.net + step > limits.max_net + _TOLERANCE:
            return False
        code = self.codes[i]
        if code >= 0 and self.sectors[code] + step > self.caps[code] + _TOLERANCE:
            return False
        old = self.weights[i]
        gross = self.gross + abs(new) - abs(old)
        if limits.max_gross is not None and gross > limits.max_gross + _TOLERANCE:
            return False
        if limits.max_turnover is not None and self.counted[i]:
            change = abs(new - self.current[i]) - abs(old - self.current[i])
            if self.turnover + change > limits.max_turnover + _TOLERANCE:
                return False
        return True

    def move(self, i: int, step: float) -> None:
        old = self.weights[i]
        new = old + step
        self.weights[i] = new
        self.net += step
        self.gross += abs(new) - abs(old)
        if self.codes[i] >= 0:
            self.sectors[self.codes[i]] += step
        if self.counted[i]:
            self.turnover += abs(new - self.current[i]) - abs(old - self.current[i])


def round_to_shares(
    target: np.ndarray,
    nav_usd: float,
    prices: np.ndarray,
    held_shares: np.ndarray,
    limits: ShareLimits,
) -> RoundedTarget:
    """Whole shares near ``target`` (weights of NAV) at ``prices`` (USD/share), keeping ``limits``.

    Instruments without a positive finite price keep ``held_shares``. ``nav_usd`` must be positive.
    """
    if not nav_usd > 0:
        raise ValueError(f"nav_usd: {nav_usd} must be positive to size whole shares")
    n = len(target)
    held = np.asarray(held_shares, dtype=np.int64)
    tradable = np.isfinite(prices) & (prices > 0)
    unit = np.where(tradable, prices, 0.0) / nav_usd  # weight of one share
    exact = np.where(tradable, target / np.where(tradable, unit, 1.0), held)
    # A solver's 3.9999999996 shares is 4, not 3.
    nearest = np.round(exact)
    shares = np.where(np.abs(exact - nearest) < 1e-6, nearest, np.trunc(exact)).astype(np.int64)
    current = held * unit

    # Small trades are skipped, unless the holding breaks a per-name bound or is being closed.
    trade_weight = np.abs(exact - held) * unit
    held_weight = held * unit
    breaks_bound = (held_weight > limits.max_weight + _TOLERANCE) | (
        held_weight < min(limits.min_weight, 0.0) - _TOLERANCE
    )
    closing = (target == 0) & (held != 0)
    frozen = ~tradable | (
        (trade_weight < limits.min_trade_weight) & ~breaks_bound & ~closing & (held != shares)
    )
    shares[frozen] = held[frozen]
    movable = ~frozen

    book = _Book(shares * unit, current, limits, n)
    unit_safe = np.where(movable, unit, 0.0)
    for _ in range(4 * n + 16):
        before = book.breaches()
        if not before:
            break
        best = _repair_step(book, before, unit_safe, movable, exact - shares)
        if best is None:
            break
        i, direction = best
        # A breach can be many shares deep (a skipped small trade leaves the net above its
        # ceiling): take the largest doubling of the step that still helps, not one share.
        count = 1
        while _helps(book, before, i, direction * 2 * count * unit[i]):
            count *= 2
        shares[i] += direction * count
        book.move(i, direction * count * unit[i])

    if book.breaches():
        # The one-share steps found no way out (several limits binding at once on a few large
        # shares): solve the small integer program instead, which also says when none exists.
        solved = _integer_program(target, unit, held, movable, current, limits)
        if solved is not None:
            shares = solved
            book = _Book(shares * unit, current, limits, n)

    moved = not book.breaches()
    direction_of = np.where(exact > 0, 1, -1)
    while moved:  # a share taken back by one name can make room for another: pass again
        moved = False
        remainder = exact - shares
        # Only toward the target and away from zero: a name never moves back and forth. A
        # pass moves each name once, so which names can move is known at its start.
        toward = direction_of * remainder
        order = np.argsort(-np.abs(remainder), kind="stable")
        for i in order[movable[order] & (toward[order] >= _TOLERANCE)].tolist():
            direction = int(direction_of[i])
            # As many shares as fit, up to the far whole-share neighbour of the target: the
            # limits are convex, so if k shares fit, fewer do too.
            room = int(np.ceil(toward[i] - 1e-9))
            low, high = 0, room
            while low < high:
                middle = (low + high + 1) // 2
                if book.fits(i, direction * middle * unit[i]):
                    low = middle
                else:
                    high = middle - 1
            if low:
                shares[i] += direction * low
                book.move(i, direction * low * unit[i])
                moved = True

    weights = shares * unit
    return RoundedTarget(shares, weights, 1.0 - float(weights.sum()), book.breaches())


def hold_back(
    shares: np.ndarray,
    held_shares: np.ndarray,
    unit: np.ndarray,
    limits: ShareLimits,
    order: np.ndarray,
) -> tuple[np.ndarray, list[int]]:
    """``shares`` (a whole-share target within ``limits``) with the trades of the names in
    ``order`` left undone, each in turn, where the book keeps every upper limit without it;
    ``unit`` is the weight of one share. The shares, and the names held back."""
    shares = np.array(shares, dtype=np.int64)
    held = np.asarray(held_shares, dtype=np.int64)
    book = _Book(shares * unit, held * unit, limits, len(shares))
    kept = []
    for i in order.tolist():
        step = int(held[i] - shares[i])
        if step and book.fits(i, step * unit[i]):
            shares[i] = held[i]
            book.move(i, step * unit[i])
            kept.append(i)
    return shares, kept


def _helps(book: _Book, before: dict[str, float], i: int, step: float) -> bool:
    """Whether moving instrument ``i`` by ``step`` lowers the total breach, worsening no limit."""
    move = np.zeros(len(book.weights))
    move[i] = step
    after = {name: float(values[i]) for name, values in book.breach_after(move).items()}
    if any(value > before.get(name, 0.0) + _TOLERANCE for name, value in after.items()):
        return False
    return sum(after.values()) < sum(before.values()) - _TOLERANCE


def _repair_step(
    book: _Book,
    before: dict[str, float],
    unit: np.ndarray,
    movable: np.ndarray,
    remainder: np.ndarray,
) -> tuple[int, int] | None:
    """The one-share move that most reduces the total breach without worsening any limit (ties:
    the move toward the target), or None."""
    total_before = sum(before.values())
    best: tuple[float, float, int, int] | None = None
    for direction in (1, -1):
        after = book.breach_after(direction * unit)
        allowed = movable.copy()
        for name, values in after.items():
            allowed &= values <= before.get(name, 0.0) + _TOLERANCE
        total = sum(after.values())
        total[~allowed] = np.inf
        distance = np.abs(remainder - direction)
        i = int(np.lexsort((distance, total))[0])
        if total[i] < total_before - _TOLERANCE:
            candidate = (float(total[i]), float(distance[i]), i, direction)
            if best is None or candidate[:2] < best[:2]:
                best = candidate
    return None if best is None else (best[2], best[3])


def _integer_program(
    target: np.ndarray,
    unit: np.ndarray,
    held: np.ndarray,
    movable: np.ndarray,
    current: np.ndarray,
    limits: ShareLimits,
) -> np.ndarray | None:
    """Whole shares nearest ``target`` (least ``sum |w - target|``) within every upper limit, by
    HiGHS's mixed-integer solver; None when no whole-share book keeps them all."""
    n = len(target)
    low_weight = min(limits.min_weight, 0.0)
    safe = np.where(unit > 0, unit, 1.0)
    # Each name stays near the span from its holding to its target: within MILP_MARGIN of NAV
    # (and two shares) beyond it, so the search is small but can trade one name against another.
    exact = target / safe
    margin = np.maximum(np.ceil(MILP_MARGIN / safe), 2)
    near_low = np.minimum(np.floor(exact), held) - margin
    near_high = np.maximum(np.ceil(exact), held) + margin
    share_low = np.where(movable, np.maximum(np.ceil(low_weight / safe - 1e-9), near_low), held)
    share_high = np.where(
        movable, np.minimum(np.floor(limits.max_weight / safe + 1e-9), near_high), held
    )
    if np.any(share_low > share_high):
        return None
    # Variables: shares s, then |w - target| d, |w| g and |w - current| t, n each; sparse rows.
    cost = np.concatenate([np.zeros(n), np.ones(n), np.zeros(2 * n)])
    eye = sparse.identity(n, format="csr")
    zero = sparse.csr_array((n, n))
    weight = sparse.diags_array(unit, format="csr")
    rows: list[sparse.csr_array] = []
    upper: list[np.ndarray] = []
    for block, centre in ((1, target), (2, np.zeros(n)), (3, current)):
        aux = [zero, zero, zero]
        aux[block - 1] = eye
        rows.append(sparse.hstack([weight, *(-a for a in aux)]))  # w - x <= aux
        upper.append(centre)
        rows.append(sparse.hstack([-weight, *(-a for a in aux)]))  # x - w <= aux
        upper.append(-centre)

    def row(values: np.ndarray, block: int, bound: float) -> None:
        dense = np.zeros(4 * n)
        dense[block * n : (block + 1) * n] = values
        rows.append(sparse.csr_array(dense.reshape(1, -1)))
        upper.append(np.array([bound]))

    row(unit, 0, limits.max_net)
    if limits.sector_codes is not None and limits.sector_caps is not None:
        for k, cap in enumerate(limits.sector_caps):
            row(np.where(limits.sector_codes == k, unit, 0.0), 0, float(cap))
    if limits.max_gross is not None:
        row(np.ones(n), 2, limits.max_gross)
    if limits.max_turnover is not None:
        counted = (
            limits.turnover_counted
            if limits.turnover_counted is not None
            else np.ones(n, dtype=bool)
        )
        row(counted.astype(float), 3, limits.max_turnover)
    result = milp(
        cost,
        constraints=LinearConstraint(
            sparse.vstack(rows, format="csr"), -np.inf, np.concatenate(upper)
        ),
        integrality=np.concatenate([np.ones(n), np.zeros(3 * n)]),
        options={"time_limit": MILP_SECONDS, "disp": False},
        bounds=Bounds(
            np.concatenate([share_low, np.zeros(3 * n)]),
            np.concatenate([share_high, np.full(3 * n, np.inf)]),
        ),
    )
    if result.x is None:  # infeasible, or no whole-share book found in the time allowed
        return None
    return np.round(result.x[:n]).astype(np.int64)


# An aggregate limit within this much of NAV is reported as binding.
BINDING_MARGIN = 0.0025


def binding_limits(
    weights: np.ndarray,
    unit: np.ndarray,
    current: np.ndarray,
    limits: ShareLimits,
    symbols: tuple[str, ...],
    names_shown: int = 5,
) -> tuple[str, ...]:
    """The limits a whole-share book is at: a per-name bound one more share would break, or an
    aggregate within ``BINDING_MARGIN`` of NAV of its limit; e.g. ``max_weight: AAPL, MSFT``."""
    found = []

    def named(label: str, mask: np.ndarray) -> None:
        hits = [symbols[i] for i in np.flatnonzero(mask)]
        if hits:
            more = f" and {len(hits) - names_shown} more" if len(hits) > names_shown else ""
            found.append(f"{label}: {', '.join(hits[:names_shown])}{more}")

    named("max_weight", (weights > 0) & (weights + unit > limits.max_weight + _TOLERANCE))
    if limits.min_weight < 0:
        named("max_short_weight", (weights < 0) & (weights - unit < limits.min_weight - _TOLERANCE))
    net = float(weights.sum())
    if net >= limits.max_net - BINDING_MARGIN:
        found.append(f"net exposure (cash buffer): {net:.2%} of at most {limits.max_net:.2%}")
    if limits.sector_codes is not None and limits.sector_caps is not None:
        for k, cap in enumerate(limits.sector_caps):
            total = float(weights[limits.sector_codes == k].sum())
            if total >= cap - BINDING_MARGIN:
                name = limits.sector_names[k] if k < len(limits.sector_names) else str(k)
                found.append(f"sector cap {name}: {total:.2%} of at most {cap:.2%}")
    gross = float(np.abs(weights).sum())
    if limits.max_gross is not None and gross >= limits.max_gross - BINDING_MARGIN:
        found.append(f"gross exposure: {gross:.2%} of at most {limits.max_gross:.2%}")
    if limits.max_turnover is not None:
        counted = (
            limits.turnover_counted
            if limits.turnover_counted is not None
            else np.ones(len(weights), dtype=bool)
        )
        turnover = float(np.abs(weights - current)[counted].sum())
        if turnover >= limits.max_turnover - BINDING_MARGIN:
            found.append(f"max_turnover: {turnover:.2%} of at most {limits.max_turnover:.2%}")
    return tuple(found)
