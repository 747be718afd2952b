"""Signal files (CSV or JSON) for ``pcoord signals import``: read them, send them, or check them.

Reading turns a file into raw signal mappings and remembers where each came from (a CSV line or a
JSON index), so a rejection can point at the row to fix. Validation is not done here: a running
engine validates what ``import_signals`` posts to ``/api/signals``, and ``check_signals`` runs the
engine's own ``SignalIntake`` offline for a dry run. The CSV reader therefore converts only what a
CSV cannot say (numbers) and leaves every wrong value for the validator to name.
"""

from __future__ import annotations

import csv
import http.client
import io
import json
import math
import re
import urllib.error
import urllib.request
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from engine.signals.intake import SignalIntake
from engine.signals.validation import (
    OPTIONAL_FIELDS,
    REQUIRED_FIELDS,
    ExternalSourceSpec,
    RateLimiter,
    SignalValidator,
)

SIGNALS_PATH = "/api/signals"
NUMBER_FIELDS = frozenset({"score", "confidence", "ttl_days"})
SCHEMA_FIELDS = frozenset(REQUIRED_FIELDS + OPTIONAL_FIELDS)
# Cells past the header's last column, kept under a name the validator rejects as unknown.
EXTRA_CELLS = "(cells past the header)"
_INTEGER = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")


class SignalFileError(Exception):
    """The file cannot be read or is not a signal file; the message says why."""


@dataclass(frozen=True, slots=True)
class SignalFile:
    path: Path
    signals: list[object]
    rows: list[str]  # where each signal is in the file: "line 7" (CSV) or "[3]" (JSON)

    def __len__(self) -> int:
        return len(self.signals)


@dataclass(frozen=True, slots=True)
class Rejection:
    row: str
    signal_id: str | None
    field: str
    reason: str


@dataclass(slots=True)
class ImportResult:
    """What the engine (or the dry run) answered for a whole file."""

    accepted: int = 0
    rejected: int = 0
    duplicates: int = 0
    market_date: str | None = None
    requests: int = 0
    rejections: list[Rejection] = field(default_factory=list)

    def add(self, rows: Sequence[str], results: Sequence[Mapping[str, Any]]) -> None:
        """Count one chunk's per-signal results; ``rows`` locates that chunk's signals."""
        for result in results:
            status = result.get("status")
            if status == "accepted":
                self.accepted += 1
            elif status == "duplicate":
                self.duplicates += 1
            else:
                self.rejected += 1
                index = result.get("index")
                row = rows[index] if isinstance(index, int) and 0 <= index < len(rows) else "?"
                self.rejections.append(
                    Rejection(
                        row,
                        result.get("id"),
                        str(result.get("field") or "(signal)"),
                        str(result.get("reason") or "rejected"),
                    )
                )


class ServerError(Exception):
    """The server could not be reached or refused a request.

    ``partial`` holds what the lists sent before the failed one got (None: nothing was sent).
    """

    def __init__(
        self, message: str, partial: ImportResult | None = None, reached: bool = False
    ) -> None:
        super().__init__(message)
        self.message = message
        self.partial = partial
        # The request reached the server, so the failed list may have reached the engine too.
        self.reached = reached


# -- reading -------------------------------------------------------------------------------------
def csv_cell(field_name: str, text: str) -> object:
    """A CSV cell as the value JSON would have carried: numbers for the numeric fields.

    A cell that is not a plain finite number (``"high"``, ``"nan"``, ``"1e999"``) stays a string,
    so the engine rejects it naming the field and the value rather than some converted stand-in.
    """
    if field_name not in NUMBER_FIELDS:
        return text
    stripped = text.strip()
    try:
        if _INTEGER.fullmatch(stripped):
            number: int | float = int(stripped)
            float(number)  # an integer too large for a float is not a usable number
            return number
        if _DECIMAL.fullmatch(stripped):
            number = float(stripped)
            return number if math.isfinite(number) else text
    except (ValueError, OverflowError):
        pass
    return text


def _csv_signals(path: Path, text: str) -> SignalFile:
    # newline="": line ends are the csv module's to read (a quoted cell may hold one).
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None or not any(cell.strip() for cell in header):
            raise SignalFileError(
                f"{path}: empty; a CSV signal file starts with a header row naming the fields "
                f"({', '.join(REQUIRED_FIELDS + OPTIONAL_FIELDS)})"
            )
        names = [cell.strip() for cell in header]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise SignalFileError(f"{path}: line 1: the header names {repeated} more than once")
        signals: list[object] = []
        rows: list[str] = []
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue  # blank lines, often one at the end of a file
            signal: dict[str, object] = {}
            for name, cell in zip(names, cells, strict=False):
                # Empty cells of the schema's fields are left out: an absent ttl_days takes the
                # source's default, an absent required field is rejected as "is required".
                if name in SCHEMA_FIELDS and not cell.strip():
                    continue
                signal[name] = csv_cell(name, cell)
            if len(cells) > len(names):
                signal[EXTRA_CELLS] = cells[len(names) :]
            signals.append(signal)
            rows.append(f"line {reader.line_num}")
    except csv.Error as exc:
        raise SignalFileError(f"{path}: line {reader.line_num}: not valid CSV ({exc})") from None
    return SignalFile(path, signals, rows)


def _json_signals(path: Path, text: str) -> SignalFile:
    try:
        parsed = json.loads(text)
    except ValueError as exc:
        raise SignalFileError(f"{path}: not valid JSON ({exc})") from None
    except RecursionError:
        raise SignalFileError(f"{path}: not valid JSON (it nests too deeply)") from None
    if not isinstance(parsed, list):
        raise SignalFileError(
            f"{path}: holds a JSON {type(parsed).__name__}; a JSON signal file holds a list of "
            "signal objects"
        )
    return SignalFile(path, parsed, [f"[{index}]" for index in range(len(parsed))])


def read_signal_file(path: Path) -> SignalFile:
    """The signals in a ``.csv`` (a header row, one signal per line) or ``.json`` (a list) file."""
    suffix = path.suffix.lower()
    if suffix not in {".csv", ".json"}:
        raise SignalFileError(f"{path}: name a .csv or .json file (the suffix says which it is)")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise SignalFileError(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise SignalFileError(
            f"{path}: not UTF-8 text (byte {exc.start}: {exc.reason}); save it as UTF-8"
        ) from None
    return _csv_signals(path, text) if suffix == ".csv" else _json_signals(path, text)


def chunks(signal_file: SignalFile, size: int) -> Iterator[tuple[list[object], list[str]]]:
    for start in range(0, len(signal_file), size):
        yield signal_file.signals[start : start + size], signal_file.rows[start : start + size]


# -- sending -------------------------------------------------------------------------------------
def post_signals(
    url: str, signals: list[object], actor: str, timeout_s: float = 120.0
) -> dict[str, Any]:
    """POST one list to ``url``'s ``/api/signals``; the server's answer, or ``ServerError``."""
    request = urllib.request.Request(
        url.rstrip("/") + SIGNALS_PATH,
        data=json.dumps(signals).encode("utf-8"),
        headers={
            "Content-Type": "application/json",
            "X-Pcoord-Actor": actor,
            "X-Pcoord-Channel": "file",
        },
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            answer = json.load(response)
    except urllib.error.HTTPError as exc:
        raise ServerError(
            f"the server answered {exc.code}: {_error_text(exc)}", reached=True
        ) from None
    except urllib.error.URLError as exc:
        raise ServerError(
            f"cannot reach {url} ({exc.reason}); is `pcoord serve` running there?"
        ) from None
    except (OSError, http.client.HTTPException) as exc:
        # Connected, then cut off or timed out waiting: the server may have taken the list.
        raise ServerError(
            f"the connection to {url} failed ({type(exc).__name__}: {exc})", reached=True
        ) from None
    except ValueError as exc:
        # An answer that is not JSON: something other than pcoord listens there.
        raise ServerError(
            f"{url} did not answer in JSON ({exc}); give the URL of `pcoord serve`, "
            "e.g. http://127.0.0.1:8050",
            reached=True,
        ) from None
    if not isinstance(answer, dict) or not isinstance(answer.get("results"), list):
        raise ServerError(
            f"{url} answered something other than pcoord's signal results", reached=True
        )
    return answer


def _error_text(error: urllib.error.HTTPError) -> str:
    try:
        body = error.read()
        return str(json.loads(body)["error"])
    except Exception:
        # Not pcoord's JSON error (a proxy, another server): its status line says enough.
        return str(error.reason)


def import_signals(
    signal_file: SignalFile,
    url: str,
    actor: str,
    batch_size: int,
    progress: Callable[[int], None] = lambda sent: None,
) -> ImportResult:
    """Send the file in lists of at most ``batch_size``; stops at the first failed request with
    ``ServerError`` (after ``result`` counted the lists that went in)."""
    result = ImportResult()
    for signals, rows in chunks(signal_file, batch_size):
        try:
            answer = post_signals(url, signals, actor)
        except ServerError as exc:
            partial = result if result.requests else None
            raise ServerError(exc.message, partial, exc.reached) from None
        result.requests += 1
        result.market_date = answer.get("market_date")
        result.add(rows, answer["results"])
        progress(len(signals))
    return result


# -- checking offline ----------------------------------------------------------------------------
def _date_of(raw: object) -> date | None:
    """The signal's timestamp as a date, read as the validator reads it, or None."""
    value = raw.get("timestamp") if isinstance(raw, Mapping) else None
    if not isinstance(value, str):
        return None
    text = value.strip()
    try:
        return date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text).date()
    except ValueError:
        return None


def latest_timestamp(signal_file: SignalFile) -> date | None:
    return max(filter(None, map(_date_of, signal_file.signals)), default=None)


def check_signals(
    signal_file: SignalFile,
    symbols: Collection[str],
    sources: Mapping[str, ExternalSourceSpec],
    as_of: date | None,
    batch_size: int,
    progress: Callable[[int], None] = lambda checked: None,
) -> ImportResult:
    """What the engine would answer for the file at market date ``as_of``, sent all at once.

    The engine's own intake runs here, with a clock that does not move: the whole file arrives
    within the rate limit's minute, as an import would. Only ids already accepted by the engine
    cannot be known offline, so a duplicate here is a repeat within the file.
    """
    intake = SignalIntake(
        SignalValidator(symbols, sources), sources, RateLimiter(clock=lambda: 0.0)
    )
    accepted_ids: set[str] = set()
    result = ImportResult(market_date=as_of.isoformat() if as_of else None)
    for signals, rows in chunks(signal_file, batch_size):
        answers = []
        # One at a time, so a signal the validator fails on (rather than rejects) is pinned to
        # its row instead of sinking the whole list.
        for index, raw in enumerate(signals):
            try:
                (outcome,) = intake.review([raw], as_of, accepted_ids.__contains__)
            except Exception as exc:
                answers.append(_unchecked(index, raw, exc))
                continue
            if outcome.status == "accepted" and outcome.signal_id:
                accepted_ids.add(outcome.signal_id)
            answers.append({**outcome.as_json(), "index": index})
        result.add(rows, answers)
        progress(len(signals))
    return result


def _unchecked(index: int, raw: object, error: Exception) -> dict[str, object]:
    signal_id = raw.get("id") if isinstance(raw, Mapping) else None
    return {
        "index": index,
        "id": signal_id if isinstance(signal_id, str) else None,
        "status": "rejected",
        "field": "(signal)",
        "reason": f"the validator failed on it ({type(error).__name__}: {error}); "
        "the engine would refuse the whole list it is in",
    }
