"""What availability answers need to know of each blocking calendar's sync: its
connection's status (the connections read model, through its cache) and its
last successful sync (the sync health table)."""

from __future__ import annotations

import time

from adapters.persistence.connection_cache import ConnectionCache
from adapters.persistence.sync_state import CalendarHealth, SyncState
from calendar_domain.availability_service import CalendarState


# Sync health is read at most this often per account: staleness is measured in
# minutes, and an answer must not cost a query per calendar.
HEALTH_TTL = 1.0


class SyncCalendarStates:
    def __init__(self, connections: ConnectionCache, sync_state: SyncState, ttl: float = HEALTH_TTL) -> None:
        self._connections = connections
        self._sync_state = sync_state
        self._ttl = ttl
        self._health: dict[str, tuple[float, dict[str, CalendarHealth]]] = {}

    def _health_of(self, account_id: str) -> dict[str, CalendarHealth]:
        now = time.monotonic()
        cached = self._health.get(account_id)
        if cached is None or now - cached[0] > self._ttl:
            cached = (now, self._sync_state.health(account_id))
            self._health[account_id] = cached
        return cached[1]

    def state(self, sub_account_id: str, connection_id: str, calendar_id: str) -> CalendarState:
        record = self._connections.get_connection(sub_account_id, connection_id)
        if record is None:
            return CalendarState("unknown", None)
        health = self._health_of(record.account_id).get(calendar_id)
        last_success = health.last_success_at if health is not None and health.last_success_at else None
        return CalendarState(record.status.value, last_success)
