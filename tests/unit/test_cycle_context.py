"""The shared values every stage reads (engine/cycle/context.py), built by hand: the universe's
vectors, a mandate's rebalance days and benchmark, weights of NAV, and the gate's book."""

from __future__ import annotations

import numpy as np
import pytest

from engine.cycle.context import current_weights, json_float, mandate_of
from tests.unit.cycle_support import SYMBOLS, UNIVERSE, due_at, holding, mandates, opened_state


def test_the_universe_lists_symbols_and_sectors_in_column_order() -> None:
    assert len(UNIVERSE) == 4
    assert UNIVERSE.symbol_index == {"AAA": 0, "BBB": 1, "CCC": 2, "DDD": 3}
    assert UNIVERSE.sectors == ("Tech", "Tech", "Energy", "Health")
    assert UNIVERSE.vector({"DDD": -0.2, "AAA": 0.3}).tolist() == [0.3, 0.0, 0.0, -0.2]


def test_a_mandate_is_due_every_rebalance_every_days_from_the_first_cycle() -> None:
    alpha, beta = mandates()
    assert [alpha.portfolio_id in due_at(c) for c in range(1, 5)] == [True, True, True, True]
    assert [beta.portfolio_id in due_at(c) for c in range(1, 6)] == [
        True,
        False,
        True,
        False,
        True,
    ]
    assert beta.universe.tolist() == [True, True, True, False]
    assert alpha.sources == ("momentum",)
    assert not alpha.long_short


def test_a_mandate_is_found_by_portfolio_and_an_unknown_one_named() -> None:
    the_mandates = mandates()
    assert mandate_of(the_mandates, "beta").name == "Beta"
    unknown = r"portfolio_id: 'gamma' is not a portfolio \(alpha, beta\)"
    with pytest.raises(ValueError, match=unknown):
        mandate_of(the_mandates, "gamma")


def test_current_weights_are_holdings_at_the_close_over_nav() -> None:
    state, emit = opened_state()
    holding(emit, "alpha", "CCC", 100, "80")
    close = np.array([50.0, np.nan, 90.0, 10.0])

    weights = current_weights(state.ledger, "alpha", UNIVERSE, close, 100_000.0)

    assert weights.tolist() == [0.0, 0.0, pytest.approx(100 * 90 / 100_000), 0.0]
    assert current_weights(state.ledger, "alpha", UNIVERSE, close, 0.0).tolist() == [0.0] * 4


def test_json_float_stores_an_unmeasured_value_as_null() -> None:
    assert json_float(float("nan")) is None
    assert json_float(float("inf")) is None
    assert json_float(0.12345678) == 0.123457
    assert UNIVERSE.symbols == SYMBOLS
