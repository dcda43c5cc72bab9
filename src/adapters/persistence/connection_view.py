"""The connections read model on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from eventsourcing.persistence import Tracking
from psycopg.sql import SQL
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from eventsourcing.sqlite import SQLiteDatastore, SQLiteTrackingRecorder

from adapters.persistence.sql_view import SQLViewMixin
from calendar_domain.connection import ConnectedCalendar, ConnectionStatus
from calendar_domain.connection_projection import ConnectionRecord

_CREATE = [
    """CREATE TABLE IF NOT EXISTS {t}connection_view (
        connection_id TEXT PRIMARY KEY,
        sub_account_id TEXT NOT NULL,
        user_id TEXT NOT NULL,
        apple_id TEXT NOT NULL,
        account_id TEXT NOT NULL,
        status TEXT NOT NULL,
        calendar_count INTEGER NOT NULL,
        connect_time TEXT NOT NULL,
        update_time TEXT NOT NULL,
        version BIGINT NOT NULL,
        created_position BIGINT NOT NULL,
        kind TEXT NOT NULL DEFAULT 'icloud',
        source TEXT NOT NULL DEFAULT ''
    )""",
    """CREATE INDEX IF NOT EXISTS connection_view_by_sub_account
        ON {t}connection_view (sub_account_id, created_position)""",
    """CREATE INDEX IF NOT EXISTS connection_view_by_user
        ON {t}connection_view (sub_account_id, user_id, created_position)""",
    """CREATE INDEX IF NOT EXISTS connection_view_by_account
        ON {t}connection_view (account_id)""",
    """CREATE TABLE IF NOT EXISTS {t}connection_calendar_view (
        connection_id TEXT NOT NULL,
        ordinal INTEGER NOT NULL,
        calendar_id TEXT NOT NULL,
        href TEXT NOT NULL,
        display_name TEXT NOT NULL,
        color TEXT NOT NULL,
        writable BOOLEAN NOT NULL,
        kind TEXT NOT NULL DEFAULT 'calendar',
        source TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (connection_id, ordinal)
    )""",
]
# Models made before subscribed calendars gain the columns (what they hold is
# all iCloud, CalDAV calendars: the defaults).
_ADDED_COLUMNS = [
    ("connection_view", "kind", "TEXT NOT NULL DEFAULT 'icloud'"),
    ("connection_view", "source", "TEXT NOT NULL DEFAULT ''"),
    ("connection_calendar_view", "kind", "TEXT NOT NULL DEFAULT 'calendar'"),
    ("connection_calendar_view", "source", "TEXT NOT NULL DEFAULT ''"),
]

_INSERT_CONNECTION = """
    INSERT INTO {t}connection_view VALUES (
        %(connection_id)s, %(sub_account_id)s, %(user_id)s, %(apple_id)s, %(account_id)s,
        %(status)s, %(calendar_count)s, %(connect_time)s, %(update_time)s, %(version)s,
        %(created_position)s, %(kind)s, %(source)s)"""
_UPDATE_STATUS = """
    UPDATE {t}connection_view SET status = %(status)s, update_time = %(update_time)s,
        version = %(version)s WHERE connection_id = %(connection_id)s"""
_UPDATE_CALENDAR_COUNT = """
    UPDATE {t}connection_view SET calendar_count = %(calendar_count)s,
        update_time = %(update_time)s, version = %(version)s
    WHERE connection_id = %(connection_id)s"""
_DELETE_CALENDARS = "DELETE FROM {t}connection_calendar_view WHERE connection_id = %(connection_id)s"
_INSERT_CALENDAR = """
    INSERT INTO {t}connection_calendar_view VALUES (
        %(connection_id)s, %(ordinal)s, %(calendar_id)s, %(href)s, %(display_name)s,
        %(color)s, %(writable)s, %(kind)s, %(source)s)"""
_SELECT_CONNECTION = """
    SELECT * FROM {t}connection_view
    WHERE connection_id = %(connection_id)s AND sub_account_id = %(sub_account_id)s"""
_LIST_CONNECTIONS = """
    SELECT * FROM {t}connection_view
    WHERE sub_account_id = %(sub_account_id)s
      AND (%(user_id)s = '' OR user_id = %(user_id)s)
      AND (%(include_disconnected)s OR status <> 'disconnected')
      AND created_position > %(after_position)s
    ORDER BY created_position LIMIT %(limit)s"""
_OF_ACCOUNT = """
    SELECT connection_id FROM {t}connection_view
    WHERE account_id = %(account_id)s AND status <> 'disconnected' ORDER BY created_position"""
_ACTIVE_ACCOUNTS = """
    SELECT DISTINCT account_id FROM {t}connection_view WHERE status <> 'disconnected'"""
_BY_STATUS = "SELECT status, COUNT(*) AS n FROM {t}connection_view GROUP BY status"
_EVERY_CONNECTION = """
    SELECT * FROM {t}connection_view WHERE (%(status)s = '' OR status = %(status)s)
    ORDER BY created_position LIMIT %(limit)s"""
_ANY_CONNECTION = "SELECT * FROM {t}connection_view WHERE connection_id = %(connection_id)s"
_LIST_CALENDARS = """
    SELECT * FROM {t}connection_calendar_view
    WHERE connection_id = %(connection_id)s AND ordinal > %(after_ordinal)s
    ORDER BY ordinal LIMIT %(limit)s"""


class ConnectionViewMixin(SQLViewMixin):
    def insert_connection(self, record: ConnectionRecord, tracking: Tracking) -> None:
        row = {
            **record.__dict__,
            "status": record.status.value,
            "connect_time": record.connect_time.isoformat(),
            "update_time": record.update_time.isoformat(),
        }
        self.write(tracking, (_INSERT_CONNECTION, row))

    def update_calendars(
        self,
        connection_id: str,
        calendars: list[ConnectedCalendar],
        update_time: datetime,
        version: int,
        tracking: Tracking,
    ) -> None:
        rows = [
            {"connection_id": connection_id, "ordinal": i, **c.__dict__}
            for i, c in enumerate(calendars, start=1)
        ]
        count = {
            "connection_id": connection_id,
            "calendar_count": len(calendars),
            "update_time": update_time.isoformat(),
            "version": version,
        }
        self.write_many(
            tracking,
            _INSERT_CALENDAR,
            rows,
            before=[(_DELETE_CALENDARS, {"connection_id": connection_id}), (_UPDATE_CALENDAR_COUNT, count)],
        )

    def update_status(
        self,
        connection_id: str,
        status: ConnectionStatus,
        update_time: datetime,
        version: int,
        tracking: Tracking,
    ) -> None:
        params = {
            "connection_id": connection_id,
            "status": status.value,
            "update_time": update_time.isoformat(),
            "version": version,
        }
        self.write(tracking, (_UPDATE_STATUS, params))

    def get_connection(self, sub_account_id: str, connection_id: str) -> ConnectionRecord | None:
        rows = self.read(
            _SELECT_CONNECTION, {"connection_id": connection_id, "sub_account_id": sub_account_id}
        )
        return _record(rows[0]) if rows else None

    def list_connections(
        self,
        sub_account_id: str,
        user_id: str,
        include_disconnected: bool,
        after_position: int,
        limit: int,
    ) -> list[ConnectionRecord]:
        rows = self.read(
            _LIST_CONNECTIONS,
            {
                "sub_account_id": sub_account_id,
                "user_id": user_id,
                "include_disconnected": include_disconnected,
                "after_position": after_position,
                "limit": limit,
            },
        )
        return [_record(r) for r in rows]

    def connections_of_account(self, account_id: str) -> list[str]:
        """Ids of the account's connections that are not disconnected, in every sub-account."""
        return [r["connection_id"] for r in self.read(_OF_ACCOUNT, {"account_id": account_id})]

    def every_connection(self, status: str, limit: int) -> list[ConnectionRecord]:
        """Connections of every sub-account, oldest first (for operators)."""
        return [_record(r) for r in self.read(_EVERY_CONNECTION, {"status": status, "limit": limit})]

    def any_connection(self, connection_id: str) -> ConnectionRecord | None:
        """A connection by id, whichever sub-account has it (for operators)."""
        rows = self.read(_ANY_CONNECTION, {"connection_id": connection_id})
        return _record(rows[0]) if rows else None

    def count_by_status(self) -> dict[str, int]:
        """How many connections are in each state (for the metrics and ``status``)."""
        return {str(r["status"]): int(r["n"]) for r in self.read(_BY_STATUS, {})}

    def active_account_ids(self) -> list[str]:
        return [r["account_id"] for r in self.read(_ACTIVE_ACCOUNTS, {})]

    def list_calendars(
        self, connection_id: str, after_ordinal: int, limit: int
    ) -> list[tuple[int, ConnectedCalendar]]:
        rows = self.read(
            _LIST_CALENDARS,
            {"connection_id": connection_id, "after_ordinal": after_ordinal, "limit": limit},
        )
        return [
            (
                r["ordinal"],
                ConnectedCalendar(
                    calendar_id=r["calendar_id"],
                    href=r["href"],
                    display_name=r["display_name"],
                    color=r["color"],
                    writable=bool(r["writable"]),
                    kind=r["kind"],
                    source=r["source"],
                ),
            )
            for r in rows
        ]


def _record(row: Any) -> ConnectionRecord:
    return ConnectionRecord(
        connection_id=row["connection_id"],
        sub_account_id=row["sub_account_id"],
        user_id=row["user_id"],
        apple_id=row["apple_id"],
        account_id=row["account_id"],
        status=ConnectionStatus(row["status"]),
        calendar_count=row["calendar_count"],
        connect_time=datetime.fromisoformat(row["connect_time"]),
        update_time=datetime.fromisoformat(row["update_time"]),
        version=row["version"],
        created_position=row["created_position"],
        kind=row["kind"],
        source=row["source"],
    )


class SQLiteConnectionView(ConnectionViewMixin, SQLiteTrackingRecorder):
    dialect = "sqlite"

    def __init__(self, datastore: SQLiteDatastore, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)

    def construct_create_table_statements(self) -> list[str]:
        return [*super().construct_create_table_statements(), *map(self.statement, _CREATE)]

    def create_table(self) -> None:
        super().create_table()
        with self.datastore.transaction(commit=True) as cursor:
            for table, column, shape in _ADDED_COLUMNS:
                cursor.execute(f"PRAGMA table_info({table})")
                if column not in {row[1] for row in cursor.fetchall()}:
                    cursor.execute(f"ALTER TABLE {table} ADD COLUMN {column} {shape}")


class PostgresConnectionView(ConnectionViewMixin, PostgresTrackingRecorder):
    dialect = "postgres"

    def __init__(self, datastore: PostgresDatastore, **kwargs: Any) -> None:
        kwargs["tracking_table_name"] = "connection_view_tracking"
        super().__init__(datastore, **kwargs)
        self.sql_create_statements.extend(SQL(self.statement(s)) for s in _CREATE)  # type: ignore[misc]
        self.sql_create_statements.extend(
            SQL(self.statement(f"ALTER TABLE {{t}}{table} ADD COLUMN IF NOT EXISTS {column} {shape}"))  # type: ignore[misc]
            for table, column, shape in _ADDED_COLUMNS
        )
