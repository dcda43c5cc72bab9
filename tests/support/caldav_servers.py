"""Real CalDAV servers (Radicale, Xandikos) run as subprocesses for integration tests.

Each server listens on 127.0.0.1 on a free port and keeps everything in a temporary
directory that ``stop()`` deletes. Users are added with ``add_user``; both servers
re-read their htpasswd file while running, so accounts can be added at any time.
Test data is set up through plain CalDAV/WebDAV HTTP requests (MKCALENDAR, PUT,
DELETE) made as the account's own user, so the servers see ordinary client traffic.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import shutil
import socket
import string
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import Self
from urllib.parse import quote

import requests

DAV = "DAV:"
CALDAV = "urn:ietf:params:xml:ns:caldav"
APPLE_ICAL = "http://apple.com/ns/ical/"


class ServerStartError(RuntimeError):
    """The server process could not be started (the message carries its stderr)."""


class ServerSetupUnavailable(ServerStartError):
    """Something the server needs is missing on this machine (tests should skip)."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def app_specific_password() -> str:
    """A password in Apple's app-specific format: ``abcd-efgh-ijkl-mnop``."""
    letters = "".join(secrets.choice(string.ascii_lowercase) for _ in range(16))
    return "-".join(letters[i : i + 4] for i in range(0, 16, 4))


class CalDAVTestServer:
    """A CalDAV server subprocess; use as a context manager or call start()/stop()."""

    name = "caldav"
    scheme = "http"
    startup_timeout = 30.0

    def __init__(self) -> None:
        self.port = 0
        self.verify_tls: bool | str = True
        self._workdir: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._stderr_path: Path | None = None
        self._users_lock = threading.Lock()
        self._htpasswd_mtime_ns = 0

    # --- lifecycle -------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}/"

    @property
    def workdir(self) -> Path:
        if self._workdir is None:
            raise RuntimeError(f"{self.name} is not started")
        return self._workdir

    @property
    def htpasswd_path(self) -> Path:
        return self.workdir / "users.htpasswd"

    def start(self) -> None:
        self._workdir = Path(tempfile.mkdtemp(prefix=f"{self.name}-test-"))
        self.htpasswd_path.write_text("", encoding="utf-8")
        try:
            self._prepare()
            for attempt in range(3):
                self.port = free_port()
                try:
                    self._launch()
                    return
                except ServerStartError as exc:
                    # Another process may have taken the port between free_port() and bind.
                    if "in use" not in str(exc).lower() or attempt == 2:
                        raise
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def stderr_text(self) -> str:
        if self._stderr_path is None or not self._stderr_path.exists():
            return ""
        return self._stderr_path.read_text(encoding="utf-8", errors="replace")

    def _prepare(self) -> None:
        """Write configuration files into the work directory (before the first launch)."""

    def _command(self) -> list[str]:
        raise NotImplementedError

    def _launch(self) -> None:
        self._stderr_path = self.workdir / f"stderr-{self.port}.log"
        with open(self._stderr_path, "wb") as stderr:
            self._process = subprocess.Popen(
                self._command(), cwd=self.workdir, stdout=subprocess.DEVNULL, stderr=stderr
            )
        self._wait_until_ready(self._process)

    def _wait_until_ready(self, process: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while True:
            if process.poll() is not None:
                self._process = None
                raise ServerStartError(
                    f"{self.name} exited with code {process.returncode}:\n{self.stderr_text()}"
                )
            if self._answers_http():
                return
            if time.monotonic() > deadline:
                self._kill(process)
                raise ServerStartError(
                    f"{self.name} did not answer on {self.base_url} within "
                    f"{self.startup_timeout}s:\n{self.stderr_text()}"
                )
            try:  # waits on the process, returning early if it dies
                process.wait(timeout=0.05)
            except subprocess.TimeoutExpired:
                pass

    def _kill(self, process: subprocess.Popen[bytes]) -> None:
        process.kill()
        process.wait(timeout=10)
        self._process = None

    def _answers_http(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                pass
            response = requests.options(self.base_url, timeout=2, verify=self.verify_tls)
        except (OSError, requests.RequestException):
            return False
        return response.status_code < 500

    # --- users ---------------------------------------------------------------

    def add_user(self, username: str, password: str) -> None:
        """Add an account; the running server sees it on the next request."""
        if ":" in username or "\n" in username + password:
            raise ValueError("username must not contain ':' or newlines")
        with self._users_lock:
            content = self.htpasswd_path.read_text(encoding="utf-8")
            content += f"{username}:{self._hash(password)}\n"
            tmp = self.htpasswd_path.with_suffix(".tmp")
            tmp.write_text(content, encoding="utf-8")
            # Servers notice changes by mtime; make every version's mtime distinct even
            # when two users are added within the file system's timestamp granularity.
            self._htpasswd_mtime_ns = max(time.time_ns(), self._htpasswd_mtime_ns + 1_000_000)
            os.utime(tmp, ns=(self._htpasswd_mtime_ns, self._htpasswd_mtime_ns))
            os.replace(tmp, self.htpasswd_path)

    def _hash(self, password: str) -> str:
        raise NotImplementedError

    # --- CalDAV data set-up ----------------------------------------------------

    def home_path(self, username: str) -> str:
        """The path of the user's calendar home (where calendars are created)."""
        raise NotImplementedError

    def request(
        self,
        method: str,
        path: str,
        auth: tuple[str, str],
        *,
        body: bytes | str | None = None,
        headers: dict[str, str] | None = None,
        expect: Sequence[int] = (200, 201, 204, 207),
    ) -> requests.Response:
        """One HTTP request to the server; raises if the status is not in ``expect``."""
        url = self.base_url.rstrip("/") + path
        response = requests.request(
            method, url, data=body, headers=headers, auth=auth, timeout=10, verify=self.verify_tls
        )
        if response.status_code not in expect:
            raise RuntimeError(
                f"{method} {path} on {self.name} answered {response.status_code}: {response.text}"
            )
        return response

    def create_calendar(
        self,
        username: str,
        password: str,
        slug: str,
        display_name: str | None,
        *,
        color: str | None = None,
        components: Sequence[str] = ("VEVENT",),
    ) -> str:
        """MKCALENDAR ``<home>/<slug>/`` (no displayname if None); returns its path."""
        path = f"{self.home_path(username)}{quote(slug, safe='')}/"
        self._mkcalendar(path, (username, password), display_name, color, components)
        return path

    def _mkcalendar(
        self, path: str, auth: tuple[str, str], display_name: str | None, color: str | None,
        components: Sequence[str],
    ) -> None:
        body = mkcalendar_body(display_name, color, components)
        headers = {"Content-Type": "application/xml; charset=utf-8"}
        self.request("MKCALENDAR", path, auth, body=body, headers=headers, expect=(201,))

    def create_reminders_list(
        self, username: str, password: str, slug: str, display_name: str
    ) -> str:
        """A collection that only holds VTODO (what iCloud uses for Reminders lists)."""
        return self.create_calendar(username, password, slug, display_name, components=("VTODO",))

    def put_ics(
        self, username: str, password: str, path: str, ics: str, *, etag: str | None = None
    ) -> str | None:
        """PUT an iCalendar resource (``If-Match`` when ``etag`` is given); returns its ETag."""
        headers = {"Content-Type": "text/calendar; charset=utf-8"}
        if etag is not None:
            headers["If-Match"] = etag
        response = self.request(
            "PUT", path, (username, password), body=ics.encode("utf-8"), headers=headers,
            expect=(201, 204),
        )
        return response.headers.get("ETag")

    def delete(self, username: str, password: str, path: str) -> None:
        self.request("DELETE", path, (username, password), expect=(200, 204))


def mkcalendar_body(
    display_name: str | None, color: str | None, components: Sequence[str]
) -> bytes:
    """The XML body of a MKCALENDAR request (RFC 4791 section 5.3.1)."""
    ET.register_namespace("D", DAV)
    ET.register_namespace("C", CALDAV)
    ET.register_namespace("I", APPLE_ICAL)
    root = ET.Element(f"{{{CALDAV}}}mkcalendar")
    prop = ET.SubElement(ET.SubElement(root, f"{{{DAV}}}set"), f"{{{DAV}}}prop")
    if display_name is not None:
        ET.SubElement(prop, f"{{{DAV}}}displayname").text = display_name
    if color is not None:
        ET.SubElement(prop, f"{{{APPLE_ICAL}}}calendar-color").text = color
    component_set = ET.SubElement(prop, f"{{{CALDAV}}}supported-calendar-component-set")
    for component in components:
        ET.SubElement(component_set, f"{{{CALDAV}}}comp", name=component)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


class RadicaleServer(CalDAVTestServer):
    """Radicale with htpasswd (plain) auth; a user owns ``/<user>/``.

    Radicale 3.9 re-reads the htpasswd file on every login (``htpasswd_cache`` is
    off by default), so ``add_user`` works while it runs. ``[auth] delay`` is 0:
    by default Radicale sleeps about 1 s on every 401, which includes the
    unauthenticated first request of each caldav client.

    Collections named ``readonly-*`` in a home are read-only for their owner; only
    this class's internal admin user can create them (``create_read_only_calendar``).
    """

    name = "radicale"
    READ_ONLY_PREFIX = "readonly-"

    def __init__(self) -> None:
        super().__init__()
        self._admin = (f"admin-{secrets.token_hex(8)}", app_specific_password())

    def _prepare(self) -> None:
        admin = self._admin[0]
        (self.workdir / "rights").write_text(
            f"[admin]\nuser: {admin}\ncollection: .*\npermissions: RrWw\n\n"
            f"[read-only calendars]\nuser: .+\n"
            f"collection: {{user}}/{self.READ_ONLY_PREFIX}[^/]+\npermissions: r\n\n"
            "[root]\nuser: .+\ncollection:\npermissions: R\n\n"
            "[principal]\nuser: .+\ncollection: {user}\npermissions: RW\n\n"
            "[calendars]\nuser: .+\ncollection: {user}/[^/]+\npermissions: rw\n",
            encoding="utf-8",
        )
        self.add_user(*self._admin)

    def _command(self) -> list[str]:
        config = self.workdir / f"config-{self.port}"
        config.write_text(
            f"[server]\nhosts = 127.0.0.1:{self.port}\ndelay_on_error = 0\n\n"
            f"[auth]\ntype = htpasswd\nhtpasswd_filename = {self.htpasswd_path}\n"
            "htpasswd_encryption = plain\ndelay = 0\n\n"
            f"[rights]\ntype = from_file\nfile = {self.workdir / 'rights'}\n\n"
            f"[storage]\nfilesystem_folder = {self.workdir / 'collections'}\n\n"
            "[web]\ntype = none\n\n[logging]\nlevel = warning\n",
            encoding="utf-8",
        )
        return [sys.executable, "-m", "radicale", "--config", str(config)]

    def _hash(self, password: str) -> str:
        return password

    def home_path(self, username: str) -> str:
        return f"/{quote(username, safe='')}/"

    def create_read_only_calendar(
        self, username: str, password: str, slug: str, display_name: str, *,
        color: str | None = None,
    ) -> str:
        """An event calendar in the user's home that the user may read but not write."""
        home = self.home_path(username)
        # The user's first request makes Radicale create the home (principal) collection.
        self.request("PROPFIND", home, (username, password), headers={"Depth": "0"})
        path = f"{home}{quote(self.READ_ONLY_PREFIX + slug, safe='')}/"
        self._mkcalendar(path, self._admin, display_name, color, ["VEVENT"])
        return path


class XandikosServer(CalDAVTestServer):
    """Xandikos in ``multi-user`` mode with ``--htpasswd`` Basic authentication.

    Xandikos only accepts ``--htpasswd`` together with ``--autocert`` (HTTPS), so this
    class writes a self-signed certificate for 127.0.0.1 into Xandikos' state
    directory first (with the ``openssl`` command; ``ServerSetupUnavailable`` if there
    is none) and sets ``verify_tls`` to its path.
    Passwords are stored as ``{SHA}`` (bcrypt would need an extra package). Xandikos
    re-reads the htpasswd file when its mtime changes. A user's principal is
    ``/<user>/``, created with an empty calendar home ``/<user>/calendars/`` on the
    user's first request.
    """

    name = "xandikos"
    scheme = "https"

    def _prepare(self) -> None:
        cert_dir = self.workdir / "state" / "certs"
        cert_dir.mkdir(parents=True)
        write_self_signed_certificate(cert_dir / "selfsigned.crt", cert_dir / "selfsigned.key")
        self.verify_tls = str(cert_dir / "selfsigned.crt")

    def _command(self) -> list[str]:
        executable = Path(sys.executable).with_name("xandikos")
        program = [str(executable)] if executable.exists() else [sys.executable, "-m", "xandikos"]
        return [
            *program, "multi-user",
            "--directory", str(self.workdir / "data"),
            "--state-dir", str(self.workdir / "state"),
            "--listen-address", "127.0.0.1", "--port", str(self.port),
            "--autocert", "--htpasswd", str(self.htpasswd_path), "--no-detect-systemd",
        ]  # fmt: skip

    def _hash(self, password: str) -> str:
        return "{SHA}" + base64.b64encode(hashlib.sha1(password.encode()).digest()).decode()

    def home_path(self, username: str) -> str:
        return f"/{quote(username, safe='')}/calendars/"


def write_self_signed_certificate(cert_path: Path, key_path: Path) -> None:
    """A certificate for IP 127.0.0.1 made with the ``openssl`` command.

    Valid for ten years: Xandikos regenerates certificates that expire within 30 days.
    """
    openssl = shutil.which("openssl")
    if openssl is None:
        raise ServerSetupUnavailable("Xandikos with passwords needs HTTPS: no openssl command")
    completed = subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key_path), "-out", str(cert_path)],
        capture_output=True, timeout=60, check=False,
    )  # fmt: skip
    if completed.returncode != 0:
        raise ServerStartError(f"openssl failed: {completed.stderr.decode(errors='replace')}")
