"""Validation of external signals: every valid signal is accepted, nothing malformed gets through.

The property tests generate signals from the schema's own rules (valid) and then break exactly one
rule (invalid); the validator must accept the first and reject the second naming the broken field.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.signals.intake import SignalIntake
from engine.signals.validation import (
    ExternalSourceSpec,
    RateLimiter,
    SignalRejected,
    SignalValidator,
)

SYMBOLS = ("AAPL", "MSFT", "JPM", "KO")
MARKET_DATE = date(2015, 6, 17)  # a Wednesday
SOURCES = {
    "desk": ExternalSourceSpec("desk", default_ttl_days=5),
    "weekly": ExternalSourceSpec("weekly", default_ttl_days=10, horizons=frozenset({"1w"})),
}
VALIDATOR = SignalValidator(SYMBOLS, SOURCES)


def _business_days_before(days: int) -> date:
    return np.busday_offset(MARKET_DATE, -days, roll="backward").astype(date)


valid_signals = st.fixed_dictionaries(
    {
        "id": st.text(min_size=1, max_size=40).filter(lambda s: s.strip() != ""),
        "source": st.just("desk"),
        "instrument": st.sampled_from(SYMBOLS),
        "timestamp": st.integers(0, 5).map(lambda d: _business_days_before(d).isoformat()),
        "horizon": st.sampled_from(["1d", "1w", "2w", "1m", "3m", "6m", "1y", "20d"]),
        "score": st.floats(-1.0, 1.0, allow_nan=False),
        "confidence": st.floats(0.0, 1.0, allow_nan=False),
    },
    optional={"ttl_days": st.integers(5, 2520)},
)


@settings(max_examples=300, deadline=None)
@given(valid_signals)
def test_every_valid_signal_is_accepted_as_sent(raw: dict[str, Any]) -> None:
    signal = VALIDATOR.check(raw, MARKET_DATE)
    assert signal.signal_id == raw["id"].strip()
    assert signal.symbol == raw["instrument"]
    assert signal.score == raw["score"] and signal.confidence == raw["confidence"]
    assert signal.timestamp == date.fromisoformat(raw["timestamp"])
    assert signal.ttl_days == raw.get("ttl_days", 5)


def _break(field: str, value: object):
    return valid_signals.map(lambda raw: {**raw, field: value})


BAD_VALUES = st.one_of(
    # (field the validator must name, strategy of signals broken in that field)
    st.tuples(st.just("score"), st.floats(allow_nan=True).filter(lambda x: not -1 <= x <= 1)),
    st.tuples(
        st.just("score"), st.one_of(st.text(), st.booleans(), st.none(), st.lists(st.integers()))
    ),
    st.tuples(st.just("confidence"), st.floats(allow_nan=True).filter(lambda x: not 0 <= x <= 1)),
    st.tuples(st.just("confidence"), st.one_of(st.text(), st.booleans())),
    st.tuples(st.just("instrument"), st.text().filter(lambda s: s.strip() not in SYMBOLS)),
    st.tuples(st.just("source"), st.text().filter(lambda s: s.strip() not in SOURCES)),
    st.tuples(
        st.just("horizon"),
        st.text()
        .filter(lambda s: s.strip() not in {"1d"})
        .filter(lambda s: not s.strip()[:-1].isdigit()),
    ),
    st.tuples(st.just("timestamp"), st.text(max_size=12).filter(lambda s: not s[:4].isdigit())),
    st.tuples(st.just("id"), st.one_of(st.integers(), st.just(""), st.just("   "))),
    st.tuples(st.just("ttl_days"), st.one_of(st.integers(max_value=0), st.floats(0.1, 0.9))),
)


@settings(max_examples=500, deadline=None)
@given(st.data())
def test_a_signal_broken_in_one_field_is_rejected_naming_that_field(data: st.DataObject) -> None:
    field, bad = data.draw(BAD_VALUES)
    raw = data.draw(_break(field, bad))
    with pytest.raises(SignalRejected) as rejected:
        VALIDATOR.check(raw, MARKET_DATE)
    assert rejected.value.field == field
    assert rejected.value.reason


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        st.none(),
        st.integers(),
        st.text(),
        st.lists(st.integers()),
        st.dictionaries(st.text(), st.one_of(st.none(), st.integers(), st.text(), st.floats())),
    )
)
def test_arbitrary_json_values_never_pass_and_never_crash(raw: object) -> None:
    with pytest.raises(SignalRejected):
        VALIDATOR.check(raw, MARKET_DATE)


def _good(**changes: object) -> dict[str, object]:
    raw: dict[str, object] = {
        "id": "s-1",
        "source": "desk",
        "instrument": "AAPL",
        "timestamp": MARKET_DATE.isoformat(),
        "horizon": "1m",
        "score": 0.4,
        "confidence": 0.7,
    }
    raw.update(changes)
    return {k: v for k, v in raw.items() if v is not ...}


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        ({"score": math.inf}, "score", "finite"),
        ({"score": True}, "score", "must be a number, got bool"),
        ({"confidence": 1.01}, "confidence", "between 0 and 1"),
        ({"colour": "red"}, "colour", "unknown field"),
        ({"instrument": ...}, "instrument", "is required"),
        ({"source": "momentum"}, "source", "not a registered external source"),
        ({"source": "weekly", "horizon": "1m"}, "horizon", "not one source weekly may send"),
        ({"horizon": "fortnight"}, "horizon", "not a horizon"),
        ({"timestamp": "2015-06-18"}, "timestamp", "from the future"),
        ({"timestamp": "2015-06-09"}, "timestamp", "stale: 6 business days"),
        ({"timestamp": "17/06/2015"}, "timestamp", "ISO date"),
        ({"ttl_days": 2.5}, "ttl_days", "whole number"),
        ({"ttl_days": math.nan}, "ttl_days", "whole number"),
        ({"ttl_days": math.inf}, "ttl_days", "whole number"),
        ({"ttl_days": 10**400}, "ttl_days", "between 1 and"),
        ({"score": 10**400}, "score", "finite"),
    ],
)
def test_each_rule_names_its_field_and_reason(
    changes: dict[str, object], field: str, reason: str
) -> None:
    with pytest.raises(SignalRejected) as rejected:
        VALIDATOR.check(_good(**changes), MARKET_DATE)
    assert rejected.value.field == field
    assert reason in rejected.value.reason


def test_a_signal_lives_exactly_its_ttl_in_business_days() -> None:
    friday_before = MARKET_DATE - timedelta(days=12)  # 2015-06-05, 8 business days before
    assert VALIDATOR.check(_good(timestamp=friday_before.isoformat(), ttl_days=8), MARKET_DATE)
    with pytest.raises(SignalRejected, match="stale"):
        VALIDATOR.check(_good(timestamp=friday_before.isoformat(), ttl_days=7), MARKET_DATE)


def test_before_the_first_cycle_freshness_cannot_be_checked_and_the_signal_is_refused() -> None:
    with pytest.raises(SignalRejected, match="not completed a cycle"):
        VALIDATOR.check(_good(), None)


def test_intake_ignores_a_seen_id_and_a_repeat_within_one_submission() -> None:
    intake = SignalIntake(VALIDATOR, SOURCES)
    outcomes = intake.review(
        [_good(id="a"), _good(id="b"), _good(id="a"), _good(id="c", score=2)],
        MARKET_DATE,
        seen=lambda signal_id: signal_id == "b",
    )
    assert [o.status for o in outcomes] == ["accepted", "duplicate", "duplicate", "rejected"]
    assert outcomes[3].field == "score" and outcomes[3].value == "2"


def test_intake_bounds_each_source_per_minute_of_wall_time() -> None:
    now = [1000.0]
    sources = {"desk": ExternalSourceSpec("desk", 5, max_signals_per_minute=3)}
    intake = SignalIntake(SignalValidator(SYMBOLS, sources), sources, RateLimiter(lambda: now[0]))
    first = intake.review([_good(id=f"x{i}") for i in range(5)], MARKET_DATE, lambda _: False)
    assert [o.status for o in first] == ["accepted"] * 3 + ["rejected"] * 2
    assert first[4].field == "source" and "rate limit of 3" in (first[4].reason or "")
    now[0] += 60.0
    again = intake.review([_good(id="x4")], MARKET_DATE, lambda _: False)
    assert again[0].status == "accepted"
