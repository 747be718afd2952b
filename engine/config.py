"""Configuration: one TOML file describes the market data, the venue and every portfolio's mandate.

The default ships with the package (``engine/default_config.toml``); ``--config FILE`` replaces it
whole. Validation is strict (unknown keys are errors) and every error names the key path, the value
and the rule, e.g. ``portfolios[1].max_weight: 1.5 is not valid (must be <= 1)``.
"""

from __future__ import annotations

import tomllib
from datetime import date
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

DEFAULT_CONFIG_RESOURCE = "default_config.toml"
SOURCE_NAMES = ("momentum", "mean_reversion")


class ConfigError(ValueError):
    """A configuration file could not be read or broke a rule; the message names the key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MarketConfig(_Strict):
    source: Literal["bundled", "simulated", "file"] = "bundled"
    path: Path | None = Field(None, description="CSV or Parquet of prices when source = 'file'")
    start: date | None = None
    end: date | None = None
    adv_usd: Annotated[float, Field(gt=0)] = 5e8
    simulated_instruments: Annotated[int, Field(ge=2, le=20_000)] = 100
    simulated_days: Annotated[int, Field(ge=2)] = 2_520
    seed: int = 7

    @model_validator(mode="after")
    def _path_given_for_file(self) -> MarketConfig:
        if self.source == "file" and self.path is None:
            raise ValueError("path is required when source = 'file'")
        if self.start and self.end and self.start > self.end:
            raise ValueError(f"start {self.start} is after end {self.end}")
        return self


class VenueConfig(_Strict):
    half_spread_bps: Annotated[float, Field(ge=0, le=500)] = 5.0
    commission_bps: Annotated[float, Field(ge=0, le=500)] = 1.0
    min_commission_usd: Annotated[Decimal, Field(ge=0)] = Decimal("1.00")


class MomentumConfig(_Strict):
    horizons_days: Annotated[tuple[int, ...], Field(min_length=1)] = (21, 63, 126, 252)
    skip_days: Annotated[int, Field(ge=0)] = 5

    @model_validator(mode="after")
    def _horizons_longer_than_skip(self) -> MomentumConfig:
        for horizon in self.horizons_days:
            if horizon <= self.skip_days:
                raise ValueError(
                    f"horizon {horizon} must be longer than skip_days {self.skip_days}"
                )
        return self


class MeanReversionConfig(_Strict):
    lookback_days: Annotated[int, Field(ge=2, le=63)] = 5
    volatility_days: Annotated[int, Field(ge=10, le=252)] = 63


class SourcesConfig(_Strict):
    momentum: MomentumConfig = MomentumConfig()
    mean_reversion: MeanReversionConfig = MeanReversionConfig()


class PortfolioConfig(_Strict):
    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")]
    name: Annotated[str, Field(min_length=1)]
    universe: Literal["all"] | Annotated[tuple[str, ...], Field(min_length=1)] = "all"
    sources: tuple[Literal["momentum", "mean_reversion"], ...]
    source_weights: dict[str, Annotated[float, Field(gt=0)]] = {}
    max_weight: Annotated[float, Field(gt=0, le=1)] = 0.10
    cash_buffer: Annotated[float, Field(ge=0, lt=1)] = 0.02
    initial_cash_usd: Annotated[Decimal, Field(gt=0)] = Decimal("1000000")
    rebalance_every_days: Annotated[int, Field(ge=1)] = 1
    min_trade_weight: Annotated[float, Field(ge=0, lt=1)] = 0.002

    @model_validator(mode="after")
    def _weights_name_used_sources(self) -> PortfolioConfig:
        if not self.sources:
            raise ValueError("sources must name at least one signal source")
        unknown = sorted(set(self.source_weights) - set(self.sources))
        if unknown:
            raise ValueError(f"source_weights names {unknown}, which are not in sources")
        return self


class EventsConfig(_Strict):
    bus: Literal["embedded", "pulsar"] = "embedded"
    pulsar_url: Annotated[str, Field(pattern=r"^pulsar(\+ssl)?://")] = "pulsar://127.0.0.1:6650"
    pulsar_tenant: str = "public"
    pulsar_namespace: str = "default"
    # Names this deployment's topics and producers, so two deployments can share a broker.
    deployment: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")] = "pcoord"


class StateConfig(_Strict):
    snapshot_every_events: Annotated[int, Field(ge=100)] = 20_000


class AppConfig(_Strict):
    market: MarketConfig = MarketConfig()
    state: StateConfig = StateConfig()
    events: EventsConfig = EventsConfig()
    venue: VenueConfig = VenueConfig()
    sources: SourcesConfig = SourcesConfig()
    speed_days_per_second: Annotated[float, Field(gt=0, le=1000)] = 5.0
    history_days: Annotated[int, Field(ge=10, le=5000)] = 260
    portfolios: Annotated[tuple[PortfolioConfig, ...], Field(min_length=1)]

    @model_validator(mode="after")
    def _unique_portfolio_ids(self) -> AppConfig:
        seen: set[str] = set()
        for portfolio in self.portfolios:
            if portfolio.id in seen:
                raise ValueError(f"portfolio id {portfolio.id!r} is used twice")
            seen.add(portfolio.id)
        longest = max(self.sources.momentum.horizons_days)
        if self.history_days <= longest:
            raise ValueError(
                f"history_days {self.history_days} must exceed the longest momentum horizon "
                f"{longest}"
            )
        return self


def _key_path(location: tuple[str | int, ...]) -> str:
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part in {"function-after", "literal['all']", "tuple[str, ...]"} or "[" in part:
            continue  # pydantic's internal names for union branches, not keys a user wrote
        else:
            path += f".{part}" if path else part
    return path or "(top level)"


def _describe(error: ValidationError, origin: str) -> str:
    lines = []
    seen: set[str] = set()
    for item in error.errors():
        key = _key_path(item["loc"])
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown key (check the spelling; see the default config)"
        line = f"{key}: {message}"
        if item["type"] not in {"missing", "extra_forbidden"} and not isinstance(
            item.get("input"), dict
        ):
            line += f" (got {item['input']!r})"
        if line not in seen:
            seen.add(line)
            lines.append(line)
    return f"invalid configuration in {origin}:\n  " + "\n  ".join(lines)


def parse_config(text: str, origin: str = "<string>") -> AppConfig:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"invalid configuration in {origin}: not valid TOML: {exc}") from exc
    try:
        return AppConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, origin)) from exc


def default_config_text() -> str:
    return resources.files("engine").joinpath(DEFAULT_CONFIG_RESOURCE).read_text("utf-8")


def load_config(path: Path | None = None) -> AppConfig:
    """Load ``path`` (it replaces the default whole), or the default config of the package."""
    if path is None:
        return parse_config(default_config_text(), "the default config")
    try:
        text = Path(path).read_text("utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read configuration file {path}: {exc.strerror}") from exc
    return parse_config(text, str(path))
