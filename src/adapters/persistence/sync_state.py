"""Operational sync state, outside the event log: who polls which account when
(leases), and how each calendar's sync is faring (health, progress).

Leases make "two workers on one PostgreSQL never sync the same account at the
same time" a property of one conditional UPDATE: a row is claimed only while
its lease has expired, and the database serialises concurrent claims.
"""

from __future__ import annotations

import logging

from collections.abc import Iterable
from dataclasses import dataclass

from adapters.persistence.database import Database
from calendar_domain.telemetry import happened

log = logging.getLogger(__name__)

_CREATE = [
    """CREATE TABLE IF NOT EXISTS {t}sync_lease (
        account_id TEXT PRIMARY KEY,
        next_due_at DOUBLE PRECISION NOT NULL,
        leased_until DOUBLE PRECISION NOT NULL DEFAULT 0,
        holder TEXT NOT NULL DEFAULT '',
        failures INTEGER NOT NULL DEFAULT 0
    )""",
    """CREATE TABLE IF NOT EXISTS {t}sync_health (
        account_id TEXT NOT NULL,
        calendar_id TEXT NOT NULL,
        last_attempt_at DOUBLE PRECISION NOT NULL DEFAULT 0,
        last_success_at DOUBLE PRECISION NOT NULL DEFAULT 0,
        consecutive_failures INTEGER NOT NULL DEFAULT 0,
        last_error TEXT NOT NULL DEFAULT '',
        done INTEGER NOT NULL DEFAULT 0,
        total INTEGER NOT NULL DEFAULT 0,
        running INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (account_id, calendar_id)
    )""",
]


@dataclass(frozen=True)
class CalendarHealth:
    calendar_id: str
    last_attempt_at: float
    last_success_at: float
    consecutive_failures: int
    last_error: str
    done: int
    total: int
    running: bool


class SyncState:
    def __init__(self, database: Database, notify_channel: str = "") -> None:
        self._db = database
        self._ready = False
        # PostgreSQL: told when an account is made due at once (sync pollers LISTEN)
        self.notify_channel = notify_channel

    def _tables(self) -> Database:
        if not self._ready:
            self._db.create(_CREATE)
            self._ready = True
        return self._db

    # -- leases ------------------------------------------------------------------------

    def ensure_accounts(self, account_ids: Iterable[str], now: float) -> None:
        for account_id in account_ids:
            self._tables().execute(
                "INSERT INTO {t}sync_lease (account_id, next_due_at) VALUES (%(a)s, %(now)s) "
                "ON CONFLICT (account_id) DO NOTHING",
                {"a": account_id, "now": now},
            )

    def forget_account(self, account_id: str) -> None:
        self._tables().execute("DELETE FROM {t}sync_lease WHERE account_id = %(a)s", {"a": account_id})

    def due_accounts(self, now: float, limit: int = 10) -> list[str]:
        rows = self._tables().execute(
            "SELECT account_id FROM {t}sync_lease WHERE next_due_at <= %(now)s AND leased_until < %(now)s "
            "ORDER BY next_due_at LIMIT %(limit)s",
            {"now": now, "limit": limit},
        )
        return [r[0] for r in rows]

    def figures(self, now: float, overdue_after: float, stale_after: float) -> dict[str, int]:
        """Accounts known, due, overdue (due for longer than ``overdue_after``) and
        leased; calendars stale (no success for ``stale_after``) and failing."""
        accounts = self._tables().execute(
            "SELECT COUNT(*), "
            "COALESCE(SUM(CASE WHEN next_due_at <= %(now)s THEN 1 ELSE 0 END), 0), "
            "COALESCE(SUM(CASE WHEN next_due_at <= %(overdue)s THEN 1 ELSE 0 END), 0), "
            "COALESCE(SUM(CASE WHEN leased_until >= %(now)s THEN 1 ELSE 0 END), 0) FROM {t}sync_lease",
            {"now": now, "overdue": now - overdue_after},
        )[0]
        calendars = self._tables().execute(
            "SELECT COALESCE(SUM(CASE WHEN last_success_at < %(stale)s THEN 1 ELSE 0 END), 0), "
            "COALESCE(SUM(CASE WHEN consecutive_failures > 0 THEN 1 ELSE 0 END), 0) FROM {t}sync_health",
            {"stale": now - stale_after},
        )[0]
        names = ("accounts", "accounts_due", "accounts_overdue", "accounts_leased", "calendars_stale", "calendars_failing")
        return dict(zip(names, (int(v) for v in (*accounts, *calendars)), strict=True))

    def next_due_at(self) -> float | None:
        rows = self._tables().execute("SELECT min(next_due_at) FROM {t}sync_lease")
        return float(rows[0][0]) if rows and rows[0][0] is not None else None

    def claim(self, account_id: str, holder: str, now: float, lease_seconds: float) -> bool:
        """Takes the account's lease if nobody holds it (the only way to sync it)."""
        self.ensure_accounts([account_id], now)
        # a holder still named here let its lease lapse (a release clears it): a crashed worker
        before = self._tables().execute(
            "SELECT holder, leased_until FROM {t}sync_lease WHERE account_id = %(a)s", {"a": account_id}
        )
        rows = self._tables().execute(
            "UPDATE {t}sync_lease SET leased_until = %(until)s, holder = %(holder)s "
            "WHERE account_id = %(a)s AND leased_until < %(now)s RETURNING account_id",
            {"until": now + lease_seconds, "holder": holder, "a": account_id, "now": now},
        )
        if rows and before and before[0][0] and before[0][0] != holder:
            happened(
                log, "sync.lease_taken_over", account_id=account_id, previous_holder=before[0][0],
                holder=holder, lapsed_seconds=round(now - float(before[0][1]), 1),
            )
        return bool(rows)

    def release(self, account_id: str, holder: str, next_due_at: float, failures: int) -> None:
        self._tables().execute(
            "UPDATE {t}sync_lease SET leased_until = 0, holder = '', next_due_at = %(due)s, "
            "failures = %(failures)s WHERE account_id = %(a)s AND holder = %(holder)s",
            {"due": next_due_at, "failures": failures, "a": account_id, "holder": holder},
        )

    def due_now(self, account_id: str, now: float) -> None:
        """The account is due at once, its failures forgotten (no backoff left);
        on PostgreSQL every sync poller listening is told."""
        self.ensure_accounts([account_id], now)
        self._tables().execute(
            "UPDATE {t}sync_lease SET next_due_at = %(now)s, failures = 0 WHERE account_id = %(a)s",
            {"now": now, "a": account_id},
        )
        if self.notify_channel and self._db.dialect == "postgres":
            self._db.execute("SELECT pg_notify(%(channel)s, %(a)s)", {"channel": self.notify_channel, "a": account_id})

    def failures(self, account_id: str) -> int:
        rows = self._tables().execute(
            "SELECT failures FROM {t}sync_lease WHERE account_id = %(a)s", {"a": account_id}
        )
        return int(rows[0][0]) if rows else 0

    def lease_of(self, account_id: str) -> tuple[float, float]:
        """(next_due_at, leased_until) of the account, zeros when unknown."""
        rows = self._tables().execute(
            "SELECT next_due_at, leased_until FROM {t}sync_lease WHERE account_id = %(a)s", {"a": account_id}
        )
        return (float(rows[0][0]), float(rows[0][1])) if rows else (0.0, 0.0)

    # -- health ------------------------------------------------------------------------

    def started(self, account_id: str, calendar_id: str, now: float) -> None:
        self._tables().execute(
            "INSERT INTO {t}sync_health (account_id, calendar_id, last_attempt_at, running, done, total) "
            "VALUES (%(a)s, %(c)s, %(now)s, 1, 0, 0) ON CONFLICT (account_id, calendar_id) DO UPDATE SET "
            "last_attempt_at = %(now)s, running = 1, done = 0, total = 0",
            {"a": account_id, "c": calendar_id, "now": now},
        )

    def progress(self, account_id: str, calendar_id: str, done: int, total: int) -> None:
        self._tables().execute(
            "UPDATE {t}sync_health SET done = %(done)s, total = %(total)s "
            "WHERE account_id = %(a)s AND calendar_id = %(c)s",
            {"a": account_id, "c": calendar_id, "done": done, "total": total},
        )

    def succeeded(self, account_id: str, calendar_id: str, now: float) -> None:
        self._tables().execute(
            "UPDATE {t}sync_health SET last_success_at = %(now)s, consecutive_failures = 0, "
            "last_error = '', running = 0 WHERE account_id = %(a)s AND calendar_id = %(c)s",
            {"a": account_id, "c": calendar_id, "now": now},
        )

    def failed(self, account_id: str, calendar_id: str, error: str) -> None:
        self._tables().execute(
            "UPDATE {t}sync_health SET consecutive_failures = consecutive_failures + 1, "
            "last_error = %(error)s, running = 0 WHERE account_id = %(a)s AND calendar_id = %(c)s",
            {"a": account_id, "c": calendar_id, "error": error[:500]},
        )

    def health(self, account_id: str) -> dict[str, CalendarHealth]:
        rows = self._tables().execute(
            "SELECT calendar_id, last_attempt_at, last_success_at, consecutive_failures, last_error, "
            "done, total, running FROM {t}sync_health WHERE account_id = %(a)s",
            {"a": account_id},
        )
        return {
            r[0]: CalendarHealth(r[0], float(r[1]), float(r[2]), int(r[3]), str(r[4]), int(r[5]), int(r[6]), bool(r[7]))
            for r in rows
        }

    def close(self) -> None:
        self._db.close()
