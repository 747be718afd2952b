"""What the Risk page's confirmation says before a control is sent: before -> after, and what
the change does to the book (components/risk_confirm.py)."""

from __future__ import annotations

from callbacks.commands import trading_state_command
from callbacks.risk import set_risk_limit_command
from components.risk_confirm import limit_change, trading_state_change
from engine.snapshot import LimitView


def _drawdown_limit(threshold: float = 0.30, version: int = 1) -> LimitView:
    return LimitView(
        "max_drawdown",
        "fraction of peak NAV",
        threshold,
        "hard",
        0.8,
        "reduce",
        version,
        "portfolio",
        "",
        0.05,
        0.05 / threshold,
        "ok",
        "",
    )


def _limit_command(value: str) -> object:
    return set_risk_limit_command(
        "growth", "max_drawdown", value, "hard", "80%", "reduce", "", "review", "risk"
    )


def test_a_halt_says_the_state_before_and_after_and_the_orders_it_cancels() -> None:
    halt = trading_state_command("growth", "HALTED", "breach review", "risk")

    assert trading_state_change("Growth", "ACTIVE", halt, 3) == (
        "Growth: ACTIVE -> HALTED; its 3 working orders are cancelled, and no order passes "
        "until it is made ACTIVE again."
    )
    assert "its 1 working order is cancelled" in trading_state_change("Growth", "ACTIVE", halt, 1)
    assert "no working order to cancel" in trading_state_change("Growth", "REDUCING", halt, 0)


def test_a_release_and_a_state_already_in_force_say_so() -> None:
    release = trading_state_command("growth", "ACTIVE", "review done", "risk")

    assert trading_state_change("Growth", "HALTED", release, 0) == (
        "Growth: HALTED -> ACTIVE (release); it trades again from its next rebalance."
    )
    assert trading_state_change("Growth", "ACTIVE", release, 0).startswith(
        "Growth is already ACTIVE"
    )


def test_raising_a_limit_shows_the_threshold_before_and_after_and_the_new_version() -> None:
    text = limit_change("Growth", _drawdown_limit(), _limit_command("40"))

    assert text.startswith(
        "max_drawdown of Growth: 30.00% -> 40.00% (raise: looser) (% of peak NAV); "
        "hard, warn at 80%, on breach: reduce; v1 -> v2."
    )
    assert text.endswith("Reason: review")
    lower = limit_change("Growth", _drawdown_limit(), _limit_command("0.2"))
    assert "30.00% -> 20.00% (lower: tighter)" in lower
    new = limit_change("Growth", None, _limit_command("25%"))
    assert "none -> 25.00% (a new limit)" in new
    assert "; v1." in new
