"""The UserSchedule aggregate: what blocks one user's time in one sub-account.

It holds the blocked slots imported from the user's blocking calendars (one per
iCloud resource: a single event, or a recurring series with its overrides) and
the sync checkpoint of each calendar. A checkpoint is recorded in the same
transaction as the slot events it accounts for, so a crash can never move a
sync token past changes that were not recorded.

The aggregate keeps only what its rules need (href, UID, etag per slot); the
event payloads carry the series itself (normalised iCalendar text) for the
availability read model to expand.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from eventsourcing.domain import Aggregate, event

SCHEDULE_NAMESPACE = uuid.UUID("9a7c2e4f-1b3d-4c5e-8f6a-0b1c2d3e4f5a")


@dataclass(frozen=True)
class ImportedSeries:
    """One CalDAV resource, parsed: a single event or a series with overrides."""

    href: str
    etag: str
    uid: str
    summary: str
    location: str
    recurring: bool
    all_day: bool
    first_start: datetime
    last_end: datetime | None  # None: the series never ends
    ical: str  # normalised VCALENDAR: the VEVENTs of this UID and their VTIMEZONEs
    time_zone: str = ""  # the user's zone the times were read in (floating times, dates)
    zone_dependent: bool = True  # another user zone would move some occurrence
    # Occurrences (see ``occurrences.encode``) overlapping [expanded_from,
    # expanded_until); both None: every occurrence. occurrences None: none carried
    # (events recorded before they were), expand ``ical`` instead.
    expanded_from: datetime | None = None
    expanded_until: datetime | None = None
    occurrences: list[list[Any]] | None = None


@dataclass(frozen=True)
class SkippedResource:
    href: str
    etag: str
    reason: str


@dataclass(frozen=True)
class CalendarChanges:
    """What one sync of one calendar found, ready to apply to schedules.

    ``changed`` and ``skipped`` are resources whose etag differs from the last
    sync (or every resource, on a full listing); ``deleted`` are hrefs gone from
    the server. ``sync_token`` is the server's new token ("" when the server has
    no sync-collection and etags are compared instead).
    """

    calendar_id: str
    changed: list[ImportedSeries]
    skipped: list[SkippedResource]
    deleted: list[str]
    sync_token: str
    fetched_at: datetime


@dataclass(frozen=True)
class KnownResource:
    uid: str
    etag: str
    skipped_reason: str = ""


class UserSchedule(Aggregate):
    class Started(Aggregate.Created):
        sub_account_id: str
        user_id: str

    class BlockedSlotImported(Aggregate.Event):
        """Version 2: the series carries its occurrences (``occurrences.py``)."""

        class_version = 2
        connection_id: str
        calendar_id: str
        series: dict[str, Any]
        fetched_at: datetime

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["series"] = upcast_series_v1_v2(state["series"])

    class BlockedSlotUpdated(Aggregate.Event):
        class_version = 2
        connection_id: str
        calendar_id: str
        series: dict[str, Any]
        fetched_at: datetime

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["series"] = upcast_series_v1_v2(state["series"])

    class BlockedSlotRemoved(Aggregate.Event):
        connection_id: str
        calendar_id: str
        href: str
        uid: str
        reason: str

    class ResourceSkipped(Aggregate.Event):
        connection_id: str
        calendar_id: str
        href: str
        etag: str
        reason: str

    class CalendarSynced(Aggregate.Event):
        connection_id: str
        calendar_id: str
        sync_token: str
        fetched_at: datetime
        imported: int
        updated: int
        removed: int
        skipped: int

    class CalendarReleased(Aggregate.Event):
        connection_id: str
        calendar_id: str
        reason: str

    @staticmethod
    def create_id(sub_account_id: str, user_id: str) -> uuid.UUID:
        return uuid.uuid5(SCHEDULE_NAMESPACE, f"{sub_account_id}\x1f{user_id}")

    @event(Started)
    def __init__(self, sub_account_id: str, user_id: str) -> None:
        self.sub_account_id = sub_account_id
        self.user_id = user_id
        # calendar_id -> href -> [uid, etag, skipped reason]: plain lists, so that
        # snapshots of large schedules serialise without custom transcodings
        self.resources: dict[str, dict[str, list[str]]] = {}
        # calendar_id -> sync token of the last recorded sync ("" for etag diffs)
        self.checkpoints: dict[str, str] = {}
        # calendar_id -> the connection it was synced through
        self.calendar_connections: dict[str, str] = {}

    # -- queries -------------------------------------------------------------------

    def checkpoint(self, calendar_id: str) -> str | None:
        """The calendar's sync token; None when it was never synced (full listing needed)."""
        return self.checkpoints.get(calendar_id)

    def known(self, calendar_id: str) -> dict[str, KnownResource]:
        return {href: KnownResource(*entry) for href, entry in self.resources.get(calendar_id, {}).items()}

    def slot_count(self, calendar_id: str | None = None) -> int:
        """Blocked slots (resources imported at least once), of one calendar or all."""
        return sum(1 for *_, known in self.entries(calendar_id) if known.uid)

    def entries(self, calendar_id: str | None = None) -> list[tuple[str, str, str, KnownResource]]:
        """(calendar_id, connection_id, href, what is known) of every resource, in order."""
        return [
            (cal, self.calendar_connections.get(cal, ""), href, known)
            for cal in sorted(self.resources)
            if calendar_id is None or cal == calendar_id
            for href, known in sorted(self.known(cal).items())
        ]

    # -- commands ------------------------------------------------------------------

    def apply(self, connection_id: str, changes: CalendarChanges) -> bool:
        """Records what changed, fetched through ``connection_id``; returns False
        when nothing did (no event at all)."""
        known = _KnownView(self.resources, changes.calendar_id)
        counts = {"imported": 0, "updated": 0, "removed": 0, "skipped": 0}
        for series in changes.changed:
            before = known.get(series.href)
            if before is not None and before.etag == series.etag and not before.skipped_reason:
                continue
            payload = _series_payload(series)
            if before is None or not before.uid:  # new, or only ever skipped
                self._imported(connection_id, changes.calendar_id, payload, changes.fetched_at)
                counts["imported"] += 1
            else:
                self._updated(connection_id, changes.calendar_id, payload, changes.fetched_at)
                counts["updated"] += 1
        for skipped in changes.skipped:
            before = known.get(skipped.href)
            if before is not None and before.etag == skipped.etag and before.skipped_reason:
                continue
            self._skipped(connection_id, changes.calendar_id, skipped.href, skipped.etag, skipped.reason)
            counts["skipped"] += 1
        for href in changes.deleted:
            before = known.get(href)
            if before is None:
                continue
            self._removed(connection_id, changes.calendar_id, href, before.uid, "deleted in iCloud")
            counts["removed"] += 1
        if not any(counts.values()) and self.checkpoints.get(changes.calendar_id) == changes.sync_token:
            return False
        self._synced(
            connection_id, changes.calendar_id, changes.sync_token, changes.fetched_at, **counts
        )
        return True

    def synced_calendars(self) -> dict[str, str]:
        """calendar_id -> connection_id of every calendar this schedule holds."""
        return dict(self.calendar_connections)

    def release(self, calendar_id: str, reason: str) -> bool:
        """The calendar no longer blocks this user: its slots go, as recorded events."""
        if calendar_id not in self.calendar_connections:
            return False
        connection_id = self.calendar_connections[calendar_id]
        for href, known in sorted(self.known(calendar_id).items()):
            if known.uid:
                self._removed(connection_id, calendar_id, href, known.uid, reason)
        self._released(connection_id, calendar_id, reason)
        return True

    # -- events ----------------------------------------------------------------------

    @event(BlockedSlotImported)
    def _imported(self, connection_id: str, calendar_id: str, series: dict[str, Any], fetched_at: datetime) -> None:
        self._know(calendar_id, series["href"], KnownResource(series["uid"], series["etag"]))

    @event(BlockedSlotUpdated)
    def _updated(self, connection_id: str, calendar_id: str, series: dict[str, Any], fetched_at: datetime) -> None:
        self._know(calendar_id, series["href"], KnownResource(series["uid"], series["etag"]))

    @event(ResourceSkipped)
    def _skipped(self, connection_id: str, calendar_id: str, href: str, etag: str, reason: str) -> None:
        before = _KnownView(self.resources, calendar_id).get(href)
        # A slot that stops parsing keeps blocking as it last did (fail closed);
        # the skip is remembered against the new etag so it is retried on change.
        self._know(calendar_id, href, KnownResource(before.uid if before else "", etag, reason))

    @event(BlockedSlotRemoved)
    def _removed(self, connection_id: str, calendar_id: str, href: str, uid: str, reason: str) -> None:
        resources = dict(self.resources.get(calendar_id, {}))
        resources.pop(href, None)
        self.resources = {**self.resources, calendar_id: resources}

    @event(CalendarSynced)
    def _synced(
        self,
        connection_id: str,
        calendar_id: str,
        sync_token: str,
        fetched_at: datetime,
        imported: int,
        updated: int,
        removed: int,
        skipped: int,
    ) -> None:
        self.checkpoints = {**self.checkpoints, calendar_id: sync_token}
        self.calendar_connections = {**self.calendar_connections, calendar_id: connection_id}
        self.resources.setdefault(calendar_id, {})

    @event(CalendarReleased)
    def _released(self, connection_id: str, calendar_id: str, reason: str) -> None:
        self.resources = {k: v for k, v in self.resources.items() if k != calendar_id}
        self.checkpoints = {k: v for k, v in self.checkpoints.items() if k != calendar_id}
        self.calendar_connections = {k: v for k, v in self.calendar_connections.items() if k != calendar_id}

    def _know(self, calendar_id: str, href: str, known: KnownResource) -> None:
        self.resources.setdefault(calendar_id, {})[href] = [known.uid, known.etag, known.skipped_reason]


class _KnownView:
    """Reads one calendar's entries as KnownResource values, live."""

    def __init__(self, resources: dict[str, dict[str, list[str]]], calendar_id: str) -> None:
        self._resources = resources
        self._calendar_id = calendar_id

    def get(self, href: str) -> KnownResource | None:
        entry = self._resources.get(self._calendar_id, {}).get(href)
        return KnownResource(*entry) if entry is not None else None


_OPTIONAL_TIMES = ("last_end", "expanded_from", "expanded_until")


def _series_payload(series: ImportedSeries) -> dict[str, Any]:
    payload = asdict(series)
    payload["first_start"] = series.first_start.isoformat()
    for name in _OPTIONAL_TIMES:
        value = getattr(series, name)
        payload[name] = value.isoformat() if value else ""
    return payload


def series_from_payload(payload: dict[str, Any]) -> ImportedSeries:
    times = {name: datetime.fromisoformat(payload[name]) if payload[name] else None for name in _OPTIONAL_TIMES}
    return ImportedSeries(**{**payload, "first_start": datetime.fromisoformat(payload["first_start"]), **times})


def upcast_series_v1_v2(series: dict[str, Any]) -> dict[str, Any]:
    """A version-1 series carried no occurrences and did not say which zone its
    floating times were read in: readers expand its iCalendar text instead."""
    return {
        **series,
        "time_zone": "",
        "zone_dependent": True,
        "expanded_from": "",
        "expanded_until": "",
        "occurrences": None,
    }
