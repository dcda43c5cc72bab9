"""The environment of a service process started by a test (its CALSYNC_* settings)."""

from __future__ import annotations

import os
from pathlib import Path

from server.config import Settings

ROOT = Path(__file__).resolve().parents[2]


def process_env(settings: Settings, **more: str) -> dict[str, str]:
    env = {
        **os.environ,
        "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}",
        "CALSYNC_DATA_DIR": str(settings.data_dir),
        "CALSYNC_EVENT_STORE": settings.event_store,
        "CALSYNC_CALDAV_URL": settings.caldav_url,
        "CALSYNC_AUTH_TOKENS": '{"unused-token": ["*"]}',
        # small calendars: parsed in place (the parser processes have their own tests)
        "CALSYNC_PARSE_PROCESSES": "0",
        # a long poll: on PostgreSQL the process must be woken by LISTEN/NOTIFY
        "CALSYNC_PROJECTION_POLL_INTERVAL": "30" if settings.event_store == "postgres" else "0.2",
    }
    if settings.event_store == "postgres":
        env.update(
            CALSYNC_POSTGRES_URL=settings.postgres_url,
            CALSYNC_POSTGRES_SCHEMA=settings.postgres_schema,
            CALSYNC_CIPHER_KEY=settings.cipher_key,
            CALSYNC_VAULT_KEY=settings.vault_key,
        )
    env.update(more)
    return env
