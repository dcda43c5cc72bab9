"""The CalendarConfiguration aggregate: one user's primary and conflict calendars
in one sub-account, and how that user's imported events are read."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from eventsourcing.domain import Aggregate, event

from typing import Any

from calendar_domain.availability import (
    DEFAULT_BOOKING_RULES,
    DEFAULT_WORKING_HOURS,
    BookingRules,
    WorkingHours,
)
from calendar_domain.busy import AllDayPolicy
from calendar_domain.idempotency import RemembersRequests

CONFIGURATION_NAMESPACE = uuid.UUID("5d0b8e1a-3c2f-4e6d-8a7b-9c0d1e2f3a4b")
DEFAULT_TIME_ZONE = "UTC"


@dataclass(frozen=True, order=True)
class CalendarRef:
    """A calendar of one of the user's connections."""

    connection_id: str
    calendar_id: str


class CalendarConfiguration(RemembersRequests, Aggregate):
    class Started(Aggregate.Created):
        sub_account_id: str
        user_id: str

    class PrimarySet(Aggregate.Event):
        connection_id: str
        calendar_id: str
        request_id: str

    class PrimaryCleared(Aggregate.Event):
        connection_id: str
        calendar_id: str
        reason: str
        request_id: str

    class ConflictAdded(Aggregate.Event):
        connection_id: str
        calendar_id: str
        request_id: str

    class ConflictRemoved(Aggregate.Event):
        connection_id: str
        calendar_id: str
        reason: str
        request_id: str

    class AllDayPolicySet(Aggregate.Event):
        policy: str
        request_id: str

    class TimeZoneSet(Aggregate.Event):
        time_zone: str
        request_id: str

    class WorkingHoursSet(Aggregate.Event):
        working_hours: dict[str, Any]  # WorkingHours.to_payload()
        request_id: str

    class BookingRulesSet(Aggregate.Event):
        booking_rules: dict[str, int]  # BookingRules.to_payload()
        request_id: str

    @staticmethod
    def create_id(sub_account_id: str, user_id: str) -> uuid.UUID:
        return uuid.uuid5(CONFIGURATION_NAMESPACE, f"{sub_account_id}\x1f{user_id}")

    @event(Started)
    def __init__(self, sub_account_id: str, user_id: str) -> None:
        self.sub_account_id = sub_account_id
        self.user_id = user_id
        self.primary: CalendarRef | None = None
        self.conflicts: set[CalendarRef] = set()
        self.all_day_policy = AllDayPolicy.FOLLOW_TRANSP
        self.time_zone = DEFAULT_TIME_ZONE
        self.working_hours = DEFAULT_WORKING_HOURS
        self.booking_rules = DEFAULT_BOOKING_RULES
        self.request_ids: list[str] = []

    # -- queries -------------------------------------------------------------------

    def blocking_calendars(self) -> list[CalendarRef]:
        """The calendars whose busy events block the user: conflicts and the primary."""
        blocking = set(self.conflicts)
        if self.primary is not None:
            blocking.add(self.primary)
        return sorted(blocking)

    # -- commands ------------------------------------------------------------------

    def set_primary(self, calendar: CalendarRef, request_id: str = "") -> bool:
        if self.primary == calendar:
            return False
        self._primary_set(calendar.connection_id, calendar.calendar_id, request_id)
        return True

    @event(PrimarySet)
    def _primary_set(self, connection_id: str, calendar_id: str, request_id: str) -> None:
        self.primary = CalendarRef(connection_id, calendar_id)
        self._remember(request_id)

    def clear_primary(self, reason: str, request_id: str = "") -> bool:
        if self.primary is None:
            return False
        self._primary_cleared(self.primary.connection_id, self.primary.calendar_id, reason, request_id)
        return True

    @event(PrimaryCleared)
    def _primary_cleared(self, connection_id: str, calendar_id: str, reason: str, request_id: str) -> None:
        self.primary = None
        self._remember(request_id)

    def add_conflict(self, calendar: CalendarRef, request_id: str = "") -> bool:
        """Adding a calendar twice is a no-op, not a second event."""
        if calendar in self.conflicts:
            return False
        self._conflict_added(calendar.connection_id, calendar.calendar_id, request_id)
        return True

    @event(ConflictAdded)
    def _conflict_added(self, connection_id: str, calendar_id: str, request_id: str) -> None:
        self.conflicts = self.conflicts | {CalendarRef(connection_id, calendar_id)}
        self._remember(request_id)

    def remove_conflict(self, calendar: CalendarRef, reason: str, request_id: str = "") -> bool:
        if calendar not in self.conflicts:
            return False
        self._conflict_removed(calendar.connection_id, calendar.calendar_id, reason, request_id)
        return True

    @event(ConflictRemoved)
    def _conflict_removed(self, connection_id: str, calendar_id: str, reason: str, request_id: str) -> None:
        self.conflicts = self.conflicts - {CalendarRef(connection_id, calendar_id)}
        self._remember(request_id)

    def forget_calendars(self, connection_id: str, calendar_ids: set[str] | None, reason: str) -> bool:
        """Removes the connection's calendars (all of them when ``calendar_ids`` is
        None) from the configuration, each as a recorded event."""

        def gone(ref: CalendarRef) -> bool:
            return ref.connection_id == connection_id and (calendar_ids is None or ref.calendar_id in calendar_ids)

        changed = False
        if self.primary is not None and gone(self.primary):
            changed = self.clear_primary(reason)
        for ref in sorted(self.conflicts):
            if gone(ref):
                changed = self.remove_conflict(ref, reason) or changed
        return changed

    def set_all_day_policy(self, policy: AllDayPolicy, request_id: str = "") -> bool:
        if policy is self.all_day_policy:
            return False
        self._all_day_policy_set(policy.value, request_id)
        return True

    @event(AllDayPolicySet)
    def _all_day_policy_set(self, policy: str, request_id: str) -> None:
        self.all_day_policy = AllDayPolicy(policy)
        self._remember(request_id)

    def set_time_zone(self, time_zone: str, request_id: str = "") -> bool:
        if time_zone == self.time_zone:
            return False
        self._time_zone_set(time_zone, request_id)
        return True

    @event(TimeZoneSet)
    def _time_zone_set(self, time_zone: str, request_id: str) -> None:
        self.time_zone = time_zone
        self._remember(request_id)

    def set_working_hours(self, hours: WorkingHours, request_id: str = "") -> bool:
        if hours == self.working_hours:
            return False
        self._working_hours_set(hours.to_payload(), request_id)
        return True

    @event(WorkingHoursSet)
    def _working_hours_set(self, working_hours: dict[str, Any], request_id: str) -> None:
        self.working_hours = WorkingHours.from_payload(working_hours)
        self._remember(request_id)

    def set_booking_rules(self, rules: BookingRules, request_id: str = "") -> bool:
        if rules == self.booking_rules:
            return False
        self._booking_rules_set(rules.to_payload(), request_id)
        return True

    @event(BookingRulesSet)
    def _booking_rules_set(self, booking_rules: dict[str, int], request_id: str) -> None:
        self.booking_rules = BookingRules.from_payload(booking_rules)
        self._remember(request_id)
