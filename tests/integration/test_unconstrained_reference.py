"""The cost of a mandate's limits is measured against its allocation sized again without them
(engine/performance/unconstrained.py). Checked against the engine itself: the same history
replayed with the growth portfolio's limits taken out of its configuration sizes, at every
rebalance, what the report re-sizes from the first run's log. Growth is mean-variance without a
signal band, so which names it sizes does not depend on what it holds, and the two runs see the
same views each rebalance."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from app.cli import main
from engine.assembly import build_feed
from engine.config import load_config
from engine.events.store import SqlEventStore
from engine.performance.measurement import price_frame
from engine.performance.run_log import RunLog
from engine.performance.targets import vector
from engine.performance.unconstrained import unconstrained_targets

REPO = Path(__file__).resolve().parents[2]
# The growth portfolio's limits, as the default configuration writes them.
LIMITS = (
    'sector_caps = { "Information Technology" = 0.35 }\n'
    "# At most 15% of NAV per rebalance: 26 rebalances a year trade at most about 3.9x NAV.\n"
    "max_turnover = 0.15\n"
)


def _replay(config: Path, out: Path) -> RunLog:
    args = ["replay", "--config", str(config), "--out", str(out), "--no-progress"]
    assert main([*args, "--start", "2019-01-02", "--end", "2019-12-31"]) == 0
    store = SqlEventStore.from_url(f"sqlite:///{out / 'events.db'}", writable=False)
    log = RunLog()
    try:
        for event in store.iter_from(1):
            log.observe(event)
    finally:
        store.close()
    return log


def test_the_reference_is_what_the_engine_sizes_without_the_limits(tmp_path: Path) -> None:
    default = (REPO / "engine" / "default_config.toml").read_text()
    assert default.count(LIMITS) == 1  # the growth portfolio's
    limited, unlimited = tmp_path / "limited.toml", tmp_path / "unlimited.toml"
    limited.write_text(default)
    unlimited.write_text(default.replace(LIMITS, ""))
    with_limits = _replay(limited, tmp_path / "limited")
    without = _replay(unlimited, tmp_path / "unlimited")

    config = load_config(limited)
    growth = next(p for p in config.portfolios if p.id == "growth")
    history = build_feed(config).history
    close = price_frame(history)
    sector_of = {i.symbol: i.sector for i in history.instruments}
    targets = with_limits.targets["growth"]
    assert all(t.views is not None for t in targets)
    references = unconstrained_targets(
        config, growth, targets, close, [sector_of[s] for s in close.columns]
    )
    index = {symbol: i for i, symbol in enumerate(close.columns)}
    engine_sized = {t.market_date: vector(t.optimised, index) for t in without.targets["growth"]}
    assert set(references) == set(engine_sized) and len(references) == 26
    largest = 0.0
    for day, reference in references.items():
        # The views were recorded to 6 decimals: the sizing moves by less than 1e-4.
        np.testing.assert_allclose(reference, engine_sized[day], rtol=0, atol=1e-4)
        limited_weights = vector(next(t for t in targets if t.market_date == day).optimised, index)
        largest = max(largest, float(np.abs(reference - limited_weights).max()))
    # The limits did bind: the reference is not the limited allocation over again.
    assert largest > 0.05
    # And the portfolio without limits records no views: there is nothing to re-size.
    assert all(t.views is None for t in without.targets["growth"])
    assert unconstrained_targets(config, growth, without.targets["growth"], close, []) == {}
