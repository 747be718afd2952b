"""Callbacks, grouped by page. Each module's ``register(app, runner, queries)`` binds its
callbacks to one app with ``app.callback`` (never the global ``dash.callback``), so several apps,
each with its own engine, can live in one process (tests do).

Callbacks only read ``runner.snapshot()`` or the ``EventQueries`` read model (engine/views/), or
submit a command; they run every second, so each stays a few list comprehensions over one
immutable snapshot.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from callbacks import (
    allocation,
    clock,
    engine,
    events,
    overview,
    performance,
    rebalancing,
    risk,
    shell,
    signals,
    trades,
)

if TYPE_CHECKING:
    import dash

    from engine.coordinator import CoordinatorRunner
    from engine.views.performance import PerformanceReadModel
    from engine.views.queries import EventQueries


def register_all(
    app: dash.Dash,
    runner: CoordinatorRunner,
    queries: EventQueries,
    performance_model: PerformanceReadModel | None = None,
) -> None:
    for page in (
        shell,
        clock,
        overview,
        signals,
        allocation,
        trades,
        risk,
        rebalancing,
        events,
        engine,
    ):
        page.register(app, runner, queries)
    # The Performance page reads the whole log through its own read model (None: unavailable).
    performance.register(app, performance_model)
