"""One log line per thing that happened: ``happened(log, "sync.finished", account=..., changes=3)``.

Every part of the service (domain, adapters, server) logs through this, with the
standard library alone, so that the domain stays free of outside packages. The
line's message is the event's name followed by its fields as ``key=value``; the
fields also travel on the record (``record.fields``) so that a structured
formatter can write them as JSON. Fields never carry personal data or secrets:
ids, counts, durations and outcomes only (no Apple ID, no password, no titles).
"""

from __future__ import annotations

import logging
from typing import Any


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
