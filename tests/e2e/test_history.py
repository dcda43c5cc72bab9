"""The history through gRPC: the log in pages, one aggregate's events, past states,
tenant scoping and secrets. Streams are in test_history_stream.py."""

from __future__ import annotations

import contextlib
import json
import uuid
from dataclasses import replace

import grpc

from adapters.persistence.follower import ProjectionFollower
from calendar_domain.connection_projection import ConnectionsProjection
from server.bootstrap import build_connection_view

from calendarintegration.v1 import configuration_pb2 as cfg
from calendarintegration.v1 import connection_pb2 as pb
from calendarintegration.v1 import history_pb2 as hi
from calendarintegration.v1 import sync_pb2 as sy
from tests.e2e.test_sync_api import connect_and_block
from tests.integration.test_sync import event
from tests.support.grpc_service import TENANT_TOKEN, Service, auth, failure
from tests.support.stores import postgres_schema


def all_events(service: Service, token: str | None = None, **request: object) -> list[hi.Event]:
    """Every event ListEvents gives, following page tokens."""
    found: list[hi.Event] = []
    page = service.history.ListEvents(hi.ListEventsRequest(**request), metadata=auth(token) if token else auth())
    found += page.events
    while page.next_page_token:
        page = service.history.ListEvents(
            hi.ListEventsRequest(**{**request, "page_token": page.next_page_token}),
            metadata=auth(token) if token else auth(),
        )
        found += page.events
    return found


def set_time_zone(service: Service, sub: str, zone: str, user: str = "u1") -> int:
    answer = service.configurations.UpdateReadingRules(
        cfg.UpdateReadingRulesRequest(sub_account_id=sub, user_id=user, time_zone=zone), metadata=auth()
    )
    return answer.position


def test_the_log_lists_every_event_in_order_with_typed_and_json_payloads(service: Service, account) -> None:
    apple_id, password = account
    connection_id, calendar_id = connect_and_block(service, account, "loc-1")
    set_time_zone(service, "loc-1", "Europe/Berlin")
    gone = service.connections.Disconnect(
        pb.DisconnectRequest(sub_account_id="loc-1", connection_id=connection_id), metadata=auth()
    )

    events = all_events(service, page_size=2)
    positions = [e.position for e in events]
    assert positions == sorted(set(positions)) and positions[-1] == gone.position
    types = [e.event_type for e in events]
    assert types[:3] == ["Connection.Connected", "Connection.CalendarsDiscovered", "AccountLink.Linked"]
    assert types.index("CalendarConfiguration.ConflictAdded") < types.index("CalendarConfiguration.TimeZoneSet")
    assert types[-1] in ("Connection.Disconnected", "AccountLink.Unlinked", "CalendarConfiguration.ConflictRemoved")
    assert "Connection.Disconnected" in types

    connected = events[0]
    assert connected.aggregate_id == connection_id and connected.aggregate_version == 1
    assert connected.aggregate_type == hi.AGGREGATE_TYPE_CONNECTION and connected.sub_account_id == "loc-1"
    assert connected.WhichOneof("payload") == "connection_connected"
    assert connected.connection_connected.apple_id == apple_id
    assert json.loads(connected.payload_json)["apple_id"] == apple_id
    assert connected.event_time.seconds > 0

    added = next(e for e in events if e.event_type == "CalendarConfiguration.ConflictAdded")
    assert added.calendar_configuration_conflict_added.calendar_id == calendar_id
    zone = next(e for e in events if e.event_type == "CalendarConfiguration.TimeZoneSet")
    assert zone.calendar_configuration_time_zone_set.time_zone == "Europe/Berlin"
    for e in events:
        assert e.WhichOneof("payload"), f"{e.event_type} has a typed payload"
        assert set(json.loads(e.payload_json)).isdisjoint({"credential_ref", "replaced_credential_ref", "destroyed_credential_ref"})
        assert password not in e.payload_json and password not in str(e)

    later = service.history.ListEvents(hi.ListEventsRequest(after_position=gone.position), metadata=auth())
    assert list(later.events) == [] and later.next_page_token == ""
    assert later.position == later.head_position == gone.position


def test_the_log_filters_by_aggregate_type_and_sub_account(service: Service) -> None:
    set_time_zone(service, "loc-1", "Europe/Paris")
    set_time_zone(service, "loc-2", "Europe/Rome")
    set_time_zone(service, "loc-1", "Asia/Tokyo", user="u2")

    only_loc_2 = all_events(service, sub_account_id="loc-2")
    assert [(e.sub_account_id, e.event_type) for e in only_loc_2] == [
        ("loc-2", "CalendarConfiguration.Started"),
        ("loc-2", "CalendarConfiguration.TimeZoneSet"),
    ]
    configurations = all_events(service, aggregate_types=[hi.AGGREGATE_TYPE_CALENDAR_CONFIGURATION], page_size=1)
    assert len(configurations) == 6
    assert all(e.aggregate_type == hi.AGGREGATE_TYPE_CALENDAR_CONFIGURATION for e in configurations)
    connections = service.history.ListEvents(
        hi.ListEventsRequest(aggregate_types=[hi.AGGREGATE_TYPE_CONNECTION]), metadata=auth()
    )
    assert list(connections.events) == [] and connections.next_page_token == ""


def test_a_tenant_sees_only_its_own_sub_accounts(service: Service) -> None:
    set_time_zone(service, "loc-1", "Europe/Paris")
    set_time_zone(service, "loc-9", "Europe/Rome")  # the tenant's token does not reach loc-9

    seen = all_events(service, TENANT_TOKEN)
    assert {e.sub_account_id for e in seen} == {"loc-1"} and len(seen) == 2
    denied = failure(service.history.ListEvents, hi.ListEventsRequest(sub_account_id="loc-9"), TENANT_TOKEN)
    assert denied.code == grpc.StatusCode.PERMISSION_DENIED

    other = next(e for e in all_events(service) if e.sub_account_id == "loc-9")
    for sub in ("loc-1", "loc-2"):
        for call, request in [
            (service.history.ListAggregateEvents, hi.ListAggregateEventsRequest(sub_account_id=sub, aggregate_id=other.aggregate_id)),
            (service.history.GetAggregateState, hi.GetAggregateStateRequest(sub_account_id=sub, aggregate_id=other.aggregate_id)),
        ]:
            hidden = failure(call, request, TENANT_TOKEN)
            assert hidden.code == grpc.StatusCode.NOT_FOUND, hidden
            # The same answer as for an id that never existed: nothing leaks.
            assert "loc-9" not in hidden.message


def test_one_aggregates_history_has_its_versions_and_times(service: Service) -> None:
    for zone in ("Europe/Paris", "Europe/Rome", "Asia/Tokyo"):
        set_time_zone(service, "loc-1", zone)
    first = service.history.ListAggregateEvents(
        hi.ListAggregateEventsRequest(
            sub_account_id="loc-1", user_id="u1", aggregate_type=hi.AGGREGATE_TYPE_CALENDAR_CONFIGURATION, page_size=3
        ),
        metadata=auth(),
    )
    rest = service.history.ListAggregateEvents(
        hi.ListAggregateEventsRequest(
            sub_account_id="loc-1", aggregate_id=first.events[0].aggregate_id, page_token=first.next_page_token
        ),
        metadata=auth(),
    )
    events = [*first.events, *rest.events]
    assert [e.aggregate_version for e in events] == [1, 2, 3, 4] and rest.next_page_token == ""
    assert [e.calendar_configuration_time_zone_set.time_zone for e in events[1:]] == ["Europe/Paris", "Europe/Rome", "Asia/Tokyo"]
    times = [e.event_time.ToDatetime() for e in events]
    assert times == sorted(times)
    wrong_type = failure(
        service.history.ListAggregateEvents,
        hi.ListAggregateEventsRequest(
            sub_account_id="loc-1", aggregate_id=events[0].aggregate_id, aggregate_type=hi.AGGREGATE_TYPE_USER_SCHEDULE
        ),
    )
    assert wrong_type.code == grpc.StatusCode.NOT_FOUND


def test_a_configuration_as_of_a_version_and_a_time(service: Service) -> None:
    for zone in ("Europe/Paris", "Europe/Rome", "Asia/Tokyo"):
        set_time_zone(service, "loc-1", zone)
    events = all_events(service, sub_account_id="loc-1")

    def state(**as_of: object) -> hi.GetAggregateStateResponse:
        return service.history.GetAggregateState(
            hi.GetAggregateStateRequest(
                sub_account_id="loc-1", user_id="u1", aggregate_type=hi.AGGREGATE_TYPE_CALENDAR_CONFIGURATION, **as_of
            ),
            metadata=auth(),
        )

    assert state(version=1).calendar_configuration.time_zone == "UTC"
    assert state(version=3).calendar_configuration.time_zone == "Europe/Rome"
    assert state().calendar_configuration.time_zone == "Asia/Tokyo" and state().version == 4
    at_second = state(time=events[2].event_time)
    assert at_second.version == 3 and at_second.calendar_configuration.time_zone == "Europe/Rome"
    assert at_second.update_time == events[2].event_time
    missing = failure(
        service.history.GetAggregateState,
        hi.GetAggregateStateRequest(sub_account_id="loc-1", aggregate_id=events[0].aggregate_id, version=5),
    )
    assert missing.code == grpc.StatusCode.NOT_FOUND
    before = events[0].event_time
    before.seconds -= 3600
    too_early = failure(
        service.history.GetAggregateState,
        hi.GetAggregateStateRequest(sub_account_id="loc-1", aggregate_id=events[0].aggregate_id, time=before),
    )
    assert too_early.code == grpc.StatusCode.NOT_FOUND


def test_a_connection_and_a_schedule_as_they_were_before_changes(service: Service, account, radicale) -> None:
    username, password = account
    home_path = f"{radicale.home_path(username)}home/"
    radicale.put_ics(username, password, f"{home_path}a.ics", event("uid-a"))
    radicale.put_ics(username, password, f"{home_path}b.ics", event("uid-b", hour=11))
    connection_id, calendar_id = connect_and_block(service, account, "loc-1")
    synced = service.sync.SyncNow(sy.SyncNowRequest(sub_account_id="loc-1", connection_id=connection_id), metadata=auth())
    radicale.delete(username, password, f"{home_path}a.ics")
    service.sync.SyncNow(sy.SyncNowRequest(sub_account_id="loc-1", connection_id=connection_id), metadata=auth())
    service.connections.Disconnect(pb.DisconnectRequest(sub_account_id="loc-1", connection_id=connection_id), metadata=auth())

    def schedule(**as_of: object) -> hi.UserScheduleState:
        return service.history.GetAggregateState(
            hi.GetAggregateStateRequest(
                sub_account_id="loc-1", user_id="u1", aggregate_type=hi.AGGREGATE_TYPE_USER_SCHEDULE, **as_of
            ),
            metadata=auth(),
        ).user_schedule

    [after_first_sync] = [e for e in all_events(service, sub_account_id="loc-1") if e.position == synced.position]
    then = schedule(version=after_first_sync.aggregate_version)
    assert sorted(s.uid for s in then.blocked_slots) == ["uid-a", "uid-b"]
    assert [(c.connection_id, c.calendar_id) for c in then.synced_calendars] == [(connection_id, calendar_id)]
    assert schedule(time=after_first_sync.event_time).blocked_slots == then.blocked_slots
    assert schedule().blocked_slots == []  # released when the connection went

    def connection(**as_of: object) -> hi.GetAggregateStateResponse:
        return service.history.GetAggregateState(
            hi.GetAggregateStateRequest(sub_account_id="loc-1", aggregate_id=connection_id, **as_of), metadata=auth()
        )

    first = connection(version=1)
    assert first.aggregate_type == hi.AGGREGATE_TYPE_CONNECTION
    assert first.connection.connection.status == pb.CONNECTION_STATUS_ACTIVE
    assert first.connection.connection.apple_id == username
    assert [c.display_name for c in connection(version=2).connection.calendars] == ["Home", "Work"]
    now = connection()
    assert now.connection.connection.status == pb.CONNECTION_STATUS_DISCONNECTED
    assert password not in str(first) + str(now)
    link = next(e for e in all_events(service) if e.event_type == "AccountLink.Linked")
    no_state = failure(
        service.history.GetAggregateState, hi.GetAggregateStateRequest(sub_account_id="loc-1", aggregate_id=link.aggregate_id)
    )
    assert no_state.code == grpc.StatusCode.INVALID_ARGUMENT and set(no_state.violations) == {"aggregate_id"}


def test_the_connections_read_model_rebuilt_from_the_log_equals_the_live_one(service: Service, account, tmp_path) -> None:
    first, _ = connect_and_block(service, account, "loc-1")
    connect_and_block(service, account, "loc-2")
    service.connections.RefreshCalendars(pb.RefreshCalendarsRequest(sub_account_id="loc-1", connection_id=first), metadata=auth())
    gone = service.connections.Disconnect(pb.DisconnectRequest(sub_account_id="loc-1", connection_id=first), metadata=auth())
    container = service.container
    assert container.follower.wait_for(gone.position, 30)

    settings = container.settings
    with contextlib.ExitStack() as stack:
        if settings.event_store == "postgres":
            settings = replace(settings, postgres_schema=stack.enter_context(postgres_schema()))
        else:
            settings = replace(settings, data_dir=tmp_path / "rebuilt")
        rebuilt = build_connection_view(settings)
        ProjectionFollower(container.app, ConnectionsProjection(rebuilt)).catch_up()
        live = container.connection_view
        for sub in ("loc-1", "loc-2"):
            records = live.list_connections(sub, "", True, 0, 100)
            assert records and rebuilt.list_connections(sub, "", True, 0, 100) == records
            for record in records:
                calendars = live.list_calendars(record.connection_id, 0, 100)
                assert rebuilt.list_calendars(record.connection_id, 0, 100) == calendars


def test_no_password_or_vault_reference_reaches_any_history_answer(service: Service, account) -> None:
    apple_id, password = account
    connection_id, _ = connect_and_block(service, account, "loc-1")
    service.connections.ReplaceCredentials(
        pb.ReplaceCredentialsRequest(sub_account_id="loc-1", connection_id=connection_id, app_password=password),
        metadata=auth(),
    )
    service.connections.Disconnect(pb.DisconnectRequest(sub_account_id="loc-1", connection_id=connection_id), metadata=auth())
    app = service.container.app
    refs = {app.repository.get(uuid.UUID(connection_id), version=v).credential_ref for v in (1, 3)}
    assert all(refs) and len(refs) == 2

    answers: list[bytes] = [e.SerializeToString() for e in all_events(service)]
    for version in range(1, 5):
        state = service.history.GetAggregateState(
            hi.GetAggregateStateRequest(sub_account_id="loc-1", aggregate_id=connection_id, version=version), metadata=auth()
        )
        answers.append(state.SerializeToString())
    history = service.history.ListAggregateEvents(
        hi.ListAggregateEventsRequest(sub_account_id="loc-1", aggregate_id=connection_id), metadata=auth()
    )
    answers.append(history.SerializeToString())
    stream = service.history.StreamEvents(hi.StreamEventsRequest(), metadata=auth(), timeout=30)
    for message in stream:
        answers.append(message.SerializeToString())
        if message.caught_up:
            stream.cancel()
            break
    everything = b"\n".join(answers)
    assert apple_id.encode() in everything  # the answers are there to be searched
    for secret in (password, *refs):
        assert secret.encode() not in everything
