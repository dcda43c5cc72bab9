"""The availability read model on SQLite and on PostgreSQL.

``avail_busy`` holds one row per occurrence; a window query is two index range
scans: short occurrences by start (they cannot start more than LONG_SECONDS
before the window), long ones by end (there are few). Series rows keep the
provenance and the text to expand beyond what is materialised.
"""

from __future__ import annotations

import hashlib
import json
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, fields
from typing import Any

from eventsourcing.persistence import Tracking
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from eventsourcing.sqlite import SQLiteDatastore, SQLiteTrackingRecorder
from psycopg.sql import SQL

from adapters.persistence.sql_view import AlreadyProcessed, SQLViewMixin
from calendar_domain.application import APPLICATION_NAME
from calendar_domain.availability import (
    DEFAULT_BOOKING_RULES,
    DEFAULT_WORKING_HOURS,
    BookingRules,
    WorkingHours,
)
from calendar_domain.availability_projection import LONG_SECONDS, AvailabilityWriter, BusyRow, SeriesRow, UserRow
from calendar_domain.busy import AllDayPolicy

TABLES = ("avail_user", "avail_calendar", "avail_policy", "avail_series", "avail_busy")

_CREATE = [
    """CREATE TABLE IF NOT EXISTS {t}avail_user (
        user_key TEXT PRIMARY KEY,
        config_id TEXT,
        sub_account_id TEXT NOT NULL,
        user_id TEXT NOT NULL,
        time_zone TEXT NOT NULL DEFAULT 'UTC',
        all_day_policy TEXT NOT NULL DEFAULT 'follow_transp',
        working_hours TEXT NOT NULL DEFAULT '',
        booking_rules TEXT NOT NULL DEFAULT '',
        version BIGINT NOT NULL DEFAULT 0
    )""",
    "CREATE INDEX IF NOT EXISTS avail_user_by_config ON {t}avail_user (config_id)",
    """CREATE TABLE IF NOT EXISTS {t}avail_calendar (
        user_key TEXT NOT NULL,
        role TEXT NOT NULL,
        calendar_id TEXT NOT NULL,
        connection_id TEXT NOT NULL,
        PRIMARY KEY (user_key, role, calendar_id)
    )""",
    """CREATE TABLE IF NOT EXISTS {t}avail_policy (
        policy_key TEXT PRIMARY KEY,
        stale_calendars_block BOOLEAN NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS {t}avail_series (
        user_key TEXT NOT NULL,
        calendar_id TEXT NOT NULL,
        href TEXT NOT NULL,
        connection_id TEXT NOT NULL,
        uid TEXT NOT NULL,
        etag TEXT NOT NULL,
        fetched_at TEXT NOT NULL,
        summary TEXT NOT NULL,
        location TEXT NOT NULL,
        recurring BOOLEAN NOT NULL,
        zone_dependent BOOLEAN NOT NULL,
        time_zone TEXT NOT NULL,
        first_start BIGINT NOT NULL,
        last_end BIGINT,
        expanded_from BIGINT,
        expanded_until BIGINT,
        ical TEXT NOT NULL,
        PRIMARY KEY (user_key, calendar_id, href)
    )""",
    """CREATE INDEX IF NOT EXISTS avail_series_partial
        ON {t}avail_series (user_key, expanded_until)""",
    """CREATE TABLE IF NOT EXISTS {t}avail_busy (
        user_key TEXT NOT NULL,
        kind TEXT NOT NULL,
        calendar_id TEXT NOT NULL,
        href TEXT NOT NULL,
        recurrence_id TEXT NOT NULL,
        start_at BIGINT NOT NULL,
        end_at BIGINT NOT NULL,
        long_span SMALLINT NOT NULL,
        flags INTEGER NOT NULL,
        summary TEXT NOT NULL,
        location TEXT NOT NULL,
        source_hash INTEGER NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS avail_busy_by_start ON {t}avail_busy (user_key, long_span, start_at)",
    # Long occurrences are few: only they are found by their end, through a partial
    # index that costs the many short ones nothing to write.
    "DROP INDEX IF EXISTS {t}avail_busy_by_end",
    "CREATE INDEX IF NOT EXISTS avail_busy_long_by_end ON {t}avail_busy (user_key, end_at) WHERE long_span = 1",
    # A source's rows are found by a short hash of its names (``source_hash``), and
    # matched on the names themselves: an index of the names (150 bytes a row) cost
    # a rebuild more than everything else it wrote to the table.
    "DROP INDEX IF EXISTS {t}avail_busy_by_source",
    "CREATE INDEX IF NOT EXISTS avail_busy_by_source_hash ON {t}avail_busy (source_hash)",
]

# Indexes that only queries use (a rebuild builds them at the end).
_QUERY_INDEXES = ("avail_busy_by_start", "avail_busy_long_by_end", "avail_series_partial")
assert all(any(name in sql.split() for sql in _CREATE) for name in _QUERY_INDEXES)

_UPSERT_USER = """
    INSERT INTO {t}avail_user (user_key, config_id, sub_account_id, user_id)
    VALUES (%(user_key)s, %(config_id)s, %(sub_account_id)s, %(user_id)s)
    ON CONFLICT (user_key) DO UPDATE SET config_id = COALESCE(excluded.config_id, {t_user}.config_id)"""
# The log position of the last batch that changed anything of the user's: answers
# cache what they read of a user under it. Not data (a rebuild batches differently),
# so ``dump`` leaves it out.
_TOUCH_USERS = "UPDATE {t}avail_user SET version = %(version)s WHERE user_key = %(user_key)s"
_ADD_VERSION = "ALTER TABLE {t}avail_user ADD COLUMN version BIGINT NOT NULL DEFAULT 0"
_ADD_VERSION_IF_MISSING = "ALTER TABLE {t}avail_user ADD COLUMN IF NOT EXISTS version BIGINT NOT NULL DEFAULT 0"
# A model made before occurrence rows had their source's hash gains the column on
# start, worked out for every row in the transaction that adds it.
_ADD_SOURCE_HASH = "ALTER TABLE {t}avail_busy ADD COLUMN source_hash INTEGER NOT NULL DEFAULT -1"
_FILL_SOURCE_HASH = "UPDATE {t}avail_busy SET source_hash = {hash}"
_ADD_SOURCE_HASH_IF_MISSING = """DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM information_schema.columns
                   WHERE table_schema = '{schema}' AND table_name = 'avail_busy' AND column_name = 'source_hash') THEN
        {add};
        {fill};
        ALTER TABLE {{t}}avail_busy ALTER COLUMN source_hash DROP DEFAULT;
    END IF;
END $$"""
_USER_OF_CONFIG = "SELECT user_key FROM {t}avail_user WHERE config_id = %(config_id)s"
_USER = "SELECT * FROM {t}avail_user WHERE user_key = %(user_key)s"
_SET_CALENDAR = """
    INSERT INTO {t}avail_calendar VALUES (%(user_key)s, %(role)s, %(calendar_id)s, %(connection_id)s)
    ON CONFLICT (user_key, role, calendar_id) DO UPDATE SET connection_id = excluded.connection_id"""
_REMOVE_ROLE = """
    DELETE FROM {t}avail_calendar WHERE user_key = %(user_key)s AND role = %(role)s
      AND (%(calendar_id)s = '' OR calendar_id = %(calendar_id)s)"""
_SET_POLICY = """
    INSERT INTO {t}avail_policy VALUES (%(policy_key)s, %(block)s)
    ON CONFLICT (policy_key) DO UPDATE SET stale_calendars_block = excluded.stale_calendars_block"""
_SERIES_COLUMNS = (
    "user_key", "calendar_id", "href", "connection_id", "uid", "etag", "fetched_at", "summary", "location",
    "recurring", "zone_dependent", "time_zone", "first_start", "last_end", "expanded_from", "expanded_until", "ical",
)
assert _SERIES_COLUMNS == tuple(f.name for f in fields(SeriesRow)), "series rows bind by position"
# The buffered inserts take positional rows (tuples bind faster than dicts): a
# series in SeriesRow's field order, an occurrence as the user key, BusyRow's
# fields and long_span.
_UPSERT_SERIES = (
    "INSERT INTO {t}avail_series (" + ", ".join(_SERIES_COLUMNS) + ") VALUES ("
    + ", ".join("%s" for _ in _SERIES_COLUMNS) + ")"
    " ON CONFLICT (user_key, calendar_id, href) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _SERIES_COLUMNS[3:])
)
_BUSY_ROW_COLUMNS = (
    "user_key", "kind", "calendar_id", "href", "recurrence_id", "start_at", "end_at", "flags", "summary", "location",
    "long_span", "source_hash",
)
_INSERT_BUSY = (
    f"INSERT INTO {{t}}avail_busy ({', '.join(_BUSY_ROW_COLUMNS)}) VALUES ({', '.join('%s' for _ in _BUSY_ROW_COLUMNS)})"
)
_COPY_BUSY = f"COPY {{t}}avail_busy ({', '.join(_BUSY_ROW_COLUMNS)}) FROM STDIN"


@dataclass(frozen=True)
class _StagedUpsert:
    """An upsert sent as one COPY into a session's staging table and one INSERT ...
    ON CONFLICT from it, instead of a statement per row (PostgreSQL). Rows of one
    key keep the last only: each upsert sets every column, and anything else the
    batch does sends the buffered rows first."""

    stage: str  # creates the staging table, once per session
    copy: str
    merge: str
    clear: str  # empties it after each use, freeing its pages (no autovacuum for a temporary table)
    key_length: int  # the leading values that name a row
    direct: str  # COPY into the table itself, for rows whose key it cannot hold yet


_STAGED_SERIES = _StagedUpsert(
    stage="CREATE TEMPORARY TABLE IF NOT EXISTS avail_series_staged (LIKE {t}avail_series)",
    copy=f"COPY avail_series_staged ({', '.join(_SERIES_COLUMNS)}) FROM STDIN",
    merge=(
        "INSERT INTO {t}avail_series (" + ", ".join(_SERIES_COLUMNS) + ") SELECT " + ", ".join(_SERIES_COLUMNS)
        + " FROM avail_series_staged" + _UPSERT_SERIES[_UPSERT_SERIES.index(" ON CONFLICT"):]
    ),
    clear="TRUNCATE avail_series_staged",
    key_length=3,
    direct=f"COPY {{t}}avail_series ({', '.join(_SERIES_COLUMNS)}) FROM STDIN",
)
_SOURCE = """source_hash = %(source_hash)s
      AND user_key = %(user_key)s AND calendar_id = %(calendar_id)s AND href = %(href)s"""
_DELETE_BUSY_OF_SOURCE = "DELETE FROM {t}avail_busy WHERE " + _SOURCE
# a whole calendar's (rare: a calendar no longer blocks): through the user's rows
_DELETE_BUSY_OF_CALENDAR = "DELETE FROM {t}avail_busy WHERE user_key = %(user_key)s AND calendar_id = %(calendar_id)s"
_MOVE_BUSY = """
    UPDATE {t}avail_busy SET start_at = %(start)s, end_at = %(end)s, long_span = %(long_span)s WHERE """ + _SOURCE
_DELETE_SERIES_OF = """
    DELETE FROM {t}avail_series WHERE user_key = %(user_key)s AND calendar_id = %(calendar_id)s
      AND (%(href)s = '' OR href = %(href)s)"""
_ZONE_DEPENDENT = """
    SELECT * FROM {t}avail_series WHERE user_key = %(user_key)s AND zone_dependent
      AND time_zone <> %(time_zone)s ORDER BY calendar_id, href"""

_CALENDARS = "SELECT role, calendar_id, connection_id FROM {t}avail_calendar WHERE user_key = %(user_key)s"
_POLICY = "SELECT stale_calendars_block FROM {t}avail_policy WHERE policy_key = %(policy_key)s"
_BUSY_COLUMNS = "kind, calendar_id, href, recurrence_id, start_at, end_at, flags, summary, location"
_BUSY = f"""
    SELECT {_BUSY_COLUMNS} FROM {{t}}avail_busy
    WHERE user_key = %(user_key)s AND long_span = 0
      AND start_at >= %(low)s AND start_at < %(end)s AND end_at >= %(start)s
    UNION ALL
    SELECT {_BUSY_COLUMNS} FROM {{t}}avail_busy
    WHERE user_key = %(user_key)s AND long_span = 1 AND end_at >= %(start)s AND start_at < %(end)s"""
# Several series of one calendar at once: a fixed number of hrefs per statement
# (the last repeated to fill it), so that one statement text serves every call.
_SERIES_BATCH = 64
_SERIES_OF = f"""
    SELECT * FROM {{t}}avail_series
    WHERE user_key = %(user_key)s AND calendar_id = %(calendar_id)s
      AND href IN ({', '.join(f'%(h{i})s' for i in range(_SERIES_BATCH))})"""
# A source's occurrence that ends first after a moment, else its last one.
_OCCURRENCE_NEAR = f"""
    SELECT {_BUSY_COLUMNS} FROM {{t}}avail_busy WHERE {_SOURCE}
    ORDER BY CASE WHEN end_at > %(after)s THEN 0 ELSE 1 END,
      CASE WHEN end_at > %(after)s THEN start_at ELSE -start_at END
    LIMIT 1"""
_PARTIAL_SERIES = """
    SELECT * FROM {t}avail_series
    WHERE user_key = %(user_key)s AND expanded_until IS NOT NULL
      AND (expanded_until < %(end)s OR expanded_from > %(start)s)
      AND first_start < %(end)s AND (last_end IS NULL OR last_end > %(start)s)"""
_SERIES = """
    SELECT * FROM {t}avail_series
    WHERE user_key = %(user_key)s AND calendar_id = %(calendar_id)s AND href = %(href)s"""


def source_hash(user_key: str, calendar_id: str, href: str) -> int:
    """The index key of a source's occurrence rows: 31 bits of the MD5 of its names
    (``_SOURCE_HASH_SQL`` works it out the same way). Not an identity: rows are
    matched on the names as well, so two sources sharing one only share index pages."""
    digest = hashlib.md5(f"{user_key}\n{calendar_id}\n{href}".encode(), usedforsecurity=False).digest()
    return int.from_bytes(digest[:4], "big") >> 1


# the same in SQL (PostgreSQL), on the names' UTF-8 whatever the database's encoding
_SOURCE_HASH_SQL = (
    "(('x' || substr(md5(convert_to(user_key || chr(10) || calendar_id || chr(10) || href, 'UTF8')), 1, 8))"
    "::bit(32)::bigint >> 1)"
)


def _busy_params(user_key: str, rows: Sequence[tuple[Any, ...]], source: int | None = None) -> list[tuple[Any, ...]]:
    """Insert parameters of BusyRow-shaped rows; ``source``: their source's hash,
    where they all have one source (an imported series)."""
    if source is None:  # row[1], row[2]: calendar_id, href
        return [
            (user_key, *row, int(row[5] - row[4] > LONG_SECONDS), source_hash(user_key, row[1], row[2])) for row in rows
        ]
    return [(user_key, *row, int(row[5] - row[4] > LONG_SECONDS), source) for row in rows]


def _series_params(series: SeriesRow) -> tuple[Any, ...]:
    return tuple(series.__dict__.values())  # the fields, in _SERIES_COLUMNS' order


def series_row(row: Any) -> SeriesRow:
    values = {c: row[c] for c in _SERIES_COLUMNS}
    # SQLite hands booleans back as integers
    return SeriesRow(**{**values, "recurring": bool(values["recurring"]), "zone_dependent": bool(values["zone_dependent"])})


def user_row(row: Any) -> UserRow:
    return UserRow(
        user_key=row["user_key"],
        sub_account_id=row["sub_account_id"],
        user_id=row["user_id"],
        time_zone=row["time_zone"],
        all_day_policy=AllDayPolicy(row["all_day_policy"]),
        working_hours=WorkingHours.from_payload(json.loads(row["working_hours"]))
        if row["working_hours"]
        else DEFAULT_WORKING_HOURS,
        booking_rules=BookingRules.from_payload(json.loads(row["booking_rules"]))
        if row["booking_rules"]
        else DEFAULT_BOOKING_RULES,
        version=int(row["version"]),
    )


def busy_row(row: Any) -> BusyRow:
    # the columns are selected in BusyRow's order (_BUSY_COLUMNS)
    return BusyRow(*(row.values() if isinstance(row, dict) else row))


# Buffered rows of one kind sent at once (bounds what a big batch holds in memory,
# and lets a rebuild write while its readers read on).
_FLUSH_ROWS = 2_000


class _BatchWriter:
    """AvailabilityWriter on one open transaction. Inserts of occurrence and series
    rows are buffered and sent with executemany (or COPY, where the dialect has
    one for that insert); any other statement (and any read) sends them first, so
    the order of effects is the order of events."""

    def __init__(
        self,
        cursor: Any,
        statement: Callable[[str], str],
        dict_rows: Callable[[Any], list[dict[str, Any]]],
        copies: dict[str, str | _StagedUpsert] | None = None,
        written: set[int] | None = None,
        sender: ThreadPoolExecutor | None = None,
    ) -> None:
        self._cursor = cursor
        self._statement = statement
        self._dict_rows = dict_rows
        # insert -> the COPY (or staged upsert) that does the same (PostgreSQL)
        self._copies = copies or {}
        # Filling a model that was empty (a rebuild): the hashes of every key a
        # staged upsert has sent since. A key not among them cannot be in the table
        # yet, so its row is copied in directly (a hash shared by chance only sends
        # a row the slower way).
        self._written = written
        # A thread that sends buffered rows while this one works out the next ones
        # (a rebuild); one send at a time, and every other use of the cursor waits
        # for it.
        self._sender = sender
        self._sending: Future[None] | None = None
        self._pending: dict[str, list[Any]] = {}
        self.touched: set[str] = set()  # users whose rows this batch changed

    def flush(self) -> None:
        """Sends the buffered rows (through the sender, if there is one: the cursor
        is not used here until ``sent``)."""
        pending, self._pending = self._pending, {}
        if not any(pending.values()):
            return
        if self._sender is None:
            self._send(pending)
            return
        self.sent()
        self._sending = self._sender.submit(self._send, pending)

    def sent(self) -> None:
        """Waits for the rows being sent; raises what sending them raised."""
        sending, self._sending = self._sending, None
        if sending is not None:
            sending.result()

    def settle(self) -> None:
        """Waits for a send under way, whatever its outcome (before the transaction
        ends on an error that has already been raised)."""
        try:
            self.sent()
        except Exception:  # noqa: BLE001 - the error being handled is the first one
            pass

    def _send(self, pending: dict[str, list[Any]]) -> None:
        for sql, rows in pending.items():
            if not rows:
                continue
            copy = self._copies.get(sql)
            if copy is None:
                self._cursor.executemany(self._statement(sql), rows)
            elif isinstance(copy, _StagedUpsert):
                self._staged_upsert(copy, rows)
            else:
                self._copy(copy, rows)

    def _copy(self, sql: str, rows: Iterable[Any]) -> None:
        with self._cursor.copy(self._statement(sql)) as stream:
            for row in rows:
                stream.write_row(row)

    def _staged_upsert(self, upsert: _StagedUpsert, rows: list[Any]) -> None:
        last = {row[: upsert.key_length]: row for row in rows}
        if self._written is not None:
            written, new = self._written, []
            for key in list(last):
                if hash(key) not in written:
                    written.add(hash(key))
                    new.append(last.pop(key))
            if new:
                self._copy(upsert.direct, new)
            if not last:
                return
        self._cursor.execute(self._statement(upsert.stage))
        self._copy(upsert.copy, last.values())
        self._cursor.execute(self._statement(upsert.merge))
        self._cursor.execute(upsert.clear)

    def finish(self, position: int) -> None:
        """Sends what is buffered, and moves the version of every user touched."""
        self._add(_TOUCH_USERS, [{"user_key": key, "version": position} for key in sorted(self.touched)])
        self.flush()
        self.sent()

    def _execute(self, sql: str, params: dict[str, Any]) -> None:
        self.flush()
        self.sent()
        self._cursor.execute(self._statement(sql), params)

    def _query(self, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        self._execute(sql, params)
        return self._dict_rows(self._cursor)

    def _add(self, sql: str, rows: list[Any]) -> None:
        buffered = self._pending.setdefault(sql, [])
        buffered.extend(rows)
        if len(buffered) >= _FLUSH_ROWS:  # sent while the batch's next events are still being read
            self.flush()

    def upsert_user(self, user_key: str, sub_account_id: str, user_id: str, config_id: str | None) -> None:
        self.touched.add(user_key)
        self._execute(
            _UPSERT_USER,
            {"user_key": user_key, "config_id": config_id, "sub_account_id": sub_account_id, "user_id": user_id},
        )

    def user_key_of_config(self, config_id: str) -> str | None:
        rows = self._query(_USER_OF_CONFIG, {"config_id": config_id})
        return str(rows[0]["user_key"]) if rows else None

    def user(self, user_key: str) -> UserRow | None:
        rows = self._query(_USER, {"user_key": user_key})
        return user_row(rows[0]) if rows else None

    def update_user(self, user_key: str, **fields: str) -> None:
        self.touched.add(user_key)
        assignments = ", ".join(f"{name} = %({name})s" for name in sorted(fields))
        self._execute(
            f"UPDATE {{t}}avail_user SET {assignments} WHERE user_key = %(user_key)s", {**fields, "user_key": user_key}
        )

    def set_calendar(self, user_key: str, role: str, calendar_id: str, connection_id: str) -> None:
        self.touched.add(user_key)
        self._execute(
            _SET_CALENDAR,
            {"user_key": user_key, "role": role, "calendar_id": calendar_id, "connection_id": connection_id},
        )

    def remove_calendar_role(self, user_key: str, role: str, calendar_id: str | None) -> None:
        self.touched.add(user_key)
        self._execute(_REMOVE_ROLE, {"user_key": user_key, "role": role, "calendar_id": calendar_id or ""})

    def set_policy(self, sub_account_id: str, stale_calendars_block: bool) -> None:
        self._execute(_SET_POLICY, {"policy_key": sub_account_id, "block": stale_calendars_block})

    def put_series(self, series: SeriesRow, busy: list[BusyRow], replacing: bool) -> None:
        self.put_series_values(_series_params(series), busy, replacing)

    def put_series_values(self, values: tuple[Any, ...], busy: Sequence[tuple[Any, ...]], replacing: bool) -> None:
        user_key, calendar_id, href = values[:3]  # _SERIES_COLUMNS' first three
        self.touched.add(user_key)
        source = source_hash(user_key, calendar_id, href)
        if replacing:  # the series' old occurrences go first
            self._execute(
                _DELETE_BUSY_OF_SOURCE,
                {"source_hash": source, "user_key": user_key, "calendar_id": calendar_id, "href": href},
            )
        self._add(_UPSERT_SERIES, [values])
        self._add(_INSERT_BUSY, _busy_params(user_key, busy, source))

    def replace_occurrences(self, series: SeriesRow, busy: list[BusyRow]) -> None:
        self.put_series(series, busy, replacing=True)

    def remove_series(self, user_key: str, calendar_id: str, href: str | None) -> None:
        self.touched.add(user_key)
        key = {"user_key": user_key, "calendar_id": calendar_id, "href": href or ""}
        if href:
            self._execute(_DELETE_BUSY_OF_SOURCE, {**key, "source_hash": source_hash(user_key, calendar_id, href)})
        else:
            self._execute(_DELETE_BUSY_OF_CALENDAR, key)
        self._execute(_DELETE_SERIES_OF, key)

    def zone_dependent_series(self, user_key: str, other_than: str) -> list[SeriesRow]:
        return [series_row(r) for r in self._query(_ZONE_DEPENDENT, {"user_key": user_key, "time_zone": other_than})]


    def put_busy(self, user_key: str, rows: list[BusyRow]) -> None:
        self.touched.add(user_key)
        self._add(_INSERT_BUSY, _busy_params(user_key, rows))

    def move_busy(self, user_key: str, calendar_id: str, href: str, start: int, end: int) -> None:
        self.touched.add(user_key)
        self._execute(
            _MOVE_BUSY,
            {"user_key": user_key, "calendar_id": calendar_id, "href": href, "start": start, "end": end,
             "long_span": int(end - start > LONG_SECONDS), "source_hash": source_hash(user_key, calendar_id, href)},
        )


class AvailabilityViewMixin(SQLViewMixin):
    def write_batch(self, tracking: Tracking, work: Callable[[AvailabilityWriter], None], after: int = -1) -> None:
        """Runs ``work`` and records ``tracking``, in one transaction. ``after``: the
        position the batch follows; if the view is already past it (another
        process got there first), nothing is written and AlreadyProcessed raised."""
        with self._write_transaction() as cursor:
            if after >= 0:
                cursor.execute(*self._tracking_sql(tracking.application_name))
                found = [next(iter(dict(row).values())) for row in cursor.fetchall()]
                if found and (found[0] or 0) > after:
                    raise AlreadyProcessed(found[0])
            writer = _BatchWriter(cursor, self._batch_statement, self._dict_rows, self._copies, self._filling, self._sender)
            try:
                work(writer)
                writer.finish(tracking.notification_id)
            finally:
                writer.settle()  # nothing may use the cursor once the transaction ends
            self._insert_tracking(cursor, tracking)  # type: ignore[attr-defined]

    def _write_transaction(self) -> AbstractContextManager[Any]:
        return self.datastore.transaction(commit=True)  # type: ignore[no-any-return]

    # Buffered inserts the dialect sends as COPY (many rows at a time, no conflicts).
    _copies: dict[str, str | _StagedUpsert] = {}
    # While ``rebuilding`` fills the emptied model: the keys sent (_BatchWriter).
    _filling: set[int] | None = None
    # While ``rebuilding`` runs: the thread batches send their rows from.
    _sender: ThreadPoolExecutor | None = None

    def _batch_statement(self, sql: str) -> str:
        return self.statement(sql.replace("{t_user}", self._user_table()))

    def _user_table(self) -> str:
        # the table named in an upsert's SET, as the dialect wants it
        return f'"{self.datastore.schema}".avail_user' if self.dialect == "postgres" else "avail_user"

    @staticmethod
    def _dict_rows(cursor: Any) -> list[dict[str, Any]]:
        # PostgreSQL rows come as dicts, SQLite's as sqlite3.Row
        return [dict(row) for row in cursor.fetchall()]

    # -- queries ----------------------------------------------------------------------

    def user(self, user_key: str) -> UserRow | None:
        rows = self.read(_USER, {"user_key": user_key})
        return user_row(rows[0]) if rows else None

    def calendars(self, user_key: str) -> list[tuple[str, str, str]]:
        """(role, calendar_id, connection_id) of the user's blocking calendars."""
        return [(r["role"], r["calendar_id"], r["connection_id"]) for r in self.read(_CALENDARS, {"user_key": user_key})]

    def stale_calendars_block(self, policy_key: str) -> bool:
        rows = self.read(_POLICY, {"policy_key": policy_key})
        return bool(rows[0]["stale_calendars_block"]) if rows else True

    def busy(self, user_key: str, start: int, end: int) -> list[BusyRow]:
        rows = self.read(_BUSY, {"user_key": user_key, "start": start, "end": end, "low": start - LONG_SECONDS})
        return list(map(busy_row, rows))

    def partial_series(self, user_key: str, start: int, end: int) -> list[SeriesRow]:
        """Series whose materialised occurrences do not cover [start, end)."""
        rows = self.read(_PARTIAL_SERIES, {"user_key": user_key, "start": start, "end": end})
        return [series_row(r) for r in rows]

    def series(self, user_key: str, calendar_id: str, href: str) -> SeriesRow | None:
        rows = self.read(_SERIES, {"user_key": user_key, "calendar_id": calendar_id, "href": href})
        return series_row(rows[0]) if rows else None

    def series_of(self, user_key: str, sources: Iterable[tuple[str, str]]) -> dict[tuple[str, str], SeriesRow]:
        """The series of these (calendar_id, href) that the model holds, by key."""
        by_calendar: dict[str, list[str]] = {}
        for calendar_id, href in set(sources):
            by_calendar.setdefault(calendar_id, []).append(href)
        found: dict[tuple[str, str], SeriesRow] = {}
        for calendar_id, hrefs in by_calendar.items():
            for i in range(0, len(hrefs), _SERIES_BATCH):
                chunk = hrefs[i : i + _SERIES_BATCH]
                chunk += [chunk[-1]] * (_SERIES_BATCH - len(chunk))
                params = {"user_key": user_key, "calendar_id": calendar_id, **{f"h{n}": h for n, h in enumerate(chunk)}}
                for row in map(series_row, self.read(_SERIES_OF, params)):
                    found[(row.calendar_id, row.href)] = row
        return found

    def occurrence_near(self, user_key: str, calendar_id: str, href: str, after: int) -> BusyRow | None:
        """The source's held occurrence that ends first after ``after``, else its last one."""
        rows = self.read(_OCCURRENCE_NEAR, {
            "source_hash": source_hash(user_key, calendar_id, href), "user_key": user_key,
            "calendar_id": calendar_id, "href": href, "after": after,
        })
        return busy_row(rows[0]) if rows else None

    def dump(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of every table, sorted: what a rebuild must reproduce."""
        result: dict[str, list[tuple[Any, ...]]] = {}
        with self.datastore.transaction(commit=False) as cursor:
            for table in TABLES:
                cursor.execute(self.statement(f"SELECT * FROM {{t}}{table}"))
                rows = [dict(row) for row in cursor.fetchall()]
                result[table] = sorted(tuple(_plain(v) for k, v in row.items() if k != "version") for row in rows)
        return result

    @contextmanager
    def rebuilding(self) -> Iterator[None]:
        """Empties the model and forgets its position (``drop``), for a rebuild to
        fill it again inside. The indexes only queries use are dropped in the same
        transaction, before the tables are emptied (so they are not emptied as
        well), and built once at the end from the sorted rows instead of row by
        row. Those the writes look rows up by stay. A model left without them (a
        rebuild that died) gets them back on its next start (``create_table``).

        Meanwhile batches hand their buffered rows to a thread that sends them while
        the batch works out the next ones (the database works while this process
        does), and series rows whose key this process has not sent yet go in by
        plain COPY (PostgreSQL), not through the staged upsert: no other process may
        write to the model meanwhile (one that did would make the rebuild fail on
        the duplicate key, not change what it builds)."""
        prefix = self.table_prefix()
        with self._drop_transaction() as cursor:
            for name in _QUERY_INDEXES:
                cursor.execute(f"DROP INDEX IF EXISTS {prefix}{name}")
            self._empty(cursor)
        try:
            self._filling = set()
            self._sender = ThreadPoolExecutor(max_workers=1, thread_name_prefix="availability-rows")
            yield
        finally:
            self._filling = None
            if self._sender is not None:
                self._sender.shutdown()
                self._sender = None
            with self._write_transaction() as cursor:
                for sql in _CREATE:
                    if any(name in sql.split() for name in _QUERY_INDEXES):
                        cursor.execute(self.statement(sql))

    def drop(self) -> None:
        """Empties the read model and forgets its position (before a rebuild)."""
        with self._drop_transaction() as cursor:
            self._empty(cursor)

    def _empty(self, cursor: Any) -> None:
        for statement in self._empty_statements():
            cursor.execute(statement)
        cursor.execute(self._delete_tracking_sql(), (APPLICATION_NAME,))

    def _drop_transaction(self) -> AbstractContextManager[Any]:
        return self._write_transaction()

    def _empty_statements(self) -> list[str]:
        return [self.statement(f"DELETE FROM {{t}}{table}") for table in TABLES]

    def _delete_tracking_sql(self) -> str:
        raise NotImplementedError


def _plain(value: Any) -> Any:
    if isinstance(value, (bytes, memoryview)):
        return bytes(value)
    if isinstance(value, bool):
        return int(value)
    return tuple(value) if isinstance(value, list) else value


_WRITER_CACHE_KIB = 64 * 1024


def _columns(cursor: Any, table: str) -> set[str]:
    """The names of a SQLite table's columns (none: no such table)."""
    cursor.execute(f"PRAGMA table_info({table})")
    return {row[1] for row in cursor.fetchall()}


class SQLiteAvailabilityView(AvailabilityViewMixin, SQLiteTrackingRecorder):
    dialect = "sqlite"

    def __init__(self, datastore: SQLiteDatastore, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        self._relaxed: weakref.WeakSet[Any] = weakref.WeakSet()  # connections set to synchronous=NORMAL

    def construct_create_table_statements(self) -> list[str]:
        return [*super().construct_create_table_statements(), *map(self.statement, _CREATE)]

    def create_table(self) -> None:
        with self.datastore.transaction(commit=True) as cursor:  # a model made before source hashes
            columns = _columns(cursor, "avail_busy")
            if columns and "source_hash" not in columns:
                cursor.sqlite_cursor.connection.create_function("source_hash", 3, source_hash, deterministic=True)
                cursor.execute(_ADD_SOURCE_HASH.format(t=""))
                cursor.execute(_FILL_SOURCE_HASH.format(t="", hash="source_hash(user_key, calendar_id, href)"))
        super().create_table()
        with self.datastore.transaction(commit=True) as cursor:  # a model made before users had versions
            if "version" not in _columns(cursor, "avail_user"):
                cursor.execute(_ADD_VERSION.format(t=""))

    def _delete_tracking_sql(self) -> str:
        return "DELETE FROM tracking WHERE application_name = ?"

    @contextmanager
    def _write_transaction(self) -> Iterator[Any]:
        """A batch's transaction, on a connection that syncs the file at WAL
        checkpoints only (synchronous=NORMAL), not at every commit. The model stays
        consistent whatever happens; a power cut may undo its last batches, and
        with them their tracking position, so they are projected again from the log.
        """
        with self.datastore.get_connection(commit=True) as connection:
            if connection not in self._relaxed:
                connection.cursor().execute("PRAGMA synchronous=NORMAL")
                # a batch touches index pages all over the model: keep more of them
                connection.cursor().execute(f"PRAGMA cache_size=-{_WRITER_CACHE_KIB}")
                self._relaxed.add(connection)
            with connection.transaction(commit=True) as cursor:
                yield cursor

    @contextmanager
    def _drop_transaction(self) -> Iterator[Any]:
        """The drop's transaction, without overwriting each freed page with zeros
        (secure_delete, on in some builds: most of a drop's time). Nothing is
        lost to privacy: every row dropped is made again from the same log by the
        rebuild that follows; a row an event removes is still deleted securely."""
        with self._write_transaction() as cursor:
            cursor.execute("PRAGMA secure_delete")
            found = int(cursor.fetchone()[0])
            before = "FAST" if found == 2 else str(found)  # reads back as 2, set by name
            cursor.execute("PRAGMA secure_delete=0")
            try:
                yield cursor
            finally:
                cursor.execute(f"PRAGMA secure_delete={before}")


def scratch_availability_view() -> SQLiteAvailabilityView:
    """An empty availability view in memory, private to its caller (answers about
    the past are projected into one)."""
    view = SQLiteAvailabilityView(SQLiteDatastore(":memory:"))
    view.create_table()
    return view


_DROP_LOCK_TIMEOUT = "10s"


class PostgresAvailabilityView(AvailabilityViewMixin, PostgresTrackingRecorder):
    dialect = "postgres"
    # occurrences are only ever inserted: COPY moves them several times faster
    _copies = {_INSERT_BUSY: _COPY_BUSY, _UPSERT_SERIES: _STAGED_SERIES}

    def __init__(self, datastore: PostgresDatastore, **kwargs: Any) -> None:
        kwargs["tracking_table_name"] = "availability_view_tracking"
        super().__init__(datastore, **kwargs)
        # a model made before source hashes gains them right after its tables exist
        at = next(i for i, sql in enumerate(_CREATE) if "TABLE IF NOT EXISTS {t}avail_busy " in sql) + 1
        add_source_hash = _ADD_SOURCE_HASH_IF_MISSING.format(
            schema=datastore.schema, add=_ADD_SOURCE_HASH, fill=_FILL_SOURCE_HASH.format(t="{t}", hash=_SOURCE_HASH_SQL)
        )
        statements = [*_CREATE[:at], add_source_hash, *_CREATE[at:], _ADD_VERSION_IF_MISSING]
        self.sql_create_statements.extend(SQL(self.statement(s)) for s in statements)  # type: ignore[misc]

    def _delete_tracking_sql(self) -> str:
        return f'DELETE FROM "{self.datastore.schema}".{self.tracking_table_name} WHERE application_name = %s'

    def _empty_statements(self) -> list[str]:
        # no row by row: the drop's transaction holds the tables alone until it ends
        return [self.statement("TRUNCATE " + ", ".join(f"{{t}}{table}" for table in TABLES))]

    @contextmanager
    def _drop_transaction(self) -> Iterator[Any]:
        """TRUNCATE waits for every reader of a table to finish, and every later
        reader waits behind it: a drop that cannot have the tables soon fails with
        the database's lock timeout error instead of stalling the queries."""
        with self._write_transaction() as cursor:
            cursor.execute(f"SET LOCAL lock_timeout = '{_DROP_LOCK_TIMEOUT}'")
            yield cursor
