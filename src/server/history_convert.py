"""History records and rebuilt states to protobuf messages.

The typed payload of an event is filled from the recorded payload, field by
field by name: each payload message in history.proto mirrors its event's
fields. A field the proto does not know yet still shows in ``payload_json``,
and a unit test checks that every event's fields have a place in the proto.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import Enum
from typing import Any

import orjson
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.timestamp_pb2 import Timestamp

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

_PAYLOADS = {f.name: f.message_type for f in pb.Event.DESCRIPTOR.oneofs_by_name["payload"].fields}
_TIMESTAMP = "google.protobuf.Timestamp"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NAIVE_EPOCH = datetime(1970, 1, 1)
# Keys sorted, so that equal payloads read alike.
_JSON_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS


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
    return pb.Event(**event_fields(record))


def event_fields(record: RecordedEvent) -> dict[str, Any]:
    """The fields of the record's Event message, as keyword arguments for its
    constructor or for adding it to a repeated field in place (``add``): a
    replay converts every event of the log, and setting fields one by one, or
    copying made messages into a response, cost several times as much."""
    field = payload_field(record.kind, record.event_type)
    payload_type = _PAYLOADS.get(field)
    fields: dict[str, Any] = {
        "position": record.position,
        "aggregate_id": str(record.aggregate_id),
        "aggregate_type": KIND_TO_PB[record.kind],
        "aggregate_version": record.version,
        "event_type": record.event_type,
        "event_time": timestamp(record.recorded_at),
        "sub_account_id": record.sub_account_id,
        "payload_json": payload_json(record.payload),
    }
    if payload_type is not None:
        fields[field] = typed_fields(payload_type, record.payload)
    return fields


def payload_json(payload: Mapping[str, Any]) -> str:
    return orjson.dumps(payload, default=_json_value, option=_JSON_OPTIONS).decode()


def _json_value(value: Any) -> Any:
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"cannot render {type(value).__name__} as JSON")


def timestamp(value: datetime | str) -> Timestamp:
    """A recorded time (a datetime, or its ISO 8601 text) as a Timestamp; a time
    without an offset is UTC (as ``Timestamp.FromDatetime`` reads it)."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    since = moment - (_EPOCH if moment.tzinfo is not None else _NAIVE_EPOCH)
    return Timestamp(seconds=since.days * 86_400 + since.seconds, nanos=since.microseconds * 1000)


def typed_fields(descriptor: Any, values: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of a message of type ``descriptor`` from the values of the same
    name, as keyword arguments for its constructor (nested messages as dicts).
    A nested message none of whose fields has a value is left unset."""
    fields: dict[str, Any] = {}
    for name, shape, convert_one, nested in _plan(descriptor):
        value = values.get(name)
        if value is None:
            continue
        if shape == "scalar":
            fields[name] = convert_one(value)
        elif shape == "timestamp":
            fields[name] = timestamp(value)
        elif shape == "message":
            found = typed_fields(nested, value)
            if found:
                fields[name] = found
        elif shape == "messages":
            names = [f.name for f in nested.fields]
            fields[name] = [
                # a compact row: its fields in order
                typed_fields(nested, item if isinstance(item, Mapping) else dict(zip(names, item)))
                for item in value
            ]
        else:
            fields[name] = [convert_one(item) for item in value]
    return fields


@functools.lru_cache(maxsize=None)
def _plan(descriptor: Any) -> list[tuple[str, str, Any, Any]]:
    """How to fill each field of a message type: (name, shape, scalar conversion,
    nested message type)."""
    plan = []
    for field in descriptor.fields:
        if field.message_type is not None:
            if field.message_type.full_name == _TIMESTAMP:
                shape = "timestamp"
            else:
                shape = "messages" if field.is_repeated else "message"
            plan.append((field.name, shape, None, field.message_type))
        else:
            plan.append((field.name, "scalars" if field.is_repeated else "scalar", _scalar(field), None))
    return plan


def _scalar(field: FieldDescriptor) -> Any:
    if field.type == FieldDescriptor.TYPE_STRING:
        return _text
    if field.type == FieldDescriptor.TYPE_BOOL:
        return bool
    return int


def _text(value: Any) -> str:
    if type(value) is str:
        return value
    return str(value.value) if isinstance(value, Enum) else str(value)


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
