"""What availability answers need to know of each blocking calendar's sync: its
connection's status (the connections read model, through its cache) and its
last successful sync (the sync health table)."""

from __future__ import annotations

from adapters.persistence.connection_cache import ConnectionCache
from adapters.persistence.sync_state import SyncState
from calendar_domain.availability_service import CalendarState


class SyncCalendarStates:
    def __init__(self, connections: ConnectionCache, sync_state: SyncState) -> None:
        self._connections = connections
        self._sync_state = sync_state

    def state(self, sub_account_id: str, connection_id: str, calendar_id: str) -> CalendarState:
        record = self._connections.get_connection(sub_account_id, connection_id)
        if record is None:
            return CalendarState("unknown", None)
        health = self._sync_state.health(record.account_id).get(calendar_id)
        last_success = health.last_success_at if health is not None and health.last_success_at else None
        return CalendarState(record.status.value, last_success)
