"""Commands: the only way a person (through the dashboard, API or CLI) changes what the engine does.

Commands are put on the runner's thread-safe queue and applied by the engine thread at the start of
its next cycle; each applied command becomes an audited ``CommandApplied`` event naming the actor
and the reason.
"""

from __future__ import annotations

import math
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from engine.rebalancing.triggers import RebalancePolicy
from engine.risk.limits import KINDS, TRADING_STATES, make_limit


class CommandRefused(RuntimeError):
    """The engine behind this view cannot take commands (for example a read-only follower)."""


class CommandReply(Future):
    """The engine's answer to a command, and ``seq``: the sequence of the last event stored when
    the command was applied (0 when nothing was stored yet). A page that sent the command shows
    its effect once the snapshot it reads has ``event_seq >= seq``."""

    def __init__(self) -> None:
        super().__init__()
        self.seq: int | None = None


MAX_ACTOR_CHARS = 128  # the event store's actor column


@dataclass(frozen=True, slots=True)
class Command:
    actor: str
    reason: str

    def __post_init__(self) -> None:
        # Checked here, not at the store: an event the store refuses would hold back every
        # event queued after it.
        if not isinstance(self.actor, str) or not self.actor.strip():
            raise ValueError(f"{self.name}.actor: say who is acting")
        if len(self.actor) > MAX_ACTOR_CHARS:
            raise ValueError(f"{self.name}.actor: longer than {MAX_ACTOR_CHARS} characters")

    @property
    def name(self) -> str:
        return type(self).__name__

    def details(self) -> dict[str, object]:
        return {}


def _require_reason(command: Command) -> None:
    if not isinstance(command.reason, str) or not command.reason.strip():
        raise ValueError(f"{command.name}.reason: say why (it goes into the audit trail)")


# -- the replay clock -----------------------------------------------------------------------
# Each clock command needs a reason and becomes a ``CommandApplied`` event; its ``reply`` is
# answered with what the clock does now, or refused (nothing recorded) with the field and why.


@dataclass(frozen=True, slots=True)
class Pause(Command):
    reply: CommandReply = field(default_factory=CommandReply, compare=False, repr=False)

    def __post_init__(self) -> None:
        Command.__post_init__(self)
        _require_reason(self)


@dataclass(frozen=True, slots=True)
class Resume(Command):
    reply: CommandReply = field(default_factory=CommandReply, compare=False, repr=False)

    def __post_init__(self) -> None:
        Command.__post_init__(self)
        _require_reason(self)


@dataclass(frozen=True, slots=True)
class Step(Command):
    """Run exactly one cycle (the next trading day) while the clock is paused."""

    reply: CommandReply = field(default_factory=CommandReply, compare=False, repr=False)

    def __post_init__(self) -> None:
        Command.__post_init__(self)
        _require_reason(self)


@dataclass(frozen=True, slots=True)
class JumpTo(Command):
    """Run every cycle up to ``market_date`` at full speed, then pause: the state stays a true
    replay of each day. A date not after the current market date is a ``RestartFrom``."""

    market_date: date | None = None
    reply: CommandReply = field(default_factory=CommandReply, compare=False, repr=False)

    def __post_init__(self) -> None:
        Command.__post_init__(self)
        _require_reason(self)
        if not isinstance(self.market_date, date):
            raise ValueError("JumpTo.market_date: give the market date to jump to (YYYY-MM-DD)")

    def details(self) -> dict[str, object]:
        return {"market_date": self.market_date.isoformat() if self.market_date else None}


@dataclass(frozen=True, slots=True)
class RestartFrom(Command):
    """Start the replay again from ``market_date``: every portfolio back to its opening capital,
    working orders, overrides, alerts and trading states cleared (risk limits kept), and the
    market feed restarted on the first trading day on or after the date (``ReplayRestarted``)."""

    market_date: date | None = None
    reply: CommandReply = field(default_factory=CommandReply, compare=False, repr=False)

    def __post_init__(self) -> None:
        Command.__post_init__(self)
        _require_reason(self)
        if not isinstance(self.market_date, date):
            raise ValueError(
                "RestartFrom.market_date: give the market date to restart from (YYYY-MM-DD)"
            )

    def details(self) -> dict[str, object]:
        return {"market_date": self.market_date.isoformat() if self.market_date else None}


MAX_SPEED_DAYS_PER_SECOND = 1000.0


@dataclass(frozen=True, slots=True)
class SetSpeed(Command):
    """Replay speed in trading days per second of wall time."""

    days_per_second: float = 1.0
    reply: CommandReply = field(default_factory=CommandReply, compare=False, repr=False)

    def __post_init__(self) -> None:
        Command.__post_init__(self)
        _require_reason(self)
        if not math.isfinite(self.days_per_second) or not (
            0 < self.days_per_second <= MAX_SPEED_DAYS_PER_SECOND
        ):
            raise ValueError(
                f"SetSpeed.days_per_second: {self.days_per_second} must be in "
                f"(0, {MAX_SPEED_DAYS_PER_SECOND:g}] trading days per second"
            )

    def details(self) -> dict[str, object]:
        return {"days_per_second": self.days_per_second}


@dataclass(frozen=True, slots=True)
class SubmitSignals(Command):
    """External signals (raw mappings, as parsed from JSON or a file) for the engine to validate.

    The engine answers on ``reply`` with one ``SignalOutcome`` per signal, in order.
    """

    signals: tuple[object, ...] = ()
    channel: str = "api"
    reply: CommandReply = field(default_factory=CommandReply, compare=False, repr=False)


OVERRIDE_KINDS = ("pin", "veto")


@dataclass(frozen=True, slots=True)
class SetOverride(Command):
    """A portfolio manager pins an instrument's coordinated signal or vetoes the instrument.

    ``portfolio_id = "*"`` applies to every portfolio; ``expires_on`` is the last market date it
    applies to (None: until lifted). The engine answers on ``reply`` with the ``Override``.
    """

    kind: str = "veto"
    portfolio_id: str = "*"
    symbol: str = ""
    score: float = 0.0
    confidence: float = 1.0
    expires_on: date | None = None
    reply: CommandReply = field(default_factory=CommandReply, compare=False, repr=False)

    def __post_init__(self) -> None:
        Command.__post_init__(self)
        if self.kind not in OVERRIDE_KINDS:
            raise ValueError(f"SetOverride.kind: {self.kind!r} must be 'pin' or 'veto'")
        if not self.symbol:
            raise ValueError("SetOverride.symbol: name the instrument to override")
        if not self.reason.strip():
            raise ValueError("SetOverride.reason: say why (it goes into the audit trail)")
        if not (math.isfinite(self.score) and -1.0 <= self.score <= 1.0):
            raise ValueError(f"SetOverride.score: {self.score} must be between -1 and 1")
        if not (math.isfinite(self.confidence) and 0.0 <= self.confidence <= 1.0):
            raise ValueError(f"SetOverride.confidence: {self.confidence} must be between 0 and 1")
        if self.kind == "pin" and self.confidence == 0:
            raise ValueError("SetOverride.confidence: a pin with confidence 0 would have no effect")

    def details(self) -> dict[str, object]:
        return {"kind": self.kind, "portfolio_id": self.portfolio_id, "instrument": self.symbol}


@dataclass(frozen=True, slots=True)
class LiftOverride(Command):
    """Ends an active override before its expiry; the engine answers on ``reply``."""

    override_id: str = ""
    reply: CommandReply = field(default_factory=CommandReply, compare=False, repr=False)

    def details(self) -> dict[str, object]:
        return {"override_id": self.override_id}


@dataclass(frozen=True, slots=True)
class SetWeightOverride(Command):
    """A portfolio manager pins an instrument's target weight in one portfolio (``weight``, a
    fraction of NAV, negative for a short in a long/short book) or excludes it (``weight`` None).
    It holds until lifted; the engine answers on ``reply`` with the override's event payload."""

    portfolio_id: str = ""
    symbol: str = ""
    weight: float | None = None
    reply: CommandReply = field(default_factory=CommandReply, compare=False, repr=False)

    def __post_init__(self) -> None:
        Command.__post_init__(self)
        if not self.portfolio_id:
            raise ValueError("SetWeightOverride.portfolio_id: name the portfolio")
        if not self.symbol:
            raise ValueError("SetWeightOverride.symbol: name the instrument")
        if not self.reason.strip():
            raise ValueError("SetWeightOverride.reason: say why (it goes into the audit trail)")
        if self.weight is not None and not (
            math.isfinite(self.weight) and -1.0 <= self.weight <= 1.0
        ):
            raise ValueError(
                f"SetWeightOverride.weight: {self.weight} must be between -1 and 1 (of NAV)"
            )

    def details(self) -> dict[str, object]:
        return {"portfolio_id": self.portfolio_id, "instrument": self.symbol, "weight": self.weight}


@dataclass(frozen=True, slots=True)
class RequestRebalance(Command):
    """A portfolio manager asks for a rebalance of one portfolio at the next close, whatever its
    calendar and bands say (the manual trigger, docs/rebalancing.md). With ``preview`` the
    rebalance is proposed for approval first, even if the portfolio's policy trades without
    one. The engine answers on ``reply`` with the request's event payload."""

    portfolio_id: str = ""
    preview: bool = False
    reply: CommandReply = field(default_factory=CommandReply, compare=False, repr=False)

    def __post_init__(self) -> None:
        Command.__post_init__(self)
        if not self.portfolio_id:
            raise ValueError("RequestRebalance.portfolio_id: name the portfolio")
        _require_reason(self)

    def details(self) -> dict[str, object]:
        return {"portfolio_id": self.portfolio_id, "preview": self.preview}


@dataclass(frozen=True, slots=True)
class SetRebalancePolicy(Command):
    """A portfolio manager replaces a portfolio's rebalance policy (its calendar, bands, risk
    breach trigger and approval) from the next close on; recorded as ``RebalancePolicySet``
    with the policy it replaced. The engine answers on ``reply`` with the event's payload."""

    portfolio_id: str = ""
    policy: RebalancePolicy = field(default_factory=RebalancePolicy)
    reply: CommandReply = field(default_factory=CommandReply, compare=False, repr=False)

    def __post_init__(self) -> None:
        Command.__post_init__(self)
        if not self.portfolio_id:
            raise ValueError("SetRebalancePolicy.portfolio_id: name the portfolio")
        if not isinstance(self.policy, RebalancePolicy):
            raise ValueError("SetRebalancePolicy.policy: give a RebalancePolicy")
        _require_reason(self)

    def details(self) -> dict[str, object]:
        return {"portfolio_id": self.portfolio_id, "policy": self.policy.to_dict()}


@dataclass(frozen=True, slots=True)
class RecordCashFlow(Command):
    """Money paid into (``amount_usd`` positive) or out of (negative) a portfolio by its owner,
    in whole cents; the portfolio rebalances at the next close (the cash-flow trigger). The
    engine answers on ``reply`` with the flow's event payload."""

    portfolio_id: str = ""
    amount_usd: Decimal = Decimal(0)
    reply: CommandReply = field(default_factory=CommandReply, compare=False, repr=False)

    def __post_init__(self) -> None:
        Command.__post_init__(self)
        if not self.portfolio_id:
            raise ValueError("RecordCashFlow.portfolio_id: name the portfolio")
        _require_reason(self)
        amount = Decimal(self.amount_usd)
        if not amount.is_finite() or amount == 0 or amount != amount.quantize(Decimal("0.01")):
            raise ValueError(
                f"RecordCashFlow.amount_usd: {self.amount_usd} must be a non-zero amount in "
                "whole cents (negative: a withdrawal)"
            )

    def details(self) -> dict[str, object]:
        return {"portfolio_id": self.portfolio_id, "amount_usd": str(self.amount_usd)}


@dataclass(frozen=True, slots=True)
class ApproveRebalance(Command):
    """A portfolio manager approves the portfolio's pending rebalance proposal, without the
    trades of the names in ``drop`` (those stay as they are); the orders are made at the next
    close. The engine answers on ``reply`` with the approval's event payload."""

    portfolio_id: str = ""
    drop: tuple[str, ...] = ()
    reply: CommandReply = field(default_factory=CommandReply, compare=False, repr=False)

    def __post_init__(self) -> None:
        Command.__post_init__(self)
        if not self.portfolio_id:
            raise ValueError("ApproveRebalance.portfolio_id: name the portfolio")
        _require_reason(self)

    def details(self) -> dict[str, object]:
        return {"portfolio_id": self.portfolio_id, "drop": list(self.drop)}


@dataclass(frozen=True, slots=True)
class RejectRebalance(Command):
    """A portfolio manager rejects the portfolio's pending rebalance proposal: nothing of it is
    traded. The engine answers on ``reply``."""

    portfolio_id: str = ""
    reply: CommandReply = field(default_factory=CommandReply, compare=False, repr=False)

    def __post_init__(self) -> None:
        Command.__post_init__(self)
        if not self.portfolio_id:
            raise ValueError("RejectRebalance.portfolio_id: name the portfolio")
        _require_reason(self)

    def details(self) -> dict[str, object]:
        return {"portfolio_id": self.portfolio_id}


@dataclass(frozen=True, slots=True)
class LiftWeightOverride(Command):
    """Ends a weight override; the engine answers on ``reply``."""

    portfolio_id: str = ""
    symbol: str = ""
    reply: CommandReply = field(default_factory=CommandReply, compare=False, repr=False)

    def details(self) -> dict[str, object]:
        return {"portfolio_id": self.portfolio_id, "instrument": self.symbol}


@dataclass(frozen=True, slots=True)
class CancelOrder(Command):
    """Cancels what is left of a working order; the engine answers on ``reply``."""

    order_id: str = ""
    reply: CommandReply = field(default_factory=CommandReply, compare=False, repr=False)

    def __post_init__(self) -> None:
        Command.__post_init__(self)
        if not self.order_id:
            raise ValueError("CancelOrder.order_id: name the order to cancel")

    def details(self) -> dict[str, object]:
        return {"order_id": self.order_id}


@dataclass(frozen=True, slots=True)
class SetTradingState(Command):
    """Puts a portfolio in ACTIVE, REDUCING (only orders that reduce a position pass) or HALTED
    (no order passes; its working orders are cancelled). The engine answers on ``reply``."""

    portfolio_id: str = ""
    state: str = "ACTIVE"
    reply: CommandReply = field(default_factory=CommandReply, compare=False, repr=False)

    def __post_init__(self) -> None:
        Command.__post_init__(self)
        if not self.portfolio_id:
            raise ValueError("SetTradingState.portfolio_id: name the portfolio")
        if self.state not in TRADING_STATES:
            raise ValueError(
                f"SetTradingState.state: {self.state!r} must be one of {', '.join(TRADING_STATES)}"
            )
        if not self.reason.strip():
            raise ValueError("SetTradingState.reason: say why (it goes into the audit trail)")

    def details(self) -> dict[str, object]:
        return {"portfolio_id": self.portfolio_id, "state": self.state}


@dataclass(frozen=True, slots=True)
class SetRiskLimit(Command):
    """Sets one risk limit (see engine/risk/limits.py) of a portfolio, or of every portfolio of
    ``tenant``; ``remove=True`` takes it away. The engine answers on ``reply`` with the new
    versions."""

    portfolio_id: str = ""
    tenant: str = ""
    limit: str = ""
    value: float | None = None
    mode: str = "hard"
    warn_at: float | None = None
    on_breach: str = "alert"
    symbols: tuple[str, ...] = ()
    remove: bool = False
    reply: CommandReply = field(default_factory=CommandReply, compare=False, repr=False)

    def __post_init__(self) -> None:
        Command.__post_init__(self)
        if bool(self.portfolio_id) == bool(self.tenant):
            raise ValueError("SetRiskLimit.portfolio_id: name a portfolio or a tenant (one)")
        if not self.reason.strip():
            raise ValueError("SetRiskLimit.reason: say why (it goes into the audit trail)")
        if self.remove:
            if self.limit not in KINDS:
                raise ValueError(f"SetRiskLimit.limit: {self.limit!r} is not a risk limit")
        else:
            try:
                make_limit(
                    self.limit,
                    self.value,
                    self.mode,
                    self.warn_at,
                    self.on_breach,
                    self.symbols,
                )
            except ValueError as exc:
                raise ValueError(f"SetRiskLimit.{exc}") from None

    def details(self) -> dict[str, object]:
        return {
            "portfolio_id": self.portfolio_id or None,
            "tenant": self.tenant or None,
            "limit": self.limit,
            "value": self.value,
            "mode": self.mode,
            "remove": self.remove,
        }


@dataclass(frozen=True, slots=True)
class AcknowledgeAlert(Command):
    """A risk officer has seen a risk alert; it stays listed until the measure recovers."""

    alert_id: str = ""
    reply: CommandReply = field(default_factory=CommandReply, compare=False, repr=False)

    def __post_init__(self) -> None:
        Command.__post_init__(self)
        if not self.alert_id:
            raise ValueError("AcknowledgeAlert.alert_id: name the alert")

    def details(self) -> dict[str, object]:
        return {"alert_id": self.alert_id}


CLOCK_COMMANDS = (Pause, Resume, Step, JumpTo, RestartFrom, SetSpeed)
