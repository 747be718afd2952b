"""`pcoord bench-dashboard` at a small scale: two simulated browser sessions, each spending two
refresh ticks on every page of a real `pcoord serve` subprocess (the engine at full speed).

The run ends on tick counts (--laps), not on the clock; --seconds is only a ceiling. The speed
targets are not asserted here: they are figures for docs/benchmarks.md, not a pass/fail of CI.
"""

from __future__ import annotations

import contextlib
import io
import json
from datetime import date
from pathlib import Path

import pytest

from app.cli import main

SESSIONS = 2
DWELL_TICKS = 2


@pytest.fixture(scope="module")
def load_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, dict, str]:
    """One small run shared by the tests below: (exit status, the --json figures, the table)."""
    out = tmp_path_factory.mktemp("bench-dashboard") / "figures.json"
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        status = main(
            [
                "bench-dashboard",
                "--sessions",
                str(SESSIONS),
                "--dwell",
                str(DWELL_TICKS),
                "--laps",
                "1",
                "--seconds",
                "240",
                "--json",
                str(out),
            ]
        )
    figures = json.loads(Path(out).read_text()) if out.exists() else {}
    return status, figures, stdout.getvalue()


def test_every_page_of_the_navigation_is_visited_by_every_session(
    load_run: tuple[int, dict, str],
) -> None:
    status, figures, _text = load_run
    assert status == 0
    pages = {row["page"]: row for row in figures["pages"][:-1]}
    assert {"/", "/trades", "/risk", "/events"} <= set(pages)
    for page, row in pages.items():
        assert row["visits"] == SESSIONS, page
        assert row["ticks"] == SESSIONS * DWELL_TICKS, page


def test_every_callback_answered_and_was_measured(load_run: tuple[int, dict, str]) -> None:
    _status, figures, _text = load_run
    overall = figures["pages"][-1]
    assert overall["page"] == "all pages"
    assert overall["errors"] == 0 and figures["error_examples"] == []
    assert figures["chains_cut"] == 0
    assert figures["client_cpu_s"] > 0
    for row in figures["pages"]:
        page = row["page"]
        # Each page's own callbacks fire on opening it and again on its refresh ticks.
        assert row["requests"] >= SESSIONS * (1 + DWELL_TICKS), page
        assert 0 < row["p50_ms"] <= row["p95_ms"] <= row["max_ms"], page
        assert 0 < row["mean_kib"] <= row["max_kib"], page
        assert 0 < row["settle_mean_s"] <= row["settle_max_s"], page
        assert row["kib_per_tick"] > 0 and row["requests_per_tick"] >= 1, page
    assert overall["requests"] == sum(row["requests"] for row in figures["pages"][:-1])


def test_the_engine_ran_at_full_speed_and_the_server_log_was_read(
    load_run: tuple[int, dict, str],
) -> None:
    _status, figures, _text = load_run
    assert figures["engine_cycles"] > 0
    first_date, last_date = figures["market_dates"]
    assert first_date == "start" or date.fromisoformat(first_date) < date.fromisoformat(last_date)
    assert figures["queue_warnings"] >= 0 and figures["max_queue_depth"] >= 0
    assert (figures["queue_warnings"] == 0) == (figures["max_queue_depth"] == 0)


def test_the_table_ends_with_a_verdict_against_the_targets(
    load_run: tuple[int, dict, str],
) -> None:
    _status, figures, text = load_run
    assert "all pages" in text
    verdict = text.strip().splitlines()[-1]
    assert verdict == figures["verdict"]
    assert verdict.startswith(("targets MET", "targets NOT met"))
    assert "p95" in verdict and "queue warnings" in verdict and "KiB" in verdict
