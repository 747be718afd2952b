"""``CommandRouter``: each command type goes to the one handler that owns it.

Handlers are registered in one place (``Coordinator.__init__``); adding a command is a handler
and one ``register`` line. A command no handler owns is refused with ``CommandRefused``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.commands import Command, CommandRefused

Handler = Callable[[Any], object]


class CommandRouter:
    def __init__(self) -> None:
        self._handlers: dict[type[Command], Handler] = {}

    def register(self, kind: type[Command], handler: Handler) -> None:
        if kind in self._handlers:
            raise ValueError(f"command {kind.__name__} already has a handler")
        self._handlers[kind] = handler

    @property
    def kinds(self) -> tuple[type[Command], ...]:
        """The command types routed, in the order they were registered."""
        return tuple(self._handlers)

    def route(self, command: Command) -> object:
        """Run the command's handler and return its answer."""
        handler = self._handlers.get(type(command))
        if handler is None:
            known = ", ".join(kind.__name__ for kind in self._handlers)
            raise CommandRefused(f"no handler for {type(command).__name__} (handled: {known})")
        return handler(command)
