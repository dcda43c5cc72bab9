"""Wakes log followers when another process appends to the log (PostgreSQL).

The library's PostgreSQL recorder sends NOTIFY on its channel with every insert;
this thread LISTENs on it and wakes the followers at once, so a projection
running in its own process follows the log by subscription rather than by its
polling interval. (In one process, the application wakes its followers itself;
SQLite has no such channel, and followers poll.)
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg import sql

log = logging.getLogger(__name__)


class PostgresWakeup:
    def __init__(self, conninfo: dict[str, Any], channel: str, wake: list[Callable[[], None]]) -> None:
        self._conninfo = conninfo
        self._channel = channel
        self._wake = wake
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
                with psycopg.connect(**self._conninfo, autocommit=True) as db:
                    db.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self._channel)))
                    while not self._stopping.is_set():
                        for _ in db.notifies(timeout=0.5, stop_after=1):
                            for wake in self._wake:
                                wake()
            except psycopg.Error:
                log.warning("listening for new events failed; followers poll until it is back", exc_info=True)
                self._stopping.wait(1.0)
