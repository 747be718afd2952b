"""Price histories: the bundled real S&P 500 data, a user's CSV/Parquet file, and ADV estimates.

A ``PriceHistory`` is a dense daily grid: ``close[t, i]`` in USD per share (NaN where instrument
``i`` has no price on day ``t``) and ``volume_shares[t, i]``.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from engine.errors import MarketDataError
from engine.model import Instrument

UNKNOWN_SECTOR = "Unknown"
DEFAULT_ASSET_CLASS = "equity"


@dataclass(frozen=True, slots=True, eq=False)
class PriceHistory:
    dates: tuple[date, ...]
    instruments: tuple[Instrument, ...]
    close: np.ndarray
    volume_shares: np.ndarray

    def __post_init__(self) -> None:
        shape = (len(self.dates), len(self.instruments))
        if self.close.shape != shape or self.volume_shares.shape != shape:
            raise MarketDataError(
                f"close {self.close.shape} and volume_shares {self.volume_shares.shape} must both "
                f"be days x instruments {shape}"
            )

    @property
    def symbols(self) -> tuple[str, ...]:
        return tuple(instrument.symbol for instrument in self.instruments)

    def index_of(self, day: date) -> int:
        """Position of the first trading day on or after ``day``."""
        return int(np.searchsorted(np.array(self.dates, dtype="datetime64[D]"), np.datetime64(day)))


def _data_file(name: str) -> resources.abc.Traversable:
    return resources.files("engine.market").joinpath("data", name)


def load_sectors() -> dict[str, tuple[str, str]]:
    """Symbol -> (company name, GICS sector) for the bundled stocks."""
    with _data_file("sectors.csv").open("r", encoding="utf-8") as handle:
        return {row["symbol"]: (row["name"], row["sector"]) for row in csv.DictReader(handle)}


def estimate_adv_usd(index_level: np.ndarray, adv_usd_at_end: float) -> np.ndarray:
    """Estimated average daily dollar volume of each stock, per day.

    The bundled data has no volumes. We assume every stock trades ``adv_usd_at_end`` dollars a day
    at the end of the history (USD 500 million by default: a conservative figure for large S&P 500
    members in 2022) and scale that back in time by the S&P 500 level, a proxy for the growth of
    market capitalisation and turnover, so a 1995 order is not assumed to meet 2022 liquidity.
    """
    return adv_usd_at_end * index_level / index_level[-1]


def load_sp500_index() -> pd.Series:
    """The S&P 500 index level (price only, no dividends) by date, as bundled."""
    with _data_file("sp500_index.csv.gz").open("rb") as handle:
        index = pd.read_csv(handle, compression="gzip", index_col="Date", parse_dates=True)
    return index["SP500"].astype(float)


def load_bundled(adv_usd: float = 5e8) -> PriceHistory:
    """The bundled history: 20 S&P 500 stocks, daily adjusted closes, 1990-01-02 to 2022-12-28."""
    with _data_file("sp500_prices.csv.gz").open("rb") as handle:
        prices = pd.read_csv(handle, compression="gzip", index_col="Date", parse_dates=True)
    index = load_sp500_index().reindex(prices.index).ffill().to_numpy(dtype=float)
    sectors = load_sectors()
    missing = sorted(set(prices.columns) - set(sectors))
    if missing:
        raise MarketDataError(f"sectors.csv: no sector for {missing}")
    instruments = tuple(
        Instrument(symbol, sectors[symbol][1], sectors[symbol][0]) for symbol in prices.columns
    )
    close = prices.to_numpy(dtype=float)
    volume_shares = estimate_adv_usd(index, adv_usd)[:, None] / close
    return PriceHistory(
        tuple(day.date() for day in prices.index), instruments, close, volume_shares
    )


def _read_table(path: Path) -> pd.DataFrame:
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv" or path.name.lower().endswith(".csv.gz"):
            return pd.read_csv(path)
        if suffix in {".parquet", ".pq"}:
            return pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        raise MarketDataError(f"{path}: cannot read prices: {exc}") from exc
    raise MarketDataError(f"{path}: unsupported file type {suffix!r} (use .csv or .parquet)")


def load_price_file(path: Path, adv_usd: float = 5e8) -> PriceHistory:
    """Read a user's daily prices from CSV or Parquet.

    Two layouts are accepted: wide (a ``date`` column and one column of closing prices per symbol)
    or long (columns ``date``, ``symbol``, ``close`` and optionally ``volume`` in shares,
    ``sector`` and ``asset_class``: equity when not given). Prices are forward-filled over
    gaps; without volumes, ADV is ``adv_usd`` dollars.
    """
    path = Path(path)
    table = _read_table(path)
    table.columns = [str(column).strip() for column in table.columns]
    lower = {column.lower(): column for column in table.columns}
    if "date" not in lower:
        raise MarketDataError(f"{path}: no 'date' column (columns: {list(table.columns)})")
    table = table.rename(columns={lower["date"]: "date"})
    try:
        table["date"] = pd.to_datetime(table["date"])
    except (ValueError, TypeError) as exc:
        raise MarketDataError(
            f"{path}: column 'date' has a value that is not a date: {exc}"
        ) from exc

    sectors: dict[str, str] = {}
    classes: dict[str, str] = {}
    if {"symbol", "close"} <= set(lower):
        table = table.rename(columns={lower[k]: k for k in ("symbol", "close") if k in lower})
        if "sector" in lower:
            sectors = (
                table.groupby("symbol")[lower["sector"]].last().astype(str).to_dict()  # type: ignore[assignment]
            )
        if "asset_class" in lower:
            # A blank class is the default's (equity), not the text "nan".
            given = table.dropna(subset=[lower["asset_class"]])
            classes = (
                given.groupby("symbol")[lower["asset_class"]].last().astype(str).to_dict()  # type: ignore[assignment]
            )
        wide = table.pivot_table(index="date", columns="symbol", values="close", aggfunc="last")
        volumes = (
            table.pivot_table(
                index="date", columns="symbol", values=lower["volume"], aggfunc="last"
            )
            if "volume" in lower
            else None
        )
    else:
        wide = table.set_index("date")
        volumes = None
    wide = wide.sort_index()
    non_numeric = [c for c in wide.columns if not pd.api.types.is_numeric_dtype(wide[c])]
    if non_numeric:
        raise MarketDataError(f"{path}: price columns {non_numeric} are not numeric")
    if wide.empty or wide.shape[1] == 0:
        raise MarketDataError(f"{path}: no prices found")
    if (wide <= 0).any().any():
        bad = [c for c in wide.columns if (wide[c] <= 0).any()]
        raise MarketDataError(f"{path}: prices must be positive; columns {bad} have values <= 0")
    wide = wide.ffill()
    close = wide.to_numpy(dtype=float)
    if volumes is not None:
        volume_shares = volumes.reindex(index=wide.index, columns=wide.columns).to_numpy(float)
        volume_shares = np.where(np.isfinite(volume_shares), volume_shares, adv_usd / close)
    else:
        volume_shares = adv_usd / close
    instruments = tuple(
        Instrument(
            str(symbol),
            sectors.get(str(symbol), UNKNOWN_SECTOR),
            asset_class=classes.get(str(symbol), DEFAULT_ASSET_CLASS),
        )
        for symbol in wide.columns
    )
    return PriceHistory(tuple(day.date() for day in wide.index), instruments, close, volume_shares)


def with_asset_classes(history: PriceHistory, classes: Mapping[str, str]) -> PriceHistory:
    """``history`` with the instruments named in ``classes`` (symbol -> asset class) in those
    classes (``[market] asset_classes``); a symbol not in the history is an error naming it."""
    if not classes:
        return history
    known = {i.symbol for i in history.instruments}
    unknown = sorted(set(classes) - known)
    if unknown:
        raise MarketDataError(
            f"market.asset_classes: {', '.join(unknown)} not among the instruments of the "
            "price history"
        )
    instruments = tuple(
        replace(i, asset_class=classes[i.symbol]) if i.symbol in classes else i
        for i in history.instruments
    )
    return replace(history, instruments=instruments)
