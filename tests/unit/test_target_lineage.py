"""What a target records of each held name's sources (engine/cycle/lineage.py)."""

from datetime import date

import numpy as np
import pytest

from engine.assembly import build_allocator
from engine.config import load_config
from engine.cycle.lineage import attribution_fields, sizing_views, target_lineage
from engine.model import CoordinatedSignals

SYMBOLS = ("A", "B", "C", "D")


def _signals(lineage: dict[str, list[float]]) -> CoordinatedSignals:
    n = len(SYMBOLS)
    return CoordinatedSignals(
        "p",
        "weighted_average",
        tuple(sorted({key.split("/")[0] for key in lineage})),
        date(2024, 1, 2),
        np.zeros(n),
        np.zeros(n),
        {key: np.array(shares) for key, shares in lineage.items()},
    )


def test_a_portfolio_records_its_held_names_lineage_rounded() -> None:
    signals = _signals({"mom/1m": [0.25, 1 / 3, 0.0, 1.0], "rev/1w": [0.75, 2 / 3, 0.0, 0.0]})
    # D has a view but is not held; C is held without a view.
    lineage = target_lineage(np.array([0.3, -0.1, 0.2, 0.0]), signals)
    # In the order of the held names A, B, C.
    assert lineage == {"mom/1m": [0.25, 0.333333, 0.0], "rev/1w": [0.75, 0.666667, 0.0]}


def test_a_multi_strategy_portfolio_shares_a_name_among_its_sleeves() -> None:
    trend = _signals({"mom/1m": [1.0, 1.0, 0.0, 0.0]})
    value = _signals({"rev/1w": [0.5, 0.0, 1.0, 0.0], "val/3m": [0.5, 0.0, 0.0, 0.0]})
    # Of A, trend wants 0.6 x 0.5 = 30% and value 0.4 x 0.5 = 20% (a short counts as much).
    parts = [
        ("trend", 0.6 * np.array([0.5, 0.2, 0.0, 0.0])),
        ("value", 0.4 * np.array([-0.5, 0.0, 0.25, 0.0])),
    ]
    lineage = target_lineage(
        np.array([0.1, 0.12, 0.1, 0.0]), None, parts, {"trend": trend, "value": value}
    )
    # A is 3/5 trend's and 2/5 value's; B all trend's; C all value's (D is not held).
    assert lineage["mom/1m"] == pytest.approx([0.6, 1.0, 0.0])
    assert lineage["rev/1w"] == pytest.approx([0.2, 0.0, 1.0])
    assert lineage["val/3m"] == pytest.approx([0.2, 0.0, 0.0])


def test_nothing_held_records_nothing() -> None:
    assert target_lineage(np.zeros(4), _signals({"mom/1m": [1.0, 0, 0, 0]})) == {}


def test_sizing_views_are_the_eligible_names_with_a_view_or_held() -> None:
    signals = CoordinatedSignals(
        "p",
        "weighted_average",
        ("mom",),
        date(2024, 1, 2),
        np.array([0.5, -0.25, 0.0, 0.1]),
        np.array([0.8, 0.4, 0.0, 0.9]),
        {},
    )
    # D has a view but is not eligible; C has none but is held.
    eligible = np.array([True, True, True, False])
    held = np.array([False, False, True, False])
    assert sizing_views(SYMBOLS, signals, eligible, held) == {
        "symbols": ["A", "B", "C"],
        "held": ["C"],
        "score": [0.5, -0.25, 0.0],
        "confidence": [0.8, 0.4, 0.0],
    }


def test_a_limited_mandate_records_the_views_and_pins_its_sizing_saw() -> None:
    config = load_config()
    portfolios = {p.id: p for p in config.portfolios}
    signals = _signals({"mom/1m": [1.0, 1.0, 0.0, 0.0]})
    signals.confidence[:] = [0.5, 0.2, 0.0, 0.0]
    pins = np.array([np.nan, 0.05, np.nan, np.nan])
    eligible = np.ones(4, dtype=bool)
    current = np.array([0.0, 0.0, 0.1, 0.0])
    weights = np.array([0.3, 0.05, 0.0, 0.0])
    fields = attribution_fields(
        build_allocator(portfolios["growth"]),  # sector caps and a turnover cap
        SYMBOLS,
        weights,
        np.array([0.35, 0.05, 0.0, 0.0]),
        pins,
        eligible,
        current,
        signals,
    )
    assert fields["optimised"] == {"A": 0.35, "B": 0.05}
    assert fields["pinned"] == {"B": 0.05}
    assert fields["views"]["symbols"] == ["A", "B", "C"]  # C is held, without a view
    assert fields["views"]["held"] == ["C"]
    # The defensive portfolio has no limits: nothing to size again, no views recorded.
    unlimited = attribution_fields(
        build_allocator(portfolios["defensive"]),
        SYMBOLS,
        weights,
        weights,
        np.full(4, np.nan),
        eligible,
        current,
        signals,
    )
    assert "views" not in unlimited and "pinned" not in unlimited
