"""No orphans: a server killed with SIGKILL takes its parse workers and the
multiprocessing resource tracker with it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from server.config import Settings
from tests.support.processes import process_env
from tests.support.waiting import wait_for


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


def _running(pid: int) -> bool:
    """Alive and not a zombie (a dead child nobody reaped yet counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_killed_server_leaves_no_parse_workers_behind(tmp_path: Path) -> None:
    settings = Settings(event_store="sqlite", data_dir=tmp_path / "data", caldav_url="http://127.0.0.1:9/")
    env = process_env(settings, CALSYNC_PARSE_PROCESSES="2", CALSYNC_LISTEN="127.0.0.1:0")
    server = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve"], env=env, cwd=tmp_path,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        # two workers and the resource tracker
        children = wait_for(lambda: c if len(c := _children(server.pid)) >= 3 else None, "the parse workers", 60)
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=10)
        wait_for(lambda: not any(_running(pid) for pid in children), "the workers and the tracker to end", 20)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
