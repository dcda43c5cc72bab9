"""The app-specific password never enters the log, any database, any answer or any log line."""

from __future__ import annotations

import base64
import logging
from pathlib import Path

import psycopg
import pytest

from calendarintegration.v1 import connection_pb2 as pb
from server.logs import quiet_http_clients
from tests.support.grpc_service import Service, auth
from tests.support.stores import POSTGRES_URL


def postgres_tables(schema: str) -> dict[str, bytes]:
    """Every row of every table in the schema, rendered as bytes."""
    dumps: dict[str, bytes] = {}
    with psycopg.connect(POSTGRES_URL) as db:
        tables = db.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,)
        ).fetchall()
        for (table,) in tables:
            rows = db.execute(f'SELECT * FROM "{schema}"."{table}"').fetchall()
            dumps[table] = b"\n".join(
                b"|".join(bytes(v) if isinstance(v, (bytes, memoryview)) else str(v).encode() for v in row)
                for row in rows
            )
    return dumps


def stored_bytes(service: Service) -> dict[str, bytes]:
    settings = service.container.settings
    found = {str(p): p.read_bytes() for p in Path(settings.data_dir).rglob("*") if p.is_file()}
    if settings.event_store == "postgres":
        found.update(postgres_tables(settings.postgres_schema))
    return found


def test_the_password_is_nowhere_after_connecting_and_disconnecting(
    service: Service, account, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every level of every logger is scanned
    quiet_http_clients()  # as every process does at start (server.logs.configure_logging)
    apple_id, password = account
    answer = service.connections.ConnectAccount(
        pb.ConnectAccountRequest(sub_account_id="loc-1", user_id="u1", apple_id=apple_id, app_password=password),
        metadata=auth(),
    )
    connection_id = answer.connection.connection_id
    service.connections.RefreshCalendars(
        pb.RefreshCalendarsRequest(sub_account_id="loc-1", connection_id=connection_id), metadata=auth()
    )
    service.connections.ReplaceCredentials(
        pb.ReplaceCredentialsRequest(sub_account_id="loc-1", connection_id=connection_id, app_password=password),
        metadata=auth(),
    )
    before_disconnect = stored_bytes(service)
    assert password.encode() not in b"".join(before_disconnect.values())
    gone = service.connections.Disconnect(
        pb.DisconnectRequest(sub_account_id="loc-1", connection_id=connection_id), metadata=auth()
    )
    service.container.follower.wait_for(gone.position, 10)
    service.container.stop_threads()  # nothing may use the store once it is closed
    service.container.app.close()

    forms = [password, password.replace("-", ""), base64.b64encode(f"{apple_id}:{password}".encode()).decode()]
    everything = stored_bytes(service)
    for name, content in everything.items():
        for form in forms:
            assert form.encode() not in content, f"{form!r} found in {name}"
    logged = caplog.text + "\n".join(str(r.args) for r in caplog.records)
    assert any(r.levelno == logging.DEBUG for r in caplog.records)
    for form in [*forms, apple_id, apple_id.split("@")[0], apple_id.replace("@", "%40")]:
        assert form not in logged
    assert password not in str(answer) and password not in str(gone)
    assert service.container.vault_is_empty()


def test_event_payloads_are_encrypted_at_rest(service: Service, account) -> None:
    apple_id, password = account
    answer = service.connections.ConnectAccount(
        pb.ConnectAccountRequest(sub_account_id="loc-1", user_id="u1", apple_id=apple_id, app_password=password),
        metadata=auth(),
    )
    service.container.follower.wait_for(answer.position, 10)
    settings = service.container.settings
    if settings.event_store == "sqlite":
        events = b"".join(p.read_bytes() for p in Path(settings.data_dir).glob("events.sqlite*"))
    else:
        events = postgres_tables(settings.postgres_schema)["calendarintegration_events"]
    assert events, "the events were found"
    assert apple_id.encode() not in events
    # The read model is for queries and holds the Apple ID in the clear; the log does not.
    views = b"".join(stored_bytes(service).values())
    assert apple_id.encode() in views
