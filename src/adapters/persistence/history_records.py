"""The history's records of stored events, made without the library's domain events.

A stream that replays the log from its start reads every event. The library's
way to read one (``mapper.to_domain_event``: decrypt, decompress, decode the JSON
with an object hook that restores each encoded value, upcast, make the object),
followed by reading the object's attributes back into a payload, cost most of a
replay's time.

Here an event of a class this version knows, stored at the class's current
version by the JSON transcoder, is decrypted and decompressed with the
application's own cipher and compressor and decoded with orjson, and its record
is made from the decoded state: the payload is the state without the envelope or
vault references, with the values the transcoder encodes as types of their own
written as the history writes them (datetimes in ISO 8601 as recorded, UUIDs as
hyphenated text), which gives the same payload JSON and typed payload as the
library's way. Anything else (another version, which needs upcasting; a value of
any other encoded type; a state that will not decode) goes the library's way,
which raises its own errors with the event named.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

import orjson
from eventsourcing.application import Application
from eventsourcing.persistence import JSONTranscoder, Notification
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder
from eventsourcing.utils import get_topic
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Identifier

from calendar_domain.history import (
    SECRET_FIELDS,
    AggregateKind,
    Owner,
    RecordedEvent,
    event_classes,
    recorded,
)

# The JSON transcoder's encoding of a value of a type of its own: {"_type_": name, "_data_": data}.
_TYPE, _DATA = "_type_", "_data_"
_TYPE_KEY = b'"_type_"'
_DATETIME, _UUID = "datetime_iso", "uuid_hex"
# The envelope in a stored state: the library keeps id and version in columns of their own.
_NOT_PAYLOAD = ("timestamp", "originator_topic", *sorted(SECRET_FIELDS))


@dataclass(frozen=True)
class _Known:
    kind: AggregateKind
    event_type: str
    version: int


class StoredRow(NamedTuple):
    """An event of the log as selected here: a ``Notification``'s fields, in a
    tuple (the library's notification objects cost more to make than the rest
    of a row's selection)."""

    id: int
    originator_id: uuid.UUID | str
    originator_version: int
    topic: str
    state: bytes


class _NotPlain(Exception):
    """A value this reader does not decode itself."""


class HistoryRecords:
    """``notification -> RecordedEvent`` for a history read of the log (the
    ``HistoryService``'s ``decode``), and ``select`` of the log's rows."""

    def __init__(self, app: Application[Any]) -> None:
        self._recorder = app.recorder
        self._mapper = app.mapper
        self._plain = type(app.mapper.transcoder) is JSONTranscoder
        self._known = {
            get_topic(cls): _Known(kind, cls.__qualname__, getattr(cls, "class_version", 1))
            for kind in AggregateKind
            for cls in event_classes(kind)
        }

    def select(self, start: int, limit: int, stop: int, topics: tuple[str, ...]) -> Sequence[Any]:
        """The events in (start, stop] of the log, of ``topics`` (empty: all), at
        most ``limit``, in order (the ``HistoryService``'s ``select``)."""
        recorder = self._recorder
        where = " AND topic IN ({})" if topics else ""
        if type(recorder) is SQLiteApplicationRecorder:
            statement = (
                f"SELECT rowid, originator_id, originator_version, topic, state FROM {recorder.events_table_name}"
                f" WHERE rowid > ? AND rowid <= ?{where.format(', '.join('?' for _ in topics))} ORDER BY rowid LIMIT ?"
            )
            with recorder.datastore.transaction(commit=False) as cursor:
                cursor.execute(statement, (start, stop, *topics, limit))
                rows = cursor.fetchall()
            # ids as the library writes them (text); each originator's once (a page has few)
            ids = {stored: recorder.convert_originator_id(stored) for stored in {row[1] for row in rows}}
            return [StoredRow(row[0], ids[row[1]], row[2], row[3], row[4]) for row in rows]
        if type(recorder) is PostgresApplicationRecorder:
            query = SQL(
                "SELECT notification_id, originator_id, originator_version, topic, state FROM {schema}.{table}"
                " WHERE notification_id > %s AND notification_id <= %s{topics} ORDER BY notification_id LIMIT %s"
            ).format(
                schema=Identifier(recorder.datastore.schema), table=Identifier(recorder.events_table_name),
                topics=SQL(" AND topic = ANY(%s)" if topics else ""),
            )
            params = (start, stop, list(topics), limit) if topics else (start, stop, limit)
            with recorder.datastore.get_connection() as connection, connection.cursor(row_factory=tuple_row) as cursor:
                cursor.execute(query, params, prepare=True)
                return [StoredRow(row[0], row[1], row[2], row[3], bytes(row[4])) for row in cursor.fetchall()]
        return recorder.select_notifications(  # another recorder: the library's notifications
            start=start, limit=limit, stop=stop, topics=topics, inclusive_of_start=False
        )

    def __call__(self, notification: Notification, owner: Owner | None) -> RecordedEvent:
        record = self._plain_record(notification, owner) if self._plain else None
        if record is None:
            return recorded(self._mapper.to_domain_event(notification), notification.id, owner)
        return record

    def _plain_record(self, notification: Notification, owner: Owner | None) -> RecordedEvent | None:
        known = self._known.get(notification.topic)
        if known is None:
            return None
        mapper = self._mapper
        try:
            state = notification.state
            if mapper.cipher:
                state = mapper.cipher.decrypt(state)
            if mapper.compressor:
                state = mapper.compressor.decompress(state)
            fields = orjson.loads(state)
            if type(fields) is not dict or fields.pop("class_version", 1) != known.version:
                return None
            stamp = fields.get("timestamp")
            if type(stamp) is not dict or stamp.get(_TYPE) != _DATETIME:
                return None
            recorded_at = datetime.fromisoformat(stamp[_DATA])
            for name in _NOT_PAYLOAD:
                fields.pop(name, None)
            # The timestamp was one encoded value. Others are mostly fields of the
            # event itself (a fetch time, an account id): those first, and the
            # whole state only when some are deeper.
            encoded = state.count(_TYPE_KEY) - 1
            if encoded:
                for name, value in fields.items():
                    if type(value) is dict and _TYPE in value:
                        fields[name] = _plain(value)
                        encoded -= 1
                if encoded > 0:
                    fields = _plain(fields)
        except Exception:  # noqa: BLE001 - the library's way says what is wrong with it
            return None
        originator_id = notification.originator_id
        return RecordedEvent(
            position=notification.id,
            aggregate_id=originator_id if type(originator_id) is uuid.UUID else uuid.UUID(str(originator_id)),
            kind=owner.kind if owner else known.kind,
            version=notification.originator_version,
            event_type=known.event_type,
            recorded_at=recorded_at,
            sub_account_id=owner.sub_account_id if owner else "",
            payload=fields,
        )


def _plain(value: Any) -> Any:
    """``value`` with every encoded datetime or UUID in it as the history writes it."""
    if type(value) is dict:
        if _TYPE in value:
            kind, data = value.get(_TYPE), value.get(_DATA)
            if kind == _DATETIME and type(data) is str:
                return datetime.fromisoformat(data).isoformat()  # checked, and as the library's datetime writes it
            if kind == _UUID and type(data) is str:
                return str(uuid.UUID(hex=data))
            raise _NotPlain(kind)
        return {key: _plain(item) for key, item in value.items()}
    if type(value) is list:
        return [_plain(item) for item in value]
    return value
