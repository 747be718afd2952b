"""`pcoord stress`: the standard stress set on a portfolio's holdings or proposed targets."""

from __future__ import annotations

import argparse

from engine.config import load_config
from engine.errors import ConfigError


def stress(args: argparse.Namespace) -> int:
    """Stress the portfolio's holdings (or proposed targets) with the standard scenario set."""
    from engine.events.store import SqlEventStore, default_database_url
    from engine.market.data import load_bundled, load_price_file
    from engine.risk.scenarios import StressError, parse_shock
    from engine.risk.stress import closes_through, standard_stress
    from engine.risk.stress_report import (
        format_table,
        last_prices,
        results_json,
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
    held = state.ledger.holdings_of(args.portfolio)
    foreign = sorted(set(held) - set(symbols))
    try:
        # Holdings are valued at the last close on or before the engine's date.
        prices_usd = last_prices(closes_through(history.close, history.dates, as_of))
        if foreign:
            raise StressError(f"held instruments {foreign} are not in the price history")
        weights, nav_usd = weights_from_holdings(
            state.ledger.shares_vector(args.portfolio, symbols),
            prices_usd,
            float(state.ledger.cash_usd(args.portfolio)),
        )
    except StressError as exc:
        raise ConfigError(f"stress: {exc}") from exc
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
    try:
        report = standard_stress(
            weights,
            history.close,
            history.dates,
            as_of,
            symbols=symbols,
            sectors=sectors,
            lookback_days=config.risk_lookback_days,
            window_days=args.window_days,
            own=[parse_shock(text, symbols, sectors) for text in args.shock],
            nav_usd=nav_usd,
        )
    except StressError as exc:
        raise ConfigError(f"stress: {exc}") from exc
    if args.json:
        print(
            results_json(
                report.results,
                portfolio=args.portfolio,
                basis=basis,
                as_of=as_of.isoformat(),
                nav_usd=nav_usd,
                gross_exposure=report.gross_exposure,
                net_exposure=report.net_exposure,
                covariance_days=report.covariance_days,
            )
        )
        return 0
    print(
        f"{args.portfolio}: stress of {basis} as of {as_of}, NAV USD {nav_usd:,.2f}, gross "
        f"{report.gross_exposure:.1%}, net {report.net_exposure:.1%} of NAV; VaR from "
        f"{report.covariance_days} daily returns"
    )
    print(format_table(report.results))
    return 0
