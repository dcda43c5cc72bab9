import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Freshness(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FRESHNESS_UNSPECIFIED: _ClassVar[Freshness]
    FRESHNESS_FRESH: _ClassVar[Freshness]
    FRESHNESS_NEVER_SYNCED: _ClassVar[Freshness]
    FRESHNESS_OUT_OF_DATE: _ClassVar[Freshness]
    FRESHNESS_RECONNECT_REQUIRED: _ClassVar[Freshness]
    FRESHNESS_DISCONNECTED: _ClassVar[Freshness]

class TeamMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TEAM_MODE_UNSPECIFIED: _ClassVar[TeamMode]
    TEAM_MODE_ALL: _ClassVar[TeamMode]
    TEAM_MODE_ANY: _ClassVar[TeamMode]

class SourceKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SOURCE_KIND_UNSPECIFIED: _ClassVar[SourceKind]
    SOURCE_KIND_IMPORTED_EVENT: _ClassVar[SourceKind]
    SOURCE_KIND_APPOINTMENT: _ClassVar[SourceKind]
    SOURCE_KIND_CRM_BLOCKED_SLOT: _ClassVar[SourceKind]

class ReasonKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REASON_KIND_UNSPECIFIED: _ClassVar[ReasonKind]
    REASON_KIND_OUTSIDE_WORKING_HOURS: _ClassVar[ReasonKind]
    REASON_KIND_DAY_OFF: _ClassVar[ReasonKind]
    REASON_KIND_MINIMUM_NOTICE: _ClassVar[ReasonKind]
    REASON_KIND_BEYOND_HORIZON: _ClassVar[ReasonKind]
    REASON_KIND_DAILY_CAP: _ClassVar[ReasonKind]
    REASON_KIND_BUSY: _ClassVar[ReasonKind]
    REASON_KIND_BUFFER: _ClassVar[ReasonKind]
    REASON_KIND_DAILY_CAP_MINUTES: _ClassVar[ReasonKind]
    REASON_KIND_WEEKLY_CAP: _ClassVar[ReasonKind]
    REASON_KIND_WEEKLY_CAP_MINUTES: _ClassVar[ReasonKind]
    REASON_KIND_MONTHLY_CAP: _ClassVar[ReasonKind]
    REASON_KIND_MONTHLY_CAP_MINUTES: _ClassVar[ReasonKind]
FRESHNESS_UNSPECIFIED: Freshness
FRESHNESS_FRESH: Freshness
FRESHNESS_NEVER_SYNCED: Freshness
FRESHNESS_OUT_OF_DATE: Freshness
FRESHNESS_RECONNECT_REQUIRED: Freshness
FRESHNESS_DISCONNECTED: Freshness
TEAM_MODE_UNSPECIFIED: TeamMode
TEAM_MODE_ALL: TeamMode
TEAM_MODE_ANY: TeamMode
SOURCE_KIND_UNSPECIFIED: SourceKind
SOURCE_KIND_IMPORTED_EVENT: SourceKind
SOURCE_KIND_APPOINTMENT: SourceKind
SOURCE_KIND_CRM_BLOCKED_SLOT: SourceKind
REASON_KIND_UNSPECIFIED: ReasonKind
REASON_KIND_OUTSIDE_WORKING_HOURS: ReasonKind
REASON_KIND_DAY_OFF: ReasonKind
REASON_KIND_MINIMUM_NOTICE: ReasonKind
REASON_KIND_BEYOND_HORIZON: ReasonKind
REASON_KIND_DAILY_CAP: ReasonKind
REASON_KIND_BUSY: ReasonKind
REASON_KIND_BUFFER: ReasonKind
REASON_KIND_DAILY_CAP_MINUTES: ReasonKind
REASON_KIND_WEEKLY_CAP: ReasonKind
REASON_KIND_WEEKLY_CAP_MINUTES: ReasonKind
REASON_KIND_MONTHLY_CAP: ReasonKind
REASON_KIND_MONTHLY_CAP_MINUTES: ReasonKind

class TimeWindow(_message.Message):
    __slots__ = ("start_time", "end_time")
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    def __init__(self, start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class DayWindow(_message.Message):
    __slots__ = ("start_minute", "end_minute")
    START_MINUTE_FIELD_NUMBER: _ClassVar[int]
    END_MINUTE_FIELD_NUMBER: _ClassVar[int]
    start_minute: int
    end_minute: int
    def __init__(self, start_minute: _Optional[int] = ..., end_minute: _Optional[int] = ...) -> None: ...

class WeeklyHours(_message.Message):
    __slots__ = ("iso_weekday", "windows")
    ISO_WEEKDAY_FIELD_NUMBER: _ClassVar[int]
    WINDOWS_FIELD_NUMBER: _ClassVar[int]
    iso_weekday: int
    windows: _containers.RepeatedCompositeFieldContainer[DayWindow]
    def __init__(self, iso_weekday: _Optional[int] = ..., windows: _Optional[_Iterable[_Union[DayWindow, _Mapping]]] = ...) -> None: ...

class DateOverride(_message.Message):
    __slots__ = ("date", "windows")
    DATE_FIELD_NUMBER: _ClassVar[int]
    WINDOWS_FIELD_NUMBER: _ClassVar[int]
    date: str
    windows: _containers.RepeatedCompositeFieldContainer[DayWindow]
    def __init__(self, date: _Optional[str] = ..., windows: _Optional[_Iterable[_Union[DayWindow, _Mapping]]] = ...) -> None: ...

class WorkingHours(_message.Message):
    __slots__ = ("weekly", "overrides")
    WEEKLY_FIELD_NUMBER: _ClassVar[int]
    OVERRIDES_FIELD_NUMBER: _ClassVar[int]
    weekly: _containers.RepeatedCompositeFieldContainer[WeeklyHours]
    overrides: _containers.RepeatedCompositeFieldContainer[DateOverride]
    def __init__(self, weekly: _Optional[_Iterable[_Union[WeeklyHours, _Mapping]]] = ..., overrides: _Optional[_Iterable[_Union[DateOverride, _Mapping]]] = ...) -> None: ...

class BookingRules(_message.Message):
    __slots__ = ("slot_minutes", "step_minutes", "buffer_before_minutes", "buffer_after_minutes", "minimum_notice_minutes", "horizon_days", "daily_cap", "daily_cap_minutes", "weekly_cap", "weekly_cap_minutes", "monthly_cap", "monthly_cap_minutes")
    SLOT_MINUTES_FIELD_NUMBER: _ClassVar[int]
    STEP_MINUTES_FIELD_NUMBER: _ClassVar[int]
    BUFFER_BEFORE_MINUTES_FIELD_NUMBER: _ClassVar[int]
    BUFFER_AFTER_MINUTES_FIELD_NUMBER: _ClassVar[int]
    MINIMUM_NOTICE_MINUTES_FIELD_NUMBER: _ClassVar[int]
    HORIZON_DAYS_FIELD_NUMBER: _ClassVar[int]
    DAILY_CAP_FIELD_NUMBER: _ClassVar[int]
    DAILY_CAP_MINUTES_FIELD_NUMBER: _ClassVar[int]
    WEEKLY_CAP_FIELD_NUMBER: _ClassVar[int]
    WEEKLY_CAP_MINUTES_FIELD_NUMBER: _ClassVar[int]
    MONTHLY_CAP_FIELD_NUMBER: _ClassVar[int]
    MONTHLY_CAP_MINUTES_FIELD_NUMBER: _ClassVar[int]
    slot_minutes: int
    step_minutes: int
    buffer_before_minutes: int
    buffer_after_minutes: int
    minimum_notice_minutes: int
    horizon_days: int
    daily_cap: int
    daily_cap_minutes: int
    weekly_cap: int
    weekly_cap_minutes: int
    monthly_cap: int
    monthly_cap_minutes: int
    def __init__(self, slot_minutes: _Optional[int] = ..., step_minutes: _Optional[int] = ..., buffer_before_minutes: _Optional[int] = ..., buffer_after_minutes: _Optional[int] = ..., minimum_notice_minutes: _Optional[int] = ..., horizon_days: _Optional[int] = ..., daily_cap: _Optional[int] = ..., daily_cap_minutes: _Optional[int] = ..., weekly_cap: _Optional[int] = ..., weekly_cap_minutes: _Optional[int] = ..., monthly_cap: _Optional[int] = ..., monthly_cap_minutes: _Optional[int] = ...) -> None: ...

class GetAvailabilitySettingsRequest(_message.Message):
    __slots__ = ("sub_account_id", "user_id")
    SUB_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    sub_account_id: str
    user_id: str
    def __init__(self, sub_account_id: _Optional[str] = ..., user_id: _Optional[str] = ...) -> None: ...

class GetAvailabilitySettingsResponse(_message.Message):
    __slots__ = ("time_zone", "working_hours", "booking_rules")
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    WORKING_HOURS_FIELD_NUMBER: _ClassVar[int]
    BOOKING_RULES_FIELD_NUMBER: _ClassVar[int]
    time_zone: str
    working_hours: WorkingHours
    booking_rules: BookingRules
    def __init__(self, time_zone: _Optional[str] = ..., working_hours: _Optional[_Union[WorkingHours, _Mapping]] = ..., booking_rules: _Optional[_Union[BookingRules, _Mapping]] = ...) -> None: ...

class SetWorkingHoursRequest(_message.Message):
    __slots__ = ("sub_account_id", "user_id", "working_hours", "time_zone", "request_id")
    SUB_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    WORKING_HOURS_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    sub_account_id: str
    user_id: str
    working_hours: WorkingHours
    time_zone: str
    request_id: str
    def __init__(self, sub_account_id: _Optional[str] = ..., user_id: _Optional[str] = ..., working_hours: _Optional[_Union[WorkingHours, _Mapping]] = ..., time_zone: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class SetWorkingHoursResponse(_message.Message):
    __slots__ = ("position",)
    POSITION_FIELD_NUMBER: _ClassVar[int]
    position: int
    def __init__(self, position: _Optional[int] = ...) -> None: ...

class SetTimeZoneRequest(_message.Message):
    __slots__ = ("sub_account_id", "user_id", "time_zone", "request_id")
    SUB_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    sub_account_id: str
    user_id: str
    time_zone: str
    request_id: str
    def __init__(self, sub_account_id: _Optional[str] = ..., user_id: _Optional[str] = ..., time_zone: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class SetTimeZoneResponse(_message.Message):
    __slots__ = ("position",)
    POSITION_FIELD_NUMBER: _ClassVar[int]
    position: int
    def __init__(self, position: _Optional[int] = ...) -> None: ...

class SetBookingRulesRequest(_message.Message):
    __slots__ = ("sub_account_id", "user_id", "booking_rules", "request_id")
    SUB_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    BOOKING_RULES_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    sub_account_id: str
    user_id: str
    booking_rules: BookingRules
    request_id: str
    def __init__(self, sub_account_id: _Optional[str] = ..., user_id: _Optional[str] = ..., booking_rules: _Optional[_Union[BookingRules, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class SetBookingRulesResponse(_message.Message):
    __slots__ = ("position",)
    POSITION_FIELD_NUMBER: _ClassVar[int]
    position: int
    def __init__(self, position: _Optional[int] = ...) -> None: ...

class GetStaleCalendarPolicyRequest(_message.Message):
    __slots__ = ("sub_account_id",)
    SUB_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    sub_account_id: str
    def __init__(self, sub_account_id: _Optional[str] = ...) -> None: ...

class GetStaleCalendarPolicyResponse(_message.Message):
    __slots__ = ("stale_calendars_block",)
    STALE_CALENDARS_BLOCK_FIELD_NUMBER: _ClassVar[int]
    stale_calendars_block: bool
    def __init__(self, stale_calendars_block: _Optional[bool] = ...) -> None: ...

class SetStaleCalendarPolicyRequest(_message.Message):
    __slots__ = ("sub_account_id", "stale_calendars_block", "request_id")
    SUB_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    STALE_CALENDARS_BLOCK_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    sub_account_id: str
    stale_calendars_block: bool
    request_id: str
    def __init__(self, sub_account_id: _Optional[str] = ..., stale_calendars_block: _Optional[bool] = ..., request_id: _Optional[str] = ...) -> None: ...

class SetStaleCalendarPolicyResponse(_message.Message):
    __slots__ = ("position",)
    POSITION_FIELD_NUMBER: _ClassVar[int]
    position: int
    def __init__(self, position: _Optional[int] = ...) -> None: ...

class CalendarFreshness(_message.Message):
    __slots__ = ("connection_id", "calendar_id", "role", "last_synced_time", "freshness", "still_blocks")
    CONNECTION_ID_FIELD_NUMBER: _ClassVar[int]
    CALENDAR_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    LAST_SYNCED_TIME_FIELD_NUMBER: _ClassVar[int]
    FRESHNESS_FIELD_NUMBER: _ClassVar[int]
    STILL_BLOCKS_FIELD_NUMBER: _ClassVar[int]
    connection_id: str
    calendar_id: str
    role: str
    last_synced_time: _timestamp_pb2.Timestamp
    freshness: Freshness
    still_blocks: bool
    def __init__(self, connection_id: _Optional[str] = ..., calendar_id: _Optional[str] = ..., role: _Optional[str] = ..., last_synced_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., freshness: _Optional[_Union[Freshness, str]] = ..., still_blocks: _Optional[bool] = ...) -> None: ...

class AsOf(_message.Message):
    __slots__ = ("position", "calendars", "degraded", "degraded_reason")
    POSITION_FIELD_NUMBER: _ClassVar[int]
    CALENDARS_FIELD_NUMBER: _ClassVar[int]
    DEGRADED_FIELD_NUMBER: _ClassVar[int]
    DEGRADED_REASON_FIELD_NUMBER: _ClassVar[int]
    position: int
    calendars: _containers.RepeatedCompositeFieldContainer[CalendarFreshness]
    degraded: bool
    degraded_reason: str
    def __init__(self, position: _Optional[int] = ..., calendars: _Optional[_Iterable[_Union[CalendarFreshness, _Mapping]]] = ..., degraded: _Optional[bool] = ..., degraded_reason: _Optional[str] = ...) -> None: ...

class Slot(_message.Message):
    __slots__ = ("start_time", "end_time")
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    def __init__(self, start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListFreeSlotsRequest(_message.Message):
    __slots__ = ("sub_account_id", "user_id", "window", "min_position")
    SUB_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    WINDOW_FIELD_NUMBER: _ClassVar[int]
    MIN_POSITION_FIELD_NUMBER: _ClassVar[int]
    sub_account_id: str
    user_id: str
    window: TimeWindow
    min_position: int
    def __init__(self, sub_account_id: _Optional[str] = ..., user_id: _Optional[str] = ..., window: _Optional[_Union[TimeWindow, _Mapping]] = ..., min_position: _Optional[int] = ...) -> None: ...

class ListFreeSlotsResponse(_message.Message):
    __slots__ = ("slots", "time_zone", "as_of")
    SLOTS_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    slots: _containers.RepeatedCompositeFieldContainer[Slot]
    time_zone: str
    as_of: AsOf
    def __init__(self, slots: _Optional[_Iterable[_Union[Slot, _Mapping]]] = ..., time_zone: _Optional[str] = ..., as_of: _Optional[_Union[AsOf, _Mapping]] = ...) -> None: ...

class QueryTeamAvailabilityRequest(_message.Message):
    __slots__ = ("sub_account_id", "user_ids", "window", "slot_minutes", "step_minutes", "mode", "min_position")
    SUB_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_IDS_FIELD_NUMBER: _ClassVar[int]
    WINDOW_FIELD_NUMBER: _ClassVar[int]
    SLOT_MINUTES_FIELD_NUMBER: _ClassVar[int]
    STEP_MINUTES_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    MIN_POSITION_FIELD_NUMBER: _ClassVar[int]
    sub_account_id: str
    user_ids: _containers.RepeatedScalarFieldContainer[str]
    window: TimeWindow
    slot_minutes: int
    step_minutes: int
    mode: TeamMode
    min_position: int
    def __init__(self, sub_account_id: _Optional[str] = ..., user_ids: _Optional[_Iterable[str]] = ..., window: _Optional[_Union[TimeWindow, _Mapping]] = ..., slot_minutes: _Optional[int] = ..., step_minutes: _Optional[int] = ..., mode: _Optional[_Union[TeamMode, str]] = ..., min_position: _Optional[int] = ...) -> None: ...

class TeamSlot(_message.Message):
    __slots__ = ("start_time", "end_time", "free_user_ids")
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    FREE_USER_IDS_FIELD_NUMBER: _ClassVar[int]
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    free_user_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., free_user_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class UserBusy(_message.Message):
    __slots__ = ("user_id", "busy", "as_of")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    BUSY_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    busy: _containers.RepeatedCompositeFieldContainer[Slot]
    as_of: AsOf
    def __init__(self, user_id: _Optional[str] = ..., busy: _Optional[_Iterable[_Union[Slot, _Mapping]]] = ..., as_of: _Optional[_Union[AsOf, _Mapping]] = ...) -> None: ...

class QueryTeamAvailabilityResponse(_message.Message):
    __slots__ = ("slots", "users")
    SLOTS_FIELD_NUMBER: _ClassVar[int]
    USERS_FIELD_NUMBER: _ClassVar[int]
    slots: _containers.RepeatedCompositeFieldContainer[TeamSlot]
    users: _containers.RepeatedCompositeFieldContainer[UserBusy]
    def __init__(self, slots: _Optional[_Iterable[_Union[TeamSlot, _Mapping]]] = ..., users: _Optional[_Iterable[_Union[UserBusy, _Mapping]]] = ...) -> None: ...

class Source(_message.Message):
    __slots__ = ("kind", "connection_id", "calendar_id", "href", "uid", "recurrence_id", "etag", "fetched_time", "title", "location", "start_time", "end_time", "rule")
    KIND_FIELD_NUMBER: _ClassVar[int]
    CONNECTION_ID_FIELD_NUMBER: _ClassVar[int]
    CALENDAR_ID_FIELD_NUMBER: _ClassVar[int]
    HREF_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    RECURRENCE_ID_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    FETCHED_TIME_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    RULE_FIELD_NUMBER: _ClassVar[int]
    kind: SourceKind
    connection_id: str
    calendar_id: str
    href: str
    uid: str
    recurrence_id: str
    etag: str
    fetched_time: _timestamp_pb2.Timestamp
    title: str
    location: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    rule: str
    def __init__(self, kind: _Optional[_Union[SourceKind, str]] = ..., connection_id: _Optional[str] = ..., calendar_id: _Optional[str] = ..., href: _Optional[str] = ..., uid: _Optional[str] = ..., recurrence_id: _Optional[str] = ..., etag: _Optional[str] = ..., fetched_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., title: _Optional[str] = ..., location: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., rule: _Optional[str] = ...) -> None: ...

class Reason(_message.Message):
    __slots__ = ("kind", "description", "source")
    KIND_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    kind: ReasonKind
    description: str
    source: Source
    def __init__(self, kind: _Optional[_Union[ReasonKind, str]] = ..., description: _Optional[str] = ..., source: _Optional[_Union[Source, _Mapping]] = ...) -> None: ...

class ExplainTimeRequest(_message.Message):
    __slots__ = ("sub_account_id", "user_id", "start_time", "end_time", "viewer_user_id", "min_position")
    SUB_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    VIEWER_USER_ID_FIELD_NUMBER: _ClassVar[int]
    MIN_POSITION_FIELD_NUMBER: _ClassVar[int]
    sub_account_id: str
    user_id: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    viewer_user_id: str
    min_position: int
    def __init__(self, sub_account_id: _Optional[str] = ..., user_id: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., viewer_user_id: _Optional[str] = ..., min_position: _Optional[int] = ...) -> None: ...

class ExplainTimeResponse(_message.Message):
    __slots__ = ("free", "reasons", "not_blocking", "time_zone", "as_of")
    FREE_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    NOT_BLOCKING_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    free: bool
    reasons: _containers.RepeatedCompositeFieldContainer[Reason]
    not_blocking: _containers.RepeatedCompositeFieldContainer[Source]
    time_zone: str
    as_of: AsOf
    def __init__(self, free: _Optional[bool] = ..., reasons: _Optional[_Iterable[_Union[Reason, _Mapping]]] = ..., not_blocking: _Optional[_Iterable[_Union[Source, _Mapping]]] = ..., time_zone: _Optional[str] = ..., as_of: _Optional[_Union[AsOf, _Mapping]] = ...) -> None: ...

class GetAvailabilityAsOfRequest(_message.Message):
    __slots__ = ("sub_account_id", "user_id", "window", "as_of_time", "viewer_user_id")
    SUB_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    WINDOW_FIELD_NUMBER: _ClassVar[int]
    AS_OF_TIME_FIELD_NUMBER: _ClassVar[int]
    VIEWER_USER_ID_FIELD_NUMBER: _ClassVar[int]
    sub_account_id: str
    user_id: str
    window: TimeWindow
    as_of_time: _timestamp_pb2.Timestamp
    viewer_user_id: str
    def __init__(self, sub_account_id: _Optional[str] = ..., user_id: _Optional[str] = ..., window: _Optional[_Union[TimeWindow, _Mapping]] = ..., as_of_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., viewer_user_id: _Optional[str] = ...) -> None: ...

class GetAvailabilityAsOfResponse(_message.Message):
    __slots__ = ("slots", "time_zone", "as_of", "busy")
    SLOTS_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    BUSY_FIELD_NUMBER: _ClassVar[int]
    slots: _containers.RepeatedCompositeFieldContainer[Slot]
    time_zone: str
    as_of: AsOf
    busy: _containers.RepeatedCompositeFieldContainer[Source]
    def __init__(self, slots: _Optional[_Iterable[_Union[Slot, _Mapping]]] = ..., time_zone: _Optional[str] = ..., as_of: _Optional[_Union[AsOf, _Mapping]] = ..., busy: _Optional[_Iterable[_Union[Source, _Mapping]]] = ...) -> None: ...

class ListBusyTimesRequest(_message.Message):
    __slots__ = ("sub_account_id", "user_ids", "window", "include_not_blocking", "viewer_user_id", "min_position")
    SUB_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_IDS_FIELD_NUMBER: _ClassVar[int]
    WINDOW_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_NOT_BLOCKING_FIELD_NUMBER: _ClassVar[int]
    VIEWER_USER_ID_FIELD_NUMBER: _ClassVar[int]
    MIN_POSITION_FIELD_NUMBER: _ClassVar[int]
    sub_account_id: str
    user_ids: _containers.RepeatedScalarFieldContainer[str]
    window: TimeWindow
    include_not_blocking: bool
    viewer_user_id: str
    min_position: int
    def __init__(self, sub_account_id: _Optional[str] = ..., user_ids: _Optional[_Iterable[str]] = ..., window: _Optional[_Union[TimeWindow, _Mapping]] = ..., include_not_blocking: _Optional[bool] = ..., viewer_user_id: _Optional[str] = ..., min_position: _Optional[int] = ...) -> None: ...

class BusyTime(_message.Message):
    __slots__ = ("start_time", "end_time", "blocks", "source")
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    BLOCKS_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    blocks: bool
    source: Source
    def __init__(self, start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., blocks: _Optional[bool] = ..., source: _Optional[_Union[Source, _Mapping]] = ...) -> None: ...

class UserBusyTimes(_message.Message):
    __slots__ = ("user_id", "time_zone", "busy_times", "as_of")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    BUSY_TIMES_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    time_zone: str
    busy_times: _containers.RepeatedCompositeFieldContainer[BusyTime]
    as_of: AsOf
    def __init__(self, user_id: _Optional[str] = ..., time_zone: _Optional[str] = ..., busy_times: _Optional[_Iterable[_Union[BusyTime, _Mapping]]] = ..., as_of: _Optional[_Union[AsOf, _Mapping]] = ...) -> None: ...

class ListBusyTimesResponse(_message.Message):
    __slots__ = ("users",)
    USERS_FIELD_NUMBER: _ClassVar[int]
    users: _containers.RepeatedCompositeFieldContainer[UserBusyTimes]
    def __init__(self, users: _Optional[_Iterable[_Union[UserBusyTimes, _Mapping]]] = ...) -> None: ...
