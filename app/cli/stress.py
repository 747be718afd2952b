"""`pcoord stress`: the standard stress set on a portfolio's holdings or proposed targets."""

from __future__ import annotations

import argparse

from engine.config import load_config
from engine.errors import ConfigError


def stress(args: argparse.Namespace) -> int:
    """Stress the portfolio's holdings (or proposed targets) with the standard scenario set."""
    from datetime import timedelta

    import numpy as np

    from engine.allocation.risk_models import scenario_risk
    from engine.events.store import SqlEventStore, default_database_url
    from engine.market.data import load_bundled, load_price_file
    from engine.risk.stress import (
        StressError,
        default_hypothetical,
        format_table,
        historical_scenarios,
        last_prices,
        parse_shock,
        results_json,
        run_stress,
        weights_from_holdings,
        weights_from_targets,
    )
    from engine.state.repository import StateRepository

    if args.window_days < 1:
        raise ConfigError(f"--window-days: {args.window_days} must be at least 1")
    config = load_config(args.config)
    if config.market.source == "simulated":
        raise ConfigError(
            "stress: [market] source 'simulated' has no price history to stress with; "
            "use 'bundled' or 'file'"
        )
    history = (
        load_price_file(config.market.path, config.market.adv_usd)  # type: ignore[arg-type]
        if config.market.source == "file"
        else load_bundled(config.market.adv_usd)
    )
    database_url = args.database_url or default_database_url()
    store = SqlEventStore.from_url(database_url, writable=False)
    try:
        state, _ = StateRepository(store).recover()
    finally:
        store.close()
    known = state.ledger.portfolio_ids
    if not known:
        raise ConfigError(
            f"stress: no engine state in {database_url}: run `pcoord serve` or `pcoord replay` "
            "first (or pass --database-url)"
        )
    if args.portfolio not in known:
        raise ConfigError(
            f"stress: unknown portfolio {args.portfolio!r}; known: {', '.join(sorted(known))}"
        )
    symbols = history.symbols
    sectors = tuple(instrument.sector for instrument in history.instruments)
    as_of = state.market_date or history.dates[-1]
    day = history.index_of(as_of + timedelta(days=1)) - 1  # the last trading day <= as_of
    if day < 1:
        raise ConfigError(f"stress: the price history starts after the engine's date {as_of}")
    held = state.ledger.holdings_of(args.portfolio)
    foreign = sorted(set(held) - set(symbols))
    if foreign:
        raise ConfigError(f"stress: held instruments {foreign} are not in the price history")
    prices_usd = last_prices(history.close[: day + 1])  # on or before the engine's date
    try:
        weights, nav_usd = weights_from_holdings(
            state.ledger.shares_vector(args.portfolio, symbols),
            prices_usd,
            float(state.ledger.cash_usd(args.portfolio)),
        )
    except StressError as exc:
        raise ConfigError(f"stress: {args.portfolio}: {exc}") from exc
    basis = "holdings"
    if args.proposed:
        targets = state.targets.get(args.portfolio)
        if not targets:
            raise ConfigError(
                f"stress: {args.portfolio} has no proposed allocation yet (no TargetWeightsSet)"
            )
        try:
            weights = weights_from_targets(targets, symbols)
        except StressError as exc:
            raise ConfigError(f"stress: {exc}") from exc
        basis = "proposed targets"
    lookback_days = min(config.risk.lookback_days or config.history_days - 1, day)
    # The engine's own estimate: instruments without a full history carry no estimated risk.
    risk = scenario_risk(history.close[: day + 1], lookback_days)
    if risk is None:
        raise ConfigError(f"stress: too little price history before {as_of} to estimate risk")
    covariance = risk.universe_covariance(len(symbols))
    return_days = len(risk.scenarios)
    try:
        own = [parse_shock(text, symbols, sectors) for text in args.shock]
    except StressError as exc:
        raise ConfigError(f"stress: {exc}") from exc
    held_symbols = [symbols[i] for i in np.flatnonzero(weights)]
    scenarios = (
        *historical_scenarios(history.close, history.dates, args.window_days, symbols=symbols),
        *default_hypothetical(sectors, instruments=held_symbols),
        *own,
    )
    results = run_stress(
        weights, scenarios, symbols=symbols, sectors=sectors, covariance=covariance, nav_usd=nav_usd
    )
    if args.json:
        print(
            results_json(
                results,
                portfolio=args.portfolio,
                basis=basis,
                as_of=as_of.isoformat(),
                nav_usd=nav_usd,
                gross_exposure=float(np.abs(weights).sum()),
                net_exposure=float(weights.sum()),
                covariance_days=return_days,
            )
        )
        return 0
    print(
        f"{args.portfolio}: stress of {basis} as of {as_of}, NAV USD {nav_usd:,.2f}, gross "
        f"{np.abs(weights).sum():.1%}, net {weights.sum():.1%} of NAV; VaR from {return_days} "
        "daily returns"
    )
    print(format_table(results))
    return 0
