"""How far the relay has published the log, per JetStream stream: one row each.

A position is written only after JetStream has acknowledged every event up to
it, so a relay that dies never skips an event; what it published after its last
written position is published again and dropped by JetStream as a duplicate.
"""

from __future__ import annotations

from adapters.persistence.database import Database

_CREATE = """CREATE TABLE IF NOT EXISTS {t}relay_position (
    stream TEXT PRIMARY KEY,
    position BIGINT NOT NULL
)"""


class RelayPositions:
    def __init__(self, database: Database) -> None:
        self._db = database
        self._ready = False

    def _tables(self) -> Database:
        if not self._ready:
            self._db.execute(_CREATE)
            self._ready = True
        return self._db

    def get(self, stream: str) -> int:
        rows = self._tables().execute("SELECT position FROM {t}relay_position WHERE stream = %(s)s", {"s": stream})
        return int(rows[0][0]) if rows else 0

    def save(self, stream: str, position: int) -> None:
        """Moves the stream's position forward (never back: a second relay behind
        this one cannot undo what was acknowledged)."""
        self._tables().execute(
            "INSERT INTO {t}relay_position (stream, position) VALUES (%(s)s, %(p)s) "
            "ON CONFLICT (stream) DO UPDATE SET position = excluded.position "
            "WHERE relay_position.position < excluded.position",
            {"s": stream, "p": position},
        )

    def close(self) -> None:
        self._db.close()
