"""Connections PostgreSQL shows per application_name (pg_stat_activity), sampled
in a thread: the most seen at once for each name starting with a prefix."""

from __future__ import annotations

import threading

import psycopg


class HeldConnections:
    def __init__(self, url: str, prefix: str, every: float = 0.05) -> None:
        self._url = url
        self._prefix = prefix
        self._every = every
        self.most: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> HeldConnections:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        with psycopg.connect(self._url, autocommit=True) as db:
            while not self._stop.is_set():
                rows = db.execute(
                    "SELECT application_name, count(*) FROM pg_stat_activity WHERE starts_with(application_name, %s) "
                    "GROUP BY application_name", (self._prefix,),
                ).fetchall()
                for name, count in rows:
                    self.most[name] = max(self.most.get(name, 0), int(count))
                self._stop.wait(self._every)
