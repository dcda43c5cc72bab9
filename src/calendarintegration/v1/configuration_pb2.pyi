from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AllDayPolicy(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ALL_DAY_POLICY_UNSPECIFIED: _ClassVar[AllDayPolicy]
    ALL_DAY_POLICY_FOLLOW_TRANSP: _ClassVar[AllDayPolicy]
    ALL_DAY_POLICY_ALWAYS_BUSY: _ClassVar[AllDayPolicy]
    ALL_DAY_POLICY_ALWAYS_FREE: _ClassVar[AllDayPolicy]
ALL_DAY_POLICY_UNSPECIFIED: AllDayPolicy
ALL_DAY_POLICY_FOLLOW_TRANSP: AllDayPolicy
ALL_DAY_POLICY_ALWAYS_BUSY: AllDayPolicy
ALL_DAY_POLICY_ALWAYS_FREE: AllDayPolicy

class CalendarRef(_message.Message):
    __slots__ = ("connection_id", "calendar_id")
    CONNECTION_ID_FIELD_NUMBER: _ClassVar[int]
    CALENDAR_ID_FIELD_NUMBER: _ClassVar[int]
    connection_id: str
    calendar_id: str
    def __init__(self, connection_id: _Optional[str] = ..., calendar_id: _Optional[str] = ...) -> None: ...

class CalendarConfiguration(_message.Message):
    __slots__ = ("sub_account_id", "user_id", "primary_calendar", "conflict_calendars", "blocking_calendars", "all_day_policy", "time_zone", "version")
    SUB_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    PRIMARY_CALENDAR_FIELD_NUMBER: _ClassVar[int]
    CONFLICT_CALENDARS_FIELD_NUMBER: _ClassVar[int]
    BLOCKING_CALENDARS_FIELD_NUMBER: _ClassVar[int]
    ALL_DAY_POLICY_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    sub_account_id: str
    user_id: str
    primary_calendar: CalendarRef
    conflict_calendars: _containers.RepeatedCompositeFieldContainer[CalendarRef]
    blocking_calendars: _containers.RepeatedCompositeFieldContainer[CalendarRef]
    all_day_policy: AllDayPolicy
    time_zone: str
    version: int
    def __init__(self, sub_account_id: _Optional[str] = ..., user_id: _Optional[str] = ..., primary_calendar: _Optional[_Union[CalendarRef, _Mapping]] = ..., conflict_calendars: _Optional[_Iterable[_Union[CalendarRef, _Mapping]]] = ..., blocking_calendars: _Optional[_Iterable[_Union[CalendarRef, _Mapping]]] = ..., all_day_policy: _Optional[_Union[AllDayPolicy, str]] = ..., time_zone: _Optional[str] = ..., version: _Optional[int] = ...) -> None: ...

class GetCalendarConfigurationRequest(_message.Message):
    __slots__ = ("sub_account_id", "user_id")
    SUB_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    sub_account_id: str
    user_id: str
    def __init__(self, sub_account_id: _Optional[str] = ..., user_id: _Optional[str] = ...) -> None: ...

class GetCalendarConfigurationResponse(_message.Message):
    __slots__ = ("configuration",)
    CONFIGURATION_FIELD_NUMBER: _ClassVar[int]
    configuration: CalendarConfiguration
    def __init__(self, configuration: _Optional[_Union[CalendarConfiguration, _Mapping]] = ...) -> None: ...

class SetPrimaryCalendarRequest(_message.Message):
    __slots__ = ("sub_account_id", "user_id", "calendar", "request_id")
    SUB_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    CALENDAR_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    sub_account_id: str
    user_id: str
    calendar: CalendarRef
    request_id: str
    def __init__(self, sub_account_id: _Optional[str] = ..., user_id: _Optional[str] = ..., calendar: _Optional[_Union[CalendarRef, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class SetPrimaryCalendarResponse(_message.Message):
    __slots__ = ("configuration", "position")
    CONFIGURATION_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    configuration: CalendarConfiguration
    position: int
    def __init__(self, configuration: _Optional[_Union[CalendarConfiguration, _Mapping]] = ..., position: _Optional[int] = ...) -> None: ...

class ClearPrimaryCalendarRequest(_message.Message):
    __slots__ = ("sub_account_id", "user_id", "request_id")
    SUB_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    sub_account_id: str
    user_id: str
    request_id: str
    def __init__(self, sub_account_id: _Optional[str] = ..., user_id: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class ClearPrimaryCalendarResponse(_message.Message):
    __slots__ = ("configuration", "position")
    CONFIGURATION_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    configuration: CalendarConfiguration
    position: int
    def __init__(self, configuration: _Optional[_Union[CalendarConfiguration, _Mapping]] = ..., position: _Optional[int] = ...) -> None: ...

class AddConflictCalendarRequest(_message.Message):
    __slots__ = ("sub_account_id", "user_id", "calendar", "request_id")
    SUB_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    CALENDAR_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    sub_account_id: str
    user_id: str
    calendar: CalendarRef
    request_id: str
    def __init__(self, sub_account_id: _Optional[str] = ..., user_id: _Optional[str] = ..., calendar: _Optional[_Union[CalendarRef, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class AddConflictCalendarResponse(_message.Message):
    __slots__ = ("configuration", "position")
    CONFIGURATION_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    configuration: CalendarConfiguration
    position: int
    def __init__(self, configuration: _Optional[_Union[CalendarConfiguration, _Mapping]] = ..., position: _Optional[int] = ...) -> None: ...

class RemoveConflictCalendarRequest(_message.Message):
    __slots__ = ("sub_account_id", "user_id", "calendar", "request_id")
    SUB_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    CALENDAR_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    sub_account_id: str
    user_id: str
    calendar: CalendarRef
    request_id: str
    def __init__(self, sub_account_id: _Optional[str] = ..., user_id: _Optional[str] = ..., calendar: _Optional[_Union[CalendarRef, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class RemoveConflictCalendarResponse(_message.Message):
    __slots__ = ("configuration", "position")
    CONFIGURATION_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    configuration: CalendarConfiguration
    position: int
    def __init__(self, configuration: _Optional[_Union[CalendarConfiguration, _Mapping]] = ..., position: _Optional[int] = ...) -> None: ...

class UpdateReadingRulesRequest(_message.Message):
    __slots__ = ("sub_account_id", "user_id", "all_day_policy", "time_zone", "request_id")
    SUB_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    ALL_DAY_POLICY_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    sub_account_id: str
    user_id: str
    all_day_policy: AllDayPolicy
    time_zone: str
    request_id: str
    def __init__(self, sub_account_id: _Optional[str] = ..., user_id: _Optional[str] = ..., all_day_policy: _Optional[_Union[AllDayPolicy, str]] = ..., time_zone: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class UpdateReadingRulesResponse(_message.Message):
    __slots__ = ("configuration", "position")
    CONFIGURATION_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    configuration: CalendarConfiguration
    position: int
    def __init__(self, configuration: _Optional[_Union[CalendarConfiguration, _Mapping]] = ..., position: _Optional[int] = ...) -> None: ...
