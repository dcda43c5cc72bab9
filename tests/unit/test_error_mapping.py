from __future__ import annotations

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from calendar_domain import errors
from calendarintegration.v1 import availability_pb2 as av
from server.errors import from_domain
from server.validation import Violations


def all_subclasses(kind: type) -> list[type]:
    found = []
    for sub in kind.__subclasses__():
        found += [sub, *all_subclasses(sub)]
    return found


def example(kind: type) -> errors.DomainError:
    if kind is errors.InvalidValues:
        return errors.InvalidValues([errors.InvalidValue("a", "a is bad"), errors.InvalidValue("b", "b is bad")])
    return kind("x", "message") if kind is errors.InvalidValue else kind("message")  # type: ignore[no-any-return]


def test_every_domain_error_maps_to_a_canonical_code_other_than_internal() -> None:
    for kind in all_subclasses(errors.DomainError):
        mapped = from_domain(example(kind))
        assert mapped.code != grpc.StatusCode.INTERNAL, kind
        assert mapped.reason == kind.reason


def test_a_bad_value_becomes_a_field_violation_with_the_one_reason_of_bad_fields() -> None:
    mapped = from_domain(errors.InvalidValue("user_id", "user_id is required"))
    assert mapped.code == grpc.StatusCode.INVALID_ARGUMENT
    assert mapped.reason == "INVALID_ARGUMENT"
    assert mapped.violations == [("user_id", "user_id is required")]
    assert mapped.metadata == {"fields": "user_id"}


def test_several_bad_values_become_one_answer_naming_each() -> None:
    mapped = from_domain(example(errors.InvalidValues))
    assert mapped.code == grpc.StatusCode.INVALID_ARGUMENT
    assert mapped.violations == [("a", "a is bad"), ("b", "b is bad")]
    assert mapped.metadata == {"fields": "a, b"}


def test_the_shared_checks_find_timestamps_and_time_zones_at_any_depth_and_only_there() -> None:
    far = Timestamp(seconds=2**40)
    team = av.QueryTeamAvailabilityRequest(window=av.TimeWindow(start_time=far, end_time=Timestamp(nanos=-1)))
    assert [f for f, _ in Violations.of(team).items] == ["window.start_time", "window.end_time"]
    hours = av.SetWorkingHoursRequest(time_zone="Mars/Olympus_Mons", user_id="x" * 500)
    assert [f for f, _ in Violations.of(hours).items] == ["time_zone"]
    sound = av.SetWorkingHoursRequest(time_zone="Europe/Berlin")
    assert Violations.of(sound).items == []
