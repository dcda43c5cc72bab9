"""Calendar configuration through gRPC, over calendars discovered on Radicale."""

from __future__ import annotations

import grpc

from calendarintegration.v1 import configuration_pb2 as cfg
from calendarintegration.v1 import connection_pb2 as pb
from tests.support.grpc_service import Service, auth, failure


def connected(service: Service, account: tuple[str, str], user: str = "u1") -> tuple[str, dict[str, str]]:
    answer = service.connections.ConnectAccount(
        pb.ConnectAccountRequest(sub_account_id="loc-1", user_id=user, apple_id=account[0], app_password=account[1]),
        metadata=auth(),
    )
    return answer.connection.connection_id, {c.display_name: c.calendar_id for c in answer.calendars}


def ref(connection_id: str, calendar_id: str) -> cfg.CalendarRef:
    return cfg.CalendarRef(connection_id=connection_id, calendar_id=calendar_id)


def test_a_user_sets_a_primary_and_a_conflict_and_reads_them_back(service: Service, account) -> None:
    connection_id, calendars = connected(service, account)
    empty = service.configurations.GetCalendarConfiguration(
        cfg.GetCalendarConfigurationRequest(sub_account_id="loc-1", user_id="u1"), metadata=auth()
    ).configuration
    assert empty.version == 0 and not empty.HasField("primary_calendar")
    assert empty.all_day_policy == cfg.ALL_DAY_POLICY_FOLLOW_TRANSP and empty.time_zone == "UTC"
    home, work = ref(connection_id, calendars["Home"]), ref(connection_id, calendars["Work"])
    service.configurations.SetPrimaryCalendar(
        cfg.SetPrimaryCalendarRequest(sub_account_id="loc-1", user_id="u1", calendar=home), metadata=auth()
    )
    added = service.configurations.AddConflictCalendar(
        cfg.AddConflictCalendarRequest(sub_account_id="loc-1", user_id="u1", calendar=work), metadata=auth()
    )
    again = service.configurations.AddConflictCalendar(
        cfg.AddConflictCalendarRequest(sub_account_id="loc-1", user_id="u1", calendar=work), metadata=auth()
    )
    assert again.configuration.version == added.configuration.version
    configuration = service.configurations.GetCalendarConfiguration(
        cfg.GetCalendarConfigurationRequest(sub_account_id="loc-1", user_id="u1"), metadata=auth()
    ).configuration
    assert configuration.primary_calendar == home
    assert list(configuration.conflict_calendars) == [work]
    assert sorted(configuration.blocking_calendars, key=lambda r: r.calendar_id) == sorted(
        [home, work], key=lambda r: r.calendar_id
    )


def test_disconnecting_empties_the_configuration(service: Service, account) -> None:
    connection_id, calendars = connected(service, account)
    home = ref(connection_id, calendars["Home"])
    service.configurations.SetPrimaryCalendar(
        cfg.SetPrimaryCalendarRequest(sub_account_id="loc-1", user_id="u1", calendar=home), metadata=auth()
    )
    service.connections.Disconnect(
        pb.DisconnectRequest(sub_account_id="loc-1", connection_id=connection_id), metadata=auth()
    )
    configuration = service.configurations.GetCalendarConfiguration(
        cfg.GetCalendarConfigurationRequest(sub_account_id="loc-1", user_id="u1"), metadata=auth()
    ).configuration
    assert not configuration.HasField("primary_calendar") and list(configuration.blocking_calendars) == []


def test_another_users_calendar_is_not_found_and_a_read_only_one_cannot_be_primary(
    service: Service, account, radicale
) -> None:
    radicale.create_read_only_calendar(*account, "shared", "Shared")
    connection_id, calendars = connected(service, account)
    error = failure(
        service.configurations.AddConflictCalendar,
        cfg.AddConflictCalendarRequest(
            sub_account_id="loc-1", user_id="u2", calendar=ref(connection_id, calendars["Home"])
        ),
    )
    assert error.code == grpc.StatusCode.NOT_FOUND
    error = failure(
        service.configurations.SetPrimaryCalendar,
        cfg.SetPrimaryCalendarRequest(
            sub_account_id="loc-1", user_id="u1", calendar=ref(connection_id, calendars["Shared"])
        ),
    )
    assert error.code == grpc.StatusCode.FAILED_PRECONDITION and error.reason == "CALENDAR_NOT_WRITABLE"


def test_reading_rules_are_validated_and_kept(service: Service) -> None:
    updated = service.configurations.UpdateReadingRules(
        cfg.UpdateReadingRulesRequest(
            sub_account_id="loc-1", user_id="u1", all_day_policy=cfg.ALL_DAY_POLICY_ALWAYS_BUSY,
            time_zone="America/New_York",
        ),
        metadata=auth(),
    ).configuration
    assert (updated.all_day_policy, updated.time_zone) == (cfg.ALL_DAY_POLICY_ALWAYS_BUSY, "America/New_York")
    error = failure(
        service.configurations.UpdateReadingRules,
        cfg.UpdateReadingRulesRequest(sub_account_id="loc-1", user_id="u1", time_zone="Mars/Base", all_day_policy=9),
    )
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert set(error.violations) == {"time_zone", "all_day_policy"}
