"""Booking rules that reach past the window asked about, over gRPC on both stores:
the daily cap counts the whole local day, and a team query puts everyone on one
grid so that users whose working windows start at different times can meet."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import grpc

from calendarintegration.v1 import appointments_pb2 as ap
from calendarintegration.v1 import appointments_pb2_grpc
from calendarintegration.v1 import availability_pb2 as av
from tests.e2e.test_availability import _ts
from tests.support.grpc_service import Service, auth, failure

SUB = "rules-1"
TOKYO = ZoneInfo("Asia/Tokyo")  # UTC+9: its days are not UTC's
BERLIN = ZoneInfo("Europe/Berlin")
KOLKATA = ZoneInfo("Asia/Kolkata")  # UTC+5:30: its hours start at half past, in UTC


def _monday() -> date:
    """A Monday at least three days ahead (inside the default horizon, past any notice)."""
    day = datetime.now(UTC).date() + timedelta(days=3)
    return day + timedelta(days=(7 - day.weekday()) % 7)


MONDAY = _monday()


def _at(zone: ZoneInfo, hour: int, minute: int = 0, day: date = MONDAY) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=zone).astimezone(UTC)


def _window(start: datetime, end: datetime) -> av.TimeWindow:
    return av.TimeWindow(start_time=_ts(start), end_time=_ts(end))


def _working_hours(service: Service, user_id: str, zone: str) -> int:
    """Monday to Friday, 09:00-17:00 in ``zone``; the command's position."""
    hours = av.WorkingHours(
        weekly=[av.WeeklyHours(iso_weekday=d, windows=[av.DayWindow(start_minute=540, end_minute=1020)]) for d in range(1, 6)]
    )
    return service.availability.SetWorkingHours(
        av.SetWorkingHoursRequest(sub_account_id=SUB, user_id=user_id, working_hours=hours, time_zone=zone),
        metadata=auth(),
    ).position


def _free_starts(service: Service, start: datetime, end: datetime, position: int) -> list[datetime]:
    answer = service.availability.ListFreeSlots(
        av.ListFreeSlotsRequest(sub_account_id=SUB, user_id="u1", window=_window(start, end), min_position=position),
        metadata=auth(),
    )
    return [s.start_time.ToDatetime(tzinfo=UTC) for s in answer.slots]


def _book(start: datetime, end: datetime) -> ap.BookAppointmentRequest:
    return ap.BookAppointmentRequest(
        sub_account_id=SUB, user_id="u1", start_time=_ts(start), end_time=_ts(end), title="Consultation"
    )


def test_the_daily_cap_counts_the_whole_local_day_whatever_the_window(service: Service) -> None:
    _working_hours(service, "u1", "Asia/Tokyo")
    service.availability.SetBookingRules(
        av.SetBookingRulesRequest(
            sub_account_id=SUB, user_id="u1", booking_rules=av.BookingRules(slot_minutes=60, daily_cap=1)
        ),
        metadata=auth(),
    )
    appointments = appointments_pb2_grpc.AppointmentServiceStub(service.channel)
    # 09:00 Tokyo is midnight UTC: the appointment and the afternoon are on different UTC days
    booked = appointments.BookAppointment(_book(_at(TOKYO, 9), _at(TOKYO, 10)), metadata=auth())
    position = booked.position

    # the afternoon, asked on its own, is full: the morning's appointment reached the cap
    assert _free_starts(service, _at(TOKYO, 14), _at(TOKYO, 17), position) == []
    tuesday = MONDAY + timedelta(days=1)
    assert _free_starts(service, _at(TOKYO, 14, day=tuesday), _at(TOKYO, 17, day=tuesday), position) == [
        _at(TOKYO, h, day=tuesday) for h in (14, 15, 16)
    ]
    explained = service.availability.ExplainTime(
        av.ExplainTimeRequest(
            sub_account_id=SUB, user_id="u1", start_time=_ts(_at(TOKYO, 15)), end_time=_ts(_at(TOKYO, 16)),
            min_position=position,
        ),
        metadata=auth(),
    )
    assert [r.kind for r in explained.reasons] == [av.REASON_KIND_DAILY_CAP]
    refused = failure(appointments.BookAppointment, _book(_at(TOKYO, 15), _at(TOKYO, 16)))
    assert refused.code == grpc.StatusCode.FAILED_PRECONDITION and refused.reason == "BOOKING_CAP_REACHED"
    assert refused.metadata["conflict_kind"] == "daily_cap"


def test_a_team_meets_on_one_grid_whatever_time_its_members_hours_start(service: Service) -> None:
    _working_hours(service, "u1", "Europe/Berlin")
    position = _working_hours(service, "u2", "Asia/Kolkata")
    start = datetime.combine(MONDAY, time(), tzinfo=UTC)
    window = _window(start, start + timedelta(days=1))

    def team(mode: int) -> av.QueryTeamAvailabilityResponse:
        return service.availability.QueryTeamAvailability(
            av.QueryTeamAvailabilityRequest(
                sub_account_id=SUB, user_ids=["u1", "u2"], window=window, slot_minutes=60, mode=mode,
                min_position=position,
            ),
            metadata=auth(),
        )

    # one grid: whole hours from the window's start (00:00 UTC). Kolkata's 09:00 is hh:30
    # UTC, Berlin's hh:00: hour slots inside both working days, worked out from their hours
    common_start = max(_at(BERLIN, 9), _at(KOLKATA, 9))
    common_end = min(_at(BERLIN, 17), _at(KOLKATA, 17))
    first = start + timedelta(hours=-(-(common_start - start) // timedelta(hours=1)))
    expected = []
    while first + timedelta(hours=1) <= common_end:
        expected.append(first)
        first += timedelta(hours=1)
    assert len(expected) >= 3  # CET or CEST, Berlin and Kolkata share three and a half hours or more
    together = team(av.TEAM_MODE_ALL)
    assert [s.start_time.ToDatetime(tzinfo=UTC) for s in together.slots] == expected
    assert all(list(s.free_user_ids) == ["u1", "u2"] for s in together.slots)

    # either of them: Kolkata's slots on the same whole hours, from 09:30 there (04:00 UTC),
    # before Berlin's day starts
    anyone = team(av.TEAM_MODE_ANY)
    u2_alone = [s.start_time.ToDatetime(tzinfo=UTC) for s in anyone.slots if list(s.free_user_ids) == ["u2"]]
    assert u2_alone == [_at(KOLKATA, 9, 30) + timedelta(hours=h) for h in range(len(u2_alone))]
    assert u2_alone[-1] + timedelta(hours=1) == expected[0]


NEW_YORK = ZoneInfo("America/New_York")


def test_several_windows_a_day_overrides_and_what_takes_the_time_over_grpc(service: Service) -> None:
    windows = [av.DayWindow(start_minute=540, end_minute=720), av.DayWindow(start_minute=780, end_minute=1020)]
    tuesday, wednesday = MONDAY + timedelta(days=1), MONDAY + timedelta(days=2)
    hours = av.WorkingHours(
        weekly=[av.WeeklyHours(iso_weekday=d, windows=windows) for d in range(1, 6)],
        # Tuesday has hours of its own: 10:00-11:00 and 15:00-16:30
        overrides=[av.DateOverride(date=tuesday.isoformat(), windows=[
            av.DayWindow(start_minute=600, end_minute=660), av.DayWindow(start_minute=900, end_minute=990),
        ])],
    )
    service.availability.SetWorkingHours(
        av.SetWorkingHoursRequest(sub_account_id=SUB, user_id="u1", working_hours=hours, time_zone="America/New_York"),
        metadata=auth(),
    )
    service.availability.SetBookingRules(
        av.SetBookingRulesRequest(sub_account_id=SUB, user_id="u1", booking_rules=av.BookingRules(slot_minutes=60)),
        metadata=auth(),
    )
    appointments = appointments_pb2_grpc.AppointmentServiceStub(service.channel)
    appointments.BookAppointment(_book(_at(NEW_YORK, 10), _at(NEW_YORK, 11)), metadata=auth())
    block = appointments.CreateCrmBlockedSlot(
        ap.CreateCrmBlockedSlotRequest(
            sub_account_id=SUB, user_id="u1", start_time=_ts(_at(NEW_YORK, 14)), end_time=_ts(_at(NEW_YORK, 15)),
            title="Pipeline review",
        ),
        metadata=auth(),
    )
    position = block.position

    def day(on: date) -> list[datetime]:
        return _free_starts(service, _at(NEW_YORK, 0, day=on), _at(NEW_YORK, 23, 59, day=on), position)

    # 09-12 and 13-17, less the 10:00 appointment and the 14:00 CRM block
    assert day(MONDAY) == [_at(NEW_YORK, h) for h in (9, 11, 13, 15, 16)]
    assert day(tuesday) == [_at(NEW_YORK, 10, day=tuesday), _at(NEW_YORK, 15, day=tuesday)]
    assert day(wednesday) == [_at(NEW_YORK, h, day=wednesday) for h in (9, 10, 11, 13, 14, 15, 16)]

    def explain(start: datetime, end: datetime | None = None) -> av.ExplainTimeResponse:
        request = av.ExplainTimeRequest(
            sub_account_id=SUB, user_id="u1", viewer_user_id="u2", min_position=position, start_time=_ts(start),
            end_time=_ts(end) if end is not None else None,
        )
        return service.availability.ExplainTime(request, metadata=auth())

    [booked] = explain(_at(NEW_YORK, 10, 30)).reasons
    assert booked.kind == av.REASON_KIND_BUSY and booked.source.kind == av.SOURCE_KIND_APPOINTMENT
    assert booked.source.rule == "appointment" and booked.source.title == "Consultation"
    assert booked.source.start_time.ToDatetime(tzinfo=UTC) == _at(NEW_YORK, 10)
    [blocked] = explain(_at(NEW_YORK, 14), _at(NEW_YORK, 15)).reasons
    assert blocked.source.kind == av.SOURCE_KIND_CRM_BLOCKED_SLOT and blocked.source.rule == "crm_block"
    assert blocked.source.title == "Pipeline review" and blocked.source.end_time.ToDatetime(tzinfo=UTC) == _at(NEW_YORK, 15)
    assert [r.kind for r in explain(_at(NEW_YORK, 12, 30)).reasons] == [av.REASON_KIND_OUTSIDE_WORKING_HOURS]
    assert [r.kind for r in explain(_at(NEW_YORK, 12, day=tuesday)).reasons] == [av.REASON_KIND_OUTSIDE_WORKING_HOURS]
    assert explain(_at(NEW_YORK, 15, day=tuesday), _at(NEW_YORK, 16, day=tuesday)).free
