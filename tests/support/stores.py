"""Event stores for tests: SQLite in a temporary directory, and PostgreSQL in a
schema of its own per test (dropped afterwards), so runs never collide.

PostgreSQL: CALSYNC_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test).
When it cannot be reached the PostgreSQL variants are skipped with a message,
unless CALSYNC_REQUIRE_POSTGRES=1 (set by .ci/run), when they fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest

from server.config import Settings

POSTGRES_URL = os.environ.get(
    "CALSYNC_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
STORES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def postgres_required() -> bool:
    return os.environ.get("CALSYNC_REQUIRE_POSTGRES", "") in ("1", "true", "yes")


def require_postgres() -> None:
    try:
        with psycopg.connect(POSTGRES_URL, connect_timeout=3) as db:
            db.execute("SELECT 1")
    except psycopg.OperationalError as error:
        message = (
            f"PostgreSQL is not reachable at {POSTGRES_URL} ({error}). Start it, or point "
            "CALSYNC_TEST_POSTGRES_URL at a server, to run the PostgreSQL variants."
        )
        if postgres_required():
            pytest.fail(message)
        pytest.skip(message)


@contextmanager
def postgres_schema() -> Iterator[str]:
    schema = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as db:
        db.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield schema
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as db:
            db.execute(f'DROP SCHEMA "{schema}" CASCADE')


@contextmanager
def settings_for(store: str, data_dir: Path, **overrides: Any) -> Iterator[Settings]:
    """Settings for a fresh, empty store of the given kind."""
    base: dict[str, Any] = {"data_dir": data_dir, "projection_poll_interval": 0.2}
    if store == "sqlite":
        yield Settings(event_store="sqlite", **base, **overrides)
        return
    require_postgres()
    keys = {
        "cipher_key": "q9z8cP0Kb3qgY7PpQm2Zs3Z8v1Ww2Vx6n5r4t3y2u1E=",
        "vault_key": "b3Blbi1zZXNhbWUtZm9yLXRlc3RzLW9ubHktMzJieXQ=",
    }
    with postgres_schema() as schema:
        yield Settings(
            event_store="postgres",
            postgres_url=POSTGRES_URL,
            postgres_schema=schema,
            **keys,
            **base,
            **overrides,
        )
