"""The JSON API served next to the dashboard, on the same Flask server.

Money is sent as strings holding the exact decimal (``"1000000.00"``), never as floats, so a client
reads exactly what the ledger holds.

``POST /api/signals`` hands a list of external signals to the engine, which validates them on its
own thread (the API checks only the envelope: a JSON list, not too many) and answers per signal.
Every answer is JSON with an ``error`` message when the request failed as a whole.
"""

from __future__ import annotations

import json
import logging
from concurrent.futures import TimeoutError as FutureTimeoutError
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, jsonify, request

from engine.commands import MAX_ACTOR_CHARS as COMMAND_MAX_ACTOR_CHARS
from engine.commands import CommandRefused, SubmitSignals
from engine.config import SignalsConfig

if TYPE_CHECKING:
    from engine.config import AppConfig
    from engine.coordinator import CoordinatorRunner
    from engine.signals.intake import SignalOutcome
    from engine.snapshot import StateSnapshot

log = logging.getLogger(__name__)

ACTOR_HEADER = "X-Pcoord-Actor"
CHANNEL_HEADER = "X-Pcoord-Channel"
# Where a submission came from, as the audit trail records it; the CLI's file import says "file".
CHANNELS = ("http", "file")
ACTOR_PREFIX = "api:"
# A command refuses an actor the store cannot hold; refused here first, with an HTTP answer.
MAX_ACTOR_CHARS = COMMAND_MAX_ACTOR_CHARS - len(ACTOR_PREFIX)
DEFAULT_MAX_SIGNALS_PER_REQUEST: int = SignalsConfig.model_fields["max_signals_per_request"].default


@dataclass(frozen=True, slots=True)
class ApiSettings:
    """Bounds of the JSON API; ``from_config`` takes them from the engine's configuration."""

    max_signals_per_request: int = DEFAULT_MAX_SIGNALS_PER_REQUEST
    # How long a request waits for the engine thread, which answers between cycles.
    reply_timeout_s: float = 10.0
    # A generous size per signal (a well-formed one is about 200 bytes): the bound only stops a
    # body that could never be a valid request from being read into memory.
    max_bytes_per_signal: int = 4096

    @classmethod
    def from_config(cls, config: AppConfig, **overrides: Any) -> ApiSettings:
        return cls(max_signals_per_request=config.signals.max_signals_per_request, **overrides)

    @property
    def max_body_bytes(self) -> int:
        return self.max_signals_per_request * self.max_bytes_per_signal + 65_536


class RequestFailed(Exception):
    """The request as a whole is answered with ``status`` and ``message`` (and ``extra``)."""

    def __init__(self, status: int, message: str, **extra: object) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra


def health_payload(snapshot: StateSnapshot) -> dict[str, Any]:
    """What ``GET /api/health`` answers: engine status, progress and each portfolio's money."""
    return {
        "status": snapshot.status.value,
        "cycles_completed": snapshot.cycles_completed,
        "last_cycle_ms": snapshot.last_cycle_ms,
        "market_date": snapshot.market_date.isoformat() if snapshot.market_date else None,
        "event_bus": {
            "bus": snapshot.transport.bus,
            "relay_lag_events": snapshot.transport.relay_lag_events,
            "relay_published_seq": snapshot.transport.relay_published_seq,
            "relay_error": snapshot.transport.relay_error,
        },
        "signals": {
            "accepted_session": snapshot.signals_accepted_session,
            "rejected_session": snapshot.signals_rejected_session,
        },
        "portfolios": [
            {
                "id": view.portfolio_id,
                "name": view.name,
                "nav_usd": str(view.nav_usd),
                "cash_usd": str(view.cash_usd),
            }
            for view in snapshot.portfolios
        ],
    }


def signals_payload(outcomes: list[SignalOutcome], snapshot: StateSnapshot) -> dict[str, Any]:
    """What ``POST /api/signals`` answers: the counts and one result per signal, in input order."""
    counts = {"accepted": 0, "rejected": 0, "duplicate": 0}
    for outcome in outcomes:
        counts[outcome.status] += 1
    return {
        "accepted": counts["accepted"],
        "rejected": counts["rejected"],
        "duplicates": counts["duplicate"],
        # The engine does not change its market date while it reviews a submission, so this is
        # the date the signals were checked against unless a cycle ran since it answered.
        "market_date": snapshot.market_date.isoformat() if snapshot.market_date else None,
        "results": [outcome.as_json() for outcome in outcomes],
    }


def _actor() -> str:
    given = request.headers.get(ACTOR_HEADER)
    if given is None:
        return ACTOR_PREFIX + (request.remote_addr or "unknown")
    name = given.strip()
    if not name or len(name) > MAX_ACTOR_CHARS or not name.isprintable():
        raise RequestFailed(
            400,
            f"{ACTOR_HEADER}: {given[:40]!r} is not valid: name who submits in 1 to "
            f"{MAX_ACTOR_CHARS} printable characters",
        )
    return ACTOR_PREFIX + name


def _channel() -> str:
    channel = request.headers.get(CHANNEL_HEADER, "http").strip().lower()
    if channel not in CHANNELS:
        raise RequestFailed(
            400, f"{CHANNEL_HEADER}: {channel[:40]!r} is not one of {', '.join(CHANNELS)}"
        )
    return channel


def _signal_list(settings: ApiSettings) -> list[object]:
    """The request body as a list of raw signals, or ``RequestFailed`` saying what is wrong."""
    mimetype = request.mimetype
    if mimetype and mimetype != "application/json" and not mimetype.endswith("+json"):
        raise RequestFailed(
            400,
            f"the body is {mimetype}; send a JSON list of signals with "
            "Content-Type: application/json",
        )
    limit = settings.max_body_bytes
    too_large = RequestFailed(
        413,
        f"the body is larger than {limit} bytes, more than {settings.max_signals_per_request} "
        "signals could need; send fewer signals per request",
        max_signals_per_request=settings.max_signals_per_request,
    )
    if request.content_length is not None and request.content_length > limit:
        raise too_large
    # Read one byte past the limit, so a chunked body without a length is bounded too.
    body = request.stream.read(limit + 1)
    if len(body) > limit:
        raise too_large
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RequestFailed(400, f"the body is not UTF-8 text ({exc.reason})") from None
    if not text.strip():
        raise RequestFailed(400, "the body is empty; send a JSON list of signal objects")
    try:
        parsed = json.loads(text)
    except ValueError as exc:
        raise RequestFailed(400, f"the body is not valid JSON: {exc}") from None
    except RecursionError:
        raise RequestFailed(400, "the body is not valid JSON: it nests too deeply") from None
    if isinstance(parsed, dict):
        raise RequestFailed(
            400, "the body is one JSON object; send a JSON list of signals, even for one: [{...}]"
        )
    if not isinstance(parsed, list):
        raise RequestFailed(
            400, f"the body is a JSON {type(parsed).__name__}; send a JSON list of signal objects"
        )
    if len(parsed) > settings.max_signals_per_request:
        raise RequestFailed(
            413,
            f"{len(parsed)} signals in one request; at most {settings.max_signals_per_request} "
            "(signals.max_signals_per_request): split the list",
            max_signals_per_request=settings.max_signals_per_request,
        )
    return parsed


def _submit(runner: CoordinatorRunner, settings: ApiSettings) -> dict[str, Any]:
    actor, channel = _actor(), _channel()
    signals = _signal_list(settings)
    # A follower has no engine thread of its own; it refuses in ``submit`` below.
    is_alive = getattr(runner, "is_alive", None)
    if is_alive is not None and not is_alive():
        raise RequestFailed(503, "the engine is not running; nothing was submitted")
    command = SubmitSignals(actor, "submitted over HTTP", signals=tuple(signals), channel=channel)
    try:
        runner.submit(command)
    except CommandRefused as exc:
        raise RequestFailed(409, str(exc)) from None
    try:
        outcomes = command.reply.result(timeout=settings.reply_timeout_s)
    except FutureTimeoutError:
        raise RequestFailed(
            504,
            f"the engine did not answer within {settings.reply_timeout_s:g} s; it may still "
            "take the signals. Resubmitting the same list is safe: signals with ids it already "
            "accepted come back as duplicates",
        ) from None
    except CommandRefused as exc:
        raise RequestFailed(503, f"the engine refused the signals: {exc}") from None
    except Exception as exc:
        log.exception("the engine failed while reviewing %d signals", len(signals))
        raise RequestFailed(
            500,
            f"the engine failed while reviewing the signals ({type(exc).__name__}: {exc}); "
            "resubmitting the same ids is safe, an accepted id comes back as a duplicate",
        ) from None
    return signals_payload(outcomes, runner.snapshot())


def _failure(status: int, message: str, **extra: object) -> tuple[Response, int]:
    return jsonify({"error": message, **extra}), status


def register_api(
    server: Flask, runner: CoordinatorRunner, settings: ApiSettings | None = None
) -> None:
    """Add the API routes to the dashboard's Flask server."""
    settings = settings or ApiSettings()

    def health() -> Response:
        return jsonify(health_payload(runner.snapshot()))

    def submit_signals() -> tuple[Response, int]:
        try:
            return jsonify(_submit(runner, settings)), 200
        except RequestFailed as failed:
            return _failure(failed.status, failed.message, **failed.extra)
        except Exception as exc:
            # Whatever a client sends, it gets a JSON answer and the server goes on; the cause
            # is logged with its traceback for whoever runs the server.
            log.exception("POST /api/signals failed")
            return _failure(500, f"the API failed on this request ({type(exc).__name__})")

    server.add_url_rule("/api/health", endpoint="api_health", view_func=health, methods=["GET"])
    server.add_url_rule(
        "/api/signals", endpoint="api_signals", view_func=submit_signals, methods=["POST"]
    )
