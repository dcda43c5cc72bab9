"""Every RPC of every service, fuzzed: well-formed protobuf full of hostile values
(extreme timestamps, huge and odd unicode strings, negative and huge numbers,
unknown enum values, empty and long repeated fields), sent with a valid tenant
token to a real server on port 0 over SQLite, with Radicale as iCloud behind it.
No answer may be INTERNAL or UNKNOWN, and the server serves afterwards.

The RPCs come from the service descriptors of every module in
``calendarintegration.v1``, so an RPC added to any service is fuzzed too.
"""

from __future__ import annotations

import importlib
import pkgutil
import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf.descriptor import Descriptor, FieldDescriptor, MethodDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import calendarintegration.v1
from calendarintegration.v1 import configuration_pb2 as cfg
from calendarintegration.v1 import connection_pb2 as pb
from tests.support.caldav_servers import RadicaleServer
from tests.support.fixtures import new_account
from tests.support.grpc_service import TENANT_TOKEN, Service, auth, running_service
from tests.support.stores import settings_for

SUB = "loc-1"  # a sub-account the tenant token reaches
USER = "u1"
NEVER_AN_ANSWER = {grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN}
# A stream with nothing new to send waits; its first answer (or the deadline) is enough.
STREAM_WAIT = 1.0
CALL_TIMEOUT = 30.0

INT_LIMITS = {
    FieldDescriptor.TYPE_INT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SINT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_INT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SINT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_UINT32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_FIXED32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_UINT64: (0, 2**64 - 1),
    FieldDescriptor.TYPE_FIXED64: (0, 2**64 - 1),
}
HOSTILE_TEXT = [
    "",
    " ",
    "x" * 300,
    "ü" * 5000,
    "\x00",
    "a\x00b",
    "../../etc/passwd",
    "\u202egnp.exe",
    "😀" * 70,
    "'; DROP TABLE events; --",
    "%s%n{0}",
    "Europe/Berlin",
    "Nowhere/City",
    "UTC",
    "2026-13-45",
    "2026-03-29",
    "ann@example.com",
    "abcd-efgh-ijkl-mnop",
    str(uuid.UUID(int=0)),
    "Y29ubmVjdGlvbnM6Mw==",  # a page token of another list
    "x" * 100_000,
]
TIMESTAMP_SECONDS = [
    -(2**63), -62_135_596_801, -62_135_596_800, -1, 0, 1_800_000_000, 253_402_300_799, 253_402_300_800, 2**63 - 1,
]
_TODAY = datetime.now(UTC).replace(hour=9, minute=0, second=0, microsecond=0) + timedelta(days=7)
MONDAY_NINE = int((_TODAY - timedelta(days=_TODAY.weekday())).timestamp())
TIMESTAMP_NANOS = [-(2**31), -1, 0, 999_999_999, 1_000_000_000, 2**31 - 1]


def all_methods() -> list[MethodDescriptor]:
    found = []
    for module in pkgutil.iter_modules(calendarintegration.v1.__path__):
        if module.name.endswith("_pb2"):
            loaded = importlib.import_module(f"calendarintegration.v1.{module.name}")
            for service in loaded.DESCRIPTOR.services_by_name.values():
                found.extend(service.methods)
    return sorted(found, key=lambda m: m.full_name)


METHODS = all_methods()


class Known:
    """Ids that exist in the store, so that some fuzzed requests get past "not found"."""

    connection_id = ""
    calendar_id = ""


SOUND_TEXT = {
    "sub_account_id": [SUB, SUB, "loc-2"],
    "user_id": [USER, "u2"],
    "user_ids": [USER, "u2"],
    "viewer_user_id": [USER],
    "time_zone": ["Europe/Berlin", "America/New_York"],
    "email": ["ann@example.com"],
    "date": ["2026-03-29"],
    # feeds the production setting refuses before any request (loopback, private,
    # mapped, no such name): nothing leaves the machine
    "url": [
        "https://127.0.0.1:9/feed.ics", "webcal://localhost/h.ics", "http://[::1]:9/h.ics",
        "https://feeds.example.invalid/h.ics", "http://10.0.0.1/x.ics", "https://[::ffff:127.0.0.1]/x",
        "WEBCALS://LOCALHOST:0/", "https://user:pw@127.0.0.1/x#frag",
    ],
    "display_name": ["Holidays", ""],
}


def sound_text(field: FieldDescriptor) -> st.SearchStrategy[str]:
    if field.name in ("connection_id", "calendar_id", "icloud_connection_id", "icloud_calendar_id"):
        return st.builds(lambda: getattr(Known, field.name.removeprefix("icloud_")))
    return st.sampled_from(SOUND_TEXT.get(field.name, ["", "Consultation", str(uuid.uuid4())]))


def hostile_text() -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(HOSTILE_TEXT), st.text(max_size=40))


def timestamp() -> st.SearchStrategy[dict[str, int]]:
    # Half-hours around a coming Monday, so that some windows and bookings are sound
    # and reach the domain; and the edges of the Timestamp range and beyond.
    soon = st.integers(-96, 96).map(lambda half_hours: MONDAY_NINE + half_hours * 1800)
    hostile = st.one_of(st.sampled_from(TIMESTAMP_SECONDS), st.integers(-(2**40), 2**40))
    nanos = st.one_of(st.just(0), st.just(0), st.sampled_from(TIMESTAMP_NANOS))
    return st.fixed_dictionaries({"seconds": st.one_of(soon, soon, hostile), "nanos": nanos})


def scalar(field: FieldDescriptor) -> st.SearchStrategy[Any]:
    """Mostly a sound value, so that each request tries a few hostile ones at a time."""
    if field.type == FieldDescriptor.TYPE_STRING:
        return st.one_of(sound_text(field), sound_text(field), hostile_text())
    if field.type == FieldDescriptor.TYPE_BYTES:
        return st.binary(max_size=64)
    if field.type == FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if field.type == FieldDescriptor.TYPE_ENUM:
        # proto3 enums are open: a number the server does not know still arrives.
        known = st.sampled_from([v.number for v in field.enum_type.values])
        return st.one_of(known, known, st.sampled_from([-1, 99, 2**31 - 1]))
    if field.type in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return st.floats(allow_nan=True, allow_infinity=True, width=32)
    low, high = INT_LIMITS[field.type]
    sound = st.sampled_from([0, 1, 5, 30, 60, 120])
    return st.one_of(sound, sound, st.sampled_from([low, -1, 500, 501, 100_000, high]), st.integers(low, high))


def message(descriptor: Descriptor, depth: int = 0) -> st.SearchStrategy[dict[str, Any]]:
    """A dict of field values for ``descriptor`` (None: the field is left unset)."""
    if descriptor.full_name == "google.protobuf.Timestamp":
        return timestamp()
    if depth > 3:
        return st.just({})
    fields: dict[str, st.SearchStrategy[Any]] = {}
    for field in descriptor.fields:
        one = message(field.message_type, depth + 1) if field.type == FieldDescriptor.TYPE_MESSAGE else scalar(field)
        if field.is_repeated:
            short = st.lists(one, max_size=3)
            long = one.map(lambda item: [item] * 200)  # the same item many times
            fields[field.name] = st.one_of(short, short, long)
        else:
            fields[field.name] = one
    # A field is left unset now and then (None); mostly it is there.
    return st.fixed_dictionaries({name: st.one_of(value, value, value, st.none()) for name, value in fields.items()})


def build(descriptor: Descriptor, values: dict[str, Any]) -> Message:
    made: Message = GetMessageClass(descriptor)()
    fill(made, values)
    return made


def fill(target: Message, values: dict[str, Any]) -> None:
    for name, value in values.items():
        if value is None:
            continue
        field = target.DESCRIPTOR.fields_by_name[name]
        if field.type != FieldDescriptor.TYPE_MESSAGE:
            if field.is_repeated:
                getattr(target, name).extend(value)
            else:
                setattr(target, name, value)
        elif field.is_repeated:
            for item in value:
                fill(getattr(target, name).add(), item)
        else:
            getattr(target, name).SetInParent()
            fill(getattr(target, name), value)


def call(service: Service, method: MethodDescriptor, request: Message) -> grpc.StatusCode:
    path = f"/{method.containing_service.full_name}/{method.name}"
    reply = GetMessageClass(method.output_type)
    metadata = auth(TENANT_TOKEN)
    try:
        if method.server_streaming:
            stream = service.channel.unary_stream(
                path, request_serializer=type(request).SerializeToString, response_deserializer=reply.FromString
            )(request, metadata=metadata, timeout=STREAM_WAIT)
            next(stream, None)
            stream.cancel()
        else:
            service.channel.unary_unary(
                path, request_serializer=type(request).SerializeToString, response_deserializer=reply.FromString
            )(request, metadata=metadata, timeout=CALL_TIMEOUT)
    except grpc.RpcError as error:
        return error.code()  # type: ignore[no-any-return]
    return grpc.StatusCode.OK


@pytest.fixture(scope="module")
def fuzzed_service(tmp_path_factory: pytest.TempPathFactory, radicale: RadicaleServer) -> Iterator[Service]:
    """One server for the module, with one account connected and its Home calendar primary."""
    data = tmp_path_factory.mktemp("fuzz") / "data"
    with settings_for("sqlite", Path(data), caldav_url=radicale.base_url, caldav_timeout=10) as settings:
        with running_service(settings) as service:
            username, password = new_account(radicale)
            radicale.create_calendar(username, password, "home", "Home")
            answer = service.connections.ConnectAccount(
                pb.ConnectAccountRequest(sub_account_id=SUB, user_id=USER, apple_id=username, app_password=password),
                metadata=auth(TENANT_TOKEN),
            )
            home = answer.calendars[0]
            Known.connection_id, Known.calendar_id = home.connection_id, home.calendar_id
            service.configurations.SetPrimaryCalendar(
                cfg.SetPrimaryCalendarRequest(
                    sub_account_id=SUB, user_id=USER,
                    calendar=cfg.CalendarRef(connection_id=home.connection_id, calendar_id=home.calendar_id),
                ),
                metadata=auth(TENANT_TOKEN),
            )
            yield service


@pytest.mark.parametrize("method", METHODS, ids=[m.full_name.rsplit(".", 2)[-1] for m in METHODS])
def test_no_hostile_request_gets_internal_or_unknown(
    fuzzed_service: Service, method: MethodDescriptor, caplog: pytest.LogCaptureFixture
) -> None:
    @settings(
        max_examples=30,
        deadline=None,  # timings belong in bench/; the bound is max_examples
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
    )
    @given(values=message(method.input_type))
    def fuzz(values: dict[str, Any]) -> None:
        request = build(method.input_type, values)
        code = call(fuzzed_service, method, request)
        assert code not in NEVER_AN_ANSWER, (method.full_name, code, request)

    with caplog.at_level(logging.WARNING, logger="server"):
        fuzz()
    assert fuzzed_service.serving()
    # No handler met a bad value unchecked (the net that answers INVALID_ARGUMENT then
    # logs it), and none failed unexpectedly.
    unchecked = [r.getMessage() for r in caplog.records if r.name.startswith("server.")]
    assert not [m for m in unchecked if "unchecked_field" in m or "unexpected error" in m], unchecked
