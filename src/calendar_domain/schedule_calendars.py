"""What a UserSchedule holds of its blocking calendars, and how a sync changes it.

Per calendar: the resource entries (href -> [uid, etag, skipped reason]), the
sync checkpoint and the connection it was synced through. ``apply`` records a
sync's changes, ``release`` what goes when the calendar no longer blocks.
"""

from __future__ import annotations

from calendar_domain.conflicts import BookedIndex
from calendar_domain.icloud_changes import SyncRules
from calendar_domain.imported import CalendarChanges, KnownResource, series_payload
from calendar_domain.schedule_parts import SchedulePart


class HoldsCalendars(SchedulePart):
    """The blocking calendars of a UserSchedule (a part of it)."""

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
            if not self._own_appointment(known.uid, cal)  # an appointment's event is not a slot
        ]

    # -- commands ------------------------------------------------------------------

    def apply(
        self, connection_id: str, changes: CalendarChanges, rules: SyncRules = SyncRules(), *, checkpoint: bool = True
    ) -> bool:
        """Records what changed, fetched through ``connection_id``; returns False
        when nothing did (no event at all). ``rules``: what appointments changed
        in iCloud do, and which imported occurrences are busy (for conflicts).
        ``checkpoint`` False: a part of a sync recorded in parts, whose sync token
        is recorded with its last part (no CalendarSynced here)."""
        known = _KnownView(self, changes.calendar_id)
        counts = {"imported": 0, "updated": 0, "removed": 0, "skipped": 0}
        echoes = 0
        fresh = [
            series for series in changes.changed
            if not ((before := known.get(series.href)) is not None and before.etag == series.etag
                    and not before.skipped_reason)
        ]
        # Appointments first: an imported event of the same sync then meets them
        # where the calendar now has them.
        for series in fresh:
            if self._own_appointment(series.uid, changes.calendar_id):
                echoes += self._echo(connection_id, changes.calendar_id, series, rules)
        # what conflicts need, made only when some appointment can have one
        index = BookedIndex(self.appointments) if self.appointments and fresh else None
        opened = self._open_by_source() if self.appointments else {}
        for series in fresh:
            if self._own_appointment(series.uid, changes.calendar_id):
                continue
            before = known.get(series.href)
            payload = series_payload(series)
            if before is None or not before.uid:  # new, or only ever skipped
                self._imported(connection_id, changes.calendar_id, payload, changes.fetched_at)
                counts["imported"] += 1
            else:
                self._updated(connection_id, changes.calendar_id, payload, changes.fetched_at)
                counts["updated"] += 1
            if index is not None:
                self._check_imported(index, opened, connection_id, changes.calendar_id, series, rules)
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
            appointment_id = self._own_appointment(before.uid, changes.calendar_id)
            if appointment_id:
                if self.appointments[appointment_id]["status"] == "booked":
                    self._deleted(appointment_id, changes.calendar_id, href, rules)
                    echoes += 1
                continue  # a cancelled one: our own delete coming back
            self._removed(connection_id, changes.calendar_id, href, before.uid, "deleted in iCloud")
            self._clear_source(opened, changes.calendar_id, href, "the event was deleted in iCloud")
            counts["removed"] += 1
        if not checkpoint:
            return bool(any(counts.values()) or echoes)
        if not any(counts.values()) and not echoes and self.checkpoints.get(changes.calendar_id) == changes.sync_token:
            return False
        self._synced(
            connection_id, changes.calendar_id, changes.sync_token, changes.fetched_at, **counts
        )
        return True

    def synced_calendars(self) -> dict[str, str]:
        """calendar_id -> connection_id of every calendar this schedule holds."""
        return dict(self.calendar_connections)

    def held_calendars(self) -> list[str]:
        """Every calendar this schedule holds anything of: the synced ones, and one
        whose first sync recorded parts but not yet its last (the process stopped
        in between, or the sync is still under way)."""
        return sorted({*self.calendar_connections, *self.resources})

    def release(self, calendar_id: str, reason: str) -> bool:
        """The calendar no longer blocks this user: its slots go, as recorded events.
        A calendar whose first sync was recorded only in part goes too; it was never
        synced through a connection, so its release names none ("")."""
        if calendar_id not in self.calendar_connections and calendar_id not in self.resources:
            return False
        connection_id = self.calendar_connections.get(calendar_id, "")
        opened = self._open_by_source() if self.appointments else {}
        for href, known in sorted(self.known(calendar_id).items()):
            if known.uid and not self._own_appointment(known.uid, calendar_id):
                self._removed(connection_id, calendar_id, href, known.uid, reason)
                self._clear_source(opened, calendar_id, href, "the calendar no longer blocks this user")
        for appointment_id, record in sorted(self.appointments.items()):
            # times held for a restore are this calendar's: they stop blocking with it
            where = (record.get("pushed") or {}).get("calendar_id") or (record["calendar"] or {}).get("calendar_id")
            if record.get("held") and where == calendar_id:
                href = (record.get("icloud") or {}).get("href", "")
                self._restore_requested(appointment_id, record["revision"], calendar_id, href, [])
        self._released(connection_id, calendar_id, reason)
        return True

    def _forget(self, calendar_id: str, href: str) -> None:
        if href in self.resources.get(calendar_id, {}):
            self._entries_to_change(calendar_id).pop(href)

    def _know(self, calendar_id: str, href: str, known: KnownResource) -> None:
        self._entries_to_change(calendar_id)[href] = [known.uid, known.etag, known.skipped_reason]


class _KnownView:
    """Reads one calendar's entries as KnownResource values, live."""

    def __init__(self, schedule: HoldsCalendars, calendar_id: str) -> None:
        self._schedule = schedule
        self._calendar_id = calendar_id

    def get(self, href: str) -> KnownResource | None:
        entry = self._schedule.resources.get(self._calendar_id, {}).get(href)
        return KnownResource(*entry) if entry is not None else None
