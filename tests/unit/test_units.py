"""The one unit convention of every weight and limit form (components/units.py): percent, where
"25%", "25" and "0.25" all read as the fraction 0.25."""

from __future__ import annotations

import pytest

from components.units import parse_fraction, percent_text


@pytest.mark.parametrize("typed", ["25%", "25", "0.25", " 25 % ", 25, 0.25, "25.0"])
def test_a_quarter_typed_any_way_reads_as_one_quarter(typed: object) -> None:
    assert parse_fraction(typed, "value") == pytest.approx(0.25)


@pytest.mark.parametrize(
    ("typed", "fraction"),
    [
        ("1", 1.0),  # 1 or less is a fraction: 100%
        ("1%", 0.01),
        ("0.5%", 0.005),  # below 1% needs its sign
        ("0.5", 0.5),
        ("160", 1.6),  # a gross exposure of 160%
        ("-5", -0.05),  # a short
        ("-0.05", -0.05),
        ("1,250%", 12.5),
        ("0", 0.0),
    ],
)
def test_a_bare_number_above_one_is_percent_and_one_or_less_a_fraction(
    typed: str, fraction: float
) -> None:
    assert parse_fraction(typed, "weight") == pytest.approx(fraction)


@pytest.mark.parametrize("typed", [None, "", "   "])
def test_a_blank_field_is_refused_naming_the_field(typed: object) -> None:
    with pytest.raises(ValueError, match=r"^weight: enter a percentage"):
        parse_fraction(typed, "weight")


@pytest.mark.parametrize("typed", ["a lot", "25%%", "nan", "inf", "1e400"])
def test_text_that_is_no_percentage_is_refused_in_the_users_words(typed: str) -> None:
    with pytest.raises(ValueError) as refused:
        parse_fraction(typed, "value")
    message = str(refused.value)
    assert message.startswith("value: ")
    assert "percentage" in message
    assert "Error" not in message


@pytest.mark.parametrize("fraction", [0.25, 0.005, 1.6, -0.05, 0.123456])
def test_a_value_shown_in_a_form_reads_back_as_itself(fraction: float) -> None:
    shown = percent_text(fraction)
    assert shown.endswith("%")
    assert parse_fraction(shown, "value") == pytest.approx(fraction)
