"""A server interceptor around every call: it names the call's cause for the log
(the caller's ``x-request-id`` metadata, else a new id; the request's sub-account
and connection ids), logs how the call ended, and counts it for the metrics."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import grpc

from adapters import metrics
from calendar_domain.telemetry import cause, enter_cause, happened, leave_cause, new_request_id

log = logging.getLogger(__name__)
REQUEST_ID_HEADER = "x-request-id"


class CallInterceptor(grpc.ServerInterceptor):
    def __init__(self) -> None:
        # One wrapped handler per method served (a fixed set), made on its first call.
        self._wrapped: dict[str, grpc.RpcMethodHandler] = {}

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler | None],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        wrapped = self._wrapped.get(details.method)
        if wrapped is None:
            handler = continuation(details)
            if handler is None:
                return None  # an unknown method: not remembered (callers choose the names)
            wrapped = self._wrapped.setdefault(details.method, _wrap(handler, details.method))
        return wrapped


def _wrap(handler: grpc.RpcMethodHandler, full_name: str) -> grpc.RpcMethodHandler:
    service, _, method = full_name.lstrip("/").rpartition("/")
    if handler.unary_unary is not None:
        return handler._replace(unary_unary=_unary(handler.unary_unary, service, method))
    if handler.unary_stream is not None:
        return handler._replace(unary_stream=_streaming(handler.unary_stream, service, method))
    return handler  # no client-streaming methods are served


def _request_id(metadata: Any) -> str:
    for key, value in metadata or ():
        if key == REQUEST_ID_HEADER and isinstance(value, str) and value.strip():
            # printable ASCII only: the id lands in every log line of the call
            text = "".join(c for c in value.strip() if 32 < ord(c) < 127)
            if text:
                return text
    return new_request_id()


def _ids(request: Any, context: grpc.ServicerContext) -> dict[str, str | None]:
    ids: dict[str, str | None] = {"request_id": _request_id(context.invocation_metadata())}
    for name in ("sub_account_id", "connection_id"):
        value = getattr(request, name, "")
        if isinstance(value, str) and value:
            ids[name] = value
    return ids


def _unary(behaviour: Callable[[Any, grpc.ServicerContext], Any], service: str, method: str) -> Any:
    def handle(request: Any, context: grpc.ServicerContext) -> Any:
        token = enter_cause(_ids(request, context))
        started = time.perf_counter()
        failed = True
        try:
            answer = behaviour(request, context)
            failed = False
            return answer
        finally:
            _finished(context, service, method, started, failed)
            leave_cause(token)

    return handle


def _streaming(
    behaviour: Callable[[Any, grpc.ServicerContext], Iterator[Any]], service: str, method: str
) -> Any:
    def handle(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        with cause(**_ids(request, context)):
            started = time.perf_counter()
            failed = True
            try:
                yield from behaviour(request, context)
                failed = False
            finally:
                _finished(context, service, method, started, failed)

    return handle


def _finished(context: grpc.ServicerContext, service: str, method: str, started: float, failed: bool) -> None:
    seconds = time.perf_counter() - started
    code = context.code()  # set by abort(); None when the handler returned normally
    if code is None:
        code = grpc.StatusCode.UNKNOWN if failed and context.is_active() else (
            grpc.StatusCode.CANCELLED if failed else grpc.StatusCode.OK
        )
    name = code.name
    metrics.observe_rpc(service, method, name, seconds)
    happened(
        log, "rpc.finished", logging.DEBUG if name == "OK" else logging.INFO,
        service=service.rsplit(".", 1)[-1], method=method, code=name, ms=round(seconds * 1000, 1),
    )
