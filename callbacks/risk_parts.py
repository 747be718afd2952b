"""The Risk page's parts: what each shows as a key that changes when (and only when) it does,
and the groups of parts drawn as one answer (see callbacks/risk.py)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dash import html

from components import formatting as fmt
from components.colours import portfolio_colours
from components.risk import limits_summary
from components.risk_figures import (
    sector_exposure_figure,
    sleeve_contributions_figure,
    var_contributions_figure,
    var_history_figure,
)
from components.tables import PortfolioLabels, portfolio_label, risk_figures

if TYPE_CHECKING:
    from engine.snapshot import GateDecisionView, RiskView, StateSnapshot


def risk_of(snapshot: StateSnapshot, portfolio_id: str) -> RiskView | None:
    """The portfolio's latest risk view, None until the engine has measured it."""
    return next((view for view in snapshot.risk if view.portfolio_id == portfolio_id), None)


def _digest(views: object) -> str:
    """A short fingerprint of immutable views (their repr), the same in every process."""
    return hashlib.blake2b(repr(views).encode(), digest_size=12).hexdigest()


def shown_alerts(snapshot: StateSnapshot, portfolio_id: str, scope: str | None) -> tuple:
    if scope == "all":
        return snapshot.risk_alerts
    return tuple(a for a in snapshot.risk_alerts if a.portfolio_id == portfolio_id)


def rendered_keys(
    snapshot: StateSnapshot, portfolio_id: str, scope: str | None = "portfolio"
) -> dict[str, Any]:
    """What each part of the page shows, as a key that changes when (and only when) it does.

    Raises ``KeyError`` for a portfolio the snapshot does not have."""
    portfolio = snapshot.portfolio(portfolio_id)
    risk = risk_of(snapshot, portfolio_id)
    return {
        # The figures and the attribution are measured once a cycle, at the close.
        "risk": [
            portfolio_id,
            risk.market_date.isoformat() if risk else None,
            _digest(risk.attribution) if risk else None,
        ],
        "state": [
            portfolio_id,
            portfolio.trading_state,
            portfolio.halt_reason,
            list(risk.budget_scaling) if risk and risk.budget_scaling else None,
        ],
        # The limits' versions, thresholds and utilisations: a limit set shows without a close.
        "limits": [portfolio_id, _digest(risk.limits) if risk else None],
        "alerts": [portfolio_id, scope, _digest(shown_alerts(snapshot, portfolio_id, scope))],
        "gate": [portfolio_id, _digest(gate_of(snapshot, portfolio_id))],
        "audit": [portfolio_id, _digest(audit_of(snapshot, portfolio_id))],
    }


def gate_of(snapshot: StateSnapshot, portfolio_id: str) -> tuple[GateDecisionView, ...]:
    return tuple(d for d in snapshot.gate_decisions if d.portfolio_id == portfolio_id)


def audit_of(snapshot: StateSnapshot, portfolio_id: str) -> tuple:
    """The portfolio's own entries and those for every portfolio (no portfolio named)."""
    return tuple(a for a in snapshot.risk_audit if a.portfolio_id in (portfolio_id, None))


def risk_summary(name: str, colour: str, risk: RiskView | None) -> html.Span:
    """The chosen portfolio and when its risk was measured."""
    when = (
        f" · risk at the close of {fmt.day(risk.market_date)}"
        if risk
        else " · no risk measured yet"
    )
    return html.Span([portfolio_label(name, colour), html.Span(when, className="text-muted")])


def limits_card(risk: RiskView | None) -> html.Div:
    """Above the limits grid: how many limits are at each level, or that none is measured."""
    if risk is None:
        return html.Div(
            "No limits measured yet: the engine measures them after each close.",
            className="text-muted",
        )
    return limits_summary(risk.limits)


def working_orders_of(snapshot: StateSnapshot, portfolio_id: str) -> int:
    return sum(1 for order in snapshot.working_orders if order.portfolio_id == portfolio_id)


@dataclass(frozen=True, slots=True)
class PartRequest:
    """What one group of the page's parts is asked to draw: the keys of its parts now, and those
    the session shows."""

    snapshot: StateSnapshot
    portfolio_id: str
    scope: str | None
    keys: dict[str, Any]
    rendered: dict[str, Any]

    def changed(self, part: str) -> bool:
        return self.keys[part] != self.rendered.get(part)

    def labels(self) -> PortfolioLabels:
        colours = portfolio_colours(view.portfolio_id for view in self.snapshot.portfolios)
        return PortfolioLabels(self.snapshot.portfolios, colours)


def risk_figure_parts(r: PartRequest) -> tuple[Any, ...]:
    """The summary line, the figures and the charts of the chosen portfolio's risk."""
    portfolio = r.snapshot.portfolio(r.portfolio_id)
    risk = risk_of(r.snapshot, r.portfolio_id)
    colour = portfolio_colours(view.portfolio_id for view in r.snapshot.portfolios)[r.portfolio_id]
    return (
        risk_summary(portfolio.name, colour, risk),
        risk_figures(risk),
        sector_exposure_figure(risk, colour),
        var_contributions_figure(risk, colour),
        var_contributions_figure(risk, colour, by_sector=True),
        var_history_figure(risk, colour),
        sleeve_contributions_figure(risk, colour),
        not (risk and risk.sleeve_contributions),
    )
