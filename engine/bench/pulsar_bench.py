"""Pulsar transport benchmark: relay throughput, end-to-end latency, catch-up after an outage.

Uses a real broker (``scripts/pulsar.sh``) and the real store, relay and wire schema, with the
synthetic ledger history of the store benchmark in cycle-sized batches. Latency is from the
moment an append transaction returns to the moment a Failover subscriber on the portfolio topic
receives the event (one machine, one clock).
"""

from __future__ import annotations

import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pulsar

from engine.bench.store_bench import synthetic_cycles
from engine.events.pulsar_bus import WIRE_SCHEMA, OutboxRelay, PulsarSettings, from_record
from engine.events.store import SqlEventStore


def _percentiles_ms(samples_s: list[float]) -> dict[str, float]:
    values = np.asarray(samples_s) * 1000.0
    p50, p99 = np.percentile(values, [50, 99])
    return {"p50_ms": round(float(p50), 2), "p99_ms": round(float(p99), 2), "count": len(values)}


def run_pulsar_bench(
    service_url: str,
    workdir: Path,
    events: int = 200_000,
    latency_cycles: int = 300,
    cycles_per_second: float = 5.0,
    outage_seconds: float = 60.0,
    broker_script: Path | None = None,
    progress: Callable[[str], None] = print,
) -> dict[str, object]:
    settings = PulsarSettings(service_url, deployment=f"bench{uuid.uuid4().hex[:8]}")
    store = SqlEventStore.from_url(f"sqlite:///{workdir / 'pulsar-bench.db'}")
    generator = synthetic_cycles(portfolios=10)
    results: dict[str, object] = {
        "deployment": settings.deployment,
        "live_rate_events_per_second": round(cycles_per_second * 141, 1),
    }

    # 1. Throughput: a backlog in the store, relayed from scratch.
    written = 0
    while written < events:
        written += len(store.append(next(generator)))
    relay = OutboxRelay(store, settings)
    started = time.perf_counter()
    relay.start()
    if not relay.wait_until_published(store.last_seq(), 600):
        raise TimeoutError(f"relay did not publish {written} events in 600 s: {relay.last_error}")
    seconds = time.perf_counter() - started
    results["publish"] = {
        "events": written,
        "seconds": round(seconds, 2),
        "events_per_second": round(written / seconds, 1),
    }
    progress(f"publish: {results['publish']}")

    # 2. End-to-end latency, live, at a steady cycle rate.
    committed_at: dict[int, float] = {}
    latencies: list[float] = []
    lock = threading.Lock()

    def received(consumer: pulsar.Consumer, message: pulsar.Message) -> None:
        now = time.perf_counter()
        seq = from_record(message.value()).seq
        with lock:
            if seq in committed_at:
                latencies.append(now - committed_at[seq])
        consumer.acknowledge(message)

    client = pulsar.Client(service_url)
    client.subscribe(
        settings.topic("portfolio"),
        "latency",
        consumer_type=pulsar.ConsumerType.Failover,
        schema=WIRE_SCHEMA,
        initial_position=pulsar.InitialPosition.Latest,
        message_listener=received,
    )
    interval = 1.0 / cycles_per_second

    def append_cycles(count: int) -> None:
        next_due = time.perf_counter()
        for _ in range(count):
            stored = store.append(next(generator))
            now = time.perf_counter()
            with lock:
                committed_at.update((e.seq, now) for e in stored if e.portfolio_id)
            relay.notify()
            next_due += interval
            time.sleep(max(0.0, next_due - time.perf_counter()))

    append_cycles(latency_cycles)
    relay.wait_until_published(store.last_seq(), 60)
    time.sleep(1.0)
    with lock:
        results["end_to_end"] = _percentiles_ms(latencies)
    progress(f"end to end: {results['end_to_end']}")

    # 3. Catch-up after an outage: the broker stops while cycles keep coming.
    if broker_script is not None and outage_seconds > 0:
        subprocess.run(["bash", str(broker_script), "stop"], check=True, capture_output=True)
        append_cycles(int(outage_seconds * cycles_per_second))
        backlog = relay.lag
        subprocess.run(["bash", str(broker_script), "start"], check=True, capture_output=True)
        ready = time.perf_counter()
        if not relay.wait_until_published(store.last_seq(), 600):
            raise TimeoutError(f"relay did not catch up in 600 s: {relay.last_error}")
        results["outage"] = {
            "outage_s": outage_seconds,
            "backlog_events": backlog,
            "catch_up_s_after_broker_ready": round(time.perf_counter() - ready, 2),
        }
        progress(f"outage: {results['outage']}")
    relay.stop()
    client.close()
    store.close()
    return results
