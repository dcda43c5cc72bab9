"""A small SQL connection for operational tables (vault, leases, sync health) that
are not event-sourced: one SQL text for SQLite and PostgreSQL.

Statements use ``%(name)s`` placeholders and ``{t}`` before table names (the
schema on PostgreSQL). Each call is its own transaction.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from pathlib import Path
from typing import Any

from psycopg.rows import tuple_row

from adapters.persistence.pool import ProcessPool

_NAMED = re.compile(r"%\((\w+)\)s")
# The advisory lock key under which operational tables are created (any number).
_CREATING = 0x63616C73796E63


class Database:
    """On PostgreSQL, each call borrows a connection from the process pool (and
    closes the pool on ``close`` only when it is ``owned``)."""

    def __init__(
        self, *, sqlite_path: Path | None = None, pool: ProcessPool | None = None, schema: str = "public",
        owned: bool = False,
    ) -> None:
        if (sqlite_path is None) == (pool is None):
            raise ValueError("give either sqlite_path or pool")
        self.dialect = "sqlite" if sqlite_path is not None else "postgres"
        self._sqlite_path = sqlite_path
        self._pool = pool
        self._owned = owned
        self._prefix = "" if self.dialect == "sqlite" else f'"{schema}".'
        self._lock = threading.Lock()
        self._db: Any = None

    def _sqlite(self) -> Any:
        if self._db is None:
            db = sqlite3.connect(self._sqlite_path or "", check_same_thread=False, isolation_level=None, timeout=10)
            # Freed pages are zeroed, so deleted secrets do not linger in the file.
            db.execute("PRAGMA secure_delete = ON")
            db.execute("PRAGMA journal_mode = WAL")
            self._db = db
        return self._db

    def statement(self, sql: str) -> str:
        sql = sql.replace("{t}", self._prefix)
        return _NAMED.sub(r":\1", sql) if self.dialect == "sqlite" else sql

    def execute(self, sql: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        if self._pool is not None:
            # a broken connection is dropped by the pool when it comes back
            with self._pool.connection() as db:
                cursor = db.cursor(row_factory=tuple_row)
                cursor.execute(self.statement(sql), params or {})
                return list(cursor.fetchall()) if cursor.description else []
        with self._lock:
            cursor = self._sqlite().execute(self.statement(sql), params or {})
            return list(cursor.fetchall()) if cursor.description else []

    def create(self, statements: list[str]) -> None:
        """Runs ``CREATE ... IF NOT EXISTS`` statements one creator at a time: two
        at once collide in PostgreSQL's catalogue ("duplicate key value violates
        unique constraint pg_type_typname_nsp_index"), from threads of one process
        as from processes of a fleet (serialised by a transaction's advisory lock)."""
        with self._lock:
            if self._pool is None:
                for sql in statements:
                    self._sqlite().execute(self.statement(sql))
                return
            with self._pool.connection() as db, db.transaction():
                db.execute("SELECT pg_advisory_xact_lock(%s)", (_CREATING,))
                for sql in statements:
                    db.execute(self.statement(sql))

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
        if self._pool is not None and self._owned:
            self._pool.close()


class PooledReader:
    """Read-only queries on PostgreSQL, each statement on its own on a connection
    borrowed from the process pool (autocommit: no BEGIN/ROLLBACK around it)."""

    def __init__(self, pool: ProcessPool, owned: bool = False) -> None:
        self._pool = pool
        self._owned = owned

    def read(self, sql: str, params: dict[str, Any]) -> list[Any]:
        with self._pool.connection() as db:
            return list(db.execute(sql, params).fetchall())

    def close(self) -> None:
        if self._owned:
            self._pool.close()


class ThreadLocalReader:
    """Read-only queries on SQLite, on one connection per thread, each statement
    on its own (no BEGIN/ROLLBACK, no lock): the hot path of read-model queries.

    A single SELECT sees one consistent snapshot, which is all a read-model query
    needs. (On PostgreSQL, ``PooledReader``: connections are a bounded resource.)
    """

    def __init__(self, *, sqlite_path: str) -> None:
        self._sqlite_path = sqlite_path
        self._local = threading.local()
        self._opened: list[Any] = []
        self._opened_lock = threading.Lock()

    def _connection(self) -> Any:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self._sqlite_path, check_same_thread=False, isolation_level=None, timeout=10)
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA query_only = ON")
            self._local.db = db
            with self._opened_lock:
                self._opened.append(db)
        return db

    def close(self) -> None:
        """Closes every thread's connection (the threads must be done reading)."""
        with self._opened_lock:
            opened, self._opened = self._opened, []
        for db in opened:
            try:
                db.close()
            except Exception:  # noqa: BLE001 - closing what may already be gone
                pass

    def read(self, sql: str, params: dict[str, Any]) -> list[Any]:
        return list(self._connection().execute(sql, params).fetchall())


# Read models' files are made with 8 KiB pages: a rebuild writes a whole model's
# rows and indexes at once, and with them SQLite does so in about 40% less time
# than with its default 4 KiB (measured on the availability model's rows).
VIEW_PAGE_SIZE = 8192


def create_sqlite_file(path: Path, page_size: int = VIEW_PAGE_SIZE) -> None:
    """Makes ``path`` an empty SQLite database in WAL mode with pages of
    ``page_size`` bytes, unless it already is a database: its page size is fixed
    once it is in WAL mode, and one made before keeps its own."""
    if path.exists() and path.stat().st_size > 0:
        return
    db = sqlite3.connect(path)
    try:
        db.execute(f"PRAGMA page_size = {int(page_size)}")  # only a database with nothing in it takes it
        db.execute("PRAGMA journal_mode = WAL")
    finally:
        db.close()
