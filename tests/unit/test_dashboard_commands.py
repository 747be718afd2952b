"""What the dashboard tells a person when the engine refuses a command (callbacks/commands.py)."""

import pytest

from callbacks.commands import in_user_words
from engine.commands import CommandRefused, SetOverride, SetSpeed


def test_a_refusal_names_the_field_without_the_command_class() -> None:
    with pytest.raises(ValueError) as refused:
        SetSpeed("pm", "faster", days_per_second=0)
    said = in_user_words(refused.value)
    assert said.startswith("days_per_second: 0 must be in")
    assert "SetSpeed" not in said


def test_each_field_of_a_refusal_loses_its_class_prefix() -> None:
    with pytest.raises(ValueError) as refused:
        SetOverride("pm", "why", kind="boost", symbol="AAPL")
    assert in_user_words(refused.value) == "kind: 'boost' must be 'pin' or 'veto'"


def test_a_missing_key_reads_as_its_message_and_a_refusal_as_itself() -> None:
    assert in_user_words(KeyError("portfolio: no portfolio 'x'")) == "portfolio: no portfolio 'x'"
    assert in_user_words(CommandRefused("the engine is stopping")) == "the engine is stopping"


def test_an_unexpected_failure_is_said_to_be_ours_without_a_class_name() -> None:
    said = in_user_words(ZeroDivisionError("division by zero"))
    assert "ZeroDivisionError" not in said
    assert said == "the engine could not apply it (division by zero); see the server log"


def test_a_message_alone_loses_the_class_prefix_and_keeps_the_rest() -> None:
    assert in_user_words("SetTradingState.reason: say why") == "reason: say why"
    assert in_user_words("order: O-1 is no longer working") == "order: O-1 is no longer working"
