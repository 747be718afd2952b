"""Integration fixtures: the databases the event store must work on, SQLite and PostgreSQL.

``make test`` starts a throw-away PostgreSQL (scripts/postgres.sh) and exports its URL as
PCOORD_TEST_POSTGRES_URL. Without it the PostgreSQL cases fail: they are never skipped, so CI
cannot pass without running them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from engine.events.store import SqlEventStore

POSTGRES_URL_VARIABLE = "PCOORD_TEST_POSTGRES_URL"
NOT_RUNNING = (
    "PostgreSQL is not running: `make test` starts it, or run `bash scripts/postgres.sh start` "
    "and export PCOORD_TEST_POSTGRES_URL=$(bash scripts/postgres.sh url)"
)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of an empty database: a SQLite file, or a fresh PostgreSQL database per test."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'events.db'}"
        return
    server_url = os.environ.get(POSTGRES_URL_VARIABLE)
    if not server_url:
        pytest.fail(f"{POSTGRES_URL_VARIABLE} is not set. {NOT_RUNNING}", pytrace=False)
    name = f"pcoord_test_{uuid.uuid4().hex[:16]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        try:
            with admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
        except OperationalError as error:
            first_line = str(error.orig or error).splitlines()[0]
            pytest.fail(
                f"cannot reach {make_url(server_url)} ({first_line}). {NOT_RUNNING}", pytrace=False
            )
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
        with admin.connect() as connection:
            # FORCE: a test that left a connection open must not leave its database behind.
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@pytest.fixture
def open_store() -> Iterator[Callable[[str], SqlEventStore]]:
    """Opens event stores on a URL and closes (disposes) every one of them after the test."""
    stores: list[SqlEventStore] = []

    def _open(url: str) -> SqlEventStore:
        store = SqlEventStore.from_url(url)
        stores.append(store)
        return store

    yield _open
    for store in stores:
        store.close()
