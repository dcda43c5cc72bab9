"""Wires the service together: stores, views, adapters, services. No I/O happens
at import time; everything starts here."""

from __future__ import annotations

import base64
import logging
import os
import stat
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from eventsourcing.persistence import InfrastructureFactory
from eventsourcing.utils import Environment
from psycopg.conninfo import conninfo_to_dict

from adapters import metrics
from adapters.feeds.fetch import FeedFetcher, FeedSettings
from adapters.feeds.probe import FeedProber
from adapters.feeds.sync import FeedSyncer
from adapters.icloud.discovery import CalDAVDiscovery
from adapters.icloud.dav import HomePoller
from adapters.icloud.poller import SyncScheduler
from adapters.icloud.throttle import HostGate
from adapters.icloud.sync_status import SyncStatusReader
from adapters.icloud.parse_pool import ResourceParser
from adapters.icloud.sync_worker import AccountSyncer, CalDAVSettings
from adapters.icloud.ical import expand
from adapters.icloud.pusher import AppointmentPusher
from adapters import metrics
from adapters.persistence.push_queue import PostgresPushQueue, PushQueueProjection, SQLitePushQueue
from adapters.persistence.availability_view import (
    PostgresAvailabilityView,
    SQLiteAvailabilityView,
    scratch_availability_view,
)
from adapters.persistence.calendar_states import SyncCalendarStates
from adapters.persistence.connection_view import PostgresConnectionView, SQLiteConnectionView
from adapters.persistence.aggregate_positions import last_position
from adapters.persistence.follower import ProjectionFollower
from adapters.persistence.history_records import HistoryRecords
from adapters.persistence.log_wakeup import PostgresWakeup
from adapters.persistence.model_lock import ModelLock
from adapters.persistence.log_tail import LogTail
from adapters.persistence.sync_state import SyncState
from adapters.persistence.connection_cache import ConnectionCache
from adapters.persistence.database import Database, PooledReader, ThreadLocalReader, create_sqlite_file
from adapters.persistence.pool import ProcessPool, share
from adapters.persistence.vault import CredentialVault
from calendar_domain.application import CalendarIntegration
from calendar_domain.appointment_service import AppointmentService
from calendar_domain.availability_history import AvailabilityHistory
from calendar_domain.availability_projection import AvailabilityProjection
from calendar_domain.availability_service import AvailabilityService
from calendar_domain.busy import Occurrence
from calendar_domain.busy_times import BusyTimes
from calendar_domain.policy_service import PolicyService
from calendar_domain.connection_projection import ConnectionReadModel, ConnectionsProjection
from calendar_domain.configuration_service import ConfigurationService
from calendar_domain.history_service import HistoryService
from calendar_domain.connection_service import ConnectionService
from calendar_domain.errors import ReadModelBehind
from calendar_domain.icloud_changes import SyncRules
from calendar_domain.schedule_service import ScheduleService
from calendar_domain.telemetry import happened
from calendar_domain import ports, retry
from calendar_domain.ports import CalendarDiscovery
from server.config import Settings

log = logging.getLogger(__name__)


@dataclass
class Container:
    settings: Settings
    app: CalendarIntegration
    connections: ConnectionService
    configurations: ConfigurationService
    schedules: ScheduleService
    connection_view: ConnectionReadModel
    connection_cache: ConnectionCache
    follower: ProjectionFollower
    vault: Any
    sync_state: SyncState
    scheduler: SyncScheduler
    sync_status: SyncStatusReader
    parser: ResourceParser
    availability_view: Any
    availability_follower: ProjectionFollower
    availability: AvailabilityService
    busy_times: BusyTimes
    policies: PolicyService
    history: HistoryService
    log_tail: LogTail
    appointments: AppointmentService
    availability_history: AvailabilityHistory
    push_queue: Any
    push_follower: ProjectionFollower
    pusher: AppointmentPusher
    availability_lock: ModelLock
    wakeup: PostgresWakeup | None = None
    # PostgreSQL: every connection of this process comes from here.
    pool: ProcessPool | None = None

    def start(self) -> None:
        self.availability_lock.share()  # waits out a rebuild, and keeps the next one off
        self.follower.start()
        self.availability_follower.start(run=self.settings.embedded_projections)
        if self.wakeup is not None:
            self.wakeup.start()
        self.log_tail.start()
        if self.settings.sync_enabled:
            self.parser.start()  # a first sync's parsing does not wait for the workers to start
            self.scheduler.start()
        if self.settings.embedded_push:
            self.start_push()

    def start_push(self, standalone: bool = False) -> None:
        """Write appointments to iCloud (inside the server, or ``standalone``: the
        push process)."""
        self.push_follower.start()
        self.pusher.start()
        if standalone and self.wakeup is not None:
            self.wakeup.start()

    def start_sync(self) -> None:
        """Only poll iCloud accounts (a sync process); the read models it reads are
        kept by a projection process or a server."""
        self.parser.start()
        self.scheduler.start()
        if self.wakeup is not None:
            self.wakeup.start()

    def start_projections(self) -> None:
        """Only follow the log into the read models (a projection process)."""
        self.availability_lock.share()
        self.follower.start()
        self.availability_follower.start()
        if self.wakeup is not None:
            self.wakeup.start()

    def vault_is_empty(self) -> bool:
        return bool(self.vault.is_empty())

    def stop_threads(self) -> None:
        """Stops everything that runs in the background (pollers, followers)."""
        self.scheduler.stop()
        if self.wakeup is not None:
            self.wakeup.stop()
        self.pusher.stop()
        self.push_follower.stop()
        self.follower.stop()
        self.availability_follower.stop()
        self.log_tail.stop()

    def close(self) -> None:
        self.stop_threads()
        self.availability_lock.release()
        self.parser.close()
        self.sync_state.close()
        views: tuple[Any, ...] = (self.connection_view, self.availability_view, self.push_queue)
        for view in views:
            reader = getattr(view, "reader", None)
            if reader is not None:
                reader.close()
            view.datastore.close()
        self.vault.close()
        self.app.close()
        if self.pool is not None:
            self.pool.close()


def postgres_env(settings: Settings) -> dict[str, str]:
    info = conninfo_to_dict(settings.postgres_url)
    env = {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": str(info.get("dbname", "postgres")),
        "POSTGRES_HOST": str(info.get("host", "127.0.0.1")),
        "POSTGRES_PORT": str(info.get("port", "5432")),
        "POSTGRES_USER": str(info.get("user", "postgres")),
        "POSTGRES_PASSWORD": str(info.get("password", "")),
        "POSTGRES_SCHEMA": settings.postgres_schema,
        # Kept off on purpose: with it on, positions can become visible out of
        # order and tracking rows are dropped.
        "POSTGRES_ENABLE_DB_FUNCTIONS": "n",
        # The library's own pools are replaced by the process pool (``process_pool``)
        # where the bootstrap builds a store; these bound the others (a rebuild's readers).
        "POSTGRES_POOL_SIZE": "1",
        "POSTGRES_MAX_OVERFLOW": "1",
        "POSTGRES_CONNECT_TIMEOUT": str(max(1, round(settings.db_pool_timeout))),
    }
    return env


def process_pool(settings: Settings) -> ProcessPool:
    """The process's PostgreSQL pool (it connects on first use)."""
    return ProcessPool(
        conninfo_to_dict(settings.postgres_url), size=settings.db_pool_size, timeout=settings.db_pool_timeout,
        application_name=settings.application_name,
    )


class PooledCalendarIntegration(CalendarIntegration):
    """The application, its recorders on the process pool (given before the
    library's constructor creates its tables)."""

    # the library names an application after its class unless told: the log's and
    # the trackings' name stays the application's
    name = CalendarIntegration.name

    def __init__(self, env: dict[str, str], pool: ProcessPool | None) -> None:
        self._process_pool = pool
        super().__init__(env)

    def construct_factory(self, env: Environment) -> InfrastructureFactory:
        factory = super().construct_factory(env)
        if self._process_pool is not None:
            share(factory.datastore, self._process_pool)  # type: ignore[attr-defined]
        return factory


def store_env(settings: Settings, database: str) -> dict[str, str]:
    """eventsourcing settings for one database: "events" or "views"."""
    if settings.event_store == "postgres":
        return postgres_env(settings)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": str(private_sqlite_file(settings, database)),
        "SQLITE_LOCK_TIMEOUT": "10",
    }


def application_env(settings: Settings) -> dict[str, str]:
    return {
        **store_env(settings, "events"),
        "CIPHER_TOPIC": "eventsourcing.cryptography:AESCipher",
        "CIPHER_KEY": base64.b64encode(settings.key_bytes("cipher")).decode(),
        "COMPRESSOR_TOPIC": "eventsourcing.compressor:ZlibCompressor",
        "AGGREGATE_CACHE_MAXSIZE": "10000",
        # Schedules grow with every imported event; snapshots keep loading them cheap.
        "IS_SNAPSHOTTING_ENABLED": "y",
    }


def operational_database(settings: Settings, name: str, pool: ProcessPool | None = None) -> Database:
    """A database for tables outside the event log: a file of its own on SQLite.
    On PostgreSQL, on ``pool`` (else on a pool of its own)."""
    if settings.event_store == "postgres":
        own = pool is None
        return Database(pool=pool or process_pool(settings), schema=settings.postgres_schema, owned=own)
    path = private_sqlite_file(settings, name)
    # WAL set here, once: creators opening a new file at once each switching it
    # find "database is locked" (the switch does not wait for the others)
    create_sqlite_file(path, page_size=4096)
    return Database(sqlite_path=path)


def private_sqlite_file(settings: Settings, name: str) -> Path:
    """``DATA_DIR/<name>.sqlite``, private to the service's user like the keys: the
    directory 0700, the file 0600 (made empty if missing, so that SQLite never
    makes it with the umask's permissions; its -wal and -shm files take the
    database file's)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(settings.data_dir, stat.S_IRWXU)
    path = settings.data_dir / f"{name}.sqlite"
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)  # also a file made before
    return path


def build_vault(settings: Settings, pool: ProcessPool | None = None) -> CredentialVault:
    return CredentialVault(operational_database(settings, "vault", pool), settings.key_bytes("vault"))


def build_connection_view(settings: Settings, pool: ProcessPool | None = None) -> Any:
    return _build_view(settings, "views", SQLiteConnectionView, PostgresConnectionView, pool)


def build_availability_view(settings: Settings, pool: ProcessPool | None = None) -> Any:
    # A file of its own on SQLite: the library's SQLite tracking table has one name.
    return _build_view(settings, "availability", SQLiteAvailabilityView, PostgresAvailabilityView, pool)


def build_model_lock(settings: Settings, name: str, pool: ProcessPool | None = None) -> ModelLock:
    """The lock every user of the read model ``name`` holds shared, and a rebuild alone."""
    if settings.event_store == "postgres":
        return ModelLock(
            name, pool=pool or process_pool(settings), schema=settings.postgres_schema, owned=pool is None
        )
    return ModelLock(name, sqlite_path=Path(store_env(settings, name)["SQLITE_DBNAME"]))


def build_push_queue(settings: Settings, pool: ProcessPool | None = None) -> Any:
    return _build_view(settings, "pushes", SQLitePushQueue, PostgresPushQueue, pool)


def _build_view(
    settings: Settings, database: str, sqlite_class: type, postgres_class: type, pool: ProcessPool | None
) -> Any:
    """A read model's recorder; on PostgreSQL on ``pool`` (else on a pool of its
    own, closed with the view's datastore)."""
    env = Environment(env=store_env(settings, database))
    env["CREATE_TABLE"] = "y"
    if settings.event_store != "postgres":
        create_sqlite_file(Path(env["SQLITE_DBNAME"]))
    factory: Any = InfrastructureFactory.construct(env)
    if settings.event_store == "postgres":
        own = pool is None
        the_pool = pool or process_pool(settings)
        share(factory.datastore, the_pool, owned=own)
        view: Any = factory.tracking_recorder(postgres_class)
        view.reader = PooledReader(the_pool)
        return view
    view = factory.tracking_recorder(sqlite_class)
    view.reader = ThreadLocalReader(sqlite_path=env["SQLITE_DBNAME"])
    return view


def bootstrap(
    settings: Settings,
    *,
    discovery: CalendarDiscovery | None = None,
    vault: ports.CredentialVault | None = None,
    pool: ProcessPool | None = None,
) -> Container:
    """Everything of one process; on PostgreSQL on ``pool`` (made here if not given;
    the container closes it)."""
    if pool is None and settings.event_store == "postgres":
        pool = process_pool(settings)
    app = PooledCalendarIntegration(application_env(settings), pool)
    retry.count_conflicts_with(metrics.count_command_conflict)
    the_vault = vault if vault is not None else build_vault(settings, pool)
    sync_state = SyncState(
        operational_database(settings, "sync", pool),
        notify_channel=f"{settings.postgres_schema}_sync_due" if pool is not None else "",
    )
    the_discovery = discovery or CalDAVDiscovery(
        settings.caldav_url, timeout=settings.caldav_timeout, verify_tls=settings.caldav_verify_tls,
        on_home=sync_state.remember_home,
    )
    view = build_connection_view(settings, pool)
    cache = ConnectionCache(view)
    follower = ProjectionFollower(app, ConnectionsProjection(view), poll_interval=settings.projection_poll_interval)
    follower.after_event.append(cache.event_recorded)
    app.add_listener(follower.wake)
    gate = HostGate(per_host=settings.caldav_host_concurrency, rate=settings.caldav_rate)
    feed_fetcher = FeedFetcher(
        FeedSettings(
            timeout=settings.feed_timeout, max_bytes=settings.feed_max_bytes,
            max_redirects=settings.feed_max_redirects, allow_private=settings.feed_allow_private,
        ),
        gate,
    )
    connections = ConnectionService(
        app, the_discovery, the_vault,
        # late bound: the scheduler is made below, from the syncer that uses this service
        credentials_replaced=lambda account_id: scheduler.sync_soon(account_id),
        feeds=FeedProber(feed_fetcher),
    )
    schedules = ScheduleService(
        app, observe=metrics.appointment_outcome,
        # the availability service is made below; a sync calls this only once it runs
        imported_busy=lambda *args: availability.imported_busy(*args),
        bounds=SyncRules(max_open_conflicts=settings.max_open_conflicts, max_held_spans=settings.max_held_spans),
        record_batch=settings.sync_record_batch,
        settle=lambda ids: settle(ids),  # defined below, with the availability follower
    )
    records = HistoryRecords(app)
    history = HistoryService(app, decode=records, select=records.select)
    # One follower of the log for every history stream in this process.
    log_tail = LogTail(
        app, history, subscribe=settings.event_store == "postgres", poll_interval=settings.projection_poll_interval
    )
    app.add_listener(log_tail.wake)
    caldav = CalDAVSettings(
        settings.caldav_url, settings.caldav_timeout, settings.caldav_verify_tls, settings.caldav_batch_size
    )
    parser = ResourceParser(settings.parse_processes)
    home_poller = HomePoller(
        timeout=settings.caldav_timeout, verify_tls=settings.caldav_verify_tls,
        connections_per_host=settings.caldav_host_concurrency, gate=gate,
    )
    syncer = AccountSyncer(
        app, connections, schedules, the_vault, sync_state, caldav, parser,
        verify_every=settings.sync_verify_every, home_poller=home_poller, gate=gate,
        active_for=settings.sync_active_for, confirm_every=settings.stale_after / 4,
        feeds=FeedSyncer(
            app, schedules, the_vault, sync_state, feed_fetcher, parser, confirm_every=settings.stale_after / 4,
        ),
    )
    scheduler = SyncScheduler(
        syncer, sync_state, view, interval=settings.sync_interval, active_interval=settings.sync_active_interval,
        lease_seconds=settings.sync_lease, concurrency=settings.sync_concurrency,
        log_head=app.head_position,
        # SyncNow is served where the connections model is followed; elsewhere (a
        # test's container never started) only the model's rows are waited for.
        connections_reached=lambda position: not follower.started or follower.position >= position,
    )
    follower.after_event.append(scheduler.connection_event)  # the poll table follows connections
    availability_view = build_availability_view(settings, pool)
    availability_follower = ProjectionFollower(
        app, AvailabilityProjection(availability_view, expand_series),
        poll_interval=settings.projection_poll_interval, batch_size=2000,
    )
    app.add_listener(availability_follower.wake)
    availability = AvailabilityService(
        availability_view,
        SyncCalendarStates(cache, sync_state),
        expand_series,
        position=lambda: availability_follower.position,
        stale_after=settings.stale_after,
        max_window_days=settings.max_window_days,
        clock=time.time,
        unknown_user_seen=metrics.UNKNOWN_USER_ANSWERS.inc,
    )

    def settle(aggregate_ids: Sequence[uuid.UUID]) -> None:
        """Bookings check the user's time against a model that has read the last
        event of the aggregates that concern the user (not the whole log: another
        tenant's first sync, recorded meanwhile, is not waited for)."""
        began = time.monotonic()
        position = last_position(app, aggregate_ids)
        reached = availability_follower.wait_for(position, settings.read_wait_timeout)
        metrics.BOOKING_READ_WAIT.observe(time.monotonic() - began)
        if not reached:
            happened(log, "booking.read_model_behind", logging.WARNING, position=position,
                     waited=round(time.monotonic() - began, 3))
            raise ReadModelBehind(
                f"the availability read model has not reached position {position} within "
                f"{settings.read_wait_timeout:g}s; retry",
                min_position=str(position),
            )

    push_queue = build_push_queue(settings, pool)
    push_follower = ProjectionFollower(
        app, PushQueueProjection(push_queue), poll_interval=settings.projection_poll_interval
    )
    app.add_listener(push_follower.wake)
    pusher = AppointmentPusher(
        app, push_queue, the_vault, caldav,
        poll_interval=settings.projection_poll_interval, lease_seconds=settings.push_lease,
    )
    push_follower.after_event.append(pusher.wake)

    wakeup = None
    if pool is not None:
        wakeup = PostgresWakeup(
            pool,
            app.recorder.channel_name,  # type: ignore[attr-defined]
            [follower.wake, availability_follower.wake, push_follower.wake],
            sync_channel=sync_state.notify_channel, wake_sync=[scheduler.wake],
        )
    return Container(
        settings=settings,
        app=app,
        connections=connections,
        configurations=ConfigurationService(app),
        schedules=schedules,
        connection_view=view,
        connection_cache=cache,
        follower=follower,
        vault=the_vault,
        sync_state=sync_state,
        scheduler=scheduler,
        sync_status=SyncStatusReader(schedules, sync_state),
        parser=parser,
        availability_view=availability_view,
        availability_follower=availability_follower,
        availability=availability,
        busy_times=BusyTimes(availability, availability_view, expand_series, clock=time.time),
        policies=PolicyService(app),
        history=history,
        log_tail=log_tail,
        appointments=AppointmentService(
            app, availability.obstacles, settle, observe=metrics.appointment_outcome,
            count_assignment=metrics.count_round_robin,
        ),
        availability_history=AvailabilityHistory(
            app, scratch_availability_view, expand_series,
            stale_after=settings.stale_after, max_window_days=settings.max_window_days,
        ),
        push_queue=push_queue,
        push_follower=push_follower,
        pusher=pusher,
        availability_lock=build_model_lock(settings, "availability", pool),
        wakeup=wakeup,
        pool=pool,
    )


def expand_series(ical: str, start: datetime, end: datetime, time_zone: str) -> list[Occurrence]:
    return expand(ical, start, end, default_tz=time_zone)
