"""Start-up: config -> engine parts -> a background runner, ready for the dashboard to read."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from engine.assembly import build_engine
from engine.config import AppConfig, load_config
from engine.coordinator import Coordinator, CoordinatorRunner
from engine.events.bus import EventBus
from engine.events.store import SqlEventStore
from engine.market.data import PriceHistory
from engine.market.feeds import HistoricalFeed
from engine.model import MarketTick
from engine.views.performance import PerformanceReadModel
from engine.views.tail import TailedEventLog


@dataclass(frozen=True, slots=True, eq=False)
class Runtime:
    config: AppConfig
    runner: CoordinatorRunner
    store: SqlEventStore
    bus: EventBus
    history: PriceHistory | None  # the market's, when it keeps one (not the simulated market)

    def performance(self) -> PerformanceReadModel:
        """The Performance page's read model over this engine's store."""
        return PerformanceReadModel(self.store, self.config, self.history)

    def dashboard_events(self) -> TailedEventLog:
        """The store as the dashboard reads it: the newest events also in memory."""
        return TailedEventLog.following(self.store, self.bus)

    def close(self) -> None:
        """Stop the engine, then the event transport, then the database connections."""
        self.runner.stop()
        self.bus.close()
        self.store.close()


def build_runtime(
    config_path: Path | None = None,
    database_url: str | None = None,
    speed_days_per_second: float | None = None,
    config: AppConfig | None = None,
) -> Runtime:
    """Build the engine and its (not yet started) runner; call ``runtime.runner.start()``."""
    config = config or load_config(config_path)
    parts = build_engine(config, database_url)
    speed = speed_days_per_second or config.speed_days_per_second
    parts.coordinator.start({"mode": "live", "speed_days_per_second": speed})

    def rebuild() -> tuple[Coordinator, Iterator[MarketTick]]:
        # After a recorded ReplayRestarted: fresh stages on the same store and bus; the feed
        # starts on the restart day (build_engine reads it from the store).
        fresh = build_engine(config, database_url, store=parts.store, bus=parts.bus)
        return fresh.coordinator, fresh.coordinator.resume(fresh.feed)

    runner = CoordinatorRunner(
        parts.coordinator, parts.coordinator.resume(parts.feed), speed, rebuild=rebuild
    )
    history = parts.feed.history if isinstance(parts.feed, HistoricalFeed) else None
    return Runtime(config, runner, parts.store, parts.bus, history)
