"""Plumbing of ``fault_proxy.FaultProxy``: request records, matching, the servers'
sync-token refusals, the listener/handler and the URL rewriting (tests only)."""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal, NamedTuple

SyncTokenStyle = Literal["radicale", "xandikos", "icloud"]
HOP_BY_HOP = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
    "trailer", "trailers", "transfer-encoding", "upgrade", "proxy-connection",
}  # fmt: skip
NOT_FORWARDED = HOP_BY_HOP | {"host", "content-length", "accept-encoding", "expect"}
NOT_RETURNED = HOP_BY_HOP | {"content-length", "content-encoding"}
_TEXT_TYPES = ("xml", "html", "text/plain")
_SYNC_TOKEN = re.compile(rb"<(?:[\w.-]+:)?sync-token\b[^>]*(?<!/)>\s*([^<\s][^<]*?)\s*</", re.S)
_HOME_SET = re.compile(
    rb"(<(?:[\w.-]+:)?calendar-home-set\b[^>]*(?<!/)>)(.*?)(</(?:[\w.-]+:)?calendar-home-set\s*>)",
    re.S,
)
_HREF = re.compile(rb"(<(?:[\w.-]+:)?href\b[^>]*>)\s*([^<]*?)\s*(</)", re.S)


class RequestInfo(NamedTuple):
    """What a fault's ``match`` sees of a request (headers include Authorization)."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes
    listener: str


class LoggedRequest(NamedTuple):
    """One answered request. ``headers`` never hold Authorization; ``fault`` names
    the rule that answered instead of the upstream (None when forwarded)."""

    method: str
    path: str
    headers: dict[str, str]
    status: int
    listener: str
    fault: str | None
    body: bytes


@dataclass(frozen=True)
class Match:
    """Accepts requests whose method equals ``method`` (case-insensitive), whose
    raw request path contains ``path`` and whose body contains ``body``."""

    method: str | None = None
    path: str | None = None
    body: str | bytes | None = None

    def __call__(self, request: RequestInfo | LoggedRequest) -> bool:
        if self.method is not None and request.method.upper() != self.method.upper():
            return False
        if self.path is not None and self.path not in request.path:
            return False
        if self.body is not None:
            needle = self.body.encode() if isinstance(self.body, str) else self.body
            return needle in request.body
        return True


Matcher = Match | Callable[[RequestInfo], bool] | None
Answer = tuple[int, list[tuple[str, str]], bytes]


def as_bytes(data: str | bytes) -> bytes:
    return data.encode("utf-8") if isinstance(data, str) else data


def sync_token_of(body: bytes) -> str | None:
    """The non-empty DAV:sync-token of a sync-collection REPORT body, else None."""
    if b"sync-collection" not in body:
        return None
    found = _SYNC_TOKEN.search(body)
    return found.group(1).decode("utf-8", "replace") if found else None


def refusal(style: SyncTokenStyle, status: int | None) -> Callable[[RequestInfo], Answer]:
    """The invalid-sync-token answer of each server, as it sends it."""

    def answer(request: RequestInfo) -> Answer:
        token = sync_token_of(request.body) or ""
        if style == "radicale":  # Radicale 3.9, app/report.py (seen on the wire)
            body = (b"<?xml version='1.0' encoding='utf-8'?>\n"
                    b'<error xmlns="DAV:"><valid-sync-token /></error>')  # fmt: skip
            return status or 403, [("Content-Type", "text/xml; charset=utf-8")], body
        if style == "xandikos":  # Xandikos 0.4, sync.py (seen on the wire)
            text = f"Requested sync token {token} is invalid".replace("&", "&amp;")
            body = ('<ns0:error xmlns:ns0="DAV:"><ns0:valid-sync-token /><ns0:responsedescription>'
                    f"{text.replace('<', '&lt;')}</ns0:responsedescription></ns0:error>").encode()
            return status or 412, [("Content-Type", 'text/xml; encoding="utf-8"')], body
        # iCloud as reported by the DAVx5 developers (forums.bitfire.at topic 1858,
        # Apple bug report 2018-10-12): 412 with the DAV:valid-sync-token precondition,
        # but labelled text/plain.
        body = (b"<?xml version='1.0' encoding='UTF-8'?>\n<error xmlns='DAV:'>\n"
                b"<valid-sync-token/>\n</error>\n")  # fmt: skip
        headers = [("Content-Type", "text/plain; charset=UTF-8"),
                   ("Server", "AppleHttpServer/2f080fc0")]  # fmt: skip
        return status or 412, headers, body

    if style not in ("radicale", "xandikos", "icloud"):
        raise ValueError(f"unknown sync-token refusal style {style!r}")
    return answer


class ListenerServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()

    def get_request(self) -> tuple[socket.socket, Any]:
        connection, address = super().get_request()
        with self.connections_lock:
            self.connections.add(connection)
        return connection, address

    def shutdown_request(self, request: Any) -> None:
        with self.connections_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def drop_connections(self) -> None:
        """Cut idle keep-alive connections so their handler threads end."""
        with self.connections_lock:
            connections = list(self.connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    owner: Any  # the FaultProxy; its _serve(handler, body) answers
    listener: str

    def __getattr__(self, name: str) -> Any:
        if name.startswith("do_"):  # every method token is proxied alike
            return self._proxy_request
        raise AttributeError(name)

    def _proxy_request(self) -> None:
        self.owner._serve(self, self._read_body())

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        """Keep test output quiet."""


def matcher(match: Matcher) -> Callable[[RequestInfo], bool]:
    return (lambda _: True) if match is None else match


def log_matches(entry: LoggedRequest, method: str | None, match: str | Matcher) -> bool:
    if method is not None and entry.method.upper() != method.upper():
        return False
    if isinstance(match, str):
        return match in entry.path
    return match is None or bool(match(entry))  # type: ignore[arg-type]


def is_text(content_type: str, body: bytes) -> bool:
    lowered = content_type.lower()
    return any(kind in lowered for kind in _TEXT_TYPES) or (
        not lowered and body.lstrip().startswith(b"<")
    )


def rewrite(data: bytes, origins: list[str], target: str) -> bytes:
    """Replace each absolute ``origin`` (not followed by another port digit)."""
    for origin in origins:
        data = re.sub(re.escape(origin.encode()) + rb"(?![0-9])", target.encode(), data)
    return data


def rewrite_text(value: str, origins: list[str], target: str) -> str:
    return rewrite(value.encode("latin-1"), origins, target).decode("latin-1")


def point_home_at(payload: bytes, partition_origin: str) -> bytes:
    """Make every calendar-home-set href an absolute URL on the partition host."""

    def href(found: re.Match[bytes]) -> bytes:
        value = found.group(2)
        if value.startswith(b"/"):
            value = partition_origin.encode() + value
        elif value.startswith(b"http"):
            value = re.sub(rb"^https?://[^/]+", partition_origin.encode(), value)
        return found.group(1) + value + found.group(3)

    def home(found: re.Match[bytes]) -> bytes:
        return found.group(1) + _HREF.sub(href, found.group(2)) + found.group(3)

    return _HOME_SET.sub(home, payload)


def send_answer(
    handler: ProxyHandler, status: int, headers: list[tuple[str, str]], payload: bytes
) -> None:
    try:
        handler.send_response_only(status)
        for name, value in headers:
            handler.send_header(name, value)
        bodyless = handler.command.upper() == "HEAD" or status in (204, 304) or status < 200
        if not bodyless:
            handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        if not bodyless:
            handler.wfile.write(payload)
        handler.wfile.flush()
    except OSError:  # the client gave up (e.g. timed out during a delay)
        handler.close_connection = True
