"""CalendarConfigurationService over gRPC: parse and validate, call the domain, convert."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc

from calendar_domain import values
from calendar_domain.configuration_service import ConfigurationOutcome, ConfigurationService
from calendarintegration.v1 import configuration_pb2 as pb
from calendarintegration.v1 import configuration_pb2_grpc
from server.auth import Authenticator, Caller
from server.convert import ALL_DAY_POLICY_TO_PB, configuration
from server.handlers import ServicerBase, rpc
from server.validation import Violations

_POLICY_FROM_PB = {v: k for k, v in ALL_DAY_POLICY_TO_PB.items()}


class ConfigurationServicer(ServicerBase, configuration_pb2_grpc.CalendarConfigurationServiceServicer):
    def __init__(self, authenticator: Authenticator, configurations: ConfigurationService) -> None:
        super().__init__(authenticator)
        self._configurations = configurations

    @rpc
    def GetCalendarConfiguration(self, request: Any, context: Any, caller: Caller) -> pb.GetCalendarConfigurationResponse:
        self._user(request, caller)
        found = self._configurations.get(request.sub_account_id, request.user_id)
        return pb.GetCalendarConfigurationResponse(configuration=configuration(found))

    @rpc
    def SetPrimaryCalendar(self, request: Any, context: Any, caller: Caller) -> pb.SetPrimaryCalendarResponse:
        self._user(request, caller, _calendar_fields(request))
        outcome = self._configurations.set_primary(
            request.sub_account_id, request.user_id, request.calendar.connection_id,
            request.calendar.calendar_id, request.request_id,
        )
        return pb.SetPrimaryCalendarResponse(**_outcome(outcome))

    @rpc
    def ClearPrimaryCalendar(self, request: Any, context: Any, caller: Caller) -> pb.ClearPrimaryCalendarResponse:
        self._user(request, caller)
        outcome = self._configurations.clear_primary(request.sub_account_id, request.user_id, request.request_id)
        return pb.ClearPrimaryCalendarResponse(**_outcome(outcome))

    @rpc
    def AddConflictCalendar(self, request: Any, context: Any, caller: Caller) -> pb.AddConflictCalendarResponse:
        self._user(request, caller, _calendar_fields(request))
        outcome = self._configurations.add_conflict(
            request.sub_account_id, request.user_id, request.calendar.connection_id,
            request.calendar.calendar_id, request.request_id,
        )
        return pb.AddConflictCalendarResponse(**_outcome(outcome))

    @rpc
    def RemoveConflictCalendar(self, request: Any, context: Any, caller: Caller) -> pb.RemoveConflictCalendarResponse:
        self._user(request, caller, _calendar_fields(request))
        outcome = self._configurations.remove_conflict(
            request.sub_account_id, request.user_id, request.calendar.connection_id,
            request.calendar.calendar_id, request.request_id,
        )
        return pb.RemoveConflictCalendarResponse(**_outcome(outcome))

    @rpc
    def UpdateReadingRules(self, request: Any, context: Any, caller: Caller) -> pb.UpdateReadingRulesResponse:
        def check(v: Violations) -> None:
            if request.all_day_policy not in (pb.ALL_DAY_POLICY_UNSPECIFIED, *_POLICY_FROM_PB):
                v.add("all_day_policy", "all_day_policy is not a known policy")
            if request.time_zone:
                v.check(lambda: values.time_zone("time_zone", request.time_zone), "")

        self._user(request, caller, check)
        policy = _POLICY_FROM_PB.get(request.all_day_policy)
        outcome = self._configurations.set_reading_rules(
            request.sub_account_id, request.user_id,
            all_day_policy=policy.value if policy else "", time_zone=request.time_zone,
            request_id=request.request_id,
        )
        return pb.UpdateReadingRulesResponse(**_outcome(outcome))

    def _user(self, request: Any, caller: Caller, *more: Callable[[Violations], None]) -> None:
        v = Violations.of(request)
        for check in more:
            check(v)
        self.check_scope(request, caller, v)


def _calendar_fields(request: Any) -> Callable[[Violations], None]:
    def check(v: Violations) -> None:
        v.check(lambda: values.uuid_id("calendar.connection_id", request.calendar.connection_id), None)
        v.check(lambda: values.uuid_id("calendar.calendar_id", request.calendar.calendar_id), None)

    return check


def _outcome(outcome: ConfigurationOutcome) -> dict[str, Any]:
    return {"configuration": configuration(outcome.configuration), "position": outcome.position}


def register(server: grpc.Server, servicer: ConfigurationServicer) -> None:
    configuration_pb2_grpc.add_CalendarConfigurationServiceServicer_to_server(servicer, server)
