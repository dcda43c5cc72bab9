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

import psycopg

_NAMED = re.compile(r"%\((\w+)\)s")


class Database:
    def __init__(self, *, sqlite_path: Path | None = None, conninfo: dict[str, Any] | None = None, schema: str = "public") -> None:
        if (sqlite_path is None) == (conninfo is None):
            raise ValueError("give either sqlite_path or conninfo")
        self.dialect = "sqlite" if sqlite_path is not None else "postgres"
        self._sqlite_path = sqlite_path
        self._conninfo = conninfo
        self._prefix = "" if self.dialect == "sqlite" else f'"{schema}".'
        self._lock = threading.Lock()
        self._db: Any = None

    def _connection(self) -> Any:
        if self._db is None:
            db: Any
            if self._sqlite_path is not None:
                db = sqlite3.connect(self._sqlite_path, check_same_thread=False, isolation_level=None, timeout=10)
                # Freed pages are zeroed, so deleted secrets do not linger in the file.
                db.execute("PRAGMA secure_delete = ON")
                db.execute("PRAGMA journal_mode = WAL")
            else:
                db = psycopg.connect(**(self._conninfo or {}), autocommit=True)
            self._db = db
        elif self.dialect == "postgres" and self._db.closed:
            self._db = None
            return self._connection()
        return self._db

    def statement(self, sql: str) -> str:
        sql = sql.replace("{t}", self._prefix)
        return _NAMED.sub(r":\1", sql) if self.dialect == "sqlite" else sql

    def execute(self, sql: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                cursor = self._connection().execute(self.statement(sql), params or {})
                return list(cursor.fetchall()) if cursor.description else []
            except (psycopg.OperationalError, psycopg.InterfaceError):
                self._db = None  # reconnect next time
                raise

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None


class ThreadLocalReader:
    """Read-only queries on one connection per thread, each statement on its own
    (no BEGIN/ROLLBACK, no pool lock): the hot path of read-model queries.

    A single SELECT sees one consistent snapshot on both databases, which is all a
    read-model query needs.
    """

    def __init__(self, *, sqlite_path: str | None = None, conninfo: dict[str, Any] | None = None) -> None:
        self._sqlite_path = sqlite_path
        self._conninfo = conninfo
        self._local = threading.local()
        self._opened: list[Any] = []
        self._opened_lock = threading.Lock()

    def _connection(self) -> Any:
        db = getattr(self._local, "db", None)
        if db is None:
            if self._sqlite_path is not None:
                db = sqlite3.connect(self._sqlite_path, check_same_thread=False, isolation_level=None, timeout=10)
                db.row_factory = sqlite3.Row
                db.execute("PRAGMA query_only = ON")
            else:
                from psycopg.rows import dict_row

                db = psycopg.connect(**(self._conninfo or {}), autocommit=True, row_factory=dict_row)
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
        try:
            return list(self._connection().execute(sql, params).fetchall())
        except (psycopg.OperationalError, psycopg.InterfaceError):
            self._local.db = None  # reconnect on the next call
            raise


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
