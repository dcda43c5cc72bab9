"""SyncService over gRPC: parse and validate, call the sync machinery, convert."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import grpc

from adapters.icloud.poller import SyncScheduler
from adapters.icloud.sync_status import ConnectionSyncStatus, SyncStatusReader
from calendar_domain import values
from calendar_domain.busy_times import BusyTimes
from calendar_domain.configuration_service import ConfigurationService
from calendar_domain.connection import Connection
from calendar_domain.connection_service import ConnectionService
from calendar_domain.schedule_service import ScheduleService
from calendarintegration.v1 import sync_pb2 as pb
from calendarintegration.v1 import sync_pb2_grpc
from server.auth import Authenticator, Caller
from server.convert import blocked_slots, skipped_resources, timestamp
from server.handlers import ReadGate, ServicerBase, rpc
from server.validation import Violations, offset_page

DEFAULT_PAGE = 100


class SyncServicer(ServicerBase, sync_pb2_grpc.SyncServiceServicer):
    def __init__(
        self,
        authenticator: Authenticator,
        connections: ConnectionService,
        configurations: ConfigurationService,
        schedules: ScheduleService,
        scheduler: SyncScheduler,
        status: SyncStatusReader,
        sync_now_wait: float,
        busy_times: BusyTimes,
        availability_gate: ReadGate,
    ) -> None:
        super().__init__(authenticator)
        self._connections = connections
        self._configurations = configurations
        self._schedules = schedules
        self._scheduler = scheduler
        self._status = status
        self._wait = sync_now_wait
        self._busy_times = busy_times
        self._gate = availability_gate

    @rpc
    def SyncNow(self, request: Any, context: Any, caller: Caller) -> pb.SyncNowResponse:
        connection = self._connection(request, caller)
        connection.ensure_not_disconnected()
        report = self._scheduler.sync_now(str(connection.account_id), self._wait)
        fresh = self._connections.get(request.sub_account_id, request.connection_id)
        return pb.SyncNowResponse(
            status=self._status_message(fresh),
            position=report.position or self._schedules_head(),
            calendars_synced=report.calendars_synced,
            calendars_failed=report.calendars_failed,
            errors=report.errors,
        )

    @rpc
    def GetSyncStatus(self, request: Any, context: Any, caller: Caller) -> pb.GetSyncStatusResponse:
        return pb.GetSyncStatusResponse(status=self._status_message(self._connection(request, caller)))

    @rpc
    def ListBlockedSlots(self, request: Any, context: Any, caller: Caller) -> pb.ListBlockedSlotsResponse:
        v = self._user(request)
        if request.calendar_id:
            v.check(lambda: values.uuid_id("calendar_id", request.calendar_id), None)
        if request.viewer_user_id:
            v.check(lambda: values.opaque_id("viewer_user_id", request.viewer_user_id), "")
        size = v.page_size("page_size", request.page_size, DEFAULT_PAGE)
        after = v.page_token("page_token", request.page_token, "slots")
        v.non_negative("min_position", request.min_position)
        v.raise_if_any()
        caller.require(request.sub_account_id)
        self._gate.wait(request.min_position)
        schedule = self._schedules.schedule(request.sub_account_id, request.user_id)
        page, token = offset_page(blocked_slots(schedule, request.calendar_id or None), after, size, "slots")
        details = self._busy_times.blocked_slot_details(
            request.sub_account_id, request.user_id, [(s.calendar_id, s.href) for s in page], request.viewer_user_id
        )
        for slot in page:
            detail = details.get((slot.calendar_id, slot.href))
            if detail is None:
                continue
            slot.start_time.seconds, slot.end_time.seconds = detail.start, detail.end
            slot.recurrence_id, slot.title, slot.blocks, slot.rule = detail.recurrence_id, detail.title, detail.blocks, detail.rule
        return pb.ListBlockedSlotsResponse(blocked_slots=page, next_page_token=token)

    @rpc
    def ListSkippedResources(self, request: Any, context: Any, caller: Caller) -> pb.ListSkippedResourcesResponse:
        v = self._user(request)
        size = v.page_size("page_size", request.page_size, DEFAULT_PAGE)
        after = v.page_token("page_token", request.page_token, "skipped")
        v.raise_if_any()
        caller.require(request.sub_account_id)
        schedule = self._schedules.schedule(request.sub_account_id, request.user_id)
        page, token = offset_page(skipped_resources(schedule), after, size, "skipped")
        return pb.ListSkippedResourcesResponse(skipped_resources=page, next_page_token=token)

    # -- helpers -------------------------------------------------------------------

    def _connection(self, request: Any, caller: Caller) -> Connection:
        v = Violations.of(request)
        v.check(lambda: values.opaque_id("sub_account_id", request.sub_account_id), "")
        v.check(lambda: values.uuid_id("connection_id", request.connection_id), None)
        v.raise_if_any()
        caller.require(request.sub_account_id)
        return self._connections.get(request.sub_account_id, request.connection_id)

    @staticmethod
    def _user(request: Any) -> Violations:
        v = Violations.of(request)
        v.check(lambda: values.opaque_id("sub_account_id", request.sub_account_id), "")
        v.check(lambda: values.opaque_id("user_id", request.user_id), "")
        return v

    def _schedules_head(self) -> int:
        return self._connections.head_position()

    def _status_message(self, connection: Connection) -> pb.ConnectionSyncStatus:
        configuration = self._configurations.find(connection.sub_account_id, connection.user_id)
        return _status(self._status.status(connection, configuration))


def _status(status: ConnectionSyncStatus) -> pb.ConnectionSyncStatus:
    def when(seconds: float) -> Any:
        return timestamp(datetime.fromtimestamp(seconds, UTC)) if seconds else None

    return pb.ConnectionSyncStatus(
        connection_id=status.connection_id,
        reconnect_required=status.reconnect_required,
        next_sync_time=when(status.next_due_at),
        calendars=[
            pb.CalendarSyncStatus(
                calendar_id=c.calendar_id,
                display_name=c.display_name,
                last_success_time=when(c.health.last_success_at) if c.health else None,
                last_attempt_time=when(c.health.last_attempt_at) if c.health else None,
                consecutive_failures=c.health.consecutive_failures if c.health else 0,
                last_error=c.health.last_error if c.health else "",
                syncing=c.health.running if c.health else False,
                resources_done=c.health.done if c.health else 0,
                resources_total=c.health.total if c.health else 0,
                blocked_slot_count=c.blocked_slots,
            )
            for c in status.calendars
        ],
    )


def register(server: grpc.Server, servicer: SyncServicer) -> None:
    sync_pb2_grpc.add_SyncServiceServicer_to_server(servicer, server)
