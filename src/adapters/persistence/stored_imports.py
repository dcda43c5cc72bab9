"""What a rebuild's reader makes of the stored events of a range of the log: the
projection's ``prepare``, with a shorter way for the import events, which are
nearly all of a log.

The library selects a range as notification objects (converting every id), and
turns each into a domain event by decrypting, decompressing and decoding its state
(JSON, with an object hook that restores the types it encoded), upcasting it and
making the object; ``prepare`` then reads a few of its attributes.

Here the range's rows are selected from the log's table as plain rows, and an
import event stored at its class's current version is decrypted and decompressed
with the application's own cipher and compressor, decoded with orjson (several
times faster) and prepared from the decoded state. The only value in that state
the JSON transcoder stores as a type of its own is ``fetched_at`` (a datetime in
ISO form), used as the text it is. Every other event (another kind, another
version, another transcoder, an unexpected shape, a state that will not decode) is
selected again through the library, by its topic, and goes the library's way,
which upcasts, and raises its own errors with the event named.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from eventsourcing.application import Application
from eventsourcing.persistence import JSONTranscoder, Mapper
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder
from eventsourcing.utils import get_topic
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Identifier

from calendar_domain.availability_projection import IMPORT_EVENTS, prepare, prepared_import

# topic -> (the version its state must be stored at, whether it replaces an earlier import)
_IMPORTS = {get_topic(cls): (getattr(cls, "class_version", 1), replacing) for cls, replacing in IMPORT_EVENTS.items()}
_ISO_DATETIME = "datetime_iso"  # the JSON transcoder's name for a datetime

# A row as selected here: position, originator id as text, topic, state.
_Row = tuple[int, str, str, bytes]


def read_range(app: Application[Any], start: int, stop: int, topics: tuple[str, ...]) -> list[Any]:
    """``prepare`` of each event of ``topics`` in (start, stop] of the log, in order
    (``ParallelCatchUp``'s ``read_range``)."""
    rows = _select(app, start, stop, topics)
    mapper = app.mapper
    fast = type(mapper.transcoder) is JSONTranscoder
    prepared: list[Any] = [_prepared_import(mapper, row) if fast else None for row in rows]
    missing = [i for i, item in enumerate(prepared) if item is None]
    if missing:  # the library's way, for these only
        wanted = {rows[i][0] for i in missing}
        notifications = {
            n.id: n
            for n in app.recorder.select_notifications(
                start=start, limit=stop - start, stop=stop, topics=sorted({rows[i][2] for i in missing}),
                inclusive_of_start=False,
            )
            if n.id in wanted
        }
        for i in missing:
            prepared[i] = prepare(mapper.to_domain_event(notifications[rows[i][0]]))
    return prepared


def _select(app: Application[Any], start: int, stop: int, topics: Sequence[str]) -> Sequence[_Row]:
    recorder = app.recorder
    if type(recorder) is SQLiteApplicationRecorder:
        statement = (
            f"SELECT rowid, originator_id, topic, state FROM {recorder.events_table_name}"
            f" WHERE rowid > ? AND rowid <= ? AND topic IN ({', '.join('?' for _ in topics)}) ORDER BY rowid"
        )
        with recorder.datastore.transaction(commit=False) as cursor:
            cursor.execute(statement, (start, stop, *topics))
            rows = cursor.fetchall()
        # ids are stored as the library writes them; named as the library reads them
        # (once per originator: a range's events have few)
        names = {stored: str(recorder.convert_originator_id(stored)) for stored in {row[1] for row in rows}}
        return [(position, names[stored], topic, state) for position, stored, topic, state in rows]
    if type(recorder) is PostgresApplicationRecorder:
        query = SQL(
            "SELECT notification_id, originator_id::text, topic, state FROM {schema}.{table}"
            " WHERE notification_id > %s AND notification_id <= %s AND topic = ANY(%s) ORDER BY notification_id"
        ).format(schema=Identifier(recorder.datastore.schema), table=Identifier(recorder.events_table_name))
        with recorder.datastore.get_connection() as connection, connection.cursor(row_factory=tuple_row) as cursor:
            cursor.execute(query, (start, stop, list(topics)), prepare=True)
            return cursor.fetchall()
    return [  # another recorder: through the library
        (n.id, str(n.originator_id), n.topic, n.state)
        for n in recorder.select_notifications(
            start=start, limit=stop - start, stop=stop, topics=topics, inclusive_of_start=False
        )
    ]


def _prepared_import(mapper: Mapper[Any], row: _Row) -> Any:
    """The rows of an import event stored at its current version; None for any other."""
    _, originator_id, topic, state = row
    found = _IMPORTS.get(topic)
    if found is None:
        return None
    version, replacing = found
    try:
        if mapper.cipher:
            state = mapper.cipher.decrypt(state)
        if mapper.compressor:
            state = mapper.compressor.decompress(state)
        fields = orjson.loads(state)
        fetched_at, series = fields["fetched_at"], fields["series"]
        if (
            fields.get("class_version", 1) != version
            or type(fetched_at) is not dict
            or fetched_at.get("_type_") != _ISO_DATETIME
            or type(series) is not dict
            or "_type_" in series
        ):
            return None
        return prepared_import(
            originator_id, fields["connection_id"], fields["calendar_id"], series, fetched_at["_data_"], replacing
        )
    except Exception:  # noqa: BLE001 - the library's way says what is wrong with it
        return None
