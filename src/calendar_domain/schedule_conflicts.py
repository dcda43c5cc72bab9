"""The conflicts of a UserSchedule's appointments with busy time of the user's
calendars, as they are detected and cleared (the rules: ``conflicts.py``)."""

from __future__ import annotations

from typing import Any

from calendar_domain import conflicts
from calendar_domain.bookings import record_span
from calendar_domain.conflicts import BookedIndex, BusyOccurrence, ConflictSource, Overlap
from calendar_domain.icloud_changes import SyncRules
from calendar_domain.imported import ImportedSeries
from calendar_domain.schedule_parts import SchedulePart


class TracksConflicts(SchedulePart):
    """The conflicts of a UserSchedule (a part of it)."""

    def note_busy(self, appointment_id: str, occurrences: list[BusyOccurrence], limit: int) -> None:
        """Records conflicts with busy occurrences found elsewhere (after the
        appointment moved in iCloud: imported events of calendars not in this sync);
        at most ``limit`` open on the appointment."""
        others = [o for o in occurrences if conflicts.other_than(appointment_id, o.source)]
        for overlap in conflicts.earliest_overlaps(self.appointments[appointment_id], others):
            self._detect(appointment_id, overlap, limit)

    def _open_by_source(self) -> dict[str, list[str]]:
        """Source key -> the appointments with an open conflict from it."""
        opened: dict[str, list[str]] = {}
        for appointment_id, record in sorted(self.appointments.items()):
            for key in record.get("conflicts") or ():
                opened.setdefault(key, []).append(appointment_id)
        return opened

    def _check_imported(
        self,
        index: BookedIndex,
        opened: dict[str, list[str]],
        connection_id: str,
        calendar_id: str,
        series: ImportedSeries,
        rules: SyncRules,
    ) -> None:
        """Detects and clears the conflicts of one imported resource, as it is now."""
        if series.occurrences is None:
            return  # carried no occurrences: nothing to compare (events recorded before they were)
        source = ConflictSource(
            conflicts.IMPORTED_EVENT, connection_id, calendar_id, series.href, series.uid, series.etag
        )
        found = conflicts.imported_overlaps(index, source, series.occurrences, rules.all_day_policy) if index else {}
        for appointment_id in sorted(found):
            self._detect(appointment_id, found[appointment_id], rules.max_open_conflicts)
        for appointment_id in opened.get(source.key, ()):
            if appointment_id not in found:
                conflict = self.appointments[appointment_id]["conflicts"][source.key]
                self._clear(appointment_id, conflict, "the event no longer overlaps the appointment")

    def _check_appointments(self, appointment_id: str, limit: int) -> None:
        """Detects the appointments a move in iCloud put this one on (on both)."""
        for other_id, overlap in conflicts.appointment_overlaps(self.appointments, appointment_id).items():
            self._detect(appointment_id, overlap, limit)
            mirrored = Overlap(
                ConflictSource(conflicts.APPOINTMENT, other_appointment_id=appointment_id),
                *record_span(self.appointments[appointment_id]), overlap.start, overlap.end,
            )
            self._detect(other_id, mirrored, limit)

    def _detect(self, appointment_id: str, overlap: Overlap, limit: int) -> None:
        open_conflicts = self.appointments[appointment_id].get("conflicts") or {}
        key = overlap.source.key
        if conflicts.same_overlap(open_conflicts.get(key), overlap):
            return
        if key not in open_conflicts and len(open_conflicts) >= limit:
            return
        source = overlap.source
        self._conflict_detected(
            appointment_id, source.kind, source.connection_id, source.calendar_id, source.href, source.uid,
            source.etag, source.other_appointment_id, overlap.occurrence_start, overlap.occurrence_end,
            overlap.start, overlap.end,
        )

    def _recheck(self, appointment_id: str, reason: str) -> None:
        """After the appointment moved or was cancelled: clears the conflicts that
        no longer overlap it (its own, and other appointments' over it)."""
        for holder, conflict in conflicts.ended(self.appointments, appointment_id):
            self._clear(holder, conflict, reason)

    def _clear_source(self, opened: dict[str, list[str]], calendar_id: str, href: str, reason: str) -> None:
        """An imported resource is gone: its conflicts end."""
        key = conflicts.source_key(conflicts.IMPORTED_EVENT, calendar_id, href, "")
        for appointment_id in opened.get(key, ()):
            conflict = (self.appointments[appointment_id].get("conflicts") or {}).get(key)
            if conflict is not None:
                self._clear(appointment_id, conflict, reason)

    def _clear(self, appointment_id: str, conflict: dict[str, Any], reason: str) -> None:
        self._conflict_cleared(
            appointment_id, conflict["kind"], conflict["calendar_id"], conflict["href"],
            conflict["other_appointment_id"], reason,
        )
