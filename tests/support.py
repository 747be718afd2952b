"""Shared test helpers: a small simulated config and a condition poller (no fixed sleeps)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import numpy as np

from engine.config import AppConfig, parse_config
from engine.model import CoordinatedSignals
from engine.snapshot import SignalRow

T = TypeVar("T")

SIMULATED_CONFIG = """
speed_days_per_second = {speed}
history_days = 30

[state]
snapshot_every_events = {snapshot_every}

[market]
source = "simulated"
simulated_instruments = 12
simulated_days = {days}
seed = 11

[sources.momentum]
horizons_days = [5, 10, 20]
skip_days = 1

[sources.mean_reversion]
lookbacks_days = [3]
volatility_days = 20

[[portfolios]]
id = "alpha"
name = "Alpha"
sources = ["momentum"]
max_weight = 0.3
initial_cash_usd = "100000"

[[portfolios]]
id = "beta"
name = "Beta"
sources = ["momentum", "mean_reversion"]
max_weight = 0.2
cash_buffer = 0.1
initial_cash_usd = "250000"
"""


def simulated_config(
    days: int = 400, speed: float = 200.0, snapshot_every: int = 20_000
) -> AppConfig:
    return parse_config(
        SIMULATED_CONFIG.format(days=days, speed=speed, snapshot_every=snapshot_every),
        "test config",
    )


def eventually(condition: Callable[[], bool], timeout_s: float = 20.0) -> bool:
    """Poll ``condition`` until it holds or ``timeout_s`` passes; True if it held."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def until(condition: Callable[[], T | None], timeout_s: float, what: str) -> T:
    """Poll ``condition`` until it gives a true value, and return that value; fail naming
    ``what`` was awaited if ``timeout_s`` passes first (a deadline, never the outcome)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")


SIGNALS_CONFIG = """
history_days = 30

[state]
snapshot_every_events = {snapshot_every}

[market]
source = "simulated"
simulated_instruments = 12
simulated_days = {days}
seed = 11

[sources.momentum]
priority = 1.0
horizons_days = [5, 10, 20]
skip_days = 1

[sources.mean_reversion]
lookbacks_days = [3]
volatility_days = 20

[sources.external.desk]
priority = 5.0
ttl_days = 3
horizons = ["1w", "1m"]

[sources.external.guard]
ttl_days = 10

[signals.quality]
window = 20
min_observations = 5
record_every_cycles = 5

[[portfolios]]
id = "follow"
name = "Follows the desk"
sources = ["momentum", "desk"]
max_weight = 0.3
initial_cash_usd = "100000"
[portfolios.coordination]
policy = "priority"

[[portfolios]]
id = "guarded"
name = "Blend with a veto"
universe = ["SIM00000", "SIM00001", "SIM00002", "SIM00003", "SIM00004", "SIM00005"]
sources = ["momentum", "mean_reversion"]
max_weight = 0.3
initial_cash_usd = "250000"
[portfolios.coordination]
policy = "confidence_blend"
veto_sources = ["guard"]
"""


def signals_config(days: int = 120, snapshot_every: int = 20_000) -> AppConfig:
    """Two portfolios on a simulated market with two external sources: ``desk`` (priority 5,
    followed by ``follow``) and ``guard`` (a veto source of ``guarded``)."""
    return parse_config(
        SIGNALS_CONFIG.format(days=days, snapshot_every=snapshot_every), "signals test config"
    )


def signal_rows_one_by_one(
    portfolio_id: str, symbols: tuple[str, ...], coordinated: CoordinatedSignals
) -> list[SignalRow]:
    """A portfolio's coordinated rows as the snapshot made them before it kept columns: one per
    instrument with a view, its lineage the keys with a share, rounded to 4 decimals, in the
    keys' order (the reference the kept rows are checked against)."""
    rows = []
    for i, symbol in enumerate(symbols):
        if coordinated.confidence[i] > 0:
            lineage = tuple(
                (key, float(np.round(share[i], 4)))
                for key, share in coordinated.lineage.items()
                if share[i] > 0
            )
            rows.append(
                SignalRow(
                    portfolio_id,
                    symbol,
                    float(coordinated.score[i]),
                    float(coordinated.confidence[i]),
                    lineage,
                )
            )
    return rows
