"""The relay's catch-up: events per second published to NATS JetStream and
acknowledged, from a log of `--events` small events (each user's reading rules set
in turn: two events a user, Started and TimeZoneSet, over 50 sub-accounts).

Each run relays the whole log into a fresh stream (deleted afterwards) from
position 0 with `relay.Relay` in this process, once with CALSYNC_RELAY_MAX_IN_FLIGHT
as given (default 256) and once with 1 (an ack awaited before the next event is
sent), alternating; it prints each run and the medians of `--runs`, and their ratio.

    .venv/bin/python bench/relay.py                    # SQLite, NATS at 127.0.0.1:4222
    .venv/bin/python bench/relay.py --events 20000 --runs 5

It exits 0 when the bench ran, 1 if it failed.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import nats  # noqa: E402

from adapters.persistence.relay_position import RelayPositions  # noqa: E402
from calendar_domain.application import CalendarIntegration  # noqa: E402
from calendar_domain.configuration_service import ConfigurationService  # noqa: E402
from calendar_domain.history_service import HistoryService  # noqa: E402
from server.bootstrap import application_env, operational_database  # noqa: E402
from server.config import Settings  # noqa: E402
from server.relay import Relay  # noqa: E402


async def relay_all(settings: Settings, app: CalendarIntegration, head: int) -> float:
    """Seconds to relay the log up to ``head`` into a new stream."""
    stream = f"BENCH_RELAY_{uuid.uuid4().hex[:10]}"
    settings = replace(settings, relay_stream=stream, relay_subject_prefix=f"b{stream.lower()}")
    positions = RelayPositions(operational_database(settings, "relay"))
    connection = await nats.connect(settings.nats_url)
    js = connection.jetstream(publish_async_max_pending=settings.relay_max_in_flight)
    try:
        relay = Relay(HistoryService(app), positions, settings)
        await relay.ensure_stream(js)
        started = time.perf_counter()
        position = 0
        while position < head:
            position = await relay.publish_batch(js, position)
        return time.perf_counter() - started
    finally:
        await js.delete_stream(stream)
        await connection.close()
        positions.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--nats-url", default="nats://127.0.0.1:4222")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        settings = replace(Settings.from_env({}), data_dir=Path(directory), nats_url=options.nats_url, log_level="WARNING")
        app = CalendarIntegration(env=application_env(settings))
        configurations = ConfigurationService(app)
        for index in range(options.events // 2):
            configurations.set_reading_rules(f"loc-{index % 50}", f"u{index}", time_zone="Europe/Paris")
        head = app.head_position()
        print(f"log of {head} events (SQLite)")
        figures: dict[int, list[float]] = {settings.relay_max_in_flight: [], 1: []}
        for run in range(options.runs):
            for in_flight in figures:
                seconds = asyncio.run(relay_all(replace(settings, relay_max_in_flight=in_flight), app, head))
                figures[in_flight].append(head / seconds)
                print(f"run {run + 1}: max in flight {in_flight:>4}: {head / seconds:8.0f} events/s")
        app.close()
    medians = {k: statistics.median(v) for k, v in figures.items()}
    for in_flight, median in medians.items():
        print(f"median, max in flight {in_flight:>4}: {median:8.0f} events/s")
    wide, one = medians[settings.relay_max_in_flight], medians[1]
    print(f"ratio {settings.relay_max_in_flight} in flight / 1 in flight: {wide / one:.2f}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as error:  # noqa: BLE001 - a failed bench says why in one line
        print(f"bench failed: {type(error).__name__}: {error}", file=sys.stderr)
        sys.exit(1)
