"""The Prometheus endpoint of each process kind, scraped over HTTP after a scenario,
and the health names a load balancer checks."""

from __future__ import annotations

import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import psycopg
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client.parser import text_string_to_metric_families

from server.observability import READ_MODELS_HEALTH, STORE_HEALTH
from tests.e2e.test_logs import scenario
from tests.support.caldav_servers import RadicaleServer, free_port
from tests.support.processes import process_env
from tests.support.served import served
from tests.support.grpc_service import running_service
from tests.support.stores import POSTGRES_URL, STORES, settings_for
from tests.support.waiting import wait_for

CONNECTIONS = "calendarintegration.v1.ConnectionService"


def scrape(port: int) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample at http://127.0.0.1:port/metrics: (name, labels) -> value."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
        text = answer.read().decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]


@pytest.mark.parametrize("store", STORES)
def test_the_server_counts_calls_syncs_pushes_and_reads_the_state_when_scraped(
    store: str, tmp_path: Path, radicale: RadicaleServer, account: tuple[str, str]
) -> None:
    port = free_port()
    with settings_for(store, tmp_path / "data", caldav_url=radicale.base_url) as settings:
        with served(settings, tmp_path, CALSYNC_METRICS_PORT=str(port), CALSYNC_LOG_FORMAT="json") as service:
            scenario(service, radicale, account)
            samples = wait_for(lambda: _when_queue_empty(scrape(port)), "the push queue to empty")
            health = health_pb2_grpc.HealthStub(service.channel)
            answers = {
                name: health.Check(health_pb2.HealthCheckRequest(service=name), timeout=10).status
                for name in ("", CONNECTIONS, STORE_HEALTH, READ_MODELS_HEALTH)
            }

    def calls(method: str, code: str) -> float:
        return value(samples, "calsync_grpc_calls_total", service=CONNECTIONS, method=method, code=code)

    assert calls("ConnectAccount", "OK") == 1 and calls("ConnectAccount", "INVALID_ARGUMENT") == 1
    assert value(samples, "calsync_grpc_call_seconds_count", service=CONNECTIONS, method="ConnectAccount") == 2
    assert value(samples, "calsync_syncs_total", outcome="ok") >= 1
    assert value(samples, "calsync_sync_requests_total") >= 2
    assert value(samples, "calsync_push_attempts_total", outcome="created") == 1
    assert value(samples, "calsync_push_failures_total") == 0
    assert value(samples, "calsync_push_queue_oldest_seconds") == 0
    assert value(samples, "calsync_connections", state="active") == 1
    assert value(samples, "calsync_connections_reconnect_required") == 0
    assert value(samples, "calsync_sync_accounts", state="known") == 1
    assert value(samples, "calsync_sync_accounts", state="leased") == 0
    assert value(samples, "calsync_calendars_stale") == 0
    assert value(samples, "calsync_event_store_appends_total") >= 4  # connect, primary, sync, booking, push
    assert {labels for name, labels in samples if name == "calsync_projection_lag_events"} == {
        frozenset({("projection", p)}) for p in ("connections", "availability", "push_queue")
    }
    if store == "postgres":
        # one pool per process, named as the process shows in pg_stat_activity
        pools = {dict(labels)["pool"] for name, labels in samples if name == "calsync_postgres_pool_connections"}
        assert pools == {settings.application_name}
        pool = settings.application_name
        assert value(samples, "calsync_postgres_pool_connections", pool=pool, state="max") == settings.db_pool_size
        assert 0 < value(samples, "calsync_postgres_pool_connections", pool=pool, state="size") <= settings.db_pool_size
        assert value(samples, "calsync_postgres_pool_waiting", pool=pool) == 0
    assert set(answers.values()) == {health_pb2.HealthCheckResponse.SERVING}


@pytest.mark.parametrize("kind", ["project", "push"])
def test_each_process_kind_serves_its_own_metrics(kind: str, tmp_path: Path, radicale: RadicaleServer) -> None:
    port = free_port()
    with settings_for("sqlite", tmp_path / "data", caldav_url=radicale.base_url) as settings:
        env = process_env(settings, CALSYNC_METRICS_PORT=str(port))
        process = subprocess.Popen(
            [sys.executable, "-m", "server.cli", kind], env=env, cwd=tmp_path,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        try:
            samples = wait_for(lambda: _scraped(port), f"the {kind} process's metrics")
        finally:
            process.send_signal(signal.SIGTERM)
            output = process.communicate(timeout=60)[0]
        assert process.returncode == 0, output
    names = {name for name, _ in samples}
    if kind == "project":
        assert value(samples, "calsync_projection_lag_events", projection="availability") == 0
        assert "calsync_push_queue_depth" not in names
    else:
        assert value(samples, "calsync_push_queue_depth") == 0
        assert "calsync_sync_accounts" not in names


def _scraped(port: int) -> dict[tuple[str, frozenset[tuple[str, str]]], float] | None:
    try:
        return scrape(port)
    except OSError:
        return None


def _when_queue_empty(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float],
) -> dict[tuple[str, frozenset[tuple[str, str]]], float] | None:
    return samples if value(samples, "calsync_push_queue_depth") == 0 else None


@pytest.mark.postgres
def test_health_is_not_serving_while_the_store_cannot_answer(tmp_path: Path, radicale: RadicaleServer) -> None:
    with settings_for("postgres", tmp_path / "data", caldav_url=radicale.base_url) as settings:
        with running_service(settings) as service:
            health = health_pb2_grpc.HealthStub(service.channel)

            def status(name: str) -> int:
                return int(health.Check(health_pb2.HealthCheckRequest(service=name), timeout=10).status)

            assert status(READ_MODELS_HEALTH) == health_pb2.HealthCheckResponse.SERVING
            table = service.container.app.recorder.events_table_name  # type: ignore[attr-defined]
            schema = settings.postgres_schema
            with psycopg.connect(POSTGRES_URL, autocommit=True) as db:
                db.execute(f'ALTER TABLE "{schema}"."{table}" RENAME TO hidden_events')
                try:
                    for name in ("", CONNECTIONS, STORE_HEALTH, READ_MODELS_HEALTH):
                        wait_for(
                            lambda n=name: status(n) == health_pb2.HealthCheckResponse.NOT_SERVING,  # type: ignore[misc]
                            f"{name!r} to be NOT_SERVING",
                        )
                finally:
                    db.execute(f'ALTER TABLE "{schema}".hidden_events RENAME TO "{table}"')
            wait_for(lambda: status("") == health_pb2.HealthCheckResponse.SERVING, "the store to be back")
