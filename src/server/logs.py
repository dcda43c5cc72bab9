"""How a process writes its log: one line per record on stderr, ``key=value`` for
people (the default) or JSON (``CALSYNC_LOG_FORMAT=json``), each tagged with the
ids of what caused it (``calendar_domain.telemetry.cause``).

The HTTP and CalDAV client libraries log every URL they fetch, and a CalDAV URL
can carry the account's user name (the Apple ID on some servers): their loggers
are held at WARNING, and what they still say has URLs cut to scheme and host.
"""

from __future__ import annotations

import logging
import re
import sys
import time
from typing import Any, TextIO

from pythonjsonlogger.json import JsonFormatter

from calendar_domain.telemetry import CAUSE_KEYS, current_cause

FORMATS = ("text", "json")
# Loggers of the libraries that speak HTTP for caldav (niquests over urllib3-future),
# and the ones it can fall back to (requests over urllib3; httpx).
HTTP_CLIENT_LOGGERS = (
    "caldav", "niquests", "urllib3", "urllib3_future", "requests", "httpx", "httpcore",
)
_URL = re.compile(r"(?i)\b(https?://)(?:[^/\s@]*@)?([^/\s?#'\"]+)[^\s'\"]*")
_REQUEST_LINE = re.compile(r"\b([A-Z]{3,11}) /\S* (HTTP/[\d.]+)")  # urllib3's "PROPFIND /path HTTP/1.1"
_HANDLER_NAME = "calsync"


class CauseFilter(logging.Filter):
    """Puts the ids of the gRPC call or the run in force on the record, and cuts the
    URLs out of the HTTP client libraries' lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in current_cause().items():
            if not hasattr(record, key):
                setattr(record, key, value)
        if record.name.split(".", 1)[0] in HTTP_CLIENT_LOGGERS:
            record.msg = scrub_urls(record.getMessage())
            record.args = None
        return True


def scrub_urls(text: str) -> str:
    """``https://user@host/path?q`` -> ``https://host/…``: no user name, no path."""
    text = _URL.sub(lambda m: f"{m.group(1)}{m.group(2)}/…", text)
    return _REQUEST_LINE.sub(lambda m: f"{m.group(1)} /… {m.group(2)}", text)


def _cause_of(record: logging.LogRecord) -> dict[str, Any]:
    shown: dict[str, Any] = getattr(record, "fields", None) or {}
    return {key: getattr(record, key) for key in CAUSE_KEYS if hasattr(record, key) and key not in shown}


class TextFormatter(logging.Formatter):
    """``2026-05-04T09:00:00.123Z INFO server.app: sync.finished changes=3 request_id=…``"""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z"

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802
        line = super().formatMessage(record)
        tags = " ".join(f"{key}={value}" for key, value in _cause_of(record).items())
        return f"{line} {tags}" if tags else line


class JsonLineFormatter(JsonFormatter):
    """One JSON object a line: time, level, logger, message, the event and its fields
    at the top level, and the cause's ids."""

    def __init__(self) -> None:
        super().__init__(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            datefmt="%Y-%m-%dT%H:%M:%S%z",
            timestamp=False,
        )
        self.converter = time.gmtime  # type: ignore[assignment]  # UTC, as the text lines

    def add_fields(self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]) -> None:
        super().add_fields(log_data, record, message_dict)
        fields = log_data.pop("fields", None)
        if isinstance(fields, dict):
            for key, value in fields.items():
                log_data.setdefault(key, value if isinstance(value, (int, float, bool)) else str(value))


def configure_logging(level: str = "INFO", log_format: str = "text", stream: TextIO | None = None) -> logging.Handler:
    """Replaces the root logger's handlers with ours; returns the handler."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.addFilter(CauseFilter())
    handler.setFormatter(JsonLineFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    quiet_http_clients()
    return handler


def quiet_http_clients() -> None:
    """Their DEBUG and INFO lines name every URL (and so the account); WARNING and up stay."""
    for name in HTTP_CLIENT_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
