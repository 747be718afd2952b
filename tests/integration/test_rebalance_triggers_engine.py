"""Rebalance triggers in the running engine: a manager's request fires at the next close, once,
and is audited; drift bands rebalance between calendar days."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.assembly import build_engine
from engine.commands import RequestRebalance
from engine.config import parse_config
from engine.state.engine_state import EngineState
from tests.support import SIGNALS_CONFIG

# Both portfolios rebalance every 20 cycles from the first (cycles 1, 21, 41, ...).
EVERY_20 = "rebalance_every_days = 20\n"


def _config(extra: str = "") -> str:
    text = SIGNALS_CONFIG.format(days=80, snapshot_every=20_000)
    return text.replace('id = "guarded"\n', 'id = "guarded"\n' + EVERY_20 + extra).replace(
        'id = "follow"\n', 'id = "follow"\n' + EVERY_20
    )


def test_a_request_rebalances_at_the_next_close_once(tmp_path: Path) -> None:
    parts = build_engine(parse_config(_config(), "test"), f"sqlite:///{tmp_path / 'e.db'}")
    coordinator = parts.coordinator
    coordinator.start({"mode": "test"})
    ticks = iter(coordinator.resume(parts.feed))
    for _ in range(25):  # past the calendar's rebalance at cycle 21
        coordinator.run_cycle(next(ticks))
    store = parts.store
    before = len(store.query(portfolio_id="guarded", event_type="TargetWeightsSet", limit=100))
    with pytest.raises(ValueError, match="portfolio"):
        coordinator.apply(RequestRebalance("pm", "inflows", portfolio_id="nope"))
    with pytest.raises(ValueError, match=r"RequestRebalance.reason: say why"):
        RequestRebalance("pm", " ", portfolio_id="guarded")
    answer = coordinator.apply(RequestRebalance("pm", "new mandate", portfolio_id="guarded"))
    assert answer["reason"] == "new mandate"
    coordinator.run_cycle(next(ticks))  # cycle 26: not a calendar day
    (triggered,) = store.query(portfolio_id="guarded", event_type="RebalanceTriggered", limit=1)
    assert triggered.payload["triggers"] == [
        {"trigger": "manual", "detail": "asked for by pm: new mandate"}
    ]
    targets = store.query(portfolio_id="guarded", event_type="TargetWeightsSet", limit=100)
    assert len(targets) == before + 1
    assert targets[0].payload["market_date"] == triggered.payload["market_date"]
    # The other portfolio was not asked: no rebalance off its calendar.
    assert (
        store.query(portfolio_id="follow", event_type="RebalanceTriggered", limit=1)[0].payload[
            "triggers"
        ][0]["trigger"]
        == "calendar"
    )
    # Answered once: the next close is not due again.
    coordinator.run_cycle(next(ticks))
    assert len(store.query(portfolio_id="guarded", event_type="TargetWeightsSet", limit=100)) == (
        before + 1
    )
    (request,) = store.query(portfolio_id="guarded", event_type="RebalanceRequested", limit=5)
    assert request.actor == "pm"


def test_a_pending_request_survives_a_snapshot() -> None:
    from datetime import UTC, datetime

    from engine.model import Event

    state = EngineState()
    state.apply(
        Event(
            "e1", "RebalanceRequested", datetime(2024, 1, 2, tzinfo=UTC), "pm", {"reason": "x"}, "p"
        )
    )
    restored = EngineState.from_dict(state.to_dict())
    assert restored.rebalancing.requests == {"p": {"manual": {"actor": "pm", "reason": "x"}}}


def test_a_drift_band_rebalances_between_calendar_days(tmp_path: Path) -> None:
    # The last portfolio, guarded, gets the band: 2% of NAV off a name's target.
    config = _config() + "\n[portfolios.rebalancing]\ndrift_absolute = 0.02\n"
    parts = build_engine(parse_config(config, "test"), f"sqlite:///{tmp_path / 'e.db'}")
    coordinator = parts.coordinator
    coordinator.start({"mode": "test"})
    for tick in coordinator.resume(parts.feed):
        coordinator.run_cycle(tick)
    triggered = parts.store.query(
        portfolio_id="guarded", event_type="RebalanceTriggered", limit=100
    )
    drifted = [e for e in triggered if {t["trigger"] for t in e.payload["triggers"]} == {"drift"}]
    assert drifted, "the band never fired between calendar days"
    targets = parts.store.query(portfolio_id="guarded", event_type="TargetWeightsSet", limit=100)
    set_on = {e.payload["market_date"] for e in targets}
    for event in drifted:
        assert event.payload["market_date"] in set_on  # each firing rebalanced
        (detail,) = [t["detail"] for t in event.payload["triggers"]]
        assert detail.endswith("(absolute band 2.00%)")
        # Each name shown is at least the band off its target (as shown, to 0.01%).
        for shown in detail.split(": ", 1)[1].rsplit(" (", 1)[0].split(", "):
            _, held, _, target = shown.split()
            assert abs(float(held[:-1]) - float(target[:-1])) >= 1.995
    # The follow portfolio has no band: it rebalances on its calendar only.
    follow = parts.store.query(portfolio_id="follow", event_type="RebalanceTriggered", limit=100)
    assert {t["trigger"] for e in follow for t in e.payload["triggers"]} == {"calendar"}


def _approval_engine(tmp_path: Path, expires: int = 5) -> tuple[object, object, object]:
    config = _config() + (
        f"\n[portfolios.rebalancing]\napproval = true\nproposal_expires_days = {expires}\n"
    )
    parts = build_engine(parse_config(config, "test"), f"sqlite:///{tmp_path / 'e.db'}")
    parts.coordinator.start({"mode": "test"})
    return parts, parts.coordinator, iter(parts.coordinator.resume(parts.feed))


def _of(parts: object, kind: str) -> list:
    return parts.store.query(portfolio_id="guarded", event_type=kind, limit=1_000)  # type: ignore[attr-defined]


def test_an_approved_rebalance_trades_at_the_next_close_without_the_dropped_names(
    tmp_path: Path,
) -> None:
    from engine.commands import ApproveRebalance, RejectRebalance

    parts, coordinator, ticks = _approval_engine(tmp_path)
    while not _of(parts, "RebalanceProposed"):  # the first rebalance with something to trade
        coordinator.run_cycle(next(ticks))
    # It was proposed, not sent: no order of guarded yet.
    (proposed,) = _of(parts, "RebalanceProposed")
    assert _of(parts, "OrderCreated") == []
    preview = proposed.payload["preview"]
    assert {"turnover", "estimated_cost_usd", "volatility_annual", "estimated_tax_usd"} <= set(
        preview
    )
    trades = {t["symbol"]: t for t in proposed.payload["trades"]}
    assert trades and all(t["side"] == "BUY" for t in trades.values())  # from cash
    dropped = sorted(trades)[0]
    with pytest.raises(ValueError, match="drop: NOPE not traded by proposal"):
        coordinator.apply(ApproveRebalance("pm", "ok", portfolio_id="guarded", drop=("NOPE",)))
    coordinator.apply(
        ApproveRebalance("pm", "fine without it", portfolio_id="guarded", drop=(dropped,))
    )
    (approved,) = _of(parts, "RebalanceApproved")
    assert approved.actor == "pm" and approved.payload["dropped"] == [dropped]
    coordinator.run_cycle(next(ticks))
    (released,) = _of(parts, "RebalanceReleased")
    created = _of(parts, "OrderCreated")
    assert released.payload["orders"] == len(created) == len(trades) - 1
    assert {e.payload["symbol"] for e in created} == set(trades) - {dropped}
    # The dropped name's target is what it holds (nothing, from cash): its drift is none.
    assert released.payload["kept_weights"] == {dropped: 0.0}
    assert coordinator.state.targets["guarded"][dropped] == 0.0
    # Nothing is waiting now: a rejection is refused, naming why.
    with pytest.raises(ValueError, match="has no rebalance proposal waiting"):
        coordinator.apply(RejectRebalance("pm", "no", portfolio_id="guarded"))


def test_a_rejected_or_expired_proposal_sends_no_order(tmp_path: Path) -> None:
    from engine.commands import RejectRebalance

    parts, coordinator, ticks = _approval_engine(tmp_path, expires=3)
    while not _of(parts, "RebalanceProposed"):
        coordinator.run_cycle(next(ticks))
    coordinator.apply(RejectRebalance("risk", "too concentrated", portfolio_id="guarded"))
    # The target in force is again the one before the proposal's (drift is measured from it).
    before, _proposals_own = _of(parts, "TargetWeightsSet")[1::-1]
    assert coordinator.state.targets["guarded"] == before.payload["weights"]
    while len(_of(parts, "RebalanceProposed")) < 2:  # the next calendar day: proposed again
        coordinator.run_cycle(next(ticks))
    assert _of(parts, "OrderCreated") == []
    assert len(_of(parts, "RebalanceProposed")) == 2
    (rejected,) = _of(parts, "RebalanceRejected")
    assert rejected.actor == "risk"
    # Left undecided, the second expires after 3 days: still no order.
    for _ in range(5):
        coordinator.run_cycle(next(ticks))
    (expired,) = _of(parts, "RebalanceProposalExpired")
    second = _of(parts, "RebalanceProposed")[0]
    assert expired.payload["proposal_id"] == second.payload["proposal_id"]
    assert expired.payload["market_date"] > second.payload["expires_after"]
    assert _of(parts, "OrderCreated") == []


def test_a_deposit_rebalances_at_the_next_close_and_is_no_return(tmp_path: Path) -> None:
    from decimal import Decimal

    from engine.commands import RecordCashFlow
    from engine.performance.run_log import RunLog

    parts = build_engine(parse_config(_config(), "test"), f"sqlite:///{tmp_path / 'e.db'}")
    coordinator = parts.coordinator
    coordinator.start({"mode": "test"})
    ticks = iter(coordinator.resume(parts.feed))
    for _ in range(25):
        coordinator.run_cycle(next(ticks))
    cash = coordinator.ledger.cash_usd("guarded")
    with pytest.raises(ValueError, match="amount_usd: a withdrawal of"):
        coordinator.apply(
            RecordCashFlow("pm", "too much", portfolio_id="guarded", amount_usd=-cash - 1)
        )
    coordinator.apply(
        RecordCashFlow("pm", "new money", portfolio_id="guarded", amount_usd=Decimal("100000"))
    )
    assert coordinator.ledger.cash_usd("guarded") == cash + 100_000
    coordinator.run_cycle(next(ticks))  # cycle 26: not a calendar day
    (triggered,) = parts.store.query(
        portfolio_id="guarded", event_type="RebalanceTriggered", limit=1
    )
    assert triggered.payload["triggers"] == [
        {"trigger": "cash_flow", "detail": "net deposit of 100,000.00 USD (pm: new money)"}
    ]
    for _ in range(3):
        coordinator.run_cycle(next(ticks))
    # The deposit is in the NAV from the next close on, and is no return: the P&L over the
    # run is the NAV's change less it.
    log = RunLog()
    for event in parts.store.iter_from(1):
        log.observe(event)
    portfolio = next(p for p in parse_config(_config(), "test").portfolios if p.id == "guarded")
    run = log.portfolio_run(portfolio)
    assert run.flows_usd is not None and list(run.flows_usd) == [100_000.0]
    assert run.flows_usd.index[0].date().isoformat() == triggered.payload["market_date"]
    from engine.performance.returns import time_weighted_returns

    returns = time_weighted_returns(run.nav_usd, run.opening_nav_usd, run.flows_usd)
    base = [run.opening_nav_usd, *run.nav_usd.to_numpy()[:-1]]
    pnl = sum(r * b for r, b in zip(returns.to_numpy(), base, strict=True))
    expected = float(run.nav_usd.iloc[-1]) - run.opening_nav_usd - 100_000
    assert pnl == pytest.approx(expected, abs=1e-6)
