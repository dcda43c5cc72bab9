"""The real process: started as a user would, stopped with SIGTERM, draining in-flight calls."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from calendarintegration.v1 import connection_pb2 as pb
from calendarintegration.v1 import connection_pb2_grpc
from tests.support.caldav_servers import free_port

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "shutdown-test-token"


class HeldCalDAV:
    """An "iCloud" that holds each request until released, then refuses the login."""

    def __init__(self) -> None:
        self.received = threading.Event()
        self.release = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                outer.received.set()
                outer.release.wait(30)
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="test"')
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_PROPFIND = do_GET = do_OPTIONS = do_REPORT = _answer

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"

    @contextmanager
    def running(self) -> Iterator[HeldCalDAV]:
        thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.release.set()
            self.server.shutdown()
            self.server.server_close()


def wait_serving(channel: grpc.Channel, process: subprocess.Popen[str], deadline: float) -> None:
    grpc.channel_ready_future(channel).result(timeout=deadline - time.monotonic())
    stub = health_pb2_grpc.HealthStub(channel)
    assert stub.Check(health_pb2.HealthCheckRequest(), timeout=10).status == health_pb2.HealthCheckResponse.SERVING
    assert process.poll() is None


def test_sigterm_lets_the_in_flight_call_finish_then_exits_cleanly(tmp_path: Path) -> None:
    port = free_port()
    with HeldCalDAV().running() as caldav:
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT / "src"),
            "CALSYNC_LISTEN": f"127.0.0.1:{port}",
            "CALSYNC_DATA_DIR": str(tmp_path / "data"),
            "CALSYNC_CALDAV_URL": caldav.url,
            "CALSYNC_AUTH_TOKENS": f'{{"{TOKEN}": ["*"]}}',
            "CALSYNC_SHUTDOWN_GRACE": "20",
        }
        process = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "serve"], env=env, cwd=tmp_path,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        try:
            with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
                wait_serving(channel, process, time.monotonic() + 60)
                stub = connection_pb2_grpc.ConnectionServiceStub(channel)
                in_flight = stub.ConnectAccount.future(
                    pb.ConnectAccountRequest(
                        sub_account_id="loc-1", user_id="u1", apple_id="ann@example.com",
                        app_password="abcd-efgh-ijkl-mnop",
                    ),
                    metadata=[("authorization", f"Bearer {TOKEN}")],
                    timeout=60,
                )
                assert caldav.received.wait(30), "the call reached iCloud"
                process.send_signal(signal.SIGTERM)
                caldav.release.set()
                with pytest.raises(grpc.RpcError) as caught:
                    in_flight.result(timeout=60)
                # Drained, not cut off: the call got its real answer.
                assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
                assert "app-specific password" in (caught.value.details() or "")
            assert process.wait(timeout=60) == 0
            output = process.stdout.read() if process.stdout else ""
            assert "SIGTERM" in output and "abcd-efgh-ijkl-mnop" not in output
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()


def test_the_server_refuses_to_start_without_any_caller_token(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "CALSYNC_DATA_DIR": str(tmp_path), "CALSYNC_AUTH_TOKENS": ""}
    result = subprocess.run(
        [sys.executable, "-m", "server.cli", "serve"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "CALSYNC_AUTH_TOKENS" in result.stderr
