"""Collects every bad field of a request into one INVALID_ARGUMENT.

``Violations.of(request)`` starts with the checks every request shares, whatever
its RPC: each ``google.protobuf.Timestamp`` anywhere in the request must lie in
years 1 to 9999 with nanos 0 to 999,999,999 (the range the Timestamp type itself
promises), and each ``time_zone`` must be an IANA zone name. A servicer adds the
checks of its own fields and raises them all at once.
"""

from __future__ import annotations

import base64
import binascii
import functools
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, TypeVar

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from calendar_domain import values
from calendar_domain.errors import InvalidValue, problems_of
from server.errors import invalid_argument

T = TypeVar("T")

MAX_PAGE_SIZE = 500
# google/protobuf/timestamp.proto: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z.
MIN_TIMESTAMP_SECONDS = -62_135_596_800
MAX_TIMESTAMP_SECONDS = 253_402_300_799
MAX_NANOS = 999_999_999
TIMESTAMP = "google.protobuf.Timestamp"
TIME_ZONE_FIELD = "time_zone"


class Violations:
    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []

    @classmethod
    def of(cls, request: Message) -> Violations:
        """Violations that start with the shared checks of ``request`` (timestamps
        and time zones at any depth), named by their field paths."""
        found = cls()
        for path, value in _shared_fields(request, ""):
            if isinstance(value, Message):
                found.items.extend((path, problem) for problem in timestamp_problems(path, value))
            elif value:
                found.check(lambda: values.time_zone(path, value), "")  # noqa: B023 - called at once
        return found

    def check(self, rule: Callable[[], T], default: T, prefix: str = "") -> T:
        """The rule's value, or ``default`` with every problem it found noted
        (fields named under ``prefix``, the path of the message checked)."""
        try:
            return rule()
        except InvalidValue as error:
            for problem in problems_of(error):
                self.add(f"{prefix}{problem.field}", problem.message)
            return default

    def add(self, field: str, message: str) -> None:
        if (field, message) not in self.items:
            self.items.append((field, message))

    def timestamp(self, field: str, parent: Any, *, required: bool = False) -> datetime | None:
        """The moment the Timestamp ``parent.<last part of field>`` names (UTC), or
        None when it is unset or out of range (each noted as a violation of ``field``)."""
        name = field.rpartition(".")[2]
        if not parent.HasField(name):
            if required:
                self.add(field, f"{field} is required")
            return None
        value = getattr(parent, name)
        problems = timestamp_problems(field, value)
        for problem in problems:
            self.add(field, problem)
        return None if problems else value.ToDatetime(tzinfo=UTC)

    def page_size(self, field: str, value: int, default: int) -> int:
        if value < 0:
            self.add(field, f"{field} must not be negative")
            return default
        if value > MAX_PAGE_SIZE:
            self.add(field, f"{field} must be at most {MAX_PAGE_SIZE}")
            return default
        return value or default

    def page_token(self, field: str, token: str, kind: str) -> int:
        """Page tokens are opaque to callers: base64 of "<kind>:<last key>"."""
        if not token:
            return 0
        try:
            decoded = base64.urlsafe_b64decode(token.encode()).decode()
            token_kind, _, key = decoded.partition(":")
            if token_kind == kind and key.isdigit():
                return int(key)
        except (binascii.Error, UnicodeDecodeError, ValueError):
            pass
        self.add(field, f"{field} is not a token this list returned")
        return 0

    def non_negative(self, field: str, value: int) -> int:
        if value < 0:
            self.add(field, f"{field} must not be negative")
            return 0
        return value

    def raise_if_any(self) -> None:
        if self.items:
            raise invalid_argument(self.items)


def page_token(kind: str, key: int) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{key}".encode()).decode()


def offset_page(items: list[T], after: int, size: int, kind: str) -> tuple[list[T], str]:
    """One page of an in-memory list, and the token of the next page ("" at the end)."""
    page = items[after : after + size]
    return page, page_token(kind, after + size) if after + size < len(items) else ""


def timestamp_problems(field: str, stamp: Any) -> list[str]:
    problems = []
    if not MIN_TIMESTAMP_SECONDS <= stamp.seconds <= MAX_TIMESTAMP_SECONDS:
        problems.append(f"{field} must lie between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z")
    if not 0 <= stamp.nanos <= MAX_NANOS:
        problems.append(f"{field}.nanos must be 0 to {MAX_NANOS:,}")
    return problems


def _shared_fields(message: Message, prefix: str) -> Iterator[tuple[str, Any]]:
    """(path, value) of every set Timestamp and every ``time_zone`` string in
    ``message``, through nested and repeated messages."""
    for name, kind, repeated in _plan(message.DESCRIPTOR):
        if kind == "zone":
            yield f"{prefix}{name}", getattr(message, name)
        elif repeated:
            for i, item in enumerate(getattr(message, name)):
                yield from _one(item, kind, f"{prefix}{name}[{i}]")
        elif message.HasField(name):
            yield from _one(getattr(message, name), kind, f"{prefix}{name}")


def _one(message: Message, kind: str, path: str) -> Iterator[tuple[str, Any]]:
    if kind == "timestamp":
        yield path, message
    else:
        yield from _shared_fields(message, f"{path}.")


@functools.cache
def _plan(descriptor: Descriptor) -> tuple[tuple[str, str, bool], ...]:
    """The fields of a message type that are, or may hold, what every request's
    checks look at: (name, "timestamp" | "zone" | "message", repeated). Worked out
    once per type, so a request is walked only where it matters."""
    plan = []
    for field in descriptor.fields:
        if field.type == FieldDescriptor.TYPE_STRING and field.name == TIME_ZONE_FIELD and not field.is_repeated:
            plan.append((field.name, "zone", False))
        elif field.type == FieldDescriptor.TYPE_MESSAGE and not field.message_type.GetOptions().map_entry:
            if field.message_type.full_name == TIMESTAMP:
                plan.append((field.name, "timestamp", field.is_repeated))
            elif _may_hold(field.message_type, frozenset()):
                plan.append((field.name, "message", field.is_repeated))
    return tuple(plan)


def _may_hold(descriptor: Descriptor, seen: frozenset[str]) -> bool:
    """Whether a message type holds a Timestamp or a time_zone at some depth."""
    if descriptor.full_name in seen:
        return False  # a recursive type: its other fields say
    seen = seen | {descriptor.full_name}
    for field in descriptor.fields:
        if field.type == FieldDescriptor.TYPE_STRING and field.name == TIME_ZONE_FIELD:
            return True
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            if field.message_type.full_name == TIMESTAMP or _may_hold(field.message_type, seen):
                return True
    return False
