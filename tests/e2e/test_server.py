"""The server as infrastructure: unreachable iCloud, health, reflection, read waits."""

from __future__ import annotations

import time
from pathlib import Path

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from calendarintegration.v1 import availability_pb2 as av
from calendarintegration.v1 import connection_pb2 as pb
from tests.support.caldav_servers import free_port
from tests.support.fixtures import http_server_answering
from tests.support.grpc_service import Service, failure, running_service
from tests.support.stores import settings_for


def connect_request() -> pb.ConnectAccountRequest:
    return pb.ConnectAccountRequest(
        sub_account_id="loc-1", user_id="u1", apple_id="ann@example.com", app_password="abcd-efgh-ijkl-mnop"
    )


def test_an_unreachable_icloud_is_unavailable_and_nothing_is_saved(tmp_path: Path) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}/"
    with settings_for("sqlite", tmp_path, caldav_url=nowhere, caldav_timeout=5) as settings:
        with running_service(settings) as service:
            error = failure(service.connections.ConnectAccount, connect_request())
            assert error.code == grpc.StatusCode.UNAVAILABLE
            assert error.reason == "PROVIDER_UNAVAILABLE"
            assert service.container.app.head_position() == 0
            assert service.container.vault_is_empty()


def test_icloud_answering_503_is_unavailable_and_nothing_is_saved(tmp_path: Path) -> None:
    with http_server_answering(503, b"Service Unavailable") as url:
        with settings_for("sqlite", tmp_path, caldav_url=url, caldav_timeout=5) as settings:
            with running_service(settings) as service:
                error = failure(service.connections.ConnectAccount, connect_request())
                assert error.code == grpc.StatusCode.UNAVAILABLE
                assert service.container.app.head_position() == 0


def test_health_checking_and_reflection_are_on(embedded_service: Service) -> None:
    assert embedded_service.serving()
    stub = reflection_pb2_grpc.ServerReflectionStub(embedded_service.channel)
    answers = stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
    names = {s.name for answer in answers for s in answer.list_services_response.service}
    assert "calendarintegration.v1.ConnectionService" in names
    assert "grpc.health.v1.Health" in names


def test_a_read_waiting_for_a_position_never_reached_is_unavailable_with_a_clear_message(tmp_path: Path, radicale) -> None:
    with settings_for("sqlite", tmp_path, caldav_url=radicale.base_url, read_wait_timeout=0.2) as settings:
        with running_service(settings) as service:
            error = failure(
                service.connections.ListConnections,
                pb.ListConnectionsRequest(sub_account_id="loc-1", min_position=10_000),
            )
            assert error.code == grpc.StatusCode.UNAVAILABLE
            assert error.reason == "READ_MODEL_BEHIND"
            assert "10000" in error.message and "connections read model" in error.message
            # the availability model's reads wait for it just the same
            start = Timestamp(seconds=int(time.time()) + 86400)
            window = av.TimeWindow(start_time=start, end_time=Timestamp(seconds=start.seconds + 86400))
            for call, request in [
                (service.availability.ListFreeSlots,
                 av.ListFreeSlotsRequest(sub_account_id="loc-1", user_id="u1", window=window, min_position=10_000)),
                (service.availability.QueryTeamAvailability,
                 av.QueryTeamAvailabilityRequest(sub_account_id="loc-1", user_ids=["u1"], window=window,
                                                 slot_minutes=30, mode=av.TEAM_MODE_ALL, min_position=10_000)),
                (service.availability.ExplainTime,
                 av.ExplainTimeRequest(sub_account_id="loc-1", user_id="u1", start_time=start, min_position=10_000)),
            ]:
                behind = failure(call, request)
                assert behind.code == grpc.StatusCode.UNAVAILABLE and behind.reason == "READ_MODEL_BEHIND"
                assert "10000" in behind.message and "availability" in behind.message
