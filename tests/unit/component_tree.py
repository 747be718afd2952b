"""Reading Dash component trees and figures in tests, as a person would read the page."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
from dash.development.base_component import Component


def plotly_figure(figure: dict[str, Any]) -> go.Figure:
    """The figure as plotly loads it, which rejects any unknown property or out-of-range value."""
    return go.Figure(figure)


def text_of(component: Any) -> str:
    """All the text a component shows, depth first."""
    if component is None:
        return ""
    if isinstance(component, str | int | float):
        return str(component)
    if isinstance(component, list | tuple):
        return "".join(text_of(child) for child in component)
    if isinstance(component, Component):
        return text_of(getattr(component, "children", None))
    raise TypeError(f"unexpected child {component!r}")


def find(component: Any, kind: str) -> list[Component]:
    """Every component of type ``kind`` (``"Tr"``, ``"Card"``) under ``component``."""
    found: list[Component] = []
    children = component if isinstance(component, list | tuple) else [component]
    for child in children:
        if isinstance(child, Component):
            if type(child).__name__ == kind:
                found.append(child)
            found.extend(find(getattr(child, "children", None), kind))
    return found


def shown_rows(table: Component) -> list[str]:
    """Each body row as a person reads it: the cells' text, in order, separated by bars."""
    body = find(table, "Tbody")[0]
    return ["|".join(text_of(cell) for cell in find(row, "Td")) for row in find(body, "Tr")]
