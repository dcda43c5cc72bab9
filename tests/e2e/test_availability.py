"""Availability end to end: events put on a real CalDAV server (Radicale) are synced,
and the free slots over gRPC are compared with slots worked out by hand.

The dates are the daylight-saving weeks of next year (Europe/Berlin leaves CET,
UTC+1, for CEST, UTC+2, on the last Sunday of March), so that every slot lies
ahead of the real clock and inside the booking horizon.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from calendarintegration.v1 import availability_pb2 as av
from calendarintegration.v1 import configuration_pb2 as cfg
from calendarintegration.v1 import sync_pb2 as sy
from tests.e2e.test_sync_api import connect_and_block
from tests.support.caldav_servers import RadicaleServer
from tests.support.fault_proxy import FaultProxy
from tests.support.grpc_service import Service, auth, failure, running_service
from tests.support.stores import settings_for

BERLIN = ZoneInfo("Europe/Berlin")
CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "ical"


def _dst_sunday(year: int) -> date:
    march_31 = date(year, 3, 31)
    return march_31 - timedelta(days=(march_31.weekday() + 1) % 7)


YEAR = datetime.now(UTC).year + 1
MONDAY_AFTER = _dst_sunday(YEAR) + timedelta(days=1)  # CEST from here
MONDAY_BEFORE = MONDAY_AFTER - timedelta(days=7)  # CET


def _ts(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment.astimezone(UTC))
    return stamp


def _local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=BERLIN)


def _compact(day: date) -> str:
    return day.strftime("%Y%m%d")


def _vevent(uid: str, lines: list[str]) -> str:
    body = "\r\n".join(["BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20250101T000000Z", *lines, "END:VEVENT"])
    return f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n{body}\r\nEND:VCALENDAR\r\n"


def _put_week_events(radicale: RadicaleServer, account: tuple[str, str]) -> None:
    username, password = account
    home = f"{radicale.home_path(username)}home/"
    tuesday, wednesday = MONDAY_AFTER + timedelta(days=1), MONDAY_AFTER + timedelta(days=2)
    thursday, friday = MONDAY_AFTER + timedelta(days=3), MONDAY_AFTER + timedelta(days=4)
    events = {
        # Mondays 10:00-11:00 Berlin, the Monday after the change excluded.
        "weekly.ics": _vevent("weekly", [
            f"DTSTART;TZID=Europe/Berlin:{_compact(MONDAY_BEFORE)}T100000",
            f"DTEND;TZID=Europe/Berlin:{_compact(MONDAY_BEFORE)}T110000",
            "RRULE:FREQ=WEEKLY;BYDAY=MO",
            f"EXDATE;TZID=Europe/Berlin:{_compact(MONDAY_AFTER)}T100000",
            "SUMMARY:Team sync",
        ]),
        "dentist.ics": _vevent("dentist", [
            f"DTSTART;TZID=Europe/Berlin:{_compact(tuesday)}T130000",
            f"DTEND;TZID=Europe/Berlin:{_compact(tuesday)}T143000",
            "SUMMARY:Dentist", "LOCATION:Main Street 1",
        ]),
        "focus.ics": _vevent("focus", [
            f"DTSTART;TZID=Europe/Berlin:{_compact(wednesday)}T090000",
            f"DTEND;TZID=Europe/Berlin:{_compact(wednesday)}T120000",
            "TRANSP:TRANSPARENT", "SUMMARY:Focus time",
        ]),
        "holiday.ics": _vevent("holiday", [
            f"DTSTART;VALUE=DATE:{_compact(thursday)}", "SUMMARY:Holiday",
        ]),
        "cancelled.ics": _vevent("cancelled", [
            f"DTSTART;TZID=Europe/Berlin:{_compact(friday)}T090000",
            f"DTEND;TZID=Europe/Berlin:{_compact(friday)}T100000",
            "STATUS:CANCELLED", "SUMMARY:Called off",
        ]),
    }
    for name, body in events.items():
        radicale.put_ics(username, password, f"{home}{name}", body)


def _configure_and_sync(service: Service, account: tuple[str, str], sub: str = "loc-1") -> tuple[str, str, int]:
    connection_id, calendar_id = connect_and_block(service, account, sub)
    hours = av.WorkingHours(
        weekly=[av.WeeklyHours(iso_weekday=d, windows=[av.DayWindow(start_minute=540, end_minute=1020)]) for d in range(1, 6)]
    )
    service.availability.SetWorkingHours(
        av.SetWorkingHoursRequest(sub_account_id=sub, user_id="u1", working_hours=hours, time_zone="Europe/Berlin"),
        metadata=auth(),
    )
    service.availability.SetBookingRules(
        av.SetBookingRulesRequest(
            sub_account_id=sub, user_id="u1", booking_rules=av.BookingRules(slot_minutes=60, horizon_days=730)
        ),
        metadata=auth(),
    )
    synced = service.sync.SyncNow(sy.SyncNowRequest(sub_account_id=sub, connection_id=connection_id), metadata=auth())
    assert synced.calendars_synced == 1
    return connection_id, calendar_id, synced.position


def _free(service: Service, start: datetime, end: datetime, position: int = 0, sub: str = "loc-1") -> av.ListFreeSlotsResponse:
    return service.availability.ListFreeSlots(
        av.ListFreeSlotsRequest(
            sub_account_id=sub, user_id="u1", window=av.TimeWindow(start_time=_ts(start), end_time=_ts(end)),
            min_position=position,
        ),
        metadata=auth(),
    )


def _starts(answer: av.ListFreeSlotsResponse) -> list[datetime]:
    return [s.start_time.ToDatetime(tzinfo=UTC) for s in answer.slots]


def test_free_slots_over_a_daylight_saving_fortnight_match_the_hand_worked_slots(
    service: Service, account: tuple[str, str], radicale: RadicaleServer
) -> None:
    _put_week_events(radicale, account)
    _, calendar_id, position = _configure_and_sync(service, account)
    answer = _free(service, _local(MONDAY_BEFORE, 0), _local(MONDAY_AFTER + timedelta(days=7), 0), position)

    every_hour = list(range(9, 17))  # 60-minute slots from 09:00 to 16:00 local
    expected_local: dict[date, list[int]] = {
        MONDAY_BEFORE: [9, 11, 12, 13, 14, 15, 16],  # the weekly 10:00 meeting
        **{MONDAY_BEFORE + timedelta(days=i): every_hour for i in range(1, 5)},
        MONDAY_AFTER: every_hour,  # EXDATE
        MONDAY_AFTER + timedelta(days=1): [9, 10, 11, 12, 15, 16],  # dentist 13:00-14:30
        MONDAY_AFTER + timedelta(days=2): every_hour,  # transparent
        MONDAY_AFTER + timedelta(days=3): [],  # an all-day event blocks (no TRANSP: opaque)
        MONDAY_AFTER + timedelta(days=4): every_hour,  # cancelled
    }
    expected = [_local(day, hour).astimezone(UTC) for day, hours in sorted(expected_local.items()) for hour in hours]
    assert _starts(answer) == expected
    # by hand: 09:00 local is 08:00 UTC in CET and 07:00 UTC in CEST
    assert _starts(answer)[0].hour == 8 and _starts(answer)[7].hour == 8
    assert _local(MONDAY_AFTER, 9).astimezone(UTC).hour == 7 and _local(MONDAY_AFTER, 9).astimezone(UTC) in expected
    assert answer.time_zone == "Europe/Berlin"
    assert answer.as_of.position >= position and not answer.as_of.degraded
    [calendar] = answer.as_of.calendars
    assert calendar.calendar_id == calendar_id and calendar.freshness == av.FRESHNESS_FRESH
    assert calendar.HasField("last_synced_time") and calendar.still_blocks


def test_the_all_day_policy_decides_whether_an_all_day_event_blocks(
    service: Service, account: tuple[str, str], radicale: RadicaleServer
) -> None:
    _put_week_events(radicale, account)
    _configure_and_sync(service, account)
    thursday = MONDAY_AFTER + timedelta(days=3)  # the all-day holiday (opaque)

    def with_policy(policy: int) -> tuple[av.ListFreeSlotsResponse, av.ExplainTimeResponse]:
        position = service.configurations.UpdateReadingRules(
            cfg.UpdateReadingRulesRequest(sub_account_id="loc-1", user_id="u1", all_day_policy=policy), metadata=auth()
        ).position
        explained = service.availability.ExplainTime(
            av.ExplainTimeRequest(sub_account_id="loc-1", user_id="u1", start_time=_ts(_local(thursday, 10)),
                                  min_position=position),
            metadata=auth(),
        )
        return _free(service, _local(thursday, 0), _local(thursday, 23), position), explained

    free, explained = with_policy(cfg.ALL_DAY_POLICY_ALWAYS_FREE)
    assert _starts(free) == [_local(thursday, h).astimezone(UTC) for h in range(9, 17)]
    assert explained.free and [(s.uid, s.rule) for s in explained.not_blocking] == [("holiday", "all_day_always_free")]
    busy, explained = with_policy(cfg.ALL_DAY_POLICY_ALWAYS_BUSY)
    assert busy.slots == [] and not explained.free
    assert [(r.source.uid, r.source.rule) for r in explained.reasons] == [("holiday", "all_day_always_busy")]


def test_explain_names_every_reason_with_provenance_and_hides_titles_from_others(
    service: Service, account: tuple[str, str], radicale: RadicaleServer
) -> None:
    _put_week_events(radicale, account)
    connection_id, calendar_id, position = _configure_and_sync(service, account)
    tuesday = MONDAY_AFTER + timedelta(days=1)

    def explain(start: datetime, end: datetime | None = None, viewer: str = "") -> av.ExplainTimeResponse:
        request = av.ExplainTimeRequest(
            sub_account_id="loc-1", user_id="u1", start_time=_ts(start), viewer_user_id=viewer, min_position=position
        )
        if end is not None:
            request.end_time.CopyFrom(_ts(end))
        return service.availability.ExplainTime(request, metadata=auth())

    own = explain(_local(tuesday, 13, 30), viewer="u1")
    assert not own.free
    [busy] = own.reasons
    assert busy.kind == av.REASON_KIND_BUSY and busy.source.kind == av.SOURCE_KIND_IMPORTED_EVENT
    source = busy.source
    assert (source.uid, source.title, source.location, source.rule) == ("dentist", "Dentist", "Main Street 1", "opaque")
    assert (source.connection_id, source.calendar_id) == (connection_id, calendar_id)
    assert source.href.endswith("dentist.ics") and source.etag and source.HasField("fetched_time")
    assert source.start_time.ToDatetime(tzinfo=UTC) == _local(tuesday, 13).astimezone(UTC)

    other = explain(_local(tuesday, 13, 30), viewer="someone-else")
    assert other.reasons[0].source.title == "Busy" and other.reasons[0].source.location == ""
    anonymous = explain(_local(tuesday, 13, 30))
    assert anonymous.reasons[0].source.title == "Busy"

    # a slot partly outside working hours and overlapping the weekly meeting's occurrence
    monday_evening = explain(_local(MONDAY_BEFORE, 10, 30), _local(MONDAY_BEFORE, 11, 30), viewer="u1")
    [meeting] = monday_evening.reasons
    assert meeting.source.uid == "weekly" and meeting.source.recurrence_id == _local(MONDAY_BEFORE, 10).astimezone(UTC).isoformat()
    late = explain(_local(tuesday, 16, 30), _local(tuesday, 17, 30))
    assert [r.kind for r in late.reasons] == [av.REASON_KIND_OUTSIDE_WORKING_HOURS]

    # free, with what does not block shown beside
    wednesday = explain(_local(MONDAY_AFTER + timedelta(days=2), 10), viewer="u1")
    assert wednesday.free and not wednesday.reasons
    [focus] = wednesday.not_blocking
    assert focus.uid == "focus" and focus.rule == "transparent" and focus.title == "Focus time"
    friday = explain(_local(MONDAY_AFTER + timedelta(days=4), 9, 30))
    assert friday.free and [s.rule for s in friday.not_blocking] == ["cancelled"]


def test_policy_settings_and_read_your_writes(service: Service, account: tuple[str, str], radicale: RadicaleServer) -> None:
    _put_week_events(radicale, account)
    _, _, position = _configure_and_sync(service, account)
    window = (_local(MONDAY_AFTER, 0), _local(MONDAY_AFTER, 23))
    settings = service.availability.GetAvailabilitySettings(
        av.GetAvailabilitySettingsRequest(sub_account_id="loc-1", user_id="u1"), metadata=auth()
    )
    assert settings.time_zone == "Europe/Berlin" and settings.booking_rules.slot_minutes == 60
    assert [w.iso_weekday for w in settings.working_hours.weekly] == [1, 2, 3, 4, 5]
    # a date override takes the Monday off; the next read waits for it
    changed = service.availability.SetWorkingHours(
        av.SetWorkingHoursRequest(
            sub_account_id="loc-1", user_id="u1",
            working_hours=av.WorkingHours(
                weekly=settings.working_hours.weekly, overrides=[av.DateOverride(date=MONDAY_AFTER.isoformat())]
            ),
        ),
        metadata=auth(),
    )
    assert changed.position > position
    assert _free(service, *window, changed.position).slots == []
    explained = service.availability.ExplainTime(
        av.ExplainTimeRequest(sub_account_id="loc-1", user_id="u1", start_time=_ts(_local(MONDAY_AFTER, 10)),
                              min_position=changed.position),
        metadata=auth(),
    )
    assert [r.kind for r in explained.reasons] == [av.REASON_KIND_DAY_OFF]
    # buffers: 30 minutes after each slot must be free, so 12:00 goes before the 13:00 dentist
    # (16:00 stays: its buffer runs past working hours, where nothing is busy)
    rules = service.availability.SetBookingRules(
        av.SetBookingRulesRequest(
            sub_account_id="loc-1", user_id="u1",
            booking_rules=av.BookingRules(slot_minutes=60, buffer_after_minutes=30, horizon_days=730),
        ),
        metadata=auth(),
    )
    tuesday = MONDAY_AFTER + timedelta(days=1)
    starts = _starts(_free(service, _local(tuesday, 0), _local(tuesday, 23), rules.position))
    assert starts == [_local(tuesday, h).astimezone(UTC) for h in (9, 10, 11, 15, 16)]
    policy = service.availability.GetStaleCalendarPolicy(av.GetStaleCalendarPolicyRequest(sub_account_id="loc-1"), metadata=auth())
    assert policy.stale_calendars_block


def test_a_stale_calendar_degrades_answers_and_the_policy_decides_whether_it_blocks(
    tmp_path: Path, account: tuple[str, str], radicale: RadicaleServer
) -> None:
    _put_week_events(radicale, account)
    with settings_for("sqlite", tmp_path / "data", caldav_url=radicale.base_url, caldav_timeout=10) as settings:
        # every sync is stale at once: answers must say so
        with running_service(replace(settings, stale_after=1e-6, sync_enabled=False)) as service:
            _, calendar_id, position = _configure_and_sync(service, account)
            tuesday = MONDAY_AFTER + timedelta(days=1)
            window = (_local(tuesday, 0), _local(tuesday, 23))
            answer = _free(service, *window, position)
            assert answer.as_of.degraded and calendar_id in answer.as_of.degraded_reason
            [calendar] = answer.as_of.calendars
            assert calendar.freshness == av.FRESHNESS_OUT_OF_DATE and calendar.still_blocks
            assert len(answer.slots) == 6  # fail closed: the dentist still blocks

            changed = service.availability.SetStaleCalendarPolicy(
                av.SetStaleCalendarPolicyRequest(sub_account_id="loc-1", stale_calendars_block=False), metadata=auth()
            )
            relaxed = _free(service, *window, changed.position)
            assert len(relaxed.slots) == 8 and not relaxed.as_of.calendars[0].still_blocks
            assert "ignored" in relaxed.as_of.degraded_reason
            # the same user in another sub-account is somebody the service never heard of
            unknown = failure(service.availability.ListFreeSlots, av.ListFreeSlotsRequest(
                sub_account_id="loc-2", user_id="u1", window=av.TimeWindow(start_time=_ts(window[0]), end_time=_ts(window[1])),
            ))
            assert (unknown.code, unknown.reason) == (grpc.StatusCode.NOT_FOUND, "USER_UNKNOWN")


def test_a_calendar_that_needs_reconnecting_degrades_answers_and_still_blocks(
    tmp_path: Path, account: tuple[str, str], radicale: RadicaleServer
) -> None:
    _put_week_events(radicale, account)
    with FaultProxy.for_server(radicale) as proxy:
        with settings_for("sqlite", tmp_path / "data", caldav_url=proxy.url, caldav_timeout=10) as settings:
            with running_service(replace(settings, sync_enabled=False)) as service:
                connection_id, calendar_id, _ = _configure_and_sync(service, account)
                proxy.fail_with(401)  # Apple revoked the app-specific password
                revoked = service.sync.SyncNow(
                    sy.SyncNowRequest(sub_account_id="loc-1", connection_id=connection_id), metadata=auth()
                )
                assert revoked.calendars_synced == 0
                head = service.availability.SetStaleCalendarPolicy(  # a position past the revocation
                    av.SetStaleCalendarPolicyRequest(sub_account_id="loc-1", stale_calendars_block=True), metadata=auth()
                ).position
                tuesday = MONDAY_AFTER + timedelta(days=1)
                window = (_local(tuesday, 0), _local(tuesday, 23))
                answer = _free(service, *window, head)
                [calendar] = answer.as_of.calendars
                assert calendar.calendar_id == calendar_id
                assert calendar.freshness == av.FRESHNESS_RECONNECT_REQUIRED and calendar.still_blocks
                assert answer.as_of.degraded and calendar_id in answer.as_of.degraded_reason
                assert len(answer.slots) == 6  # fail closed: the dentist still blocks
                relaxed = service.availability.SetStaleCalendarPolicy(
                    av.SetStaleCalendarPolicyRequest(sub_account_id="loc-1", stale_calendars_block=False), metadata=auth()
                )
                ignored = _free(service, *window, relaxed.position)
                assert ignored.as_of.calendars[0].freshness == av.FRESHNESS_RECONNECT_REQUIRED
                assert not ignored.as_of.calendars[0].still_blocks and len(ignored.slots) == 8


def test_a_never_synced_calendar_is_reported(service: Service, account: tuple[str, str]) -> None:
    connect_and_block(service, account, "loc-1")
    # a command's position (the head, as nothing changes) to read our writes
    head = service.availability.SetStaleCalendarPolicy(
        av.SetStaleCalendarPolicyRequest(sub_account_id="loc-1", stale_calendars_block=True), metadata=auth()
    ).position
    start = _local(MONDAY_AFTER, 0)
    answer = _free(service, start, start + timedelta(days=1), head)
    assert answer.as_of.degraded and answer.as_of.calendars[0].freshness == av.FRESHNESS_NEVER_SYNCED


def test_team_availability_all_and_any(service: Service, account: tuple[str, str], radicale: RadicaleServer) -> None:
    _put_week_events(radicale, account)
    _configure_and_sync(service, account)
    tuesday = MONDAY_AFTER + timedelta(days=1)
    # u2 has no calendar, only a time zone: default hours (09:00-17:00 UTC, Monday to Friday)
    position = service.availability.SetTimeZone(
        av.SetTimeZoneRequest(sub_account_id="loc-1", user_id="u2", time_zone="UTC"), metadata=auth()
    ).position
    window = av.TimeWindow(start_time=_ts(_local(tuesday, 0)), end_time=_ts(_local(tuesday, 23, 59)))

    def team(mode: int) -> av.QueryTeamAvailabilityResponse:
        return service.availability.QueryTeamAvailability(
            av.QueryTeamAvailabilityRequest(
                sub_account_id="loc-1", user_ids=["u1", "u2"], window=window, slot_minutes=60, mode=mode,
                min_position=position,
            ),
            metadata=auth(),
        )

    both = team(av.TEAM_MODE_ALL)
    # u1: 09-17 Berlin (07-15 UTC in CEST) minus 13:00-14:30 Berlin; u2: 09-17 UTC, horizon 60 days
    # (default rules): u2 has no slots this far ahead, so nobody is free together.
    assert list(both.slots) == []
    anyone = team(av.TEAM_MODE_ANY)
    assert {tuple(s.free_user_ids) for s in anyone.slots} == {("u1",)}
    assert len(anyone.slots) == 6
    u1_busy = next(u for u in anyone.users if u.user_id == "u1")
    assert [(b.start_time.ToDatetime(tzinfo=UTC), b.end_time.ToDatetime(tzinfo=UTC)) for b in u1_busy.busy] == [
        (_local(tuesday, 13).astimezone(UTC), _local(tuesday, 14, 30).astimezone(UTC))
    ]


def test_bad_availability_input_is_invalid_argument_with_field_violations(service: Service) -> None:
    start = _local(MONDAY_AFTER, 0)

    def window(a: datetime | None, b: datetime | None) -> av.TimeWindow:
        w = av.TimeWindow()
        if a is not None:
            w.start_time.CopyFrom(_ts(a))
        if b is not None:
            w.end_time.CopyFrom(_ts(b))
        return w

    cases = [
        (av.ListFreeSlotsRequest(sub_account_id="loc-1", user_id="u1", window=window(start, start - timedelta(hours=1))), "window.end_time"),
        (av.ListFreeSlotsRequest(sub_account_id="loc-1", user_id="u1", window=window(start, None)), "window.end_time"),
        (av.ListFreeSlotsRequest(sub_account_id="loc-1", user_id="u1", window=window(start, start + timedelta(days=400))), "window.end_time"),
        (av.ListFreeSlotsRequest(sub_account_id="loc-1", user_id="u1"), "window"),
    ]
    for request, field in cases:
        error = failure(service.availability.ListFreeSlots, request)
        assert error.code == grpc.StatusCode.INVALID_ARGUMENT and field in error.violations, (field, error)
    error = failure(
        service.availability.SetWorkingHours,
        av.SetWorkingHoursRequest(
            sub_account_id="loc-1", user_id="u1", time_zone="Mars/Olympus",
            working_hours=av.WorkingHours(weekly=[av.WeeklyHours(iso_weekday=8), av.WeeklyHours(
                iso_weekday=1, windows=[av.DayWindow(start_minute=600, end_minute=540)])]),
        ),
    )
    assert set(error.violations) == {"time_zone", "working_hours.weekly[0].iso_weekday", "working_hours.weekly.monday"}
    error = failure(
        service.availability.SetBookingRules,
        av.SetBookingRulesRequest(sub_account_id="loc-1", user_id="u1", booking_rules=av.BookingRules(slot_minutes=0)),
    )
    assert "booking_rules.slot_minutes" in error.violations
    error = failure(
        service.availability.QueryTeamAvailability,
        av.QueryTeamAvailabilityRequest(sub_account_id="loc-1", user_ids=["u1"], window=window(start, start + timedelta(days=1)),
                                        slot_minutes=0, mode=av.TEAM_MODE_ALL),
    )
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT and "slot_minutes" in error.violations
    error = failure(service.availability.ExplainTime, av.ExplainTimeRequest(sub_account_id="loc-1", user_id="u1"))
    assert "start_time" in error.violations
    error = failure(
        service.availability.ListFreeSlots,
        av.ListFreeSlotsRequest(sub_account_id="loc-1", user_id="u1", window=window(start, start + timedelta(days=1))),
        token="tenant",
    )
    assert error.code in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED)


@pytest.mark.parametrize("name", ["series_1990.ics"])
def test_a_series_that_runs_for_ever_is_right_far_in_the_future(
    service: Service, account: tuple[str, str], radicale: RadicaleServer, name: str
) -> None:
    username, password = account
    radicale.put_ics(username, password, f"{radicale.home_path(username)}home/{name}", (CORPUS / name).read_text())
    _, _, position = _configure_and_sync(service, account)
    # far beyond what the read model holds (400 days from the fetch): expanded on demand.
    # Mondays 08:00-08:30 Berlin since 1990: 07:00 UTC in winter, 06:00 UTC in summer.
    for far in (datetime(YEAR + 8, 1, 1, tzinfo=UTC), datetime(YEAR + 8, 7, 1, tzinfo=UTC)):
        answer = service.availability.ExplainTime(
            av.ExplainTimeRequest(sub_account_id="loc-1", user_id="u1", start_time=_ts(far),
                                  end_time=_ts(far + timedelta(days=14)), min_position=position, viewer_user_id="u1"),
            metadata=auth(),
        )
        busy = [r.source for r in answer.reasons if r.kind == av.REASON_KIND_BUSY]
        mondays = [far.date() + timedelta(days=d) for d in range(14) if (far.date() + timedelta(days=d)).weekday() == 0]
        assert [(s.start_time.ToDatetime(tzinfo=UTC), s.end_time.ToDatetime(tzinfo=UTC)) for s in busy] == [
            (_local(day, 8).astimezone(UTC), _local(day, 8, 30).astimezone(UTC)) for day in mondays
        ]
        assert {s.uid for s in busy} == {"since-1990@example.com"}
        assert _local(mondays[0], 8).astimezone(UTC).hour == (7 if far.month == 1 else 6)


def test_the_ical_corpus_reaches_explanations_as_its_expansion_says(
    service: Service, account: tuple[str, str], radicale: RadicaleServer
) -> None:
    """Every readable corpus resource (moved and cancelled occurrences, THISANDFUTURE,
    floating times, Windows TZIDs, X-WR-TIMEZONE, DST...) synced from Radicale: each
    of its first occurrences in 2026 is explained by that very event, blocking or not
    as the rules say. The corpus lies in the past, beyond what the read model holds
    around the fetch, so this also runs the on-demand expansion."""
    from adapters.icloud.ical import expand, parse_resource
    from calendar_domain.busy import AllDayPolicy, busy_rule

    username, password = account
    home = f"{radicale.home_path(username)}home/"
    names = sorted(p.name for p in CORPUS.glob("*.ics") if not p.name.startswith("malformed"))
    for name in names:
        radicale.put_ics(username, password, f"{home}{name}", (CORPUS / name).read_text())
    _, _, position = _configure_and_sync(service, account)
    checked = 0
    for name in names:
        parsed = parse_resource((CORPUS / name).read_bytes(), default_tz="Europe/Berlin")
        found = expand(parsed.ical, datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC), default_tz="Europe/Berlin")
        for occurrence in [o for o in found if o.end > o.start][:4]:
            answer = service.availability.ExplainTime(
                av.ExplainTimeRequest(
                    sub_account_id="loc-1", user_id="u1", start_time=_ts(occurrence.start), end_time=_ts(occurrence.end),
                    min_position=position,
                ),
                metadata=auth(),
            )
            blocks, rule = busy_rule(
                transparent=occurrence.transparent, cancelled=occurrence.cancelled,
                all_day=occurrence.all_day, policy=AllDayPolicy.FOLLOW_TRANSP,
            )
            busy = [(r.source.uid, r.source.start_time.ToDatetime(tzinfo=UTC)) for r in answer.reasons if r.kind == av.REASON_KIND_BUSY]
            free = [(s.uid, s.start_time.ToDatetime(tzinfo=UTC), s.rule) for s in answer.not_blocking]
            if blocks:
                assert (occurrence.uid, occurrence.start) in busy, (name, occurrence)
            else:
                assert (occurrence.uid, occurrence.start, rule.value) in free, (name, occurrence)
            checked += 1
    assert checked > len(names)
