"""Risk models: covariance of daily returns, estimated from a window of history.

Each estimator is a small object with one method, ``estimate(returns)``, taking a (days x
instruments) array of daily simple returns, oldest first, and returning a ``CovarianceEstimate``
in daily return units (annualise by multiplying by 252). Returns must be finite: the caller decides
which instruments have enough history, so that an estimator never guesses.

- ``SampleCovariance``: the unbiased sample covariance.
- ``LedoitWolfShrinkage``: the sample covariance shrunk towards a scaled identity with the
  optimal intensity of Ledoit and Wolf (2004), "A well-conditioned estimator for large-dimensional
  covariance matrices", J. Multivariate Analysis 88: well conditioned even with more instruments
  than days.
- ``EwmaCovariance``: exponentially weighted (RiskMetrics, 1996), with a half-life in days.
- ``PcaFactorModel``: a statistical factor model, ``B F B' + D``, from the top principal
  components of the sample covariance, for large universes (Connor and Korajczyk, 1986): the
  optimiser can then work with ``k`` factors instead of ``N x N`` entries.
"""

from __future__ import annotations

import hashlib
import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np


@dataclass(frozen=True, slots=True, eq=False)
class CovarianceEstimate:
    """A covariance of daily returns; in factor form when ``exposures`` is given.

    Factor form: ``covariance = exposures @ factor_covariance @ exposures.T + diag(specific)``.
    """

    method: str
    observations: int
    dense: np.ndarray | None = None
    exposures: np.ndarray | None = None  # instruments x factors
    factor_covariance: np.ndarray | None = None  # factors x factors
    specific_variance: np.ndarray | None = None  # instruments

    def __post_init__(self) -> None:
        factor_parts = [self.exposures, self.factor_covariance, self.specific_variance]
        given = [part is not None for part in factor_parts]
        if (self.dense is not None and any(given)) or (self.dense is None and not all(given)):
            raise ValueError(
                "CovarianceEstimate: give either a dense covariance or all three factor parts"
            )

    @property
    def covariance(self) -> np.ndarray:
        """The dense covariance; built anew from the factor form on each call (the cycle asks
        the factor form for products and never builds it; one-off tools such as
        ``pcoord allocate`` do, once)."""
        if self.dense is not None:
            return self.dense
        exposures = np.asarray(self.exposures)
        return exposures @ np.asarray(self.factor_covariance) @ exposures.T + np.diag(
            np.asarray(self.specific_variance)
        )

    @property
    def volatility(self) -> np.ndarray:
        """Daily volatility per instrument (in factor form without building the N x N matrix:
        at 2,000 names that matrix cost more than the optimisation it fed)."""
        if self.dense is not None:
            return np.sqrt(np.diag(self.dense))
        exposures = np.asarray(self.exposures)
        explained = np.einsum(
            "ik,kl,il->i", exposures, np.asarray(self.factor_covariance), exposures
        )
        return np.sqrt(explained + np.asarray(self.specific_variance))

    def times(self, weights: np.ndarray) -> np.ndarray:
        """``covariance @ weights``; O(N k) in factor form."""
        if self.dense is not None:
            return self.dense @ weights
        exposures = np.asarray(self.exposures)
        factor_part = exposures @ (np.asarray(self.factor_covariance) @ (exposures.T @ weights))
        return factor_part + np.asarray(self.specific_variance) * weights

    def variance(self, weights: np.ndarray) -> float:
        """``weights' covariance weights`` (daily). A dense matrix is multiplied in the order
        the callers always used (a changed last bit would change recorded figures)."""
        if self.dense is not None:
            return float(weights @ self.dense @ weights)
        return float(weights @ self.times(weights))

    def is_finite(self) -> bool:
        parts = (
            (self.dense,)
            if self.dense is not None
            else (
                self.exposures,
                self.factor_covariance,
                self.specific_variance,
            )
        )
        return all(bool(np.all(np.isfinite(np.asarray(part)))) for part in parts)

    @property
    def size(self) -> int:
        """The number of instruments."""
        source = self.dense if self.dense is not None else self.specific_variance
        return int(np.shape(source)[0])


def trailing_returns(prices: np.ndarray, lookback_days: int) -> tuple[np.ndarray, np.ndarray]:
    """Daily simple returns over the last ``lookback_days`` of ``prices`` (days x instruments,
    oldest first), and which instruments have every one of them (a positive price each day)."""
    window = np.asarray(prices, dtype=float)[-(lookback_days + 1) :]
    with np.errstate(divide="ignore", invalid="ignore"):
        returns = window[1:] / window[:-1] - 1.0
    complete = np.all(np.isfinite(returns), axis=0) & np.all(window > 0, axis=0)
    return returns, complete


@dataclass(frozen=True, slots=True, eq=False)
class TrailingReturns:
    """``trailing_returns`` of one price window, read-only, with the SHA-256 of the returns'
    bytes: an estimate over a subset of the instruments is keyed by it and the subset's indices
    (``cached_estimate``), not by hashing the subset again."""

    returns: np.ndarray
    complete: np.ndarray
    digest: bytes


_trailing_memo: dict[int, tuple[weakref.ref[np.ndarray], TrailingReturns]] = {}
_trailing_lock = threading.Lock()


def trailing_window(prices: np.ndarray, lookback_days: int) -> TrailingReturns:
    """``trailing_returns(prices, lookback_days)``, worked out once per read-only window.

    Every portfolio's sizing and impact assessment in a cycle reads the same window (the market
    stage's view of its rolling prices, which it marks read-only): twenty computations of the
    same returns a cycle at ten portfolios. A writable array may change between two calls, so it
    is computed each time."""
    memo = isinstance(prices, np.ndarray) and not prices.flags.writeable
    if memo:
        with _trailing_lock:
            kept = _trailing_memo.get(lookback_days)
            if kept is not None and kept[0]() is prices:
                return kept[1]
    returns, complete = trailing_returns(prices, lookback_days)
    returns = np.ascontiguousarray(returns)  # a column-major window gives column-major returns
    returns.flags.writeable = False
    complete.flags.writeable = False
    result = TrailingReturns(returns, complete, hashlib.sha256(returns).digest())
    if memo:
        with _trailing_lock:
            # Only the newest window per look-back: the weak reference lets an old one go.
            _trailing_memo[lookback_days] = (weakref.ref(prices), result)
    return result


@dataclass(frozen=True, slots=True, eq=False)
class ScenarioRisk:
    """The risk view at one close that risk measurement, stress testing and the risk budgets
    share: daily return ``scenarios`` (days x len(columns), oldest first) of the instruments in
    ``columns`` (indices into the universe) with a full history over the lookback, and their
    sample covariance (ddof 1, daily units) unless ``given``.

    Products with weights come from the centred scenarios ``X`` (T x N): ``X'(Xw)/(T-1)`` and
    ``|Xw|^2/(T-1)`` cost O(T N) where the N x N matrix costs O(T N^2) to build and O(N^2) per
    product (at 2,000 names and 60 days, the matrix was most of the risk stage and the gate).
    ``covariance`` builds the matrix on first use, for the callers that need it whole."""

    columns: np.ndarray
    scenarios: np.ndarray
    given: np.ndarray | None = None
    _centred: np.ndarray | None = field(default=None, init=False, repr=False)
    _matrix: np.ndarray | None = field(default=None, init=False, repr=False)

    @property
    def covariance(self) -> np.ndarray:
        if self.given is not None:
            return self.given
        if self._matrix is None:
            matrix = np.atleast_2d(np.cov(self.scenarios, rowvar=False))
            matrix.flags.writeable = False  # shared by every caller of this close's view
            object.__setattr__(self, "_matrix", matrix)
        return self._matrix  # type: ignore[return-value]

    @property
    def centred(self) -> np.ndarray:
        """The scenarios less each instrument's mean over them (read-only)."""
        if self._centred is None:
            centred = self.scenarios - self.scenarios.mean(axis=0)
            centred.flags.writeable = False
            object.__setattr__(self, "_centred", centred)
        return self._centred  # type: ignore[return-value]

    @property
    def volatility(self) -> np.ndarray:
        """Each instrument's daily volatility, the square root of the covariance's diagonal."""
        if self.given is not None:
            return np.sqrt(np.clip(np.diag(self.given), 0.0, None))
        return np.sqrt((self.centred**2).sum(axis=0) / (len(self.scenarios) - 1))

    def covariance_times(self, weights: np.ndarray) -> np.ndarray:
        """``covariance @ weights`` for weights over ``columns`` (a row per portfolio when 2-D)."""
        weights = np.asarray(weights, dtype=float)
        if self.given is not None:
            return (self.given @ weights.T).T
        on_days = self.centred @ weights.T  # centred daily portfolio returns
        return (self.centred.T @ on_days).T / (len(self.scenarios) - 1)

    def variance(self, weights: np.ndarray) -> float:
        """``weights' covariance weights`` (daily) for weights over ``columns``."""
        weights = np.asarray(weights, dtype=float)
        if self.given is not None:
            return float(weights @ self.given @ weights)
        on_days = self.centred @ weights
        return float(on_days @ on_days) / (len(self.scenarios) - 1)

    def universe_covariance(self, instruments: int) -> np.ndarray:
        """The covariance over the whole universe of ``instruments``: zero rows and columns for
        the instruments without a full history, which therefore carry no estimated risk."""
        full = np.zeros((instruments, instruments))
        full[np.ix_(self.columns, self.columns)] = self.covariance
        return full


def scenario_risk(prices: np.ndarray, lookback_days: int) -> ScenarioRisk | None:
    """The one covariance estimate of the engine's risk stage and of ``pcoord stress``: the
    trailing ``lookback_days`` returns of ``prices`` (days x instruments, oldest first), the
    instruments with every return, and their sample covariance. None while there is too little
    history (fewer than two returns, or no instrument with a full history)."""
    returns, complete = trailing_returns(prices, lookback_days)
    columns = np.flatnonzero(complete)
    if len(columns) == 0 or len(returns) < 2:
        return None
    return ScenarioRisk(columns, returns[:, columns])


class RiskModel(Protocol):
    name: str

    def estimate(self, returns: np.ndarray) -> CovarianceEstimate: ...


def _checked(returns: np.ndarray, minimum_days: int = 2) -> np.ndarray:
    returns = np.asarray(returns, dtype=float)
    if returns.ndim != 2:
        raise ValueError(f"returns: need a (days x instruments) array, got {returns.ndim} dims")
    days, instruments = returns.shape
    if instruments == 0:
        raise ValueError("returns: no instruments")
    if days < minimum_days:
        raise ValueError(f"returns: need at least {minimum_days} days, got {days}")
    bad = ~np.isfinite(returns)
    if bad.any():
        columns = np.flatnonzero(bad.any(axis=0))
        raise ValueError(
            f"returns: {int(bad.sum())} values are NaN or infinite, in instrument columns "
            f"{columns[:10].tolist()}{' ...' if len(columns) > 10 else ''}; leave out instruments "
            "without a full history"
        )
    return returns


class SampleCovariance:
    name = "sample"

    def estimate(self, returns: np.ndarray) -> CovarianceEstimate:
        returns = _checked(returns)
        return CovarianceEstimate(
            self.name, len(returns), np.atleast_2d(np.cov(returns, rowvar=False, ddof=1))
        )


class LedoitWolfShrinkage:
    """``(1 - delta) S + delta mu I``, with ``S`` the maximum-likelihood covariance (divided by
    ``T``), ``mu = trace(S) / N`` and ``delta = min(1, b2 / d2)``, where ``d2 = ||S - mu I||^2``
    and ``b2 = min(d2, (1 / T^2) sum_t ||x_t x_t' - S||^2)`` (Frobenius norms over ``N``)."""

    name = "ledoit_wolf"

    def estimate(self, returns: np.ndarray) -> CovarianceEstimate:
        returns = _checked(returns)
        days, n = returns.shape
        centred = returns - returns.mean(axis=0)
        sample = centred.T @ centred / days
        mu = np.trace(sample) / n
        target_gap = sample - mu * np.eye(n)
        d2 = (target_gap**2).sum() / n
        # sum_t ||x_t x_t' - S||^2 = sum_t ||x_t||^4 - T ||S||^2, without forming T outer products.
        squared_norms = (centred**2).sum(axis=1)
        b2_bar = ((squared_norms**2).sum() - days * (sample**2).sum()) / (days**2 * n)
        b2 = min(d2, max(b2_bar, 0.0))
        shrinkage = b2 / d2 if d2 > 0 else 1.0
        shrunk = (1.0 - shrinkage) * sample + shrinkage * mu * np.eye(n)
        return CovarianceEstimate(self.name, days, shrunk)


class EwmaCovariance:
    """Weights ``w_t`` proportional to ``0.5 ** (age_t / halflife_days)`` (age 0 for the newest
    day), normalised to sum to 1; the covariance about the weighted mean is divided by
    ``1 - sum w_t^2``, the unbiased correction for reliability weights."""

    name = "ewma"

    def __init__(self, halflife_days: float = 63.0) -> None:
        if not halflife_days > 0:
            raise ValueError(f"halflife_days: {halflife_days} must be positive")
        self.halflife_days = halflife_days

    def estimate(self, returns: np.ndarray) -> CovarianceEstimate:
        returns = _checked(returns)
        days = len(returns)
        age = np.arange(days - 1, -1, -1, dtype=float)
        weights = 0.5 ** (age / self.halflife_days)
        weights /= weights.sum()
        centred = returns - weights @ returns
        covariance = (centred * weights[:, None]).T @ centred / (1.0 - (weights**2).sum())
        return CovarianceEstimate(self.name, days, covariance)


class PcaFactorModel:
    """The ``k`` largest eigenpairs ``(lambda_j, v_j)`` of the sample covariance ``S`` are the
    factors: exposures ``B = [v_1 .. v_k]``, factor covariance ``F = diag(lambda)``; the specific
    variance is what they leave of each instrument's variance, ``D = diag(S - B F B')``, floored
    at ``specific_floor`` times the average variance so that no instrument looks riskless."""

    name = "pca"

    def __init__(self, factors: int = 5, specific_floor: float = 1e-4) -> None:
        if factors < 1:
            raise ValueError(f"factors: {factors} must be at least 1")
        self.factors = factors
        self.specific_floor = specific_floor

    def estimate(self, returns: np.ndarray) -> CovarianceEstimate:
        returns = _checked(returns)
        days, n = returns.shape
        # The eigenpairs of S = X'X / (T - 1) from the thin SVD of the centred returns X: the
        # same factors as eigh(S), without forming S (T x N instead of N x N work; T << N).
        centred = returns - returns.mean(axis=0)
        _, singular, rows = np.linalg.svd(centred, full_matrices=False)
        k = min(self.factors, n, len(singular))
        exposures = rows[:k].T
        factor_variance = singular[:k] ** 2 / (days - 1)
        variance = (centred**2).sum(axis=0) / (days - 1)
        explained = (exposures**2) @ factor_variance
        floor = self.specific_floor * float(np.mean(variance))
        specific = np.maximum(variance - explained, floor)
        return CovarianceEstimate(
            self.name,
            len(returns),
            exposures=exposures,
            factor_covariance=np.diag(factor_variance),
            specific_variance=specific,
        )


_CACHE_SIZE = 16
_cache: OrderedDict[tuple[object, ...], CovarianceEstimate] = OrderedDict()
_cache_lock = threading.Lock()


def cached_estimate(
    model: RiskModel, trailing: TrailingReturns, columns: np.ndarray | None = None
) -> CovarianceEstimate:
    """``model.estimate(trailing.returns[:, columns])`` (all columns when None), computed once
    for equal inputs: portfolios sharing a universe and a look-back (and a cycle's allocation
    and its impact assessment) reuse it. The key is the model's settings, the returns' digest
    and the column indices, so a hit is the same estimate."""
    settings = (type(model).__name__, tuple(sorted(vars(model).items())))
    picked = trailing.returns if columns is None else trailing.returns[:, columns]
    chosen = b"" if columns is None else np.asarray(columns, dtype=np.int64).tobytes()
    key = (*settings, trailing.returns.shape, trailing.digest, chosen)
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None:
            _cache.move_to_end(key)
            return hit
    estimate = model.estimate(np.ascontiguousarray(picked, dtype=float))
    with _cache_lock:
        _cache[key] = estimate
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return estimate


def make_risk_model(name: str, halflife_days: float = 63.0, factors: int = 5) -> RiskModel:
    if name == "sample":
        return SampleCovariance()
    if name == "ledoit_wolf":
        return LedoitWolfShrinkage()
    if name == "ewma":
        return EwmaCovariance(halflife_days)
    if name == "pca":
        return PcaFactorModel(factors)
    raise ValueError(f"risk_model: {name!r} is not one of sample, ledoit_wolf, ewma, pca")
