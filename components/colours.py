"""Colours: one per portfolio, the same on every page, and a separate set for cycle stages.

A portfolio's colour is picked by its position in the engine's portfolio list, which is fixed for
a run (it comes from the configuration), so a portfolio keeps its colour on every page and on every
refresh. Stage colours are drawn from a muted palette that does not reuse the portfolio colours, so
a latency bar is never mistaken for a portfolio.
"""

from __future__ import annotations

from collections.abc import Iterable

# Saturated, colour-blind-friendly (Okabe-Ito order, black left out: it reads as "total").
PORTFOLIO_PALETTE: tuple[str, ...] = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#D55E00",
    "#56B4E9",
    "#F0E442",
)

STAGE_PALETTE: tuple[str, ...] = (
    "#8DA0CB",
    "#A6D854",
    "#FFD92F",
    "#E5C494",
    "#B3B3B3",
    "#66C2A5",
    "#FC8D62",
    "#E78AC3",
    "#BEBADA",
    "#80B1D3",
)

POSITIVE = "#1B7837"
NEGATIVE = "#B2182B"

# Diverging red (sell) to green (buy) for scores in [-1, 1], white at 0.
SCORE_COLOURSCALE: tuple[tuple[float, str], ...] = (
    (0.0, NEGATIVE),
    (0.5, "#F7F7F7"),
    (1.0, POSITIVE),
)


def portfolio_colours(portfolio_ids: Iterable[str]) -> dict[str, str]:
    """Colour of each portfolio, by its position in the engine's (configuration) order."""
    return {
        portfolio_id: PORTFOLIO_PALETTE[index % len(PORTFOLIO_PALETTE)]
        for index, portfolio_id in enumerate(portfolio_ids)
    }


def stage_colours(stage_names: Iterable[str]) -> dict[str, str]:
    """Colour of each cycle stage, by its position in the cycle."""
    return {
        stage: STAGE_PALETTE[index % len(STAGE_PALETTE)] for index, stage in enumerate(stage_names)
    }


def translucent(hex_colour: str, alpha: float) -> str:
    """``#RRGGBB`` as ``rgba()`` with the given opacity (a "target" bar next to the "current")."""
    red, green, blue = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red},{green},{blue},{alpha})"
