"""Who may use a read model while it is rebuilt: nobody.

Every process that follows a read model or answers from it (a server, a
projection process) holds its lock shared for as long as it runs; the rebuild
command holds it alone, and refuses to start while anyone else holds it, since a
server would otherwise answer from a model being emptied and filled again (and
its follower write into it as well). A server that starts during a rebuild waits
for it to end.

SQLite: an ``flock`` on a file beside the model's (``<model>.sqlite.lock``).
PostgreSQL: an advisory lock on a connection of its own, keyed by the schema and
the model's name. Both go when the process does, however it ends.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
from pathlib import Path
from typing import Any

import psycopg

log = logging.getLogger(__name__)


class ModelInUse(Exception):
    """Another process holds the read model (a rebuild, or a server following it)."""


class ModelLock:
    def __init__(self, name: str, *, sqlite_path: Path | None = None, conninfo: dict[str, Any] | None = None,
                 schema: str = "") -> None:
        if (sqlite_path is None) == (conninfo is None):
            raise ValueError("a SQLite path or a PostgreSQL conninfo, one of the two")
        self.name = name
        self._path = None if sqlite_path is None else sqlite_path.with_name(sqlite_path.name + ".lock")
        self._conninfo = conninfo
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
            self._db.close()  # ends the session, and its advisory locks with it
            self._db = None

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
        assert self._conninfo is not None
        db = psycopg.connect(**self._conninfo, autocommit=True)
        try:
            function = {
                (True, True): "pg_advisory_lock_shared", (True, False): "pg_try_advisory_lock_shared",
                (False, True): "pg_advisory_lock", (False, False): "pg_try_advisory_lock",
            }[(shared, wait)]
            row = db.execute(f"SELECT {function}(%s)", (self._key,)).fetchone()
            got = wait or bool(row and row[0])
        except BaseException:
            db.close()
            raise
        if not got:
            db.close()
            return False
        self._db = db
        return True
