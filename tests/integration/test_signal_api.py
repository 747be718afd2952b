"""POST /api/signals over real HTTP into a live engine replaying the bundled history.

The engine validates on its own thread; these tests check what a client sees (status, message,
one result per signal in order), what the engine keeps (its raw signal views, its ledger) and what
the event log records (one SignalReceived or SignalRejected per signal, with the field and rule).
Most run with the engine paused, so that the market date the timestamps are set against holds
still; a paused engine still answers submissions.
"""

from __future__ import annotations

import json
import random
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask

from app.api import ApiSettings
from app.dashboard import create_app
from engine.assembly import build_feed, pulsar_settings
from engine.commands import Resume
from engine.follower import PulsarFollower
from engine.model import Event
from tests.integration.conftest import SIGNAL_TEST_MAX_PER_REQUEST, SignalServer
from tests.support import eventually

Answer = tuple[int, dict[str, Any]]


def post(
    server: SignalServer | str,
    body: object,
    *,
    raw: bytes | None = None,
    content_type: str = "application/json",
    headers: dict[str, str] | None = None,
) -> Answer:
    """POST ``body`` as JSON (or ``raw`` bytes as they are); the status and the JSON answer."""
    root = server.url if isinstance(server, SignalServer) else server
    data = raw if raw is not None else json.dumps(body).encode("utf-8")
    request = urllib.request.Request(
        f"{root}/api/signals",
        data=data,
        headers={"Content-Type": content_type, **(headers or {})},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def health(server: SignalServer) -> dict[str, Any]:
    with urllib.request.urlopen(f"{server.url}/api/health", timeout=30) as response:
        return json.load(response)


def market_date(server: SignalServer) -> date:
    found = server.runtime.runner.snapshot().market_date
    assert found is not None
    return found


def signal(signal_id: str, on: date, **changes: object) -> dict[str, object]:
    """A valid analyst_desk view dated ``on``; ``changes`` replace fields (None drops one)."""
    fields: dict[str, object] = {
        "id": signal_id,
        "source": "analyst_desk",
        "instrument": "AAPL",
        "timestamp": on.isoformat(),
        "horizon": "1m",
        "score": 0.4,
        "confidence": 0.7,
    }
    fields.update(changes)
    return {k: v for k, v in fields.items() if v is not None}


def events_of(server: SignalServer, event_type: str, after_seq: int = 0) -> list[Event]:
    return server.runtime.store.read_from(after_seq + 1, event_types=frozenset({event_type}))


def resume_and_wait_for_a_cycle(server: SignalServer) -> None:
    runner = server.runtime.runner
    done = runner.snapshot().cycles_completed
    runner.submit(Resume("test", "let the next cycle run"))
    assert runner.wait_for_cycles(done + 1, timeout_s=30), "the engine ran no cycle after resume"


def test_accepted_signals_are_recorded_and_join_the_engines_views_next_cycle(
    paused_signal_server: SignalServer,
) -> None:
    server = paused_signal_server
    today = market_date(server)
    sent = [
        signal("desk-aapl-1", today, score=0.4, confidence=0.7),
        signal("risk-msft-1", today, source="risk_desk", instrument="MSFT", horizon="1d",
               score=-0.6, confidence=0.9),
    ]  # fmt: skip

    status, answer = post(server, sent, headers={"X-Pcoord-Actor": "desk-7"})

    assert status == 200
    assert answer["accepted"] == 2 and answer["rejected"] == 0 and answer["duplicates"] == 0
    assert answer["market_date"] == today.isoformat()
    assert answer["results"] == [
        {"index": 0, "id": "desk-aapl-1", "status": "accepted"},
        {"index": 1, "id": "risk-msft-1", "status": "accepted"},
    ]
    received = {e.payload["signal_id"]: e for e in events_of(server, "SignalReceived")}
    assert set(received) == {"desk-aapl-1", "risk-msft-1"}
    aapl = received["desk-aapl-1"]
    assert aapl.actor == "api:desk-7"
    assert aapl.payload["channel"] == "http"
    assert (aapl.payload["instrument"], aapl.payload["horizon"]) == ("AAPL", "1m")
    assert (aapl.payload["score"], aapl.payload["confidence"]) == (0.4, 0.7)
    # The analyst desk's default time-to-live (engine/default_config.toml) applies.
    assert aapl.payload["ttl_days"] == 10

    resume_and_wait_for_a_cycle(server)

    views = {(row.origin, row.symbol): row for row in server.runtime.runner.snapshot().raw_signals}
    assert (
        views["analyst_desk/1m", "AAPL"].score,
        views["analyst_desk/1m", "AAPL"].confidence,
    ) == (
        0.4,
        0.7,
    )
    assert (views["risk_desk/1d", "MSFT"].score, views["risk_desk/1d", "MSFT"].confidence) == (
        -0.6,
        0.9,
    )


def test_without_an_actor_header_the_actor_is_the_client_address(
    paused_signal_server: SignalServer,
) -> None:
    server = paused_signal_server
    status, _ = post(server, [signal("anonymous-1", market_date(server))])

    assert status == 200
    (event,) = events_of(server, "SignalReceived")
    assert event.actor == "api:127.0.0.1"


@pytest.mark.parametrize("actor", ["x" * 125, "tab\there", "   "])
def test_an_actor_the_audit_trail_cannot_hold_is_refused(
    paused_signal_server: SignalServer, actor: str
) -> None:
    server = paused_signal_server
    status, answer = post(
        server, [signal("a-1", market_date(server))], headers={"X-Pcoord-Actor": actor}
    )

    assert status == 400
    assert "X-Pcoord-Actor" in answer["error"]
    assert events_of(server, "SignalReceived") == []


def _broken_signals(today: date) -> list[tuple[object, str, str]]:
    """(signal, the field it must be rejected on, words the reason must contain)."""
    missing_confidence = signal("missing-confidence", today)
    del missing_confidence["confidence"]
    return [
        (signal("unknown-field", today, colour="red"), "colour", "unknown field"),
        (missing_confidence, "confidence", "is required"),
        (signal("score-text", today, score="0.5"), "score", "must be a number"),
        (signal("score-nan-text", today, score="NaN"), "score", "must be a number"),
        (signal("score-bool", today, score=True), "score", "must be a number"),
        # Replaced by the JSON literal 1e999 in the body, which a JSON parser reads as infinity.
        (signal("score-inf", today, score="<1e999>"), "score", "finite"),
        (signal("score-high", today, score=1.5), "score", "between -1 and 1"),
        (signal("confidence-low", today, confidence=-0.1), "confidence", "between 0 and 1"),
        (signal("no-such-stock", today, instrument="ZZZZ"), "instrument", "universe"),
        (signal("no-such-source", today, source="hedge_fund"), "source", "registered"),
        (signal("model-source", today, source="momentum"), "source", "registered"),
        (signal("bad-horizon", today, horizon="2x"), "horizon", "is not a horizon"),
        (signal("daily-analyst", today, horizon="1d"), "horizon", "analyst_desk"),
        (
            signal("from-the-future", today, timestamp=(today + timedelta(days=7)).isoformat()),
            "timestamp",
            "after the engine's market date",
        ),
        (
            # 90 calendar days are more than 60 business days: far beyond the desk's 10.
            signal("stale", today, timestamp=(today - timedelta(days=90)).isoformat()),
            "timestamp",
            "stale",
        ),
        (signal("not-a-date", today, timestamp="yesterday"), "timestamp", "ISO date"),
        (signal("ttl-fraction", today, ttl_days=2.5), "ttl_days", "whole number"),
        (signal("x" * 129, today), "id", "longer than 128"),
        ("just some text", "(signal)", "JSON object"),
        (42, "(signal)", "JSON object"),
        (None, "(signal)", "JSON object"),
    ]


def test_each_broken_rule_is_rejected_naming_its_field_and_recorded_as_an_event(
    paused_signal_server: SignalServer,
) -> None:
    server = paused_signal_server
    runtime = server.runtime
    cases = _broken_signals(market_date(server))
    before = runtime.runner.snapshot()
    last_seq = runtime.store.last_seq()
    body = json.dumps([raw for raw, _, _ in cases]).replace('"<1e999>"', "1e999")

    status, answer = post(server, None, raw=body.encode("utf-8"))

    assert status == 200
    assert (answer["accepted"], answer["rejected"], answer["duplicates"]) == (0, len(cases), 0)
    results = answer["results"]
    assert [r["index"] for r in results] == list(range(len(cases)))
    for (raw, field, words), result in zip(cases, results, strict=True):
        assert result["status"] == "rejected", raw
        assert result["field"] == field, (raw, result)
        assert words in result["reason"], (raw, result)
        assert result["id"] == (raw.get("id")[:200] if isinstance(raw, dict) else None)

    # Every rejection is an event with the same field and reason, and nothing else happened.
    stored = runtime.store.read_from(last_seq + 1)
    assert {e.type for e in stored} == {"SignalRejected"}
    by_index = {e.payload["index"]: e.payload for e in stored}
    assert len(by_index) == len(cases)
    for result in results:
        payload = by_index[result["index"]]
        assert (payload["field"], payload["reason"]) == (result["field"], result["reason"])
        assert payload["channel"] == "http"
        assert payload["market_date"] == answer["market_date"]

    # The ledger is untouched and the engine goes on trading.
    after = runtime.runner.snapshot()
    assert after.portfolios == before.portfolios
    assert after.signals_rejected_session == before.signals_rejected_session + len(cases)
    resume_and_wait_for_a_cycle(server)
    resume_and_wait_for_a_cycle(server)
    assert runtime.runner.is_alive()
    assert runtime.runner.snapshot().cycle_errors == 0


@pytest.mark.parametrize(
    ("field", "literal"),
    [
        ("ttl_days", "1e999"),
        ("ttl_days", "NaN"),
        ("ttl_days", "1" + "0" * 400),
        ("score", "1" + "0" * 400),
    ],
)
def test_numbers_beyond_a_float_are_rejected_naming_the_field(
    paused_signal_server: SignalServer, field: str, literal: str
) -> None:
    server = paused_signal_server
    sent = [signal("fine", market_date(server)), signal("huge", market_date(server))]
    sent[1][field] = "<number>"
    body = json.dumps(sent).replace('"<number>"', literal)

    status, answer = post(server, None, raw=body.encode("utf-8"))

    assert status == 200, answer
    assert [r["status"] for r in answer["results"]] == ["accepted", "rejected"]
    assert answer["results"][1]["field"] == field


def test_a_list_the_engine_fails_on_is_answered_in_json_and_the_engine_carries_on(
    paused_signal_server: SignalServer,
) -> None:
    server = paused_signal_server
    body = json.dumps([signal("nan-ttl", market_date(server), ttl_days="<nan>")])

    status, answer = post(server, None, raw=body.replace('"<nan>"', "NaN").encode("utf-8"))

    # 500 while the engine's validator fails on a NaN ttl_days, 200 once it rejects it.
    assert status in {200, 500}
    if status == 500:
        assert "resubmitting the same ids is safe" in answer["error"]
    resume_and_wait_for_a_cycle(server)
    assert server.runtime.runner.is_alive()
    assert server.runtime.runner.snapshot().cycle_errors == 0


def test_a_resubmitted_id_is_answered_duplicate_and_stored_once(
    paused_signal_server: SignalServer,
) -> None:
    server = paused_signal_server
    today = market_date(server)
    first = signal("once", today)

    _, answer = post(server, [first])
    assert answer["results"][0]["status"] == "accepted"
    status, answer = post(server, [first, signal("twice", today), signal("twice", today)])

    assert status == 200
    assert [r["status"] for r in answer["results"]] == ["duplicate", "accepted", "duplicate"]
    assert (answer["accepted"], answer["rejected"], answer["duplicates"]) == (1, 0, 2)
    ids = [e.payload["signal_id"] for e in events_of(server, "SignalReceived")]
    assert sorted(ids) == ["once", "twice"]


def test_a_single_object_is_refused_asking_for_a_list(paused_signal_server: SignalServer) -> None:
    server = paused_signal_server
    status, answer = post(server, signal("alone", market_date(server)))

    assert status == 400
    assert "send a JSON list" in answer["error"]
    assert events_of(server, "SignalReceived") == []


@pytest.mark.parametrize(
    ("raw", "content_type", "words"),
    [
        (b"garbage", "application/json", "not valid JSON"),
        (b"[{", "application/json", "not valid JSON"),
        (b"", "application/json", "empty"),
        (b"\xff\xfe\x00", "application/json", "not UTF-8"),
        (b'"a string"', "application/json", "send a JSON list"),
        (b"[" * 100_000, "application/json", "nests too deeply"),
        (b"[]", "text/csv", "Content-Type: application/json"),
        (b"id=1&score=2", "application/x-www-form-urlencoded", "Content-Type: application/json"),
    ],
)
def test_a_body_that_is_not_a_json_list_is_refused_with_a_reason(
    paused_signal_server: SignalServer, raw: bytes, content_type: str, words: str
) -> None:
    server = paused_signal_server
    before = server.runtime.runner.snapshot().signals_rejected_session

    status, answer = post(server, None, raw=raw, content_type=content_type)

    assert status == 400
    assert words in answer["error"]
    assert server.runtime.runner.snapshot().signals_rejected_session == before


def test_more_signals_than_the_limit_are_refused_naming_the_limit(
    paused_signal_server: SignalServer,
) -> None:
    server = paused_signal_server
    today = market_date(server)
    limit = SIGNAL_TEST_MAX_PER_REQUEST
    stocks = [i.symbol for i in server.runtime.runner.snapshot().instruments]

    def batch(n: int, prefix: str) -> list[dict[str, object]]:
        return [
            signal(f"{prefix}-{k}", today, instrument=stocks[k % len(stocks)]) for k in range(n)
        ]

    status, answer = post(server, batch(limit + 1, "over"))
    assert status == 413
    assert str(limit) in answer["error"]
    assert answer["max_signals_per_request"] == limit
    assert events_of(server, "SignalReceived") == []

    status, answer = post(server, batch(limit, "at"))
    assert status == 200
    assert answer["accepted"] == limit


def test_a_body_far_larger_than_the_limit_allows_is_refused_unread(
    paused_signal_server: SignalServer,
) -> None:
    server = paused_signal_server
    padding = "x" * (ApiSettings(SIGNAL_TEST_MAX_PER_REQUEST).max_body_bytes + 1)

    status, answer = post(server, [{"id": padding}])

    assert status == 413
    assert "send fewer signals" in answer["error"]


def test_health_counts_the_sessions_accepted_and_rejected_signals(
    paused_signal_server: SignalServer,
) -> None:
    server = paused_signal_server
    today = market_date(server)
    assert health(server)["signals"] == {"accepted_session": 0, "rejected_session": 0}

    post(server, [signal("h-1", today), signal("h-2", today, instrument="MSFT")])
    post(server, [signal("h-3", today, score=2), "not a signal", signal("h-1", today)])

    assert health(server)["signals"] == {"accepted_session": 2, "rejected_session": 2}


def test_a_stopped_engine_answers_503(signal_server: SignalServer) -> None:
    signal_server.runtime.runner.stop()

    status, answer = post(signal_server, [signal("late", market_date(signal_server))])

    assert status == 503
    assert "not running" in answer["error"]


def test_a_read_only_follower_refuses_signals_with_409(
    serve_http: Callable[[Flask], str],
) -> None:
    from engine.config import load_config

    config = load_config()
    # Never started: a follower refuses commands whether or not it reaches its broker.
    follower = PulsarFollower(pulsar_settings(config), build_feed(config).instruments)
    root = serve_http(create_app(follower, follower.log).server)

    status, answer = post(root, [signal("f-1", date(2006, 1, 5))])

    assert status == 409
    assert "read-only" in answer["error"]


class _BusyEngine:
    """The real runner, with its command queue held back until ``release``: an engine busy with a
    long cycle. A submission then times out whatever the machine's speed, and is still applied
    once the engine gets to it."""

    def __init__(self, runner: Any) -> None:
        self._runner = runner
        self._held: list[Any] = []

    def submit(self, command: Any) -> None:
        self._held.append(command)

    def release(self) -> None:
        for command in self._held:
            self._runner.submit(command)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._runner, name)


def test_after_a_timeout_resubmitting_the_same_ids_is_safe(
    paused_signal_server: SignalServer, serve_http: Callable[[Flask], str]
) -> None:
    server = paused_signal_server
    today = market_date(server)
    runtime = server.runtime
    # A second API on the same engine, which is busy: the request times out with the signals
    # still queued, and the engine takes them afterwards.
    busy = _BusyEngine(runtime.runner)
    impatient = serve_http(
        create_app(busy, runtime.store, api=ApiSettings(reply_timeout_s=0.05)).server
    )
    sent = [signal("t-1", today), signal("t-2", today, instrument="MSFT")]

    status, answer = post(impatient, sent)

    assert status == 504
    assert "did not answer" in answer["error"]
    assert "safe" in answer["error"]
    assert events_of(server, "SignalReceived") == []
    busy.release()
    assert eventually(lambda: len(events_of(server, "SignalReceived")) == 2)

    status, answer = post(server, sent)
    assert status == 200
    assert [r["status"] for r in answer["results"]] == ["duplicate", "duplicate"]
    assert len(events_of(server, "SignalReceived")) == 2


# -- fuzzing -------------------------------------------------------------------------------------
# Values a client might put anywhere. Integers beyond a float and non-finite ttl_days are left
# out: the engine fails on those (see test_numbers_beyond_a_float_are_rejected_naming_the_field).
ODD_VALUES: tuple[object, ...] = (
    None, True, False, 0, -1, 1, 7, 2521, 0.5, -0.5, 1.0000001, 1e308, -1e308, "", " ", "NaN",
    "1m", "3m", "0d", "99999y", "AAPL", "analyst_desk", "risk_desk", "2006-01-05",
    "2006-02-30", "2006-01-05T10:00:00+05:00", "\u0000", "\ud800", "é" * 300, [], {}, [1, "a"],
    {"nested": {"deeper": [None]}},
)  # fmt: skip
FIELDS = ("id", "source", "instrument", "timestamp", "horizon", "score", "confidence", "ttl_days")


def _mutant(rng: random.Random, today: date, k: int) -> object:
    """A valid signal with one to three fields dropped, replaced or added; sometimes no object."""
    if rng.random() < 0.1:
        return rng.choice(ODD_VALUES)
    raw: dict[str, object] = signal(f"fuzz-{k}", today)
    for _ in range(rng.randint(1, 3)):
        name = rng.choice(FIELDS) if rng.random() < 0.8 else rng.choice(["extra", "", "Score"])
        if rng.random() < 0.2:
            raw.pop(name, None)
        else:
            raw[name] = rng.choice(ODD_VALUES)
    return raw


def test_fuzzed_submissions_get_an_answer_and_the_engine_carries_on(
    paused_signal_server: SignalServer,
) -> None:
    server = paused_signal_server
    runtime = server.runtime
    rng = random.Random(20240611)
    today = market_date(server)
    before = runtime.runner.snapshot().portfolios
    accepted = rejected = 0

    for round_number in range(25):
        batch = [_mutant(rng, today, round_number * 100 + k) for k in range(rng.randint(1, 30))]
        status, answer = post(server, batch)
        assert status == 200, (batch, answer)
        results = answer["results"]
        assert [r["index"] for r in results] == list(range(len(batch)))
        assert answer["accepted"] + answer["rejected"] + answer["duplicates"] == len(batch)
        for result in results:
            assert result["status"] in {"accepted", "rejected", "duplicate"}
            if result["status"] == "rejected":
                assert isinstance(result["field"], str) and result["reason"]
        accepted += answer["accepted"]
        rejected += answer["rejected"]

    for _ in range(40):
        raw = bytes(rng.randrange(256) for _ in range(rng.randint(0, 64)))
        status, answer = post(server, None, raw=raw)
        assert status in {200, 400}, (raw, answer)
        if status == 200:
            accepted += answer["accepted"]
            rejected += answer["rejected"]
        else:
            assert answer["error"]

    # What the answers counted is exactly what the event log holds; the ledger did not move.
    assert len(events_of(server, "SignalReceived")) == accepted
    assert len(events_of(server, "SignalRejected")) == rejected
    assert accepted > 0 and rejected > 0
    assert runtime.runner.snapshot().portfolios == before
    resume_and_wait_for_a_cycle(server)
    assert runtime.runner.is_alive()
    assert runtime.runner.snapshot().cycle_errors == 0
