"""Maps failures to canonical gRPC status codes with rich details.

Every error carries a ``google.rpc.ErrorInfo`` (reason, domain, metadata); bad
fields add a ``google.rpc.BadRequest`` with one violation per field.
"""

from __future__ import annotations

import logging
import sqlite3

import eventsourcing.persistence as es_persistence
import grpc
import psycopg
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from calendar_domain import errors
from calendar_domain.bookings import BookingConflict
from calendar_domain.schedule import AppointmentCancelledError

log = logging.getLogger(__name__)
ERROR_DOMAIN = "calendar-integration"


class ServiceError(Exception):
    """An error already decided at the edge, ready to become a status."""

    def __init__(
        self,
        code: grpc.StatusCode,
        reason: str,
        message: str,
        *,
        violations: list[tuple[str, str]] | None = None,
        metadata: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.violations = violations or []
        self.metadata = metadata or {}


def invalid_argument(violations: list[tuple[str, str]]) -> ServiceError:
    fields = ", ".join(sorted({f for f, _ in violations}))
    return ServiceError(
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_ARGUMENT",
        f"invalid request: {'; '.join(m for _, m in violations)}",
        violations=violations,
        metadata={"fields": fields},
    )


_DOMAIN_CODES: list[tuple[type[errors.DomainError], grpc.StatusCode]] = [
    (errors.InvalidValue, grpc.StatusCode.INVALID_ARGUMENT),
    (errors.NotFound, grpc.StatusCode.NOT_FOUND),
    (errors.AlreadyExists, grpc.StatusCode.ALREADY_EXISTS),
    (errors.ConnectionClosed, grpc.StatusCode.FAILED_PRECONDITION),
    (errors.ReconnectRequired, grpc.StatusCode.FAILED_PRECONDITION),
    (errors.InvalidCredentials, grpc.StatusCode.INVALID_ARGUMENT),
    (errors.ProviderUnavailable, grpc.StatusCode.UNAVAILABLE),
    (errors.ProviderProtocolError, grpc.StatusCode.UNAVAILABLE),
    (errors.ReadModelBehind, grpc.StatusCode.UNAVAILABLE),
    (errors.CalendarNotWritable, grpc.StatusCode.FAILED_PRECONDITION),
    (errors.ConcurrentChange, grpc.StatusCode.ABORTED),
    (BookingConflict, grpc.StatusCode.FAILED_PRECONDITION),
    (AppointmentCancelledError, grpc.StatusCode.FAILED_PRECONDITION),
    (errors.SyncInProgress, grpc.StatusCode.UNAVAILABLE),
    (errors.RequestIdReused, grpc.StatusCode.FAILED_PRECONDITION),
]


def from_domain(error: errors.DomainError) -> ServiceError:
    if isinstance(error, errors.InvalidValue):
        return invalid_argument([(p.field, p.message) for p in errors.problems_of(error)])
    code = next((c for kind, c in _DOMAIN_CODES if isinstance(error, kind)), grpc.StatusCode.INTERNAL)
    # A refusal about one field (iCloud refusing a password) names it, as bad fields do.
    field = error.metadata.get("field")
    violations = [(field, error.message)] if field and code == grpc.StatusCode.INVALID_ARGUMENT else []
    return ServiceError(code, error.reason, error.message, violations=violations, metadata=dict(error.metadata))


def to_status(error: ServiceError) -> grpc.Status:
    info = error_details_pb2.ErrorInfo(reason=error.reason, domain=ERROR_DOMAIN, metadata=error.metadata)
    details = [_pack(info)]
    if error.violations:
        bad_request = error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(field=f, description=d)
                for f, d in error.violations
            ]
        )
        details.append(_pack(bad_request))
    status = status_pb2.Status(code=error.code.value[0], message=error.message, details=details)
    return rpc_status.to_status(status)


# Failures of the database itself, not of the request: it is down, restarting,
# refusing connections ("too many clients"), or every pooled connection stayed
# busy for the pool's timeout. The library wraps the drivers' errors in its own.
_DATABASE_DOWN: tuple[type[BaseException], ...] = (
    psycopg.OperationalError,
    psycopg.InterfaceError,
    es_persistence.OperationalError,
    es_persistence.InterfaceError,
    sqlite3.OperationalError,  # "database is locked" past the busy timeout
)


def database_unavailable(error: BaseException) -> ServiceError | None:
    """UNAVAILABLE (retryable) when ``error`` or one of its causes is the
    database's own failure; None otherwise."""
    seen: set[int] = set()
    cause: BaseException | None = error
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, _DATABASE_DOWN):
            return ServiceError(
                grpc.StatusCode.UNAVAILABLE,
                "DATABASE_UNAVAILABLE",
                "the database is unreachable or saturated (no connection was free in time); retry with backoff",
                metadata={"retryable": "true"},
            )
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return None


def internal() -> ServiceError:
    return ServiceError(grpc.StatusCode.INTERNAL, "INTERNAL", "internal error; it has been logged")


def _pack(message: object) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)  # type: ignore[arg-type]
    return packed

