"""One ErrorInfo.reason vocabulary across services, written down in errors.proto:
every reason the server can answer with is listed there."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from pathlib import Path

import adapters
import calendar_domain
import server
from calendar_domain.errors import DomainError

ROOT = Path(__file__).resolve().parents[2]
LISTED = set(re.findall(r"^//   ([A-Z_]+) ", (ROOT / "protos/calendarintegration/v1/errors.proto").read_text(), re.M))


def every_domain_reason() -> set[str]:
    for package in (calendar_domain, adapters, server):
        for module in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            importlib.import_module(module.name)
    found, pending = set(), [DomainError]
    while pending:
        kind = pending.pop()
        pending.extend(kind.__subclasses__())
        if kind is not DomainError:
            found.add(kind.reason)
    return found


def every_edge_reason() -> set[str]:
    """The reasons the server's own errors (ServiceError) are made with."""
    found = set()
    for path in (ROOT / "src/server").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "ServiceError" and len(node.args) > 1:
                reason = node.args[1]
                if isinstance(reason, ast.Constant):  # else a domain error's, passed on
                    found.add(reason.value)
    return found


def test_every_reason_the_server_answers_with_is_in_the_vocabulary() -> None:
    reasons = every_domain_reason() | every_edge_reason()
    assert {"INVALID_ARGUMENT", "SUB_ACCOUNT_NOT_ALLOWED", "REQUEST_ID_REUSED", "BOOKING_CONFLICT"} <= reasons
    internal = {"PUSH_DEFERRED"}  # the pusher's own retry signal; no RPC answers with it
    assert reasons - internal <= LISTED, sorted(reasons - LISTED)
