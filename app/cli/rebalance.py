"""`pcoord rebalance compare`: rebalancing policies compared over history for one portfolio."""

from __future__ import annotations

import argparse
import csv
import json
import sys

from engine.config import load_config


def rebalance(args: argparse.Namespace) -> int:
    from engine.performance.latency import low_latency_gc
    from engine.rebalancing.compare import compare_policies

    config = load_config(args.config)
    policies = [p.strip() for p in args.policies.split(",") if p.strip()]
    args.out.mkdir(parents=True, exist_ok=True)

    def progress(policy: str) -> None:
        if not args.no_progress:
            print(f"replaying {args.portfolio} under {policy}...", file=sys.stderr)

    with low_latency_gc():
        results = compare_policies(
            config, args.portfolio, policies, args.out, args.start, args.end, args.band, progress
        )
    rows = [r.to_dict() for r in results]
    (args.out / "compare.json").write_text(json.dumps(rows, indent=2) + "\n")
    with (args.out / "compare.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(
        f"{'policy':<18}{'rebalances':>11}{'turnover/yr':>13}{'cost USD':>12}"
        f"{'gains USD':>13}{'tax USD':>11}{'TE bench':>10}{'TE target':>11}{'return/yr':>11}"
        f"{'harvests':>10}"
    )
    for r in results:
        print(
            f"{r.policy:<18}{r.rebalances:>11}{_x(r.annual_turnover):>13}{r.cost_usd:>12,.0f}"
            f"{r.realised_gains_usd:>13,.0f}{r.tax_usd:>11,.0f}{_pct(r.tracking_error):>10}"
            f"{_pct(r.tracking_error_to_target):>11}{_pct(r.annualised_return):>11}"
            f"{r.harvests:>10}"
        )
    print(f"replays and tables in {args.out} (compare.json, compare.csv)")
    return 0


def _x(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2%}"
