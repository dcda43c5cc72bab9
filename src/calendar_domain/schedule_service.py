"""Application service for user schedules: which calendars to sync for whom, and
recording what a sync found.

The iCloud adapter asks for a plan (``sync_targets``), fetches each calendar
once, and hands the changes back (``record_changes``); every schedule touched
by one fetch is saved in one transaction, checkpoints included. A large fetch (a
first sync) is saved in parts of at most ``record_batch`` changes per calendar,
each in its own transaction and turn on the schedules, the checkpoint with the
last part: bookings for the user wait for one part at most, and a crash between
parts leaves the calendar without a new checkpoint, so the next sync lists it in
full and records only what is not known yet.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from calendar_domain.application import CalendarIntegration
from calendar_domain.bookings import appointment_id_of_uid
from calendar_domain.busy import AllDayPolicy
from calendar_domain.conflicts import BusyOccurrence
from calendar_domain.configuration import CalendarConfiguration
from calendar_domain.connection import Connection, ConnectionStatus
from calendar_domain.errors import ReadModelBehind
from calendar_domain.icloud_changes import ICLOUD, SyncRules
from calendar_domain.policy import ICloudChangePolicy, SubAccountPolicy
from calendar_domain.retry import retrying
from calendar_domain.schedule import CalendarChanges, KnownResource, UserSchedule
from calendar_domain.telemetry import happened

log = logging.getLogger(__name__)


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
    all_day_policy: AllDayPolicy = AllDayPolicy.FOLLOW_TRANSP  # which imported occurrences are busy


# The busy imported occurrences of a user (sub-account, user) in [start, end), as
# the availability read model holds them.
ImportedBusy = Callable[[str, str, datetime, datetime], list[BusyOccurrence]]


class ScheduleService:
    def __init__(
        self,
        app: CalendarIntegration,
        observe: Callable[[str], None] = lambda _event: None,
        imported_busy: ImportedBusy = lambda *_: [],
        bounds: SyncRules = SyncRules(),
        settle: Callable[[Sequence[uuid.UUID]], None] = lambda _ids: None,
        record_batch: int = 500,
    ) -> None:
        """``observe``: told the name of each appointment outcome a sync recorded
        (``told``), for metrics. ``imported_busy``: where an appointment moved in
        iCloud meets events of other calendars (or of this one, unchanged).
        ``bounds``: the limits of every sync's rules (its policies are the target's).
        ``settle``: waits (bounded) until the availability model has read the whole
        log, or raises ReadModelBehind."""
        self._app = app
        self._observe = observe
        self._imported_busy = imported_busy
        self._bounds = bounds
        self._settle = settle
        self._record_batch = record_batch

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
                if ref.connection_id != str(connection.id) or calendar is None or calendar.is_subscription:
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
                        all_day_policy=configuration.all_day_policy,
                    )
                )
        return targets

    def record_changes(self, found: list[tuple[SyncTarget, CalendarChanges]]) -> int:
        """Applies each target's changes to its schedule; saves them all at once
        (or in parts, see the module's docstring). Returns the last log position."""
        parted = [(target, in_parts(changes, self._record_batch)) for target, changes in found]
        for target, parts in parted:
            if len(parts) > 1:
                happened(log, "sync.recorded_in_parts", calendar_id=target.calendar_id, user_id=target.user_id,
                         parts=len(parts), batch=self._record_batch)
        position = 0
        for index in range(max((len(parts) for _, parts in parted), default=0)):
            part = [(target, parts[index], index == len(parts) - 1) for target, parts in parted if index < len(parts)]
            position = max(position, self._record_part(part))
        return position

    def _record_part(self, found: list[tuple[SyncTarget, CalendarChanges, bool]]) -> int:
        """One transaction: each target's part, with its checkpoint when it is the last."""

        def attempt() -> int:
            touched: dict[tuple[str, str], UserSchedule] = {}
            policies: dict[str, ICloudChangePolicy] = {}
            # (calendar, href) this sync read anew: the model's rows of them are old. Not
            # the skipped: they keep blocking as they last did (their rows are current).
            fetched: dict[tuple[str, str], set[tuple[str, str]]] = {}
            for target, changes, last in found:
                key = (target.sub_account_id, target.user_id)
                if not self._still_blocking(target):
                    happened(log, "sync.calendar_dropped", calendar_id=target.calendar_id, user_key=str(
                        UserSchedule.create_id(*key)), changes=len(changes.changed) + len(changes.deleted))
                    continue
                schedule = touched.get(key) or self.schedule(*key)
                if target.sub_account_id not in policies:
                    policies[target.sub_account_id] = self._icloud_changes(target.sub_account_id)
                rules = replace(
                    self._bounds, icloud_changes=policies[target.sub_account_id], all_day_policy=target.all_day_policy
                )
                if schedule.apply(target.connection_id, changes, rules, checkpoint=last):
                    touched[key] = schedule
                fetched.setdefault(key, set()).update(
                    (changes.calendar_id, href) for href in [*(s.href for s in changes.changed), *changes.deleted]
                )
            for key, schedule in touched.items():
                self._meet_other_events(schedule, fetched[key])
            return recorded_and_told(self._app, list(touched.values()), self._observe)

        schedule_ids = [UserSchedule.create_id(target.sub_account_id, target.user_id) for target, _, _ in found]
        with self._app.serialised(*schedule_ids):
            return retrying(attempt)

    def _still_blocking(self, target: SyncTarget) -> bool:
        """Whether the target's calendar still blocks its user, read in the schedule's
        turn: the configuration change that stops it blocking releases what was
        recorded of it in that turn, so what the sync fetched before must not bring
        it back (a sync recorded in parts takes seconds between its first and last)."""
        configuration = self._app.find(
            CalendarConfiguration.create_id(target.sub_account_id, target.user_id), CalendarConfiguration,
            read_only=True,
        )
        if configuration is None:  # no configuration to tell: as the targets were made
            return True
        return any(ref.calendar_id == target.calendar_id for ref in configuration.blocking_calendars())

    def _meet_other_events(self, schedule: UserSchedule, fetched: set[tuple[str, str]]) -> None:
        """Appointments that followed a move in iCloud, against the busy events the
        availability model holds (those this sync read were compared already)."""
        followed = {
            e.appointment_id for e in schedule.pending_events
            if type(e) is UserSchedule.AppointmentRescheduled and e.cause == ICLOUD
        }
        if not followed:
            return
        # An account's calendars are recorded one after another: the events of the
        # one recorded just before must be in the model before it is read.
        try:
            self._settle(concerning(schedule.sub_account_id, schedule.user_id))
        except ReadModelBehind as behind:  # compared with what it holds; never a sync lost over it
            happened(log, "appointment.conflict_check_behind", user_key=str(schedule.id),
                     appointments=len(followed), detail=behind.message)
            self._observe("appointment.conflict_check_behind")
        for appointment_id in sorted(followed):
            record = schedule.appointments[appointment_id]
            start, end = datetime.fromisoformat(record["start"]), datetime.fromisoformat(record["end"])
            busy = self._imported_busy(schedule.sub_account_id, schedule.user_id, start, end)
            schedule.note_busy(
                appointment_id, [b for b in busy if (b.source.calendar_id, b.source.href) not in fetched],
                self._bounds.max_open_conflicts,
            )

    def _icloud_changes(self, sub_account_id: str) -> ICloudChangePolicy:
        policy = self._app.find(SubAccountPolicy.create_id(sub_account_id), SubAccountPolicy, read_only=True)
        return policy.icloud_changes if policy is not None else ICloudChangePolicy.FOLLOW_ICLOUD

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
            for calendar_id in schedule.held_calendars()
            if calendar_id not in blocking
        ]
        return [schedule] if any(released) else []


def concerning(sub_account_id: str, user_id: str) -> list[uuid.UUID]:
    """The aggregates whose events decide, in the availability model, whether one
    user's time is free: a booking (and a sync comparing a moved appointment with
    the model) waits for these, not for the whole log."""
    return [
        UserSchedule.create_id(sub_account_id, user_id),
        CalendarConfiguration.create_id(sub_account_id, user_id),
        SubAccountPolicy.create_id(sub_account_id),
    ]


def in_parts(changes: CalendarChanges, size: int) -> list[CalendarChanges]:
    """``changes`` as parts of at most ``size`` changes, in the order ``apply``
    takes them (appointments' own events first, then the other changed resources,
    the skipped, the deleted); each carries the sync token, which only the last
    records. A fetch of at most ``size`` changes is one part."""
    ordered = sorted(changes.changed, key=lambda s: appointment_id_of_uid(s.uid) is None)  # stable
    items: list[tuple[str, Any]] = [
        *(("changed", s) for s in ordered), *(("skipped", s) for s in changes.skipped),
        *(("deleted", h) for h in changes.deleted),
    ]
    if len(items) <= size:
        return [changes]
    return [
        replace(
            changes,
            changed=[item for kind, item in chunk if kind == "changed"],
            skipped=[item for kind, item in chunk if kind == "skipped"],
            deleted=[item for kind, item in chunk if kind == "deleted"],
        )
        for chunk in (items[i : i + size] for i in range(0, len(items), size))
    ]


def recorded_and_told(app: CalendarIntegration, schedules: list[UserSchedule], observe: Callable[[str], None]) -> int:
    """Records the schedules' new events; then logs (and tells ``observe``) what an
    operator is told of them (``told``). Returns the log position, as ``record``."""
    outcomes = [told(e) for s in schedules for e in s.pending_events]
    position = app.record(*schedules)
    for outcome in outcomes:
        if outcome is not None:
            happened(log, outcome[0], **outcome[1])
            observe(outcome[0])
    return position


def told(domain_event: Any) -> tuple[str, dict[str, Any]] | None:
    """What an operator is told of an event a sync recorded about an appointment:
    the outcome of a change in iCloud, or a conflict (None for the rest)."""
    kind = type(domain_event)
    appointment_id = getattr(domain_event, "appointment_id", "")
    if kind is UserSchedule.AppointmentRescheduled and domain_event.cause == ICLOUD:
        return "appointment.followed_icloud", {"appointment_id": appointment_id, "revision": domain_event.revision}
    if kind is UserSchedule.AppointmentCancelled and domain_event.cause == ICLOUD:
        return "appointment.cancelled_in_icloud", {"appointment_id": appointment_id, "revision": domain_event.revision}
    if kind is UserSchedule.AppointmentRestoreRequested:
        return "appointment.restore_requested", {
            "appointment_id": appointment_id, "revision": domain_event.revision, "held": len(domain_event.held),
        }
    if kind is UserSchedule.AppointmentConflictDetected:
        return "appointment.conflict_detected", {
            "appointment_id": appointment_id, "kind": domain_event.kind, "calendar_id": domain_event.calendar_id,
            "other_appointment_id": domain_event.other_appointment_id or None,
        }
    if kind is UserSchedule.AppointmentConflictCleared:
        return "appointment.conflict_cleared", {
            "appointment_id": appointment_id, "kind": domain_event.kind, "reason": domain_event.reason,
        }
    return None
