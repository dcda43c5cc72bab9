"""A Node.js client (grpc-js with proto-loader, from npm) uses the service from our protos."""

from __future__ import annotations

import json
import queue
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest

from calendarintegration.v1 import connection_pb2 as pb
from tests.e2e.test_history import all_events, set_time_zone
from tests.e2e.test_sync_api import connect_and_block
from tests.support.grpc_service import ADMIN_TOKEN, Service, auth

SCRIPT = Path(__file__).parent / "node" / "connect_and_list.js"
FOLLOW = Path(__file__).parent / "node" / "follow_stream.js"
ROOT = Path(__file__).resolve().parents[2]
WAIT = 60.0


def node_command() -> str:
    node = shutil.which("node")
    if node is None or not (ROOT / "node_modules" / "@grpc" / "grpc-js").exists():
        pytest.fail("Node.js and the npm packages are needed: run `make install`")
    return node


def test_a_node_client_connects_an_account_and_lists_its_calendars(service: Service, account) -> None:
    node = node_command()
    apple_id, password = account
    result = subprocess.run(
        [node, str(SCRIPT), service.address, ADMIN_TOKEN, "loc-1", "u1", apple_id],
        input=password,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["connection"]["status"] == "CONNECTION_STATUS_ACTIVE"
    assert answer["connection"]["apple_id"] == apple_id
    assert [(c["display_name"], c["color"], c["writable"]) for c in answer["calendars"]] == [
        ("Home", "#FF2968", True),
        ("Work", "#1BADF8", True),
    ]
    assert answer["rejected"]["code"] == 3  # INVALID_ARGUMENT for a malformed id
    assert password not in result.stdout


def test_a_node_client_follows_the_log_while_a_python_client_makes_changes(service: Service, account) -> None:
    """Every event reaches the Node.js follower, in order, across a resume."""
    set_time_zone(service, "loc-1", "Europe/Paris")  # history before the stream starts
    follower = subprocess.Popen(
        [node_command(), str(FOLLOW), service.address, ADMIN_TOKEN, "4"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
    )
    lines: queue.Queue[dict[str, Any] | None] = queue.Queue()

    def read() -> None:
        assert follower.stdout is not None
        for line in follower.stdout:
            lines.put(json.loads(line))
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    received: list[dict[str, Any]] = []

    def until(done: Any) -> None:
        while True:
            line = lines.get(timeout=WAIT)
            assert line is not None, f"the Node.js client ended early: {follower.stderr.read() if follower.stderr else ''}"
            if line["kind"] == "event":
                received.append(line)
            if done(line):
                return

    try:
        until(lambda line: line["kind"] == "caught_up")
        connection_id, _ = connect_and_block(service, account, "loc-1")
        set_time_zone(service, "loc-1", "Asia/Tokyo")
        last = service.connections.Disconnect(
            pb.DisconnectRequest(sub_account_id="loc-1", connection_id=connection_id), metadata=auth()
        ).position
        until(lambda line: line["kind"] == "event" and int(line["position"]) == last)
    finally:
        assert follower.stdin is not None
        follower.stdin.close()
        code = follower.wait(timeout=WAIT)
    assert code == 0
    logged = all_events(service)
    assert [int(e["position"]) for e in received] == [e.position for e in logged]
    assert [e["type"] for e in received] == [e.event_type for e in logged]
    connected = next(e for e in received if e["type"] == "Connection.Connected")
    assert connected["payload_field"] == "connection_connected"
    assert connected["typed"]["apple_id"] == account[0]
    assert "credential_ref" not in connected["json"] and account[1] not in json.dumps(received)
