"""Lot methods in a replay: the market-neutral book relieves its lots highest-cost first (its
short lots lowest-price first); every fill lists the lots it closed, and their gains are the
realised P&L and the year's realised gains in metrics.json."""

from __future__ import annotations

import json
import sqlite3
from decimal import Decimal
from pathlib import Path

from app.cli import main
from engine.config import default_config_text


def test_a_hifo_book_records_each_lot_it_relieves(tmp_path: Path) -> None:
    config = tmp_path / "hifo.toml"
    # The last portfolio of the default configuration is the market-neutral one.
    config.write_text(default_config_text() + '\n[portfolios.tax]\nlot_method = "hifo"\n')
    out = tmp_path / "run"
    args = ["replay", "--config", str(config), "--out", str(out), "--no-progress"]
    assert main([*args, "--start", "2019-01-02", "--end", "2019-12-31"]) == 0
    with sqlite3.connect(out / "events.db") as db:
        rows = db.execute(
            "SELECT portfolio_id, payload FROM events WHERE type = 'OrderFilled' ORDER BY seq"
        ).fetchall()
    gains: dict[str, Decimal] = {}
    booked: dict[str, Decimal] = {}  # each fill's gains to the cent, as the ledger books them
    relieved = 0
    for pid, text in rows:
        payload = json.loads(text)
        lots = payload.get("lots", [])
        fill_gain = sum((Decimal(lot["gain_usd"]) for lot in lots), Decimal(0))
        gains[pid] = gains.get(pid, Decimal(0)) + fill_gain
        booked[pid] = booked.get(pid, Decimal(0)) + fill_gain.quantize(Decimal("0.01"))
        if pid == "market_neutral" and len(lots) > 1:
            relieved += 1
            per_share = [Decimal(lot["gain_usd"]) / lot["quantity_shares"] for lot in lots]
            assert per_share == sorted(per_share), payload["fill_id"]  # least gain first
        assert sum(lot["quantity_shares"] for lot in lots) <= payload["quantity_shares"]
    assert relieved > 0, "no fill closed more than one lot: nothing was ordered"
    summary = json.loads((out / "summary.json").read_text())
    metrics = json.loads((out / "metrics.json").read_text())
    for pid, result in summary["portfolios"].items():
        assert Decimal(result["realised_pnl_usd"]) == booked[pid]
        by_year = metrics["portfolios"][pid]["realised_gains_and_tax"]
        year_total = sum(
            Decimal(y["short_term_gain_usd"]) + Decimal(y["long_term_gain_usd"])
            for y in by_year.values()
        )
        assert year_total == gains[pid]
        assert set(by_year) <= {"2019"}
