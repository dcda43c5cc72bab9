"""Connection reads from memory: the hot path of GetConnection.

A read-through cache over the connections view. The log follower tells it
which connection an event touched once the view holds that event (whichever
process wrote it), and the entry is dropped; the next read takes the new row. A read that raced with such a drop
does not store what it read (generation check), so a stale row is never kept.
"""

from __future__ import annotations

import threading
from typing import Any

from calendar_domain.connection import Connection
from calendar_domain.connection_projection import ConnectionReadModel, ConnectionRecord

MAX_ENTRIES = 100_000


class ConnectionCache:
    def __init__(self, view: ConnectionReadModel, max_entries: int = MAX_ENTRIES) -> None:
        self._view = view
        self._max = max_entries
        self._entries: dict[str, ConnectionRecord] = {}
        self._generation = 0
        self._lock = threading.Lock()

    def get_connection(self, sub_account_id: str, connection_id: str) -> ConnectionRecord | None:
        record = self._entries.get(connection_id)
        if record is None:
            generation = self._generation
            record = self._view.get_connection(sub_account_id, connection_id)
            if record is None:
                return None
            with self._lock:
                if generation == self._generation:
                    if len(self._entries) >= self._max:
                        self._entries.clear()
                    self._entries[connection_id] = record
        return record if record.sub_account_id == sub_account_id else None

    def event_recorded(self, domain_event: Any) -> None:
        """Follower hook: a connection's event is in the view; forget the old row."""
        if isinstance(domain_event, Connection.Event):
            self.changed(str(domain_event.originator_id))

    def changed(self, connection_id: str) -> None:
        with self._lock:
            self._generation += 1
            self._entries.pop(connection_id, None)
