"""Asset classes: the class mix the allocation keeps (hand-worked), its caps, the class band,
and the settings' checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.allocation.asset_classes import keep_class_mix
from engine.config import parse_config
from engine.errors import ConfigError, MarketDataError
from engine.market.data import load_price_file, with_asset_classes
from engine.rebalancing.triggers import RebalancePolicy, drift_firings

CLASSES = ("equity", "equity", "bond", "bond", "commodity")
ALL = np.ones(5, dtype=bool)


def test_each_class_is_scaled_to_its_target_keeping_its_names_relative_sizes() -> None:
    weights = np.array([0.30, 0.10, 0.05, 0.0, 0.20])
    mixed = keep_class_mix(weights, CLASSES, {"equity": 0.6, "bond": 0.3}, ALL, 0.5)
    # Equity 3:1 of 60%; the bond with a weight takes the class's 30%; no commodity target.
    assert mixed == pytest.approx([0.45, 0.15, 0.30, 0.0, 0.0])


def test_a_class_without_a_view_is_shared_equally_and_caps_pass_the_excess_on() -> None:
    weights = np.array([0.90, 0.10, 0.0, 0.0, 0.0])
    mixed = keep_class_mix(weights, CLASSES, {"equity": 0.8, "bond": 0.3}, ALL, 0.5)
    # Equity: 72% / 8% scaled; the first capped at 50%, the 22% over goes to the other.
    assert mixed == pytest.approx([0.50, 0.30, 0.15, 0.15, 0.0])
    # Every name capped: the class holds what its caps allow.
    assert keep_class_mix(weights, CLASSES, {"equity": 0.8}, ALL, 0.3)[:2] == pytest.approx(
        [0.3, 0.3]
    )
    # A name not eligible today is left out; its class's target goes to the others.
    eligible = np.array([False, True, True, True, True])
    assert keep_class_mix(weights, CLASSES, {"equity": 0.4}, eligible, 0.5)[:2] == pytest.approx(
        [0.0, 0.4]
    )


def test_a_class_band_fires_on_the_class_total() -> None:
    policy = RebalancePolicy(calendar="none", class_drift_absolute=0.05)
    target = np.array([0.30, 0.30, 0.15, 0.15, 0.0])
    current = np.array([0.33, 0.32, 0.13, 0.12, 0.0])  # equity +5.00%, bond -5.00%
    (fired,) = drift_firings(policy, current, target, tuple("ABCDE"), ("s",) * 5, CLASSES)
    assert fired.trigger == "class_drift"
    assert (
        fired.detail == "2 asset class(s) off their target: bond 5.00%, equity 5.00% (band 5.00%)"
    )
    inside = np.array([0.33, 0.3199, 0.13, 0.1201, 0.0])
    assert drift_firings(policy, inside, target, tuple("ABCDE"), ("s",) * 5, CLASSES) == []


def test_classes_come_from_the_price_file_or_the_market_settings(tmp_path: Path) -> None:
    rows = [
        {"date": day, "symbol": symbol, "close": 100.0, "asset_class": cls}
        for day in ("2024-01-02", "2024-01-03")
        for symbol, cls in (("SPY", "equity"), ("TLT", "bond"), ("XYZ", None))
    ]
    path = tmp_path / "prices.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    history = load_price_file(path)
    assert {i.symbol: i.asset_class for i in history.instruments} == {
        "SPY": "equity",
        "TLT": "bond",
        "XYZ": "equity",  # a blank class is equity
    }
    classed = with_asset_classes(history, {"XYZ": "commodity"})
    assert [i.asset_class for i in classed.instruments] == ["equity", "bond", "commodity"]
    with pytest.raises(MarketDataError, match=r"market\.asset_classes: GLD not among"):
        with_asset_classes(history, {"GLD": "commodity"})


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("equity = 0.7\nbond = 0.35\n", "the targets sum to 1.05, more than all of NAV"),
        ("equity = 0.7\nbond = 0.29\n", "more than the 0.98 of NAV invested"),
        ("Equity = 0.5\n", "asset_classes"),
    ],
)
def test_class_targets_are_checked(extra: str, message: str) -> None:
    text = (
        '[[portfolios]]\nid = "p"\nname = "P"\nsources = ["momentum"]\n'
        "[portfolios.rebalancing.asset_classes]\n" + extra
    )
    with pytest.raises(ConfigError, match=message):
        parse_config(text, "test")
