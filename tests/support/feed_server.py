"""A real loopback HTTP/1.1 server of iCalendar feeds, for tests of subscribed calendars.

    with FeedServer() as server:
        server.set("/h.ics", ICS)                 # 200 with a strong ETag (hash of the body) and Last-Modified
        url = server.url("/h.ics")                # http://127.0.0.1:PORT/h.ics
        ...                                       # a poll
        server.set("/h.ics", ICS2)                # the content changes: a new ETag and Last-Modified
        server.requests_to("/h.ics")[-1].headers["if-none-match"]   # what the poll sent

Per path, the last call wins:

- ``set(path, body, *, etag=True, last_modified=True, encoding="", content_type=...)``:
  content; ``If-None-Match`` (first) or ``If-Modified-Since`` answered with 304;
  ``etag=False`` / ``last_modified=False`` leave that validator out, a datetime sets
  Last-Modified; ``encoding="gzip"`` or ``"deflate"`` serves the body compressed;
- ``answer(path, status, headers=None, body=b"")``: that status, e.g.
  ``answer(p, 503, {"Retry-After": "120"})``;
- ``redirect(path, to, status=302)``: ``to`` is a path of this server or an absolute URL;
- ``garbage(path, size=4096)``: random bytes served as text/calendar;
- ``sized(path, size, *, content_length=True)``: ``size`` bytes of ``X`` streamed
  without holding them (``content_length=False``: no length, the body ends when the
  connection is closed);
- ``stall(path, after_bytes=None)``: the server says nothing (or sends headers and
  ``after_bytes`` bytes of a longer body) until ``release()`` or the server stops.

``requests`` lists every request (``Seen``: method, path with query, headers with
lowercased names) in arrival order; ``requests_to(path)`` those to one path.
``FeedServer(tls=context)`` serves https with that server-side ``ssl.SSLContext``
(the handshake runs in the connection's thread); ``tls_server_names`` lists the
names clients asked for (SNI).

``connections`` counts TCP connections accepted (keep-alive reuse is visible in it);
``close_connections()`` closes every open one, as a server does with idle keep-alives.
"""

from __future__ import annotations

import email.utils
import gzip
import hashlib
import os
import socket
import ssl
import threading
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    headers: dict[str, str]


@dataclass
class _Route:
    kind: str  # content, status, redirect, sized, stall
    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    etag: str = ""
    modified: datetime | None = None
    size: int = 0
    content_length: bool = True
    after_bytes: int | None = None


class FeedServer:
    """See the module's docstring."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.scheme = "https" if tls is not None else "http"
        self.tls_server_names: list[str | None] = []
        if tls is not None:
            tls.sni_callback = self._sni
        self._routes: dict[str, _Route] = {}
        self._lock = threading.Lock()
        self._released = threading.Event()
        self.requests: list[Seen] = []
        self.connections = 0
        self._open: set[socket.socket] = set()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                if tls is not None:
                    self.request = tls.wrap_socket(self.request, server_side=True)
                super().setup()
                with server._lock:
                    server.connections += 1
                    server._open.add(self.connection)

            def finish(self) -> None:
                with server._lock:
                    server._open.discard(self.connection)
                super().finish()

            def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
                server._serve(self)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self._httpd = _Quiet(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), name="feed-server", daemon=True)

    # --- life --------------------------------------------------------------------------
    def start(self) -> FeedServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._released.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()

    def __enter__(self) -> FeedServer:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"{self.scheme}://{host}:{self.port}{path}"

    def _sni(self, sock: ssl.SSLObject | ssl.SSLSocket, name: str | None, context: ssl.SSLContext) -> None:
        with self._lock:
            self.tls_server_names.append(name)

    def close_connections(self) -> None:
        with self._lock:
            open_now = list(self._open)
        for sock in open_now:
            try:
                socket.socket.shutdown(sock, socket.SHUT_RDWR)  # an SSL socket's own would unwrap it
            except OSError:
                pass

    def release(self) -> None:
        """Lets every stalled answer go on (the server's stop does too)."""
        self._released.set()

    # --- what each path answers -----------------------------------------------------------
    def set(
        self,
        path: str,
        body: bytes | str,
        *,
        etag: bool = True,
        last_modified: bool | datetime = True,
        encoding: str = "",
        content_type: str = "text/calendar; charset=utf-8",
    ) -> None:
        data = body.encode() if isinstance(body, str) else body
        tag = f'"{hashlib.sha256(data).hexdigest()[:32]}"' if etag else ""
        if last_modified is True:
            modified: datetime | None = datetime.now(UTC).replace(microsecond=0)
        else:
            modified = last_modified or None
        headers = {"Content-Type": content_type}
        if encoding == "gzip":
            data = gzip.compress(data, compresslevel=6)
        elif encoding == "deflate":
            data = zlib.compress(data)
        elif encoding:
            raise ValueError(f"unknown encoding {encoding!r}")
        if encoding:
            headers["Content-Encoding"] = encoding
        self._route(path, _Route("content", body=data, headers=headers, etag=tag, modified=modified))

    def answer(self, path: str, status: int, headers: dict[str, str] | None = None, body: bytes = b"") -> None:
        self._route(path, _Route("status", status=status, headers=dict(headers or {}), body=body))

    def redirect(self, path: str, to: str, status: int = 302) -> None:
        self._route(path, _Route("redirect", status=status, headers={"Location": to}))

    def garbage(self, path: str, size: int = 4096) -> None:
        self.set(path, os.urandom(size))

    def sized(self, path: str, size: int, *, content_length: bool = True) -> None:
        self._route(path, _Route("sized", size=size, content_length=content_length))

    def stall(self, path: str, after_bytes: int | None = None) -> None:
        self._route(path, _Route("stall", after_bytes=after_bytes))

    def requests_to(self, path: str) -> list[Seen]:
        with self._lock:
            return [seen for seen in self.requests if urlsplit(seen.path).path == path]

    def _route(self, path: str, route: _Route) -> None:
        with self._lock:
            self._routes[path] = route

    # --- serving ------------------------------------------------------------------------
    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        headers = {name.lower(): value for name, value in handler.headers.items()}
        with self._lock:
            self.requests.append(Seen(handler.command, handler.path, headers))
            route = self._routes.get(urlsplit(handler.path).path)
        if route is None:
            return _send(handler, 404, {}, b"not found")
        if route.kind == "status":
            return _send(handler, route.status, route.headers, route.body)
        if route.kind == "redirect":
            return _send(handler, route.status, route.headers, b"")
        if route.kind == "sized":
            return self._sized(handler, route)
        if route.kind == "stall":
            return self._stall(handler, route)
        validators = {}
        if route.etag:
            validators["ETag"] = route.etag
        if route.modified is not None:
            validators["Last-Modified"] = email.utils.format_datetime(route.modified, usegmt=True)
        if _not_modified(route, headers):
            return _send(handler, 304, validators, b"")
        return _send(handler, 200, {**route.headers, **validators}, route.body)

    def _sized(self, handler: BaseHTTPRequestHandler, route: _Route) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/calendar")
        if route.content_length:
            handler.send_header("Content-Length", str(route.size))
        else:
            handler.send_header("Connection", "close")
            handler.close_connection = True
        handler.end_headers()
        block = b"X" * 65536
        left = route.size
        try:
            while left > 0:
                handler.wfile.write(block[: min(left, len(block))])
                left -= min(left, len(block))
        except OSError:
            pass  # the client stopped reading: that is what a cap does

    def _stall(self, handler: BaseHTTPRequestHandler, route: _Route) -> None:
        if route.after_bytes is not None:
            handler.send_response(200)
            handler.send_header("Content-Length", str(route.after_bytes + 1024))
            handler.end_headers()
            handler.wfile.write(b"X" * route.after_bytes)
            handler.wfile.flush()
        self._released.wait()
        handler.close_connection = True


class _Quiet(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up or fails the TLS handshake is what some tests do."""


def _not_modified(route: _Route, headers: dict[str, str]) -> bool:
    """RFC 9110 13.2.2: If-None-Match decides when present, else If-Modified-Since."""
    if "if-none-match" in headers:
        if not route.etag:
            return False
        wanted = [tag.strip().removeprefix("W/") for tag in headers["if-none-match"].split(",")]
        return "*" in wanted or route.etag in wanted
    since = headers.get("if-modified-since")
    if since and route.modified is not None:
        try:
            return route.modified <= email.utils.parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
    return False


def _send(handler: BaseHTTPRequestHandler, status: int, headers: dict[str, str], body: bytes) -> None:
    handler.send_response(status)
    for name, value in headers.items():
        handler.send_header(name, value)
    if status != 304:
        handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    if status != 304 and body:
        handler.wfile.write(body)
