"""The front door for external signals: validate, drop duplicates, bound each source's rate.

``SignalIntake.review`` decides, for each raw signal of a submission, ``accepted``, ``rejected``
(with the field and the reason) or ``duplicate`` (an id already accepted and still live: ignored,
so a client can safely resubmit after a timeout). It changes nothing: the ``SignalDesk`` turns the
outcomes into ``SignalReceived`` and ``SignalRejected`` events.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from engine.model import Signal
from engine.signals.validation import (
    ExternalSourceSpec,
    RateLimiter,
    SignalRejected,
    SignalValidator,
)

MAX_VALUE_CHARS = 200


@dataclass(frozen=True, slots=True)
class SignalOutcome:
    index: int
    status: str  # "accepted", "rejected" or "duplicate"
    signal_id: str | None
    source: str | None = None
    instrument: str | None = None
    field: str | None = None
    reason: str | None = None
    value: str | None = None
    signal: Signal | None = None

    def as_json(self) -> dict[str, object]:
        answer: dict[str, object] = {
            "index": self.index,
            "id": self.signal_id,
            "status": self.status,
        }
        if self.status == "rejected":
            answer.update(field=self.field, reason=self.reason)
        return answer


def _text_or_none(raw: object, key: str) -> str | None:
    if isinstance(raw, Mapping) and isinstance(raw.get(key), str):
        return raw[key][:MAX_VALUE_CHARS]
    return None


class SignalIntake:
    def __init__(
        self,
        validator: SignalValidator,
        sources: Mapping[str, ExternalSourceSpec],
        rate: RateLimiter | None = None,
    ) -> None:
        self.validator = validator
        self.sources = dict(sources)
        self.rate = rate or RateLimiter()

    def review(
        self, raws: Iterable[object], market_date: date | None, seen: Callable[[str], bool]
    ) -> list[SignalOutcome]:
        outcomes = []
        accepted_now: set[str] = set()
        for index, raw in enumerate(raws):
            signal_id = _text_or_none(raw, "id")
            try:
                signal = self.validator.check(raw, market_date)
                if seen(signal.signal_id) or signal.signal_id in accepted_now:
                    outcomes.append(SignalOutcome(index, "duplicate", signal.signal_id))
                    continue
                limit = self.sources[signal.source].max_signals_per_minute
                if not self.rate.allow(signal.source, limit):
                    raise SignalRejected(
                        "source",
                        f"is over its rate limit of {limit} signals per minute; resubmit later",
                        signal.source,
                    )
            except Exception as error:
                # Whatever a client sends must end as a rejection of that signal alone, never as
                # a failure of the whole submission.
                rejection = (
                    error
                    if isinstance(error, SignalRejected)
                    else SignalRejected("(signal)", f"could not be read: {type(error).__name__}")
                )
                outcomes.append(
                    SignalOutcome(
                        index,
                        "rejected",
                        signal_id,
                        _text_or_none(raw, "source"),
                        _text_or_none(raw, "instrument"),
                        rejection.field,
                        rejection.reason,
                        repr(rejection.value)[:MAX_VALUE_CHARS]
                        if rejection.value is not None
                        else "",
                    )
                )
                continue
            accepted_now.add(signal.signal_id)
            outcomes.append(
                SignalOutcome(
                    index, "accepted", signal.signal_id, signal.source, signal.symbol, signal=signal
                )
            )
        return outcomes
