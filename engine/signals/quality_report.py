"""How well each built-in source has predicted over a stretch of market history.

The same sources and the same ``QualityTracker`` the engine uses run over the history, with no
trading: every cycle's views are scored once their horizon has passed. The report gives, per
``source/horizon``, the mean information coefficient, its standard deviation, the IC information
ratio (mean / standard deviation), the hit rate and the coverage. Observations of long horizons
overlap (a 12-month view is formed every day), so they are far from independent: read the IR,
not a naive t-statistic.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import numpy as np

from engine.config import AppConfig
from engine.market.feeds import MarketFeed, RollingPrices
from engine.signals.quality import QualityObservation, QualityTracker
from engine.signals.sources import SignalSource


@dataclass(frozen=True, slots=True)
class HorizonQuality:
    source: str
    horizon: str
    observations: int
    mean_ic: float
    ic_std: float
    hit_rate: float
    coverage: float
    first_date: date | None
    last_date: date | None

    @property
    def ic_ir(self) -> float:
        return self.mean_ic / self.ic_std if self.ic_std > 0 else float("nan")


@dataclass(frozen=True, slots=True)
class QualityReport:
    start: date | None
    end: date | None
    cycles: int
    rows: tuple[HorizonQuality, ...]

    def to_json(self) -> dict[str, object]:
        return {
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
            "cycles": self.cycles,
            "horizons": [
                {
                    "source": r.source,
                    "horizon": r.horizon,
                    "observations": r.observations,
                    "mean_ic": round(r.mean_ic, 5),
                    "ic_std": round(r.ic_std, 5),
                    "ic_ir": round(r.ic_ir, 4),
                    "hit_rate": round(r.hit_rate, 4),
                    "coverage": round(r.coverage, 4),
                }
                for r in self.rows
            ],
        }

    def format_table(self) -> str:
        lines = [
            f"source quality over {self.start} .. {self.end} ({self.cycles:,} cycles); "
            "IC = Spearman rank correlation of score with the forward return over the horizon",
            f"{'source/horizon':<22}{'obs':>7}{'mean IC':>10}{'IC std':>9}{'IC IR':>8}"
            f"{'hit rate':>10}{'coverage':>10}",
        ]
        for r in self.rows:
            lines.append(
                f"{r.source + '/' + r.horizon:<22}{r.observations:>7,}{r.mean_ic:>10.4f}"
                f"{r.ic_std:>9.4f}{r.ic_ir:>8.3f}{r.hit_rate:>9.1%} {r.coverage:>9.1%}"
            )
        return "\n".join(lines)


def measure_source_quality(
    config: AppConfig,
    feed: MarketFeed,
    sources: dict[str, SignalSource],
    on_cycle: Callable[[int], None] | None = None,
) -> QualityReport:
    """Run ``sources`` over every tick of ``feed`` and score their views (no trading)."""
    quality = config.signals.quality
    tracker = QualityTracker(
        window=10**9, min_observations=1, min_cross_section=quality.min_cross_section
    )
    prices = RollingPrices(config.history_days, len(feed.instruments))
    prices.extend(feed.warmup())
    required = max(source.required_days for source in sources.values())
    observations: list[QualityObservation] = []
    dates: list[date] = []
    for cycle, tick in enumerate(feed, start=1):
        prices.append(tick.close)
        dates.append(tick.timestamp)
        if len(prices) >= required:
            window = prices.window()
            for source in sources.values():
                tracker.record_batches(cycle, source.generate(window, tick.timestamp), tick.close)
        observations.extend(tracker.mature(cycle, tick.close))
        if on_cycle is not None:
            on_cycle(cycle)
    rows = []
    for key in sorted({o.key for o in observations}):
        mine = [o for o in observations if o.key == key]
        ics = np.array([o.ic for o in mine])
        rows.append(
            HorizonQuality(
                mine[0].source,
                mine[0].horizon,
                len(mine),
                float(ics.mean()),
                float(ics.std(ddof=1)) if len(ics) > 1 else float("nan"),
                float(np.nanmean([o.hit_rate for o in mine])),
                float(np.mean([o.coverage for o in mine])),
                dates[mine[0].cycle - 1],
                dates[mine[-1].cycle - 1],
            )
        )
    return QualityReport(
        dates[0] if dates else None, dates[-1] if dates else None, len(dates), tuple(rows)
    )
