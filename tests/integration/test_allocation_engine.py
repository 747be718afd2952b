"""Sizing models inside the engine's cycle: targets from the optimiser, and a mandate whose limits
cannot hold keeps its holdings with the reason recorded."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.assembly import EngineParts, build_engine
from engine.config import parse_config
from tests.support import SIGNALS_CONFIG


def _run(tmp_path: Path, allocation: str) -> EngineParts:
    # The "guarded" portfolio is the last one: a table appended at the end belongs to it.
    text = SIGNALS_CONFIG.format(days=80, snapshot_every=20_000) + allocation
    parts = build_engine(parse_config(text, "test"), f"sqlite:///{tmp_path / 'e.db'}")
    parts.coordinator.start({"mode": "test"})
    for tick in parts.coordinator.resume(parts.feed):
        parts.coordinator.run_cycle(tick)
    assert parts.coordinator.cycle_errors == 0
    return parts


def test_a_mean_variance_mandate_gets_optimised_targets_within_its_limits(tmp_path: Path) -> None:
    parts = _run(
        tmp_path,
        '[portfolios.allocation]\nmodel = "mean_variance"\nlookback_days = 25\n'
        "max_turnover = 0.5\n",
    )
    targets = parts.store.query(portfolio_id="guarded", event_type="TargetWeightsSet", limit=500)
    assert targets and {e.payload["model"] for e in targets} == {"mean_variance"}
    for event in targets:
        weights = event.payload["weights"]
        assert all(0 <= w <= 0.3 + 1e-6 for w in weights.values())
        assert sum(weights.values()) + event.payload["cash_weight"] == pytest.approx(1, abs=1e-5)
    assert parts.coordinator.fills_total["guarded"] > 0
    assert parts.store.query(event_type="AllocationInfeasible") == []
    # Each proposal is assessed before its orders; the first starts from cash, so it trades
    # exactly what it targets.
    proposals = parts.store.query(
        portfolio_id="guarded", event_type="AllocationProposed", limit=500
    )
    assert len(proposals) == len(targets)
    first = proposals[-1].payload
    assert first["model"] == "mean_variance" and first["current_volatility_annual"] == 0
    assert first["turnover"] == pytest.approx(
        sum(targets[-1].payload["weights"].values()), abs=1e-5
    )
    assert first["volatility_annual"] > 0 and first["estimated_cost_usd"] > 0


def test_limits_that_cannot_hold_keep_holdings_and_are_recorded(tmp_path: Path) -> None:
    instruments = build_engine(
        parse_config(SIGNALS_CONFIG.format(days=80, snapshot_every=20_000), "test"),
        f"sqlite:///{tmp_path / 'probe.db'}",
    ).feed.instruments
    caps = ", ".join(f'"{s}" = 0.0' for s in sorted({i.sector for i in instruments}))
    parts = _run(
        tmp_path,
        f'[portfolios.allocation]\nmodel = "minimum_variance"\nlookback_days = 25\n'
        f"sector_caps = {{ {caps} }}\n",
    )
    infeasible = parts.store.query(portfolio_id="guarded", event_type="AllocationInfeasible")
    assert infeasible
    assert "sector_caps" in infeasible[0].payload["reason"]
    assert infeasible[0].payload["action"] == "kept current holdings"
    assert parts.store.query(portfolio_id="guarded", event_type="OrderCreated") == []
    assert parts.coordinator.ledger.holdings_of("guarded") == {}
