"""The commands an operator reaches for: ``keys generate``, ``check``, ``status``,
``connections list|show`` and ``sync-now``; and the start-up mistakes people make,
each turned into one line that names the setting and the fix.

Exit codes: 0 all well; 1 the command ran and found something wrong (a check
failed, ``status`` needs attention, a sync did not succeed, nothing found);
2 the service cannot start as configured (the line says why).
"""

from __future__ import annotations

import base64
import errno
import json
import os
import socket
import ssl
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TextIO

import psycopg
from psycopg.conninfo import conninfo_to_dict

from adapters.icloud.poller import outcome_of
from calendar_domain import values
from calendar_domain.errors import DomainError
from server.bootstrap import Container, bootstrap
from server.config import PREFIX, ConfigError, Settings

OK, ATTENTION, CANNOT_START = 0, 1, 2


class StartupError(Exception):
    """A mistake in the set-up; the message names the setting and the fix."""


# -- start-up mistakes ------------------------------------------------------------------


def _where(settings: Settings) -> str:
    info = conninfo_to_dict(settings.postgres_url)
    return f"{info.get('host', 'localhost')}:{info.get('port', 5432)}/{info.get('dbname', '')}"


def preflight(settings: Settings, wait_for_database: bool = False) -> None:
    """What every command that opens the store checks first: the keys, the database
    and its schema (PostgreSQL), the data directory (SQLite). ``wait_for_database``
    (the long-running kinds): PostgreSQL not answering is no mistake, the process
    waits for it, retrying; its schema is checked when it answers."""
    settings.key_bytes("cipher")
    settings.key_bytes("vault")
    if settings.event_store == "postgres":
        try:
            with psycopg.connect(settings.postgres_url, connect_timeout=5) as db:
                found = db.execute(
                    "SELECT 1 FROM pg_namespace WHERE nspname = %s", (settings.postgres_schema,)
                ).fetchone()
        except psycopg.OperationalError as error:
            if wait_for_database:
                return
            first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise StartupError(
                f"cannot reach PostgreSQL at {_where(settings)} ({PREFIX}POSTGRES_URL): {first}; "
                "start the server or correct the URL"
            ) from None
        if found is None:
            raise StartupError(
                f"PostgreSQL schema {settings.postgres_schema!r} does not exist ({PREFIX}POSTGRES_SCHEMA): "
                f'create it (CREATE SCHEMA "{settings.postgres_schema}") or name an existing one'
            )
    else:
        try:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            os.chmod(settings.data_dir, 0o700)
        except OSError as error:
            raise StartupError(
                f"cannot use the data directory {settings.data_dir} ({PREFIX}DATA_DIR): {error.strerror}; "
                "point it at a directory this user may write"
            ) from None


def free_to_listen(settings: Settings, grpc_port: bool) -> None:
    """Refuses at once, in one line, a port another process holds (gRPC would
    report it in a log line of its own and a traceback): the gRPC port
    (``grpc_port``) and the metrics port."""
    host, _, listen_port = settings.listen.rpartition(":")
    host = host.strip("[]")
    checks = [(int(listen_port), "LISTEN")] if grpc_port and listen_port.isdigit() else []
    checks += [(settings.metrics_port, "METRICS_PORT")] if settings.metrics_port else []
    for number, name in checks:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            try:
                probe.bind((host or "0.0.0.0", number))  # noqa: S104 - the address asked for
            except OSError as error:
                fix = "stop the other process or choose another port" if error.errno == errno.EADDRINUSE else error.strerror
                raise StartupError(f"cannot listen on {host}:{number} ({PREFIX}{name}): {fix}") from None


@contextmanager
def startup_errors(settings: Settings | None = None) -> Iterator[None]:
    """Turns the exceptions of a failed start into StartupError lines."""
    try:
        yield
    except (ConfigError, StartupError):
        raise
    except psycopg.OperationalError as error:
        where = _where(settings) if settings is not None and settings.postgres_url else "the database"
        raise StartupError(
            f"cannot reach PostgreSQL at {where} ({PREFIX}POSTGRES_URL): "
            f"{str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__}"
        ) from None
    except OSError as error:
        if error.errno == errno.EADDRINUSE or "cannot listen" in str(error):
            raise StartupError(
                f"cannot listen: the port is in use or the address is not this machine's ({PREFIX}LISTEN="
                f"{settings.listen if settings else ''}, {PREFIX}METRICS_PORT={settings.metrics_port if settings else ''}); "
                "stop the other process or choose another port"
            ) from None
        raise


# -- keys -------------------------------------------------------------------------------


def generate_keys(out: TextIO) -> int:
    """The two keys PostgreSQL requires (AES-256, RFC 4648 base64), as lines to export."""
    for name in ("CIPHER_KEY", "VAULT_KEY"):
        out.write(f"{PREFIX}{name}={base64.b64encode(os.urandom(32)).decode()}\n")
    return OK


# -- check ------------------------------------------------------------------------------


def check(settings: Settings, out: TextIO) -> int:
    """Validates the settings, reaches the store and the CalDAV URL, prints the
    effective configuration without secrets."""
    out.write("settings (effective, without secrets):\n")
    for name, value in settings.public().items():
        out.write(f"  {PREFIX}{name.upper():<28} {value}\n")
    failures = 0
    try:
        preflight(settings)
        with startup_errors(settings):
            container = bootstrap(settings)
            try:
                head = container.app.recorder.max_notification_id() or 0
            finally:
                container.close()
        out.write(f"store: ok ({settings.event_store}, log head at position {head})\n")
    except (ConfigError, StartupError) as error:
        out.write(f"store: FAILED: {error}\n")
        failures += 1
    reached = _reach(settings)
    out.write(f"caldav: {reached}\n")
    failures += reached.startswith("FAILED")
    return ATTENTION if failures else OK


def _reach(settings: Settings) -> str:
    """Any HTTP answer (401 included: no credentials were sent) means it is reachable."""
    request = urllib.request.Request(settings.caldav_url, method="OPTIONS")
    context = None
    if settings.caldav_url.startswith("https"):
        if settings.caldav_verify_tls is False:
            context = ssl._create_unverified_context()  # noqa: S323 - the setting says so (tests only)
        elif isinstance(settings.caldav_verify_tls, str):
            context = ssl.create_default_context(cafile=settings.caldav_verify_tls)
    try:
        with urllib.request.urlopen(request, timeout=min(settings.caldav_timeout, 10), context=context) as answer:
            status = answer.status
    except urllib.error.HTTPError as answer:
        status = answer.code
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        return f"FAILED: {settings.caldav_url} cannot be reached ({PREFIX}CALDAV_URL): {reason}"
    return f"ok ({settings.caldav_url} answered HTTP {status})"


# -- status -----------------------------------------------------------------------------


def read_status(container: Container) -> dict[str, Any]:
    settings = container.settings
    now = time.time()
    sync = container.sync_state.figures(now, settings.sync_interval, settings.stale_after)
    lags = {}
    head = container.app.recorder.max_notification_id() or 0
    for name, view in (
        ("connections", container.connection_view), ("availability", container.availability_view),
        ("push_queue", container.push_queue),
    ):
        lags[name] = max(0, head - (view.max_tracking_id(container.app.name) or 0))
    return {
        "connections": container.connection_view.count_by_status(),  # type: ignore[attr-defined]
        "accounts": {
            ("known" if k == "accounts" else k.removeprefix("accounts_")): v
            for k, v in sync.items() if k.startswith("accounts")
        },
        "calendars": {"stale": sync["calendars_stale"], "failing": sync["calendars_failing"]},
        "push_queue": container.push_queue.figures(now),
        "projection_lag_events": lags,
        "log_head": head,
    }


def needs_attention(status: dict[str, Any]) -> list[str]:
    found = []
    if status["connections"].get("reconnect_required"):
        found.append(f"{status['connections']['reconnect_required']} connections need a new app-specific password")
    if status["calendars"]["stale"]:
        found.append(f"{status['calendars']['stale']} calendars are stale")
    if status["calendars"]["failing"]:
        found.append(f"{status['calendars']['failing']} calendars failed their last sync")
    if status["push_queue"]["retrying"]:
        found.append(f"{status['push_queue']['retrying']} appointments are being retried")
    if status["accounts"].get("overdue"):
        found.append(f"{status['accounts']['overdue']} accounts are overdue for a sync")
    return found


def show_status(container: Container, out: TextIO, as_json: bool) -> int:
    status = read_status(container)
    attention = needs_attention(status)
    if as_json:
        out.write(json.dumps({**status, "attention": attention}, indent=2) + "\n")
    else:
        out.write(f"connections:  {_pairs(status['connections']) or 'none'}\n")
        out.write(f"accounts:     {_pairs(status['accounts'])}\n")
        out.write(f"calendars:    {_pairs(status['calendars'])}\n")
        queue = status["push_queue"]
        out.write(
            f"push queue:   depth={queue['depth']} retrying={queue['retrying']} "
            f"oldest_wait={queue['oldest_seconds']:.0f}s\n"
        )
        out.write(f"read models:  {_pairs(status['projection_lag_events'])} (events behind position {status['log_head']})\n")
        for line in attention:
            out.write(f"attention:    {line}\n")
    return ATTENTION if attention else OK


def _pairs(figures: dict[str, Any]) -> str:
    return " ".join(f"{key}={value}" for key, value in figures.items())


# -- connections ------------------------------------------------------------------------


def list_connections(container: Container, out: TextIO, status: str, limit: int, as_json: bool) -> int:
    view: Any = container.connection_view
    records = view.every_connection(status, limit)
    rows = [_public(r) for r in records]
    if as_json:
        out.write(json.dumps(rows, indent=2) + "\n")
    else:
        out.write(f"{'connection':<38} {'sub-account':<20} {'user':<16} {'status':<19} calendars\n")
        for row in rows:
            out.write(
                f"{row['connection_id']:<38} {row['sub_account_id']:<20} {row['user_id']:<16} "
                f"{row['status']:<19} {row['calendars']}\n"
            )
    return OK


def show_connection(container: Container, out: TextIO, connection_id: str, as_json: bool) -> int:
    view: Any = container.connection_view
    record = view.any_connection(connection_id)
    if record is None:
        out.write(f"no connection {connection_id}\n")
        return ATTENTION
    health = container.sync_state.health(record.account_id)
    next_due, leased_until = container.sync_state.lease_of(record.account_id)
    calendars = []
    for _, calendar in view.list_calendars(record.connection_id, 0, 1000):
        seen = health.get(calendar.calendar_id)
        calendars.append({
            "calendar_id": calendar.calendar_id, "name": calendar.display_name, "writable": calendar.writable,
            "last_success": _time(seen.last_success_at) if seen else "",
            "consecutive_failures": seen.consecutive_failures if seen else 0,
            "last_error": seen.last_error if seen else "",
        })
    shown = {**_public(record), "next_sync": _time(next_due), "leased_until": _time(leased_until), "calendars": calendars}
    if as_json:
        out.write(json.dumps(shown, indent=2) + "\n")
        return OK
    for key, value in shown.items():
        if key != "calendars":
            out.write(f"{key + ':':<16} {value}\n")
    for calendar in calendars:
        out.write(
            f"  calendar {calendar['calendar_id']} {calendar['name']!r} writable={str(calendar['writable']).lower()} "
            f"last_success={calendar['last_success'] or 'never'} failures={calendar['consecutive_failures']}"
            + (f" error={calendar['last_error']!r}" if calendar["last_error"] else "") + "\n"
        )
    return OK


def _public(record: Any) -> dict[str, Any]:
    """A connection as operators see it: ids and states, never the Apple ID."""
    return {
        "connection_id": record.connection_id, "sub_account_id": record.sub_account_id, "user_id": record.user_id,
        "account_id": record.account_id, "status": getattr(record.status, "value", record.status),
        "calendars": record.calendar_count, "connected": record.connect_time.isoformat(),
    }


def _time(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds") if seconds else ""


# -- a sync now -------------------------------------------------------------------------


def sync_now(container: Container, target: str, out: TextIO, progress: bool) -> int:
    """Syncs the account (an account id, or a connection id: its account) now, in this process."""
    view: Any = container.connection_view
    try:
        values.uuid_id("target", target)
    except DomainError:
        out.write(f"{target!r} is neither an account id nor a connection id\n")
        return ATTENTION
    record = view.any_connection(target)
    account_id = record.account_id if record is not None else target
    if not view.connections_of_account(account_id):
        out.write(f"no connected account or connection {target}\n")
        return ATTENTION
    container.sync_state.ensure_accounts([account_id], time.time())
    done = threading.Event()
    if progress:
        threading.Thread(
            target=_show_progress, args=(container, account_id, done, out), name="sync-progress", daemon=True
        ).start()
    try:
        report = container.scheduler.sync_now(account_id, container.settings.sync_now_wait)
    except DomainError as error:
        out.write(f"sync refused: {error.message}\n")
        return ATTENTION
    finally:
        done.set()
    outcome = outcome_of(report)
    out.write(
        f"sync of account {account_id}: {outcome}; calendars synced={report.calendars_synced} "
        f"failed={report.calendars_failed} changes={report.changes} requests={report.requests}\n"
    )
    for message in report.errors:
        out.write(f"  {message}\n")
    return OK if outcome == "ok" else ATTENTION


def _show_progress(container: Container, account_id: str, done: threading.Event, out: TextIO) -> None:
    """One line rewritten in place (a terminal): resources fetched and parsed so far."""
    while not done.wait(0.5):
        health = container.sync_state.health(account_id).values()
        fetched, total = sum(h.done for h in health if h.running), sum(h.total for h in health if h.running)
        out.write(f"\r  syncing: {fetched}/{total} resources ")
        out.flush()
    out.write("\r" + " " * 40 + "\r")


def with_container(settings: Settings, work: Callable[[Container], int]) -> int:
    preflight(settings)
    with startup_errors(settings):
        container = bootstrap(settings)
        try:
            return work(container)
        finally:
            container.close()


def is_terminal(stream: TextIO) -> bool:
    return bool(getattr(stream, "isatty", lambda: False)())

