"""The no-trade region in the running engine: the trades held back are recorded with their
benefit, cost and tax, each below its cost, and never sent; with ``to_band_edge`` a drift
rebalance trades only the names beyond their band."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.assembly import build_engine
from engine.config import parse_config
from engine.snapshot import EngineStatus
from tests.support import SIGNALS_CONFIG


def _run(tmp_path: Path, rebalancing: str) -> object:
    text = SIGNALS_CONFIG.format(days=80, snapshot_every=20_000)
    config = parse_config(text + "\n[portfolios.rebalancing]\n" + rebalancing, "test")
    parts = build_engine(config, f"sqlite:///{tmp_path / 'e.db'}")
    parts.coordinator.start({"mode": "test"})
    for tick in parts.coordinator.resume(parts.feed):
        parts.coordinator.run_cycle(tick)
    return parts


def _of(parts: object, kind: str) -> list:
    return parts.store.query(portfolio_id="guarded", event_type=kind, limit=100_000)  # type: ignore[attr-defined]


def test_trades_below_their_cost_are_held_back_and_never_sent(tmp_path: Path) -> None:
    parts = _run(tmp_path, "cost_aware = true\nhorizon_days = 21\n")
    applied = _of(parts, "NoTradeRegionApplied")
    assert applied, "no trade was held back"
    orders_by_cycle: dict[str, set[str]] = {}
    for order in _of(parts, "OrderCreated"):
        orders_by_cycle.setdefault(order.correlation_id, set()).add(order.payload["symbol"])
    targets = {e.correlation_id: e for e in _of(parts, "TargetWeightsSet")}
    for event in applied:
        held_back = event.payload["held_back"]
        assert 0 < len(held_back) <= event.payload["trades"]
        for trade in held_back:
            assert trade["benefit_usd"] < trade["cost_usd"] + trade["tax_usd"]
            assert trade["symbol"] not in orders_by_cycle.get(event.correlation_id, set())
        # The target recorded is the one traded to: with the held-back names as held.
        assert event.correlation_id in targets
    # The Rebalancing page's history counts them per rebalance.
    view = next(
        v
        for v in parts.coordinator.build_snapshot(EngineStatus.RUNNING, 1.0).rebalancing  # type: ignore[attr-defined]
        if v.portfolio_id == "guarded"
    )
    held_on: dict[str, int] = {}
    for event in applied:
        day = event.payload["market_date"]
        held_on[day] = held_on.get(day, 0) + len(event.payload["held_back"])
    assert any(r.held_back for r in view.history)
    for record in view.history:
        assert record.held_back == held_on.get(record.market_date.isoformat(), 0)
    # Without the region nothing is held back.
    plain = _run(tmp_path / "plain", "")
    assert _of(plain, "NoTradeRegionApplied") == []


def test_to_band_edge_trades_each_name_beyond_its_band_to_the_edge_only(tmp_path: Path) -> None:
    band = 0.02
    parts = _run(
        tmp_path, f'calendar = "quarterly"\ndrift_absolute = {band}\nto_band_edge = true\n'
    )
    orders_by_cycle: dict[str, set[str]] = {}
    for order in _of(parts, "OrderCreated"):
        orders_by_cycle.setdefault(order.correlation_id, set()).add(order.payload["symbol"])
    # Whole shares move a weight by at most one share's worth: well under 0.1% of NAV here.
    share = 1e-3
    checked = 0
    for event in _of(parts, "TargetWeightsSet")[:-1]:  # the first target is from cash
        weights, sized = event.payload["weights"], event.payload["optimised"]
        traded = orders_by_cycle.get(event.correlation_id, set())
        for symbol in set(weights) | set(sized):
            gap = abs(weights.get(symbol, 0.0) - sized.get(symbol, 0.0))
            if symbol in traded:
                # Traded to the edge of its band around the allocation's weight.
                assert gap == pytest.approx(band, abs=share)
                checked += 1
            else:
                assert gap <= band + share  # inside its band: left as held
    assert checked
