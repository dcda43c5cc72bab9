"""History records and rebuilt states to protobuf messages.

The typed payload of an event is filled field by field from the recorded
payload, by name: each payload message in history.proto mirrors its event's
fields. A field the proto does not know yet still shows in ``payload_json``,
and a unit test checks that every event's fields have a place in the proto.
"""

from __future__ import annotations

import functools
import json
import re
import uuid
from collections.abc import Mapping
from datetime import datetime
from enum import Enum
from typing import Any

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from calendar_domain.history import AggregateKind, RecordedEvent
from calendar_domain.history_service import AggregateState
from calendarintegration.v1 import history_pb2 as pb
from server import convert

KIND_TO_PB = {
    AggregateKind.CONNECTION: pb.AGGREGATE_TYPE_CONNECTION,
    AggregateKind.ACCOUNT_LINK: pb.AGGREGATE_TYPE_ACCOUNT_LINK,
    AggregateKind.CALENDAR_CONFIGURATION: pb.AGGREGATE_TYPE_CALENDAR_CONFIGURATION,
    AggregateKind.USER_SCHEDULE: pb.AGGREGATE_TYPE_USER_SCHEDULE,
    AggregateKind.SUB_ACCOUNT_POLICY: pb.AGGREGATE_TYPE_SUB_ACCOUNT_POLICY,
}
KIND_FROM_PB: dict[int, AggregateKind] = {v: k for k, v in KIND_TO_PB.items()}

_PAYLOADS = {f.name for f in pb.Event.DESCRIPTOR.oneofs_by_name["payload"].fields}
_TIMESTAMP = "google.protobuf.Timestamp"


@functools.lru_cache(maxsize=None)
def payload_field(kind: AggregateKind, event_type: str) -> str:
    """The oneof field of Event for an event type: "Connection.CalendarsDiscovered"
    of a connection is ``connection_calendars_discovered``. A run of capitals is
    one word: "UserSchedule.AppointmentDeletedInICloud" of a user schedule is
    ``user_schedule_appointment_deleted_in_icloud``."""
    name = event_type.rpartition(".")[2]
    return f"{kind.value}_{re.sub(r'(?<=[a-z0-9])(?=[A-Z])', '_', name).lower()}"


@functools.lru_cache(maxsize=4096)
def event_message(record: RecordedEvent) -> pb.Event:
    """Cached by record: a live event sent to many streams is converted once.
    Callers must not change the message they get."""
    message = pb.Event(
        position=record.position,
        aggregate_id=str(record.aggregate_id),
        aggregate_type=KIND_TO_PB[record.kind],
        aggregate_version=record.version,
        event_type=record.event_type,
        event_time=convert.timestamp(record.recorded_at),
        sub_account_id=record.sub_account_id,
        payload_json=payload_json(record.payload),
    )
    field = payload_field(record.kind, record.event_type)
    if field in _PAYLOADS:
        fill(getattr(message, field), record.payload)
        if not message.HasField(field):  # an event with no fields to show
            getattr(message, field).SetInParent()
    return message


def payload_json(payload: Mapping[str, Any]) -> str:
    return json.dumps(payload, default=_json_value, sort_keys=True, ensure_ascii=False)


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"cannot render {type(value).__name__} as JSON")


def fill(message: Message, values: Mapping[str, Any]) -> None:
    """Sets each field of ``message`` from the value of the same name."""
    for name, shape, scalar in _plan(message.DESCRIPTOR):
        value = values.get(name)
        if value is None:
            continue
        if shape == "timestamp":
            getattr(message, name).CopyFrom(convert.timestamp(_datetime(value)))
        elif shape == "messages":
            target = getattr(message, name)
            for item in value:
                added = target.add()
                if not isinstance(item, Mapping):  # a compact row: its fields in order
                    item = dict(zip((f.name for f in added.DESCRIPTOR.fields), item))
                fill(added, item)
        elif shape == "message":
            fill(getattr(message, name), value)
        elif shape == "scalars":
            getattr(message, name).extend(scalar(item) for item in value)
        else:
            setattr(message, name, scalar(value))


@functools.lru_cache(maxsize=None)
def _plan(descriptor: Any) -> list[tuple[str, str, Any]]:
    """How to fill each field of a message type: (name, shape, scalar conversion)."""
    plan = []
    for field in descriptor.fields:
        if field.message_type is not None:
            if field.message_type.full_name == _TIMESTAMP:
                shape = "timestamp"
            else:
                shape = "messages" if field.is_repeated else "message"
            plan.append((field.name, shape, None))
        else:
            plan.append((field.name, "scalars" if field.is_repeated else "scalar", _scalar(field)))
    return plan


def _scalar(field: FieldDescriptor) -> Any:
    if field.type == FieldDescriptor.TYPE_STRING:
        return lambda value: value.value if isinstance(value, Enum) else str(value)
    if field.type == FieldDescriptor.TYPE_BOOL:
        return bool
    return int


def _datetime(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def state_response(state: AggregateState) -> pb.GetAggregateStateResponse:
    aggregate = state.aggregate
    response = pb.GetAggregateStateResponse(
        aggregate_id=str(aggregate.id),
        aggregate_type=KIND_TO_PB[state.kind],
        version=state.version,
        update_time=convert.timestamp(state.recorded_at),
    )
    if state.kind is AggregateKind.CONNECTION:
        response.connection.CopyFrom(
            pb.ConnectionState(
                connection=convert.connection_from_aggregate(aggregate),
                calendars=[convert.calendar(str(aggregate.id), c) for c in aggregate.calendar_list()],
                last_error=aggregate.last_error,
            )
        )
    elif state.kind is AggregateKind.CALENDAR_CONFIGURATION:
        response.calendar_configuration.CopyFrom(convert.configuration(aggregate))
    elif state.kind is AggregateKind.USER_SCHEDULE:
        response.user_schedule.CopyFrom(
            pb.UserScheduleState(
                sub_account_id=aggregate.sub_account_id,
                user_id=aggregate.user_id,
                blocked_slots=convert.blocked_slots(aggregate),
                skipped_resources=convert.skipped_resources(aggregate),
                synced_calendars=[
                    pb.SyncedCalendar(connection_id=connection_id, calendar_id=calendar_id)
                    for calendar_id, connection_id in sorted(aggregate.synced_calendars().items())
                ],
            )
        )
    return response
