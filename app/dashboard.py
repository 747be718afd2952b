"""The Dash app factory: a multi-page dashboard over a running engine, plus its JSON API.

``create_app`` takes the engine's runner and event log instead of reaching for globals, so a
test (or a process serving two engines) can build as many apps as it needs.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING

import dash
from dash import dcc, html

from app.api import ApiSettings, register_api
from callbacks import register_all
from components import ids
from components.layout import navbar
from engine.views.queries import EventQueries

if TYPE_CHECKING:
    from engine.coordinator import CoordinatorRunner
    from engine.views.performance import PerformanceReadModel
    from engine.views.queries import EventLog

# The top-level assets/ folder, next to app/ (Dash would otherwise look inside app/).
ASSETS_FOLDER = Path(__file__).resolve().parent.parent / "assets"

PAGE_MODULES = (
    "pages.overview",
    "pages.signals",
    "pages.allocation",
    "pages.trades",
    "pages.risk",
    "pages.rebalancing",
    "pages.performance",
    "pages.events",
    "pages.engine",
)

REFRESH_MS = 1000


def create_app(
    runner: CoordinatorRunner,
    events: EventLog,
    *,
    title: str = "Portfolio Coordinator",
    api: ApiSettings | None = None,
    performance: PerformanceReadModel | None = None,
) -> dash.Dash:
    """A Dash app showing ``runner``'s snapshots and the ``events`` of its log (the SQL store or a
    follower's recent events, read through ``EventQueries``); the runner is not started.

    ``performance`` is the Performance page's read model over the engine's store (without it,
    as on a Pulsar follower's dashboard, the page says it is unavailable).

    ``api`` bounds the JSON API (``ApiSettings.from_config`` takes them from the engine's config).

    Bootstrap's stylesheet is served from ``assets/`` rather than a CDN, so the dashboard looks
    the same on a desk with no internet access.
    """
    app = dash.Dash(
        __name__,
        title=title,
        use_pages=True,
        pages_folder="",
        assets_folder=str(ASSETS_FOLDER),
        # Otherwise the tab title flashes "Updating..." on every one-second refresh.
        update_title=None,
    )
    # register_page needs an existing app; a module imported once registers for every later app,
    # since the page registry is process-wide and the layouts read no engine state.
    for module in PAGE_MODULES:
        importlib.import_module(module)

    app.layout = html.Div(
        [
            navbar(title, dash.page_registry.values()),
            html.Main(dash.page_container, className="container-fluid pc-main"),
            dcc.Interval(id=ids.REFRESH_INTERVAL, interval=REFRESH_MS),
            dcc.Store(id=ids.SNAPSHOT_VERSION),
        ]
    )
    register_all(app, runner, EventQueries(events), performance)
    register_api(app.server, runner, api)
    return app
