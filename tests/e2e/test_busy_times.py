"""Busy times as an answer of their own, the user's one time zone, unknown users,
and exact durations across a daylight-saving change, over gRPC on both stores,
with events put on a real CalDAV server (Radicale) and synced."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import grpc
import pytest
from prometheus_client import REGISTRY

from calendarintegration.v1 import appointments_pb2 as ap
from calendarintegration.v1 import appointments_pb2_grpc
from calendarintegration.v1 import availability_pb2 as av
from calendarintegration.v1 import configuration_pb2 as cfg
from calendarintegration.v1 import sync_pb2 as sy
from tests.e2e.test_availability import (
    MONDAY_AFTER,
    MONDAY_BEFORE,
    YEAR,
    _compact,
    _configure_and_sync,
    _dst_sunday,
    _local,
    _put_week_events,
    _ts,
    _vevent,
)
from tests.support.caldav_servers import RadicaleServer
from tests.support.grpc_service import Service, auth, failure


def _busy(
    service: Service, start: datetime, end: datetime, *, users: tuple[str, ...] = ("u1",), viewer: str = "",
    include: bool = False, position: int = 0,
) -> av.ListBusyTimesResponse:
    return service.availability.ListBusyTimes(
        av.ListBusyTimesRequest(
            sub_account_id="loc-1", user_ids=list(users), window=av.TimeWindow(start_time=_ts(start), end_time=_ts(end)),
            include_not_blocking=include, viewer_user_id=viewer, min_position=position,
        ),
        metadata=auth(),
    )


def _utc(stamp: object) -> datetime:
    return stamp.ToDatetime(tzinfo=UTC)  # type: ignore[attr-defined]


def test_busy_times_list_each_interval_with_provenance_whether_it_blocks_and_titles_for_the_owner(
    service: Service, account: tuple[str, str], radicale: RadicaleServer
) -> None:
    _put_week_events(radicale, account)
    username, password = account
    # last week, an hour at 10:00 UTC: a past window is answered as well
    last_week = (datetime.now(UTC) - timedelta(days=7)).replace(hour=10, minute=0, second=0, microsecond=0)
    radicale.put_ics(username, password, f"{radicale.home_path(username)}home/past.ics", _vevent("past", [
        f"DTSTART:{last_week.strftime('%Y%m%dT%H%M%SZ')}", "DURATION:PT1H", "SUMMARY:Retro",
    ]))
    connection_id, calendar_id, position = _configure_and_sync(service, account)
    week = (_local(MONDAY_AFTER, 0), _local(MONDAY_AFTER + timedelta(days=5), 0))

    answers_before = _sample("calsync_busy_times_intervals_count")
    [own] = _busy(service, *week, viewer="u1", position=position).users
    assert _sample("calsync_busy_times_intervals_count") == answers_before + 1
    assert own.user_id == "u1" and own.time_zone == "Europe/Berlin"
    assert own.as_of.position >= position and [c.calendar_id for c in own.as_of.calendars] == [calendar_id]
    # the Monday meeting is excluded that week; the dentist and the all-day holiday block
    assert [(b.source.uid, b.blocks, b.source.title) for b in own.busy_times] == [
        ("dentist", True, "Dentist"), ("holiday", True, "Holiday"),
    ]
    dentist = own.busy_times[0]
    assert (_utc(dentist.start_time), _utc(dentist.end_time)) == (
        _local(MONDAY_AFTER + timedelta(days=1), 13).astimezone(UTC), _local(MONDAY_AFTER + timedelta(days=1), 14, 30).astimezone(UTC),
    )
    source = dentist.source
    assert (source.kind, source.connection_id, source.calendar_id, source.rule) == (
        av.SOURCE_KIND_IMPORTED_EVENT, connection_id, calendar_id, "opaque",
    )
    assert source.href.endswith("dentist.ics") and source.etag and source.location == "Main Street 1"
    assert timedelta(0) <= datetime.now(UTC) - _utc(source.fetched_time) < timedelta(hours=1)  # fetched by this sync

    # what does not block, when asked, and only titles "Busy" for anyone else
    [everything] = _busy(service, *week, viewer="someone-else", include=True, position=position).users
    assert [(b.source.uid, b.blocks, b.source.rule, b.source.title) for b in everything.busy_times] == [
        ("dentist", True, "opaque", "Busy"),
        ("focus", False, "transparent", "Busy"),
        ("holiday", True, "opaque", "Busy"),
        ("cancelled", False, "cancelled", "Busy"),
    ]
    assert all(b.source.location == "" for b in everything.busy_times)

    # the CRM's own appointment and blocked slot, with their kinds and titles
    appointments = appointments_pb2_grpc.AppointmentServiceStub(service.channel)
    wednesday = MONDAY_AFTER + timedelta(days=2)
    appointments.BookAppointment(ap.BookAppointmentRequest(
        sub_account_id="loc-1", user_id="u1", start_time=_ts(_local(wednesday, 14)), end_time=_ts(_local(wednesday, 15)),
        title="Consultation",
    ), metadata=auth())
    blocked = appointments.CreateCrmBlockedSlot(ap.CreateCrmBlockedSlotRequest(
        sub_account_id="loc-1", user_id="u1", start_time=_ts(_local(wednesday, 16)), end_time=_ts(_local(wednesday, 17)),
        title="Lunch with the team",
    ), metadata=auth())
    [crm] = _busy(service, _local(wednesday, 0), _local(wednesday, 23), viewer="someone-else", position=blocked.position).users
    assert [(b.source.kind, b.source.uid, b.blocks, b.source.rule, b.source.title) for b in crm.busy_times] == [
        (av.SOURCE_KIND_APPOINTMENT, "", True, "appointment", "Consultation"),
        (av.SOURCE_KIND_CRM_BLOCKED_SLOT, "", True, "crm_block", "Lunch with the team"),
    ]

    [past] = _busy(service, last_week - timedelta(hours=2), last_week + timedelta(hours=2), viewer="u1").users
    assert [(b.source.uid, _utc(b.start_time), _utc(b.end_time)) for b in past.busy_times] == [
        ("past", last_week, last_week + timedelta(hours=1)),
    ]

    # several users in one answer, in the request's order
    second = service.availability.SetTimeZone(
        av.SetTimeZoneRequest(sub_account_id="loc-1", user_id="u2", time_zone="America/New_York"), metadata=auth()
    )
    both = _busy(service, *week, users=("u2", "u1"), viewer="u1", position=second.position).users
    # u1: the dentist, the holiday and the CRM's two
    assert [(u.user_id, u.time_zone, len(u.busy_times)) for u in both] == [("u2", "America/New_York", 0), ("u1", "Europe/Berlin", 4)]

    error = failure(
        service.availability.ListBusyTimes,
        av.ListBusyTimesRequest(sub_account_id="loc-1", user_ids=["u1", "u1"], window=av.TimeWindow(
            start_time=_ts(week[0]), end_time=_ts(week[0] + timedelta(days=400)))),
    )
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT and set(error.violations) >= {"window.end_time"}
    error = failure(
        service.availability.ListBusyTimes,
        av.ListBusyTimesRequest(sub_account_id="loc-1", user_ids=["u1", "u1"], window=av.TimeWindow(
            start_time=_ts(week[0]), end_time=_ts(week[1]))),
    )
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT and "user_ids" in error.violations


def _sample(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


def test_a_user_the_service_never_heard_of_is_not_found_not_a_default_week(
    service: Service, caplog: pytest.LogCaptureFixture
) -> None:
    refused_before = _sample("calsync_unknown_user_answers_total")
    caplog.set_level("INFO", logger="calendar_domain.availability_service")
    start = datetime(YEAR, 6, 7, 9, tzinfo=UTC)  # a Monday or not: nothing may be invented
    window = av.TimeWindow(start_time=_ts(start), end_time=_ts(start + timedelta(days=7)))
    calls = [
        (service.availability.ListFreeSlots, av.ListFreeSlotsRequest(sub_account_id="loc-1", user_id="nobody", window=window)),
        (service.availability.ExplainTime, av.ExplainTimeRequest(sub_account_id="loc-1", user_id="nobody", start_time=_ts(start))),
        (service.availability.ListBusyTimes, av.ListBusyTimesRequest(sub_account_id="loc-1", user_ids=["nobody"], window=window)),
        (service.availability.QueryTeamAvailability, av.QueryTeamAvailabilityRequest(
            sub_account_id="loc-1", user_ids=["nobody"], window=window, slot_minutes=30, mode=av.TEAM_MODE_ALL)),
        (service.availability.GetAvailabilitySettings, av.GetAvailabilitySettingsRequest(sub_account_id="loc-1", user_id="nobody")),
    ]
    for call, request in calls:
        error = failure(call, request)
        assert (error.code, error.reason, error.metadata.get("user_id")) == (grpc.StatusCode.NOT_FOUND, "USER_UNKNOWN", "nobody")
        assert "no calendar configured, no settings, no appointment" in error.message
    assert _sample("calsync_unknown_user_answers_total") == refused_before + len(calls)
    logged = [r for r in caplog.records if getattr(r, "event", "") == "availability.user_unknown"]
    assert len(logged) == len(calls) and logged[0].fields["user"] == "nobody"  # type: ignore[attr-defined]
    # nor what would have been answered about them at a past time
    past = failure(service.availability.GetAvailabilityAsOf, av.GetAvailabilityAsOfRequest(
        sub_account_id="loc-1", user_id="nobody", window=window, as_of_time=_ts(datetime.now(UTC)),
    ))
    assert (past.code, past.reason) == (grpc.StatusCode.NOT_FOUND, "USER_UNKNOWN")
    # once the user has a setting of their own, the answers come (from the default hours)
    set_zone = service.availability.SetTimeZone(
        av.SetTimeZoneRequest(sub_account_id="loc-1", user_id="nobody", time_zone="Europe/Berlin"), metadata=auth()
    )
    found = service.availability.ListFreeSlots(
        av.ListFreeSlotsRequest(sub_account_id="loc-1", user_id="nobody", window=window, min_position=set_zone.position),
        metadata=auth(),
    )
    assert found.time_zone == "Europe/Berlin" and found.as_of.position >= set_zone.position


def test_the_time_zone_is_one_setting_changed_alone_and_the_old_fields_still_set_it(service: Service) -> None:
    hours = av.WorkingHours(weekly=[av.WeeklyHours(iso_weekday=3, windows=[av.DayWindow(start_minute=600, end_minute=660)])])
    service.availability.SetWorkingHours(
        av.SetWorkingHoursRequest(sub_account_id="loc-1", user_id="u1", working_hours=hours), metadata=auth()
    )
    changed = service.availability.SetTimeZone(
        av.SetTimeZoneRequest(sub_account_id="loc-1", user_id="u1", time_zone="Asia/Kolkata", request_id="tz-1"), metadata=auth()
    )
    settings = service.availability.GetAvailabilitySettings(
        av.GetAvailabilitySettingsRequest(sub_account_id="loc-1", user_id="u1"), metadata=auth()
    )
    assert settings.time_zone == "Asia/Kolkata" and settings.working_hours == hours  # the hours stay as they were
    configuration = service.configurations.GetCalendarConfiguration(
        cfg.GetCalendarConfigurationRequest(sub_account_id="loc-1", user_id="u1"), metadata=auth()
    )
    assert configuration.configuration.time_zone == "Asia/Kolkata"
    # the working window moves with the zone: Wednesday 10:00-11:00 in Kolkata is 04:30-05:30 UTC
    # a Wednesday one to two weeks ahead (inside the default 60-day horizon)
    wednesday = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=7)
    wednesday += timedelta(days=(2 - wednesday.weekday()) % 7)
    window = av.TimeWindow(start_time=_ts(wednesday), end_time=_ts(wednesday + timedelta(days=1)))
    slots = service.availability.ListFreeSlots(
        av.ListFreeSlotsRequest(sub_account_id="loc-1", user_id="u1", window=window, min_position=changed.position),
        metadata=auth(),
    )
    assert [_utc(s.start_time) for s in slots.slots] == [wednesday + timedelta(hours=4, minutes=30), wednesday + timedelta(hours=5)]
    # a retry is the same change; the deprecated fields set the same one setting
    again = service.availability.SetTimeZone(
        av.SetTimeZoneRequest(sub_account_id="loc-1", user_id="u1", time_zone="Asia/Kolkata", request_id="tz-1"), metadata=auth()
    )
    assert again.position >= changed.position
    service.configurations.UpdateReadingRules(
        cfg.UpdateReadingRulesRequest(sub_account_id="loc-1", user_id="u1", time_zone="America/New_York"), metadata=auth()
    )
    assert service.availability.GetAvailabilitySettings(
        av.GetAvailabilitySettingsRequest(sub_account_id="loc-1", user_id="u1"), metadata=auth()
    ).time_zone == "America/New_York"
    error = failure(service.availability.SetTimeZone, av.SetTimeZoneRequest(sub_account_id="loc-1", user_id="u1", time_zone="Mars/Olympus"))
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT and "time_zone" in error.violations
    error = failure(service.availability.SetTimeZone, av.SetTimeZoneRequest(sub_account_id="loc-1", user_id="u1"))
    assert "time_zone" in error.violations


def test_durations_across_daylight_saving_changes_are_busy_for_their_real_hours_near_and_far(
    service: Service, account: tuple[str, str], radicale: RadicaleServer
) -> None:
    username, password = account
    home = f"{radicale.home_path(username)}home/"
    sunday = _dst_sunday(YEAR)
    fall_back = date(YEAR, 11, 1) + timedelta(days=(6 - date(YEAR, 11, 1).weekday()) % 7)  # New York's
    # Sundays 01:00 Berlin for PT3H: on the change day 01:00 CET (00:00Z) to 03:00Z (05:00 CEST on the wall)
    radicale.put_ics(username, password, f"{home}night.ics", _vevent("night", [
        f"DTSTART;TZID=Europe/Berlin:{_compact(sunday - timedelta(days=7))}T010000", "DURATION:PT3H",
        "RRULE:FREQ=WEEKLY", "SUMMARY:Night shift",
    ]))
    # 00:30 EDT (04:30Z) for PT3H: to 07:30Z (02:30 EST on the wall, not 03:30)
    radicale.put_ics(username, password, f"{home}late.ics", _vevent("late", [
        f"DTSTART;TZID=America/New_York:{_compact(fall_back)}T003000", "DURATION:PT3H", "SUMMARY:Late",
    ]))
    # DTEND in another zone: 00:00 EDT (04:00Z) to 07:00 CET (06:00Z)
    radicale.put_ics(username, password, f"{home}flight.ics", _vevent("flight", [
        f"DTSTART;TZID=America/New_York:{_compact(fall_back)}T000000",
        f"DTEND;TZID=Europe/Berlin:{_compact(fall_back)}T070000", "SUMMARY:Flight",
    ]))
    _, _, position = _configure_and_sync(service, account)

    def busy_on(day: date) -> list[tuple[str, datetime, datetime]]:
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        [user] = _busy(service, start - timedelta(hours=2), start + timedelta(hours=10), viewer="u1", position=position).users
        return [(b.source.uid, _utc(b.start_time), _utc(b.end_time)) for b in user.busy_times]

    for day in (sunday, _dst_sunday(YEAR + 3)):  # held in the read model, and expanded on demand
        midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
        assert busy_on(day) == [("night", midnight, midnight + timedelta(hours=3))], day
    midnight = datetime(fall_back.year, fall_back.month, fall_back.day, tzinfo=UTC)
    assert [b for b in busy_on(fall_back) if b[0] != "night"] == [
        ("flight", midnight + timedelta(hours=4), midnight + timedelta(hours=6)),
        ("late", midnight + timedelta(hours=4, minutes=30), midnight + timedelta(hours=7, minutes=30)),
    ]


def test_blocked_slots_give_their_next_occurrence_title_for_the_owner_and_whether_they_block(
    service: Service, account: tuple[str, str], radicale: RadicaleServer
) -> None:
    _put_week_events(radicale, account)
    username, password = account
    home = f"{radicale.home_path(username)}home/"
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    # a series that ended four weeks ago, and one whose next occurrence is more than a year ahead
    ended = now - timedelta(days=35)
    radicale.put_ics(username, password, f"{home}ended.ics", _vevent("ended", [
        f"DTSTART:{ended.strftime('%Y%m%dT%H%M%SZ')}", "DURATION:PT1H", "RRULE:FREQ=WEEKLY;COUNT=2", "SUMMARY:Course",
    ]))
    radicale.put_ics(username, password, f"{home}rare.ics", _vevent("rare", [
        f"DTSTART:{YEAR - 3}0615T100000Z", "DURATION:PT2H", "RRULE:FREQ=YEARLY;INTERVAL=5", "SUMMARY:Reunion",
    ]))
    _, _, position = _configure_and_sync(service, account)

    def listed(viewer: str) -> dict[str, sy.BlockedSlot]:
        answer = service.sync.ListBlockedSlots(
            sy.ListBlockedSlotsRequest(sub_account_id="loc-1", user_id="u1", viewer_user_id=viewer, min_position=position),
            metadata=auth(),
        )
        return {slot.uid: slot for slot in answer.blocked_slots}

    own = listed("u1")
    assert {uid: (_utc(s.start_time), _utc(s.end_time), s.title, s.blocks, s.rule) for uid, s in own.items()} == {
        # the next Monday meeting lies ahead (next year's March, CET)
        "weekly": (_local(MONDAY_BEFORE, 10).astimezone(UTC), _local(MONDAY_BEFORE, 11).astimezone(UTC), "Team sync", True, "opaque"),
        "dentist": (_local(MONDAY_AFTER + timedelta(days=1), 13).astimezone(UTC),
                    _local(MONDAY_AFTER + timedelta(days=1), 14, 30).astimezone(UTC), "Dentist", True, "opaque"),
        "focus": (_local(MONDAY_AFTER + timedelta(days=2), 9).astimezone(UTC),
                  _local(MONDAY_AFTER + timedelta(days=2), 12).astimezone(UTC), "Focus time", False, "transparent"),
        "holiday": (_local(MONDAY_AFTER + timedelta(days=3), 0).astimezone(UTC),
                    _local(MONDAY_AFTER + timedelta(days=4), 0).astimezone(UTC), "Holiday", True, "opaque"),
        "cancelled": (_local(MONDAY_AFTER + timedelta(days=4), 9).astimezone(UTC),
                      _local(MONDAY_AFTER + timedelta(days=4), 10).astimezone(UTC), "Called off", False, "cancelled"),
        "ended": (ended + timedelta(days=7), ended + timedelta(days=7, hours=1), "Course", True, "opaque"),
        "rare": (datetime(YEAR + 2, 6, 15, 10, tzinfo=UTC), datetime(YEAR + 2, 6, 15, 12, tzinfo=UTC), "Reunion", True, "opaque"),
    }
    assert own["weekly"].recurrence_id == _local(MONDAY_BEFORE, 10).astimezone(UTC).isoformat()
    assert own["dentist"].recurrence_id == ""
    others = listed("someone-else")
    assert {s.title for s in others.values()} == {"Busy"} and listed("")["dentist"].title == "Busy"
    assert {uid: s.blocks for uid, s in others.items()} == {uid: s.blocks for uid, s in own.items()}
