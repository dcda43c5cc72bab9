"""AvailabilityService over gRPC: parse and validate, call the domain, convert."""

from __future__ import annotations

import functools
from datetime import UTC as _UTC
from datetime import date, datetime, timedelta
from typing import Any

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from adapters import metrics
from calendar_domain import values
from calendar_domain.availability import (
    DEFAULT_BOOKING_RULES,
    WEEKDAYS,
    BookingRules,
    Busy,
    ReasonKind,
    Window,
    WorkingHours,
    blocking_spans,
    checked_booking_rules,
    checked_working_hours,
)
from calendar_domain.availability_history import AvailabilityHistory
from calendar_domain.availability_service import (
    AsOf,
    AvailabilityService,
    Provenance,
    Staleness,
    TeamMode,
    UserView,
    check_team_request,
)
from calendar_domain.busy_times import BusyTimes
from calendar_domain.configuration_service import ConfigurationService
from calendar_domain.errors import InvalidValue
from calendar_domain.policy_service import PolicyService
from calendarintegration.v1 import availability_pb2 as pb
from calendarintegration.v1 import availability_pb2_grpc
from server.auth import Authenticator, Caller
from server.handlers import ReadGate, ServicerBase, rpc
from server.validation import Violations

_FRESHNESS = {
    Staleness.FRESH: pb.FRESHNESS_FRESH,
    Staleness.NEVER_SYNCED: pb.FRESHNESS_NEVER_SYNCED,
    Staleness.OUT_OF_DATE: pb.FRESHNESS_OUT_OF_DATE,
    Staleness.RECONNECT_REQUIRED: pb.FRESHNESS_RECONNECT_REQUIRED,
    Staleness.DISCONNECTED: pb.FRESHNESS_DISCONNECTED,
}
_REASONS = {
    ReasonKind.OUTSIDE_WORKING_HOURS: pb.REASON_KIND_OUTSIDE_WORKING_HOURS,
    ReasonKind.DAY_OFF: pb.REASON_KIND_DAY_OFF,
    ReasonKind.MINIMUM_NOTICE: pb.REASON_KIND_MINIMUM_NOTICE,
    ReasonKind.BEYOND_HORIZON: pb.REASON_KIND_BEYOND_HORIZON,
    ReasonKind.DAILY_CAP: pb.REASON_KIND_DAILY_CAP,
    ReasonKind.DAILY_CAP_MINUTES: pb.REASON_KIND_DAILY_CAP_MINUTES,
    ReasonKind.WEEKLY_CAP: pb.REASON_KIND_WEEKLY_CAP,
    ReasonKind.WEEKLY_CAP_MINUTES: pb.REASON_KIND_WEEKLY_CAP_MINUTES,
    ReasonKind.MONTHLY_CAP: pb.REASON_KIND_MONTHLY_CAP,
    ReasonKind.MONTHLY_CAP_MINUTES: pb.REASON_KIND_MONTHLY_CAP_MINUTES,
    ReasonKind.BUSY: pb.REASON_KIND_BUSY,
    ReasonKind.BUFFER: pb.REASON_KIND_BUFFER,
}
_SOURCES = {
    "imported": pb.SOURCE_KIND_IMPORTED_EVENT,
    "appointment": pb.SOURCE_KIND_APPOINTMENT,
    "crm_block": pb.SOURCE_KIND_CRM_BLOCKED_SLOT,
}
_TEAM_MODES = {pb.TEAM_MODE_ALL: TeamMode.ALL, pb.TEAM_MODE_ANY: TeamMode.ANY}
_EPOCH = datetime(1970, 1, 1, tzinfo=_UTC)


class AvailabilityServicer(ServicerBase, availability_pb2_grpc.AvailabilityServiceServicer):
    def __init__(
        self,
        authenticator: Authenticator,
        availability: AvailabilityService,
        configurations: ConfigurationService,
        policies: PolicyService,
        gate: ReadGate,
        history: AvailabilityHistory,
        busy_times: BusyTimes,
    ) -> None:
        super().__init__(authenticator)
        self._availability = availability
        self._busy_times = busy_times
        self._history = history
        self._configurations = configurations
        self._policies = policies
        self._gate = gate

    # -- settings ---------------------------------------------------------------------

    @rpc
    def GetAvailabilitySettings(self, request: Any, context: Any, caller: Caller) -> pb.GetAvailabilitySettingsResponse:
        self.check_scope(request, caller, Violations.of(request))
        configuration = self._configurations.find(request.sub_account_id, request.user_id)
        if configuration is None:  # defaults are an answer only for a user known otherwise (appointments)
            self._availability.require_known(request.sub_account_id, request.user_id)
            configuration = self._configurations.get(request.sub_account_id, request.user_id)
        return pb.GetAvailabilitySettingsResponse(
            time_zone=configuration.time_zone,
            working_hours=_hours_to_pb(configuration.working_hours),
            booking_rules=pb.BookingRules(**configuration.booking_rules.to_payload()),
        )

    @rpc
    def SetWorkingHours(self, request: Any, context: Any, caller: Caller) -> pb.SetWorkingHoursResponse:
        v = Violations.of(request)
        hours = _hours_from_pb(request.working_hours, v)
        if request.time_zone:
            v.check(lambda: values.time_zone("time_zone", request.time_zone), "")
        self.check_scope(request, caller, v)
        assert hours is not None
        outcome = self._configurations.set_working_hours(
            request.sub_account_id, request.user_id, hours, time_zone=request.time_zone, request_id=request.request_id
        )
        return pb.SetWorkingHoursResponse(position=outcome.position)

    @rpc
    def SetTimeZone(self, request: Any, context: Any, caller: Caller) -> pb.SetTimeZoneResponse:
        v = Violations.of(request)  # a time zone given is checked there
        if not request.time_zone:
            v.add("time_zone", "time_zone is required")
        self.check_scope(request, caller, v)
        outcome = self._configurations.set_time_zone(
            request.sub_account_id, request.user_id, request.time_zone, request.request_id
        )
        return pb.SetTimeZoneResponse(position=outcome.position)

    @rpc
    def SetBookingRules(self, request: Any, context: Any, caller: Caller) -> pb.SetBookingRulesResponse:
        v = Violations.of(request)
        if not request.HasField("booking_rules"):
            v.add("booking_rules", "booking_rules is required")
        rules = v.check(lambda: _rules_from_pb(request.booking_rules), None, "booking_rules.")
        self.check_scope(request, caller, v)
        assert rules is not None
        outcome = self._configurations.set_booking_rules(
            request.sub_account_id, request.user_id, rules, request.request_id
        )
        return pb.SetBookingRulesResponse(position=outcome.position)

    @rpc
    def GetStaleCalendarPolicy(self, request: Any, context: Any, caller: Caller) -> pb.GetStaleCalendarPolicyResponse:
        self.check_scope(request, caller, Violations.of(request), user=False)
        policy = self._policies.get(request.sub_account_id)
        return pb.GetStaleCalendarPolicyResponse(stale_calendars_block=policy.stale_calendars_block)

    @rpc
    def SetStaleCalendarPolicy(self, request: Any, context: Any, caller: Caller) -> pb.SetStaleCalendarPolicyResponse:
        self.check_scope(request, caller, Violations.of(request), user=False)
        position = self._policies.set_stale_calendars_block(
            request.sub_account_id, request.stale_calendars_block, request.request_id
        )
        return pb.SetStaleCalendarPolicyResponse(position=position)

    # -- questions --------------------------------------------------------------------

    @rpc
    def ListFreeSlots(self, request: Any, context: Any, caller: Caller) -> pb.ListFreeSlotsResponse:
        v = Violations.of(request)
        window = self._window(request, v)
        v.non_negative("min_position", request.min_position)
        self.check_scope(request, caller, v)
        self._gate.wait(request.min_position)
        found = self._availability.free_slots(request.sub_account_id, request.user_id, window)
        response = pb.ListFreeSlotsResponse(time_zone=found.view.user.time_zone, as_of=_as_of(found.view.as_of))
        add = response.slots.add
        for start, end in found.slots:  # in place: a third of the cost of building each message
            slot = add()
            slot.start_time.seconds = start
            slot.end_time.seconds = end
        return response

    @rpc
    def QueryTeamAvailability(self, request: Any, context: Any, caller: Caller) -> pb.QueryTeamAvailabilityResponse:
        v = Violations.of(request)
        sub_account_id = v.check(lambda: values.opaque_id("sub_account_id", request.sub_account_id), "")
        for i, user_id in enumerate(request.user_ids):
            v.check(lambda: values.opaque_id(f"user_ids[{i}]", user_id), "")  # noqa: B023 - called at once
        window = self._window(request, v)
        if request.mode not in _TEAM_MODES:
            v.add("mode", "mode must be TEAM_MODE_ALL or TEAM_MODE_ANY")
        v.check(lambda: check_team_request(list(request.user_ids), request.slot_minutes, request.step_minutes), None)
        v.non_negative("min_position", request.min_position)
        v.raise_if_any()
        caller.require(sub_account_id)
        self._gate.wait(request.min_position)
        assert window is not None
        team = self._availability.team(
            sub_account_id, list(request.user_ids), window,
            slot_minutes=request.slot_minutes, step_minutes=request.step_minutes, mode=_TEAM_MODES[request.mode],
        )
        return pb.QueryTeamAvailabilityResponse(
            slots=[
                pb.TeamSlot(start_time=_ts(s.start), end_time=_ts(s.end), free_user_ids=s.free_user_ids)
                for s in team.slots
            ],
            users=[_user_busy(view, window) for view in team.views],
        )

    @rpc
    def ExplainTime(self, request: Any, context: Any, caller: Caller) -> pb.ExplainTimeResponse:
        v = Violations.of(request)
        start = v.timestamp("start_time", request, required=True)
        end = v.timestamp("end_time", request)
        if request.viewer_user_id:
            v.check(lambda: values.opaque_id("viewer_user_id", request.viewer_user_id), "")
        v.non_negative("min_position", request.min_position)
        self.check_scope(request, caller, v)
        self._gate.wait(request.min_position)
        assert start is not None
        answer = self._availability.explain(request.sub_account_id, request.user_id, start, end)
        viewer = request.viewer_user_id
        return pb.ExplainTimeResponse(
            free=answer.free,
            reasons=[
                pb.Reason(
                    kind=_REASONS[r.kind],
                    description=r.detail,
                    source=self._source(answer.view, r.busy, viewer) if r.busy else None,
                )
                for r in answer.reasons
            ],
            not_blocking=[self._source(answer.view, b, viewer) for b in answer.not_blocking],
            time_zone=answer.view.user.time_zone,
            as_of=_as_of(answer.view.as_of),
        )

    @rpc
    def GetAvailabilityAsOf(self, request: Any, context: Any, caller: Caller) -> pb.GetAvailabilityAsOfResponse:
        v = Violations.of(request)
        if not request.HasField("window"):
            v.add("window", "window is required")
        as_of_time = v.timestamp("as_of_time", request, required=True)
        start = v.timestamp("window.start_time", request.window)
        end = v.timestamp("window.end_time", request.window)
        if request.HasField("window"):
            self._window(request, v)  # the window's rules, beside every other field
        if request.viewer_user_id:
            v.check(lambda: values.opaque_id("viewer_user_id", request.viewer_user_id), "")
        self.check_scope(request, caller, v)
        assert as_of_time is not None
        past = self._history.free_slots_at(
            request.sub_account_id, request.user_id, as_of_time, start, end, request.viewer_user_id
        )
        view = past.slots.view
        return pb.GetAvailabilityAsOfResponse(
            slots=[pb.Slot(start_time=_ts(s), end_time=_ts(e)) for s, e in past.slots.slots],
            time_zone=view.user.time_zone,
            as_of=_as_of(view.as_of),
            busy=[_source(p, b) for b, p in past.busy],
        )

    @rpc
    def ListBusyTimes(self, request: Any, context: Any, caller: Caller) -> pb.ListBusyTimesResponse:
        v = Violations.of(request)
        sub_account_id = v.check(lambda: values.opaque_id("sub_account_id", request.sub_account_id), "")
        for i, user_id in enumerate(request.user_ids):
            v.check(lambda: values.opaque_id(f"user_ids[{i}]", user_id), "")  # noqa: B023 - called at once
        window = self._window(request, v)
        if request.viewer_user_id:
            v.check(lambda: values.opaque_id("viewer_user_id", request.viewer_user_id), "")
        v.non_negative("min_position", request.min_position)
        v.raise_if_any()
        caller.require(sub_account_id)
        self._gate.wait(request.min_position)
        found = self._busy_times.of_users(
            sub_account_id, list(request.user_ids), window, include_not_blocking=request.include_not_blocking
        )
        metrics.BUSY_TIMES_INTERVALS.observe(sum(len(user.busy) for user in found))
        viewer = request.viewer_user_id
        return pb.ListBusyTimesResponse(
            users=[
                pb.UserBusyTimes(
                    user_id=user.view.user_id,
                    time_zone=user.view.user.time_zone,
                    busy_times=self._busy_times_of(user.view, user.busy, viewer),
                    as_of=_as_of(user.view.as_of),
                )
                for user in found
            ]
        )

    def _busy_times_of(self, view: UserView, busy: list[Busy], viewer: str) -> list[pb.BusyTime]:
        known = self._availability.known_series(view, busy)  # read at once, not one by one
        answer = []
        for b in busy:
            item = pb.BusyTime(blocks=b.blocks, source=_source(self._availability.provenance(view, b, viewer, known), b))
            item.start_time.seconds, item.end_time.seconds = b.start, b.end
            answer.append(item)
        return answer

    def _source(self, view: UserView, busy: Busy, viewer: str) -> pb.Source:
        return _source(self._availability.provenance(view, busy, viewer), busy)

    # -- helpers ------------------------------------------------------------------------

    def _window(self, request: Any, v: Violations) -> Any:
        if not request.HasField("window"):
            v.add("window", "window is required")
            return None
        start = v.timestamp("window.start_time", request.window)
        end = v.timestamp("window.end_time", request.window)
        if any(f in ("window.start_time", "window.end_time") for f, _ in v.items):
            return None  # a time out of range, already noted
        return v.check(lambda: self._availability.window(start, end), None)


def _source(p: Provenance, busy: Busy) -> pb.Source:
    source = pb.Source(
        kind=_SOURCES[p.kind.value],
        connection_id=p.connection_id,
        calendar_id=p.calendar_id,
        href=p.href,
        uid=p.uid,
        recurrence_id=p.recurrence_id,
        etag=p.etag,
        title=p.summary,
        location=p.location,
        rule=busy.rule,
    )
    # in place: a third of the cost of building Timestamp messages (a busy-times
    # answer has hundreds)
    source.start_time.seconds = busy.start
    source.end_time.seconds = busy.end
    if p.fetched_at:
        source.fetched_time.seconds, source.fetched_time.nanos = _instant(p.fetched_at)
    return source


@functools.lru_cache(maxsize=4096)
def _instant(iso: str) -> tuple[int, int]:
    """(seconds, nanos) of an ISO 8601 time with an offset (Timestamp.FromJsonString
    parses with strptime, ten times slower)."""
    moment = datetime.fromisoformat(iso)
    return (moment - _EPOCH) // timedelta(seconds=1), moment.microsecond * 1000


def _ts(seconds: int) -> Timestamp:
    return Timestamp(seconds=seconds)


def _as_of(as_of: AsOf) -> pb.AsOf:
    stale = [c for c in as_of.calendars if c.stale]
    reason = "; ".join(
        f"calendar {c.calendar_id} is {c.staleness.value.replace('_', ' ')}"
        + ("" if c.still_blocks else " (its busy times are ignored)")
        for c in stale
    )
    answer = pb.AsOf(position=as_of.position, degraded=as_of.degraded, degraded_reason=reason)
    add = answer.calendars.add
    for c in as_of.calendars:
        item = add(
            connection_id=c.connection_id, calendar_id=c.calendar_id, role=c.role,
            freshness=_FRESHNESS[c.staleness], still_blocks=c.still_blocks,
        )
        if c.last_success:
            item.last_synced_time.seconds = int(c.last_success.timestamp())
    return answer


def _user_busy(view: UserView, window: Any) -> pb.UserBusy:
    spans = blocking_spans(view.busy, 0, 0)
    return pb.UserBusy(
        user_id=view.user_id,
        busy=[
            pb.Slot(start_time=_ts(max(s, window.start)), end_time=_ts(min(e, window.end)))
            for s, e in spans
            if s < window.end and e > window.start
        ],
        as_of=_as_of(view.as_of),
    )


def _hours_to_pb(hours: WorkingHours) -> pb.WorkingHours:
    def windows(ws: tuple[Window, ...]) -> list[pb.DayWindow]:
        return [pb.DayWindow(start_minute=w.start_minute, end_minute=w.end_minute) for w in ws]

    return pb.WorkingHours(
        weekly=[pb.WeeklyHours(iso_weekday=d + 1, windows=windows(ws)) for d, ws in sorted(hours.weekly.items())],
        overrides=[
            pb.DateOverride(date=day.isoformat(), windows=windows(ws)) for day, ws in sorted(hours.overrides.items())
        ],
    )


def _hours_from_pb(message: Any, v: Violations) -> WorkingHours | None:
    weekly: dict[int, list[Window]] = {}
    for i, entry in enumerate(message.weekly):
        if not 1 <= entry.iso_weekday <= 7:
            v.add(f"working_hours.weekly[{i}].iso_weekday", "iso_weekday must be 1 (Monday) to 7 (Sunday)")
            continue
        day = entry.iso_weekday - 1
        if day in weekly:
            v.add(f"working_hours.weekly[{i}].iso_weekday", f"{WEEKDAYS[day]} is given twice")
        weekly.setdefault(day, []).extend(Window(w.start_minute, w.end_minute) for w in entry.windows)
    overrides: dict[date, list[Window]] = {}
    for i, entry in enumerate(message.overrides):
        try:
            day_of = date.fromisoformat(entry.date)
        except ValueError:
            v.add(f"working_hours.overrides[{i}].date", "date must be YYYY-MM-DD")
            continue
        if day_of in overrides:
            v.add(f"working_hours.overrides[{i}].date", f"{entry.date} is given twice")
        overrides[day_of] = [Window(w.start_minute, w.end_minute) for w in entry.windows]
    try:
        return checked_working_hours(weekly, overrides)
    except InvalidValue as error:
        v.add(f"working_hours.{error.field}", error.message)
        return None


def _rules_from_pb(message: Any) -> BookingRules:
    return checked_booking_rules(
        slot_minutes=message.slot_minutes,
        step_minutes=message.step_minutes,
        buffer_before_minutes=message.buffer_before_minutes,
        buffer_after_minutes=message.buffer_after_minutes,
        minimum_notice_minutes=message.minimum_notice_minutes,
        horizon_days=message.horizon_days or DEFAULT_BOOKING_RULES.horizon_days,
        daily_cap=message.daily_cap,
        daily_cap_minutes=message.daily_cap_minutes,
        weekly_cap=message.weekly_cap,
        weekly_cap_minutes=message.weekly_cap_minutes,
        monthly_cap=message.monthly_cap,
        monthly_cap_minutes=message.monthly_cap_minutes,
    )


def register(server: grpc.Server, servicer: AvailabilityServicer) -> None:
    availability_pb2_grpc.add_AvailabilityServiceServicer_to_server(servicer, server)

