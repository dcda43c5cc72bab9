"""One log line per thing that happened: ``happened(log, "sync.finished", account=..., changes=3)``.

Every part of the service (domain, adapters, server) logs through this, with the
standard library alone, so that the domain stays free of outside packages. The
line's message is the event's name followed by its fields as ``key=value``; the
fields also travel on the record (``record.fields``) so that a structured
formatter can write them as JSON. Fields never carry personal data or secrets:
ids, counts, durations and outcomes only (no Apple ID, no password, no titles).

What caused a line travels beside it: ``with cause(request_id=..., sub_account_id=...,
connection_id=...)`` around a gRPC call or a sync/push run puts those ids in
context variables, which the process's log handler adds to every record made
inside (``current_cause()``), in whichever part of the service logs it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from typing import Any

# The ids a log line is tagged with; at most this long, so that hostile input
# cannot blow up every line.
CAUSE_KEYS = ("request_id", "sub_account_id", "connection_id")
MAX_ID_LENGTH = 128
_cause: ContextVar[dict[str, str] | None] = ContextVar("calsync_log_cause", default=None)


def happened(log: logging.Logger, event: str, level: int = logging.INFO, **fields: Any) -> None:
    """Logs ``event`` with ``fields`` (values rendered with ``str``; None left out)."""
    if not log.isEnabledFor(level):
        return
    shown = {key: value for key, value in fields.items() if value is not None}
    text = " ".join(f"{key}={_quoted(value)}" for key, value in shown.items())
    log.log(level, f"{event} {text}" if text else event, extra={"event": event, "fields": shown})


def _quoted(value: Any) -> str:
    text = value if isinstance(value, str) else str(value)
    if text == "" or any(c in text for c in ' "='):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text


def new_request_id(kind: str = "") -> str:
    """A fresh id for a run that no caller named (``kind`` prefixes it: sync, push)."""
    token = os.urandom(8).hex()
    return f"{kind}-{token}" if kind else token


@contextmanager
def cause(**ids: str | None) -> Iterator[None]:
    """Tags every log line made inside with ``ids`` (request_id, sub_account_id,
    connection_id), on top of the ids already in force; empty values are left out."""
    if unknown := set(ids) - set(CAUSE_KEYS):
        raise ValueError(f"unknown log cause {sorted(unknown)}")
    token = enter_cause(ids)
    try:
        yield
    finally:
        leave_cause(token)


def enter_cause(ids: dict[str, str | None]) -> Token[dict[str, str] | None]:
    """``cause`` without a context manager (the gRPC interceptor's hot path); give
    the token back to ``leave_cause``."""
    merged = dict(_cause.get() or {})
    merged.update({key: str(value)[:MAX_ID_LENGTH] for key, value in ids.items() if value})
    return _cause.set(merged)


def leave_cause(token: Token[dict[str, str] | None]) -> None:
    try:
        _cause.reset(token)
    except ValueError:  # a generator closed from another context: nothing of ours is there
        pass


def run_cause(kind: str) -> Any:
    """The cause of a sync or push run: the request id in force (a gRPC call that
    asked for the run), else a new one prefixed with ``kind``."""
    return cause(request_id=current_cause().get("request_id") or new_request_id(kind))


def current_cause() -> dict[str, str]:
    """The ids in force here (a copy)."""
    return dict(_cause.get() or {})
