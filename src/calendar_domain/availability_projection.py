"""The availability read model: busy intervals per user, with their provenance.

The projection turns schedule, configuration and policy events into rows: one
per occurrence of each imported event (and, later, per appointment), plus each
user's rules and blocking calendars. The occurrences come with the import
events (``occurrences.py``), so processing an event is arithmetic, not a parse;
only a series whose floating times were read in a zone the user has since left
(or an event recorded before occurrences were carried) is expanded here.

Events are processed in batches; the view writes a batch's rows and its tracking
position in one transaction, so each event takes effect exactly once and a
rebuild from the log does not pay one commit per event.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime, timedelta
from sys import intern
from typing import Any, NamedTuple, Protocol

from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.persistence import Tracking
from eventsourcing.projection import Projection
from eventsourcing.utils import get_topic

from calendar_domain.availability import BookingRules, SourceKind, WorkingHours
from calendar_domain.busy import AllDayPolicy, Occurrence
from calendar_domain.configuration import DEFAULT_TIME_ZONE, CalendarConfiguration
from calendar_domain.icloud_changes import ICLOUD
from calendar_domain.occurrences import encode, materialised_range
from calendar_domain.policy import SubAccountPolicy
from calendar_domain.schedule import UserSchedule

log = logging.getLogger(__name__)

# An occurrence longer than this is "long": kept apart so that a window query
# scans short ones by start time only (start >= window start - LONG_SECONDS).
LONG_SECONDS = 2 * 86400
# The pseudo-calendar of an appointment's times in iCloud while the CRM's version
# is written back over them (``icloud_changes.py``): they block until it is.
HELD_CALENDAR = "appointment_in_icloud"
# A single event's occurrence moves by at most a day when the user's zone changes.
_ZONE_MARGIN = timedelta(days=2)

# Expands iCalendar text over [start, end) with floating times in ``default_tz``.
SeriesExpander = Callable[[str, datetime, datetime, str], list[Occurrence]]


@dataclass(frozen=True)
class UserRow:
    user_key: str
    sub_account_id: str
    user_id: str
    time_zone: str
    all_day_policy: AllDayPolicy
    working_hours: WorkingHours
    booking_rules: BookingRules
    version: int = 0  # changes whenever anything of the user's in the read model does


@dataclass(frozen=True)
class SeriesRow:
    """One imported resource of one user's calendar (provenance of its occurrences)."""

    user_key: str
    calendar_id: str
    href: str
    connection_id: str
    uid: str
    etag: str
    fetched_at: str  # ISO time the resource was fetched
    summary: str
    location: str
    recurring: bool
    zone_dependent: bool
    time_zone: str
    first_start: int
    last_end: int | None  # None: never ends
    expanded_from: int | None  # occurrences rows cover [from, until); None: all of them
    expanded_until: int | None
    ical: str


class BusyRow(NamedTuple):
    """One occurrence of something that takes a user's time (a tuple: queries make
    hundreds per answer)."""

    kind: str  # SourceKind value
    calendar_id: str
    href: str
    recurrence_id: str
    start: int
    end: int
    flags: int  # occurrences.ALL_DAY | TRANSPARENT | CANCELLED
    summary: str
    location: str


class AvailabilityWriter(Protocol):
    """Writes of one batch, inside its transaction (reads see the batch's writes)."""

    def upsert_user(self, user_key: str, sub_account_id: str, user_id: str, config_id: str | None) -> None: ...

    def user_key_of_config(self, config_id: str) -> str | None: ...

    def user(self, user_key: str) -> UserRow | None: ...

    def update_user(self, user_key: str, **fields: str) -> None: ...

    def set_calendar(self, user_key: str, role: str, calendar_id: str, connection_id: str) -> None: ...

    def remove_calendar_role(self, user_key: str, role: str, calendar_id: str | None) -> None: ...

    def set_policy(self, sub_account_id: str, stale_calendars_block: bool) -> None: ...

    def put_series(self, series: SeriesRow, busy: list[BusyRow], replacing: bool) -> None: ...

    def put_series_values(self, values: tuple[Any, ...], busy: Sequence[tuple[Any, ...]], replacing: bool) -> None:
        """``put_series`` with the series as its fields' values and the occurrences
        as plain tuples, in SeriesRow's and BusyRow's order (``prepare``)."""

    def remove_series(self, user_key: str, calendar_id: str, href: str | None) -> None: ...

    def zone_dependent_series(self, user_key: str, other_than: str) -> list[SeriesRow]: ...

    def put_busy(self, user_key: str, rows: list[BusyRow]) -> None: ...

    def move_busy(self, user_key: str, calendar_id: str, href: str, start: int, end: int) -> None: ...

    def replace_occurrences(self, series: SeriesRow, busy: list[BusyRow]) -> None: ...


class AvailabilityView(Protocol):
    def write_batch(
        self, tracking: Tracking, work: Callable[[AvailabilityWriter], None], after: int = -1
    ) -> None: ...


_SCHEDULE_EVENTS = (
    UserSchedule.Started,
    UserSchedule.BlockedSlotImported,
    UserSchedule.BlockedSlotUpdated,
    UserSchedule.BlockedSlotRemoved,
    UserSchedule.CalendarReleased,
    UserSchedule.AppointmentBooked,
    UserSchedule.AppointmentRescheduled,
    UserSchedule.AppointmentCancelled,
    UserSchedule.BlockedSlotCreated,
    UserSchedule.BlockedSlotDeleted,
    UserSchedule.AppointmentRestoreRequested,
    UserSchedule.AppointmentPushed,
)
_CONFIGURATION_EVENTS = (
    CalendarConfiguration.Started,
    CalendarConfiguration.PrimarySet,
    CalendarConfiguration.PrimaryCleared,
    CalendarConfiguration.ConflictAdded,
    CalendarConfiguration.ConflictRemoved,
    CalendarConfiguration.AllDayPolicySet,
    CalendarConfiguration.TimeZoneSet,
    CalendarConfiguration.WorkingHoursSet,
    CalendarConfiguration.BookingRulesSet,
)
_POLICY_EVENTS = (SubAccountPolicy.StaleCalendarPolicySet,)


class AvailabilityProjection(Projection[Any]):
    name = "availability"
    topics = tuple(get_topic(kind) for kind in (*_SCHEDULE_EVENTS, *_CONFIGURATION_EVENTS, *_POLICY_EVENTS))

    def __init__(self, view: Any, expander: SeriesExpander) -> None:
        super().__init__(view)
        self.read_model: AvailabilityView = view
        self._expander = expander
        self._writer: AvailabilityWriter | None = None
        # user_key -> time zone: read once per user, kept up to date by this projection
        self._zones: dict[str, str] = {}
        self._handlers: dict[type, Callable[[Any, Any], None]] = {}

    # The library's entry point: one event, one transaction.
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        self.process_batch([(domain_event, tracking)])

    def forget(self) -> None:
        """Drops what the projection remembers of the view (before a rebuild)."""
        self._zones.clear()

    def process_batch(
        self, items: Iterable[tuple[Any, Tracking]], after: int = -1, tracking: Tracking | None = None
    ) -> None:
        """Processes events (or what ``prepare`` made of them) in order; their rows
        and the tracking position (by default the last event's) are written in one
        transaction. ``after``: the position before the batch (see the view's
        ``write_batch``). Given ``tracking``, ``items`` may be an iterator that
        produces them while the transaction is open (a rebuild's readers)."""
        if tracking is None:
            items = list(items)
            if not items:
                return
            tracking = items[-1][1]

        def work(writer: AvailabilityWriter) -> None:
            self._writer = writer
            try:
                handler = self._handler
                for domain_event, _ in items:
                    if type(domain_event) is tuple:
                        self._put_prepared(*domain_event)
                    else:
                        handler(type(domain_event))(self, domain_event)
            finally:
                self._writer = None

        try:
            self.read_model.write_batch(tracking, work, after)
        except Exception:
            self._zones.clear()  # what this batch taught it was rolled back
            raise

    def advance(self, tracking: Tracking, after: int = -1) -> None:
        """Records that the log was read up to ``tracking`` (nothing in it mattered)."""
        self.read_model.write_batch(tracking, lambda _writer: None, after)

    def _handler(self, kind: type) -> Callable[[Any, Any], None]:
        """``_apply``'s implementation for an event class, found once per class
        (dispatching through the descriptor on every event costs more than most
        handlers)."""
        found = self._handlers.get(kind)
        if found is None:
            getattr(self, "_apply")  # completes the registrations the library defers
            found = self._handlers[kind] = AvailabilityProjection.__dict__["_apply"].dispatcher.dispatch(kind)
        return found

    @property
    def writer(self) -> AvailabilityWriter:
        assert self._writer is not None, "only inside a batch"
        return self._writer

    @singledispatchmethod
    def _apply(self, domain_event: Any) -> None:
        """Events the read model does not use change nothing."""

    # -- schedules ---------------------------------------------------------------------

    @_apply.register
    def _(self, domain_event: UserSchedule.Started) -> None:
        self.writer.upsert_user(
            str(domain_event.originator_id), domain_event.sub_account_id, domain_event.user_id, None
        )

    @_apply.register
    def _(self, domain_event: UserSchedule.BlockedSlotImported) -> None:
        # imported: the resource has no rows (it is new, or was only ever skipped)
        self._put(domain_event, replacing=False)

    @_apply.register
    def _(self, domain_event: UserSchedule.BlockedSlotUpdated) -> None:
        self._put(domain_event, replacing=True)

    @_apply.register
    def _(self, domain_event: UserSchedule.BlockedSlotRemoved) -> None:
        self.writer.remove_series(str(domain_event.originator_id), domain_event.calendar_id, domain_event.href)

    @_apply.register
    def _(self, domain_event: UserSchedule.CalendarReleased) -> None:
        self.writer.remove_series(str(domain_event.originator_id), domain_event.calendar_id, None)

    # Appointments and CRM blocked slots: one row each, under a pseudo-calendar
    # named by their kind and an href that is their id.

    @_apply.register
    def _(self, domain_event: UserSchedule.AppointmentBooked) -> None:
        self._put_own(domain_event, SourceKind.APPOINTMENT, domain_event.appointment_id, domain_event.location)

    @_apply.register
    def _(self, domain_event: UserSchedule.AppointmentRescheduled) -> None:
        user_key = str(domain_event.originator_id)
        self.writer.move_busy(
            user_key, SourceKind.APPOINTMENT.value, domain_event.appointment_id,
            int(domain_event.start.timestamp()), int(domain_event.end.timestamp()),
        )
        if domain_event.cause == ICLOUD:  # it now is where the calendar has it
            self.writer.remove_series(user_key, HELD_CALENDAR, domain_event.appointment_id)

    @_apply.register
    def _(self, domain_event: UserSchedule.AppointmentCancelled) -> None:
        user_key = str(domain_event.originator_id)
        self.writer.remove_series(user_key, SourceKind.APPOINTMENT.value, domain_event.appointment_id)
        if domain_event.cause == ICLOUD:  # gone from the calendar too
            self.writer.remove_series(user_key, HELD_CALENDAR, domain_event.appointment_id)

    @_apply.register
    def _(self, domain_event: UserSchedule.AppointmentRestoreRequested) -> None:
        """Until the CRM's version is written back, the times the calendar shows block too."""
        user_key = str(domain_event.originator_id)
        self.writer.remove_series(user_key, HELD_CALENDAR, domain_event.appointment_id)
        rows = [
            BusyRow(
                kind=SourceKind.APPOINTMENT.value, calendar_id=HELD_CALENDAR, href=domain_event.appointment_id,
                recurrence_id=start, start=_epoch_text(start), end=_epoch_text(end), flags=0, summary="",
                location="",
            )
            for start, end in domain_event.held
        ]
        if rows:
            self.writer.put_busy(user_key, rows)

    @_apply.register
    def _(self, domain_event: UserSchedule.AppointmentPushed) -> None:
        # the calendar holds the CRM's version (or no longer the event): nothing else is held
        self.writer.remove_series(str(domain_event.originator_id), HELD_CALENDAR, domain_event.appointment_id)

    @_apply.register
    def _(self, domain_event: UserSchedule.BlockedSlotCreated) -> None:
        self._put_own(domain_event, SourceKind.CRM_BLOCK, domain_event.block_id, "")

    @_apply.register
    def _(self, domain_event: UserSchedule.BlockedSlotDeleted) -> None:
        self.writer.remove_series(str(domain_event.originator_id), SourceKind.CRM_BLOCK.value, domain_event.block_id)

    def _put_own(self, domain_event: Any, kind: SourceKind, item_id: str, location: str) -> None:
        row = BusyRow(
            kind=kind.value, calendar_id=kind.value, href=item_id, recurrence_id="",
            start=int(domain_event.start.timestamp()), end=int(domain_event.end.timestamp()),
            flags=0, summary=domain_event.title, location=location,
        )
        self.writer.put_busy(str(domain_event.originator_id), [row])

    def _zone(self, user_key: str) -> str:
        if user_key not in self._zones:
            user = self.writer.user(user_key)
            self._zones[user_key] = user.time_zone if user is not None else DEFAULT_TIME_ZONE
        return self._zones[user_key]

    def _put(self, domain_event: Any, replacing: bool) -> None:
        self._put_prepared(*prepared_series(domain_event, replacing))

    def _put_prepared(self, values: tuple[Any, ...], rows: list[tuple[Any, ...]] | None, replacing: bool) -> None:
        """The part of an import that depends on what came before it in the log: the
        user's zone, in which floating times are read."""
        time_zone = self._zone(values[_USER_KEY])
        if rows is not None and not (values[_ZONE_DEPENDENT] and values[_TIME_ZONE] != time_zone):
            self.writer.put_series_values(values, rows, replacing)
            return
        fetched_at = datetime.fromisoformat(values[_FETCHED_AT])
        series, occurrences = self._expand(SeriesRow(*values), time_zone, fetched_at)
        if series.expanded_until is None and not series.zone_dependent:
            series = replace(series, ical="")
        self.writer.put_series(series, busy_rows(series, occurrences), replacing)

    def _expand(self, series: SeriesRow, time_zone: str, fetched_at: datetime) -> tuple[SeriesRow, list[list[Any]]]:
        """The series' occurrences read in ``time_zone``, over the range a fetch at
        ``fetched_at`` would have carried (all of them when they fit)."""
        first = datetime.fromtimestamp(series.first_start, UTC) - _ZONE_MARGIN
        last = datetime.fromtimestamp(series.last_end, UTC) + _ZONE_MARGIN if series.last_end else None
        low, high = materialised_range(fetched_at)
        complete = last is not None and (not series.recurring or (low <= first and last <= high))
        begin, finish = (first, last) if complete and last is not None else (low, high)
        try:
            found = self._expander(series.ical, begin, finish, time_zone)
        except Exception:  # it parsed when fetched; never stop the read model over it
            log.exception("cannot expand %s of calendar %s", series.href, series.calendar_id)
            found = []
        occurrences = encode(found, series.summary, series.location)
        return (
            replace(
                series,
                time_zone=time_zone,
                expanded_from=None if complete else int(begin.timestamp()),
                expanded_until=None if complete else int(finish.timestamp()),
            ),
            occurrences,
        )

    # -- configurations ------------------------------------------------------------------

    @_apply.register
    def _(self, domain_event: CalendarConfiguration.Started) -> None:
        user_key = str(UserSchedule.create_id(domain_event.sub_account_id, domain_event.user_id))
        self.writer.upsert_user(
            user_key, domain_event.sub_account_id, domain_event.user_id, str(domain_event.originator_id)
        )

    @_apply.register
    def _(self, domain_event: CalendarConfiguration.PrimarySet) -> None:
        user_key = self._user_of(domain_event)
        self.writer.remove_calendar_role(user_key, "primary", None)
        self.writer.set_calendar(user_key, "primary", domain_event.calendar_id, domain_event.connection_id)

    @_apply.register
    def _(self, domain_event: CalendarConfiguration.PrimaryCleared) -> None:
        self.writer.remove_calendar_role(self._user_of(domain_event), "primary", None)

    @_apply.register
    def _(self, domain_event: CalendarConfiguration.ConflictAdded) -> None:
        user_key = self._user_of(domain_event)
        self.writer.set_calendar(user_key, "conflict", domain_event.calendar_id, domain_event.connection_id)

    @_apply.register
    def _(self, domain_event: CalendarConfiguration.ConflictRemoved) -> None:
        self.writer.remove_calendar_role(self._user_of(domain_event), "conflict", domain_event.calendar_id)

    @_apply.register
    def _(self, domain_event: CalendarConfiguration.AllDayPolicySet) -> None:
        self.writer.update_user(self._user_of(domain_event), all_day_policy=domain_event.policy)

    @_apply.register
    def _(self, domain_event: CalendarConfiguration.WorkingHoursSet) -> None:
        self.writer.update_user(
            self._user_of(domain_event), working_hours=_json(domain_event.working_hours)
        )

    @_apply.register
    def _(self, domain_event: CalendarConfiguration.BookingRulesSet) -> None:
        self.writer.update_user(
            self._user_of(domain_event), booking_rules=_json(domain_event.booking_rules)
        )

    @_apply.register
    def _(self, domain_event: CalendarConfiguration.TimeZoneSet) -> None:
        user_key = self._user_of(domain_event)
        self.writer.update_user(user_key, time_zone=domain_event.time_zone)
        self._zones[user_key] = domain_event.time_zone
        # Floating times and dates follow the user to the new zone.
        for series in self.writer.zone_dependent_series(user_key, domain_event.time_zone):
            fetched_at = datetime.fromisoformat(series.fetched_at)
            moved, occurrences = self._expand(series, domain_event.time_zone, fetched_at)
            self.writer.replace_occurrences(moved, busy_rows(moved, occurrences))

    def _user_of(self, domain_event: Any) -> str:
        user_key = self.writer.user_key_of_config(str(domain_event.originator_id))
        if user_key is None:  # the Started event always comes first in the log
            raise LookupError(f"configuration {domain_event.originator_id} was never started")
        return user_key

    # -- sub-account policy -----------------------------------------------------------

    @_apply.register
    def _(self, domain_event: SubAccountPolicy.StaleCalendarPolicySet) -> None:
        # Keyed by the policy's id: queries derive it from the sub-account.
        self.writer.set_policy(str(domain_event.originator_id), domain_event.stale_calendars_block)


# An import event's rows as the event alone gives them (``prepare``): the series'
# SeriesRow fields in order, its occurrences as BusyRow-shaped tuples (None: the
# event carries none, expand them) and whether it replaces an earlier import. Plain
# tuples: a rebuild sends thousands of these from process to process, and
# dataclasses, named tuples and datetimes cost several times as much to pickle.
# ``process_batch`` tells them from events by their type (no event is a tuple).
PreparedSeries = tuple[tuple[Any, ...], list[tuple[Any, ...]] | None, bool]


_SERIES_FIELDS = tuple(f.name for f in fields(SeriesRow))
_USER_KEY, _FETCHED_AT, _ZONE_DEPENDENT, _TIME_ZONE = (
    _SERIES_FIELDS.index(n) for n in ("user_key", "fetched_at", "zone_dependent", "time_zone")
)


# The import events, and whether each replaces an earlier import of its series.
IMPORT_EVENTS = {UserSchedule.BlockedSlotImported: False, UserSchedule.BlockedSlotUpdated: True}


def prepare(domain_event: Any) -> Any:
    """What the projection can work out of an event before knowing what came before
    it (a rebuild does this in other processes): an import's rows; any other event
    as it is. ``process_batch`` takes either."""
    replacing = IMPORT_EVENTS.get(type(domain_event))
    return domain_event if replacing is None else prepared_series(domain_event, replacing)


def prepared_series(domain_event: Any, replacing: bool) -> PreparedSeries:
    return prepared_import(
        str(domain_event.originator_id), domain_event.connection_id, domain_event.calendar_id,
        domain_event.series, domain_event.fetched_at.isoformat(), replacing,
    )


def prepared_import(
    user_key: str, connection_id: str, calendar_id: str, s: dict[str, Any], fetched_at: str, replacing: bool
) -> PreparedSeries:
    """An import event's rows, from its attributes (``fetched_at`` in ISO form)."""
    zone_dependent = bool(s["zone_dependent"])
    expanded_until = _epoch_text(s["expanded_until"]) if s["expanded_until"] else None
    # Names shared by many events (of a bounded set: users, calendars, connections,
    # zones) are interned: one object each, which a rebuild pickles once per range
    # instead of once per event.
    calendar_id, href, summary, location = intern(calendar_id), s["href"], s["summary"], s["location"]
    values = (  # in _SERIES_FIELDS' order (checked below)
        intern(user_key),
        calendar_id,
        href,
        intern(connection_id),
        s["uid"],
        s["etag"],
        fetched_at,
        summary,
        location,
        bool(s["recurring"]),
        zone_dependent,
        intern(s["time_zone"]),
        _epoch_text(s["first_start"]),
        _epoch_text(s["last_end"]) if s["last_end"] else None,  # last_end
        _epoch_text(s["expanded_from"]) if s["expanded_from"] else None,  # expanded_from
        expanded_until,
        # the text is kept only to expand beyond the rows or to follow a zone change
        s["ical"] if expanded_until is not None or zone_dependent or s["occurrences"] is None else "",
    )
    rows = None if s["occurrences"] is None else _occurrence_rows(calendar_id, href, s["occurrences"])
    return values, rows, replacing


assert _SERIES_FIELDS == (
    "user_key", "calendar_id", "href", "connection_id", "uid", "etag", "fetched_at", "summary", "location",
    "recurring", "zone_dependent", "time_zone", "first_start", "last_end", "expanded_from", "expanded_until", "ical",
) and BusyRow._fields == (
    "kind", "calendar_id", "href", "recurrence_id", "start", "end", "flags", "summary", "location"
), "prepared_series builds rows by position"


def busy_rows(series: SeriesRow, occurrences: list[list[Any]]) -> list[BusyRow]:
    return [BusyRow._make(row) for row in _occurrence_rows(series.calendar_id, series.href, occurrences)]


def _occurrence_rows(calendar_id: str, href: str, occurrences: list[list[Any]]) -> list[tuple[Any, ...]]:
    """An imported series' occurrences (``occurrences.encode``) as BusyRow-shaped tuples."""
    return [
        ("imported", calendar_id, href, rid, start, end, flags, summary, location)
        for start, end, flags, rid, summary, location in occurrences
    ]


def occurrences_of(series: SeriesRow, expander: SeriesExpander, start: datetime, end: datetime, time_zone: str) -> list[BusyRow]:
    """A series' occurrences over any span, expanded from its text (for spans
    outside what the read model holds)."""
    found = expander(series.ical, start, end, time_zone)
    return busy_rows(series, encode(found, series.summary, series.location))


def _epoch_text(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp())


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))
