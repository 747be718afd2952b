"""`pcoord report` on a replay's event store: its figures equal the replay's metrics.json, a date
range opens at the close before it, and bad requests are refused with the reason."""

from __future__ import annotations

import csv
import html
import json
import re
import sqlite3
from datetime import date
from pathlib import Path

import pytest

from app.cli import main
from components.performance_tables import METRIC_ROWS


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("replay")
    args = ["replay", "--start", "2019-01-02", "--end", "2019-12-31", "--out", str(out)]
    assert main([*args, "--no-progress"]) == 0
    return out


def _report(replayed: Path, out: Path, *extra: str) -> int:
    database = f"sqlite:///{replayed / 'events.db'}"
    return main(["report", "--database-url", database, "--out", str(out), "--no-progress", *extra])


def _cells(page: str) -> dict[str, float]:
    return {
        html.unescape(key): float(value)
        for value, key in re.findall(r"data-value='([^']+)' data-key='([^']+)'", page)
    }


def _embedded(page: str) -> dict:
    found = re.search(r"<script type='application/json' id='metrics'>(.*?)</script>", page)
    assert found is not None
    return json.loads(found.group(1))


def test_the_tear_sheet_shows_the_replays_figures(replayed: Path, tmp_path: Path) -> None:
    out = tmp_path / "sheet.html"
    assert _report(replayed, out, "--all") == 0
    page = out.read_text()
    cells = _cells(page)
    metrics = json.loads((replayed / "metrics.json").read_text())
    checked = 0
    for pid, entry in metrics["portfolios"].items():
        for key, _, _ in METRIC_ROWS:
            expected = entry["metrics"]
            for part in key.split("."):
                expected = expected[part]
            if expected is None:
                continue
            assert cells[f"{pid}.{key}"] == pytest.approx(expected, rel=1e-12, abs=1e-15), key
            checked += 1
        for sector, row in entry["sector_attribution"]["sectors"].items():
            assert cells[f"{pid}.sector.{sector}.total"] == pytest.approx(row["total"], abs=1e-15)
        factors = entry["factor_attribution"]
        assert cells[f"{pid}.factor.all factors"] == pytest.approx(factors["factor_total"])
        assert cells[f"{pid}.factor.specific to the names"] == pytest.approx(factors["specific"])
        for label, row in entry["source_attribution"]["views"].items():
            assert cells[f"{pid}.source.{label}.pnl_usd"] == pytest.approx(row["pnl_usd"])
        for label, value in entry["decision_attribution"]["decisions"].items():
            assert cells[f"{pid}.decision.{label}"] == pytest.approx(value, abs=1e-15)
    trend = metrics["portfolios"]["balanced"]["sleeve_attribution"]["sleeves"]["trend"]
    assert cells["balanced.sleeve.trend.contribution"] == pytest.approx(trend["contribution"])
    assert checked >= 4 * 16
    # Plotly itself is inside (no script is loaded from elsewhere): the page needs no network.
    assert re.search(r"<script[^>]*\bsrc=", page) is None
    assert page.count("Plotly.newPlot") == 5 + 4 * 3
    with (tmp_path / "sheet-csv" / "metrics.csv").open() as handle:
        rows = {row["portfolio"]: row for row in csv.DictReader(handle)}
    assert set(rows) == set(metrics["portfolios"])
    assert float(rows["growth"]["sharpe"]) == pytest.approx(
        metrics["portfolios"]["growth"]["metrics"]["sharpe"], rel=1e-12
    )
    gates = {g["name"]: g for g in _embedded(page)["coordination"]["gates"]}
    assert gates["cycles without error"]["value"] == 1.0
    # Each cycle's time as its CycleCompleted recorded it: every cycle of the year is timed.
    within = gates["cycles within 200 ms"]
    assert within["basis"] == "252 cycles as their events recorded (before the append)"
    assert 0.0 <= within["value"] <= 1.0


def test_a_date_range_opens_at_the_close_before_it(replayed: Path, tmp_path: Path) -> None:
    out = tmp_path / "q3.html"
    assert (
        _report(
            replayed, out, "--portfolio", "growth", "--from", "2019-07-01", "--to", "2019-09-30"
        )
        == 0
    )
    metrics = _embedded(out.read_text())
    entry = metrics["portfolios"]["growth"]["metrics"]
    with (replayed / "nav.csv").open() as handle:
        nav = {
            row["date"]: float(row["nav_usd"])
            for row in csv.DictReader(handle)
            if row["portfolio"] == "growth"
        }
    days = sorted(nav)
    inside = [d for d in days if "2019-07-01" <= d <= "2019-09-30"]
    before = max(d for d in days if d < "2019-07-01")
    assert (entry["first_day"], entry["last_day"]) == (inside[0], inside[-1])
    assert entry["total_return"] == pytest.approx(nav[inside[-1]] / nav[before] - 1, rel=1e-12)
    assert list(metrics["portfolios"]) == ["growth"]
    by_portfolio = metrics["execution_quality"]["by_portfolio"]
    assert {row["portfolio"] for row in by_portfolio} <= {"growth"}
    # The engine's figures cover the cycles of the range. A rejected order carries no market
    # date: it is its cycle's, the next CycleCompleted's (counted here in SQL).
    coordination = metrics["coordination"]
    gates = {g["name"]: g for g in coordination["gates"]}
    assert gates["cycles without error"]["basis"] == f"{len(inside)} cycles"
    with sqlite3.connect(replayed / "events.db") as db:
        (rejected,) = db.execute(
            "SELECT COUNT(*) FROM events r WHERE r.type = 'OrderRejected' AND ("
            " SELECT json_extract(c.payload, '$.market_date') FROM events c"
            " WHERE c.type = 'CycleCompleted' AND c.seq > r.seq ORDER BY c.seq LIMIT 1"
            ") BETWEEN '2019-07-01' AND '2019-09-30'"
        ).fetchone()
    assert coordination["orders_rejected"] == rejected


def test_bad_requests_are_refused_with_the_reason(
    replayed: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _report(replayed, tmp_path / "x.html", "--portfolio", "nope") == 2
    assert "--portfolio: nope not in the configuration" in capsys.readouterr().err
    assert (
        _report(
            replayed, tmp_path / "x.html", "--all", "--from", "2019-05-01", "--to", "2019-04-01"
        )
        == 2
    )
    assert "--from 2019-05-01 is after --to 2019-04-01" in capsys.readouterr().err
    assert _report(replayed, tmp_path / "x.html", "--all", "--from", "2021-01-01") == 2
    assert "no portfolio has two days of NAV in the range" in capsys.readouterr().err
    assert not (tmp_path / "x.html").exists()


def test_the_performance_read_model_answers_as_the_report(replayed: Path) -> None:
    from engine.config import load_config
    from engine.events.store import SqlEventStore
    from engine.market.data import load_bundled
    from engine.views.performance import PerformanceReadModel

    config = load_config()
    store = SqlEventStore.from_url(f"sqlite:///{replayed / 'events.db'}", writable=False)
    try:
        model = PerformanceReadModel(store, config, load_bundled(config.market.adv_usd))
        assert model.available
        assert model.date_range() == (date(2019, 1, 2), date(2019, 12, 31))
        report = model.report(["growth", "defensive"], date(2019, 3, 1), None)
        assert report is not None
        # Asked again with nothing new in the log: the same report, not measured again.
        assert model.report(["growth", "defensive"], date(2019, 3, 1), None) is report
        metrics = json.loads((replayed / "metrics.json").read_text())
        whole = model.report(["growth"], None, None, refresh=False)
        assert whole is not None
        # The same log and the same code: the figures are equal, not merely close.
        assert (
            whole.metrics["portfolios"]["growth"]["metrics"]
            == (metrics["portfolios"]["growth"]["metrics"])
        )
        assert [a.run.portfolio.id for a in report.analyses] == ["growth", "defensive"]
        assert PerformanceReadModel(store, config, None).report(["growth"], None, None) is None
    finally:
        store.close()
