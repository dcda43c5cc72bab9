import datetime

from calendarintegration.v1 import appointments_pb2 as _appointments_pb2
from calendarintegration.v1 import configuration_pb2 as _configuration_pb2
from calendarintegration.v1 import connection_pb2 as _connection_pb2
from calendarintegration.v1 import sync_pb2 as _sync_pb2
from calendarintegration.v1 import availability_pb2 as _availability_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AggregateType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AGGREGATE_TYPE_UNSPECIFIED: _ClassVar[AggregateType]
    AGGREGATE_TYPE_CONNECTION: _ClassVar[AggregateType]
    AGGREGATE_TYPE_ACCOUNT_LINK: _ClassVar[AggregateType]
    AGGREGATE_TYPE_CALENDAR_CONFIGURATION: _ClassVar[AggregateType]
    AGGREGATE_TYPE_USER_SCHEDULE: _ClassVar[AggregateType]
    AGGREGATE_TYPE_SUB_ACCOUNT_POLICY: _ClassVar[AggregateType]
AGGREGATE_TYPE_UNSPECIFIED: AggregateType
AGGREGATE_TYPE_CONNECTION: AggregateType
AGGREGATE_TYPE_ACCOUNT_LINK: AggregateType
AGGREGATE_TYPE_CALENDAR_CONFIGURATION: AggregateType
AGGREGATE_TYPE_USER_SCHEDULE: AggregateType
AGGREGATE_TYPE_SUB_ACCOUNT_POLICY: AggregateType

class Event(_message.Message):
    __slots__ = ("position", "aggregate_id", "aggregate_type", "aggregate_version", "event_type", "event_time", "sub_account_id", "payload_json", "connection_connected", "connection_calendars_discovered", "connection_credentials_replaced", "connection_reconnect_required", "connection_disconnected", "account_link_linked", "account_link_relinked", "account_link_unlinked", "calendar_configuration_started", "calendar_configuration_primary_set", "calendar_configuration_primary_cleared", "calendar_configuration_conflict_added", "calendar_configuration_conflict_removed", "calendar_configuration_all_day_policy_set", "calendar_configuration_time_zone_set", "calendar_configuration_working_hours_set", "calendar_configuration_booking_rules_set", "user_schedule_started", "user_schedule_blocked_slot_imported", "user_schedule_blocked_slot_updated", "user_schedule_blocked_slot_removed", "user_schedule_resource_skipped", "user_schedule_calendar_synced", "user_schedule_calendar_released", "sub_account_policy_started", "sub_account_policy_stale_calendar_policy_set", "sub_account_policy_icloud_change_policy_set", "user_schedule_appointment_booked", "user_schedule_appointment_rescheduled", "user_schedule_appointment_cancelled", "user_schedule_blocked_slot_created", "user_schedule_blocked_slot_deleted", "user_schedule_appointment_pushed", "user_schedule_appointment_push_failed", "user_schedule_appointment_changed_in_icloud", "user_schedule_appointment_deleted_in_icloud", "user_schedule_appointment_restore_requested", "user_schedule_appointment_conflict_detected", "user_schedule_appointment_conflict_cleared", "user_schedule_round_robin_assigned")
    POSITION_FIELD_NUMBER: _ClassVar[int]
    AGGREGATE_ID_FIELD_NUMBER: _ClassVar[int]
    AGGREGATE_TYPE_FIELD_NUMBER: _ClassVar[int]
    AGGREGATE_VERSION_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    EVENT_TIME_FIELD_NUMBER: _ClassVar[int]
    SUB_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_JSON_FIELD_NUMBER: _ClassVar[int]
    CONNECTION_CONNECTED_FIELD_NUMBER: _ClassVar[int]
    CONNECTION_CALENDARS_DISCOVERED_FIELD_NUMBER: _ClassVar[int]
    CONNECTION_CREDENTIALS_REPLACED_FIELD_NUMBER: _ClassVar[int]
    CONNECTION_RECONNECT_REQUIRED_FIELD_NUMBER: _ClassVar[int]
    CONNECTION_DISCONNECTED_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_LINK_LINKED_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_LINK_RELINKED_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_LINK_UNLINKED_FIELD_NUMBER: _ClassVar[int]
    CALENDAR_CONFIGURATION_STARTED_FIELD_NUMBER: _ClassVar[int]
    CALENDAR_CONFIGURATION_PRIMARY_SET_FIELD_NUMBER: _ClassVar[int]
    CALENDAR_CONFIGURATION_PRIMARY_CLEARED_FIELD_NUMBER: _ClassVar[int]
    CALENDAR_CONFIGURATION_CONFLICT_ADDED_FIELD_NUMBER: _ClassVar[int]
    CALENDAR_CONFIGURATION_CONFLICT_REMOVED_FIELD_NUMBER: _ClassVar[int]
    CALENDAR_CONFIGURATION_ALL_DAY_POLICY_SET_FIELD_NUMBER: _ClassVar[int]
    CALENDAR_CONFIGURATION_TIME_ZONE_SET_FIELD_NUMBER: _ClassVar[int]
    CALENDAR_CONFIGURATION_WORKING_HOURS_SET_FIELD_NUMBER: _ClassVar[int]
    CALENDAR_CONFIGURATION_BOOKING_RULES_SET_FIELD_NUMBER: _ClassVar[int]
    USER_SCHEDULE_STARTED_FIELD_NUMBER: _ClassVar[int]
    USER_SCHEDULE_BLOCKED_SLOT_IMPORTED_FIELD_NUMBER: _ClassVar[int]
    USER_SCHEDULE_BLOCKED_SLOT_UPDATED_FIELD_NUMBER: _ClassVar[int]
    USER_SCHEDULE_BLOCKED_SLOT_REMOVED_FIELD_NUMBER: _ClassVar[int]
    USER_SCHEDULE_RESOURCE_SKIPPED_FIELD_NUMBER: _ClassVar[int]
    USER_SCHEDULE_CALENDAR_SYNCED_FIELD_NUMBER: _ClassVar[int]
    USER_SCHEDULE_CALENDAR_RELEASED_FIELD_NUMBER: _ClassVar[int]
    SUB_ACCOUNT_POLICY_STARTED_FIELD_NUMBER: _ClassVar[int]
    SUB_ACCOUNT_POLICY_STALE_CALENDAR_POLICY_SET_FIELD_NUMBER: _ClassVar[int]
    SUB_ACCOUNT_POLICY_ICLOUD_CHANGE_POLICY_SET_FIELD_NUMBER: _ClassVar[int]
    USER_SCHEDULE_APPOINTMENT_BOOKED_FIELD_NUMBER: _ClassVar[int]
    USER_SCHEDULE_APPOINTMENT_RESCHEDULED_FIELD_NUMBER: _ClassVar[int]
    USER_SCHEDULE_APPOINTMENT_CANCELLED_FIELD_NUMBER: _ClassVar[int]
    USER_SCHEDULE_BLOCKED_SLOT_CREATED_FIELD_NUMBER: _ClassVar[int]
    USER_SCHEDULE_BLOCKED_SLOT_DELETED_FIELD_NUMBER: _ClassVar[int]
    USER_SCHEDULE_APPOINTMENT_PUSHED_FIELD_NUMBER: _ClassVar[int]
    USER_SCHEDULE_APPOINTMENT_PUSH_FAILED_FIELD_NUMBER: _ClassVar[int]
    USER_SCHEDULE_APPOINTMENT_CHANGED_IN_ICLOUD_FIELD_NUMBER: _ClassVar[int]
    USER_SCHEDULE_APPOINTMENT_DELETED_IN_ICLOUD_FIELD_NUMBER: _ClassVar[int]
    USER_SCHEDULE_APPOINTMENT_RESTORE_REQUESTED_FIELD_NUMBER: _ClassVar[int]
    USER_SCHEDULE_APPOINTMENT_CONFLICT_DETECTED_FIELD_NUMBER: _ClassVar[int]
    USER_SCHEDULE_APPOINTMENT_CONFLICT_CLEARED_FIELD_NUMBER: _ClassVar[int]
    USER_SCHEDULE_ROUND_ROBIN_ASSIGNED_FIELD_NUMBER: _ClassVar[int]
    position: int
    aggregate_id: str
    aggregate_type: AggregateType
    aggregate_version: int
    event_type: str
    event_time: _timestamp_pb2.Timestamp
    sub_account_id: str
    payload_json: str
    connection_connected: ConnectionConnected
    connection_calendars_discovered: ConnectionCalendarsDiscovered
    connection_credentials_replaced: ConnectionCredentialsReplaced
    connection_reconnect_required: ConnectionReconnectRequired
    connection_disconnected: ConnectionDisconnected
    account_link_linked: AccountLinkLinked
    account_link_relinked: AccountLinkRelinked
    account_link_unlinked: AccountLinkUnlinked
    calendar_configuration_started: ConfigurationStarted
    calendar_configuration_primary_set: ConfigurationCalendarSet
    calendar_configuration_primary_cleared: ConfigurationCalendarUnset
    calendar_configuration_conflict_added: ConfigurationCalendarSet
    calendar_configuration_conflict_removed: ConfigurationCalendarUnset
    calendar_configuration_all_day_policy_set: ConfigurationAllDayPolicySet
    calendar_configuration_time_zone_set: ConfigurationTimeZoneSet
    calendar_configuration_working_hours_set: ConfigurationWorkingHoursSet
    calendar_configuration_booking_rules_set: ConfigurationBookingRulesSet
    user_schedule_started: ScheduleStarted
    user_schedule_blocked_slot_imported: ScheduleBlockedSlotChanged
    user_schedule_blocked_slot_updated: ScheduleBlockedSlotChanged
    user_schedule_blocked_slot_removed: ScheduleBlockedSlotRemoved
    user_schedule_resource_skipped: ScheduleResourceSkipped
    user_schedule_calendar_synced: ScheduleCalendarSynced
    user_schedule_calendar_released: ScheduleCalendarReleased
    sub_account_policy_started: PolicyStarted
    sub_account_policy_stale_calendar_policy_set: PolicyStaleCalendarPolicySet
    sub_account_policy_icloud_change_policy_set: PolicyICloudChangePolicySet
    user_schedule_appointment_booked: ScheduleAppointmentBooked
    user_schedule_appointment_rescheduled: ScheduleAppointmentRescheduled
    user_schedule_appointment_cancelled: ScheduleAppointmentCancelled
    user_schedule_blocked_slot_created: ScheduleBlockedSlotCreated
    user_schedule_blocked_slot_deleted: ScheduleBlockedSlotDeleted
    user_schedule_appointment_pushed: ScheduleAppointmentPushed
    user_schedule_appointment_push_failed: ScheduleAppointmentPushFailed
    user_schedule_appointment_changed_in_icloud: ScheduleAppointmentChangedInICloud
    user_schedule_appointment_deleted_in_icloud: ScheduleAppointmentDeletedInICloud
    user_schedule_appointment_restore_requested: ScheduleAppointmentRestoreRequested
    user_schedule_appointment_conflict_detected: ScheduleAppointmentConflictDetected
    user_schedule_appointment_conflict_cleared: ScheduleAppointmentConflictCleared
    user_schedule_round_robin_assigned: ScheduleRoundRobinAssigned
    def __init__(self, position: _Optional[int] = ..., aggregate_id: _Optional[str] = ..., aggregate_type: _Optional[_Union[AggregateType, str]] = ..., aggregate_version: _Optional[int] = ..., event_type: _Optional[str] = ..., event_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., sub_account_id: _Optional[str] = ..., payload_json: _Optional[str] = ..., connection_connected: _Optional[_Union[ConnectionConnected, _Mapping]] = ..., connection_calendars_discovered: _Optional[_Union[ConnectionCalendarsDiscovered, _Mapping]] = ..., connection_credentials_replaced: _Optional[_Union[ConnectionCredentialsReplaced, _Mapping]] = ..., connection_reconnect_required: _Optional[_Union[ConnectionReconnectRequired, _Mapping]] = ..., connection_disconnected: _Optional[_Union[ConnectionDisconnected, _Mapping]] = ..., account_link_linked: _Optional[_Union[AccountLinkLinked, _Mapping]] = ..., account_link_relinked: _Optional[_Union[AccountLinkRelinked, _Mapping]] = ..., account_link_unlinked: _Optional[_Union[AccountLinkUnlinked, _Mapping]] = ..., calendar_configuration_started: _Optional[_Union[ConfigurationStarted, _Mapping]] = ..., calendar_configuration_primary_set: _Optional[_Union[ConfigurationCalendarSet, _Mapping]] = ..., calendar_configuration_primary_cleared: _Optional[_Union[ConfigurationCalendarUnset, _Mapping]] = ..., calendar_configuration_conflict_added: _Optional[_Union[ConfigurationCalendarSet, _Mapping]] = ..., calendar_configuration_conflict_removed: _Optional[_Union[ConfigurationCalendarUnset, _Mapping]] = ..., calendar_configuration_all_day_policy_set: _Optional[_Union[ConfigurationAllDayPolicySet, _Mapping]] = ..., calendar_configuration_time_zone_set: _Optional[_Union[ConfigurationTimeZoneSet, _Mapping]] = ..., calendar_configuration_working_hours_set: _Optional[_Union[ConfigurationWorkingHoursSet, _Mapping]] = ..., calendar_configuration_booking_rules_set: _Optional[_Union[ConfigurationBookingRulesSet, _Mapping]] = ..., user_schedule_started: _Optional[_Union[ScheduleStarted, _Mapping]] = ..., user_schedule_blocked_slot_imported: _Optional[_Union[ScheduleBlockedSlotChanged, _Mapping]] = ..., user_schedule_blocked_slot_updated: _Optional[_Union[ScheduleBlockedSlotChanged, _Mapping]] = ..., user_schedule_blocked_slot_removed: _Optional[_Union[ScheduleBlockedSlotRemoved, _Mapping]] = ..., user_schedule_resource_skipped: _Optional[_Union[ScheduleResourceSkipped, _Mapping]] = ..., user_schedule_calendar_synced: _Optional[_Union[ScheduleCalendarSynced, _Mapping]] = ..., user_schedule_calendar_released: _Optional[_Union[ScheduleCalendarReleased, _Mapping]] = ..., sub_account_policy_started: _Optional[_Union[PolicyStarted, _Mapping]] = ..., sub_account_policy_stale_calendar_policy_set: _Optional[_Union[PolicyStaleCalendarPolicySet, _Mapping]] = ..., sub_account_policy_icloud_change_policy_set: _Optional[_Union[PolicyICloudChangePolicySet, _Mapping]] = ..., user_schedule_appointment_booked: _Optional[_Union[ScheduleAppointmentBooked, _Mapping]] = ..., user_schedule_appointment_rescheduled: _Optional[_Union[ScheduleAppointmentRescheduled, _Mapping]] = ..., user_schedule_appointment_cancelled: _Optional[_Union[ScheduleAppointmentCancelled, _Mapping]] = ..., user_schedule_blocked_slot_created: _Optional[_Union[ScheduleBlockedSlotCreated, _Mapping]] = ..., user_schedule_blocked_slot_deleted: _Optional[_Union[ScheduleBlockedSlotDeleted, _Mapping]] = ..., user_schedule_appointment_pushed: _Optional[_Union[ScheduleAppointmentPushed, _Mapping]] = ..., user_schedule_appointment_push_failed: _Optional[_Union[ScheduleAppointmentPushFailed, _Mapping]] = ..., user_schedule_appointment_changed_in_icloud: _Optional[_Union[ScheduleAppointmentChangedInICloud, _Mapping]] = ..., user_schedule_appointment_deleted_in_icloud: _Optional[_Union[ScheduleAppointmentDeletedInICloud, _Mapping]] = ..., user_schedule_appointment_restore_requested: _Optional[_Union[ScheduleAppointmentRestoreRequested, _Mapping]] = ..., user_schedule_appointment_conflict_detected: _Optional[_Union[ScheduleAppointmentConflictDetected, _Mapping]] = ..., user_schedule_appointment_conflict_cleared: _Optional[_Union[ScheduleAppointmentConflictCleared, _Mapping]] = ..., user_schedule_round_robin_assigned: _Optional[_Union[ScheduleRoundRobinAssigned, _Mapping]] = ...) -> None: ...

class ConnectionConnected(_message.Message):
    __slots__ = ("sub_account_id", "user_id", "apple_id", "account_id", "request_id", "kind", "source")
    SUB_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    APPLE_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    sub_account_id: str
    user_id: str
    apple_id: str
    account_id: str
    request_id: str
    kind: str
    source: str
    def __init__(self, sub_account_id: _Optional[str] = ..., user_id: _Optional[str] = ..., apple_id: _Optional[str] = ..., account_id: _Optional[str] = ..., request_id: _Optional[str] = ..., kind: _Optional[str] = ..., source: _Optional[str] = ...) -> None: ...

class DiscoveredCalendar(_message.Message):
    __slots__ = ("calendar_id", "href", "display_name", "color", "writable", "kind", "source")
    CALENDAR_ID_FIELD_NUMBER: _ClassVar[int]
    HREF_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    COLOR_FIELD_NUMBER: _ClassVar[int]
    WRITABLE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    calendar_id: str
    href: str
    display_name: str
    color: str
    writable: bool
    kind: str
    source: str
    def __init__(self, calendar_id: _Optional[str] = ..., href: _Optional[str] = ..., display_name: _Optional[str] = ..., color: _Optional[str] = ..., writable: _Optional[bool] = ..., kind: _Optional[str] = ..., source: _Optional[str] = ...) -> None: ...

class ConnectionCalendarsDiscovered(_message.Message):
    __slots__ = ("calendars", "removed_calendar_ids", "request_id")
    CALENDARS_FIELD_NUMBER: _ClassVar[int]
    REMOVED_CALENDAR_IDS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    calendars: _containers.RepeatedCompositeFieldContainer[DiscoveredCalendar]
    removed_calendar_ids: _containers.RepeatedScalarFieldContainer[str]
    request_id: str
    def __init__(self, calendars: _Optional[_Iterable[_Union[DiscoveredCalendar, _Mapping]]] = ..., removed_calendar_ids: _Optional[_Iterable[str]] = ..., request_id: _Optional[str] = ...) -> None: ...

class ConnectionCredentialsReplaced(_message.Message):
    __slots__ = ("request_id",)
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    def __init__(self, request_id: _Optional[str] = ...) -> None: ...

class ConnectionReconnectRequired(_message.Message):
    __slots__ = ("reason",)
    REASON_FIELD_NUMBER: _ClassVar[int]
    reason: str
    def __init__(self, reason: _Optional[str] = ...) -> None: ...

class ConnectionDisconnected(_message.Message):
    __slots__ = ("removed_calendar_ids", "request_id")
    REMOVED_CALENDAR_IDS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    removed_calendar_ids: _containers.RepeatedScalarFieldContainer[str]
    request_id: str
    def __init__(self, removed_calendar_ids: _Optional[_Iterable[str]] = ..., request_id: _Optional[str] = ...) -> None: ...

class AccountLinkLinked(_message.Message):
    __slots__ = ("sub_account_id", "user_id", "account_id", "connection_id", "request_id")
    SUB_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    CONNECTION_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    sub_account_id: str
    user_id: str
    account_id: str
    connection_id: str
    request_id: str
    def __init__(self, sub_account_id: _Optional[str] = ..., user_id: _Optional[str] = ..., account_id: _Optional[str] = ..., connection_id: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class AccountLinkRelinked(_message.Message):
    __slots__ = ("connection_id", "request_id")
    CONNECTION_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    connection_id: str
    request_id: str
    def __init__(self, connection_id: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class AccountLinkUnlinked(_message.Message):
    __slots__ = ("connection_id",)
    CONNECTION_ID_FIELD_NUMBER: _ClassVar[int]
    connection_id: str
    def __init__(self, connection_id: _Optional[str] = ...) -> None: ...

class ConfigurationStarted(_message.Message):
    __slots__ = ("sub_account_id", "user_id")
    SUB_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    sub_account_id: str
    user_id: str
    def __init__(self, sub_account_id: _Optional[str] = ..., user_id: _Optional[str] = ...) -> None: ...

class ConfigurationCalendarSet(_message.Message):
    __slots__ = ("connection_id", "calendar_id", "request_id")
    CONNECTION_ID_FIELD_NUMBER: _ClassVar[int]
    CALENDAR_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    connection_id: str
    calendar_id: str
    request_id: str
    def __init__(self, connection_id: _Optional[str] = ..., calendar_id: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class ConfigurationCalendarUnset(_message.Message):
    __slots__ = ("connection_id", "calendar_id", "reason", "request_id")
    CONNECTION_ID_FIELD_NUMBER: _ClassVar[int]
    CALENDAR_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    connection_id: str
    calendar_id: str
    reason: str
    request_id: str
    def __init__(self, connection_id: _Optional[str] = ..., calendar_id: _Optional[str] = ..., reason: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class ConfigurationAllDayPolicySet(_message.Message):
    __slots__ = ("policy", "request_id")
    POLICY_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    policy: str
    request_id: str
    def __init__(self, policy: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class ConfigurationTimeZoneSet(_message.Message):
    __slots__ = ("time_zone", "request_id")
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    time_zone: str
    request_id: str
    def __init__(self, time_zone: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class RecordedWeekday(_message.Message):
    __slots__ = ("weekday", "windows")
    WEEKDAY_FIELD_NUMBER: _ClassVar[int]
    WINDOWS_FIELD_NUMBER: _ClassVar[int]
    weekday: int
    windows: _containers.RepeatedCompositeFieldContainer[_availability_pb2.DayWindow]
    def __init__(self, weekday: _Optional[int] = ..., windows: _Optional[_Iterable[_Union[_availability_pb2.DayWindow, _Mapping]]] = ...) -> None: ...

class RecordedDateOverride(_message.Message):
    __slots__ = ("date", "windows")
    DATE_FIELD_NUMBER: _ClassVar[int]
    WINDOWS_FIELD_NUMBER: _ClassVar[int]
    date: str
    windows: _containers.RepeatedCompositeFieldContainer[_availability_pb2.DayWindow]
    def __init__(self, date: _Optional[str] = ..., windows: _Optional[_Iterable[_Union[_availability_pb2.DayWindow, _Mapping]]] = ...) -> None: ...

class RecordedWorkingHours(_message.Message):
    __slots__ = ("weekly", "overrides")
    WEEKLY_FIELD_NUMBER: _ClassVar[int]
    OVERRIDES_FIELD_NUMBER: _ClassVar[int]
    weekly: _containers.RepeatedCompositeFieldContainer[RecordedWeekday]
    overrides: _containers.RepeatedCompositeFieldContainer[RecordedDateOverride]
    def __init__(self, weekly: _Optional[_Iterable[_Union[RecordedWeekday, _Mapping]]] = ..., overrides: _Optional[_Iterable[_Union[RecordedDateOverride, _Mapping]]] = ...) -> None: ...

class ConfigurationWorkingHoursSet(_message.Message):
    __slots__ = ("working_hours", "request_id")
    WORKING_HOURS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    working_hours: RecordedWorkingHours
    request_id: str
    def __init__(self, working_hours: _Optional[_Union[RecordedWorkingHours, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class ConfigurationBookingRulesSet(_message.Message):
    __slots__ = ("booking_rules", "request_id")
    BOOKING_RULES_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    booking_rules: _availability_pb2.BookingRules
    request_id: str
    def __init__(self, booking_rules: _Optional[_Union[_availability_pb2.BookingRules, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class PolicyStarted(_message.Message):
    __slots__ = ("sub_account_id",)
    SUB_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    sub_account_id: str
    def __init__(self, sub_account_id: _Optional[str] = ...) -> None: ...

class PolicyStaleCalendarPolicySet(_message.Message):
    __slots__ = ("stale_calendars_block", "request_id")
    STALE_CALENDARS_BLOCK_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    stale_calendars_block: bool
    request_id: str
    def __init__(self, stale_calendars_block: _Optional[bool] = ..., request_id: _Optional[str] = ...) -> None: ...

class PolicyICloudChangePolicySet(_message.Message):
    __slots__ = ("icloud_changes", "request_id")
    ICLOUD_CHANGES_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    icloud_changes: str
    request_id: str
    def __init__(self, icloud_changes: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class ScheduleStarted(_message.Message):
    __slots__ = ("sub_account_id", "user_id")
    SUB_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    sub_account_id: str
    user_id: str
    def __init__(self, sub_account_id: _Optional[str] = ..., user_id: _Optional[str] = ...) -> None: ...

class ImportedSeries(_message.Message):
    __slots__ = ("href", "etag", "uid", "summary", "location", "recurring", "all_day", "first_start", "last_end", "ical", "time_zone", "zone_dependent", "expanded_from", "expanded_until", "occurrences")
    HREF_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    RECURRING_FIELD_NUMBER: _ClassVar[int]
    ALL_DAY_FIELD_NUMBER: _ClassVar[int]
    FIRST_START_FIELD_NUMBER: _ClassVar[int]
    LAST_END_FIELD_NUMBER: _ClassVar[int]
    ICAL_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    ZONE_DEPENDENT_FIELD_NUMBER: _ClassVar[int]
    EXPANDED_FROM_FIELD_NUMBER: _ClassVar[int]
    EXPANDED_UNTIL_FIELD_NUMBER: _ClassVar[int]
    OCCURRENCES_FIELD_NUMBER: _ClassVar[int]
    href: str
    etag: str
    uid: str
    summary: str
    location: str
    recurring: bool
    all_day: bool
    first_start: str
    last_end: str
    ical: str
    time_zone: str
    zone_dependent: bool
    expanded_from: str
    expanded_until: str
    occurrences: _containers.RepeatedCompositeFieldContainer[RecordedOccurrence]
    def __init__(self, href: _Optional[str] = ..., etag: _Optional[str] = ..., uid: _Optional[str] = ..., summary: _Optional[str] = ..., location: _Optional[str] = ..., recurring: _Optional[bool] = ..., all_day: _Optional[bool] = ..., first_start: _Optional[str] = ..., last_end: _Optional[str] = ..., ical: _Optional[str] = ..., time_zone: _Optional[str] = ..., zone_dependent: _Optional[bool] = ..., expanded_from: _Optional[str] = ..., expanded_until: _Optional[str] = ..., occurrences: _Optional[_Iterable[_Union[RecordedOccurrence, _Mapping]]] = ...) -> None: ...

class RecordedOccurrence(_message.Message):
    __slots__ = ("start", "end", "flags", "recurrence_id", "summary", "location")
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    FLAGS_FIELD_NUMBER: _ClassVar[int]
    RECURRENCE_ID_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    start: int
    end: int
    flags: int
    recurrence_id: str
    summary: str
    location: str
    def __init__(self, start: _Optional[int] = ..., end: _Optional[int] = ..., flags: _Optional[int] = ..., recurrence_id: _Optional[str] = ..., summary: _Optional[str] = ..., location: _Optional[str] = ...) -> None: ...

class ScheduleBlockedSlotChanged(_message.Message):
    __slots__ = ("connection_id", "calendar_id", "series", "fetched_at")
    CONNECTION_ID_FIELD_NUMBER: _ClassVar[int]
    CALENDAR_ID_FIELD_NUMBER: _ClassVar[int]
    SERIES_FIELD_NUMBER: _ClassVar[int]
    FETCHED_AT_FIELD_NUMBER: _ClassVar[int]
    connection_id: str
    calendar_id: str
    series: ImportedSeries
    fetched_at: _timestamp_pb2.Timestamp
    def __init__(self, connection_id: _Optional[str] = ..., calendar_id: _Optional[str] = ..., series: _Optional[_Union[ImportedSeries, _Mapping]] = ..., fetched_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ScheduleBlockedSlotRemoved(_message.Message):
    __slots__ = ("connection_id", "calendar_id", "href", "uid", "reason")
    CONNECTION_ID_FIELD_NUMBER: _ClassVar[int]
    CALENDAR_ID_FIELD_NUMBER: _ClassVar[int]
    HREF_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    connection_id: str
    calendar_id: str
    href: str
    uid: str
    reason: str
    def __init__(self, connection_id: _Optional[str] = ..., calendar_id: _Optional[str] = ..., href: _Optional[str] = ..., uid: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ScheduleResourceSkipped(_message.Message):
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

class ScheduleCalendarSynced(_message.Message):
    __slots__ = ("connection_id", "calendar_id", "sync_token", "fetched_at", "imported", "updated", "removed", "skipped")
    CONNECTION_ID_FIELD_NUMBER: _ClassVar[int]
    CALENDAR_ID_FIELD_NUMBER: _ClassVar[int]
    SYNC_TOKEN_FIELD_NUMBER: _ClassVar[int]
    FETCHED_AT_FIELD_NUMBER: _ClassVar[int]
    IMPORTED_FIELD_NUMBER: _ClassVar[int]
    UPDATED_FIELD_NUMBER: _ClassVar[int]
    REMOVED_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_FIELD_NUMBER: _ClassVar[int]
    connection_id: str
    calendar_id: str
    sync_token: str
    fetched_at: _timestamp_pb2.Timestamp
    imported: int
    updated: int
    removed: int
    skipped: int
    def __init__(self, connection_id: _Optional[str] = ..., calendar_id: _Optional[str] = ..., sync_token: _Optional[str] = ..., fetched_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., imported: _Optional[int] = ..., updated: _Optional[int] = ..., removed: _Optional[int] = ..., skipped: _Optional[int] = ...) -> None: ...

class ScheduleCalendarReleased(_message.Message):
    __slots__ = ("connection_id", "calendar_id", "reason")
    CONNECTION_ID_FIELD_NUMBER: _ClassVar[int]
    CALENDAR_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    connection_id: str
    calendar_id: str
    reason: str
    def __init__(self, connection_id: _Optional[str] = ..., calendar_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class RecordedAttendee(_message.Message):
    __slots__ = ("email", "name")
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    email: str
    name: str
    def __init__(self, email: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class ScheduleAppointmentBooked(_message.Message):
    __slots__ = ("appointment_id", "start", "end", "title", "description", "location", "attendees", "calendar", "overridden", "request_id")
    APPOINTMENT_ID_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    ATTENDEES_FIELD_NUMBER: _ClassVar[int]
    CALENDAR_FIELD_NUMBER: _ClassVar[int]
    OVERRIDDEN_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    appointment_id: str
    start: _timestamp_pb2.Timestamp
    end: _timestamp_pb2.Timestamp
    title: str
    description: str
    location: str
    attendees: _containers.RepeatedCompositeFieldContainer[RecordedAttendee]
    calendar: _configuration_pb2.CalendarRef
    overridden: _containers.RepeatedScalarFieldContainer[str]
    request_id: str
    def __init__(self, appointment_id: _Optional[str] = ..., start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., title: _Optional[str] = ..., description: _Optional[str] = ..., location: _Optional[str] = ..., attendees: _Optional[_Iterable[_Union[RecordedAttendee, _Mapping]]] = ..., calendar: _Optional[_Union[_configuration_pb2.CalendarRef, _Mapping]] = ..., overridden: _Optional[_Iterable[str]] = ..., request_id: _Optional[str] = ...) -> None: ...

class ScheduleAppointmentRescheduled(_message.Message):
    __slots__ = ("appointment_id", "start", "end", "revision", "overridden", "request_id", "cause")
    APPOINTMENT_ID_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    OVERRIDDEN_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CAUSE_FIELD_NUMBER: _ClassVar[int]
    appointment_id: str
    start: _timestamp_pb2.Timestamp
    end: _timestamp_pb2.Timestamp
    revision: int
    overridden: _containers.RepeatedScalarFieldContainer[str]
    request_id: str
    cause: str
    def __init__(self, appointment_id: _Optional[str] = ..., start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., revision: _Optional[int] = ..., overridden: _Optional[_Iterable[str]] = ..., request_id: _Optional[str] = ..., cause: _Optional[str] = ...) -> None: ...

class ScheduleAppointmentCancelled(_message.Message):
    __slots__ = ("appointment_id", "revision", "reason", "request_id", "cause")
    APPOINTMENT_ID_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CAUSE_FIELD_NUMBER: _ClassVar[int]
    appointment_id: str
    revision: int
    reason: str
    request_id: str
    cause: str
    def __init__(self, appointment_id: _Optional[str] = ..., revision: _Optional[int] = ..., reason: _Optional[str] = ..., request_id: _Optional[str] = ..., cause: _Optional[str] = ...) -> None: ...

class ScheduleBlockedSlotCreated(_message.Message):
    __slots__ = ("block_id", "start", "end", "title", "request_id")
    BLOCK_ID_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    block_id: str
    start: _timestamp_pb2.Timestamp
    end: _timestamp_pb2.Timestamp
    title: str
    request_id: str
    def __init__(self, block_id: _Optional[str] = ..., start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., title: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class ScheduleBlockedSlotDeleted(_message.Message):
    __slots__ = ("block_id", "request_id")
    BLOCK_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    block_id: str
    request_id: str
    def __init__(self, block_id: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class ScheduleAppointmentPushed(_message.Message):
    __slots__ = ("appointment_id", "revision", "action", "connection_id", "calendar_id", "href", "etag")
    APPOINTMENT_ID_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    CONNECTION_ID_FIELD_NUMBER: _ClassVar[int]
    CALENDAR_ID_FIELD_NUMBER: _ClassVar[int]
    HREF_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    appointment_id: str
    revision: int
    action: str
    connection_id: str
    calendar_id: str
    href: str
    etag: str
    def __init__(self, appointment_id: _Optional[str] = ..., revision: _Optional[int] = ..., action: _Optional[str] = ..., connection_id: _Optional[str] = ..., calendar_id: _Optional[str] = ..., href: _Optional[str] = ..., etag: _Optional[str] = ...) -> None: ...

class ScheduleAppointmentPushFailed(_message.Message):
    __slots__ = ("appointment_id", "revision", "error", "attempts", "permanent", "retry_at")
    APPOINTMENT_ID_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    PERMANENT_FIELD_NUMBER: _ClassVar[int]
    RETRY_AT_FIELD_NUMBER: _ClassVar[int]
    appointment_id: str
    revision: int
    error: str
    attempts: int
    permanent: bool
    retry_at: _timestamp_pb2.Timestamp
    def __init__(self, appointment_id: _Optional[str] = ..., revision: _Optional[int] = ..., error: _Optional[str] = ..., attempts: _Optional[int] = ..., permanent: _Optional[bool] = ..., retry_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ScheduleAppointmentChangedInICloud(_message.Message):
    __slots__ = ("appointment_id", "calendar_id", "href", "etag", "start", "end", "moved")
    APPOINTMENT_ID_FIELD_NUMBER: _ClassVar[int]
    CALENDAR_ID_FIELD_NUMBER: _ClassVar[int]
    HREF_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    MOVED_FIELD_NUMBER: _ClassVar[int]
    appointment_id: str
    calendar_id: str
    href: str
    etag: str
    start: _timestamp_pb2.Timestamp
    end: _timestamp_pb2.Timestamp
    moved: bool
    def __init__(self, appointment_id: _Optional[str] = ..., calendar_id: _Optional[str] = ..., href: _Optional[str] = ..., etag: _Optional[str] = ..., start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., moved: _Optional[bool] = ...) -> None: ...

class ScheduleAppointmentDeletedInICloud(_message.Message):
    __slots__ = ("appointment_id", "calendar_id", "href")
    APPOINTMENT_ID_FIELD_NUMBER: _ClassVar[int]
    CALENDAR_ID_FIELD_NUMBER: _ClassVar[int]
    HREF_FIELD_NUMBER: _ClassVar[int]
    appointment_id: str
    calendar_id: str
    href: str
    def __init__(self, appointment_id: _Optional[str] = ..., calendar_id: _Optional[str] = ..., href: _Optional[str] = ...) -> None: ...

class RecordedSpan(_message.Message):
    __slots__ = ("start", "end")
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    start: _timestamp_pb2.Timestamp
    end: _timestamp_pb2.Timestamp
    def __init__(self, start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ScheduleAppointmentRestoreRequested(_message.Message):
    __slots__ = ("appointment_id", "revision", "calendar_id", "href", "held")
    APPOINTMENT_ID_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    CALENDAR_ID_FIELD_NUMBER: _ClassVar[int]
    HREF_FIELD_NUMBER: _ClassVar[int]
    HELD_FIELD_NUMBER: _ClassVar[int]
    appointment_id: str
    revision: int
    calendar_id: str
    href: str
    held: _containers.RepeatedCompositeFieldContainer[RecordedSpan]
    def __init__(self, appointment_id: _Optional[str] = ..., revision: _Optional[int] = ..., calendar_id: _Optional[str] = ..., href: _Optional[str] = ..., held: _Optional[_Iterable[_Union[RecordedSpan, _Mapping]]] = ...) -> None: ...

class ScheduleAppointmentConflictDetected(_message.Message):
    __slots__ = ("appointment_id", "kind", "connection_id", "calendar_id", "href", "uid", "etag", "other_appointment_id", "occurrence_start", "occurrence_end", "overlap_start", "overlap_end")
    APPOINTMENT_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    CONNECTION_ID_FIELD_NUMBER: _ClassVar[int]
    CALENDAR_ID_FIELD_NUMBER: _ClassVar[int]
    HREF_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    OTHER_APPOINTMENT_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRENCE_START_FIELD_NUMBER: _ClassVar[int]
    OCCURRENCE_END_FIELD_NUMBER: _ClassVar[int]
    OVERLAP_START_FIELD_NUMBER: _ClassVar[int]
    OVERLAP_END_FIELD_NUMBER: _ClassVar[int]
    appointment_id: str
    kind: str
    connection_id: str
    calendar_id: str
    href: str
    uid: str
    etag: str
    other_appointment_id: str
    occurrence_start: _timestamp_pb2.Timestamp
    occurrence_end: _timestamp_pb2.Timestamp
    overlap_start: _timestamp_pb2.Timestamp
    overlap_end: _timestamp_pb2.Timestamp
    def __init__(self, appointment_id: _Optional[str] = ..., kind: _Optional[str] = ..., connection_id: _Optional[str] = ..., calendar_id: _Optional[str] = ..., href: _Optional[str] = ..., uid: _Optional[str] = ..., etag: _Optional[str] = ..., other_appointment_id: _Optional[str] = ..., occurrence_start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., occurrence_end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., overlap_start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., overlap_end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ScheduleAppointmentConflictCleared(_message.Message):
    __slots__ = ("appointment_id", "kind", "calendar_id", "href", "other_appointment_id", "reason")
    APPOINTMENT_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    CALENDAR_ID_FIELD_NUMBER: _ClassVar[int]
    HREF_FIELD_NUMBER: _ClassVar[int]
    OTHER_APPOINTMENT_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    appointment_id: str
    kind: str
    calendar_id: str
    href: str
    other_appointment_id: str
    reason: str
    def __init__(self, appointment_id: _Optional[str] = ..., kind: _Optional[str] = ..., calendar_id: _Optional[str] = ..., href: _Optional[str] = ..., other_appointment_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ScheduleRoundRobinAssigned(_message.Message):
    __slots__ = ("appointment_id", "user_id", "why", "members", "assigned_time", "request_id")
    APPOINTMENT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    WHY_FIELD_NUMBER: _ClassVar[int]
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    ASSIGNED_TIME_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    appointment_id: str
    user_id: str
    why: str
    members: _containers.RepeatedCompositeFieldContainer[_appointments_pb2.RoundRobinMember]
    assigned_time: _timestamp_pb2.Timestamp
    request_id: str
    def __init__(self, appointment_id: _Optional[str] = ..., user_id: _Optional[str] = ..., why: _Optional[str] = ..., members: _Optional[_Iterable[_Union[_appointments_pb2.RoundRobinMember, _Mapping]]] = ..., assigned_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class ListEventsRequest(_message.Message):
    __slots__ = ("after_position", "aggregate_types", "sub_account_id", "page_size", "page_token")
    AFTER_POSITION_FIELD_NUMBER: _ClassVar[int]
    AGGREGATE_TYPES_FIELD_NUMBER: _ClassVar[int]
    SUB_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    after_position: int
    aggregate_types: _containers.RepeatedScalarFieldContainer[AggregateType]
    sub_account_id: str
    page_size: int
    page_token: str
    def __init__(self, after_position: _Optional[int] = ..., aggregate_types: _Optional[_Iterable[_Union[AggregateType, str]]] = ..., sub_account_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListEventsResponse(_message.Message):
    __slots__ = ("events", "next_page_token", "position", "head_position")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    HEAD_POSITION_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[Event]
    next_page_token: str
    position: int
    head_position: int
    def __init__(self, events: _Optional[_Iterable[_Union[Event, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., position: _Optional[int] = ..., head_position: _Optional[int] = ...) -> None: ...

class ListAggregateEventsRequest(_message.Message):
    __slots__ = ("sub_account_id", "aggregate_id", "user_id", "aggregate_type", "page_size", "page_token")
    SUB_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    AGGREGATE_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    AGGREGATE_TYPE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    sub_account_id: str
    aggregate_id: str
    user_id: str
    aggregate_type: AggregateType
    page_size: int
    page_token: str
    def __init__(self, sub_account_id: _Optional[str] = ..., aggregate_id: _Optional[str] = ..., user_id: _Optional[str] = ..., aggregate_type: _Optional[_Union[AggregateType, str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListAggregateEventsResponse(_message.Message):
    __slots__ = ("events", "next_page_token")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[Event]
    next_page_token: str
    def __init__(self, events: _Optional[_Iterable[_Union[Event, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetAggregateStateRequest(_message.Message):
    __slots__ = ("sub_account_id", "aggregate_id", "user_id", "aggregate_type", "version", "time")
    SUB_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    AGGREGATE_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    AGGREGATE_TYPE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    sub_account_id: str
    aggregate_id: str
    user_id: str
    aggregate_type: AggregateType
    version: int
    time: _timestamp_pb2.Timestamp
    def __init__(self, sub_account_id: _Optional[str] = ..., aggregate_id: _Optional[str] = ..., user_id: _Optional[str] = ..., aggregate_type: _Optional[_Union[AggregateType, str]] = ..., version: _Optional[int] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ConnectionState(_message.Message):
    __slots__ = ("connection", "calendars", "last_error")
    CONNECTION_FIELD_NUMBER: _ClassVar[int]
    CALENDARS_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    connection: _connection_pb2.Connection
    calendars: _containers.RepeatedCompositeFieldContainer[_connection_pb2.Calendar]
    last_error: str
    def __init__(self, connection: _Optional[_Union[_connection_pb2.Connection, _Mapping]] = ..., calendars: _Optional[_Iterable[_Union[_connection_pb2.Calendar, _Mapping]]] = ..., last_error: _Optional[str] = ...) -> None: ...

class SyncedCalendar(_message.Message):
    __slots__ = ("connection_id", "calendar_id")
    CONNECTION_ID_FIELD_NUMBER: _ClassVar[int]
    CALENDAR_ID_FIELD_NUMBER: _ClassVar[int]
    connection_id: str
    calendar_id: str
    def __init__(self, connection_id: _Optional[str] = ..., calendar_id: _Optional[str] = ...) -> None: ...

class UserScheduleState(_message.Message):
    __slots__ = ("sub_account_id", "user_id", "blocked_slots", "skipped_resources", "synced_calendars")
    SUB_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    BLOCKED_SLOTS_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_RESOURCES_FIELD_NUMBER: _ClassVar[int]
    SYNCED_CALENDARS_FIELD_NUMBER: _ClassVar[int]
    sub_account_id: str
    user_id: str
    blocked_slots: _containers.RepeatedCompositeFieldContainer[_sync_pb2.BlockedSlot]
    skipped_resources: _containers.RepeatedCompositeFieldContainer[_sync_pb2.SkippedResource]
    synced_calendars: _containers.RepeatedCompositeFieldContainer[SyncedCalendar]
    def __init__(self, sub_account_id: _Optional[str] = ..., user_id: _Optional[str] = ..., blocked_slots: _Optional[_Iterable[_Union[_sync_pb2.BlockedSlot, _Mapping]]] = ..., skipped_resources: _Optional[_Iterable[_Union[_sync_pb2.SkippedResource, _Mapping]]] = ..., synced_calendars: _Optional[_Iterable[_Union[SyncedCalendar, _Mapping]]] = ...) -> None: ...

class GetAggregateStateResponse(_message.Message):
    __slots__ = ("aggregate_id", "aggregate_type", "version", "update_time", "connection", "calendar_configuration", "user_schedule")
    AGGREGATE_ID_FIELD_NUMBER: _ClassVar[int]
    AGGREGATE_TYPE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    CONNECTION_FIELD_NUMBER: _ClassVar[int]
    CALENDAR_CONFIGURATION_FIELD_NUMBER: _ClassVar[int]
    USER_SCHEDULE_FIELD_NUMBER: _ClassVar[int]
    aggregate_id: str
    aggregate_type: AggregateType
    version: int
    update_time: _timestamp_pb2.Timestamp
    connection: ConnectionState
    calendar_configuration: _configuration_pb2.CalendarConfiguration
    user_schedule: UserScheduleState
    def __init__(self, aggregate_id: _Optional[str] = ..., aggregate_type: _Optional[_Union[AggregateType, str]] = ..., version: _Optional[int] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., connection: _Optional[_Union[ConnectionState, _Mapping]] = ..., calendar_configuration: _Optional[_Union[_configuration_pb2.CalendarConfiguration, _Mapping]] = ..., user_schedule: _Optional[_Union[UserScheduleState, _Mapping]] = ...) -> None: ...

class StreamEventsRequest(_message.Message):
    __slots__ = ("after_position", "aggregate_types", "sub_account_id")
    AFTER_POSITION_FIELD_NUMBER: _ClassVar[int]
    AGGREGATE_TYPES_FIELD_NUMBER: _ClassVar[int]
    SUB_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    after_position: int
    aggregate_types: _containers.RepeatedScalarFieldContainer[AggregateType]
    sub_account_id: str
    def __init__(self, after_position: _Optional[int] = ..., aggregate_types: _Optional[_Iterable[_Union[AggregateType, str]]] = ..., sub_account_id: _Optional[str] = ...) -> None: ...

class StreamEventsResponse(_message.Message):
    __slots__ = ("events", "position", "caught_up")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    CAUGHT_UP_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[Event]
    position: int
    caught_up: bool
    def __init__(self, events: _Optional[_Iterable[_Union[Event, _Mapping]]] = ..., position: _Optional[int] = ..., caught_up: _Optional[bool] = ...) -> None: ...
