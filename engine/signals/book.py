"""The live external signals and manual overrides: part of the engine state, folded from events.

``SignalBook`` keeps the latest signal per (source, instrument, horizon) until its time-to-live
runs out, and the ids it has seen while they could still be valid, so a resubmission is a no-op.
``Override`` is a portfolio manager's pin (force a score) or veto (block an instrument), for one
portfolio or all (``portfolio_id = "*"``), until it expires or is lifted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np

from engine.model import Signal, SignalBatch
from engine.signals.horizons import age_days, business_days_after

ALL_PORTFOLIOS = "*"


def expiry_date(signal: Signal) -> date:
    """The last business day on which the signal still counts."""
    return business_days_after(signal.timestamp, signal.ttl_days)


class SignalBook:
    def __init__(self) -> None:
        self._latest: dict[tuple[str, str, str], Signal] = {}
        self._seen: dict[str, date] = {}
        self._batches: tuple[SignalBatch, ...] | None = None

    def __len__(self) -> int:
        return len(self._latest)

    def seen(self, signal_id: str) -> bool:
        return signal_id in self._seen

    def add(self, signal: Signal) -> None:
        """The newest view of a (source, instrument, horizon) replaces an older one."""
        self._seen[signal.signal_id] = expiry_date(signal)
        key = (signal.source, signal.symbol, signal.horizon)
        current = self._latest.get(key)
        if current is None or signal.timestamp >= current.timestamp:
            self._latest[key] = signal
            self._batches = None

    def prune(self, market_date: date) -> None:
        """Forget signals (and their ids) whose time-to-live ended before ``market_date``."""
        expired = [k for k, s in self._latest.items() if expiry_date(s) < market_date]
        for key in expired:
            del self._latest[key]
        if expired:
            self._batches = None
        for signal_id in [i for i, until in self._seen.items() if until < market_date]:
            del self._seen[signal_id]

    def signals(self) -> Iterable[Signal]:
        return self._latest.values()

    def batches(
        self, symbol_index: Mapping[str, int], market_date: date
    ) -> tuple[SignalBatch, ...]:
        """The book as one batch per (source, horizon), with each view's age in business days."""
        if self._batches is not None and self._batches[0].timestamp == market_date:
            return self._batches
        n = len(symbol_index)
        grouped: dict[tuple[str, str], list[Signal]] = {}
        for signal in self._latest.values():
            grouped.setdefault((signal.source, signal.horizon), []).append(signal)
        batches = []
        for (source, horizon), signals in sorted(grouped.items()):
            score, confidence, age = np.zeros(n), np.zeros(n), np.zeros(n)
            for signal in signals:
                i = symbol_index[signal.symbol]
                score[i] = signal.score
                confidence[i] = signal.confidence
                age[i] = max(0, age_days(signal.timestamp, market_date))
            batches.append(SignalBatch(source, horizon, market_date, score, confidence, age))
        self._batches = tuple(batches) if batches else None
        return tuple(batches)

    def to_dict(self) -> dict[str, Any]:
        return {
            "latest": [_signal_to_list(s) for s in self._latest.values()],
            "seen": {i: d.isoformat() for i, d in sorted(self._seen.items())},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SignalBook:
        book = cls()
        for row in data["latest"]:
            signal = signal_from_list(row)
            book._latest[(signal.source, signal.symbol, signal.horizon)] = signal
        book._seen = {i: date.fromisoformat(d) for i, d in data["seen"].items()}
        return book


def _signal_to_list(signal: Signal) -> list[Any]:
    return [
        signal.signal_id,
        signal.source,
        signal.symbol,
        signal.timestamp.isoformat(),
        signal.horizon,
        signal.score,
        signal.confidence,
        signal.ttl_days,
    ]


def signal_from_list(row: list[Any]) -> Signal:
    signal_id, source, symbol, timestamp, horizon, score, confidence, ttl = row
    return Signal(
        signal_id,
        source,
        symbol,
        date.fromisoformat(timestamp),
        horizon,
        float(score),
        float(confidence),
        int(ttl),
    )


def signal_payload(signal: Signal) -> dict[str, Any]:
    """A signal as an event payload (JSON values)."""
    return {
        "signal_id": signal.signal_id,
        "source": signal.source,
        "instrument": signal.symbol,
        "timestamp": signal.timestamp.isoformat(),
        "horizon": signal.horizon,
        "score": signal.score,
        "confidence": signal.confidence,
        "ttl_days": signal.ttl_days,
    }


def signal_from_payload(payload: Mapping[str, Any]) -> Signal:
    return Signal(
        payload["signal_id"],
        payload["source"],
        payload["instrument"],
        date.fromisoformat(payload["timestamp"]),
        payload["horizon"],
        float(payload["score"]),
        float(payload["confidence"]),
        int(payload["ttl_days"]),
    )


@dataclass(frozen=True, slots=True)
class Override:
    """A manual pin (``score``/``confidence`` forced) or veto (instrument blocked: score 0).

    ``expires_on`` is the last market date it applies to (None: until lifted).
    """

    override_id: str
    kind: str  # "pin" or "veto"
    portfolio_id: str  # a portfolio id, or "*" for every portfolio
    symbol: str
    score: float
    confidence: float
    expires_on: date | None
    actor: str
    reason: str
    set_on: date | None = None

    def applies_to(self, portfolio_id: str) -> bool:
        return self.portfolio_id in (ALL_PORTFOLIOS, portfolio_id)

    def payload(self) -> dict[str, Any]:
        return {
            "override_id": self.override_id,
            "kind": self.kind,
            "portfolio_id": self.portfolio_id,
            "instrument": self.symbol,
            "score": self.score,
            "confidence": self.confidence,
            "expires_on": self.expires_on.isoformat() if self.expires_on else None,
            "reason": self.reason,
            "set_on": self.set_on.isoformat() if self.set_on else None,
        }

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any], actor: str) -> Override:
        expires = payload.get("expires_on")
        set_on = payload.get("set_on")
        return cls(
            payload["override_id"],
            payload["kind"],
            payload["portfolio_id"],
            payload["instrument"],
            float(payload["score"]),
            float(payload["confidence"]),
            date.fromisoformat(expires) if expires else None,
            actor,
            payload["reason"],
            date.fromisoformat(set_on) if set_on else None,
        )
