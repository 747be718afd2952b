"""Holdings as weights and stress results as a table or JSON, for ``pcoord stress``."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from engine.risk.scenarios import StressError
from engine.risk.stress import StressResult


def last_prices(closes: np.ndarray) -> np.ndarray:
    """Each instrument's last finite close in ``closes`` (days x instruments, oldest first): a
    gap keeps the previous close; NaN for an instrument never priced."""
    closes = np.asarray(closes, dtype=float)
    days = np.arange(len(closes))[:, None]
    last = np.where(np.isfinite(closes), days, -1).max(axis=0)
    priced = closes[np.maximum(last, 0), np.arange(closes.shape[1])]
    return np.where(last >= 0, priced, np.nan)


def weights_from_targets(targets: Mapping[str, float], symbols: Sequence[str]) -> np.ndarray:
    """Target weights by symbol as a vector over ``symbols``; a StressError names targets in
    instruments the price history lacks."""
    unknown = sorted(set(targets) - set(symbols))
    if unknown:
        raise StressError(f"target instruments {unknown} are not in the price history")
    return np.array([targets.get(symbol, 0.0) for symbol in symbols], dtype=float)


def weights_from_holdings(
    shares: np.ndarray, prices_usd: np.ndarray, cash_usd: float
) -> tuple[np.ndarray, float]:
    """Weights (fractions of NAV) of ``shares`` (signed) at ``prices_usd`` per share, and the NAV
    in USD (cash plus positions, shorts negative). A held instrument without a price is an
    error; with a NAV that is not positive weights are meaningless and also refused."""
    shares = np.asarray(shares, dtype=float)
    prices_usd = np.asarray(prices_usd, dtype=float)
    unpriced = (shares != 0) & ~(np.isfinite(prices_usd) & (prices_usd > 0))
    if unpriced.any():
        raise StressError(f"holdings: no price for held instruments at {np.flatnonzero(unpriced)}")
    values_usd = np.where(shares != 0, shares * np.nan_to_num(prices_usd), 0.0)
    nav_usd = float(cash_usd) + float(values_usd.sum())
    if nav_usd <= 0:
        raise StressError(f"holdings: NAV USD {nav_usd:,.2f} is not positive; weights undefined")
    return values_usd / nav_usd, nav_usd


def format_table(results: Sequence[StressResult], contributors: int = 3) -> str:
    """A plain-text table: scenario, kind, window, P&L % of NAV, P&L USD, worst contributors."""
    header = ("scenario", "kind", "window", "P&L %NAV", "P&L USD", "worst contributors (%NAV)")
    rows = [header]
    for result in results:
        worst = ", ".join(
            f"{symbol} {pnl:+.2%}" for symbol, pnl in result.top_contributors[:contributors]
        )
        notes = []
        if result.var_base is not None and result.var_stressed is not None:
            notes.append(f"VaR99 {result.var_base:.2%} -> {result.var_stressed:.2%}")
        if result.uncovered_weight > 0:
            notes.append(f"proxied {result.uncovered_weight:.1%}")
        rows.append(
            (
                result.scenario,
                result.kind,
                result.window or "-",
                f"{result.pnl_fraction:+.2%}",
                f"{result.pnl_usd:+,.0f}" if result.pnl_usd is not None else "-",
                "; ".join(filter(None, [worst or "-", *notes])),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    right = {3, 4}
    lines = []
    for row in rows:
        cells = [
            cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
            for i, cell in enumerate(row[:-1])
        ]
        lines.append("  ".join([*cells, row[-1]]))
    lines.insert(1, "  ".join("-" * w for w in widths) + "  " + "-" * len(header[-1]))
    return "\n".join(lines)


def results_json(results: Sequence[StressResult], **context: Any) -> str:
    """One JSON object: ``context`` (portfolio, as-of date, ...) and ``scenarios``."""
    return json.dumps({**context, "scenarios": [result.to_json() for result in results]})
