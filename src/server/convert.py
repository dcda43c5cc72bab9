"""Domain objects to protobuf messages. No logic beyond the mapping."""

from __future__ import annotations

from datetime import datetime

from google.protobuf.timestamp_pb2 import Timestamp

from calendar_domain.connection import ConnectedCalendar, Connection, ConnectionStatus
from calendar_domain.connection_projection import ConnectionRecord
from calendarintegration.v1 import connection_pb2 as pb

_STATUS = {
    ConnectionStatus.ACTIVE: pb.CONNECTION_STATUS_ACTIVE,
    ConnectionStatus.RECONNECT_REQUIRED: pb.CONNECTION_STATUS_RECONNECT_REQUIRED,
    ConnectionStatus.DISCONNECTED: pb.CONNECTION_STATUS_DISCONNECTED,
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
    )


def calendar(connection_id: str, entry: ConnectedCalendar) -> pb.Calendar:
    return pb.Calendar(
        connection_id=connection_id,
        calendar_id=entry.calendar_id,
        display_name=entry.display_name,
        color=entry.color,
        writable=entry.writable,
        href=entry.href,
    )
