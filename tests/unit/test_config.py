"""The config is strict: every broken file names the key, the value and the rule."""

from pathlib import Path

import pytest

from app.cli import main
from engine.assembly import build_mandates
from engine.config import ConfigError, default_config_text, load_config, parse_config
from engine.market.data import load_bundled


def _default_with(old: str, new: str) -> str:
    text = default_config_text()
    assert old in text, f"the default config no longer contains {old!r}"
    return text.replace(old, new, 1)


def test_default_config_has_three_portfolios_with_different_mandates() -> None:
    config = load_config()
    assert len(config.portfolios) >= 3
    mandates = {(p.universe, p.max_weight, p.cash_buffer, p.sources) for p in config.portfolios}
    assert len(mandates) == len(config.portfolios)
    assert len({p.sources for p in config.portfolios}) >= 2


def test_out_of_range_value_names_the_key_and_the_value() -> None:
    text = _default_with("max_weight = 0.10", "max_weight = 1.5")
    with pytest.raises(ConfigError) as error:
        parse_config(text, "my.toml")
    message = str(error.value)
    assert "my.toml" in message
    assert "portfolios[1].max_weight" in message
    assert "1.5" in message
    assert "less than or equal to 1" in message


def test_misspelt_key_is_reported_as_unknown() -> None:
    text = _default_with("cash_buffer = 0.02", "cash_bufer = 0.02")
    with pytest.raises(ConfigError, match=r"portfolios\[0\]\.cash_bufer: unknown key"):
        parse_config(text)


def test_unknown_signal_source_is_rejected() -> None:
    text = _default_with('sources = ["momentum", "analyst_desk"]', 'sources = ["astrology"]')
    with pytest.raises(ConfigError, match=r"portfolios\[0\] names sources \['astrology'\]"):
        parse_config(text)


def test_an_external_source_may_not_take_a_built_in_name() -> None:
    text = _default_with("[sources.external.risk_desk]", "[sources.external.momentum]")
    with pytest.raises(ConfigError, match=r"sources: .*\['momentum'\] are reserved"):
        parse_config(text)


def test_a_bad_horizon_label_is_named() -> None:
    text = _default_with('horizons = ["1w", "1m", "3m"]', 'horizons = ["1w", "fortnight"]')
    with pytest.raises(ConfigError, match=r"'fortnight' is not a horizon"):
        parse_config(text)


def test_an_unknown_coordination_policy_is_named() -> None:
    text = _default_with('policy = "priority"', 'policy = "loudest"')
    with pytest.raises(ConfigError, match=r"portfolios\[0\]\.coordination\.policy"):
        parse_config(text)


def test_duplicate_portfolio_ids_are_rejected() -> None:
    text = _default_with('id = "balanced"', 'id = "growth"')
    with pytest.raises(ConfigError, match="portfolio id 'growth' is used twice"):
        parse_config(text)


def test_invalid_toml_says_so() -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        parse_config("[market\nsource = 1")


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read configuration file"):
        load_config(tmp_path / "nope.toml")


def test_unknown_symbol_in_universe_names_the_portfolio() -> None:
    config = parse_config(_default_with('"AAPL", "AMD"', '"AAPL", "ZZZZ"'))
    with pytest.raises(ConfigError, match=r"portfolios\[0\]\.universe: unknown symbols \['ZZZZ'\]"):
        build_mandates(config, load_bundled().instruments)


def test_cli_exits_2_with_the_error_on_a_broken_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text(_default_with("half_spread_bps = 5.0", "half_spread_bps = -1"))
    code = main(["replay", "--config", str(broken), "--out", str(tmp_path / "out")])
    assert code == 2
    err = capsys.readouterr().err
    assert "venue.half_spread_bps" in err
    assert "greater than or equal to 0" in err


def test_empty_source_list_and_missing_id_are_named() -> None:
    with pytest.raises(ConfigError, match=r"portfolios\[0\]: sources must name at least one"):
        parse_config(_default_with('sources = ["momentum", "analyst_desk"]', "sources = []"))
    with pytest.raises(ConfigError, match=r"portfolios\[0\]\.id: Field required"):
        parse_config(_default_with('id = "growth"', ""))


def test_an_allocation_look_back_must_fit_in_the_price_window() -> None:
    text = _default_with("risk_aversion = 2.0", "risk_aversion = 2.0\nlookback_days = 300")
    with pytest.raises(ConfigError, match=r"portfolios\[0\]\.allocation\.lookback_days 300"):
        parse_config(text)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("max_short_weight = 0.08", "max_short_weight = 0.0", r"need a long/short book"),
        (
            "gross_exposure = 1.5\nnet_exposure = [0.0, 0.1]",
            "gross_exposure = 0.05\nnet_exposure = [0.1, 0.2]",
            r"cannot hold the net exposure",
        ),
        (
            'model = "mean_variance"\nrisk_model = "ledoit_wolf"\nrisk_aversion = 5.0',
            'model = "risk_parity"',
            r"is long-only",
        ),
        (
            'model = "minimum_variance"',
            'model = "minimum_variance"\nmax_short_weight = 0.1',
            "gross",
        ),
        ("net_exposure = [0.0, 0.1]", "net_exposure = [0.2, 0.1]", r"floor is above the ceiling"),
        ("capital = 0.4", "capital = 0.5", r"sleeves: capitals sum to 1.1, not 1"),
        ('sources = ["mean_reversion"]\ncoord', 'sources = ["analyst_desk"]\ncoord', r"not among"),
    ],
)
def test_long_short_and_sleeve_rules_are_explained(old: str, new: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config(_default_with(old, new))


def test_the_config_and_the_allocator_agree_on_which_models_may_short() -> None:
    # Kept apart so that reading a config does not import the optimisers.
    from engine import config
    from engine.allocation import mandate

    assert config.LONG_SHORT_MODELS == mandate.LONG_SHORT_MODELS


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            'name = "volatility"\nportfolio = "growth"',
            'name = "volatility"\nportfolio = "nobody"',
            r"risk\.limits\[\d+\]\.portfolio 'nobody' is not a portfolio",
        ),
        (
            'tenant = "absolute-return"\nvalue = 1.6',
            'tenant = "elsewhere"\nvalue = 1.6',
            r"tenant 'elsewhere' has no portfolio",
        ),
        (
            'name = "max_position_weight"\nvalue = 0.30',
            'name = "max_position_weight"\nvalue = -0.30',
            r"value: -0.3 must be above 0",
        ),
        ('name = "sector_cap"', 'name = "sector_caps"', r"'sector_caps' is not a risk limit"),
        ('on_breach = "reduce"', 'on_breach = "panic"', r"on_breach"),
        ("risk_budget = 0.4", "risk_budget = 0.5", r"risk_budget values sum to 1.1, not 1"),
        ("long_window_days = 126", "long_window_days = 400", r"less than history_days 260"),
        ("budget_bounds = [0.25, 0.75]", "budget_bounds = [0.8, 0.75]", r"0.8 is above 0.75"),
    ],
)
def test_risk_limit_and_budget_rules_are_explained(old: str, new: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config(_default_with(old, new))


def test_a_restricted_instrument_must_be_in_the_market_data() -> None:
    from engine.assembly import build_risk_manager

    text = default_config_text() + (
        '\n[[risk.limits]]\nname = "restricted_instruments"\nsymbols = ["ZZZZ"]\n'
    )
    config = parse_config(text)
    with pytest.raises(ConfigError, match=r"symbols: \['ZZZZ'\] are not in the market data"):
        build_risk_manager(config, load_bundled().instruments)


def test_the_risk_lookback_is_the_configured_one_else_the_whole_price_window() -> None:
    config = load_config()
    assert config.risk.lookback_days is None
    assert config.risk_lookback_days == config.history_days - 1
    text = _default_with("[risk]\n", "[risk]\nlookback_days = 60\n")
    assert parse_config(text, "my.toml").risk_lookback_days == 60


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "workers = 1",
            "workers = 0",
            "allocation.workers: Input should be greater than or equal to 1 (got 0)",
        ),
        (
            "worker_timeout_s = 10.0",
            "worker_timeout_s = 0",
            "allocation.worker_timeout_s: Input should be greater than 0",
        ),
    ],
)
def test_solver_workers_and_their_timeout_are_checked(old: str, new: str, message: str) -> None:
    assert load_config().allocation.workers == 1  # in-process unless asked
    with pytest.raises(ConfigError) as error:
        parse_config(_default_with(old, new), "my.toml")
    assert message in str(error.value)
