"""Sync through gRPC: SyncNow, status, blocked slots and skipped resources."""

from __future__ import annotations

import grpc

from calendarintegration.v1 import configuration_pb2 as cfg
from calendarintegration.v1 import connection_pb2 as pb
from calendarintegration.v1 import sync_pb2 as sy
from tests.integration.test_sync import event
from tests.support.grpc_service import Service, auth, failure


def connect_and_block(service: Service, account: tuple[str, str], sub: str) -> tuple[str, str]:
    answer = service.connections.ConnectAccount(
        pb.ConnectAccountRequest(sub_account_id=sub, user_id="u1", apple_id=account[0], app_password=account[1]),
        metadata=auth(),
    )
    home = next(c for c in answer.calendars if c.display_name == "Home")
    service.configurations.AddConflictCalendar(
        cfg.AddConflictCalendarRequest(
            sub_account_id=sub, user_id="u1",
            calendar=cfg.CalendarRef(connection_id=home.connection_id, calendar_id=home.calendar_id),
        ),
        metadata=auth(),
    )
    return answer.connection.connection_id, home.calendar_id


def test_sync_now_imports_the_events_and_reports_health(service: Service, account, radicale) -> None:
    username, password = account
    home_path = f"{radicale.home_path(username)}home/"
    radicale.put_ics(username, password, f"{home_path}a.ics", event("uid-a"))
    radicale.put_ics(username, password, f"{home_path}b.ics", event("uid-b", hour=11))
    radicale.put_ics(username, password, f"{home_path}bad.ics", event("uid-bad").replace(
        "DTSTART:20260302T090000Z", "DTSTART;TZID=Mars/Olympus:20260302T090000"))
    connection_id, calendar_id = connect_and_block(service, account, "loc-1")

    synced = service.sync.SyncNow(sy.SyncNowRequest(sub_account_id="loc-1", connection_id=connection_id), metadata=auth())
    assert synced.calendars_synced == 1 and synced.calendars_failed == 0
    [status] = synced.status.calendars
    assert status.calendar_id == calendar_id and status.display_name == "Home"
    assert status.blocked_slot_count == 2 and status.consecutive_failures == 0
    assert status.HasField("last_success_time") and not status.syncing
    assert status.resources_done == status.resources_total == 3

    slots = service.sync.ListBlockedSlots(sy.ListBlockedSlotsRequest(sub_account_id="loc-1", user_id="u1", page_size=1), metadata=auth())
    rest = service.sync.ListBlockedSlots(
        sy.ListBlockedSlotsRequest(sub_account_id="loc-1", user_id="u1", page_token=slots.next_page_token), metadata=auth()
    )
    assert sorted(s.uid for s in [*slots.blocked_slots, *rest.blocked_slots]) == ["uid-a", "uid-b"]
    assert not rest.next_page_token
    skipped = service.sync.ListSkippedResources(sy.ListSkippedResourcesRequest(sub_account_id="loc-1", user_id="u1"), metadata=auth())
    [bad] = skipped.skipped_resources
    assert bad.href.endswith("bad.ics") and bad.reason and bad.etag


def test_one_account_in_two_sub_accounts_reaches_both_schedules(service: Service, account, radicale) -> None:
    username, password = account
    home_path = f"{radicale.home_path(username)}home/"
    radicale.put_ics(username, password, f"{home_path}a.ics", event("uid-a"))
    first, _ = connect_and_block(service, account, "loc-1")
    connect_and_block(service, account, "loc-2")
    service.sync.SyncNow(sy.SyncNowRequest(sub_account_id="loc-1", connection_id=first), metadata=auth())
    for sub in ("loc-1", "loc-2"):
        slots = service.sync.ListBlockedSlots(sy.ListBlockedSlotsRequest(sub_account_id=sub, user_id="u1"), metadata=auth())
        assert [s.uid for s in slots.blocked_slots] == ["uid-a"], sub


def test_sync_calls_check_their_input_and_tenancy(service: Service, account) -> None:
    connection_id, _ = connect_and_block(service, account, "loc-1")
    error = failure(service.sync.SyncNow, sy.SyncNowRequest(sub_account_id="loc-2", connection_id=connection_id))
    assert error.code == grpc.StatusCode.NOT_FOUND
    error = failure(service.sync.GetSyncStatus, sy.GetSyncStatusRequest(sub_account_id="loc-1", connection_id="nope"))
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT and set(error.violations) == {"connection_id"}
    error = failure(service.sync.ListBlockedSlots, sy.ListBlockedSlotsRequest(user_id="u1", calendar_id="x", page_size=-1))
    assert set(error.violations) == {"sub_account_id", "calendar_id", "page_size"}
    error = failure(service.sync.ListSkippedResources, sy.ListSkippedResourcesRequest(sub_account_id="loc-1", user_id="u1", page_token="zz"))
    assert set(error.violations) == {"page_token"}
