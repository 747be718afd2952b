"""Sizing models: from expected returns and a risk model to target weights (fractions of NAV).

The cvxpy models follow cvxportfolio's habit: each problem is built **once** on ``cp.Parameter``s
(expected returns, the risk model's factor, the bounds) and only the parameter values change each
cycle, so a re-solve skips the problem compilation. Risk enters as
``||L' w||^2 + ||s * w||^2`` where ``L L' + diag(s^2) = Sigma`` (``L`` a Cholesky factor of a
dense covariance and ``s = 0``, or ``L = B F^1/2`` and ``s = sqrt(D)`` for a factor model), which
keeps the problem DPP (disciplined parametrised) and, for a factor model, ``k`` risk terms instead
of ``N``.

Weights are fractions of NAV, each between ``min_weight`` and ``max_weight`` (``Bounds``); cash
is what they leave, ``1 - sum(w)``, so weights and cash always sum to one. A long-only book
(``min_weight >= 0``) sums to ``invested`` (one minus the cash buffer). A long/short book
(``min_weight < 0``) keeps its net exposure ``sum(w)`` between ``net_floor`` and ``invested`` and
its gross exposure ``sum |w|`` at most ``gross``. Optional sector caps (on each sector's net
weight) and a limit on turnover against the current weights come in ``Limits``. An infeasible
problem raises ``InfeasibleAllocation`` naming the constraint families that conflict.

- ``EqualWeight``: ``invested / N`` each.
- ``InverseVolatility``: ``w_i`` proportional to ``1 / sigma_i``.
- ``MinimumVariance``: minimise ``w' Sigma w``.
- ``MeanVariance``: maximise ``mu' w - risk_aversion * w' Sigma w`` (Markowitz, 1952).
- ``RiskParity``: equal risk contributions ``w_i (Sigma w)_i`` (Maillard, Roncalli and Teiletche,
  2010), solved as the convex problem ``min 1/2 y' Sigma y - sum_i b_i log y_i`` (Spinu, 2013),
  then ``w = invested * y / sum(y)``; bounds are not applied to it.
- ``volatility_target``: scale any weights so the book's ex-ante volatility is a target, never
  above ``invested`` in total (the rest stays in cash).
"""

from __future__ import annotations

import warnings
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import cvxpy as cp
import numpy as np

from engine.allocation.qp import DirectQp, QpFailed, SolvedBy, SolverChoice, quadratic_problem
from engine.allocation.risk_models import CovarianceEstimate

TRADING_DAYS_PER_YEAR = 252
# Up to this many names a dense covariance enters as ``w' P w`` (see _BoundedQuadratic).
DENSE_FORM_MAX_NAMES = 600
# Built problems each model keeps, by shape.
PROBLEMS_KEPT = 32


class InfeasibleAllocation(ValueError):
    """The constraints cannot all hold; the message says which ones conflict."""


@dataclass(frozen=True, slots=True)
class Bounds:
    """Per-name weight bounds and the book's exposure, fractions of NAV.

    ``invested``: the net exposure ``sum(w)`` (long-only: exactly this much is invested, the rest
    is cash; long/short: the most net exposure). ``min_weight < 0`` allows short positions down to
    it; then ``net_floor`` is the least net exposure (default ``invested``: exactly that net) and
    ``gross`` the most ``sum |w|`` (default: only the per-name bounds limit it).
    """

    invested: float = 1.0
    min_weight: float = 0.0
    max_weight: float = 1.0
    gross: float | None = None
    net_floor: float | None = None

    @property
    def long_short(self) -> bool:
        return self.min_weight < 0

    @property
    def net_low(self) -> float:
        return self.invested if self.net_floor is None else self.net_floor

    def check(self, instruments: int) -> None:
        if self.long_short:
            self._check_long_short(instruments)
            return
        if self.gross is not None or self.net_floor is not None:
            raise InfeasibleAllocation(
                "gross, net_floor: exposure limits need a long/short book (min_weight < 0)"
            )
        if not 0 < self.invested <= 1:
            raise InfeasibleAllocation(f"invested: {self.invested} must be in (0, 1]")
        if not 0 <= self.min_weight <= self.max_weight <= 1:
            raise InfeasibleAllocation(
                f"min_weight {self.min_weight} and max_weight {self.max_weight} must satisfy "
                "0 <= min_weight <= max_weight <= 1"
            )
        if instruments * self.max_weight < self.invested - 1e-12:
            raise InfeasibleAllocation(
                f"max_weight {self.max_weight} x {instruments} instruments = "
                f"{instruments * self.max_weight:.4g} cannot hold the invested {self.invested:.4g}"
            )
        if instruments * self.min_weight > self.invested + 1e-12:
            raise InfeasibleAllocation(
                f"min_weight {self.min_weight} x {instruments} instruments = "
                f"{instruments * self.min_weight:.4g} exceeds the invested {self.invested:.4g}"
            )

    def _check_long_short(self, instruments: int) -> None:
        if not -1 <= self.min_weight < 0 <= self.max_weight <= 1:
            raise InfeasibleAllocation(
                f"min_weight {self.min_weight} and max_weight {self.max_weight} must satisfy "
                "-1 <= min_weight < 0 <= max_weight <= 1 for a long/short book"
            )
        if not -1 <= self.net_low <= self.invested <= 1:
            raise InfeasibleAllocation(
                f"net exposure: need -1 <= net_floor ({self.net_low:g}) <= invested "
                f"({self.invested:g}) <= 1"
            )
        if instruments * self.max_weight < self.net_low - 1e-12:
            raise InfeasibleAllocation(
                f"max_weight {self.max_weight} x {instruments} instruments cannot reach the net "
                f"floor {self.net_low:g}"
            )
        if instruments * self.min_weight > self.invested + 1e-12:
            raise InfeasibleAllocation(
                f"min_weight {self.min_weight} x {instruments} instruments cannot stay below the "
                f"net exposure {self.invested:g}"
            )
        least_gross = max(self.net_low, -self.invested, 0.0)
        if self.gross is not None and not least_gross - 1e-12 <= self.gross <= 10:
            raise InfeasibleAllocation(
                f"gross: {self.gross} must be at least the net exposure it must hold "
                f"({least_gross:g}) and at most 10"
            )


@dataclass(frozen=True, slots=True, eq=False)
class RiskFactor:
    """``Sigma = L L' + diag(s^2)``: ``loadings`` ``L`` (instruments x k) and ``specific_sd``
    ``s``. A dense covariance has its Cholesky factor as ``L`` and ``s = 0``; a factor model has
    ``L = B F^1/2`` and ``s = sqrt(D)``, so the optimiser carries ``k`` risk terms, not ``N``."""

    loadings: np.ndarray
    specific_sd: np.ndarray

    def __len__(self) -> int:
        return len(self.specific_sd)

    @property
    def full(self) -> np.ndarray:
        """``G`` with ``G G' = Sigma``, the loadings and the specific part side by side."""
        return np.hstack([self.loadings, np.diag(self.specific_sd)])


def risk_factor(estimate: CovarianceEstimate) -> RiskFactor:
    """The covariance as ``L L' + diag(s^2)``: Cholesky of a dense covariance (with a tiny ridge
    if it is singular), or the factor model's own parts."""
    if estimate.dense is None:
        factor_covariance = np.asarray(estimate.factor_covariance)
        factor_half = np.linalg.cholesky(factor_covariance + 1e-18 * np.eye(len(factor_covariance)))
        return RiskFactor(
            np.asarray(estimate.exposures) @ factor_half,
            np.sqrt(np.asarray(estimate.specific_variance)),
        )
    covariance = estimate.dense
    ridge = 0.0
    scale = float(np.mean(np.diag(covariance))) or 1.0
    for _ in range(8):
        try:
            cholesky = np.linalg.cholesky(covariance + ridge * np.eye(len(covariance)))
            return RiskFactor(cholesky, np.zeros(len(covariance)))
        except np.linalg.LinAlgError:
            ridge = scale * 1e-10 if ridge == 0 else ridge * 100
    raise InfeasibleAllocation("covariance: not positive semi-definite (check the risk model)")


# Clarabel's defaults (1e-8) leave weights good to about 1e-5; these cost a few iterations more.
# Solves never warm-start (``warm_start=False``): a Clarabel solver updated in place can answer a
# hair differently from a new one, and a restarted engine must decide exactly as one that ran on.
SOLVER_OPTIONS = {"tol_gap_abs": 1e-12, "tol_gap_rel": 1e-12, "tol_feas": 1e-12, "max_iter": 500}


def _solve(problem: cp.Problem, model: str) -> None:
    try:
        with warnings.catch_warnings():
            # "Solution may be inaccurate": the status says so, and is checked below.
            warnings.filterwarnings("ignore", "Solution may be inaccurate", UserWarning)
            problem.solve(solver=cp.CLARABEL, warm_start=False, **SOLVER_OPTIONS)
    except cp.SolverError as exc:
        raise InfeasibleAllocation(f"{model}: the solver failed ({exc})") from exc
    if problem.status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE):
        raise InfeasibleAllocation(f"{model}: the problem is {problem.status}")


@dataclass(frozen=True, slots=True, eq=False)
class Limits:
    """Constraints beyond the bounds: sector caps and a turnover limit per rebalance.

    ``sectors`` names each instrument's sector (same order as the weights) when ``sector_caps``
    (``(sector, cap)`` pairs, a cap on the sector's total weight) is given; ``max_turnover`` caps
    ``sum |w - current|`` against the ``current`` weights.
    """

    sectors: tuple[str, ...] = ()
    sector_caps: tuple[tuple[str, float], ...] = ()
    current: np.ndarray | None = None
    max_turnover: float | None = None

    def sector_matrix(self, instruments: int) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
        if not self.sector_caps:
            return np.zeros((0, instruments)), np.zeros(0), ()
        if len(self.sectors) != instruments:
            raise InfeasibleAllocation(
                f"sectors: {len(self.sectors)} given for {instruments} instruments"
            )
        names = tuple(name for name, _ in self.sector_caps)
        # Compared as arrays: the nested comprehension cost more than the solve's set-up.
        matrix = (np.array(self.sectors)[None, :] == np.array(names)[:, None]).astype(float)
        return matrix, np.array([cap for _, cap in self.sector_caps], dtype=float), names

    def check(self, instruments: int, bounds: Bounds) -> None:
        if self.max_turnover is not None:
            if not self.max_turnover >= 0:
                raise InfeasibleAllocation(f"max_turnover: {self.max_turnover} must be >= 0")
            if self.current is None or np.shape(self.current) != (instruments,):
                raise InfeasibleAllocation(
                    f"current: a turnover limit needs the {instruments} current weights"
                )
        matrix, caps, _ = self.sector_matrix(instruments)
        if len(caps) and np.any(caps < 0):
            raise InfeasibleAllocation("sector_caps: a cap cannot be negative")
        uncapped = instruments - int(matrix.sum()) if len(caps) else instruments
        room = float(caps.sum()) + uncapped * bounds.max_weight if len(caps) else 1.0
        if len(caps) and room < bounds.invested - 1e-12:
            raise InfeasibleAllocation(
                f"sector_caps: the capped sectors ({caps.sum():.4g}) and the {uncapped} "
                f"uncapped instruments at max_weight {bounds.max_weight:g} hold at most "
                f"{room:.4g}, less than the invested {bounds.invested:.4g}"
            )


def net_range(bounds: Bounds, limits: Limits) -> tuple[float, float]:
    """The least and most net exposure ``sum(w)`` this rebalance may reach.

    Under a turnover limit the book reaches its net exposure over several rebalances: each may
    move the net by up to half the turnover allowed (the other half rotates)."""
    floor, ceiling = bounds.net_low, bounds.invested
    if limits.max_turnover is not None:
        net_now = float(np.sum(limits.current)) if limits.current is not None else 0.0
        floor = min(floor, net_now + limits.max_turnover / 2.0)
        ceiling = max(ceiling, net_now - limits.max_turnover / 2.0)
    return floor, ceiling


class _BoundedQuadratic:
    """``maximise mu' w - gamma (||L' w||^2 + ||s * w||^2)`` over the bounded weights with the
    budget (long-only) or net and gross exposure (long/short), sector caps and a turnover limit,
    built once per shape.

    Risk enters in one of two forms. ``dense``: ``w' P w`` with ``P = gamma Sigma`` a PSD
    parameter (cvxpy keeps such a problem compiled, ``is_dpp(quad_form_dpp="qp")``; several times
    faster than the Cholesky form up to a few hundred names, whose parameter tensor then grows as
    ``N^3``). Otherwise ``||L' w||^2 + ||s * w||^2`` with ``sqrt(gamma)`` folded into ``L`` and
    ``s``, for factor models (``k`` risk terms) and very large dense covariances. A parameter
    multiplying a parametrised quadratic would not be DPP, hence gamma inside. Unused limits
    are given loose values (turnover 2, the most a long-only book can trade), so one built
    problem serves every cycle. Under a turnover limit the book reaches its budget over several
    rebalances (``net_range``).
    """

    def __init__(
        self,
        instruments: int,
        factor_columns: int,
        sectors: int,
        long_short: bool = False,
        dense: bool = False,
    ) -> None:
        self.shape = (instruments, factor_columns, sectors, long_short, dense)
        self.dense = dense
        self.weights = cp.Variable(instruments)
        self.mu = cp.Parameter(instruments)
        self.invested = cp.Parameter()
        self.invested_floor = cp.Parameter()
        self.low = cp.Parameter()
        self.high = cp.Parameter(nonneg=True)
        self.current = cp.Parameter(instruments)
        self.turnover = cp.Parameter(nonneg=True)
        self.gross = cp.Parameter(nonneg=True)
        self.covariance = cp.Parameter((instruments, instruments), PSD=True) if dense else None
        self.loadings = cp.Parameter((instruments, max(factor_columns, 1)))
        self.specific_sd = cp.Parameter(instruments, nonneg=True)
        if self.covariance is not None:
            risk = cp.quad_form(self.weights, self.covariance)
        else:
            risk = cp.sum_squares(self.loadings.T @ self.weights) + cp.sum_squares(
                cp.multiply(self.specific_sd, self.weights)
            )
        net = [cp.sum(self.weights) <= self.invested, cp.sum(self.weights) >= self.invested_floor]
        self.families: dict[str, list[cp.Constraint]] = {
            "net_exposure" if long_short else "budget": net,
            "min_weight": [self.weights >= self.low],
            "max_weight": [self.weights <= self.high],
            "max_turnover": [cp.norm1(self.weights - self.current) <= self.turnover],
        }
        if long_short:
            self.families["gross_exposure"] = [cp.norm1(self.weights) <= self.gross]
        self.sector_rows = cp.Parameter((sectors, instruments)) if sectors else None
        self.sector_caps = cp.Parameter(sectors, nonneg=True) if sectors else None
        if self.sector_rows is not None:
            self.families["sector_caps"] = [self.sector_rows @ self.weights <= self.sector_caps]
        self.problem = cp.Problem(
            cp.Maximize(self.mu @ self.weights - risk),
            [c for family in self.families.values() for c in family],
        )

    def _set(self, bounds: Bounds, limits: Limits, n: int) -> None:
        floor, ceiling = net_range(bounds, limits)
        self.invested.value = ceiling
        self.invested_floor.value = floor if bounds.long_short else max(floor, 0.0)
        self.gross.value = n * max(bounds.max_weight, -bounds.min_weight)
        if bounds.gross is not None:
            self.gross.value = bounds.gross
        self.low.value = bounds.min_weight
        self.high.value = bounds.max_weight
        current = limits.current if limits.current is not None else np.zeros(n)
        self.current.value = np.asarray(current, dtype=float)
        self.turnover.value = 2.0 if limits.max_turnover is None else limits.max_turnover
        if self.sector_rows is not None and self.sector_caps is not None:
            matrix, caps, _ = limits.sector_matrix(n)
            self.sector_rows.value = matrix
            self.sector_caps.value = caps

    def solve(
        self,
        mu: np.ndarray,
        factor: RiskFactor,
        gamma: float,
        bounds: Bounds,
        limits: Limits,
        model: str,
    ) -> np.ndarray:
        n = len(factor)
        self.mu.value = mu
        if self.covariance is not None:
            covariance = factor.loadings @ factor.loadings.T + np.diag(factor.specific_sd**2)
            self.covariance.value = gamma * (covariance + covariance.T) / 2.0
        else:
            self.loadings.value = np.sqrt(gamma) * factor.loadings
            self.specific_sd.value = np.sqrt(gamma) * factor.specific_sd
        self._set(bounds, limits, n)
        try:
            _solve(self.problem, model)
        except InfeasibleAllocation as exc:
            if self.problem.status not in (cp.INFEASIBLE, cp.INFEASIBLE_INACCURATE):
                raise
            raise InfeasibleAllocation(f"{model}: {self._conflict(bounds, limits, n)}") from exc
        return _finish(np.asarray(self.weights.value, dtype=float), bounds, float(self.gross.value))

    def _conflict(self, bounds: Bounds, limits: Limits, n: int) -> str:
        """Which constraint families conflict: those whose loosening alone makes it feasible."""
        loosen = {
            "max_turnover": lambda: setattr(self.turnover, "value", 2.0 + 2.0 * n),
            "max_weight": lambda: setattr(self.high, "value", 1.0),
            "min_weight": lambda: setattr(self.low, "value", -1.0 if bounds.long_short else 0.0),
        }
        if bounds.long_short:
            loosen["gross_exposure"] = lambda: setattr(self.gross, "value", 2.0 * n)

            def net_any() -> None:
                self.invested.value, self.invested_floor.value = float(n), -float(n)

            loosen["net_exposure"] = net_any
        if self.sector_caps is not None:
            loosen["sector_caps"] = lambda: setattr(
                self.sector_caps, "value", np.full(self.shape[2], 1.0)
            )
        culprits = []
        for family, relax in loosen.items():
            self._set(bounds, limits, n)
            relax()
            self.problem.solve(solver=cp.CLARABEL, warm_start=False, **SOLVER_OPTIONS)
            if self.problem.status in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE):
                culprits.append(family)
        self._set(bounds, limits, n)
        if not culprits:
            return "infeasible: the constraints conflict in more than one way at once"
        return (
            "infeasible: "
            + ", ".join(culprits)
            + " conflict with the other constraints (loosening any one of them would do)"
        )


def _finish(raw: np.ndarray, bounds: Bounds, gross_limit: float) -> np.ndarray:
    """The solver's answer can sit a hair outside the bounds; clip, and rescale only down."""
    weights = np.clip(raw, bounds.min_weight, bounds.max_weight)
    weights[np.abs(weights) < 1e-9] = 0.0
    if bounds.long_short:
        gross = float(np.abs(weights).sum())
        return weights * (gross_limit / gross) if gross > gross_limit else weights
    total = weights.sum()
    return weights * (bounds.invested / total) if total > bounds.invested else weights


def _gross_limit(bounds: Bounds, n: int) -> float:
    """The most ``sum |w|``: the bounds' own when none is given (as _BoundedQuadratic._set)."""
    if bounds.gross is not None:
        return bounds.gross
    return n * max(bounds.max_weight, -bounds.min_weight)


class _BuiltProblems:
    """Built problems by shape, the most recently used kept: the names a model sizes change from
    cycle to cycle (those with a view), and each new count would otherwise compile again."""

    def __init__(self, capacity: int = PROBLEMS_KEPT) -> None:
        self._built: OrderedDict[tuple[object, ...], object] = OrderedDict()
        self._capacity = capacity
        self.latest: object | None = None

    def get(self, shape: tuple[object, ...], build: Callable[[], object]) -> object:
        built = self._built.get(shape)
        if built is None:
            built = build()
            self._built[shape] = built
            if len(self._built) > self._capacity:
                self._built.popitem(last=False)
        else:
            self._built.move_to_end(shape)
        self.latest = built
        return built


class _QuadraticModel:
    """Solves with the chosen solver (``SolverChoice``): PIQP on the QP directly (qp.py), or
    Clarabel through cvxpy, which is also PIQP's fallback; ``solved_by`` says which answered.
    Keeps the built cvxpy problems per (instruments, factor columns, sectors, long/short, form),
    built only when Clarabel is used."""

    name = ""

    def __init__(self, solver: SolverChoice | None = None) -> None:
        self.solver = solver or SolverChoice()
        self._problems = _BuiltProblems()
        self._direct = DirectQp(self.solver.piqp_max_iter)
        self.solved_by: SolvedBy | None = None

    def _solve(
        self, mu: np.ndarray, factor: RiskFactor, gamma: float, bounds: Bounds, limits: Limits
    ) -> np.ndarray:
        n, columns = factor.loadings.shape
        dense = columns == n and n <= DENSE_FORM_MAX_NAMES
        # The objective scaled so that the risk term's diagonal is about 1 (the argmin is the
        # same): with daily variances of 1e-4 the solvers' absolute tolerances are loose in
        # weights (minimum variance differed by 1e-5 between two solvers at 1e-12).
        mean_variance = float(np.mean(np.sum(factor.loadings**2, axis=1) + factor.specific_sd**2))
        scale = 1.0 / (gamma * mean_variance) if mean_variance > 0 else 1.0
        gamma, mu = gamma * scale, np.asarray(mu, dtype=float) * scale
        reason = None
        if self.solver.solver == "piqp":
            # A dense covariance enters PIQP as ``P`` at any size (its Cholesky form is slower).
            net = net_range(bounds, limits)
            problem = quadratic_problem(mu, factor, gamma, bounds, limits, columns == n, net)
            try:
                raw = self._direct.solve(problem)
            except QpFailed as exc:
                reason = f"piqp {exc}"
            except ImportError:  # a declared dependency; an install without it still allocates
                reason = "piqp is not installed"
            else:
                self.solved_by = SolvedBy("piqp")
                return _finish(raw, bounds, _gross_limit(bounds, n))
        self.solved_by = SolvedBy("clarabel", reason)
        shape = (n, 0 if dense else columns, len(limits.sector_caps), bounds.long_short, dense)
        built = self._problems.get(shape, lambda: _BoundedQuadratic(*shape))
        assert isinstance(built, _BoundedQuadratic)
        return built.solve(mu, factor, gamma, bounds, limits, self.name)

    @property
    def problem(self) -> cp.Problem | None:
        latest = self._problems.latest
        return latest.problem if isinstance(latest, _BoundedQuadratic) else None


class MinimumVariance(_QuadraticModel):
    name = "minimum_variance"

    def weights(
        self, estimate: CovarianceEstimate, bounds: Bounds, limits: Limits | None = None
    ) -> np.ndarray:
        limits = limits or Limits()
        factor = risk_factor(estimate)
        bounds.check(len(factor))
        limits.check(len(factor), bounds)
        return self._solve(np.zeros(len(factor)), factor, 1.0, bounds, limits)


class MeanVariance(_QuadraticModel):
    name = "mean_variance"

    def __init__(self, risk_aversion: float = 1.0, solver: SolverChoice | None = None) -> None:
        super().__init__(solver)
        if not risk_aversion > 0:
            raise ValueError(f"risk_aversion: {risk_aversion} must be positive")
        self.risk_aversion = risk_aversion

    def weights(
        self,
        expected_returns: np.ndarray,
        estimate: CovarianceEstimate,
        bounds: Bounds,
        limits: Limits | None = None,
    ) -> np.ndarray:
        limits = limits or Limits()
        factor = risk_factor(estimate)
        bounds.check(len(factor))
        limits.check(len(factor), bounds)
        mu = np.asarray(expected_returns, dtype=float)
        if mu.shape != (len(factor),) or not np.all(np.isfinite(mu)):
            raise InfeasibleAllocation(
                f"expected_returns: need {len(factor)} finite values, got shape {mu.shape}"
            )
        return self._solve(mu, factor, self.risk_aversion, bounds, limits)


class RiskParity:
    """Equal (or budgeted) risk contributions, Spinu's convex problem, built once per size with
    the covariance as a PSD parameter (as ``_BoundedQuadratic``'s dense form)."""

    name = "risk_parity"
    # Not a QP (a log barrier): Clarabel through cvxpy, whatever the SolverChoice.
    solved_by = SolvedBy("clarabel")

    def __init__(self) -> None:
        self._problems = _BuiltProblems()

    @property
    def problem(self) -> cp.Problem | None:
        latest = self._problems.latest
        return latest[3] if isinstance(latest, tuple) else None

    def weights(
        self,
        estimate: CovarianceEstimate,
        invested: float = 1.0,
        budgets: np.ndarray | None = None,
    ) -> np.ndarray:
        factor = risk_factor(estimate).full
        n = len(factor)
        budget = np.full(n, 1.0 / n) if budgets is None else np.asarray(budgets, dtype=float)
        if budget.shape != (n,) or np.any(budget <= 0):
            raise InfeasibleAllocation("budgets: need one positive risk budget per instrument")
        covariance = factor @ factor.T
        # The problem's scale is the covariance's: daily variances of 1e-4 would leave the log
        # barrier far from where the solver is accurate, so the covariance is normalised first.
        scale = float(np.mean(np.diag(covariance))) or 1.0

        def build() -> tuple[cp.Variable, cp.Parameter, cp.Parameter, cp.Problem]:
            y = cp.Variable(n)
            p = cp.Parameter((n, n), PSD=True)
            b = cp.Parameter(n, pos=True)
            return y, p, b, cp.Problem(cp.Minimize(0.5 * cp.quad_form(y, p) - b @ cp.log(y)))

        y, p, b, problem = self._problems.get((n,), build)  # type: ignore[misc]
        p.value = (covariance + covariance.T) / (2.0 * scale)
        b.value = budget / budget.sum()
        _solve(problem, self.name)
        raw = np.asarray(y.value, dtype=float)
        return invested * raw / raw.sum()


class EqualWeight:
    name = "equal_weight"

    def weights(self, instruments: int, invested: float = 1.0) -> np.ndarray:
        if instruments < 1:
            raise InfeasibleAllocation("equal_weight: no instruments to hold")
        return np.full(instruments, invested / instruments)


class InverseVolatility:
    name = "inverse_volatility"

    def weights(self, estimate: CovarianceEstimate, invested: float = 1.0) -> np.ndarray:
        volatility = estimate.volatility
        if np.any(volatility <= 0):
            raise InfeasibleAllocation(
                f"inverse_volatility: instruments {np.flatnonzero(volatility <= 0).tolist()} "
                "have zero volatility"
            )
        inverse = 1.0 / volatility
        return invested * inverse / inverse.sum()


class Sizer:
    """Every sizing model by name, in one place for the engine's mandates and ``pcoord allocate``;
    the cvxpy models keep their built problems between calls. Equal weight, inverse volatility and
    risk parity are capped at ``max_weight`` after sizing, the excess staying in cash."""

    MODELS = (
        "equal_weight",
        "inverse_volatility",
        "minimum_variance",
        "mean_variance",
        "risk_parity",
    )

    LONG_SHORT = ("minimum_variance", "mean_variance")

    def __init__(
        self, model: str, risk_aversion: float = 1.0, solver: SolverChoice | None = None
    ) -> None:
        if model not in self.MODELS:
            raise ValueError(f"model: {model!r} is not one of {', '.join(self.MODELS)}")
        self.model = model
        self._mean_variance = MeanVariance(risk_aversion, solver)
        self._minimum_variance = MinimumVariance(solver)
        self._risk_parity = RiskParity()

    @property
    def solved_by(self) -> SolvedBy | None:
        """Which solver answered this model's last solve (None: no solver, or none yet)."""
        if self.model == "risk_parity":
            return self._risk_parity.solved_by
        if self.model == "minimum_variance":
            return self._minimum_variance.solved_by
        if self.model == "mean_variance":
            return self._mean_variance.solved_by
        return None

    def weights(
        self,
        estimate: CovarianceEstimate,
        bounds: Bounds,
        expected_returns: np.ndarray | None = None,
        limits: Limits | None = None,
    ) -> np.ndarray:
        """``expected_returns`` (daily) are needed by ``mean_variance`` only."""
        if bounds.long_short and self.model not in self.LONG_SHORT:
            raise InfeasibleAllocation(
                f"{self.model}: a long-only model; shorts (min_weight {bounds.min_weight}) need "
                f"one of {', '.join(self.LONG_SHORT)}"
            )
        if self.model == "equal_weight":
            sized = EqualWeight().weights(len(estimate.volatility), bounds.invested)
        elif self.model == "inverse_volatility":
            sized = InverseVolatility().weights(estimate, bounds.invested)
        elif self.model == "risk_parity":
            sized = self._risk_parity.weights(estimate, bounds.invested)
        elif self.model == "minimum_variance":
            return self._minimum_variance.weights(estimate, bounds, limits)
        else:
            if expected_returns is None:
                raise ValueError("expected_returns: mean_variance needs them")
            return self._mean_variance.weights(expected_returns, estimate, bounds, limits)
        return np.minimum(sized, bounds.max_weight)


def volatility_target(
    weights: np.ndarray,
    estimate: CovarianceEstimate,
    target_annual_volatility: float,
    max_invested: float = 1.0,
) -> np.ndarray:
    """``weights`` scaled so that ``sqrt(252 w' Sigma w)`` is the target, the total capped at
    ``max_invested`` (a book too calm to reach the target without leverage stays below it)."""
    if not target_annual_volatility > 0:
        raise ValueError(f"target_annual_volatility: {target_annual_volatility} must be positive")
    annual = float(np.sqrt(TRADING_DAYS_PER_YEAR * estimate.variance(weights)))
    if annual == 0:
        return weights
    scaled = weights * (target_annual_volatility / annual)
    total = float(scaled.sum())
    return scaled * (max_invested / total) if total > max_invested else scaled
