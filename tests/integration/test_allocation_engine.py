"""Sizing models inside the engine's cycle: targets from the optimiser, and a mandate whose limits
cannot hold keeps its holdings with the reason recorded."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.assembly import EngineParts, build_engine
from engine.config import parse_config
from engine.snapshot import EngineStatus
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
    # The default solver answered every time: no fallback was needed.
    assert {e.payload["solver"] for e in targets} == {"piqp"}
    assert not any("solver_fallback" in e.payload for e in targets)
    # The Allocation page's read model says the same.
    view = parts.coordinator.views.latest_allocations["guarded"]
    assert (view.solver, view.solver_fallback) == ("piqp", None)
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


def test_the_configured_solver_sizes_the_book_and_is_recorded(tmp_path: Path) -> None:
    parts = _run(
        tmp_path,
        '[portfolios.allocation]\nmodel = "minimum_variance"\nlookback_days = 25\n'
        '[allocation]\nsolver = "clarabel"\n',
    )
    targets = parts.store.query(portfolio_id="guarded", event_type="TargetWeightsSet", limit=500)
    # A target made without a solve (no name with a positive view) names no solver.
    solvers = {e.payload.get("solver") for e in targets}
    assert "clarabel" in solvers and solvers <= {"clarabel", None}
    # The other portfolios size without a solver (signal_proportional): nothing is recorded.
    others = parts.store.query(event_type="TargetWeightsSet", limit=2_000)
    assert all("solver" not in e.payload for e in others if e.portfolio_id != "guarded")


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


def test_a_long_short_mandate_shorts_within_its_gross_and_net_limits(tmp_path: Path) -> None:
    parts = _run(
        tmp_path,
        '[portfolios.allocation]\nmodel = "mean_variance"\nlookback_days = 25\n'
        "risk_aversion = 5.0\nmax_short_weight = 0.2\ngross_exposure = 1.2\n"
        "net_exposure = [0.0, 0.2]\n",
    )
    targets = parts.store.query(portfolio_id="guarded", event_type="TargetWeightsSet", limit=500)
    assert targets
    shorted = False
    for event in targets:
        weights = event.payload["weights"].values()
        assert all(-0.2 - 1e-9 <= w <= 0.3 + 1e-9 for w in weights)
        assert sum(abs(w) for w in weights) <= 1.2 + 1e-6
        assert sum(weights) <= 0.2 + 1e-6
        shorted |= any(w < 0 for w in weights)
    assert shorted
    ledger = parts.coordinator.ledger
    assert ledger.allows_short("guarded") and not ledger.allows_short("follow")
    assert any(ledger.shares("guarded", s) < 0 for s in parts.coordinator.universe.symbols)
    # Short sale proceeds are cash: cash exceeds NAV while the book is net short-ish or flat.
    assert ledger.cash_usd("guarded") > 0


def test_sleeves_are_sized_apart_and_combined_by_capital(tmp_path: Path) -> None:
    parts = _run(
        tmp_path,
        "[[portfolios.sleeves]]\n"
        'id = "trend"\ncapital = 0.7\nsources = ["momentum"]\n'
        'allocation = { model = "inverse_volatility", lookback_days = 25 }\n'
        "[[portfolios.sleeves]]\n"
        'id = "reversion"\ncapital = 0.3\nsources = ["mean_reversion"]\n'
        'allocation = { model = "equal_weight", lookback_days = 25 }\n',
    )
    targets = parts.store.query(portfolio_id="guarded", event_type="TargetWeightsSet", limit=500)
    assert targets
    # Neither sleeve's model needs a solver.
    assert not any("sleeve_solvers" in e.payload for e in targets)
    coordinator = parts.coordinator
    for event in targets:
        sleeves = event.payload["sleeves"]
        assert set(sleeves) == {"trend", "reversion"}
        for weights in sleeves.values():
            assert sum(weights.values()) <= 0.98 + 1e-6  # each sleeve keeps the cash buffer
    # The latest target (made at the last tick's prices) is the capital-weighted combination, in
    # whole shares; a trade under the minimum size (0.2% of NAV) stays at the holding.
    latest = targets[0].payload
    nav = float(coordinator.ledger.nav_usd("guarded"))
    close = coordinator.market.latest_close()
    trend, reversion = latest["sleeves"]["trend"], latest["sleeves"]["reversion"]
    for symbol in set(latest["weights"]) | set(trend) | set(reversion):
        expected = 0.7 * trend.get(symbol, 0) + 0.3 * reversion.get(symbol, 0)
        share = float(close[coordinator.universe.symbol_index[symbol]]) / nav
        assert abs(latest["weights"].get(symbol, 0) - expected) <= 0.002 + 2 * share
    view = coordinator.views.latest_allocations["guarded"]
    assert [s.sleeve_id for s in view.sleeves] == ["trend", "reversion"]
    assert view.model.startswith("sleeves: trend inverse_volatility 70%")


def test_weight_overrides_pin_and_exclude_through_the_command_queue(tmp_path: Path) -> None:
    from engine.commands import LiftWeightOverride, SetWeightOverride

    text = SIGNALS_CONFIG.format(days=80, snapshot_every=20_000)
    parts = build_engine(parse_config(text, "test"), f"sqlite:///{tmp_path / 'e.db'}")
    coordinator = parts.coordinator
    coordinator.start({"mode": "test"})
    ticks = iter(coordinator.resume(parts.feed))
    for _ in range(40):
        coordinator.run_cycle(next(ticks))
    pin = SetWeightOverride(
        "pm", "conviction", portfolio_id="guarded", symbol="SIM00001", weight=0.2
    )
    exclude = SetWeightOverride("pm", "compliance", portfolio_id="guarded", symbol="SIM00002")
    for command in (pin, exclude):
        answer = coordinator.handle(command)
        assert answer is not None
        answer()
        assert command.reply.result()["instrument"] in ("SIM00001", "SIM00002")
    with pytest.raises(ValueError, match=r"outside this long-only mandate's bounds"):
        coordinator.apply(
            SetWeightOverride("pm", "x", portfolio_id="guarded", symbol="SIM00003", weight=-0.1)
        )
    for _ in range(3):
        coordinator.run_cycle(next(ticks))
    weights = parts.store.query(portfolio_id="guarded", event_type="TargetWeightsSet", limit=1)[
        0
    ].payload["weights"]
    nav = float(coordinator.ledger.nav_usd("guarded"))
    price = float(coordinator.market.latest_close()[1])
    assert abs(weights["SIM00001"] - 0.2) <= price / nav + 1e-9
    assert "SIM00002" not in weights
    assert coordinator.ledger.shares("guarded", "SIM00002") == 0
    audit = parts.store.query(portfolio_id="guarded", event_type="WeightOverrideSet", limit=5)
    assert {(e.actor, e.payload["action"]) for e in audit} == {("pm", "pin"), ("pm", "exclude")}
    coordinator.apply(LiftWeightOverride("pm", "done", portfolio_id="guarded", symbol="SIM00002"))
    view = coordinator.build_snapshot(EngineStatus.RUNNING, 1.0).portfolio("guarded")
    assert [(o.symbol, o.weight) for o in view.weight_overrides] == [("SIM00001", 0.2)]


def test_a_held_portfolio_cancels_its_orders_and_makes_no_new_ones(tmp_path: Path) -> None:
    from engine.commands import CancelOrder, SetTradingState

    text = SIGNALS_CONFIG.format(days=80, snapshot_every=20_000)
    parts = build_engine(parse_config(text, "test"), f"sqlite:///{tmp_path / 'e.db'}")
    coordinator = parts.coordinator
    coordinator.start({"mode": "test"})
    ticks = iter(coordinator.resume(parts.feed))
    while not coordinator.state.pending_orders:
        coordinator.run_cycle(next(ticks))
    first = next(iter(coordinator.state.pending_orders.values()))
    views = coordinator.build_snapshot(EngineStatus.RUNNING, 1.0).working_orders
    assert first.order_id in {v.order_id for v in views}
    assert all(v.estimated_cost_bps > 0 for v in views)
    cancelled = coordinator.apply(CancelOrder("pm", "too big", order_id=first.order_id))
    assert cancelled["remaining_shares"] == first.quantity_shares
    assert first.order_id not in coordinator.state.pending_orders
    with pytest.raises(ValueError, match="is no longer working"):
        coordinator.apply(CancelOrder("pm", "again", order_id=first.order_id))
    coordinator.apply(
        SetTradingState("risk", "limit review", portfolio_id="guarded", state="HALTED")
    )
    assert not any(o.portfolio_id == "guarded" for o in coordinator.state.pending_orders.values())
    before = coordinator.orders_total["guarded"]
    for _ in range(5):
        coordinator.run_cycle(next(ticks))
    assert coordinator.orders_total["guarded"] == before
    assert coordinator.state.halted["guarded"] == "set by risk: limit review"
    with pytest.raises(ValueError, match="already HALTED"):
        coordinator.apply(SetTradingState("risk", "again", portfolio_id="guarded", state="HALTED"))
    coordinator.apply(SetTradingState("risk", "done", portfolio_id="guarded", state="ACTIVE"))
    assert "guarded" not in coordinator.state.halted
    audit = parts.store.query(portfolio_id="guarded", event_type="TradingStateChanged", limit=5)
    assert [e.payload["state"] for e in audit] == ["ACTIVE", "HALTED"]
    assert parts.store.query(event_type="OrderCancelled", limit=50)
