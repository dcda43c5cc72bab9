"""Application service for user schedules: which calendars to sync for whom, and
recording what a sync found.

The iCloud adapter asks for a plan (``sync_targets``), fetches each calendar
once, and hands the changes back (``record_changes``); every schedule touched
by one fetch is saved in one transaction, checkpoints included.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from calendar_domain.application import CalendarIntegration
from calendar_domain.configuration import CalendarConfiguration
from calendar_domain.connection import Connection, ConnectionStatus
from calendar_domain.retry import retrying
from calendar_domain.schedule import CalendarChanges, KnownResource, UserSchedule


@dataclass(frozen=True)
class SyncTarget:
    """One calendar to keep in one user's schedule, reached through one connection."""

    sub_account_id: str
    user_id: str
    connection_id: str
    calendar_id: str
    href: str
    checkpoint: str | None  # None: never synced into this schedule
    known: dict[str, KnownResource]
    time_zone: str  # the user's zone, for floating times


class ScheduleService:
    def __init__(self, app: CalendarIntegration) -> None:
        self._app = app

    def schedule(self, sub_account_id: str, user_id: str) -> UserSchedule:
        found = self._app.find(UserSchedule.create_id(sub_account_id, user_id), UserSchedule)
        return found if found is not None else UserSchedule(sub_account_id, user_id)

    def sync_targets(self, connections: Iterable[Connection]) -> list[SyncTarget]:
        """Every blocking calendar of these (working) connections, per schedule."""
        targets: list[SyncTarget] = []
        for connection in connections:
            if connection.status is not ConnectionStatus.ACTIVE:
                continue
            configuration = self._app.find(
                CalendarConfiguration.create_id(connection.sub_account_id, connection.user_id),
                CalendarConfiguration,
            )
            if configuration is None:
                continue
            schedule = self.schedule(connection.sub_account_id, connection.user_id)
            for ref in configuration.blocking_calendars():
                calendar = connection.calendars.get(ref.calendar_id)
                if ref.connection_id != str(connection.id) or calendar is None:
                    continue
                targets.append(
                    SyncTarget(
                        sub_account_id=connection.sub_account_id,
                        user_id=connection.user_id,
                        connection_id=str(connection.id),
                        calendar_id=ref.calendar_id,
                        href=calendar.href,
                        checkpoint=schedule.checkpoint(ref.calendar_id),
                        known=schedule.known(ref.calendar_id),
                        time_zone=configuration.time_zone,
                    )
                )
        return targets

    def record_changes(self, found: list[tuple[SyncTarget, CalendarChanges]]) -> int:
        """Applies each target's changes to its schedule; saves them all at once."""

        def attempt() -> int:
            touched: dict[tuple[str, str], UserSchedule] = {}
            for target, changes in found:
                key = (target.sub_account_id, target.user_id)
                schedule = touched.get(key) or self.schedule(*key)
                if schedule.apply(target.connection_id, changes):
                    touched[key] = schedule
            return self._app.record(*touched.values())

        schedule_ids = [UserSchedule.create_id(target.sub_account_id, target.user_id) for target, _ in found]
        with self._app.serialised(*schedule_ids):
            return retrying(attempt)

    def releases_for(self, configuration: CalendarConfiguration) -> list[UserSchedule]:
        """Schedules whose calendars no longer block this user, with the release
        recorded but not saved (the caller saves them with its own changes)."""
        schedule = self._app.find(
            UserSchedule.create_id(configuration.sub_account_id, configuration.user_id), UserSchedule
        )
        if schedule is None:
            return []
        blocking = {ref.calendar_id for ref in configuration.blocking_calendars()}
        released = [
            schedule.release(calendar_id, "calendar no longer blocks this user")
            for calendar_id in sorted(schedule.synced_calendars())
            if calendar_id not in blocking
        ]
        return [schedule] if any(released) else []
