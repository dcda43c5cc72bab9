from __future__ import annotations

from datetime import UTC, datetime

from calendar_domain.schedule import CalendarChanges, ImportedSeries, SkippedResource, UserSchedule

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def series(href: str, etag: str, uid: str = "") -> ImportedSeries:
    return ImportedSeries(
        href=href, etag=etag, uid=uid or href.strip("/"), summary="Dentist", location="", recurring=False,
        all_day=False, first_start=NOW, last_end=NOW, ical="BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n",
    )


def changes(*items: ImportedSeries, skipped: tuple[SkippedResource, ...] = (), deleted: tuple[str, ...] = (), token: str = "t1") -> CalendarChanges:
    return CalendarChanges("cal", list(items), list(skipped), list(deleted), token, NOW)


def names(schedule: UserSchedule) -> list[str]:
    return [type(e).__name__ for e in schedule.collect_events()]


def test_a_first_sync_imports_every_resource_and_records_the_checkpoint_last() -> None:
    schedule = UserSchedule("loc-1", "u1")
    assert schedule.checkpoint("cal") is None
    assert schedule.apply("conn", changes(series("/a.ics", "1"), series("/b.ics", "1")))
    assert names(schedule) == ["Started", "BlockedSlotImported", "BlockedSlotImported", "CalendarSynced"]
    assert schedule.checkpoint("cal") == "t1" and schedule.slot_count() == 2


def test_an_unchanged_listing_with_the_same_token_records_nothing() -> None:
    schedule = UserSchedule("loc-1", "u1")
    schedule.apply("conn", changes(series("/a.ics", "1")))
    schedule.collect_events()
    assert not schedule.apply("conn", changes(series("/a.ics", "1")))
    assert names(schedule) == []


def test_changes_and_deletions_are_recorded_and_unknown_deletions_ignored() -> None:
    schedule = UserSchedule("loc-1", "u1")
    schedule.apply("conn", changes(series("/a.ics", "1"), series("/b.ics", "1")))
    schedule.collect_events()
    schedule.apply("conn", changes(series("/a.ics", "2"), deleted=("/b.ics", "/never.ics"), token="t2"))
    events = schedule.collect_events()
    assert [type(e).__name__ for e in events] == ["BlockedSlotUpdated", "BlockedSlotRemoved", "CalendarSynced"]
    assert events[-1].updated == 1 and events[-1].removed == 1
    assert set(schedule.known("cal")) == {"/a.ics"}


def test_a_skipped_resource_is_recorded_once_per_etag_and_imported_when_fixed() -> None:
    schedule = UserSchedule("loc-1", "u1")
    broken = SkippedResource("/x.ics", "1", "no DTSTART")
    schedule.apply("conn", changes(skipped=(broken,)))
    schedule.apply("conn", changes(skipped=(broken,)))
    assert names(schedule) == ["Started", "ResourceSkipped", "CalendarSynced"]
    assert schedule.slot_count() == 0
    schedule.apply("conn", changes(series("/x.ics", "2", uid="x"), token="t2"))
    assert names(schedule) == ["BlockedSlotImported", "CalendarSynced"]
    assert schedule.slot_count() == 1


def test_a_slot_that_stops_parsing_keeps_blocking_until_it_changes_again() -> None:
    schedule = UserSchedule("loc-1", "u1")
    schedule.apply("conn", changes(series("/a.ics", "1")))
    schedule.apply("conn", changes(skipped=(SkippedResource("/a.ics", "2", "bad RRULE"),), token="t2"))
    assert schedule.known("cal")["/a.ics"].skipped_reason == "bad RRULE"
    schedule.collect_events()
    schedule.apply("conn", changes(series("/a.ics", "3"), token="t3"))
    assert names(schedule) == ["BlockedSlotUpdated", "CalendarSynced"]


def test_releasing_a_calendar_removes_its_slots_and_forgets_its_checkpoint() -> None:
    schedule = UserSchedule("loc-1", "u1")
    schedule.apply("conn", changes(series("/a.ics", "1"), series("/b.ics", "1")))
    schedule.collect_events()
    assert schedule.release("cal", "calendar no longer blocking")
    assert names(schedule) == ["BlockedSlotRemoved", "BlockedSlotRemoved", "CalendarReleased"]
    assert schedule.checkpoint("cal") is None and not schedule.release("cal", "again")


def test_a_copy_shares_the_state_and_neither_side_changes_the_other() -> None:
    """A copy costs nothing like the schedule's size: it shares the state, which
    is never changed in place (a calendar's entries are copied by the side that
    changes them first), so commands on either side leave the other as it was."""
    from copy import deepcopy
    from datetime import timedelta

    from calendar_domain.bookings import AppointmentDetails

    schedule = UserSchedule("loc-1", "u1")
    schedule.apply("conn", changes(series("/a.ics", "1"), series("/b.ics", "1")))
    schedule.book("appt-1", NOW, NOW + timedelta(hours=1), AppointmentDetails(title="Client"), {}, [])
    schedule.collect_events()
    schedule.request_ids = ["r1"]
    schedule.odd = {"set": {1, 2}}  # anything not known to be shared is copied by deepcopy
    clone = deepcopy(schedule)
    assert clone.__dict__ == schedule.__dict__ and list(clone.__dict__) == list(schedule.__dict__)
    assert clone.resources is schedule.resources and clone.appointments is schedule.appointments
    clone.odd["set"].add(3)
    assert schedule.odd == {"set": {1, 2}}
    # commands on the copy
    clone.apply("conn", changes(series("/a.ics", "2"), deleted=("/b.ics",), token="t2"))
    clone.cancel("appt-1", "moved on", "r2")
    clone.book("appt-2", NOW, NOW + timedelta(hours=1), AppointmentDetails(title="Next"), {}, [])
    assert schedule.known("cal")["/a.ics"].etag == "1" and "/b.ics" in schedule.known("cal")
    assert schedule.appointments["appt-1"]["status"] == "booked" and "appt-2" not in schedule.appointments
    assert schedule.request_ids == ["r1"] and schedule.checkpoint("cal") == "t1"
    assert schedule.conflict(NOW, NOW + timedelta(minutes=5)).id == "appt-1"  # type: ignore[union-attr]
    assert clone.conflict(NOW, NOW + timedelta(minutes=5)).id == "appt-2"  # type: ignore[union-attr]
    # and on the original (as the cached schedule is brought up to date)
    schedule.apply("conn", changes(series("/c.ics", "1"), token="t3"))
    assert "/c.ics" not in clone.known("cal") and "/b.ics" not in clone.known("cal")
    assert clone.known("cal")["/a.ics"].etag == "2"
