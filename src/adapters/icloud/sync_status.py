"""What the API tells about a connection's sync: health, progress, slot counts."""

from __future__ import annotations

from dataclasses import dataclass

from adapters.persistence.sync_state import CalendarHealth, SyncState
from calendar_domain.configuration import CalendarConfiguration
from calendar_domain.connection import Connection, ConnectionStatus
from calendar_domain.schedule_service import ScheduleService


@dataclass(frozen=True)
class CalendarStatus:
    calendar_id: str
    display_name: str
    health: CalendarHealth | None
    blocked_slots: int


@dataclass(frozen=True)
class ConnectionSyncStatus:
    connection_id: str
    reconnect_required: bool
    calendars: list[CalendarStatus]
    next_due_at: float


class SyncStatusReader:
    def __init__(self, schedules: ScheduleService, state: SyncState) -> None:
        self._schedules = schedules
        self._state = state

    def status(self, connection: Connection, configuration: CalendarConfiguration | None) -> ConnectionSyncStatus:
        account_id = str(connection.account_id)
        health = self._state.health(account_id)
        schedule = self._schedules.schedule(connection.sub_account_id, connection.user_id)
        blocking = (
            [r.calendar_id for r in configuration.blocking_calendars() if r.connection_id == str(connection.id)]
            if configuration is not None
            else []
        )
        calendars = []
        for calendar_id in blocking:
            entry = connection.calendars.get(calendar_id)
            calendars.append(
                CalendarStatus(
                    calendar_id=calendar_id,
                    display_name=entry.display_name if entry else "",
                    health=health.get(calendar_id),
                    blocked_slots=schedule.slot_count(calendar_id),
                )
            )
        next_due, _ = self._state.lease_of(account_id)
        return ConnectionSyncStatus(
            connection_id=str(connection.id),
            reconnect_required=connection.status is ConnectionStatus.RECONNECT_REQUIRED,
            calendars=calendars,
            next_due_at=next_due,
        )
