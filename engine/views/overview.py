"""The figures a portfolio manager opens the dashboard for: AUM, today's and the period's P&L,
drift from target, cash to invest, annual turnover, alerts and breaches.

They are computed once per published snapshot from what the snapshot already holds (NAV
history, positions with their targets, risk views and alerts) plus one running tally,
``TurnoverTracker``, fed event by event: a page that shows them only reads them, and no
request ever walks the fills.

Definitions (fractions, not percent; money in USD):

- today's P&L: the change of NAV on the latest market date, against the previous market
  date's NAV (against the starting capital on the first day);
- the period's P&L: NAV less the starting capital (since the portfolio opened, i.e. the start
  of the replay);
- drift from target: half the sum of |weight - target weight| over every instrument held or
  targeted and cash, i.e. the share of NAV a rebalance to target would trade one way;
- cash to invest: cash above the target cash weight (never negative);
- annual turnover: traded notional (buys plus sells at their fill prices) over the average NAV
  of the market dates seen, per year of 252 trading days, the definition of
  engine/performance/turnover.py, kept as running totals.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from engine.model import Event
from engine.performance.turnover import TRADING_DAYS_PER_YEAR
from engine.snapshot import (
    BookSummaryView,
    NavPoint,
    OverviewView,
    PortfolioView,
    RiskAlertView,
    RiskView,
)

CENT = Decimal("0.01")
REBASE_TO = 100.0


def _usd(amount: float | Decimal) -> Decimal:
    """A NAV kept as a float (the NAV history) back to exact cents: ``repr`` gives the shortest
    decimal that reads back as the same float, which for a NAV under $10^13 holds every cent."""
    exact = amount if isinstance(amount, Decimal) else Decimal(repr(amount))
    return exact.quantize(CENT)


def previous_nav_usd(view: PortfolioView) -> Decimal:
    """The NAV today's P&L is measured against: the previous market date's, or the starting
    capital when the history holds one day only."""
    history = view.nav_history
    if len(history) >= 2:
        return _usd(history[-2].nav_usd)
    return _usd(view.initial_nav_usd)


def pnl_today(view: PortfolioView) -> tuple[date | None, Decimal | None, float | None]:
    """(market date, P&L in USD, P&L as a fraction of the previous NAV) on the latest market
    date; (None, None, None) before the first cycle."""
    if not view.nav_history:
        return None, None, None
    latest = view.nav_history[-1]
    previous = previous_nav_usd(view)
    change = _usd(latest.nav_usd) - previous
    return latest.timestamp, change, float(change / previous) if previous else None


def pnl_period(view: PortfolioView) -> tuple[Decimal, float]:
    """(P&L in USD, as a fraction of the starting capital) since the portfolio opened."""
    change = _usd(view.nav_usd) - _usd(view.initial_nav_usd)
    start = view.initial_nav_usd
    return change, float(change / start) if start else 0.0


def drift_from_target(view: PortfolioView) -> float:
    """Half the sum of |weight - target weight| over instruments and cash (fraction of NAV)."""
    off = sum(abs(p.weight - p.target_weight) for p in view.positions)
    off += abs(view.cash_weight - view.target_cash_weight)
    return off / 2


def cash_to_invest_usd(view: PortfolioView) -> Decimal:
    """Cash above the target cash weight of NAV, to the cent; zero when at or below target."""
    target_cash = view.nav_usd * Decimal(repr(view.target_cash_weight))
    return max(Decimal(0), (view.cash_usd - target_cash).quantize(CENT))


def rebased(history: Sequence[NavPoint], start_nav_usd: Decimal | float) -> list[float]:
    """NAV as an index that is 100 at the portfolio's start (its starting capital), so books of
    different sizes compare on one axis; rounded to 1/10,000 of a point for the wire."""
    start = float(start_nav_usd)
    if start <= 0:
        raise ValueError(f"start_nav_usd: {start} must be positive to rebase a NAV")
    return [round(REBASE_TO * point.nav_usd / start, 4) for point in history]


@dataclass(slots=True)
class _RunningTurnover:
    traded_usd: Decimal = Decimal(0)
    nav_sum_usd: Decimal = Decimal(0)
    days: int = 0
    since: date | None = None


@dataclass(frozen=True, slots=True)
class TurnoverFigures:
    traded_usd: Decimal
    average_nav_usd: Decimal | None
    years: float
    annual_turnover: float | None
    since: date | None


class TurnoverTracker:
    """Running traded notional and NAV sum per portfolio, from ``OrderFilled`` (quantity x
    price) and ``CycleCompleted`` (each portfolio's NAV on that market date) events: O(1) an
    event, so the annual turnover of any moment costs a division.

    It counts from the first event it sees; a tracker started on a restored engine measures
    from the restart (``since`` says from when)."""

    def __init__(self) -> None:
        self._running: dict[str, _RunningTurnover] = {}

    def observe(self, event: Event) -> None:
        if event.type == "OrderFilled":
            p = event.payload
            pid = event.portfolio_id or ""
            running = self._running.get(pid)
            if running is None:  # not setdefault: that builds one for every fill
                running = self._running[pid] = _RunningTurnover()
            running.traded_usd += Decimal(p["quantity_shares"]) * Decimal(p["price_usd"])
        elif event.type == "CycleCompleted":
            market_date = date.fromisoformat(event.payload["market_date"])
            for pid, (nav_usd, _cash_usd) in event.payload.get("valuation_usd", {}).items():
                running = self._running.setdefault(pid, _RunningTurnover())
                running.nav_sum_usd += Decimal(nav_usd)
                running.days += 1
                if running.since is None:
                    running.since = market_date

    def figures(self, portfolio_id: str) -> TurnoverFigures:
        running = self._running.get(portfolio_id, _RunningTurnover())
        years = running.days / TRADING_DAYS_PER_YEAR
        if running.days == 0:
            return TurnoverFigures(running.traded_usd, None, 0.0, None, None)
        average = running.nav_sum_usd / running.days
        annual = float(running.traded_usd / average) / years if average > 0 else None
        return TurnoverFigures(running.traded_usd, average, years, annual, running.since)


def book_summary(
    view: PortfolioView,
    turnover: TurnoverFigures,
    alerts: int,
    breaches: int,
) -> BookSummaryView:
    pnl_date, today_usd, today_pct = pnl_today(view)
    period_usd, period_pct = pnl_period(view)
    return BookSummaryView(
        portfolio_id=view.portfolio_id,
        name=view.name,
        trading_state=view.trading_state,
        nav_usd=_usd(view.nav_usd),
        pnl_date=pnl_date,
        pnl_today_usd=today_usd,
        pnl_today_pct=today_pct,
        pnl_period_usd=period_usd,
        pnl_period_pct=period_pct,
        drift=drift_from_target(view),
        cash_weight=view.cash_weight,
        target_cash_weight=view.target_cash_weight,
        cash_to_invest_usd=cash_to_invest_usd(view),
        traded_usd=turnover.traded_usd.quantize(CENT),
        annual_turnover=turnover.annual_turnover,
        turnover_since=turnover.since,
        alerts=alerts,
        breaches=breaches,
        halt_reason=view.halt_reason,
    )


def overview_view(
    portfolios: Iterable[PortfolioView],
    risk_alerts: Iterable[RiskAlertView],
    risk: Iterable[RiskView],
    turnover: TurnoverTracker,
    market_date: date | None,
    *,
    breaches_from_alerts: bool = False,
) -> OverviewView:
    """Each portfolio's summary and the totals over all of them.

    A portfolio's breaches are its limits at the breach level in ``risk``; a Pulsar follower,
    which receives no limit levels, counts its open alerts at the breach level instead
    (``breaches_from_alerts``): the engine raises one when a limit enters a breach and clears it
    when the limit leaves it."""
    portfolios = tuple(portfolios)
    risk_alerts = tuple(risk_alerts)
    open_alerts: dict[str, int] = {}
    for alert in risk_alerts:
        open_alerts[alert.portfolio_id] = open_alerts.get(alert.portfolio_id, 0) + 1
    breaches: dict[str, int] = {}
    if breaches_from_alerts:
        for alert in risk_alerts:
            if alert.level == "breach":
                breaches[alert.portfolio_id] = breaches.get(alert.portfolio_id, 0) + 1
    else:
        breaches = {
            view.portfolio_id: sum(1 for limit in view.limits if limit.level == "breach")
            for view in risk
        }
    books = tuple(
        book_summary(
            view,
            turnover.figures(view.portfolio_id),
            open_alerts.get(view.portfolio_id, 0),
            breaches.get(view.portfolio_id, 0),
        )
        for view in portfolios
    )
    aum = sum((book.nav_usd for book in books), Decimal(0))
    start = sum((_usd(view.initial_nav_usd) for view in portfolios), Decimal(0))
    today = [
        (book.pnl_today_usd, previous_nav_usd(view))
        for book, view in zip(books, portfolios, strict=True)
        if book.pnl_today_usd is not None
    ]
    today_usd = sum((pnl for pnl, _ in today), Decimal(0)) if today else None
    today_base = sum((base for _, base in today), Decimal(0))
    return OverviewView(
        market_date=market_date,
        aum_usd=aum,
        pnl_today_usd=today_usd,
        pnl_today_pct=float(today_usd / today_base)
        if today_usd is not None and today_base
        else None,
        pnl_period_usd=aum - start,
        pnl_period_pct=float((aum - start) / start) if start else 0.0,
        cash_to_invest_usd=sum((book.cash_to_invest_usd for book in books), Decimal(0)),
        alerts=sum(book.alerts for book in books),
        breaches=sum(book.breaches for book in books),
        books=books,
    )
