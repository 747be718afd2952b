"""Signal rows kept as columns until a page reads them.

At 500 instruments x 10 portfolios the snapshot carries some 5,000 coordinated rows and 1,500
raw ones, and every score changes every cycle, so none can be carried over from the last
snapshot. Making them one frozen ``SignalRow`` at a time took about half of the snapshot's time
on the engine thread, for a Signals page that is often not open. ``SignalRows`` takes the
columns instead (copies of the instruments with a view, made with a few numpy calls) and makes
the rows the first time someone reads them, once, for every reader after.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import overload

import numpy as np

from engine.model import CoordinatedSignals, SignalBatch
from engine.snapshot import SignalRow

# Shares of the score are shown to 4 decimals (the lineage column reads them as percentages).
LINEAGE_DECIMALS = 4


@dataclass(frozen=True, slots=True, eq=False)
class SignalColumns:
    """One origin's rows as columns: the positions in the universe of the instruments it has a
    view on (confidence > 0), their scores and confidences, and each lineage key's share of the
    score there. The arrays are the snapshot's own copies: the engine's are not kept."""

    origin: str
    index: np.ndarray
    score: np.ndarray
    confidence: np.ndarray
    lineage: tuple[tuple[str, np.ndarray], ...] = ()

    @classmethod
    def of_batch(cls, batch: SignalBatch) -> SignalColumns:
        index = np.flatnonzero(batch.confidence > 0)
        return cls(batch.key, index, batch.score[index], batch.confidence[index])

    @classmethod
    def of_coordinated(cls, portfolio_id: str, coordinated: CoordinatedSignals) -> SignalColumns:
        index = np.flatnonzero(coordinated.confidence > 0)
        return cls(
            portfolio_id,
            index,
            coordinated.score[index],
            coordinated.confidence[index],
            tuple((key, share[index]) for key, share in coordinated.lineage.items()),
        )

    def rows(self, symbols: Sequence[str]) -> list[SignalRow]:
        named = [symbols[i] for i in self.index.tolist()]
        return list(
            map(
                SignalRow,
                repeat(self.origin),
                named,
                self.score.tolist(),
                self.confidence.tolist(),
                self._lineages() if self.lineage else repeat(()),
            )
        )

    def _lineages(self) -> list[tuple[tuple[str, float], ...]]:
        """Per row, ``(key, share)`` for each key with a share > 0, in the keys' order. Rows
        with the same keys present are made together, a column at a time."""
        keys = [key for key, _ in self.lineage]
        present = np.array([share > 0 for _, share in self.lineage])
        rounded = [np.round(share, LINEAGE_DECIMALS) for _, share in self.lineage]
        # Which keys a row has, as one integer per row (the pattern's bits are the keys).
        bits = np.array([1 << k for k in range(len(keys))], dtype=object)
        patterns = present.astype(object).T.dot(bits) if len(self.index) else np.array([])
        lineages: list[tuple[tuple[str, float], ...]] = [()] * len(self.index)
        for pattern in set(patterns.tolist()):
            if not pattern:
                continue
            where = np.flatnonzero(patterns == pattern)
            pairs = [
                zip(repeat(key), rounded[k][where].tolist(), strict=False)
                for k, key in enumerate(keys)
                if pattern >> k & 1
            ]
            for j, lineage in zip(where.tolist(), zip(*pairs, strict=True), strict=True):
                lineages[j] = lineage
        return lineages


class SignalRows(Sequence[SignalRow]):
    """An immutable sequence of ``SignalRow``: origin by origin, instruments in universe order.

    It reads as the tuple of rows it stands for (indexing, slicing, iteration, ``len``, ``==``
    with a tuple); the rows are made on the first read, under a lock, since several dashboard
    callbacks may read one snapshot at once."""

    __slots__ = ("_columns", "_lock", "_rows", "_symbols")

    def __init__(self, columns: Sequence[SignalColumns], symbols: Sequence[str]) -> None:
        self._columns = tuple(columns)
        self._symbols = tuple(symbols)
        self._rows: tuple[SignalRow, ...] | None = None
        self._lock = threading.Lock()

    @classmethod
    def of_batches(cls, batches: Sequence[SignalBatch], symbols: Sequence[str]) -> SignalRows:
        return cls([SignalColumns.of_batch(batch) for batch in batches], symbols)

    def rows(self) -> tuple[SignalRow, ...]:
        """The rows as a plain tuple (made now if no one has read them yet)."""
        rows = self._rows
        if rows is None:
            with self._lock:
                if self._rows is None:
                    self._rows = tuple(
                        row for column in self._columns for row in column.rows(self._symbols)
                    )
                rows = self._rows
        return rows

    def __len__(self) -> int:
        return sum(len(column.index) for column in self._columns)

    @overload
    def __getitem__(self, item: int) -> SignalRow: ...

    @overload
    def __getitem__(self, item: slice) -> tuple[SignalRow, ...]: ...

    def __getitem__(self, item: int | slice) -> SignalRow | tuple[SignalRow, ...]:
        return self.rows()[item]

    def __iter__(self) -> Iterator[SignalRow]:
        return iter(self.rows())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, SignalRows):
            return self.rows() == other.rows()
        if isinstance(other, tuple):
            return self.rows() == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"SignalRows({self.rows()!r})"
