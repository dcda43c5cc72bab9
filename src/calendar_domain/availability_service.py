"""Availability queries: free slots, team free/busy, explanations.

Answers come from the availability read model (an index lookup per window) plus
the rules in ``availability.py``. Every answer says how fresh it is (``AsOf``):
the log position the read model had reached, and for each blocking calendar its
last successful sync and whether it is stale. A stale calendar's last known busy
times keep blocking unless the sub-account's policy says otherwise.
"""

from __future__ import annotations

import functools
import logging
import threading
import zoneinfo
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import date, datetime, tzinfo
from typing import Any, NoReturn

from calendar_domain import values
from calendar_domain.availability import (
    DEFAULT_BOOKING_RULES,
    DEFAULT_WORKING_HOURS,
    Busy,
    Reason,
    SourceKind,
    blocking_spans,
    caps_span,
    epoch,
    explain,
    free_slots,
    from_epoch,
)
from calendar_domain.availability_answers import (  # imported from here too
    PRIVATE,
    AvailabilityReadModel,
    CalendarState,
    CalendarStates,
    Staleness,
    CalendarFreshness,
    AsOf,
    Provenance,
    UserView,
    FreeSlots,
    TeamMode,
    TeamSlot,
    TeamAvailability,
    Explanation,
    Window,
)
from calendar_domain.availability_projection import BusyRow, SeriesExpander, SeriesRow, UserRow, occurrences_of
from calendar_domain.busy import AllDayPolicy, busy_rule
from calendar_domain.configuration import DEFAULT_TIME_ZONE
from calendar_domain.conflicts import IMPORTED_EVENT, BusyOccurrence, ConflictSource
from calendar_domain.errors import InvalidValue, UserUnknown, raise_all
from calendar_domain.occurrences import ALL_DAY, CANCELLED, TRANSPARENT
from calendar_domain.policy import SubAccountPolicy
from calendar_domain.schedule import UserSchedule
from calendar_domain.telemetry import happened

log = logging.getLogger(__name__)
MAX_USERS = 50  # users in one team or busy-times question


MAX_TEAM_USERS = 50


def check_team_request(user_ids: list[str], slot_minutes: int, step_minutes: int) -> None:
    """The shape of a team question, every problem at once."""
    problems = []
    if not user_ids:
        problems.append(InvalidValue("user_ids", "at least one user_id is required"))
    if len(user_ids) > MAX_TEAM_USERS:
        problems.append(InvalidValue("user_ids", f"at most {MAX_TEAM_USERS} users at once"))
    if len(set(user_ids)) != len(user_ids):
        problems.append(InvalidValue("user_ids", "user_ids must not repeat"))
    if not 5 <= slot_minutes <= 1440:
        problems.append(InvalidValue("slot_minutes", "slot_minutes must be between 5 and 1440"))
    if step_minutes and not 5 <= step_minutes <= 1440:
        problems.append(
            InvalidValue("step_minutes", "step_minutes must be 0 (the slot length) or between 5 and 1440")
        )
    raise_all(problems)


class AvailabilityService:
    def __init__(
        self,
        read_model: AvailabilityReadModel,
        states: CalendarStates,
        expander: SeriesExpander,
        *,
        position: Callable[[], int],
        stale_after: float,
        max_window_days: int,
        clock: Callable[[], float],
        unknown_user_seen: Callable[[], None] = lambda: None,
    ) -> None:
        self._read = read_model
        self._unknown_user_seen = unknown_user_seen  # a metric's count, wired by the bootstrap
        self._states = states
        self._expander = expander
        self._position = position
        self._stale_after = stale_after
        self._max_window = max_window_days * 86400
        self._clock = clock
        self._expanded: OrderedDict[tuple[Any, ...], list[BusyRow]] = OrderedDict()
        self._expanded_lock = threading.Lock()
        # One answer at a time: an answer is pure Python work plus small reads, so
        # threads gain nothing by interleaving, and measured with 8 server threads
        # they tripled the CPU per answer by handing the GIL to each other.
        self._one_at_a_time = threading.Lock()
        self._meta: dict[str, tuple[int, tuple[UserRow, list[tuple[str, str, str]], bool, bool]]] = {}
        # What a window of a user's holds, under the user's version in the read model
        # (it changes with any of their rows, so a hit is what a fresh read would give).
        self._windows: dict[tuple[Any, ...], tuple[list[Busy], dict[date, int], dict[date, int], dict[Any, Any]]] = {}

    # -- validation ---------------------------------------------------------------------

    def window(self, start: datetime | None, end: datetime | None) -> Window:
        if start is None:
            raise InvalidValue("window.start_time", "window.start_time is required")
        if end is None:
            raise InvalidValue("window.end_time", "window.end_time is required (windows are bounded)")
        values.calendar_time("window.start_time", start)
        values.calendar_time("window.end_time", end)
        if end <= start:
            raise InvalidValue("window.end_time", "window.end_time must be after window.start_time")
        if (end - start).total_seconds() > self._max_window:
            days = self._max_window // 86400
            raise InvalidValue("window.end_time", f"a window may span at most {days} days")
        return Window(epoch(start), epoch(end))

    # -- queries ----------------------------------------------------------------------

    def free_slots(self, sub_account_id: str, user_id: str, window: Window) -> FreeSlots:
        with self._one_at_a_time:
            view = self.user_view(sub_account_id, user_id, window)
            slots = view.free_slots(window, int(self._clock()))
        return FreeSlots(slots, view)

    def team(
        self,
        sub_account_id: str,
        user_ids: list[str],
        window: Window,
        *,
        slot_minutes: int,
        step_minutes: int,
        mode: TeamMode,
    ) -> TeamAvailability:
        check_team_request(user_ids, slot_minutes, step_minutes)
        now = int(self._clock())
        views = self.views(sub_account_id, user_ids, window)
        free: dict[tuple[int, int], list[str]] = {}
        for view in views:
            found = free_slots(
                view.query(window.start, window.end, now),
                view.busy,
                slot_seconds=slot_minutes * 60,
                step_seconds=(step_minutes or slot_minutes) * 60,
                spans=view.blocking_spans(),
                origin=window.start,
            )
            for slot in found:
                free.setdefault(slot, []).append(view.user_id)
        wanted = len(views) if mode is TeamMode.ALL else 1
        slots = [TeamSlot(s, e, users) for (s, e), users in sorted(free.items()) if len(users) >= wanted]
        return TeamAvailability(slots, views)

    def explain(self, sub_account_id: str, user_id: str, start: datetime | None, end: datetime | None) -> Explanation:
        """Why a slot [start, end) - or an instant, without ``end`` - is unavailable."""
        if start is None:
            raise InvalidValue("start_time", "start_time is required")
        values.calendar_time("start_time", start)
        if end is not None:
            values.calendar_time("end_time", end)
        if end is not None and end < start:
            raise InvalidValue("end_time", "end_time must not be before start_time")
        begin = epoch(start)
        finish = epoch(end) if end is not None else begin
        if finish - begin > self._max_window:
            raise InvalidValue("end_time", f"a slot may span at most {self._max_window // 86400} days")
        with self._one_at_a_time:
            view = self.user_view(sub_account_id, user_id, Window(begin, max(finish, begin + 1)))
            reasons, not_blocking = explain(view.query(begin, finish, int(self._clock())), view.busy)
        return Explanation(reasons, not_blocking, view)

    def views(self, sub_account_id: str, user_ids: list[str], window: Window) -> list[UserView]:
        """Several users' views of one window (1-50 users, none twice)."""
        check_user_ids(user_ids)
        with self._one_at_a_time:
            return [self.user_view(sub_account_id, user_id, window) for user_id in user_ids]

    def obstacles(self, sub_account_id: str, user_id: str, start: datetime, end: datetime, moving: str = "") -> list[Reason]:
        """Every reason [start, end) cannot be booked, as free slots see it; the
        appointment ``moving`` (being rescheduled) takes no time and is not counted."""
        begin, finish = epoch(start), epoch(end)
        with self._one_at_a_time:
            view = self.user_view(sub_account_id, user_id, Window(begin, finish), unknown_ok=True)
            if moving:
                view = _without_appointment(view, moving)
            reasons, _ = explain(view.query(begin, finish, int(self._clock())), view.busy)
        return reasons

    def imported_busy(self, sub_account_id: str, user_id: str, start: datetime, end: datetime) -> list[BusyOccurrence]:
        """The busy occurrences of imported events overlapping [start, end), with
        their provenance (where an appointment moved in iCloud meets them)."""
        begin, finish = epoch(start), epoch(end)
        with self._one_at_a_time:
            view = self.user_view(sub_account_id, user_id, Window(begin, finish))
        found = []
        for item in view.busy:
            if item.kind is SourceKind.IMPORTED and item.blocks and item.start < finish and begin < item.end:
                where = self.provenance(view, item, "")
                source = ConflictSource(
                    IMPORTED_EVENT, where.connection_id, where.calendar_id, where.href, where.uid, where.etag
                )
                found.append(BusyOccurrence(source, from_epoch(item.start), from_epoch(item.end)))
        return found

    def known_series(self, view: UserView, busy: Iterable[Busy]) -> dict[tuple[str, str], SeriesRow | None]:
        """The series behind these busy times, read at once (for ``provenance``)."""
        keys = {(b.source.calendar_id, b.source.href) for b in busy if b.kind is SourceKind.IMPORTED}
        found = self._read.series_of(view.user.user_key, keys)
        return {key: found.get(key) for key in keys}

    def provenance(
        self, view: UserView, busy: Busy, viewer_user_id: str, known: dict[tuple[str, str], SeriesRow | None] | None = None
    ) -> Provenance:
        """Where ``busy`` came from; titles and locations only for the user whose
        calendar it is (everyone else sees "Busy"). ``known``: the user's series
        read so far, kept across calls (an answer with many occurrences of one
        series reads it once)."""
        row: BusyRow = busy.source
        if busy.kind is not SourceKind.IMPORTED:
            return Provenance(kind=busy.kind, summary=row.summary, location=row.location)
        key = (row.calendar_id, row.href)
        if known is None or key not in known:
            series = self._read.series(view.user.user_key, row.calendar_id, row.href)
            if known is not None:
                known[key] = series
        else:
            series = known[key]
        own = bool(viewer_user_id) and viewer_user_id == view.user_id
        return Provenance(
            kind=busy.kind,
            connection_id=series.connection_id if series else "",
            calendar_id=row.calendar_id,
            href=row.href,
            uid=series.uid if series else "",
            recurrence_id=row.recurrence_id,
            etag=series.etag if series else "",
            fetched_at=series.fetched_at if series else "",
            summary=(row.summary or (series.summary if series else "")) if own else PRIVATE,
            location=(row.location or (series.location if series else "")) if own else "",
        )

    # -- one user's view ------------------------------------------------------------------

    def require_known(self, sub_account_id: str, user_id: str) -> UserRow:
        """The user's row; UserUnknown if the read model has never heard of them."""
        position = self._position()
        user, _, _, known = self._metadata(sub_account_id, user_id, _user_key(sub_account_id, user_id), position)
        if not known:
            self._refuse_unknown(sub_account_id, user_id, position)
        return user

    def user_view(self, sub_account_id: str, user_id: str, window: Window, *, unknown_ok: bool = False) -> UserView:
        """One user's view of a window; UserUnknown for a user the read model has
        never heard of, unless ``unknown_ok`` (then the default settings apply)."""
        sub_account_id = values.opaque_id("sub_account_id", sub_account_id)
        user_id = values.opaque_id("user_id", user_id)
        position = self._position()
        user_key = _user_key(sub_account_id, user_id)
        user, calendars, stale_block, known = self._metadata(sub_account_id, user_id, user_key, position)
        if not known and not unknown_ok:
            self._refuse_unknown(sub_account_id, user_id, position)
        zone = _zone(user.time_zone)
        freshness = self._freshness(sub_account_id, calendars, stale_block)
        ignored = {c.calendar_id for c in freshness if c.stale and not c.still_blocks}
        key = (user_key, user.version, window.start, window.end, frozenset(ignored))
        found = self._windows.get(key) if user.version else None
        if found is None:
            found = (*self._busy_in(user, zone, window, ignored), {})
            if len(self._windows) >= 512:
                self._windows.clear()
            self._windows[key] = found
        busy, booked, minutes, spans = found
        return UserView(sub_account_id, user_id, user, zone, busy, AsOf(position, freshness), booked, minutes, spans)

    def _busy_in(
        self, user: UserRow, zone: tzinfo, window: Window, ignored: set[str]
    ) -> tuple[list[Busy], dict[date, int], dict[date, int]]:
        """Everything that takes the user's time near the window, and their
        appointments and booked minutes per local day."""
        user_key, rules = user.user_key, user.booking_rules
        # what can touch a slot starting in the window: up to a slot's length and the buffers
        margin = 60 * (rules.slot_minutes + max(rules.buffer_before_minutes, rules.buffer_after_minutes)) + 60
        start, end = window.start - margin, window.end + margin
        if rules.capped:  # a period's appointments count, wherever in it the window starts and ends
            period_start, period_end = caps_span(window.start, window.end, zone, rules)
            start, end = min(start, period_start), max(end, period_end)
        rows = self._read.busy(user_key, start, end)
        partial = self._read.partial_series(user_key, start, end)
        if partial:
            replaced = {(s.calendar_id, s.href) for s in partial}
            rows = [r for r in rows if (r.calendar_id, r.href) not in replaced]
            for series in partial:
                rows.extend(self._expand(series, user.time_zone, start, end))
        decide = _rules_by_flags(user.all_day_policy)
        imported = SourceKind.IMPORTED
        busy: list[Busy] = []
        booked: dict[date, int] = {}
        minutes: dict[date, int] = {}
        for row in rows:
            if row.kind == "imported":
                blocks, rule = decide[row.flags]
                if ignored and row.calendar_id in ignored:
                    blocks, rule = False, "stale_calendar_ignored"
                busy.append(Busy(row.start, row.end, imported, blocks, rule, row))
            else:
                kind = SourceKind(row.kind)
                busy.append(Busy(row.start, row.end, kind, True, kind.value, row))
                if kind is SourceKind.APPOINTMENT and row.calendar_id == kind.value:  # not its held times
                    day = from_epoch(row.start).astimezone(zone).date()
                    booked[day] = booked.get(day, 0) + 1
                    minutes[day] = minutes.get(day, 0) + _minutes(row.start, row.end)
        return busy, booked, minutes

    def _refuse_unknown(self, sub_account_id: str, user_id: str, position: int) -> NoReturn:
        happened(log, "availability.user_unknown", sub_account=sub_account_id, user=user_id, position=position)
        self._unknown_user_seen()
        raise UserUnknown(
            f"user {user_id} of sub-account {sub_account_id} is unknown: no calendar configured, "
            f"no settings, no appointment or blocked slot (as of log position {position})",
            user_id=user_id, sub_account_id=sub_account_id, position=str(position),
        )

    def _metadata(
        self, sub_account_id: str, user_id: str, user_key: str, position: int
    ) -> tuple[UserRow, list[tuple[str, str, str]], bool, bool]:
        """The user's rules, blocking calendars, stale policy and whether the read
        model knows the user, read once per read-model position (they change only
        with events)."""
        cached = self._meta.get(user_key)
        if cached is not None and cached[0] == position:
            return cached[1]
        known = self._read.user(user_key)
        user = known or UserRow(
            user_key, sub_account_id, user_id, DEFAULT_TIME_ZONE, AllDayPolicy.FOLLOW_TRANSP,
            DEFAULT_WORKING_HOURS, DEFAULT_BOOKING_RULES,
        )
        calendars = sorted(self._read.calendars(user_key))
        block = self._read.stale_calendars_block(str(SubAccountPolicy.create_id(sub_account_id))) if calendars else True
        found = (user, calendars, block, known is not None)
        if len(self._meta) > 10_000:
            self._meta.clear()
        self._meta[user_key] = (position, found)
        return found

    def _freshness(
        self, sub_account_id: str, calendars: list[tuple[str, str, str]], block: bool
    ) -> list[CalendarFreshness]:
        now = self._clock()
        return [self._calendar_freshness(sub_account_id, c, block, now) for c in calendars]

    def _calendar_freshness(
        self, sub_account_id: str, calendar: tuple[str, str, str], block: bool, now: float
    ) -> CalendarFreshness:
        role, calendar_id, connection_id = calendar
        state = self._states.state(sub_account_id, connection_id, calendar_id)
        if state.connection_status == "reconnect_required":
            staleness = Staleness.RECONNECT_REQUIRED
        elif state.connection_status in ("disconnected", "unknown"):
            staleness = Staleness.DISCONNECTED
        elif not state.last_success:
            staleness = Staleness.NEVER_SYNCED
        elif now - state.last_success > self._stale_after:
            staleness = Staleness.OUT_OF_DATE
        else:
            staleness = Staleness.FRESH
        return CalendarFreshness(
            connection_id=connection_id,
            calendar_id=calendar_id,
            role=role,
            last_success=from_epoch(int(state.last_success)) if state.last_success else None,
            staleness=staleness,
            still_blocks=block or staleness is Staleness.FRESH,
        )

    def _expand(self, series: SeriesRow, time_zone: str, start: int, end: int) -> list[BusyRow]:
        """Occurrences beyond what the read model holds, from the series' text; kept
        in a small cache (whole days, so neighbouring windows share entries)."""
        day_start, day_end = start - start % 86400, end - end % 86400 + 86400
        key = (series.user_key, series.calendar_id, series.href, series.etag, time_zone, day_start, day_end)
        with self._expanded_lock:
            if key in self._expanded:
                self._expanded.move_to_end(key)
                return self._expanded[key]
        try:
            rows = occurrences_of(series, self._expander, from_epoch(day_start), from_epoch(day_end), time_zone)
        except Exception:  # it parsed when fetched; an answer without it beats none
            log.exception("cannot expand %s of calendar %s", series.href, series.calendar_id)
            return []
        with self._expanded_lock:
            self._expanded[key] = rows
            while len(self._expanded) > 2048:
                self._expanded.popitem(last=False)
        return rows


def _without_appointment(view: UserView, appointment_id: str) -> UserView:
    own = [b for b in view.busy if b.kind is SourceKind.APPOINTMENT and b.source.href == appointment_id]
    if not own:
        return view
    booked, minutes = dict(view.booked_per_day), dict(view.booked_minutes_per_day)
    for item in own:
        day = from_epoch(item.start).astimezone(view.zone).date()
        booked[day] = booked.get(day, 1) - 1
        minutes[day] = minutes.get(day, 0) - _minutes(item.start, item.end)
    return replace(
        view, busy=[b for b in view.busy if b not in own], booked_per_day=booked, booked_minutes_per_day=minutes, memo={}
    )


def _minutes(start: int, end: int) -> int:
    """An appointment's booked minutes, a started minute counting whole."""
    return -(-(end - start) // 60)


def check_user_ids(user_ids: list[str]) -> None:
    if not user_ids:
        raise InvalidValue("user_ids", "at least one user_id is required")
    if len(user_ids) > MAX_USERS:
        raise InvalidValue("user_ids", f"at most {MAX_USERS} users at once")
    if len(set(user_ids)) != len(user_ids):
        raise InvalidValue("user_ids", "user_ids must not repeat")


@functools.lru_cache(maxsize=4096)
def _user_key(sub_account_id: str, user_id: str) -> str:
    return str(UserSchedule.create_id(sub_account_id, user_id))


@functools.lru_cache(maxsize=512)
def _zone(name: str) -> tzinfo:
    return zoneinfo.ZoneInfo(name)


@functools.lru_cache(maxsize=8)
def _rules_by_flags(policy: AllDayPolicy) -> dict[int, tuple[bool, str]]:
    """Whether an imported occurrence blocks, and by which rule, for each flag set."""
    decided = {}
    for flags in range(8):
        blocks, rule = busy_rule(
            transparent=bool(flags & TRANSPARENT),
            cancelled=bool(flags & CANCELLED),
            all_day=bool(flags & ALL_DAY),
            policy=policy,
        )
        decided[flags] = (blocks, rule.value)
    return decided
