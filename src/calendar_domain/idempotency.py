"""Idempotent commands: an aggregate remembers the request ids it has applied.

A request id names one request, as an idempotency key does in payment APIs: a
retry of the same request (the same parameters) is answered with what the first
attempt did, however the aggregate changed since; the same id with other
parameters is refused (``RequestIdReused``), because the caller has mixed up
two requests and neither answer would be what it meant.

What a request's parameters were is told by a fingerprint, worked out from the
command when it arrives and from the event it recorded when it is retried, so
nothing beyond the events themselves is stored. Where a command's events hold
only what it was asked (configuration, policies), the fingerprint is the events
themselves: the command is done again on the aggregate as it was before the first
attempt, and what it would record is compared with what it recorded.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, Protocol, TypeVar

from calendar_domain.errors import DomainError, RequestIdReused

A = TypeVar("A")
# What tells two events apart beyond what they say: where and when they were recorded.
_RECORDING = frozenset({"originator_id", "originator_version", "timestamp"})

# How many recent request ids an aggregate remembers for idempotent retries.
REQUEST_ID_MEMORY = 64


class RemembersRequests:
    request_ids: list[str]

    def has_seen(self, request_id: str) -> bool:
        return bool(request_id) and request_id in self.request_ids

    def _remember(self, request_id: str) -> None:
        if request_id:
            self.request_ids = [*self.request_ids, request_id][-REQUEST_ID_MEMORY:]


def request_fingerprint(operation: str, *parameters: Any) -> str:
    """A digest of what a request asked for: the operation and its parameters
    (moments by their instant, so a time given in another offset is the same)."""
    parts = [operation, *(str(int(p.timestamp())) if isinstance(p, datetime) else repr(p) for p in parameters)]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def refuse_reuse(request_id: str, first: str, retried: str, operation: str) -> None:
    if first != retried:
        raise RequestIdReused(
            f"request_id {request_id!r} was already used for a request with other parameters; "
            "a retry must repeat the request exactly, and a new request needs a new request_id",
            request_id=request_id,
            operation=operation,
        )


class EventLog(Protocol):
    """What a retry reads: an aggregate's events, and the aggregate at a version."""

    def aggregate_events(self, aggregate_id: Any) -> Iterable[Any]: ...

    def aggregate_at(self, aggregate_id: Any, version: int) -> Any: ...


def first_answer(log: EventLog, aggregate: Any, request_id: str, change: Callable[[Any], object], fresh: Callable[[], A]) -> A:
    """The aggregate as the request ``request_id`` left it, when ``change`` asks for
    what that request asked (RequestIdReused when it asks for something else).
    ``fresh``: the aggregate before its first event."""
    recorded = [e for e in log.aggregate_events(aggregate.id) if getattr(e, "request_id", None) == request_id]
    if not recorded:
        return aggregate  # type: ignore[no-any-return]
    first = recorded[0].originator_version
    before: Any = log.aggregate_at(aggregate.id, first - 1) if first > 1 else fresh()
    try:
        change(before)
    except DomainError:
        # The command cannot be done again as it was (something it relies on has
        # changed since): nothing tells a retry from another request, so it is a retry.
        pass
    else:
        replayed = [e for e in before.collect_events() if getattr(e, "request_id", None) == request_id]
        refuse_reuse(request_id, _meaning(recorded), _meaning(replayed), type(recorded[0]).__name__)
    return log.aggregate_at(aggregate.id, recorded[-1].originator_version)  # type: ignore[no-any-return]


def _meaning(events: list[Any]) -> str:
    return json.dumps(
        [[type(e).__name__, {k: v for k, v in vars(e).items() if k not in _RECORDING}] for e in events],
        default=str, sort_keys=True,
    )
