"""The signal band (AllocationConfig.signal_band): a no-trade band on the view of the long-only
models that size the names with a positive view, checked at its edges with plain inputs."""

from __future__ import annotations

import re
from datetime import date

import numpy as np
import pytest

from engine.allocation.mandate import MandateAllocator
from engine.allocation.risk_models import SampleCovariance
from engine.config import ConfigError, default_config_text, parse_config
from engine.model import CoordinatedSignals

DAY = date(2020, 1, 31)


def _allocator(band: float, model: str = "equal_weight") -> MandateAllocator:
    return MandateAllocator("p", model, 1.0, 0.0, SampleCovariance(), 20, signal_band=band)


def _prices(names: int) -> np.ndarray:
    """30 days of distinct, positive closes (equal weight only needs a full history)."""
    rng = np.random.default_rng(7)
    return 100.0 * np.cumprod(1 + rng.normal(0, 0.01, (30, names)), axis=0)


def test_a_new_name_needs_a_view_above_the_band_and_a_held_one_keeps_until_minus_the_band() -> None:
    allocator = _allocator(0.25)
    conviction = np.array([0.25, 0.2500001, -0.25, -0.2499999, 0.0, 0.5])
    held = np.array([0.0, 0.0, 0.2, 0.2, 0.2, 0.0])
    wanted = allocator.wanted(conviction, held)
    # At +band exactly a new name is not bought; above it, it is. At -band exactly a holding
    # goes; above it (and at a flat view) it stays.
    assert wanted.tolist() == [False, True, False, True, True, True]


def test_no_band_sizes_exactly_the_names_with_a_positive_view() -> None:
    wanted = _allocator(0.0).wanted(np.array([0.0, 1e-9, -1e-9]), np.array([0.3, 0.0, 0.3]))
    assert wanted.tolist() == [False, True, False]


def test_equal_weight_keeps_a_holding_whose_view_dipped_inside_the_band() -> None:
    score = np.array([0.6, -0.1, 0.1, -0.5])  # conviction = score: confidence 1
    signals = CoordinatedSignals("p", "confidence_blend", ("m",), DAY, score, np.ones(4), {})
    current = np.array([0.5, 0.5, 0.0, 0.0])
    everyone = np.ones(4, dtype=bool)
    banded = _allocator(0.2).allocate(signals, everyone, DAY, _prices(4), current)
    # Name 1 (held, view -0.1 > -0.2) stays; name 2 (new, view 0.1 <= 0.2) is not bought.
    assert banded.target.weights.tolist() == pytest.approx([0.5, 0.5, 0.0, 0.0])
    plain = _allocator(0.0).allocate(signals, everyone, DAY, _prices(4), current)
    assert plain.target.weights.tolist() == pytest.approx([0.5, 0.0, 0.5, 0.0])


def test_a_band_the_model_cannot_use_is_refused_naming_the_field() -> None:
    with pytest.raises(ValueError, match=r"signal_band: 1.0 must be in \[0, 1\)"):
        _allocator(1.0)
    with pytest.raises(ValueError, match=r"signal_band: applies to .* not to 'mean_variance'"):
        _allocator(0.1, "mean_variance")


def test_the_config_names_a_band_out_of_range_or_on_a_model_that_sizes_every_view() -> None:
    # The default's own bands are taken out first, so each case sets the only one.
    text = re.sub(r", signal_band = [0-9.]+|\nsignal_band = [0-9.]+", "", default_config_text())
    old = 'model = "minimum_variance"\nrisk_model = "ewma"\n'
    assert old in text
    with pytest.raises(ConfigError, match=r"portfolios\[2\]\.allocation\.signal_band.*less than 1"):
        parse_config(text.replace(old, old + "signal_band = 1.5\n"))
    growth = 'model = "mean_variance"\nrisk_model = "ledoit_wolf"\nrisk_aversion = 2.0\n'
    assert growth in text
    with pytest.raises(ConfigError, match=r"portfolios\[0\]\.allocation.*signal_band applies to"):
        parse_config(text.replace(growth, growth + "signal_band = 0.1\n"))


def test_the_config_and_the_allocator_agree_on_which_models_take_a_signal_band() -> None:
    from engine import config
    from engine.allocation import mandate

    assert config.SIGNAL_BAND_MODELS == mandate.SIGNAL_BAND_MODELS
