"""A real gRPC server on a free port (port 0) over a real store, and a small client."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import grpc
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_status import rpc_status

from calendarintegration.v1 import (
    appointments_pb2_grpc,
    availability_pb2_grpc,
    configuration_pb2_grpc,
    connection_pb2_grpc,
    history_pb2_grpc,
    sync_pb2_grpc,
)
from server.app import RunningServer, create_server
from server.bootstrap import Container, bootstrap
from server.config import Settings, token_digest

ADMIN_TOKEN = "admin-" + uuid.uuid4().hex
TENANT_TOKEN = "tenant-" + uuid.uuid4().hex
TENANT_SUB_ACCOUNTS = frozenset({"loc-1", "loc-2"})


class Stubs:
    """Clients of every service over ``channel``."""

    channel: grpc.Channel

    @property
    def connections(self) -> connection_pb2_grpc.ConnectionServiceStub:
        return connection_pb2_grpc.ConnectionServiceStub(self.channel)

    @property
    def configurations(self) -> configuration_pb2_grpc.CalendarConfigurationServiceStub:
        return configuration_pb2_grpc.CalendarConfigurationServiceStub(self.channel)

    @property
    def sync(self) -> sync_pb2_grpc.SyncServiceStub:
        return sync_pb2_grpc.SyncServiceStub(self.channel)

    @property
    def availability(self) -> availability_pb2_grpc.AvailabilityServiceStub:
        return availability_pb2_grpc.AvailabilityServiceStub(self.channel)

    @property
    def history(self) -> history_pb2_grpc.HistoryServiceStub:
        return history_pb2_grpc.HistoryServiceStub(self.channel)

    @property
    def health(self) -> health_pb2_grpc.HealthStub:
        return health_pb2_grpc.HealthStub(self.channel)

    @property
    def appointments(self) -> appointments_pb2_grpc.AppointmentServiceStub:
        return appointments_pb2_grpc.AppointmentServiceStub(self.channel)


@dataclass
class Service(Stubs):
    container: Container
    running: RunningServer
    channel: grpc.Channel
    address: str

    def serving(self) -> bool:
        answer = self.health.Check(health_pb2.HealthCheckRequest(service=""), timeout=10)
        return answer.status == health_pb2.HealthCheckResponse.SERVING


def auth(token: str = ADMIN_TOKEN) -> list[tuple[str, str]]:
    return [("authorization", f"Bearer {token}")]


@contextmanager
def running_service(settings: Settings) -> Iterator[Service]:
    settings = replace(
        settings,
        auth_tokens={token_digest(ADMIN_TOKEN): frozenset({"*"}), token_digest(TENANT_TOKEN): TENANT_SUB_ACCOUNTS},
        max_workers=32,
        max_streams=24,
    )
    container = bootstrap(settings)
    container.start()
    running = create_server(container, "127.0.0.1:0")
    address = f"127.0.0.1:{running.port}"
    channel = grpc.insecure_channel(address)
    try:
        yield Service(container, running, channel, address)
    finally:
        channel.close()
        running.stop(grace=5)
        container.close()


@dataclass
class RpcFailure:
    code: grpc.StatusCode
    message: str
    reason: str
    metadata: dict[str, str]
    violations: dict[str, str]


def failure(call: Any, request: Any, token: str | None = ADMIN_TOKEN) -> RpcFailure:
    """Calls and expects an error; returns its code and decoded rich details."""
    metadata = auth(token) if token else []
    try:
        call(request, metadata=metadata, timeout=30)
    except grpc.RpcError as error:
        status = rpc_status.from_call(error)
        assert status is not None, f"no google.rpc.Status details on {error.code()}: {error.details()}"
        info = error_details_pb2.ErrorInfo()
        violations: dict[str, str] = {}
        for detail in status.details:
            if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                detail.Unpack(info)
            elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                bad = error_details_pb2.BadRequest()
                detail.Unpack(bad)
                violations = {v.field: v.description for v in bad.field_violations}
        assert info.reason, "every error carries an ErrorInfo"
        return RpcFailure(error.code(), error.details() or "", info.reason, dict(info.metadata), violations)
    raise AssertionError("the call succeeded but an error was expected")
