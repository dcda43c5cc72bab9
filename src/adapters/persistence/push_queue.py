"""The queue of appointments whose latest revision is still to be written to iCloud.

A projection puts each booked, rescheduled or cancelled appointment (and each
one to restore over a change made in iCloud) in the queue, with its tracking position in the same transaction (so nothing is
queued twice or lost). The pusher claims due entries with a lease, which lets
several push processes share one PostgreSQL; it removes an entry only once the
push of that revision (or a later one) has been recorded as an event.

Leases are short and name their holder (``host/pid/token``): a heartbeat renews
every lease its pusher holds while it works, so a dead pusher's entries are
free again within one lease; a pusher that starts frees at once the leases of
dead pushers of its own host (it never waits out its own predecessor's lease).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from eventsourcing.persistence import Tracking
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from eventsourcing.projection import Projection
from eventsourcing.sqlite import SQLiteDatastore, SQLiteTrackingRecorder
from eventsourcing.utils import get_topic
from psycopg.sql import SQL

from adapters.persistence.sql_view import SQLViewMixin
from calendar_domain.schedule import UserSchedule


_CREATE = [
    """CREATE TABLE IF NOT EXISTS {t}push_queue (
        schedule_id TEXT NOT NULL,
        appointment_id TEXT NOT NULL,
        revision INTEGER NOT NULL,
        due_at DOUBLE PRECISION NOT NULL,
        attempts INTEGER NOT NULL,
        lease_until DOUBLE PRECISION NOT NULL,
        holder TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (schedule_id, appointment_id)
    )""",
    "CREATE INDEX IF NOT EXISTS push_queue_due ON {t}push_queue (due_at)",
]
# A queue made before leases named their holder gains the column.
_ADD_HOLDER = "ALTER TABLE {t}push_queue ADD COLUMN holder TEXT NOT NULL DEFAULT ''"
_ENQUEUE = """
    INSERT INTO {t}push_queue (schedule_id, appointment_id, revision, due_at, attempts, lease_until)
    VALUES (%(schedule_id)s, %(appointment_id)s, %(revision)s, %(now)s, 0, 0)
    ON CONFLICT (schedule_id, appointment_id) DO UPDATE SET revision = excluded.revision, due_at = excluded.due_at,
        attempts = 0 WHERE {t_queue}.revision < excluded.revision"""
_DUE = """
    SELECT schedule_id, appointment_id, revision, attempts, lease_until, holder FROM {t}push_queue
    WHERE due_at <= %(now)s AND lease_until <= %(now)s ORDER BY due_at LIMIT %(limit)s"""
_CLAIM = """
    UPDATE {t}push_queue SET lease_until = %(until)s, holder = %(holder)s
    WHERE schedule_id = %(schedule_id)s AND appointment_id = %(appointment_id)s AND lease_until <= %(now)s"""
_RENEW = """
    UPDATE {t}push_queue SET lease_until = %(until)s WHERE holder = %(holder)s AND lease_until > 0"""
_HOLDERS = "SELECT DISTINCT holder FROM {t}push_queue WHERE lease_until > %(now)s AND holder LIKE %(prefix)s"
_HELD_BY = "SELECT appointment_id FROM {t}push_queue WHERE holder = %(holder)s AND lease_until > 0"
_FREE = "UPDATE {t}push_queue SET lease_until = 0, holder = '' WHERE holder = %(holder)s"
_DONE = """
    DELETE FROM {t}push_queue
    WHERE schedule_id = %(schedule_id)s AND appointment_id = %(appointment_id)s AND revision <= %(revision)s"""
_RELEASE = """
    UPDATE {t}push_queue SET lease_until = 0, holder = ''
    WHERE schedule_id = %(schedule_id)s AND appointment_id = %(appointment_id)s"""
_RETRY = """
    UPDATE {t}push_queue SET due_at = %(due_at)s, attempts = %(attempts)s, lease_until = 0, holder = ''
    WHERE schedule_id = %(schedule_id)s AND appointment_id = %(appointment_id)s AND revision = %(revision)s"""
_COUNT = "SELECT COUNT(*) AS n FROM {t}push_queue"
# due since: a new entry is due from when it was queued (its age), a retry from its due time
_FIGURES = """
    SELECT COUNT(*) AS depth, MIN(CASE WHEN due_at <= %(now)s THEN due_at END) AS oldest,
           COALESCE(SUM(CASE WHEN attempts > 0 THEN 1 ELSE 0 END), 0) AS retrying FROM {t}push_queue"""
_NEXT = """
    SELECT MIN(CASE WHEN lease_until > due_at THEN lease_until ELSE due_at END) AS next FROM {t}push_queue"""

_EVENTS = (
    UserSchedule.AppointmentBooked,
    UserSchedule.AppointmentRescheduled,
    UserSchedule.AppointmentCancelled,
    UserSchedule.AppointmentRestoreRequested,  # the CRM's version, written back over a change in iCloud
)


@dataclass(frozen=True)
class QueuedPush:
    schedule_id: str
    appointment_id: str
    revision: int
    attempts: int
    # who held the lease before this claim, when it had run out unreleased ("" if nobody)
    taken_from: str = ""
    # how long ago that lease ran out
    lapsed_seconds: float = 0.0


class PushQueueProjection(Projection[Any]):
    name = "push_queue"
    topics = tuple(get_topic(kind) for kind in _EVENTS)

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        revision = getattr(domain_event, "revision", 1)  # a booking is revision 1
        self.view.enqueue(tracking, str(domain_event.originator_id), domain_event.appointment_id, revision)


class PushQueueMixin(SQLViewMixin):
    def enqueue(self, tracking: Tracking, schedule_id: str, appointment_id: str, revision: int) -> None:
        self.write(
            tracking,
            (_ENQUEUE, {
                "schedule_id": schedule_id, "appointment_id": appointment_id, "revision": revision,
                "now": time.time(),
            }),
        )

    def statement(self, sql: str) -> str:
        table = f'"{self.datastore.schema}".push_queue' if self.dialect == "postgres" else "push_queue"
        return super().statement(sql.replace("{t_queue}", table))

    def claim(self, limit: int, lease_seconds: float, holder: str = "") -> list[QueuedPush]:
        """Due entries, each leased to ``holder`` (no other pusher takes it meanwhile)."""
        self._migrate()
        now = time.time()
        claimed: list[QueuedPush] = []
        for row in self._query(_DUE, {"now": now, "limit": limit}):
            key = {"schedule_id": row["schedule_id"], "appointment_id": row["appointment_id"]}
            if self._execute(_CLAIM, {**key, "now": now, "until": now + lease_seconds, "holder": holder}) == 1:
                # leased before and never released: its pusher stopped midway (the pusher logs it)
                lapsed = round(now - float(row["lease_until"]), 1) if row["lease_until"] else 0.0
                taken_from = (row["holder"] or "unknown") if row["lease_until"] else ""
                claimed.append(QueuedPush(
                    row["schedule_id"], row["appointment_id"], row["revision"], row["attempts"], taken_from, lapsed
                ))
        return claimed

    def renew(self, holder: str, lease_seconds: float) -> int:
        """Extends every lease ``holder`` has (the heartbeat); how many it has."""
        return self._execute(_RENEW, {"holder": holder, "until": time.time() + lease_seconds})

    def holders(self, prefix: str) -> list[str]:
        """Holders, their names starting with ``prefix``, of leases still running."""
        self._migrate()
        return [row["holder"] for row in self._query(_HOLDERS, {"now": time.time(), "prefix": prefix + "%"})]

    def free(self, holder: str) -> list[str]:
        """Ends every lease of ``holder`` (a pusher known to be dead) at once; the
        appointments it held (nobody renews a dead holder's leases, so none is added meanwhile)."""
        held = [row["appointment_id"] for row in self._query(_HELD_BY, {"holder": holder})]
        self._execute(_FREE, {"holder": holder})
        return held

    def _migrate(self) -> None:
        if self.__dict__.get("_has_holder"):
            return
        if self.dialect == "postgres":
            columns = {row["column_name"] for row in self._query(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = %(schema)s "
                "AND table_name = 'push_queue'", {"schema": self.datastore.schema},
            )}
            if "holder" not in columns:  # several processes may start at once
                self._execute(_ADD_HOLDER.replace("ADD COLUMN", "ADD COLUMN IF NOT EXISTS"), {})
        elif "holder" not in {row["name"] for row in self._query("PRAGMA table_info(push_queue)", {})}:
            self._execute(_ADD_HOLDER, {})
        self.__dict__["_has_holder"] = True

    def done(self, item: QueuedPush, revision: int) -> None:
        """Removes the entry unless a later revision was queued meanwhile."""
        key = {"schedule_id": item.schedule_id, "appointment_id": item.appointment_id}
        self._execute(_DONE, {**key, "revision": revision})
        self._execute(_RELEASE, key)

    def retry(self, item: QueuedPush, due_at: float, attempts: int) -> None:
        key = {"schedule_id": item.schedule_id, "appointment_id": item.appointment_id}
        if not self._execute(_RETRY, {**key, "revision": item.revision, "due_at": due_at, "attempts": attempts}):
            self._execute(_RELEASE, key)  # a new revision came: it is due now

    def next_due(self) -> float | None:
        """When the earliest entry becomes due (or its lease ends); None: empty."""
        found = self._query(_NEXT, {})[0]["next"]
        return float(found) if found is not None else None

    def figures(self, now: float) -> dict[str, float]:
        """Entries queued, those already tried, and how long the longest-waiting due one has waited."""
        row = self._query(_FIGURES, {"now": now})[0]
        oldest = row["oldest"]
        return {
            "depth": int(row["depth"]), "retrying": int(row["retrying"]),
            "oldest_seconds": max(0.0, now - float(oldest)) if oldest is not None else 0.0,
        }

    def pending(self) -> int:
        return int(self._query(_COUNT, {})[0]["n"])

    def _execute(self, sql: str, params: dict[str, Any]) -> int:
        with self.datastore.transaction(commit=True) as cursor:
            cursor.execute(self.statement(sql), params)
            # the library wraps SQLite's cursor; psycopg's has rowcount itself
            return int(getattr(cursor, "sqlite_cursor", cursor).rowcount)

    def _query(self, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        with self.datastore.transaction(commit=False) as cursor:
            cursor.execute(self.statement(sql), params)
            return [dict(row) for row in cursor.fetchall()]


class SQLitePushQueue(PushQueueMixin, SQLiteTrackingRecorder):
    dialect = "sqlite"

    def __init__(self, datastore: SQLiteDatastore, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)

    def construct_create_table_statements(self) -> list[str]:
        return [*super().construct_create_table_statements(), *map(self.statement, _CREATE)]


class PostgresPushQueue(PushQueueMixin, PostgresTrackingRecorder):
    dialect = "postgres"

    def __init__(self, datastore: PostgresDatastore, **kwargs: Any) -> None:
        kwargs["tracking_table_name"] = "push_queue_tracking"
        super().__init__(datastore, **kwargs)
        self.sql_create_statements.extend(SQL(self.statement(s)) for s in _CREATE)  # type: ignore[misc]
