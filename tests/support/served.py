"""A service process started by a test (``calendar-integration serve`` as a
subprocess on a free port), its log kept in a file, and a client to it."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from server.config import Settings
from tests.support.caldav_servers import free_port
from tests.support.grpc_service import ADMIN_TOKEN, Stubs
from tests.support.processes import process_env
from tests.support.waiting import wait_for


@dataclass
class Served(Stubs):
    process: subprocess.Popen[bytes]
    channel: grpc.Channel
    log_path: Path

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def json_lines(self) -> list[dict[str, Any]]:
        """Every line of the log, each a JSON object (fails on any other line)."""
        return [json.loads(line) for line in self.log_text().splitlines() if line.strip()]

    def logged(self, event: str, **fields: Any) -> list[dict[str, Any]]:
        return [
            line for line in self.json_lines()
            if line.get("event") == event and all(line.get(k) == v for k, v in fields.items())
        ]


def serving(channel: grpc.Channel) -> bool:
    try:
        answer = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""), timeout=2)
    except grpc.RpcError:
        return False
    return answer.status == health_pb2.HealthCheckResponse.SERVING


@contextmanager
def served(settings: Settings, workdir: Path, **env: str) -> Iterator[Served]:
    """Starts the server process; stops it with SIGTERM at the end (it must exit 0)."""
    port = free_port()
    log_path = workdir / "service.log"
    environment = process_env(
        settings, CALSYNC_LISTEN=f"127.0.0.1:{port}", CALSYNC_AUTH_TOKENS=json.dumps({ADMIN_TOKEN: ["*"]}), **env
    )
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "serve"], env=environment, cwd=workdir,
            stdout=log_file, stderr=subprocess.STDOUT,
        )
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    running = Served(process, channel, log_path)
    try:
        wait_for(
            lambda: serving(channel) or process.poll() is not None, "the server to serve", timeout=60
        )
        assert process.poll() is None, running.log_text()
        yield running
    finally:
        channel.close()
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise
        assert code == 0, running.log_text()
