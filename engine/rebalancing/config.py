"""The rebalancing parts of a portfolio's configuration (``[portfolios.rebalancing]``,
``[portfolios.tax]``; docs/rebalancing.md), parsed with the rest of it in engine/config.py."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Strict(BaseModel):
    # As engine/config.py's: unknown keys are errors, and a parsed configuration is frozen.
    model_config = ConfigDict(extra="forbid", frozen=True)


class RebalancingConfig(_Strict):
    """When and how the portfolio rebalances besides its calendar (docs/rebalancing.md): drift
    bands (of NAV, or relative to each name's target), a band on each sector's and asset
    class's weight, a risk breach, a signal change; approval; the no-trade region; and the
    asset class mix the allocation keeps. ``calendar`` is every ``rebalance_every_days`` cycles
    by default."""

    calendar: Literal["every_n_days", "daily", "weekly", "monthly", "quarterly", "none"] = (
        "every_n_days"
    )
    drift_absolute: Annotated[float, Field(gt=0, le=1)] | None = None
    drift_relative: Annotated[float, Field(gt=0)] | None = None
    sector_drift_absolute: Annotated[float, Field(gt=0, le=1)] | None = None
    # Asset class targets (weights of NAV) the allocation keeps, and a band on each class.
    asset_classes: dict[
        Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")],
        Annotated[float, Field(gt=0, le=1)],
    ] = {}
    class_drift_absolute: Annotated[float, Field(gt=0, le=1)] | None = None
    on_risk_breach: bool = False
    # A name's coordinated score (in [-1, 1]) moved this much since the last rebalance.
    signal_change: Annotated[float, Field(gt=0, le=2)] | None = None
    # A rebalance waits for a manager's approval; undecided, it expires after this many days.
    approval: bool = False
    proposal_expires_days: Annotated[int, Field(ge=1, le=90)] = 5
    # The no-trade region: a trade worth less over horizon_days than its cost and tax is held
    # back; to_band_edge trades a name beyond its band to the edge, one inside it not at all.
    cost_aware: bool = False
    horizon_days: Annotated[int, Field(ge=1, le=252)] = 21
    to_band_edge: bool = False

    @model_validator(mode="after")
    def _edge_needs_a_band(self) -> RebalancingConfig:
        if self.to_band_edge and self.drift_absolute is None and self.drift_relative is None:
            raise ValueError("to_band_edge needs a name band: drift_absolute or drift_relative")
        total = sum(self.asset_classes.values())
        if total > 1 + 1e-9:
            raise ValueError(f"asset_classes: the targets sum to {total:g}, more than all of NAV")
        return self


class TaxConfig(_Strict):
    """Tax lots and rates (engine/rebalancing/tax.py): the order a sale relieves lots in, the
    short- and long-term rates of the tax estimate, and the holding period to long-term."""

    lot_method: Literal["fifo", "lifo", "hifo", "min_tax"] = "fifo"
    short_term_rate: Annotated[float, Field(ge=0, lt=1)] = 0.37
    long_term_rate: Annotated[float, Field(ge=0, lt=1)] = 0.20
    long_term_after_days: Annotated[int, Field(ge=0)] = 365
    wash_sale_days: Annotated[int, Field(ge=0, le=366)] = 0
    # Tax-loss harvesting (engine/rebalancing/harvest.py): off without a threshold.
    harvest_loss_threshold: Annotated[float, Field(gt=0, lt=1)] | None = None
    substitutes: dict[str, str] = {}
