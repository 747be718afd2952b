"""Validation of signals submitted from outside the engine (HTTP, files, feeds).

``SignalValidator.check`` turns one raw mapping (parsed JSON, or a CSV row whose numbers were
parsed) into a ``Signal`` or raises ``SignalRejected`` naming the field, the rule and the value.
The checks, in order: only known fields, every required field present, types (strings are strings,
numbers are numbers and not booleans), finite numbers, score in [-1, 1], confidence in [0, 1], a
registered external source, a known instrument, a valid horizon the source may use, a date, not
after the engine's market date, not older than its time-to-live.

Duplicate ids and the per-source rate are the intake's business (``SignalIntake``): they depend on
what was accepted before, which only the engine thread knows.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from engine.model import Signal
from engine.signals.horizons import age_days, canonical

REQUIRED_FIELDS = ("id", "source", "instrument", "timestamp", "horizon", "score", "confidence")
OPTIONAL_FIELDS = ("ttl_days",)
MAX_ID_LENGTH = 128
MAX_TTL_DAYS = 2520


class SignalRejected(ValueError):
    """A signal broke a rule: ``field`` names where, ``reason`` says which rule."""

    def __init__(self, field: str, reason: str, value: object = None) -> None:
        self.field = field
        self.reason = reason
        self.value = value
        super().__init__(f"{field}: {reason}")


@dataclass(frozen=True, slots=True)
class ExternalSourceSpec:
    """What a registered external source may send: its horizons (empty: any) and default TTL."""

    name: str
    default_ttl_days: int
    horizons: frozenset[str] = frozenset()
    max_signals_per_minute: int = 6000


def _text(raw: Mapping[str, Any], field: str) -> str:
    value = raw[field]
    if not isinstance(value, str):
        raise SignalRejected(field, f"must be a string, got {type(value).__name__}", value)
    if not value.strip():
        raise SignalRejected(field, "must not be empty", value)
    return value.strip()


def _number(raw: Mapping[str, Any], field: str, low: float, high: float) -> float:
    value = raw[field]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SignalRejected(field, f"must be a number, got {type(value).__name__}", value)
    try:
        number = float(value)
    except OverflowError:
        raise SignalRejected(field, "must be a finite number", value) from None
    if not math.isfinite(number):
        raise SignalRejected(field, "must be a finite number", value)
    if not low <= number <= high:
        raise SignalRejected(field, f"must be between {low:g} and {high:g}", value)
    return number


def _timestamp(raw: Mapping[str, Any]) -> date:
    value = raw["timestamp"]
    if not isinstance(value, str):
        raise SignalRejected(
            "timestamp", f"must be an ISO date string, got {type(value).__name__}", value
        )
    try:
        if len(value.strip()) == 10:
            return date.fromisoformat(value.strip())
        return datetime.fromisoformat(value.strip()).date()
    except ValueError:
        raise SignalRejected(
            "timestamp", "is not an ISO date (YYYY-MM-DD) or date-time", value
        ) from None


class SignalValidator:
    def __init__(self, symbols: Collection[str], sources: Mapping[str, ExternalSourceSpec]) -> None:
        self.symbols = frozenset(symbols)
        self.sources = dict(sources)

    def check(self, raw: object, market_date: date | None) -> Signal:
        """The valid ``Signal`` in ``raw``, or ``SignalRejected`` for the first rule it breaks."""
        if not isinstance(raw, Mapping):
            raise SignalRejected(
                "(signal)", f"must be a JSON object, got {type(raw).__name__}", raw
            )
        unknown = sorted(str(k) for k in raw if k not in REQUIRED_FIELDS + OPTIONAL_FIELDS)
        if unknown:
            raise SignalRejected(
                unknown[0],
                f"unknown field; a signal has {', '.join(REQUIRED_FIELDS + OPTIONAL_FIELDS)}",
            )
        for field in REQUIRED_FIELDS:
            if field not in raw or raw[field] is None:
                raise SignalRejected(field, "is required")
        signal_id = _text(raw, "id")
        if len(signal_id) > MAX_ID_LENGTH:
            raise SignalRejected("id", f"is longer than {MAX_ID_LENGTH} characters", signal_id)
        source = _text(raw, "source")
        symbol = _text(raw, "instrument")
        horizon_text = _text(raw, "horizon")
        score = _number(raw, "score", -1.0, 1.0)
        confidence = _number(raw, "confidence", 0.0, 1.0)
        timestamp = _timestamp(raw)
        spec = self.sources.get(source)
        if spec is None:
            known = ", ".join(sorted(self.sources)) or "none are configured"
            raise SignalRejected("source", f"is not a registered external source ({known})", source)
        if symbol not in self.symbols:
            raise SignalRejected("instrument", "is not in the market data's universe", symbol)
        try:
            horizon = canonical(horizon_text)
        except ValueError as exc:
            raise SignalRejected("horizon", str(exc), horizon_text) from None
        if spec.horizons and horizon not in spec.horizons:
            allowed = ", ".join(sorted(spec.horizons))
            raise SignalRejected(
                "horizon", f"is not one source {source} may send ({allowed})", horizon_text
            )
        ttl_days = spec.default_ttl_days
        if raw.get("ttl_days") is not None:
            ttl = raw["ttl_days"]
            if (
                isinstance(ttl, bool)
                or not isinstance(ttl, int | float)
                or (isinstance(ttl, float) and not ttl.is_integer())
            ):
                raise SignalRejected("ttl_days", "must be a whole number of business days", ttl)
            if not 1 <= ttl <= MAX_TTL_DAYS:
                raise SignalRejected("ttl_days", f"must be between 1 and {MAX_TTL_DAYS}", ttl)
            ttl_days = int(ttl)
        if market_date is None:
            raise SignalRejected(
                "timestamp", "cannot be checked yet: the engine has not completed a cycle"
            )
        if timestamp > market_date:
            raise SignalRejected(
                "timestamp",
                f"is after the engine's market date {market_date} (a signal from the future)",
                raw["timestamp"],
            )
        age = age_days(timestamp, market_date)
        if age > ttl_days:
            raise SignalRejected(
                "timestamp",
                f"is stale: {age} business days before the market date {market_date}, "
                f"beyond its ttl_days {ttl_days}",
                raw["timestamp"],
            )
        return Signal(signal_id, source, symbol, timestamp, horizon, score, confidence, ttl_days)


class RateLimiter:
    """At most ``limit`` signals per source in any sliding 60-second window of wall time."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._accepted: dict[str, deque[float]] = {}

    def allow(self, source: str, limit: int) -> bool:
        now = self._clock()
        recent = self._accepted.setdefault(source, deque())
        while recent and now - recent[0] >= 60.0:
            recent.popleft()
        if len(recent) >= limit:
            return False
        recent.append(now)
        return True
