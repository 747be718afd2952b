"""Trade coordination benchmark: orders coordinated per second, 10 portfolios x 500 instruments.

The real engine on a simulated market (correlated prices, log-normal volumes): ``portfolios``
portfolios over the whole universe rebalancing every day, half on momentum and half on mean
reversion so that they often want opposite trades, sized signal-proportionally (long-only and
long/short alternately). Each cycle's ``orders`` stage makes every portfolio's orders (target minus
holdings, cash-feasible), crosses opposite orders across portfolios, plans each order's execution
(algorithm, schedule under the participation cap), ranks them and records them; the ``execution``
stage works them at the next close in blocks. Reported: orders coordinated per second of the
orders stage, and both stages' p50 / p95 latency.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from engine.assembly import build_engine
from engine.config import parse_config


@dataclass(frozen=True, slots=True)
class TradeBenchResult:
    instruments: int
    portfolios: int
    cycles: int
    orders: int
    fills: int
    crosses: int
    orders_stage_s: float
    orders_stage_ms_p50: float
    orders_stage_ms_p95: float
    execution_stage_ms_p50: float
    execution_stage_ms_p95: float

    @property
    def orders_per_second(self) -> float:
        return self.orders / self.orders_stage_s if self.orders_stage_s else 0.0

    def as_dict(self) -> dict[str, object]:
        return {
            "instruments": self.instruments,
            "portfolios": self.portfolios,
            "cycles": self.cycles,
            "orders": self.orders,
            "fills": self.fills,
            "crosses": self.crosses,
            "orders_per_second": round(self.orders_per_second, 1),
            "orders_stage_ms_p50": round(self.orders_stage_ms_p50, 3),
            "orders_stage_ms_p95": round(self.orders_stage_ms_p95, 3),
            "execution_stage_ms_p50": round(self.execution_stage_ms_p50, 3),
            "execution_stage_ms_p95": round(self.execution_stage_ms_p95, 3),
        }

    def format(self) -> str:
        return "\n".join(
            [
                f"trade coordination, {self.portfolios} portfolios x {self.instruments} "
                f"instruments, {self.cycles} daily cycles (real engine, SQLite event store)",
                f"  orders coordinated: {self.orders:,} ({self.orders_per_second:,.0f} orders/s "
                "of the orders stage: generation, crossing, planning, ranking, events)",
                f"  orders stage p50 {self.orders_stage_ms_p50:.1f} ms, "
                f"p95 {self.orders_stage_ms_p95:.1f} ms per cycle",
                f"  execution stage p50 {self.execution_stage_ms_p50:.1f} ms, "
                f"p95 {self.execution_stage_ms_p95:.1f} ms per cycle; {self.fills:,} fills, "
                f"{self.crosses:,} instruments crossed",
            ]
        )


def bench_config(instruments: int, portfolios: int, days: int) -> str:
    blocks = []
    for k in range(portfolios):
        source = "momentum" if k % 2 == 0 else "mean_reversion"
        long_short = k % 4 >= 2
        allocation = (
            "[portfolios.allocation]\nmax_short_weight = 0.01\ngross_exposure = 1.5\n"
            "net_exposure = [0.0, 0.2]\n"
            if long_short
            else ""
        )
        blocks.append(
            f'[[portfolios]]\nid = "p{k:02d}"\nname = "Bench {k}"\nsources = ["{source}"]\n'
            f'max_weight = 0.01\ninitial_cash_usd = "100000000"\n{allocation}'
        )
    return (
        'history_days = 80\n\n[market]\nsource = "simulated"\n'
        f"simulated_instruments = {instruments}\nsimulated_days = {days}\nseed = 3\n\n"
        "[sources.momentum]\nhorizons_days = [21, 63]\nskip_days = 1\n\n"
        "[sources.mean_reversion]\nlookbacks_days = [5]\nvolatility_days = 21\n\n"
        + "\n".join(blocks)
    )


def run_trade_bench(
    instruments: int = 500,
    portfolios: int = 10,
    cycles: int = 30,
    warmup: int = 5,
    on_cycle: Callable[[int], None] | None = None,
) -> TradeBenchResult:
    config = parse_config(bench_config(instruments, portfolios, cycles + warmup + 2), "bench")
    with tempfile.TemporaryDirectory(prefix="pcoord-trade-bench-") as scratch:
        parts = build_engine(config, f"sqlite:///{scratch}/bench.db")
        coordinator = parts.coordinator
        coordinator.start({"mode": "bench"})
        orders_ms, execution_ms = [], []
        orders = fills = 0
        for k, tick in enumerate(coordinator.resume(parts.feed)):
            before_orders = sum(coordinator.orders_total.values())
            report = coordinator.run_cycle(tick)
            if report.error:
                raise RuntimeError(f"trade bench: cycle {report.cycle} failed: {report.error}")
            if k >= warmup:
                orders += sum(coordinator.orders_total.values()) - before_orders
                fills += report.fills
                orders_ms.append(report.stage_ms.get("orders", 0.0))
                execution_ms.append(report.stage_ms.get("execution", 0.0))
            if on_cycle is not None:
                on_cycle(k + 1)
            if len(orders_ms) >= cycles:
                break
        crosses = sum(
            1
            for event in parts.store.query(event_type="CrossExecuted", limit=1_000_000)
            if event.payload["quantity_shares"]
        )
        parts.store.close()
    return TradeBenchResult(
        instruments,
        portfolios,
        len(orders_ms),
        orders,
        fills,
        crosses,
        sum(orders_ms) / 1000.0,
        float(np.percentile(orders_ms, 50)),
        float(np.percentile(orders_ms, 95)),
        float(np.percentile(execution_ms, 50)),
        float(np.percentile(execution_ms, 95)),
    )
