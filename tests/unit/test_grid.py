"""Server-side paging, sorting and filtering for the dashboard's grids (components/grid.py)."""

from components.grid import serve_rows

ROWS = [
    {"order_id": f"o{i:03d}", "symbol": symbol, "notional_usd": notional, "day": day}
    for i, (symbol, notional, day) in enumerate(
        [
            ("AAPL", 1500.0, "2020-03-02"),
            ("MSFT", -250.5, "2020-03-03"),
            ("AAPL", 99.0, "2020-03-04"),
            ("GOOG", None, "2020-03-05"),
            ("amzn", 12000.0, "2020-03-06"),
        ]
    )
]


def test_a_page_is_a_slice_with_the_full_count() -> None:
    page = serve_rows(ROWS, {"startRow": 2, "endRow": 4})
    assert [row["order_id"] for row in page["rowData"]] == ["o002", "o003"]
    assert page["rowCount"] == 5


def test_sorting_is_numeric_with_missing_values_last_both_ways() -> None:
    ascending = serve_rows(ROWS, {"sortModel": [{"colId": "notional_usd", "sort": "asc"}]})
    assert [r["notional_usd"] for r in ascending["rowData"]] == [
        -250.5,
        99.0,
        1500.0,
        12000.0,
        None,
    ]
    descending = serve_rows(ROWS, {"sortModel": [{"colId": "notional_usd", "sort": "desc"}]})
    assert [r["notional_usd"] for r in descending["rowData"]][:2] == [12000.0, 1500.0]


def test_text_sort_ignores_case_and_a_second_key_breaks_ties() -> None:
    request = {"sortModel": [{"colId": "symbol", "sort": "asc"}, {"colId": "day", "sort": "desc"}]}
    rows = serve_rows(ROWS, request)["rowData"]
    assert [(r["symbol"], r["day"]) for r in rows] == [
        ("AAPL", "2020-03-04"),
        ("AAPL", "2020-03-02"),
        ("amzn", "2020-03-06"),
        ("GOOG", "2020-03-05"),
        ("MSFT", "2020-03-03"),
    ]


def test_filters_count_what_they_keep() -> None:
    text = serve_rows(
        ROWS,
        {"filterModel": {"symbol": {"filterType": "text", "type": "contains", "filter": "aa"}}},
    )
    assert [r["order_id"] for r in text["rowData"]] == ["o000", "o002"]
    number = serve_rows(
        ROWS,
        {
            "filterModel": {
                "notional_usd": {"filterType": "number", "type": "greaterThan", "filter": 100}
            },
            "endRow": 1,
        },
    )
    assert number["rowCount"] == 2
    assert [r["order_id"] for r in number["rowData"]] == ["o000"]
    in_range = serve_rows(
        ROWS,
        {
            "filterModel": {
                "notional_usd": {
                    "filterType": "number",
                    "type": "inRange",
                    "filter": -300,
                    "filterTo": 100,
                }
            }
        },
    )
    assert [r["order_id"] for r in in_range["rowData"]] == ["o001", "o002"]


def test_a_request_cannot_ask_for_more_than_a_bounded_block() -> None:
    many = [{"i": i} for i in range(2000)]
    page = serve_rows(many, {"startRow": 0, "endRow": 100_000})
    assert len(page["rowData"]) == 500
    assert page["rowCount"] == 2000
