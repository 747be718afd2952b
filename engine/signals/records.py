"""Signal records read back from events: rejections, quality measurements and conflicts.

The engine keeps recent ones for its dashboard and a follower rebuilds them from the stream, so
both read the same events the same way.
"""

from __future__ import annotations

from datetime import date

from engine.model import Conflict, Event, SourceView
from engine.snapshot import QualityPoint, RejectedSignal


def rejection_from_event(event: Event) -> RejectedSignal:
    p = event.payload
    market_date = p.get("market_date")
    return RejectedSignal(
        event.timestamp,
        date.fromisoformat(market_date) if market_date else None,
        p.get("signal_id"),
        p.get("source"),
        p.get("instrument"),
        p["field"],
        p["reason"],
        p.get("value") or "",
        event.actor,
        p.get("channel", ""),
    )


def quality_points_from_event(event: Event) -> list[QualityPoint]:
    market_date = date.fromisoformat(event.payload["market_date"])
    nan = float("nan")
    return [
        QualityPoint(
            market_date,
            source,
            nan if q["ic"] is None else q["ic"],
            nan if q["hit_rate"] is None else q["hit_rate"],
            nan if q["coverage"] is None else q["coverage"],
            q["weight_multiplier"],
        )
        for source, q in event.payload["sources"].items()
    ]


def conflicts_from_event(event: Event) -> tuple[Conflict, ...]:
    p = event.payload
    return tuple(
        Conflict(
            event.portfolio_id or "",
            c["instrument"],
            tuple(
                SourceView(name, v["score"], v["confidence"], v["weight"], v["priority"])
                for name, v in c["sources"].items()
            ),
            p["policy"],
            c["score"],
            c["confidence"],
            c["resolution"],
        )
        for c in p["conflicts"]
    )
