import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CalendarSyncStatus(_message.Message):
    __slots__ = ("calendar_id", "display_name", "last_success_time", "last_attempt_time", "consecutive_failures", "last_error", "syncing", "resources_done", "resources_total", "blocked_slot_count")
    CALENDAR_ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    LAST_SUCCESS_TIME_FIELD_NUMBER: _ClassVar[int]
    LAST_ATTEMPT_TIME_FIELD_NUMBER: _ClassVar[int]
    CONSECUTIVE_FAILURES_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    SYNCING_FIELD_NUMBER: _ClassVar[int]
    RESOURCES_DONE_FIELD_NUMBER: _ClassVar[int]
    RESOURCES_TOTAL_FIELD_NUMBER: _ClassVar[int]
    BLOCKED_SLOT_COUNT_FIELD_NUMBER: _ClassVar[int]
    calendar_id: str
    display_name: str
    last_success_time: _timestamp_pb2.Timestamp
    last_attempt_time: _timestamp_pb2.Timestamp
    consecutive_failures: int
    last_error: str
    syncing: bool
    resources_done: int
    resources_total: int
    blocked_slot_count: int
    def __init__(self, calendar_id: _Optional[str] = ..., display_name: _Optional[str] = ..., last_success_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_attempt_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., consecutive_failures: _Optional[int] = ..., last_error: _Optional[str] = ..., syncing: _Optional[bool] = ..., resources_done: _Optional[int] = ..., resources_total: _Optional[int] = ..., blocked_slot_count: _Optional[int] = ...) -> None: ...

class ConnectionSyncStatus(_message.Message):
    __slots__ = ("connection_id", "reconnect_required", "calendars", "next_sync_time")
    CONNECTION_ID_FIELD_NUMBER: _ClassVar[int]
    RECONNECT_REQUIRED_FIELD_NUMBER: _ClassVar[int]
    CALENDARS_FIELD_NUMBER: _ClassVar[int]
    NEXT_SYNC_TIME_FIELD_NUMBER: _ClassVar[int]
    connection_id: str
    reconnect_required: bool
    calendars: _containers.RepeatedCompositeFieldContainer[CalendarSyncStatus]
    next_sync_time: _timestamp_pb2.Timestamp
    def __init__(self, connection_id: _Optional[str] = ..., reconnect_required: _Optional[bool] = ..., calendars: _Optional[_Iterable[_Union[CalendarSyncStatus, _Mapping]]] = ..., next_sync_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SyncNowRequest(_message.Message):
    __slots__ = ("sub_account_id", "connection_id")
    SUB_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    CONNECTION_ID_FIELD_NUMBER: _ClassVar[int]
    sub_account_id: str
    connection_id: str
    def __init__(self, sub_account_id: _Optional[str] = ..., connection_id: _Optional[str] = ...) -> None: ...

class SyncNowResponse(_message.Message):
    __slots__ = ("status", "position", "calendars_synced", "calendars_failed", "errors")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    CALENDARS_SYNCED_FIELD_NUMBER: _ClassVar[int]
    CALENDARS_FAILED_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    status: ConnectionSyncStatus
    position: int
    calendars_synced: int
    calendars_failed: int
    errors: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, status: _Optional[_Union[ConnectionSyncStatus, _Mapping]] = ..., position: _Optional[int] = ..., calendars_synced: _Optional[int] = ..., calendars_failed: _Optional[int] = ..., errors: _Optional[_Iterable[str]] = ...) -> None: ...

class GetSyncStatusRequest(_message.Message):
    __slots__ = ("sub_account_id", "connection_id")
    SUB_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    CONNECTION_ID_FIELD_NUMBER: _ClassVar[int]
    sub_account_id: str
    connection_id: str
    def __init__(self, sub_account_id: _Optional[str] = ..., connection_id: _Optional[str] = ...) -> None: ...

class GetSyncStatusResponse(_message.Message):
    __slots__ = ("status",)
    STATUS_FIELD_NUMBER: _ClassVar[int]
    status: ConnectionSyncStatus
    def __init__(self, status: _Optional[_Union[ConnectionSyncStatus, _Mapping]] = ...) -> None: ...

class BlockedSlot(_message.Message):
    __slots__ = ("connection_id", "calendar_id", "href", "uid", "etag", "start_time", "end_time", "recurrence_id", "title", "blocks", "rule")
    CONNECTION_ID_FIELD_NUMBER: _ClassVar[int]
    CALENDAR_ID_FIELD_NUMBER: _ClassVar[int]
    HREF_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    RECURRENCE_ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    BLOCKS_FIELD_NUMBER: _ClassVar[int]
    RULE_FIELD_NUMBER: _ClassVar[int]
    connection_id: str
    calendar_id: str
    href: str
    uid: str
    etag: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    recurrence_id: str
    title: str
    blocks: bool
    rule: str
    def __init__(self, connection_id: _Optional[str] = ..., calendar_id: _Optional[str] = ..., href: _Optional[str] = ..., uid: _Optional[str] = ..., etag: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., recurrence_id: _Optional[str] = ..., title: _Optional[str] = ..., blocks: _Optional[bool] = ..., rule: _Optional[str] = ...) -> None: ...

class ListBlockedSlotsRequest(_message.Message):
    __slots__ = ("sub_account_id", "user_id", "calendar_id", "page_size", "page_token", "viewer_user_id", "min_position")
    SUB_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    CALENDAR_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    VIEWER_USER_ID_FIELD_NUMBER: _ClassVar[int]
    MIN_POSITION_FIELD_NUMBER: _ClassVar[int]
    sub_account_id: str
    user_id: str
    calendar_id: str
    page_size: int
    page_token: str
    viewer_user_id: str
    min_position: int
    def __init__(self, sub_account_id: _Optional[str] = ..., user_id: _Optional[str] = ..., calendar_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., viewer_user_id: _Optional[str] = ..., min_position: _Optional[int] = ...) -> None: ...

class ListBlockedSlotsResponse(_message.Message):
    __slots__ = ("blocked_slots", "next_page_token")
    BLOCKED_SLOTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    blocked_slots: _containers.RepeatedCompositeFieldContainer[BlockedSlot]
    next_page_token: str
    def __init__(self, blocked_slots: _Optional[_Iterable[_Union[BlockedSlot, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class SkippedResource(_message.Message):
    __slots__ = ("connection_id", "calendar_id", "href", "etag", "reason")
    CONNECTION_ID_FIELD_NUMBER: _ClassVar[int]
    CALENDAR_ID_FIELD_NUMBER: _ClassVar[int]
    HREF_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    connection_id: str
    calendar_id: str
    href: str
    etag: str
    reason: str
    def __init__(self, connection_id: _Optional[str] = ..., calendar_id: _Optional[str] = ..., href: _Optional[str] = ..., etag: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ListSkippedResourcesRequest(_message.Message):
    __slots__ = ("sub_account_id", "user_id", "page_size", "page_token")
    SUB_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    sub_account_id: str
    user_id: str
    page_size: int
    page_token: str
    def __init__(self, sub_account_id: _Optional[str] = ..., user_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListSkippedResourcesResponse(_message.Message):
    __slots__ = ("skipped_resources", "next_page_token")
    SKIPPED_RESOURCES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    skipped_resources: _containers.RepeatedCompositeFieldContainer[SkippedResource]
    next_page_token: str
    def __init__(self, skipped_resources: _Optional[_Iterable[_Union[SkippedResource, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...
