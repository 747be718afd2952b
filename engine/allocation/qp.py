"""The quadratic sizing models as a plain QP, solved by PIQP directly, and the solver choice.

The mean-variance and minimum-variance problems (optimisers.py) are QPs. cvxpy turns them into a
conic problem and, for every solve, builds a new solver object (5 ms at 500 names); Clarabel then
takes about 19 ms at the 1e-12 tolerances the weights need. Written out as
``min 1/2 x' P x + c' x`` subject to ``A x = b``, ``h_l <= G x <= h_u`` and ``x_l <= x <= x_u``
the same problem takes PIQP (a proximal interior point QP solver) a few milliseconds, within
1e-6 of Clarabel's answer (``pcoord bench-allocation`` measures both).

The variables are ``x = [w, y, t, g]``: the weights ``w``; with a factor risk model the ``k``
factor exposures ``y = L' w`` (so ``P`` is diagonal: ``2 s^2`` on ``w``, ``2`` on ``y``); with a
dense covariance no ``y`` and ``P = 2 Sigma`` (PIQP's dense solver when there are no auxiliary
variables, see ``QuadraticProblem.dense_solver``). ``t >= |w - current|`` only under a turnover
limit and ``g >= |w|`` only under a gross limit: a family that cannot bind is left out rather
than given a loose value. Under exactly one of those limits the problem is instead solved for
as a move ``w = c + u - v`` from a centre (``QuadraticProblem.centre``), the limit one row.
``gamma`` (risk aversion, times the scale optimisers.py gives the objective so that the risk
term's diagonal is about 1) is already folded into ``L``, ``s`` and ``Sigma``.

Determinism: a new PIQP solver is set up for every solve (about 0.5 ms at 500 names, 2 ms at
2,000). Updating a kept solver in place with ``update`` would save that, but its answers then
differ in the last bits from a new solver's, depending on what it solved before (measured, and
checked by tests/unit/test_allocation_solvers.py): a restarted engine would not decide exactly
as one that ran on. Nothing is carried from one solve to the next (no warm start).
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

if TYPE_CHECKING:  # optimisers.py imports this module
    from engine.allocation.optimisers import Bounds, Limits, RiskFactor

SOLVERS = ("piqp", "clarabel")
# PIQP's defaults (1e-8 / 1e-9) leave weights good to about 3e-5 at 2,000 names; at 1e-12 they
# agree with Clarabel at 1e-12 to about 1e-7, for two or three iterations more.
PIQP_TOLERANCE = 1e-12
PIQP_MAX_ITER = 250
# A problem solved as a move from its centre (``QuadraticProblem.centre``) takes 13 to 16
# iterations at 500 names; one still unsolved after this many is solved in the other form.
MOVE_MAX_ITER = 40
# Under a turnover limit, the move form up to this many names (at 1,000: 13 to 26 iterations).
MOVE_TURNOVER_MAX_NAMES = 1000
# The move form from this many names (it pays from about 150).
MOVE_MIN_NAMES = 150
# An answer this far outside its bounds or exposure limits is treated as inaccurate.
FEASIBILITY_SLACK = 1e-7


@dataclass(frozen=True, slots=True)
class SolverChoice:
    """Which solver sizes the quadratic models: ``piqp`` (on the QP directly, Clarabel as the
    fallback when it fails or is inaccurate) or ``clarabel`` (through cvxpy, no fallback).
    ``piqp_max_iter`` bounds PIQP's iterations (a limit of 1 makes it fail, to exercise the
    fallback)."""

    solver: str = "piqp"
    piqp_max_iter: int = PIQP_MAX_ITER

    def __post_init__(self) -> None:
        if self.solver not in SOLVERS:
            raise ValueError(f"solver: {self.solver!r} is not one of {', '.join(SOLVERS)}")
        if self.piqp_max_iter < 1:
            raise ValueError(f"piqp_max_iter: {self.piqp_max_iter} must be at least 1")


@dataclass(frozen=True, slots=True)
class SolvedBy:
    """Which solver answered, and why the fallback was used when it was."""

    solver: str
    fallback_reason: str | None = None


class QpFailed(Exception):
    """PIQP gave no answer good enough to use; the message says why."""


@dataclass(frozen=True, slots=True, eq=False)
class QuadraticProblem:
    """``maximise mu' w - (||L' w||^2 + ||s * w||^2)`` (or ``- w' Sigma w``) with the limits.

    ``loadings`` and ``specific_sd`` (factor form) or ``covariance`` (dense form) already carry
    the risk aversion. ``sector_rows`` (sectors x names, 0/1) with ``sector_caps``; ``turnover``
    with ``current`` only when a turnover limit applies; ``gross`` only when a gross limit does.
    """

    mu: np.ndarray
    net: tuple[float, float]
    low: float
    high: float
    loadings: np.ndarray | None = None
    specific_sd: np.ndarray | None = None
    covariance: np.ndarray | None = None
    sector_rows: np.ndarray | None = None
    sector_caps: np.ndarray | None = None
    current: np.ndarray | None = None
    turnover: float | None = None
    gross: float | None = None

    @property
    def dense_solver(self) -> bool:
        """PIQP's dense solver for a dense covariance over the weights alone: at 500 names 24 ms
        against 200-260 for the sparse one. With a turnover or gross limit's auxiliary
        variables the dense system doubles and the sparse solver is faster (400 ms against
        740 under a turnover limit; Clarabel 420)."""
        return self.covariance is not None and self.turnover is None and self.gross is None

    @property
    def centre(self) -> np.ndarray | None:
        """``c`` when the weights are solved for as a move from it, ``w = c + u - v`` with
        ``u, v >= 0`` and ``sum(u + v) <= limit``: in factor form under exactly one of the
        turnover limit (``c``: today's weights) and the gross limit (``c = 0``). ``|w - c|``
        then needs no auxiliary variables and one row instead of 2n + 1: at 500 names PIQP
        takes 3.3 ms rather than 7.4, the weights within 2e-9. Under both limits, and with a
        dense covariance, the auxiliary variables stay: a move split for one limit beside the
        other's rows was slower (11 ms), and it would repeat a dense block four times. Nor
        under a turnover limit past ``MOVE_TURNOVER_MAX_NAMES``: at 2,000 names three of ten
        such problems (``pcoord bench-allocation``) stopped at a precision floor, the duality
        gap at 2.5e-12, short of the tolerance (``MOVE_MAX_ITER`` guards any other). Nor
        below ``MOVE_MIN_NAMES``, where its doubled factor rows cost more than the rows it saves
        (at 100 names 1.64 ms a solve against 1.48, at 200 2.05 against 2.25)."""
        n = len(self.mu)
        if self.covariance is not None or (self.turnover is None) == (self.gross is None):
            return None
        if n < MOVE_MIN_NAMES:
            return None
        if self.turnover is None:
            return np.zeros(n)
        if n > MOVE_TURNOVER_MAX_NAMES:
            return None
        return np.asarray(self.current, dtype=float)

    @property
    def structure(self) -> tuple[int, int, int, bool, bool]:
        """What fixes the matrices' shapes: names, factors (0: dense), sectors, whether a
        turnover and a gross limit are present."""
        n = len(self.mu)
        factors = 0 if self.covariance is not None else np.shape(self.loadings)[1]
        sectors = 0 if self.sector_rows is None else len(self.sector_rows)
        return n, factors, sectors, self.turnover is not None, self.gross is not None


def _coo(
    rows: list[np.ndarray], cols: list[np.ndarray], vals: list[np.ndarray], shape: tuple[int, int]
) -> sp.csc_matrix:
    matrix = sp.csc_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=shape
    )
    # Zeros dropped: kept, the sector rows' zeros (the names outside each sector) tripled PIQP's
    # time at 500 names; the solver is set up for each solve, so the pattern may vary.
    matrix.eliminate_zeros()
    return matrix


def _dense_block(block: np.ndarray, row0: int, col0: int) -> tuple[np.ndarray, ...]:
    r, c = block.shape
    rows, cols = np.meshgrid(np.arange(r), np.arange(c), indexing="ij")
    return (rows.ravel() + row0, cols.ravel() + col0, block.ravel().astype(float))


def qp_matrices(problem: QuadraticProblem, centre: np.ndarray | None) -> dict[str, object]:
    """``P, c, A, b, G, h_l, h_u, x_l, x_u`` of the problem (PIQP's names), as keyword
    arguments for ``setup``: dense arrays when ``problem.dense_solver``, else sparse matrices.
    ``centre``: as a move from it (``problem.centre``); None: with the auxiliary variables."""
    if centre is not None:
        return _move_matrices(problem, centre)
    n, k, sectors, with_turnover, with_gross = problem.structure
    t0 = n + k  # first turnover variable
    g0 = t0 + (n if with_turnover else 0)  # first gross variable
    size = g0 + (n if with_gross else 0)
    names = np.arange(n)
    dense = problem.dense_solver
    P: np.ndarray | sp.csc_matrix
    if problem.covariance is not None:
        covariance = np.asarray(problem.covariance, dtype=float)
        if dense:
            P = np.zeros((size, size))
            P[:n, :n] = covariance + covariance.T  # 2 Sigma, symmetric
        else:  # the sparse solver reads the upper triangle
            upper = np.triu_indices(n)
            P = _coo([upper[0]], [upper[1]], [(covariance + covariance.T)[upper]], (size, size))
    else:
        specific = np.asarray(problem.specific_sd, dtype=float)
        diagonal = np.arange(n + k)
        P = _coo(
            [diagonal],
            [diagonal],
            [np.concatenate([2.0 * specific**2, np.full(k, 2.0)])],
            (size, size),
        )
    c = np.zeros(size)
    c[:n] = -np.asarray(problem.mu, dtype=float)
    A, b = None, None
    if k:
        # y - L' w = 0, one row per factor.
        rows, cols, vals = _dense_block(-np.asarray(problem.loadings, dtype=float).T, 0, 0)
        A = _coo([rows, np.arange(k)], [cols, np.arange(n, n + k)], [vals, np.ones(k)], (k, size))
        b = np.zeros(k)
    g_rows = [np.zeros(n, dtype=int)]
    g_cols = [names]
    g_vals = [np.ones(n)]
    low = [problem.net[0]]
    high = [problem.net[1]]
    row = 1
    if sectors:
        rows, cols, vals = _dense_block(np.asarray(problem.sector_rows), row, 0)
        g_rows.append(rows)
        g_cols.append(cols)
        g_vals.append(vals)
        low.extend([-np.inf] * sectors)
        high.extend(np.asarray(problem.sector_caps, dtype=float))
        row += sectors
    for present, first, centre, limit in (
        (with_turnover, t0, problem.current, problem.turnover),
        (with_gross, g0, None, problem.gross),
    ):
        if not present:
            continue
        # w - a <= centre and w + a >= centre (a >= |w - centre|), then sum(a) <= limit.
        centre = np.zeros(n) if centre is None else np.asarray(centre, dtype=float)
        aux = np.arange(first, first + n)
        g_rows += [row + names, row + names, row + n + names, row + n + names]
        g_cols += [names, aux, names, aux]
        g_vals += [np.ones(n), -np.ones(n), np.ones(n), np.ones(n)]
        g_rows.append(np.full(n, row + 2 * n))
        g_cols.append(aux)
        g_vals.append(np.ones(n))
        low.extend(np.concatenate([np.full(n, -np.inf), centre, [-np.inf]]))
        high.extend(np.concatenate([centre, np.full(n, np.inf), [float(limit or 0.0)]]))
        row += 2 * n + 1
    G = _coo(g_rows, g_cols, g_vals, (row, size))
    x_l = np.concatenate([np.full(n, problem.low), np.full(k, -np.inf), np.zeros(size - t0)])
    x_u = np.concatenate([np.full(n, problem.high), np.full(size - n, np.inf)])
    return {
        "P": P,
        "c": c,
        "A": A,
        "b": b,
        "G": G.toarray() if dense else G,
        "h_l": np.asarray(low, dtype=float),
        "h_u": np.asarray(high, dtype=float),
        "x_l": x_l,
        "x_u": x_u,
    }


def _move_matrices(problem: QuadraticProblem, centre: np.ndarray) -> dict[str, object]:
    """``qp_matrices`` for ``w = c + u - v`` (``QuadraticProblem.centre``): the variables are
    ``[u, v, y]``. The objective's terms in ``w`` become ``(u - v)`` terms plus ``c``'s linear
    part (``s^2 c`` from the specific risk; the factor part is carried by ``y = L' w``, whose
    constraint holds ``L' c``); every limit on ``w`` shifts by ``c``; the bounds on ``u`` and
    ``v`` keep ``w`` within ``[low, high]`` whatever ``c`` is."""
    n, k, sectors, _, _ = problem.structure
    size = 2 * n + k
    names, factors = np.arange(n), np.arange(2 * n, size)
    diagonal = 2.0 * np.asarray(problem.specific_sd, dtype=float) ** 2
    # The upper triangle of [[S, -S], [-S, S]] for (u, v), and 2 I for y.
    P = _coo(
        [names, n + names, names, factors],
        [names, n + names, n + names, factors],
        [diagonal, diagonal, -diagonal, np.full(k, 2.0)],
        (size, size),
    )
    linear = diagonal * centre - np.asarray(problem.mu, dtype=float)
    c = np.concatenate([linear, -linear, np.zeros(k)])
    loadings = np.asarray(problem.loadings, dtype=float)
    # y - L' u + L' v = L' c, one row per factor.
    up, down = _dense_block(-loadings.T, 0, 0), _dense_block(loadings.T, 0, n)
    A = _coo(
        [up[0], down[0], np.arange(k)],
        [up[1], down[1], factors],
        [up[2], down[2], np.ones(k)],
        (k, size),
    )
    b = loadings.T @ centre
    held = float(centre.sum())
    g_rows = [np.zeros(2 * n, dtype=int)]
    g_cols = [np.arange(2 * n)]
    g_vals = [np.concatenate([np.ones(n), -np.ones(n)])]
    low = [problem.net[0] - held]
    high = [problem.net[1] - held]
    if sectors:
        members = np.asarray(problem.sector_rows, dtype=float)
        up, down = _dense_block(members, 1, 0), _dense_block(-members, 1, n)
        g_rows += [up[0], down[0]]
        g_cols += [up[1], down[1]]
        g_vals += [up[2], down[2]]
        low.extend([-np.inf] * sectors)
        high.extend(np.asarray(problem.sector_caps, dtype=float) - members @ centre)
    limit = problem.turnover if problem.turnover is not None else problem.gross
    g_rows.append(np.full(2 * n, 1 + sectors))
    g_cols.append(np.arange(2 * n))
    g_vals.append(np.ones(2 * n))
    low.append(-np.inf)
    high.append(float(limit or 0.0))
    G = _coo(g_rows, g_cols, g_vals, (2 + sectors, size))
    return {
        "P": P,
        "c": c,
        "A": A,
        "b": b,
        "G": G,
        "h_l": np.asarray(low, dtype=float),
        "h_u": np.asarray(high, dtype=float),
        "x_l": np.concatenate(
            [
                np.maximum(problem.low - centre, 0.0),
                np.maximum(centre - problem.high, 0.0),
                np.full(k, -np.inf),
            ]
        ),
        "x_u": np.concatenate(
            [
                np.maximum(problem.high - centre, 0.0),
                np.maximum(centre - problem.low, 0.0),
                np.full(k, np.inf),
            ]
        ),
    }


def weights_of(problem: QuadraticProblem, x: np.ndarray, centre: np.ndarray | None) -> np.ndarray:
    """The weights in PIQP's answer ``x`` to ``qp_matrices(problem, centre)``."""
    n = len(problem.mu)
    if centre is None:
        return np.array(x[:n], dtype=float)
    return centre + np.asarray(x[:n], dtype=float) - np.asarray(x[n : 2 * n], dtype=float)


def quadratic_problem(
    mu: np.ndarray,
    factor: RiskFactor,
    gamma: float,
    bounds: Bounds,
    limits: Limits,
    dense: bool,
    net: tuple[float, float],
) -> QuadraticProblem:
    """The problem optimisers.py's ``_BoundedQuadratic`` solves, as values for the direct QP;
    ``net``: the least and most net exposure (optimisers.net_range)."""
    n = len(factor)
    floor, ceiling = net
    sector_rows, sector_caps = None, None
    if limits.sector_caps:
        sector_rows, sector_caps, _ = limits.sector_matrix(n)
    loadings, specific_sd, covariance = None, None, None
    if dense:
        full = factor.loadings @ factor.loadings.T + np.diag(factor.specific_sd**2)
        covariance = gamma * (full + full.T) / 2.0
    else:
        loadings, specific_sd = (
            np.sqrt(gamma) * factor.loadings,
            np.sqrt(gamma) * factor.specific_sd,
        )
    limited = limits.max_turnover is not None
    return QuadraticProblem(
        np.asarray(mu, dtype=float),
        (floor if bounds.long_short else max(floor, 0.0), ceiling),
        bounds.min_weight,
        bounds.max_weight,
        loadings,
        specific_sd,
        covariance,
        sector_rows,
        sector_caps,
        np.asarray(limits.current, dtype=float) if limited else None,
        limits.max_turnover,
        bounds.gross if bounds.long_short else None,
    )


# Who answers ``DirectQp.solve``: unset, this process. The allocation stage's solver pool
# (engine/allocation/solver_pool.py) sets it, in the thread sizing one portfolio, to a function
# that has a worker process run ``solve_here`` on the same problem: a context variable rather
# than an argument through the mandate, the sizer and the model, which need not know where
# their QP is solved.
QP_ANSWERER: ContextVar[Callable[[QuadraticProblem, int], np.ndarray] | None] = ContextVar(
    "qp_answerer", default=None
)


class DirectQp:
    """PIQP on the QP, its dense or sparse solver (``QuadraticProblem.dense_solver``), set up
    anew for every solve (see the module's note on determinism)."""

    def __init__(self, max_iter: int = PIQP_MAX_ITER) -> None:
        self.max_iter = max_iter

    def solve(self, problem: QuadraticProblem) -> np.ndarray:
        """The weights; ``QpFailed`` when PIQP does not solve it to its tolerance. Solved in
        this process, or by a solver pool's worker when one answers for this context."""
        answerer = QP_ANSWERER.get()
        if answerer is not None:
            return answerer(problem, self.max_iter)
        return self.solve_here(problem)

    def solve_here(self, problem: QuadraticProblem) -> np.ndarray:
        """``solve`` in this process."""
        import piqp

        centre = problem.centre
        if centre is not None and self.max_iter > MOVE_MAX_ITER:
            status, x = self._piqp(problem, centre, MOVE_MAX_ITER)
            if status != piqp.PIQP_MAX_ITER_REACHED:
                return self._weights(problem, status, x, centre)
            # At a precision floor (seen at 2,000 names: the duality gap stops at 2.5e-12,
            # the weights long settled): the auxiliary variables' form, which reaches it.
            centre = None
        status, x = self._piqp(problem, centre, self.max_iter)
        return self._weights(problem, status, x, centre)

    @staticmethod
    def _piqp(
        problem: QuadraticProblem, centre: np.ndarray | None, max_iter: int
    ) -> tuple[object, object]:
        import piqp

        solver = piqp.DenseSolver() if problem.dense_solver else piqp.SparseSolver()
        settings = solver.settings
        settings.eps_abs = settings.eps_rel = PIQP_TOLERANCE
        settings.eps_duality_gap_abs = settings.eps_duality_gap_rel = PIQP_TOLERANCE
        settings.max_iter = max_iter
        solver.setup(**qp_matrices(problem, centre))
        return solver.solve(), solver.result.x

    @staticmethod
    def _weights(
        problem: QuadraticProblem, status: object, x: object, centre: np.ndarray | None
    ) -> np.ndarray:
        import piqp

        if status != piqp.PIQP_SOLVED:
            raise QpFailed(_STATUS_WORDS.get(status, str(status)))
        weights = weights_of(problem, np.asarray(x), centre)
        _check(problem, weights)
        return weights


def _status_words() -> dict[object, str]:
    try:
        import piqp
    except ImportError:  # the fallback still answers; the reason will say PIQP is missing
        return {}
    return {
        piqp.PIQP_MAX_ITER_REACHED: "reached its iteration limit",
        piqp.PIQP_PRIMAL_INFEASIBLE: "found the problem infeasible",
        piqp.PIQP_DUAL_INFEASIBLE: "found the problem unbounded",
        piqp.PIQP_NUMERICS: "ran into numerical trouble",
        piqp.PIQP_UNSOLVED: "did not solve it",
        piqp.PIQP_INVALID_SETTINGS: "was given invalid settings",
    }


_STATUS_WORDS = _status_words()


def _check(problem: QuadraticProblem, weights: np.ndarray) -> None:
    """An answer outside its limits by more than the slack is not used."""
    if not np.all(np.isfinite(weights)):
        raise QpFailed("returned non-finite weights")
    slack = FEASIBILITY_SLACK
    worst = {
        "min_weight": problem.low - float(weights.min()),
        "max_weight": float(weights.max()) - problem.high,
        "net exposure": max(problem.net[0] - weights.sum(), weights.sum() - problem.net[1]),
    }
    if problem.sector_rows is not None and problem.sector_caps is not None:
        worst["sector_caps"] = float(np.max(problem.sector_rows @ weights - problem.sector_caps))
    if problem.turnover is not None and problem.current is not None:
        worst["max_turnover"] = float(np.abs(weights - problem.current).sum()) - problem.turnover
    if problem.gross is not None:
        worst["gross_exposure"] = float(np.abs(weights).sum()) - problem.gross
    broken = [f"{name} by {excess:.1e}" for name, excess in worst.items() if excess > slack]
    if broken:
        raise QpFailed("answered outside " + ", ".join(broken))
