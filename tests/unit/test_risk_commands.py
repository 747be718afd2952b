"""The commands the Risk page's forms send: a limit in its unit for the portfolio, a trading
state, an alert's acknowledgement. A bad form is refused with the field named; an answer is
described in words."""

from __future__ import annotations

from typing import Any

import pytest

from callbacks.commands import describe_trading_state, trading_state_command
from callbacks.risk import (
    acknowledge_alert_command,
    describe_limit,
    set_risk_limit_command,
    symbols_of,
    versions_text,
)
from engine.commands import AcknowledgeAlert, SetRiskLimit, SetTradingState

# The edit-limit form and its command -------------------------------------------------------------


def _limit_form(**changes: Any) -> dict[str, Any]:
    return {
        "portfolio_id": "growth",
        "limit": "max_order_notional_usd",
        "value": "$50,000",
        "mode": "soft",
        "warn_at_pct": "90",
        "on_breach": "alert",
        "symbols": "",
        "reason": " cap single orders ",
        "actor": " risk ",
        **changes,
    }


def test_the_limit_form_sends_the_threshold_in_the_limits_unit_for_the_portfolio() -> None:
    command = set_risk_limit_command(**_limit_form())

    assert isinstance(command, SetRiskLimit)
    assert (command.portfolio_id, command.tenant, command.limit) == (
        "growth",
        "",
        "max_order_notional_usd",
    )
    assert (command.value, command.mode, command.warn_at, command.on_breach) == (
        50_000.0,
        "soft",
        0.9,
        "alert",
    )
    assert (command.actor, command.reason, command.symbols) == ("risk", "cap single orders", ())
    # A fraction of NAV reads by the one rule of every form: 10%, 10 and 0.10 are all 10%; a
    # blank warning level is the default.
    for typed in ("10%", "10", "0.10"):
        weight = set_risk_limit_command(
            **_limit_form(limit="max_position_weight", value=typed, warn_at_pct="")
        )
        assert (weight.value, weight.warn_at) == (pytest.approx(0.1), None)
    gross = set_risk_limit_command(**_limit_form(limit="gross_exposure", value="150%"))
    assert gross.value == pytest.approx(1.5)
    assert set_risk_limit_command(**_limit_form(warn_at_pct="0.9")).warn_at == pytest.approx(0.9)


def test_restricted_instruments_take_the_symbols_and_no_value() -> None:
    command = set_risk_limit_command(
        **_limit_form(limit="restricted_instruments", value="123", symbols="tsla, gme  tsla")
    )
    assert (command.value, command.symbols) == (None, ("TSLA", "GME"))
    assert symbols_of(" aapl;msft\nAAPL ") == ("AAPL", "MSFT")


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"portfolio_id": None}, "portfolio: choose"),
        ({"limit": "max_leverage"}, "limit: 'max_leverage' is not a risk limit"),
        ({"actor": "  "}, "actor: say who sets the limit"),
        ({"value": ""}, "value: max_order_notional_usd needs a threshold in USD"),
        ({"value": "lots"}, "value: 'lots' is not a number (USD)"),
        ({"value": "5%"}, "value: '5%' is a percentage, but max_order_notional_usd is in USD"),
        ({"value": "-5"}, "SetRiskLimit.value: -5.0 must be above 0 (USD)"),
        ({"value": "inf"}, "value: 'inf' is not a finite threshold"),
        (
            {"limit": "max_orders_per_cycle", "value": "2.5"},
            "SetRiskLimit.value: max_orders_per_cycle counts orders, a whole number",
        ),
        (
            {"limit": "max_drawdown", "value": "100%"},
            "SetRiskLimit.value: 1.0 is a fraction of the peak NAV, below 1",
        ),
        (
            {"limit": "max_position_weight", "value": "lots"},
            "value: 'lots' is not a percentage (e.g. 25%)",
        ),
        ({"warn_at_pct": "150"}, "warn at: '150' must be a percentage of the limit in (0%, 100%]"),
        ({"warn_at_pct": "often"}, "warn at: 'often' is not a percentage"),
        ({"mode": "firm"}, "SetRiskLimit.mode: 'firm' must be 'hard' (reject) or 'soft'"),
        ({"on_breach": "panic"}, "SetRiskLimit.on_breach: 'panic' must be one of"),
        (
            {"limit": "restricted_instruments", "symbols": " , "},
            "SetRiskLimit.symbols: name at least one restricted instrument",
        ),
        ({"reason": "  "}, "SetRiskLimit.reason: say why"),
    ],
)
def test_a_bad_limit_form_is_refused_with_the_field_named(
    form: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError) as refused:
        set_risk_limit_command(**_limit_form(**form))
    assert str(refused.value).startswith(message)


def test_an_answered_limit_says_what_was_set_and_its_new_version() -> None:
    command = set_risk_limit_command(**_limit_form())

    answer = {"limit": "max_order_notional_usd", "versions": {"growth": 4}}
    assert describe_limit(command, "Growth", answer) == (
        "Set max_order_notional_usd of Growth to $50,000.00 (soft, warn at 90%, on breach: "
        "alert): now v4."
    )
    assert describe_limit(command, "Growth", None).endswith("on breach: alert).")
    answer["cancelled_orders"] = {"growth": ["growth-00000012-0003", "growth-00000012-0007"]}
    assert describe_limit(command, "Growth", answer).endswith(
        "now v4. 2 working orders no longer passed and were cancelled."
    )
    restricted = set_risk_limit_command(
        **_limit_form(limit="restricted_instruments", symbols="TSLA")
    )
    assert describe_limit(restricted, "Growth", 2).startswith("Restricted TSLA in Growth")
    assert versions_text({"versions": {"growth": 4, "income": 2}}) == "growth v4, income v2"
    assert versions_text({"growth": 5}) == "v5"


# The trading state and acknowledgement commands --------------------------------------------------


def test_the_trading_state_form_sends_the_state_who_and_why() -> None:
    command = trading_state_command("growth", "REDUCING", " drawdown review ", " risk ")

    assert isinstance(command, SetTradingState)
    assert (command.portfolio_id, command.state) == ("growth", "REDUCING")
    assert (command.actor, command.reason) == ("risk", "drawdown review")
    assert describe_trading_state(command, "Growth") == (
        "Growth is REDUCING: only orders that reduce a position pass."
    )
    halted = trading_state_command("growth", "HALTED", "limit breach", "risk")
    assert describe_trading_state(halted, "Growth").startswith("Halted trading in Growth")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((None, "HALTED", "why", "risk"), "portfolio: choose"),
        (("growth", "PAUSED", "why", "risk"), "trading state: 'PAUSED' must be one of"),
        (("growth", "HALTED", "why", " "), "actor: say who"),
        (("growth", "HALTED", "", "risk"), "SetTradingState.reason: say why"),
    ],
)
def test_an_incomplete_trading_state_is_refused_with_the_field_named(
    args: tuple[Any, ...], message: str
) -> None:
    with pytest.raises(ValueError) as refused:
        trading_state_command(*args)
    assert str(refused.value).startswith(message)


def test_an_acknowledgement_names_the_alert_who_and_the_note() -> None:
    command = acknowledge_alert_command("A-1", " trimming tomorrow ", " ro ")

    assert isinstance(command, AcknowledgeAlert)
    assert (command.alert_id, command.actor, command.reason) == ("A-1", "ro", "trimming tomorrow")
    assert acknowledge_alert_command("A-1", "seen", "").actor == "dashboard-user"


@pytest.mark.parametrize("note", [None, "", "   "])
def test_an_acknowledgement_without_a_note_is_refused_naming_the_field(note: str | None) -> None:
    with pytest.raises(ValueError, match=r"^note: say why you acknowledge"):
        acknowledge_alert_command("A-1", note, "ro")
