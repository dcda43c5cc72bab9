"""What UserSchedule gives each of its parts (the mixins of ``schedule_*.py``):
its state, the methods that record its events, and what one part calls of another.

Declarations only, for the type checker: at run time the class is empty.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from calendar_domain.bookings import Spans
    from calendar_domain.conflicts import BookedIndex
    from calendar_domain.icloud_changes import SyncRules
    from calendar_domain.imported import ImportedSeries


class SchedulePart:
    """A part of UserSchedule (schedule.py), which it is a base of."""

    if TYPE_CHECKING:
        # state (UserSchedule)
        resources: dict[str, dict[str, list[str]]]
        checkpoints: dict[str, str]
        calendar_connections: dict[str, str]
        appointments: dict[str, dict[str, Any]]
        crm_blocks: dict[str, dict[str, Any]]
        _span_index: Spans

        # what records events (UserSchedule)
        def _imported(self, connection_id: str, calendar_id: str, series: dict[str, Any], fetched_at: datetime) -> None: ...
        def _updated(self, connection_id: str, calendar_id: str, series: dict[str, Any], fetched_at: datetime) -> None: ...
        def _skipped(self, connection_id: str, calendar_id: str, href: str, etag: str, reason: str) -> None: ...
        def _removed(self, connection_id: str, calendar_id: str, href: str, uid: str, reason: str) -> None: ...
        def _synced(
            self, connection_id: str, calendar_id: str, sync_token: str, fetched_at: datetime, imported: int,
            updated: int, removed: int, skipped: int,
        ) -> None: ...
        def _released(self, connection_id: str, calendar_id: str, reason: str) -> None: ...
        def _booked(
            self, appointment_id: str, start: datetime, end: datetime, title: str, description: str, location: str,
            attendees: list[dict[str, str]], calendar: dict[str, str], overridden: list[str], request_id: str,
        ) -> None: ...
        def _rescheduled(
            self, appointment_id: str, start: datetime, end: datetime, revision: int, overridden: list[str],
            request_id: str, cause: str,
        ) -> None: ...
        def _cancelled(self, appointment_id: str, revision: int, reason: str, request_id: str, cause: str) -> None: ...
        def _block_created(self, block_id: str, start: datetime, end: datetime, title: str, request_id: str) -> None: ...
        def _block_deleted(self, block_id: str, request_id: str) -> None: ...
        def _changed_in_icloud(
            self, appointment_id: str, calendar_id: str, href: str, etag: str, start: datetime, end: datetime,
            moved: bool,
        ) -> None: ...
        def _deleted_in_icloud(self, appointment_id: str, calendar_id: str, href: str) -> None: ...
        def _restore_requested(
            self, appointment_id: str, revision: int, calendar_id: str, href: str, held: list[list[str]]
        ) -> None: ...
        def _conflict_detected(
            self, appointment_id: str, kind: str, connection_id: str, calendar_id: str, href: str, uid: str,
            etag: str, other_appointment_id: str, occurrence_start: datetime, occurrence_end: datetime,
            overlap_start: datetime, overlap_end: datetime,
        ) -> None: ...
        def _conflict_cleared(
            self, appointment_id: str, kind: str, calendar_id: str, href: str, other_appointment_id: str, reason: str
        ) -> None: ...

        # what one part calls of another
        def _own_appointment(self, uid: str, calendar_id: str) -> str | None: ...  # schedule_echoes
        def _echo(self, connection_id: str, calendar_id: str, series: ImportedSeries, rules: SyncRules) -> int: ...
        def _deleted(self, appointment_id: str, calendar_id: str, href: str, rules: SyncRules) -> None: ...
        def _open_by_source(self) -> dict[str, list[str]]: ...  # schedule_conflicts
        def _check_imported(
            self, index: BookedIndex, opened: dict[str, list[str]], connection_id: str, calendar_id: str,
            series: ImportedSeries, rules: SyncRules,
        ) -> None: ...
        def _check_appointments(self, appointment_id: str, limit: int) -> None: ...
        def _recheck(self, appointment_id: str, reason: str) -> None: ...
        def _clear_source(self, opened: dict[str, list[str]], calendar_id: str, href: str, reason: str) -> None: ...
        def _spans(self) -> Spans: ...  # schedule_appointments
        def _entries_to_change(self, calendar_id: str) -> dict[str, list[str]]: ...  # schedule_copies
