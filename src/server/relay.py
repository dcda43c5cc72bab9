"""The relay: every event of the log, in order, published to NATS JetStream
(`calendar-integration relay`), for services that follow the log without holding
a gRPC stream open.

Each event goes to ``<prefix>.<sub-account>.<aggregate type>`` (the sub-account
encoded by ``subject_token``) as the history API's ``Event`` message, with its
log position as the ``Nats-Msg-Id`` header: JetStream drops a message whose id
it saw within the stream's duplicate window, so events published again after a
crash reach consumers once. The relay's position is written to the store only
after JetStream has acknowledged every event up to it (docs/operations.md,
"Relay").
"""

from __future__ import annotations

import asyncio
import logging
import re
import signal
import sqlite3
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import nats
import psycopg
from nats.js.errors import NotFoundError

from adapters import metrics
from adapters.persistence.model_lock import ModelInUse, ModelLock
from adapters.persistence.pool import ProcessPool
from adapters.persistence.relay_position import RelayPositions
from calendar_domain.history import RecordedEvent, Scope
from calendar_domain.history_service import HistoryService
from calendar_domain.telemetry import happened
from server.bootstrap import PooledCalendarIntegration, application_env, operational_database, process_pool
from server.config import Settings
from server.history_convert import event_message
from server.operator import StartupError

log = logging.getLogger(__name__)

# Characters kept as they are in a subject token; every other byte of the UTF-8
# text (and "_" itself, the escape) becomes "_" and two hex digits. NATS forbids
# ".", "*", ">" and white space in a token; the rest is kept out so that a token
# reads the same in every tool and ACL.
_KEPT = re.compile(r"[A-Za-z0-9-]")
_ESCAPE = re.compile(r"_([0-9A-F]{2})")
EMPTY_TOKEN = "_"  # an event of no sub-account (a token may not be empty)


def subject_token(text: str) -> str:
    """A sub-account id as one NATS subject token, reversibly: "acme.eu team" is
    ``acme_2Eeu_20team``, "a_b" is ``a_5Fb``; "" is ``_``."""
    if not text:
        return EMPTY_TOKEN
    return "".join(
        char if _KEPT.fullmatch(char) else "".join(f"_{byte:02X}" for byte in char.encode())
        for char in text
    )


def token_text(token: str) -> str:
    """The sub-account id a ``subject_token`` encodes."""
    if token == EMPTY_TOKEN:
        return ""
    text, i = bytearray(), 0
    while i < len(token):
        if token[i] == "_":
            text.append(int(token[i + 1:i + 3], 16))
            i += 3
        else:
            text += token[i].encode()
            i += 1
    return text.decode()


# Failures the relay waits out: NATS or the store away, acks that do not come.
_PASSING = (nats.errors.Error, asyncio.TimeoutError, OSError, psycopg.OperationalError, sqlite3.OperationalError)


def subject(prefix: str, record: RecordedEvent) -> str:
    return f"{prefix}.{subject_token(record.sub_account_id)}.{record.kind.value}"


class Relay:
    """Publishes the log from the stored position on, batch after batch."""

    def __init__(
        self,
        history: HistoryService,
        positions: RelayPositions,
        settings: Settings,
        *,
        on_ack: Callable[[int], None] | None = None,
    ) -> None:
        self._history = history
        self._positions = positions
        self._settings = settings
        self._stream = settings.relay_stream
        # Called as each ack of a batch arrives, with the batch's count of acks so far.
        self._on_ack = on_ack

    async def ensure_stream(self, js: Any) -> None:
        """Creates the stream if missing; one that exists is used as it is (its
        subjects must take the prefix's)."""
        wanted = f"{self._settings.relay_subject_prefix}.>"
        try:
            info = await js.stream_info(self._stream)
        except NotFoundError:
            await js.add_stream(
                name=self._stream, subjects=[wanted], duplicate_window=self._settings.relay_duplicate_window
            )
            happened(
                log, "relay.stream_created", stream=self._stream, subjects=wanted,
                duplicate_window_seconds=self._settings.relay_duplicate_window,
            )
            return
        if wanted not in (info.config.subjects or []):
            raise StartupError(
                f"the JetStream stream {self._stream} (CALSYNC_RELAY_STREAM) does not take {wanted} "
                f"(CALSYNC_RELAY_SUBJECT_PREFIX); its subjects are {info.config.subjects}"
            )
        happened(
            log, "relay.stream_found", stream=self._stream, messages=info.state.messages,
            duplicate_window_seconds=info.config.duplicate_window,
        )

    async def publish_batch(self, js: Any, after: int) -> int:
        """Publishes the events after ``after`` (at most a batch), waits for every
        ack, then stores the position reached. Returns that position."""
        started = time.perf_counter()
        page = await asyncio.to_thread(self._history.read, after, self._settings.relay_batch_size, Scope())
        metrics.RELAY_LAG.set(max(0, page.head - after))
        if not page.events:
            if page.position > after:
                await asyncio.to_thread(self._positions.save, self._stream, page.position)
            return page.position
        # One deadline for the whole batch (not one timer per message: the client
        # would make a task for each).
        answers = await asyncio.wait_for(self._send(js, page.events), self._settings.relay_ack_timeout)
        await asyncio.to_thread(self._positions.save, self._stream, page.position)
        duplicates = sum(1 for answer in answers if answer.duplicate)
        metrics.RELAY_EVENTS.inc(len(answers))
        metrics.RELAY_LAG.set(max(0, page.head - page.position))
        happened(
            log, "relay.published", stream=self._stream, events=len(answers), duplicates=duplicates,
            first=page.events[0].position, position=page.position, lag=max(0, page.head - page.position),
            seconds=round(time.perf_counter() - started, 3),
        )
        return page.position

    async def _send(self, js: Any, records: list[RecordedEvent]) -> list[Any]:
        """Sends the events in log order on one connection, so JetStream stores
        them in that order; at most CALSYNC_RELAY_MAX_IN_FLIGHT await their acks
        (the client's semaphore). Returns the acks, in order."""
        prefix, hook = self._settings.relay_subject_prefix, self._on_ack
        counted = iter(range(1, len(records) + 1))

        def acked(_ack: asyncio.Future[Any]) -> None:
            if hook is not None:
                hook(next(counted))

        acks: list[asyncio.Future[Any]] = []
        for record in records:
            ack = await js.publish_async(
                subject(prefix, record), event_message(record).SerializeToString(),
                stream=self._stream, headers={"Nats-Msg-Id": str(record.position)},
            )
            if hook is not None:
                ack.add_done_callback(acked)
            acks.append(ack)
        return list(await asyncio.gather(*acks))

    async def run(self, js: Any, stopping: asyncio.Event) -> None:
        """Publishes until ``stopping`` is set, resting a poll interval at the head."""
        position = await asyncio.to_thread(self._positions.get, self._stream)
        happened(log, "relay.resumed", stream=self._stream, position=position)
        while not stopping.is_set():
            try:
                reached = await self.publish_batch(js, position)
            except _PASSING as error:
                # NATS or the store away, or JetStream not answering: from the
                # stored position again once they answer (what JetStream stored
                # meanwhile is dropped as a duplicate within the window).
                happened(log, "relay.failed", logging.WARNING, stream=self._stream, error=type(error).__name__,
                         detail=str(error)[:200], position=position)
                await _rest(stopping, self._settings.relay_poll_interval)
                position = await asyncio.to_thread(self._positions.get, self._stream)
                continue
            if reached == position:
                await _rest(stopping, self._settings.relay_poll_interval)
            position = reached


async def _rest(stopping: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stopping.wait(), seconds)
    except asyncio.TimeoutError:
        pass


def nats_where(settings: Settings) -> str:
    """The NATS URL without user information (a secret)."""
    parts = urlsplit(settings.nats_url)
    return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()


async def _connect(settings: Settings) -> Any:
    async def quiet(error: Exception) -> None:  # the client would print a traceback per attempt
        log.debug("nats: %s", error)

    try:
        # Reconnects without end once connected; the first connection is given 10 s.
        return await asyncio.wait_for(
            nats.connect(settings.nats_url, connect_timeout=5, max_reconnect_attempts=-1, error_cb=quiet), 10
        )
    except Exception as error:  # noqa: BLE001 - every failure to connect is one start-up line
        raise StartupError(
            f"cannot reach NATS at {nats_where(settings)} (CALSYNC_NATS_URL): {type(error).__name__} {error}"
        ) from None


async def relay(settings: Settings, on_ack: Callable[[int], None] | None = None) -> None:
    """The relay process: until SIGTERM or SIGINT."""
    # the process's one PostgreSQL pool (CALSYNC_DB_POOL_SIZE): the lock, the log, the positions
    pool = process_pool(settings) if settings.event_store == "postgres" else None
    alone = relay_lock(settings, pool)
    try:
        alone.take_alone()
    except ModelInUse:
        raise StartupError(
            f"another relay publishes to the stream {settings.relay_stream} (CALSYNC_RELAY_STREAM) from this store; "
            "run one relay per stream"
        ) from None
    app = PooledCalendarIntegration(application_env(settings), pool)
    positions = RelayPositions(operational_database(settings, "relay", pool))
    endpoint = None
    if settings.metrics_port:
        host = settings.listen.rsplit(":", 1)[0].strip("[]") or "0.0.0.0"  # noqa: S104 - as the gRPC address says
        endpoint = metrics.MetricsEndpoint(host, settings.metrics_port).start()
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    connection = await _connect(settings)
    try:
        js = connection.jetstream(publish_async_max_pending=settings.relay_max_in_flight)
        worker = Relay(HistoryService(app), positions, settings, on_ack=on_ack)
        await worker.ensure_stream(js)
        happened(log, "process.started", kind="relay", nats=nats_where(settings), stream=settings.relay_stream)
        await worker.run(js, stopping)
    finally:
        await connection.drain()
        if endpoint is not None:
            endpoint.stop()
        positions.close()
        app.close()
        alone.release()
        if pool is not None:
            pool.close()
    happened(log, "process.stopped", kind="relay")


def relay_lock(settings: Settings, pool: ProcessPool | None = None) -> ModelLock:
    """Held by the one relay of a stream for as long as it runs: a second relay
    behind the first would publish again, out of order, events whose ids JetStream
    has forgotten. Gone with the process, however it ends."""
    name = f"relay-{settings.relay_stream}"
    if settings.event_store == "postgres":
        return ModelLock(
            name, pool=pool or process_pool(settings), schema=settings.postgres_schema, owned=pool is None
        )
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return ModelLock(name, sqlite_path=settings.data_dir / f"{name}.sqlite")  # only its .lock file is made


def run(settings: Settings) -> int:
    asyncio.run(relay(settings))
    return 0
