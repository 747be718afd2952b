"""The full consistency check: is the persisted state exactly the fold of the event log?

Three views of the same books are compared:

- the **rebuild**: every event from the first, folded from scratch;
- the **projection**: cash and positions that the engine wrote with each cycle's events;
- the **snapshot**: the latest valid snapshot, against the rebuild stopped at its sequence number.

It also checks the invariants of the rebuild itself: no negative cash, no short position in a
portfolio that does not allow shorts, and tax lots all on one side whose signed quantities (short
lots negative, in shares) add up to the position. Every difference is reported with the portfolio,
the field, what the events say and what was found.

A snapshot whose checksum holds but which was written in an older state format (before an upgrade
changed ``STATE_FORMAT_VERSION``) is not a difference: recovery passes over it and replays the
events instead, so it is only listed in ``outdated_snapshots``.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field

from sqlalchemy import Connection

from engine.state.engine_state import STATE_FORMAT_VERSION, EngineState
from engine.state.repository import StateRepository


@dataclass(frozen=True, slots=True)
class Difference:
    where: str
    portfolio_id: str
    field: str
    from_events: str
    found: str

    def __str__(self) -> str:
        return (
            f"{self.where}: portfolio {self.portfolio_id} {self.field}: events say "
            f"{self.from_events}, found {self.found}"
        )


@dataclass(slots=True)
class ConsistencyReport:
    events_checked: int = 0
    portfolios: int = 0
    snapshot_id: int | None = None
    snapshot_seq: int | None = None
    differences: list[Difference] = field(default_factory=list)
    outdated_snapshots: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def consistent(self) -> bool:
        return not self.differences

    def describe(self) -> str:
        outdated = len(self.outdated_snapshots)
        head = (
            f"{self.events_checked} events, {self.portfolios} portfolios, snapshot "
            f"{self.snapshot_id or 'none'}"
            f"{f' (seq {self.snapshot_seq})' if self.snapshot_seq else ''}, "
            f"{f'{outdated} older-format snapshot(s) passed over, ' if outdated else ''}"
            f"{self.seconds:.2f} s: "
        )
        if self.consistent:
            return head + "consistent: projection and snapshot equal the fold of the event log"
        lines = [head + f"{len(self.differences)} difference(s)"]
        lines += [f"  - {difference}" for difference in self.differences]
        return "\n".join(lines)


def _compare_books(
    where: str, rebuilt: EngineState, pid: str, cash: object, shares: dict[str, int]
) -> list[Difference]:
    differences = []
    expected_cash = rebuilt.ledger.cash_usd(pid)
    if cash != expected_cash:
        differences.append(Difference(where, pid, "cash_usd", str(expected_cash), str(cash)))
    expected_shares = rebuilt.ledger.holdings_of(pid)
    for symbol in sorted(set(expected_shares) | set(shares)):
        if expected_shares.get(symbol, 0) != shares.get(symbol, 0):
            differences.append(
                Difference(
                    where,
                    pid,
                    f"shares[{symbol}]",
                    str(expected_shares.get(symbol, 0)),
                    str(shares.get(symbol, 0)),
                )
            )
    return differences


def _invariants(rebuilt: EngineState) -> list[Difference]:
    differences = []
    ledger = rebuilt.ledger
    for pid in ledger.portfolio_ids:
        if ledger.cash_usd(pid) < 0:
            differences.append(
                Difference("invariant", pid, "cash_usd", ">= 0", str(ledger.cash_usd(pid)))
            )
        for symbol, quantity in ledger.holdings_of(pid).items():
            if quantity < 0 and not ledger.allows_short(pid):
                differences.append(
                    Difference(
                        "invariant",
                        pid,
                        f"shares[{symbol}]",
                        ">= 0 (shorts not allowed)",
                        str(quantity),
                    )
                )
            lots = ledger.lots(pid, symbol)
            if len({lot.short for lot in lots}) > 1:
                differences.append(
                    Difference("invariant", pid, f"lots[{symbol}]", "one side", "long and short")
                )
            in_lots = sum(lot.signed_quantity_shares for lot in lots)
            if in_lots != quantity:
                differences.append(
                    Difference(
                        "invariant", pid, f"lots[{symbol}]", f"{quantity} shares", str(in_lots)
                    )
                )
    return differences


def _older_format(
    repository: StateRepository, rejected: list[str], connection: Connection
) -> list[str]:
    """The rejection reasons (``snapshot <id> (...``, as the repository words them) of snapshots
    that are intact but were written in a state format other than ``STATE_FORMAT_VERSION``."""
    if not rejected:
        return []
    outdated = []
    for row in repository.snapshot_rows(connection):
        reasons = [reason for reason in rejected if reason.startswith(f"snapshot {row.id} (")]
        if not reasons or hashlib.sha256(row.state.encode()).hexdigest() != row.sha256:
            continue
        try:
            written_format = json.loads(row.state).get("format")
        except (ValueError, AttributeError):
            continue
        if written_format != STATE_FORMAT_VERSION:
            outdated += reasons
    return outdated


def check_consistency(repository: StateRepository) -> ConsistencyReport:
    """Compare rebuild, projection and snapshot as of one moment of the store: a running engine
    may go on appending, and what it commits meanwhile is not seen (one consistent read), so a
    live store gets the same verdict as a stopped one."""
    with repository.store.consistent_read() as connection:
        return _check(repository, connection)


def _check(repository: StateRepository, connection: Connection) -> ConsistencyReport:
    started = time.perf_counter()
    report = ConsistencyReport()
    rejected: list[str] = []
    snapshot = repository.latest_snapshot(rejected, connection)
    report.outdated_snapshots = _older_format(repository, rejected, connection)
    rejected = [reason for reason in rejected if reason not in report.outdated_snapshots]
    rebuilt = EngineState()
    # Events moved to an archive (pcoord archive): the rebuild starts from the snapshot written
    # as of the last archived event, which the archive keeps in the live store.
    floor = repository.store.archived_through(connection)
    if floor:
        base = next(
            (row for row in repository.snapshot_rows(connection) if row.last_seq == floor), None
        )
        loaded = repository.load_snapshot(base, rejected) if base is not None else None
        if loaded is None:
            report.differences.append(
                Difference("archive", "*", "snapshot", f"as of #{floor}", "missing or invalid")
            )
        else:
            rebuilt = loaded
            if snapshot is not None and snapshot.last_seq == floor:
                report.snapshot_id, report.snapshot_seq = snapshot.snapshot_id, floor
    for event in repository.store.iter_from(floor + 1, connection=connection):
        rebuilt.apply(event)
        report.events_checked += 1
        if snapshot is not None and event.seq == snapshot.last_seq:
            report.snapshot_id, report.snapshot_seq = snapshot.snapshot_id, snapshot.last_seq
            if rebuilt.ledger_digest() != snapshot.state.ledger_digest():
                for pid in rebuilt.ledger.portfolio_ids:
                    theirs = snapshot.state.ledger
                    found_cash = theirs.cash_usd(pid) if pid in theirs.portfolio_ids else None
                    found_shares = theirs.holdings_of(pid) if pid in theirs.portfolio_ids else {}
                    report.differences += _compare_books(
                        f"snapshot {snapshot.snapshot_id}", rebuilt, pid, found_cash, found_shares
                    )
                if not report.differences:
                    report.differences.append(
                        Difference(
                            f"snapshot {snapshot.snapshot_id}",
                            "*",
                            "tax lots, settlements, interest or open orders",
                            rebuilt.ledger_digest()[:12],
                            snapshot.state.ledger_digest()[:12],
                        )
                    )
    if snapshot is not None and report.snapshot_id is None:
        report.differences.append(
            Difference(
                f"snapshot {snapshot.snapshot_id}",
                "*",
                "last_seq",
                f"<= {report.events_checked} events",
                str(snapshot.last_seq),
            )
        )
    report.differences += [
        Difference("snapshot", "*", "checksum", "valid", reason) for reason in rejected
    ]
    projection = repository.read_projection(connection)
    report.portfolios = len(rebuilt.ledger.portfolio_ids)
    for pid in rebuilt.ledger.portfolio_ids:
        stored = projection.get(pid, {"cash_usd": None, "shares": {}})
        report.differences += _compare_books(
            "projection", rebuilt, pid, stored["cash_usd"], stored["shares"]
        )
    for pid in sorted(set(projection) - set(rebuilt.ledger.portfolio_ids)):
        report.differences.append(Difference("projection", pid, "portfolio", "absent", "present"))
    report.differences += _invariants(rebuilt)
    report.seconds = time.perf_counter() - started
    return report
