"""The shapes of availability answers and of what they are read from: a user's
view of a window (``UserView``), how fresh its calendars are (``AsOf``), where a
busy time came from (``Provenance``), free slots, team slots, explanations."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from enum import Enum
from typing import Any, Protocol

from calendar_domain.availability import (
    Busy,
    Reason,
    SlotQuery,
    SourceKind,
    blocking_spans,
    bookable_span,
    grid_slots,
)
from calendar_domain.availability_projection import BusyRow, SeriesRow, UserRow

PRIVATE = "Busy"  # what everyone but the calendar's own user sees of an imported event


class AvailabilityReadModel(Protocol):
    def user(self, user_key: str) -> UserRow | None: ...

    def calendars(self, user_key: str) -> list[tuple[str, str, str]]: ...

    def stale_calendars_block(self, policy_key: str) -> bool: ...

    def busy(self, user_key: str, start: int, end: int) -> list[BusyRow]: ...

    def partial_series(self, user_key: str, start: int, end: int) -> list[SeriesRow]: ...

    def series(self, user_key: str, calendar_id: str, href: str) -> SeriesRow | None: ...

    def series_of(self, user_key: str, sources: Iterable[tuple[str, str]]) -> dict[tuple[str, str], SeriesRow]: ...


@dataclass(frozen=True)
class CalendarState:
    """What the sync side knows of one calendar: its connection's status and the
    time of its last successful sync (None: never)."""

    connection_status: str  # "active", "reconnect_required", "disconnected", "unknown"
    last_success: float | None


class CalendarStates(Protocol):
    def state(self, sub_account_id: str, connection_id: str, calendar_id: str) -> CalendarState: ...


class Staleness(str, Enum):
    FRESH = "fresh"
    NEVER_SYNCED = "never_synced"
    OUT_OF_DATE = "out_of_date"
    RECONNECT_REQUIRED = "reconnect_required"
    DISCONNECTED = "disconnected"


@dataclass(frozen=True)
class CalendarFreshness:
    connection_id: str
    calendar_id: str
    role: str  # "primary" or "conflict"
    last_success: datetime | None
    staleness: Staleness
    still_blocks: bool  # a stale calendar's busy times still count (the policy)

    @property
    def stale(self) -> bool:
        return self.staleness is not Staleness.FRESH


@dataclass(frozen=True)
class AsOf:
    position: int
    calendars: list[CalendarFreshness]

    @property
    def degraded(self) -> bool:
        return any(c.stale for c in self.calendars)


@dataclass(frozen=True)
class Provenance:
    """Where a busy time came from."""

    kind: SourceKind
    connection_id: str = ""
    calendar_id: str = ""
    href: str = ""
    uid: str = ""
    recurrence_id: str = ""
    etag: str = ""
    fetched_at: str = ""
    summary: str = PRIVATE
    location: str = ""


@dataclass(frozen=True)
class UserView:
    """One user's rules and everything that takes their time in a span."""

    sub_account_id: str
    user_id: str
    user: UserRow
    zone: tzinfo
    busy: list[Busy]
    as_of: AsOf
    booked_per_day: dict[date, int] = field(default_factory=dict)
    booked_minutes_per_day: dict[date, int] = field(default_factory=dict)
    # what is worked out from ``busy`` alone, shared by every view of the same rows
    memo: dict[tuple[Any, ...], list[tuple[int, int]]] = field(default_factory=dict, compare=False)

    def query(self, start: int, end: int, now: int) -> SlotQuery:
        return SlotQuery(
            start, end, now, self.zone, self.user.working_hours, self.user.booking_rules, self.booked_per_day,
            self.booked_minutes_per_day,
        )

    def blocking_spans(self) -> list[tuple[int, int]]:
        """The busy times widened by the user's buffers, merged (once per rows)."""
        rules = self.user.booking_rules
        key = ("spans", rules.buffer_before_minutes * 60, rules.buffer_after_minutes * 60)
        spans = self.memo.get(key)
        if spans is None:
            spans = self.memo[key] = blocking_spans(self.busy, key[1], key[2])
        return spans

    def free_slots(self, window: Window, now: int) -> list[tuple[int, int]]:
        """The user's free slots starting in the window at ``now``: the window's
        slots regardless of notice and horizon (once per rows), cut to what is
        bookable now."""
        query = self.query(window.start, window.end, now)
        earliest, latest = bookable_span(query)
        if earliest >= latest:
            return []
        key = ("slots", window.start, window.end)
        slots = self.memo.get(key)
        if slots is None:
            slots = self.memo[key] = grid_slots(query, self.busy, window.start, window.end, spans=self.blocking_spans())
        if earliest == window.start and latest == window.end:
            return list(slots)
        return slots[bisect_left(slots, (earliest,)) : bisect_left(slots, (latest,))]


@dataclass(frozen=True)
class FreeSlots:
    slots: list[tuple[int, int]]
    view: UserView


class TeamMode(str, Enum):
    ALL = "all"  # every user is free
    ANY = "any"  # at least one user is free


@dataclass(frozen=True)
class TeamSlot:
    start: int
    end: int
    free_user_ids: list[str]


@dataclass(frozen=True)
class TeamAvailability:
    slots: list[TeamSlot]
    views: list[UserView]


@dataclass(frozen=True)
class Explanation:
    reasons: list[Reason]
    not_blocking: list[Busy]
    view: UserView

    @property
    def free(self) -> bool:
        return not self.reasons


@dataclass(frozen=True)
class Window:
    start: int
    end: int
