"""The one table builder every dashboard table is made with: columns from their spec, numeric
columns right-aligned, cells with their own style, an empty table saying why, and a note when a
table shows only part of its rows."""

from __future__ import annotations

from typing import Any

from dash import html

from components.tables import Cell, Column, build_table, shown_of

COLUMNS = (Column("symbol"), Column("shares", numeric=True), Column("side"))


def _find(component: Any, kind: type) -> list[Any]:
    found = [component] if isinstance(component, kind) else []
    children = getattr(component, "children", None)
    for child in children if isinstance(children, list | tuple) else [children]:
        if child is not None and not isinstance(child, str | int | float):
            found += _find(child, kind)
    return found


def test_headers_come_from_the_spec_and_numeric_columns_align_right() -> None:
    table = build_table(COLUMNS, [["AAA", "1,200", "BUY"]], empty="none")
    headers = _find(table, html.Th)
    assert [th.children for th in headers] == ["symbol", "shares", "side"]
    assert [th.className for th in headers] == [None, "text-end", None]
    cells = _find(table, html.Td)
    assert [td.children for td in cells] == ["AAA", "1,200", "BUY"]
    assert [td.className for td in cells] == [None, "text-end", None]


def test_a_styled_cell_keeps_the_column_alignment_and_adds_its_own_class() -> None:
    styled = Cell("-300", class_name="pc-negative", style={"color": "red"})
    table = build_table(COLUMNS, [["AAA", styled, "SELL"]], empty="none")
    shares = _find(table, html.Td)[1]
    assert (shares.children, shares.className, shares.style) == (
        "-300",
        "text-end pc-negative",
        {"color": "red"},
    )


def test_an_empty_table_says_why_across_every_column() -> None:
    table = build_table(COLUMNS, [], empty="No orders yet")
    (cell,) = _find(table, html.Td)
    assert (cell.children, cell.colSpan) == ("No orders yet", 3)


def test_a_table_showing_part_of_its_rows_says_how_many() -> None:
    table = build_table(COLUMNS, [["AAA", "1", "BUY"]], empty="none")
    assert shown_of(table, 1, 1) is table
    (note,) = _find(shown_of(table, 1, 2_500), html.Small)
    assert note.children == "showing 1 of 2,500"
