import datetime

from calendarintegration.v1 import configuration_pb2 as _configuration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ICloudChangePolicy(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    I_CLOUD_CHANGE_POLICY_UNSPECIFIED: _ClassVar[ICloudChangePolicy]
    I_CLOUD_CHANGE_POLICY_FOLLOW_ICLOUD: _ClassVar[ICloudChangePolicy]
    I_CLOUD_CHANGE_POLICY_RESTORE: _ClassVar[ICloudChangePolicy]

class ConflictKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONFLICT_KIND_UNSPECIFIED: _ClassVar[ConflictKind]
    CONFLICT_KIND_IMPORTED_EVENT: _ClassVar[ConflictKind]
    CONFLICT_KIND_APPOINTMENT: _ClassVar[ConflictKind]

class AppointmentStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    APPOINTMENT_STATUS_UNSPECIFIED: _ClassVar[AppointmentStatus]
    APPOINTMENT_STATUS_BOOKED: _ClassVar[AppointmentStatus]
    APPOINTMENT_STATUS_CANCELLED: _ClassVar[AppointmentStatus]

class PushStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PUSH_STATUS_UNSPECIFIED: _ClassVar[PushStatus]
    PUSH_STATUS_NO_CALENDAR: _ClassVar[PushStatus]
    PUSH_STATUS_PENDING: _ClassVar[PushStatus]
    PUSH_STATUS_WRITTEN: _ClassVar[PushStatus]
    PUSH_STATUS_REMOVED: _ClassVar[PushStatus]
    PUSH_STATUS_RETRYING: _ClassVar[PushStatus]
    PUSH_STATUS_FAILED: _ClassVar[PushStatus]
    PUSH_STATUS_FOLLOWED_ICLOUD: _ClassVar[PushStatus]
    PUSH_STATUS_RESTORED: _ClassVar[PushStatus]
    PUSH_STATUS_CANCELLED_IN_ICLOUD: _ClassVar[PushStatus]

class ICloudChangeKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    I_CLOUD_CHANGE_KIND_UNSPECIFIED: _ClassVar[ICloudChangeKind]
    I_CLOUD_CHANGE_KIND_MOVED: _ClassVar[ICloudChangeKind]
    I_CLOUD_CHANGE_KIND_DELETED: _ClassVar[ICloudChangeKind]
I_CLOUD_CHANGE_POLICY_UNSPECIFIED: ICloudChangePolicy
I_CLOUD_CHANGE_POLICY_FOLLOW_ICLOUD: ICloudChangePolicy
I_CLOUD_CHANGE_POLICY_RESTORE: ICloudChangePolicy
CONFLICT_KIND_UNSPECIFIED: ConflictKind
CONFLICT_KIND_IMPORTED_EVENT: ConflictKind
CONFLICT_KIND_APPOINTMENT: ConflictKind
APPOINTMENT_STATUS_UNSPECIFIED: AppointmentStatus
APPOINTMENT_STATUS_BOOKED: AppointmentStatus
APPOINTMENT_STATUS_CANCELLED: AppointmentStatus
PUSH_STATUS_UNSPECIFIED: PushStatus
PUSH_STATUS_NO_CALENDAR: PushStatus
PUSH_STATUS_PENDING: PushStatus
PUSH_STATUS_WRITTEN: PushStatus
PUSH_STATUS_REMOVED: PushStatus
PUSH_STATUS_RETRYING: PushStatus
PUSH_STATUS_FAILED: PushStatus
PUSH_STATUS_FOLLOWED_ICLOUD: PushStatus
PUSH_STATUS_RESTORED: PushStatus
PUSH_STATUS_CANCELLED_IN_ICLOUD: PushStatus
I_CLOUD_CHANGE_KIND_UNSPECIFIED: ICloudChangeKind
I_CLOUD_CHANGE_KIND_MOVED: ICloudChangeKind
I_CLOUD_CHANGE_KIND_DELETED: ICloudChangeKind

class Attendee(_message.Message):
    __slots__ = ("email", "name")
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    email: str
    name: str
    def __init__(self, email: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class PushState(_message.Message):
    __slots__ = ("status", "written_revision", "href", "etag", "last_error", "attempts", "next_attempt_time")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    WRITTEN_REVISION_FIELD_NUMBER: _ClassVar[int]
    HREF_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_ATTEMPT_TIME_FIELD_NUMBER: _ClassVar[int]
    status: PushStatus
    written_revision: int
    href: str
    etag: str
    last_error: str
    attempts: int
    next_attempt_time: _timestamp_pb2.Timestamp
    def __init__(self, status: _Optional[_Union[PushStatus, str]] = ..., written_revision: _Optional[int] = ..., href: _Optional[str] = ..., etag: _Optional[str] = ..., last_error: _Optional[str] = ..., attempts: _Optional[int] = ..., next_attempt_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ICloudChange(_message.Message):
    __slots__ = ("kind", "start_time", "end_time")
    KIND_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    kind: ICloudChangeKind
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    def __init__(self, kind: _Optional[_Union[ICloudChangeKind, str]] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class AppointmentConflict(_message.Message):
    __slots__ = ("kind", "connection_id", "calendar_id", "href", "uid", "etag", "other_appointment_id", "occurrence_start_time", "occurrence_end_time", "overlap_start_time", "overlap_end_time")
    KIND_FIELD_NUMBER: _ClassVar[int]
    CONNECTION_ID_FIELD_NUMBER: _ClassVar[int]
    CALENDAR_ID_FIELD_NUMBER: _ClassVar[int]
    HREF_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    OTHER_APPOINTMENT_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRENCE_START_TIME_FIELD_NUMBER: _ClassVar[int]
    OCCURRENCE_END_TIME_FIELD_NUMBER: _ClassVar[int]
    OVERLAP_START_TIME_FIELD_NUMBER: _ClassVar[int]
    OVERLAP_END_TIME_FIELD_NUMBER: _ClassVar[int]
    kind: ConflictKind
    connection_id: str
    calendar_id: str
    href: str
    uid: str
    etag: str
    other_appointment_id: str
    occurrence_start_time: _timestamp_pb2.Timestamp
    occurrence_end_time: _timestamp_pb2.Timestamp
    overlap_start_time: _timestamp_pb2.Timestamp
    overlap_end_time: _timestamp_pb2.Timestamp
    def __init__(self, kind: _Optional[_Union[ConflictKind, str]] = ..., connection_id: _Optional[str] = ..., calendar_id: _Optional[str] = ..., href: _Optional[str] = ..., uid: _Optional[str] = ..., etag: _Optional[str] = ..., other_appointment_id: _Optional[str] = ..., occurrence_start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., occurrence_end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., overlap_start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., overlap_end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Appointment(_message.Message):
    __slots__ = ("appointment_id", "sub_account_id", "user_id", "start_time", "end_time", "title", "description", "location", "attendees", "status", "revision", "calendar", "uid", "push", "icloud_change", "overridden", "conflicts")
    APPOINTMENT_ID_FIELD_NUMBER: _ClassVar[int]
    SUB_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    ATTENDEES_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    CALENDAR_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    PUSH_FIELD_NUMBER: _ClassVar[int]
    ICLOUD_CHANGE_FIELD_NUMBER: _ClassVar[int]
    OVERRIDDEN_FIELD_NUMBER: _ClassVar[int]
    CONFLICTS_FIELD_NUMBER: _ClassVar[int]
    appointment_id: str
    sub_account_id: str
    user_id: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    title: str
    description: str
    location: str
    attendees: _containers.RepeatedCompositeFieldContainer[Attendee]
    status: AppointmentStatus
    revision: int
    calendar: _configuration_pb2.CalendarRef
    uid: str
    push: PushState
    icloud_change: ICloudChange
    overridden: _containers.RepeatedScalarFieldContainer[str]
    conflicts: _containers.RepeatedCompositeFieldContainer[AppointmentConflict]
    def __init__(self, appointment_id: _Optional[str] = ..., sub_account_id: _Optional[str] = ..., user_id: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., title: _Optional[str] = ..., description: _Optional[str] = ..., location: _Optional[str] = ..., attendees: _Optional[_Iterable[_Union[Attendee, _Mapping]]] = ..., status: _Optional[_Union[AppointmentStatus, str]] = ..., revision: _Optional[int] = ..., calendar: _Optional[_Union[_configuration_pb2.CalendarRef, _Mapping]] = ..., uid: _Optional[str] = ..., push: _Optional[_Union[PushState, _Mapping]] = ..., icloud_change: _Optional[_Union[ICloudChange, _Mapping]] = ..., overridden: _Optional[_Iterable[str]] = ..., conflicts: _Optional[_Iterable[_Union[AppointmentConflict, _Mapping]]] = ...) -> None: ...

class CrmBlockedSlot(_message.Message):
    __slots__ = ("blocked_slot_id", "sub_account_id", "user_id", "start_time", "end_time", "title")
    BLOCKED_SLOT_ID_FIELD_NUMBER: _ClassVar[int]
    SUB_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    blocked_slot_id: str
    sub_account_id: str
    user_id: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    title: str
    def __init__(self, blocked_slot_id: _Optional[str] = ..., sub_account_id: _Optional[str] = ..., user_id: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., title: _Optional[str] = ...) -> None: ...

class BookAppointmentRequest(_message.Message):
    __slots__ = ("sub_account_id", "user_id", "start_time", "end_time", "title", "description", "location", "attendees", "override", "request_id")
    SUB_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    ATTENDEES_FIELD_NUMBER: _ClassVar[int]
    OVERRIDE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    sub_account_id: str
    user_id: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    title: str
    description: str
    location: str
    attendees: _containers.RepeatedCompositeFieldContainer[Attendee]
    override: bool
    request_id: str
    def __init__(self, sub_account_id: _Optional[str] = ..., user_id: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., title: _Optional[str] = ..., description: _Optional[str] = ..., location: _Optional[str] = ..., attendees: _Optional[_Iterable[_Union[Attendee, _Mapping]]] = ..., override: _Optional[bool] = ..., request_id: _Optional[str] = ...) -> None: ...

class BookAppointmentResponse(_message.Message):
    __slots__ = ("appointment", "position")
    APPOINTMENT_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    appointment: Appointment
    position: int
    def __init__(self, appointment: _Optional[_Union[Appointment, _Mapping]] = ..., position: _Optional[int] = ...) -> None: ...

class RescheduleAppointmentRequest(_message.Message):
    __slots__ = ("sub_account_id", "user_id", "appointment_id", "start_time", "end_time", "override", "request_id")
    SUB_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    APPOINTMENT_ID_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    OVERRIDE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    sub_account_id: str
    user_id: str
    appointment_id: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    override: bool
    request_id: str
    def __init__(self, sub_account_id: _Optional[str] = ..., user_id: _Optional[str] = ..., appointment_id: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., override: _Optional[bool] = ..., request_id: _Optional[str] = ...) -> None: ...

class RescheduleAppointmentResponse(_message.Message):
    __slots__ = ("appointment", "position")
    APPOINTMENT_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    appointment: Appointment
    position: int
    def __init__(self, appointment: _Optional[_Union[Appointment, _Mapping]] = ..., position: _Optional[int] = ...) -> None: ...

class CancelAppointmentRequest(_message.Message):
    __slots__ = ("sub_account_id", "user_id", "appointment_id", "reason", "request_id")
    SUB_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    APPOINTMENT_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    sub_account_id: str
    user_id: str
    appointment_id: str
    reason: str
    request_id: str
    def __init__(self, sub_account_id: _Optional[str] = ..., user_id: _Optional[str] = ..., appointment_id: _Optional[str] = ..., reason: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class CancelAppointmentResponse(_message.Message):
    __slots__ = ("appointment", "position")
    APPOINTMENT_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    appointment: Appointment
    position: int
    def __init__(self, appointment: _Optional[_Union[Appointment, _Mapping]] = ..., position: _Optional[int] = ...) -> None: ...

class GetAppointmentRequest(_message.Message):
    __slots__ = ("sub_account_id", "user_id", "appointment_id")
    SUB_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    APPOINTMENT_ID_FIELD_NUMBER: _ClassVar[int]
    sub_account_id: str
    user_id: str
    appointment_id: str
    def __init__(self, sub_account_id: _Optional[str] = ..., user_id: _Optional[str] = ..., appointment_id: _Optional[str] = ...) -> None: ...

class GetAppointmentResponse(_message.Message):
    __slots__ = ("appointment",)
    APPOINTMENT_FIELD_NUMBER: _ClassVar[int]
    appointment: Appointment
    def __init__(self, appointment: _Optional[_Union[Appointment, _Mapping]] = ...) -> None: ...

class ListAppointmentsRequest(_message.Message):
    __slots__ = ("sub_account_id", "user_id", "start_time", "end_time", "page_size", "page_token")
    SUB_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    sub_account_id: str
    user_id: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    page_size: int
    page_token: str
    def __init__(self, sub_account_id: _Optional[str] = ..., user_id: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListAppointmentsResponse(_message.Message):
    __slots__ = ("appointments", "next_page_token")
    APPOINTMENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    appointments: _containers.RepeatedCompositeFieldContainer[Appointment]
    next_page_token: str
    def __init__(self, appointments: _Optional[_Iterable[_Union[Appointment, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class CreateCrmBlockedSlotRequest(_message.Message):
    __slots__ = ("sub_account_id", "user_id", "start_time", "end_time", "title", "request_id")
    SUB_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    sub_account_id: str
    user_id: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    title: str
    request_id: str
    def __init__(self, sub_account_id: _Optional[str] = ..., user_id: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., title: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class CreateCrmBlockedSlotResponse(_message.Message):
    __slots__ = ("blocked_slot", "position")
    BLOCKED_SLOT_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    blocked_slot: CrmBlockedSlot
    position: int
    def __init__(self, blocked_slot: _Optional[_Union[CrmBlockedSlot, _Mapping]] = ..., position: _Optional[int] = ...) -> None: ...

class DeleteCrmBlockedSlotRequest(_message.Message):
    __slots__ = ("sub_account_id", "user_id", "blocked_slot_id", "request_id")
    SUB_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    BLOCKED_SLOT_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    sub_account_id: str
    user_id: str
    blocked_slot_id: str
    request_id: str
    def __init__(self, sub_account_id: _Optional[str] = ..., user_id: _Optional[str] = ..., blocked_slot_id: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class DeleteCrmBlockedSlotResponse(_message.Message):
    __slots__ = ("position",)
    POSITION_FIELD_NUMBER: _ClassVar[int]
    position: int
    def __init__(self, position: _Optional[int] = ...) -> None: ...

class ListCrmBlockedSlotsRequest(_message.Message):
    __slots__ = ("sub_account_id", "user_id", "start_time", "end_time", "page_size", "page_token")
    SUB_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    sub_account_id: str
    user_id: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    page_size: int
    page_token: str
    def __init__(self, sub_account_id: _Optional[str] = ..., user_id: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListCrmBlockedSlotsResponse(_message.Message):
    __slots__ = ("blocked_slots", "next_page_token")
    BLOCKED_SLOTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    blocked_slots: _containers.RepeatedCompositeFieldContainer[CrmBlockedSlot]
    next_page_token: str
    def __init__(self, blocked_slots: _Optional[_Iterable[_Union[CrmBlockedSlot, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetICloudChangePolicyRequest(_message.Message):
    __slots__ = ("sub_account_id",)
    SUB_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    sub_account_id: str
    def __init__(self, sub_account_id: _Optional[str] = ...) -> None: ...

class GetICloudChangePolicyResponse(_message.Message):
    __slots__ = ("policy",)
    POLICY_FIELD_NUMBER: _ClassVar[int]
    policy: ICloudChangePolicy
    def __init__(self, policy: _Optional[_Union[ICloudChangePolicy, str]] = ...) -> None: ...

class SetICloudChangePolicyRequest(_message.Message):
    __slots__ = ("sub_account_id", "policy", "request_id")
    SUB_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    sub_account_id: str
    policy: ICloudChangePolicy
    request_id: str
    def __init__(self, sub_account_id: _Optional[str] = ..., policy: _Optional[_Union[ICloudChangePolicy, str]] = ..., request_id: _Optional[str] = ...) -> None: ...

class SetICloudChangePolicyResponse(_message.Message):
    __slots__ = ("position",)
    POSITION_FIELD_NUMBER: _ClassVar[int]
    position: int
    def __init__(self, position: _Optional[int] = ...) -> None: ...
