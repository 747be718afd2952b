"""`pcoord allocate`: weights from a user's price file with the engine's models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from app.cli import main
from engine.market.data import load_bundled


@pytest.fixture
def prices(tmp_path: Path) -> Path:
    """Two years of the bundled closes as a wide CSV, with one stock listed only recently."""
    history = load_bundled(5e8)
    frame = pd.DataFrame(history.close, index=pd.Index(history.dates, name="date"))
    frame.columns = list(history.symbols)
    frame = frame.loc[pd.Timestamp("2018-01-01").date() : pd.Timestamp("2019-12-31").date()]
    frame["NEWCO"] = np.nan
    frame.iloc[-50:, frame.columns.get_loc("NEWCO")] = 10.0
    path = tmp_path / "prices.csv"
    frame.to_csv(path)
    return path


def _weights(path: Path) -> pd.DataFrame:
    return pd.read_csv(path).set_index("symbol")


def test_risk_parity_weights_and_cash_sum_to_one_with_equal_risk(
    prices: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "w.csv"
    args = ["allocate", "--prices", str(prices), "--method", "risk_parity", "--invested", "0.9"]
    assert main([*args, "--out", str(out)]) == 0
    table = _weights(out)
    assert table["weight"].sum() == pytest.approx(1.0, abs=1e-6)
    assert table.loc["CASH", "weight"] == pytest.approx(0.1, abs=1e-6)
    risk = table.drop("CASH")["risk_contribution"]
    np.testing.assert_allclose(risk, 1 / 20, atol=1e-5)
    printed = capsys.readouterr().out
    assert "left out, no full history in the window: NEWCO" in printed
    assert "NEWCO" not in table.index


def test_mean_variance_respects_the_weight_cap(prices: Path, tmp_path: Path) -> None:
    out = tmp_path / "w.csv"
    args = ["allocate", "--prices", str(prices), "--method", "mean_variance", "--max-weight"]
    assert main([*args, "0.1", "--risk-aversion", "2", "--out", str(out)]) == 0
    weights = _weights(out).drop("CASH")["weight"]
    assert weights.max() <= 0.1 + 1e-6 and weights.sum() == pytest.approx(1.0, abs=1e-6)


def test_a_long_short_book_keeps_its_gross_and_net(prices: Path, tmp_path: Path) -> None:
    out = tmp_path / "w.csv"
    args = ["allocate", "--prices", str(prices), "--method", "mean_variance", "--out", str(out)]
    limits = ["--min-weight", "-0.05", "--max-weight", "0.1", "--invested", "0.1"]
    assert main([*args, *limits, "--net-floor", "0", "--gross", "1.2"]) == 0
    table = _weights(out)
    weights = table.drop("CASH")["weight"]
    assert weights.min() < 0 and weights.min() >= -0.05 - 1e-6
    assert weights.abs().sum() <= 1.2 + 1e-6 and -1e-6 <= weights.sum() <= 0.1 + 1e-6
    assert table["weight"].sum() == pytest.approx(1.0, abs=1e-6)  # cash holds the rest


def test_bounds_that_cannot_hold_are_explained(
    prices: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["allocate", "--prices", str(prices), "--method", "minimum_variance"]
    assert main([*args, "--max-weight", "0.02", "--out", str(tmp_path / "w.csv")]) == 2
    assert "max_weight 0.02 x 20 instruments = 0.4 cannot hold the invested 1" in (
        capsys.readouterr().err
    )


def test_bench_allocation_agrees_with_pyportfolioopt(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    args = ["bench-allocation", "--sizes", "30", "--cycles", "3", "--reference-cycles", "2"]
    assert main([*args, "--json"]) == 0
    (result,) = json.loads(capsys.readouterr().out)["pypfopt"]
    assert result["instruments"] == 30 and result["pypfopt_cycles"] == 2
    # Never worse than the reference by more than the reference strays outside the constraints.
    tolerance = 1e-6 + 10 * result["pypfopt_largest_constraint_violation"]
    assert result["largest_objective_gap_rel"] > -tolerance
    assert result["solve_ms_p50"] > 0 and result["pypfopt_over_ours"] > 0


def test_bench_allocation_compares_the_solvers_with_the_reference(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import json

    from engine.bench.solver_bench import REFERENCE, SOLVER_NAMES

    assert main(["bench-allocation", "--sizes", "25", "--cycles", "4", "--json"]) == 0
    captured = capsys.readouterr()
    figures = json.loads(captured.out)
    assert figures["pypfopt"] == []
    rows = {row["solver"]: row for row in figures["solvers"]}
    assert tuple(rows) == SOLVER_NAMES
    assert all(row["instruments"] == 25 and row["solves"] == 4 for row in rows.values())
    assert all(0 < row["ms_p50"] <= row["ms_p95"] for row in rows.values())
    assert rows[REFERENCE]["max_weight_diff"] is None
    # The engine's default answers within 1e-6 of the reference, itself, every time.
    assert rows["piqp direct"]["max_weight_diff"] <= 1e-6 and rows["piqp direct"]["failures"] == 0
    assert "solvers N=25: cycle 4/4" in captured.err
    # Without --json: the table, one line per solver.
    assert main(["bench-allocation", "--sizes", "25", "--cycles", "2"]) == 0
    table = capsys.readouterr().out
    assert "max |w - ref|" in table and all(name in table for name in SOLVER_NAMES)


def test_bench_allocation_refuses_a_universe_too_small(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench-allocation", "--sizes", "10"]) == 2
    assert "--sizes at least 20" in capsys.readouterr().err
