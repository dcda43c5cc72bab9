"""The availability read model kept by its own process, and rebuilt by the command
a user would run."""

from __future__ import annotations

import signal
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, timedelta
from pathlib import Path

import pytest

from calendarintegration.v1 import appointments_pb2 as ap
from calendarintegration.v1 import availability_pb2 as av
from adapters.persistence.model_lock import ModelInUse
from server.bootstrap import build_availability_view, build_model_lock
from tests.e2e.test_appointments import at, book_request, calendar_events, connect, get, pushed, stub, sync_now
from tests.e2e.test_availability import MONDAY_AFTER, _configure_and_sync, _free, _local, _put_week_events
from tests.e2e.test_icloud_changes import (
    event_path,
    move_in_icloud,
    put_event,
    restoring_with_the_pusher_stopped,
    set_policy,
)
from tests.support.caldav_servers import RadicaleServer
from tests.support.grpc_service import auth, running_service
from tests.support.processes import process_env
from tests.support.stores import STORES, settings_for
from tests.support.waiting import wait_for

@pytest.mark.parametrize("store", STORES)
def test_a_projection_process_keeps_the_read_model_for_the_server(
    store: str, tmp_path: Path, radicale: RadicaleServer, account: tuple[str, str]
) -> None:
    _put_week_events(radicale, account)
    with settings_for(store, tmp_path / "data", caldav_url=radicale.base_url, caldav_timeout=10) as settings:
        server_settings = replace(settings, embedded_projections=False, read_wait_timeout=20)
        process = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "project"], env=process_env(settings), cwd=tmp_path,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        try:
            with running_service(server_settings) as service:
                _, _, position = _configure_and_sync(service, account)
                tuesday = MONDAY_AFTER + timedelta(days=1)
                answer = _free(service, _local(tuesday, 0), _local(tuesday, 23), position)
                assert len(answer.slots) == 6 and answer.as_of.position >= position  # the dentist blocks
                # a command whose event the read model ignores still becomes readable
                head = service.availability.SetStaleCalendarPolicy(
                    av.SetStaleCalendarPolicyRequest(sub_account_id="loc-9", stale_calendars_block=True),
                    metadata=auth(),
                ).position
                assert _free(service, _local(tuesday, 0), _local(tuesday, 23), head).as_of.position >= head
                assert service.container.availability_follower.error is None
        finally:
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=60) == 0, process.stdout.read() if process.stdout else ""


@pytest.mark.parametrize("processes", ["0", "2"])
@pytest.mark.parametrize("store", STORES)
def test_the_rebuild_command_reproduces_the_live_model(
    store: str, processes: str, tmp_path: Path, radicale: RadicaleServer, account: tuple[str, str]
) -> None:
    _put_week_events(radicale, account)
    with settings_for(store, tmp_path / "data", caldav_url=radicale.base_url, caldav_timeout=10) as settings:
        with running_service(settings) as service:
            _configure_and_sync(service, account)
            service.container.availability_follower.catch_up()
            live = service.container.availability_view.dump()
        assert len(live["avail_busy"]) > 5
        result = subprocess.run(
            [sys.executable, "-m", "server.cli", "rebuild", "availability", "--processes", processes],
            env=process_env(settings), cwd=tmp_path, capture_output=True, text=True, timeout=120,
        )
        assert result.returncode == 0, result.stderr
        assert "availability rebuilt up to log position" in result.stdout
        assert build_availability_view(settings).dump() == live


@pytest.mark.parametrize("value", ["-1", "two"])
def test_the_rebuild_command_refuses_a_bad_number_of_processes(value: str, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "server.cli", "rebuild", "availability", "--processes", value],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    assert "--processes" in result.stderr and value in result.stderr and "availability rebuilt" not in result.stdout


@pytest.mark.parametrize("store", STORES)
def test_the_rebuild_command_refuses_while_a_server_uses_the_model(
    store: str, tmp_path: Path, radicale: RadicaleServer, account: tuple[str, str]
) -> None:
    _put_week_events(radicale, account)
    rebuild = [sys.executable, "-m", "server.cli", "rebuild", "availability", "--processes", "0"]
    with settings_for(store, tmp_path / "data", caldav_url=radicale.base_url, caldav_timeout=10) as settings:
        with running_service(settings) as service:
            _, _, position = _configure_and_sync(service, account)
            service.container.availability_follower.catch_up()
            live = service.container.availability_view.dump()
            refused = subprocess.run(rebuild, env=process_env(settings), cwd=tmp_path, capture_output=True, text=True, timeout=120)
            assert refused.returncode == 1
            assert "rebuild refused, nothing dropped" in refused.stderr and "in use by another process" in refused.stderr
            assert "availability rebuilt" not in refused.stdout
            assert service.container.availability_view.dump() == live
            tuesday = MONDAY_AFTER + timedelta(days=1)
            assert len(_free(service, _local(tuesday, 0), _local(tuesday, 23), position).slots) == 6
        # the server gone, the model is the rebuild's
        done = subprocess.run(rebuild, env=process_env(settings), cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert build_availability_view(settings).dump() == live


@pytest.mark.parametrize("store", STORES)
def test_the_rebuild_command_refuses_while_a_projection_process_follows_the_model(
    store: str, tmp_path: Path, radicale: RadicaleServer
) -> None:
    with settings_for(store, tmp_path / "data", caldav_url=radicale.base_url) as settings:
        process = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "project"], env=process_env(settings), cwd=tmp_path,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        try:
            probe = build_model_lock(settings, "availability")

            def held_elsewhere() -> bool:
                try:
                    probe.take_alone()
                except ModelInUse:
                    return True
                probe.release()
                return False

            wait_for(held_elsewhere, "the projection process to hold the availability model")
            refused = subprocess.run(
                [sys.executable, "-m", "server.cli", "rebuild", "availability", "--processes", "0"],
                env=process_env(settings), cwd=tmp_path, capture_output=True, text=True, timeout=120,
            )
            assert refused.returncode == 1 and "rebuild refused, nothing dropped" in refused.stderr
        finally:
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=60) == 0, process.stdout.read() if process.stdout else ""


@pytest.mark.parametrize("store", STORES)
def test_the_rebuild_reproduces_held_times_and_appointments_that_followed_icloud(
    store: str, tmp_path: Path, radicale: RadicaleServer, account: tuple[str, str]
) -> None:
    """The events of changes made in iCloud (a move followed, a deletion followed,
    a restore waiting with its held times, a conflict) give the rebuilt model what
    the live one holds, whichever way the rebuild reads the log."""
    with settings_for(store, tmp_path / "data", caldav_url=radicale.base_url, caldav_timeout=10) as settings:
        with running_service(settings) as service:
            home = connect(service, account)
            ids = [
                stub(service).BookAppointment(book_request(at(h), at(h + 1)), metadata=auth()).appointment.appointment_id
                for h in (9, 11, 13)
            ]
            for appointment_id in ids:
                pushed(service, appointment_id, ap.PUSH_STATUS_WRITTEN, 1)
            move_in_icloud(radicale, account, ids[0], at(15), at(16))
            radicale.delete(account[0], account[1], event_path(radicale, account, f"{ids[1]}.ics"))
            put_event(radicale, account, "gym", at(15, 30), at(17))
            sync_now(service, home.connection_id)
            set_policy(service, ap.I_CLOUD_CHANGE_POLICY_RESTORE)
            service.container.pusher.stop()
            move_in_icloud(radicale, account, ids[2], at(18), at(19))
            sync_now(service, home.connection_id)
            service.container.availability_follower.catch_up()
            live = service.container.availability_view.dump()
        assert any("appointment_in_icloud" in map(str, row) for row in live["avail_busy"])  # held
        for processes in ("0", "2"):
            result = subprocess.run(
                [sys.executable, "-m", "server.cli", "rebuild", "availability", "--processes", processes],
                env=process_env(settings), cwd=tmp_path, capture_output=True, text=True, timeout=120,
            )
            assert result.returncode == 0, result.stderr
            assert build_availability_view(settings).dump() == live


@pytest.mark.parametrize("store", STORES)
def test_a_restore_recorded_before_the_service_stops_is_written_by_the_next_one(
    store: str, tmp_path: Path, radicale: RadicaleServer, account: tuple[str, str]
) -> None:
    """Between the sync that asks for a restore and the push that makes it, the
    service may go down: the push is queued with the sync's events, and the next
    service writes it."""
    with settings_for(store, tmp_path / "data", caldav_url=radicale.base_url, caldav_timeout=10) as settings:
        with running_service(settings) as service:
            home, booked = restoring_with_the_pusher_stopped(service, account)
            move_in_icloud(radicale, account, booked.appointment_id, at(14), at(15))
            sync_now(service, home.connection_id)
            assert get(service, booked.appointment_id).push.status == ap.PUSH_STATUS_PENDING
        with running_service(settings) as service:
            restored = pushed(service, booked.appointment_id, ap.PUSH_STATUS_RESTORED, 1)
            assert restored.start_time.ToDatetime(tzinfo=UTC) == at(10)
            [event] = calendar_events(radicale, account).values()
            assert event.decoded("DTSTART") == at(10)
