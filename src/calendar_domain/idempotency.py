"""Idempotent commands: an aggregate remembers the request ids it has applied."""

from __future__ import annotations

# How many recent request ids an aggregate remembers for idempotent retries.
REQUEST_ID_MEMORY = 64


class RemembersRequests:
    request_ids: list[str]

    def has_seen(self, request_id: str) -> bool:
        return bool(request_id) and request_id in self.request_ids

    def _remember(self, request_id: str) -> None:
        if request_id:
            self.request_ids = [*self.request_ids, request_id][-REQUEST_ID_MEMORY:]
