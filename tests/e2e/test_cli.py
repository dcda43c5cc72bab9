"""The operator's command line, run as a subprocess: help, keys, check, status,
connections, sync-now, and the start-up mistakes people make (one line, exit 2)."""

from __future__ import annotations

import base64
import json
import socket
import subprocess
import sys
import threading
from dataclasses import fields
from pathlib import Path

import pytest

from calendarintegration.v1 import sync_pb2 as sy
from server.cli import NOT_SETTINGS
from server.config import Settings
from tests.e2e.test_sync_api import connect_and_block
from tests.integration.test_sync import event
from tests.support.caldav_servers import RadicaleServer
from tests.support.grpc_service import ADMIN_TOKEN, auth, running_service
from tests.support.processes import process_env
from tests.support.stores import POSTGRES_URL, STORES, require_postgres, settings_for
from tests.support.waiting import wait_for


def cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_help_lists_every_command_and_every_setting_with_its_default(tmp_path: Path) -> None:
    env = process_env(Settings(data_dir=tmp_path))
    shown = cli("--help", env=env)
    assert shown.returncode == 0, shown.stderr
    for command in ("serve", "project", "push", "sync", "rebuild", "keys", "check", "status", "connections", "sync-now"):
        assert f"\n    {command}" in shown.stdout
    for field in fields(Settings):
        if field.name not in NOT_SETTINGS:  # set by the command, not by the environment
            assert f"CALSYNC_{field.name.upper()} " in shown.stdout
    assert "CALSYNC_DB_POOL_SIZE                 default: 10" in shown.stdout
    assert "CALSYNC_SYNC_INTERVAL                default: 60.0" in shown.stdout
    for command in (["connections", "list"], ["connections", "show"], ["sync-now"], ["check"], ["status"]):
        assert cli(*command, "--help", env=env).returncode == 0


def test_keys_generate_prints_two_fresh_keys_that_postgres_settings_accept(tmp_path: Path) -> None:
    generated = cli("keys", "generate", env=process_env(Settings(data_dir=tmp_path)))
    assert generated.returncode == 0, generated.stderr
    keys = dict(line.split("=", 1) for line in generated.stdout.splitlines())
    assert set(keys) == {"CALSYNC_CIPHER_KEY", "CALSYNC_VAULT_KEY"}
    assert all(len(base64.b64decode(k, validate=True)) == 32 for k in keys.values())
    assert len(set(keys.values())) == 2
    settings = Settings.from_env({**keys, "CALSYNC_EVENT_STORE": "postgres", "CALSYNC_POSTGRES_URL": POSTGRES_URL})
    assert settings.key_bytes("cipher") != settings.key_bytes("vault")


def _held_port() -> tuple[socket.socket, int]:
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    return holder, holder.getsockname()[1]


DOWN_URL = "postgresql://postgres@127.0.0.1:1/test"
MISTAKES = {
    "missing key": (
        {"CALSYNC_EVENT_STORE": "postgres", "CALSYNC_POSTGRES_URL": POSTGRES_URL, "CALSYNC_CIPHER_KEY": ""},
        "CALSYNC_CIPHER_KEY", "keys generate",
    ),
    # the one-shot commands do not wait for the store (the long-running kinds do: below)
    "store down": (
        {"CALSYNC_EVENT_STORE": "postgres", "CALSYNC_POSTGRES_URL": DOWN_URL},
        "CALSYNC_POSTGRES_URL", "start the server",
    ),
    "missing schema": (
        {"CALSYNC_EVENT_STORE": "postgres", "CALSYNC_POSTGRES_URL": POSTGRES_URL, "CALSYNC_POSTGRES_SCHEMA": "no_such_schema_x"},
        "CALSYNC_POSTGRES_SCHEMA", "CREATE SCHEMA",
    ),
    "port in use": ({"CALSYNC_LISTEN": "127.0.0.1:{held}"}, "CALSYNC_LISTEN", "another port"),
    "metrics port in use": ({"CALSYNC_METRICS_PORT": "{held}"}, "CALSYNC_METRICS_PORT", "another port"),
    "bad token JSON": ({"CALSYNC_AUTH_TOKENS": '{"t0k3n": ["*"'}, "CALSYNC_AUTH_TOKENS", '{"t0k3n": ["*"]}'),
    "no token": ({"CALSYNC_AUTH_TOKENS": ""}, "CALSYNC_AUTH_TOKENS", "set it"),
}


@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_a_start_up_mistake_is_one_line_naming_the_setting_and_the_fix(mistake: str, tmp_path: Path) -> None:
    more, setting, fix = MISTAKES[mistake]
    if "postgres" in more.get("CALSYNC_EVENT_STORE", ""):
        require_postgres()
    keys = cli("keys", "generate", env=process_env(Settings(data_dir=tmp_path))).stdout.splitlines()
    env = process_env(Settings(data_dir=tmp_path), **dict(line.split("=", 1) for line in keys))
    holder, held = _held_port()
    with holder:
        env.update({name: value.replace("{held}", str(held)) for name, value in more.items()})
        started = cli("status" if mistake == "store down" else "serve", env=env, cwd=tmp_path)
    assert started.returncode == 2, started.stderr
    [line] = started.stderr.strip().splitlines()
    assert setting in line and fix in line
    assert "Traceback" not in started.stderr + started.stdout


@pytest.mark.parametrize("kind", ["project", "push", "sync"])
def test_a_long_running_kind_waits_for_a_store_down_at_start_retrying(kind: str, tmp_path: Path) -> None:
    keys = cli("keys", "generate", env=process_env(Settings(data_dir=tmp_path))).stdout.splitlines()
    env = process_env(
        Settings(data_dir=tmp_path), **dict(line.split("=", 1) for line in keys), CALSYNC_EVENT_STORE="postgres",
        CALSYNC_POSTGRES_URL=DOWN_URL, CALSYNC_DB_START_RETRY_MAX="0.2", CALSYNC_DB_POOL_TIMEOUT="0.5",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "server.cli", kind], env=env, cwd=tmp_path,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(process.stderr.readline, "")), daemon=True)  # type: ignore[union-attr]
    reader.start()
    try:
        wait_for(lambda: sum("database.unreachable_at_start attempt=" in line for line in lines) >= 2, "the retries")
        assert process.poll() is None  # it waits; it does not exit 2
    finally:
        process.terminate()
        assert process.wait(timeout=30) == 0
    reader.join(10)
    assert "cannot start" not in "".join(lines)


@pytest.mark.parametrize("store", STORES)
def test_status_connections_sync_now_and_check_on_a_running_service(
    store: str, tmp_path: Path, radicale: RadicaleServer, account: tuple[str, str]
) -> None:
    apple_id, password = account
    with settings_for(store, tmp_path / "data", caldav_url=radicale.base_url, caldav_timeout=10) as settings:
        env = process_env(settings, CALSYNC_SYNC_ENABLED="false")
        with running_service(settings) as service:
            connection_id, calendar_id = connect_and_block(service, account, "loc-1")
            service.sync.SyncNow(sy.SyncNowRequest(sub_account_id="loc-1", connection_id=connection_id), metadata=auth())
            service.container.follower.wait_for(service.container.app.head_position(), 10)

            status = cli("status", "--json", env=env, cwd=tmp_path)
            assert status.returncode == 0, status.stderr + status.stdout
            figures = json.loads(status.stdout)
            assert figures["connections"] == {"active": 1} and figures["accounts"]["known"] == 1
            assert figures["calendars"] == {"stale": 0, "failing": 0} and figures["attention"] == []

            listed = cli("connections", "list", "--json", env=env, cwd=tmp_path)
            [row] = json.loads(listed.stdout)
            assert row["connection_id"] == connection_id and row["status"] == "active" and row["sub_account_id"] == "loc-1"

            shown = cli("connections", "show", connection_id, env=env, cwd=tmp_path)
            assert shown.returncode == 0, shown.stderr
            home = next(line for line in shown.stdout.splitlines() if calendar_id in line)
            assert "'Home'" in home and "failures=0" in home and "last_success=never" not in home
            assert cli("connections", "show", "6f0e8d8e-0000-4000-8000-000000000000", env=env, cwd=tmp_path).returncode == 1

            radicale.put_ics(apple_id, password, f"{radicale.home_path(apple_id)}home/new.ics", event("uid-new"))
            synced = cli("sync-now", connection_id, env=env, cwd=tmp_path)
            assert synced.returncode == 0, synced.stderr + synced.stdout
            assert ": ok;" in synced.stdout and "changes=1" in synced.stdout

            checked = cli("check", env=env, cwd=tmp_path)
            assert checked.returncode == 0, checked.stdout + checked.stderr
            assert "store: ok" in checked.stdout and "caldav: ok" in checked.stdout
            for output in (status, listed, shown, synced, checked):
                assert apple_id not in output.stdout + output.stderr and password not in output.stdout
            assert ADMIN_TOKEN not in checked.stdout

    failed = cli("check", env={**env, "CALSYNC_CALDAV_URL": "http://127.0.0.1:1/"}, cwd=tmp_path)
    assert failed.returncode == 1 and "caldav: FAILED" in failed.stdout and "CALSYNC_CALDAV_URL" in failed.stdout
