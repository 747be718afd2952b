"""The Rebalancing page in Chromium over a real engine: a portfolio manager asks for a rebalance
with a preview, drops one of its trades, approves it and sees the orders; and changes the
trigger settings, refused without a reason, then audited."""

from __future__ import annotations

from dash.testing.composite import DashComposite

from app.runtime import Runtime
from components import ids
from engine.commands import Pause, SetRebalancePolicy, Step
from engine.rebalancing.triggers import RebalancePolicy
from engine.snapshot import EngineStatus
from tests.browser.pages import WAIT_S, choose, click, open_page, text, wait

PORTFOLIO = "growth"


def _pause_after(runtime: Runtime, cycles: int) -> None:
    runner = runtime.runner
    wait(lambda: runner.snapshot().cycles_completed >= cycles, f"{cycles} cycles never ran")
    runner.submit(Pause("test", "look at the page"))
    wait(
        lambda: runner.snapshot().status in (EngineStatus.PAUSED, EngineStatus.FINISHED),
        "no pause",
    )


def _step(runtime: Runtime) -> None:
    """One close, and the snapshot published after it."""
    runner = runtime.runner
    done = runner.snapshot().cycles_completed
    runner.submit(Step("test", "the next close"))
    wait(lambda: runner.snapshot().cycles_completed > done, "the step ran no cycle")


def _type(dashboard: DashComposite, component_id: str, value: str) -> None:
    box = dashboard.find_element(f"#{component_id}")
    box.clear()
    box.send_keys(value)


def _open(dashboard: DashComposite, runtime: Runtime) -> str:
    open_page(dashboard, "/rebalancing")
    choose(dashboard, ids.REBAL_PORTFOLIO_PICKER, PORTFOLIO)
    dashboard.wait_for_contains_text(f"#{ids.REBAL_SUMMARY}", "Rebalances on", timeout=WAIT_S)
    return runtime.runner.snapshot().portfolio(PORTFOLIO).name


def _view(runtime: Runtime):
    return next(v for v in runtime.runner.snapshot().rebalancing if v.portfolio_id == PORTFOLIO)


def test_preview_drop_a_trade_approve_and_see_the_orders(
    dashboard: DashComposite, runtime: Runtime
) -> None:
    _pause_after(runtime, 3)
    # Only the manager's request rebalances from here: a calendar day between the approval and
    # its close would make a new rebalance, which replaces the approved one.
    quiet = SetRebalancePolicy(
        "test", "manual only", portfolio_id=PORTFOLIO, policy=RebalancePolicy(calendar="none")
    )
    runtime.runner.submit(quiet)
    quiet.reply.result(timeout=WAIT_S)
    name = _open(dashboard, runtime)
    dashboard.wait_for_contains_text(
        f"#{ids.REBAL_PROPOSAL}", "No rebalance is waiting", timeout=WAIT_S
    )
    assert dashboard.find_element(f"#{ids.REBAL_APPROVE}").get_attribute("disabled")
    # Drift by instrument is drawn from the holdings against the last target.
    held = {p.symbol for p in runtime.runner.snapshot().portfolio(PORTFOLIO).positions}
    wait(
        lambda: all(s in text(dashboard, ids.REBAL_DRIFT_TABLE) for s in held),
        "the drift table does not list every held name",
    )

    # Without a reason the request is refused, naming the field; nothing is recorded.
    click(dashboard, f"#{ids.REBAL_NOW}")
    dashboard.wait_for_contains_text(
        f"#{ids.REBAL_NOW_FEEDBACK}", "Not applied. reason: say why", timeout=WAIT_S
    )
    assert _view(runtime).requested == ()
    _type(dashboard, ids.REBAL_NOW_REASON, "inflows next week")
    click(dashboard, f"#{ids.REBAL_NOW}")
    dashboard.wait_for_contains_text(
        f"#{ids.REBAL_NOW_FEEDBACK}", f"{name} is proposed at the next close", timeout=WAIT_S
    )
    assert _view(runtime).requested == ("manual",)

    _step(runtime)
    proposal = _view(runtime).proposal
    assert proposal is not None and proposal.status == "pending" and proposal.trades
    dashboard.wait_for_contains_text(f"#{ids.REBAL_PROPOSAL}", proposal.proposal_id, timeout=WAIT_S)
    shown = text(dashboard, ids.REBAL_PROPOSAL)
    assert "waiting for a decision" in shown and "a preview asked for by pm" in shown
    assert "estimated tax" in shown and "turnover" in shown
    assert not dashboard.find_element(f"#{ids.REBAL_APPROVE}").get_attribute("disabled")

    # Modify: untick the first trade, then approve.
    dropped = proposal.trades[0].symbol
    click(dashboard, f"#{ids.REBAL_PROPOSAL_KEEP} input[value='{dropped}']")
    _type(dashboard, ids.REBAL_DECISION_REASON, "keep the position in " + dropped)
    click(dashboard, f"#{ids.REBAL_APPROVE}")
    going = len(proposal.trades) - 1
    dashboard.wait_for_contains_text(
        f"#{ids.REBAL_DECISION_FEEDBACK}",
        f"Approved {name}'s rebalance: {going} trade(s) go at the next close, without {dropped}",
        timeout=WAIT_S,
    )
    assert "Recorded as event #" in text(dashboard, ids.REBAL_DECISION_FEEDBACK)
    dashboard.wait_for_contains_text(
        f"#{ids.REBAL_PROPOSAL}", "approved: trades at the next close", timeout=WAIT_S
    )

    _step(runtime)
    snapshot = runtime.runner.snapshot()
    made = [
        o
        for o in snapshot.recent_orders
        if o.portfolio_id == PORTFOLIO
        and o.order_id.startswith(f"{PORTFOLIO}-")
        and int(o.order_id.split("-")[1]) == snapshot.cycles_completed
    ]
    traded = {t.symbol for t in proposal.trades} - {dropped}
    assert {o.symbol for o in made} <= traded and dropped not in {o.symbol for o in made}
    assert made, "the approved rebalance made no order"
    dashboard.wait_for_contains_text(
        f"#{ids.REBAL_PROPOSAL}", "No rebalance is waiting", timeout=WAIT_S
    )
    dashboard.wait_for_contains_text(
        f"#{ids.REBAL_HISTORY_TABLE}",
        f"approved by pm, without {dropped}: keep the position in {dropped}",
        timeout=WAIT_S,
    )
    # The orders, on the Trades page's blotter.
    open_page(dashboard, "/trades")
    rows = f"#{ids.TRADES_ORDERS_GRID} .ag-center-cols-container .ag-row"

    def blotter() -> set[str]:
        # Read in one go: the grid redraws its rows as the page refreshes.
        return set(
            dashboard.driver.execute_script(
                "return Array.from(document.querySelectorAll(arguments[0]),"
                " r => r.getAttribute('row-id'));",
                rows,
            )
        )

    wait(
        lambda: {o.order_id for o in made} <= blotter(),
        "the approved rebalance's orders are not on the blotter",
    )
    assert dashboard.get_logs() == [], "the browser console reported errors"


def test_trigger_settings_are_changed_with_a_reason_and_audited(
    dashboard: DashComposite, runtime: Runtime
) -> None:
    _pause_after(runtime, 2)
    name = _open(dashboard, runtime)
    configured = _view(runtime).configured
    # The form starts on the portfolio's policy.
    wait(
        lambda: (
            dashboard.find_element(f"#{ids.REBAL_POLICY_EVERY_DAYS}").get_attribute("value")
            == str(configured.every_days)
        ),
        "the form does not show the policy's calendar",
    )
    _type(dashboard, ids.REBAL_POLICY_DRIFT_ABSOLUTE, "four")
    _type(dashboard, ids.REBAL_POLICY_REASON, "tighter control")
    click(dashboard, f"#{ids.REBAL_POLICY_APPLY}")
    dashboard.wait_for_contains_text(
        f"#{ids.REBAL_POLICY_FEEDBACK}",
        "Not applied. drift_absolute: 'four' is not a percentage",
        timeout=WAIT_S,
    )
    _type(dashboard, ids.REBAL_POLICY_DRIFT_ABSOLUTE, "4%")
    choose(dashboard, ids.REBAL_POLICY_CALENDAR, "monthly")
    click(dashboard, f"#{ids.REBAL_POLICY_APPLY}")
    dashboard.wait_for_contains_text(
        f"#{ids.REBAL_POLICY_FEEDBACK}",
        f"{name} from the next close: Rebalances on first trading day of the month, or a name "
        "4.00% of NAV off target",
        timeout=WAIT_S,
    )
    policy = _view(runtime).policy
    assert policy.calendar == "monthly" and policy.drift_absolute == 0.04
    dashboard.wait_for_contains_text(
        f"#{ids.REBAL_POLICY_AUDIT}", "tighter control", timeout=WAIT_S
    )
    # The drift table now shows each name's band, and the summary the new policy.
    dashboard.wait_for_contains_text(f"#{ids.REBAL_DRIFT_TABLE}", "4.00%", timeout=WAIT_S)
    dashboard.wait_for_contains_text(
        f"#{ids.REBAL_SUMMARY}", "first trading day of the month", timeout=WAIT_S
    )
    assert dashboard.get_logs() == [], "the browser console reported errors"


def test_a_rejected_preview_trades_nothing_and_is_in_the_history(
    dashboard: DashComposite, runtime: Runtime
) -> None:
    _pause_after(runtime, 3)
    name = _open(dashboard, runtime)
    _type(dashboard, ids.REBAL_NOW_REASON, "what would it do")
    click(dashboard, f"#{ids.REBAL_NOW}")
    dashboard.wait_for_contains_text(
        f"#{ids.REBAL_NOW_FEEDBACK}", "proposed at the next close", timeout=WAIT_S
    )
    _step(runtime)
    proposal = _view(runtime).proposal
    assert proposal is not None
    dashboard.wait_for_contains_text(f"#{ids.REBAL_PROPOSAL}", proposal.proposal_id, timeout=WAIT_S)
    # Rejecting needs a reason too.
    click(dashboard, f"#{ids.REBAL_REJECT}")
    dashboard.wait_for_contains_text(
        f"#{ids.REBAL_DECISION_FEEDBACK}", "Not applied. reason: say why", timeout=WAIT_S
    )
    _type(dashboard, ids.REBAL_DECISION_REASON, "too much turnover")
    click(dashboard, f"#{ids.REBAL_REJECT}")
    dashboard.wait_for_contains_text(
        f"#{ids.REBAL_DECISION_FEEDBACK}",
        f"Rejected {name}'s rebalance: nothing of it is traded.",
        timeout=WAIT_S,
    )
    dashboard.wait_for_contains_text(
        f"#{ids.REBAL_PROPOSAL}", "No rebalance is waiting", timeout=WAIT_S
    )
    dashboard.wait_for_contains_text(
        f"#{ids.REBAL_HISTORY_TABLE}", "rejected by pm: too much turnover", timeout=WAIT_S
    )
    # The next close releases nothing: the rebalance stays rejected, untraded.
    _step(runtime)
    (record,) = [r for r in _view(runtime).history if "what would it do" in " ".join(r.triggers)]
    assert record.outcome == "rejected by pm: too much turnover" and record.orders == 0
    assert dashboard.get_logs() == [], "the browser console reported errors"


def test_a_deposit_is_in_the_cash_at_once_and_rebalanced_at_the_next_close(
    dashboard: DashComposite, runtime: Runtime
) -> None:
    _pause_after(runtime, 3)
    name = _open(dashboard, runtime)
    cash = runtime.runner.snapshot().portfolio(PORTFOLIO).cash_usd
    _type(dashboard, ids.REBAL_FLOW_AMOUNT, "a lot")
    _type(dashboard, ids.REBAL_FLOW_REASON, "new money from the client")
    click(dashboard, f"#{ids.REBAL_FLOW}")
    dashboard.wait_for_contains_text(
        f"#{ids.REBAL_FLOW_FEEDBACK}",
        "Not applied. amount_usd: 'a lot' is not an amount in USD",
        timeout=WAIT_S,
    )
    _type(dashboard, ids.REBAL_FLOW_AMOUNT, "$250,000")
    click(dashboard, f"#{ids.REBAL_FLOW}")
    dashboard.wait_for_contains_text(
        f"#{ids.REBAL_FLOW_FEEDBACK}",
        f"Recorded a deposit into {name} of $250,000.00: in its cash now",
        timeout=WAIT_S,
    )
    assert runtime.runner.snapshot().portfolio(PORTFOLIO).cash_usd == cash + 250_000
    dashboard.wait_for_contains_text(
        f"#{ids.REBAL_SUMMARY}",
        "Rebalances at the next close: a deposit or withdrawal",
        timeout=WAIT_S,
    )
    _step(runtime)
    dashboard.wait_for_contains_text(
        f"#{ids.REBAL_HISTORY_TABLE}",
        "cash_flow: net deposit of 250,000.00 USD (pm: new money from the client)",
        timeout=WAIT_S,
    )
    assert dashboard.get_logs() == [], "the browser console reported errors"
