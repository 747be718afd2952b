"""The Rebalancing page's read model over a running engine: drift against the bands, the
proposal with its preview, and the history of rebalances with their outcome, orders, cost and
realised gains, the same when read back from the log after a restart."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from engine.assembly import build_engine
from engine.commands import ApproveRebalance, RequestRebalance
from engine.config import parse_config
from engine.rebalancing.triggers import RebalancePolicy, name_bands
from engine.snapshot import EngineStatus
from engine.views.rebalancing import COST_PARTS, DriftRow, RebalanceHistory
from tests.support import SIGNALS_CONFIG

BANDS = "\n[portfolios.rebalancing]\ndrift_absolute = 0.03\ndrift_relative = 0.25\n"


def test_a_names_band_is_the_narrowest_that_applies() -> None:
    both = RebalancePolicy(drift_absolute=0.03, drift_relative=0.25)
    # 25% of 20% is 5%: the absolute band is narrower; 25% of 8% is 2%; no target: absolute.
    assert name_bands(both, np.array([0.20, 0.08, 0.0])) == pytest.approx([0.03, 0.02, 0.03])
    relative = name_bands(RebalancePolicy(drift_relative=0.25), np.array([0.0, -0.1]))
    assert relative.tolist() == [np.inf, pytest.approx(0.025)]
    assert name_bands(RebalancePolicy(), np.array([0.1])).tolist() == [np.inf]
    # At the edge is beyond (the trigger fires there); a hair inside is not.
    assert DriftRow("A", "Tech", 0.13, 0.10, 0.03).beyond
    assert not DriftRow("A", "Tech", 0.1299, 0.10, 0.03).beyond
    assert not DriftRow("A", "Tech", 0.5, 0.10, None).beyond


def test_the_history_follows_a_previewed_rebalance_and_reads_back_the_same(tmp_path: Path) -> None:
    text = SIGNALS_CONFIG.format(days=80, snapshot_every=20_000)
    text = text.replace('id = "guarded"\n', 'id = "guarded"\nrebalance_every_days = 20\n')
    parts = build_engine(parse_config(text + BANDS, "test"), f"sqlite:///{tmp_path / 'e.db'}")
    coordinator, store = parts.coordinator, parts.store
    coordinator.start({"mode": "test"})
    ticks = iter(coordinator.resume(parts.feed))
    for _ in range(25):
        coordinator.run_cycle(next(ticks))
    coordinator.apply(RequestRebalance("pm", "look first", portfolio_id="guarded", preview=True))
    coordinator.run_cycle(next(ticks))
    view = next(
        v
        for v in coordinator.build_snapshot(EngineStatus.RUNNING, 1.0).rebalancing
        if v.portfolio_id == "guarded"
    )
    assert view.policy == RebalancePolicy(every_days=20, drift_absolute=0.03, drift_relative=0.25)
    # Drift rows are the held or targeted names, each against its narrowest band.
    for row in view.drift:
        (band,) = name_bands(view.policy, np.array([row.target_weight]))
        assert row.band == (pytest.approx(band) if np.isfinite(band) else None)
    assert {r.sector for r in view.drift} == {r.group for r in view.sectors}
    assert [(r.group, r.band) for r in view.classes] == [("equity", None)]  # simulated stocks
    # The proposal, with the preview and trades recorded with it.
    (proposed,) = store.query(portfolio_id="guarded", event_type="RebalanceProposed", limit=2)
    proposal = view.proposal
    assert proposal is not None and proposal.status == "pending"
    assert proposal.proposal_id == proposed.payload["proposal_id"]
    assert {t.symbol for t in proposal.trades} == {t["symbol"] for t in proposed.payload["trades"]}
    assert proposal.preview["turnover"] == proposed.payload["preview"]["turnover"]
    assert proposal.triggers == ("manual: a preview asked for by pm: look first",)
    newest = view.history[0]
    assert newest.outcome == "proposed, waiting for a decision" and newest.orders == 0

    coordinator.apply(ApproveRebalance("pm", "go", portfolio_id="guarded"))
    for _ in range(8):  # the release, then its orders fill
        coordinator.run_cycle(next(ticks))
    snapshot = coordinator.build_snapshot(EngineStatus.RUNNING, 1.0)
    view = next(v for v in snapshot.rebalancing if v.portfolio_id == "guarded")
    assert view.proposal is None
    record = next(r for r in view.history if r.triggers == newest.triggers)
    (released,) = store.query(portfolio_id="guarded", event_type="RebalanceReleased", limit=2)
    assert record.outcome == f"approved by pm: go; traded on {released.payload['market_date']}"
    assert record.orders == released.payload["orders"] > 0
    # Cost and gains, from the fills of the orders made at the release.
    created = {
        e.payload["order_id"]
        for e in store.query(portfolio_id="guarded", event_type="OrderCreated", limit=1_000)
        if e.correlation_id == released.correlation_id
    }
    fills = [
        e
        for e in store.query(portfolio_id="guarded", event_type="OrderFilled", limit=1_000)
        if e.payload["order_id"] in created
    ]
    assert fills
    cost = sum(
        Decimal(e.payload["shortfall"][part])
        for e in fills
        if "shortfall" in e.payload
        for part in COST_PARTS
    )
    gains = sum(Decimal(lot["gain_usd"]) for e in fills for lot in e.payload.get("lots", ()))
    assert record.cost_usd == cost > 0
    assert record.realised_gain_usd == gains
    # Read back from the log after a restart: the same history.
    mandates = parts.coordinator.mandates
    assert RebalanceHistory(mandates, store).records("guarded") == view.history
