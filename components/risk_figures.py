"""Figures of the Risk page: sector exposures, VaR contributions and history, sleeve risk shares."""

from __future__ import annotations

from collections.abc import Sequence

from components.colours import translucent
from components.figures import (
    AXIS_LINE,
    MAX_POINTS_PER_TRACE,
    Figure,
    base_figure,
    thin,
    waiting,
)
from engine.snapshot import (
    RiskView,
)

# The Risk page ------------------------------------------------------------------------------------

NO_RISK_YET = "No risk measured yet"
# A hedge (a negative share of the VaR) is drawn in the portfolio's colour, faded, so it reads as
# the same portfolio taking risk away rather than as another portfolio.
HEDGE_ALPHA = 0.45


def ranked_shares(shares: Sequence[tuple[str, float]]) -> list[tuple[str, float]]:
    """(name, share) largest first, hedges (negative shares) last; ties keep their name order."""
    return sorted(shares, key=lambda item: (-item[1], item[0]))


def _ranked_bars(
    shares: Sequence[tuple[str, float]],
    *,
    colour: str,
    name: str,
    x_title: str,
    y_title: str,
    hover_units: str,
    revision: str,
) -> Figure:
    """Horizontal bars of (name, fraction) in percent, largest on top; negative bars faded."""
    ranked = ranked_shares(shares)
    bar = {
        "type": "bar",
        "orientation": "h",
        "name": name,
        "x": [share * 100 for _, share in ranked],
        "y": [label for label, _ in ranked],
        "marker": {
            "color": [
                colour if share >= 0 else translucent(colour, HEDGE_ALPHA) for _, share in ranked
            ]
        },
        "hovertemplate": f"%{{y}}<br>%{{x:.2f}}% {hover_units}<extra></extra>",
    }
    figure = base_figure(
        [bar],
        x_title=x_title,
        y_title=y_title,
        revision=revision,
        showlegend=False,
        bargap=0.25,
    )
    figure["layout"]["xaxis"].update(ticksuffix="%", zeroline=True, zerolinecolor=AXIS_LINE)
    # Plotly stacks categories bottom-up; reversed, the largest bar reads first.
    figure["layout"]["yaxis"].update(autorange="reversed", type="category")
    return figure


def sector_exposure_figure(risk: RiskView | None, colour: str) -> Figure:
    """Net exposure of each sector in percent of NAV (shorts negative), longest first."""
    figure = _ranked_bars(
        risk.sector_exposures if risk else (),
        colour=colour,
        name="net exposure",
        x_title="net exposure (% of NAV)",
        y_title="sector",
        hover_units="of NAV, net",
        revision="risk-sector-exposure",
    )
    if risk is None:
        waiting(figure, NO_RISK_YET)
    elif not risk.sector_exposures:
        waiting(figure, "Nothing held")
    return figure


def var_contributions_figure(
    risk: RiskView | None, colour: str, *, by_sector: bool = False
) -> Figure:
    """Each instrument's (or sector's) share of the parametric 1-day 99% VaR, Euler's
    decomposition, in percent, largest first: the shares add up to 100%, and a negative share is
    a hedge (it takes VaR away), drawn faded."""
    shares = (risk.sector_contributions if by_sector else risk.contributions) if risk else ()
    figure = _ranked_bars(
        shares,
        colour=colour,
        name="share of 99% VaR",
        x_title="share of the 1-day 99% VaR (%; negative: a hedge)",
        y_title="sector" if by_sector else "instrument",
        hover_units="of the 1-day 99% VaR",
        revision="risk-sector-contributions" if by_sector else "risk-contributions",
    )
    if risk is None:
        waiting(figure, NO_RISK_YET)
    elif not shares:
        waiting(figure, "Nothing held")
    return figure


def var_history_figure(risk: RiskView | None, colour: str) -> Figure:
    """The historical 1-day 99% VaR of recent cycles, in percent of NAV."""
    points = thin(risk.history if risk else (), MAX_POINTS_PER_TRACE)
    line = {
        "type": "scatter",
        "mode": "lines+markers" if len(points) < 2 else "lines",
        "name": "historical 99% VaR",
        "x": [day.isoformat() for day, _ in points],
        "y": [var * 100 for _, var in points],
        "line": {"color": colour, "width": 2},
        "hovertemplate": "%{x}<br>1-day 99% VaR %{y:.2f}% of NAV<extra></extra>",
    }
    figure = base_figure(
        [line],
        x_title="market date",
        y_title="1-day 99% VaR, historical (% of NAV)",
        revision="risk-history",
        showlegend=False,
    )
    figure["layout"]["yaxis"].update(ticksuffix="%", rangemode="tozero")
    if risk is None:
        waiting(figure, NO_RISK_YET)
    elif not points:
        waiting(figure, "No VaR history yet")
    return figure


def sleeve_contributions_figure(risk: RiskView | None, colour: str) -> Figure:
    """Each strategy sleeve's share of the parametric 1-day 99% VaR (Euler), in percent, largest
    first; a negative share is a sleeve that hedges the others."""
    shares = risk.sleeve_contributions if risk else ()
    figure = _ranked_bars(
        shares,
        colour=colour,
        name="share of 99% VaR",
        x_title="share of the 1-day 99% VaR (%; negative: a hedge)",
        y_title="sleeve",
        hover_units="of the 1-day 99% VaR",
        revision="risk-sleeve-contributions",
    )
    if risk is None:
        waiting(figure, NO_RISK_YET)
    elif not shares:
        waiting(figure, "One book: no sleeves")
    return figure
