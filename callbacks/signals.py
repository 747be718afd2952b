"""Signals: flow, heatmaps, lineage, conflicts, source quality and intake from the snapshot; manual
overrides sent as commands, with their audit trail from the event log's read model.

Each refresh skips its work unless what it shows can have changed: the signal views change only
with a cycle, and come as four answers (flow and heatmaps, lineage, conflicts, quality), each
built once per cycle for every session; the intake counters change with a submission (which needs
no cycle); the overrides with an Apply or Lift (which needs no cycle either, so a paused engine
still shows them at once) or when one expires.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, ctx
from dash.exceptions import PreventUpdate

from callbacks.commands import alert, in_user_words, send
from components import ids
from components.colours import portfolio_colours
from components.figures import (
    signal_flow_figure,
    signal_heatmap,
    source_colours,
    source_quality_figure,
)
from components.shared import SharedParts
from components.signal_tables import (
    conflict_counts_table,
    conflicts_table,
    coordinated_signals_table,
    override_audit_table,
    overrides_table,
    rejected_signals_table,
    source_quality_table,
)
from components.tables import ALL_PORTFOLIOS_LABEL, RECENT_ROWS, PortfolioLabels
from engine.commands import LiftOverride, SetOverride
from engine.signals.book import ALL_PORTFOLIOS, Override

if TYPE_CHECKING:
    import dash

    from engine.coordinator import CoordinatorRunner
    from engine.snapshot import StateSnapshot
    from engine.views.queries import EventQueries

# The reason recorded with a lift made on this page: the audit trail says where it came from.
LIFT_REASON = "lifted from dashboard"


def set_override_command(
    portfolio_id: str | None,
    symbol: str | None,
    kind: str | None,
    score: float | str | None,
    confidence: float | str | None,
    expires_on: str | None,
    reason: str | None,
    actor: str | None,
) -> SetOverride:
    """The ``SetOverride`` the form describes.

    Raises ``ValueError`` naming the field when something is missing or out of range (the command
    itself checks the kind, reason, score and confidence).
    """
    if not portfolio_id:
        raise ValueError("portfolio: choose a portfolio, or All portfolios")
    if not symbol:
        raise ValueError("instrument: choose the instrument to override")
    actor = (actor or "").strip()
    if not actor:
        raise ValueError("actor: say who sets the override (it goes into the audit trail)")
    expiry = None
    if expires_on:
        try:
            expiry = date.fromisoformat(expires_on)
        except ValueError:
            raise ValueError(f"expires_on: {expires_on!r} is not a date (YYYY-MM-DD)") from None
    pin: dict[str, float] = {}
    if kind == "pin":
        if score in (None, ""):
            raise ValueError("score: a pin needs a score between -1 and +1")
        if confidence in (None, ""):
            raise ValueError("confidence: a pin needs a confidence between 0 and 1")
        pin = {"score": float(score), "confidence": float(confidence)}
    return SetOverride(
        actor,
        reason or "",
        kind=kind or "",
        portfolio_id=portfolio_id,
        symbol=symbol,
        expires_on=expiry,
        **pin,
    )


def _portfolio_name(snapshot: StateSnapshot, portfolio_id: str) -> str:
    if portfolio_id == ALL_PORTFOLIOS:
        return ALL_PORTFOLIOS_LABEL.lower()
    names = {view.portfolio_id: view.name for view in snapshot.portfolios}
    return names.get(portfolio_id, portfolio_id)


def _describe(override: Override, snapshot: StateSnapshot) -> str:
    what = (
        f"pin {override.score:+.2f} @ {override.confidence:.0%}"
        if override.kind == "pin"
        else "veto"
    )
    until = f"through {override.expires_on}" if override.expires_on else "until lifted"
    return (
        f"{what} on {override.symbol} in {_portfolio_name(snapshot, override.portfolio_id)}, "
        f"{until}"
    )


def _labels(snapshot: StateSnapshot) -> PortfolioLabels:
    colours = portfolio_colours(view.portfolio_id for view in snapshot.portfolios)
    return PortfolioLabels(snapshot.portfolios, colours)


@dataclass(frozen=True, slots=True)
class Palette:
    """A snapshot with the names, colours and labels its parts are drawn with."""

    snapshot: StateSnapshot
    symbols: list[str]
    names: dict[str, str]
    colours: dict[str, str]
    labels: PortfolioLabels
    by_source: dict[str, str]

    @classmethod
    def of(cls, snapshot: StateSnapshot) -> Palette:
        names = {view.portfolio_id: view.name for view in snapshot.portfolios}
        colours = portfolio_colours(names)
        return cls(
            snapshot,
            [instrument.symbol for instrument in snapshot.instruments],
            names,
            colours,
            PortfolioLabels(snapshot.portfolios, colours),
            source_colours([view.source for view in snapshot.sources]),
        )


def register(app: dash.Dash, runner: CoordinatorRunner, queries: EventQueries) -> None:
    shared = SharedParts()

    def cycle_part(
        name: str, store_id: str, outputs: list[Output], build: Callable[[Palette], tuple]
    ) -> None:
        """One part of the page as an answer of its own (each stays well under 100 KiB), built
        once per cycle for every session showing it. Every view here comes out of a cycle: a
        paused or finished engine costs no redraw."""

        @app.callback(
            *outputs,
            Output(store_id, "data"),
            Input(ids.SNAPSHOT_VERSION, "data"),
            State(store_id, "data"),
        )
        def show(_version: int | None, rendered: list[Any] | None) -> tuple[Any, ...]:
            snapshot = runner.snapshot()
            market_date = snapshot.market_date.isoformat() if snapshot.market_date else None
            # The date too: a replay restarted from an earlier day can reach the same count.
            key = [snapshot.cycles_completed, market_date]
            if key == rendered:
                raise PreventUpdate
            return (*shared.get(name, key, lambda: build(Palette.of(snapshot))), key)

    cycle_part(
        "flow",
        ids.SIGNALS_RENDERED_CYCLE,
        [
            Output(ids.SIGNALS_FLOW_SANKEY, "figure"),
            Output(ids.SIGNALS_RAW_HEATMAP, "figure"),
            Output(ids.SIGNALS_COORDINATED_HEATMAP, "figure"),
            Output(ids.SIGNALS_OVERRIDE_EXPIRES, "min_date_allowed"),
        ],
        lambda p: (
            signal_flow_figure(p.snapshot.signal_flows, p.names, p.colours, p.by_source),
            signal_heatmap(
                p.snapshot.raw_signals, p.symbols, origin_labels={}, y_title="source/horizon"
            ),
            signal_heatmap(
                p.snapshot.coordinated_signals,
                p.symbols,
                origin_labels=p.names,
                y_title="portfolio",
            ),
            p.snapshot.market_date.isoformat() if p.snapshot.market_date else None,
        ),
    )
    cycle_part(
        "lineage",
        ids.SIGNALS_LINEAGE_RENDERED,
        [Output(ids.SIGNALS_COORDINATED_TABLE, "children")],
        lambda p: (
            coordinated_signals_table(p.snapshot.coordinated_signals, p.labels, lineage=True),
        ),
    )
    cycle_part(
        "conflicts",
        ids.SIGNALS_CONFLICTS_RENDERED,
        [
            Output(ids.SIGNALS_CONFLICT_COUNTS, "children"),
            Output(ids.SIGNALS_CONFLICTS_TABLE, "children"),
        ],
        lambda p: (
            conflict_counts_table(p.snapshot.conflict_counts, p.labels),
            conflicts_table(p.snapshot.conflicts, p.labels),
        ),
    )
    cycle_part(
        "quality",
        ids.SIGNALS_QUALITY_RENDERED,
        [
            Output(ids.SIGNALS_QUALITY_TABLE, "children"),
            Output(ids.SIGNALS_QUALITY_GRAPH, "figure"),
        ],
        lambda p: (
            source_quality_table(p.snapshot.sources, p.by_source),
            source_quality_figure(p.snapshot.quality_history, p.by_source),
        ),
    )

    @app.callback(
        Output(ids.SIGNALS_ACCEPTED_COUNT, "children"),
        Output(ids.SIGNALS_REJECTED_COUNT, "children"),
        Output(ids.SIGNALS_REJECTED_TABLE, "children"),
        Output(ids.SIGNALS_INTAKE_RENDERED, "data"),
        Input(ids.SNAPSHOT_VERSION, "data"),
        State(ids.SIGNALS_INTAKE_RENDERED, "data"),
    )
    def show_intake(_version: int | None, rendered: list[int] | None) -> tuple[Any, ...]:
        snapshot = runner.snapshot()
        # Submissions arrive between cycles too (over HTTP while paused), so this follows the
        # counters, not the cycle.
        shown = [
            snapshot.signals_accepted_session,
            snapshot.signals_rejected_session,
            len(snapshot.rejected_signals),
        ]
        if shown == rendered:
            raise PreventUpdate
        return (
            f"{snapshot.signals_accepted_session:,}",
            f"{snapshot.signals_rejected_session:,}",
            rejected_signals_table(snapshot.rejected_signals),
            shown,
        )

    @app.callback(
        Output(ids.SIGNALS_OVERRIDE_PORTFOLIO, "options"),
        Output(ids.SIGNALS_OVERRIDE_INSTRUMENT, "options"),
        Input(ids.SNAPSHOT_VERSION, "data"),
        State(ids.SIGNALS_OVERRIDE_PORTFOLIO, "options"),
        State(ids.SIGNALS_OVERRIDE_INSTRUMENT, "options"),
    )
    def offer_override_choices(
        _version: int | None,
        portfolios_shown: list[dict[str, str]] | None,
        instruments_shown: list[dict[str, str]] | None,
    ) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
        snapshot = runner.snapshot()
        portfolios = [{"label": ALL_PORTFOLIOS_LABEL, "value": ALL_PORTFOLIOS}] + [
            {"label": view.name, "value": view.portfolio_id} for view in snapshot.portfolios
        ]
        instruments = [
            {"label": f"{i.symbol} · {i.name or i.sector}", "value": i.symbol}
            for i in sorted(snapshot.instruments, key=lambda i: i.symbol)
        ]
        # The choices are fixed for a run: sending them again would only redraw the selects.
        if portfolios == portfolios_shown and instruments == instruments_shown:
            raise PreventUpdate
        return portfolios, instruments

    @app.callback(
        Output(ids.SIGNALS_OVERRIDE_SCORE, "disabled"),
        Output(ids.SIGNALS_OVERRIDE_CONFIDENCE, "disabled"),
        Input(ids.SIGNALS_OVERRIDE_KIND, "value"),
    )
    def enable_pin_fields(kind: str | None) -> tuple[bool, bool]:
        # A veto forces score and confidence to 0: only a pin takes them.
        return kind != "pin", kind != "pin"

    @app.callback(
        Output(ids.SIGNALS_OVERRIDE_FEEDBACK, "children"),
        Output(ids.SIGNALS_OVERRIDES_CHANGED, "data"),
        Input(ids.SIGNALS_OVERRIDE_APPLY, "n_clicks"),
        Input({"type": ids.SIGNALS_LIFT_BUTTON, "index": ALL}, "n_clicks"),
        State(ids.SIGNALS_OVERRIDE_PORTFOLIO, "value"),
        State(ids.SIGNALS_OVERRIDE_INSTRUMENT, "value"),
        State(ids.SIGNALS_OVERRIDE_KIND, "value"),
        State(ids.SIGNALS_OVERRIDE_SCORE, "value"),
        State(ids.SIGNALS_OVERRIDE_CONFIDENCE, "value"),
        State(ids.SIGNALS_OVERRIDE_EXPIRES, "value"),
        State(ids.SIGNALS_OVERRIDE_REASON, "value"),
        State(ids.SIGNALS_OVERRIDE_ACTOR, "value"),
        State(ids.SIGNALS_OVERRIDES_CHANGED, "data"),
        prevent_initial_call=True,
    )
    def change_override(
        _apply: int | None,
        _lifts: list[int | None],
        portfolio_id: str | None,
        symbol: str | None,
        kind: str | None,
        score: float | str | None,
        confidence: float | str | None,
        expires_on: str | None,
        reason: str | None,
        actor: str | None,
        changed: int | None,
    ) -> tuple[dbc.Alert, int]:
        # A redrawn overrides table brings new Lift buttons, which fire this with no click.
        if not ctx.triggered or not ctx.triggered[0]["value"]:
            raise PreventUpdate
        trigger = ctx.triggered_id
        lifting = trigger != ids.SIGNALS_OVERRIDE_APPLY
        try:
            if lifting:
                command: SetOverride | LiftOverride = LiftOverride(
                    (actor or "").strip() or "dashboard-user",
                    LIFT_REASON,
                    override_id=trigger["index"],
                )
            else:
                command = set_override_command(
                    portfolio_id, symbol, kind, score, confidence, expires_on, reason, actor
                )
        except ValueError as error:
            return alert(f"Not applied. {in_user_words(error)}", "danger"), changed or 0
        done = "Lifted" if lifting else "Applied"
        return send(
            runner,
            command,
            lambda override: (
                f"{done} {override.override_id}: {_describe(override, runner.snapshot())}."
            ),
            changed,
        )

    @app.callback(
        Output(ids.SIGNALS_OVERRIDES_TABLE, "children"),
        Output(ids.SIGNALS_OVERRIDE_AUDIT, "children"),
        Output(ids.SIGNALS_OVERRIDES_RENDERED, "data"),
        Input(ids.SNAPSHOT_VERSION, "data"),
        Input(ids.SIGNALS_OVERRIDES_CHANGED, "data"),
        State(ids.SIGNALS_OVERRIDES_RENDERED, "data"),
    )
    def show_overrides(
        _version: int | None, changed: int | None, rendered: dict[str, Any] | None
    ) -> tuple[Any, ...]:
        snapshot = runner.snapshot()
        # The engine answers a command before it publishes the snapshot that shows it, so the
        # active ids are part of the key: a table drawn from the older snapshot is redrawn on the
        # next tick. Overrides set or lifted elsewhere (API, CLI, expiry) change the ids too.
        shown = {"active": [o.override_id for o in snapshot.overrides], "changed": changed}
        if shown == rendered:
            raise PreventUpdate
        labels = _labels(snapshot)
        audit = queries.override_history(limit=RECENT_ROWS)
        return (
            overrides_table(snapshot.overrides, labels, ids.lift_button),
            override_audit_table(audit, labels),
            shown,
        )
