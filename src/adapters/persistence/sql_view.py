"""What every read-model view shares: one SQL text for both databases.

Statements are written once with ``%(name)s`` (or positional ``%s``) placeholders and ``{t}`` for the
table prefix (the schema on PostgreSQL, nothing on SQLite); ``statement``
adapts them to the database the view runs on.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import groupby
from typing import Any

from eventsourcing.persistence import Tracking

from adapters.persistence.database import PooledReader, ThreadLocalReader

_NAMED = re.compile(r"%\((\w+)\)s")


class AlreadyProcessed(Exception):
    """Another process following the log recorded part of this batch first."""


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
        """Runs the statements and records the tracking position, in one transaction
        (or, inside ``batch``, in the batch's)."""
        pending = self._pending()
        if pending is not None:
            pending.extend((self.statement(sql), params) for sql, params in statements)
            return
        with self.datastore.transaction(commit=True) as cursor:
            for sql, params in statements:
                cursor.execute(self.statement(sql), params)
            self._insert_tracking(cursor, tracking)  # type: ignore[attr-defined]

    def write_many(
        self, tracking: Tracking, sql: str, rows: list[dict[str, Any]], before: list[tuple[str, dict[str, Any]]]
    ) -> None:
        pending = self._pending()
        if pending is not None:
            pending.extend((self.statement(statement), params) for statement, params in before)
            pending.extend((self.statement(sql), row) for row in rows)
            return
        with self.datastore.transaction(commit=True) as cursor:
            for statement, params in before:
                cursor.execute(self.statement(statement), params)
            if rows:
                cursor.executemany(self.statement(sql), rows)
            self._insert_tracking(cursor, tracking)  # type: ignore[attr-defined]

    def insert_tracking(self, tracking: Tracking) -> None:
        if self._pending() is None:  # inside a batch, the batch records its end
            super().insert_tracking(tracking)  # type: ignore[misc]

    @contextmanager
    def batch(self, tracking: Tracking, after: int) -> Iterator[None]:
        """What this thread writes inside (``write``, ``write_many``,
        ``insert_tracking``) goes into one transaction when it ends, with
        ``tracking`` recorded once, so that a follower catching up writes a batch
        of events in one transaction and a few round trips (statements alike in
        a row go as one ``executemany``), not one transaction per event.

        ``after``: the position the batch follows. If the view is already past it
        (another process following the log got there first), nothing is written
        and AlreadyProcessed is raised. Nothing is written if the block raises."""
        local = self.__dict__.setdefault("_batching", threading.local())
        if getattr(local, "pending", None) is not None:
            raise RuntimeError("batches do not nest")
        pending: list[tuple[str, dict[str, Any]]] = []
        local.pending = pending
        try:
            yield
        finally:
            local.pending = None
        with self.datastore.transaction(commit=True) as cursor:
            cursor.execute(*self._tracking_sql(tracking.application_name))
            found = [next(iter(dict(row).values())) for row in cursor.fetchall()]
            if found and (found[0] or 0) > after:
                raise AlreadyProcessed(found[0])
            for statement, run in groupby(pending, key=lambda item: item[0]):
                params = [p for _, p in run]
                if len(params) == 1:
                    cursor.execute(statement, params[0])
                else:
                    cursor.executemany(statement, params)
            self._insert_tracking(cursor, tracking)  # type: ignore[attr-defined]

    def _pending(self) -> list[tuple[str, dict[str, Any]]] | None:
        local = self.__dict__.get("_batching")
        return getattr(local, "pending", None) if local is not None else None

    def _tracking_sql(self, application_name: str) -> tuple[str, tuple[str]]:
        """Reads the view's position (in a write transaction)."""
        if self.dialect == "postgres":
            # Locks the tracking row: a second writer waits, then sees it moved on.
            table = f'"{self.datastore.schema}".{self.tracking_table_name}'  # type: ignore[attr-defined]
            return f"SELECT notification_id FROM {table} WHERE application_name = %s FOR UPDATE", (application_name,)
        # SQLite: the write lock taken by the batch serialises writers anyway.
        return "SELECT MAX(notification_id) AS done FROM tracking WHERE application_name = ?", (application_name,)

    def read(self, sql: str, params: dict[str, Any]) -> list[Any]:
        if self.reader is not None:
            return self.reader.read(self.statement(sql), params)
        with self.datastore.transaction(commit=False) as cursor:
            cursor.execute(self.statement(sql), params)
            return list(cursor.fetchall())
