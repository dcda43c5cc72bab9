"""Builds the gRPC server: our services, health checking, reflection; and runs it
until SIGTERM/SIGINT, then drains in-flight calls."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import eventsourcing.persistence as es_persistence
import grpc
import psycopg
from google.rpc import error_details_pb2, status_pb2
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from calendarintegration.v1 import (
    appointments_pb2,
    availability_pb2,
    configuration_pb2,
    connection_pb2,
    history_pb2,
    sync_pb2,
)
from adapters.persistence.pool import wait_until_reachable
from calendar_domain.telemetry import happened
from server import (
    appointment_servicer,
    availability_servicer,
    configuration_servicer,
    connection_servicer,
    history_servicer,
    sync_servicer,
)
from server.auth import Authenticator
from server.bootstrap import Container, bootstrap, process_pool
from server.config import Settings
from server.errors import database_unavailable
from server.handlers import ReadGate
from server.interceptors import CallInterceptor
from server.observability import HealthWatch, start_metrics

log = logging.getLogger(__name__)
# Reflection answers from the default descriptor pool: the google.rpc types our
# errors carry must be in it (imported here for that), so that grpcurl and buf
# curl decode ErrorInfo and BadRequest instead of showing base64.
ERROR_DETAIL_TYPES = (status_pb2.Status, error_details_pb2.ErrorInfo, error_details_pb2.BadRequest)

SERVICE_NAMES = [
    connection_pb2.DESCRIPTOR.services_by_name["ConnectionService"].full_name,
    configuration_pb2.DESCRIPTOR.services_by_name["CalendarConfigurationService"].full_name,
    sync_pb2.DESCRIPTOR.services_by_name["SyncService"].full_name,
    availability_pb2.DESCRIPTOR.services_by_name["AvailabilityService"].full_name,
    history_pb2.DESCRIPTOR.services_by_name["HistoryService"].full_name,
    appointments_pb2.DESCRIPTOR.services_by_name["AppointmentService"].full_name,
]


@dataclass
class RunningServer:
    server: grpc.Server
    port: int
    health: health.HealthServicer
    # Ends the open event streams (which would otherwise never finish by themselves).
    end_streams: Callable[[], None] = lambda: None
    watch: HealthWatch | None = None

    def stop(self, grace: float) -> None:
        """Reports NOT_SERVING, refuses new calls, and lets in-flight ones finish;
        event streams end cleanly at once (their clients resume by position)."""
        if self.watch is not None:
            self.watch.stop()
        self.health.enter_graceful_shutdown()
        stopped = self.server.stop(grace)
        self.end_streams()
        stopped.wait()


def create_server(container: Container, address: str | None = None) -> RunningServer:
    settings = container.settings
    # Each open event stream holds a thread: room for max_streams of them on top.
    server = grpc.server(
        ThreadPoolExecutor(max_workers=settings.max_workers + settings.max_streams, thread_name_prefix="grpc"),
        options=[("grpc.so_reuseport", 0)],
        interceptors=[CallInterceptor()],
    )
    authenticator = Authenticator(settings.auth_tokens)
    gate = ReadGate(container.follower.wait_for, settings.read_wait_timeout, "connections")
    connection_servicer.register(
        server,
        connection_servicer.ConnectionServicer(
            authenticator, container.connections, container.connection_view, container.connection_cache, gate
        ),
    )
    configuration_servicer.register(
        server, configuration_servicer.ConfigurationServicer(authenticator, container.configurations)
    )
    availability_gate = ReadGate(container.availability_follower.wait_for, settings.read_wait_timeout, "availability")
    sync_servicer.register(
        server,
        sync_servicer.SyncServicer(
            authenticator, container.connections, container.configurations, container.schedules,
            container.scheduler, container.sync_status, settings.sync_now_wait, container.busy_times,
            availability_gate,
        ),
    )
    availability_servicer.register(
        server,
        availability_servicer.AvailabilityServicer(
            authenticator, container.availability, container.configurations, container.policies,
            availability_gate, container.availability_history, container.busy_times,
        ),
    )
    history_servicer.register(
        server,
        history_servicer.HistoryServicer(authenticator, container.history, container.log_tail, settings.max_streams),
    )
    appointment_servicer.register(
        server, appointment_servicer.AppointmentServicer(authenticator, container.appointments, container.policies)
    )
    health_servicer = health.HealthServicer(experimental_non_blocking=True)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        [*SERVICE_NAMES, health.SERVICE_NAME, reflection.SERVICE_NAME], server
    )
    port = _bind(server, address or settings.listen, settings)
    server.start()
    watch = HealthWatch(container, health_servicer.set, ["", *SERVICE_NAMES]).start()
    return RunningServer(server, port, health_servicer, container.log_tail.stop, watch)


# Starts that fail for a reason other than the database being away, before one is
# given up (several processes creating a new schema's tables at once collide).
START_ATTEMPTS = 5


def _start_race(error: BaseException) -> bool:
    # "duplicate key" on the catalogue, "already exists", "tuple concurrently updated"
    return isinstance(error, (psycopg.Error, es_persistence.PersistenceError))


def _waiting_server(settings: Settings) -> grpc.Server:
    """Health alone, NOT_SERVING, on the listen address: what a server answers
    while it cannot reach the database at start."""
    server = grpc.server(ThreadPoolExecutor(max_workers=2, thread_name_prefix="grpc-wait"),
                         options=[("grpc.so_reuseport", 0)])
    health_servicer = health.HealthServicer(experimental_non_blocking=True)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    for name in ["", *SERVICE_NAMES]:
        health_servicer.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
    _bind(server, settings.listen, settings)
    server.start()
    return server


def start_when_reachable(
    settings: Settings, stopping: threading.Event, *, while_waiting: Callable[[], Callable[[], None]] | None = None
) -> Container | None:
    """The process's container, once the database can be reached: a process that
    cannot reach it at start tries again with capped, doubling pauses and says so
    in its log (``while_waiting`` runs meanwhile: a server answers NOT_SERVING).
    None if ``stopping`` is set first."""
    if settings.event_store != "postgres":
        return bootstrap(settings)
    pool = process_pool(settings)
    undo: Callable[[], None] | None = None
    failures = 0
    try:
        while True:
            if not pool.reachable(settings.db_pool_timeout) and undo is None and while_waiting is not None:
                undo = while_waiting()
            if not wait_until_reachable(
                lambda: pool.reachable(settings.db_pool_timeout), cap=settings.db_start_retry_max, stopping=stopping
            ):
                pool.close()
                return None
            try:
                return bootstrap(settings, pool=pool)
            except Exception as error:
                # Gone again between the check and the start, or another process of
                # the fleet creating the same tables at the same moment: again.
                if database_unavailable(error) is None:
                    failures += 1
                    if not _start_race(error) or failures > START_ATTEMPTS:
                        pool.close()
                        raise
                happened(log, "database.start_failed", logging.WARNING, error=type(error).__name__)
                stopping.wait(min(settings.db_start_retry_max, 0.2 * (failures + 1)))
    finally:
        if undo is not None:
            undo()


def _bind(server: grpc.Server, address: str, settings: Settings) -> int:
    if settings.tls_cert_file:
        credentials = grpc.ssl_server_credentials(
            [(Path(settings.tls_key_file).read_bytes(), Path(settings.tls_cert_file).read_bytes())]
        )
        port = server.add_secure_port(address, credentials)
    else:
        port = server.add_insecure_port(address)
    if port == 0:
        raise OSError(f"cannot listen on {address}")
    return port


def serve(settings: Settings) -> None:
    """Runs until SIGTERM or SIGINT (waiting first, NOT_SERVING, for the database)."""
    stopping = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        happened(log, "server.draining", signal=signal.Signals(signum).name)
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    def answer_not_serving() -> Callable[[], None]:
        waiting = _waiting_server(settings)
        return lambda: waiting.stop(0).wait()

    container = start_when_reachable(settings, stopping, while_waiting=answer_not_serving)
    if container is None:
        return
    container.start()
    endpoint = start_metrics(container, "serve")
    running = create_server(container)
    happened(log, "server.serving", address=container.settings.listen, port=running.port)
    stopping.wait()
    running.stop(container.settings.shutdown_grace)
    if endpoint is not None:
        endpoint.stop()
    container.close()
    happened(log, "server.stopped")
