from __future__ import annotations

import grpc

from calendar_domain import errors
from server.errors import from_domain


def all_subclasses(kind: type) -> list[type]:
    found = []
    for sub in kind.__subclasses__():
        found += [sub, *all_subclasses(sub)]
    return found


def test_every_domain_error_maps_to_a_canonical_code_other_than_internal() -> None:
    for kind in all_subclasses(errors.DomainError):
        error = kind("x", "message") if kind is errors.InvalidValue else kind("message")
        mapped = from_domain(error)
        assert mapped.code != grpc.StatusCode.INTERNAL, kind
        assert mapped.reason == kind.reason


def test_a_bad_value_becomes_a_field_violation() -> None:
    mapped = from_domain(errors.InvalidValue("user_id", "user_id is required"))
    assert mapped.code == grpc.StatusCode.INVALID_ARGUMENT
    assert mapped.violations == [("user_id", "user_id is required")]
