"""A relay process killed (SIGKILL, by itself) in the middle of its second batch:
some of the batch acknowledged by JetStream, its position not yet written
(configured from CALSYNC_* like the real one).

    python -m tests.support.crashing_relay     # dies of SIGKILL
"""

from __future__ import annotations

import asyncio
import os
import signal

from server.config import Settings
from server.logs import configure_logging
from server.relay import relay


def main() -> None:
    settings = Settings.from_env()
    configure_logging(settings.log_level, settings.log_format)
    batches = 0

    def acked(count: int) -> None:
        nonlocal batches
        batches += count == 1
        if batches == 2 and count == 2:
            os.kill(os.getpid(), signal.SIGKILL)

    asyncio.run(relay(settings, on_ack=acked))
    raise SystemExit("the relay ended without reaching its second batch")


if __name__ == "__main__":
    main()
