"""``make demo`` end to end: started as a subprocess, its printed commands run as
printed, queried over gRPC and scraped, stopped with SIGINT, nothing left behind."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc

from calendarintegration.v1 import availability_pb2 as av
from tests.e2e.test_appointments import ts
from tests.support.caldav_servers import free_port
from tests.support.processes import ROOT
from tests.support.grpc_service import Stubs
from tests.support.waiting import wait_for


class Demo(Stubs):
    def __init__(self, channel: grpc.Channel) -> None:
        self.channel = channel


def listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_make_demo_runs_what_it_prints_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    port, metrics_port = free_port(), free_port()
    output_path = tmp_path / "demo.out"
    with open(output_path, "wb") as output:
        demo = subprocess.Popen(
            [sys.executable, "scripts/demo.py", "--port", str(port), "--metrics-port", str(metrics_port)],
            cwd=ROOT, stdout=output, stderr=subprocess.STDOUT,
        )
    try:
        wait_for(
            lambda: "Ctrl-C stops everything" in output_path.read_text() or demo.poll() is not None,
            "the demo to be ready", timeout=90,
        )
        printed = output_path.read_text()
        assert demo.poll() is None, printed
        commands = {
            m.group(2): m.group(0).strip() for m in re.finditer(r"^  ((?:CALSYNC_DEMO_ADDRESS=\S+ )?\S+ scripts/demo_client.py (\S+).*)$", printed, re.M)
        }
        assert set(commands) == {"free-slots", "explain", "book", "history"}
        caldav_port = int(re.search(r"CalDAV +http://127.0.0.1:(\d+)/", printed).group(1))  # type: ignore[union-attr]
        workdir = Path(re.search(r"log +(\S+)service.log", printed).group(1))  # type: ignore[union-attr]

        def run(line: str) -> str:
            done = subprocess.run(line.split("#")[0], shell=True, cwd=ROOT, capture_output=True, text=True, timeout=60)
            assert done.returncode == 0, done.stderr
            return done.stdout

        assert "free slots in the next 7 days" in run(commands["free-slots"])
        explained = run(next(line for line in printed.splitlines() if "explain" in line and "yoga" in line))
        assert explained.startswith("not free") and "Lunchtime yoga" in explained
        assert "Team planning" in run(next(line for line in printed.splitlines() if "team planning" in line))
        # the subscribed feed the demo serves blocks Friday afternoon
        assert "subscribed alex to the office closures feed" in printed and "1 busy times" in printed
        assert "Office closed" in run(next(line for line in printed.splitlines() if "explain" in line and "office closure" in line))
        assert run(commands["book"]).startswith("booked ")

        # the public API itself: Monday's team planning (Work, a conflict calendar) blocks 10:00-11:00
        monday = datetime.fromisoformat(re.search(r"explain (\S+)T10:30", printed).group(1)).replace(tzinfo=UTC)  # type: ignore[union-attr]
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            slots = Demo(channel).availability.ListFreeSlots(
                av.ListFreeSlotsRequest(
                    sub_account_id="demo", user_id="alex",
                    window=av.TimeWindow(start_time=ts(monday), end_time=ts(monday + timedelta(days=1))),
                ),
                metadata=[("authorization", "Bearer demo-token")], timeout=30,
            ).slots
        starts = {s.start_time.ToDatetime(UTC).hour * 60 + s.start_time.ToDatetime(UTC).minute for s in slots}
        assert 9 * 60 in starts and 10 * 60 not in starts and 10 * 60 + 30 not in starts and 11 * 60 in starts
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10) as answer:
            assert b'calsync_grpc_calls_total{code="OK",method="BookAppointment"' in answer.read()
    finally:
        demo.send_signal(signal.SIGINT)
        code = demo.wait(timeout=60)
    assert code == 0, output_path.read_text()
    assert output_path.read_text().rstrip().endswith("stopped.")
    for gone in (port, metrics_port, caldav_port):
        assert not listening(gone)
    assert not workdir.exists()
