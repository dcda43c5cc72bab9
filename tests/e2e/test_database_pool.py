"""Bounded database use on PostgreSQL: every connection of a process comes from
one pool of CALSYNC_DB_POOL_SIZE, under load too; a saturated or absent database
is UNAVAILABLE (retryable), never INTERNAL; health follows the database; a
process that cannot reach it at start waits, NOT_SERVING, and says so."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import grpc
import psycopg
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from psycopg.conninfo import conninfo_to_dict

from calendarintegration.v1 import availability_pb2 as av
from calendarintegration.v1 import connection_pb2 as pb
from server.config import Settings
from tests.support.grpc_service import Service, auth, failure, running_service
from tests.support.processes import process_env
from tests.support.stores import POSTGRES_URL, settings_for
from tests.support.tcp_proxy import TcpProxy
from tests.support.waiting import wait_for

pytestmark = pytest.mark.postgres


def held(application_name: str) -> int:
    """Connections PostgreSQL has open for processes of that name."""
    with psycopg.connect(POSTGRES_URL, autocommit=True) as db:
        row = db.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (application_name,)
        ).fetchone()
    return int(row[0]) if row else 0


def _kind() -> str:
    return f"test-{uuid.uuid4().hex[:10]}"


def _policy(service: Service, sub: str = "loc-1", block: bool = True) -> int:
    """A write through the log (and its position)."""
    return int(service.availability.SetStaleCalendarPolicy(
        av.SetStaleCalendarPolicyRequest(sub_account_id=sub, stale_calendars_block=block), metadata=auth(), timeout=30
    ).position)


def _list(service: Service, position: int) -> None:
    """A read of a read model, after the write at ``position``."""
    service.connections.ListConnections(
        pb.ListConnectionsRequest(sub_account_id="loc-1", min_position=position), metadata=auth(), timeout=30
    )


def test_connections_stay_within_the_pool_under_load(tmp_path: Path) -> None:
    kind = _kind()
    with settings_for("postgres", tmp_path / "data", db_pool_size=4, process_kind=kind) as settings:
        with running_service(settings) as service:
            name = settings.application_name
            samples: list[int] = []
            stop = threading.Event()

            def sample() -> None:
                while not stop.is_set():
                    samples.append(held(name))
                    stop.wait(0.02)

            sampler = threading.Thread(target=sample)
            sampler.start()
            try:
                def mixed(i: int) -> None:
                    position = _policy(service, f"loc-{i % 5}")
                    _list(service, position)

                with ThreadPoolExecutor(24) as callers:
                    list(callers.map(mixed, range(120)))  # every call succeeds
            finally:
                stop.set()
                sampler.join()
            assert samples and max(samples) <= 4, samples
            assert max(samples) >= 2  # the load did use the pool
            used = service.container.pool
            assert used is not None and used.size == 4


def test_a_saturated_pool_is_unavailable_then_serves_again(tmp_path: Path) -> None:
    with settings_for("postgres", tmp_path / "data", db_pool_size=4, db_pool_timeout=0.3) as settings:
        with running_service(settings) as service:
            position = _policy(service)
            pool = service.container.pool
            assert pool is not None
            # the followers and listeners give their connections back when they fail:
            # stopped, so that the calls alone meet the empty pool
            service.container.stop_threads()
            taken = []
            try:
                while True:  # every connection the pool may open, held here
                    taken.append(pool.take())
            except psycopg.OperationalError:
                pass
            try:
                for call, request in [
                    (service.availability.SetStaleCalendarPolicy,
                     av.SetStaleCalendarPolicyRequest(sub_account_id="loc-1", stale_calendars_block=False)),
                    (service.connections.ListConnections, pb.ListConnectionsRequest(sub_account_id="loc-1")),
                ]:
                    refused = failure(call, request)
                    assert refused.code == grpc.StatusCode.UNAVAILABLE, refused
                    assert refused.reason == "DATABASE_UNAVAILABLE" and refused.metadata["retryable"] == "true"
                    assert "retry" in refused.message
                assert service.serving()  # busy is not down
            finally:
                for connection in taken:
                    pool.give_back(connection)
            assert _policy(service, block=False) > position


def _cut_settings(settings: Settings, proxy: TcpProxy) -> Settings:
    return replace(settings, postgres_url=proxy.url(str(conninfo_to_dict(POSTGRES_URL).get("dbname", "test"))))


def test_health_follows_the_database_and_calls_are_unavailable_meanwhile(tmp_path: Path) -> None:
    info = conninfo_to_dict(POSTGRES_URL)
    with TcpProxy(str(info.get("host", "127.0.0.1")), int(info.get("port", 5432))) as proxy:
        with settings_for("postgres", tmp_path / "data", db_pool_timeout=0.5, db_check_interval=0.1) as direct:
            with running_service(_cut_settings(direct, proxy)) as service:
                _policy(service)
                proxy.cut()
                wait_for(lambda: not service.serving(), "health to say NOT_SERVING")
                refused = failure(
                    service.availability.SetStaleCalendarPolicy,
                    av.SetStaleCalendarPolicyRequest(sub_account_id="loc-1", stale_calendars_block=False),
                )
                assert refused.code == grpc.StatusCode.UNAVAILABLE and refused.reason == "DATABASE_UNAVAILABLE"
                proxy.restore()
                wait_for(service.serving, "health to say SERVING again")
                wait_for(lambda: _try_policy(service), "a write to succeed again")


def _try_policy(service: Service) -> bool:
    try:
        _policy(service)
        return True
    except grpc.RpcError as error:
        assert error.code() == grpc.StatusCode.UNAVAILABLE  # a connection broken by the cut, dropped
        return False


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_server_that_cannot_reach_the_database_at_start_waits_not_serving(tmp_path: Path) -> None:
    info = conninfo_to_dict(POSTGRES_URL)
    with TcpProxy(str(info.get("host", "127.0.0.1")), int(info.get("port", 5432))) as proxy:
        with settings_for("postgres", tmp_path / "data") as direct:
            proxy.cut()
            port = _free_port()
            env = process_env(
                _cut_settings(direct, proxy), CALSYNC_LISTEN=f"127.0.0.1:{port}", CALSYNC_DB_START_RETRY_MAX="0.5",
                CALSYNC_DB_POOL_TIMEOUT="0.5",
            )
            server = subprocess.Popen(
                [sys.executable, "-m", "server.cli", "serve"], env=env, cwd=tmp_path,
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            )
            lines: list[str] = []
            reader = threading.Thread(target=lambda: lines.extend(iter(server.stderr.readline, "")), daemon=True)  # type: ignore[union-attr]
            reader.start()
            channel = grpc.insecure_channel(f"127.0.0.1:{port}")
            health = health_pb2_grpc.HealthStub(channel)

            def status() -> int | None:
                try:
                    return int(health.Check(health_pb2.HealthCheckRequest(), timeout=2).status)
                except grpc.RpcError:
                    return None

            try:
                wait_for(lambda: status() == health_pb2.HealthCheckResponse.NOT_SERVING, "NOT_SERVING while waiting")
                wait_for(lambda: sum("database.unreachable_at_start attempt=" in line for line in lines) >= 2,
                         "the retries in the log")
                assert server.poll() is None  # it waits; it does not exit
                proxy.restore()
                wait_for(lambda: status() == health_pb2.HealthCheckResponse.SERVING, "SERVING once reachable", 60)
                assert any("database.reachable" in line for line in lines)
            finally:
                channel.close()
                server.terminate()
                server.wait(timeout=30)
