"""The default portfolios do not churn: they are the examples users copy.

Two years of the bundled history (2006-2007) on the default configuration, cycle by cycle:

- no default portfolio trades more than about 4x its NAV a year (traded notional over average
  NAV, annualised; the first purchases of the book count too);
- no name is sold and bought back (or bought and sold) within 5 trading days unless the
  portfolio's view of it changed in between. The view is the portfolio's coordinated conviction
  (score x confidence) on the name when each of the two orders was decided; it changed when its
  sign differs (a view turning from long to flat or short is reason to trade) or it moved by
  ``SIGNAL_CHANGE`` or more. A reversal with the same view is churn: the allocation moving back
  and forth on noise. For a portfolio of sleeves the view is its blended one (what the live
  views keep), which blends the same sources as the sleeves.

On the defaults before the limits (rebalancing daily or weekly) both fail: 11x to 60x NAV a year,
and some 5,850 reversals on an unchanged view in these two years.

The measures are the replay report's (engine/performance/turnover.py).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

import numpy as np
import pytest

from engine.assembly import build_engine
from engine.config import load_config
from engine.performance.turnover import TradeRecord, turnover_report

START, END = date(2006, 1, 3), date(2007, 12, 31)
MAX_ANNUAL_TURNOVER = 4.0
SIGNAL_CHANGE = 0.25


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    database = tmp_path_factory.mktemp("turnover") / "events.db"
    parts = build_engine(load_config(), f"sqlite:///{database}", START, END)
    coordinator = parts.coordinator
    days: list[date] = []
    nav: dict[str, list[float]] = defaultdict(list)
    trades: dict[str, list[TradeRecord]] = defaultdict(list)
    decided_on: dict[str, date] = {}
    # Each portfolio's conviction per name on each day (score x confidence), by symbol index.
    conviction: dict[str, dict[date, np.ndarray]] = defaultdict(dict)
    for tick in parts.feed:
        report = coordinator.run_cycle(tick)
        assert report.error is None, report.error
        days.append(tick.timestamp)
        for pid, signals in coordinator.views.latest_coordinated.items():
            conviction[pid][tick.timestamp] = signals.score * signals.confidence
        for order in coordinator.views.recent_orders:
            decided_on.setdefault(order.order_id, order.created)
        for fill in coordinator.views.last_cycle_fills:
            notional = float(fill.price_usd * fill.quantity_shares)
            trades[fill.portfolio_id].append(
                TradeRecord(tick.timestamp, fill.order_id, fill.symbol, fill.side.value, notional)
            )
        for mandate in coordinator.mandates:
            nav[mandate.portfolio_id].append(
                float(coordinator.ledger.nav_usd(mandate.portfolio_id))
            )
    return {
        "days": days,
        "nav": nav,
        "trades": trades,
        "decided_on": decided_on,
        "conviction": conviction,
        "symbols": coordinator.universe.symbols,
        "portfolios": [m.portfolio_id for m in coordinator.mandates],
    }


def test_no_default_portfolio_trades_more_than_about_4x_its_nav_a_year(
    replayed: dict[str, object],
) -> None:
    days, nav, trades = replayed["days"], replayed["nav"], replayed["trades"]
    turnover = {
        pid: turnover_report(trades[pid], days, nav[pid]).annual_turnover  # type: ignore[index]
        for pid in replayed["portfolios"]  # type: ignore[attr-defined]
    }
    assert all(value > 0 for value in turnover.values()), turnover  # every book trades
    over = {pid: round(value, 2) for pid, value in turnover.items() if value > MAX_ANNUAL_TURNOVER}
    assert not over, f"annual turnover above {MAX_ANNUAL_TURNOVER}x NAV: {over}"


def test_no_name_is_reversed_within_5_days_without_a_change_of_view(
    replayed: dict[str, object],
) -> None:
    days, nav, trades = replayed["days"], replayed["nav"], replayed["trades"]
    decided_on, conviction = replayed["decided_on"], replayed["conviction"]
    index = {symbol: k for k, symbol in enumerate(replayed["symbols"])}  # type: ignore[call-overload]
    churn = []
    for pid in replayed["portfolios"]:  # type: ignore[attr-defined]
        report = turnover_report(trades[pid], days, nav[pid])  # type: ignore[index]
        for trip in report.round_trips:
            k = index[trip.symbol]
            before = conviction[pid][decided_on[trip.first_order_id]][k]  # type: ignore[index]
            after = conviction[pid][decided_on[trip.second_order_id]][k]  # type: ignore[index]
            changed = np.sign(before) != np.sign(after) or abs(after - before) >= SIGNAL_CHANGE
            if not changed:
                churn.append(f"{pid} {trip.symbol} {trip.first_day}->{trip.second_day}")
    assert not churn, f"reversed within 5 days on the same view: {churn[:10]} ({len(churn)})"
