"""The Risk page's pure builders, fed hand-made risk views: figures in percent of NAV, bars
ranked largest first with hedges shown, and an empty state before anything is measured; the risk
officer's pieces (trading state, limit utilisation, alerts, gate decisions, risk attribution,
stress, audit) and the limit form's starting values. The commands the forms send are in
test_risk_commands.py."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest

from callbacks.risk import (
    limit_of,
)
from callbacks.risk_parts import rendered_keys, risk_of, risk_summary
from components import ids
from components.colours import NEGATIVE, translucent
from components.risk import (
    alerts_table,
    gate_grid_columns,
    gate_grid_rows,
    gate_note,
    limit_amount,
    limit_form_values,
    limit_grid_columns,
    limit_grid_rows,
    limit_options,
    limit_value_help,
    trading_state_panel,
)
from components.risk_figures import (
    NO_RISK_YET,
    sector_exposure_figure,
    sleeve_contributions_figure,
    var_contributions_figure,
    var_history_figure,
)
from components.risk_tables import attribution_table, risk_audit_table, stress_table
from components.tables import PortfolioLabels, risk_figures
from engine.risk.limits import KINDS
from engine.snapshot import (
    EngineStatus,
    GateDecisionView,
    InstrumentRiskView,
    LimitView,
    PortfolioView,
    RiskAlertView,
    RiskAuditView,
    RiskView,
    StateSnapshot,
    StressView,
)
from tests.unit.component_tree import find, plotly_figure, shown_rows, text_of

COLOUR = "#0072B2"
MONDAY = date(2006, 3, 6)
TUESDAY = date(2006, 3, 7)


def _risk(**changes: Any) -> RiskView:
    view = RiskView(
        portfolio_id="growth",
        market_date=TUESDAY,
        gross_exposure=1.30,
        net_exposure=0.70,
        volatility_annual=0.1825,
        var_95_parametric=0.0187,
        var_99_parametric=0.0265,
        cvar_95_parametric=0.0235,
        cvar_99_parametric=0.0304,
        var_95_historical=0.0201,
        var_99_historical=0.0312,
        cvar_95_historical=0.0277,
        cvar_99_historical=0.0398,
        drawdown=0.0420,
        max_drawdown=0.1150,
        sector_exposures=(("Energy", -0.15), ("Technology", 0.55), ("Health", 0.30)),
        contributions=(("XOM", -0.10), ("AAPL", 0.65), ("JNJ", 0.20), ("MSFT", 0.25)),
        sector_contributions=(("Energy", -0.10), ("Technology", 0.90), ("Health", 0.20)),
        history=((MONDAY, 0.0290), (TUESDAY, 0.0312)),
    )
    return replace(view, **changes)


def _snapshot(risk: tuple[RiskView, ...], **changes: Any) -> StateSnapshot:
    portfolio = PortfolioView(
        portfolio_id="growth",
        name="Growth",
        sources=("momentum",),
        nav_usd=Decimal("10000.00"),
        cash_usd=Decimal("1000.00"),
        initial_nav_usd=Decimal("10000.00"),
        positions=(),
        target_cash_weight=0.02,
        nav_history=(),
        orders_total=0,
        fills_total=0,
    )
    snapshot = StateSnapshot(
        status=EngineStatus.RUNNING,
        speed_days_per_second=1.0,
        cycles_completed=2,
        market_date=TUESDAY,
        published_at=datetime(2006, 3, 7, 21, 0),
        instruments=(),
        portfolios=(portfolio, replace(portfolio, portfolio_id="income", name="Income")),
        risk=risk,
    )
    return replace(snapshot, **changes)


def _bars(figure: dict[str, Any]) -> list[tuple[str, float]]:
    bar = plotly_figure(figure).data[0]
    return [(label, round(value, 6)) for label, value in zip(bar.y, bar.x, strict=True)]


def _annotation(figure: dict[str, Any]) -> str | None:
    annotations = plotly_figure(figure).layout.annotations
    return annotations[0].text if annotations else None


# The figures card --------------------------------------------------------------------------------


def test_risk_card_shows_exposures_volatility_and_drawdowns_in_percent_of_nav() -> None:
    card = risk_figures(_risk())

    exposures, _ = find(card, "Table")
    assert shown_rows(exposures) == [
        "gross exposure|130.00%",
        "net exposure|70.00%",
        "volatility (annual)|18.25%",
        "drawdown now (252-day peak)|4.20%",
        "drawdown, deepest in 252 days|11.50%",
    ]
    assert "2006-03-07" in text_of(card)
    # The window and basis of the drawdown are named, as the max_drawdown limit measures it.
    assert "from the peak NAV of the last 252 trading days (daily closes)" in text_of(card)


def test_risk_card_sets_parametric_beside_historical_var_and_cvar_at_both_levels() -> None:
    _, losses = find(risk_figures(_risk()), "Table")

    assert [text_of(cell) for cell in find(find(losses, "Thead")[0], "Th")] == [
        "1-day loss",
        "parametric (% of NAV)",
        "historical (% of NAV)",
    ]
    assert shown_rows(losses) == [
        "VaR 95%|1.87%|2.01%",
        "VaR 99%|2.65%|3.12%",
        "CVaR 95%|2.35%|2.77%",
        "CVaR 99%|3.04%|3.98%",
    ]


def test_risk_card_before_any_measurement_says_so_and_shows_no_table() -> None:
    card = risk_figures(None)

    assert find(card, "Table") == []
    assert "No risk measured yet" in text_of(card)


# The bar charts ----------------------------------------------------------------------------------


def test_sector_exposure_bars_are_net_percent_of_nav_longest_first_shorts_kept() -> None:
    figure = sector_exposure_figure(_risk(), COLOUR)

    assert _bars(figure) == [("Technology", 55.0), ("Health", 30.0), ("Energy", -15.0)]
    layout = plotly_figure(figure).layout
    assert layout.xaxis.title.text == "net exposure (% of NAV)"
    assert layout.xaxis.ticksuffix == "%"
    assert _annotation(figure) is None


def test_var_contributions_rank_instruments_and_show_a_hedge_below_zero_faded() -> None:
    figure = var_contributions_figure(_risk(), COLOUR)

    bars = _bars(figure)
    assert bars == [("AAPL", 65.0), ("MSFT", 25.0), ("JNJ", 20.0), ("XOM", -10.0)]
    # Euler's shares add up to the whole VaR.
    assert sum(share for _, share in bars) == 100.0
    colours = list(plotly_figure(figure).data[0].marker.color)
    assert colours == [COLOUR, COLOUR, COLOUR, translucent(COLOUR, 0.45)]
    assert "99% VaR" in plotly_figure(figure).layout.xaxis.title.text


def test_var_contributions_by_sector_use_the_sector_shares() -> None:
    figure = var_contributions_figure(_risk(), COLOUR, by_sector=True)

    assert _bars(figure) == [("Technology", 90.0), ("Health", 20.0), ("Energy", -10.0)]
    assert plotly_figure(figure).layout.yaxis.title.text == "sector"


def test_bar_charts_before_any_measurement_are_empty_and_say_so() -> None:
    for figure in (
        sector_exposure_figure(None, COLOUR),
        var_contributions_figure(None, COLOUR),
        var_contributions_figure(None, COLOUR, by_sector=True),
    ):
        assert _bars(figure) == []
        assert _annotation(figure) == NO_RISK_YET == "No risk measured yet"


def test_bar_charts_of_a_portfolio_holding_nothing_say_nothing_is_held() -> None:
    flat = _risk(sector_exposures=(), contributions=(), sector_contributions=())

    assert _annotation(sector_exposure_figure(flat, COLOUR)) == "Nothing held"
    assert _annotation(var_contributions_figure(flat, COLOUR)) == "Nothing held"


# The VaR history ---------------------------------------------------------------------------------


def test_var_history_is_the_historical_99_var_per_market_date_in_percent() -> None:
    figure = plotly_figure(var_history_figure(_risk(), COLOUR))

    line = figure.data[0]
    assert list(line.x) == ["2006-03-06", "2006-03-07"]
    assert [round(y, 6) for y in line.y] == [2.9, 3.12]
    assert figure.layout.yaxis.title.text == "1-day 99% VaR, historical (% of NAV)"
    assert figure.layout.annotations == ()


def test_var_history_empty_states() -> None:
    assert _annotation(var_history_figure(None, COLOUR)) == "No risk measured yet"
    assert _annotation(var_history_figure(_risk(history=()), COLOUR)) == "No VaR history yet"


# The refresh guard -------------------------------------------------------------------------------


def test_summary_names_the_portfolio_and_the_close_measured() -> None:
    assert "Growth" in text_of(risk_summary("Growth", COLOUR, _risk()))
    assert "2006-03-07" in text_of(risk_summary("Growth", COLOUR, _risk()))
    assert "no risk measured yet" in text_of(risk_summary("Growth", COLOUR, None))


# The risk officer's pieces -----------------------------------------------------------------------

LABELS = PortfolioLabels(_snapshot(()).portfolios, {"growth": COLOUR, "income": "#E69F00"})


def _limit(**changes: Any) -> LimitView:
    view = LimitView(
        name="max_position_weight",
        unit="fraction of NAV",
        threshold=0.10,
        mode="hard",
        warn_at=0.8,
        on_breach="reduce",
        version=3,
        scope="portfolio",
        set_by="risk",
        value=0.12,
        utilisation=1.2,
        level="breach",
        detail="AAPL",
    )
    return replace(view, **changes)


NOTIONAL = _limit(
    name="max_order_notional_usd",
    unit="USD",
    threshold=50_000.0,
    mode="soft",
    on_breach="alert",
    version=1,
    scope="config",
    set_by="",
    value=42_500.0,
    utilisation=0.85,
    level="warning",
    detail="",
)
DRAWDOWN = _limit(name="max_drawdown", unit="fraction of peak NAV", threshold=0.3, detail="")
RESTRICTED = _limit(
    name="restricted_instruments",
    unit="instruments",
    threshold=0.0,
    version=2,
    value=None,
    utilisation=None,
    level="ok",
    detail="",
    symbols=("TSLA", "GME"),
)


def test_the_limits_grid_has_a_plain_row_a_limit_in_its_unit_with_its_measure_named() -> None:
    rows = limit_grid_rows((_limit(), NOTIONAL, RESTRICTED, DRAWDOWN), drawdown_window_days=252)

    weight, notional, restricted, drawdown = rows
    assert weight == {
        "limit": "max_position_weight",
        "basis": "Largest |position weight|, in % of NAV",
        "utilisation": 1.2,
        "level": "breach",
        "value": 0.12,
        "threshold": 0.10,
        "amount_format": "%",
        "mode": "hard",
        "warn_at": 0.8,
        "on_breach": "reduce",
        "version": 3,
        "scope": "portfolio",
        "set_by": "risk",
        "binding": "AAPL",
    }
    assert (notional["amount_format"], notional["set_by"]) == ("$", "config")
    assert (restricted["binding"], restricted["utilisation"], restricted["value"]) == (
        "TSLA, GME",
        None,
        None,
    )
    # The drawdown names its window and basis, the same words as the figures card.
    assert drawdown["basis"] == (
        "Drawdown from the peak NAV of the last 252 trading days (daily closes), "
        "at the latest close"
    )
    # Rows are plain JSON for the grid: no NaN, no Decimal.
    assert json.loads(json.dumps(rows, allow_nan=False)) == rows
    columns = limit_grid_columns()
    assert columns[0]["field"] == "limit" and columns[0]["pinned"] == "left"
    assert {c["field"] for c in columns} <= set(weight)


def test_a_limit_not_measured_yet_has_no_utilisation_in_the_grid() -> None:
    (row,) = limit_grid_rows((_limit(utilisation=float("nan"), value=None),), 252)
    assert (row["utilisation"], row["value"]) == (None, None)


def test_limit_amounts_read_in_the_kinds_unit() -> None:
    assert limit_amount(0.0265, KINDS["var_99_historical"].unit) == "2.65%"
    assert limit_amount(12.0, KINDS["max_orders_per_cycle"].unit) == "12"
    assert limit_amount(1_250_000, "USD") == "$1,250,000.00"
    assert limit_amount(None, "USD") == "—"


def test_trading_state_badge_is_green_amber_or_red_with_the_reason() -> None:
    colours = {
        state: find(trading_state_panel(state, "drawdown breach"), "Badge")[0].color
        for state in ("ACTIVE", "REDUCING", "HALTED")
    }
    assert colours == {"ACTIVE": "success", "REDUCING": "warning", "HALTED": "danger"}
    halted = text_of(trading_state_panel("HALTED", "drawdown breach"))
    assert "HALTED" in halted and "drawdown breach" in halted and "no order passes" in halted
    # An active portfolio has no reason to show.
    assert "drawdown breach" not in text_of(trading_state_panel("ACTIVE", "drawdown breach"))
    scaled = text_of(trading_state_panel("ACTIVE", None, ("volatility", 0.85)))
    assert "scaled to 85% of its size to fit the volatility budget" in scaled


def _alert(**changes: Any) -> RiskAlertView:
    view = RiskAlertView(
        alert_id="A-1",
        portfolio_id="growth",
        limit="max_position_weight",
        level="breach",
        value=0.12,
        threshold=0.10,
        utilisation=1.2,
        raised_on=MONDAY,
        message="AAPL is 12% of NAV",
    )
    return replace(view, **changes)


def test_alerts_list_breaches_first_each_with_an_acknowledge_button_or_who_acknowledged() -> None:
    warning = _alert(
        alert_id="A-2", level="warning", value=0.085, utilisation=0.85, raised_on=TUESDAY
    )
    seen = _alert(
        alert_id="A-3",
        portfolio_id="income",
        raised_on=TUESDAY,
        acknowledged_by="risk",
        acknowledged_note="trimming tomorrow",
    )
    table = alerts_table((warning, _alert(), seen), LABELS, ids.risk_ack_button)

    assert shown_rows(table) == [
        "2006-03-07|Income|max_position_weight|breach|12.00%|10.00%|120%|AAPL is 12% of NAV|"
        "✓ risk trimming tomorrow",
        "2006-03-06|Growth|max_position_weight|breach|12.00%|10.00%|120%|AAPL is 12% of NAV|"
        "Acknowledge",
        "2006-03-07|Growth|max_position_weight|warning|8.50%|10.00%|85%|AAPL is 12% of NAV|"
        "Acknowledge",
    ]
    buttons = find(table, "Button")
    assert [b.id for b in buttons] == [ids.risk_ack_button("A-1"), ids.risk_ack_button("A-2")]
    assert "No active risk alerts" in text_of(alerts_table((), LABELS, ids.risk_ack_button))


def _decision(**changes: Any) -> GateDecisionView:
    view = GateDecisionView(
        market_date=TUESDAY,
        portfolio_id="growth",
        order_id="O-7",
        symbol="AAPL",
        side="BUY",
        requested_shares=5_000,
        approved_shares=2_000,
        action="scaled",
        limit="max_order_notional_usd",
        value=125_000.0,
        threshold=50_000.0,
        reason="scaled to fit max_order_notional_usd",
    )
    return view._replace(**changes)


def test_gate_decisions_show_requested_and_approved_shares_and_the_limit_that_decided() -> None:
    rejected = _decision(
        market_date=MONDAY,
        order_id="O-3",
        symbol="TSLA",
        side="SELL",
        approved_shares=0,
        action="rejected",
        limit="restricted_instruments",
        value=None,
        threshold=None,
        reason="TSLA is restricted",
    )
    rows = gate_grid_rows((rejected, _decision()))

    assert [
        (r["market_date"], r["order_id"], r["symbol"], r["side"], r["action"], r["limit"])
        for r in rows
    ] == [
        ("2006-03-07", "O-7", "AAPL", "BUY", "scaled", "max_order_notional_usd"),
        ("2006-03-06", "O-3", "TSLA", "SELL", "rejected", "restricted_instruments"),
    ]
    assert [(r["requested_shares"], r["approved_shares"]) for r in rows] == [
        (5000, 2000),
        (5000, 0),
    ]
    assert [r["measure"] for r in rows] == ["$125,000.00 vs $50,000.00", "— vs —"]
    assert rows[1]["reason"] == "TSLA is restricted"
    assert len({r["key"] for r in rows}) == 2  # the grid's row ids are unique
    assert {c["field"] for c in gate_grid_columns()} >= set(rows[0]) - {"key"}
    assert "1 rejected" in text_of(gate_note((rejected, _decision())))
    assert "every order fitted" in text_of(gate_note(()))


def test_stress_results_are_percent_of_nav_worst_first_losses_red() -> None:
    table = stress_table(
        (
            StressView("rates +100bp", "factor", "1 day", -0.012, -0.010),
            StressView("2008-10", "historical", "2008-10-06..2008-10-10", -0.183, None),
        )
    )

    assert shown_rows(table) == [
        "2008-10|historical|2008-10-06..2008-10-10|-18.30%|—",
        "rates +100bp|factor|1 day|-1.20%|-1.00%",
    ]
    loss = next(td for td in find(table, "Td") if text_of(td) == "-18.30%")
    assert loss.style == {"color": NEGATIVE}


def test_shocks_to_names_not_held_collapse_into_one_line() -> None:
    table = stress_table(
        (
            StressView("AAPL -20%", "instrument", "", -0.04, -0.03),
            StressView("XOM -20%", "instrument", "", 0.0, None),
            StressView("GE -20%", "instrument", "", 0.0, 0.0),
            StressView("market -10%", "market", "", -0.08, -0.07),
        )
    )

    assert shown_rows(table) == [
        "market -10%|market||-8.00%|-7.00%",
        "AAPL -20%|instrument||-4.00%|-3.00%",
        "2 names not held: no P&L|instrument||GE, XOM|",
    ]


# Each holding's risk: weight x marginal = component, and the components add up to the figures of
# _risk(): volatility 18.25% (12.00 + 7.00 - 0.75), VaR 2.65% (1.80 + 1.05 - 0.20), CVaR 3.98%
# (2.50 + 1.68 - 0.20). XOM, short, is a hedge: its components are negative.
ATTRIBUTION = (
    InstrumentRiskView("AAPL", "Technology", 0.40, 0.30, 0.12, 0.045, 0.018, 0.025),
    InstrumentRiskView("MSFT", "Technology", 0.35, 0.20, 0.07, 0.030, 0.0105, 0.0168),
    InstrumentRiskView("XOM", "Energy", -0.15, 0.05, -0.0075, 0.002 / 0.15, -0.002, -0.002),
)


def test_risk_attribution_shows_each_holding_in_percent_and_its_share_of_the_total() -> None:
    table = attribution_table(_risk(attribution=ATTRIBUTION))

    assert [text_of(th) for th in find(table, "Th")] == [
        "instrument",
        "sector",
        "weight",
        "marginal volatility",
        "component volatility",
        "share",
        "marginal VaR 99%",
        "component VaR 99%",
        "share",
        "component CVaR 99% (hist.)",
        "share",
    ]
    # In the engine's order (largest |component VaR| first); shares of the portfolio's figure:
    # 12 / 18.25 = 65.8%, 1.8 / 2.65 = 67.9%, 2.5 / 3.98 = 62.8%, and so on.
    assert shown_rows(table)[:3] == [
        "AAPL|Technology|40.00%|30.00%|12.00%|65.8%|4.50%|1.80%|67.9%|2.50%|62.8%",
        "MSFT|Technology|35.00%|20.00%|7.00%|38.4%|3.00%|1.05%|39.6%|1.68%|42.2%",
        "XOM|Energy|-15.00%|5.00%|-0.75%|-4.1%|1.33%|-0.20%|-7.5%|-0.20%|-5.0%",
    ]


def test_risk_attribution_total_row_adds_up_to_the_portfolios_figures() -> None:
    risk = _risk(attribution=ATTRIBUTION)
    table = attribution_table(risk)

    total = shown_rows(table)[-1]
    assert total == "total||60.00%||18.25%|100.0%||2.65%|100.0%|3.98%|100.0%"
    # The same sums, computed here from the rows, are the portfolio's own figures.
    for field, figure in (
        ("component_volatility", risk.volatility_annual),
        ("component_var_99", risk.var_99_parametric),
        ("component_cvar_99_historical", risk.cvar_99_historical),
    ):
        assert sum(getattr(a, field) for a in ATTRIBUTION) == pytest.approx(figure, abs=1e-12)
    check = text_of(table)
    assert (
        "annual volatility 18.25%, 1-day 99% VaR (parametric) 2.65%, 1-day 99% CVaR "
        "(historical) 3.98%; the totals above equal them." in check
    )


def test_risk_attribution_says_so_when_the_components_miss_the_portfolios_figure() -> None:
    table = attribution_table(_risk(attribution=ATTRIBUTION, volatility_annual=0.25))

    # The total is still the sum of the rows; its share of the (larger) figure is not 100%.
    assert shown_rows(table)[-1].split("|")[4:6] == ["18.25%", "73.0%"]
    assert "do not add up to them" in text_of(table)


def test_risk_attribution_before_anything_is_measured_or_held() -> None:
    assert "No risk measured yet" in text_of(attribution_table(None))
    nothing_held = attribution_table(_risk())
    assert shown_rows(nothing_held) == ["Nothing held: no risk to attribute."]


def test_audit_trail_is_newest_first() -> None:
    older = RiskAuditView(
        datetime(2024, 1, 2, 9, 0), "growth", "limit set", "risk", "x v2", date(2008, 3, 14)
    )
    newer = RiskAuditView(datetime(2024, 1, 2, 9, 5), None, "alert acknowledged", "ro", "A-1")

    table = risk_audit_table((older, newer), LABELS)
    # Both times, each labelled: the wall clock it was recorded at and the market date.
    assert [text_of(th) for th in find(table, "Th")][:2] == [
        "recorded at (UTC, wall clock)",
        "market date",
    ]
    assert shown_rows(table) == [
        "2024-01-02 09:05:00|—|—|alert acknowledged|ro|A-1",
        "2024-01-02 09:00:00|2008-03-14|Growth|limit set|risk|x v2",
    ]


def test_sleeve_shares_of_the_var_are_bars_and_one_book_says_so() -> None:
    sleeves = _risk(sleeve_contributions=(("trend", 0.7), ("carry", 0.4), ("hedge", -0.1)))

    assert _bars(sleeve_contributions_figure(sleeves, COLOUR)) == [
        ("trend", 70.0),
        ("carry", 40.0),
        ("hedge", -10.0),
    ]
    assert _annotation(sleeve_contributions_figure(_risk(), COLOUR)) == "One book: no sleeves"


# The edit-limit form's starting values ---------------------------------------------------------


def test_the_form_starts_from_the_limit_in_force_or_the_defaults() -> None:
    risk = _risk(limits=(NOTIONAL, RESTRICTED))

    assert limit_of(risk, "max_order_notional_usd") == NOTIONAL
    assert limit_of(risk, "volatility") is None
    assert limit_of(None, "volatility") is None
    assert limit_form_values(NOTIONAL) == ("50000", "soft", "80%", "alert", "")
    assert limit_form_values(RESTRICTED) == ("", "hard", "80%", "reduce", "TSLA, GME")
    assert limit_form_values(None) == ("", "hard", "80%", "alert", "")
    assert [o["value"] for o in limit_options()] == list(KINDS)
    assert "25%, 25 and 0.25 all mean 25%" in limit_value_help("max_position_weight")
    assert "whole number of orders" in limit_value_help("max_orders_per_cycle")
    assert limit_value_help(None) == "choose a limit"


# The refresh guard -------------------------------------------------------------------------------


def _changed(before: dict[str, Any], after: dict[str, Any]) -> set[str]:
    return {part for part in before if before[part] != after[part]}


def test_a_part_of_the_page_redraws_only_when_what_it_shows_changes() -> None:
    risk = _risk(limits=(_limit(), NOTIONAL))
    snapshot = _snapshot((risk,))
    before = rendered_keys(snapshot, "growth")

    # Another cycle with the same content (and other measures moving) changes nothing.
    assert rendered_keys(replace(snapshot, cycles_completed=9), "growth") == before
    assert rendered_keys(_snapshot((replace(risk, var_99_historical=0.5),)), "growth") == before

    next_close = _snapshot((replace(risk, market_date=date(2006, 3, 8)),))
    assert _changed(before, rendered_keys(next_close, "growth")) == {"risk"}
    reattributed = _snapshot((replace(risk, attribution=ATTRIBUTION),))
    assert _changed(before, rendered_keys(reattributed, "growth")) == {"risk"}

    lowered = replace(NOTIONAL, threshold=5_000.0, version=2, utilisation=8.5, level="breach")
    relimited = _snapshot((replace(risk, limits=(_limit(), lowered)),))
    assert _changed(before, rendered_keys(relimited, "growth")) == {"limits"}

    halted = replace(
        snapshot,
        portfolios=(
            replace(snapshot.portfolios[0], trading_state="HALTED", halt_reason="breach"),
            snapshot.portfolios[1],
        ),
    )
    assert _changed(before, rendered_keys(halted, "growth")) == {"state"}

    alerted = replace(snapshot, risk_alerts=(_alert(),))
    assert _changed(before, rendered_keys(alerted, "growth")) == {"alerts"}
    acknowledged = replace(snapshot, risk_alerts=(_alert(acknowledged_by="risk"),))
    assert rendered_keys(acknowledged, "growth") != rendered_keys(alerted, "growth")

    gated = replace(snapshot, gate_decisions=(_decision(),))
    assert _changed(before, rendered_keys(gated, "growth")) == {"gate"}

    audited = replace(
        snapshot,
        risk_audit=(RiskAuditView(datetime(2024, 1, 2), "growth", "limit set", "risk", ""),),
    )
    assert _changed(before, rendered_keys(audited, "growth")) == {"audit"}


def test_another_portfolios_alerts_and_orders_redraw_nothing_unless_all_are_shown() -> None:
    snapshot = _snapshot((_risk(),))
    elsewhere = replace(
        snapshot,
        risk_alerts=(_alert(portfolio_id="income"),),
        gate_decisions=(_decision(portfolio_id="income"),),
    )

    assert rendered_keys(elsewhere, "growth") == rendered_keys(snapshot, "growth")
    assert _changed(
        rendered_keys(snapshot, "growth", "all"), rendered_keys(elsewhere, "growth", "all")
    ) == {"alerts"}
    assert rendered_keys(snapshot, "income") != rendered_keys(snapshot, "growth")
    assert risk_of(snapshot, "income") is None
    with pytest.raises(KeyError):
        rendered_keys(snapshot, "nowhere")
