"""Writes appointments to their iCloud calendar: the reacting half of booking.

It takes due entries from the push queue, compares the appointment's current
revision with what was recorded as written, writes the difference, and
records ``AppointmentPushed`` (or ``AppointmentPushFailed``, retried with
capped, jittered backoff). Exactly once: an event's UID and resource name come
from the appointment id and it is created with ``If-None-Match: *``, so a push
repeated after a crash between the write and its recording finds its own event
and records it instead of making a second one.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from adapters import metrics
from adapters.icloud.dav import CalDAVAccount
from adapters.icloud.sync_worker import CalDAVSettings
from adapters.icloud.writer import AlreadyThere, CalendarWriter, ChangedSince, Gone, Stored, render, resource_href
from adapters.persistence.push_queue import PushQueueMixin, QueuedPush
from calendar_domain.appointment_service import BOOKING_JITTER, BOOKING_RETRIES
from calendar_domain.application import CalendarIntegration
from calendar_domain.bookings import appointment_uid, resource_name
from calendar_domain.connection import Connection, ConnectionStatus
from calendar_domain.errors import (
    DomainError,
    InvalidCredentials,
    NotFound,
    ProviderProtocolError,
    ProviderThrottled,
    ProviderUnavailable,
)
from calendar_domain.icloud_changes import restoring
from calendar_domain.ports import CredentialVault
from calendar_domain.telemetry import happened, run_cause
from calendar_domain.retry import retrying
from calendar_domain.schedule import UserSchedule

log = logging.getLogger(__name__)

BASE_DELAY = 5.0
MAX_DELAY = 3600.0
# After this many failed attempts of one revision, it is given up (until it changes).
MAX_ATTEMPTS = 12
LEASE_SECONDS = 30.0
# The heartbeat renews the pusher's leases this many times per lease: a renewal
# late by two beats still keeps them.
BEATS_PER_LEASE = 3


class PermanentFailure(Exception):
    pass


@dataclass(frozen=True)
class Outcome:
    action: str
    connection_id: str = ""
    calendar_id: str = ""
    href: str = ""
    etag: str = ""


class AppointmentPusher:
    def __init__(
        self,
        app: CalendarIntegration,
        queue: PushQueueMixin,
        vault: CredentialVault,
        caldav: CalDAVSettings,
        *,
        poll_interval: float = 1.0,
        lease_seconds: float = LEASE_SECONDS,
        after_write: Callable[[str], None] = lambda _href: None,
    ) -> None:
        self._app = app
        self._queue = queue
        self._vault = vault
        self._caldav = caldav
        self._poll_interval = poll_interval
        self._lease_seconds = lease_seconds
        # Called after each write to iCloud, before it is recorded (tests crash here).
        self._after_write = after_write
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._heartbeat: threading.Thread | None = None
        self._homes: dict[str, str] = {}
        # host/pid/token: unique, and tells a pusher of the same host whether its holder lives
        self.holder = f"{socket.gethostname()}/{os.getpid()}/{uuid.uuid4().hex[:8]}"

    # -- running ----------------------------------------------------------------------------

    def start(self) -> None:
        self._stopping.clear()  # startable again after a stop
        try:
            self.free_dead_local_leases()
        except Exception:  # the database is away: the leases run out by themselves
            log.warning("could not free the leases of dead pushers of this host", exc_info=True)
        self._heartbeat = threading.Thread(target=self._beat, name="push-heartbeat", daemon=True)
        self._heartbeat.start()
        self._thread = threading.Thread(target=self._run, name="appointment-pusher", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if self._heartbeat is not None:
            self._heartbeat.join(timeout)

    def free_dead_local_leases(self) -> int:
        """Frees at once the leases of pushers of this host that are dead (a
        restarted process, or a crashed neighbour): nobody renews them."""
        host = socket.gethostname()
        freed = 0
        for holder in self._queue.holders(host + "/"):
            if holder != self.holder and not _alive(holder, host):
                held = self._queue.free(holder)
                freed += len(held)
                metrics.PUSH_LEASE_TAKEOVERS.inc(len(held))
                happened(log, "push.leases_freed", dead_holder=holder, entries=len(held))
                for appointment_id in held:
                    happened(
                        log, "push.lease_taken_over", appointment_id=appointment_id, previous_holder=holder,
                        lapsed_seconds=0.0, holder_dead=True,
                    )
        return freed

    def _beat(self) -> None:
        """Renews this pusher's leases while it runs; a pusher that dies stops
        renewing, and its entries are free within one lease."""
        while not self._stopping.wait(self._lease_seconds / BEATS_PER_LEASE):
            try:
                self._queue.renew(self.holder, self._lease_seconds)
            except Exception:  # the database is away: try at the next beat
                log.warning("renewing push leases failed", exc_info=True)

    def wake(self, _position: int = 0) -> None:
        self._wake.set()

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                worked = self.run_due()
            except Exception:  # keep pushing; report
                log.exception("pushing appointments failed; retrying")
                worked = 0
            if not worked:
                self._wake.wait(self._pause())
                self._wake.clear()

    def _pause(self) -> float:
        """Until the next retry or lease end falls due, at most the poll interval
        (new work wakes the pusher at once)."""
        try:
            due = self._queue.next_due()
        except Exception:  # the database is away: poll
            return self._poll_interval
        if due is None:
            return self._poll_interval
        return min(self._poll_interval, max(0.01, due - time.time()))

    def run_due(self, limit: int = 20) -> int:
        """Pushes what is due now; returns how many entries were handled."""
        items = self._queue.claim(limit, self._lease_seconds, self.holder)
        for item in items:
            if item.taken_from and item.taken_from != self.holder:
                metrics.PUSH_LEASE_TAKEOVERS.inc()
                happened(
                    log, "push.lease_taken_over", appointment_id=item.appointment_id, previous_holder=item.taken_from,
                    lapsed_seconds=item.lapsed_seconds, holder_dead=False,
                )
            if self._stopping.is_set():
                self._queue.retry(item, 0, item.attempts)
                continue
            self.push(item)
        return len(items)

    # -- one appointment ------------------------------------------------------------------------

    def push(self, item: QueuedPush) -> None:
        with run_cause("push"):
            started = time.monotonic()
            outcome = self._push(item)
            metrics.observe_push(outcome, time.monotonic() - started)
            happened(
                log, "push.finished", appointment_id=item.appointment_id, attempt=item.attempts + 1,
                outcome=outcome, seconds=round(time.monotonic() - started, 3),
            )

    def _push(self, item: QueuedPush) -> str:
        # read only (the outcome is recorded on a fresh copy, ``_record``)
        schedule = self._app.find(uuid.UUID(item.schedule_id), UserSchedule, read_only=True)
        record = schedule.appointments.get(item.appointment_id) if schedule else None
        if schedule is None or record is None:
            self._queue.done(item, item.revision)
            return "gone"
        revision = record["revision"]
        if _written(record) or not record["calendar"]:
            self._queue.done(item, revision)
            return "nothing_to_do"
        try:
            outcome = self._write(item.appointment_id, record)
        except PermanentFailure as failure:
            self._record_failure(item, revision, str(failure), item.attempts + 1, None)
            self._queue.done(item, revision)
            return "failed"
        except ProviderThrottled as throttled:
            return self._retry(item, revision, throttled.message, throttled.retry_after)
        except DomainError as failure:
            return self._retry(item, revision, failure.message, None, failure.reason)
        self._record(item, revision, outcome)
        self._queue.done(item, revision)
        if restoring(record):
            happened(log, "appointment.restored", appointment_id=item.appointment_id, revision=revision,
                     action=outcome.action)
            metrics.appointment_outcome("appointment.restored")
        return outcome.action

    def _write(self, appointment_id: str, record: dict[str, Any]) -> Outcome:
        target = record["calendar"]
        connection = self._app.find(uuid.UUID(target["connection_id"]), Connection)
        if connection is None or connection.status is ConnectionStatus.DISCONNECTED:
            raise PermanentFailure("the primary calendar's connection was disconnected")
        calendar = connection.calendars.get(target["calendar_id"])
        if calendar is None:
            raise PermanentFailure("the primary calendar no longer exists in iCloud")
        if connection.status is ConnectionStatus.RECONNECT_REQUIRED:
            raise PushDeferred("the connection needs a new app-specific password")
        try:
            password = self._vault.fetch(connection.credential_ref)
        except NotFound:
            raise PermanentFailure("the connection's credentials are gone") from None
        where = Outcome("", str(connection.id), calendar.calendar_id)
        try:
            with CalDAVAccount(
                self._caldav.base_url, connection.apple_id, password,
                timeout=self._caldav.timeout, verify_tls=self._caldav.verify_tls,
                home_url=self._homes.get(str(connection.account_id)),
            ) as account:
                writer = CalendarWriter(account)
                outcome = self._apply(writer, appointment_id, record, calendar.href, where, connection.apple_id)
                self._homes[str(connection.account_id)] = account.home_url()
                return outcome
        except InvalidCredentials as refused:
            raise PushDeferred(refused.message) from refused
        except ProviderProtocolError as refused:  # 403, 4xx refusals, answers that are not CalDAV
            raise PermanentFailure(refused.message) from refused

    def _apply(
        self, writer: CalendarWriter, appointment_id: str, record: dict[str, Any], calendar_href: str, where: Outcome,
        owner: str,
    ) -> Outcome:
        pushed = record.get("pushed") or {}
        href = pushed.get("href") or resource_href(calendar_href, resource_name(appointment_id))
        revision = record["revision"]
        if record["status"] == "cancelled":
            writer.delete(href)
            self._after_write(href)
            return Outcome("deleted", where.connection_id, where.calendar_id, href, "")
        body = render(appointment_id, record, organizer=owner)
        # Writing the CRM's version back over the user's change: their copy carries
        # the same revision, and is not ours to take for a write of our own.
        restore = restoring(record)
        if pushed.get("href"):
            try:
                etag = writer.update(href, body, pushed.get("etag", ""))
                action = "updated"
            except ChangedSince:
                # changed in iCloud since: the CRM's change is newer; or our own
                # earlier write whose recording was lost
                stored = writer.get(href)
                if stored is not None and stored.revision == revision and not restore:
                    return Outcome("found", where.connection_id, where.calendar_id, stored.href, stored.etag)
                etag, action = writer.update(href, body, stored.etag if stored else ""), "updated"
            except Gone:
                etag, action = self._create(writer, href, body, calendar_href, appointment_id, revision, restore)
        else:
            etag, action = self._create(writer, href, body, calendar_href, appointment_id, revision, restore)
        self._after_write(href)
        if action == "found":
            return Outcome(action, where.connection_id, where.calendar_id, href, etag)
        return Outcome(action, where.connection_id, where.calendar_id, href, writer.fill_etag(href, etag))

    def _create(
        self,
        writer: CalendarWriter,
        href: str,
        body: str,
        calendar_href: str,
        appointment_id: str,
        revision: int,
        restore: bool = False,
    ) -> tuple[str, str]:
        try:
            return writer.create(href, body), "created"
        except AlreadyThere:
            pass
        # An earlier attempt wrote it (its recording was lost), or the user's copy.
        stored: Stored | None = writer.get(href) or writer.find_uid(calendar_href, appointment_uid(appointment_id))
        if stored is None:
            raise PushDeferred("the event was there a moment ago and is gone; trying again")
        if stored.revision == revision and not restore:
            return stored.etag, "found"
        return writer.update(stored.href, body, stored.etag), "updated"

    # -- recording ------------------------------------------------------------------------------

    def _record(self, item: QueuedPush, revision: int, outcome: Outcome) -> None:
        def attempt() -> None:
            schedule = self._app.find(uuid.UUID(item.schedule_id), UserSchedule)
            assert schedule is not None
            schedule.pushed(
                item.appointment_id, revision, outcome.action, outcome.connection_id, outcome.calendar_id,
                outcome.href, outcome.etag,
            )
            self._app.record(schedule)

        with self._app.serialised(uuid.UUID(item.schedule_id)):  # bookings of this user take turns with it
            retrying(attempt, BOOKING_RETRIES, BOOKING_JITTER)

    def _record_failure(
        self, item: QueuedPush, revision: int, message: str, attempts: int, retry_at: datetime | None
    ) -> None:
        def attempt() -> None:
            schedule = self._app.find(uuid.UUID(item.schedule_id), UserSchedule)
            assert schedule is not None
            schedule.push_failed(item.appointment_id, revision, message, attempts, retry_at is None, retry_at)
            self._app.record(schedule)

        with self._app.serialised(uuid.UUID(item.schedule_id)):  # bookings of this user take turns with it
            retrying(attempt, BOOKING_RETRIES, BOOKING_JITTER)

    def _retry(
        self, item: QueuedPush, revision: int, message: str, retry_after: float | None,
        reason: str = ProviderThrottled.reason,
    ) -> str:
        attempts = item.attempts + 1
        if attempts >= MAX_ATTEMPTS:
            self._record_failure(item, revision, f"{message} (gave up after {attempts} attempts)", attempts, None)
            self._queue.done(item, revision)
            return "failed"
        delay = backoff(attempts, retry_after)
        happened(
            log, "push.backoff", appointment_id=item.appointment_id, attempt=attempts, reason=reason,
            retry_after=retry_after, wait=round(delay, 1),
        )
        retry_at = datetime.now(UTC) + timedelta(seconds=delay)
        self._record_failure(item, revision, message, attempts, retry_at)
        self._queue.retry(item, time.time() + delay, attempts)
        return "retrying"


class PushDeferred(ProviderUnavailable):
    """The write cannot happen now, but may later (retried with backoff)."""

    reason = "PUSH_DEFERRED"


def backoff(attempts: int, retry_after: float | None = None) -> float:
    """Capped exponential backoff with full jitter, never sooner than Retry-After."""
    ceiling = min(MAX_DELAY, BASE_DELAY * 2 ** (attempts - 1))
    delay = random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not security
    return min(MAX_DELAY, max(delay, retry_after or 0.0))


def _alive(holder: str, host: str) -> bool:
    """Whether the pusher ``holder`` (of this ``host``) still runs: its process is
    alive and is not this one (a restarted process may get its predecessor's pid,
    such as 1 in a container)."""
    try:
        pid = int(holder[len(host) + 1:].split("/")[0])
    except ValueError:
        return True  # not a name we make: leave it to run out
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, someone else's
    return True


def _written(record: dict[str, Any]) -> bool:
    pushed = record.get("pushed") or {}
    return bool(pushed.get("revision") == record["revision"]) and not restoring(record)
