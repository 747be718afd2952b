"""Signal horizons: labels such as ``1d``, ``1w``, ``3m`` and the trading days they stand for.

A week is 5 trading days, a month 21 and a year 252, the desk's usual calendar. Ages and TTLs are
counted in business days (``numpy.busday_count``: weekdays, exchange holidays not removed), so a
signal dated on a Friday is one day old on Monday.
"""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache

import numpy as np

TRADING_DAYS_PER_UNIT = {"d": 1, "w": 5, "m": 21, "y": 252}
_LABEL = re.compile(r"^([1-9][0-9]{0,3})([dwmy])$")
_CANONICAL = {1: "1d", 5: "1w", 21: "1m", 63: "3m", 126: "6m", 252: "12m"}
MAX_HORIZON_DAYS = 2520


def horizon_days(label: str) -> int:
    """Trading days in a horizon label (``"3m"`` -> 63); ``ValueError`` names the rule broken."""
    match = _LABEL.match(label) if isinstance(label, str) else None
    if match is None:
        raise ValueError(
            f"{label!r} is not a horizon: use a number and a unit d, w, m or y, e.g. 1d, 1w, 3m"
        )
    days = int(match.group(1)) * TRADING_DAYS_PER_UNIT[match.group(2)]
    if days > MAX_HORIZON_DAYS:
        raise ValueError(f"{label!r} is longer than {MAX_HORIZON_DAYS} trading days (10 years)")
    return days


def horizon_label(days: int) -> str:
    """The usual label for a number of trading days (63 -> ``"3m"``, 10 -> ``"10d"``)."""
    return _CANONICAL.get(days, f"{days}d")


def canonical(label: str) -> str:
    """One spelling per horizon, so ``"4w"`` and ``"20d"`` land on the same key."""
    return horizon_label(horizon_days(label))


@lru_cache(maxsize=65_536)
def age_days(since: date, until: date) -> int:
    """Business days from ``since`` to ``until`` (negative if ``since`` is later)."""
    return int(np.busday_count(since, until))


@lru_cache(maxsize=65_536)
def business_days_after(start: date, days: int) -> date:
    """The business day ``days`` business days after ``start`` (``start`` rolled forward)."""
    return np.busday_offset(start, days, roll="forward").astype(date)
