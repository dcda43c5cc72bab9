"""Operational sync state, outside the event log: who polls which account when
(leases), and how each calendar's sync is faring (health, progress).

Leases make "two workers on one PostgreSQL never sync the same account at the
same time" a property of one conditional UPDATE: a row is claimed only while
its lease has expired, and the database serialises concurrent claims.
"""

from __future__ import annotations

import logging

from collections.abc import Iterable
import json
from dataclasses import dataclass, field

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
    # What a poll remembers of an account between polls, for every process: the
    # calendar home (no discovery before each sync), each calendar's ctag as last
    # synced (a quiet account costs one PROPFIND), the aggregate versions those
    # ctags were synced for, and when every calendar was last REPORTed regardless.
    # No secrets here: URLs, tokens and versions only.
    """CREATE TABLE IF NOT EXISTS {t}sync_account (
        account_id TEXT PRIMARY KEY,
        home_url TEXT NOT NULL DEFAULT '',
        tokens TEXT NOT NULL DEFAULT '',
        targets TEXT NOT NULL DEFAULT '',
        verified_at DOUBLE PRECISION NOT NULL DEFAULT 0,
        changed_at DOUBLE PRECISION NOT NULL DEFAULT 0
    )""",
]


@dataclass(frozen=True)
class AccountMemo:
    """What the last poll of an account left for the next one."""

    home_url: str = ""
    tokens: dict[str, str] = field(default_factory=dict)  # calendar href -> ctag as last synced
    targets: str = ""  # the versions of what says which calendars to sync, when they were synced
    verified_at: float = 0.0  # when every calendar was last REPORTed, ctag or not
    changed_at: float = 0.0  # when a poll last found a calendar's ctag moved


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
            if self._db.dialect == "sqlite":
                # Every poll writes its lease: in WAL mode, NORMAL syncs the file at
                # checkpoints instead of at each commit. A power cut may lose the last
                # few releases, whose accounts are then polled once more.
                self._db.execute("PRAGMA synchronous = NORMAL")
            self._db.create(_CREATE)
            self._ready = True
        return self._db

    # -- leases ------------------------------------------------------------------------

    def ensure_accounts(self, account_ids: Iterable[str], now: float) -> None:
        """Puts the accounts in the poll table, due now, if they are not there (in
        statements of up to 500 rows: a reconciliation of 100,000 accounts is 200)."""
        ids = list(dict.fromkeys(account_ids))
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            values = ", ".join(f"(%(a{i})s, %(now)s)" for i in range(len(chunk)))
            params: dict[str, object] = {f"a{i}": a for i, a in enumerate(chunk)}
            params["now"] = now
            self._tables().execute(
                f"INSERT INTO {{t}}sync_lease (account_id, next_due_at) VALUES {values} "
                "ON CONFLICT (account_id) DO NOTHING",
                params,
            )

    def reconcile(self, active_account_ids: Iterable[str], now: float) -> int:
        """Adds the active accounts the poll table misses (events normally put them
        there); returns how many were missing."""
        present = {r[0] for r in self._tables().execute("SELECT account_id FROM {t}sync_lease")}
        missing = [a for a in active_account_ids if a not in present]
        self.ensure_accounts(missing, now)
        return len(missing)

    def due_now(self, account_id: str, now: float, *, wake: bool = True) -> None:
        """The account is polled at once (connected, reconnected, new credentials): in
        the table, due now, its failures forgotten (no backoff left). With ``wake``,
        on PostgreSQL every sync poller listening is told (SQLite has no channel: its
        pollers come by within an interval)."""
        self._tables().execute(
            "INSERT INTO {t}sync_lease (account_id, next_due_at) VALUES (%(a)s, %(now)s) "
            "ON CONFLICT (account_id) DO UPDATE SET next_due_at = %(now)s, failures = 0",
            {"a": account_id, "now": now},
        )
        if wake and self.notify_channel and self._db.dialect == "postgres":
            self._db.execute("SELECT pg_notify(%(channel)s, %(a)s)", {"channel": self.notify_channel, "a": account_id})

    def claim_due(self, holder: str, now: float, lease_seconds: float, limit: int) -> list[tuple[str, str]]:
        """Leases up to ``limit`` due accounts, most overdue first, in one statement:
        (account id, the holder whose lease had expired, "" when none). On PostgreSQL
        concurrent claimers skip each other's rows (FOR UPDATE SKIP LOCKED) instead
        of queueing on them; SQLite has a single writer, which serialises claims."""
        params = {"now": now, "limit": limit, "until": now + lease_seconds, "holder": holder}
        if self._db.dialect == "postgres":
            rows = self._tables().execute(
                "WITH due AS (SELECT account_id, holder FROM {t}sync_lease "
                "WHERE next_due_at <= %(now)s AND leased_until < %(now)s "
                "ORDER BY next_due_at LIMIT %(limit)s FOR UPDATE SKIP LOCKED) "
                "UPDATE {t}sync_lease SET leased_until = %(until)s, holder = %(holder)s FROM due "
                "WHERE {t}sync_lease.account_id = due.account_id RETURNING {t}sync_lease.account_id, due.holder",
                params,
            )
            return [(str(r[0]), str(r[1] or "")) for r in rows]
        # SQLite's RETURNING sees the updated table alone: the previous holders come
        # from the selection, and the update claims only what is still free.
        due = dict(self._tables().execute(
            "SELECT account_id, holder FROM {t}sync_lease WHERE next_due_at <= %(now)s AND leased_until < %(now)s "
            "ORDER BY next_due_at LIMIT %(limit)s",
            params,
        ))
        if not due:
            return []
        names = {f"a{i}": a for i, a in enumerate(due)}
        rows = self._tables().execute(
            "UPDATE {t}sync_lease SET leased_until = %(until)s, holder = %(holder)s "
            f"WHERE account_id IN ({', '.join(f'%({n})s' for n in names)}) AND leased_until < %(now)s "
            "RETURNING account_id",
            {**params, **names},
        )
        return [(str(r[0]), str(due.get(r[0]) or "")) for r in rows]

    def renew(self, holder: str, until: float) -> int:
        """The heartbeat: every lease this holder has is extended to ``until``."""
        rows = self._tables().execute(
            "UPDATE {t}sync_lease SET leased_until = %(until)s WHERE holder = %(holder)s AND leased_until > 0 "
            "RETURNING account_id",
            {"until": until, "holder": holder},
        )
        return len(rows)

    def counts(self, now: float, overdue_after: float) -> tuple[int, int, int]:
        """(due, overdue by more than ``overdue_after`` seconds, leased) accounts."""
        rows = self._tables().execute(
            "SELECT count(CASE WHEN next_due_at <= %(now)s AND leased_until < %(now)s THEN 1 END), "
            "count(CASE WHEN next_due_at <= %(late)s AND leased_until < %(now)s THEN 1 END), "
            "count(CASE WHEN leased_until >= %(now)s THEN 1 END) FROM {t}sync_lease",
            {"now": now, "late": now - overdue_after},
        )
        due, overdue, leased = rows[0] if rows else (0, 0, 0)
        return int(due or 0), int(overdue or 0), int(leased or 0)

    def forget_account(self, account_id: str) -> None:
        """The account is polled no more (its memo stays: a read model behind the
        log can say "no connections" for a moment, and the home found at connect
        would be lost; a connection made again REPORTs everything anyway)."""
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

    # -- what polls remember --------------------------------------------------------------

    def memo(self, account_id: str) -> AccountMemo:
        rows = self._tables().execute(
            "SELECT home_url, tokens, targets, verified_at, changed_at FROM {t}sync_account WHERE account_id = %(a)s",
            {"a": account_id},
        )
        if not rows:
            return AccountMemo()
        home, tokens, targets, verified_at, changed_at = rows[0]
        return AccountMemo(
            str(home), json.loads(tokens) if tokens else {}, str(targets), float(verified_at), float(changed_at)
        )

    def remember(self, account_id: str, memo: AccountMemo) -> None:
        """Keeps the poll's ctags, targets and verification time (the home is kept
        by ``remember_home``/``forget_home`` alone)."""
        self._tables().execute(
            "INSERT INTO {t}sync_account (account_id, tokens, targets, verified_at, changed_at) "
            "VALUES (%(a)s, %(tokens)s, %(targets)s, %(at)s, %(changed)s) ON CONFLICT (account_id) DO UPDATE SET "
            "tokens = %(tokens)s, targets = %(targets)s, verified_at = %(at)s, changed_at = %(changed)s",
            {"a": account_id, "tokens": json.dumps(memo.tokens, sort_keys=True), "targets": memo.targets,
             "at": memo.verified_at, "changed": memo.changed_at},
        )

    def home_of(self, account_id: str) -> str | None:
        """The calendar home found last for the account (at connect or by a sync), if any."""
        return self.memo(account_id).home_url or None

    def remember_home(self, account_id: str, home_url: str) -> None:
        self._tables().execute(
            "INSERT INTO {t}sync_account (account_id, home_url) VALUES (%(a)s, %(home)s) "
            "ON CONFLICT (account_id) DO UPDATE SET home_url = %(home)s",
            {"a": account_id, "home": home_url},
        )

    def forget_home(self, account_id: str) -> None:
        """The home failed (moved partition, 404, 301): the next request looks it up again."""
        self._tables().execute(
            "UPDATE {t}sync_account SET home_url = '' WHERE account_id = %(a)s", {"a": account_id}
        )

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

    def confirmed(self, account_id: str, now: float, older_than: float, *, recovered: bool = False) -> None:
        """A quiet poll found every calendar of the account as it was last synced:
        each is as good as synced now (else a calendar nobody edits would read as
        out of date). Rows confirmed since ``older_than`` are left alone, so most
        quiet polls change no row. ``recovered``: the poll also proves a calendar
        whose last sync failed (a feed answering 304 after an error): its failures
        are cleared; otherwise such a calendar is left as it is."""
        failing = " OR consecutive_failures > 0" if recovered else ""
        self._tables().execute(
            "UPDATE {t}sync_health SET last_success_at = %(now)s, consecutive_failures = 0, last_error = '' "
            "WHERE account_id = %(a)s AND running = 0 AND last_success_at > 0 AND "
            f"((consecutive_failures = 0 AND last_success_at < %(older)s){failing})",
            {"a": account_id, "now": now, "older": older_than},
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
