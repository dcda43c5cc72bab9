"""Wakes log followers when another process appends to the log (PostgreSQL).

The library's PostgreSQL recorder sends NOTIFY on its channel with every insert;
this thread LISTENs on it and wakes the followers at once, so a projection
running in its own process follows the log by subscription rather than by its
polling interval. (In one process, the application wakes its followers itself;
SQLite has no such channel, and followers poll.)

It also LISTENs on the sync channel, on which a process asks the fleet's sync
pollers to look at once for an account made due (``SyncState.due_now``).
The connection is held from the process pool for as long as it runs.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg import sql

from adapters.persistence.pool import ProcessPool

log = logging.getLogger(__name__)


class PostgresWakeup:
    def __init__(
        self, pool: ProcessPool, channel: str, wake: list[Callable[[], None]],
        sync_channel: str = "", wake_sync: list[Callable[[], None]] | None = None,
    ) -> None:
        self._pool = pool
        self._channel = channel
        self._wake = wake
        self._sync_channel = sync_channel
        self._wake_sync = wake_sync or []
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="log-listen", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                with self._pool.connection() as db:
                    try:
                        self._listen(db)
                    finally:
                        db.execute("UNLISTEN *")  # the connection goes back to the pool
            except psycopg.Error:
                log.warning("listening for new events failed; followers poll until it is back", exc_info=True)
                self._stopping.wait(1.0)

    def _listen(self, db: psycopg.Connection[Any]) -> None:
        db.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self._channel)))
        if self._sync_channel:
            db.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self._sync_channel)))
        while not self._stopping.is_set():
            for notice in db.notifies(timeout=0.5, stop_after=1):
                for wake in self._wake_sync if notice.channel == self._sync_channel else self._wake:
                    wake()
