"""Trade coordination in the engine's cycle, on the bundled market with the default portfolios:
the market-neutral book trades against the long-only ones, so crossing has work to do."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from engine.assembly import EngineParts, build_engine
from engine.config import default_config_text, parse_config
from engine.replay import execution_summary


def _replay(tmp_path: Path, crossing: bool) -> tuple[dict[str, object], EngineParts]:
    switch = f"[trading]\ncrossing = {str(crossing).lower()}\n\n[venue]\n"
    config = parse_config(default_config_text().replace("[venue]\n", switch, 1), "test")
    db = tmp_path / f"crossing-{crossing}.db"
    parts = build_engine(config, f"sqlite:///{db}", date(2008, 1, 2), date(2008, 4, 30))
    coordinator = parts.coordinator
    coordinator.start({"mode": "test"})
    for tick in coordinator.resume(parts.feed):
        report = coordinator.run_cycle(tick)
        assert report.error is None, report.error
    totals = list(coordinator.state.execution_quality.values())
    return execution_summary(totals), parts


def test_crossing_moves_volume_off_the_market_and_costs_less(tmp_path: Path) -> None:
    crossed, parts = _replay(tmp_path, crossing=True)
    direct, _ = _replay(tmp_path, crossing=False)
    crosses = parts.store.query(event_type="CrossExecuted", limit=10_000)
    volume = sum(e.payload["quantity_shares"] for e in crosses)
    assert volume > 0
    for event in crosses:
        # Both sides of every cross are equal: shares are neither lost nor created.
        orders = event.payload["orders"].values()
        assert sum(q for q in orders if q > 0) == -sum(q for q in orders if q < 0)
        assert sum(q for q in orders if q > 0) == event.payload["quantity_shares"]
    assert Decimal(crossed["crossing_saving_usd"]) > 0
    assert crossed["cost_bps"] < direct["cost_bps"]
    assert Decimal(direct["crossing_saving_usd"]) == 0


def test_every_order_ends_filled_or_cancelled_and_its_shares_add_up(tmp_path: Path) -> None:
    _, parts = _replay(tmp_path, crossing=True)
    events = parts.store.read_from(1)
    created = {e.payload["order_id"]: e.payload for e in events if e.type == "OrderCreated"}
    filled: dict[str, int] = {}
    for e in events:
        if e.type == "OrderFilled":
            order_id = e.payload["order_id"]
            filled[order_id] = filled.get(order_id, 0) + int(e.payload["quantity_shares"])
            # Each fill says what it left: the order's state after it.
            done = filled[order_id] == created[order_id]["quantity_shares"]
            assert e.payload["state"] == ("FILLED" if done else "PARTIALLY_FILLED")
            assert ("shortfall" in e.payload) == done  # the filling fill ends the order
    # An order ends with the fill that fills it (which carries its shortfall), or with an
    # OrderCompleted (cancelled at its schedule's end) or an OrderCancelled.
    ended = {
        e.payload["order_id"]: e
        for e in events
        if e.type in ("OrderCompleted", "OrderCancelled")
        or (e.type == "OrderFilled" and "shortfall" in e.payload)
    }
    working = parts.coordinator.state.pending_orders
    for order_id, order in created.items():
        assert filled.get(order_id, 0) <= order["quantity_shares"]
        assert order_id in ended or order_id in working
        end = ended.get(order_id)
        if end is not None and end.type != "OrderCancelled" and end.payload["state"] == "FILLED":
            assert filled.get(order_id, 0) == order["quantity_shares"]
        assert sum(order["schedule"]) + order["cross_shares"] == order["quantity_shares"]
        assert order["algorithm"] in ("IMMEDIATE", "TWAP", "VWAP", "POV", "CROSS")
