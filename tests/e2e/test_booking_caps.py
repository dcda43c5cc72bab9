"""Weekly and monthly booking caps, by appointments and by minutes, over gRPC on
both stores, in Berlin around a daylight-saving change: the week (ISO, from
Monday) and the month are the user's local ones, so an appointment at 00:00 on a
Monday or a 1st (still the day before in UTC) counts for the new week or month.
A capped period offers no slots (alone or in a team), ExplainTime names the cap,
and a booking or reschedule into it is refused unless overridden."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import grpc
import pytest

from calendarintegration.v1 import appointments_pb2 as ap
from calendarintegration.v1 import appointments_pb2_grpc
from calendarintegration.v1 import availability_pb2 as av
from tests.e2e.test_availability import _ts
from tests.e2e.test_booking_rules import SUB, _free_starts, _window, _working_hours
from tests.support.grpc_service import Service, auth, failure

BERLIN = ZoneInfo("Europe/Berlin")


def _dst_sunday() -> date:
    """The next Sunday with a daylight-saving change in Berlin, at least ten days ahead."""
    day = datetime.now(UTC).date() + timedelta(days=10)
    while True:
        noon = datetime.combine(day, time(12), tzinfo=BERLIN)
        if noon.utcoffset() != (noon - timedelta(days=1)).utcoffset():
            return day
        day += timedelta(days=1)


SUNDAY = _dst_sunday()  # the last day of a local week that crosses the change


def _local(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=BERLIN).astimezone(UTC)


def _weekday_from(day: date, step: int) -> date:
    while day.weekday() >= 5:
        day += timedelta(days=step)
    return day


def _book(start: datetime, *, override: bool = False) -> ap.BookAppointmentRequest:
    return ap.BookAppointmentRequest(
        sub_account_id=SUB, user_id="u1", start_time=_ts(start), end_time=_ts(start + timedelta(hours=1)),
        title="Consultation", override=override,
    )


def _whole_day(service: Service, day: date, position: int) -> list[datetime]:
    return _free_starts(service, _local(day, 0), _local(day + timedelta(days=1), 0), position)


def _periods(period: str) -> tuple[date, date, date]:
    """(the first day of the period after the one with the change, a weekday of
    the period with the change, a weekday of the period after)."""
    if period == "week":
        after = SUNDAY + timedelta(days=1)
    else:
        after = (SUNDAY.replace(day=1) + timedelta(days=32)).replace(day=1)
    return after, _weekday_from(after - timedelta(days=1), -1), _weekday_from(after + timedelta(days=1), 1)


CAPS = [
    ("weekly_cap", 1, av.REASON_KIND_WEEKLY_CAP, "1 appointments"),
    ("weekly_cap_minutes", 60, av.REASON_KIND_WEEKLY_CAP_MINUTES, "60 minutes"),
    ("monthly_cap", 1, av.REASON_KIND_MONTHLY_CAP, "1 appointments"),
    ("monthly_cap_minutes", 60, av.REASON_KIND_MONTHLY_CAP_MINUTES, "60 minutes"),
]


@pytest.mark.parametrize(("cap", "limit", "kind", "booked"), CAPS, ids=[c[0] for c in CAPS])
def test_a_cap_closes_the_local_week_or_month_across_a_dst_change(
    service: Service, cap: str, limit: int, kind: int, booked: str
) -> None:
    _working_hours(service, "u1", "Europe/Berlin")
    service.availability.SetBookingRules(
        av.SetBookingRulesRequest(
            sub_account_id=SUB, user_id="u1",
            booking_rules=av.BookingRules(slot_minutes=60, horizon_days=400, **{cap: limit}),
        ),
        metadata=auth(),
    )
    settings = service.availability.GetAvailabilitySettings(
        av.GetAvailabilitySettingsRequest(sub_account_id=SUB, user_id="u1"), metadata=auth()
    )
    assert getattr(settings.booking_rules, cap) == limit
    first_of_next, open_day, closed_day = _periods(cap.split("_")[0].removesuffix("ly"))
    appointments = appointments_pb2_grpc.AppointmentServiceStub(service.channel)
    # 00:00 local on the new period's first day: still the old period's last day in UTC
    midnight = appointments.BookAppointment(_book(_local(first_of_next, 0), override=True), metadata=auth())
    assert midnight.appointment.start_time.ToDatetime(tzinfo=UTC).date() < first_of_next
    position = midnight.position

    assert _whole_day(service, open_day, position) == [_local(open_day, h) for h in range(9, 17)]
    assert _whole_day(service, closed_day, position) == []
    team = service.availability.QueryTeamAvailability(
        av.QueryTeamAvailabilityRequest(
            sub_account_id=SUB, user_ids=["u1"], window=_window(_local(closed_day, 0), _local(closed_day, 23)),
            slot_minutes=60, mode=av.TEAM_MODE_ANY, min_position=position,
        ),
        metadata=auth(),
    )
    assert list(team.slots) == []

    explained = service.availability.ExplainTime(
        av.ExplainTimeRequest(
            sub_account_id=SUB, user_id="u1", start_time=_ts(_local(closed_day, 10)),
            end_time=_ts(_local(closed_day, 11)), min_position=position,
        ),
        metadata=auth(),
    )
    assert [r.kind for r in explained.reasons] == [kind]
    assert explained.reasons[0].description.startswith(f"{cap}: {booked} booked")
    assert explained.reasons[0].description.endswith(f"at most {limit}")

    refused = failure(appointments.BookAppointment, _book(_local(closed_day, 10)))
    assert refused.code == grpc.StatusCode.FAILED_PRECONDITION and refused.reason == "BOOKING_CAP_REACHED"
    assert (refused.metadata["conflict_kind"], refused.metadata["limit"]) == (cap, str(limit))
    assert refused.metadata["booked"] == booked.split()[0]

    # the period with the change is open to a booking, and a reschedule from it into the full one is refused
    earlier = appointments.BookAppointment(_book(_local(open_day, 10)), metadata=auth())
    moved = failure(
        appointments.RescheduleAppointment,
        ap.RescheduleAppointmentRequest(
            sub_account_id=SUB, user_id="u1", appointment_id=earlier.appointment.appointment_id,
            start_time=_ts(_local(closed_day, 10)), end_time=_ts(_local(closed_day, 11)),
        ),
    )
    assert moved.reason == "BOOKING_CAP_REACHED" and moved.metadata["conflict_kind"] == cap
    # an appointment moved inside the full period does not count against itself
    appointments.RescheduleAppointment(
        ap.RescheduleAppointmentRequest(
            sub_account_id=SUB, user_id="u1", appointment_id=midnight.appointment.appointment_id,
            start_time=_ts(_local(closed_day, 12)), end_time=_ts(_local(closed_day, 13)),
        ),
        metadata=auth(),
    )
    overridden = appointments.BookAppointment(_book(_local(closed_day, 10), override=True), metadata=auth())
    assert overridden.appointment.start_time.ToDatetime(tzinfo=UTC) == _local(closed_day, 10)
