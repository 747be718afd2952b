"""Tables of the Signals page: coordinated views with their lineage, conflicts, rejected signals,
source quality, and the overrides with their audit trail. Built with components.tables.table."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import dash_bootstrap_components as dbc
from dash import html

from components import formatting as fmt
from components.tables import (
    RECENT_ROWS,
    Cell,
    Column,
    PortfolioLabels,
    build_table,
    newest_first,
    score_cell,
)
from engine.model import Conflict, Event
from engine.signals.book import ALL_PORTFOLIOS, Override
from engine.snapshot import (
    ConflictCount,
    RejectedSignal,
    SignalRow,
    SourceQualityView,
)

SIGNAL_COLUMNS = (
    Column("portfolio"),
    Column("symbol"),
    Column("score", numeric=True),
    Column("confidence", numeric=True),
)
LINEAGE_COLUMN = Column("lineage (share of the score)")


def lineage_text(lineage: Sequence[tuple[str, float]]) -> str:
    """Each raw view's share of a coordinated score, largest first: ``momentum/3m 40%, ...``."""
    if not lineage:
        return fmt.EMPTY
    ranked = sorted(lineage, key=lambda item: item[1], reverse=True)
    return ", ".join(f"{key} {share:.0%}" for key, share in ranked)


def coordinated_signals_table(
    rows: Sequence[SignalRow], labels: PortfolioLabels, *, lineage: bool = False
) -> html.Div:
    """Views held with some confidence, per portfolio, strongest (|score| x confidence) first;
    with ``lineage``, the share of each raw ``source/horizon`` view in the score."""
    portfolio_order = {
        origin: index for index, origin in enumerate(dict.fromkeys(r.origin for r in rows))
    }
    ranked = sorted(
        (row for row in rows if row.confidence > 0),
        key=lambda row: (portfolio_order[row.origin], -abs(row.score) * row.confidence),
    )
    table_rows = [
        [labels(row.origin), row.symbol, score_cell(row.score), fmt.pct(row.confidence, 0)]
        + ([lineage_text(row.lineage)] if lineage else [])
        for row in ranked
    ]
    columns = (*SIGNAL_COLUMNS, LINEAGE_COLUMN) if lineage else SIGNAL_COLUMNS
    return build_table(columns, table_rows, empty="No coordinated signals yet")


CONFLICT_COUNT_COLUMNS = (
    Column("portfolio"),
    Column("conflicts in the latest cycle", numeric=True),
    Column("this session", numeric=True),
)


def conflict_counts_table(counts: Sequence[ConflictCount], labels: PortfolioLabels) -> html.Div:
    """Instruments on which a portfolio's sources disagreed in direction: in the latest cycle, and
    summed over this session's rebalancing cycles."""
    rows = [[labels(c.portfolio_id), f"{c.latest_cycle:,}", f"{c.session_total:,}"] for c in counts]
    return build_table(CONFLICT_COUNT_COLUMNS, rows, empty="No portfolios")


CONFLICT_COLUMNS = (
    Column("portfolio"),
    Column("instrument"),
    Column("policy"),
    Column("what each source said (score @ confidence, weight)"),
    Column("result", numeric=True),
    Column("resolution"),
)


def _source_view_lines(conflict: Conflict) -> list[Any]:
    lines: list[Any] = []
    for view in conflict.views:
        if lines:
            lines.append(html.Br())
        lines.append(
            f"{view.source} {view.score:+.2f} @ {view.confidence:.0%}, weight {view.weight:.2f}"
        )
    return lines


def conflicts_table(
    conflicts: Sequence[Conflict], labels: PortfolioLabels, *, limit: int = RECENT_ROWS
) -> html.Div:
    """The latest cycle's conflicts, portfolio by portfolio: each source's view, then what the
    policy made of them (score @ confidence) and why."""
    rows = [
        [
            labels(c.portfolio_id),
            c.symbol,
            c.policy,
            Cell(_source_view_lines(c), class_name="pc-views"),
            Cell(f"{c.score:+.2f} @ {c.confidence:.0%}"),
            c.resolution,
        ]
        for c in conflicts[:limit]
    ]
    table = build_table(CONFLICT_COLUMNS, rows, empty="No conflicts in the latest cycle")
    if len(conflicts) <= limit:
        return table
    return html.Div(
        [table, html.Small(f"showing {limit} of {len(conflicts):,}", className="text-muted")]
    )


REJECTED_COLUMNS = (
    Column("time (UTC)"),
    Column("source"),
    Column("signal id"),
    Column("instrument"),
    Column("field"),
    Column("reason"),
    Column("value"),
    Column("channel"),
    Column("actor"),
)


def rejected_signals_table(
    rejections: Sequence[RejectedSignal], *, limit: int = RECENT_ROWS
) -> html.Div:
    """Signals the engine refused, newest first, each with the field and the rule it broke."""
    rows = [
        [
            fmt.moment(r.received_at),
            r.source or fmt.EMPTY,
            r.signal_id or fmt.EMPTY,
            r.instrument or fmt.EMPTY,
            Cell(r.field, class_name="fw-semibold"),
            Cell(r.reason, class_name="pc-wrap"),
            Cell(r.value or fmt.EMPTY, class_name="pc-wrap"),
            r.channel or fmt.EMPTY,
            r.actor,
        ]
        for r in newest_first(rejections, key=lambda r: r.received_at)[:limit]
    ]
    return build_table(REJECTED_COLUMNS, rows, empty="No signal rejected yet")


QUALITY_COLUMNS = (
    Column("source"),
    Column("kind"),
    Column("priority", numeric=True),
    Column("horizons"),
    Column("rolling IC", numeric=True),
    Column("hit rate", numeric=True),
    Column("coverage", numeric=True),
    Column("observations", numeric=True),
    Column("weight multiplier", numeric=True),
)


def _measured(value: float, text: str) -> str:
    """NaN means the source has not been measured yet (too few matured views)."""
    return text if math.isfinite(value) else fmt.EMPTY


def source_quality_table(
    sources: Sequence[SourceQualityView], colours_by_source: Mapping[str, str]
) -> html.Div:
    """Each source's configured priority and measured quality; ``—`` where not measured yet."""
    rows = [
        [
            Cell(
                [
                    html.Span(
                        className="pc-swatch",
                        style={"backgroundColor": colours_by_source.get(q.source, "#ADB5BD")},
                    ),
                    q.source,
                ],
                class_name="pc-portfolio-label",
            ),
            q.kind,
            f"{q.priority:g}",
            ", ".join(q.horizons) or "any",
            _measured(q.ic, f"{q.ic:+.3f}"),
            _measured(q.hit_rate, fmt.pct(q.hit_rate)),
            _measured(q.coverage, fmt.pct(q.coverage)),
            f"{q.observations:,}",
            _measured(q.multiplier, f"{q.multiplier:.2f}×"),
        ]
        for q in sources
    ]
    return build_table(QUALITY_COLUMNS, rows, empty="No signal sources configured")


OVERRIDE_COLUMNS = (
    Column("override"),
    Column("action"),
    Column("portfolio"),
    Column("instrument"),
    Column("score", numeric=True),
    Column("confidence", numeric=True),
    Column("set on (market date)"),
    Column("last day"),
    Column("actor"),
    Column("reason"),
    Column(""),
)


def overrides_table(
    overrides: Sequence[Override],
    labels: PortfolioLabels,
    lift_button_id: Callable[[str], dict[str, str]],
) -> html.Div:
    """Active pins and vetoes, each with a Lift button whose id ``lift_button_id`` names."""
    rows = [
        [
            html.Code(o.override_id),
            Cell(o.kind, class_name="fw-semibold"),
            labels(o.portfolio_id),
            o.symbol,
            score_cell(o.score) if o.kind == "pin" else fmt.EMPTY,
            fmt.pct(o.confidence, 0) if o.kind == "pin" else fmt.EMPTY,
            fmt.day(o.set_on),
            fmt.day(o.expires_on) if o.expires_on else "until lifted",
            o.actor,
            Cell(o.reason, class_name="pc-wrap"),
            dbc.Button(
                "Lift",
                id=lift_button_id(o.override_id),
                size="sm",
                color="secondary",
                outline=True,
                className="py-0",
            ),
        ]
        for o in overrides
    ]
    return build_table(OVERRIDE_COLUMNS, rows, empty="No active overrides")


OVERRIDE_AUDIT_COLUMNS = (
    Column("time (UTC)"),
    Column("actor"),
    Column("action"),
    Column("override"),
    Column("portfolio"),
    Column("instrument"),
    Column("reason"),
)
LIFTED_PREFIX = "lifted: "


def _audit_action(event: Event) -> tuple[str, str]:
    """What happened to the override, and why, as a person says it."""
    payload = event.payload
    kind = payload.get("kind", "override")
    reason = str(payload.get("reason", ""))
    if event.type == "OverrideSet":
        if kind == "pin":
            return (
                f"pin set ({payload['score']:+.2f} @ {payload['confidence']:.0%})",
                reason,
            )
        return f"{kind} set", reason
    if reason.startswith(LIFTED_PREFIX):
        return f"{kind} lifted", reason.removeprefix(LIFTED_PREFIX)
    return f"{kind} expired", reason


def override_audit_table(
    events: Sequence[Event], labels: PortfolioLabels, *, limit: int = RECENT_ROWS
) -> html.Div:
    """``OverrideSet`` and ``OverrideExpired`` events, newest first (by sequence number).

    An override for every portfolio is stored without a portfolio id, so an event without one
    reads "All portfolios".
    """
    ordered = sorted(events, key=lambda event: event.seq or 0, reverse=True)[:limit]
    rows = []
    for event in ordered:
        action, reason = _audit_action(event)
        rows.append(
            [
                fmt.moment(event.timestamp),
                event.actor,
                Cell(action, class_name="fw-semibold"),
                html.Code(event.payload.get("override_id", fmt.EMPTY)),
                labels(event.portfolio_id or ALL_PORTFOLIOS),
                event.payload.get("instrument", fmt.EMPTY),
                Cell(reason, class_name="pc-wrap"),
            ]
        )
    return build_table(OVERRIDE_AUDIT_COLUMNS, rows, empty="No override set yet")
