"""The replay clock under control: step, jump, restart from a date, pause with a reason.

A small bundled-history engine (one portfolio, six names, 2008) runs in the background runner;
tests wait on published snapshots and command replies, never on wall time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from engine.assembly import EngineParts, build_engine
from engine.commands import JumpTo, Pause, RestartFrom, Resume, SetSpeed, Step
from engine.config import AppConfig, parse_config
from engine.coordinator import Coordinator, CoordinatorRunner
from engine.market.data import load_bundled
from engine.model import MarketTick
from engine.snapshot import EngineStatus

CONFIG = """
speed_days_per_second = 5
history_days = 60

[market]
source = "bundled"
start = 2008-01-02
end = 2008-06-30

[sources.momentum]
horizons_days = [5, 20]
skip_days = 1

[[portfolios]]
id = "alpha"
name = "Alpha"
sources = ["momentum"]
universe = ["AAPL", "JPM", "XOM", "KO", "MSFT", "PG"]
max_weight = 0.3
initial_cash_usd = "100000"
"""

REPLY_S = 30.0


@pytest.fixture(scope="module")
def config() -> AppConfig:
    return parse_config(CONFIG, "clock test config")


@pytest.fixture(scope="module")
def trading_days() -> tuple[date, ...]:
    dates = load_bundled(5e8).dates
    return tuple(d for d in dates if date(2008, 1, 2) <= d <= date(2008, 6, 30))


def make_runner(config: AppConfig, url: str, paused: bool = True) -> CoordinatorRunner:
    parts = build_engine(config, url)

    def rebuild() -> tuple[Coordinator, Iterator[MarketTick]]:
        fresh = build_engine(config, url, store=parts.store, bus=parts.bus)
        return fresh.coordinator, fresh.coordinator.resume(fresh.feed)

    return CoordinatorRunner(
        parts.coordinator,
        parts.coordinator.resume(parts.feed),
        speed_days_per_second=5,
        start_paused=paused,
        rebuild=rebuild,
    )


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'events.db'}"


@pytest.fixture
def runner(config: AppConfig, url: str) -> Iterator[CoordinatorRunner]:
    runner = make_runner(config, url)
    runner.start()
    yield runner
    runner.stop()
    assert not runner.is_alive()


def answer(runner: CoordinatorRunner, command: Step | JumpTo | RestartFrom | Pause) -> dict:
    runner.submit(command)
    return command.reply.result(timeout=REPLY_S)


def applied(parts_store, command: str) -> list[dict]:  # type: ignore[no-untyped-def]
    return [
        e.payload
        for e in reversed(parts_store.query(event_type="CommandApplied", limit=1000))
        if e.payload["command"] == command
    ]


def test_step_runs_exactly_one_trading_day_while_paused(
    runner: CoordinatorRunner, trading_days: tuple[date, ...]
) -> None:
    answer(runner, JumpTo("pm", "get going", market_date=trading_days[4]))
    assert runner.wait_for(lambda s: s.status is EngineStatus.PAUSED, REPLY_S)
    before = runner.snapshot()
    assert before.market_date == trading_days[4]

    step = Step("pm", "look at the next close")
    reply = answer(runner, step)
    assert reply["status"] == "paused"
    assert runner.wait_for_cycles(before.cycles_completed + 1, REPLY_S)
    after = runner.snapshot()
    assert after.market_date == trading_days[5]
    assert after.status is EngineStatus.PAUSED
    # No second cycle follows: the next step is the next command's.
    assert not runner.wait_for_cycles(before.cycles_completed + 2, timeout_s=0.3)

    store = runner.coordinator.repository.store
    (event,) = store.query(event_type="CommandApplied", limit=1)
    assert event.seq == step.reply.seq
    assert (event.actor, event.payload) == (
        "pm",
        {"command": "Step", "reason": "look at the next close"},
    )


def test_step_while_running_is_refused_and_not_recorded(config: AppConfig, url: str) -> None:
    runner = make_runner(config, url, paused=False)
    runner.start()
    try:
        assert runner.wait_for(lambda s: s.status is EngineStatus.RUNNING, REPLY_S)
        step = Step("pm", "one more day")
        runner.submit(step)
        with pytest.raises(ValueError, match=r"Step: the clock is running; pause it first"):
            step.reply.result(timeout=REPLY_S)
        assert applied(runner.coordinator.repository.store, "Step") == []
    finally:
        runner.stop()


def test_jump_runs_every_day_to_the_date_at_full_speed_then_pauses(
    runner: CoordinatorRunner, trading_days: tuple[date, ...]
) -> None:
    # 5 days a second would take 8 s to reach day 40; the jump does not wait for the pace.
    target = trading_days[40]
    jump = JumpTo("pm", "to the spring", market_date=target)
    reply = answer(runner, jump)
    assert reply["run_until"] == target.isoformat()
    assert runner.wait_for(lambda s: s.status is EngineStatus.PAUSED, REPLY_S)
    snapshot = runner.snapshot()
    assert snapshot.market_date == target
    assert snapshot.cycles_completed == 41  # every trading day ran, none skipped
    assert applied(runner.coordinator.repository.store, "JumpTo") == [
        {"command": "JumpTo", "reason": "to the spring", "market_date": target.isoformat()}
    ]


def test_a_jump_to_a_day_without_trading_stops_on_the_next_trading_day(
    runner: CoordinatorRunner,
) -> None:
    answer(runner, JumpTo("pm", "weekend", market_date=date(2008, 1, 12)))  # a Saturday
    assert runner.wait_for(lambda s: s.status is EngineStatus.PAUSED, REPLY_S)
    assert runner.snapshot().market_date == date(2008, 1, 14)


def test_jumps_that_make_no_sense_are_refused_naming_the_field(
    runner: CoordinatorRunner, trading_days: tuple[date, ...]
) -> None:
    answer(runner, JumpTo("pm", "start", market_date=trading_days[3]))
    assert runner.wait_for(lambda s: s.status is EngineStatus.PAUSED, REPLY_S)

    back = JumpTo("pm", "back", market_date=trading_days[1])
    runner.submit(back)
    with pytest.raises(ValueError, match=r"JumpTo.market_date: .* is not after the market date"):
        back.reply.result(timeout=REPLY_S)
    late = JumpTo("pm", "late", market_date=date(2009, 1, 2))
    runner.submit(late)
    with pytest.raises(
        ValueError, match=r"JumpTo.market_date: 2009-01-02 is after .* \(2008-06-30"
    ):
        late.reply.result(timeout=REPLY_S)
    assert runner.snapshot().market_date == trading_days[3]


def test_every_clock_command_needs_a_reason() -> None:
    for make in (Pause, Resume, Step):
        with pytest.raises(ValueError, match=rf"{make.__name__}.reason: say why"):
            make("pm", "  ")
    with pytest.raises(ValueError, match=r"SetSpeed.reason: say why"):
        SetSpeed("pm", "", days_per_second=2)
    with pytest.raises(ValueError, match=r"JumpTo.reason: say why"):
        JumpTo("pm", "", market_date=date(2008, 3, 3))
    with pytest.raises(ValueError, match=r"RestartFrom.market_date: give the market date"):
        RestartFrom("pm", "again")


def test_pause_answers_with_the_clock_and_its_event(runner: CoordinatorRunner) -> None:
    runner.submit(Resume("pm", "run"))
    assert runner.wait_for_cycles(1, REPLY_S)
    pause = Pause("pm", "read the fills")
    assert answer(runner, pause)["status"] == "paused"
    assert pause.reply.seq is not None and pause.reply.seq > 0
    assert applied(runner.coordinator.repository.store, "Pause")[-1]["reason"] == "read the fills"


# -- restart from a date --------------------------------------------------------------------


def fresh_replay(config: AppConfig, url: str, start: date, cycles: int) -> EngineParts:
    """An engine on a new store whose replay starts on ``start``: what a restart must equal."""
    parts = build_engine(config, url, start=start)
    for k, tick in enumerate(parts.coordinator.resume(parts.feed)):
        if k == cycles:
            break
        parts.coordinator.run_cycle(tick)
    return parts


def test_restart_from_a_date_equals_a_fresh_replay_from_it_and_recovers_the_same(
    config: AppConfig, url: str, tmp_path: Path, trading_days: tuple[date, ...]
) -> None:
    runner = make_runner(config, url)
    runner.start()
    try:
        answer(runner, JumpTo("pm", "trade a while", market_date=trading_days[60]))
        assert runner.wait_for(lambda s: s.market_date == trading_days[60], REPLY_S)
        assert sum(runner.coordinator.fills_total.values()) > 0

        restart = RestartFrom("pm", "replay the spring again", market_date=trading_days[20])
        reply = answer(runner, restart)
        assert reply["restarted_from"] == trading_days[20].isoformat()
        assert reply["previous_market_date"] == trading_days[60].isoformat()
        restarted = runner.snapshot()
        assert restarted.cycles_completed == 0
        assert [p.nav_usd for p in restarted.portfolios] == [100_000]

        answer(runner, JumpTo("pm", "run the restarted replay", market_date=trading_days[45]))
        assert runner.wait_for(
            lambda s: s.status is EngineStatus.PAUSED and s.market_date == trading_days[45],
            REPLY_S,
        )
        live = runner.coordinator.state
    finally:
        runner.stop()

    expected = fresh_replay(
        config, f"sqlite:///{tmp_path / 'fresh.db'}", trading_days[20], cycles=26
    ).coordinator.state
    assert live.market_date == expected.market_date == trading_days[45]
    assert live.cycles_completed == expected.cycles_completed == 26
    assert live.ledger_digest() == expected.ledger_digest()
    assert list(live.nav_history["alpha"]) == list(expected.nav_history["alpha"])
    assert live.fills_total == expected.fills_total
    assert expected.fills_total["alpha"] > 0  # the comparison covers trading, not idle cash

    # After a crash the engine recovers exactly the restarted state, and its feed resumes the
    # restarted replay on the next day.
    recovered = build_engine(config, url)
    assert recovered.coordinator.state.to_dict() == live.to_dict()
    next_tick = next(iter(recovered.coordinator.resume(recovered.feed)))
    assert next_tick.timestamp == trading_days[46]
    projection = recovered.coordinator.repository.read_projection()
    assert projection["alpha"]["shares"] == {
        s: q for s, q in live.ledger.holdings_of("alpha").items() if q
    }


def test_a_restart_outside_the_data_is_refused(runner: CoordinatorRunner) -> None:
    early = RestartFrom("pm", "too early", market_date=date(1980, 1, 2))
    runner.submit(early)
    with pytest.raises(ValueError, match=r"RestartFrom.market_date: 1980-01-02 is before"):
        early.reply.result(timeout=REPLY_S)
    late = RestartFrom("pm", "too late", market_date=date(2008, 7, 1))
    runner.submit(late)
    with pytest.raises(ValueError, match=r"RestartFrom.market_date: 2008-07-01 is after"):
        late.reply.result(timeout=REPLY_S)
    assert applied(runner.coordinator.repository.store, "RestartFrom") == []
