"""Signal coordination: many sources' views of an instrument become one view per portfolio.

Three steps, each a small object:

1. ``TimeframeBlend`` combines one source's horizons. Each raw view's confidence decays with its
   age, ``c * 0.5 ** (age / half_life)``, and counts with its horizon weight ``h``. The source's
   score is ``S = sum h c' s / sum h c'`` and its confidence ``C = sum h c' / sum h`` over the
   horizons it publishes, so a fresh short-term view and a persistent long-term one combine by
   their weights, and a view that has aged one half-life counts half.
2. A policy (``ConfidenceBlend``, ``PriorityRule``, ``MajorityVote``) combines the sources with
   their weights ``w`` (configured, times the quality multiplier) and priorities.
3. Vetoes and manual overrides: a veto source that disagrees with the result with enough
   confidence blocks the instrument; a manual pin or veto has the last word.

A conflict is an instrument on which two sources with a view point in opposite directions; each is
recorded with what every source said and how the policy ruled. Lineage keeps, per instrument, the
share of the final score each raw ``source/horizon`` view had.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Protocol

import numpy as np

from engine.model import Conflict, CoordinatedSignals, SignalBatch, SourceView
from engine.signals.book import Override
from engine.signals.horizons import horizon_days

MAX_CONFLICTS_RECORDED = 200


def default_half_life_days(horizon: str) -> float:
    """Half the horizon, at least one day: a view is worth half as much midway through."""
    return max(1.0, horizon_days(horizon) / 2.0)


class TimeframeBlend:
    def __init__(
        self,
        horizon_weights: Mapping[str, float] | None = None,
        half_life_days: Mapping[str, float] | None = None,
    ) -> None:
        self.horizon_weights = dict(horizon_weights or {})
        self.half_life_days = dict(half_life_days or {})

    def weight(self, horizon: str) -> float:
        return self.horizon_weights.get(horizon, 1.0)

    def half_life(self, horizon: str) -> float:
        return self.half_life_days.get(horizon) or default_half_life_days(horizon)

    def combine(
        self, batches: Sequence[SignalBatch]
    ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """One source's (score, confidence, share of each horizon) per instrument."""
        weights = np.array([self.weight(b.horizon) for b in batches])
        effective = np.empty((len(batches), len(batches[0].score)))
        for k, batch in enumerate(batches):
            decay = 1.0
            if batch.age_days is not None:
                decay = np.power(0.5, batch.age_days / self.half_life(batch.horizon))
            effective[k] = weights[k] * batch.confidence * decay
        total = effective.sum(axis=0)
        safe = np.where(total > 0, total, 1.0)
        scores = np.array([b.score for b in batches])
        score = np.where(total > 0, (effective * scores).sum(axis=0) / safe, 0.0)
        confidence = total / weights.sum() if weights.sum() > 0 else np.zeros_like(total)
        shares = {
            b.key: np.where(total > 0, effective[k] / safe, 0.0) for k, b in enumerate(batches)
        }
        return score, confidence, shares


class SourcePolicy(Protocol):
    name: str

    def combine(
        self, score: np.ndarray, confidence: np.ndarray, weight: np.ndarray, priority: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(score, confidence, share of each source) from per-source arrays of shape (K, N)."""
        ...

    def resolution(
        self, views: Sequence[SourceView], score: float, confidence: float, share: np.ndarray
    ) -> str: ...


def _has_view(score: np.ndarray, confidence: np.ndarray) -> np.ndarray:
    return (confidence > 0) & (score != 0)


class ConfidenceBlend:
    """``s = sum w c s / sum w c``; confidence ``sum w c / sum w`` (a lone confident source among
    silent ones is trusted less than the same view shared by all)."""

    name = "confidence_blend"

    def combine(
        self, score: np.ndarray, confidence: np.ndarray, weight: np.ndarray, priority: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        wc = weight[:, None] * confidence
        total = wc.sum(axis=0)
        safe = np.where(total > 0, total, 1.0)
        blended = np.where(total > 0, (wc * score).sum(axis=0) / safe, 0.0)
        share = np.where(total > 0, wc / safe, 0.0)
        return blended, total / weight.sum(), share

    def resolution(
        self, views: Sequence[SourceView], score: float, confidence: float, share: np.ndarray
    ) -> str:
        return f"blend: net {score:+.3f} at confidence {confidence:.2f}"


class PriorityRule:
    """The source with the highest effective priority (configured priority times the quality
    multiplier) among those with a view wins outright; ties go to the larger ``w * c``."""

    name = "priority"

    def combine(
        self, score: np.ndarray, confidence: np.ndarray, weight: np.ndarray, priority: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        with_view = confidence > 0
        # Lexicographic: priority first, then weight x confidence within [0, 1) as a tie-break.
        tie = weight[:, None] * confidence
        rank = np.where(
            with_view, priority[:, None] + tie / (1.0 + tie.max(initial=0.0)) * 1e-6, -np.inf
        )
        winner = np.argmax(rank, axis=0)
        any_view = with_view.any(axis=0)
        columns = np.arange(score.shape[1])
        share = np.zeros_like(score)
        share[winner, columns] = 1.0
        share[:, ~any_view] = 0.0
        return (
            np.where(any_view, score[winner, columns], 0.0),
            np.where(any_view, confidence[winner, columns], 0.0),
            share,
        )

    def resolution(
        self, views: Sequence[SourceView], score: float, confidence: float, share: np.ndarray
    ) -> str:
        winner = views[int(np.argmax(share))]
        return f"priority: {winner.source} (priority {winner.priority:.3g}) wins with {score:+.3f}"


class MajorityVote:
    """Each source with a view votes long or short with its weight. If the larger side holds at
    least ``min_agreement`` of the votes, the result is the confidence blend of that side, its
    confidence scaled by the agreement; otherwise no view (score 0)."""

    name = "majority_vote"

    def __init__(self, min_agreement: float) -> None:
        if not 0.5 <= min_agreement <= 1.0:
            raise ValueError(f"min_agreement: {min_agreement} must be between 0.5 and 1")
        self.min_agreement = min_agreement

    def _sides(
        self, score: np.ndarray, confidence: np.ndarray, weight: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        voting = _has_view(score, confidence)
        long_votes = (weight[:, None] * (voting & (score > 0))).sum(axis=0)
        short_votes = (weight[:, None] * (voting & (score < 0))).sum(axis=0)
        total = long_votes + short_votes
        agreement = np.where(
            total > 0, np.maximum(long_votes, short_votes) / np.where(total > 0, total, 1), 0.0
        )
        side = np.where(long_votes > short_votes, 1.0, np.where(short_votes > long_votes, -1.0, 0))
        return agreement, side, voting

    def combine(
        self, score: np.ndarray, confidence: np.ndarray, weight: np.ndarray, priority: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        agreement, side, voting = self._sides(score, confidence, weight)
        passed = (side != 0) & (agreement >= self.min_agreement - 1e-12)
        on_side = voting & (np.sign(score) == side) & passed
        wc = np.where(on_side, weight[:, None] * confidence, 0.0)
        total = wc.sum(axis=0)
        safe = np.where(total > 0, total, 1.0)
        blended = np.where(total > 0, (wc * score).sum(axis=0) / safe, 0.0)
        side_weight = np.where(on_side, weight[:, None], 0.0).sum(axis=0)
        side_confidence = total / np.where(side_weight > 0, side_weight, 1.0)
        return blended, side_confidence * agreement, np.where(total > 0, wc / safe, 0.0)

    def resolution(
        self, views: Sequence[SourceView], score: float, confidence: float, share: np.ndarray
    ) -> str:
        long_votes = sum(v.weight for v in views if v.score > 0)
        short_votes = sum(v.weight for v in views if v.score < 0)
        total = long_votes + short_votes
        agreement = max(long_votes, short_votes) / total if total > 0 else 0.0
        direction = (
            "long" if long_votes > short_votes else "short" if short_votes > long_votes else "split"
        )
        if score == 0:
            return f"vote: {agreement:.0%} {direction} is below {self.min_agreement:.0%}: no view"
        return f"vote: {agreement:.0%} {direction} (at least {self.min_agreement:.0%})"


def make_policy(name: str, min_agreement: float = 0.6) -> SourcePolicy:
    if name == "confidence_blend":
        return ConfidenceBlend()
    if name == "priority":
        return PriorityRule()
    if name == "majority_vote":
        return MajorityVote(min_agreement)
    raise ValueError(f"policy: {name!r} is not one of confidence_blend, priority, majority_vote")


class SignalCoordinator:
    """One portfolio's coordination: its sources, weights, priorities, policy and vetoes.

    Only subscribed sources and instruments in the portfolio's universe reach it: everything else is
    no view (score 0, confidence 0).
    """

    def __init__(
        self,
        portfolio_id: str,
        sources: Sequence[str],
        policy: SourcePolicy,
        source_weights: Mapping[str, float] | None = None,
        source_priorities: Mapping[str, float] | None = None,
        timeframes: TimeframeBlend | None = None,
        veto_sources: Sequence[str] = (),
        veto_min_confidence: float = 0.5,
    ) -> None:
        if not sources:
            raise ValueError(f"sources: portfolio {portfolio_id} needs at least one signal source")
        self.portfolio_id = portfolio_id
        self.sources = tuple(sources)
        self.policy = policy
        self.weights = {name: float((source_weights or {}).get(name, 1.0)) for name in sources}
        self.priorities = {
            name: float((source_priorities or {}).get(name, 1.0)) for name in sources
        }
        self.timeframes = timeframes or TimeframeBlend()
        self.veto_sources = tuple(veto_sources)
        self.veto_min_confidence = veto_min_confidence

    @property
    def subscribed(self) -> tuple[str, ...]:
        return self.sources + tuple(v for v in self.veto_sources if v not in self.sources)

    def coordinate(
        self,
        batches: Sequence[SignalBatch],
        symbols: Sequence[str],
        timestamp: date,
        universe: np.ndarray | None = None,
        multipliers: Mapping[str, float] | None = None,
        overrides: Sequence[Override] = (),
    ) -> CoordinatedSignals:
        n = len(symbols)
        in_universe = np.ones(n, dtype=bool) if universe is None else universe
        by_source: dict[str, list[SignalBatch]] = {}
        for batch in batches:
            if batch.source in self.subscribed:
                by_source.setdefault(batch.source, []).append(batch)
        multipliers = multipliers or {}

        scores = np.zeros((len(self.sources), n))
        confidences = np.zeros((len(self.sources), n))
        horizon_shares: list[dict[str, np.ndarray]] = []
        for k, name in enumerate(self.sources):
            if name in by_source:
                s, c, shares = self.timeframes.combine(by_source[name])
                scores[k], confidences[k] = s, c
            else:
                shares = {}
            horizon_shares.append(shares)
        confidences[:, ~in_universe] = 0.0
        scores[:, ~in_universe] = 0.0
        weight = np.array([self.weights[s] * multipliers.get(s, 1.0) for s in self.sources])
        priority = np.array([self.priorities[s] * multipliers.get(s, 1.0) for s in self.sources])
        score, confidence, share = self.policy.combine(scores, confidences, weight, priority)

        lineage: dict[str, np.ndarray] = {}
        for k, shares in enumerate(horizon_shares):
            for key, horizon_share in shares.items():
                lineage[key] = share[k] * horizon_share

        resolutions: dict[int, str] = {}
        with_view = _has_view(scores, confidences)
        conflicted = np.flatnonzero(
            (with_view & (scores > 0)).any(0) & (with_view & (scores < 0)).any(0)
        )

        vetoed = np.zeros(n, dtype=bool)
        for name in self.veto_sources:
            if name not in by_source:
                continue
            s_v, c_v, _ = self.timeframes.combine(by_source[name])
            blocks = (
                in_universe
                & (c_v >= self.veto_min_confidence)
                & (confidence > 0)
                & (np.sign(s_v) != np.sign(score))
            )
            for i in np.flatnonzero(blocks & ~vetoed):
                resolutions[i] = f"vetoed by {name} ({s_v[i]:+.2f} at confidence {c_v[i]:.2f})"
            vetoed |= blocks

        pinned = np.zeros(n, dtype=bool)
        index = {symbol: i for i, symbol in enumerate(symbols)}
        for override in overrides:
            i = index.get(override.symbol)
            if i is None or not override.applies_to(self.portfolio_id) or not in_universe[i]:
                continue
            if override.kind == "veto":
                vetoed[i] = True
                pinned[i] = False
                resolutions[i] = f"vetoed by manual override {override.override_id}"
            else:
                pinned[i] = True
                vetoed[i] = False
                score[i], confidence[i] = override.score, override.confidence
                resolutions[i] = f"pinned by manual override {override.override_id}"
        blocked_or_pinned = vetoed | pinned
        if blocked_or_pinned.any():
            score = np.where(vetoed, 0.0, score)
            confidence = np.where(vetoed, 0.0, confidence)
            for key in lineage:
                lineage[key] = np.where(blocked_or_pinned, 0.0, lineage[key])
            if pinned.any():
                lineage["manual/override"] = pinned.astype(float)

        conflicts = []
        recorded = conflicted[:MAX_CONFLICTS_RECORDED]
        # Rounded once, as plain floats, for the audit record (and its JSON event).
        source_scores = np.round(scores[:, recorded], 6).tolist()
        source_confidences = np.round(confidences[:, recorded], 6).tolist()
        weights_r = np.round(weight, 6).tolist()
        priorities_r = np.round(priority, 6).tolist()
        results = np.round(score[recorded], 6).tolist()
        result_confidences = np.round(confidence[recorded], 6).tolist()
        for j, i in enumerate(recorded):
            speaking = [k for k in range(len(self.sources)) if source_confidences[k][j] > 0]
            views = tuple(
                SourceView(
                    self.sources[k],
                    source_scores[k][j],
                    source_confidences[k][j],
                    weights_r[k],
                    priorities_r[k],
                )
                for k in speaking
            )
            resolution = resolutions.get(i) or self.policy.resolution(
                views, results[j], result_confidences[j], share[speaking, i]
            )
            conflicts.append(
                Conflict(
                    self.portfolio_id,
                    symbols[i],
                    views,
                    self.policy.name,
                    results[j],
                    result_confidences[j],
                    resolution,
                )
            )
        return CoordinatedSignals(
            self.portfolio_id,
            self.policy.name,
            self.sources,
            timestamp,
            score,
            confidence,
            lineage,
            tuple(conflicts),
            len(conflicted),
            vetoed,
            pinned,
        )
