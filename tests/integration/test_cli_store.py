"""`pcoord` against event stores that are missing, mistyped, unreachable or being written to:
readers create nothing, errors are one line that names the store, and `check` gives a live store
the same verdict as a stopped one."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from app.cli import main
from engine.events.store import SqlEventStore
from engine.snapshot import EngineStatus
from engine.state.consistency import check_consistency
from engine.state.repository import StateRepository
from tests.support import SIMULATED_CONFIG, eventually

REPO = Path(__file__).resolve().parents[2]
READERS = (
    ["check"],
    ["events", "--limit", "5"],
    ["stress", "--portfolio", "alpha"],
)


@pytest.mark.parametrize("command", READERS, ids=lambda c: c[0])
def test_a_reader_given_a_missing_sqlite_file_says_so_and_creates_nothing(
    command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "no-such.db"
    assert main([*command, "--database-url", f"sqlite:///{missing}"]) == 2
    error = capsys.readouterr().err
    assert f"no event store at {missing}" in error
    assert not missing.exists()
    assert list(tmp_path.iterdir()) == []


def test_a_file_that_holds_no_event_log_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "other.db"
    with create_engine(f"sqlite:///{other}").begin() as connection:
        connection.execute(text("CREATE TABLE notes (body TEXT)"))
    assert main(["check", "--database-url", f"sqlite:///{other}"]) == 2
    assert "holds no event log" in capsys.readouterr().err
    assert not inspect(create_engine(f"sqlite:///{other}")).has_table("events")


def test_not_a_url_is_one_line_without_a_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["events", "--database-url", "notaurl"]) == 2
    error = capsys.readouterr().err
    assert error.strip().splitlines() == [
        "pcoord: 'notaurl' is not a database URL (for example sqlite:///var/pcoord.db or "
        "postgresql+psycopg://user@host:5432/pcoord)"
    ]


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # nothing listens there once the probe closes


def test_an_unreachable_server_names_the_url_without_its_password(
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = f"postgresql+psycopg://risk:s3cret@127.0.0.1:{_closed_port()}/pcoord"
    assert main(["check", "--database-url", url]) == 2
    error = capsys.readouterr().err
    [line] = error.strip().splitlines()
    assert line.startswith("pcoord: cannot open the event store at postgresql+psycopg://risk:***@")
    assert "refused" in line.lower()
    assert "s3cret" not in error


def test_verbose_adds_the_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-v", "events", "--database-url", "notaurl"]) == 2
    error = capsys.readouterr().err
    assert "Traceback" in error and "StoreError" in error


def test_help_loads_no_heavy_library() -> None:
    """`pcoord --help` must answer at once: the parser imports none of the engine's libraries."""
    probe = (
        "import sys; import app.cli; "
        "print(sorted(m for m in ('cvxpy', 'pandas', 'numpy', 'scipy', 'sqlalchemy', 'dash') "
        "if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert loaded.stdout.strip() == "[]"
    shown = subprocess.run(
        [sys.executable, "-m", "app.cli", "events", "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "--database-url" in shown.stdout


def test_an_older_store_gets_the_reader_indexes_when_an_engine_opens_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    SqlEventStore.from_url(url).close()
    engine = create_engine(url)
    with engine.begin() as connection:
        for name in ("ix_events_type_seq", "ix_events_portfolio_seq"):
            connection.execute(text(f"DROP INDEX {name}"))
    reader = SqlEventStore.from_url(url, writable=False)
    reader.close()
    assert "ix_events_type_seq" not in {i["name"] for i in inspect(engine).get_indexes("events")}
    SqlEventStore.from_url(url).close()
    names = {index["name"] for index in inspect(engine).get_indexes("events")}
    assert {"ix_events_type_seq", "ix_events_portfolio_seq"} <= names


def test_check_on_a_store_being_written_is_consistent_every_time(database_url: str) -> None:
    """A running engine appends cycle after cycle while `check` reads: each check sees one moment
    of the store, so none reports a projection ahead of or behind the events it read."""
    from app.runtime import build_runtime
    from engine.config import parse_config

    config = parse_config(SIMULATED_CONFIG.format(days=400, speed=1000, snapshot_every=400))
    runtime = build_runtime(database_url=database_url, config=config)
    runtime.runner.start()
    reader = SqlEventStore.from_url(database_url, writable=False)
    try:
        assert eventually(lambda: runtime.runner.snapshot().cycles_completed >= 5, 60)
        first_cycle = runtime.runner.snapshot().cycles_completed
        verdicts = []
        # Check again and again until the engine has moved on by 20 cycles meanwhile.
        while len(verdicts) < 3 or runtime.runner.snapshot().cycles_completed < first_cycle + 20:
            report = check_consistency(StateRepository(reader))
            verdicts.append((report.events_checked, report.describe()))
            assert report.consistent, report.describe()
            if runtime.runner.snapshot().status is EngineStatus.FINISHED:
                break
        checked = [count for count, _ in verdicts]
        assert checked == sorted(checked) and checked[0] < checked[-1], "the store did not grow"
    finally:
        runtime.runner.stop()
        runtime.bus.close()
        runtime.store.close()
        reader.close()
