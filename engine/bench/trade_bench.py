"""Trade coordination benchmark: orders coordinated per second, 10 portfolios x 500 instruments.

The real engine on a simulated market (correlated prices, log-normal volumes): ``portfolios``
portfolios over the whole universe rebalancing every day, half on momentum and half on mean
reversion so that they often want opposite trades, sized signal-proportionally (long-only and
long/short alternately). Each cycle's ``orders`` stage makes every portfolio's orders (target minus
holdings, cash-feasible), crosses opposite orders across portfolios, plans each order's execution
(algorithm, schedule under the participation cap), ranks them and records them; the ``execution``
stage works them at the next close in blocks. Between them the pre-trade risk gate checks every
order against a realistic limit set (position, sector, gross, net, order notional, orders per
cycle, volatility and VaR budgets), and the ``risk`` stage monitors every portfolio at each close
(exposures, volatility, VaR/CVaR, drawdown, limit utilisation, alerts; stress tests every fifth
close). Reported: orders coordinated per second (the ``orders``, ``gate`` and ``trades`` stages),
risk checks per second of the gate, and the p50 / p95 latency of each.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from engine.assembly import build_engine
from engine.config import parse_config
from engine.performance.latency import low_latency_gc


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
    orders_checked: int = 0
    gate_stage_s: float = 0.0
    gate_stage_ms_p50: float = 0.0
    gate_stage_ms_p95: float = 0.0
    risk_stage_ms_p50: float = 0.0
    risk_stage_ms_p95: float = 0.0

    @property
    def orders_per_second(self) -> float:
        return self.orders / self.orders_stage_s if self.orders_stage_s else 0.0

    @property
    def checks_per_second(self) -> float:
        return self.orders_checked / self.gate_stage_s if self.gate_stage_s else 0.0

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
            "orders_checked": self.orders_checked,
            "risk_checks_per_second": round(self.checks_per_second, 1),
            "gate_stage_ms_p50": round(self.gate_stage_ms_p50, 3),
            "gate_stage_ms_p95": round(self.gate_stage_ms_p95, 3),
            "risk_stage_ms_p50": round(self.risk_stage_ms_p50, 3),
            "risk_stage_ms_p95": round(self.risk_stage_ms_p95, 3),
        }

    def format(self) -> str:
        return "\n".join(
            [
                f"trade coordination, {self.portfolios} portfolios x {self.instruments} "
                f"instruments, {self.cycles} daily cycles (real engine, SQLite event store)",
                f"  orders coordinated: {self.orders:,} ({self.orders_per_second:,.0f} orders/s "
                "of generation, risk gate, crossing, planning, ranking and events)",
                f"  orders + gate + trades stages p50 {self.orders_stage_ms_p50:.1f} ms, "
                f"p95 {self.orders_stage_ms_p95:.1f} ms per cycle",
                f"  risk gate: {self.orders_checked:,} orders checked, "
                f"{self.checks_per_second:,.0f} checks/s; p50 {self.gate_stage_ms_p50:.1f} ms, "
                f"p95 {self.gate_stage_ms_p95:.1f} ms per cycle",
                f"  risk monitoring (risk stage): p50 {self.risk_stage_ms_p50:.1f} ms, "
                f"p95 {self.risk_stage_ms_p95:.1f} ms per cycle",
                f"  execution stage p50 {self.execution_stage_ms_p50:.1f} ms, "
                f"p95 {self.execution_stage_ms_p95:.1f} ms per cycle; {self.fills:,} fills, "
                f"{self.crosses:,} instruments crossed",
            ]
        )


def bench_config(instruments: int, portfolios: int, days: int, allocation: str = "") -> str:
    """The benchmark market and portfolios as config text: ``portfolios`` books over the whole
    simulated universe, alternately on momentum and mean reversion, every other pair long/short;
    ``allocation`` holds keys added to every portfolio's ``[portfolios.allocation]``."""
    blocks = []
    for k in range(portfolios):
        source = "momentum" if k % 2 == 0 else "mean_reversion"
        shorts = (
            "max_short_weight = 0.01\ngross_exposure = 1.5\nnet_exposure = [0.0, 0.2]\n"
            if k % 4 >= 2
            else ""
        )
        blocks.append(
            f'[[portfolios]]\nid = "p{k:02d}"\nname = "Bench {k}"\nsources = ["{source}"]\n'
            f'max_weight = 0.01\ninitial_cash_usd = "100000000"\n'
            f"[portfolios.allocation]\n{allocation}{shorts}"
        )
    return (
        'history_days = 80\n\n[market]\nsource = "simulated"\n'
        f"simulated_instruments = {instruments}\nsimulated_days = {days}\nseed = 3\n\n"
        "[sources.momentum]\nhorizons_days = [21, 63]\nskip_days = 1\n\n"
        "[sources.mean_reversion]\nlookbacks_days = [5]\nvolatility_days = 21\n\n"
        + "\n".join(blocks)
        + BENCH_LIMITS
    )


# Every kind of limit the gate checks per order or on the holdings, at levels that bind now and
# then, so the bench times the gate's slow paths as well as its fast one.
BENCH_LIMITS = """
[risk]
[[risk.limits]]
name = "max_position_weight"
value = 0.008
mode = "soft"

[[risk.limits]]
name = "sector_cap"
value = 0.12
mode = "soft"

[[risk.limits]]
name = "gross_exposure"
value = 1.6

[[risk.limits]]
name = "net_exposure"
value = 1.0
mode = "soft"

[[risk.limits]]
name = "max_order_notional_usd"
value = 1000000
mode = "soft"

[[risk.limits]]
name = "max_orders_per_cycle"
value = 100

[[risk.limits]]
name = "volatility"
value = 0.25
mode = "soft"

[[risk.limits]]
name = "var_99_historical"
value = 0.03
mode = "soft"

[[risk.limits]]
name = "max_drawdown"
value = 0.5
"""


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
        # As `pcoord serve` and `pcoord replay` run the engine.
        with low_latency_gc():
            orders_ms, execution_ms, gate_ms, risk_ms = [], [], [], []
            orders = fills = checked = 0
            for k, tick in enumerate(coordinator.resume(parts.feed)):
                before_orders = sum(coordinator.orders_total.values())
                report = coordinator.run_cycle(tick)
                if report.error:
                    raise RuntimeError(f"trade bench: cycle {report.cycle} failed: {report.error}")
                if k >= warmup:
                    orders += sum(coordinator.orders_total.values()) - before_orders
                    fills += report.fills
                    checked += report.orders_checked
                    stages = report.stage_ms
                    orders_ms.append(sum(stages.get(s, 0.0) for s in ("orders", "gate", "trades")))
                    execution_ms.append(stages.get("execution", 0.0))
                    gate_ms.append(stages.get("gate", 0.0))
                    risk_ms.append(stages.get("risk", 0.0))
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
        checked,
        sum(gate_ms) / 1000.0,
        float(np.percentile(gate_ms, 50)),
        float(np.percentile(gate_ms, 95)),
        float(np.percentile(risk_ms, 50)),
        float(np.percentile(risk_ms, 95)),
    )
