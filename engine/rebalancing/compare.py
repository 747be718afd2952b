"""Rebalancing policies compared over history: one portfolio replayed under each policy, the
same market, the same signals, and its turnover, trading cost, realised tax, tracking error (to
the benchmark and to its own targets) and return side by side (``pcoord rebalance compare``;
docs/rebalancing.md).

A policy is a name, optionally with ``+harvest``:

- ``calendar``: the portfolio's calendar (``rebalance_every_days``), no drift band;
- ``bands``: a drift band (``band``, of NAV, on each name) checked at every close, with a
  quarterly calendar so that a portfolio that never drifts is still rebalanced;
- ``cost_aware``: the calendar, with the no-trade region (engine/rebalancing/no_trade.py): a
  trade worth less over the time to the next rebalance (``rebalance_every_days``) than its
  cost and tax is not made;
- ``+harvest``: tax-loss harvesting too: lots 10% below cost, relieved highest cost first, a
  30-day wash-sale window, the proceeds kept in cash.

Everything else is the portfolio's own configuration; the other portfolios are left out of the
replays (they do not change this one's trades, and it runs faster alone).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from engine.config import AppConfig, PortfolioConfig
from engine.errors import ConfigError

BASES = ("calendar", "bands", "cost_aware")
HARVEST = "+harvest"
# The harvesting a "+harvest" policy adds.
HARVEST_RULES = {
    "lot_method": "hifo",
    "harvest_loss_threshold": 0.10,
    "wash_sale_days": 30,
}


@dataclass(frozen=True, slots=True)
class PolicyResult:
    policy: str
    rebalances: int
    annual_turnover: float | None
    cost_usd: float
    realised_gains_usd: float
    tax_usd: float
    tracking_error: float | None  # to the benchmark
    tracking_error_to_target: float | None
    annualised_return: float | None
    harvests: int

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def check_policies(policies: Sequence[str], option: str = "--policies") -> None:
    """Refuses an unknown policy, naming it, the option that gave it and the known ones."""
    known = [*BASES, *(base + HARVEST for base in BASES)]
    unknown = [p for p in policies if p not in known]
    if unknown:
        raise ConfigError(f"{option}: {', '.join(unknown)} not one of {', '.join(known)}")
    if not policies:
        raise ConfigError(f"{option}: name at least one policy")


def with_policy(portfolio: PortfolioConfig, policy: str, band: float) -> PortfolioConfig:
    """``portfolio``'s configuration under ``policy`` (module docstring)."""
    base = policy.removesuffix(HARVEST)
    rebalancing: dict[str, object] = {"calendar": "every_n_days", "drift_absolute": None}
    if base == "bands":
        rebalancing = {"calendar": "quarterly", "drift_absolute": band}
    elif base == "cost_aware":
        rebalancing["cost_aware"] = True
        rebalancing["horizon_days"] = portfolio.rebalance_every_days
    tax = portfolio.tax.model_copy(update=HARVEST_RULES) if policy.endswith(HARVEST) else None
    return portfolio.model_copy(
        update={
            "rebalancing": portfolio.rebalancing.model_copy(update=rebalancing),
            **({"tax": tax} if tax is not None else {}),
        }
    )


def _portfolio(config: AppConfig, portfolio_id: str, option: str) -> PortfolioConfig:
    for portfolio in config.portfolios:
        if portfolio.id == portfolio_id:
            return portfolio
    known = ", ".join(p.id for p in config.portfolios)
    raise ConfigError(f"{option}: {portfolio_id} not in the configuration ({known})")


def policy_config(config: AppConfig, portfolio_id: str, policy: str, band: float) -> AppConfig:
    """``config`` with only ``portfolio_id``, under ``policy`` (module docstring)."""
    portfolio = with_policy(_portfolio(config, portfolio_id, "--portfolio"), policy, band)
    return config.model_copy(update={"portfolios": (portfolio,)})


def policies_config(config: AppConfig, policies: Mapping[str, str], band: float) -> AppConfig:
    """``config`` with each portfolio named in ``policies`` under its policy, the others as
    configured (``pcoord replay --policy PORTFOLIO=POLICY``)."""
    for portfolio_id in policies:
        _portfolio(config, portfolio_id, "--policy")
    check_policies(list(policies.values()), "--policy")
    return config.model_copy(
        update={
            "portfolios": tuple(
                with_policy(p, policies[p.id], band) if p.id in policies else p
                for p in config.portfolios
            )
        }
    )


def compare_policies(
    config: AppConfig,
    portfolio_id: str,
    policies: Sequence[str],
    out_dir: Path,
    start: date | None = None,
    end: date | None = None,
    band: float = 0.05,
    progress: Callable[[str], None] | None = None,
) -> list[PolicyResult]:
    """Replays the portfolio under each policy into ``out_dir/<policy>/`` and reads back
    each one's figures (metrics.json and summary.json of the replay, its event log)."""
    from engine.assembly import build_engine
    from engine.replay import run_replay

    check_policies(policies)
    results = []
    for policy in policies:
        if progress is not None:
            progress(policy)
        run_dir = out_dir / policy.replace("+", "-")
        run_dir.mkdir(parents=True, exist_ok=True)
        for leftover in run_dir.glob("events.db*"):
            leftover.unlink()  # each comparison replays from the start
        url = f"sqlite:///{(run_dir / 'events.db').resolve()}"
        parts = build_engine(policy_config(config, portfolio_id, policy, band), url, start, end)
        try:
            run_replay(parts, run_dir)
            counts = {
                kind: len(parts.store.query(event_type=kind, limit=10_000_000))
                for kind in ("RebalanceTriggered", "TaxLossHarvested")
            }
        finally:
            parts.coordinator.close()
            parts.bus.close()
            parts.store.close()
        results.append(_result(policy, run_dir, portfolio_id, counts))
    return results


def _result(policy: str, run_dir: Path, pid: str, counts: dict[str, int]) -> PolicyResult:
    summary = json.loads((run_dir / "summary.json").read_text())
    entry = json.loads((run_dir / "metrics.json").read_text())["portfolios"][pid]
    metrics = entry.get("metrics") or {}
    by_year = entry.get("realised_gains_and_tax", {})
    gains = sum(
        (
            Decimal(y["short_term_gain_usd"]) + Decimal(y["long_term_gain_usd"])
            for y in by_year.values()
        ),
        Decimal(0),
    )
    tax = sum((Decimal(y["tax_usd"]) for y in by_year.values()), Decimal(0))
    return PolicyResult(
        policy,
        counts["RebalanceTriggered"],
        entry.get("annual_turnover"),
        float(summary["portfolios"][pid]["execution"]["cost_usd"]),
        float(gains),
        float(tax),
        metrics.get("tracking_error"),
        (entry.get("decision_attribution") or {}).get("tracking_error_to_target_annual"),
        metrics.get("annualised_return"),
        counts["TaxLossHarvested"],
    )
