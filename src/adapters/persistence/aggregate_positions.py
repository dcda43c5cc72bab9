"""Where in the log an aggregate's last event is.

A booking waits for the availability model to have read what concerns its own
user (their schedule, configuration and sub-account policy), not the whole log:
that is the log position of those aggregates' last events. Within one aggregate
later versions are recorded later, so the last event is found through the
table's primary key (originator id, version), an index lookup per aggregate,
whatever the size of the log or of the aggregate.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from eventsourcing.application import Application
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Identifier


def last_position(app: Application[Any], aggregate_ids: Sequence[uuid.UUID]) -> int:
    """The log position of the last event of any of these aggregates (0: none has one)."""
    recorder = app.recorder
    if type(recorder) is SQLiteApplicationRecorder:
        statement = (
            f"SELECT rowid FROM {recorder.events_table_name}"
            " WHERE originator_id = ? ORDER BY originator_version DESC LIMIT 1"
        )
        found: list[int] = []
        with recorder.datastore.transaction(commit=False) as cursor:
            for aggregate_id in aggregate_ids:
                cursor.execute(statement, (aggregate_id.hex,))  # as the library stores it
                found.extend(row[0] for row in cursor.fetchall())
        return max(found, default=0)
    if type(recorder) is PostgresApplicationRecorder:
        kind = recorder.datastore.originator_id_type
        query = SQL(
            "SELECT max((SELECT notification_id FROM {schema}.{table} WHERE originator_id = ids.id"
            " ORDER BY originator_version DESC LIMIT 1)) FROM unnest(%s::{kind}[]) AS ids(id)"
        ).format(
            schema=Identifier(recorder.datastore.schema), table=Identifier(recorder.events_table_name),
            kind=SQL(kind),  # "uuid" or "text", as the library checked
        )
        ids = list(aggregate_ids) if kind == "uuid" else [str(i) for i in aggregate_ids]
        with recorder.datastore.get_connection() as connection, connection.cursor(row_factory=tuple_row) as cursor:
            cursor.execute(query, (ids,), prepare=True)
            row = cursor.fetchone()
        return int(row[0]) if row and row[0] is not None else 0
    return recorder.max_notification_id() or 0  # another recorder: the whole log, as before
