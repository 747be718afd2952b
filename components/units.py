"""One unit convention for every weight and limit a form takes: percent, with a visible %.

The rule, stated under each such field (``PERCENT_RULE``):

- ``25%`` is 25 percent;
- a bare number larger than 1 (in size) is read as percent: ``25`` is 25%;
- a bare number of 1 or less is read as a fraction: ``0.25`` is 25%, ``1`` is 100%.

So ``"25%"``, ``"25"`` and ``"0.25"`` all mean the same 0.25, on the Risk page's limit form and
the Allocation page's weight-override form alike. A value below 1% must be typed with its sign
(``0.5%``), since a bare ``0.5`` is 50%. Forms show their current values with the ``%`` (see
``percent_text``), so sending a form back unchanged never reinterprets it.
"""

from __future__ import annotations

import math

PERCENT_RULE = (
    "25%, 25 and 0.25 all mean 25% (a bare number above 1 is percent, 1 or less a fraction)"
)


def parse_fraction(text: float | str | None, field: str) -> float:
    """The fraction of ``text`` typed in a percent field, by the rule above.

    Raises ``ValueError`` naming ``field`` and the rule when the text is blank or not a number."""
    if text is None or (isinstance(text, str) and not text.strip()):
        raise ValueError(f"{field}: enter a percentage (e.g. 25%)")
    cleaned = str(text).strip().replace(" ", "").replace(",", "").replace("_", "")
    explicit = cleaned.endswith("%")
    try:
        number = float(cleaned.removesuffix("%"))
    except ValueError:
        raise ValueError(f"{field}: {text!r} is not a percentage (e.g. 25%)") from None
    if not math.isfinite(number):
        raise ValueError(f"{field}: {text!r} is not a finite percentage")
    if explicit or abs(number) > 1:
        return number / 100.0
    return number


def percent_text(fraction: float, decimals: int = 4) -> str:
    """A fraction as a form shows it, with its %: 0.25 -> ``25%``, 0.005 -> ``0.5%``."""
    return f"{round(fraction * 100, decimals):g}%"
