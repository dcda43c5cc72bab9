"""An appointment's own event, back from iCloud (an echo): never a blocked slot.

When the user moved or deleted it there, the appointment follows iCloud or is
restored, as the sub-account's policy says (``icloud_changes.py``).
"""

from __future__ import annotations

from datetime import datetime

from calendar_domain import icloud_changes
from calendar_domain.bookings import appointment_id_of_uid, record_span
from calendar_domain.icloud_changes import SyncRules
from calendar_domain.imported import ImportedSeries
from calendar_domain.schedule_parts import SchedulePart


class FollowsEchoes(SchedulePart):
    """What a UserSchedule does with its appointments' events back from iCloud (a part of it)."""

    def _own_appointment(self, uid: str, calendar_id: str) -> str | None:
        """The id of this schedule's appointment whose own event, in ``calendar_id``,
        has this UID. Not one whose event is gone from iCloud for good (cancelled,
        the deletion recorded), nor in another calendar than the one it was written
        to: an event with its UID there is one the user made (a deleted event
        brought back, a copy or a move to another calendar), and blocks as theirs do."""
        appointment_id = appointment_id_of_uid(uid)
        record = self.appointments.get(appointment_id or "")
        if record is None:
            return None
        written = record.get("pushed") or {}
        if record["status"] == "cancelled" and written.get("deleted") and written.get("revision") == record["revision"]:
            return None
        if written.get("calendar_id", calendar_id) != calendar_id:
            return None
        return appointment_id

    def _echo(self, connection_id: str, calendar_id: str, series: ImportedSeries, rules: SyncRules) -> int:
        """An appointment's own event, back from iCloud: never a blocked slot. It
        was moved when its times are neither the booked ones nor the ones last
        written (a push not yet recorded, or one not yet made); then it follows
        iCloud or is restored (``icloud_changes.py``)."""
        appointment_id = self._own_appointment(series.uid, calendar_id)
        assert appointment_id is not None
        record = self.appointments[appointment_id]
        span = (series.first_start, series.last_end or series.first_start)
        written = record.get("pushed") or {}
        known_spans = {record_span(record)}
        if written.get("start"):
            known_spans.add((datetime.fromisoformat(written["start"]), datetime.fromisoformat(written["end"])))
        # what one appointment cannot be: a series, or time the calendar shows free
        unfollowable = series.recurring or not icloud_changes.shown_busy(series.occurrences, rules)
        moved = record["status"] == "booked" and (unfollowable or span not in known_spans)
        self._changed_in_icloud(
            appointment_id, calendar_id, series.href, series.etag, span[0], span[1], moved
        )
        if not moved:
            if record.get("held"):  # back where the CRM has it: what was held is free on the calendar
                self._restore_requested(appointment_id, record["revision"], calendar_id, series.href, [])
            return 1
        if icloud_changes.follows(record, rules, unfollowable):
            self._rescheduled(appointment_id, span[0], span[1], record["revision"] + 1, [], "", icloud_changes.ICLOUD)
            self._recheck(appointment_id, "the appointment moved")
            self._check_appointments(appointment_id, rules.max_open_conflicts)
        else:
            held = icloud_changes.held_spans(span, series.occurrences, rules)
            self._restore_requested(appointment_id, record["revision"], calendar_id, series.href, held)
        return 1

    def _deleted(self, appointment_id: str, calendar_id: str, href: str, rules: SyncRules) -> None:
        """The appointment's event was deleted in iCloud: cancelled, or restored."""
        record = self.appointments[appointment_id]
        follow = icloud_changes.follows(record, rules)
        self._deleted_in_icloud(appointment_id, calendar_id, href)
        if follow:
            self._cancelled(appointment_id, record["revision"] + 1, "deleted in iCloud", "", icloud_changes.ICLOUD)
            self._recheck(appointment_id, "the appointment was cancelled")
        else:
            self._restore_requested(appointment_id, record["revision"], calendar_id, href, [])
