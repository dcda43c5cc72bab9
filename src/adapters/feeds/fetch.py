"""A safe HTTP fetcher for iCalendar feeds (subscribed calendars).

A user gives a URL; the service polls it. So the fetcher assumes the URL may point
anywhere and the server at the other end may be hostile:

- only public addresses are fetched: the host is resolved once, every address is
  checked (``is_public_address``), and the connection goes to an address that was
  checked (no second lookup, so DNS rebinding cannot swap in a private address);
  https checks the certificate against the host name;
- every redirect hop is checked again (http/https only, public addresses only);
- the body is capped after gzip/deflate decoding (a zip bomb is refused), and a
  Content-Length above the cap is refused before reading;
- the whole fetch (DNS, connect, TLS, every hop, the body) has one deadline: each
  socket operation waits at most the time left, and a watchdog shuts a socket
  down when the deadline passes whatever it is doing;
- errors are the domain's and name the host only: URLs may carry secret tokens in
  their path or query, so neither is ever logged nor put in a message.

One idle connection per (scheme, host, port, address) is kept for reuse, at most
``POOL_SIZE`` of them, so that polling many unchanged feeds does not pay a TCP and
TLS handshake each time. ``fetch`` is safe to call from several threads.
"""

from __future__ import annotations

import base64
import concurrent.futures
import heapq
import http.client
import ipaddress
import itertools
import logging
import socket
import ssl
import threading
import time
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from urllib.parse import quote, unquote, urljoin, urlsplit, urlunsplit

from adapters import metrics
from adapters.icloud.dav import _seconds
from adapters.feeds.addresses import (  # noqa: F401 - the fetcher's names, where importers find them
    _DEFAULT_PORTS,
    MAX_URL_LENGTH,
    FeedAddressNotAllowed,
    FeedRefused,
    feed_host,
    feed_url,
    getaddrinfo_addresses,
    is_public_address,
)
from adapters.icloud.throttle import HostGate
from calendar_domain.errors import (
    InvalidValue,
    ProviderProtocolError,
    ProviderThrottled,
    ProviderUnavailable,
)
from calendar_domain.telemetry import happened

log = logging.getLogger(__name__)

POOL_SIZE = 64  # idle keep-alive connections kept, in all (at most 8 per host and address)
REDIRECTS = frozenset({301, 302, 303, 307, 308})
_CHUNK = 64 * 1024
# IPv6 prefixes that carry an IPv4 address the packets end up at.

Resolver = Callable[[str, int], Sequence[str]]


@dataclass(frozen=True)
class FeedSettings:
    timeout: float = 15.0  # seconds for the whole fetch (connect + every hop + body), not per read
    max_bytes: int = 10 * 1024 * 1024  # body cap, after gzip/deflate decoding too (a zip bomb is refused)
    max_redirects: int = 5
    allow_private: bool = False  # tests set True: loopback/private addresses allowed
    user_agent: str = "calendar-integration"


@dataclass(frozen=True)
class Validators:
    etag: str = ""
    last_modified: str = ""


@dataclass(frozen=True)
class FeedAnswer:
    not_modified: bool  # 304 to our conditional GET
    body: bytes  # decoded body; b"" when not_modified
    validators: Validators  # from this answer (on 304: the ones sent, updated by any the 304 carries)
    final_url: str  # the URL after redirects (never logged whole: see feed_host)
    requests: int  # HTTP requests this fetch sent (redirect hops count)


# --- the deadline -----------------------------------------------------------------------


class _Guard:
    """One fetch's sockets, shut down by the watchdog when its deadline passes."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.expired = False
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None

    def left(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0 or self.expired:
            raise TimeoutError("deadline passed")
        return left

    def watch(self, sock: socket.socket | None) -> None:
        with self._lock:
            self._sock = sock
            expired = self.expired
        if expired and sock is not None:
            _shut(sock)

    def expire(self) -> None:
        with self._lock:
            self.expired = True
            sock = self._sock
        if sock is not None:
            _shut(sock)


def _shut(sock: socket.socket) -> None:
    """Wakes whoever blocks on ``sock`` (the base class's shutdown: an SSL socket's
    own would drop its TLS state under the reader's feet)."""
    try:
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass


class _Watchdog:
    """One thread for every fetch's deadline (a timer per fetch would be a thread per fetch)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, _Guard]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None
        self._stopped = False

    @contextmanager
    def guard(self, deadline: float) -> Iterator[_Guard]:
        guard = _Guard(deadline)
        with self._cond:
            if self._thread is None and not self._stopped:
                self._thread = threading.Thread(target=self._run, name="feed-deadlines", daemon=True)
                self._thread.start()
            heapq.heappush(self._heap, (deadline, next(self._order), guard))
            self._cond.notify()
        try:
            yield guard
        finally:
            guard.watch(None)  # finished: nothing left to shut (the heap entry expires harmlessly)

    def _run(self) -> None:
        with self._cond:
            while not self._stopped:
                now = time.monotonic()
                while self._heap and self._heap[0][0] <= now:
                    heapq.heappop(self._heap)[2].expire()
                self._cond.wait(self._heap[0][0] - now if self._heap else None)

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify()


# --- connections ------------------------------------------------------------------------


class _PinnedConnection(http.client.HTTPConnection):
    """An HTTP(S) connection to ``address``, speaking to ``host`` (Host header, TLS
    server name and certificate check): no lookup of its own."""

    def __init__(self, scheme: str, host: str, port: int, address: str, tls: ssl.SSLContext | None, guard: _Guard):
        super().__init__(host, port, timeout=guard.left())
        self.default_port = _DEFAULT_PORTS[scheme]  # the Host header leaves it out
        self.scheme = scheme
        self.address = address
        self.tls = tls
        self.guard = guard

    def connect(self) -> None:
        sock = socket.create_connection((self.address, self.port), self.guard.left())
        self.guard.watch(sock)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.tls is not None:
                sock.settimeout(self.guard.left())
                sock = self.tls.wrap_socket(sock, server_hostname=self.host)
                self.guard.watch(sock)
        except BaseException:
            sock.close()
            raise
        self.sock = sock

    def key(self) -> tuple[str, str, int, str]:
        return (self.scheme, self.host, self.port, self.address)


class _Pool:
    """Idle connections, at most ``per_key`` per (scheme, host, port, address) and
    ``size`` in all: many feeds live on one host (a rental platform, a calendar
    service), and the poller fetches several of them at once."""

    def __init__(self, size: int, per_key: int = 8) -> None:
        self._size = size
        self._per_key = max(1, per_key)
        self._lock = threading.Lock()
        self._idle: OrderedDict[tuple[str, str, int, str], list[_PinnedConnection]] = OrderedDict()
        self._count = 0

    def take(self, scheme: str, host: str, port: int, addresses: Sequence[str]) -> _PinnedConnection | None:
        with self._lock:
            for address in addresses:
                key = (scheme, host, port, address)
                idle = self._idle.get(key)
                if idle:
                    self._count -= 1
                    conn = idle.pop()  # the most recently used: the likeliest still open
                    if not idle:
                        del self._idle[key]
                    return conn
        return None

    def give(self, conn: _PinnedConnection) -> None:
        if self._size <= 0:
            conn.close()
            return
        evicted: list[_PinnedConnection] = []
        with self._lock:
            idle = self._idle.setdefault(conn.key(), [])
            self._idle.move_to_end(conn.key())
            idle.append(conn)
            self._count += 1
            if len(idle) > self._per_key:
                evicted.append(idle.pop(0))
                self._count -= 1
            while self._count > self._size:
                oldest_key = next(iter(self._idle))
                oldest = self._idle[oldest_key]
                evicted.append(oldest.pop(0))
                self._count -= 1
                if not oldest:
                    del self._idle[oldest_key]
        for other in evicted:
            other.close()

    def close(self) -> None:
        with self._lock:
            idle = [conn for conns in self._idle.values() for conn in conns]
            self._idle.clear()
            self._count = 0
        for conn in idle:
            conn.close()


# --- the fetcher ------------------------------------------------------------------------


@dataclass
class _Hop:
    status: int
    headers: http.client.HTTPMessage
    body: bytes


class FeedFetcher:
    """Fetches feeds; see the module's docstring. ``resolve(host, port)`` gives the
    addresses of a host (default: getaddrinfo); ``public(address)`` says whether an
    address may be fetched from when ``allow_private`` is off (default:
    ``is_public_address``); ``tls`` is the context https is checked with (default: the
    system's CAs). Tests replace them; the service does not."""

    def __init__(
        self,
        settings: FeedSettings,
        gate: HostGate | None = None,
        *,
        resolve: Resolver = getaddrinfo_addresses,
        public: Callable[[str], bool] = is_public_address,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.settings = settings
        self._gate = gate
        self._resolve = resolve
        self._public = public
        self._tls = tls if tls is not None else ssl.create_default_context()
        self._pool = _Pool(POOL_SIZE)
        self._watchdog = _Watchdog()
        # getaddrinfo cannot be interrupted: it runs here, and the fetch waits at most the time left.
        self._resolvers = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="feed-dns")

    def close(self) -> None:
        self._pool.close()
        self._watchdog.stop()
        self._resolvers.shutdown(wait=False, cancel_futures=True)

    def __enter__(self) -> FeedFetcher:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def fetch(self, url: str, validators: Validators | None = None, *, insist: bool = False) -> FeedAnswer:
        """GETs the feed at ``url`` (conditionally when ``validators`` are given),
        following redirects. Raises ProviderUnavailable (unreachable, timed out, TLS,
        5xx), ProviderThrottled (429, 503 with Retry-After), FeedRefused (4xx, too many
        redirects, too large, ...), FeedAddressNotAllowed (not a public address)."""
        sent = validators or Validators()
        try:
            current = feed_url("url", url)
        except InvalidValue as bad:
            metrics.count_feed_request("refused")
            raise FeedRefused(bad.message) from None
        requests = 0
        outcome = "unavailable"
        try:
            with self._watchdog.guard(time.monotonic() + self.settings.timeout) as guard:
                for _ in range(self.settings.max_redirects + 1):
                    requests += 1
                    hop = self._hop(current, sent, guard, insist)
                    if hop.status in REDIRECTS:
                        current = self._redirected(current, hop.headers.get("Location"))
                        continue
                    answer = self._answer(current, sent, hop, requests)
                    outcome = "not_modified" if answer.not_modified else "ok"
                    metrics.count_feed_request(outcome, len(answer.body))
                    happened(
                        log, "feed.fetched", logging.DEBUG,
                        host=feed_host(current), status=hop.status, bytes=len(answer.body), requests=requests,
                    )
                    return answer
                raise FeedRefused(
                    f"the feed at {feed_host(url)} redirected more than {self.settings.max_redirects} times"
                )
        except ProviderThrottled:
            outcome = "throttled"
            raise
        except FeedRefused:
            outcome = "refused"
            raise
        finally:
            if outcome not in ("ok", "not_modified"):
                metrics.count_feed_request(outcome)
                happened(log, "feed.failed", logging.DEBUG, host=feed_host(current), outcome=outcome, requests=requests)

    def _redirected(self, current: str, location: str | None) -> str:
        host = feed_host(current)
        if not location:
            raise FeedRefused(f"the feed at {host} redirected without a Location")
        target = urljoin(current, location.strip())
        scheme = urlsplit(target).scheme.lower()
        if scheme not in ("http", "https"):
            raise FeedRefused(f"the feed at {host} redirected to a {scheme[:20]} URL; only http and https are fetched")
        try:
            return feed_url("Location", target)
        except InvalidValue:
            raise FeedRefused(f"the feed at {host} redirected to an invalid URL") from None

    def _answer(self, url: str, sent: Validators, hop: _Hop, requests: int) -> FeedAnswer:
        host = feed_host(url)
        etag = hop.headers.get("ETag", "") or ""
        modified = hop.headers.get("Last-Modified", "") or ""
        if hop.status == 304:
            if not (sent.etag or sent.last_modified):
                raise FeedRefused(f"the feed at {host} answered 304 Not Modified to an unconditional request")
            kept = Validators(etag=etag or sent.etag, last_modified=modified or sent.last_modified)
            return FeedAnswer(True, b"", kept, url, requests)
        if 200 <= hop.status < 300:
            return FeedAnswer(False, hop.body, Validators(etag=etag, last_modified=modified), url, requests)
        raise FeedRefused(f"the feed at {host} answered HTTP {hop.status}")

    def _hop(self, url: str, sent: Validators, guard: _Guard, insist: bool) -> _Hop:
        """One request, inside the gate; errors translated, throttling told to the gate."""
        host = feed_host(url)
        gated = self._gate.request(url, insist=insist) if self._gate is not None else nullcontext()
        with gated:
            try:
                hop = self._exchange(url, sent, guard)
            except (FeedRefused, ProviderUnavailable):
                raise
            except ssl.SSLError as exc:
                if guard.expired:
                    raise _late(host, self.settings.timeout) from None
                raise ProviderUnavailable(f"the TLS connection to the feed at {host} failed ({_tls_reason(exc)})") from None
            except (TimeoutError, concurrent.futures.TimeoutError):
                raise _late(host, self.settings.timeout) from None
            except socket.gaierror:
                raise ProviderUnavailable(f"the feed's host {host} could not be resolved") from None
            except ConnectionRefusedError:
                raise ProviderUnavailable(f"the feed at {host} refused the connection") from None
            except (OSError, http.client.HTTPException) as exc:
                if guard.expired:
                    raise _late(host, self.settings.timeout) from None
                raise ProviderUnavailable(f"the feed at {host} could not be fetched ({type(exc).__name__})") from None
        if hop.status == 429 or (hop.status == 503 and hop.headers.get("Retry-After")):
            retry_after = _seconds(hop.headers.get("Retry-After"))
            if self._gate is not None:
                self._gate.throttled(url, retry_after)
            raise ProviderThrottled(f"the feed at {host} asked us to slow down (HTTP {hop.status})", retry_after=retry_after)
        if hop.status >= 500:
            raise ProviderUnavailable(f"the feed at {host} answered HTTP {hop.status}")
        return hop

    def _addresses(self, parts_host: str, port: int, guard: _Guard) -> list[str]:
        shown = f"{parts_host}" if ":" not in parts_host else f"[{parts_host}]"
        future = self._resolvers.submit(self._resolve, parts_host, port)
        addresses = [str(a) for a in future.result(timeout=guard.left())]
        if not addresses:
            raise ProviderUnavailable(f"the feed's host {shown} could not be resolved")
        if not self.settings.allow_private:
            for address in addresses:
                if not self._public(address):
                    raise FeedAddressNotAllowed(
                        f"the feed's host {shown} resolves to a private address ({address}); only public addresses are fetched"
                    )
        return addresses

    def _exchange(self, url: str, sent: Validators, guard: _Guard) -> _Hop:
        parts = urlsplit(url)
        scheme, host = parts.scheme, parts.hostname or ""
        port = parts.port or _DEFAULT_PORTS[scheme]
        addresses = self._addresses(host, port, guard)
        headers = {
            "Accept": "text/calendar, */*;q=0.5",
            "Accept-Encoding": "gzip, deflate",
            "User-Agent": self.settings.user_agent,
        }
        if sent.etag:
            headers["If-None-Match"] = sent.etag
        if sent.last_modified:
            headers["If-Modified-Since"] = sent.last_modified
        if parts.username is not None:
            secret = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(secret).decode("ascii")
        target = urlunsplit(("", "", parts.path or "/", parts.query, ""))
        pooled = self._pool.take(scheme, host, port, addresses)
        if pooled is not None:
            pooled.guard = guard
            guard.watch(pooled.sock)
            try:
                return self._send(pooled, target, headers, guard, feed_host(url))
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                pooled.close()  # the server closed it while idle: nothing was answered, ask on a new one
                guard.left()
        tls = self._tls if scheme == "https" else None
        failure: OSError | None = None
        for address in addresses:
            conn = _PinnedConnection(scheme, host, port, address, tls, guard)
            try:
                conn.connect()
            except ssl.SSLError:
                conn.close()
                raise
            except OSError as exc:
                conn.close()
                failure = exc
                guard.left()
                continue
            return self._send(conn, target, headers, guard, feed_host(url))
        assert failure is not None
        raise failure

    def _send(
        self, conn: _PinnedConnection, target: str, headers: dict[str, str], guard: _Guard, host: str
    ) -> _Hop:
        keep = False
        try:
            assert conn.sock is not None
            conn.sock.settimeout(guard.left())
            sock = conn.sock  # the response reads from it even after a will-close answer drops it from conn
            conn.request("GET", target, headers=headers)
            sock.settimeout(guard.left())
            response = conn.getresponse()
            ok = 200 <= response.status < 300
            body = self._body(sock, response, guard, host) if ok else _drain(conn, sock, response, guard)
            keep = not response.will_close and response.isclosed()
            return _Hop(response.status, response.headers, body)
        finally:
            if keep:
                self._pool.give(conn)
            else:
                conn.close()

    def _body(self, sock: socket.socket, response: http.client.HTTPResponse, guard: _Guard, host: str) -> bytes:
        cap = self.settings.max_bytes
        too_large = FeedRefused(f"the feed at {host} is larger than {cap} bytes")
        length = response.getheader("Content-Length")
        if length is not None and length.strip().isdigit() and int(length) > cap:
            raise too_large
        encoding = (response.getheader("Content-Encoding") or "identity").strip().lower()
        decoder: _Decoder
        if encoding in ("identity", ""):
            decoder = _Decoder(None)
        elif encoding in ("gzip", "x-gzip"):
            decoder = _Decoder(zlib.decompressobj(16 + zlib.MAX_WBITS))
        elif encoding == "deflate":
            decoder = _Decoder(zlib.decompressobj(), raw_fallback=True)
        else:
            raise FeedRefused(f"the feed at {host} answered in an encoding we did not ask for ({encoding[:20]})")
        out: list[bytes] = []
        size = 0
        try:
            while True:
                sock.settimeout(guard.left())
                chunk = response.read1(_CHUNK)
                if not chunk:
                    if response.length:  # the connection ended before Content-Length's bytes came
                        raise http.client.IncompleteRead(b"", response.length)
                    response.close()
                    break
                for piece in decoder.feed(chunk, cap - size + 1):
                    size += len(piece)
                    if size > cap:
                        raise too_large
                    out.append(piece)
            for piece in decoder.finish(cap - size + 1):
                size += len(piece)
                if size > cap:
                    raise too_large
                out.append(piece)
        except zlib.error:
            raise FeedRefused(f"the feed at {host} sent a body that does not decode as {encoding}") from None
        return b"".join(out)


def _drain(conn: _PinnedConnection, sock: socket.socket, response: http.client.HTTPResponse, guard: _Guard) -> bytes:
    """Reads (and drops) a small error or redirect body so that the connection can be
    reused; a large one closes the connection instead."""
    if response.length is None and not response.chunked:  # ends when the connection does
        conn.close()
        return b""
    drained = 0
    while not response.isclosed() and drained <= _CHUNK:
        sock.settimeout(guard.left())
        chunk = response.read1(_CHUNK)
        if not chunk:
            if response.length == 0:
                response.close()
            break
        drained += len(chunk)
    if not response.isclosed():
        conn.close()
    return b""


class _Decoder:
    """gzip/deflate decoded incrementally, never more than ``room`` bytes at a time."""

    def __init__(self, inflater: zlib._Decompress | None, *, raw_fallback: bool = False) -> None:
        self._inflater = inflater
        self._raw_fallback = raw_fallback  # "deflate" servers that send raw deflate without the zlib header
        self._started = False

    def feed(self, data: bytes, room: int) -> Iterator[bytes]:
        if self._inflater is None:
            yield data
            return
        if not self._started:
            self._started = True
            try:
                first = self._inflater.decompress(data, room)
            except zlib.error:
                if not self._raw_fallback:
                    raise
                self._inflater = zlib.decompressobj(-zlib.MAX_WBITS)
                first = self._inflater.decompress(data, room)
            yield first
        else:
            yield self._inflater.decompress(data, room)
        while self._inflater.unconsumed_tail:
            yield self._inflater.decompress(self._inflater.unconsumed_tail, room)

    def finish(self, room: int) -> Iterator[bytes]:
        if self._inflater is None:
            return
        yield self._inflater.flush(room)
        if not self._inflater.eof and self._started:
            raise zlib.error("truncated")


def _late(host: str, timeout: float) -> ProviderUnavailable:
    return ProviderUnavailable(f"the feed at {host} did not answer within {timeout:g}s")


def _tls_reason(exc: ssl.SSLError) -> str:
    return str(getattr(exc, "verify_message", "") or getattr(exc, "reason", "") or type(exc).__name__)[:100]


__all__ = [
    "FeedAddressNotAllowed",
    "FeedAnswer",
    "FeedFetcher",
    "FeedRefused",
    "FeedSettings",
    "Validators",
    "feed_host",
    "feed_url",
    "getaddrinfo_addresses",
    "is_public_address",
]
