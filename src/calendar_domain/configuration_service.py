"""Application service for calendar configurations: which calendars a user books
into and which block their time."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from calendar_domain import values
from calendar_domain.application import CalendarIntegration
from calendar_domain.availability import BookingRules, WorkingHours
from calendar_domain.busy import AllDayPolicy
from calendar_domain.configuration import CalendarConfiguration, CalendarRef
from calendar_domain.connection import Connection, ConnectionStatus
from calendar_domain.errors import (
    CalendarNotWritable,
    ConnectionClosed,
    InvalidValue,
    NotFound,
    ReconnectRequired,
)
from calendar_domain.idempotency import first_answer
from calendar_domain.retry import retrying
from calendar_domain.schedule import UserSchedule
from calendar_domain.schedule_service import ScheduleService
from calendar_domain.telemetry import happened

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConfigurationOutcome:
    configuration: CalendarConfiguration
    position: int


class ConfigurationService:
    def __init__(self, app: CalendarIntegration) -> None:
        self._app = app

    def get(self, sub_account_id: str, user_id: str) -> CalendarConfiguration:
        """The user's configuration; an empty one (not saved) if they have none yet."""
        sub_account_id = values.opaque_id("sub_account_id", sub_account_id)
        user_id = values.opaque_id("user_id", user_id)
        found = configuration_of(self._app, sub_account_id, user_id)
        return found if found is not None else CalendarConfiguration(sub_account_id, user_id)

    def find(self, sub_account_id: str, user_id: str) -> CalendarConfiguration | None:
        return configuration_of(self._app, sub_account_id, user_id)

    def set_primary(
        self, sub_account_id: str, user_id: str, connection_id: str, calendar_id: str, request_id: str = ""
    ) -> ConfigurationOutcome:
        def change(configuration: CalendarConfiguration) -> None:
            ref = self._owned_calendar(configuration, connection_id, calendar_id, writable=True)
            configuration.set_primary(ref, request_id)

        return self._change(sub_account_id, user_id, request_id, change)

    def clear_primary(self, sub_account_id: str, user_id: str, request_id: str = "") -> ConfigurationOutcome:
        return self._change(
            sub_account_id, user_id, request_id, lambda c: c.clear_primary("cleared by the user", request_id)
        )

    def add_conflict(
        self, sub_account_id: str, user_id: str, connection_id: str, calendar_id: str, request_id: str = ""
    ) -> ConfigurationOutcome:
        def change(configuration: CalendarConfiguration) -> None:
            ref = self._owned_calendar(configuration, connection_id, calendar_id, writable=False)
            configuration.add_conflict(ref, request_id)

        return self._change(sub_account_id, user_id, request_id, change)

    def remove_conflict(
        self, sub_account_id: str, user_id: str, connection_id: str, calendar_id: str, request_id: str = ""
    ) -> ConfigurationOutcome:
        ref = CalendarRef(
            str(values.uuid_id("connection_id", connection_id)), str(values.uuid_id("calendar_id", calendar_id))
        )
        return self._change(
            sub_account_id, user_id, request_id, lambda c: c.remove_conflict(ref, "removed by the user", request_id)
        )

    def set_reading_rules(
        self,
        sub_account_id: str,
        user_id: str,
        *,
        all_day_policy: str = "",
        time_zone: str = "",
        request_id: str = "",
    ) -> ConfigurationOutcome:
        """How imported events are read: the all-day policy and the user's time zone
        (for floating times). Empty values leave a setting as it is."""
        policy = _all_day_policy(all_day_policy) if all_day_policy else None
        if time_zone:
            values.time_zone("time_zone", time_zone)

        def change(configuration: CalendarConfiguration) -> None:
            if policy is not None:
                configuration.set_all_day_policy(policy, request_id)
            if time_zone:
                configuration.set_time_zone(time_zone, request_id)

        return self._change(sub_account_id, user_id, request_id, change)

    def set_working_hours(
        self,
        sub_account_id: str,
        user_id: str,
        hours: WorkingHours,
        *,
        time_zone: str = "",
        request_id: str = "",
    ) -> ConfigurationOutcome:
        """Replaces the weekly hours and overrides (and the zone, when given)."""
        if time_zone:
            values.time_zone("time_zone", time_zone)

        def change(configuration: CalendarConfiguration) -> None:
            if time_zone:
                configuration.set_time_zone(time_zone, request_id)
            configuration.set_working_hours(hours, request_id)

        return self._change(sub_account_id, user_id, request_id, change)

    def set_time_zone(self, sub_account_id: str, user_id: str, time_zone: str, request_id: str = "") -> ConfigurationOutcome:
        """The user's one time zone, alone (one event; nothing read back and written)."""
        values.time_zone("time_zone", time_zone)
        changed = [False]

        def change(configuration: CalendarConfiguration) -> None:
            changed[0] = configuration.set_time_zone(time_zone, request_id)  # False: already this zone

        outcome = self._change(sub_account_id, user_id, request_id, change)
        happened(
            log, "time_zone.set", sub_account=sub_account_id, user=user_id, time_zone=time_zone,
            changed=changed[0], position=outcome.position,
        )
        return outcome

    def set_booking_rules(
        self, sub_account_id: str, user_id: str, rules: BookingRules, request_id: str = ""
    ) -> ConfigurationOutcome:
        return self._change(sub_account_id, user_id, request_id, lambda c: c.set_booking_rules(rules, request_id))

    # -- helpers ---------------------------------------------------------------------

    def _change(
        self,
        sub_account_id: str,
        user_id: str,
        request_id: str,
        change: Callable[[CalendarConfiguration], object],
    ) -> ConfigurationOutcome:
        request_id = values.request_id("request_id", request_id)

        def attempt() -> ConfigurationOutcome:
            configuration = self.get(sub_account_id, user_id)
            if configuration.has_seen(request_id):
                first = first_answer(
                    self._app, configuration, request_id, change,
                    lambda: CalendarConfiguration(configuration.sub_account_id, configuration.user_id),
                )
                return ConfigurationOutcome(first, self._app.head_position())
            change(configuration)
            released = ScheduleService(self._app).releases_for(configuration)
            return ConfigurationOutcome(configuration, self._app.record(configuration, *released))

        # the releases are saved on the user's schedule: its commands take turns with this
        with self._app.serialised(
            CalendarConfiguration.create_id(sub_account_id, user_id), UserSchedule.create_id(sub_account_id, user_id)
        ):
            return retrying(attempt)

    def _owned_calendar(
        self, configuration: CalendarConfiguration, connection_id: str, calendar_id: str, *, writable: bool
    ) -> CalendarRef:
        """A calendar of a working connection of this user in this sub-account.
        Anyone else's calendar is NOT_FOUND, so nothing leaks across users."""
        connection_uuid = values.uuid_id("connection_id", connection_id)
        calendar_uuid = values.uuid_id("calendar_id", calendar_id)
        connection = self._app.find(connection_uuid, Connection)
        owned = (
            connection is not None
            and connection.sub_account_id == configuration.sub_account_id
            and connection.user_id == configuration.user_id
        )
        if connection is None or not owned:
            raise NotFound(f"connection {connection_id} not found", connection_id=connection_id)
        calendar = connection.calendars.get(str(calendar_uuid))
        if calendar is None:
            raise NotFound(f"calendar {calendar_id} not found in this connection", calendar_id=calendar_id)
        if connection.status is ConnectionStatus.DISCONNECTED:
            raise ConnectionClosed("the connection is disconnected", connection_id=connection_id)
        if connection.status is ConnectionStatus.RECONNECT_REQUIRED:
            raise ReconnectRequired(
                "the connection needs a new app-specific password first", connection_id=connection_id
            )
        if calendar.is_subscription:
            raise InvalidValue(
                "calendar_id",
                f"calendar {calendar.display_name!r} is a subscribed calendar, which holds no events of its "
                "own: subscribe to its feed with SubscribeCalendar (icloud_connection_id, icloud_calendar_id)",
            )
        if writable and not calendar.writable:
            raise CalendarNotWritable(
                f"calendar {calendar.display_name!r} is read-only; the primary calendar must be writable",
                calendar_id=calendar_id,
            )
        return CalendarRef(str(connection.id), calendar.calendar_id)


def configuration_of(app: CalendarIntegration, sub_account_id: str, user_id: str) -> CalendarConfiguration | None:
    return app.find(CalendarConfiguration.create_id(sub_account_id, user_id), CalendarConfiguration)


def _all_day_policy(value: str) -> AllDayPolicy:
    try:
        return AllDayPolicy(value)
    except ValueError:
        choices = ", ".join(p.value for p in AllDayPolicy)
        raise InvalidValue("all_day_policy", f"all_day_policy must be one of: {choices}") from None
