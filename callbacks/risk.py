"""Risk: the portfolio picker, then the chosen portfolio's trading state, limit utilisation, risk
alerts, the pre-trade gate's decisions, exposures and risk figures, net exposure by sector, the
shares of the 99% VaR by instrument, sector and sleeve, each holding's risk attribution, stress
results, the VaR history and the audit trail of risk controls; a risk officer's trading state,
limit and acknowledgement sent as commands.

Three refreshes (the figures and charts; the stress and attribution tables; the controls, limits,
alerts, gate and audit), each its own answer so that none grows large, redraw only the parts whose
content changed: each part has a key in its group's rendered Store (the market date of the risk
view and a digest of its attribution for the figures and the tables; a digest of the limits,
which carries their versions and utilisations; the trading state and its reason; a digest of the
alerts, gate decisions and audit entries shown), so a quiet second costs a few lookups and redraws
nothing. The figures and tables are the same for every session and built once for all of them.
The limits are a server grid: when their key changes the grid's refresh store gets it, and the
grid asks for its rows again. An answered command bumps a counter that triggers the refreshes at
once; the engine publishes the snapshot carrying the change before it answers, so the new limit
version, trading state and audit row show on that refresh even with the engine paused.

A trading state or a limit is sent only after a confirmation that shows it before -> after.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from dash import ALL, Input, Output, State, ctx, html, no_update
from dash.exceptions import PreventUpdate

from callbacks.commands import (
    alert,
    describe_trading_state,
    in_user_words,
    send,
    trading_state_command,
)
from callbacks.pickers import register_portfolio_picker
from callbacks.risk_parts import (
    PartRequest,
    audit_of,
    gate_of,
    limits_card,
    rendered_keys,
    risk_figure_parts,
    risk_of,
    shown_alerts,
    working_orders_of,
)
from components import ids
from components.grid import refresh_store_id, register_refresh, serve_rows
from components.risk import (
    RESTRICTED,
    alerts_table,
    gate_grid_rows,
    gate_note,
    limit_amount,
    limit_form_values,
    limit_grid_rows,
    limit_value_help,
    shown_unit,
    trading_state_panel,
)
from components.risk_confirm import limit_change, trading_state_change
from components.risk_tables import attribution_table, risk_audit_table, stress_table
from components.shared import SharedParts
from components.units import parse_fraction
from engine.commands import AcknowledgeAlert, SetRiskLimit, SetTradingState
from engine.risk.limits import KINDS

if TYPE_CHECKING:
    import dash

    from engine.coordinator import CoordinatorRunner
    from engine.snapshot import LimitView, RiskView, StateSnapshot
    from engine.views.queries import EventQueries

# The alerts card shows the chosen portfolio's alerts, or every portfolio's.
ALERT_SCOPES = ("portfolio", "all")
# Whoever acknowledges without naming themselves still has to be someone in the audit trail.
FALLBACK_ACTOR = "dashboard-user"
SHOWN_ONCE_APPLIED = "the limits, alerts and audit trail below show it once applied"


def limit_of(risk: RiskView | None, limit_name: str | None) -> LimitView | None:
    """The limit of that name in force, None when the portfolio has none (or no risk view)."""
    if risk is None:
        return None
    return next((limit for limit in risk.limits if limit.name == limit_name), None)


# The command builders -----------------------------------------------------------------------------


def _blank(text: object) -> bool:
    return text is None or (isinstance(text, str) and not text.strip())


def limit_value(limit: str, text: float | str | None) -> float | None:
    """The threshold from the form, in the limit's unit: a fraction of NAV typed in percent by
    the one rule of every form (components/units.py: ``10%``, ``10`` and ``0.10`` are all 10%);
    dollars with or without ``$`` and thousands separators; None for restricted instruments
    (whose list is the symbols)."""
    if limit == RESTRICTED:
        return None
    unit = KINDS[limit].unit
    if _blank(text):
        raise ValueError(f"value: {limit} needs a threshold in {shown_unit(unit)}")
    if "fraction" in unit:
        return parse_fraction(text, "value")
    cleaned = str(text).strip().replace(",", "").replace("$", "").replace("_", "")
    if cleaned.endswith("%"):
        raise ValueError(f"value: {text!r} is a percentage, but {limit} is in {unit}")
    try:
        value = float(cleaned)
    except ValueError:
        raise ValueError(f"value: {text!r} is not a number ({unit})") from None
    if not math.isfinite(value):
        raise ValueError(f"value: {text!r} is not a finite threshold ({unit})")
    return value


def warn_at_fraction(text: float | str | None) -> float | None:
    """The warning level from the form's percent of the limit (``80%``, ``80`` or ``0.8``, the
    one rule of every form); blank: the engine's default."""
    if _blank(text):
        return None
    fraction = parse_fraction(text, "warn at")
    if not 0 < fraction <= 1:
        raise ValueError(f"warn at: {text!r} must be a percentage of the limit in (0%, 100%]")
    return fraction


def symbols_of(text: str | None) -> tuple[str, ...]:
    """Instruments typed as ``AAPL, msft tsla``: upper case, in order, each once."""
    return tuple(dict.fromkeys(s.upper() for s in re.split(r"[\s,;]+", text or "") if s))


def set_risk_limit_command(
    portfolio_id: str | None,
    limit: str | None,
    value: float | str | None,
    mode: str | None,
    warn_at_pct: float | str | None,
    on_breach: str | None,
    symbols: str | None,
    reason: str | None,
    actor: str | None,
) -> SetRiskLimit:
    """The ``SetRiskLimit`` the edit-limit form describes, for one portfolio.

    Raises ``ValueError`` naming the field when something is missing or malformed; the command
    checks the rest against the limit's kind (a positive threshold, a whole number of orders,
    a warning level in (0, 1], symbols only for restricted instruments) and the reason."""
    if not portfolio_id:
        raise ValueError("portfolio: choose the portfolio whose limit to set")
    if limit not in KINDS:
        raise ValueError(f"limit: {limit!r} is not a risk limit; choose one from the list")
    actor = (actor or "").strip()
    if not actor:
        raise ValueError("actor: say who sets the limit (it goes into the audit trail)")
    return SetRiskLimit(
        actor,
        (reason or "").strip(),
        portfolio_id=portfolio_id,
        limit=limit,
        value=limit_value(limit, value),
        mode=mode or "hard",
        warn_at=warn_at_fraction(warn_at_pct),
        on_breach=on_breach or "alert",
        symbols=symbols_of(symbols) if limit == RESTRICTED else (),
    )


def acknowledge_alert_command(
    alert_id: str, note: str | None, actor: str | None
) -> AcknowledgeAlert:
    """The ``AcknowledgeAlert`` of an alert's Acknowledge button, by the alerts card's actor,
    with its note as the reason (required, as for every command: it goes into the audit trail).
    """
    if _blank(note):
        raise ValueError("note: say why you acknowledge the alert (it goes into the audit trail)")
    return AcknowledgeAlert(
        (actor or "").strip() or FALLBACK_ACTOR, (note or "").strip(), alert_id=alert_id
    )


def versions_text(answer: object) -> str:
    """The new version(s) from the engine's answer to a ``SetRiskLimit`` (a version, or a
    mapping holding ``version``/``versions``, by portfolio when set for a tenant)."""
    if isinstance(answer, bool):
        return ""
    if isinstance(answer, int):
        return f"v{answer}"
    if isinstance(answer, dict):
        for key in ("versions", "version"):
            if key in answer:
                return versions_text(answer[key])
        # By portfolio: one portfolio's version reads alone.
        found = [(str(k), v) for k, v in answer.items() if isinstance(v, int)]
        if len(found) == 1:
            return f"v{found[0][1]}"
        return ", ".join(f"{k} v{v}" for k, v in found)
    return ""


def describe_limit(command: SetRiskLimit, name: str, answer: object = None) -> str:
    """What an answered ``SetRiskLimit`` did, as the person asked for it, with its new version."""
    if command.limit == RESTRICTED:
        what = f"Restricted {', '.join(command.symbols)} in {name}"
    else:
        amount = limit_amount(command.value, KINDS[command.limit].unit)
        what = f"Set {command.limit} of {name} to {amount}"
    warn = "" if command.warn_at is None else f", warn at {command.warn_at * 100:g}%"
    version = versions_text(answer)
    text = f"{what} ({command.mode}{warn}, on breach: {command.on_breach})" + (
        f": now {version}." if version else "."
    )
    cancelled = answer.get("cancelled_orders", {}) if isinstance(answer, dict) else {}
    count = sum(len(ids) for ids in cancelled.values())
    if count:
        orders = "working order" if count == 1 else "working orders"
        verb = "was" if count == 1 else "were"
        text += f" {count} {orders} no longer passed and {verb} cancelled."
    return text


def describe_acknowledgement(command: AcknowledgeAlert) -> str:
    return f"Acknowledged alert {command.alert_id} as {command.actor}."


# What the page shows ------------------------------------------------------------------------------


def register(app: dash.Dash, runner: CoordinatorRunner, queries: EventQueries) -> None:
    register_portfolio_picker(app, runner, ids.RISK_PORTFOLIO_PICKER)

    shared = SharedParts()

    def page_part(
        store_id: str,
        parts: tuple[str, ...],
        outputs: list[Output],
        build: Callable[[PartRequest], tuple[Any, ...]],
    ) -> None:
        """A group of the page's parts as one answer (each group stays well under 100 KiB),
        redrawn only when the key of one of its parts changed."""

        @app.callback(
            *outputs,
            Output(store_id, "data"),
            Input(ids.SNAPSHOT_VERSION, "data"),
            Input(ids.RISK_PORTFOLIO_PICKER, "value"),
            Input(ids.RISK_ALERTS_SCOPE, "value"),
            Input(ids.RISK_CHANGED, "data"),
            State(store_id, "data"),
        )
        def show(
            _version: int | None,
            portfolio_id: str | None,
            scope: str | None,
            _changed: int | None,
            rendered: dict[str, Any] | None,
        ) -> tuple[Any, ...]:
            if not portfolio_id:
                raise PreventUpdate
            snapshot = runner.snapshot()
            try:
                every = rendered_keys(snapshot, portfolio_id, scope)
            except KeyError as error:
                raise PreventUpdate from error
            keys = {part: every[part] for part in parts}
            rendered = rendered if isinstance(rendered, dict) else {}
            if keys == rendered:
                raise PreventUpdate
            request = PartRequest(snapshot, portfolio_id, scope, keys, rendered)
            return (*build(request), keys)

    def figures(r: PartRequest) -> tuple[Any, ...]:
        # Measured once a cycle and the same for every session: built once, for all of them.
        return shared.get("figures", r.keys["risk"], lambda: risk_figure_parts(r))

    page_part(
        ids.RISK_FIGURES_RENDERED,
        ("risk",),
        [
            Output(ids.RISK_SUMMARY, "children"),
            Output(ids.RISK_FIGURES, "children"),
            Output(ids.RISK_SECTOR_EXPOSURE_GRAPH, "figure"),
            Output(ids.RISK_CONTRIBUTIONS_GRAPH, "figure"),
            Output(ids.RISK_SECTOR_CONTRIBUTIONS_GRAPH, "figure"),
            Output(ids.RISK_HISTORY_GRAPH, "figure"),
            Output(ids.RISK_SLEEVES_GRAPH, "figure"),
            Output(ids.RISK_SLEEVES_CARD, "hidden"),
        ],
        figures,
    )

    def tables(r: PartRequest) -> tuple[Any, ...]:
        def build() -> tuple[Any, ...]:
            risk = risk_of(r.snapshot, r.portfolio_id)
            return stress_table(risk.stress if risk else ()), attribution_table(risk)

        return shared.get("tables", r.keys["risk"], build)

    page_part(
        ids.RISK_TABLES_RENDERED,
        ("risk",),
        [
            Output(ids.RISK_STRESS_TABLE, "children"),
            Output(ids.RISK_ATTRIBUTION_TABLE, "children"),
        ],
        tables,
    )

    def controls(r: PartRequest) -> tuple[Any, ...]:
        snapshot, portfolio_id = r.snapshot, r.portfolio_id
        portfolio = snapshot.portfolio(portfolio_id)
        risk = risk_of(snapshot, portfolio_id)

        def when(part: str, build: Callable[[], Any]) -> Any:
            return build() if r.changed(part) else no_update

        return (
            when(
                "state",
                lambda: trading_state_panel(
                    portfolio.trading_state,
                    portfolio.halt_reason,
                    risk.budget_scaling if risk else None,
                ),
            ),
            when("limits", lambda: limits_card(risk)),
            when(
                "alerts",
                lambda: alerts_table(
                    shown_alerts(snapshot, portfolio_id, r.scope), r.labels(), ids.risk_ack_button
                ),
            ),
            when("gate", lambda: gate_note(gate_of(snapshot, portfolio_id))),
            when("audit", lambda: risk_audit_table(audit_of(snapshot, portfolio_id), r.labels())),
            # The grids reload their rows (below) when their part's key changed.
            r.keys["limits"] if r.changed("limits") else no_update,
            r.keys["gate"] if r.changed("gate") else no_update,
        )

    page_part(
        ids.RISK_RENDERED,
        ("state", "limits", "alerts", "gate", "audit"),
        [
            Output(ids.RISK_TRADING_STATE, "children"),
            Output(ids.RISK_LIMITS_TABLE, "children"),
            Output(ids.RISK_ALERTS_TABLE, "children"),
            Output(ids.RISK_GATE_TABLE, "children"),
            Output(ids.RISK_AUDIT_TABLE, "children"),
            Output(refresh_store_id(ids.RISK_LIMITS_GRID), "data"),
            Output(refresh_store_id(ids.RISK_GATE_GRID), "data"),
        ],
        controls,
    )

    register_refresh(app, ids.RISK_LIMITS_GRID)
    register_refresh(app, ids.RISK_GATE_GRID)

    @app.callback(
        Output(ids.RISK_GATE_GRID, "getRowsResponse"),
        Input(ids.RISK_GATE_GRID, "getRowsRequest"),
        State(ids.RISK_PORTFOLIO_PICKER, "value"),
    )
    def gate_rows(request: dict[str, Any] | None, portfolio_id: str | None) -> dict[str, Any]:
        decisions = gate_of(runner.snapshot(), portfolio_id) if portfolio_id else ()
        return serve_rows(gate_grid_rows(decisions), request)

    @app.callback(
        Output(ids.RISK_LIMITS_GRID, "getRowsResponse"),
        Input(ids.RISK_LIMITS_GRID, "getRowsRequest"),
        State(ids.RISK_PORTFOLIO_PICKER, "value"),
    )
    def limit_rows(request: dict[str, Any] | None, portfolio_id: str | None) -> dict[str, Any]:
        risk = risk_of(runner.snapshot(), portfolio_id) if portfolio_id else None
        rows = limit_grid_rows(risk.limits, risk.drawdown_window_days) if risk else []
        return serve_rows(rows, request)

    @app.callback(
        Output(ids.RISK_LIMIT_VALUE, "value"),
        Output(ids.RISK_LIMIT_MODE, "value"),
        Output(ids.RISK_LIMIT_WARN_AT, "value"),
        Output(ids.RISK_LIMIT_ON_BREACH, "value"),
        Output(ids.RISK_LIMIT_SYMBOLS, "value"),
        Output(ids.RISK_LIMIT_SYMBOLS, "disabled"),
        Output(ids.RISK_LIMIT_VALUE, "disabled"),
        Output(ids.RISK_LIMIT_VALUE_HELP, "children"),
        Input(ids.RISK_LIMIT_NAME, "value"),
        Input(ids.RISK_PORTFOLIO_PICKER, "value"),
    )
    def fill_limit_form(limit_name: str | None, portfolio_id: str | None) -> tuple[Any, ...]:
        """The chosen limit's current setting in the form, to edit (defaults for a new one),
        and what its value field takes."""
        risk = risk_of(runner.snapshot(), portfolio_id) if portfolio_id else None
        current = limit_of(risk, limit_name)
        restricted = limit_name == RESTRICTED
        help_text = limit_value_help(limit_name)
        if current is not None:
            help_text += f" · now v{current.version}, set by {current.set_by or 'config'}"
        return (*limit_form_values(current), not restricted, restricted, help_text)

    @app.callback(
        Output(ids.RISK_STATE_FEEDBACK, "children"),
        Output(ids.RISK_LIMIT_FEEDBACK, "children"),
        Output(ids.RISK_ALERT_FEEDBACK, "children"),
        Output(ids.RISK_CHANGED, "data"),
        Output(ids.RISK_CONFIRM_MODAL, "is_open"),
        Output(ids.RISK_CONFIRM_BODY, "children"),
        Output(ids.RISK_PENDING, "data"),
        Input(ids.RISK_STATE_APPLY, "n_clicks"),
        Input(ids.RISK_LIMIT_APPLY, "n_clicks"),
        Input(ids.RISK_CONFIRM_YES, "n_clicks"),
        Input(ids.RISK_CONFIRM_NO, "n_clicks"),
        Input({"type": ids.RISK_ACK_BUTTON, "index": ALL}, "n_clicks"),
        State(ids.RISK_PORTFOLIO_PICKER, "value"),
        State(ids.RISK_STATE_SELECT, "value"),
        State(ids.RISK_STATE_REASON, "value"),
        State(ids.RISK_STATE_ACTOR, "value"),
        State(ids.RISK_LIMIT_NAME, "value"),
        State(ids.RISK_LIMIT_VALUE, "value"),
        State(ids.RISK_LIMIT_MODE, "value"),
        State(ids.RISK_LIMIT_WARN_AT, "value"),
        State(ids.RISK_LIMIT_ON_BREACH, "value"),
        State(ids.RISK_LIMIT_SYMBOLS, "value"),
        State(ids.RISK_LIMIT_REASON, "value"),
        State(ids.RISK_LIMIT_ACTOR, "value"),
        State(ids.RISK_ALERT_NOTE, "value"),
        State(ids.RISK_ALERT_ACTOR, "value"),
        State(ids.RISK_CHANGED, "data"),
        State(ids.RISK_PENDING, "data"),
        prevent_initial_call=True,
    )
    def send_risk_command(
        _state_apply: int | None,
        _limit_apply: int | None,
        _confirm: int | None,
        _cancel: int | None,
        _acks: list[int | None],
        portfolio_id: str | None,
        state: str | None,
        state_reason: str | None,
        state_actor: str | None,
        limit: str | None,
        value: str | None,
        mode: str | None,
        warn_at_pct: str | None,
        on_breach: str | None,
        symbols: str | None,
        limit_reason: str | None,
        limit_actor: str | None,
        note: str | None,
        ack_actor: str | None,
        changed: int | None,
        pending: dict[str, Any] | None,
    ) -> tuple[Any, ...]:
        """Apply on a trading state or a limit asks first (the confirmation shows it before ->
        after, and keeps the form as it was); Confirm sends exactly that; Cancel sends nothing.
        An acknowledgement is sent at once."""
        # A redrawn alerts table brings new Acknowledge buttons, which fire this with no click.
        if not ctx.triggered or not ctx.triggered[0]["value"]:
            raise PreventUpdate
        trigger = ctx.triggered_id
        snapshot = runner.snapshot()
        names = {view.portfolio_id: view.name for view in snapshot.portfolios}
        state_form = [portfolio_id, state, state_reason, state_actor]
        limit_form = [
            portfolio_id,
            limit,
            value,
            mode,
            warn_at_pct,
            on_breach,
            symbols,
            limit_reason,
            limit_actor,
        ]

        def refused(error: ValueError) -> Any:
            return alert(f"Not applied. {in_user_words(error)}", "danger")

        def answer(
            state_feedback: Any = no_update,
            limit_feedback: Any = no_update,
            ack_feedback: Any = no_update,
            count: Any = no_update,
            is_open: bool = False,
            body: Any = no_update,
            keep: Any = None,
        ) -> tuple[Any, ...]:
            return state_feedback, limit_feedback, ack_feedback, count, is_open, body, keep

        if trigger in (ids.RISK_STATE_APPLY, ids.RISK_LIMIT_APPLY):
            kind = "state" if trigger == ids.RISK_STATE_APPLY else "limit"
            form = state_form if kind == "state" else limit_form
            try:
                body = _review(snapshot, kind, form, names)
            except ValueError as error:
                if kind == "state":
                    return answer(state_feedback=refused(error))
                return answer(limit_feedback=refused(error))
            return answer(is_open=True, body=body, keep={"kind": kind, "form": form})
        if trigger == ids.RISK_CONFIRM_NO:
            cancelled = alert("Not sent: cancelled at the confirmation.", "secondary")
            if (pending or {}).get("kind") == "limit":
                return answer(limit_feedback=cancelled)
            return answer(state_feedback=cancelled)
        if trigger == ids.RISK_CONFIRM_YES:
            if not pending:
                raise PreventUpdate
            kind, form = pending["kind"], pending["form"]
            name = names.get(form[0] or "", form[0] or "")
            if kind == "state":
                try:
                    command: SetTradingState = trading_state_command(*form)
                except ValueError as error:
                    return answer(state_feedback=refused(error))
                feedback, counter = send(
                    runner,
                    command,
                    lambda _: describe_trading_state(command, name),
                    changed,
                    shown_once_applied=SHOWN_ONCE_APPLIED,
                )
                return answer(state_feedback=feedback, count=counter)
            try:
                set_limit = set_risk_limit_command(*form)
            except ValueError as error:
                return answer(limit_feedback=refused(error))
            feedback, counter = send(
                runner,
                set_limit,
                lambda reply: describe_limit(set_limit, name, reply),
                changed,
                shown_once_applied=SHOWN_ONCE_APPLIED,
            )
            return answer(limit_feedback=feedback, count=counter)
        try:
            acknowledge = acknowledge_alert_command(trigger["index"], note, ack_actor)
        except ValueError as error:
            return answer(ack_feedback=refused(error))
        feedback, counter = send(
            runner,
            acknowledge,
            lambda _: describe_acknowledgement(acknowledge),
            changed,
            shown_once_applied=SHOWN_ONCE_APPLIED,
        )
        return answer(ack_feedback=feedback, count=counter)


def _review(snapshot: StateSnapshot, kind: str, form: list[Any], names: dict[str, str]) -> html.Div:
    """What the confirmation shows for a form: the command it makes (raising ``ValueError``
    naming the field when the form is incomplete), before -> after."""
    portfolio_id = form[0]
    name = names.get(portfolio_id or "", portfolio_id or "")
    if kind == "state":
        command = trading_state_command(*form)
        before = snapshot.portfolio(command.portfolio_id).trading_state
        text = trading_state_change(
            name, before, command, working_orders_of(snapshot, command.portfolio_id)
        )
        reason = command.reason
    else:
        set_limit = set_risk_limit_command(*form)
        current = limit_of(risk_of(snapshot, portfolio_id), set_limit.limit)
        text = limit_change(name, current, set_limit)
        reason = None  # limit_change names the reason itself
    return html.Div(
        [
            html.P(text, className="fw-semibold pc-confirm-change mb-1"),
            html.P(f"Reason: {reason}", className="mb-0") if reason else None,
        ]
    )
