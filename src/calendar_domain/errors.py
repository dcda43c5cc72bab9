"""Domain errors. Each names what went wrong in the domain's words.

The gRPC face maps them to canonical status codes (see ``server.errors``).
"""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error the domain raises on purpose."""

    reason: str = "DOMAIN_ERROR"

    def __init__(self, message: str, **metadata: str) -> None:
        super().__init__(message)
        self.message = message
        self.metadata = metadata


class InvalidValue(DomainError):
    """A value does not have the shape the domain requires."""

    reason = "INVALID_ARGUMENT"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message, field=field)
        self.field = field


class InvalidValues(InvalidValue):
    """Several bad values of one request, reported together."""

    def __init__(self, problems: list[InvalidValue]) -> None:
        super().__init__(problems[0].field, "; ".join(p.message for p in problems))
        self.problems = problems


def raise_all(problems: list[InvalidValue]) -> None:
    """Raises every problem found at once (the one, or all of them together)."""
    if len(problems) == 1:
        raise problems[0]
    if problems:
        raise InvalidValues(problems)


def problems_of(error: InvalidValue) -> list[InvalidValue]:
    return error.problems if isinstance(error, InvalidValues) else [error]


class NotFound(DomainError):
    reason = "NOT_FOUND"


class UserUnknown(NotFound):
    """A question about a user the service has never heard of (no calendar
    configured, no settings, no appointment or blocked slot): answering it from
    default working hours would invent a schedule."""

    reason = "USER_UNKNOWN"


class AlreadyExists(DomainError):
    reason = "ALREADY_EXISTS"


class ConnectionClosed(DomainError):
    """The connection was disconnected; it cannot be changed any more."""

    reason = "CONNECTION_DISCONNECTED"


class InvalidCredentials(DomainError):
    """The calendar provider refused the credentials (HTTP 401)."""

    reason = "INVALID_CREDENTIALS"


class ProviderUnavailable(DomainError):
    """The calendar provider could not be reached or answered with a server error."""

    reason = "PROVIDER_UNAVAILABLE"


class ProviderProtocolError(DomainError):
    """The provider answered, but not as a CalDAV server should (bad discovery data)."""

    reason = "PROVIDER_PROTOCOL_ERROR"


class ReconnectRequired(DomainError):
    """The stored credentials stopped working; the user must reconnect."""

    reason = "RECONNECT_REQUIRED"


class ReadModelBehind(DomainError):
    """A read model did not reach the requested log position in time."""

    reason = "READ_MODEL_BEHIND"


class CalendarNotWritable(DomainError):
    """Appointments cannot be written to this calendar, so it cannot be the primary."""

    reason = "CALENDAR_NOT_WRITABLE"


class ProviderThrottled(ProviderUnavailable):
    """The provider asked us to slow down (429, or 503 with Retry-After)."""

    reason = "PROVIDER_THROTTLED"

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message, **({"retry_after_seconds": f"{retry_after:g}"} if retry_after else {}))
        self.retry_after = retry_after


class SyncInProgress(DomainError):
    """Another worker is syncing this account right now."""

    reason = "SYNC_IN_PROGRESS"


class ConcurrentChange(DomainError):
    """Other writers kept changing the same record; the caller may retry."""

    reason = "CONCURRENT_CHANGE"


class RequestIdReused(DomainError):
    """A request id already used for a request with other parameters."""

    reason = "REQUEST_ID_REUSED"
