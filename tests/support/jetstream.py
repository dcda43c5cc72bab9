"""The NATS server with JetStream for relay tests (127.0.0.1:4222, or
CALSYNC_TEST_NATS_URL): a stream of its own per test, deleted afterwards. When
the server does not answer the tests are skipped with a message, unless
CALSYNC_REQUIRE_POSTGRES=1 (CI, which runs NATS too), when they fail."""

from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import nats
import pytest
from nats.errors import TimeoutError as NatsTimeout
from nats.js.errors import NotFoundError

from tests.support.stores import postgres_required

NATS_URL = os.environ.get("CALSYNC_TEST_NATS_URL", "nats://127.0.0.1:4222")


@dataclass(frozen=True)
class Received:
    subject: str
    headers: dict[str, str]
    data: bytes


@dataclass(frozen=True)
class RelayStream:
    url: str
    name: str
    prefix: str

    def messages(self) -> int:
        async def count() -> int:
            connection = await nats.connect(self.url)
            try:
                try:
                    return int((await connection.jetstream().stream_info(self.name)).state.messages)
                except NotFoundError:
                    return 0
            finally:
                await connection.close()

        return asyncio.run(count())

    def consume(self, subjects: str) -> list[Received]:
        """Everything the stream holds on ``subjects``, as a consumer reads it."""

        async def read() -> list[Received]:
            connection = await nats.connect(self.url)
            try:
                subscription = await connection.jetstream().pull_subscribe(subjects, stream=self.name)
                # What the new consumer has to read, counted by the server when it made it.
                pending = (await subscription.consumer_info()).num_pending
                found: list[Received] = []
                deadline = time.monotonic() + 60
                while len(found) < pending:
                    if time.monotonic() > deadline:
                        raise AssertionError(f"read {len(found)} of {pending} messages on {subjects} in 60s")
                    try:
                        batch = await subscription.fetch(min(100, pending - len(found)), timeout=5)
                    except (NatsTimeout, asyncio.TimeoutError):
                        continue  # a slow answer on a busy machine: ask again
                    for message in batch:
                        found.append(Received(message.subject, dict(message.headers or {}), message.data))
                        await message.ack()
                return found
            finally:
                await connection.close()

        return asyncio.run(read())


def require_nats() -> None:
    parts = urlsplit(NATS_URL)
    try:
        socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 4222), timeout=3).close()
    except OSError as error:
        message = (
            f"NATS is not reachable at {NATS_URL} ({error}). Start nats-server -js, or point "
            "CALSYNC_TEST_NATS_URL at one, to run the relay tests."
        )
        if postgres_required():
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture
def jetstream() -> Iterator[RelayStream]:
    require_nats()
    token = uuid.uuid4().hex[:12]
    stream = RelayStream(NATS_URL, f"T_RELAY_{token}", f"t{token}.calsync")
    yield stream

    async def delete() -> None:
        connection = await nats.connect(NATS_URL)
        try:
            await connection.jetstream().delete_stream(stream.name)
        except NotFoundError:
            pass
        finally:
            await connection.close()

    asyncio.run(delete())
