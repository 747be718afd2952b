"""The command desks (weights, trading, risk, signal overrides), built with plain data: each
validates first (a ValueError naming the field, nothing recorded), then records."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from engine.commands import (
    AcknowledgeAlert,
    CancelOrder,
    LiftOverride,
    LiftWeightOverride,
    SetOverride,
    SetRiskLimit,
    SetTradingState,
    SetWeightOverride,
)
from engine.cycle.desks import RiskDesk, TradingDesk, WeightDesk
from engine.cycle.gate import GateStage
from engine.cycle.quality import QualityStage
from engine.cycle.risk import RiskStage
from engine.cycle.signal_desk import SignalDesk
from engine.signals.intake import SignalIntake
from engine.signals.quality import QualityTracker
from engine.signals.validation import SignalValidator
from engine.state.engine_state import EngineState
from tests.unit.cycle_support import (
    SYMBOLS,
    TODAY,
    UNIVERSE,
    Recorder,
    cycle_completed,
    mandates,
    opened_state,
    order_created,
    risk_manager,
)

CLOSE = np.array([50.0, 20.0, 80.0, 10.0])


def test_a_weight_pin_within_the_mandate_is_recorded_and_can_be_lifted() -> None:
    state, emit = opened_state()
    desk = WeightDesk(UNIVERSE, mandates(), state, emit)

    desk.set_override(
        SetWeightOverride("pm", "conviction", portfolio_id="alpha", symbol="CCC", weight=0.3)
    )
    assert state.weight_overrides["alpha"]["CCC"]["weight"] == 0.3
    assert emit.events[-1].actor == "pm"

    desk.lift_override(LiftWeightOverride("pm", "done", portfolio_id="alpha", symbol="CCC"))
    assert state.weight_overrides["alpha"] == {}


@pytest.mark.parametrize(
    ("symbol", "weight", "message"),
    [
        ("ZZZ", 0.1, "instrument: 'ZZZ' is not in the market data"),
        ("AAA", 0.45, r"weight: 45.0000% is outside this long-only mandate's bounds"),
    ],
)
def test_a_weight_pin_outside_the_mandate_is_refused(
    symbol: str, weight: float, message: str
) -> None:
    state, emit = opened_state()
    desk = WeightDesk(UNIVERSE, mandates(), state, emit)
    with pytest.raises(ValueError, match=message):
        desk.set_override(
            SetWeightOverride("pm", "x", portfolio_id="alpha", symbol=symbol, weight=weight)
        )
    assert emit.events == []


def test_pins_may_not_add_up_to_more_than_the_mandate_invests() -> None:
    state, emit = opened_state()
    desk = WeightDesk(UNIVERSE, mandates(), state, emit)
    for symbol in ("AAA", "BBB"):
        desk.set_override(
            SetWeightOverride("pm", "x", portfolio_id="alpha", symbol=symbol, weight=0.4)
        )
    emit.clear()
    with pytest.raises(ValueError, match=r"pins would total 100.00% of NAV, above the 95.00%"):
        desk.set_override(
            SetWeightOverride("pm", "x", portfolio_id="alpha", symbol="CCC", weight=0.2)
        )
    with pytest.raises(ValueError, match="'DDD' has no weight override in alpha"):
        desk.lift_override(LiftWeightOverride("pm", "x", portfolio_id="alpha", symbol="DDD"))
    assert emit.events == []


def test_the_trading_desk_cancels_a_working_order_and_sets_states() -> None:
    state, emit = opened_state()
    order_created(emit, "alpha-1", "alpha", "AAA", "BUY", 10, "50", 1)
    desk = TradingDesk(mandates(), state, emit)

    payload = desk.cancel(CancelOrder("pm", "stale", order_id="alpha-1"))
    assert payload["reason"] == "cancelled by pm: stale"
    with pytest.raises(ValueError, match="order: alpha-1 is no longer working"):
        desk.cancel(CancelOrder("pm", "again", order_id="alpha-1"))

    desk.set_state(SetTradingState("pm", "drill", portfolio_id="beta", state="HALTED"))
    assert state.trading_states["beta"]["automatic"] is False
    with pytest.raises(ValueError, match="state: beta is already HALTED"):
        desk.set_state(SetTradingState("pm", "drill", portfolio_id="beta", state="HALTED"))
    with pytest.raises(ValueError, match="portfolio_id: 'gamma' is not a portfolio"):
        desk.set_state(SetTradingState("pm", "x", portfolio_id="gamma", state="HALTED"))


def _risk_desk() -> tuple[RiskDesk, EngineState, Recorder]:
    state, emit = opened_state()
    manager = risk_manager()
    risk = RiskStage(UNIVERSE, mandates(), manager)
    gate = GateStage(UNIVERSE, mandates(), manager)
    return RiskDesk(mandates(), state, emit, risk, gate, lambda: CLOSE), state, emit


def test_a_tighter_limit_cancels_the_working_orders_it_would_not_pass() -> None:
    desk, state, emit = _risk_desk()
    order_created(emit, "alpha-1", "alpha", "AAA", "BUY", 1000, "50", 1)  # 50% of NAV
    order_created(emit, "alpha-2", "alpha", "DDD", "BUY", 100, "10", 1)  # 1% of NAV
    emit.clear()

    answer = desk.set_limit(
        SetRiskLimit("cro", "tighter", portfolio_id="alpha", limit="max_position_weight", value=0.2)
    )

    assert answer["versions"] == {"alpha": 1}
    assert answer["cancelled_orders"] == {"alpha": ["alpha-1"]}
    assert emit.types == ["RiskLimitSet", "OrderCancelled"]
    assert emit.events[1].payload["reason"].startswith("max_position_weight changed: ")
    assert set(state.pending_orders) == {"alpha-2"}


def test_a_tenant_wide_limit_and_unknown_tenants() -> None:
    desk, state, _ = _risk_desk()
    desk.set_limit(SetRiskLimit("cro", "all", tenant="default", limit="gross_exposure", value=1.0))
    assert set(state.risk_limits) == {"alpha", "beta"}
    assert state.risk_limits["beta"]["gross_exposure"]["scope"] == "tenant default"
    with pytest.raises(ValueError, match="tenant: 'other' has no portfolio"):
        desk.set_limit(SetRiskLimit("cro", "x", tenant="other", limit="gross_exposure", value=1.0))


def test_an_open_alert_is_acknowledged_and_an_unknown_one_refused() -> None:
    desk, state, emit = _risk_desk()
    emit(
        "RiskAlertRaised",
        {"alert_id": "a1", "limit": "volatility", "level": "warning", "market_date": "2024-03-01"},
        "alpha",
    )
    desk.acknowledge(AcknowledgeAlert("cro", "looking", alert_id="a1"))
    assert state.risk_alerts["a1"]["acknowledged_by"] == "cro"
    with pytest.raises(ValueError, match="alert_id: 'a2' is not open"):
        desk.acknowledge(AcknowledgeAlert("cro", "x", alert_id="a2"))


def _signal_desk() -> tuple[SignalDesk, EngineState, Recorder]:
    state, emit = opened_state()
    intake = SignalIntake(SignalValidator(SYMBOLS, {}), {})
    quality = QualityStage(QualityTracker(), ["momentum"])
    return (
        SignalDesk(UNIVERSE, mandates(), intake, quality, state, emit, lambda: CLOSE),
        state,
        emit,
    )


def test_an_override_is_set_and_lifted_by_a_person() -> None:
    desk, state, emit = _signal_desk()
    cycle_completed(emit, 1, TODAY)

    override = desk.set_override(
        SetOverride("pm", "earnings", kind="pin", portfolio_id="alpha", symbol="BBB", score=0.5)
    )
    assert state.overrides[override.override_id].score == 0.5
    assert override.set_on == TODAY

    desk.lift_override(LiftOverride("pm", "over", override_id=override.override_id))
    ended = emit.of("OverrideExpired")[0]
    assert ended.payload["reason"] == "lifted: over" and ended.actor == "pm"
    assert state.overrides == {}


def test_an_override_naming_what_does_not_exist_is_refused() -> None:
    desk, _, emit = _signal_desk()
    cycle_completed(emit, 1, TODAY)
    emit.clear()
    with pytest.raises(ValueError, match="portfolio_id: 'gamma' is not a portfolio"):
        desk.set_override(SetOverride("pm", "x", portfolio_id="gamma", symbol="AAA"))
    with pytest.raises(ValueError, match="instrument: 'ZZZ' is not in the market data"):
        desk.set_override(SetOverride("pm", "x", symbol="ZZZ"))
    with pytest.raises(
        ValueError, match=r"expires_on: 2024-02-29 is before the market date 2024-03-01"
    ):
        desk.set_override(
            SetOverride("pm", "x", symbol="AAA", expires_on=TODAY - timedelta(days=1))
        )
    with pytest.raises(ValueError, match="override_id: 'nope' is not active"):
        desk.lift_override(LiftOverride("pm", "x", override_id="nope"))
    assert emit.events == []
