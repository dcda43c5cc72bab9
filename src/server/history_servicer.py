"""HistoryService over gRPC: parse and validate, scope to the caller's tenants,
read the log, convert.

A later "as of a time" query (availability, say) belongs here too: it resolves
its target and scope with the same helpers and reads through HistoryService.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Generator, Iterator
from typing import Any

import grpc

from adapters import metrics
from adapters.persistence.log_tail import LogTail, StreamBatch
from calendar_domain import values
from calendar_domain.configuration import CalendarConfiguration
from calendar_domain.errors import NotFound
from calendar_domain.history import AggregateKind, Owner, RecordedEvent, Scope
from calendar_domain.history_service import HistoryService
from calendar_domain.schedule import UserSchedule
from calendar_domain.telemetry import happened
from calendarintegration.v1 import history_pb2 as pb
from calendarintegration.v1 import history_pb2_grpc
from server.auth import Authenticator, Caller
from server.config import ALL_SUB_ACCOUNTS
from server.errors import ServiceError, invalid_argument
from server.handlers import ServicerBase, rpc, stream_rpc
from server.read_ahead import ReadAhead
from server.history_convert import KIND_FROM_PB, event_fields, event_message, state_response
from server.validation import Violations, page_token

log = logging.getLogger(__name__)

DEFAULT_PAGE = 100
# A stream message stays well under gRPC's default 4 MiB receive limit.
MAX_MESSAGE_BYTES = 1 << 20
_BY_USER = {
    AggregateKind.CALENDAR_CONFIGURATION: CalendarConfiguration.create_id,
    AggregateKind.USER_SCHEDULE: UserSchedule.create_id,
}


class HistoryServicer(ServicerBase, history_pb2_grpc.HistoryServiceServicer):
    def __init__(self, authenticator: Authenticator, history: HistoryService, tail: LogTail, max_streams: int) -> None:
        super().__init__(authenticator)
        self._history = history
        self._tail = tail
        self._streams = threading.BoundedSemaphore(max_streams)
        self._max_streams = max_streams

    @rpc
    def ListEvents(self, request: Any, context: Any, caller: Caller) -> pb.ListEventsResponse:
        v = Violations.of(request)
        after = v.non_negative("after_position", request.after_position)
        size = v.page_size("page_size", request.page_size, DEFAULT_PAGE)
        if request.page_token:
            after = v.page_token("page_token", request.page_token, "events")
        scope = _scope(v, caller, request)
        page = self._history.read(after, size, scope)
        return pb.ListEventsResponse(
            events=[event_message(e) for e in page.events],
            next_page_token=page_token("events", page.position) if page.position < page.head else "",
            position=page.position,
            head_position=page.head,
        )

    @rpc
    def ListAggregateEvents(self, request: Any, context: Any, caller: Caller) -> pb.ListAggregateEventsResponse:
        v = Violations.of(request)
        size = v.page_size("page_size", request.page_size, DEFAULT_PAGE)
        after = v.page_token("page_token", request.page_token, "versions")
        aggregate_id, scope, _ = self._target(v, caller, request)
        records = self._history.aggregate_events(aggregate_id, scope, after, size + 1)
        page = records[:size]
        return pb.ListAggregateEventsResponse(
            events=[event_message(e) for e in page],
            next_page_token=page_token("versions", page[-1].version) if len(records) > size else "",
        )

    @rpc
    def GetAggregateState(self, request: Any, context: Any, caller: Caller) -> pb.GetAggregateStateResponse:
        v = Violations.of(request)
        as_of = request.WhichOneof("as_of")
        if as_of == "version" and request.version < 1:
            v.add("version", "version must be 1 or more (an aggregate's first event is version 1)")
        at = v.timestamp("time", request) if as_of == "time" else None
        if request.aggregate_type == pb.AGGREGATE_TYPE_ACCOUNT_LINK:
            v.add("aggregate_type", "an account link has no state to show; list its events instead")
        aggregate_id, scope, owner = self._target(v, caller, request)
        if owner.kind is AggregateKind.ACCOUNT_LINK:
            raise invalid_argument([("aggregate_id", "names an account link, which has no state to show")])
        state = self._history.state(
            aggregate_id, scope,
            version=request.version if as_of == "version" else None,
            at=at,
        )
        return state_response(state)

    @stream_rpc
    def StreamEvents(self, request: Any, context: Any, caller: Caller) -> Iterator[pb.StreamEventsResponse]:
        v = Violations.of(request)
        after = v.non_negative("after_position", request.after_position)
        scope = _scope(v, caller, request)
        if not self._streams.acquire(blocking=False):
            raise ServiceError(
                grpc.StatusCode.RESOURCE_EXHAUSTED, "TOO_MANY_STREAMS",
                f"this server already serves {self._max_streams} event streams; retry later",
                metadata={"max_streams": str(self._max_streams)},
            )
        try:
            # Wakes the stream's wait at once when the call ends (deadline, cancel).
            context.add_callback(self._tail.nudge)
            # The replay is made while gRPC sends it; live events go out as they come.
            yield from ReadAhead(self._responses(after, scope, context), lambda message: message.caught_up)
        finally:
            self._streams.release()

    def _responses(self, after: int, scope: Scope, context: Any) -> Generator[pb.StreamEventsResponse, None, None]:
        started, replayed = time.perf_counter(), 0
        for batch in self._tail.follow(after, scope, context.is_active):
            for message in _messages(batch):
                if replayed >= 0:  # still replaying
                    replayed += len(message.events)
                    if message.caught_up:
                        seconds = time.perf_counter() - started
                        happened(
                            log, "history.stream.caught_up", after=after, position=message.position,
                            events=replayed, seconds=round(seconds, 3),
                        )
                        metrics.HISTORY_REPLAYED_EVENTS.inc(replayed)
                        metrics.HISTORY_REPLAY_SECONDS.observe(seconds)
                        replayed = -1
                yield message

    # -- helpers -------------------------------------------------------------------

    def _target(self, v: Violations, caller: Caller, request: Any) -> tuple[uuid.UUID, Scope, Owner]:
        """The aggregate a request names (by id, or by user and type) and the scope
        it is read in: the request's sub-account. Raises NotFound for an
        aggregate of another type or sub-account."""
        sub_account_id = v.check(lambda: values.opaque_id("sub_account_id", request.sub_account_id), "")
        kind = _kind(v, "aggregate_type", request.aggregate_type) if request.aggregate_type else None
        aggregate_id: uuid.UUID | None = None
        if request.aggregate_id and request.user_id:
            v.add("aggregate_id", "give aggregate_id or user_id, not both")
        elif request.aggregate_id:
            aggregate_id = v.check(lambda: values.uuid_id("aggregate_id", request.aggregate_id), None)
        elif request.user_id:
            v.check(lambda: values.opaque_id("user_id", request.user_id), "")
            if kind not in _BY_USER:
                v.add("aggregate_type", "with user_id, aggregate_type must be a calendar configuration or a user schedule")
            else:
                aggregate_id = _BY_USER[kind](request.sub_account_id, request.user_id)
        else:
            v.add("aggregate_id", "aggregate_id (or user_id with aggregate_type) is required")
        v.raise_if_any()
        caller.require(sub_account_id)
        assert aggregate_id is not None
        scope = Scope(frozenset({sub_account_id}))
        owner = self._history.owner(aggregate_id, scope)
        if kind is not None and owner.kind is not kind:
            raise NotFound(f"aggregate {aggregate_id} not found", aggregate_id=str(aggregate_id))
        return aggregate_id, scope, owner


def _scope(v: Violations, caller: Caller, request: Any) -> Scope:
    """The events a list or stream request may see: its filters, within the
    caller's sub-accounts. Raises the collected violations first."""
    parsed = [_kind(v, f"aggregate_types[{i}]", t) for i, t in enumerate(request.aggregate_types)]
    kinds = frozenset(k for k in parsed if k is not None)
    sub_account_id = request.sub_account_id
    if sub_account_id:
        v.check(lambda: values.opaque_id("sub_account_id", sub_account_id), "")
    v.raise_if_any()
    if sub_account_id:
        caller.require(sub_account_id)
        return Scope(frozenset({sub_account_id}), kinds)
    reach = None if ALL_SUB_ACCOUNTS in caller.sub_accounts else caller.sub_accounts
    return Scope(reach, kinds)


def _kind(v: Violations, field: str, value: int) -> AggregateKind | None:
    kind = KIND_FROM_PB.get(value)
    if kind is None:
        v.add(field, f"{field} must be one of {', '.join(pb.AggregateType.keys()[1:])}")
    return kind


def _messages(batch: StreamBatch) -> Iterator[pb.StreamEventsResponse]:
    """One batch as stream messages of at most about MAX_MESSAGE_BYTES each."""
    response = pb.StreamEventsResponse()
    size = 0
    for record in batch.events:
        event_size = _add(response, record, batch.shared).ByteSize()
        if size and size + event_size > MAX_MESSAGE_BYTES:
            del response.events[-1]
            response.position = response.events[-1].position
            yield response
            response, size = pb.StreamEventsResponse(), 0
            _add(response, record, batch.shared)
        size += event_size
    response.position, response.caught_up = batch.position, batch.caught_up
    yield response


def _add(response: pb.StreamEventsResponse, record: RecordedEvent, shared: bool) -> Any:
    """Adds the record's event to the response. Events in the tail's buffer reach
    every live stream: converted once (cached) and copied. A replay's are made
    in place."""
    if shared:
        response.events.append(event_message(record))
        return response.events[-1]
    return response.events.add(**event_fields(record))


def register(server: grpc.Server, servicer: HistoryServicer) -> None:
    history_pb2_grpc.add_HistoryServiceServicer_to_server(servicer, server)
