"""What every read-model view shares: one SQL text for both databases.

Statements are written once with ``%(name)s`` (or positional ``%s``) placeholders and ``{t}`` for the
table prefix (the schema on PostgreSQL, nothing on SQLite); ``statement``
adapts them to the database the view runs on.
"""

from __future__ import annotations

import re
from typing import Any

from eventsourcing.persistence import Tracking

from adapters.persistence.database import PooledReader, ThreadLocalReader

_NAMED = re.compile(r"%\((\w+)\)s")


class SQLViewMixin:
    """Mixed into a library tracking recorder (SQLite or PostgreSQL)."""

    datastore: Any
    dialect: str = ""
    reader: ThreadLocalReader | PooledReader | None = None  # set by the bootstrap for fast queries
    _statements: dict[str, str]

    def table_prefix(self) -> str:
        return f'"{self.datastore.schema}".' if self.dialect == "postgres" else ""

    def statement(self, sql: str) -> str:
        cache = self.__dict__.setdefault("_statements", {})
        if sql not in cache:
            text = sql.replace("{t}", self.table_prefix())
            cache[sql] = _NAMED.sub(r":\1", text).replace("%s", "?") if self.dialect == "sqlite" else text
        return cache[sql]

    def write(self, tracking: Tracking, *statements: tuple[str, dict[str, Any]]) -> None:
        """Runs the statements and records the tracking position, in one transaction."""
        with self.datastore.transaction(commit=True) as cursor:
            for sql, params in statements:
                cursor.execute(self.statement(sql), params)
            self._insert_tracking(cursor, tracking)  # type: ignore[attr-defined]

    def write_many(
        self, tracking: Tracking, sql: str, rows: list[dict[str, Any]], before: list[tuple[str, dict[str, Any]]]
    ) -> None:
        with self.datastore.transaction(commit=True) as cursor:
            for statement, params in before:
                cursor.execute(self.statement(statement), params)
            if rows:
                cursor.executemany(self.statement(sql), rows)
            self._insert_tracking(cursor, tracking)  # type: ignore[attr-defined]

    def read(self, sql: str, params: dict[str, Any]) -> list[Any]:
        if self.reader is not None:
            return self.reader.read(self.statement(sql), params)
        with self.datastore.transaction(commit=False) as cursor:
            cursor.execute(self.statement(sql), params)
            return list(cursor.fetchall())
