"""A push process that dies right after its first write to the calendar server,
before the write is recorded (configured from CALSYNC_* like the real one).

    python -m tests.support.crashing_pusher     # exits with status 3
"""

from __future__ import annotations

import os

from adapters.icloud.pusher import AppointmentPusher
from adapters.icloud.sync_worker import CalDAVSettings
from server.bootstrap import bootstrap
from server.config import Settings

CRASHED = 3


def main() -> None:
    settings = Settings.from_env()
    container = bootstrap(settings)
    container.push_follower.catch_up()
    pusher = AppointmentPusher(
        container.app,
        container.push_queue,
        container.vault,
        CalDAVSettings(settings.caldav_url, settings.caldav_timeout),
        lease_seconds=settings.push_lease,
        after_write=lambda _href: os._exit(CRASHED),
    )
    pusher.run_due()
    raise SystemExit("nothing was due to be written")


if __name__ == "__main__":
    main()
