"""Rebalancing: the chosen portfolio's drift, proposal, policy and history, read from the
snapshot's ``rebalancing`` views; approve (keeping the ticked trades), reject, rebalance now
and the policy form send audited commands."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import dash_bootstrap_components as dbc
from dash import Input, Output, State, ctx, html, no_update
from dash.exceptions import PreventUpdate

from callbacks.commands import alert, in_user_words, send
from callbacks.pickers import register_portfolio_picker
from components import formatting as fmt
from components import ids
from components.figures import base_figure, waiting
from components.rebalancing import (
    amount_usd,
    describe_policy,
    drift_figure,
    drift_table,
    group_table,
    history_table,
    keep_options,
    policy_audit,
    policy_form_values,
    policy_from_form,
    preview_table,
    proposal_header,
    summary,
    trades_table,
)
from engine.commands import (
    ApproveRebalance,
    RecordCashFlow,
    RejectRebalance,
    RequestRebalance,
    SetRebalancePolicy,
)

if TYPE_CHECKING:
    import dash

    from engine.coordinator import CoordinatorRunner
    from engine.snapshot import StateSnapshot
    from engine.views.queries import EventQueries
    from engine.views.rebalancing import RebalancingView

SHOWN_ONCE_APPLIED = "this page shows it once applied"
NO_PROPOSAL = "No rebalance is waiting for a decision."
UNAVAILABLE = (
    "Rebalancing is shown by the engine's own dashboard: this one follows the engine's events "
    "over Pulsar, without the portfolios' rebalance policies."
)


def rebalancing_of(snapshot: StateSnapshot, portfolio_id: str) -> RebalancingView:
    for view in snapshot.rebalancing:
        if view.portfolio_id == portfolio_id:
            return view
    raise KeyError(f"portfolio_id: no portfolio named {portfolio_id!r}")


def register(app: dash.Dash, runner: CoordinatorRunner, queries: EventQueries) -> None:
    register_portfolio_picker(app, runner, ids.REBAL_PORTFOLIO_PICKER)

    @app.callback(
        Output(ids.REBAL_SUMMARY, "children"),
        Output(ids.REBAL_DRIFT_GRAPH, "figure"),
        Output(ids.REBAL_DRIFT_TABLE, "children"),
        Output(ids.REBAL_SECTOR_TABLE, "children"),
        Output(ids.REBAL_CLASS_TABLE, "children"),
        Output(ids.REBAL_HISTORY_TABLE, "children"),
        Output(ids.REBAL_POLICY_AUDIT, "children"),
        Output(ids.REBAL_RENDERED, "data"),
        Input(ids.SNAPSHOT_VERSION, "data"),
        Input(ids.REBAL_PORTFOLIO_PICKER, "value"),
        Input(ids.REBAL_CHANGED, "data"),
        State(ids.REBAL_RENDERED, "data"),
    )
    def show(
        _version: int | None, portfolio_id: str | None, _changed: int | None, rendered: Any
    ) -> tuple[Any, ...]:
        if not portfolio_id:
            raise PreventUpdate
        snapshot = runner.snapshot()
        # Everything shown changes only with an event: drawn again when one was recorded.
        key = [portfolio_id, snapshot.event_seq]
        if key == rendered:
            raise PreventUpdate
        if not snapshot.rebalancing:
            # A dashboard following the engine over Pulsar has the events, not the policies.
            empty = html.Span(UNAVAILABLE, className="text-muted")
            return (
                empty,
                waiting(base_figure([], x_title="", y_title="", revision=""), "not available"),
                empty,
                empty,
                empty,
                empty,
                empty,
                key,
            )
        try:
            view = rebalancing_of(snapshot, portfolio_id)
        except KeyError as error:
            raise PreventUpdate from error
        return (
            summary(view),
            drift_figure(view),
            drift_table(view.drift),
            group_table(view.sectors, "sector"),
            group_table(view.classes, "asset class"),
            history_table(view.history),
            policy_audit(view.policy_changes, view.configured),
            key,
        )

    @app.callback(
        Output(ids.REBAL_PROPOSAL, "children"),
        Output(ids.REBAL_PROPOSAL_KEEP, "options"),
        Output(ids.REBAL_PROPOSAL_KEEP, "value"),
        Output(ids.REBAL_APPROVE, "disabled"),
        Output(ids.REBAL_REJECT, "disabled"),
        Output(ids.REBAL_PROPOSAL_RENDERED, "data"),
        Input(ids.SNAPSHOT_VERSION, "data"),
        Input(ids.REBAL_PORTFOLIO_PICKER, "value"),
        State(ids.REBAL_PROPOSAL_RENDERED, "data"),
    )
    def show_proposal(
        _version: int | None, portfolio_id: str | None, rendered: Any
    ) -> tuple[Any, ...]:
        if not portfolio_id:
            raise PreventUpdate
        proposal = next(
            (v.proposal for v in runner.snapshot().rebalancing if v.portfolio_id == portfolio_id),
            None,
        )
        # Drawn again only when the proposal changes, so the trades a manager unticked stay so.
        key = [portfolio_id, *((proposal.proposal_id, proposal.status) if proposal else ())]
        if key == rendered:
            raise PreventUpdate
        if proposal is None:
            return NO_PROPOSAL, [], [], True, True, key
        options = keep_options(proposal)
        dropped = set(proposal.dropped)
        kept = [o["value"] for o in options if o["value"] not in dropped]
        body = [
            proposal_header(proposal),
            _two_columns(trades_table(proposal), preview_table(proposal.preview)),
        ]
        pending = proposal.status == "pending"
        return body, options, kept, not pending, not pending, key

    @app.callback(
        Output(ids.REBAL_POLICY_CALENDAR, "value"),
        Output(ids.REBAL_POLICY_EVERY_DAYS, "value"),
        Output(ids.REBAL_POLICY_DRIFT_ABSOLUTE, "value"),
        Output(ids.REBAL_POLICY_DRIFT_RELATIVE, "value"),
        Output(ids.REBAL_POLICY_SECTOR_DRIFT, "value"),
        Output(ids.REBAL_POLICY_CLASS_DRIFT, "value"),
        Output(ids.REBAL_POLICY_SIGNAL_CHANGE, "value"),
        Output(ids.REBAL_POLICY_SWITCHES, "value"),
        Output(ids.REBAL_POLICY_EXPIRES, "value"),
        Output(ids.REBAL_POLICY_HORIZON, "value"),
        Input(ids.REBAL_PORTFOLIO_PICKER, "value"),
    )
    def fill_policy_form(portfolio_id: str | None) -> tuple[Any, ...]:
        # Only when the portfolio changes: a redraw would undo what the manager is typing.
        if not portfolio_id:
            raise PreventUpdate
        try:
            return policy_form_values(rebalancing_of(runner.snapshot(), portfolio_id).policy)
        except KeyError as error:
            raise PreventUpdate from error

    @app.callback(
        Output(ids.REBAL_DECISION_FEEDBACK, "children"),
        Output(ids.REBAL_NOW_FEEDBACK, "children"),
        Output(ids.REBAL_POLICY_FEEDBACK, "children"),
        Output(ids.REBAL_FLOW_FEEDBACK, "children"),
        Output(ids.REBAL_CHANGED, "data"),
        Input(ids.REBAL_APPROVE, "n_clicks"),
        Input(ids.REBAL_REJECT, "n_clicks"),
        Input(ids.REBAL_NOW, "n_clicks"),
        Input(ids.REBAL_POLICY_APPLY, "n_clicks"),
        Input(ids.REBAL_FLOW, "n_clicks"),
        State(ids.REBAL_PORTFOLIO_PICKER, "value"),
        State(ids.REBAL_PROPOSAL_KEEP, "value"),
        State(ids.REBAL_PROPOSAL_KEEP, "options"),
        State(ids.REBAL_DECISION_REASON, "value"),
        State(ids.REBAL_DECISION_ACTOR, "value"),
        State(ids.REBAL_NOW_PREVIEW, "value"),
        State(ids.REBAL_NOW_REASON, "value"),
        State(ids.REBAL_NOW_ACTOR, "value"),
        State(ids.REBAL_FLOW_AMOUNT, "value"),
        State(ids.REBAL_FLOW_REASON, "value"),
        State(ids.REBAL_FLOW_ACTOR, "value"),
        State(ids.REBAL_POLICY_CALENDAR, "value"),
        State(ids.REBAL_POLICY_EVERY_DAYS, "value"),
        State(ids.REBAL_POLICY_DRIFT_ABSOLUTE, "value"),
        State(ids.REBAL_POLICY_DRIFT_RELATIVE, "value"),
        State(ids.REBAL_POLICY_SECTOR_DRIFT, "value"),
        State(ids.REBAL_POLICY_CLASS_DRIFT, "value"),
        State(ids.REBAL_POLICY_SIGNAL_CHANGE, "value"),
        State(ids.REBAL_POLICY_SWITCHES, "value"),
        State(ids.REBAL_POLICY_EXPIRES, "value"),
        State(ids.REBAL_POLICY_HORIZON, "value"),
        State(ids.REBAL_POLICY_REASON, "value"),
        State(ids.REBAL_POLICY_ACTOR, "value"),
        State(ids.REBAL_CHANGED, "data"),
        prevent_initial_call=True,
    )
    def act(
        _approve: int,
        _reject: int,
        _now: int,
        _apply: int,
        _flow: int,
        portfolio_id: str | None,
        kept: list[str] | None,
        options: list[dict[str, Any]] | None,
        decision_reason: str | None,
        decision_actor: str | None,
        preview: bool | None,
        now_reason: str | None,
        now_actor: str | None,
        flow_amount: str | None,
        flow_reason: str | None,
        flow_actor: str | None,
        *policy_and_changed: Any,
    ) -> tuple[Any, ...]:
        *policy_form, policy_reason, policy_actor, changed = policy_and_changed
        trigger = ctx.triggered_id
        feedback: list[Any] = [no_update, no_update, no_update, no_update]
        slots = {ids.REBAL_APPROVE: 0, ids.REBAL_REJECT: 0, ids.REBAL_NOW: 1, ids.REBAL_FLOW: 3}
        slot = slots.get(trigger, 2)
        if not portfolio_id:
            feedback[slot] = alert("Not applied. portfolio: choose a portfolio", "danger")
            return (*feedback, no_update)
        name = _name(runner, portfolio_id)
        try:
            if trigger == ids.REBAL_APPROVE:
                traded = [o["value"] for o in options or ()]
                drop = tuple(s for s in traded if s not in set(kept or ()))
                if traded and len(drop) == len(traded):
                    raise ValueError(
                        "trades to keep: every trade is unticked; reject the rebalance instead"
                    )
                command: Any = ApproveRebalance(
                    (decision_actor or "").strip(),
                    (decision_reason or "").strip(),
                    portfolio_id=portfolio_id,
                    drop=drop,
                )
                going = len(traded) - len(drop)
                without = f", without {', '.join(drop)}" if drop else ""
                done = (
                    f"Approved {name}'s rebalance: {going} trade(s) go at the next close{without}."
                )
            elif trigger == ids.REBAL_REJECT:
                command = RejectRebalance(
                    (decision_actor or "").strip(),
                    (decision_reason or "").strip(),
                    portfolio_id=portfolio_id,
                )
                done = f"Rejected {name}'s rebalance: nothing of it is traded."
            elif trigger == ids.REBAL_NOW:
                command = RequestRebalance(
                    (now_actor or "").strip(),
                    (now_reason or "").strip(),
                    portfolio_id=portfolio_id,
                    preview=bool(preview),
                )
                done = (
                    f"{name} is proposed at the next close, for a decision above."
                    if preview
                    else f"{name} rebalances at the next close."
                )
            elif trigger == ids.REBAL_FLOW:
                amount = amount_usd(flow_amount)
                command = RecordCashFlow(
                    (flow_actor or "").strip(),
                    (flow_reason or "").strip(),
                    portfolio_id=portfolio_id,
                    amount_usd=amount,
                )
                kind = "deposit into" if amount > 0 else "withdrawal from"
                done = (
                    f"Recorded a {kind} {name} of {fmt.usd(abs(amount))}: in its cash now; it "
                    "rebalances at the next close."
                )
            else:
                policy = policy_from_form(*policy_form)
                command = SetRebalancePolicy(
                    (policy_actor or "").strip(),
                    (policy_reason or "").strip(),
                    portfolio_id=portfolio_id,
                    policy=policy,
                )
                done = f"{name} from the next close: {describe_policy(policy)}."
        except ValueError as error:
            feedback[slot] = alert(f"Not applied. {in_user_words(error)}", "danger")
            return (*feedback, no_update)
        feedback[slot], counter = send(
            runner, command, lambda _: done, changed, shown_once_applied=SHOWN_ONCE_APPLIED
        )
        return (*feedback, counter)


def _name(runner: CoordinatorRunner, portfolio_id: str) -> str:
    try:
        return runner.snapshot().portfolio(portfolio_id).name
    except KeyError:
        return portfolio_id


def _two_columns(left: Any, right: Any) -> dbc.Row:
    return dbc.Row([dbc.Col(left, lg=7), dbc.Col(right, lg=5)])
