"""Exactly once across a crash: a push process killed between its write to the
calendar server and the recording of that write, then restarted, leaves one event."""

from __future__ import annotations

import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from calendar_domain.schedule import UserSchedule
from calendarintegration.v1 import appointments_pb2 as ap
from tests.e2e.test_appointments import SUB, USER, at, book_request, calendar_events, connect, get, pushed, stub
from tests.support.caldav_servers import RadicaleServer
from tests.support.crashing_pusher import CRASHED
from tests.support.grpc_service import auth, running_service
from tests.support.processes import process_env
from tests.support.stores import STORES, settings_for


@pytest.mark.parametrize("store", STORES)
def test_a_push_crashed_after_its_write_is_found_not_repeated(
    store: str, tmp_path: Path, radicale: RadicaleServer, account: tuple[str, str]
) -> None:
    with settings_for(store, tmp_path / "data", caldav_url=radicale.base_url, caldav_timeout=10) as settings:
        env = process_env(settings, CALSYNC_PUSH_LEASE="1")
        with running_service(replace(settings, embedded_push=False)) as service:
            connect(service, account)
            appointment = stub(service).BookAppointment(book_request(at(10), at(11)), metadata=auth()).appointment

            crashed = subprocess.run(
                [sys.executable, "-m", "tests.support.crashing_pusher"], env=env, cwd=tmp_path,
                capture_output=True, text=True, timeout=120,
            )
            assert crashed.returncode == CRASHED, crashed.stderr
            # written to the server, but not recorded
            [event] = calendar_events(radicale, account).values()
            assert str(event["UID"]) == appointment.uid
            assert get(service, appointment.appointment_id).push.status == ap.PUSH_STATUS_PENDING

            process = subprocess.Popen(
                [sys.executable, "-m", "server.cli", "push"], env=env, cwd=tmp_path,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            )
            try:
                written = pushed(service, appointment.appointment_id, ap.PUSH_STATUS_WRITTEN, 1)
            finally:
                process.send_signal(signal.SIGTERM)
                output = process.communicate(timeout=60)[0]
                assert process.returncode == 0, output
            assert f"push.lease_taken_over appointment_id={appointment.appointment_id}" in output
            assert [e["UID"] for e in calendar_events(radicale, account).values()] == [appointment.uid]
            assert written.push.etag
            schedule_id = UserSchedule.create_id(SUB, USER)
            actions = [
                e.action for e in service.container.app.events.get(schedule_id)
                if isinstance(e, UserSchedule.AppointmentPushed)
            ]
            assert actions == ["found"]  # the restarted push found its own write
