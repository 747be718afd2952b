"""Risk controls in the running engine: limits as versioned, audited data; the pre-trade gate;
trading states set by people and by monitoring; alerts; allocations scaled toward a risk budget.
Real engine, real SQLite event store, simulated market."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.assembly import build_engine
from engine.commands import AcknowledgeAlert, SetRiskLimit, SetTradingState
from engine.config import parse_config
from engine.model import Side
from engine.snapshot import EngineStatus
from tests.support import SIGNALS_CONFIG

LIMITS = """
[risk]
[[risk.limits]]
name = "max_position_weight"
value = {position}
mode = "soft"

[[risk.limits]]
name = "gross_exposure"
portfolio = "guarded"
value = 1.0
"""


def _engine(tmp_path: Path, days: int = 80, position: float = 0.5, extra: str = ""):
    text = SIGNALS_CONFIG.format(days=days, snapshot_every=20_000)
    text += LIMITS.format(position=position) + extra
    parts = build_engine(parse_config(text, "test"), f"sqlite:///{tmp_path / 'e.db'}")
    parts.coordinator.start({"mode": "test"})
    return parts


def _run_until_orders(coordinator, ticks) -> None:
    while not coordinator.state.pending_orders:
        coordinator.run_cycle(next(ticks))


def test_limits_are_versioned_audited_data_that_survive_restarts(tmp_path: Path) -> None:
    parts = _engine(tmp_path)
    coordinator = parts.coordinator
    seeded = parts.store.query(event_type="RiskLimitSet", limit=10)
    assert {(e.portfolio_id, e.payload["name"], e.payload["version"]) for e in seeded} == {
        ("follow", "max_position_weight", 1),
        ("guarded", "max_position_weight", 1),
        ("guarded", "gross_exposure", 1),
    }
    assert {e.actor for e in seeded} == {"config"}

    reply = coordinator.apply(
        SetRiskLimit(
            "risk.officer",
            "tighter after review",
            portfolio_id="follow",
            limit="max_position_weight",
            value=0.05,
            mode="hard",
        )
    )
    assert reply["versions"] == {"follow": 2}
    change = parts.store.query(event_type="RiskLimitSet", portfolio_id="follow", limit=1)[0]
    assert change.actor == "risk.officer"
    assert change.payload["previous"]["value"] == 0.5
    assert change.payload["reason"] == "tighter after review"
    with pytest.raises(ValueError, match=r"SetRiskLimit.value: -0.1 must be above 0"):
        SetRiskLimit("x", "y", portfolio_id="follow", limit="max_position_weight", value=-0.1)
    with pytest.raises(ValueError, match="symbols: \\['ZZZ'\\] are not in the market data"):
        coordinator.apply(
            SetRiskLimit(
                "x", "y", portfolio_id="follow", limit="restricted_instruments", symbols=("ZZZ",)
            )
        )

    # A restart on the same config keeps the officer's setting and records nothing new.
    text = SIGNALS_CONFIG.format(days=80, snapshot_every=20_000) + LIMITS.format(position=0.5)
    again = build_engine(parse_config(text, "test"), f"sqlite:///{tmp_path / 'e.db'}")
    limits = again.coordinator.risk_manager.limits(again.coordinator.state, "follow")
    assert (limits["max_position_weight"].value, limits["max_position_weight"].version) == (
        0.05,
        2,
    )
    assert again.coordinator.recorder.pending == 0
    # Changing the config's own setting is applied, as a new version.
    text = SIGNALS_CONFIG.format(days=80, snapshot_every=20_000) + LIMITS.format(position=0.4)
    changed = build_engine(parse_config(text, "test"), f"sqlite:///{tmp_path / 'e.db'}")
    changed.coordinator.start({"mode": "test"})
    limits = changed.coordinator.risk_manager.limits(changed.coordinator.state, "follow")
    assert (limits["max_position_weight"].value, limits["max_position_weight"].version) == (
        0.4,
        3,
    )
    # A tenant-wide limit reaches each of the tenant's portfolios; removing is audited too.
    reply = changed.coordinator.apply(
        SetRiskLimit("risk", "desk-wide", tenant="default", limit="var_99_historical", value=0.2)
    )
    assert reply["versions"] == {"follow": 1, "guarded": 1}
    changed.coordinator.apply(
        SetRiskLimit(
            "risk", "not needed", portfolio_id="guarded", limit="var_99_historical", remove=True
        )
    )
    assert "var_99_historical" not in changed.coordinator.risk_manager.limits(
        changed.coordinator.state, "guarded"
    )
    removed = changed.store.query(event_type="RiskLimitRemoved", limit=1)[0]
    assert (removed.portfolio_id, removed.payload["version"]) == ("guarded", 2)


def test_a_lowered_limit_scales_the_next_orders_and_records_why(tmp_path: Path) -> None:
    parts = _engine(tmp_path)
    coordinator = parts.coordinator
    ticks = iter(coordinator.resume(parts.feed))
    _run_until_orders(coordinator, ticks)
    coordinator.apply(
        SetRiskLimit(
            "risk",
            "smaller tickets",
            portfolio_id="follow",
            limit="max_order_notional_usd",
            value=500.0,
            mode="soft",
        )
    )
    first_new = coordinator.state.orders_total["follow"]
    for _ in range(5):
        coordinator.run_cycle(next(ticks))
    made = coordinator.state.orders_total["follow"] - first_new
    created = parts.store.query(event_type="OrderCreated", portfolio_id="follow", limit=made)
    assert created, "the portfolio kept trading"
    for event in created:
        notional = event.payload["quantity_shares"] * float(event.payload["decision_price_usd"])
        assert notional <= 500.0
    scaled = [e for e in created if "risk_check" in e.payload]
    assert scaled
    check = scaled[0].payload["risk_check"]
    assert check["limit"] == "max_order_notional_usd" and check["threshold"] == 500.0
    assert check["requested_shares"] > check["approved_shares"] > 0
    snapshot = coordinator.build_snapshot(EngineStatus.RUNNING, 1.0)
    assert any(d.limit == "max_order_notional_usd" for d in snapshot.gate_decisions)
    # A hard limit rejects instead, naming the limit, the value and the threshold.
    coordinator.apply(
        SetRiskLimit(
            "risk",
            "no trading above 1 USD",
            portfolio_id="follow",
            limit="max_order_notional_usd",
            value=1.0,
        )
    )
    for _ in range(5):
        coordinator.run_cycle(next(ticks))
    rejected = parts.store.query(event_type="OrderRejected", portfolio_id="follow", limit=50)
    gate = [e for e in rejected if e.payload.get("check") == "pre-trade"]
    assert gate and gate[0].payload["limit"] == "max_order_notional_usd"
    assert gate[0].payload["value"] > gate[0].payload["threshold"] == 1.0


def test_reducing_passes_only_orders_that_reduce_and_monitoring_sets_it(tmp_path: Path) -> None:
    parts = _engine(tmp_path, days=120)
    coordinator = parts.coordinator
    ticks = iter(coordinator.resume(parts.feed))
    _run_until_orders(coordinator, ticks)
    for _ in range(3):
        coordinator.run_cycle(next(ticks))
    coordinator.apply(
        SetTradingState("risk", "drawdown review", portfolio_id="follow", state="REDUCING")
    )
    for _ in range(15):
        held = {s: coordinator.ledger.shares("follow", s) for s in coordinator.universe.symbols}
        before = coordinator.orders_total["follow"]
        coordinator.run_cycle(next(ticks))
        made = coordinator.orders_total["follow"] - before
        if not made:
            continue
        for event in parts.store.query(
            event_type="OrderCreated", portfolio_id="follow", limit=made
        ):
            shares, side = event.payload["quantity_shares"], event.payload["side"]
            position = held[event.payload["symbol"]]
            if side == Side.SELL.value:
                assert 0 < shares <= position
            else:
                assert 0 < shares <= -position
    coordinator.apply(SetTradingState("risk", "review done", portfolio_id="follow", state="ACTIVE"))
    # Monitoring: a drawdown limit that any fall breaches puts the book in REDUCING itself,
    # and takes it back out once the limit is gone.
    coordinator.apply(
        SetRiskLimit(
            "risk",
            "stop on any loss",
            portfolio_id="follow",
            limit="max_drawdown",
            value=1e-6,
            on_breach="reduce",
        )
    )
    for _ in range(30):
        coordinator.run_cycle(next(ticks))
        if coordinator.state.trading_state("follow") == "REDUCING":
            break
    changed = parts.store.query(event_type="TradingStateChanged", portfolio_id="follow", limit=1)[0]
    assert changed.actor == "risk-monitor" and changed.payload["automatic"] is True
    assert changed.payload["limit"] == "max_drawdown"
    coordinator.apply(
        SetRiskLimit("risk", "lifted", portfolio_id="follow", limit="max_drawdown", remove=True)
    )
    coordinator.run_cycle(next(ticks))
    assert coordinator.state.trading_state("follow") == "ACTIVE"


def test_alerts_are_raised_acknowledged_and_cleared(tmp_path: Path) -> None:
    parts = _engine(tmp_path)
    coordinator = parts.coordinator
    ticks = iter(coordinator.resume(parts.feed))
    while not coordinator.ledger.holdings_of("guarded"):
        coordinator.run_cycle(next(ticks))
    coordinator.apply(
        SetRiskLimit("risk", "tiny", portfolio_id="guarded", limit="gross_exposure", value=0.01)
    )
    coordinator.run_cycle(next(ticks))
    raised = parts.store.query(event_type="RiskAlertRaised", portfolio_id="guarded", limit=5)
    alert = next(e for e in raised if e.payload["limit"] == "gross_exposure")
    assert alert.payload["level"] == "breach" and alert.payload["utilisation"] > 1
    coordinator.apply(
        AcknowledgeAlert(
            "risk.officer", "seen, limit is a test", alert_id=alert.payload["alert_id"]
        )
    )
    views = coordinator.build_snapshot(EngineStatus.RUNNING, 1.0).risk_alerts
    seen = next(v for v in views if v.alert_id == alert.payload["alert_id"])
    assert seen.acknowledged_by == "risk.officer"
    with pytest.raises(ValueError, match="is not open"):
        coordinator.apply(AcknowledgeAlert("r", "x", alert_id="nope"))
    coordinator.apply(
        SetRiskLimit(
            "risk", "back to normal", portfolio_id="guarded", limit="gross_exposure", value=10.0
        )
    )
    coordinator.run_cycle(next(ticks))
    assert alert.payload["alert_id"] not in coordinator.state.risk_alerts
    cleared = parts.store.query(event_type="RiskAlertCleared", portfolio_id="guarded", limit=5)
    assert any(e.payload["alert_id"] == alert.payload["alert_id"] for e in cleared)


def test_an_allocation_over_its_volatility_budget_is_scaled_to_it(tmp_path: Path) -> None:
    extra = """
[[risk.limits]]
name = "volatility"
portfolio = "follow"
value = 0.02
mode = "soft"
"""
    parts = _engine(tmp_path, extra=extra)
    coordinator = parts.coordinator
    for tick in coordinator.resume(parts.feed):
        coordinator.run_cycle(tick)
    scaled = parts.store.query(event_type="AllocationScaled", portfolio_id="follow", limit=100)
    assert scaled
    for event in scaled:
        p = event.payload
        assert p["limit"] == "volatility"
        assert p["factor"] == pytest.approx(p["threshold"] / p["value"], rel=1e-6)
        assert p["factor"] < 1
    view = next(v for v in coordinator.risk.latest.values() if v.portfolio_id == "follow")
    # What it holds stays near the budget (whole shares and drift keep it from exact).
    assert view.volatility_annual < 0.02 * 1.5


def test_sleeve_capital_follows_risk_budgets_within_bounds(tmp_path: Path) -> None:
    # The "guarded" portfolio is the last one: tables appended at the end belong to it.
    sleeves = """
[portfolios.risk_budgeting]
capital_bounds = [0.1, 0.9]
short_window_days = 5
long_window_days = 20
budget_bounds = [0.3, 0.7]

[[portfolios.sleeves]]
id = "trend"
capital = 0.5
risk_budget = 0.5
sources = ["momentum"]
allocation = { model = "inverse_volatility", lookback_days = 25 }

[[portfolios.sleeves]]
id = "reversion"
capital = 0.5
risk_budget = 0.5
sources = ["mean_reversion"]
allocation = { model = "equal_weight", lookback_days = 25 }
"""
    text = SIGNALS_CONFIG.format(days=90, snapshot_every=20_000) + sleeves
    parts = build_engine(parse_config(text, "test"), f"sqlite:///{tmp_path / 'e.db'}")
    coordinator = parts.coordinator
    coordinator.start({"mode": "test"})
    for tick in coordinator.resume(parts.feed):
        coordinator.run_cycle(tick)
    assert coordinator.cycle_errors == 0
    targets = parts.store.query(portfolio_id="guarded", event_type="TargetWeightsSet", limit=500)
    budgeted = [e.payload for e in targets if "sleeve_risk_budgets" in e.payload]
    assert len(budgeted) > 10
    moved = 0
    for p in budgeted:
        capital, budgets = p["sleeve_capital"], p["sleeve_risk_budgets"]
        shares = p["sleeve_var_99_shares"]
        assert sum(capital.values()) == pytest.approx(1.0)
        assert all(0.1 - 1e-9 <= c <= 0.9 + 1e-9 for c in capital.values())
        assert all(0.3 - 1e-9 <= b <= 0.7 + 1e-9 for b in budgets.values())
        assert sum(shares.values()) == pytest.approx(1.0, abs=1e-6)
        if all(0.1 + 1e-6 < c < 0.9 - 1e-6 for c in capital.values()):
            # Inside the bounds each sleeve carries exactly its budget of the target's risk.
            for sleeve, budget in budgets.items():
                assert shares[sleeve] == pytest.approx(budget, abs=1e-5)
        moved += any(abs(b - 0.5) > 1e-3 for b in budgets.values())
    assert moved, "the budgets never adapted to the volatility regime"
    view = coordinator.risk.latest["guarded"]
    assert {s for s, _ in view.sleeve_contributions} == {"trend", "reversion"}


def test_working_orders_that_a_lowered_limit_refuses_are_cancelled(tmp_path: Path) -> None:
    parts = _engine(tmp_path)
    coordinator = parts.coordinator
    ticks = iter(coordinator.resume(parts.feed))
    while not any(o.portfolio_id == "follow" for o in coordinator.state.pending_orders.values()):
        coordinator.run_cycle(next(ticks))
    working = {
        o.order_id: o
        for o in coordinator.state.pending_orders.values()
        if o.portfolio_id == "follow"
    }
    close = coordinator.market.latest_close()
    notional = {
        i: o.quantity_shares * float(close[coordinator.universe.symbol_index[o.symbol]])
        for i, o in working.items()
    }
    threshold = max(notional.values()) / 2  # the largest order no longer fits
    reply = coordinator.apply(
        SetRiskLimit(
            "risk",
            "smaller tickets now",
            portfolio_id="follow",
            limit="max_order_notional_usd",
            value=threshold,
        )
    )
    over = {i for i, value in notional.items() if value > threshold}
    assert over and set(reply["cancelled_orders"]["follow"]) == over
    still = {o.order_id for o in coordinator.state.pending_orders.values()}
    assert still & set(working) == set(working) - over
    cancelled = parts.store.query(event_type="OrderCancelled", portfolio_id="follow", limit=50)
    reasons = {e.payload["order_id"]: e.payload["reason"] for e in cancelled}
    assert all(reasons[i].startswith("max_order_notional_usd changed:") for i in over)
