"""``pcoord signals import FILE``: CSV and JSON files into a live engine over HTTP, and dry runs.

The command runs in-process (``app.cli.main``) against a real server on 127.0.0.1; what it prints
is checked line by line, and what it claims went in is checked in the engine's event log.
"""

from __future__ import annotations

import json
import re
import socket
from datetime import date, timedelta
from pathlib import Path

import pytest

from app.cli import main
from engine.model import Event
from tests.integration.conftest import SIGNAL_TEST_MAX_PER_REQUEST, SignalServer

HEADER = "id,source,instrument,timestamp,horizon,score,confidence,ttl_days"


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def received(server: SignalServer) -> dict[str, Event]:
    events = server.runtime.store.read_from(1, event_types=frozenset({"SignalReceived"}))
    return {event.payload["signal_id"]: event for event in events}


def today_of(server: SignalServer) -> date:
    found = server.runtime.runner.snapshot().market_date
    assert found is not None
    return found


def rejection_line(out: str, row: str, signal_id: str, field: str) -> str:
    """The printed rejection of ``row``: its row, id and field in that order, then the reason."""
    pattern = rf"^\s+{re.escape(row)}\s+{re.escape(signal_id)}\s+{re.escape(field)}: (.+)$"
    found = re.search(pattern, out, re.MULTILINE)
    assert found, f"no rejection line for {row} {signal_id} {field} in:\n{out}"
    return found.group(1)


def signal(signal_id: str, on: date, **changes: object) -> dict[str, object]:
    fields: dict[str, object] = {
        "id": signal_id,
        "source": "analyst_desk",
        "instrument": "AAPL",
        "timestamp": on.isoformat(),
        "horizon": "1m",
        "score": 0.3,
        "confidence": 0.6,
    }
    fields.update(changes)
    return fields


def test_a_csv_import_lists_each_rejection_by_line_and_exits_1(
    paused_signal_server: SignalServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = paused_signal_server
    day = today_of(server).isoformat()
    path = tmp_path / "views.csv"
    path.write_text(
        f"{HEADER}\n"
        f"csv-aapl,analyst_desk,AAPL,{day},1m,0.5,0.8,\n"  # line 2: ttl_days left to the desk
        f"csv-high,analyst_desk,MSFT,{day},1m,high,0.8,\n"  # line 3: score is not a number
        "\n"  # line 4: blank, skipped
        f"csv-zzzz,analyst_desk,ZZZZ,{day},3m,0.2,0.5,5\n"  # line 5: no such instrument
        f"csv-msft,analyst_desk,MSFT,{day},3m,-0.25,0.5,5\n"  # line 6
        f"csv-noconf,analyst_desk,JPM,{day},1w,0.1,,\n"  # line 7: confidence empty
        f"csv-risk,risk_desk,XOM,{day},1d,-1,1,\n",  # line 8
        encoding="utf-8",
    )

    code, out, err = run(
        ["signals", "import", str(path), "--url", server.url, "--actor", "tester"], capsys
    )

    assert code == 1, err
    assert "accepted 3, rejected 3, duplicates 0" in out
    assert "must be a number" in rejection_line(out, "line 3", "csv-high", "score")
    assert "universe" in rejection_line(out, "line 5", "csv-zzzz", "instrument")
    assert "is required" in rejection_line(out, "line 7", "csv-noconf", "confidence")
    taken = received(server)
    assert set(taken) == {"csv-aapl", "csv-msft", "csv-risk"}
    assert {e.actor for e in taken.values()} == {"api:tester"}
    assert {e.payload["channel"] for e in taken.values()} == {"file"}
    # Numbers arrive as numbers, an empty ttl_days as the source's default (10 for the desk).
    assert (taken["csv-msft"].payload["score"], taken["csv-msft"].payload["ttl_days"]) == (-0.25, 5)
    assert taken["csv-aapl"].payload["ttl_days"] == 10
    rejected = server.runtime.store.read_from(1, event_types=frozenset({"SignalRejected"}))
    assert {(e.payload["signal_id"], e.payload["channel"]) for e in rejected} == {
        ("csv-high", "file"),
        ("csv-zzzz", "file"),
        ("csv-noconf", "file"),
    }


def test_a_clean_json_import_exits_0_and_importing_it_again_only_finds_duplicates(
    paused_signal_server: SignalServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = paused_signal_server
    day = today_of(server)
    path = tmp_path / "views.json"
    sent = [
        signal("json-1", day),
        signal("json-2", day, instrument="MSFT", ttl_days=3),
        signal("json-3", day, source="risk_desk", instrument="KO", horizon="1d", score=-0.9),
    ]
    path.write_text(json.dumps(sent), encoding="utf-8")
    argv = ["signals", "import", str(path), "--url", server.url]

    code, out, _ = run(argv, capsys)
    assert code == 0
    assert "accepted 3, rejected 0, duplicates 0" in out
    assert f"engine market date {day.isoformat()}" in out
    assert "rejected:" not in out
    assert set(received(server)) == {"json-1", "json-2", "json-3"}

    code, out, _ = run(argv, capsys)
    assert code == 0
    assert "accepted 0, rejected 0, duplicates 3" in out
    assert len(received(server)) == 3


def test_json_rejections_are_listed_by_index(
    paused_signal_server: SignalServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = paused_signal_server
    day = today_of(server)
    path = tmp_path / "views.json"
    sent = [
        signal("j-ok", day),
        signal("j-high", day, score=1.5),
        "not a signal",
        signal("j-future", day, timestamp=(day + timedelta(days=10)).isoformat()),
    ]
    path.write_text(json.dumps(sent), encoding="utf-8")

    code, out, _ = run(["signals", "import", str(path), "--url", server.url], capsys)

    assert code == 1
    assert "accepted 1, rejected 3, duplicates 0" in out
    assert "between -1 and 1" in rejection_line(out, "[1]", "j-high", "score")
    assert "JSON object" in rejection_line(out, "[2]", "-", "(signal)")
    assert "after the engine's market date" in rejection_line(out, "[3]", "j-future", "timestamp")
    assert set(received(server)) == {"j-ok"}


def _many(day: date, n: int, stocks: list[str]) -> list[dict[str, object]]:
    return [signal(f"bulk-{k}", day, instrument=stocks[k % len(stocks)]) for k in range(n)]


def test_a_large_file_goes_in_lists_no_longer_than_the_batch_size(
    paused_signal_server: SignalServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = paused_signal_server
    stocks = [i.symbol for i in server.runtime.runner.snapshot().instruments]
    n = SIGNAL_TEST_MAX_PER_REQUEST + 5
    path = tmp_path / "bulk.json"
    path.write_text(json.dumps(_many(today_of(server), n, stocks)), encoding="utf-8")

    # In one list the file is over the server's limit: refused, naming it, nothing taken.
    code, out, err = run(["signals", "import", str(path), "--url", server.url], capsys)
    assert code == 2
    assert "413" in err and f"at most {SIGNAL_TEST_MAX_PER_REQUEST}" in err
    assert "Traceback" not in err
    assert received(server) == {}

    code, out, err = run(
        ["signals", "import", str(path), "--url", server.url, "--batch-size", "20"], capsys
    )
    assert code == 0
    assert f"{n} signals from {path} sent to {server.url} in 3 requests" in out
    assert f"accepted {n}, rejected 0, duplicates 0" in out
    assert f"{n}/{n}" in err  # the progress bar reached the end
    assert len(received(server)) == n


def test_no_progress_bar_with_no_progress(
    paused_signal_server: SignalServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = paused_signal_server
    stocks = [i.symbol for i in server.runtime.runner.snapshot().instruments]
    path = tmp_path / "bulk.json"
    path.write_text(json.dumps(_many(today_of(server), 10, stocks)), encoding="utf-8")

    code, _, err = run(
        ["signals", "import", str(path), "--url", server.url, "--batch-size", "3", "--no-progress"],
        capsys,
    )

    assert code == 0
    assert err == ""


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("missing.csv", None, "cannot read"),
        ("views.txt", b"id\n", "name a .csv or .json file"),
        ("broken.json", b'[{"id": ', "not valid JSON"),
        ("object.json", b'{"id": "x"}', "holds a JSON dict; a JSON signal file holds a list"),
        ("latin1.csv", HEADER.encode() + b"\ncaf\xe9,analyst_desk\n", "not UTF-8"),
        ("empty.csv", b"", "empty; a CSV signal file starts with a header row"),
        ("twice.csv", b"id,score,score\n", "names ['score'] more than once"),
    ],
)
def test_a_file_that_cannot_be_read_exits_2_saying_why(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    content: bytes | None,
    words: str,
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)

    code, out, err = run(["signals", "import", str(path), "--url", "http://127.0.0.1:9"], capsys)

    assert code == 2
    assert err.startswith("pcoord: ") and words in err
    assert "Traceback" not in err
    assert out == ""


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_an_unreachable_server_exits_2_saying_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "views.json"
    path.write_text(json.dumps([signal("u-1", date(2006, 1, 5))]), encoding="utf-8")
    url = f"http://127.0.0.1:{_closed_port()}"

    code, _, err = run(["signals", "import", str(path), "--url", url], capsys)

    assert code == 2
    assert f"pcoord: cannot reach {url}" in err
    assert "Traceback" not in err


def test_a_server_whose_engine_stopped_exits_2_with_its_reason(
    signal_server: SignalServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "views.json"
    path.write_text(json.dumps([signal("s-1", today_of(signal_server))]), encoding="utf-8")
    signal_server.runtime.runner.stop()

    code, _, err = run(["signals", "import", str(path), "--url", signal_server.url], capsys)

    assert code == 2
    assert "503" in err and "the engine is not running" in err
    assert "importing the file again is safe" in err


def test_a_url_without_a_scheme_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["signals", "import", str(tmp_path / "v.csv"), "--url", "127.0.0.1:8050"])

    assert stopped.value.code == 2
    assert "is not an http:// or https:// URL" in capsys.readouterr().err


# -- dry runs: the config's schema, no server ----------------------------------------------------
AS_OF = date(2010, 6, 15)  # a Tuesday inside the bundled history


def test_a_dry_run_checks_the_file_against_the_config_and_sends_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    day = AS_OF.isoformat()
    old = (AS_OF - timedelta(days=60)).isoformat()
    path = tmp_path / "views.csv"
    path.write_text(
        f"{HEADER}\n"
        f"d-ok,analyst_desk,AAPL,{day},1m,0.5,0.8,\n"  # line 2
        f"d-stale,analyst_desk,MSFT,{old},1m,0.5,0.8,\n"  # line 3: 60 days > 10 business days
        f"d-model,momentum,MSFT,{day},1m,0.5,0.8,\n"  # line 4: a model, not an external source
        f"d-ok,analyst_desk,AAPL,{day},1m,0.5,0.8,\n"  # line 5: repeats line 2
        f"d-risk,risk_desk,XOM,{old},1d,-0.5,0.9,60\n",  # line 6: its own ttl covers it
        encoding="utf-8",
    )
    nowhere = f"http://127.0.0.1:{_closed_port()}"

    code, out, err = run(
        ["signals", "import", str(path), "--dry-run", "--as-of", day, "--url", nowhere], capsys
    )

    assert code == 1, err
    assert "dry run" in out and "nothing sent" in out
    assert f"as of {day} (--as-of)" in out
    assert "analyst_desk, risk_desk" in out
    assert "accepted 2, rejected 2, duplicates 1" in out
    assert "stale" in rejection_line(out, "line 3", "d-stale", "timestamp")
    assert "registered external source" in rejection_line(out, "line 4", "d-model", "source")


def test_a_dry_run_without_as_of_checks_dates_against_the_files_latest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    latest = AS_OF
    path = tmp_path / "views.json"
    path.write_text(
        json.dumps(
            [
                signal("early", latest - timedelta(days=1)),
                signal("latest", latest, instrument="MSFT"),
            ]
        ),
        encoding="utf-8",
    )

    code, out, _ = run(["signals", "import", str(path), "--dry-run"], capsys)

    assert code == 0
    assert f"dates checked as of {latest.isoformat()}, the file's latest timestamp" in out
    assert "--as-of DATE" in out
    assert "accepted 2, rejected 0, duplicates 0" in out
