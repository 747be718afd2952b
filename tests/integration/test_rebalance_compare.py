"""`pcoord rebalance compare`: one portfolio replayed under each policy, its figures side by side
and each one's own replay beside them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from app.cli import main
from engine.events.store import SqlEventStore


def test_policies_are_replayed_and_compared(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "cmp"
    args = ["rebalance", "compare", "--portfolio", "growth", "--out", str(out), "--no-progress"]
    window = ["--from", "2019-01-02", "--to", "2020-12-31"]
    assert main([*args, *window, "--policies", "calendar,cost_aware,bands+harvest"]) == 0
    printed = capsys.readouterr().out
    assert "calendar" in printed and "bands+harvest" in printed and "cost_aware" in printed
    rows = {row["policy"]: row for row in json.loads((out / "compare.json").read_text())}
    calendar, harvested = rows["calendar"], rows["bands+harvest"]
    # The no-trade region rebalances on the same days and holds back the costly trades.
    cost_aware = rows["cost_aware"]
    assert cost_aware["rebalances"] == calendar["rebalances"]
    assert cost_aware["annual_turnover"] < calendar["annual_turnover"]
    assert cost_aware["cost_usd"] < calendar["cost_usd"]
    # The calendar: every 10th cycle from the first over 505 trading days.
    summary = json.loads((out / "calendar" / "summary.json").read_text())
    assert calendar["rebalances"] == -(-summary["cycles"] // 10) == 51
    assert calendar["harvests"] == 0
    # The 2020 fall left lots 10% under cost: the harvesting policy harvested them.
    assert harvested["harvests"] > 0
    for policy, row in rows.items():
        run = out / policy.replace("+", "-")
        entry = json.loads((run / "metrics.json").read_text())["portfolios"]["growth"]
        assert list(json.loads((run / "summary.json").read_text())["portfolios"]) == ["growth"]
        assert row["tracking_error"] == entry["metrics"]["tracking_error"]
        decisions = entry["decision_attribution"]
        assert row["tracking_error_to_target"] == decisions["tracking_error_to_target_annual"]
        assert 0 < row["tracking_error_to_target"] < row["tracking_error"]
        assert row["annual_turnover"] == entry["annual_turnover"]
        assert row["tax_usd"] == sum(
            float(y["tax_usd"]) for y in entry["realised_gains_and_tax"].values()
        )
    assert (out / "compare.csv").read_text().startswith("policy,rebalances,")


def test_an_unknown_policy_or_portfolio_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["rebalance", "compare", "--out", str(tmp_path), "--no-progress"]
    assert main([*args, "--portfolio", "growth", "--policies", "calendar,weekly"]) == 2
    assert "--policies: weekly not one of calendar, bands, cost_aware" in capsys.readouterr().err
    assert main([*args, "--portfolio", "nope"]) == 2
    assert "--portfolio: nope not in the configuration" in capsys.readouterr().err


def test_a_replay_runs_each_portfolio_under_its_policy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], open_store: Callable[[str], SqlEventStore]
) -> None:
    out = tmp_path / "run"
    args = ["replay", "--out", str(out), "--no-progress", "--start", "2019-01-02"]
    args += ["--end", "2019-06-28", "--policy", "growth=cost_aware", "--policy", "balanced=bands"]
    args += ["--band", "0.01"]
    assert main(args) == 0
    assert "rebalancing policies: growth cost_aware, balanced bands" in capsys.readouterr().err
    store = open_store(f"sqlite:///{out / 'events.db'}")

    def triggers(pid: str) -> set[str]:
        events = store.query(portfolio_id=pid, event_type="RebalanceTriggered", limit=9_999)
        return {t["detail"] for e in events for t in e.payload["triggers"]}

    # balanced: the quarterly calendar and its 1% band; defensive as configured.
    assert "first trading day of the quarter" in triggers("balanced")
    assert any(d.endswith("(absolute band 1.00%)") for d in triggers("balanced"))
    assert triggers("defensive") == {"every 10 trading day(s)"}
    held = store.query(event_type="NoTradeRegionApplied", limit=9_999)
    assert held and {e.portfolio_id for e in held} == {"growth"}


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("growth", "--policy: 'growth' is not PORTFOLIO=POLICY"),
        ("nope=bands", "--policy: nope not in the configuration"),
        ("growth=weekly", "--policy: weekly not one of calendar, bands, cost_aware"),
    ],
)
def test_a_replay_refuses_a_policy_it_cannot_apply(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str, message: str
) -> None:
    args = ["replay", "--out", str(tmp_path), "--no-progress", "--policy", option]
    assert main(args) == 2
    assert message in capsys.readouterr().err
