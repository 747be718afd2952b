"""`pcoord signals quality` and `pcoord bench-signals` on the bundled data and a real store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import main


def test_quality_scores_every_view_once_its_horizon_has_passed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["signals", "quality", "--start", "2021-01-04", "--json", "--no-progress"])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    rows = {f"{r['source']}/{r['horizon']}": r for r in report["horizons"]}
    # Every stock has a price every day here, so each day's views are scored once the horizon
    # (in trading days) has passed, and the last views of each horizon are still waiting.
    cycles = report["cycles"]
    expected = {"momentum/1m": 21, "momentum/3m": 63, "momentum/6m": 126, "momentum/12m": 252}
    expected |= {"mean_reversion/1w": 5, "mean_reversion/1m": 21}
    assert {key: cycles - rows[key]["observations"] for key in expected} == expected
    for row in rows.values():
        assert -1 <= row["mean_ic"] <= 1 and 0 <= row["hit_rate"] <= 1
        assert row["coverage"] > 0.99  # a view of exactly zero strength has no confidence


def test_bench_signals_counts_what_it_sent_and_rejected(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'bench.db'}"
    size = ["--instruments", "100", "--sources", "2", "--rounds", "2"]
    code = main(["bench-signals", *size, "--database-url", url, "--json"])
    assert code == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["signals"] == 100 * 2 * 2
    assert figures["rejected"] == figures["signals"] // 50  # one malformed in fifty
    assert figures["pipeline_signals_per_second"] > 0 and figures["engine_signals_per_second"] > 0


def test_bench_signals_refuses_a_universe_too_small(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench-signals", "--instruments", "5"]) == 2
    assert "--instruments must be at least 20" in capsys.readouterr().err
