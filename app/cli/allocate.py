"""`pcoord allocate`: weights from a price file with the engine's sizing models, one shot."""

from __future__ import annotations

import argparse
import sys


def allocate(args: argparse.Namespace) -> int:
    import csv

    from engine.allocation.one_shot import allocate_from_prices
    from engine.allocation.optimisers import Bounds, InfeasibleAllocation
    from engine.market.data import load_price_file

    history = load_price_file(args.prices)
    try:
        result = allocate_from_prices(
            history.symbols,
            history.close,
            args.method,
            args.risk_model,
            args.lookback_days,
            Bounds(args.invested, args.min_weight, args.max_weight, args.gross, args.net_floor),
            args.risk_aversion,
        )
    except (InfeasibleAllocation, ValueError) as exc:
        print(f"pcoord: allocate: {exc}", file=sys.stderr)
        return 2
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["symbol", "weight", "risk_contribution"])
        for symbol, weight, risk in zip(
            result.symbols, result.weights, result.risk_contributions, strict=True
        ):
            writer.writerow([symbol, f"{weight:.8f}", f"{risk:.8f}"])
        writer.writerow(["CASH", f"{result.cash_weight:.8f}", "0"])
    print(
        f"{result.method} on {len(result.symbols)} instruments ({result.observations} daily "
        f"returns, {result.risk_model} covariance): ex-ante volatility "
        f"{result.annual_volatility:.2%} a year, cash {result.cash_weight:.2%}; wrote {args.out}"
    )
    if result.left_out:
        print(f"left out, no full history in the window: {', '.join(result.left_out)}")
    return 0
