"""pytest fixtures and helpers around the real CalDAV servers of ``caldav_servers``.

Import the fixtures into a test module (or list this module in a root conftest's
``pytest_plugins``)::

    from tests.support.fixtures import radicale, xandikos  # noqa: F401

One server of each kind runs for the whole session; tests stay independent by
creating a fresh account each with ``new_account(server)``.
"""

from __future__ import annotations

import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.support.caldav_servers import (
    CalDAVTestServer,
    RadicaleServer,
    ServerSetupUnavailable,
    XandikosServer,
    app_specific_password,
)


@pytest.fixture(scope="session")
def radicale() -> Iterator[RadicaleServer]:
    """One Radicale server (plain HTTP, htpasswd auth) for the whole session."""
    with RadicaleServer() as server:
        yield server


@pytest.fixture(scope="session")
def xandikos() -> Iterator[XandikosServer]:
    """One Xandikos server (HTTPS with a self-signed certificate, htpasswd auth).

    Clients must pass ``server.verify_tls`` (the certificate's path) as CA bundle.
    Skips the test when the machine cannot run it (no ``openssl`` command).
    """
    server = XandikosServer()
    try:
        server.start()
    except ServerSetupUnavailable as exc:
        pytest.skip(f"Xandikos cannot run here: {exc}")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["radicale", "xandikos"])
def caldav_server(request: pytest.FixtureRequest) -> CalDAVTestServer:
    """Each test using it runs once against Radicale and once against Xandikos."""
    server: CalDAVTestServer = request.getfixturevalue(request.param)
    return server


def new_account(server: CalDAVTestServer) -> tuple[str, str]:
    """A fresh user on ``server``: (Apple-ID-like e-mail, app-specific password).

    The password has Apple's ``xxxx-xxxx-xxxx-xxxx`` format; the user name is unique
    (``user-<uuid hex>@example.test``), so tests sharing a server never collide.
    """
    username = f"user-{uuid.uuid4().hex}@example.test"
    password = app_specific_password()
    server.add_user(username, password)
    return username, password


class _FixedAnswerHandler(BaseHTTPRequestHandler):
    status = 503
    body = b""
    content_type = "text/plain"

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.send_response(self.status)
        self.send_header("Content-Type", self.content_type)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    do_GET = do_PUT = do_POST = do_DELETE = do_OPTIONS = _answer
    do_PROPFIND = do_REPORT = do_MKCALENDAR = _answer

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        """Keep test output quiet."""


@contextmanager
def http_server_answering(
    status: int, body: bytes = b"", content_type: str = "text/plain"
) -> Iterator[str]:
    """A plain HTTP server on 127.0.0.1 answering every request alike; yields its URL."""
    attributes = {"status": status, "body": body, "content_type": content_type}
    handler = type("FixedAnswerHandler", (_FixedAnswerHandler,), attributes)
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@contextmanager
def tcp_listener_that_never_answers() -> Iterator[str]:
    """A port that accepts connections (into the kernel backlog) but never answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/"
