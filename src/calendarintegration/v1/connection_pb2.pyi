import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ConnectionKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONNECTION_KIND_UNSPECIFIED: _ClassVar[ConnectionKind]
    CONNECTION_KIND_ICLOUD: _ClassVar[ConnectionKind]
    CONNECTION_KIND_FEED: _ClassVar[ConnectionKind]

class CalendarKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CALENDAR_KIND_UNSPECIFIED: _ClassVar[CalendarKind]
    CALENDAR_KIND_EVENTS: _ClassVar[CalendarKind]
    CALENDAR_KIND_SUBSCRIPTION: _ClassVar[CalendarKind]
    CALENDAR_KIND_FEED: _ClassVar[CalendarKind]

class ConnectionStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONNECTION_STATUS_UNSPECIFIED: _ClassVar[ConnectionStatus]
    CONNECTION_STATUS_ACTIVE: _ClassVar[ConnectionStatus]
    CONNECTION_STATUS_RECONNECT_REQUIRED: _ClassVar[ConnectionStatus]
    CONNECTION_STATUS_DISCONNECTED: _ClassVar[ConnectionStatus]
CONNECTION_KIND_UNSPECIFIED: ConnectionKind
CONNECTION_KIND_ICLOUD: ConnectionKind
CONNECTION_KIND_FEED: ConnectionKind
CALENDAR_KIND_UNSPECIFIED: CalendarKind
CALENDAR_KIND_EVENTS: CalendarKind
CALENDAR_KIND_SUBSCRIPTION: CalendarKind
CALENDAR_KIND_FEED: CalendarKind
CONNECTION_STATUS_UNSPECIFIED: ConnectionStatus
CONNECTION_STATUS_ACTIVE: ConnectionStatus
CONNECTION_STATUS_RECONNECT_REQUIRED: ConnectionStatus
CONNECTION_STATUS_DISCONNECTED: ConnectionStatus

class Connection(_message.Message):
    __slots__ = ("connection_id", "sub_account_id", "user_id", "apple_id", "account_id", "status", "calendar_count", "connect_time", "update_time", "version", "kind", "source")
    CONNECTION_ID_FIELD_NUMBER: _ClassVar[int]
    SUB_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    APPLE_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CALENDAR_COUNT_FIELD_NUMBER: _ClassVar[int]
    CONNECT_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    connection_id: str
    sub_account_id: str
    user_id: str
    apple_id: str
    account_id: str
    status: ConnectionStatus
    calendar_count: int
    connect_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    version: int
    kind: ConnectionKind
    source: str
    def __init__(self, connection_id: _Optional[str] = ..., sub_account_id: _Optional[str] = ..., user_id: _Optional[str] = ..., apple_id: _Optional[str] = ..., account_id: _Optional[str] = ..., status: _Optional[_Union[ConnectionStatus, str]] = ..., calendar_count: _Optional[int] = ..., connect_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., version: _Optional[int] = ..., kind: _Optional[_Union[ConnectionKind, str]] = ..., source: _Optional[str] = ...) -> None: ...

class Calendar(_message.Message):
    __slots__ = ("connection_id", "calendar_id", "display_name", "color", "writable", "href", "kind", "source")
    CONNECTION_ID_FIELD_NUMBER: _ClassVar[int]
    CALENDAR_ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    COLOR_FIELD_NUMBER: _ClassVar[int]
    WRITABLE_FIELD_NUMBER: _ClassVar[int]
    HREF_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    connection_id: str
    calendar_id: str
    display_name: str
    color: str
    writable: bool
    href: str
    kind: CalendarKind
    source: str
    def __init__(self, connection_id: _Optional[str] = ..., calendar_id: _Optional[str] = ..., display_name: _Optional[str] = ..., color: _Optional[str] = ..., writable: _Optional[bool] = ..., href: _Optional[str] = ..., kind: _Optional[_Union[CalendarKind, str]] = ..., source: _Optional[str] = ...) -> None: ...

class ConnectAccountRequest(_message.Message):
    __slots__ = ("sub_account_id", "user_id", "apple_id", "app_password", "request_id")
    SUB_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    APPLE_ID_FIELD_NUMBER: _ClassVar[int]
    APP_PASSWORD_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    sub_account_id: str
    user_id: str
    apple_id: str
    app_password: str
    request_id: str
    def __init__(self, sub_account_id: _Optional[str] = ..., user_id: _Optional[str] = ..., apple_id: _Optional[str] = ..., app_password: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class ConnectAccountResponse(_message.Message):
    __slots__ = ("connection", "calendars", "position")
    CONNECTION_FIELD_NUMBER: _ClassVar[int]
    CALENDARS_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    connection: Connection
    calendars: _containers.RepeatedCompositeFieldContainer[Calendar]
    position: int
    def __init__(self, connection: _Optional[_Union[Connection, _Mapping]] = ..., calendars: _Optional[_Iterable[_Union[Calendar, _Mapping]]] = ..., position: _Optional[int] = ...) -> None: ...

class GetConnectionRequest(_message.Message):
    __slots__ = ("sub_account_id", "connection_id", "min_position")
    SUB_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    CONNECTION_ID_FIELD_NUMBER: _ClassVar[int]
    MIN_POSITION_FIELD_NUMBER: _ClassVar[int]
    sub_account_id: str
    connection_id: str
    min_position: int
    def __init__(self, sub_account_id: _Optional[str] = ..., connection_id: _Optional[str] = ..., min_position: _Optional[int] = ...) -> None: ...

class GetConnectionResponse(_message.Message):
    __slots__ = ("connection",)
    CONNECTION_FIELD_NUMBER: _ClassVar[int]
    connection: Connection
    def __init__(self, connection: _Optional[_Union[Connection, _Mapping]] = ...) -> None: ...

class ListConnectionsRequest(_message.Message):
    __slots__ = ("sub_account_id", "user_id", "include_disconnected", "page_size", "page_token", "min_position")
    SUB_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_DISCONNECTED_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    MIN_POSITION_FIELD_NUMBER: _ClassVar[int]
    sub_account_id: str
    user_id: str
    include_disconnected: bool
    page_size: int
    page_token: str
    min_position: int
    def __init__(self, sub_account_id: _Optional[str] = ..., user_id: _Optional[str] = ..., include_disconnected: _Optional[bool] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., min_position: _Optional[int] = ...) -> None: ...

class ListConnectionsResponse(_message.Message):
    __slots__ = ("connections", "next_page_token")
    CONNECTIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    connections: _containers.RepeatedCompositeFieldContainer[Connection]
    next_page_token: str
    def __init__(self, connections: _Optional[_Iterable[_Union[Connection, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListCalendarsRequest(_message.Message):
    __slots__ = ("sub_account_id", "connection_id", "page_size", "page_token", "min_position")
    SUB_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    CONNECTION_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    MIN_POSITION_FIELD_NUMBER: _ClassVar[int]
    sub_account_id: str
    connection_id: str
    page_size: int
    page_token: str
    min_position: int
    def __init__(self, sub_account_id: _Optional[str] = ..., connection_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., min_position: _Optional[int] = ...) -> None: ...

class ListCalendarsResponse(_message.Message):
    __slots__ = ("calendars", "next_page_token")
    CALENDARS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    calendars: _containers.RepeatedCompositeFieldContainer[Calendar]
    next_page_token: str
    def __init__(self, calendars: _Optional[_Iterable[_Union[Calendar, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class RefreshCalendarsRequest(_message.Message):
    __slots__ = ("sub_account_id", "connection_id", "request_id")
    SUB_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    CONNECTION_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    sub_account_id: str
    connection_id: str
    request_id: str
    def __init__(self, sub_account_id: _Optional[str] = ..., connection_id: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class RefreshCalendarsResponse(_message.Message):
    __slots__ = ("connection", "calendars", "position")
    CONNECTION_FIELD_NUMBER: _ClassVar[int]
    CALENDARS_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    connection: Connection
    calendars: _containers.RepeatedCompositeFieldContainer[Calendar]
    position: int
    def __init__(self, connection: _Optional[_Union[Connection, _Mapping]] = ..., calendars: _Optional[_Iterable[_Union[Calendar, _Mapping]]] = ..., position: _Optional[int] = ...) -> None: ...

class ReplaceCredentialsRequest(_message.Message):
    __slots__ = ("sub_account_id", "connection_id", "app_password", "request_id")
    SUB_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    CONNECTION_ID_FIELD_NUMBER: _ClassVar[int]
    APP_PASSWORD_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    sub_account_id: str
    connection_id: str
    app_password: str
    request_id: str
    def __init__(self, sub_account_id: _Optional[str] = ..., connection_id: _Optional[str] = ..., app_password: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class ReplaceCredentialsResponse(_message.Message):
    __slots__ = ("connection", "position")
    CONNECTION_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    connection: Connection
    position: int
    def __init__(self, connection: _Optional[_Union[Connection, _Mapping]] = ..., position: _Optional[int] = ...) -> None: ...

class DisconnectRequest(_message.Message):
    __slots__ = ("sub_account_id", "connection_id", "request_id")
    SUB_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    CONNECTION_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    sub_account_id: str
    connection_id: str
    request_id: str
    def __init__(self, sub_account_id: _Optional[str] = ..., connection_id: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class DisconnectResponse(_message.Message):
    __slots__ = ("connection", "position")
    CONNECTION_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    connection: Connection
    position: int
    def __init__(self, connection: _Optional[_Union[Connection, _Mapping]] = ..., position: _Optional[int] = ...) -> None: ...

class SubscribeCalendarRequest(_message.Message):
    __slots__ = ("sub_account_id", "user_id", "url", "icloud_connection_id", "icloud_calendar_id", "display_name", "request_id")
    SUB_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    ICLOUD_CONNECTION_ID_FIELD_NUMBER: _ClassVar[int]
    ICLOUD_CALENDAR_ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    sub_account_id: str
    user_id: str
    url: str
    icloud_connection_id: str
    icloud_calendar_id: str
    display_name: str
    request_id: str
    def __init__(self, sub_account_id: _Optional[str] = ..., user_id: _Optional[str] = ..., url: _Optional[str] = ..., icloud_connection_id: _Optional[str] = ..., icloud_calendar_id: _Optional[str] = ..., display_name: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class SubscribeCalendarResponse(_message.Message):
    __slots__ = ("connection", "calendar", "position")
    CONNECTION_FIELD_NUMBER: _ClassVar[int]
    CALENDAR_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    connection: Connection
    calendar: Calendar
    position: int
    def __init__(self, connection: _Optional[_Union[Connection, _Mapping]] = ..., calendar: _Optional[_Union[Calendar, _Mapping]] = ..., position: _Optional[int] = ...) -> None: ...
