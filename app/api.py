"""The JSON API served next to the dashboard, on the same Flask server.

Money is sent as strings holding the exact decimal (``"1000000.00"``), never as floats, so a client
reads exactly what the ledger holds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import Flask, Response, jsonify

if TYPE_CHECKING:
    from engine.coordinator import CoordinatorRunner
    from engine.snapshot import StateSnapshot


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


def register_api(server: Flask, runner: CoordinatorRunner) -> None:
    """Add the API routes to the dashboard's Flask server."""

    def health() -> Response:
        return jsonify(health_payload(runner.snapshot()))

    server.add_url_rule("/api/health", endpoint="api_health", view_func=health, methods=["GET"])
