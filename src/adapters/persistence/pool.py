"""One PostgreSQL connection pool per process.

Everything in a process that talks to PostgreSQL borrows from this pool: the
library's recorders (the log, the read models, the push queue), the
operational tables (vault, sync state), read-model queries, and the
connections held for as long as the process runs (LISTEN, the read model's
advisory lock). So the connections a process holds never exceed the pool's
size, and a fleet is sized by processes x pool size against the server's
``max_connections``.

A caller that finds every connection busy waits up to the pool's timeout and
then gets ``PoolTimeout`` (a ``psycopg.OperationalError``), which the gRPC
edge answers as UNAVAILABLE: a saturated database is a retryable condition.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from adapters import metrics
from calendar_domain.telemetry import happened

log = logging.getLogger(__name__)

# While connections stayed unused this long, one is closed (psycopg_pool shrinks
# by one each period, down to the minimum): after a burst an idle process comes
# back to its long-lived connections and one more within some ten periods.
MAX_IDLE = 10.0
# Connections are renewed after this long (server-side memory is returned).
MAX_LIFETIME = 3600.0


def _configure(connection: psycopg.Connection[Any]) -> None:
    # Every borrower expects autocommit (the library opens transactions itself).
    connection.autocommit = True


class ProcessPool:
    """The process's pool: ``size`` connections at most, ``timeout`` seconds to
    wait for one. Nothing connects before the first use."""

    def __init__(
        self, conninfo: dict[str, Any], *, size: int, timeout: float, application_name: str, minimum: int = 1
    ) -> None:
        self.size = size
        self.timeout = timeout
        self.application_name = application_name
        self._conninfo = {**conninfo, "application_name": application_name}
        self._minimum = min(minimum, size)
        self._open_lock = threading.Lock()
        self._pool: ConnectionPool[Any] | None = None

    def stats(self) -> dict[str, int]:
        """psycopg_pool's figures (pool_size, pool_available, pool_max, requests_waiting),
        read when Prometheus scrapes; nothing while the pool was never opened."""
        pool = self._pool
        if pool is None:
            return {"pool_size": 0, "pool_available": 0, "pool_max": self.size, "requests_waiting": 0}
        return {key: int(value) for key, value in pool.get_stats().items()}

    def open(self) -> ConnectionPool[Any]:
        """The pool, opened (again, after ``close``) if it is not."""
        pool = self._pool
        if pool is not None:
            return pool
        with self._open_lock:
            if self._pool is None:
                pool = ConnectionPool(
                    kwargs={**self._conninfo, "row_factory": dict_row},
                    min_size=self._minimum,
                    max_size=self.size,
                    open=False,
                    configure=_configure,
                    timeout=self.timeout,
                    max_idle=MAX_IDLE,
                    max_lifetime=MAX_LIFETIME,
                    name=self.application_name,
                )
                pool.open(wait=False)
                self._pool = pool
            return self._pool

    @contextmanager
    def connection(self, timeout: float | None = None) -> Iterator[psycopg.Connection[Any]]:
        with self.open().connection(timeout=timeout) as connection:
            yield connection

    def take(self) -> psycopg.Connection[Any]:
        """A connection held until ``give_back`` (LISTEN, a session's advisory lock)."""
        return self.open().getconn()

    def give_back(self, connection: psycopg.Connection[Any]) -> None:
        pool = self._pool
        if pool is not None:
            pool.putconn(connection)
        else:
            connection.close()

    def borrowed(self, owned: bool = False) -> BorrowedPool:
        """The pool for a library datastore; ``owned``: the datastore's alone (its
        closing closes the pool)."""
        return BorrowedPool(self, owned)

    def in_use(self) -> tuple[int, int]:
        """(connections open, of which lent out)."""
        pool = self._pool
        if pool is None:
            return 0, 0
        stats = pool.get_stats()
        size = int(stats.get("pool_size", 0))
        return size, size - int(stats.get("pool_available", 0))

    def reachable(self, timeout: float) -> bool:
        """Whether the database answers: through the pool, or, when every pooled
        connection is busy, on a connection of its own (busy is not down)."""
        try:
            with self.connection(timeout=timeout) as db:
                db.execute("SELECT 1")
            return True
        except PoolTimeout:
            pass
        except psycopg.Error:
            return False
        try:
            with psycopg.connect(**self._conninfo, connect_timeout=max(1, int(timeout))) as db:
                db.execute("SELECT 1")
            return True
        except psycopg.Error:
            return False

    def close(self) -> None:
        with self._open_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()


class BorrowedPool:
    """The process pool as one library datastore sees it: in place of the pool the
    datastore made for itself. Closing it is the process's business, not the
    datastore's (several datastores share it)."""

    def __init__(self, owner: ProcessPool, owned: bool = False) -> None:
        self._owner = owner
        self._owned = owned

    def open(self, wait: bool = False, timeout: float = 30.0) -> None:
        self._owner.open()

    def connection(self, timeout: float | None = None) -> Any:
        return self._owner.connection(timeout)

    def close(self, timeout: float = 5.0) -> None:
        if self._owned:
            self._owner.close()

    def __enter__(self) -> BorrowedPool:
        return self

    def __exit__(self, *_: object) -> None:
        pass


def share(datastore: Any, pool: ProcessPool, owned: bool = False) -> None:
    """Makes a library ``PostgresDatastore`` use the process pool (before it has
    connected: its own pool is made closed, and is dropped unused)."""
    datastore.pool = pool.borrowed(owned)


def wait_until_reachable(
    reachable: Callable[[], bool], *, cap: float, stopping: threading.Event | None = None, first: float = 0.5,
) -> bool:
    """Tries ``reachable`` until it says yes, pausing twice as long each time up to
    ``cap`` seconds, with a log line per failed attempt; False if ``stopping`` is
    set meanwhile."""
    stop = stopping or threading.Event()
    attempt, delay = 0, first
    while not stop.is_set():
        if reachable():
            if attempt:
                happened(log, "database.reachable", attempts=attempt + 1)
            return True
        attempt += 1
        metrics.DB_START_RETRIES.inc()
        happened(log, "database.unreachable_at_start", logging.WARNING, attempt=attempt, retry_in_s=round(delay, 2))
        stop.wait(delay)
        delay = min(cap, delay * 2)
    return False
