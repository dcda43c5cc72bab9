"""A small client of the service for trying it (``make demo`` prints these lines).

    python scripts/demo_client.py free-slots [--days 7]
    python scripts/demo_client.py explain 2026-05-04T10:00 [2026-05-04T10:30]
    python scripts/demo_client.py book 2026-05-04T15:00 [--minutes 30] [--title "Intro call"]
    python scripts/demo_client.py history            (the event log, then live; Ctrl-C ends it)
    python scripts/demo_client.py sync

Times without a zone are UTC. The address, token, sub-account and user come from
CALSYNC_DEMO_ADDRESS, CALSYNC_DEMO_TOKEN, CALSYNC_DEMO_SUB_ACCOUNT and CALSYNC_DEMO_USER
(the demo's own by default).
"""

from __future__ import annotations

import argparse
import os
import sys
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import grpc  # noqa: E402
from google.protobuf.timestamp_pb2 import Timestamp  # noqa: E402

from calendarintegration.v1 import appointments_pb2 as ap  # noqa: E402
from calendarintegration.v1 import appointments_pb2_grpc, availability_pb2_grpc, history_pb2_grpc, sync_pb2_grpc  # noqa: E402
from calendarintegration.v1 import availability_pb2 as av  # noqa: E402
from calendarintegration.v1 import connection_pb2 as pb  # noqa: E402
from calendarintegration.v1 import connection_pb2_grpc  # noqa: E402
from calendarintegration.v1 import history_pb2 as hi  # noqa: E402
from calendarintegration.v1 import sync_pb2 as sy  # noqa: E402

ADDRESS = os.environ.get("CALSYNC_DEMO_ADDRESS", "127.0.0.1:50051")
TOKEN = os.environ.get("CALSYNC_DEMO_TOKEN", "demo-token")
SUB = os.environ.get("CALSYNC_DEMO_SUB_ACCOUNT", "demo")
USER = os.environ.get("CALSYNC_DEMO_USER", "alex")
METADATA = [("authorization", f"Bearer {TOKEN}")]


def ts(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def when(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def shown(stamp: Timestamp) -> str:
    return stamp.ToDatetime(UTC).strftime("%a %Y-%m-%d %H:%M")


def free_slots(channel: grpc.Channel, options: argparse.Namespace) -> None:
    start = datetime.now(UTC).replace(second=0, microsecond=0)
    window = av.TimeWindow(start_time=ts(start), end_time=ts(start + timedelta(days=options.days)))
    answer = availability_pb2_grpc.AvailabilityServiceStub(channel).ListFreeSlots(
        av.ListFreeSlotsRequest(sub_account_id=SUB, user_id=USER, window=window), metadata=METADATA, timeout=30
    )
    print(f"{len(answer.slots)} free slots in the next {options.days} days ({answer.time_zone}):")
    for slot in answer.slots[: options.limit]:
        print(f"  {shown(slot.start_time)} - {slot.end_time.ToDatetime(UTC):%H:%M}")
    if answer.as_of.degraded:
        print("  (degraded: a calendar is stale)")


def explain(channel: grpc.Channel, options: argparse.Namespace) -> None:
    request = av.ExplainTimeRequest(
        sub_account_id=SUB, user_id=USER, start_time=ts(when(options.start)), viewer_user_id=USER
    )
    if options.end:
        request.end_time.CopyFrom(ts(when(options.end)))
    answer = availability_pb2_grpc.AvailabilityServiceStub(channel).ExplainTime(request, metadata=METADATA, timeout=30)
    print("free" if answer.free else "not free")
    for reason in answer.reasons:
        source = reason.source
        what = f" - {source.title or 'Busy'} (calendar {source.calendar_id}, uid {source.uid}, rule {source.rule})" if source.uid else ""
        print(f"  {av.ReasonKind.Name(reason.kind)}: {reason.description}{what}")
    for source in answer.not_blocking:
        print(f"  not blocking: {source.title or 'an event'} ({source.rule})")


def book(channel: grpc.Channel, options: argparse.Namespace) -> None:
    start = when(options.start)
    answer = appointments_pb2_grpc.AppointmentServiceStub(channel).BookAppointment(
        ap.BookAppointmentRequest(
            sub_account_id=SUB, user_id=USER, start_time=ts(start),
            end_time=ts(start + timedelta(minutes=options.minutes)), title=options.title,
            request_id=uuid.uuid4().hex,
        ),
        metadata=METADATA, timeout=30,
    )
    print(f"booked {answer.appointment.appointment_id} at {shown(answer.appointment.start_time)}"
          " (written to the Home calendar in a moment)")


def history(channel: grpc.Channel, options: argparse.Namespace) -> None:
    stream = history_pb2_grpc.HistoryServiceStub(channel).StreamEvents(
        hi.StreamEventsRequest(after_position=options.after, sub_account_id=SUB), metadata=METADATA
    )
    try:
        for message in stream:
            for event in message.events:
                print(f"{event.position:>6}  {shown(event.event_time)}  {event.event_type}  {event.aggregate_id}")
            if message.caught_up:
                print(f"-- caught up at position {message.position}; new events follow (Ctrl-C ends) --")
    except KeyboardInterrupt:
        stream.cancel()


def sync(channel: grpc.Channel, _options: argparse.Namespace) -> None:
    connections = connection_pb2_grpc.ConnectionServiceStub(channel).ListConnections(
        pb.ListConnectionsRequest(sub_account_id=SUB, user_id=USER), metadata=METADATA, timeout=30
    )
    for connection in connections.connections:
        answer = sync_pb2_grpc.SyncServiceStub(channel).SyncNow(
            sy.SyncNowRequest(sub_account_id=SUB, connection_id=connection.connection_id),
            metadata=METADATA, timeout=120,
        )
        print(f"synced {answer.calendars_synced} calendars ({answer.calendars_failed} failed)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="demo_client", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    slots = sub.add_parser("free-slots", help="the user's free slots from now on")
    slots.add_argument("--days", type=int, default=7)
    slots.add_argument("--limit", type=int, default=20, help="slots printed")
    why = sub.add_parser("explain", help="why a time is free or not")
    why.add_argument("start")
    why.add_argument("end", nargs="?")
    booking = sub.add_parser("book", help="book an appointment (written to the primary calendar)")
    booking.add_argument("start")
    booking.add_argument("--minutes", type=int, default=30)
    booking.add_argument("--title", default="Intro call")
    log = sub.add_parser("history", help="follow the event log")
    log.add_argument("--after", type=int, default=0, help="events after this position")
    sub.add_parser("sync", help="sync the connected account now")
    options = parser.parse_args(argv)
    commands: dict[str, Callable[[grpc.Channel, Any], None]] = {
        "free-slots": free_slots, "explain": explain, "book": book, "history": history, "sync": sync,
    }
    with grpc.insecure_channel(ADDRESS) as channel:
        try:
            commands[options.command](channel, options)
        except grpc.RpcError as error:
            print(f"{error.code().name}: {error.details()}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
