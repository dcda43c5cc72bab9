"""Who may use a read model while it is rebuilt: nobody.

Every process that follows a read model or answers from it (a server, a
projection process) holds its lock shared for as long as it runs; the rebuild
command holds it alone, and refuses to start while anyone else holds it, since a
server would otherwise answer from a model being emptied and filled again (and
its follower write into it as well). A server that starts during a rebuild waits
for it to end.

SQLite: an ``flock`` on a file beside the model's (``<model>.sqlite.lock``).
PostgreSQL: an advisory lock on a connection taken from the process pool and
held, keyed by the schema and the model's name (unlocked when it goes back).
Both go when the process does, however it ends.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
from pathlib import Path
from typing import Any

import psycopg

from adapters.persistence.pool import ProcessPool

log = logging.getLogger(__name__)


class ModelInUse(Exception):
    """Another process holds the read model (a rebuild, or a server following it)."""


class ModelLock:
    def __init__(self, name: str, *, sqlite_path: Path | None = None, pool: ProcessPool | None = None,
                 schema: str = "", owned: bool = False) -> None:
        if (sqlite_path is None) == (pool is None):
            raise ValueError("a SQLite path or a PostgreSQL pool, one of the two")
        self.name = name
        self._path = None if sqlite_path is None else sqlite_path.with_name(sqlite_path.name + ".lock")
        self._pool = pool
        self._owned = owned
        digest = hashlib.blake2b(f"read model lock\n{schema}\n{name}".encode(), digest_size=8).digest()
        self._key = int.from_bytes(digest, "big", signed=True)
        self._fd: int | None = None
        self._db: psycopg.Connection[Any] | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None or self._db is not None

    def share(self) -> None:
        """Holds the lock with the model's other users; waits while a rebuild holds it."""
        if self.try_share():
            return
        log.warning("the %s read model is being rebuilt; waiting for the rebuild to end", self.name)
        self._acquire(shared=True, wait=True)

    def try_share(self) -> bool:
        return self._acquire(shared=True, wait=False)

    def take_alone(self) -> None:
        """Holds the lock alone, at once, or raises ``ModelInUse``."""
        if not self._acquire(shared=False, wait=False):
            raise ModelInUse(
                f"the {self.name} read model is in use by another process (a server or a projection "
                "process following it, or another rebuild); stop them first"
            )

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # releases the flock
            self._fd = None
        if self._db is not None:
            db, self._db = self._db, None
            assert self._pool is not None
            self._give_back(db)
        if self._pool is not None and self._owned:
            self._pool.close()

    def _give_back(self, db: psycopg.Connection[Any]) -> None:
        """Back to the pool without the session's advisory locks (closed, if they
        cannot be dropped: the pool replaces a closed connection)."""
        assert self._pool is not None
        try:
            db.execute("SELECT pg_advisory_unlock_all()")
        except psycopg.Error:
            db.close()
        self._pool.give_back(db)

    def _acquire(self, *, shared: bool, wait: bool) -> bool:
        if self.held:
            raise RuntimeError(f"the {self.name} read model's lock is already held here")
        if self._path is not None:
            fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                os.close(fd)
                return False
            except BaseException:
                os.close(fd)
                raise
            self._fd = fd
            return True
        assert self._pool is not None
        db = self._pool.take()
        try:
            function = {
                (True, True): "pg_advisory_lock_shared", (True, False): "pg_try_advisory_lock_shared",
                (False, True): "pg_advisory_lock", (False, False): "pg_try_advisory_lock",
            }[(shared, wait)]
            row = db.execute(f"SELECT {function}(%s) AS got", (self._key,)).fetchone()
            got = wait or bool(row and row["got"])
        except BaseException:
            self._give_back(db)
            raise
        if not got:
            self._give_back(db)
            return False
        self._db = db
        return True
