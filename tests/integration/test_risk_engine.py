"""Risk monitoring in the engine's cycle: every portfolio's exposures, VaR, CVaR and drawdown
from what it holds, kept for the dashboard and recorded as RiskMeasured events."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.assembly import build_engine
from engine.config import parse_config
from engine.snapshot import EngineStatus
from tests.support import SIGNALS_CONFIG


def test_each_cycle_measures_every_portfolios_risk_from_its_holdings(tmp_path: Path) -> None:
    text = SIGNALS_CONFIG.format(days=60, snapshot_every=20_000)
    parts = build_engine(parse_config(text, "test"), f"sqlite:///{tmp_path / 'e.db'}")
    coordinator = parts.coordinator
    coordinator.start({"mode": "test"})
    for tick in coordinator.resume(parts.feed):
        coordinator.run_cycle(tick)
    snapshot = coordinator.build_snapshot(EngineStatus.RUNNING, 1.0)
    views = {view.portfolio_id: view for view in snapshot.risk}
    assert set(views) == {"follow", "guarded"}
    for pid, view in views.items():
        # What it holds as fractions of NAV, worked out here from the ledger and the close.
        close = np.nan_to_num(coordinator.market.latest_close())
        shares = coordinator.ledger.shares_vector(pid, coordinator.universe.symbols)
        weights = shares * close / float(coordinator.ledger.nav_usd(pid))
        assert view.gross_exposure == pytest.approx(np.abs(weights).sum())
        assert view.net_exposure == pytest.approx(weights.sum())
        assert 0 < view.var_95_parametric < view.var_99_parametric < view.cvar_99_parametric
        assert view.var_99_historical <= view.cvar_99_historical
        assert sum(share for _, share in view.contributions) == pytest.approx(1.0)
        assert sum(share for _, share in view.sector_contributions) == pytest.approx(1.0)
        assert 0 <= view.drawdown <= view.max_drawdown < 1
        assert view.history and view.history[-1][1] == view.var_99_historical
        # Euler: the holdings' components add up to the portfolio's figures.
        rows = view.attribution
        assert {r.symbol for r in rows} == {
            coordinator.universe.symbols[i] for i in np.flatnonzero(weights)
        }
        assert sum(r.component_volatility for r in rows) == pytest.approx(view.volatility_annual)
        assert sum(r.component_var_99 for r in rows) == pytest.approx(view.var_99_parametric)
        assert sum(r.component_cvar_99_historical for r in rows) == pytest.approx(
            view.cvar_99_historical
        )
        for r in rows:
            assert r.component_var_99 == pytest.approx(r.weight * r.marginal_var_99)
    recorded = parts.store.query(event_type="RiskMeasured", limit=1000)
    assert len(recorded) == 2 * (coordinator.cycles_completed // 5)
    latest = next(e for e in recorded if e.portfolio_id == "guarded")
    assert latest.payload["var_99_parametric"] > 0
