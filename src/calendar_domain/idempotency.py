"""Idempotent commands: an aggregate remembers the request ids it has applied.

A request id names one request, as an idempotency key does in payment APIs: a
retry of the same request (the same parameters) is answered with what the first
attempt did, however the aggregate changed since; the same id with other
parameters is refused (``RequestIdReused``), because the caller has mixed up
two requests and neither answer would be what it meant.

What a request's parameters were is told by a fingerprint, worked out from the
command when it arrives and from the event it recorded when it is retried, so
nothing beyond the events themselves is stored.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from calendar_domain.errors import RequestIdReused

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
