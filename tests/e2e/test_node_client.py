"""A Node.js client (grpc-js with proto-loader, from npm) uses the service from our protos."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.grpc_service import ADMIN_TOKEN, Service

SCRIPT = Path(__file__).parent / "node" / "connect_and_list.js"
ROOT = Path(__file__).resolve().parents[2]


def test_a_node_client_connects_an_account_and_lists_its_calendars(service: Service, account) -> None:
    node = shutil.which("node")
    if node is None or not (ROOT / "node_modules" / "@grpc" / "grpc-js").exists():
        pytest.fail("Node.js and the npm packages are needed: run `make install`")
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
