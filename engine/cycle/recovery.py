"""Recovery: what an engine checks and re-forms when it starts on a store that already holds a
history (the state itself is recovered by engine/state/repository.py).

- ``check_recovered_state``: the store and the configuration must agree (no portfolio or
  position the config or the market data does not know).
- ``catch_up``: the ticks up to the last completed cycle are not traded again; they only roll
  the price window and re-form the signal views whose quality is still being measured, with the
  external views accepted then, so the source weights carry on exactly where they were.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from engine.cycle.market import MarketStage
from engine.cycle.quality import QualityStage
from engine.cycle.signals import SignalsStage
from engine.errors import RecoveryError
from engine.events.store import SqlEventStore
from engine.model import MarketTick, Signal
from engine.signals.book import signal_from_payload
from engine.signals.horizons import MAX_HORIZON_DAYS
from engine.state.engine_state import EngineState


def check_recovered_state(
    state: EngineState, portfolio_ids: Iterable[str], symbols: Sequence[str]
) -> None:
    """Raise ``RecoveryError`` naming what the store holds that the configuration lacks."""
    stored = set(state.ledger.portfolio_ids)
    orphans = sorted(stored - set(portfolio_ids))
    if orphans:
        raise RecoveryError(
            f"the event store holds portfolios {orphans} that the config does not define; "
            "add them back to the config or use another database (--database-url)"
        )
    unknown = sorted({s for pid in stored for s in state.ledger.holdings_of(pid)} - set(symbols))
    if unknown:
        raise RecoveryError(
            f"the event store holds positions in {unknown}, which the market data does not "
            "have; use the market data the portfolios were built on"
        )


def accepted_external_by_cycle(
    store: SqlEventStore, cycles_completed: int, page_size: int = 5000, after_seq: int = 0
) -> dict[int, list[Signal]]:
    """External views accepted recently enough that their quality may still be measured, by
    the cycle they were accepted in, in the order they were accepted; only those stored after
    ``after_seq`` (a replay restart: cycle numbers start again there)."""
    first = cycles_completed - MAX_HORIZON_DAYS
    accepted: dict[int, list[Signal]] = {}
    before: int | None = None
    while True:
        page = store.query(event_type="SignalReceived", before_seq=before, limit=page_size)
        for event in page:
            cycle = int(event.payload["cycle"])
            if cycle < first or int(event.seq or 0) <= after_seq:
                page = []
                break
            accepted.setdefault(cycle, []).append(signal_from_payload(event.payload))
        if len(page) < page_size:
            break
        before = page[-1].seq
    return {cycle: signals[::-1] for cycle, signals in accepted.items()}


def catch_up(
    ticks: Iterable[MarketTick],
    state: EngineState,
    store: SqlEventStore,
    market: MarketStage,
    signals: SignalsStage,
    quality: QualityStage,
) -> Iterator[MarketTick]:
    """The ticks still to run, after re-forming what the ticks already run left behind."""
    done = state.market_date
    external = {}
    if done:
        restart = store.query(event_type="ReplayRestarted", limit=1)
        after_seq = int(restart[0].seq or 0) if restart else 0
        external = accepted_external_by_cycle(store, state.cycles_completed, after_seq=after_seq)
    cycle = 0
    index = market.universe.symbol_index
    for tick in ticks:
        if done is not None and tick.timestamp <= done:
            cycle += 1
            close = market.run(tick, state.ledger)
            if signals.ready(len(close.window)):
                batches = signals.model_views(close.window, tick.timestamp)
                quality.tracker.record_batches(cycle, batches, tick.close)
                quality.tracker.mature(cycle, tick.close)
            for signal in external.get(cycle, ()):
                quality.record_external(
                    cycle,
                    signal.source,
                    signal.horizon,
                    [index[signal.symbol]],
                    [signal.score],
                    tick.close,
                )
            continue
        yield tick
