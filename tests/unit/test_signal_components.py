"""The Signals page's pure builders and its override form, fed hand-built snapshot data."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import plotly.graph_objects as go
import pytest
from dash.development.base_component import Component

from callbacks.signals import set_override_command
from components import ids
from components.colours import PORTFOLIO_PALETTE, portfolio_colours, translucent
from components.figures import (
    MANUAL_COLOUR,
    SOURCE_PALETTE,
    signal_flow_figure,
    source_colours,
    source_quality_figure,
)
from components.signal_tables import (
    conflict_counts_table,
    conflicts_table,
    coordinated_signals_table,
    lineage_text,
    override_audit_table,
    overrides_table,
    rejected_signals_table,
    source_quality_table,
)
from components.tables import PortfolioLabels
from engine.model import Conflict, Event, SourceView
from engine.signals.book import Override
from engine.snapshot import (
    ConflictCount,
    PortfolioView,
    QualityPoint,
    RejectedSignal,
    SignalFlow,
    SignalRow,
    SourceQualityView,
)
from tests.unit.component_tree import find, plotly_figure, shown_rows, text_of

NAN = float("nan")
START = date(2020, 1, 2)
NAMES = {"growth": "Growth", "balanced": "Balanced"}
COLOURS = portfolio_colours(NAMES)


def _portfolio(portfolio_id: str) -> PortfolioView:
    cash = Decimal("1000.00")
    return PortfolioView(portfolio_id, NAMES[portfolio_id], (), cash, cash, cash, (), 1.0, (), 0, 0)


LABELS = PortfolioLabels([_portfolio("growth"), _portfolio("balanced")], COLOURS)


def _headers(table: Component) -> list[str]:
    return [text_of(cell) for cell in find(find(table, "Thead")[0], "Th")]


# Signal flow -------------------------------------------------------------------------------------

FLOWS = (
    SignalFlow("momentum/3m", "growth", 2.0),
    SignalFlow("mean_reversion/1w", "growth", 1.0),
    SignalFlow("momentum/3m", "balanced", 0.5),
    SignalFlow("momentum/12m", "balanced", 1.5),
    SignalFlow("manual/override", "balanced", 1.0),
)


def _links(figure: go.Figure) -> dict[tuple[str, str], tuple[float, str]]:
    """Each link as (from node, to node), named in full, -> (width, colour)."""
    sankey = figure.data[0]
    labels = list(sankey.node.customdata)
    return {
        (labels[s], labels[t]): (v, c)
        for s, t, v, c in zip(
            sankey.link.source,
            sankey.link.target,
            sankey.link.value,
            sankey.link.color,
            strict=True,
        )
    }


def test_sankey_has_a_link_per_flow_into_its_portfolio_with_its_weight_and_colour() -> None:
    by_source = source_colours(["momentum", "mean_reversion"])
    figure = plotly_figure(signal_flow_figure(FLOWS, NAMES, COLOURS, by_source))
    links = _links(figure)

    for flow in FLOWS:
        width, colour = links[(flow.origin, NAMES[flow.portfolio_id])]
        assert width == flow.weight
        assert colour == translucent(COLOURS[flow.portfolio_id], 0.45)
    # 5 flows, plus one link from each source into each of its horizons.
    assert len(links) == len(FLOWS) + 4


def test_sankey_feeds_each_horizon_from_its_source_with_what_flows_out_of_it() -> None:
    figure = plotly_figure(signal_flow_figure(FLOWS, NAMES, COLOURS, source_colours(["momentum"])))
    links = _links(figure)

    assert links[("momentum", "momentum/3m")][0] == 2.0 + 0.5
    assert links[("momentum", "momentum/12m")][0] == 1.5
    assert links[("mean_reversion", "mean_reversion/1w")][0] == 1.0
    assert links[("manual", "manual/override")][0] == 1.0
    sankey = figure.data[0]
    labels = list(sankey.node.customdata)
    assert labels[:3] == ["momentum", "mean_reversion", "manual"]
    # Shown labels: the horizon only in the middle column (its colour says the source).
    assert all("/" not in shown for shown in sankey.node.label)
    assert set(labels[-2:]) == {"Growth", "Balanced"}
    node_colour = dict(zip(labels, sankey.node.color, strict=True))
    assert node_colour["Growth"] == COLOURS["growth"]
    assert node_colour["manual"] == MANUAL_COLOUR
    assert "instrument-equivalents" in sankey.valuesuffix


def test_sankey_says_there_is_nothing_yet_before_the_first_coordination() -> None:
    figure = plotly_figure(signal_flow_figure((), NAMES, COLOURS, source_colours(["momentum"])))
    assert list(figure.data[0].link.value) == []
    assert "No coordinated signals yet" in figure.layout.annotations[0].text


def test_sources_have_their_own_colours_never_a_portfolio_one() -> None:
    colours = source_colours(["momentum", "mean_reversion", "analyst_desk"])
    assert list(colours.values())[:3] == list(SOURCE_PALETTE[:3])
    assert colours["manual"] == MANUAL_COLOUR
    assert not set(colours.values()) & set(PORTFOLIO_PALETTE)


# Source quality ----------------------------------------------------------------------------------


def _history() -> tuple[QualityPoint, ...]:
    days = [START + timedelta(days=i) for i in range(3)]
    return (
        QualityPoint(days[0], "momentum", NAN, NAN, NAN, 1.0),
        QualityPoint(days[0], "analyst_desk", NAN, NAN, NAN, 1.0),
        QualityPoint(days[1], "momentum", 0.05, 0.55, 1.0, 1.5),
        QualityPoint(days[1], "analyst_desk", NAN, NAN, NAN, 1.0),
        QualityPoint(days[2], "momentum", -0.1, 0.45, 0.9, 0.25),
        QualityPoint(days[2], "analyst_desk", 0.02, 0.6, 0.1, 1.2),
    )


def test_quality_figure_draws_rolling_ic_above_the_weight_multiplier_per_source() -> None:
    by_source = source_colours(["momentum", "analyst_desk"])
    figure = plotly_figure(source_quality_figure(_history(), by_source))

    ic = {t.name: t for t in figure.data if t.yaxis == "y"}
    multiplier = {t.name: t for t in figure.data if t.yaxis == "y2"}
    assert list(ic) == list(multiplier) == ["momentum", "analyst_desk"]
    # Not measured yet (NaN) is a gap, not a zero.
    assert list(ic["momentum"].y) == [None, 0.05, -0.1]
    assert list(ic["analyst_desk"].y) == [None, None, 0.02]
    assert list(multiplier["momentum"].y) == [1.0, 1.5, 0.25]
    assert list(ic["momentum"].x) == ["2020-01-02", "2020-01-03", "2020-01-04"]
    assert ic["momentum"].line.color == multiplier["momentum"].line.color == by_source["momentum"]
    assert figure.layout.yaxis.title.text == "rolling IC"
    assert figure.layout.yaxis2.title.text == "weight multiplier (×)"
    assert figure.layout.xaxis2.title.text == "market date"
    assert not figure.layout.annotations


def test_quality_figure_waits_for_the_first_measurement() -> None:
    figure = plotly_figure(source_quality_figure((), source_colours(["momentum"])))
    assert figure.data == ()
    assert "not measured yet" in figure.layout.annotations[0].text


def test_quality_table_shows_ic_rates_in_percent_and_a_dash_where_not_measured() -> None:
    sources = (
        SourceQualityView(
            "momentum", "model", 2.0, ("1m", "3m"), 0.1302, 0.5389, 1.0, 9, 2.0 / 1.5
        ),
        SourceQualityView("risk_desk", "external", 5.0, (), NAN, NAN, NAN, 0, 1.0),
    )
    table = source_quality_table(sources, source_colours(["momentum", "risk_desk"]))

    assert _headers(table) == [
        "source",
        "kind",
        "priority",
        "horizons",
        "rolling IC",
        "hit rate",
        "coverage",
        "observations",
        "weight multiplier",
    ]
    assert shown_rows(table) == [
        "momentum|model|2|1m, 3m|+0.130|53.9%|100.0%|9|1.33×",
        "risk_desk|external|5|any|—|—|—|0|1.00×",
    ]


# Coordinated signals and conflicts ---------------------------------------------------------------


def test_coordinated_table_shows_each_views_share_of_the_score_largest_first() -> None:
    rows = (
        SignalRow("growth", "AAPL", 0.5, 0.8, (("momentum/3m", 0.4), ("mean_reversion/1w", 0.6))),
        SignalRow("balanced", "XOM", -0.2, 0.5, (("manual/override", 1.0),)),
    )
    table = coordinated_signals_table(rows, LABELS, lineage=True)

    assert _headers(table)[-1] == "lineage (share of the score)"
    assert shown_rows(table) == [
        "Growth|AAPL|+0.50|80%|mean_reversion/1w 60%, momentum/3m 40%",
        "Balanced|XOM|-0.20|50%|manual/override 100%",
    ]
    assert lineage_text(()) == "—"


def test_conflicts_table_shows_what_each_source_said_and_how_the_policy_ruled() -> None:
    conflict = Conflict(
        "balanced",
        "BBY",
        (
            SourceView("momentum", 0.451343, 0.165484, 2.0, 2.0),
            SourceView("mean_reversion", -0.890635, 0.712495, 0.942657, 0.942657),
        ),
        "confidence_blend",
        -0.447637,
        0.340715,
        "blend: net -0.448 at confidence 0.34",
    )
    rows = shown_rows(conflicts_table((conflict,), LABELS))

    assert rows == [
        "Balanced|BBY|confidence_blend|"
        "momentum +0.45 @ 17%, weight 2.00mean_reversion -0.89 @ 71%, weight 0.94|"
        "-0.45 @ 34%|blend: net -0.448 at confidence 0.34"
    ]


def test_conflicts_table_says_how_many_it_leaves_out() -> None:
    conflict = Conflict("growth", "AAPL", (), "priority", 0.1, 0.5, "priority: momentum decides")
    table = conflicts_table((conflict,) * 3, LABELS, limit=2)
    assert len(shown_rows(table)) == 2
    assert "showing 2 of 3" in text_of(table)


def test_conflict_counts_show_latest_cycle_and_session_per_portfolio() -> None:
    counts = (ConflictCount("growth", 0, 0), ConflictCount("balanced", 8, 1287))
    assert shown_rows(conflict_counts_table(counts, LABELS)) == ["Growth|0|0", "Balanced|8|1,287"]


# Rejected signals --------------------------------------------------------------------------------


def _rejection(second: int, signal_id: str | None, field: str, reason: str) -> RejectedSignal:
    return RejectedSignal(
        datetime(2024, 5, 1, 12, 0, second, tzinfo=UTC),
        START,
        signal_id,
        "analyst_desk",
        "AAPL",
        field,
        reason,
        "1.5",
        "desk-bot",
        "api",
    )


def test_rejected_signals_are_listed_newest_first_with_the_field_and_rule_broken() -> None:
    # As the snapshot holds them: in the order they arrived.
    rejections = (
        _rejection(1, "s-1", "score", "must be between -1 and 1"),
        _rejection(2, None, "confidence", "must be between 0 and 1"),
    )
    table = rejected_signals_table(rejections)

    assert _headers(table) == [
        "time (UTC)",
        "source",
        "signal id",
        "instrument",
        "field",
        "reason",
        "value",
        "channel",
        "actor",
    ]
    assert shown_rows(table) == [
        "2024-05-01 12:00:02|analyst_desk|—|AAPL|confidence|must be between 0 and 1|1.5|api|"
        "desk-bot",
        "2024-05-01 12:00:01|analyst_desk|s-1|AAPL|score|must be between -1 and 1|1.5|api|desk-bot",
    ]


# Overrides ---------------------------------------------------------------------------------------


def _override(override_id: str, kind: str, portfolio_id: str, symbol: str) -> Override:
    pin = kind == "pin"
    return Override(
        override_id,
        kind,
        portfolio_id,
        symbol,
        0.5 if pin else 0.0,
        0.8 if pin else 0.0,
        START + timedelta(days=9) if pin else None,
        "pm",
        "earnings call",
        START,
    )


def test_overrides_table_has_a_lift_button_per_override_and_reads_star_as_all() -> None:
    overrides = (
        _override("ovr-1", "veto", "balanced", "AAPL"),
        _override("ovr-2", "pin", "*", "XOM"),
    )
    table = overrides_table(overrides, LABELS, ids.lift_button)

    assert shown_rows(table) == [
        "ovr-1|veto|Balanced|AAPL|—|—|2020-01-02|until lifted|pm|earnings call|Lift",
        "ovr-2|pin|All portfolios|XOM|+0.50|80%|2020-01-02|2020-01-11|pm|earnings call|Lift",
    ]
    assert [button.id for button in find(table, "Button")] == [
        {"type": ids.SIGNALS_LIFT_BUTTON, "index": "ovr-1"},
        {"type": ids.SIGNALS_LIFT_BUTTON, "index": "ovr-2"},
    ]


def _event(seq: int, event_type: str, payload: dict[str, Any], portfolio: str | None) -> Event:
    return Event(
        f"e-{seq}",
        event_type,
        datetime(2024, 5, 1, 12, 0, seq, tzinfo=UTC),
        "engine" if "expired" in str(payload.get("reason")) else "pm",
        payload,
        portfolio,
        seq=seq,
    )


def test_audit_trail_reads_set_lifted_and_expired_newest_first() -> None:
    veto = _override("ovr-1", "veto", "balanced", "AAPL")
    pin = _override("ovr-2", "pin", "*", "XOM")
    events = [
        # As the callback gathers them: one query per event type, each newest first.
        _event(1, "OverrideSet", veto.payload(), "balanced"),
        _event(2, "OverrideSet", pin.payload(), None),
        _event(
            4,
            "OverrideExpired",
            {"override_id": "ovr-2", "kind": "pin", "instrument": "XOM", "reason": "expired"},
            None,
        ),
        _event(
            3,
            "OverrideExpired",
            {
                "override_id": "ovr-1",
                "kind": "veto",
                "instrument": "AAPL",
                "reason": "lifted: lifted from dashboard",
            },
            "balanced",
        ),
    ]
    assert shown_rows(override_audit_table(events, LABELS)) == [
        "2024-05-01 12:00:04|engine|pin expired|ovr-2|All portfolios|XOM|expired",
        "2024-05-01 12:00:03|pm|veto lifted|ovr-1|Balanced|AAPL|lifted from dashboard",
        "2024-05-01 12:00:02|pm|pin set (+0.50 @ 80%)|ovr-2|All portfolios|XOM|earnings call",
        "2024-05-01 12:00:01|pm|veto set|ovr-1|Balanced|AAPL|earnings call",
    ]


def test_empty_tables_say_what_is_missing() -> None:
    assert shown_rows(overrides_table((), LABELS, ids.lift_button)) == ["No active overrides"]
    assert shown_rows(override_audit_table((), LABELS)) == ["No override set yet"]
    assert shown_rows(rejected_signals_table(())) == ["No signal rejected yet"]
    assert shown_rows(conflicts_table((), LABELS)) == ["No conflicts in the latest cycle"]
    assert shown_rows(coordinated_signals_table((), LABELS, lineage=True)) == [
        "No coordinated signals yet"
    ]


# The override form -------------------------------------------------------------------------------


def test_a_veto_from_the_form_ignores_score_and_keeps_its_expiry() -> None:
    command = set_override_command(
        "balanced", "AAPL", "veto", None, 1.0, "2006-03-01", "compliance", " pm "
    )
    assert (command.kind, command.portfolio_id, command.symbol) == ("veto", "balanced", "AAPL")
    assert command.expires_on == date(2006, 3, 1)
    assert (command.actor, command.reason) == ("pm", "compliance")


def test_a_pin_from_the_form_carries_its_score_and_confidence() -> None:
    command = set_override_command("*", "XOM", "pin", 0.5, "0.8", "", "conviction", "pm")
    assert (command.score, command.confidence, command.expires_on) == (0.5, 0.8, None)


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"reason": ""}, "SetOverride.reason"),
        ({"reason": "   "}, "SetOverride.reason"),
        ({"score": None}, "score"),
        ({"score": 1.5}, "SetOverride.score"),
        ({"confidence": 0}, "SetOverride.confidence"),
        ({"portfolio_id": None}, "portfolio"),
        ({"symbol": ""}, "instrument"),
        ({"actor": ""}, "actor"),
        ({"expires_on": "next week"}, "expires_on"),
    ],
)
def test_an_invalid_pin_is_refused_with_the_field_named(form: dict[str, Any], field: str) -> None:
    filled = {
        "portfolio_id": "growth",
        "symbol": "AAPL",
        "kind": "pin",
        "score": 0.5,
        "confidence": 0.8,
        "expires_on": None,
        "reason": "conviction",
        "actor": "pm",
        **form,
    }
    with pytest.raises(ValueError) as refused:
        set_override_command(**filled)
    assert str(refused.value).startswith(f"{field}:")
