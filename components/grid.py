"""Tables that scale: AG Grid (dash-ag-grid) with its rows paged, sorted and filtered on the server.

A grid built by ``server_grid`` asks for one page of rows at a time (AG Grid's infinite row
model with pagination): its ``getRowsRequest`` names the rows wanted, the sort and the filters,
and a callback answers with ``serve_rows`` over a list the read model already holds. So a table
of 45,000 fills costs the browser one page and the server one slice, never the whole list.

When what a table shows changes, the page's callback writes a new key into the grid's refresh
store (``refresh_store_id``); a clientside callback (``register_refresh``) then asks the grid to
reload the rows it shows, keeping the person's page, sort and filters.

Columns are declared with the helpers below so every table formats alike: currency with a
thousands separator, percentages from fractions (0.25 shows 25.00%), whole shares, ISO dates, and
never scientific notation.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import dash_ag_grid as dag
from dash import ClientsideFunction, Input, Output, State, dcc, html

if TYPE_CHECKING:
    import dash

PAGE_SIZE = 25
# Enough for one page of any table, small enough that a response stays a few KiB.
MAX_ROWS_PER_REQUEST = 500

Row = Mapping[str, Any]


def _formatter(d3_spec: str, suffix: str = "") -> dict[str, str]:
    # Empty cells stay empty: d3 would print "NaN" for a missing value.
    tail = f" + '{suffix}'" if suffix else ""
    return {"function": f"params.value == null ? '' : d3.format('{d3_spec}')(params.value){tail}"}


def text_column(field: str, header: str, *, pinned: bool = False, width: int | None = None) -> dict:
    column: dict[str, Any] = {"field": field, "headerName": header, "filter": "agTextColumnFilter"}
    if pinned:
        column["pinned"] = "left"
    if width:
        column["width"] = width
    return column


def money_column(field: str, header: str, *, decimals: int = 2) -> dict:
    return _number_column(field, header, f"$,.{decimals}f")


def percent_column(field: str, header: str, *, decimals: int = 2) -> dict:
    """A fraction shown as a percentage: 0.25 shows 25.00%."""
    return _number_column(field, header, f",.{decimals}%")


def shares_column(field: str, header: str) -> dict:
    return _number_column(field, header, ",.0f")


def number_column(field: str, header: str, *, decimals: int = 2) -> dict:
    return _number_column(field, header, f",.{decimals}f")


def date_column(field: str, header: str, *, pinned: bool = False) -> dict:
    """ISO dates (the rows hold them as ISO strings, so they sort as text and as dates alike)."""
    column = text_column(field, header, pinned=pinned, width=130)
    column["filter"] = "agTextColumnFilter"
    return column


def _number_column(field: str, header: str, d3_spec: str) -> dict:
    return {
        "field": field,
        "headerName": header,
        "filter": "agNumberColumnFilter",
        "type": "rightAligned",
        "valueFormatter": _formatter(d3_spec),
    }


def refresh_store_id(grid_id: str) -> str:
    return f"{grid_id}-refresh"


def server_grid(
    grid_id: str,
    columns: Sequence[dict],
    *,
    page_size: int = PAGE_SIZE,
    row_id: str | None = None,
    height_px: int | None = None,
    grid_options: Mapping[str, Any] | None = None,
) -> html.Div:
    """A grid whose rows come from the server a page at a time, with its refresh store.

    ``row_id`` names the field that identifies a row (kept selected across refreshes; its
    values must be strings)."""
    options: dict[str, Any] = {
        "pagination": True,
        "paginationPageSize": page_size,
        "paginationPageSizeSelector": False,
        "cacheBlockSize": page_size,
        "maxBlocksInCache": 4,
        "rowSelection": {"mode": "singleRow", "checkboxes": False, "enableClickSelection": True},
        "suppressCellFocus": True,
        "tooltipShowDelay": 300,
        **(grid_options or {}),
    }
    rows_shown = page_size + 2  # header and pager
    return html.Div(
        [
            dag.AgGrid(
                id=grid_id,
                rowModelType="infinite",
                # dash-ag-grid reads getRowId as its own small expression language: only the
                # plain ``params.data.field`` form works (a {"function": ...} in
                # dashGridOptions, or String(...), gives every row the id "undefined", and
                # AG Grid then draws one row twice and drops another).
                **({"getRowId": f"params.data.{row_id}"} if row_id else {}),
                columnDefs=list(columns),
                defaultColDef={
                    "sortable": True,
                    "resizable": True,
                    "filterParams": {"buttons": ["reset"], "maxNumConditions": 1},
                    "minWidth": 90,
                    "flex": 1,
                },
                dashGridOptions=options,
                className="ag-theme-alpine pc-grid",
                style={"height": f"{height_px or rows_shown * 34 + 20}px", "width": "100%"},
            ),
            dcc.Store(id=refresh_store_id(grid_id)),
        ]
    )


def serve_rows(rows: Sequence[Row], request: Mapping[str, Any] | None) -> dict[str, Any]:
    """The page of ``rows`` AG Grid asked for in ``request`` (its ``getRowsRequest``): filtered,
    sorted, sliced, with the filtered count so the pager knows how many pages there are."""
    request = request or {}
    selected = _filtered(rows, request.get("filterModel") or {})
    for order in reversed(request.get("sortModel") or []):
        field = order.get("colId")
        if not field:
            continue
        missing = [row for row in selected if _sort_key(row.get(field))[0] == 2]
        present = [row for row in selected if _sort_key(row.get(field))[0] != 2]
        present.sort(
            key=lambda row, f=field: _sort_key(row.get(f)), reverse=order.get("sort") == "desc"
        )
        selected = present + missing
    start = max(int(request.get("startRow") or 0), 0)
    end = int(request.get("endRow") or start + PAGE_SIZE)
    end = min(max(end, start), start + MAX_ROWS_PER_REQUEST)
    return {"rowData": [dict(row) for row in selected[start:end]], "rowCount": len(selected)}


def _sort_key(value: Any) -> tuple[int, Any]:
    # Numbers before text so a mixed column cannot raise; missing values (group 2) are put last
    # by serve_rows whichever way the column sorts.
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return (2, 0)
    if isinstance(value, int | float | Decimal):
        return (0, float(value))
    return (1, str(value).casefold())


def _filtered(rows: Sequence[Row], model: Mapping[str, Any]) -> list[Row]:
    tests = [_filter_test(field, spec) for field, spec in model.items()]
    return [row for row in rows if all(test(row) for test in tests)]


def _filter_test(field: str, spec: Mapping[str, Any]) -> Callable[[Row], bool]:
    kind = spec.get("filterType")
    operator = spec.get("type") or ("contains" if kind == "text" else "equals")
    if kind == "number":
        wanted = _number(spec.get("filter"))
        upper = _number(spec.get("filterTo"))

        def number_test(row: Row) -> bool:
            value = _number(row.get(field))
            if operator == "blank":
                return value is None
            if operator == "notBlank":
                return value is not None
            if value is None or wanted is None:
                return wanted is None
            return _compare_number(operator, value, wanted, upper)

        return number_test

    wanted_text = str(spec.get("filter") or "").casefold()

    def text_test(row: Row) -> bool:
        value = row.get(field)
        text = "" if value is None else _text(value).casefold()
        return _compare_text(operator, text, wanted_text)

    return text_test


def _compare_number(operator: str, value: float, wanted: float, upper: float | None) -> bool:
    if operator == "equals":
        return value == wanted
    if operator == "notEqual":
        return value != wanted
    if operator == "greaterThan":
        return value > wanted
    if operator == "greaterThanOrEqual":
        return value >= wanted
    if operator == "lessThan":
        return value < wanted
    if operator == "lessThanOrEqual":
        return value <= wanted
    if operator == "inRange":
        return wanted <= value <= (upper if upper is not None else wanted)
    return True


def _compare_text(operator: str, text: str, wanted: str) -> bool:
    if operator == "equals":
        return text == wanted
    if operator == "notEqual":
        return text != wanted
    if operator == "startsWith":
        return text.startswith(wanted)
    if operator == "endsWith":
        return text.endswith(wanted)
    if operator == "notContains":
        return wanted not in text
    if operator == "blank":
        return not text
    if operator == "notBlank":
        return bool(text)
    return wanted in text


def _number(value: Any) -> float | None:
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def _text(value: Any) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def register_refresh(app: dash.Dash, grid_id: str) -> None:
    """Reload the rows ``grid_id`` shows whenever its refresh store changes (page, sort and
    filters kept): the server answers the grid's new ``getRowsRequest`` with fresh rows."""
    app.clientside_callback(
        ClientsideFunction(namespace="pcGrid", function_name="refresh"),
        Output(grid_id, "className"),
        Input(refresh_store_id(grid_id), "data"),
        State(grid_id, "id"),
        prevent_initial_call=True,
    )
