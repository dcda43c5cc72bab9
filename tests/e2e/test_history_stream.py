"""StreamEvents through gRPC: replay then live, in order; resume by position; clean
ends at deadline, cancellation and shutdown; one follower for many streams."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import grpc
import pytest

from calendarintegration.v1 import history_pb2 as hi
from tests.e2e.test_history import all_events, set_time_zone
from tests.e2e.test_sync_api import connect_and_block
from tests.support.grpc_service import ADMIN_TOKEN, TENANT_TOKEN, Service, auth

WAIT = 30.0  # seconds any one expected message may take, at most


@dataclass
class Follower:
    """A stream read in a thread of its own; messages arrive in ``inbox``."""

    call: Any
    inbox: queue.Queue[Any] = field(default_factory=queue.Queue)
    events: list[hi.Event] = field(default_factory=list)
    position: int = 0

    def next(self) -> hi.StreamEventsResponse:
        message = self.inbox.get(timeout=WAIT)
        if isinstance(message, BaseException):
            raise message
        self.events += message.events
        self.position = message.position
        return message

    def until_caught_up(self) -> None:
        while not self.next().caught_up:
            pass

    def until_position(self, position: int) -> None:
        while self.position < position:
            self.next()


@contextmanager
def following(service: Service, token: str = ADMIN_TOKEN, timeout: float | None = None, **request: Any) -> Iterator[Follower]:
    call = service.history.StreamEvents(hi.StreamEventsRequest(**request), metadata=auth(token), timeout=timeout)
    follower = Follower(call)

    def read() -> None:
        try:
            for message in call:
                follower.inbox.put(message)
            follower.inbox.put(StopIteration())
        except grpc.RpcError as error:
            follower.inbox.put(error)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        yield follower
    finally:
        call.cancel()
        reader.join(WAIT)


def test_a_stream_replays_the_log_then_follows_new_events_in_order(service: Service) -> None:
    set_time_zone(service, "loc-1", "Europe/Paris")
    set_time_zone(service, "loc-2", "Europe/Rome")
    with following(service) as follower:
        follower.until_caught_up()
        assert [e.event_type for e in follower.events] == ["CalendarConfiguration.Started", "CalendarConfiguration.TimeZoneSet"] * 2
        last = 0
        for zone in ("Asia/Tokyo", "America/New_York", "Africa/Cairo"):
            last = set_time_zone(service, "loc-1", zone)
        follower.until_position(last)
    logged = all_events(service)
    assert [e.position for e in follower.events] == [e.position for e in logged]
    assert [e.calendar_configuration_time_zone_set.time_zone for e in follower.events[-3:]] == [
        "Asia/Tokyo", "America/New_York", "Africa/Cairo",
    ]
    assert follower.events == logged  # the same messages as the paged log


def test_resuming_from_the_last_position_loses_nothing(service: Service) -> None:
    set_time_zone(service, "loc-1", "Europe/Paris")
    with following(service) as first:
        first.until_caught_up()
        set_time_zone(service, "loc-1", "Europe/Rome")
        first.until_position(service.container.app.head_position())
    resume_at = first.position
    # Changes made while nobody listens.
    for zone in ("Asia/Tokyo", "America/New_York"):
        set_time_zone(service, "loc-1", zone)
    with following(service, after_position=resume_at) as second:
        second.until_caught_up()
    received = [e.position for e in [*first.events, *second.events]]
    assert received == [e.position for e in all_events(service)]
    assert all(e.position > resume_at for e in second.events) and len(second.events) == 2


def test_a_stream_shows_a_tenant_only_its_sub_accounts_and_the_types_it_asked_for(service: Service, account) -> None:
    with following(service, TENANT_TOKEN) as tenant, following(
        service, aggregate_types=[hi.AGGREGATE_TYPE_CONNECTION]
    ) as connections_only:
        tenant.until_caught_up()
        connections_only.until_caught_up()
        set_time_zone(service, "loc-9", "Europe/Rome")  # not the tenant's
        set_time_zone(service, "loc-2", "Europe/Paris")
        connection_id, _ = connect_and_block(service, account, "loc-2")
        last = service.container.app.head_position()
        tenant.until_position(last)
        connection_events = [e for e in all_events(service) if e.aggregate_id == connection_id]
        connections_only.until_position(connection_events[-1].position)
    assert {e.sub_account_id for e in tenant.events} == {"loc-2"}
    assert [e.position for e in tenant.events] == [e.position for e in all_events(service, sub_account_id="loc-2")]
    assert connections_only.events == connection_events


def test_a_stream_ends_cleanly_at_its_deadline_and_when_cancelled(service: Service) -> None:
    with following(service, timeout=2) as follower:
        follower.until_caught_up()
        with pytest.raises(grpc.RpcError) as ended:
            follower.next()
        assert ended.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert service.container.log_tail.wait_for_followers(0, WAIT), "the server let go of the stream"
    with following(service) as follower:
        follower.until_caught_up()
        assert service.container.log_tail.followers == 1
        follower.call.cancel()
        with pytest.raises(grpc.RpcError) as ended:
            follower.next()
        assert ended.value.code() == grpc.StatusCode.CANCELLED
    assert service.container.log_tail.wait_for_followers(0, WAIT)
    assert service.serving()


def test_many_streams_share_one_follower_of_the_log(service: Service) -> None:
    with following(service) as first:
        first.until_caught_up()
        streams = [following(service, TENANT_TOKEN if i % 2 else ADMIN_TOKEN) for i in range(20)]
        followers = [s.__enter__() for s in streams]
        try:
            for follower in followers:
                follower.until_caught_up()
            assert service.container.log_tail.followers == 21
            position = set_time_zone(service, "loc-1", "Europe/Rome")
            for follower in [first, *followers]:
                follower.until_position(position)
                assert [e.position for e in follower.events][-1] == position
            tails = [t for t in threading.enumerate() if t.name == "history-tail"]
            assert len(tails) == 1, "one follower of the log, however many streams"
        finally:
            for stream in streams:
                stream.__exit__(None, None, None)


def test_shutting_down_ends_open_streams_cleanly(service: Service) -> None:
    set_time_zone(service, "loc-1", "Europe/Rome")
    with following(service) as follower:
        follower.until_caught_up()
        service.running.stop(grace=10)
        message = follower.inbox.get(timeout=WAIT)
        assert isinstance(message, StopIteration), message  # the stream completed with OK


def test_a_server_refuses_streams_beyond_its_maximum(service: Service) -> None:
    servicer_limit = service.container.settings.max_streams
    streams = [following(service) for _ in range(servicer_limit)]
    followers = [s.__enter__() for s in streams]
    try:
        for follower in followers:
            follower.until_caught_up()
        with following(service) as refused:
            with pytest.raises(grpc.RpcError) as error:
                refused.next()
            assert error.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert service.serving()  # unary calls still have their threads
    finally:
        for stream in streams:
            stream.__exit__(None, None, None)
