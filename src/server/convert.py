"""Domain objects to protobuf messages. No logic beyond the mapping."""

from __future__ import annotations

from datetime import datetime

from google.protobuf.timestamp_pb2 import Timestamp

from calendar_domain.busy import AllDayPolicy
from calendar_domain.configuration import CalendarConfiguration, CalendarRef
from calendar_domain.connection import ConnectedCalendar, Connection, ConnectionStatus
from calendar_domain.connection_projection import ConnectionRecord
from calendar_domain.schedule import UserSchedule
from calendarintegration.v1 import configuration_pb2, sync_pb2
from calendarintegration.v1 import connection_pb2 as pb

_STATUS = {
    ConnectionStatus.ACTIVE: pb.CONNECTION_STATUS_ACTIVE,
    ConnectionStatus.RECONNECT_REQUIRED: pb.CONNECTION_STATUS_RECONNECT_REQUIRED,
    ConnectionStatus.DISCONNECTED: pb.CONNECTION_STATUS_DISCONNECTED,
}
_KIND = {"icloud": pb.CONNECTION_KIND_ICLOUD, "feed": pb.CONNECTION_KIND_FEED}
_CALENDAR_KIND = {
    "calendar": pb.CALENDAR_KIND_EVENTS, "subscription": pb.CALENDAR_KIND_SUBSCRIPTION, "feed": pb.CALENDAR_KIND_FEED,
}
ALL_DAY_POLICY_TO_PB = {
    AllDayPolicy.FOLLOW_TRANSP: configuration_pb2.ALL_DAY_POLICY_FOLLOW_TRANSP,
    AllDayPolicy.ALWAYS_BUSY: configuration_pb2.ALL_DAY_POLICY_ALWAYS_BUSY,
    AllDayPolicy.ALWAYS_FREE: configuration_pb2.ALL_DAY_POLICY_ALWAYS_FREE,
}


def timestamp(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def connection_from_aggregate(connection: Connection) -> pb.Connection:
    return pb.Connection(
        connection_id=str(connection.id),
        sub_account_id=connection.sub_account_id,
        user_id=connection.user_id,
        apple_id=connection.apple_id,
        account_id=str(connection.account_id),
        status=_STATUS[connection.status],
        calendar_count=len(connection.calendars),
        connect_time=timestamp(connection.created_on),
        update_time=timestamp(connection.modified_on),
        version=connection.version,
        kind=_KIND[connection.kind.value],
        source=connection.source,
    )


def connection_from_record(record: ConnectionRecord) -> pb.Connection:
    return pb.Connection(
        connection_id=record.connection_id,
        sub_account_id=record.sub_account_id,
        user_id=record.user_id,
        apple_id=record.apple_id,
        account_id=record.account_id,
        status=_STATUS[record.status],
        calendar_count=record.calendar_count,
        connect_time=timestamp(record.connect_time),
        update_time=timestamp(record.update_time),
        version=record.version,
        kind=_KIND.get(record.kind, pb.CONNECTION_KIND_UNSPECIFIED),
        source=record.source,
    )


def calendar(connection_id: str, entry: ConnectedCalendar) -> pb.Calendar:
    return pb.Calendar(
        connection_id=connection_id,
        calendar_id=entry.calendar_id,
        display_name=entry.display_name,
        color=entry.color,
        writable=entry.writable,
        href=entry.href,
        kind=_CALENDAR_KIND.get(entry.kind, pb.CALENDAR_KIND_UNSPECIFIED),
        source=entry.source,
    )


def configuration(configuration: CalendarConfiguration) -> configuration_pb2.CalendarConfiguration:
    def ref(r: CalendarRef) -> configuration_pb2.CalendarRef:
        return configuration_pb2.CalendarRef(connection_id=r.connection_id, calendar_id=r.calendar_id)

    return configuration_pb2.CalendarConfiguration(
        sub_account_id=configuration.sub_account_id,
        user_id=configuration.user_id,
        primary_calendar=ref(configuration.primary) if configuration.primary else None,
        conflict_calendars=[ref(r) for r in sorted(configuration.conflicts)],
        blocking_calendars=[ref(r) for r in configuration.blocking_calendars()],
        all_day_policy=ALL_DAY_POLICY_TO_PB[configuration.all_day_policy],
        time_zone=configuration.time_zone,
        # An unsaved configuration (never configured) still holds its Started event.
        version=configuration.version - len(configuration.pending_events),
    )


def blocked_slots(schedule: UserSchedule, calendar_id: str | None = None) -> list[sync_pb2.BlockedSlot]:
    return [
        sync_pb2.BlockedSlot(
            connection_id=connection_id, calendar_id=calendar, href=href, uid=known.uid, etag=known.etag
        )
        for calendar, connection_id, href, known in schedule.entries(calendar_id)
        if known.uid
    ]


def skipped_resources(schedule: UserSchedule) -> list[sync_pb2.SkippedResource]:
    return [
        sync_pb2.SkippedResource(
            connection_id=connection_id, calendar_id=calendar, href=href,
            etag=known.etag, reason=known.skipped_reason,
        )
        for calendar, connection_id, href, known in schedule.entries()
        if known.skipped_reason
    ]
