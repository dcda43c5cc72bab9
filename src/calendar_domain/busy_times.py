"""Busy times as an answer of their own (DOMAIN.md, "Availability"): the busy
intervals of users in a window with where each came from, and what a list of
imported blocked slots shows of each (its next occurrence, title, whether it
blocks). Read from the availability read model, never by replaying."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from calendar_domain.availability import Busy, from_epoch
from calendar_domain.availability_projection import BusyRow, SeriesExpander, SeriesRow, UserRow, occurrences_of
from calendar_domain.availability_service import PRIVATE, AvailabilityService, UserView, Window
from calendar_domain.busy import AllDayPolicy, busy_rule
from calendar_domain.configuration import DEFAULT_TIME_ZONE
from calendar_domain.occurrences import ALL_DAY, CANCELLED, TRANSPARENT
from calendar_domain.schedule import UserSchedule
from calendar_domain.telemetry import happened

log = logging.getLogger(__name__)

# How far ahead the next occurrence of a series is looked for beyond what the read
# model holds: a year first, then (a series that recurs every few years) ten.
NEXT_OCCURRENCE_AHEAD = (400 * 86400, 3653 * 86400)


class SlotsReadModel(Protocol):
    def user(self, user_key: str) -> UserRow | None: ...

    def series(self, user_key: str, calendar_id: str, href: str) -> SeriesRow | None: ...

    def occurrence_near(self, user_key: str, calendar_id: str, href: str, after: int) -> BusyRow | None: ...


@dataclass(frozen=True)
class UserBusyTimes:
    view: UserView
    busy: list[Busy]  # whole intervals meeting the window, by start


@dataclass(frozen=True)
class SlotDetail:
    """An imported blocked slot as a list shows it: its next occurrence (for a
    single event, the event; for a series that has ended, its last occurrence),
    the title (privacy rule) and whether it blocks by its own rule."""

    start: int
    end: int
    recurrence_id: str
    title: str
    blocks: bool
    rule: str


class BusyTimes:
    def __init__(
        self,
        availability: AvailabilityService,
        read_model: SlotsReadModel,
        expander: SeriesExpander,
        *,
        clock: Callable[[], float],
    ) -> None:
        self._availability = availability
        self._read = read_model
        self._expander = expander
        self._clock = clock

    def of_users(
        self, sub_account_id: str, user_ids: list[str], window: Window, *, include_not_blocking: bool
    ) -> list[UserBusyTimes]:
        """Each user's busy times meeting the window (whole, sorted), with what does
        not block too when asked."""
        answer = []
        for view in self._availability.views(sub_account_id, user_ids, window):
            found = [
                b for b in view.busy
                if (b.blocks or include_not_blocking) and _meets(b.start, b.end, window.start, window.end)
            ]
            found.sort(key=lambda b: (b.start, b.end, b.kind.value))
            answer.append(UserBusyTimes(view, found))
        happened(
            log, "busy_times.answered", sub_account=sub_account_id, users=len(answer),
            intervals=sum(len(a.busy) for a in answer), window_seconds=window.end - window.start,
        )
        return answer

    def blocked_slot_details(
        self, sub_account_id: str, user_id: str, sources: list[tuple[str, str]], viewer_user_id: str
    ) -> dict[tuple[str, str], SlotDetail]:
        """What the read model knows of each (calendar_id, href) of the user's: its
        next occurrence, title and rule (left out where it has not read it yet)."""
        user_key = str(UserSchedule.create_id(sub_account_id, user_id))
        user = self._read.user(user_key)
        time_zone = user.time_zone if user else DEFAULT_TIME_ZONE
        policy = user.all_day_policy if user else AllDayPolicy.FOLLOW_TRANSP
        own = bool(viewer_user_id) and viewer_user_id == user_id
        now = int(self._clock())
        found: dict[tuple[str, str], SlotDetail] = {}
        for calendar_id, href in sources:
            series = self._read.series(user_key, calendar_id, href)
            if series is None:
                continue
            row = self._read.occurrence_near(user_key, calendar_id, href, now)
            if (row is None or row.end <= now) and (series.last_end is None or series.last_end > now):
                row = self._next_beyond_held(series, time_zone, now) or row
            if row is None:
                continue
            blocks, rule = busy_rule(
                transparent=bool(row.flags & TRANSPARENT), cancelled=bool(row.flags & CANCELLED),
                all_day=bool(row.flags & ALL_DAY), policy=policy,
            )
            title = (row.summary or series.summary) if own else PRIVATE
            found[(calendar_id, href)] = SlotDetail(row.start, row.end, row.recurrence_id, title, blocks, rule.value)
        return found

    def _next_beyond_held(self, series: SeriesRow, time_zone: str, now: int) -> BusyRow | None:
        """A series' first occurrence ending after ``now``, from its text."""
        for ahead in NEXT_OCCURRENCE_AHEAD:
            later = [
                r for r in occurrences_of(series, self._expander, from_epoch(now), from_epoch(now + ahead), time_zone) if r.end > now
            ]
            if later:
                return min(later, key=lambda r: (r.start, r.end))
        return None


def _meets(start: int, end: int, window_start: int, window_end: int) -> bool:
    """[start, end) meets the window; a zero-length time counts when it lies inside."""
    if end <= start:
        return window_start <= start < window_end
    return start < window_end and window_start < end
