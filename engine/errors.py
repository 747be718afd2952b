"""The errors a person can act on, in one light module.

``pcoord`` catches these and prints their message on one line (the traceback only with ``-v``),
so the command line can name them without importing the engine's heavy modules (cvxpy, pandas,
SQLAlchemy) just to answer ``--help``.
"""

from __future__ import annotations


class ConfigError(ValueError):
    """A configuration file could not be read or broke a rule; the message names the key."""


class MarketDataError(ValueError):
    """A price file could not be used; the message names the file, the column and the reason."""


class RecoveryError(RuntimeError):
    """The stored state cannot be continued with this configuration; says what differs."""


class StoreError(RuntimeError):
    """The event store cannot be used: no such database, not a database URL, or unreachable.

    The message names the URL (its password hidden) and the reason.
    """
