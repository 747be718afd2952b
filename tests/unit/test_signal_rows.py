"""Signal rows kept as columns (engine/views/signal_rows.py) read as the tuple of rows they stand
for: the same rows, in the same order, as made one by one from the signals, and the same tables
and figures on the Signals page."""

from __future__ import annotations

import threading
from datetime import date

import numpy as np

from components.figures import signal_heatmap
from components.signal_tables import coordinated_signals_table
from components.tables import PortfolioLabels
from engine.model import CoordinatedSignals, SignalBatch
from engine.snapshot import SignalRow
from engine.views.signal_rows import SignalColumns, SignalRows
from tests.support import signal_rows_one_by_one

SYMBOLS = ("AAA", "BBB", "CCC", "DDD", "EEE", "FFF")
TODAY = date(2024, 3, 1)


def _coordinated(portfolio_id: str, seed: int) -> CoordinatedSignals:
    """Views on some instruments, each score shared among up to three raw views."""
    rng = np.random.default_rng(seed)
    confidence = np.where(rng.random(len(SYMBOLS)) < 0.7, rng.random(len(SYMBOLS)), 0.0)
    shares = rng.random((3, len(SYMBOLS))) * (rng.random((3, len(SYMBOLS))) < 0.6)
    shares[:, confidence == 0] = 0.0
    return CoordinatedSignals(
        portfolio_id,
        "priority",
        ("momentum", "value", "desk"),
        TODAY,
        rng.uniform(-1, 1, len(SYMBOLS)),
        confidence,
        {"momentum/3m": shares[0], "value/1y": shares[1], "desk/1m": shares[2]},
    )


def _rows_one_by_one(coordinated: CoordinatedSignals) -> list[SignalRow]:
    return signal_rows_one_by_one(coordinated.portfolio_id, SYMBOLS, coordinated)


def test_coordinated_rows_are_those_made_one_by_one_portfolio_by_portfolio() -> None:
    portfolios = [_coordinated(f"p{seed}", seed) for seed in range(8)]
    expected = tuple(row for c in portfolios for row in _rows_one_by_one(c))
    assert any(len(row.lineage) >= 2 for row in expected)

    rows = SignalRows(
        [SignalColumns.of_coordinated(c.portfolio_id, c) for c in portfolios], SYMBOLS
    )

    assert rows == expected
    assert len(rows) == len(expected)
    assert list(rows) == list(expected)
    assert rows[0] == expected[0] and rows[-1] == expected[-1]
    assert rows[1:4] == expected[1:4]


def test_raw_rows_name_the_source_and_horizon_and_skip_instruments_without_a_view() -> None:
    batch = SignalBatch(
        "momentum",
        "3m",
        TODAY,
        np.array([0.5, -0.2, 0.0, 0.9, 0.1, -1.0]),
        np.array([0.8, 0.0, 0.0, 1.0, 0.3, 0.5]),
    )

    rows = SignalRows.of_batches([batch], SYMBOLS)

    assert rows == (
        SignalRow("momentum/3m", "AAA", 0.5, 0.8),
        SignalRow("momentum/3m", "DDD", 0.9, 1.0),
        SignalRow("momentum/3m", "EEE", 0.1, 0.3),
        SignalRow("momentum/3m", "FFF", -1.0, 0.5),
    )


def test_the_rows_do_not_change_when_the_engines_arrays_do() -> None:
    coordinated = _coordinated("p", 3)
    expected = tuple(_rows_one_by_one(coordinated))
    rows = SignalRows([SignalColumns.of_coordinated("p", coordinated)], SYMBOLS)

    coordinated.score[:] = 0.123
    coordinated.lineage["value/1y"][:] = 1.0

    assert rows == expected


def test_readers_at_once_all_get_the_one_set_of_rows() -> None:
    rows = SignalRows([SignalColumns.of_coordinated("p", _coordinated("p", 5))], SYMBOLS)
    start = threading.Barrier(4)
    seen: list[tuple[SignalRow, ...]] = []

    def read() -> None:
        start.wait()
        seen.append(rows.rows())

    readers = [threading.Thread(target=read) for _ in range(4)]
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.join()

    assert len(seen) == 4
    assert all(made is seen[0] for made in seen)


def test_the_signals_page_shows_the_same_table_and_heatmap_as_from_a_tuple() -> None:
    portfolios = [_coordinated(f"p{seed}", seed) for seed in range(3)]
    as_tuple = tuple(row for c in portfolios for row in _rows_one_by_one(c))
    as_columns = SignalRows(
        [SignalColumns.of_coordinated(c.portfolio_id, c) for c in portfolios], SYMBOLS
    )

    labels = PortfolioLabels((), {})
    assert repr(coordinated_signals_table(as_columns, labels, lineage=True)) == repr(
        coordinated_signals_table(as_tuple, labels, lineage=True)
    )
    assert signal_heatmap(
        as_columns, SYMBOLS, origin_labels={}, y_title="portfolio"
    ) == signal_heatmap(as_tuple, SYMBOLS, origin_labels={}, y_title="portfolio")


def test_no_signals_read_as_an_empty_tuple() -> None:
    rows = SignalRows((), SYMBOLS)
    assert rows == () and len(rows) == 0 and list(rows) == []
