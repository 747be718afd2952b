"""A multi-strategy book's holdings' return split among its sleeves, worked by hand."""

from datetime import date

import numpy as np
import pytest

from engine.performance.sleeves import UNASSIGNED, sleeve_attribution

DAYS = [date(2024, 1, 2), date(2024, 1, 3)]


def test_each_name_is_shared_as_the_sleeves_wanted_it() -> None:
    # Trend wants 30% of A and 10% of B (its capital times its weights); value wants 10% of B.
    # So A is all trend's, B is half each; C, which no sleeve targets, is unassigned.
    targets = [(date(2024, 1, 1), {"trend": {"A": 0.3, "B": 0.1}, "value": {"B": 0.1}})]
    weights = np.array([[0.3, 0.2, 0.1], [0.3, 0.2, 0.1]])
    returns = np.array([[0.10, -0.05, 0.02], [0.0, 0.10, 0.0]])
    result = sleeve_attribution(weights, returns, ["A", "B", "C"], DAYS, targets)
    assert result is not None
    sleeves = result["sleeves"]
    assert sleeves["trend"]["average_weight"] == pytest.approx(0.4)
    assert sleeves["value"]["average_weight"] == pytest.approx(0.1)
    assert sleeves[UNASSIGNED]["average_weight"] == pytest.approx(0.1)
    # Trend on day one: (0.3 x 10% + 0.1 x -5%) / 0.4 = 6.25%; day two: 0.1 x 10% / 0.4 = 2.5%.
    assert sleeves["trend"]["return"] == pytest.approx(1.0625 * 1.025 - 1)
    assert sleeves["value"]["return"] == pytest.approx(0.95 * 1.10 - 1)
    book = (weights * returns).sum(axis=1)
    assert result["holdings_return"] == pytest.approx(np.prod(1 + book) - 1)
    parts = sum(s["contribution"] for s in sleeves.values())
    assert parts == pytest.approx(result["holdings_return"], abs=1e-15)


def test_targets_apply_from_the_day_after_their_decision() -> None:
    targets = [
        (date(2024, 1, 1), {"trend": {"A": 0.5}, "value": {}}),
        (date(2024, 1, 2), {"trend": {}, "value": {"A": 0.5}}),
    ]
    weights = np.array([[0.5], [0.5]])
    returns = np.array([[0.02], [0.04]])
    result = sleeve_attribution(weights, returns, ["A"], DAYS, targets)
    assert result is not None
    # Day one is trend's (decided on the 1st), day two value's (decided at the 2nd's close).
    assert result["sleeves"]["trend"]["return"] == pytest.approx(0.02)
    assert result["sleeves"]["value"]["return"] == pytest.approx(0.04)
    assert sleeve_attribution(weights, returns, ["A"], DAYS, []) is None
