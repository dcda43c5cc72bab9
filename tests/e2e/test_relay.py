"""The relay against a real NATS server with JetStream: every event of the log
arrives once, in order, as the history API's typed message, on its sub-account's
and aggregate type's subject; a relay killed mid-batch and restarted neither
skips nor repeats what consumers see. Both stores."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import nats

from calendar_domain.history import RecordedEvent, Scope
from calendarintegration.v1 import appointments_pb2 as ap
from calendarintegration.v1 import history_pb2 as hi
from server.history_convert import event_message
from server.relay import subject_token, token_text
from tests.e2e.test_appointments import SUB, USER, at, book_request, connect, pushed, stub, ts
from tests.e2e.test_history import set_time_zone
from tests.support.grpc_service import Service, auth
from tests.support.jetstream import Received, RelayStream, jetstream  # noqa: F401 - the fixture
from tests.support.processes import process_env
from tests.support.stores import settings_for
from tests.support.waiting import wait_for

# A sub-account id with characters NATS forbids in a subject token ("." splits one).
ODD_SUB = "acme.eu:team@x_1"


def log_records(service: Service) -> list[RecordedEvent]:
    return service.container.history.read(0, 100_000, Scope()).events


def relay_env(service: Service, stream: RelayStream, **more: str) -> dict[str, str]:
    return process_env(
        service.container.settings,
        CALSYNC_NATS_URL=stream.url, CALSYNC_RELAY_STREAM=stream.name, CALSYNC_RELAY_SUBJECT_PREFIX=stream.prefix,
        CALSYNC_RELAY_BATCH_SIZE="4", CALSYNC_RELAY_POLL_INTERVAL="0.2", **more,
    )


@contextmanager
def relay_process(env: dict[str, str], cwd: Path) -> Iterator[list[str]]:
    """`calendar-integration relay` until the block ends; then its output lines."""
    output: list[str] = []
    process = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "relay"], env=env, cwd=cwd,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        yield output
    finally:
        process.send_signal(signal.SIGTERM)
        text = process.communicate(timeout=60)[0]
        output.extend(text.splitlines())
    assert process.returncode == 0, text


def arrived(stream: RelayStream, count: int) -> None:
    wait_for(lambda: stream.messages() >= count, f"{count} messages in the stream")


def assert_relayed(stream: RelayStream, received: list[Received], records: list[RecordedEvent]) -> None:
    """Each record once, in log order, as its typed message, on its subject."""
    assert [int(r.headers["Nats-Msg-Id"]) for r in received] == [r.position for r in records]
    for message, record in zip(received, records, strict=True):
        event = hi.Event.FromString(message.data)
        assert event == event_message(record)
        assert message.subject == f"{stream.prefix}.{subject_token(record.sub_account_id)}.{record.kind.value}"
        assert token_text(message.subject.split(".")[-2]) == event.sub_account_id


def test_every_event_arrives_once_in_order_typed_on_its_subject(
    service: Service, account: tuple[str, str], jetstream: RelayStream, tmp_path: Path  # noqa: F811
) -> None:
    connect(service, account)
    appointments = stub(service)
    appointment = appointments.BookAppointment(book_request(at(10), at(11)), metadata=auth()).appointment
    appointments.RescheduleAppointment(
        ap.RescheduleAppointmentRequest(
            sub_account_id=SUB, user_id=USER, appointment_id=appointment.appointment_id,
            start_time=ts(at(14)), end_time=ts(at(15)),
        ),
        metadata=auth(),
    )
    appointments.CancelAppointment(
        ap.CancelAppointmentRequest(sub_account_id=SUB, user_id=USER, appointment_id=appointment.appointment_id),
        metadata=auth(),
    )
    pushed(service, appointment.appointment_id, ap.PUSH_STATUS_REMOVED, 3)  # the log is still
    set_time_zone(service, ODD_SUB, "Europe/Paris")
    before = log_records(service)

    with relay_process(relay_env(service, jetstream), tmp_path) as output:
        arrived(jetstream, len(before))
        second = subprocess.run(
            [sys.executable, "-m", "server.cli", "relay"], env=relay_env(service, jetstream), cwd=tmp_path,
            capture_output=True, text=True, timeout=60,
        )
        assert second.returncode == 2 and "another relay publishes to the stream" in second.stderr, second.stderr
        set_time_zone(service, ODD_SUB, "Asia/Tokyo")  # followed live, after the start
        records = log_records(service)
        arrived(jetstream, len(records))
    assert any("relay.stream_created" in line for line in output)
    assert any("relay.published" in line and "events=4" in line for line in output)

    received = jetstream.consume(f"{jetstream.prefix}.>")
    assert_relayed(jetstream, received, records)
    types = [hi.Event.FromString(r.data).event_type for r in received]
    for expected in ("UserSchedule.AppointmentBooked", "UserSchedule.AppointmentRescheduled",
                     "UserSchedule.AppointmentCancelled", "CalendarConfiguration.TimeZoneSet"):
        assert expected in types
    booked = next(e for e in map(hi.Event.FromString, (r.data for r in received))
                  if e.event_type == "UserSchedule.AppointmentBooked")
    assert booked.user_schedule_appointment_booked.appointment_id == appointment.appointment_id

    # A consumer of one sub-account's subjects sees its events, and only them.
    for sub in (SUB, ODD_SUB):
        own = jetstream.consume(f"{jetstream.prefix}.{subject_token(sub)}.>")
        assert_relayed(jetstream, own, [r for r in records if r.sub_account_id == sub])
        assert own


def test_a_relay_killed_mid_batch_and_restarted_neither_skips_nor_repeats(
    service: Service, jetstream: RelayStream, tmp_path: Path  # noqa: F811
) -> None:
    for index in range(7):  # two events each: the configuration started, its time zone set
        set_time_zone(service, f"loc-{index}", "Europe/Rome")
    records = log_records(service)
    env = relay_env(service, jetstream)

    crashed = subprocess.run(
        [sys.executable, "-m", "tests.support.crashing_relay"], env=env, cwd=tmp_path,
        capture_output=True, text=True, timeout=120,
    )
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    # the first batch and at least half the second reached JetStream; the position is the first batch's
    assert 6 <= jetstream.messages() < len(records)

    with relay_process(env, tmp_path) as output:
        arrived(jetstream, len(records))
        set_time_zone(service, "loc-0", "Asia/Tokyo")
        records = log_records(service)
        arrived(jetstream, len(records))
    assert any(f"relay.resumed stream={jetstream.name} position={records[3].position}" in line for line in output)
    first_again = next(line for line in output if "relay.published" in line)
    assert "duplicates=0" not in first_again  # JetStream dropped what the killed relay had sent
    assert_relayed(jetstream, jetstream.consume(f"{jetstream.prefix}.>"), records)


def test_a_stream_of_that_name_on_other_subjects_stops_the_start_in_one_line(
    jetstream: RelayStream, tmp_path: Path  # noqa: F811
) -> None:
    async def other_stream() -> None:
        connection = await nats.connect(jetstream.url)
        try:
            await connection.jetstream().add_stream(name=jetstream.name, subjects=[f"other{jetstream.name}.>"])
        finally:
            await connection.close()

    asyncio.run(other_stream())
    with settings_for("sqlite", tmp_path / "data") as settings:
        env = process_env(
            settings, CALSYNC_NATS_URL=jetstream.url, CALSYNC_RELAY_STREAM=jetstream.name,
            CALSYNC_RELAY_SUBJECT_PREFIX=jetstream.prefix,
        )
        done = subprocess.run(
            [sys.executable, "-m", "server.cli", "relay"], env=env, cwd=tmp_path,
            capture_output=True, text=True, timeout=60,
        )
    assert done.returncode == 2, done.stderr
    [line] = [line for line in done.stderr.splitlines() if line.startswith("cannot start:")]
    assert "CALSYNC_RELAY_STREAM" in line and "CALSYNC_RELAY_SUBJECT_PREFIX" in line
