"""What every RPC handler shares: authentication, error mapping, read waits."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator
from typing import Any, NoReturn, TypeVar

import grpc

from adapters.metrics import RPC_ERRORS
from calendar_domain import values
from calendar_domain.errors import DomainError, ReadModelBehind
from calendar_domain.telemetry import happened
from server.auth import Authenticator, Caller
from server.errors import ServiceError, database_unavailable, from_domain, internal, invalid_argument, to_status
from server.validation import Violations

log = logging.getLogger(__name__)
R = TypeVar("R")

Handler = Callable[[Any, Any, grpc.ServicerContext, Caller], R]


def rpc(method: Handler[R]) -> Callable[[Any, Any, grpc.ServicerContext], R]:
    """Authenticates the caller, runs the handler, and turns any failure into a
    canonical status with details; unexpected errors are logged, not leaked."""

    @functools.wraps(method)
    def handle(self: Any, request: Any, context: grpc.ServicerContext) -> R:
        try:
            caller = self.authenticator.authenticate(context)
            authorize(request, caller)
            return method(self, request, context, caller)
        except Exception as error:
            _abort(context, error, method.__name__, request)

    return handle


def stream_rpc(
    method: Handler[Iterator[R]],
) -> Callable[[Any, Any, grpc.ServicerContext], Iterator[R]]:
    """``rpc`` for a server-streaming handler: the same authentication and error
    mapping, also for failures while the stream runs."""

    @functools.wraps(method)
    def handle(self: Any, request: Any, context: grpc.ServicerContext) -> Iterator[R]:
        try:
            caller = self.authenticator.authenticate(context)
            authorize(request, caller)
            yield from method(self, request, context, caller)
        except Exception as error:
            _abort(context, error, method.__name__, request)

    return handle


def authorize(request: Any, caller: Caller) -> None:
    """Authorization comes before any check of the request's fields: a request for a
    sub-account the token may not reach is PERMISSION_DENIED whatever else it holds,
    so that the answer tells nothing about that sub-account. (An empty
    sub_account_id names none; the servicer says it is required, or, where it is a
    filter, reads only what the caller may reach.)"""
    sub_account_id = getattr(request, "sub_account_id", "")
    if sub_account_id:
        caller.require(sub_account_id)


def _abort(context: grpc.ServicerContext, error: Exception, name: str, request: Any) -> NoReturn:
    if isinstance(error, ServiceError):
        answer = error
    elif isinstance(error, DomainError):
        answer = from_domain(error)
    elif (unavailable := database_unavailable(error)) is not None:
        # counted with every refusal below (code UNAVAILABLE, reason DATABASE_UNAVAILABLE)
        happened(log, "database.unavailable", logging.WARNING, rpc=name, error=type(error).__name__)
        answer = unavailable
    else:
        shared = Violations.of(request)
        if shared.items:
            # A handler used a field before checking it: the request was bad, so the
            # caller hears which fields, and the log says which handler to fix.
            happened(
                log, "rpc.unchecked_field", logging.WARNING,
                rpc=name, error=type(error).__name__, fields=",".join(sorted({f for f, _ in shared.items})),
            )
            answer = invalid_argument(shared.items)
        else:
            log.exception("unexpected error in %s", name)
            answer = internal()
    code = answer.code.name
    RPC_ERRORS.labels(name, code, answer.reason).inc()
    # Field paths only: a field's value may be anything a caller sent.
    fields = ",".join(sorted({f for f, _ in answer.violations}))
    happened(log, "rpc.refused", logging.INFO, rpc=name, code=code, reason=answer.reason, fields=fields)
    context.abort_with_status(to_status(answer))
    raise AssertionError("abort_with_status always raises")  # pragma: no cover


class ReadGate:
    """Read-your-writes: waits (bounded) until a read model has processed a position."""

    def __init__(self, wait_for: Callable[[int, float], bool], timeout: float, model: str) -> None:
        self._wait_for = wait_for
        self._timeout = timeout
        self._model = model

    def wait(self, min_position: int) -> None:
        if min_position and not self._wait_for(min_position, self._timeout):
            raise ReadModelBehind(
                f"the {self._model} read model has not reached position {min_position} within "
                f"{self._timeout:g}s; retry, or read without min_position",
                min_position=str(min_position),
            )


class ServicerBase:
    authenticator: Authenticator

    def __init__(self, authenticator: Authenticator) -> None:
        self.authenticator = authenticator

    @staticmethod
    def check_scope(request: Any, caller: Caller, v: Violations, *, user: bool = True) -> None:
        """Checks the request's sub_account_id (and user_id, and request_id when it
        has one) beside the violations already found, raises INVALID_ARGUMENT if any,
        then requires the caller to reach the sub-account."""
        sub_account_id = v.check(lambda: values.opaque_id("sub_account_id", request.sub_account_id), "")
        if user:
            v.check(lambda: values.opaque_id("user_id", request.user_id), "")
        if hasattr(request, "request_id"):
            v.check(lambda: values.request_id("request_id", request.request_id), "")
        v.raise_if_any()
        caller.require(sub_account_id)
